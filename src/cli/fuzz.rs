//! `probesafe fuzz`: the batch driver with its progress bar, signals,
//! checkpoint and witness files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::json;

use probesafe::analyze::Selection;
use probesafe::detect::{DynamicOptions, InputSource};
use probesafe::fuzz::{self, witness, Batch, Header, PropInputs, Shard, WitnessFile};
use probesafe::report::{stream, Layout, Report};

use super::analyse::select_functions;
use super::args::FuzzArgs;
use super::deliver::{deliver, exit_code, exit_status, stream_form, wants_report, Delivery};
use super::output::Output;
use super::progress::{threads, Progress};
use super::setup::{self, analyzer, binary_info};
use super::specs::Specs;
use super::trace::print_traces;

/// The exit status of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as
/// shells report an interrupted command).
pub const INTERRUPTED: u8 = 130;

/// Set by the signal handler; workers take no new function once set.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn run(args: FuzzArgs) -> Result<ExitCode> {
    let common = &args.common;
    let binary = setup::open(&args.binary, common.expect_build_id.as_deref())?;
    let mut specs = Specs::parse(&args.points);
    let shard = args.shard.as_deref().map(str::parse::<Shard>).transpose()?;
    let inputs = (!common.static_only)
        .then(|| Arc::new(PropInputs::new(common.seed)) as Arc<dyn InputSource>);
    let analyzer = analyzer(&binary, common, false, inputs)?;
    // Every selected boundary is emulated, not only those the static map
    // marks: the trap may do harm where no window was found.
    let analyzer = match analyzer.dynamic_options().cloned() {
        Some(options) => analyzer.with_dynamic(DynamicOptions {
            every_point: !args.candidates,
            ..options
        }),
        None => analyzer,
    };
    let mut selection = Selection::default();
    if specs.is_empty() || !args.functions.is_empty() {
        select_functions(&analyzer, &mut selection, &args.functions, &mut specs);
    }
    specs.select(&analyzer, &mut selection);
    specs.print_unresolved();
    let unresolved = specs.unresolved();
    let selected = !selection.is_empty();
    if let Some(shard) = shard {
        shard.apply(&binary, &mut selection);
    }
    let handlers = setup::handler_entries(&binary, &common.handler)?;
    let options = json!({
        "seed": common.seed,
        "cases": common.cases.max(1),
        "budget": common.budget.max(1),
        "static_only": common.static_only,
        "candidates": args.candidates,
        "handlers": handlers.iter().map(|h| format!("{h:#x}")).collect::<Vec<_>>(),
        "functions": args.functions,
        "points": args.points,
        "shard": shard.map(|s| format!("{}/{}", s.index, s.count)),
        "blacklist": common.blacklist.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "debug_file": common.debug_file.as_ref().map(|p| p.display().to_string()),
    });
    let checkpoint = args
        .checkpoint
        .as_ref()
        .map(|p| (p.to_owned(), Header::new(binary_info(&binary), options)));

    // The first SIGINT/SIGTERM stops the run: every emulation ends at its
    // next translated block (whatever it runs), the functions being
    // analysed are dropped, the checkpoint keeps the finished ones and is
    // flushed. A second one exits at once. Files are written atomically,
    // so neither leaves a truncated one.
    ctrlc::set_handler(|| {
        probesafe::emu::interrupt();
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(INTERRUPTED));
        }
    })
    .context("installing the SIGINT/SIGTERM handler")?;

    // This run's points only: the functions a checkpoint holds leave the
    // bar and the rates.
    let progress = Progress::of_functions(analyzer.point_estimates(&selection));
    let resumed_points = AtomicU64::new(0);
    let done = |i: usize, points: usize, resumed: bool| {
        if resumed {
            progress.forget(i);
            resumed_points.fetch_add(points as u64, Ordering::Relaxed);
        } else {
            progress.function_done(i, points);
        }
    };
    let batch = Batch {
        jobs: common.jobs.map(usize::from),
        checkpoint,
        stop: &STOP,
        progress: &done,
    };
    let info = binary_info(&binary);
    let trial_options = witness::trial_options(common.budget.max(1), &handlers);
    if let Some(dir) = &args.witnesses {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    }
    // The witness files of a chunk of points, written as it is finished.
    let witnesses = |report: &Report| -> probesafe::Result<()> {
        if let Some(dir) = &args.witnesses {
            for file in WitnessFile::all_of(report, &trial_options) {
                probesafe::atomic_file::write_atomic(
                    &dir.join(file.file_name()),
                    file.to_json().as_bytes(),
                )?;
            }
        }
        Ok(())
    };

    // The report is written as the chunks of functions are finished, in
    // address order, when its form streams and nothing needs every point
    // first (a baseline, traces); otherwise the points are gathered.
    let streamed = match stream_form(common.format) {
        Some(form) if common.baseline.is_none() && !common.trace => Some(form),
        _ => None,
    };
    let (result, delivered) = if let Some(form) = streamed {
        let options = stream::Options {
            form,
            folded: !common.per_point,
            min_verdict: common.min_verdict.map(|m| m.verdict()),
        };
        let out = Output::open(common.output.as_deref())?;
        let target = common.output.clone().unwrap_or_else(|| PathBuf::from("-"));
        let io = |source| probesafe::Error::Write {
            path: target.clone(),
            source,
        };
        let mut writer = stream::ReportWriter::new(out, options, &info)
            .map_err(io)?
            .with_unresolved(&unresolved);
        let result = fuzz::run(&analyzer, selection, &batch, &mut |points, ends| {
            let report = Report::new(info.clone(), points);
            witnesses(&report)?;
            // The report may go to the terminal the bar is drawn on.
            progress.suspend(|| writer.write(&report.points, &ends).map_err(io))
        })?;
        let delivered = if result.interrupted {
            None
        } else {
            let (written, out) = writer.finish().map_err(io)?;
            out.commit()?;
            Some(Delivered::Streamed(written.worst))
        };
        (result, delivered)
    } else {
        let mut points = Vec::new();
        let result = fuzz::run(&analyzer, selection, &batch, &mut |chunk, _| {
            points.extend(chunk);
            Ok(())
        })?;
        (result, Some(Delivered::Gathered(points)))
    };
    let figures = progress.finish();
    if args.stats {
        let resumed = match result.resumed {
            0 => String::new(),
            n => format!(
                " ({n} functions, {} points from the checkpoint)",
                resumed_points.load(Ordering::Relaxed)
            ),
        };
        eprintln!(
            "fuzz: {} functions, {}{resumed}",
            result.done - result.resumed,
            figures.line((!common.static_only).then(|| threads(common.jobs)))
        );
    }
    if result.interrupted {
        eprintln!(
            "probesafe: interrupted after {} of {} functions{}",
            result.done,
            result.functions,
            match &args.checkpoint {
                Some(p) => format!(
                    "; {} holds them: run the same command again to resume",
                    p.display()
                ),
                None => String::new(),
            }
        );
        return Ok(ExitCode::from(INTERRUPTED));
    }
    let points = match delivered {
        Some(Delivered::Streamed(worst)) => {
            return Ok(exit_status(
                exit_code(common.fail_on, None, worst),
                &unresolved,
            ))
        }
        Some(Delivered::Gathered(points)) => points,
        None => unreachable!("an interrupted run returned above"),
    };
    let report = Report::new(info, points).with_unresolved(unresolved.clone());
    witnesses(&report)?;
    if !wants_report(selected, &unresolved, common) {
        return Ok(exit_status(ExitCode::SUCCESS, &unresolved));
    }
    let code = deliver(
        report.clone(),
        analyzer.debug_info(),
        &Delivery::of(common, Layout::Ranges),
    )?;
    print_traces(&analyzer, &report, common)?;
    Ok(exit_status(code, &unresolved))
}

/// What a finished run has for its report.
enum Delivered {
    /// Written as it went; the worst verdict of its points.
    Streamed(Option<probesafe::report::Verdict>),
    /// Every point, for a form that needs them all.
    Gathered(Vec<probesafe::report::Point>),
}
