//! `probesafe diff`: two builds of the same code compared (probes lost or
//! gained, inline counts, clones, blacklist, source lines).

use std::process::ExitCode;

use anyhow::Result;

use probesafe::debuginfo::DebugInfo;
use probesafe::hazard::Blacklist;
use probesafe::load::Binary;
use probesafe::report::diff;
use probesafe::survey;

use super::args::{DiffArgs, Format};
use super::deliver::unsupported;
use super::output::emit;

pub fn run(args: DiffArgs) -> Result<ExitCode> {
    // One build after the other, each reduced to what the comparison needs
    // before the next is loaded: the peak is one build's DWARF and survey.
    let mut sides = Vec::new();
    for path in [&args.a, &args.b] {
        let binary = Binary::open(path)?;
        let debug = DebugInfo::load(&binary, None)?;
        let s = survey::survey(&binary, debug.as_ref(), &Blacklist::of(&binary), None)?;
        let lines = debug
            .as_ref()
            .map(|d| survey::line_map(&binary, d))
            .unwrap_or_default();
        sides.push(survey::Side::new(s, lines));
    }
    let (a, b) = (&sides[0], &sides[1]);
    let changes = survey::diff(a, b);
    let text = match args.format {
        Format::Json => diff::to_json(a, b, &changes)?,
        Format::Text => diff::render_text(a, b, &changes, args.all),
        f @ (Format::Sarif | Format::Junit | Format::Jsonl | Format::Blacklist) => {
            return Err(unsupported("diff", f))
        }
    };
    emit(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
