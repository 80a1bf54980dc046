//! Flags and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Where on the spectrum of safety does a probe or live patch at an address fall?
#[derive(Debug, Parser)]
#[command(name = "probesafe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole spectrum: every instruction boundary of every function.
    Scan {
        /// The ELF binary (executable, shared object, kernel module, vmlinux).
        binary: PathBuf,
        /// Only these points (repeatable).
        #[arg(long = "points", value_name = "SPEC")]
        points: Vec<String>,
        /// Only functions whose name matches this glob (repeatable).
        #[arg(long = "functions", value_name = "GLOB")]
        functions: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The given points only.
    Check {
        /// The ELF binary.
        binary: PathBuf,
        /// Point specs: 0xADDR, SYMBOL, SYMBOL+OFFSET, function("NAME").call, function("NAME").return.
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Every variable and parameter in scope at the given points, each with
    /// all of its DWARF locations there.
    Vars {
        /// The ELF binary.
        binary: PathBuf,
        /// Point specs.
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Read DWARF from this file instead (a separate debug file).
        #[arg(long, value_name = "PATH")]
        debug_file: Option<PathBuf>,
        /// Refuse the binary unless its GNU build-id is HEX.
        #[arg(long, value_name = "HEX")]
        expect_build_id: Option<String>,
    },
    /// The seed's experiments per function: out-of-line copies (.call),
    /// inline instances (.inline), clones, whether a return probe is
    /// possible, and the parameters located at each inline entry.
    Survey {
        /// The ELF binary.
        binary: PathBuf,
        /// Only functions matching this glob.
        #[arg(long = "functions", value_name = "GLOB")]
        functions: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Read DWARF from this file instead (a separate debug file).
        #[arg(long, value_name = "PATH")]
        debug_file: Option<PathBuf>,
    },
    /// Compare two builds of the same code: lost or gained .call and return
    /// probes, inline-instance counts, clones, blacklist, source lines.
    Diff {
        /// The first build.
        a: PathBuf,
        /// The second build.
        b: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Prove that the emulator's 64-bit modes work on this build (each
    /// architecture's self-test and its result).
    Selftest {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table and a summary line.
    Text,
    /// The JSON report (docs/report-schema.md).
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 if any point is gray or hazardous.
    Gray,
    /// Exit 1 if any point is hazardous.
    Hazardous,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only the static analysis: no emulation.
    #[arg(long)]
    pub static_only: bool,
    /// Worker threads (default: all cores; at most 1024).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// Extra blacklist in the format of /sys/kernel/debug/kprobes/blacklist (repeatable).
    #[arg(long, value_name = "FILE")]
    pub blacklist: Vec<PathBuf>,
    /// A function of the binary that the probe handler runs (repeatable; used by the dynamic checks).
    #[arg(long, value_name = "SYMBOL")]
    pub handler: Vec<String>,
    /// Exit 1 when a point is at least this bad.
    #[arg(long, value_enum, value_name = "gray|hazardous")]
    pub fail_on: Option<FailOn>,
    /// Refuse the binary unless its GNU build-id is HEX.
    #[arg(long, value_name = "HEX")]
    pub expect_build_id: Option<String>,
    /// Read DWARF from this file (a separate debug file) instead of the
    /// binary, its .gnu_debuglink or /usr/lib/debug/.build-id.
    #[arg(long, value_name = "PATH")]
    pub debug_file: Option<PathBuf>,
    /// In text output, list safe points too.
    #[arg(long)]
    pub all: bool,
    /// Generated inputs per point for the dynamic checks.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub cases: u64,
    /// Seed of the generated inputs (the same seed gives the same report).
    #[arg(long, value_name = "S", default_value_t = 0x5eed)]
    pub seed: u64,
    /// Instructions per trial before it is cut off.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub budget: u64,
    /// Print the instruction trace of each dynamic finding's witness, with
    /// the trap, monitor and transaction events marked.
    #[arg(long)]
    pub trace: bool,
    /// Write VAR (a parameter or local in scope) at its DWARF location(s)
    /// at every hit of each point, and report whether anything observable
    /// changes; VALUE defaults to the value there plus one (repeatable).
    #[arg(long = "write", value_name = "VAR[=VALUE]")]
    pub write: Vec<String>,
    /// Write every variable in scope at each point, as `--write` does.
    #[arg(long)]
    pub all_vars: bool,
    /// The same source built another way (typically -O0): perform the same
    /// writes at the same source line there and compare what changes.
    #[arg(long, value_name = "REF_BINARY")]
    pub reference: Option<PathBuf>,
}
