//! The subcommands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use std::sync::Arc;

use probesafe::debuginfo::DebugInfo;
use probesafe::detect::{DynamicOptions, InputSource, WriteRequest};
use probesafe::hazard::{Analyzer, Blacklist, Selection};
use probesafe::load::Binary;
use probesafe::point::PointSpec;
use probesafe::report::{combine, render_text, BinaryInfo, Layout, Report, Verdict};
use probesafe::survey;
use probesafe::Error;

use super::args::{Cli, Command, Common, FailOn, Format, ReportFormat};
use super::output::emit;
use super::trace;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Vars {
            binary,
            specs,
            format,
            output,
            debug_file,
            expect_build_id,
        } => {
            let binary = open_pinned(&binary, expect_build_id.as_deref())?;
            let specs = parse_specs(&specs)?;
            let text = super::vars::run(
                &binary,
                debug_file.as_deref(),
                &specs,
                format == Format::Json,
            )?;
            emit(output.as_deref(), &text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Survey {
            binary,
            functions,
            format,
            output,
            debug_file,
        } => {
            let binary = Binary::open(&binary)?;
            // Each phase is parallel inside.
            let exits = survey::exits_of(&binary);
            let debug = DebugInfo::load(&binary, debug_file.as_deref());
            let debug = debug?;
            let s = survey::survey_with(
                &binary,
                debug.as_ref(),
                &Blacklist::of(&binary),
                functions.as_deref(),
                &exits,
            )?;
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&s)? + "\n",
                Format::Text => survey::render_text(&s),
            };
            emit(output.as_deref(), &text)?;
            // A kernel's DWARF summary is millions of small allocations;
            // the process is about to exit, so do not free them one by one.
            std::mem::forget((debug, s, text, exits, binary));
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            a,
            b,
            format,
            output,
        } => {
            let mut sides = Vec::new();
            for path in [&a, &b] {
                let binary = Binary::open(path)?;
                let debug = DebugInfo::load(&binary, None)?;
                let s = survey::survey(&binary, debug.as_ref(), &Blacklist::of(&binary), None)?;
                let lines = debug
                    .as_ref()
                    .map(|d| survey::line_map(&binary, d))
                    .unwrap_or_default();
                sides.push((s, lines));
            }
            let changes = survey::diff(&sides[0].0, &sides[1].0, &sides[0].1, &sides[1].1);
            let text = match format {
                Format::Json => {
                    serde_json::to_string_pretty(&serde_json::json!({
                        "tool": probesafe::report::Tool::default(),
                        "a": sides[0].0.binary,
                        "b": sides[1].0.binary,
                        "totals": { "a": sides[0].0.totals, "b": sides[1].0.totals },
                        "changes": changes,
                    }))? + "\n"
                }
                Format::Text => render_diff(&sides[0].0, &sides[1].0, &changes),
            };
            emit(output.as_deref(), &text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Selftest { format } => {
            let checks = probesafe::emu::selftest::run_all();
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&checks)? + "\n",
                Format::Text => {
                    let mut s = String::new();
                    for c in &checks {
                        s += &format!(
                            "{:<8} {:<4} {:<42} {}\n",
                            c.arch.name(),
                            if c.ok { "ok" } else { "FAIL" },
                            c.name,
                            c.detail
                        );
                    }
                    let failed = checks.iter().filter(|c| !c.ok).count();
                    s += &format!(
                        "{} checks: {} passed, {} failed\n",
                        checks.len(),
                        checks.len() - failed,
                        failed
                    );
                    s
                }
            };
            emit(None, &text)?;
            Ok(if checks.iter().all(|c| c.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Scan {
            binary,
            points,
            functions,
            common,
        } => {
            let binary = open(&binary, &common)?;
            let specs = parse_specs(&points)?;
            let balanced = balanced_patterns(&specs);
            analyse(
                &binary,
                &common,
                Layout::Ranges,
                &balanced,
                |analyzer, selection| {
                    if specs.is_empty() || !functions.is_empty() {
                        analyzer.select_all(selection, &functions)?;
                    }
                    for spec in &specs {
                        analyzer.select(selection, spec)?;
                    }
                    Ok(())
                },
            )
        }
        Command::Fuzz {
            binary,
            points,
            functions,
            shard,
            checkpoint,
            witnesses,
            stats,
            candidates,
            common,
        } => super::fuzz::run(super::fuzz::FuzzArgs {
            binary: &binary,
            points: &points,
            functions: &functions,
            shard: shard.as_deref(),
            checkpoint: checkpoint.as_deref(),
            witnesses: witnesses.as_deref(),
            stats,
            candidates,
            common: &common,
        }),
        Command::Confirm {
            binary,
            candidates,
            common,
        } => {
            let binary = open(&binary, &common)?;
            super::confirm::run(&binary, &candidates, &common)
        }
        Command::Replay { witness, binary } => super::fuzz::replay(&witness, binary.as_deref()),
        Command::Merge {
            reports,
            format,
            output,
            fail_on,
            baseline,
        } => {
            let mut read = Vec::new();
            for path in &reports {
                read.push((path.clone(), combine::read_report(path)?));
            }
            let report = combine::merge(read)?;
            // SARIF places results at source lines when the binary and its
            // DWARF are still where the reports say.
            let binary = (format == ReportFormat::Sarif)
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
                    format,
                    output: output.as_deref(),
                    all: false,
                    layout: Layout::Ranges,
                    fail_on,
                    baseline: baseline.as_deref(),
                },
            )
        }
        Command::Check {
            binary,
            specs,
            common,
        } => {
            let binary = open(&binary, &common)?;
            let specs = parse_specs(&specs)?;
            let balanced = balanced_patterns(&specs);
            analyse(
                &binary,
                &common,
                Layout::Points,
                &balanced,
                |analyzer, selection| {
                    for spec in &specs {
                        analyzer.select(selection, spec)?;
                    }
                    Ok(())
                },
            )
        }
    }
}

/// The dynamic checks that need the whole selection's points: `--write`
/// scope, `--reference` and the entry/return balance.
pub(super) fn dynamic_extras(
    binary: &Binary,
    analyzer: &Analyzer<'_>,
    points: &mut [probesafe::report::Point],
    balanced: &[String],
    common: &Common,
) -> Result<()> {
    let Some(options) = analyzer.dynamic_options().cloned() else {
        return Ok(());
    };
    if !options.writes.is_empty() || options.all_vars {
        check_variables_in_scope(binary, analyzer, points, &options)?;
    }
    if let Some(reference) = &common.reference {
        compare_with_reference(analyzer, points, reference, &options, common)?;
    }
    entry_return_balance(analyzer, points, balanced, common)?;
    Ok(())
}

/// The function-name patterns given as both `.call` and `.return`.
pub(super) fn balanced_patterns(specs: &[PointSpec]) -> Vec<String> {
    use probesafe::point::Probe;
    let of = |want: Probe| -> Vec<&String> {
        specs
            .iter()
            .filter_map(|s| match s {
                PointSpec::Function { pattern, probe, .. } if *probe == want => Some(pattern),
                _ => None,
            })
            .collect()
    };
    let returns = of(Probe::Return);
    of(Probe::Call)
        .into_iter()
        .filter(|p| returns.contains(p))
        .cloned()
        .collect()
}

/// `.call` with `.return` of the same function: count entries and returns
/// per generated input (and in the reference build) and report an
/// imbalance at the entry point.
fn entry_return_balance(
    analyzer: &Analyzer<'_>,
    points: &mut [probesafe::report::Point],
    patterns: &[String],
    common: &Common,
) -> Result<()> {
    if patterns.is_empty() {
        return Ok(());
    }
    let reference = match &common.reference {
        Some(path) => Some(Binary::open(path)?),
        None => None,
    };
    let options = DynamicOptions {
        cases: common.cases.max(1),
        seed: common.seed,
        budget: common.budget.max(1),
        ..DynamicOptions::default()
    };
    let ref_analyzer = reference
        .as_ref()
        .map(|b| Analyzer::new(b, Blacklist::of(b)).with_dynamic(options.clone()));
    for pattern in patterns {
        for index in analyzer.matching_functions(pattern) {
            let function = &analyzer.binary().functions[index];
            let here = analyzer.balance(function.address)?;
            let there = match (&ref_analyzer, &reference) {
                (Some(a), Some(b)) => b
                    .functions
                    .iter()
                    .find(|f| f.has_name(&function.name))
                    .map(|f| a.balance(f.address))
                    .transpose()?
                    .map(|v| (b.path.display().to_string(), v)),
                _ => None,
            };
            let findings = probesafe::detect::write::balance_findings(
                &function.name,
                &here,
                there.as_ref().map(|(p, v)| (p.as_str(), v.as_slice())),
            );
            if let Some(point) = points
                .iter_mut()
                .find(|p| p.address_value() == function.entry)
            {
                if !findings.is_empty() {
                    point.findings.extend(findings);
                    point.settle();
                }
            }
        }
    }
    Ok(())
}

/// Each `--write` variable must be in scope at one of the points at least.
fn check_variables_in_scope(
    binary: &Binary,
    analyzer: &Analyzer<'_>,
    points: &[probesafe::report::Point],
    options: &DynamicOptions,
) -> Result<(), Error> {
    let Some(debug) = analyzer.debug_info() else {
        return Ok(());
    };
    for w in &options.writes {
        let found = points.iter().any(|p| {
            debug
                .variables_at(p.address_value())
                .iter()
                .any(|v| v.name == w.variable)
        });
        if !found && !points.is_empty() {
            return Err(Error::UnknownVariable {
                path: binary.path.clone(),
                name: w.variable.clone(),
                address: points[0].address_value(),
            });
        }
    }
    Ok(())
}

/// `--reference`: the same writes at the same source lines of the
/// reference build; effects it shows that this build's write does not are
/// `ineffective-write`, effects only this build's write has are
/// `overbroad-write`.
fn compare_with_reference(
    analyzer: &Analyzer<'_>,
    points: &mut [probesafe::report::Point],
    reference: &std::path::Path,
    options: &DynamicOptions,
    common: &Common,
) -> Result<()> {
    let Some(debug) = analyzer.debug_info() else {
        return Ok(());
    };
    let ref_binary = Binary::open(reference)?;
    let ref_debug = DebugInfo::load(&ref_binary, None)?.ok_or_else(|| Error::NoDebugInfo {
        path: ref_binary.path.clone(),
        spec: "--reference".into(),
    })?;
    let ref_analyzer = Analyzer::new(&ref_binary, Blacklist::of(&ref_binary))
        .with_debug_info(Some(Arc::new(ref_debug)))
        .with_detail(true)
        .with_dynamic(options.clone());
    for point in points.iter_mut() {
        let addr = point.address_value();
        // Several rows at one address (views): the point runs before all
        // of them, so it is at the first one's line.
        let row = debug.rows_at(addr).first().or_else(|| debug.row_for(addr));
        let (Some(function), Some(row)) = (debug.function_at(addr), row) else {
            continue;
        };
        let Some(file) = debug.files.get(row.file as usize) else {
            continue;
        };
        let spec = PointSpec::Statement {
            function: function.name.clone(),
            file: file.clone(),
            line: row.line,
        };
        let mut selection = Selection::default();
        if ref_analyzer.select(&mut selection, &spec).is_err() {
            continue;
        }
        let mut ref_points = ref_analyzer.run(&selection, common.jobs.map(usize::from))?;
        // A function's first line is its entry, where an -O0 build has not
        // yet stored its parameters: use the first line after the prologue
        // there, as debuggers do.
        if let Some(after) = ref_points
            .iter()
            .find_map(|p| after_prologue(ref_analyzer.debug_info()?, p.address_value()))
        {
            let mut selection = Selection::default();
            ref_analyzer.select(&mut selection, &PointSpec::Address(after))?;
            ref_points = ref_analyzer.run(&selection, common.jobs.map(usize::from))?;
        }
        probesafe::detect::write::compare_with_reference(
            point,
            &ref_points,
            &ref_binary.path.display().to_string(),
            &format!("{file}:{}", row.line),
        );
    }
    Ok(())
}

/// When `addr` is a function's entry: the address of the first line-table
/// row after it inside the function (the end of the prologue).
fn after_prologue(debug: &DebugInfo, addr: u64) -> Option<u64> {
    let f = debug.function_starting_at(addr)?;
    let end = f.ranges.iter().map(|r| r.1).max()?;
    let i = debug.lines.partition_point(|r| r.address <= addr);
    debug.lines[i..]
        .iter()
        .map(|r| r.address)
        .find(|&a| a > addr && a < end)
}

fn render_diff(a: &survey::Survey, b: &survey::Survey, changes: &[survey::Change]) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "a: {} ({})\nb: {} ({})\n",
        a.binary.path, a.binary.arch, b.binary.path, b.binary.arch
    );
    let (ta, tb) = (&a.totals, &b.totals);
    let _ = writeln!(
        out,
        ".call functions {} -> {}, only inlined {} -> {}, inline instances {} -> {}, clones {} -> {}, without return probe {} -> {}",
        ta.with_call, tb.with_call, ta.only_inlined, tb.only_inlined, ta.inline_instances, tb.inline_instances, ta.clones, tb.clones, ta.without_return_probe, tb.without_return_probe
    );
    for c in changes {
        let line = match c {
            survey::Change::LostCall { function } => {
                format!("lost .call       {function}: no out-of-line copy any more")
            }
            survey::Change::GainedCall { function } => format!("gained .call     {function}"),
            survey::Change::InlineCount {
                function,
                before,
                after,
            } => format!("inline count     {function}: {before} -> {after}"),
            survey::Change::NewClone { function, clone } => {
                format!("new clone        {function}{clone}")
            }
            survey::Change::VanishedClone { function, clone } => {
                format!("vanished clone   {function}{clone}")
            }
            survey::Change::GainedReturn { function } => format!("gained .return   {function}"),
            survey::Change::LostReturn { function } => format!("lost .return     {function}"),
            survey::Change::Blacklist {
                function,
                blacklisted,
            } => {
                format!(
                    "blacklist        {function}: {}",
                    if *blacklisted {
                        "now covered"
                    } else {
                        "no longer covered"
                    }
                )
            }
            survey::Change::Line {
                line,
                before,
                after,
            } => format!("line moved       {line}: {before:?} -> {after:?}"),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{} changes", changes.len());
    out
}

pub(super) fn parse_specs(specs: &[String]) -> Result<Vec<PointSpec>, Error> {
    specs.iter().map(|s| s.parse()).collect()
}

fn open(path: &std::path::Path, common: &Common) -> Result<Binary> {
    open_pinned(path, common.expect_build_id.as_deref())
}

fn open_pinned(path: &std::path::Path, expect_build_id: Option<&str>) -> Result<Binary> {
    let binary = Binary::open(path)?;
    if let Some(expected) = expect_build_id {
        let actual = binary.build_id_hex();
        if actual.as_deref() != Some(expected.to_ascii_lowercase().as_str()) {
            return Err(Error::BuildIdMismatch {
                path: path.to_owned(),
                expected: expected.to_owned(),
                actual: actual.unwrap_or_else(|| "none".into()),
            }
            .into());
        }
    }
    Ok(binary)
}

/// An analyzer for `binary` with the blacklist, DWARF and dynamic options
/// of `common`; `inputs` replaces the generated inputs (fuzz).
pub(super) fn analyzer<'b>(
    binary: &'b Binary,
    common: &Common,
    detail: bool,
    inputs: Option<Arc<dyn InputSource>>,
) -> Result<Analyzer<'b>> {
    let mut blacklist = Blacklist::of(binary);
    for file in &common.blacklist {
        blacklist.add_file(file)?;
    }
    let handlers = handler_entries(binary, &common.handler)?;
    let debug = DebugInfo::load(binary, common.debug_file.as_deref())?.map(Arc::new);
    let mut analyzer = Analyzer::new(binary, blacklist)
        .with_debug_info(debug)
        .with_detail(detail);
    let writes = common
        .write
        .iter()
        .map(|w| w.parse())
        .collect::<Result<Vec<WriteRequest>, Error>>()?;
    if (!writes.is_empty() || common.all_vars || common.reference.is_some())
        && analyzer.debug_info().is_none()
    {
        return Err(Error::NoDebugInfo {
            path: binary.path.clone(),
            spec: "--write, --all-vars and --reference".into(),
        }
        .into());
    }
    if !common.static_only {
        analyzer = analyzer.with_dynamic(DynamicOptions {
            cases: common.cases.max(1),
            seed: common.seed,
            budget: common.budget.max(1),
            handlers,
            inputs,
            writes,
            all_vars: common.all_vars,
            ..DynamicOptions::default()
        });
    }
    Ok(analyzer)
}

/// The entries of the `--handler` functions.
pub(super) fn handler_entries(binary: &Binary, names: &[String]) -> Result<Vec<u64>> {
    let mut handlers = Vec::new();
    for handler in names {
        let f = binary
            .functions
            .iter()
            .find(|f| f.has_name(handler))
            .ok_or_else(|| Error::UnknownSymbol {
                path: binary.path.clone(),
                name: handler.clone(),
            })?;
        // Entered like a call through a function pointer: the global entry
        // (ppc64 ELFv2 sets r12 to it).
        handlers.push(f.address);
    }
    Ok(handlers)
}

/// What the report of a binary says about it.
pub(super) fn binary_info(binary: &Binary) -> BinaryInfo {
    BinaryInfo {
        path: binary.path.display().to_string(),
        arch: binary.arch.name().to_owned(),
        build_id: binary.build_id_hex(),
    }
}

fn analyse(
    binary: &Binary,
    common: &Common,
    layout: Layout,
    balanced: &[String],
    select: impl FnOnce(&Analyzer<'_>, &mut Selection) -> Result<(), Error>,
) -> Result<ExitCode> {
    let analyzer = analyzer(binary, common, layout == Layout::Points, None)?;
    let mut selection = Selection::default();
    select(&analyzer, &mut selection)?;
    let mut points = analyzer.run(&selection, common.jobs.map(usize::from))?;
    dynamic_extras(binary, &analyzer, &mut points, balanced, common)?;
    let report = Report::new(binary_info(binary), points);
    let code = deliver(
        report.clone(),
        analyzer.debug_info(),
        &Delivery::of(common, layout),
    )?;
    print_traces(&analyzer, &report, common)?;
    Ok(code)
}

/// `--trace`: each dynamic finding's witness re-run with its instruction
/// trace, after the report (on stderr when the report is not text).
pub(super) fn print_traces(
    analyzer: &Analyzer<'_>,
    report: &Report,
    common: &Common,
) -> Result<()> {
    if common.trace {
        let traces = trace::render_witness_traces(analyzer, report)?;
        if common.format == ReportFormat::Text {
            emit(None, &traces)?;
        } else {
            eprint!("{traces}");
        }
    }
    Ok(())
}

/// How a report is delivered.
pub(super) struct Delivery<'a> {
    pub format: ReportFormat,
    pub output: Option<&'a Path>,
    pub all: bool,
    pub layout: Layout,
    pub fail_on: Option<FailOn>,
    pub baseline: Option<&'a Path>,
}

impl<'a> Delivery<'a> {
    pub fn of(common: &'a Common, layout: Layout) -> Delivery<'a> {
        Delivery {
            format: common.format,
            output: common.output.as_deref(),
            all: common.all,
            layout,
            fail_on: common.fail_on,
            baseline: common.baseline.as_deref(),
        }
    }
}

/// Narrow the report to regressions when there is a baseline, write it in
/// its format, and say whether `--fail-on` (or, with a baseline, any
/// regression) is met.
pub(super) fn deliver(
    report: Report,
    debug: Option<&DebugInfo>,
    how: &Delivery<'_>,
) -> Result<ExitCode> {
    let report = match how.baseline {
        Some(path) => combine::regressions(&combine::read_report(path)?, path, report)?,
        None => report,
    };
    let text = match how.format {
        ReportFormat::Json => report.to_json(),
        ReportFormat::Text => render_text(&report, how.layout, how.all),
        ReportFormat::Sarif => {
            let lines = |addr: u64| {
                let debug = debug?;
                let row = debug.row_for(addr)?;
                Some((debug.file(row).to_owned(), u64::from(row.line)))
            };
            probesafe::report::sarif::to_sarif(&report, &lines)
        }
        ReportFormat::Junit => probesafe::report::junit::to_junit(&report),
    };
    emit(how.output, &text)?;
    let threshold = match how.fail_on {
        Some(FailOn::Gray) => Some(Verdict::Gray),
        Some(FailOn::Hazardous) => Some(Verdict::Hazardous),
        // Every point left after a baseline comparison got worse.
        None if how.baseline.is_some() => Some(Verdict::Unknown),
        None => None,
    };
    Ok(match threshold {
        Some(t) if !report.points.is_empty() && report.worst() >= t => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
