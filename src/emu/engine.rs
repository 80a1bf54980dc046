//! Making an engine: Unicorn's arch and mode, the CPU model, the address
//! translation, the code buffer, and the binary, the stack, the sentinels,
//! the scratch code and the heap mapped.

use std::cell::Cell;
use std::collections::HashMap;

use unicorn_engine::unicorn_const::{Prot, TlbEntry, TlbType};
use unicorn_engine::Unicorn;

use super::arch::{self, EmuArch};
use super::error::EmuError;
use super::memory::premapped_heap;
use super::state::State;
use super::{
    run, transaction, Emulator, HEAP_BASE, IMAGE_LIMIT, PAGE, PREMAPPED_HEAP, SCRATCH_CODE,
    SCRATCH_DATA, SENTINEL, STACK_BASE, STACK_SIZE, SYSCALL_RETURN,
};
use crate::arch::Arch;
use crate::load::Binary;

/// The CPU model the table asks for (arm64: `max`). The other
/// architectures keep their default model (on POWER the only correct
/// 64-bit one).
fn set_cpu_model<D>(uc: &mut Unicorn<'_, D>, table: &dyn EmuArch) -> Result<(), EmuError> {
    if let Some((model, name)) = table.cpu_model() {
        uc.ctl_set_cpu_model(model).map_err(|e| {
            EmuError::unicorn(
                table.arch(),
                format!("selecting the {name} CPU model"),
                None,
                e,
            )
        })?;
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
pub(crate) fn configure<D>(uc: &mut Unicorn<'_, D>, arch: Arch) -> Result<(), EmuError> {
    let table = arch::of(arch);
    set_cpu_model(uc, table)?;
    let err = |operation: &str, e| EmuError::unicorn(arch, operation, None, e);
    match table.addressing() {
        Addressing::Identity => {
            uc.ctl_set_tlb_type(TlbType::VIRTUAL)
                .map_err(|e| err("selecting the virtual TLB", e))?;
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
            .map_err(|e| err("adding the identity TLB hook", e))?;
        }
        Addressing::RealMode => arch::enter_64bit_real_mode(uc, arch)?,
    }
    Ok(())
}

/// The size of the buffer Unicorn translates code into, per emulator (one
/// per worker thread). Unicorn's default is 1 GiB, which a run over a whole
/// libc fills, page by page, on every worker, since translations are kept;
/// when this one is full, Unicorn drops them all and starts again.
const CODE_BUFFER: u32 = 128 << 20;

/// Must come before the engine's first use, as the CPU model.
fn set_code_buffer<D>(uc: &mut Unicorn<'_, D>, arch: Arch, bytes: u32) -> Result<(), EmuError> {
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
        Err(EmuError::unicorn(
            arch,
            "setting the code buffer size",
            None,
            err,
        ))
    }
}

impl Emulator {
    /// An emulator with the binary mapped, in 64-bit mode.
    pub fn new(binary: &Binary) -> Result<Emulator, EmuError> {
        let high = binary
            .sections
            .iter()
            .find(|s| s.executable)
            .map_or(0, |s| s.address & !Self::mask_of(binary.arch));
        let mut emu = Emulator::bare_with(binary.arch, high)?;
        emu.map_image(binary)?;
        emu.uc
            .context_save(&mut emu.pristine)
            .map_err(|e| EmuError::unicorn(binary.arch, "saving the pristine context", None, e))?;
        Ok(emu)
    }

    pub(crate) fn mask_of(arch: Arch) -> u64 {
        arch::of(arch).addressing().mask()
    }

    /// An emulator with nothing but the fixed pages mapped (self-tests).
    pub(crate) fn bare(arch: Arch) -> Result<Emulator, EmuError> {
        Emulator::bare_with(arch, 0)
    }

    fn bare_with(arch: Arch, high: u64) -> Result<Emulator, EmuError> {
        let table = arch::of(arch);
        let (uc_arch, mode) = table.unicorn();
        let abi = table.abi();
        let state = State {
            abi: Some(abi),
            big_endian: arch.big_endian(),
            toc_save: table.toc(),
            budget: i64::MAX,
            ..State::default()
        };
        let uc_err = |operation: &str, e| EmuError::unicorn(arch, operation, None, e);
        let mut uc = Unicorn::new_with_data(uc_arch, mode, state)
            .map_err(|e| uc_err("opening the emulator", e))?;
        set_code_buffer(&mut uc, arch, CODE_BUFFER)?;
        configure(&mut uc, arch)?;
        let mask = Self::mask_of(arch);
        let mut emu = Emulator {
            pristine: uc
                .context_alloc()
                .map_err(|e| uc_err("allocating a context", e))?,
            uc,
            arch,
            table,
            abi,
            model: table.trap_model(),
            mask,
            high,
            image: Vec::new(),
            region_hooks: Vec::new(),
            toc: None,
            tx: transaction::TxState::default(),
            trace_hook: None,
            hit_limit: run::MAX_HITS,
            openers: HashMap::new(),
            reg_error: Cell::new(None),
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

    fn map_image(&mut self, binary: &Binary) -> Result<(), EmuError> {
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
                .ok_or_else(|| EmuError::SectionOverflow {
                    arch: self.arch,
                    section: s.name.clone(),
                    address: s.address,
                    size: s.size,
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
                return Err(EmuError::ImageTooLarge {
                    arch: self.arch,
                    limit: IMAGE_LIMIT,
                });
            }
            self.uc.mem_map(s, e - s, Prot::ALL).map_err(|err| {
                EmuError::unicorn(self.arch, format!("mapping {s:#x}-{e:#x}"), Some(s), err)
            })?;
        }
        let mut modelled = Vec::new();
        for s in &binary.sections {
            if !s.data.is_empty() {
                let mut patched = None;
                if s.executable {
                    let mut code = s.data.clone();
                    let found = self.table.modelled_code(&mut code, s.address & self.mask);
                    if !found.is_empty() {
                        modelled.extend(found);
                        patched = Some(code);
                    }
                }
                self.uc
                    .mem_write(s.address & self.mask, patched.as_deref().unwrap_or(&s.data))
                    .map_err(|e| {
                        EmuError::unicorn(
                            self.arch,
                            format!("writing section {}", s.name),
                            Some(s.address),
                            e,
                        )
                    })?;
            }
        }
        modelled.sort_unstable();
        self.uc.get_data_mut().modelled = modelled;
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

    fn map_fixed(&mut self) -> Result<(), EmuError> {
        let arch = self.arch;
        let uc_err = |operation: &str, e| EmuError::unicorn(arch, operation, None, e);
        self.uc
            .mem_map(STACK_BASE, STACK_SIZE, Prot::READ | Prot::WRITE)
            .map_err(|e| uc_err("mapping the stack", e))?;
        self.uc
            .mem_map(SENTINEL, PAGE, Prot::ALL)
            .map_err(|e| uc_err("mapping the sentinel page", e))?;
        self.uc
            .mem_map(SCRATCH_CODE, PAGE, Prot::ALL)
            .map_err(|e| uc_err("mapping the scratch page", e))?;
        self.uc
            .mem_map(SCRATCH_DATA, PAGE, Prot::READ | Prot::WRITE)
            .map_err(|e| uc_err("mapping the scratch data page", e))?;
        let clear = self.table.clear_code();
        self.uc
            .mem_write(SCRATCH_CODE, &clear)
            .map_err(|e| uc_err("writing the scratch code", e))?;
        if let Some(code) = self.table.syscall_return_code() {
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
}
