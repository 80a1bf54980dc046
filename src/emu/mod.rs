//! The emulator: the one module that owns Unicorn handles.
//!
//! An [`Emulator`] is made once per worker thread and binary. It maps the
//! binary's sections, a stack, a sentinel return address and a scratch page;
//! memory outside those is materialised lazily, page by page, with
//! deterministic pseudo-random content. Every store is journaled so that a
//! trial is undone by replaying the journal backwards, and the registers by
//! restoring a pristine context. Hooks are placed only at the addresses of
//! the current function that need them (candidate probe points,
//! store-conditionals, transaction instructions, calls to stub).
//!
//! The files, one concept each:
//!
//! - `arch/`: the per-architecture table ([`arch::EmuArch`]), one file per
//!   architecture; nothing else here matches on the architecture;
//! - `engine.rs`: making an engine and mapping the binary;
//! - `memory.rs`: lazy pages, the write journal, the generator;
//! - `state.rs`: what the hooks share with the driver;
//! - `hooks.rs`: the hooks and the instrumentation of a function;
//! - `inputs.rs`: generated inputs; `opener.rs`: trials started at a
//!   load-linked;
//! - `run.rs`: a trial and its outcome; `trial.rs`: the driver;
//!   `handler.rs`: the trap model's steps at a hit; `transaction.rs`: the
//!   transaction model;
//! - `write.rs`: variable writes at a hit; `plain.rs`: the unhooked
//!   reference run; `selftest.rs`: the start-up checks;
//! - `error.rs`: [`EmuError`].
//!
//! [`Emulator::run`] drives a trial through the trap model ([`crate::trap`]).

pub mod abi;
pub(crate) mod arch;
mod engine;
mod error;
mod handler;
mod hooks;
mod inputs;
pub(crate) mod memory;
mod opener;
pub mod plain;
pub mod run;
pub mod selftest;
pub(crate) mod state;
mod transaction;
mod trial;
pub mod write;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use unicorn_engine::unicorn_const::uc_error;
use unicorn_engine::{Context, UcHookId, Unicorn};

use crate::arch::Arch;
use crate::trap::TrapModel;
use abi::Abi;
use arch::EmuArch;

pub(crate) use engine::{configure, Addressing};
pub use error::EmuError;
pub(crate) use memory::page_content;
pub use memory::splitmix;
pub use run::{Exit, Input, Outcome, ProbeMode, Trial};
pub(crate) use state::State;
pub use state::{CallRecord, ScResult};

pub(crate) const PAGE: u64 = 0x1000;

/// Whether `addr` is on the scratch pages (the code that models exception
/// returns and the data its store-conditional targets): their stores are
/// not the program's effects and their instructions not the program's.
pub(crate) fn is_scratch(addr: u64) -> bool {
    let page = addr & !(PAGE - 1);
    page == SCRATCH_CODE || page == SCRATCH_DATA
}
/// The stack: 256 KiB; the region starts with its stack pointer near the top.
pub const STACK_BASE: u64 = 0x7ff0_0000_0000;
pub(crate) const STACK_SIZE: u64 = 0x40000;
/// The region's return address: reaching it ends the trial.
pub const SENTINEL: u64 = 0x7ff1_0000_0000;
/// The probe handler's return address.
pub const HANDLER_SENTINEL: u64 = SENTINEL + 0x100;
/// Code executed to model exception returns (CLREX, a scratch `stdcx.`).
pub(crate) const SCRATCH_CODE: u64 = 0x7ff2_0000_0000;
/// The granule a POWER scratch store-conditional targets: a page of its
/// own, so the scratch store does not invalidate the scratch code that
/// Unicorn translated (a store into a page holding translated code drops
/// that code, and it was translated again at every trial).
pub(crate) const SCRATCH_DATA: u64 = SCRATCH_CODE + PAGE;
/// POWER: the return from a modelled system call ([`arch::EmuArch::syscall_return_code`]).
pub(crate) const SYSCALL_RETURN: u64 = SCRATCH_CODE + 0x10;
/// Where generated pointer arguments point; materialised lazily.
pub const HEAP_BASE: u64 = 0x7e00_0000_0000;
/// Lazily mapped pages per trial at most (4 MiB): pointer chasing through
/// generated words touches a new page at every step, and each mapping
/// costs more the more there are.
pub(crate) const LAZY_PAGE_LIMIT: u32 = 1024;
/// Lazily mapped pages kept mapped between trials.
pub(crate) const LAZY_KEEP: usize = 256;
/// Where memory is materialised lazily: the heap the generated pointers
/// point into, the handler's arguments and the POWER thread pointer.
pub(crate) const HEAP_WINDOW: u64 = 1 << 30;
/// The heap mapped up front: where [`run::Input::generate`]'s pointers
/// point (256 groups of 4 pages).
pub(crate) const PREMAPPED_HEAP: u64 = 0x100 * 4 * PAGE;
/// Kernel context (see [`abi::Abi::kernel_context`]): arm64 `current`
/// (`sp_el0`) points at generated memory here, inside the heap window and
/// away from the generated pointers, so the task structure it reads is
/// materialised lazily like any heap page.
pub const CURRENT_TASK: u64 = HEAP_BASE + 0x200_0000;
/// Kernel context: x86-64's per-CPU base (`gs`), generated memory too
/// (x86 per-CPU symbols are offsets from 0, so `%gs:sym` lands here).
pub const PERCPU_BASE: u64 = HEAP_BASE + 0x300_0000;
/// Binary bytes mapped at most.
pub(crate) const IMAGE_LIMIT: u64 = 1 << 31;

/// Set when the process is asked to stop (SIGINT, SIGTERM): every
/// emulation in the process ends at its next translated block, whatever it
/// runs, instead of at its budget or wall-clock limit.
static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Ask every emulation of this process to stop at once (async-signal-safe:
/// one atomic store). Trials that stop this way end as timeouts; callers
/// must not keep their results ([`interrupted`]).
pub fn interrupt() {
    INTERRUPT.store(true, Ordering::SeqCst);
}

/// Whether [`interrupt`] was called: results of emulations since then are
/// cut short.
pub fn interrupted() -> bool {
    INTERRUPT.load(Ordering::Relaxed)
}
/// A reusable emulator for one binary.
pub struct Emulator {
    uc: Unicorn<'static, State>,
    arch: Arch,
    /// The architecture's table.
    table: &'static dyn EmuArch,
    abi: &'static Abi,
    model: TrapModel,
    /// Address bits the CPU uses (POWER real mode ignores the top four;
    /// see [`Addressing`]).
    mask: u64,
    /// The bits the mask removed from the binary's addresses.
    high: u64,
    pristine: Context,
    /// The binary's mapped ranges (CPU addresses), merged and sorted.
    image: Vec<(u64, u64)>,
    region_hooks: Vec<UcHookId>,
    toc: Option<u64>,
    tx: transaction::TxState,
    /// The instruction-trace hook, once a trial asked for a trace.
    trace_hook: Option<UcHookId>,
    /// Probe hits per trial before giving up on a livelock proof.
    hit_limit: u32,
    /// The function's load-linked instructions and how a trial that starts
    /// at one sets up its operands.
    openers: HashMap<u64, opener::Opener>,
    /// The first register the tables name that Unicorn could not read
    /// during this trial (read as 0 there); the trial ends as a fault.
    reg_error: Cell<Option<(i32, uc_error)>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("arch", &self.arch)
            .finish()
    }
}

impl Emulator {
    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// A binary address as the emulated CPU sees it.
    pub fn to_cpu(&self, addr: u64) -> u64 {
        addr & self.mask
    }

    /// A CPU address back in the binary's terms. The emulator's own pages
    /// (the heap window, the stack, the sentinels, the scratch code) keep
    /// their address; any other is the binary's, whose high bits the mask
    /// removed: an arm64 kernel's 0xffff800080000000 runs at
    /// 0x800080000000, above the heap.
    pub fn from_cpu(&self, addr: u64) -> u64 {
        let own = (HEAP_BASE..HEAP_BASE + HEAP_WINDOW).contains(&addr)
            || (STACK_BASE..SCRATCH_DATA + PAGE).contains(&addr);
        if own {
            addr
        } else {
            addr | self.high
        }
    }

    /// Probe hits per trial before a trapped run stops with `Budget`
    /// (default 256, enough for a livelock proof in any window).
    pub fn set_hit_limit(&mut self, hits: u32) {
        self.hit_limit = hits.max(1);
    }

    /// A register's value; one that cannot be read reads as 0 and is
    /// recorded, and the trial ends as a fault (`trial.rs`). Unicorn
    /// 2.1.5 answers every id of the tables, and even an unknown one
    /// (with 0), so only a failing engine gets here: no test can reach it.
    fn reg(&self, id: i32) -> u64 {
        match self.uc.reg_read(id) {
            Ok(v) => v,
            Err(e) => {
                if self.reg_error.get().is_none() {
                    self.reg_error.set(Some((id, e)));
                }
                0
            }
        }
    }

    fn set_reg(&mut self, id: i32, value: u64) {
        let _ = self.uc.reg_write(id, value);
    }

    fn pc(&self) -> u64 {
        self.reg(self.abi.pc)
    }
}
