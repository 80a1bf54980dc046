//! The trap model's steps at one probe hit: breakpoint entry, the probe
//! handlers emulated, the exception return into the single step (clearing
//! the monitor as the architecture does), the step, the return after it.

use super::arch::{MonitorClear, MAX_PRESERVED};
use super::memory::write_journaled;
use super::run::{Exit, Outcome, TraceEvent, Trial};
use super::state::Stop;
use super::{
    Emulator, HANDLER_SENTINEL, HEAP_BASE, SCRATCH_CODE, SCRATCH_DATA, SENTINEL, STACK_BASE,
    STACK_SIZE,
};
use crate::trap::AbortCause;

/// What a hit leaves the trial loop to do.
pub(crate) enum Hit {
    /// Go on at this pc.
    Continue(u64),
    /// The trial ended.
    End(Exit),
}

impl Emulator {
    /// Apply the trap model at a hit of the probe point `at`.
    pub(crate) fn hit(&mut self, at: u64, trial: &Trial<'_>, out: &mut Outcome) -> Hit {
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
    pub(crate) fn step(&mut self, at: u64, out: &mut Outcome) -> Result<u64, Exit> {
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
        // The state the handler runs from is restored after it: without a
        // saved context the handler cannot run, and a trial that went on
        // without it would say nothing about it. Unicorn refuses only when
        // out of memory; no corpus trial has met this.
        let saved = self.uc.context_alloc().and_then(|mut c| {
            self.uc.context_save(&mut c)?;
            Ok(c)
        });
        let saved = match saved {
            Ok(c) => c,
            Err(e) => {
                return Err(Exit::Fault {
                    pc: self.from_cpu(probe),
                    reason: format!("cannot save the CPU context to run the probe handler: {e:?}"),
                })
            }
        };
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
                write_journaled(
                    &mut self.uc,
                    handler_sp - 8,
                    &HANDLER_SENTINEL.to_le_bytes(),
                );
            }
        }
        if let Some(reg) = self.table.entry_register() {
            self.set_reg(reg, self.to_cpu(entry));
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

    /// Model an exception return's effect on the reservation by executing
    /// the architecture's own clearing instruction.
    pub(crate) fn clear_reservation(&mut self) {
        if let MonitorClear::Execute { address, preserved } = self.table.monitor_clear() {
            // Saved on the stack: this runs twice per probe hit.
            let mut saved = [0u64; MAX_PRESERVED];
            for (value, &reg) in saved.iter_mut().zip(preserved) {
                *value = self.reg(reg);
            }
            if let Some(reg) = address {
                self.set_reg(reg, SCRATCH_DATA);
            }
            // One instruction, stopped by the count. Not an exit at
            // `SCRATCH_CODE + 4`: after every run Unicorn drops the code it
            // translated at the byte before the exit, so the scratch code
            // was translated again at every trial (a quarter of a short
            // trial's time); the sentinel's previous byte holds no code.
            let _ = self.uc.emu_start(SCRATCH_CODE, SENTINEL, 0, 1);
            for (&value, &reg) in saved.iter().zip(preserved) {
                self.set_reg(reg, value);
            }
        }
        // The scratch store is not part of the program's effects.
        let state = self.uc.get_data_mut();
        state.journal.retain(|j| !super::is_scratch(j.addr));
    }
}
