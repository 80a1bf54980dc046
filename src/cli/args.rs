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
    Scan(ScanArgs),
    /// Batch fuzzing: every instruction boundary of every function (or the
    /// selected ones) with property-based inputs in parallel, hazardous
    /// cases shrunk to minimal witnesses; sharding, checkpoints, resume.
    Fuzz(FuzzArgs),
    /// Re-run a witness file exactly and print its instruction trace; exit 1
    /// if the finding reproduces, 0 if it does not.
    Replay(ReplayArgs),
    /// Combine shard reports (JSON) into the report of the unsharded run.
    Merge(MergeArgs),
    /// Run every dynamic check that applies to gray candidates (the gray and
    /// unknown points of a JSON report, or a file of point specs, one per
    /// line) and say what changed: confirmed hazardous, confirmed safe,
    /// still gray, each with its evidence.
    Confirm(ConfirmArgs),
    /// The given points only.
    Check(CheckArgs),
    /// Every variable and parameter in scope at the given points, each with
    /// all of its DWARF locations there.
    Vars(VarsArgs),
    /// The probe machinery of a kernel image: the functions its trap path
    /// and its handlers reach by the call graph that the blacklist does not
    /// cover, each with its chain, and the inline copies of blacklisted
    /// functions outside the blacklist.
    Machinery(MachineryArgs),
    /// The seed's experiments per function: out-of-line copies (.call),
    /// inline instances (.inline), clones, whether a return probe is
    /// possible, and the parameters located at each inline entry.
    Survey(SurveyArgs),
    /// Compare two builds of the same code: lost or gained .call and return
    /// probes, inline-instance counts, clones, blacklist, source lines.
    Diff(DiffArgs),
    /// Prove that the emulator's 64-bit modes work on this build (each
    /// architecture's self-test and its result).
    Selftest(SelftestArgs),
}

// The flags of `probesafe scan` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The ELF binary (executable, shared object, kernel module, vmlinux).
    pub binary: PathBuf,
    /// Only these points (repeatable).
    #[arg(long = "points", value_name = "SPEC")]
    pub points: Vec<String>,
    /// Only functions whose name matches this glob (repeatable).
    #[arg(long = "functions", value_name = "GLOB")]
    pub functions: Vec<String>,
    /// Print the final figures on stderr: points, wall time, points/s, and with emulation
    /// the trials, trials/s and trials/s per thread.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub common: Common,
}

// The flags of `probesafe fuzz` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The ELF binary.
    pub binary: PathBuf,
    /// Only these points (repeatable).
    #[arg(long = "points", value_name = "SPEC")]
    pub points: Vec<String>,
    /// Only functions whose name matches this glob (repeatable).
    #[arg(long = "functions", value_name = "GLOB")]
    pub functions: Vec<String>,
    /// Take share I of N (0 <= I < N) of the functions: a deterministic
    /// split; `probesafe merge` joins the shards' JSON reports.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Save finished functions to FILE as the run goes, and resume from
    /// it: an interrupted run (SIGINT, SIGTERM) flushes it and exits 130.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Write one witness file per dynamic finding into DIR
    /// (`probesafe replay` re-runs it).
    #[arg(long, value_name = "DIR")]
    pub witnesses: Option<PathBuf>,
    /// Print the final figures on stderr: functions, points, wall time,
    /// points/s, trials, trials/s and trials/s per thread.
    #[arg(long)]
    pub stats: bool,
    /// Emulate only the points the static map marks (LL/SC and
    /// transaction windows, tail-call exits, every point with
    /// --handler), as `scan` does, not every boundary.
    #[arg(long)]
    pub candidates: bool,
    #[command(flatten)]
    pub common: Common,
}

// The flags of `probesafe replay` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The witness file (from `fuzz --witnesses DIR`).
    pub witness: PathBuf,
    /// The binary, when it is not at the path the witness names (its
    /// build-id must match).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
}

// The flags of `probesafe merge` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a point is at least this bad.
    #[arg(long, value_enum, value_name = "gray|hazardous")]
    pub fail_on: Option<FailOn>,
    /// Report only points worse than in this earlier JSON report.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// In JSON, one entry per point instead of folded ranges.
    #[arg(long)]
    pub per_point: bool,
    /// Leave out the points whose verdict is below this.
    #[arg(long, value_enum, value_name = "unknown|gray|hazardous")]
    pub min_verdict: Option<MinVerdict>,
}

// The flags of `probesafe confirm` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The ELF binary.
    pub binary: PathBuf,
    /// A JSON report of this binary, or a file of point specs.
    pub candidates: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

// The flags of `probesafe check` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The ELF binary.
    pub binary: PathBuf,
    /// Point specs: 0xADDR, SYMBOL, SYMBOL+OFFSET, function("NAME").call, function("NAME").return.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<String>,
    /// Print the final figures on stderr: points, wall time, points/s, and with emulation
    /// the trials, trials/s and trials/s per thread.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub common: Common,
}

// The flags of `probesafe vars` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct VarsArgs {
    /// The ELF binary.
    pub binary: PathBuf,
    /// Point specs.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, value_parser = Formats(Format::TEXT_OR_JSON), default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read DWARF from this file instead (a separate debug file).
    #[arg(long, value_name = "PATH")]
    pub debug_file: Option<PathBuf>,
    /// Refuse the binary unless its GNU build-id is HEX.
    #[arg(long, value_name = "HEX")]
    pub expect_build_id: Option<String>,
}

// The flags of `probesafe machinery` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct MachineryArgs {
    /// The kernel image (vmlinux).
    pub binary: PathBuf,
    /// More trap-phase roots: functions the probe handler runs (repeatable).
    #[arg(long, value_name = "SYMBOL")]
    pub handler: Vec<String>,
    /// More blacklisted ranges (the format of /sys/kernel/debug/kprobes/blacklist).
    #[arg(long, value_name = "FILE")]
    pub blacklist: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, value_parser = Formats(Format::TEXT_OR_JSON), default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read DWARF from this file instead (a separate debug file).
    #[arg(long, value_name = "PATH")]
    pub debug_file: Option<PathBuf>,
}

// The flags of `probesafe survey` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct SurveyArgs {
    /// The ELF binary.
    pub binary: PathBuf,
    /// Only functions matching this glob.
    #[arg(long = "functions", value_name = "GLOB")]
    pub functions: Option<String>,
    /// Output format.
    #[arg(long, value_enum, value_parser = Formats(Format::TEXT_OR_JSON), default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read DWARF from this file instead (a separate debug file).
    #[arg(long, value_name = "PATH")]
    pub debug_file: Option<PathBuf>,
    /// Print the final figures on stderr: compilation units read and functions decoded,
    /// each with its wall time and rate.
    #[arg(long)]
    pub stats: bool,
}

// The flags of `probesafe diff` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first build.
    pub a: PathBuf,
    /// The second build.
    pub b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, value_parser = Formats(Format::TEXT_OR_JSON), default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Text: print every row. Without it, each category prints its first 20
    /// rows and a source-line row its first 8 functions, with a line
    /// saying how many were left out (JSON always holds every change).
    #[arg(long)]
    pub all: bool,
}

// The flags of `probesafe selftest` (no doc comment: clap would take it for
// the subcommand's about).
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Output format.
    #[arg(long, value_enum, value_parser = Formats(Format::TEXT_OR_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

/// The output format of every command. The point reports (`scan`,
/// `fuzz`, `check`, `confirm`, `merge`) take them all; the other commands
/// take [`Format::TEXT_OR_JSON`] (see [`Formats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table and a summary line.
    Text,
    /// The JSON report (docs/report-schema.md).
    Json,
    /// SARIF 2.1.0, one rule per finding kind.
    Sarif,
    /// JUnit XML, one test case per point.
    Junit,
    /// JSON Lines: a header line, one line per point or range, a summary
    /// line (for streaming consumers).
    Jsonl,
    /// One line per hazardous range, `0xSTART-0xEND<TAB>SYMBOL`: the format
    /// of /sys/kernel/debug/kprobes/blacklist (read back by --blacklist).
    Blacklist,
}

impl Format {
    /// The formats of the commands that print no point report.
    pub const TEXT_OR_JSON: &'static [Format] = &[Format::Text, Format::Json];
}

/// `--format` restricted to some of the formats: the help, the possible
/// values and the errors name only those, worded as clap words them for a
/// whole enum.
#[derive(Clone, Copy, Debug)]
pub struct Formats(pub &'static [Format]);

impl clap::builder::TypedValueParser for Formats {
    type Value = Format;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Format, clap::Error> {
        // Text that is not UTF-8 matches none and is named lossily in the
        // error, as for a whole enum.
        let text = value.to_string_lossy();
        let parser = clap::builder::PossibleValuesParser::new(self.possible());
        let text = parser.parse_ref(cmd, arg, std::ffi::OsStr::new(text.as_ref()))?;
        let ignore_case = arg.is_some_and(clap::Arg::is_ignore_case_set);
        Ok(self
            .0
            .iter()
            .copied()
            .find(|f| {
                f.to_possible_value()
                    .is_some_and(|v| v.matches(&text, ignore_case))
            })
            .expect("the parser accepts only these formats' names"))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.possible()))
    }
}

impl Formats {
    fn possible(&self) -> impl Iterator<Item = clap::builder::PossibleValue> + '_ {
        self.0.iter().filter_map(|f| f.to_possible_value())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MinVerdict {
    /// Leave out safe points.
    Unknown,
    /// Leave out safe and unknown points.
    Gray,
    /// Only hazardous points.
    Hazardous,
}

impl MinVerdict {
    pub fn verdict(self) -> probesafe::report::Verdict {
        use probesafe::report::Verdict;
        match self {
            MinVerdict::Unknown => Verdict::Unknown,
            MinVerdict::Gray => Verdict::Gray,
            MinVerdict::Hazardous => Verdict::Hazardous,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 if any point is gray or hazardous.
    Gray,
    /// Exit 1 if any point is hazardous.
    Hazardous,
}

#[derive(Clone, Debug, Args)]
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
    /// Report only the points whose verdict is worse than in this earlier
    /// JSON report; without --fail-on, any such point exits 1.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
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
    /// In JSON and JSON Lines, one entry per point: `scan` and `fuzz` fold
    /// runs of points with the same findings into ranges otherwise.
    #[arg(long)]
    pub per_point: bool,
    /// Leave out the points whose verdict is below this.
    #[arg(long, value_enum, value_name = "unknown|gray|hazardous")]
    pub min_verdict: Option<MinVerdict>,
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_flags_are_consistent() {
        Cli::command().debug_assert();
    }

    /// A command that prints no point report offers text and JSON only,
    /// in its help, its parsing and its error; the point reports take all.
    #[test]
    fn text_or_json_commands_name_only_their_formats() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["probesafe"], args].concat());
        for command in ["vars", "machinery", "survey", "diff", "selftest"] {
            let mut args = vec![command];
            args.extend(match command {
                "vars" => &["b", "s"][..],
                "diff" => &["a", "b"][..],
                "selftest" => &[][..],
                _ => &["b"][..],
            });
            let err = parse(&[&args[..], &["--format", "sarif"]].concat()).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
            let text = err.render().to_string();
            assert!(
                text.contains("invalid value 'sarif' for '--format <FORMAT>'")
                    && text.contains("[possible values: text, json]"),
                "{command}: {text}"
            );
            let err = parse(&[&args[..], &["--format", "jso"]].concat()).unwrap_err();
            assert!(err
                .render()
                .to_string()
                .contains("a similar value exists: 'json'"));
            let cli = parse(&[&args[..], &["--format", "json"]].concat()).unwrap();
            let help = Cli::command()
                .find_subcommand_mut(command)
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(help.contains("[default: text]") && help.contains("Possible values:"));
            assert!(help.contains("- json: The JSON report") && !help.contains("sarif"));
            assert!(format!("{cli:?}").contains("format: Json"), "{cli:?}");
        }
        for format in ["text", "json", "sarif", "junit", "jsonl", "blacklist"] {
            assert!(
                parse(&["scan", "b", "--format", format]).is_ok(),
                "{format}"
            );
        }
    }
}
