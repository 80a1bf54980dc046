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

use std::time::{Duration, Instant};

use serde::Serialize;
use unicorn_engine::{Context, RegisterPPC, RegisterX86};

use super::{
    splitmix, CallRecord, Emulator, ScResult, Stop, HANDLER_SENTINEL, HEAP_BASE, PAGE, SENTINEL,
    STACK_BASE, STACK_SIZE,
};
use crate::arch::{Arch, Class};
use crate::trap::{
    AbortCause, TxResume, TxStatus, PPC_TEND_ALL, PPC_TX_ENDED_CR0, PPC_TX_NESTED_CR0,
    PPC_TX_STARTED_CR0,
};

/// The instruction count `go` passes to `emu_start`: never reached, but
/// not zero. Unicorn removes its instruction-counting hook when a run asks
/// for no count, and then flushes every translated block; the one-step runs
/// of the trap model ask for a count of one, so alternating the two
/// retranslated all code after every probe hit. With a count at every
/// start, the counting hook stays and the translations are kept.
pub(crate) const UNCOUNTED: usize = usize::MAX;

/// Probe hits per trial before giving up on a livelock proof.
pub(crate) const MAX_HITS: u32 = 256;

/// The generated input of a trial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Input {
    /// The seed it was generated from.
    pub seed: u64,
    /// Integer argument registers, in calling-convention order.
    pub args: Vec<u64>,
}

impl Input {
    /// Generate the input of case `case` from `seed`: per argument, an edge
    /// value, a small integer, a pointer into the lazily materialised heap,
    /// or a random word. Odd cases echo the word behind a pointer argument
    /// (the first, second or third, in turn) into the next argument, so that
    /// a comparison between an argument and memory (a compare-and-swap's
    /// expected value, wherever the convention puts it) is taken both ways.
    pub fn generate(arch: Arch, seed: u64, case: u64) -> Input {
        let mut state = seed ^ case.wrapping_mul(0xd1b5_4a32_d192_ed03);
        let n = super::abi::abi(arch).args.len();
        let echo = case % 2 == 1;
        let pointer = ((case / 2) % 3) as usize;
        let mut args = Vec::with_capacity(n);
        for i in 0..n {
            let r = splitmix(&mut state);
            // Case 0 is the plainest input: pointers first, then small values.
            let kind = match () {
                _ if case == 0 => {
                    if i < 2 {
                        0
                    } else {
                        3
                    }
                }
                _ if echo && i == pointer => 0,
                _ => r % 8,
            };
            args.push(match kind {
                0..=2 => HEAP_BASE + ((r >> 8) & 0xff) * PAGE * 4 + ((r >> 20) & 0x3f8),
                3 | 4 => (r >> 16) % 17,
                5 => [
                    0,
                    1,
                    u64::MAX,
                    0x7fff_ffff,
                    0x8000_0000,
                    i64::MAX as u64,
                    0xffff_ffff,
                ][((r >> 8) % 7) as usize],
                _ => splitmix(&mut state),
            });
        }
        if echo {
            let target = (pointer + 1) % 3;
            let big = arch.big_endian();
            // A 64-bit word also satisfies a 32-bit comparison on a
            // little-endian target; big-endian needs the first four bytes.
            let narrow = big && (case / 6) % 2 == 1;
            args[target] = if narrow {
                lazy_bytes(args[pointer], 4, big) as u32 as i32 as i64 as u64
            } else {
                lazy_bytes(args[pointer], 8, big)
            };
        }
        Input {
            seed: seed ^ case,
            args,
        }
    }

    /// The input of case `case` for the checks that compare two runs of it
    /// (a write against none, one build against another): each of the
    /// first three arguments is a pointer into the heap or a small value,
    /// in turn (bit `i` of the case: every combination in eight cases), the
    /// others small values. A small value is 0, 1, -1, or 2 to 15, even or
    /// odd in turn (bit 3 of the case: a loop unrolled by two branches on
    /// its count's parity), so that an argument used as a loop bound, a
    /// count or a size lets the run end on its own: a run cut by the budget
    /// says nothing about what the other run changed. The stub seed is
    /// [`Input::generate`]'s.
    pub fn generate_bounded(arch: Arch, seed: u64, case: u64) -> Input {
        let mut input = Input::generate(arch, seed, case);
        let mut state = seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xb0_7d;
        for (i, a) in input.args.iter_mut().enumerate() {
            let r = splitmix(&mut state);
            let pointer = i < 3 && (case >> i) & 1 == 0;
            *a = if pointer {
                HEAP_BASE + ((r >> 8) & 0xff) * PAGE * 4 + ((r >> 20) & 0x3f8)
            } else {
                match r % 8 {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    // 2 to 15, odd when bit 3 of the case is set.
                    _ => (2 + (r >> 16) % 14) & !1 | (case >> 3) & 1,
                }
            };
        }
        input
    }

    /// The input of case `case` of run `seed` with explicit argument
    /// values (a shrunk witness, or one read back from a file): the same
    /// stub seed as a generated input of that case.
    pub fn from_args(seed: u64, case: u64, args: Vec<u64>) -> Input {
        Input {
            seed: seed ^ case,
            args,
        }
    }
}

/// A pointer into the lazily materialised heap that generated inputs use:
/// `page` (mod 256) selects one of its regions, `slot` (mod 128) an
/// 8-byte-aligned word in it.
pub fn heap_pointer(page: u64, slot: u64) -> u64 {
    HEAP_BASE + (page & 0xff) * PAGE * 4 + (slot & 0x7f) * 8
}

/// What a load of the word at `addr` in the lazy heap reads before
/// anything writes it: 8 bytes, or the first 4 sign-extended when `narrow`
/// (a 32-bit comparison on a big-endian target).
pub fn lazy_word(arch: Arch, addr: u64, narrow: bool) -> u64 {
    let big = arch.big_endian();
    if narrow {
        lazy_bytes(addr, 4, big) as u32 as i32 as i64 as u64
    } else {
        lazy_bytes(addr, 8, big)
    }
}

/// Trials run by every emulator of this process so far (for throughput
/// figures; never part of a report).
pub fn trials_run() -> u64 {
    TRIALS.load(std::sync::atomic::Ordering::Relaxed)
}

static TRIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// What a `len`-byte load at `addr` reads from a lazily materialised page
/// before anything writes it.
fn lazy_bytes(addr: u64, len: usize, big_endian: bool) -> u64 {
    let page = addr & !(PAGE - 1);
    let content = super::page_content(page, big_endian);
    let at = (addr - page) as usize;
    let bytes = content.get(at..at + len).unwrap_or(&[]);
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

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

/// The transaction model's state.
#[derive(Default)]
pub(crate) struct TxState {
    depth: u32,
    begin: u64,
    checkpoint: Option<Context>,
    journal_mark: usize,
    /// arm64: the `tstart` result register.
    result_reg: Option<i32>,
    /// x86: the `xbegin` fallback.
    fallback: u64,
    suspended: bool,
    doomed: bool,
    began_in_step: bool,
}

enum Hit {
    Continue(u64),
    End(Exit),
}

impl Outcome {
    fn empty() -> Outcome {
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

impl Emulator {
    /// Read emulated memory (after a trial: what it left there).
    pub fn read_memory(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0; len];
        self.uc.mem_read(self.to_cpu(addr), &mut buf).ok()?;
        Some(buf)
    }

    /// Run one trial.
    pub fn run(&mut self, trial: &Trial<'_>) -> Outcome {
        // Interrupted: no trial starts (one under way stops at its next
        // block, in the budget hook); the caller drops the results.
        if super::interrupted() {
            let mut out = Outcome::empty();
            out.exit = Exit::Timeout;
            return out;
        }
        TRIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.reset(trial);
        let mut out = Outcome::empty();
        let mut seen: Vec<(Vec<u64>, Vec<u8>, u32)> = Vec::new();
        let mut pc = self.to_cpu(trial.start);
        out.exit = loop {
            match self.go(pc, SENTINEL) {
                Ok(None) => break Exit::Returned,
                Err(exit) => break exit,
                Ok(Some(Stop::Tx(at))) => {
                    pc = self.tx_op(at, &mut out);
                    self.uc.get_data_mut().tx_open = self.tx.depth > 0;
                }
                Ok(Some(Stop::Harm(at))) => {
                    out.harm = Some(self.from_cpu(at));
                    break Exit::Budget;
                }
                Ok(Some(Stop::Probe(at))) => {
                    out.hits += 1;
                    self.uc.get_data_mut().hits = out.hits;
                    if self.uc.get_data().tracing {
                        let at = self.from_cpu(at);
                        self.uc
                            .get_data_mut()
                            .trace
                            .push(TraceEvent::Hit { at, n: out.hits });
                    }
                    if trial.mode == ProbeMode::Write {
                        if out.hits > self.hit_limit {
                            break Exit::Budget;
                        }
                        if out.calls_before_hit.is_none() {
                            out.calls_before_hit = Some(self.uc.get_data().calls.len());
                        }
                        let events = self.apply_writes(trial.writes);
                        if out.writes.len() < 64 {
                            out.writes.extend(events);
                        }
                        match self.step(at, &mut out) {
                            Ok(SENTINEL) => break Exit::Returned,
                            Ok(next) => pc = next,
                            Err(exit) => break exit,
                        }
                        continue;
                    }
                    let (regs, mem) = self.snapshot();
                    if let Some(i) = seen.iter().position(|(r, m, _)| *r == regs && *m == mem) {
                        break Exit::Livelock {
                            at: self.from_cpu(at),
                            period: out.hits - seen[i].2,
                        };
                    }
                    seen.push((regs, mem, out.hits));
                    if out.hits > self.hit_limit {
                        break Exit::Budget;
                    }
                    match self.hit(at, trial, &mut out) {
                        Hit::Continue(next) => pc = next,
                        Hit::End(exit) => break exit,
                    }
                }
                Ok(Some(Stop::Reentry(_))) => break Exit::Budget,
                Ok(Some(Stop::Budget)) => break Exit::Budget,
                Ok(Some(Stop::Timeout)) => break Exit::Timeout,
            }
        };
        if trial.observe {
            out.stores = self.observable_stores();
        }
        let state = self.uc.get_data_mut();
        if state.grouped {
            out.hits = state.hits;
        }
        state.armed.clear();
        state.grouped = false;
        out.sc = std::mem::take(&mut state.sc_log);
        out.calls = std::mem::take(&mut state.calls);
        out.reached = state.probe_count;
        out.executed = state.executed;
        out.trace = std::mem::take(&mut state.trace);
        let left = state.left_region;
        let last = state.last_block;
        if out.exit == Exit::Returned {
            out.return_value = Some(self.reg(self.abi.ret));
            out.last_block = Some((self.from_cpu(last.0), last.1));
        }
        out.left_via = left.map(|(_, target)| (0, self.from_cpu(target)));
        for c in &mut out.calls {
            c.at = self.from_cpu(c.at);
            c.target = c.target.map(|t| self.from_cpu(t));
        }
        for s in &mut out.sc {
            s.sc = self.from_cpu(s.sc);
        }
        for t in &mut out.trace {
            match t {
                TraceEvent::Insn { at }
                | TraceEvent::Step { at }
                | TraceEvent::TxBegin { at }
                | TraceEvent::TxCommit { at } => *at = self.from_cpu(*at),
                TraceEvent::StoreConditional { at, .. } | TraceEvent::Stub { at, .. } => {
                    *at = self.from_cpu(*at)
                }
                _ => {}
            }
        }
        out
    }

    /// Run from `pc` until `until`, a hook's stop, or an error.
    fn go(&mut self, pc: u64, until: u64) -> Result<Option<Stop>, Exit> {
        if pc == until {
            return Ok(None);
        }
        self.uc.get_data_mut().stop = None;
        self.clear_fault();
        let result = self.uc.emu_start(pc, until, 0, UNCOUNTED);
        if let Some(stop) = self.uc.get_data_mut().stop.take() {
            return Ok(Some(stop));
        }
        // An interrupt the hooks stopped at, or Unicorn's error, named.
        if let Some(fault) = self.fault(result.err()) {
            return Err(fault);
        }
        match result {
            Ok(()) if self.pc() == until => Ok(None),
            _ => Err(Exit::Fault {
                pc: self.from_cpu(self.pc()),
                reason: "stopped before the return".into(),
            }),
        }
    }

    /// Reset memory and registers, and set the trial's inputs.
    fn reset(&mut self, trial: &Trial<'_>) {
        self.undo_journal(0);
        self.trim_lazy_pages();
        let _ = self.uc.context_restore(&self.pristine);
        // The reservation / exclusive monitor is not part of Unicorn's
        // saved context: one left by an earlier trial's load-linked would
        // let this trial's first store-conditional succeed.
        self.clear_reservation();
        self.tx = TxState::default();
        let probe = trial.probe.map(|p| self.to_cpu(p));
        let region = self.uc.get_data().region;
        let (mask, hit_limit) = (self.mask, self.hit_limit);
        {
            let state = self.uc.get_data_mut();
            state.stop = None;
            state.budget = trial.budget as i64;
            state.deadline = Some(Instant::now() + trial.timeout);
            state.blocks = 0;
            state.executed = 0;
            state.probe = probe;
            state.armed.clear();
            if trial.mode == ProbeMode::Trap {
                for &p in trial.group {
                    state.armed.insert(p & mask, hit_limit);
                }
            }
            state.grouped = !state.armed.is_empty();
            state.reservation_lost = false;
            state.tx_open = false;
            state.skip_probe = false;
            state.count_only = trial.mode == ProbeMode::Count;
            state.probe_count = 0;
            state.hits = 0;
            state.sc_pending = None;
            state.sc_log.clear();
            state.calls.clear();
            state.stub_seed = trial.input.seed;
            state.in_handler = false;
            state.handler_blocks.clear();
            state.last_block = (0, 0);
            state.left_region = None;
            state.region = region;
            state.tracing = trial.trace;
            state.trace.clear();
            state.lazy_pages = 0;
        }
        if trial.trace {
            self.enable_trace();
        }
        for (addr, bytes) in trial.memory {
            let page = addr & !(PAGE - 1);
            if self.uc.mem_write(*addr, bytes).is_err() {
                let _ = self.uc.mem_map(
                    page,
                    PAGE,
                    unicorn_engine::unicorn_const::Prot::READ
                        | unicorn_engine::unicorn_const::Prot::WRITE,
                );
                let _ = self.uc.mem_write(*addr, bytes);
            }
        }
        let sp = STACK_BASE + STACK_SIZE - 0x4000;
        for (i, &reg) in self.abi.args.iter().enumerate() {
            let v = trial.input.args.get(i).copied().unwrap_or(0);
            self.set_reg(reg, v);
        }
        match self.arch {
            Arch::X86_64 => {
                self.set_reg(self.abi.sp, sp - 8);
                let _ = self.uc.mem_write(sp - 8, &SENTINEL.to_le_bytes());
            }
            Arch::Aarch64 => {
                self.set_reg(self.abi.sp, sp);
                self.set_reg(self.abi.lr.expect("arm64 has a link register"), SENTINEL);
            }
            Arch::Ppc64 | Arch::Ppc64le => {
                self.set_reg(self.abi.sp, sp);
                self.set_reg(self.abi.lr.expect("POWER has a link register"), SENTINEL);
                self.set_reg(RegisterPPC::R12 as i32, self.to_cpu(trial.entry));
                self.set_reg(RegisterPPC::R13 as i32, HEAP_BASE + 0x100_0000);
                let toc = trial.toc.or(self.toc);
                if let Some(toc) = toc {
                    self.set_reg(RegisterPPC::R2 as i32, self.to_cpu(toc));
                }
            }
        }
        // A trial started at a load-linked instead of the entry: its
        // address register points into the heap, the compared register
        // holds what it loads.
        if trial.start != trial.entry {
            self.enter_at_opener(trial.start, trial.input);
        }
    }

    fn enable_trace(&mut self) {
        if self.uc.get_data().tracing && self.trace_hook.is_none() {
            self.add_trace_hook();
            let _ = self.uc.ctl_flush_tb();
        }
    }

    /// The hook that records each instruction. It must come after the
    /// function's hooks: Unicorn calls a code address's hooks in the order
    /// they were added and skips the rest once one stops, so an instruction
    /// where a probe stops is recorded when it runs, not before the hit.
    pub(super) fn add_trace_hook(&mut self) {
        if let Some(old) = self.trace_hook.take() {
            let _ = self.uc.remove_hook(old);
        }
        let hook = self.uc.add_code_hook(1, 0, |uc, addr, _| {
            let state = uc.get_data_mut();
            // The scratch code that models exception returns is shown
            // as its event, not as an instruction of the program.
            let scratch = addr & !(PAGE - 1) == super::SCRATCH_CODE;
            if state.tracing && !scratch && state.trace.len() < 100_000 {
                state.trace.push(TraceEvent::Insn { at: addr });
            }
        });
        self.trace_hook = hook.ok();
    }

    /// Registers and journaled memory, for the livelock proof.
    fn snapshot(&self) -> (Vec<u64>, Vec<u8>) {
        let mut regs: Vec<u64> = self.abi.state.iter().map(|&r| self.reg(r)).collect();
        regs.push(self.pc());
        regs.push(u64::from(self.tx.depth));
        let mut mem = Vec::new();
        let state = self.uc.get_data();
        let mut addrs: Vec<(u64, u8)> = state.journal.iter().map(|j| (j.addr, j.len)).collect();
        addrs.sort_unstable();
        addrs.dedup();
        for (addr, len) in addrs {
            let mut buf = [0u8; 16];
            let _ = self.uc.mem_read(addr, &mut buf[..usize::from(len)]);
            mem.extend_from_slice(&addr.to_le_bytes());
            mem.extend_from_slice(&buf[..usize::from(len)]);
        }
        (regs, mem)
    }

    /// Apply the trap model at a hit of the probe point `at`.
    fn hit(&mut self, at: u64, trial: &Trial<'_>, out: &mut Outcome) -> Hit {
        // 1. Breakpoint entry: x86 RTM and arm64 TME abort before any handler.
        if self.tx.depth > 0 && !self.tx.suspended && !self.model.handler_runs_in_transaction {
            let resume = self.abort(AbortCause::Trap, at, false, out);
            return Hit::Continue(resume);
        }
        // 2. The probe handler: the kprobe machinery's, and any user
        // handler functions, emulated.
        let handler_ran = true;
        for &h in trial.handlers {
            if let Err(exit) = self.run_handler(h, at) {
                return Hit::End(exit);
            }
        }
        // 3. POWER: the interrupt failed an active transaction; a suspended
        // one fails when it resumes.
        if self.tx.depth > 0 {
            if self.tx.suspended {
                self.tx.doomed = true;
            } else {
                let resume = self.abort(AbortCause::Trap, at, handler_ran, out);
                return Hit::Continue(resume);
            }
        }
        // 4. Exception return into the out-of-line step.
        self.exception_return();
        // 5. The probed instruction, single-stepped.
        self.tx.began_in_step = false;
        let next = match self.step(at, out) {
            Ok(next) => next,
            Err(exit) => return Hit::End(exit),
        };
        if next == SENTINEL {
            return Hit::End(Exit::Returned);
        }
        if self.tx.began_in_step && self.tx.depth > 0 {
            // The step's trap lands inside the transaction it just started.
            let resume = self.abort(AbortCause::Trap, at, handler_ran, out);
            return Hit::Continue(resume);
        }
        // 6. Exception return after the step.
        self.exception_return();
        Hit::Continue(next)
    }

    fn exception_return(&mut self) {
        if self.model.return_clears_reservation {
            self.clear_reservation();
            let state = self.uc.get_data_mut();
            if state.tracing {
                state.trace.push(TraceEvent::ReservationCleared);
            }
        }
    }

    /// Execute the instruction at `at` alone; transaction instructions go
    /// through the model. Returns the next pc.
    fn step(&mut self, at: u64, out: &mut Outcome) -> Result<u64, Exit> {
        {
            let state = self.uc.get_data_mut();
            state.skip_probe = true;
            state.stop = None;
            if state.tracing {
                state.trace.push(TraceEvent::Step { at });
            }
        }
        // Until the return sentinel, as every run: a block translated at
        // the sentinel while it was no exit would be reused by later runs,
        // which would then run on past their return.
        self.clear_fault();
        let result = self.uc.emu_start(at, SENTINEL, 0, 1);
        let stop = self.uc.get_data_mut().stop.take();
        self.uc.get_data_mut().skip_probe = false;
        match (stop, result) {
            (Some(Stop::Tx(t)), _) => Ok(self.tx_op(t, out)),
            (Some(Stop::Budget), _) => Err(Exit::Budget),
            (Some(Stop::Timeout), _) => Err(Exit::Timeout),
            (_, result) => match self.fault(result.err()) {
                Some(fault) => Err(fault),
                None => Ok(self.pc()),
            },
        }
    }

    /// Run one handler function; Err on re-entry.
    fn run_handler(&mut self, entry: u64, probe: u64) -> Result<(), Exit> {
        let mut saved = match self.uc.context_alloc() {
            Ok(c) => c,
            Err(_) => return Ok(()),
        };
        let _ = self.uc.context_save(&mut saved);
        let sp = self.reg(self.abi.sp);
        // pre_handler(struct kprobe *p, struct pt_regs *regs)
        self.set_reg(self.abi.args[0], HEAP_BASE + 0x200_0000);
        self.set_reg(self.abi.args[1], HEAP_BASE + 0x200_1000);
        let handler_sp = (sp.min(STACK_BASE + STACK_SIZE) - 0x1000) & !0xf;
        match self.abi.lr {
            Some(lr) => {
                self.set_reg(self.abi.sp, handler_sp);
                self.set_reg(lr, HANDLER_SENTINEL);
            }
            None => {
                self.set_reg(self.abi.sp, handler_sp - 8);
                super::write_journaled(
                    &mut self.uc,
                    handler_sp - 8,
                    &HANDLER_SENTINEL.to_le_bytes(),
                );
            }
        }
        if self.arch.is_ppc() {
            self.set_reg(RegisterPPC::R12 as i32, self.to_cpu(entry));
        }
        {
            let state = self.uc.get_data_mut();
            state.in_handler = true;
            state.handler_blocks.clear();
            if state.tracing {
                state.trace.push(TraceEvent::Handler { entry });
            }
        }
        let mut pc = self.to_cpu(entry);
        let mut result = Ok(());
        for _ in 0..1024 {
            match self.go(pc, HANDLER_SENTINEL) {
                Ok(Some(Stop::Reentry(at))) => {
                    let mut chain = vec![self.from_cpu(probe), entry];
                    let blocks: Vec<u64> = self.uc.get_data().handler_blocks.clone();
                    for b in blocks {
                        let b = self.from_cpu(b);
                        if chain.last() != Some(&b) {
                            chain.push(b);
                        }
                    }
                    chain.push(self.from_cpu(at));
                    result = Err(Exit::Reentry { chain });
                    break;
                }
                Ok(Some(Stop::Tx(t))) => {
                    let mut scratch = Outcome::empty();
                    pc = self.tx_op(t, &mut scratch);
                }
                Ok(Some(Stop::Probe(_) | Stop::Harm(_))) | Ok(None) | Err(_) => break,
                Ok(Some(Stop::Budget)) => {
                    result = Err(Exit::Budget);
                    break;
                }
                Ok(Some(Stop::Timeout)) => {
                    result = Err(Exit::Timeout);
                    break;
                }
            }
        }
        self.uc.get_data_mut().in_handler = false;
        let _ = self.uc.context_restore(&saved);
        result
    }

    /// Model a transaction instruction; returns the next pc.
    fn tx_op(&mut self, at: u64, out: &mut Outcome) -> u64 {
        let class = self
            .uc
            .get_data()
            .tx_at
            .get(&at)
            .copied()
            .unwrap_or(Class::Other);
        let insn_len = if self.arch == Arch::X86_64 {
            self.x86_len(at)
        } else {
            4
        };
        let next = at + insn_len;
        let tracing = self.uc.get_data().tracing;
        if tracing {
            // The model runs it instead of the CPU: no trace hook saw it.
            self.uc.get_data_mut().trace.push(TraceEvent::Insn { at });
        }
        match class {
            Class::TxBegin => {
                // Nesting is flat: only the outermost begin checkpoints,
                // and an abort at any depth goes back to it.
                let nested = self.tx.depth > 0;
                if !nested {
                    let mut ctx = self.uc.context_alloc().ok();
                    if let Some(c) = ctx.as_mut() {
                        let _ = self.uc.context_save(c);
                    }
                    self.tx.checkpoint = ctx;
                    self.tx.journal_mark = self.uc.get_data().journal.len();
                    self.tx.begin = at;
                    self.tx.suspended = false;
                    self.tx.doomed = false;
                    self.tx.result_reg = None;
                    if self.arch == Arch::X86_64 {
                        self.tx.fallback = self.x86_rel_target(at, insn_len);
                    }
                    if self.arch == Arch::Aarch64 {
                        self.tx.result_reg = self.a64_rt(at);
                    }
                }
                self.tx.depth += 1;
                self.tx.began_in_step = true;
                match self.arch {
                    Arch::Aarch64 => {
                        if let Some(r) = self.a64_rt(at) {
                            self.set_reg(r, 0);
                        }
                    }
                    Arch::Ppc64 | Arch::Ppc64le => self.set_cr0(if nested {
                        PPC_TX_NESTED_CR0
                    } else {
                        PPC_TX_STARTED_CR0
                    }),
                    Arch::X86_64 => {}
                }
                if tracing {
                    self.uc
                        .get_data_mut()
                        .trace
                        .push(TraceEvent::TxBegin { at });
                }
                next
            }
            Class::TxEnd => {
                if self.tx.depth > 0 {
                    // One level; POWER `tend. 1` ends them all.
                    let all = self.arch.is_ppc() && self.read_word(at) & PPC_TEND_ALL != 0;
                    self.tx.depth = if all { 0 } else { self.tx.depth - 1 };
                    if self.arch.is_ppc() {
                        self.set_cr0(PPC_TX_ENDED_CR0);
                    }
                    if self.tx.depth == 0 {
                        self.tx.checkpoint = None;
                        out.tx_commits += 1;
                        if tracing {
                            self.uc
                                .get_data_mut()
                                .trace
                                .push(TraceEvent::TxCommit { at });
                        }
                    }
                }
                next
            }
            Class::TxAbort if self.tx.depth > 0 => {
                let imm = self.abort_immediate(at);
                self.abort(AbortCause::Explicit(imm), at, false, out)
            }
            Class::TxTest => {
                match self.arch {
                    Arch::X86_64 => {
                        // xtest: ZF clear inside a transaction.
                        let flags = self.reg(RegisterX86::RFLAGS as i32);
                        let zf = 1 << 6;
                        let flags = if self.tx.depth > 0 {
                            flags & !zf
                        } else {
                            flags | zf
                        };
                        self.set_reg(RegisterX86::RFLAGS as i32, flags);
                    }
                    Arch::Aarch64 => {
                        if let Some(r) = self.a64_rt(at) {
                            self.set_reg(r, u64::from(self.tx.depth));
                        }
                    }
                    Arch::Ppc64 | Arch::Ppc64le => {}
                }
                next
            }
            Class::TxSuspend => {
                self.tx.suspended = self.tx.depth > 0;
                next
            }
            Class::TxResume => {
                self.tx.suspended = false;
                if self.tx.depth > 0 && self.tx.doomed {
                    return self.abort(AbortCause::Trap, at, true, out);
                }
                next
            }
            _ => next,
        }
    }

    /// Roll the transaction back and resume where the architecture does.
    fn abort(&mut self, cause: AbortCause, at: u64, handler_ran: bool, out: &mut Outcome) -> u64 {
        let begin = self.tx.begin;
        if let Some(ctx) = self.tx.checkpoint.take() {
            let _ = self.uc.context_restore(&ctx);
        }
        self.undo_journal(self.tx.journal_mark);
        self.tx.depth = 0;
        self.tx.suspended = false;
        self.tx.doomed = false;
        let status = self.model.abort_status(cause);
        match status {
            TxStatus::Eax(v) => self.set_reg(RegisterX86::RAX as i32, u64::from(v)),
            TxStatus::Xt(v) => {
                if let Some(r) = self.tx.result_reg {
                    self.set_reg(r, v);
                }
            }
            TxStatus::Cr0(v) => self.set_cr0(v),
        }
        let resume = match self.model.tx_resume {
            TxResume::Fallback => self.tx.fallback,
            TxResume::AfterBegin | TxResume::BeginPlus4 => begin + 4,
        };
        let event = TxEvent {
            begin: self.from_cpu(begin),
            at: self.from_cpu(at),
            by_trap: cause == AbortCause::Trap,
            status: status.value(),
            handler_ran,
            resumed_at: self.from_cpu(resume),
        };
        let state = self.uc.get_data_mut();
        if state.tracing {
            state.trace.push(TraceEvent::TxAbort {
                event: event.clone(),
            });
        }
        out.tx_aborts.push(event);
        resume
    }

    fn read_word(&self, at: u64) -> u32 {
        let mut b = [0u8; 4];
        let _ = self.uc.mem_read(at, &mut b);
        match self.arch {
            Arch::Ppc64 => u32::from_be_bytes(b),
            _ => u32::from_le_bytes(b),
        }
    }

    /// arm64 `tstart`/`ttest` destination register.
    fn a64_rt(&self, at: u64) -> Option<i32> {
        let rt = (self.read_word(at) & 0x1f) as usize;
        (rt < 31).then(|| super::abi::abi(Arch::Aarch64).state[rt])
    }

    fn abort_immediate(&self, at: u64) -> u64 {
        match self.arch {
            Arch::X86_64 => {
                let mut b = [0u8; 3];
                let _ = self.uc.mem_read(at, &mut b);
                u64::from(b[2])
            }
            Arch::Aarch64 => u64::from((self.read_word(at) >> 5) & 0xffff),
            _ => 0,
        }
    }

    fn x86_len(&self, at: u64) -> u64 {
        // xbegin rel32 (c7 f8), xabort imm8 (c6 f8), xend/xtest (0f 01 d5/d6).
        let mut b = [0u8; 2];
        let _ = self.uc.mem_read(at, &mut b);
        match b {
            [0xc7, 0xf8] => 6,
            [0xc6, 0xf8] => 3,
            _ => 3,
        }
    }

    fn x86_rel_target(&self, at: u64, len: u64) -> u64 {
        let mut b = [0u8; 4];
        let _ = self.uc.mem_read(at + 2, &mut b);
        (at + len).wrapping_add(i32::from_le_bytes(b) as i64 as u64)
    }
}
