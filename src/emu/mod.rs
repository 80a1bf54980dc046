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
//! [`run`] drives a trial through the trap model ([`crate::trap`]).

pub mod abi;
mod opener;
pub mod plain;
mod ppc;
pub mod run;
pub mod selftest;
pub mod write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use unicorn_engine::unicorn_const::{
    Arch as UcArch, HookType, MemType, Mode, Prot, TlbEntry, TlbType,
};
use unicorn_engine::{Context, RegisterPPC, UcHookId, Unicorn};

use crate::arch::{Arch, Class};
use crate::decode::Insn;
use crate::load::Binary;
use crate::trap::TrapModel;
use abi::Abi;

pub use run::{Exit, Input, Outcome, ProbeMode, Trial};

const PAGE: u64 = 0x1000;
/// The stack: 256 KiB; the region starts with its stack pointer near the top.
pub const STACK_BASE: u64 = 0x7ff0_0000_0000;
const STACK_SIZE: u64 = 0x40000;
/// The region's return address: reaching it ends the trial.
pub const SENTINEL: u64 = 0x7ff1_0000_0000;
/// The probe handler's return address.
pub const HANDLER_SENTINEL: u64 = SENTINEL + 0x100;
/// Code executed to model exception returns (CLREX, a scratch `stdcx.`).
const SCRATCH_CODE: u64 = 0x7ff2_0000_0000;
/// The granule a POWER scratch store-conditional targets.
const SCRATCH_DATA: u64 = SCRATCH_CODE + 0x800;
/// POWER: the return from a modelled system call ([`ppc::syscall_return_code`]).
const SYSCALL_RETURN: u64 = SCRATCH_CODE + 0x10;
/// Where generated pointer arguments point; materialised lazily.
pub const HEAP_BASE: u64 = 0x7e00_0000_0000;
/// Lazily mapped pages per trial at most (4 MiB): pointer chasing through
/// generated words touches a new page at every step, and each mapping
/// costs more the more there are.
const LAZY_PAGE_LIMIT: u32 = 1024;
/// Lazily mapped pages kept mapped between trials.
const LAZY_KEEP: usize = 256;
/// Where memory is materialised lazily: the heap the generated pointers
/// point into, the handler's arguments and the POWER thread pointer.
const HEAP_WINDOW: u64 = 1 << 30;
/// The heap mapped up front: where [`run::Input::generate`]'s pointers
/// point (256 groups of 4 pages).
const PREMAPPED_HEAP: u64 = 0x100 * 4 * PAGE;
/// Kernel context (see [`abi::Abi::kernel_context`]): arm64 `current`
/// (`sp_el0`) points at generated memory here, inside the heap window and
/// away from the generated pointers, so the task structure it reads is
/// materialised lazily like any heap page.
pub const CURRENT_TASK: u64 = HEAP_BASE + 0x200_0000;
/// Kernel context: x86-64's per-CPU base (`gs`), generated memory too
/// (x86 per-CPU symbols are offsets from 0, so `%gs:sym` lands here).
pub const PERCPU_BASE: u64 = HEAP_BASE + 0x300_0000;
/// Binary bytes mapped at most.
const IMAGE_LIMIT: u64 = 1 << 31;

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

/// Why the emulator stopped inside `emu_start`, set by a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The active probe point was reached.
    Probe(u64),
    /// The active probe point was reached while the handler ran.
    Reentry(u64),
    /// A transaction instruction is about to execute: the driver models it.
    Tx(u64),
    /// The instruction budget ran out.
    Budget,
    /// The wall-clock limit passed, or the process was interrupted.
    Timeout,
    /// A group trial: a trap at one of its points would break the sequence
    /// at this address.
    Harm(u64),
}

/// One journaled store: the bytes it overwrote.
#[derive(Clone, Copy, Debug)]
struct Journaled {
    addr: u64,
    len: u8,
    old: [u8; 16],
}

/// A store-conditional's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ScResult {
    /// The store-conditional.
    pub sc: u64,
    /// It stored.
    pub ok: bool,
    /// Probe hits before it.
    pub after_hits: u32,
}

/// A cache-block zeroing instruction: its address is `base + index`.
#[derive(Clone, Copy, Debug)]
struct ZeroBlock {
    /// POWER `rA` (none for `0`).
    base: Option<i32>,
    index: i32,
}

impl ZeroBlock {
    /// POWER `dcbz rA, rB` / `dcbzl`, arm64 `dc zva, Xt`.
    fn of(arch: Arch, insn: &Insn) -> Option<ZeroBlock> {
        let ops: Vec<&str> = insn.op_str.split(',').map(str::trim).collect();
        match (arch, insn.mnemonic.as_str(), ops.as_slice()) {
            // `rA` = 0 stands for the value 0, not r0.
            (Arch::Ppc64 | Arch::Ppc64le, "dcbz" | "dcbzl", [ra, rb]) => Some(ZeroBlock {
                base: abi::gpr_by_name(arch, ra).filter(|_| !matches!(*ra, "0" | "r0")),
                index: abi::gpr_by_name(arch, rb)?,
            }),
            (Arch::Aarch64, "dc", [op, xt]) if op.eq_ignore_ascii_case("zva") => Some(ZeroBlock {
                base: None,
                index: abi::gpr_by_name(arch, xt)?,
            }),
            _ => None,
        }
    }
}

/// A stubbed call.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallRecord {
    /// The call instruction.
    pub at: u64,
    /// Its target, if known.
    pub target: Option<u64>,
    /// The first four argument registers.
    pub args: [u64; 4],
    /// The value the stub returned.
    pub returned: u64,
}

/// How a store-conditional reports success.
#[derive(Clone, Copy, Debug)]
enum ScStatus {
    /// A status register: 0 means it stored (arm64).
    Register(i32),
    /// CR0[EQ] set means it stored (POWER).
    Cr0Eq,
}

/// A call the region makes, replaced by a stub.
#[derive(Clone, Copy, Debug)]
struct Stub {
    len: u8,
    target: Option<u64>,
}

/// State that the hooks read and write (Unicorn's user data).
#[derive(Debug, Default)]
pub(crate) struct State {
    arch: Option<Arch>,
    journal: Vec<Journaled>,
    lazy_pages: u32,
    /// Pages the lazy-memory hook mapped, unmapped again once many.
    lazy_mapped: Vec<u64>,
    stop: Option<Stop>,
    budget: i64,
    deadline: Option<Instant>,
    blocks: u64,
    executed: u64,
    probe: Option<u64>,
    /// A group trial's points, with the hits each may still trap.
    armed: AddrMap<u32>,
    /// This trial is a group trial.
    grouped: bool,
    /// Group trial: a trap came after the last load-linked (its
    /// reservation would be gone).
    reservation_lost: bool,
    /// A transaction is open (the driver's transaction model says so).
    tx_open: bool,
    /// The function's load-linked instructions.
    ll_at: AddrMap<()>,
    /// The function's cache-block zeroing instructions.
    zero_at: AddrMap<ZeroBlock>,
    skip_probe: bool,
    count_only: bool,
    probe_count: u64,
    hits: u32,
    sc_at: AddrMap<ScStatus>,
    sc_after: AddrMap<u64>,
    sc_pending: Option<(u64, ScStatus)>,
    sc_log: Vec<ScResult>,
    tx_at: AddrMap<Class>,
    stubs: AddrMap<Stub>,
    stub_seed: u64,
    calls: Vec<CallRecord>,
    in_handler: bool,
    handler_blocks: Vec<u64>,
    last_block: (u64, u32),
    region: (u64, u64),
    left_region: Option<(u64, u64)>,
    tracing: bool,
    trace: Vec<run::TraceEvent>,
    /// An interrupt the program raised that no model handles (POWER:
    /// Unicorn's interrupt number and the instruction's address); the
    /// run stops there.
    interrupt: Option<(u32, u64)>,
    /// The last access to an address outside every mapping and the heap
    /// window: `(address, is a write)`.
    unmapped: Option<(u64, bool)>,
}

/// A reusable emulator for one binary.
pub struct Emulator {
    uc: Unicorn<'static, State>,
    arch: Arch,
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
    tx: run::TxState,
    /// The instruction-trace hook, once a trial asked for a trace.
    trace_hook: Option<UcHookId>,
    /// Probe hits per trial before giving up on a livelock proof.
    hit_limit: u32,
    /// The function's load-linked instructions and how a trial that starts
    /// at one sets up its operands.
    openers: HashMap<u64, opener::Opener>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("arch", &self.arch)
            .finish()
    }
}

/// Deterministic content of a lazily materialised page: a mix of zeros,
/// small integers, pointers into the lazy heap and random words, so that
/// pointer-chasing code finds pointers without a model of the program.
pub(crate) fn page_content(page: u64, big_endian: bool) -> Vec<u8> {
    let mut state = page ^ 0x5851_f42d_4c95_7f2d;
    let mut out = Vec::with_capacity(PAGE as usize);
    for _ in 0..PAGE / 8 {
        let r = splitmix(&mut state);
        let word = match r & 3 {
            0 => 0,
            1 => (r >> 8) & 0xff,
            2 => HEAP_BASE + ((r >> 8) & 0xff) * PAGE * 4 + ((r >> 16) & 0x7f8),
            _ => splitmix(&mut state),
        };
        out.extend_from_slice(&if big_endian {
            word.to_be_bytes()
        } else {
            word.to_le_bytes()
        });
    }
    out
}

/// The content of the premapped heap, made once per byte order and process
/// (every worker thread's emulator starts from it).
fn premapped_heap(big_endian: bool) -> &'static [u8] {
    static HEAPS: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
    HEAPS[usize::from(big_endian)].get_or_init(|| {
        let mut content = Vec::with_capacity(PREMAPPED_HEAP as usize);
        for page in (HEAP_BASE..HEAP_BASE + PREMAPPED_HEAP).step_by(PAGE as usize) {
            content.extend_from_slice(&page_content(page, big_endian));
        }
        content
    })
}

/// SplitMix64: small, fast, and the same everywhere.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// arm64: the `max` CPU, so that ARMv8.1+ code (LSE atomics, PAC hints)
/// runs; Unicorn's default Cortex-A72 is ARMv8.0. The other architectures
/// keep their default model (on POWER the only correct 64-bit one).
fn set_cpu_model<D>(uc: &mut Unicorn<'_, D>, arch: Arch) -> Result<(), String> {
    if arch == Arch::Aarch64 {
        uc.ctl_set_cpu_model(unicorn_engine_sys::Arm64CpuModel::MAX as i32)
            .map_err(|e| uc_err("selecting the arm64 CPU model", e))?;
    }
    Ok(())
}

/// How the emulated CPU reaches an address of the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addressing {
    /// Every 64-bit virtual address is the physical address with the same
    /// number: Unicorn's virtual TLB, filled by an identity hook (x86-64,
    /// arm64). Kernel addresses (arm64's TTBR1 half `0xffff8000...`, x86's
    /// canonical high half `0xffffffff8...`) run, load and store at their
    /// link addresses. Without it Unicorn's x86 translation with paging off
    /// keeps 52 physical bits (`PG_ADDRESS_MASK`) and never fetches a
    /// high-half image; arm64 (EL1, MMU off) happens to pass 64-bit
    /// addresses through in 2.1.5, and the same explicit identity keeps it
    /// independent of that path.
    Identity,
    /// POWER hypervisor real mode: the top four address bits are ignored,
    /// so `0xc000...` kernel addresses alias the low ones. The binary is
    /// mapped at its addresses with those bits cleared.
    RealMode,
}

impl Addressing {
    pub(crate) fn of(arch: Arch) -> Addressing {
        match arch {
            Arch::X86_64 | Arch::Aarch64 => Addressing::Identity,
            Arch::Ppc64 | Arch::Ppc64le => Addressing::RealMode,
        }
    }

    /// The address bits the CPU uses.
    pub(crate) fn mask(self) -> u64 {
        match self {
            Addressing::Identity => u64::MAX,
            Addressing::RealMode => 0x0fff_ffff_ffff_ffff,
        }
    }
}

/// Put a new engine in the state every emulation of `arch` needs: the CPU
/// model, the address translation ([`Addressing`]), and on POWER 64-bit
/// hypervisor real mode.
pub(crate) fn configure<D>(uc: &mut Unicorn<'_, D>, arch: Arch) -> Result<(), String> {
    set_cpu_model(uc, arch)?;
    match Addressing::of(arch) {
        Addressing::Identity => {
            uc.ctl_set_tlb_type(TlbType::VIRTUAL)
                .map_err(|e| uc_err("selecting the virtual TLB", e))?;
            // Every access type at once: Unicorn's fill without a hook
            // grants only the access that missed, so a page read and then
            // written would be refilled at every alternation. Mapped
            // memory's own protection still applies (Unicorn checks the
            // physical region after the translation).
            uc.add_tlb_hook(1, 0, |_, vaddr, _| {
                Some(TlbEntry {
                    paddr: vaddr,
                    perms: Prot::ALL,
                })
            })
            .map_err(|e| uc_err("adding the identity TLB hook", e))?;
        }
        Addressing::RealMode => ppc::enter_64bit_real_mode(uc, arch == Arch::Ppc64le)?,
    }
    Ok(())
}

/// The size of the buffer Unicorn translates code into, per emulator (one
/// per worker thread). Unicorn's default is 1 GiB, which a run over a whole
/// libc fills, page by page, on every worker, since translations are kept;
/// when this one is full, Unicorn drops them all and starts again.
const CODE_BUFFER: u32 = 128 << 20;

/// Must come before the engine's first use, as the CPU model.
fn set_code_buffer<D>(uc: &mut Unicorn<'_, D>, bytes: u32) -> Result<(), String> {
    use unicorn_engine_sys as sys;
    let handle = uc.get_handle() as *mut sys::uc_engine;
    let write =
        sys::ControlType(sys::ControlType::TCG_BUFFER_SIZE.0 | sys::ControlType::IO_WRITE.0);
    // SAFETY: a live engine handle, and the one u32 argument this control
    // takes.
    let err = unsafe { sys::uc_ctl(handle, write, bytes) };
    if err == sys::uc_error::OK {
        Ok(())
    } else {
        Err(format!("setting the code buffer size: {err:?}"))
    }
}

fn uc_err(what: &str, e: unicorn_engine::unicorn_const::uc_error) -> String {
    format!("{what}: {e:?}")
}

impl Emulator {
    /// An emulator with the binary mapped, in 64-bit mode.
    pub fn new(binary: &Binary) -> Result<Emulator, String> {
        let high = binary
            .sections
            .iter()
            .find(|s| s.executable)
            .map_or(0, |s| s.address & !Self::mask_of(binary.arch));
        let mut emu = Emulator::bare_with(binary.arch, high)?;
        emu.map_image(binary)?;
        emu.uc
            .context_save(&mut emu.pristine)
            .map_err(|e| uc_err("saving the pristine context", e))?;
        Ok(emu)
    }

    pub(crate) fn mask_of(arch: Arch) -> u64 {
        Addressing::of(arch).mask()
    }

    /// An emulator with nothing but the fixed pages mapped (self-tests).
    pub(crate) fn bare(arch: Arch) -> Result<Emulator, String> {
        Emulator::bare_with(arch, 0)
    }

    fn bare_with(arch: Arch, high: u64) -> Result<Emulator, String> {
        let (uc_arch, mode) = match arch {
            Arch::X86_64 => (UcArch::X86, Mode::MODE_64),
            Arch::Aarch64 => (UcArch::ARM64, Mode::ARM),
            Arch::Ppc64 | Arch::Ppc64le => (UcArch::PPC, Mode::PPC64 | Mode::BIG_ENDIAN),
        };
        let state = State {
            arch: Some(arch),
            budget: i64::MAX,
            ..State::default()
        };
        let mut uc = Unicorn::new_with_data(uc_arch, mode, state)
            .map_err(|e| uc_err("opening the emulator", e))?;
        set_code_buffer(&mut uc, CODE_BUFFER)?;
        configure(&mut uc, arch)?;
        let mask = Self::mask_of(arch);
        let mut emu = Emulator {
            pristine: uc
                .context_alloc()
                .map_err(|e| uc_err("allocating a context", e))?,
            uc,
            arch,
            abi: abi::abi(arch),
            model: TrapModel::of(arch),
            mask,
            high,
            image: Vec::new(),
            region_hooks: Vec::new(),
            toc: None,
            tx: run::TxState::default(),
            trace_hook: None,
            hit_limit: run::MAX_HITS,
            openers: HashMap::new(),
        };
        emu.map_fixed()?;
        for &(reg, value) in emu.abi.kernel_context {
            emu.uc
                .reg_write(reg, value)
                .map_err(|e| uc_err("setting the kernel context", e))?;
        }
        emu.add_global_hooks()?;
        emu.uc
            .context_save(&mut emu.pristine)
            .map_err(|e| uc_err("saving the pristine context", e))?;
        Ok(emu)
    }

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
            || (STACK_BASE..SCRATCH_CODE + PAGE).contains(&addr);
        if own {
            addr
        } else {
            addr | self.high
        }
    }

    fn map_image(&mut self, binary: &Binary) -> Result<(), String> {
        // Page ranges of every allocated section, merged.
        // With every address bit in use (x86-64, arm64), a hostile section
        // can end beyond the top of the address space: an error, not an
        // overflow.
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for s in binary.sections.iter().filter(|s| s.size > 0) {
            let start = (s.address & self.mask) & !(PAGE - 1);
            let end = (s.address & self.mask)
                .checked_add(s.size)
                .and_then(|e| e.div_ceil(PAGE).checked_mul(PAGE))
                .ok_or_else(|| {
                    format!(
                        "section {} at {:#x} (size {:#x}) reaches the top of the address space",
                        s.name, s.address, s.size
                    )
                })?;
            ranges.push((start, end));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut total = 0u64;
        self.image = merged.clone();
        for (s, e) in merged {
            total += e - s;
            if total > IMAGE_LIMIT {
                return Err(format!(
                    "the image is larger than {} MiB",
                    IMAGE_LIMIT >> 20
                ));
            }
            self.uc
                .mem_map(s, e - s, Prot::ALL)
                .map_err(|err| uc_err(&format!("mapping {s:#x}-{e:#x}"), err))?;
        }
        for s in &binary.sections {
            if !s.data.is_empty() {
                self.uc
                    .mem_write(s.address & self.mask, &s.data)
                    .map_err(|e| uc_err(&format!("writing section {}", s.name), e))?;
            }
        }
        if binary.ppc_abi == Some(crate::load::PpcAbi::ElfV2) {
            // The TOC pointer: `.TOC.`, or in a stripped binary (no
            // `.symtab`) where the ABI puts it, 0x8000 past the start of
            // `.got`. A function entered at its local entry point, or a
            // trial started inside it, relies on r2 holding it.
            self.toc = binary.symbol(".TOC.").map(|s| s.address).or_else(|| {
                binary
                    .sections
                    .iter()
                    .find(|s| s.name == ".got")
                    .map(|got| got.address + 0x8000)
            });
        }
        Ok(())
    }

    fn map_fixed(&mut self) -> Result<(), String> {
        self.uc
            .mem_map(STACK_BASE, STACK_SIZE, Prot::READ | Prot::WRITE)
            .map_err(|e| uc_err("mapping the stack", e))?;
        self.uc
            .mem_map(SENTINEL, PAGE, Prot::ALL)
            .map_err(|e| uc_err("mapping the sentinel page", e))?;
        self.uc
            .mem_map(SCRATCH_CODE, PAGE, Prot::ALL)
            .map_err(|e| uc_err("mapping the scratch page", e))?;
        let clear = self.clear_code();
        self.uc
            .mem_write(SCRATCH_CODE, &clear)
            .map_err(|e| uc_err("writing the scratch code", e))?;
        if self.arch.is_ppc() {
            let code = ppc::syscall_return_code(self.arch.big_endian());
            self.uc
                .mem_write(SYSCALL_RETURN, &code)
                .map_err(|e| uc_err("writing the scratch code", e))?;
        }
        // The pages generated pointers point into, mapped at once with the
        // content they would get lazily: every lazy mapping makes Unicorn
        // rebuild its memory map, which costs more the more pages there are.
        self.uc
            .mem_map(HEAP_BASE, PREMAPPED_HEAP, Prot::READ | Prot::WRITE)
            .map_err(|e| uc_err("mapping the heap", e))?;
        self.uc
            .mem_write(HEAP_BASE, premapped_heap(self.arch.big_endian()))
            .map_err(|e| uc_err("writing the heap", e))?;
        Ok(())
    }

    /// The instruction an exception return executes to clear the
    /// reservation: arm64 `clrex`; POWER `stdcx. r3,0,r3` to a scratch
    /// granule, as the kernel's interrupt exit does.
    fn clear_code(&self) -> Vec<u8> {
        match self.arch {
            Arch::Aarch64 => 0xd503_3f5fu32.to_le_bytes().to_vec(),
            Arch::Ppc64 => 0x7c60_19adu32.to_be_bytes().to_vec(),
            Arch::Ppc64le => 0x7c60_19adu32.to_le_bytes().to_vec(),
            Arch::X86_64 => vec![0x90],
        }
    }

    fn add_global_hooks(&mut self) -> Result<(), String> {
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
        if self.arch.is_ppc() {
            // Unicorn stops at an interrupt nothing handles; POWER code
            // raises them for system calls (modelled) and faults (named).
            self.uc
                .add_intr_hook(ppc::on_interrupt)
                .map_err(|e| uc_err("adding the interrupt hook", e))?;
        }
        Ok(())
    }

    /// Forget the fault of an earlier run (before a new `emu_start`).
    pub(crate) fn clear_fault(&mut self) {
        let state = self.uc.get_data_mut();
        state.interrupt = None;
        state.unmapped = None;
    }

    /// The fault that ended a run: the interrupt a hook saw (at the
    /// instruction that raised it), or Unicorn's error `e` with the access
    /// the lazy-memory hook refused; `None` when neither happened.
    pub(crate) fn fault(
        &mut self,
        e: Option<unicorn_engine::unicorn_const::uc_error>,
    ) -> Option<run::Exit> {
        let state = self.uc.get_data_mut();
        let (interrupt, unmapped) = (state.interrupt.take(), state.unmapped.take());
        if let Some((intno, at)) = interrupt {
            return Some(run::Exit::Fault {
                pc: self.from_cpu(at),
                reason: ppc::interrupt_name(intno).to_owned(),
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
        Some(run::Exit::Fault {
            pc: self.from_cpu(self.pc()),
            reason,
        })
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
    ) -> Result<(), String> {
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
            if let Some(zero) = ZeroBlock::of(self.arch, insn) {
                self.uc.get_data_mut().zero_at.insert(at, zero);
                addresses.push(at);
            }
            match insn.class {
                Class::StoreConditional => {
                    let status = if self.arch.is_ppc() {
                        Some(ScStatus::Cr0Eq)
                    } else {
                        insn.op_str
                            .split(',')
                            .next()
                            .and_then(|r| abi::gpr_by_name(self.arch, r))
                            .map(ScStatus::Register)
                    };
                    if let Some(status) = status {
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
                    hooks::on_code(uc, addr)
                })
                .map_err(|e| uc_err("hooking the function", e))?;
            self.region_hooks.push(hook);
            addresses.retain(|&a| a < cstart || a >= cend);
        }
        for at in addresses {
            let hook = self
                .uc
                .add_code_hook(at, at, move |uc, addr, _size| hooks::on_code(uc, addr))
                .map_err(|e| uc_err(&format!("hooking {at:#x}"), e))?;
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
                .map_err(|e| uc_err("flushing translated code", e))?;
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

    /// Probe hits per trial before a trapped run stops with `Budget`
    /// (default 256, enough for a livelock proof in any window).
    pub fn set_hit_limit(&mut self, hits: u32) {
        self.hit_limit = hits.max(1);
    }

    fn reg(&self, id: i32) -> u64 {
        self.uc.reg_read(id).unwrap_or(0)
    }

    fn set_reg(&mut self, id: i32, value: u64) {
        let _ = self.uc.reg_write(id, value);
    }

    fn pc(&self) -> u64 {
        self.reg(self.abi.pc)
    }

    fn set_cr0(&mut self, field: u8) {
        let cr = self.reg(RegisterPPC::CR as i32);
        let cr = (cr & 0x0fff_ffff) | (u64::from(field & 0xf) << 28);
        self.set_reg(RegisterPPC::CR as i32, cr);
    }

    /// Model an exception return's effect on the reservation by executing
    /// the architecture's own clearing instruction.
    fn clear_reservation(&mut self) {
        match self.arch {
            Arch::Aarch64 => {
                let _ = self.uc.emu_start(SCRATCH_CODE, SCRATCH_CODE + 4, 0, 1);
            }
            Arch::Ppc64 | Arch::Ppc64le => {
                let r3 = self.reg(RegisterPPC::R3 as i32);
                let cr = self.reg(RegisterPPC::CR as i32);
                let pc = self.pc();
                self.set_reg(RegisterPPC::R3 as i32, SCRATCH_DATA);
                let _ = self.uc.emu_start(SCRATCH_CODE, SCRATCH_CODE + 4, 0, 1);
                self.set_reg(RegisterPPC::R3 as i32, r3);
                self.set_reg(RegisterPPC::CR as i32, cr);
                self.set_reg(self.abi.pc, pc);
            }
            Arch::X86_64 => {}
        }
        // The scratch store is not part of the program's effects.
        let state = self.uc.get_data_mut();
        state
            .journal
            .retain(|j| j.addr & !(PAGE - 1) != SCRATCH_CODE);
    }

    /// Unmap the lazily mapped pages once there are many: Unicorn rebuilds
    /// its whole memory map at every mapping, so thousands of leftover
    /// pages from earlier trials would make each new one slower. Their
    /// content is regenerated the same when touched again.
    fn trim_lazy_pages(&mut self) {
        if self.uc.get_data().lazy_mapped.len() <= LAZY_KEEP {
            return;
        }
        self.unmap_lazy_pages();
    }

    /// Unmap every lazily mapped page.
    fn unmap_lazy_pages(&mut self) {
        let pages = std::mem::take(&mut self.uc.get_data_mut().lazy_mapped);
        for page in pages {
            let _ = self.uc.mem_unmap(page, PAGE);
        }
    }

    /// Undo every store since `mark`, newest first.
    fn undo_journal(&mut self, mark: usize) {
        let entries: Vec<Journaled> = self.uc.get_data_mut().journal.drain(mark..).collect();
        for j in entries.iter().rev() {
            let _ = self.uc.mem_write(j.addr, &j.old[..usize::from(j.len)]);
        }
    }
}

/// Map the heap page `page` with its generated content, if it is in the
/// heap window and the trial may map another page. Only the heap window:
/// generated pointers and what lies after them. A random word used as a
/// pointer is a fault, as it would most likely be on hardware.
pub(super) fn map_lazy_page(uc: &mut Unicorn<'_, State>, page: u64) -> bool {
    let state = uc.get_data_mut();
    let in_heap = (HEAP_BASE..HEAP_BASE + HEAP_WINDOW).contains(&page);
    if !in_heap || state.lazy_pages >= LAZY_PAGE_LIMIT {
        return false;
    }
    state.lazy_pages += 1;
    let big = state.arch.is_some_and(Arch::big_endian);
    if uc.mem_map(page, PAGE, Prot::READ | Prot::WRITE).is_err() {
        return false;
    }
    uc.get_data_mut().lazy_mapped.push(page);
    uc.mem_write(page, &page_content(page, big)).is_ok()
}

/// Journal the bytes a cache-block zeroing instruction (POWER `dcbz`,
/// arm64 `dc zva`) is about to clear: Unicorn clears them with a plain
/// memset that no write hook sees. The whole aligned 256 bytes around the
/// address cover any block size.
fn journal_zeroed_block(uc: &mut Unicorn<'_, State>, addr: u64) {
    let block = addr & !0xff;
    for chunk in (block..block + 0x100).step_by(16) {
        let mut old = [0u8; 16];
        if uc.mem_read(chunk, &mut old).is_err()
            && (!map_lazy_page(uc, chunk & !(PAGE - 1)) || uc.mem_read(chunk, &mut old).is_err())
        {
            continue;
        }
        uc.get_data_mut().journal.push(Journaled {
            addr: chunk,
            len: 16,
            old,
        });
    }
}

/// Write guest memory the way the program's own stores are: journaled, so
/// that the next trial's reset undoes it (a store by the stub or handler
/// model left in place would make later trials depend on earlier ones).
pub(super) fn write_journaled(uc: &mut Unicorn<'_, State>, addr: u64, bytes: &[u8]) {
    let len = bytes.len().min(16);
    let mut old = [0u8; 16];
    if uc.mem_read(addr, &mut old[..len]).is_err() {
        return;
    }
    uc.get_data_mut().journal.push(Journaled {
        addr,
        len: len as u8,
        old,
    });
    let _ = uc.mem_write(addr, &bytes[..len]);
}

/// The value a stubbed call (or a modelled system call) returns: zero or a
/// small integer, drawn from the trial's seed and the calls made so far.
fn generated_return(state: &State) -> u64 {
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

/// Maps keyed by instruction address, looked up at every instruction of a
/// hooked function: a multiply-shift hash instead of SipHash.
type AddrMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<AddrHasher>>;

#[derive(Default)]
struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Hook callbacks (run inside Unicorn).
mod hooks {
    use super::*;

    /// The one code hook: dispatches on what the address is.
    pub(super) fn on_code(uc: &mut Unicorn<'_, State>, addr: u64) {
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
            ScStatus::Cr0Eq => uc
                .reg_read(RegisterPPC::CR)
                .map(|cr| (cr >> 29) & 1 == 1)
                .unwrap_or(false),
        }
    }

    /// Skip a call: record it, give it a generated return value, and go on
    /// at the next instruction.
    fn stub_call(uc: &mut Unicorn<'_, State>, addr: u64, stub: Stub) {
        let arch = uc.get_data().arch.unwrap_or(Arch::X86_64);
        let abi = abi::abi(arch);
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
        if arch.is_ppc() {
            // The linker's call stub saves the TOC pointer in the caller's
            // frame, and the caller reloads it after the call.
            let r1 = uc.reg_read(RegisterPPC::R1).unwrap_or(0);
            let r2 = uc.reg_read(RegisterPPC::R2).unwrap_or(0);
            let slot = if arch == Arch::Ppc64 { 40 } else { 24 };
            let bytes = if arch.big_endian() {
                r2.to_be_bytes()
            } else {
                r2.to_le_bytes()
            };
            write_journaled(uc, r1.wrapping_add(slot), &bytes);
        }
        let _ = uc.reg_write(abi.pc, addr + u64::from(stub.len));
    }
}
