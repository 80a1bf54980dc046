//! `probesafe survey`: per function, its out-of-line copies, inline
//! instances, clones, return probes and the parameters at inline entries.

use std::process::ExitCode;

use anyhow::Result;

use probesafe::debuginfo::DebugInfo;
use probesafe::hazard::Blacklist;
use probesafe::load::Binary;
use probesafe::survey;

use super::args::{Format, SurveyArgs};
use super::deliver::{json, unsupported};
use super::output::emit;

pub fn run(args: SurveyArgs) -> Result<ExitCode> {
    let binary = Binary::open(&args.binary)?;
    // Each phase is parallel inside.
    let exits = survey::exits_of(&binary);
    let debug = DebugInfo::load(&binary, args.debug_file.as_deref());
    let debug = debug?;
    let s = survey::survey_with(
        &binary,
        debug.as_ref(),
        &Blacklist::of(&binary),
        args.functions.as_deref(),
        &exits,
    )?;
    let text = match args.format {
        Format::Json => json(&s)?,
        Format::Text => survey::render_text(&s),
        f @ (Format::Sarif | Format::Junit | Format::Jsonl | Format::Blacklist) => {
            return Err(unsupported("survey", f))
        }
    };
    emit(args.output.as_deref(), &text)?;
    // A kernel's DWARF summary is millions of small allocations;
    // the process is about to exit, so do not free them one by one.
    std::mem::forget((debug, s, text, exits, binary));
    Ok(ExitCode::SUCCESS)
}
