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
use super::progress::Progress;

pub fn run(args: SurveyArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let binary = Binary::open(&args.binary)?;
    // Each phase is parallel inside; the bar counts what each iterates:
    // the functions decoded (for their exits), then the compilation units
    // summarised.
    let functions = Progress::new("functions", binary.functions.len() as u64);
    let exits = survey::exits_of_with(&binary, &|| functions.inc());
    let functions = functions.finish();
    let units = Progress::new("compilation units", 0);
    let debug = DebugInfo::load_with(&binary, args.debug_file.as_deref(), &|total| {
        units.set_length(total as u64);
        units.inc();
    });
    let units = units.finish();
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
    if args.stats {
        eprintln!(
            "survey: {}; {}; {:.3} s in all",
            functions.line(None),
            units.line(None),
            started.elapsed().as_secs_f64()
        );
    }
    // A kernel's DWARF summary is millions of small allocations;
    // the process is about to exit, so do not free them one by one.
    std::mem::forget((debug, s, text, exits, binary));
    Ok(ExitCode::SUCCESS)
}
