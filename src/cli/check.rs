//! `probesafe check`: the given points only, one entry each.

use std::process::ExitCode;

use anyhow::Result;

use probesafe::analyze::balance::balanced_patterns;
use probesafe::report::Layout;

use super::analyse::{analyse, needs_dwarf, Tell};
use super::args::CheckArgs;
use super::setup;
use super::specs::Specs;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let CheckArgs {
        binary,
        specs,
        stats,
        common,
    } = args;
    let binary = setup::open(&binary, common.expect_build_id.as_deref())?;
    let mut specs = Specs::parse(&specs);
    let balanced = balanced_patterns(&specs.specs());
    let dwarf = needs_dwarf(&common, &specs.specs());
    analyse(
        &binary,
        &common,
        Layout::Points,
        &balanced,
        dwarf,
        Tell {
            command: "check",
            stats,
        },
        |analyzer, selection| {
            specs.select(analyzer, selection);
            specs
        },
    )
}
