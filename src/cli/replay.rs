//! `probesafe replay`: re-run one witness file and print its trace; exit 1
//! when its finding reproduces.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use probesafe::decode::Decoder;
use probesafe::detect::DynamicOptions;
use probesafe::fuzz::WitnessFile;
use probesafe::hazard::{Analyzer, Blacklist};
use probesafe::load::Binary;

use super::args::ReplayArgs;
use super::output::emit;
use super::trace::render_outcome;

/// Re-run a witness file; exit 1 when its finding reproduces.
pub fn run(args: ReplayArgs) -> Result<ExitCode> {
    let path = args.witness.as_path();
    let file = WitnessFile::read(path)?;
    let binary_path = args
        .binary
        .unwrap_or_else(|| Path::new(&file.binary.path).to_owned());
    let binary = Binary::open(&binary_path)?;
    let replay = file.prepare(path, &binary)?;
    let analyzer = Analyzer::new(&binary, Blacklist::of(&binary)).with_dynamic(DynamicOptions {
        budget: replay.budget.max(1),
        handlers: replay.handlers.clone(),
        ..DynamicOptions::default()
    });
    let (reproduced, outcome) =
        analyzer.replay(replay.address, &replay.criterion, &replay.witness)?;
    let decoder = Decoder::new(binary.arch)?;
    let mut out = format!(
        "replay of {} at {} ({}+{:#x}) in {}, seed {:#x} case {}, start {:#x}:\n",
        file.finding.kind.name(),
        file.point.address,
        file.point.symbol,
        file.point.offset,
        binary.path.display(),
        replay.witness.seed,
        replay.witness.case,
        replay.witness.start
    );
    render_outcome(&binary, &decoder, &outcome, &mut out);
    out += &format!(
        "{}: {}\n",
        if reproduced {
            "REPRODUCED"
        } else {
            "not reproduced"
        },
        file.finding.kind.name()
    );
    emit(None, &out)?;
    Ok(if reproduced {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
