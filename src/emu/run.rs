//! One trial: generated inputs, a run from the region's start to its
//! return, and at every hit of the probe point the trap model:
//!
//! 1. breakpoint entry: inside a transaction on x86/arm64 the transaction
//!    aborts here, before any handler;
//! 2. the probe handlers (`--handler`), emulated; reaching the probe point
//!    while they run is re-entry;
//! 3. on POWER, a transaction that was active fails now;
//! 4. exception return into the out-of-line step: the reservation is cleared;
//! 5. the probed instruction, single-stepped (a transaction it starts is
//!    failed by the step's trap);
//! 6. exception return after the step: the reservation is cleared again.
//!
//! The emulator is deterministic, so the same full state (registers and
//! every journaled memory byte) at the same hit twice is an infinite loop:
//! that proves a livelock.

//!
//! This module holds a trial's description and its outcome; the driver is
//! in `trial.rs`, the trap model's steps in `handler.rs`, the transaction
//! model in `transaction.rs`.

use std::time::Duration;

use serde::Serialize;

pub use super::inputs::{heap_pointer, lazy_word, Input};
use super::state::{CallRecord, ScResult};

/// The instruction count `go` passes to `emu_start`: never reached, but
/// not zero. Unicorn removes its instruction-counting hook when a run asks
/// for no count, and then flushes every translated block; the one-step runs
/// of the trap model ask for a count of one, so alternating the two
/// retranslated all code after every probe hit. With a count at every
/// start, the counting hook stays and the translations are kept.
pub(crate) const UNCOUNTED: usize = usize::MAX;

/// Probe hits per trial before giving up on a livelock proof.
pub(crate) const MAX_HITS: u32 = 256;

/// A trial's instruction budget unless it says otherwise.
pub const DEFAULT_BUDGET: u64 = 100_000;

/// A trial's wall-clock limit unless it says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Trials run by every emulator of this process so far (for throughput
/// figures; never part of a report).
pub fn trials_run() -> u64 {
    TRIALS.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) static TRIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// What the probe hook does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeMode {
    /// Count hits only (the unprobed baseline).
    Count,
    /// Trap: apply the trap model at every hit.
    Trap,
    /// Apply the trial's writes at every hit, then go on (no trap effects):
    /// what a live patch or a handler writing `pt_regs` does.
    Write,
}

/// One trial to run.
#[derive(Clone, Debug)]
pub struct Trial<'a> {
    /// Where execution starts (the function's entry, or a dominating
    /// instruction such as the load-linked).
    pub start: u64,
    /// The function's entry (for ppc64 ELFv2 r12, and its TOC).
    pub entry: u64,
    /// ppc64 ELFv1: the TOC pointer from the function's descriptor.
    pub toc: Option<u64>,
    /// The probe point.
    pub probe: Option<u64>,
    /// A group trial (`probe` is then `None`, `Trap` mode): the run takes
    /// the unprobed path while following a trap at each of these points at
    /// its first hits (the hit limit each), and stops at the first place
    /// where one of those traps would break a sequence: a store-conditional
    /// after a trap that came after its load-linked, a trap inside a
    /// transaction or on its begin ([`Outcome::harm`]). Without harm, each
    /// point's own trial would have followed the same path.
    pub group: &'a [u64],
    /// What the probe does.
    pub mode: ProbeMode,
    /// The inputs.
    pub input: &'a Input,
    /// Entry addresses of the probe handler functions.
    pub handlers: &'a [u64],
    /// Instruction budget (approximate: block bytes / 4).
    pub budget: u64,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Record an instruction trace.
    pub trace: bool,
    /// Bytes to write after the reset, before the run (test fixtures such
    /// as a caller's buffer). Not journaled.
    pub memory: &'a [(u64, Vec<u8>)],
    /// In `Write` mode, what to write at every hit.
    pub writes: &'a [super::write::WriteOp],
    /// Record the observable stores ([`Outcome::stores`]).
    pub observe: bool,
}

impl<'a> Trial<'a> {
    /// A trial of the function at `entry` with `input`, started at its
    /// entry: unprobed (`Count` mode, no probe point), no handlers, the
    /// default budget and time limit, no trace, no memory set up, no
    /// writes, stores not observed. Change the fields that differ:
    /// `Trial { probe: Some(p), mode: ProbeMode::Trap, ..Trial::new(entry, &input) }`.
    pub fn new(entry: u64, input: &'a Input) -> Trial<'a> {
        Trial {
            start: entry,
            entry,
            toc: None,
            probe: None,
            group: &[],
            mode: ProbeMode::Count,
            input,
            handlers: &[],
            budget: DEFAULT_BUDGET,
            timeout: DEFAULT_TIMEOUT,
            trace: false,
            memory: &[],
            writes: &[],
            observe: false,
        }
    }
}

/// How a trial ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Exit {
    /// The region returned to its caller.
    Returned,
    /// The same full state at the same hit twice: an infinite loop.
    Livelock {
        /// The probe point.
        at: u64,
        /// Hits in one period of the loop.
        period: u32,
    },
    /// The probe handler reached the probe point again.
    Reentry {
        /// Function entries and blocks on the way, ending at the probe point.
        chain: Vec<u64>,
    },
    /// The instruction budget or the hit limit ran out.
    Budget,
    /// The wall-clock limit passed.
    Timeout,
    /// The emulator stopped with an error (unmapped fetch, invalid
    /// instruction...).
    Fault {
        /// Where.
        pc: u64,
        /// Unicorn's reason.
        reason: String,
    },
}

/// A transaction event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxEvent {
    /// The outermost begin.
    pub begin: u64,
    /// Where it aborted (the trap point or the explicit abort).
    pub at: u64,
    /// It was the trap, not an explicit abort.
    pub by_trap: bool,
    /// The status value the architecture leaves.
    pub status: u64,
    /// Whether the probe handler ran before the abort.
    pub handler_ran: bool,
    /// Where execution resumed.
    pub resumed_at: u64,
}

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum TraceEvent {
    /// An instruction executed.
    Insn {
        /// Its address.
        at: u64,
    },
    /// The probe point was hit (breakpoint exception entry).
    Hit {
        /// The point.
        at: u64,
        /// Which hit.
        n: u32,
    },
    /// The probe handler ran.
    Handler {
        /// Its entry.
        entry: u64,
    },
    /// An exception return cleared the exclusive monitor / reservation.
    ReservationCleared,
    /// The probed instruction was single-stepped.
    Step {
        /// Its address.
        at: u64,
    },
    /// A store-conditional executed.
    StoreConditional {
        /// Its address.
        at: u64,
        /// It stored.
        ok: bool,
    },
    /// A transaction began.
    TxBegin {
        /// Its address.
        at: u64,
    },
    /// A transaction committed.
    TxCommit {
        /// Its address.
        at: u64,
    },
    /// A transaction aborted and rolled back.
    TxAbort {
        /// The abort.
        event: TxEvent,
    },
    /// A call was replaced by a stub.
    Stub {
        /// The call.
        at: u64,
        /// Its target, if direct.
        target: Option<u64>,
        /// The generated return value.
        returned: u64,
    },
}

/// What a trial observed.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// How it ended.
    pub exit: Exit,
    /// Probe hits.
    pub hits: u32,
    /// Hits counted in `Count` mode.
    pub reached: u64,
    /// Store-conditionals executed, in order.
    pub sc: Vec<ScResult>,
    /// Transaction aborts.
    pub tx_aborts: Vec<TxEvent>,
    /// Transactions that committed.
    pub tx_commits: u32,
    /// Stubbed calls.
    pub calls: Vec<CallRecord>,
    /// The return value, if the region returned.
    pub return_value: Option<u64>,
    /// The first block executed outside the function: (jump, target).
    pub left_via: Option<(u64, u64)>,
    /// The last block before the return (where the `ret` executed).
    pub last_block: Option<(u64, u32)>,
    /// Approximate instructions executed.
    pub executed: u64,
    /// The trace, if asked for.
    pub trace: Vec<TraceEvent>,
    /// In `Write` mode, the writes at the first hits.
    pub writes: Vec<super::write::WriteEvent>,
    /// With `observe`: every byte stored outside the region's own stack
    /// frames, with its final value.
    pub stores: Vec<(u64, u8)>,
    /// In `Write` mode, the calls made before the first hit.
    pub calls_before_hit: Option<usize>,
    /// A group trial stopped here: a trap at one of its points would break
    /// the sequence at this address.
    pub harm: Option<u64>,
}

impl Outcome {
    pub(crate) fn empty() -> Outcome {
        Outcome {
            exit: Exit::Returned,
            hits: 0,
            reached: 0,
            sc: Vec::new(),
            tx_aborts: Vec::new(),
            tx_commits: 0,
            calls: Vec::new(),
            return_value: None,
            left_via: None,
            last_block: None,
            executed: 0,
            trace: Vec::new(),
            writes: Vec::new(),
            stores: Vec::new(),
            calls_before_hit: None,
            harm: None,
        }
    }
}

impl Exit {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Exit::Returned => "returned to the caller".into(),
            Exit::Livelock { at, period } => {
                format!("livelock proven: the same full state recurred at {at:#x} after {period} hit(s)")
            }
            Exit::Reentry { chain } => format!(
                "re-entry: {}",
                chain
                    .iter()
                    .map(|a| format!("{a:#x}"))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
            Exit::Budget => "stopped by the instruction budget or hit limit".into(),
            Exit::Timeout => "stopped by the time limit".into(),
            Exit::Fault { pc, reason } => format!("fault at {pc:#x}: {reason}"),
        }
    }
}
