//! `probesafe vars`: the variables in scope at each point, with every DWARF
//! location they have there.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use probesafe::analyze::scope;
use probesafe::debuginfo::DebugInfo;
use probesafe::hazard::{Analyzer, Blacklist, Selection};
use probesafe::report::vars::{render_text, VarsReport};
use probesafe::report::Tool;
use probesafe::Error;

use super::args::{Format, VarsArgs};
use super::deliver::{exit_status, json, unsupported};
use super::output::emit;
use super::setup::{self, binary_info};
use super::specs::Specs;

/// The report of the specs that resolve; each one that does not gets a
/// line on stderr and a place in the JSON's `unresolved` list.
pub fn run(args: VarsArgs) -> Result<ExitCode> {
    let binary = setup::open(&args.binary, args.expect_build_id.as_deref())?;
    let mut specs = Specs::parse(&args.specs);
    let debug = DebugInfo::load(&binary, args.debug_file.as_deref())?.ok_or_else(|| {
        Error::NoDebugInfo {
            path: binary.path.clone(),
            spec: "vars".into(),
        }
    })?;
    let debug = Arc::new(debug);
    let analyzer =
        Analyzer::new(&binary, Blacklist::default()).with_debug_info(Some(debug.clone()));
    let mut selection = Selection::default();
    specs.select(&analyzer, &mut selection);
    specs.print_unresolved();
    let points = scope::at_points(&debug, analyzer.run(&selection, None)?);
    let report = VarsReport {
        tool: Tool::default(),
        binary: binary_info(&binary),
        debug_file: debug.source.display().to_string(),
        points,
        unresolved: specs.unresolved(),
    };
    let text = match args.format {
        Format::Json => json(&report)?,
        Format::Text => render_text(&report),
        f @ (Format::Sarif | Format::Junit | Format::Jsonl | Format::Blacklist) => {
            return Err(unsupported("vars", f))
        }
    };
    let unresolved = specs.unresolved();
    // Nothing resolved: the lines on stderr say it all, unless a
    // report was asked for (JSON, or a file).
    if !specs.specs().is_empty()
        || unresolved.is_empty()
        || args.format == Format::Json
        || args.output.is_some()
    {
        emit(args.output.as_deref(), &text)?;
    }
    Ok(exit_status(ExitCode::SUCCESS, &unresolved))
}
