//! `probesafe merge`: shard reports (JSON) joined into the report of the
//! unsharded run.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use probesafe::debuginfo::DebugInfo;
use probesafe::load::Binary;
use probesafe::report::{combine, Layout};

use super::args::{Format, MergeArgs};
use super::deliver::{deliver, Delivery};

pub fn run(args: MergeArgs) -> Result<ExitCode> {
    let mut read = Vec::new();
    for path in &args.reports {
        read.push((path.clone(), combine::read_report(path)?));
    }
    let report = combine::merge(read)?;
    // SARIF places results at source lines when the binary and its
    // DWARF are still where the reports say.
    let binary = (args.format == Format::Sarif)
        .then(|| Binary::open(Path::new(&report.binary.path)).ok())
        .flatten()
        .filter(|b| b.build_id_hex() == report.binary.build_id);
    let debug = match &binary {
        Some(b) => DebugInfo::load(b, None).ok().flatten(),
        None => None,
    };
    deliver(
        report,
        debug.as_ref(),
        &Delivery {
            format: args.format,
            output: args.output.as_deref(),
            all: false,
            layout: Layout::Ranges,
            fail_on: args.fail_on,
            baseline: args.baseline.as_deref(),
            per_point: args.per_point,
            min_verdict: args.min_verdict.map(|m| m.verdict()),
        },
    )
}
