//! The `probesafe` command: parse flags, call the library, map the outcome
//! to an exit status (0 ran, 1 `--fail-on` met, 2 usage or input error).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
