//! The transaction model: hardware transactions run by the driver, not by
//! Unicorn (which has none): a checkpoint at the outermost begin, flat
//! nesting, commits, explicit aborts and aborts by a trap, each with the
//! status value and resume point of the architecture's table.

use unicorn_engine::{Context, RegisterPPC, RegisterX86};

use super::arch::TxSignal;
use super::run::{Outcome, TraceEvent, TxEvent};
use super::Emulator;
use crate::arch::Class;
use crate::trap::{AbortCause, TxResume, TxStatus};

/// The transaction model's state.
#[derive(Default)]
pub(crate) struct TxState {
    pub(crate) depth: u32,
    begin: u64,
    checkpoint: Option<Context>,
    journal_mark: usize,
    /// arm64: the `tstart` result register.
    result_reg: Option<i32>,
    /// x86: the `xbegin` fallback.
    fallback: u64,
    pub(crate) suspended: bool,
    pub(crate) doomed: bool,
    pub(crate) began_in_step: bool,
}

impl Emulator {
    /// Model a transaction instruction; returns the next pc.
    pub(crate) fn tx_op(&mut self, at: u64, out: &mut Outcome) -> u64 {
        let class = self
            .uc
            .get_data()
            .tx_at
            .get(&at)
            .copied()
            .unwrap_or(Class::Other);
        let insn = self.table.tx_insn(at, &self.tx_bytes(at));
        let next = at + insn.len;
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
                    self.tx.result_reg = insn.result_reg;
                    if let Some(fallback) = insn.fallback {
                        self.tx.fallback = fallback;
                    }
                }
                self.tx.depth += 1;
                self.tx.began_in_step = true;
                self.signal(self.table.tx_started(nested), insn.result_reg);
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
                    self.tx.depth = if insn.ends_all { 0 } else { self.tx.depth - 1 };
                    self.signal(self.table.tx_ended(), insn.result_reg);
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
                self.abort(AbortCause::Explicit(insn.abort_imm), at, false, out)
            }
            Class::TxTest => {
                self.signal(self.table.tx_tested(self.tx.depth), insn.result_reg);
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
    pub(crate) fn abort(
        &mut self,
        cause: AbortCause,
        at: u64,
        handler_ran: bool,
        out: &mut Outcome,
    ) -> u64 {
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

    fn set_cr0(&mut self, field: u8) {
        let cr = self.reg(RegisterPPC::CR as i32);
        let cr = (cr & 0x0fff_ffff) | (u64::from(field & 0xf) << 28);
        self.set_reg(RegisterPPC::CR as i32, cr);
    }

    /// Put a transaction instruction's signal where the program reads it.
    fn signal(&mut self, signal: TxSignal, result_reg: Option<i32>) {
        match signal {
            TxSignal::None => {}
            TxSignal::ResultReg(v) => {
                if let Some(r) = result_reg {
                    self.set_reg(r, v);
                }
            }
            TxSignal::Cr0(v) => self.set_cr0(v),
            TxSignal::FlagClearInside { reg, bit } => {
                let flags = self.reg(reg);
                let flag = 1 << bit;
                let flags = if self.tx.depth > 0 {
                    flags & !flag
                } else {
                    flags | flag
                };
                self.set_reg(reg, flags);
            }
        }
    }

    /// The first bytes of the instruction at `at`: as many as are mapped,
    /// up to the longest transaction instruction (6), zeros after.
    fn tx_bytes(&self, at: u64) -> [u8; 6] {
        let mut b = [0u8; 6];
        if self.uc.mem_read(at, &mut b).is_err() {
            for (i, byte) in b.iter_mut().enumerate() {
                let mut one = [0u8; 1];
                if self.uc.mem_read(at + i as u64, &mut one).is_err() {
                    break;
                }
                *byte = one[0];
            }
        }
        b
    }
}
