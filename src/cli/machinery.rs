//! `probesafe machinery`: the functions of a kernel image's probe
//! machinery that its blacklist does not cover, and the inline copies of
//! blacklisted functions outside it.

use std::process::ExitCode;

use anyhow::Result;

use probesafe::debuginfo::DebugInfo;
use probesafe::hazard::machinery;
use probesafe::load::Binary;

use super::args::{Format, MachineryArgs};
use super::deliver::{json, unsupported};
use super::output::emit;
use super::setup;

pub fn run(args: MachineryArgs) -> Result<ExitCode> {
    let binary = Binary::open(&args.binary)?;
    let list = setup::blacklist(&binary, &args.blacklist)?;
    let debug = DebugInfo::load(&binary, args.debug_file.as_deref())?;
    let machinery = machinery::Machinery::build(&binary, &args.handler);
    let summary = machinery.summary(&binary, &list, debug.as_ref());
    let text = match args.format {
        Format::Json => json(&summary)?,
        Format::Text => machinery::render_text(&binary, &summary),
        f @ (Format::Sarif | Format::Junit | Format::Jsonl | Format::Blacklist) => {
            return Err(unsupported("machinery", f))
        }
    };
    emit(args.output.as_deref(), &text)?;
    std::mem::forget((debug, machinery, summary, text, binary));
    Ok(ExitCode::SUCCESS)
}
