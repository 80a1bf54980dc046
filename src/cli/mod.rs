//! Command-line interface: one file per subcommand, each a `run` from its
//! flags to an exit status. What they share lives in one place each: the
//! set-up of a binary and its analyzer ([`setup`]), the analysis of a
//! selection of points ([`analyse`]), and the delivery of a report in its
//! format with its exit status ([`deliver`], [`output`]).

mod analyse;
mod args;
mod deliver;
mod output;
mod progress;
mod setup;
mod specs;
mod trace;

mod check;
mod confirm;
mod diff;
mod fuzz;
mod machinery;
mod merge;
mod replay;
mod scan;
mod selftest;
mod survey;
mod vars;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

pub use args::Cli;
use args::Command;

/// Run the command line; errors become one line on stderr and exit 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints usage errors itself; --help and --version exit 0.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("probesafe: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Each subcommand to its function.
fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Fuzz(args) => fuzz::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Confirm(args) => confirm::run(args),
        Command::Check(args) => check::run(args),
        Command::Vars(args) => vars::run(args),
        Command::Machinery(args) => machinery::run(args),
        Command::Survey(args) => survey::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Selftest(args) => selftest::run(args),
    }
}
