//! The trial driver: reset, run until the region returns, and at each stop
//! a hook reported, the probe hit's trap model, the transaction model, or
//! the end; the livelock proof compares full states at the hits.

use std::time::Instant;

use unicorn_engine::unicorn_const::{uc_error, Prot};

use super::handler::Hit;
use super::run::{Exit, Outcome, ProbeMode, TraceEvent, Trial, TRIALS, UNCOUNTED};
use super::state::Stop;
use super::transaction::TxState;
use super::{Emulator, PAGE, SENTINEL, STACK_BASE, STACK_SIZE};
use crate::decode::Insn;

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
        self.reg_error.set(None);
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
        // A register the tables name that Unicorn could not read was read
        // as 0 on the way: the run's values cannot be trusted, and it ends
        // as a fault that says so instead of as what it seemed.
        if let Some((id, e)) = self.reg_error.take() {
            if !matches!(out.exit, Exit::Fault { .. }) {
                out.exit = Exit::Fault {
                    pc: self.from_cpu(self.uc.reg_read(self.abi.pc).unwrap_or(0)),
                    reason: format!("reading register {id}: {e:?}"),
                };
                out.return_value = None;
                out.last_block = None;
            }
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
    pub(crate) fn go(&mut self, pc: u64, until: u64) -> Result<Option<Stop>, Exit> {
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
                let _ = self.uc.mem_map(page, PAGE, Prot::READ | Prot::WRITE);
                let _ = self.uc.mem_write(*addr, bytes);
            }
        }
        let sp = STACK_BASE + STACK_SIZE - 0x4000;
        for (i, &reg) in self.abi.args.iter().enumerate() {
            let v = trial.input.args.get(i).copied().unwrap_or(0);
            self.set_reg(reg, v);
        }
        match self.abi.lr {
            Some(lr) => {
                self.set_reg(self.abi.sp, sp);
                self.set_reg(lr, SENTINEL);
            }
            None => {
                self.set_reg(self.abi.sp, sp - 8);
                let _ = self.uc.mem_write(sp - 8, &SENTINEL.to_le_bytes());
            }
        }
        if let Some(reg) = self.table.entry_register() {
            self.set_reg(reg, self.to_cpu(trial.entry));
        }
        for &(reg, value) in self.table.trial_registers() {
            self.set_reg(reg, value);
        }
        if let Some((reg, _)) = self.table.toc() {
            let toc = trial.toc.or(self.toc);
            if let Some(toc) = toc {
                self.set_reg(reg, self.to_cpu(toc));
            }
        }
        // A trial started at a load-linked instead of the entry: its
        // address register points into the heap, the compared register
        // holds what it loads.
        if trial.start != trial.entry {
            self.enter_at_opener(trial.start, trial.input);
        }
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

    /// The fault of a run that branched to address 0 from `at` (a CPU
    /// address): a fetch at 0, named with the branch, not with whatever
    /// the binary holds at 0's alias.
    fn null_fetch(&self, at: u64) -> Exit {
        let mut code = [0u8; 16];
        let n = if self.uc.mem_read(at, &mut code).is_ok() {
            16
        } else if self.uc.mem_read(at, &mut code[..4]).is_ok() {
            4
        } else {
            0
        };
        let from = self.from_cpu(at);
        let text = crate::decode::Decoder::new(self.arch)
            .ok()
            .and_then(|d| d.decode(&code[..n], from).first().map(Insn::text))
            .unwrap_or_else(|| "a branch".to_owned());
        Exit::Fault {
            pc: 0,
            reason: format!(
                "FETCH: a branch to address 0, a null pointer, from `{text}` at {from:#x}"
            ),
        }
    }

    /// Forget the fault of an earlier run (before a new `emu_start`).
    pub(crate) fn clear_fault(&mut self) {
        let state = self.uc.get_data_mut();
        state.interrupt = None;
        state.unmapped = None;
        state.null_branch = None;
    }

    /// The fault that ended a run: the interrupt a hook saw (at the
    /// instruction that raised it), or Unicorn's error `e` with the access
    /// the lazy-memory hook refused; `None` when neither happened.
    pub(crate) fn fault(&mut self, e: Option<uc_error>) -> Option<Exit> {
        let state = self.uc.get_data_mut();
        let (interrupt, unmapped) = (state.interrupt.take(), state.unmapped.take());
        if let Some(at) = state.null_branch.take() {
            return Some(self.null_fetch(at));
        }
        if let Some((intno, at)) = interrupt {
            return Some(Exit::Fault {
                pc: self.from_cpu(at),
                reason: self.table.interrupt_name(intno).to_owned(),
            });
        }
        let e = e?;
        let reason = match unmapped {
            Some((addr, write)) => format!(
                "{e:?}: {} {:#x}, which is outside the binary, the stack and the heap window the inputs point into",
                if write { "write to" } else { "read of" },
                self.from_cpu(addr)
            ),
            None => format!("{e:?}"),
        };
        Some(Exit::Fault {
            pc: self.from_cpu(self.pc()),
            reason,
        })
    }
}
