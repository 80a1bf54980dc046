//! `probesafe selftest`: each architecture's emulator self-test; exit 1
//! when one fails.

use std::process::ExitCode;

use anyhow::Result;

use probesafe::report::selftest::render_text;

use super::args::{Format, SelftestArgs};
use super::deliver::{json, unsupported};
use super::output::emit;

pub fn run(args: SelftestArgs) -> Result<ExitCode> {
    let checks = probesafe::emu::selftest::run_all();
    let text = match args.format {
        Format::Json => json(&checks)?,
        Format::Text => render_text(&checks),
        f @ (Format::Sarif | Format::Junit | Format::Jsonl | Format::Blacklist) => {
            return Err(unsupported("selftest", f))
        }
    };
    emit(None, &text)?;
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
