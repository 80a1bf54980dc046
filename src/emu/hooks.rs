//! Hooks: the global ones every emulator has (lazy memory, the write
//! journal, the budget), the instrumentation of one function (candidate
//! probe points, store-conditionals, transaction instructions, calls to
//! stub), the trace hook, and their callbacks, which run inside Unicorn.

use std::time::Instant;

use unicorn_engine::unicorn_const::{HookType, MemType};
use unicorn_engine::Unicorn;

use super::error::EmuError;
use super::memory::{journal_zeroed_block, map_lazy_page, splitmix, write_journaled};
use super::state::{CallRecord, Journaled, ScResult, ScStatus, State, Stop, Stub};
use super::{interrupted, opener, run, Addressing, Emulator, PAGE, SCRATCH_CODE, SENTINEL};
use crate::arch::Class;
use crate::decode::Insn;

impl Emulator {
    /// The hooks every emulator has from its start: lazy memory for an
    /// unmapped access, the write journal, the budget and time limit per
    /// block, and the architecture's interrupt hook if it has one.
    pub(crate) fn add_global_hooks(&mut self) -> Result<(), EmuError> {
        let arch = self.arch;
        let uc_err = |operation: &str, e| EmuError::unicorn(arch, operation, None, e);
        if self.table.addressing() == Addressing::RealMode {
            // Address 0 is the low alias of a kernel linked at the base of
            // its linear map: a branch there through a null pointer would
            // run the kernel's first instruction. Added before the budget
            // hook, which records the block that branched as the last one.
            self.uc
                .add_block_hook(0, 0, super::arch::on_block_at_zero)
                .map_err(|e| uc_err("adding the null-branch hook", e))?;
        }
        self.uc
            .add_mem_hook(
                HookType::MEM_READ_UNMAPPED | HookType::MEM_WRITE_UNMAPPED,
                1,
                0,
                move |uc, ty, addr, _size, _value| {
                    let mapped = map_lazy_page(uc, addr & !(PAGE - 1));
                    if !mapped {
                        uc.get_data_mut().unmapped = Some((addr, ty == MemType::WRITE_UNMAPPED));
                    }
                    mapped
                },
            )
            .map_err(|e| uc_err("adding the lazy-memory hook", e))?;
        self.uc
            .add_mem_hook(HookType::MEM_WRITE, 1, 0, |uc, _ty, addr, size, _value| {
                let len = size.clamp(1, 16);
                let mut old = [0u8; 16];
                let _ = uc.mem_read(addr, &mut old[..len]);
                uc.get_data_mut().journal.push(Journaled {
                    addr,
                    len: len as u8,
                    old,
                });
                true
            })
            .map_err(|e| uc_err("adding the write journal hook", e))?;
        self.uc
            .add_block_hook(1, 0, |uc, addr, size| {
                let state = uc.get_data_mut();
                let n = i64::from(size.div_ceil(4).max(1));
                state.executed += n as u64;
                state.budget -= n;
                state.blocks += 1;
                state.last_block = (addr, size);
                if state.in_handler && state.handler_blocks.len() < 4096 {
                    state.handler_blocks.push(addr);
                }
                if state.left_region.is_none()
                    && (addr < state.region.0 || addr >= state.region.1)
                    && addr != SENTINEL
                    && addr & !(PAGE - 1) != SCRATCH_CODE
                {
                    state.left_region = Some((0, addr));
                }
                let out_of_time = interrupted()
                    || state.blocks % 256 == 0
                        && state.deadline.is_some_and(|d| Instant::now() > d);
                if state.budget < 0 || out_of_time {
                    state.stop = Some(if out_of_time {
                        Stop::Timeout
                    } else {
                        Stop::Budget
                    });
                    let _ = uc.emu_stop();
                }
            })
            .map_err(|e| uc_err("adding the budget hook", e))?;
        if let Some(hook) = self.table.interrupt_hook() {
            self.uc
                .add_intr_hook(hook)
                .map_err(|e| uc_err("adding the interrupt hook", e))?;
        }
        Ok(())
    }

    /// Instrument the function whose instructions are `insns` (spanning
    /// `start..end`): hooks at the candidate probe points, at each
    /// store-conditional and the instruction after it, at each transaction
    /// instruction, and at each call (which is stubbed).
    pub fn instrument(
        &mut self,
        start: u64,
        end: u64,
        insns: &[Insn],
        probes: &[u64],
    ) -> Result<(), EmuError> {
        let arch = self.arch;
        let uc_err = |operation: &str, address, e| EmuError::unicorn(arch, operation, address, e);
        for hook in self.region_hooks.drain(..) {
            let _ = self.uc.remove_hook(hook);
        }
        let (cstart, cend) = self.bounded_region(start, end);
        // A trial may map at most LAZY_PAGE_LIMIT new pages: pages left
        // mapped by the functions this thread emulated before would let it
        // touch more. Each function starts from none, so its trials depend
        // on nothing but the function (and not on --jobs).
        self.unmap_lazy_pages();
        {
            let state = self.uc.get_data_mut();
            state.sc_at.clear();
            state.sc_after.clear();
            state.tx_at.clear();
            state.ll_at.clear();
            state.zero_at.clear();
            state.stubs.clear();
            state.region = (cstart, cend);
        }
        self.openers = opener::openers(self.arch, insns)
            .into_iter()
            .map(|(at, o)| (self.to_cpu(at), o))
            .collect();
        let mut addresses: Vec<u64> = Vec::new();
        for &p in probes {
            addresses.push(self.to_cpu(p));
        }
        for insn in insns {
            let at = self.to_cpu(insn.address);
            let ops: Vec<&str> = insn.op_str.split(',').map(str::trim).collect();
            if let Some(zero) = self.table.zero_block(&insn.mnemonic, &ops) {
                self.uc.get_data_mut().zero_at.insert(at, zero);
                addresses.push(at);
            }
            match insn.class {
                Class::StoreConditional => {
                    if let Some(status) = self.table.sc_status(&insn.op_str) {
                        let state = self.uc.get_data_mut();
                        state.sc_at.insert(at, status);
                        state.sc_after.insert(at + u64::from(insn.len), at);
                        addresses.push(at);
                        addresses.push(at + u64::from(insn.len));
                    }
                }
                Class::LoadLinked => {
                    self.uc.get_data_mut().ll_at.insert(at, ());
                    addresses.push(at);
                }
                Class::TxBegin
                | Class::TxEnd
                | Class::TxAbort
                | Class::TxTest
                | Class::TxSuspend
                | Class::TxResume => {
                    self.uc.get_data_mut().tx_at.insert(at, insn.class);
                    addresses.push(at);
                }
                Class::Call { .. } => {
                    let target = insn.target.map(|t| self.to_cpu(t));
                    self.uc.get_data_mut().stubs.insert(
                        at,
                        Stub {
                            len: insn.len,
                            target,
                        },
                    );
                    addresses.push(at);
                }
                _ => {}
            }
        }
        addresses.sort_unstable();
        addresses.dedup();
        // Unicorn checks every code hook at every instruction: many
        // one-address hooks (every boundary of a function probed, as `fuzz`
        // does) cost more than one hook over the function whose callback
        // looks the address up.
        if addresses.len() > RANGE_HOOK_THRESHOLD {
            let hook = self
                .uc
                .add_code_hook(cstart, cend.saturating_sub(1), move |uc, addr, _size| {
                    on_code(uc, addr)
                })
                .map_err(|e| uc_err("hooking the function", Some(cstart), e))?;
            self.region_hooks.push(hook);
            addresses.retain(|&a| a < cstart || a >= cend);
        }
        for at in addresses {
            let hook = self
                .uc
                .add_code_hook(at, at, move |uc, addr, _size| on_code(uc, addr))
                .map_err(|e| uc_err(&format!("hooking {at:#x}"), Some(at), e))?;
            self.region_hooks.push(hook);
        }
        if self.trace_hook.is_some() {
            self.add_trace_hook();
        }
        // Translated blocks made before these hooks existed would skip them.
        // Unicorn walks the range page by page: it is bounded (above).
        if cend > cstart {
            self.uc
                .ctl_remove_cache(cstart, cend)
                .map_err(|e| uc_err("flushing translated code", Some(cstart), e))?;
        }
        Ok(())
    }

    /// The CPU range of a function at `start..end` that the emulator works
    /// on (hooks, invalidation, leaving the region): only as far as the
    /// mapped image range it starts in goes, and at most
    /// [`crate::load::MAX_FUNCTION_SIZE`] bytes. The loader clamps extents
    /// to their sections already; this keeps every size-dependent emulator
    /// call bounded whatever extent a caller passes (Unicorn's invalidation
    /// of translated code costs a step per page of the range: a 2^47-byte
    /// extent from a corrupted symbol size was a hang).
    fn bounded_region(&self, start: u64, end: u64) -> (u64, u64) {
        let cstart = self.to_cpu(start);
        let len = end
            .saturating_sub(start)
            .min(crate::load::MAX_FUNCTION_SIZE);
        let mapped_end = self
            .image
            .iter()
            .find(|&&(s, e)| s <= cstart && cstart < e)
            .map_or(cstart, |&(_, e)| e);
        (cstart, cstart.saturating_add(len).min(mapped_end))
    }

    /// Run calls to `target` for real instead of stubbing them (a
    /// function's calls to itself, for counting its entries).
    pub fn follow_calls_to(&mut self, target: u64) {
        let target = self.to_cpu(target);
        self.uc
            .get_data_mut()
            .stubs
            .retain(|_, s| s.target != Some(target));
    }

    pub(crate) fn enable_trace(&mut self) {
        if self.uc.get_data().tracing && self.trace_hook.is_none() {
            self.add_trace_hook();
            let _ = self.uc.ctl_flush_tb();
        }
    }

    /// The hook that records each instruction. It must come after the
    /// function's hooks: Unicorn calls a code address's hooks in the order
    /// they were added and skips the rest once one stops, so an instruction
    /// where a probe stops is recorded when it runs, not before the hit.
    pub(crate) fn add_trace_hook(&mut self) {
        if let Some(old) = self.trace_hook.take() {
            let _ = self.uc.remove_hook(old);
        }
        let hook = self.uc.add_code_hook(1, 0, |uc, addr, _| {
            let state = uc.get_data_mut();
            // The scratch code that models exception returns is shown
            // as its event, not as an instruction of the program.
            let scratch = super::is_scratch(addr);
            if state.tracing && !scratch && state.trace.len() < 100_000 {
                state.trace.push(run::TraceEvent::Insn { at: addr });
            }
        });
        self.trace_hook = hook.ok();
    }
}

/// The value a stubbed call (or a modelled system call) returns: zero or a
/// small integer, drawn from the trial's seed and the calls made so far.
pub(crate) fn generated_return(state: &State) -> u64 {
    let mut seed = state.stub_seed ^ (state.calls.len() as u64).wrapping_mul(0x9e37_79b9);
    let r = splitmix(&mut seed);
    if r & 3 == 0 {
        0
    } else {
        (r >> 8) & 0xff
    }
}

/// Above this many hooked addresses in a function, one hook covers it.
const RANGE_HOOK_THRESHOLD: usize = 16;

// Hook callbacks (run inside Unicorn).

/// The one code hook: dispatches on what the address is.
fn on_code(uc: &mut Unicorn<'_, State>, addr: u64) {
    let state = uc.get_data_mut();
    // A store-conditional's result, read right after it.
    if let Some(&sc) = state.sc_after.get(&addr) {
        if let Some((pending, status)) = state.sc_pending.take().filter(|(p, _)| *p == sc) {
            let _ = status;
            let ok = sc_succeeded(uc, status);
            let state = uc.get_data_mut();
            let after_hits = state.hits;
            state.sc_log.push(ScResult {
                sc: pending,
                ok,
                after_hits,
            });
            if state.tracing {
                state
                    .trace
                    .push(run::TraceEvent::StoreConditional { at: pending, ok });
            }
        }
    }
    let state = uc.get_data_mut();
    if let Some(&status) = state.sc_at.get(&addr) {
        state.sc_pending = Some((addr, status));
    }
    if let Some(zero) = (!state.zero_at.is_empty())
        .then(|| state.zero_at.get(&addr).copied())
        .flatten()
    {
        let reg = |id| uc.reg_read(id).unwrap_or(0);
        let ea = zero.base.map_or(0, reg).wrapping_add(reg(zero.index));
        journal_zeroed_block(uc, ea);
    }
    let state = uc.get_data_mut();
    if state.grouped && group_trap_harms(state, addr) {
        state.stop = Some(Stop::Harm(addr));
        let _ = uc.emu_stop();
        return;
    }
    let state = uc.get_data_mut();
    if state.probe == Some(addr) {
        if state.skip_probe {
            state.skip_probe = false;
        } else if state.count_only {
            state.probe_count += 1;
        } else {
            state.stop = Some(if state.in_handler {
                Stop::Reentry(addr)
            } else {
                Stop::Probe(addr)
            });
            let _ = uc.emu_stop();
            return;
        }
    }
    let state = uc.get_data_mut();
    if state.tx_at.contains_key(&addr) {
        state.stop = Some(Stop::Tx(addr));
        let _ = uc.emu_stop();
        return;
    }
    if let Some(stub) = state.stubs.get(&addr).copied() {
        stub_call(uc, addr, stub);
    }
}

/// A group trial at `addr`: the probe's effects are not applied (the run
/// stays on the unprobed path) but followed, and whether a trap at one
/// of the points would break a sequence here is said at once: a trap
/// inside a transaction or on its begin aborts it; a store-conditional
/// after a trap that came after its load-linked fails (the exception
/// return clears the reservation; a trap on the load-linked itself
/// clears it after the single step).
fn group_trap_harms(state: &mut State, addr: u64) -> bool {
    let traps = match state.armed.get_mut(&addr) {
        Some(left) if *left > 0 => {
            *left -= 1;
            state.hits += 1;
            true
        }
        _ => false,
    };
    if traps && (state.tx_open || state.tx_at.get(&addr) == Some(&Class::TxBegin)) {
        return true;
    }
    if state.ll_at.contains_key(&addr) {
        state.reservation_lost = traps;
    } else if traps {
        state.reservation_lost = true;
    }
    state.reservation_lost && state.sc_at.contains_key(&addr)
}

fn sc_succeeded(uc: &Unicorn<'_, State>, status: ScStatus) -> bool {
    match status {
        ScStatus::Register(id) => uc
            .reg_read(id)
            .map(|v| v & 0xffff_ffff == 0)
            .unwrap_or(false),
        ScStatus::FlagSet { reg, bit } => uc
            .reg_read(reg)
            .map(|r| (r >> bit) & 1 == 1)
            .unwrap_or(false),
    }
}

/// Skip a call: record it, give it a generated return value, and go on
/// at the next instruction.
fn stub_call(uc: &mut Unicorn<'_, State>, addr: u64, stub: Stub) {
    let state = uc.get_data();
    let Some(abi) = state.abi else {
        return;
    };
    let toc_save = state.toc_save;
    let big_endian = state.big_endian;
    let mut args = [0u64; 4];
    for (i, a) in args.iter_mut().enumerate() {
        *a = uc.reg_read(abi.args[i]).unwrap_or(0);
    }
    let state = uc.get_data_mut();
    let returned = generated_return(state);
    // An indirect call's target is in a register: recorded as unknown.
    let target = stub.target;
    state.calls.push(CallRecord {
        at: addr,
        target,
        args,
        returned,
    });
    if state.tracing {
        state.trace.push(run::TraceEvent::Stub {
            at: addr,
            target,
            returned,
        });
    }
    let _ = uc.reg_write(abi.ret, returned);
    if let Some((toc, slot)) = toc_save {
        // The linker's call stub saves the TOC pointer in the caller's
        // frame, and the caller reloads it after the call.
        let sp = uc.reg_read(abi.sp).unwrap_or(0);
        let r2 = uc.reg_read(toc).unwrap_or(0);
        let bytes = if big_endian {
            r2.to_be_bytes()
        } else {
            r2.to_le_bytes()
        };
        write_journaled(uc, sp.wrapping_add(slot), &bytes);
    }
    let _ = uc.reg_write(abi.pc, addr + u64::from(stub.len));
}
