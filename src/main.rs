//! The `probesafe` command: parse flags, call the library, map the outcome
//! to an exit status (0 ran, 1 `--fail-on` met, 2 usage or input error).

mod cli;

use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a kernel-sized scan allocates
/// and frees millions of small findings and evidence maps, and glibc's
/// malloc/free/consolidate took half of its time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
