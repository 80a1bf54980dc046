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

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::analyze::{Analyzer, ChunkControl, Selection};
use crate::emu::splitmix;
use crate::error::{Error, Result};
use crate::load::Binary;
use crate::report::Point;

pub use checkpoint::{Checkpoint, FunctionLine, Header};
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
    /// Called once per finished function with its index and its number of
    /// points: first for those taken from the checkpoint (with `true`),
    /// then for each function this run finishes.
    pub progress: &'a (dyn Fn(usize, usize, bool) + Sync),
}

/// What a batch did.
#[derive(Debug)]
pub struct BatchResult {
    /// Functions taken from the checkpoint.
    pub resumed: usize,
    /// Functions selected.
    pub functions: usize,
    /// Functions done (resumed included).
    pub done: usize,
    /// Whether it stopped before the end (then `sink` did not get every
    /// point).
    pub interrupted: bool,
}

/// Run `analyzer` over `selection`, in chunks of functions in address
/// order: `sink` gets each chunk's points sorted by address, with the end
/// of each point's instruction, while the next chunk is analysed, so that
/// memory does not grow with the number of points. The functions the
/// checkpoint holds are read back from it in their place; those this run
/// finishes are appended to it.
pub fn run(
    analyzer: &Analyzer<'_>,
    selection: Selection,
    batch: &Batch<'_>,
    sink: &mut (dyn FnMut(Vec<Point>, Vec<u64>) -> Result<()> + Send),
) -> Result<BatchResult> {
    let functions = selection.functions().count();
    let checkpoint = match &batch.checkpoint {
        Some((path, header)) => {
            let mut checkpoint = Checkpoint::open(path, header)?;
            // Functions outside this selection cannot be there (the
            // header pins the selection), but be strict anyway.
            let selected: std::collections::BTreeSet<usize> = selection.functions().collect();
            checkpoint.retain(|i| selected.contains(&i));
            Some(checkpoint)
        }
        None => None,
    };
    let mut resumed = 0;
    for (i, points) in checkpoint.iter().flat_map(Checkpoint::resumed) {
        (batch.progress)(i, points, true);
        resumed += 1;
    }
    let finished = AtomicUsize::new(0);
    let done = |i: usize, points: &[Point], ends: &[u64]| {
        (batch.progress)(i, points.len(), false);
        finished.fetch_add(1, Ordering::Relaxed);
        if let Some(checkpoint) = &checkpoint {
            checkpoint.record(i, points, ends);
        }
    };
    let prior = |i: usize| checkpoint.as_ref().and_then(|c| c.read(i));
    let control = ChunkControl {
        stop: batch.stop,
        prior: &prior,
        done: &done,
    };
    let ran = analyzer.run_chunked_with(&selection, batch.jobs, &control, sink);
    // Flushed whatever happened, so that the finished functions are kept.
    let flushed = checkpoint.as_ref().map_or(Ok(()), Checkpoint::flush);
    ran?;
    flushed?;
    let done = resumed + finished.into_inner();
    Ok(BatchResult {
        resumed,
        functions,
        done,
        interrupted: done < functions,
    })
}
