//! Command-line interface.

mod args;
mod commands;
mod confirm;
mod fuzz;
mod output;
mod specs;
mod trace;
mod vars;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

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
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("probesafe: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
