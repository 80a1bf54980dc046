//! The subcommands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use std::sync::Arc;

use probesafe::analyze::{Analyzer, Selection};
use probesafe::debuginfo::DebugInfo;
use probesafe::detect::{DynamicOptions, InputSource, WriteRequest};
use probesafe::hazard::{machinery, Blacklist};
use probesafe::load::Binary;
use probesafe::point::PointSpec;
use probesafe::report::{
    combine, render_text, stream, BinaryInfo, Layout, Report, Unresolved, Verdict,
};
use probesafe::survey;
use probesafe::Error;

use super::args::{Cli, Command, Common, FailOn, Format, ReportFormat};
use super::output::emit;
use super::specs::Specs;
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
            let mut specs = Specs::parse(&specs);
            let text = super::vars::run(
                &binary,
                debug_file.as_deref(),
                &mut specs,
                format == Format::Json,
            )?;
            let unresolved = specs.unresolved();
            // Nothing resolved: the lines on stderr say it all, unless a
            // report was asked for (JSON, or a file).
            if !specs.specs().is_empty()
                || unresolved.is_empty()
                || format == Format::Json
                || output.is_some()
            {
                emit(output.as_deref(), &text)?;
            }
            Ok(exit_status(ExitCode::SUCCESS, &unresolved))
        }
        Command::Machinery {
            binary,
            handler,
            blacklist,
            format,
            output,
            debug_file,
        } => {
            let binary = Binary::open(&binary)?;
            let mut list = Blacklist::of(&binary);
            for file in &blacklist {
                list.add_file(file)?;
            }
            let debug = DebugInfo::load(&binary, debug_file.as_deref())?;
            let machinery = machinery::Machinery::build(&binary, &handler);
            let summary = machinery.summary(&binary, &list, debug.as_ref());
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&summary)? + "\n",
                Format::Text => machinery::render_text(&binary, &summary),
            };
            emit(output.as_deref(), &text)?;
            std::mem::forget((debug, machinery, summary, text, binary));
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
            let mut specs = Specs::parse(&points);
            let balanced = balanced_patterns(&specs.specs());
            let dwarf = needs_dwarf(&common, &specs.specs());
            analyse(
                &binary,
                &common,
                Layout::Ranges,
                &balanced,
                dwarf,
                |analyzer, selection| {
                    if specs.is_empty() || !functions.is_empty() {
                        select_functions(analyzer, selection, &functions, &mut specs);
                    }
                    specs.select(analyzer, selection);
                    specs
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
            per_point,
            min_verdict,
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
                    per_point,
                    min_verdict: min_verdict.map(|m| m.verdict()),
                },
            )
        }
        Command::Check {
            binary,
            specs,
            common,
        } => {
            let binary = open(&binary, &common)?;
            let mut specs = Specs::parse(&specs);
            let balanced = balanced_patterns(&specs.specs());
            let dwarf = needs_dwarf(&common, &specs.specs());
            analyse(
                &binary,
                &common,
                Layout::Points,
                &balanced,
                dwarf,
                |analyzer, selection| {
                    specs.select(analyzer, selection);
                    specs
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

/// Select the functions matching each `--functions` glob (every function
/// without one); a glob that matches none is an unresolved spec.
pub(super) fn select_functions(
    analyzer: &Analyzer<'_>,
    selection: &mut Selection,
    globs: &[String],
    specs: &mut Specs,
) {
    for (i, e) in analyzer.select_all_each(selection, globs) {
        specs.fail(usize::MAX, &globs[i], &e.to_string());
    }
}

/// The exit status of a run that resolved all but `unresolved`: 2 when a
/// spec named no point, as grep and ripgrep exit 2 after an error.
pub(super) fn exit_status(code: ExitCode, unresolved: &[Unresolved]) -> ExitCode {
    if unresolved.is_empty() {
        code
    } else {
        ExitCode::from(2)
    }
}

/// Whether to write the report: always, except the text report on stdout
/// when no spec resolved (the lines on stderr say it all).
pub(super) fn wants_report(selected: bool, unresolved: &[Unresolved], common: &Common) -> bool {
    selected
        || unresolved.is_empty()
        || common.format != ReportFormat::Text
        || common.output.is_some()
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
    analyzer_with(binary, common, detail, inputs, true)
}

/// [`analyzer`], without loading the DWARF when `dwarf` is false.
fn analyzer_with<'b>(
    binary: &'b Binary,
    common: &Common,
    detail: bool,
    inputs: Option<Arc<dyn InputSource>>,
    dwarf: bool,
) -> Result<Analyzer<'b>> {
    let mut blacklist = Blacklist::of(binary);
    for file in &common.blacklist {
        blacklist.add_file(file)?;
    }
    let handlers = handler_entries(binary, &common.handler)?;
    let debug = if dwarf {
        DebugInfo::load(binary, common.debug_file.as_deref())?.map(Arc::new)
    } else {
        None
    };
    let mut analyzer = Analyzer::new(binary, blacklist)
        .with_debug_info(debug)
        .with_detail(detail)
        .with_machinery_roots(common.handler.clone());
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

/// Whether a run needs the DWARF: everything but a deny-list, whose
/// hazardous ranges DWARF never changes (it adds gray findings only), unless
/// a point spec names source-level things or a dynamic check writes
/// variables.
fn needs_dwarf(common: &Common, specs: &[PointSpec]) -> bool {
    common.format != ReportFormat::Blacklist
        || !common.write.is_empty()
        || common.all_vars
        || common.reference.is_some()
        || common.trace
        || specs
            .iter()
            .any(|s| !matches!(s, PointSpec::Address(_) | PointSpec::Symbol { .. }))
}

/// Resolve the specs (`select` returns them with the unresolved ones),
/// analyse, and deliver the report; exit 2 when a spec did not resolve.
fn analyse(
    binary: &Binary,
    common: &Common,
    layout: Layout,
    balanced: &[String],
    dwarf: bool,
    select: impl FnOnce(&Analyzer<'_>, &mut Selection) -> Specs,
) -> Result<ExitCode> {
    let analyzer = analyzer_with(binary, common, layout == Layout::Points, None, dwarf)?;
    let mut selection = Selection::default();
    let specs = select(&analyzer, &mut selection);
    specs.print_unresolved();
    let unresolved = specs.unresolved();
    // A report with unresolved specs is written whole (the streamed forms
    // have no place for them); so is one that needs every point first.
    if unresolved.is_empty() && streams(common, balanced) {
        return stream(binary, &analyzer, &selection, common, layout);
    }
    let mut points = analyzer.run(&selection, common.jobs.map(usize::from))?;
    dynamic_extras(binary, &analyzer, &mut points, balanced, common)?;
    let report = Report::new(binary_info(binary), points).with_unresolved(unresolved.clone());
    if !wants_report(!selection.is_empty(), &unresolved, common) {
        return Ok(exit_status(ExitCode::SUCCESS, &unresolved));
    }
    let code = deliver(
        report.clone(),
        analyzer.debug_info(),
        &Delivery::of(common, layout),
    )?;
    print_traces(&analyzer, &report, common)?;
    Ok(exit_status(code, &unresolved))
}

/// Whether the report can be written as the points are finished: a form
/// that streams, and nothing that needs every point first (a baseline, the
/// dynamic checks over the whole selection, traces).
fn streams(common: &Common, balanced: &[String]) -> bool {
    stream_form(common.format).is_some()
        && common.baseline.is_none()
        && !common.trace
        && balanced.is_empty()
        && common.write.is_empty()
        && !common.all_vars
        && common.reference.is_none()
}

/// The streamed form of a report format, if it has one.
fn stream_form(format: ReportFormat) -> Option<stream::Form> {
    match format {
        ReportFormat::Json => Some(stream::Form::Json),
        ReportFormat::Jsonl => Some(stream::Form::Jsonl),
        ReportFormat::Blacklist => Some(stream::Form::Blacklist),
        ReportFormat::Text | ReportFormat::Sarif | ReportFormat::Junit => None,
    }
}

/// Analyse the selection in chunks and write each chunk's points as soon as
/// they are finished: memory does not grow with the number of points.
fn stream(
    binary: &Binary,
    analyzer: &Analyzer<'_>,
    selection: &Selection,
    common: &Common,
    layout: Layout,
) -> Result<ExitCode> {
    let form = stream_form(common.format).expect("checked by streams()");
    let options = stream::Options {
        form,
        folded: layout == Layout::Ranges && !common.per_point,
        min_verdict: common.min_verdict.map(|m| m.verdict()),
    };
    let out = Output::open(common.output.as_deref())?;
    let target = common
        .output
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("-"));
    let io = |source| Error::Write {
        path: target.clone(),
        source,
    };
    let mut writer = stream::ReportWriter::new(out, options, &binary_info(binary)).map_err(io)?;
    analyzer.run_chunked(
        selection,
        common.jobs.map(usize::from),
        &mut |points, ends| writer.write(&points, &ends).map_err(io),
    )?;
    let (written, out) = writer.finish().map_err(io)?;
    out.commit()?;
    Ok(exit_code(common.fail_on, None, written.worst))
}

/// Where a streamed report goes: standard output (a closed pipe ends the
/// writing quietly) or a file put in place atomically at the end.
enum Output {
    Stdout(std::io::BufWriter<std::io::Stdout>, bool),
    File(probesafe::atomic_file::AtomicFile),
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Output, Error> {
        Ok(match path {
            None => Output::Stdout(
                std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()),
                false,
            ),
            Some(path) => Output::File(probesafe::atomic_file::AtomicFile::create(path)?),
        })
    }

    fn commit(self) -> Result<(), Error> {
        match self {
            Output::Stdout(..) => Ok(()),
            Output::File(f) => f.commit(),
        }
    }
}

impl std::io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(_, true) => Ok(buf.len()),
            Output::Stdout(out, closed) => match out.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(buf.len())
                }
                other => other,
            },
            Output::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(_, true) => Ok(()),
            Output::Stdout(out, closed) => match out.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(())
                }
                other => other,
            },
            Output::File(f) => f.flush(),
        }
    }
}

/// Exit 1 when `--fail-on` (or, with a baseline, any regression) is met by
/// the worst verdict of the points reported.
fn exit_code(fail_on: Option<FailOn>, baseline: Option<&Path>, worst: Option<Verdict>) -> ExitCode {
    let threshold = match fail_on {
        Some(FailOn::Gray) => Some(Verdict::Gray),
        Some(FailOn::Hazardous) => Some(Verdict::Hazardous),
        // Every point left after a baseline comparison got worse.
        None if baseline.is_some() => Some(Verdict::Unknown),
        None => None,
    };
    match (threshold, worst) {
        (Some(t), Some(w)) if w >= t => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// The address just after the instruction at each point: a fixed width on
/// arm64 and POWER; x86 decodes the binary the report is about (only for
/// the hazardous points, which the blacklist form needs).
fn instruction_ends(report: &Report) -> Result<Vec<u64>> {
    use probesafe::report::FindingKind;
    let hazardous = report
        .points
        .iter()
        .any(|p| p.verdict == Verdict::Hazardous);
    let fixed = report.binary.arch != "x86_64";
    let decoded = if hazardous && !fixed {
        let binary = Binary::open(Path::new(&report.binary.path))?;
        if binary.build_id_hex() != report.binary.build_id {
            return Err(Error::Incompatible {
                path: binary.path.clone(),
                reason: "its build-id is not the report's: the x86 instruction ends of --format blacklist need the binary of the report".into(),
            }
            .into());
        }
        let decoder = probesafe::decode::Decoder::new(binary.arch)?;
        Some((binary, decoder))
    } else {
        None
    };
    Ok(report
        .points
        .iter()
        .map(|p| {
            let addr = p.address_value();
            if p.verdict != Verdict::Hazardous
                || p.findings
                    .iter()
                    .any(|f| f.kind == FindingKind::NotInstructionBoundary)
            {
                return addr.saturating_add(1);
            }
            match &decoded {
                None => addr.saturating_add(4),
                Some((binary, decoder)) => binary
                    .section_at(addr)
                    .and_then(|s| {
                        let at = (addr - s.address) as usize;
                        let bytes = s.data.get(at..(at + 16).min(s.data.len()))?;
                        decoder.decode(bytes, addr).first().map(|i| i.next())
                    })
                    .unwrap_or(addr.saturating_add(1)),
            }
        })
        .collect())
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
    pub per_point: bool,
    pub min_verdict: Option<Verdict>,
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
            per_point: common.per_point,
            min_verdict: common.min_verdict.map(|m| m.verdict()),
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
    if let Some(form) = stream_form(how.format) {
        let options = stream::Options {
            form,
            folded: how.layout == Layout::Ranges && !how.per_point,
            min_verdict: how.min_verdict,
        };
        let ends = if form == stream::Form::Blacklist {
            instruction_ends(&report)?
        } else {
            Vec::new()
        };
        let mut text = Vec::new();
        let mut writer = stream::ReportWriter::new(&mut text, options, &report.binary)?
            .with_unresolved(&report.unresolved);
        writer.write(&report.points, &ends)?;
        writer.finish()?;
        emit(how.output, &String::from_utf8(text)?)?;
        return Ok(exit_code(
            how.fail_on,
            how.baseline,
            report.points.iter().map(|p| p.verdict).max(),
        ));
    }
    let report = match how.min_verdict {
        Some(m) => Report::new(
            report.binary,
            report
                .points
                .into_iter()
                .filter(|p| p.verdict >= m)
                .collect(),
        )
        .with_unresolved(report.unresolved),
        None => report,
    };
    let text = match how.format {
        ReportFormat::Json | ReportFormat::Jsonl | ReportFormat::Blacklist => {
            unreachable!("streamed above")
        }
        ReportFormat::Text => render_text(&report, how.layout, how.all),
        ReportFormat::Sarif => {
            let lines = |addr: u64| {
                let debug = debug?;
                let row = debug.row_for(addr)?;
                Some((debug.file(row).to_owned(), u64::from(row.line)))
            };
            probesafe::report::sarif::to_sarif(
                &report,
                &lines,
                how.layout == Layout::Ranges && !how.per_point,
            )
        }
        ReportFormat::Junit => probesafe::report::junit::to_junit(&report),
    };
    emit(how.output, &text)?;
    Ok(exit_code(
        how.fail_on,
        how.baseline,
        report.points.iter().map(|p| p.verdict).max(),
    ))
}
