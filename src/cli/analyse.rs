//! Analysing a selection of points, shared by `scan`, `check`, `confirm`
//! and `fuzz`: resolve the specs, run the static map and the dynamic
//! checks, add the extras that need the whole selection (`analyze`), and
//! deliver the report whole or streamed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Result;

use probesafe::analyze::{balance, reference, scope};
use probesafe::analyze::{Analyzer, RunControl, Selection};
use probesafe::load::Binary;
use probesafe::point::PointSpec;
use probesafe::report::{stream, Layout, Point, Report, Unresolved};
use probesafe::Error;

use super::args::{Common, Format};
use super::deliver::{deliver, exit_code, exit_status, stream_form, wants_report, Delivery};
use super::output::Output;
use super::progress::{threads, Progress};
use super::setup::{analyzer_with, binary_info};
use super::specs::Specs;
use super::trace::print_traces;

/// Whether a run needs the DWARF: everything but a deny-list, whose
/// hazardous ranges DWARF never changes (it adds gray findings only), unless
/// a point spec names source-level things or a dynamic check writes
/// variables.
pub fn needs_dwarf(common: &Common, specs: &[PointSpec]) -> bool {
    common.format != Format::Blacklist
        || !common.write.is_empty()
        || common.all_vars
        || common.reference.is_some()
        || common.trace
        || specs
            .iter()
            .any(|s| !matches!(s, PointSpec::Address(_) | PointSpec::Symbol { .. }))
}

/// Select the functions matching each `--functions` glob (every function
/// without one); a glob that matches none is an unresolved spec.
pub fn select_functions(
    analyzer: &Analyzer<'_>,
    selection: &mut Selection,
    globs: &[String],
    specs: &mut Specs,
) {
    for (i, e) in analyzer.select_all_each(selection, globs) {
        specs.fail(usize::MAX, &globs[i], &e.to_string());
    }
}

/// The dynamic checks that need the whole selection's points: `--write`
/// scope, `--reference` and the entry/return balance.
pub fn dynamic_extras(
    binary: &Binary,
    analyzer: &Analyzer<'_>,
    points: &mut [Point],
    balanced: &[String],
    common: &Common,
) -> Result<()> {
    let Some(options) = analyzer.dynamic_options().cloned() else {
        return Ok(());
    };
    if !options.writes.is_empty() || options.all_vars {
        if let Some(debug) = analyzer.debug_info() {
            scope::check_writes(binary, debug, points, &options.writes)?;
        }
    }
    // Opened once, for the comparison and for the balance, when either
    // runs.
    let ref_binary = match &common.reference {
        Some(path) if analyzer.debug_info().is_some() || !balanced.is_empty() => {
            Some(Binary::open(path)?)
        }
        _ => None,
    };
    if let Some(ref_binary) = &ref_binary {
        let jobs = common.jobs.map(usize::from);
        let runs = reference::runs(analyzer, points, ref_binary, &options, jobs)?;
        reference::apply(points, &runs, &ref_binary.path.display().to_string());
    }
    let options = balance::options(common.cases, common.seed, common.budget);
    let balances = balance::measure(analyzer, balanced, ref_binary.as_ref(), &options)?;
    balance::attach(points, &balances);
    Ok(())
}

/// What a run prints about itself on stderr: the progress bar (when
/// stderr is a terminal) and, with `--stats`, the final figures after the
/// command's name.
#[derive(Clone, Copy, Debug)]
pub struct Tell {
    pub command: &'static str,
    pub stats: bool,
}

impl Tell {
    /// Print the figures of `progress` when `--stats` asks for them;
    /// with the trials when the run emulates.
    fn stats(&self, progress: &Progress, analyzer: &Analyzer<'_>, common: &Common) {
        let figures = progress.finish();
        if self.stats {
            let emulating = analyzer.dynamic_options().is_some();
            let threads = emulating.then(|| threads(common.jobs));
            eprintln!("{}: {}", self.command, figures.line(threads));
        }
    }
}

/// Resolve the specs (`select` returns them with the unresolved ones),
/// analyse, and deliver the report; exit 2 when a spec did not resolve.
pub fn analyse(
    binary: &Binary,
    common: &Common,
    layout: Layout,
    balanced: &[String],
    dwarf: bool,
    tell: Tell,
    select: impl FnOnce(&Analyzer<'_>, &mut Selection) -> Specs,
) -> Result<ExitCode> {
    let analyzer = analyzer_with(binary, common, layout == Layout::Points, None, dwarf)?;
    let mut selection = Selection::default();
    let specs = select(&analyzer, &mut selection);
    specs.print_unresolved();
    let unresolved = specs.unresolved();
    let progress = Progress::of_functions(analyzer.point_estimates(&selection));
    // A report that needs every point first is written whole; the others
    // as the points are finished (the unresolved specs after the summary
    // of the JSON form, as the whole report has them).
    if streams(common, balanced) {
        let code = stream(
            binary,
            &analyzer,
            &selection,
            common,
            layout,
            &progress,
            &unresolved,
        )?;
        tell.stats(&progress, &analyzer, common);
        return Ok(exit_status(code, &unresolved));
    }
    let stop = AtomicBool::new(false);
    let control = RunControl {
        stop: &stop,
        done: &|i, points| progress.function_done(i, points.len()),
    };
    let mut points = analyzer.run_with(&selection, common.jobs.map(usize::from), &control)?;
    dynamic_extras(binary, &analyzer, &mut points, balanced, common)?;
    tell.stats(&progress, &analyzer, common);
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

/// Analyse the selection in chunks and write each chunk's points as soon as
/// they are finished: memory does not grow with the number of points.
fn stream(
    binary: &Binary,
    analyzer: &Analyzer<'_>,
    selection: &Selection,
    common: &Common,
    layout: Layout,
    progress: &Progress,
    unresolved: &[Unresolved],
) -> Result<ExitCode> {
    let form = stream_form(common.format).expect("checked by streams()");
    let options = stream::Options {
        form,
        folded: layout == Layout::Ranges && !common.per_point,
        min_verdict: common.min_verdict.map(|m| m.verdict()),
    };
    let out = Output::open(common.output.as_deref())?;
    let target = common.output.clone().unwrap_or_else(|| PathBuf::from("-"));
    let io = |source| Error::Write {
        path: target.clone(),
        source,
    };
    let mut writer = stream::ReportWriter::new(out, options, &binary_info(binary))
        .map_err(io)?
        .with_unresolved(unresolved);
    // The report may go to the terminal the bar is drawn on.
    analyzer.run_chunked(
        selection,
        common.jobs.map(usize::from),
        &|i, points| progress.function_done(i, points.len()),
        &mut |points, ends| progress.suspend(|| writer.write(&points, &ends).map_err(io)),
    )?;
    let (written, out) = writer.finish().map_err(io)?;
    out.commit()?;
    Ok(exit_code(common.fail_on, None, written.worst))
}
