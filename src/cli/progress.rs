//! The progress bar and the `--stats` figures of the long runs (`scan`,
//! `check`, `fuzz`, `survey`), in one place.
//!
//! The bar is drawn on stderr, and only when stderr is a terminal: a
//! redirected or captured stderr gets nothing from it. It counts points
//! (or, for `survey`, compilation units then functions): done / total,
//! the rate and the time left. When whole functions are analysed, the
//! total is an estimate from their sizes until each is finished (exact on
//! fixed-width instruction sets; on x86 the ratio of points to estimate
//! seen so far corrects the rest), and it is exact at the end.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use probesafe::emu::run::trials_run;

/// One bar (hidden when stderr is not a terminal) and the figures of the
/// work it counts.
pub struct Progress {
    bar: ProgressBar,
    unit: &'static str,
    started: Instant,
    trials_before: u64,
    tally: Mutex<Tally>,
}

/// What is done and what is expected, per function.
#[derive(Default)]
struct Tally {
    /// The estimate of each function not finished yet.
    estimates: HashMap<usize, u64>,
    /// Their sum.
    left: u64,
    /// The sum of the estimates of the functions finished.
    done_estimate: u64,
    /// Units counted in this run.
    done: u64,
}

impl Tally {
    /// The expected total: what is done, and what is left scaled by the
    /// ratio of real to estimated counts so far.
    fn total(&self) -> u64 {
        let ratio = if self.done_estimate == 0 {
            1.0
        } else {
            self.done as f64 / self.done_estimate as f64
        };
        self.done + (self.left as f64 * ratio).round() as u64
    }
}

/// The final figures of a run.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub count: u64,
    pub unit: &'static str,
    pub seconds: f64,
    /// Trials run by the emulator during the run.
    pub trials: u64,
}

impl Progress {
    /// A bar of `total` units.
    pub fn new(unit: &'static str, total: u64) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{elapsed_precise}} [{{bar:20}}] {{pos}}/{{len}} {unit}, {{per_sec:0}}, ETA {{eta}} {{msg}}"
            ))
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Progress {
            bar,
            unit,
            started: Instant::now(),
            trials_before: trials_run(),
            tally: Mutex::new(Tally::default()),
        }
    }

    /// A bar of points over functions, each with its estimated number of
    /// points (from [`probesafe::analyze::Analyzer::point_estimates`]).
    pub fn of_functions(estimates: impl Iterator<Item = (usize, u64)>) -> Progress {
        let mut tally = Tally::default();
        for (i, e) in estimates {
            tally.left += e;
            tally.estimates.insert(i, e);
        }
        let progress = Progress::new("points", tally.left);
        *progress.lock() = tally;
        progress
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Function `index` is finished with `points` points.
    pub fn function_done(&self, index: usize, points: usize) {
        let mut tally = self.lock();
        let estimate = tally.estimates.remove(&index).unwrap_or(0);
        tally.left -= estimate;
        tally.done_estimate += estimate;
        tally.done += points as u64;
        self.bar.set_length(tally.total());
        self.bar.set_position(tally.done);
    }

    /// Function `index` is not done by this run (a checkpoint has it): it
    /// leaves the total.
    pub fn forget(&self, index: usize) {
        let mut tally = self.lock();
        let estimate = tally.estimates.remove(&index).unwrap_or(0);
        tally.left -= estimate;
        self.bar.set_length(tally.total());
    }

    /// One more unit done (a bar made with [`Progress::new`]).
    pub fn inc(&self) {
        self.lock().done += 1;
        self.bar.inc(1);
    }

    /// The total, once known.
    pub fn set_length(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Run `f` (which writes to the terminal) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Erase the bar; the figures of the run.
    pub fn finish(&self) -> Figures {
        self.bar.finish_and_clear();
        Figures {
            count: self.lock().done,
            unit: self.unit,
            seconds: self.started.elapsed().as_secs_f64(),
            trials: trials_run() - self.trials_before,
        }
    }
}

impl Figures {
    /// `N points in S s: R points/s`, and with `threads`, the trials:
    /// `N points, T trials in S s: R points/s, T/S trials/s, T/S/threads
    /// trials/s per thread (threads threads)`.
    pub fn line(&self, threads: Option<usize>) -> String {
        let secs = self.seconds.max(1e-9);
        let rate = self.count as f64 / secs;
        match threads {
            None => format!(
                "{} {unit} in {:.3} s: {rate:.0} {unit}/s",
                self.count,
                self.seconds,
                unit = self.unit
            ),
            Some(threads) => {
                let per_sec = self.trials as f64 / secs;
                format!(
                    "{} {unit}, {} trials in {:.3} s: {rate:.0} {unit}/s, {per_sec:.0} trials/s, {:.0} trials/s per thread ({threads} threads)",
                    self.count,
                    self.trials,
                    self.seconds,
                    per_sec / threads.max(1) as f64,
                    unit = self.unit
                )
            }
        }
    }
}

/// The worker threads of a run with `--jobs` `jobs`.
pub fn threads(jobs: Option<u16>) -> usize {
    jobs.map(usize::from)
        .unwrap_or_else(rayon::current_num_threads)
}
