//! `probesafe scan`: every instruction boundary of every function (or of
//! the selected ones), folded into ranges.

use std::process::ExitCode;

use anyhow::Result;

use probesafe::analyze::balance::balanced_patterns;
use probesafe::report::Layout;

use super::analyse::{analyse, needs_dwarf, select_functions, Tell};
use super::args::ScanArgs;
use super::setup;
use super::specs::Specs;

pub fn run(args: ScanArgs) -> Result<ExitCode> {
    let ScanArgs {
        binary,
        points,
        functions,
        stats,
        common,
    } = args;
    let binary = setup::open(&binary, common.expect_build_id.as_deref())?;
    let mut specs = Specs::parse(&points);
    let balanced = balanced_patterns(&specs.specs());
    let dwarf = needs_dwarf(&common, &specs.specs());
    analyse(
        &binary,
        &common,
        Layout::Ranges,
        &balanced,
        dwarf,
        Tell {
            command: "scan",
            stats,
        },
        |analyzer, selection| {
            if specs.is_empty() || !functions.is_empty() {
                select_functions(analyzer, selection, &functions, &mut specs);
            }
            specs.select(analyzer, selection);
            specs
        },
    )
}
