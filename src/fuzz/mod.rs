//! `probesafe fuzz`: the batch driver over a whole binary.
//!
//! It runs the [`Analyzer`] over every selected
//! function in parallel with property-based inputs ([`inputs`]) whose
//! hazardous cases are shrunk to minimal witnesses, takes a deterministic
//! share of the functions when sharded ([`Shard`]), and keeps a
//! [`checkpoint`] of finished functions so that an interrupted run resumes
//! where it stopped. The result depends only on the binary, the options and
//! the seed: not on `--jobs`, the shard split, or interruptions.

pub mod checkpoint;
pub mod inputs;
pub mod witness;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::analyze::{Analyzer, RunControl, Selection};
use crate::emu::splitmix;
use crate::error::{Error, Result};
use crate::load::Binary;
use crate::report::Point;

pub use checkpoint::{Checkpoint, Header};
pub use inputs::PropInputs;
pub use witness::WitnessFile;

/// `--shard I/N`: the functions whose address hashes to `I` modulo `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Shard> {
        let bad = |reason: &str| Error::BadShard {
            spec: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (i, n) = s.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: u64 = i.trim().parse().map_err(|_| bad("I is not a number"))?;
        let count: u64 = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 {
            return Err(bad("N is 0"));
        }
        if index >= count {
            return Err(bad("I is not below N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the function at `address` belongs to this shard. A hash of
    /// the address, so that neighbouring (similar) functions spread over
    /// the shards and the split does not depend on the function table's
    /// order.
    pub fn owns(&self, address: u64) -> bool {
        let mut state = address;
        splitmix(&mut state) % self.count == self.index
    }

    /// Keep only this shard's functions in `selection`.
    pub fn apply(&self, binary: &Binary, selection: &mut Selection) {
        selection.retain(|i| self.owns(binary.functions[i].address));
    }
}

/// How a batch runs.
pub struct Batch<'a> {
    /// Worker threads (all cores when `None`).
    pub jobs: Option<usize>,
    /// Where to keep the checkpoint, and what it must match.
    pub checkpoint: Option<(PathBuf, Header)>,
    /// Set (by a signal handler) to stop between functions.
    pub stop: &'a AtomicBool,
    /// Called once per finished function (also those taken from the
    /// checkpoint, then with `true`), with its index and points.
    pub progress: &'a (dyn Fn(usize, &[Point], bool) + Sync),
}

/// What a batch produced.
#[derive(Debug)]
pub struct BatchResult {
    /// Every point of the functions done, in no particular order.
    pub points: Vec<Point>,
    /// Functions taken from the checkpoint.
    pub resumed: usize,
    /// Functions selected.
    pub functions: usize,
    /// Functions done (resumed included).
    pub done: usize,
    /// Whether it stopped before the end.
    pub interrupted: bool,
}

/// The shortest time between two checkpoint writes; a write that takes
/// long makes the interval grow, so that writing stays a small share.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Run `analyzer` over `selection`.
pub fn run(
    analyzer: &Analyzer<'_>,
    mut selection: Selection,
    batch: &Batch<'_>,
) -> Result<BatchResult> {
    let functions = selection.functions().count();
    let mut state = match &batch.checkpoint {
        Some((path, header)) => {
            Checkpoint::resume(path, header)?.unwrap_or_else(|| Checkpoint::new(header.clone()))
        }
        None => Checkpoint::new(Header::new(
            crate::report::BinaryInfo {
                path: String::new(),
                arch: String::new(),
                build_id: None,
            },
            serde_json::Value::Null,
        )),
    };
    // Points of functions outside this selection cannot be there (the
    // header pins the selection), but be strict anyway.
    let selected: std::collections::BTreeSet<usize> = selection.functions().collect();
    state.functions.retain(|i, _| selected.contains(i));
    let resumed = state.functions.len();
    for (&i, points) in &state.functions {
        (batch.progress)(i, points, true);
    }
    selection.retain(|i| !state.functions.contains_key(&i));

    struct Saver<'p> {
        state: Checkpoint,
        path: Option<&'p Path>,
        last: Instant,
        interval: Duration,
        error: Option<Error>,
    }
    impl Saver<'_> {
        fn save(&mut self) {
            let Some(path) = self.path else { return };
            let t = Instant::now();
            if let Err(e) = self.state.save(path) {
                self.error.get_or_insert(e);
            }
            self.interval = CHECKPOINT_INTERVAL.max(t.elapsed() * 10);
            self.last = Instant::now();
        }
    }
    let saver = Mutex::new(Saver {
        state,
        path: batch.checkpoint.as_ref().map(|(p, _)| p.as_path()),
        last: Instant::now(),
        interval: CHECKPOINT_INTERVAL,
        error: None,
    });
    let checkpointing = batch.checkpoint.is_some();
    let resumed_points: Vec<Point> = saver
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .state
        .functions
        .values()
        .flatten()
        .cloned()
        .collect();
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let done = |i: usize, points: &[Point]| {
        (batch.progress)(i, points, false);
        finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if checkpointing {
            // Copied before the lock: the other workers wait on it.
            let copy = points.to_vec();
            let mut s = saver.lock().unwrap_or_else(|e| e.into_inner());
            s.state.functions.insert(i, copy);
            if s.last.elapsed() >= s.interval {
                s.save();
            }
        }
    };
    let control = RunControl {
        stop: batch.stop,
        done: &done,
    };
    let mut points = analyzer.run_with(&selection, batch.jobs, &control)?;
    let mut s = saver.into_inner().unwrap_or_else(|e| e.into_inner());
    s.save();
    if let Some(e) = s.error {
        return Err(e);
    }
    let done = resumed + finished.into_inner();
    points.extend(resumed_points);
    Ok(BatchResult {
        points,
        resumed,
        functions,
        done,
        interrupted: done < functions,
    })
}
