//! 64-bit POWER in the emulator, both byte orders: ELF ABI registers,
//! hypervisor real mode, the kernel's reservation-clearing `stdcx.` on
//! interrupt exit, system calls modelled through the interrupt hook, and
//! transactional memory's CR0 values.
//!
//! The ppc64 start-up workaround (see the shared hazard-semantics notes):
//! Unicorn 2.1's only correct 64-bit POWER model starts with MSR[HV]
//! clear, so the first fetch takes a hypervisor storage fault, and the
//! register API cannot set HV. The saved CPU context holds the MSR twice
//! (the `msr` field and the derived `hflags`); we find both by diffing two
//! saved contexts around an MSR write, set HV and SF (and LE for ppc64le)
//! in both, and restore. This is the only place that touches a raw context.
//!
//! The floating-point, vector (VMX) and VSX facilities are switched on the
//! same way: Linux enables them for a program on first use (the facility
//! unavailable interrupt loads the registers and sets the MSR bit), so a
//! program never sees them off. Off, Unicorn stops at the first `lfd`,
//! `mtfprwz` or `stxvd2x` with an unhandled interrupt.

mod timebase;
use unicorn_engine::unicorn_const::{Arch as UcArch, Mode};
use unicorn_engine::{RegisterPPC, Unicorn};
use unicorn_engine_sys as sys;

use super::{numbered, words, EmuArch, MonitorClear, TxInsn, TxSignal};
use crate::arch::Arch;
use crate::emu::abi::Abi;
use crate::emu::error::EmuError;
use crate::emu::hooks::generated_return;
use crate::emu::selftest::{check, memory_checks, read_back, Check};
use crate::emu::state::{CallRecord, ScStatus, State, ZeroBlock};
use crate::emu::{Addressing, Emulator, HEAP_BASE, SCRATCH_DATA, SYSCALL_RETURN};
use crate::trap::{
    StatusEncoding, TrapModel, TxResume, PPC_TEND_ALL, PPC_TX_ENDED_CR0, PPC_TX_NESTED_CR0,
    PPC_TX_STARTED_CR0,
};
use timebase::{timer_spr_read, timer_sprs};

/// The POWER table of one byte order.
pub(super) struct Ppc64 {
    arch: Arch,
}

/// Big-endian (ELFv1 or ELFv2).
pub(super) const PPC64_BE: Ppc64 = Ppc64 { arch: Arch::Ppc64 };
/// Little-endian (ELFv2).
pub(super) const PPC64_LE: Ppc64 = Ppc64 {
    arch: Arch::Ppc64le,
};

const ABI: Abi = Abi {
    pc: RegisterPPC::PC as i32,
    sp: RegisterPPC::R1 as i32,
    lr: Some(RegisterPPC::LR as i32),
    args: ids!(RegisterPPC: R3, R4, R5, R6, R7, R8, R9, R10),
    ret: RegisterPPC::R3 as i32,
    state: ids!(RegisterPPC: R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16, R17, R18, R19, R20, R21, R22, R23, R24, R25, R26, R27, R28, R29, R30, R31, CR, LR, CTR, XER),
    state_names: names!(
        r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, r16, r17, r18, r19,
        r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31, cr, lr, ctr, xer
    ),
    kernel_context: &[],
};

/// POWER's thread pointer `r13` (the paca in the kernel) at every trial
/// start: generated memory in the heap window.
const TRIAL_REGISTERS: &[(i32, u64)] = &[(RegisterPPC::R13 as i32, HEAP_BASE + 0x100_0000)];

/// The condition register.
const CR: i32 = RegisterPPC::CR as i32;

/// `stdcx. r3,0,r3`, the store-conditional an exception return executes
/// (to a scratch granule), as the kernel's interrupt exit does.
const STDCX_R3: u32 = 0x7c60_19ad;

impl EmuArch for Ppc64 {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn unicorn(&self) -> (UcArch, Mode) {
        (UcArch::PPC, Mode::PPC64 | Mode::BIG_ENDIAN)
    }

    fn addressing(&self) -> Addressing {
        Addressing::RealMode
    }

    fn abi(&self) -> &'static Abi {
        &ABI
    }

    fn gpr(&self, name: &str) -> Option<i32> {
        let name = name.trim().trim_start_matches('%');
        numbered(&ABI, name, &['r'], 31)
    }

    fn entry_register(&self) -> Option<i32> {
        Some(RegisterPPC::R12 as i32)
    }

    /// `r2`; the call stub saves it at 40(r1) (ELFv1, big-endian) or
    /// 24(r1) (ELFv2, little-endian).
    fn toc(&self) -> Option<(i32, u64)> {
        let slot = if self.arch.big_endian() { 40 } else { 24 };
        Some((RegisterPPC::R2 as i32, slot))
    }

    fn trial_registers(&self) -> &'static [(i32, u64)] {
        TRIAL_REGISTERS
    }

    fn clear_code(&self) -> Vec<u8> {
        words(self.arch.big_endian(), &[STDCX_R3])
    }

    fn monitor_clear(&self) -> MonitorClear {
        MonitorClear::Execute {
            address: Some(RegisterPPC::R3 as i32),
            preserved: &[RegisterPPC::R3 as i32, CR, RegisterPPC::PC as i32],
        }
    }

    fn syscall_return_code(&self) -> Option<Vec<u8>> {
        Some(syscall_return_code(self.arch.big_endian()))
    }

    fn modelled_code(&self, code: &mut [u8], address: u64) -> Vec<(u64, u32)> {
        timer_sprs(self.arch.big_endian(), code, address)
    }

    fn interrupt_hook(&self) -> Option<fn(&mut Unicorn<'_, State>, u32)> {
        // Unicorn stops at an interrupt nothing handles; POWER code raises
        // them for system calls (modelled) and faults (named).
        Some(on_interrupt)
    }

    fn interrupt_name(&self, intno: u32) -> &'static str {
        interrupt_name(intno)
    }

    /// `dcbz rA, rB` / `dcbzl`.
    fn zero_block(&self, mnemonic: &str, ops: &[&str]) -> Option<ZeroBlock> {
        match (mnemonic, ops) {
            // `rA` = 0 stands for the value 0, not r0.
            ("dcbz" | "dcbzl", [ra, rb]) => Some(ZeroBlock {
                base: self.gpr(ra).filter(|_| !matches!(*ra, "0" | "r0")),
                index: self.gpr(rb)?,
            }),
            _ => None,
        }
    }

    /// CR0[EQ] set means it stored.
    fn sc_status(&self, _op_str: &str) -> Option<ScStatus> {
        Some(ScStatus::FlagSet { reg: CR, bit: 29 })
    }

    fn trap_model(&self) -> TrapModel {
        TrapModel {
            return_clears_reservation: true,
            handler_runs_in_transaction: true,
            tx_resume: TxResume::BeginPlus4,
            status: StatusEncoding::PowerCr0,
        }
    }

    fn tx_insn(&self, _at: u64, code: &[u8]) -> TxInsn {
        let word = code.get(..4).map_or(0, |b| {
            let b: [u8; 4] = b.try_into().expect("4 bytes");
            if self.arch.big_endian() {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        });
        TxInsn {
            len: 4,
            ends_all: word & PPC_TEND_ALL != 0,
            ..TxInsn::default()
        }
    }

    fn tx_started(&self, nested: bool) -> TxSignal {
        TxSignal::Cr0(if nested {
            PPC_TX_NESTED_CR0
        } else {
            PPC_TX_STARTED_CR0
        })
    }

    fn tx_ended(&self) -> TxSignal {
        TxSignal::Cr0(PPC_TX_ENDED_CR0)
    }

    fn self_test(&self, emu: &mut Emulator, code_at: u64, high: u64) -> Vec<Check> {
        self_test(self.arch, emu, code_at, high)
    }

    /// Debian's POWER kernels: the `0xc000...` linear map.
    fn kernel_base(&self) -> u64 {
        0xc000_0000_0001_0000
    }

    fn kernel_self_test(&self, emu: &mut Emulator, base: u64, data: u64) -> Vec<Check> {
        kernel_self_test(self.arch, emu, base, data)
    }
}

/// MSR bits.
const MSR_SF: u64 = 1 << 63;
const MSR_HV: u64 = 1 << 60;
const MSR_VEC: u64 = 1 << 25;
const MSR_VSX: u64 = 1 << 23;
const MSR_PR: u64 = 1 << 14;
const MSR_FP: u64 = 1 << 13;
const MSR_LE: u64 = 1;

/// Put the CPU in 64-bit hypervisor real mode, big- or little-endian, with
/// the floating-point, VMX and VSX facilities available.
pub(crate) fn enter_64bit_real_mode<D>(
    uc: &mut Unicorn<'_, D>,
    arch: Arch,
) -> Result<(), EmuError> {
    let little_endian = !arch.big_endian();
    let handle = uc.get_handle() as *mut sys::uc_engine;
    let wanted =
        MSR_SF | MSR_HV | MSR_FP | MSR_VEC | MSR_VSX | if little_endian { MSR_LE } else { 0 };
    // SAFETY: the two contexts are allocated for this engine, used only
    // with it, read within `uc_context_size` bytes, and freed before return.
    unsafe {
        let size = sys::uc_context_size(handle);
        let mut before: *mut sys::uc_context = std::ptr::null_mut();
        let mut after: *mut sys::uc_context = std::ptr::null_mut();
        if sys::uc_context_alloc(handle, &mut before) != sys::uc_error::OK
            || sys::uc_context_alloc(handle, &mut after) != sys::uc_error::OK
        {
            return Err(EmuError::RawContext {
                arch,
                operation: "allocate a",
            });
        }
        let result = (|| {
            if sys::uc_context_save(handle, before) != sys::uc_error::OK {
                return Err(EmuError::RawContext {
                    arch,
                    operation: "save the",
                });
            }
            let msr = uc
                .reg_read(RegisterPPC::MSR)
                .map_err(|e| EmuError::unicorn(arch, "reading MSR", None, e))?;
            uc.reg_write(RegisterPPC::MSR, msr ^ MSR_PR)
                .map_err(|e| EmuError::unicorn(arch, "writing MSR", None, e))?;
            if sys::uc_context_save(handle, after) != sys::uc_error::OK {
                return Err(EmuError::RawContext {
                    arch,
                    operation: "save the",
                });
            }
            let a = std::slice::from_raw_parts_mut(before as *mut u8, size);
            let b = std::slice::from_raw_parts(after as *const u8, size);
            let mut fields = Vec::new();
            for off in (0..size.saturating_sub(7)).step_by(8) {
                let x = u64::from_ne_bytes(a[off..off + 8].try_into().unwrap());
                let y = u64::from_ne_bytes(b[off..off + 8].try_into().unwrap());
                // The write sets PR (and, through the register API, a few
                // other low MSR bits); pointers and derived indices change
                // in other ways.
                let diff = x ^ y;
                if diff & MSR_PR != 0 && diff < 0x1_0000 {
                    fields.push(off);
                }
            }
            if fields.len() < 2 {
                return Err(EmuError::MsrCopies {
                    arch,
                    found: fields.len(),
                });
            }
            for off in fields {
                let x = u64::from_ne_bytes(a[off..off + 8].try_into().unwrap());
                a[off..off + 8].copy_from_slice(&(x | wanted).to_ne_bytes());
            }
            if sys::uc_context_restore(handle, before) != sys::uc_error::OK {
                return Err(EmuError::RawContext {
                    arch,
                    operation: "restore the",
                });
            }
            Ok(())
        })();
        sys::uc_context_free(before);
        sys::uc_context_free(after);
        result?;
    }
    let msr = uc
        .reg_read(RegisterPPC::MSR)
        .map_err(|e| EmuError::unicorn(arch, "reading MSR", None, e))?;
    if msr & wanted != wanted {
        return Err(EmuError::MsrNotSet { arch, msr, wanted });
    }
    Ok(())
}

/// Unicorn's numbers of the POWER interrupts (QEMU's `POWERPC_EXCP_*`).
const EXCP_SYSCALL: u32 = 8;

/// The interrupt `intno`, for people.
fn interrupt_name(intno: u32) -> &'static str {
    match intno {
        2 | 69 => "data storage interrupt",
        3 | 70 => "instruction storage interrupt",
        5 => "alignment interrupt: a misaligned load-and-reserve, store-conditional or other access",
        6 => "program interrupt: an illegal or privileged instruction, or a trap instruction that trapped",
        7 => "floating-point unavailable interrupt",
        73 => "vector unavailable interrupt",
        94 => "VSX unavailable interrupt",
        95 | 98 => "facility unavailable interrupt",
        96 => "hypervisor emulation assistance interrupt: an instruction the emulated POWER10 does not implement",
        _ => "an interrupt the emulator raised and nothing handles",
    }
}

/// The return from a modelled system call, run on the scratch page: the
/// kernel's exit path clears the reservation with a `stdcx.` (here to the
/// scratch granule in r11), reports success (`cr0.SO` clear) and returns
/// to the instruction after `sc` (in r12). r11, r12 and CTR are volatile
/// across a system call (the ELF ABI's rules, which the system call ABI
/// keeps: Linux `Documentation/arch/powerpc/syscall64-abi.rst`).
fn syscall_return_code(big_endian: bool) -> Vec<u8> {
    const CODE: [u32; 4] = [
        0x7d60_59ad, // stdcx. r11, 0, r11
        0x4c63_1982, // crclr so (crxor 3, 3, 3)
        0x7d89_03a6, // mtctr r12
        0x4e80_0420, // bctr
    ];
    CODE.iter()
        .flat_map(|w| {
            if big_endian {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            }
        })
        .collect()
}

/// The interrupt hook. A system call (`sc`) is the kernel's: it is
/// recorded like a stubbed call, returns a generated value in r3 and goes
/// on after the `sc` through [`syscall_return_code`]. Anything else (a
/// fault: alignment, an illegal instruction, a trap) ends the run at the
/// instruction that raised it, with its name.
fn on_interrupt(uc: &mut Unicorn<'_, State>, intno: u32) {
    // Unicorn has already advanced the PC past the instruction.
    let next = uc.reg_read(RegisterPPC::PC).unwrap_or(0);
    let at = next.wrapping_sub(4);
    let state = uc.get_data();
    if let Ok(i) = state.modelled.binary_search_by_key(&at, |m| m.0) {
        let word = state.modelled[i].1;
        if let Some((rt, value)) = timer_spr_read(word) {
            let _ = uc.reg_write(RegisterPPC::R0 as i32 + i32::from(rt), value);
        }
        // A write to a timer SPR is dropped.
        let _ = uc.reg_write(RegisterPPC::PC, next);
        return;
    }
    if intno != EXCP_SYSCALL {
        uc.get_data_mut().interrupt = Some((intno, at));
        let _ = uc.emu_stop();
        return;
    }
    let abi = &ABI;
    let mut args = [0u64; 4];
    for (i, a) in args.iter_mut().enumerate() {
        *a = uc.reg_read(abi.args[i]).unwrap_or(0);
    }
    let state = uc.get_data_mut();
    let returned = generated_return(state);
    state.calls.push(CallRecord {
        at,
        target: None,
        args,
        returned,
    });
    let _ = uc.reg_write(RegisterPPC::R3, returned);
    let _ = uc.reg_write(RegisterPPC::R11, SCRATCH_DATA);
    let _ = uc.reg_write(RegisterPPC::R12, next);
    let _ = uc.reg_write(RegisterPPC::PC, SYSCALL_RETURN);
}

/// The branch to a register (`bclr`, `bcctr`, `bctar`, any form) that
/// ends the block that ran before the run reached address 0, if its
/// register holds 0 (`bcctr`, `bclr` without link; `bclrl` has replaced
/// LR and `bctar`'s TAR is not checked). In real mode the CPU address 0 is
/// also the low alias of a kernel linked at 0xc000000000000000 (its
/// `_stext`), so without this a null pointer ran the kernel's first
/// instruction and the trial faulted there, blamed on it. A run that
/// starts at 0 (a function at the image's first byte) is not one.
fn branch_to_null(uc: &Unicorn<'_, State>) -> Option<u64> {
    let state = uc.get_data();
    if state.blocks == 0 || state.region.0 == 0 {
        return None;
    }
    let (prev, len) = state.last_block;
    let at = prev.checked_add(u64::from(len))?.checked_sub(4)?;
    let mut b = [0u8; 4];
    uc.mem_read(at, &mut b).ok()?;
    let word = if state.big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    };
    if word >> 26 != 19 {
        return None;
    }
    let link = word & 1 == 1;
    let target = match (word >> 1) & 0x3ff {
        16 if link => None,
        16 => Some(RegisterPPC::LR),
        528 => Some(RegisterPPC::CTR),
        560 => None,
        _ => return None,
    };
    match target {
        Some(reg) if uc.reg_read(reg).ok()? != 0 => None,
        _ => Some(at),
    }
}

/// The block hook at CPU address 0 (real mode): a branch through a null
/// pointer stops the run before the code there executes.
pub(crate) fn on_block_at_zero(uc: &mut Unicorn<'_, State>, _addr: u64, _size: u32) {
    if let Some(at) = branch_to_null(uc) {
        uc.get_data_mut().null_branch = Some(at);
        let _ = uc.emu_stop();
    }
}

/// The self-test: a 64-bit store and load above 4 GiB, the byte order,
/// the LL/SC pair unprobed and with an exception return in between.
fn self_test(arch: Arch, emu: &mut Emulator, code_at: u64, high: u64) -> Vec<Check> {
    let code = words(
        arch.big_endian(),
        &[
            0x3820_0001, // li r1, 1
            0x7821_07c6, // sldi r1, r1, 32
            0x6421_2345, // oris r1, r1, 0x2345
            0x3c40_0102, // lis r2, 0x102
            0x6042_0304, // ori r2, r2, 0x304
            0x9041_0000, // stw r2, 0(r1)
            0x8061_0000, // lwz r3, 0(r1)
            0x7c80_0828, // lwarx r4, 0, r1
            0x3884_0001, // addi r4, r4, 1
            0x7c80_092d, // stwcx. r4, 0, r1
            0x7ca0_0026, // mfcr r5
            0x6000_0000, // nop
        ],
    );
    let _ = emu.uc.mem_write(code_at, &code);
    let end = code_at + 0x2c;
    let r = emu.uc.emu_start(code_at, end, 0, 0);
    let r3 = emu.uc.reg_read(RegisterPPC::R3).unwrap_or(0);
    let eq = (emu.uc.reg_read(RegisterPPC::R5).unwrap_or(0) >> 29) & 1;
    let _ = emu.uc.emu_start(code_at, code_at + 0x20, 0, 0);
    emu.clear_reservation();
    let r2 = emu.uc.emu_start(code_at + 0x20, end, 0, 0);
    let eq_trapped = (emu.uc.reg_read(RegisterPPC::R5).unwrap_or(0) >> 29) & 1;
    let mut checks = Vec::from(memory_checks(arch, emu, high, r3, &r));
    checks.extend([
        check(
            arch,
            "unprobed LL/SC pair succeeds",
            eq == 1,
            format!("stwcx. CR0[EQ]={eq}"),
        ),
        check(
            arch,
            "exception return clears the reservation",
            r2.is_ok() && eq_trapped == 0,
            format!("stwcx. CR0[EQ]={eq_trapped} after the exit-path stdcx."),
        ),
    ]);
    checks
}

/// The kernel-address self-test: the address built whole, in real mode.
fn kernel_self_test(arch: Arch, emu: &mut Emulator, base: u64, data: u64) -> Vec<Check> {
    let code = words(
        arch.big_endian(),
        &[
            0x3c20_c000, // lis r1, 0xc000
            0x7821_07c6, // sldi r1, r1, 32
            0x6421_0001, // oris r1, r1, 1
            0x6021_1000, // ori r1, r1, 0x1000 (= base + 0x1000)
            0x3c40_0102, // lis r2, 0x102
            0x6042_0304, // ori r2, r2, 0x304
            0x9041_0000, // stw r2, 0(r1)
            0x8061_0000, // lwz r3, 0(r1)
            0x7c80_0828, // lwarx r4, 0, r1
            0x3884_0001, // addi r4, r4, 1
            0x7c80_092d, // stwcx. r4, 0, r1
            0x7ca0_0026, // mfcr r5
            0x6000_0000, // nop
        ],
    );
    let _ = emu.uc.mem_write(emu.to_cpu(base), &code);
    let end = base + 0x30;
    let r = emu.uc.emu_start(base, end, 0, 0);
    let reg = |emu: &Emulator, r| emu.uc.reg_read(r).unwrap_or(0);
    let (r1, r3) = (reg(emu, RegisterPPC::R1), reg(emu, RegisterPPC::R3));
    let eq = (reg(emu, RegisterPPC::R5) >> 29) & 1;
    let pc = reg(emu, RegisterPPC::PC);
    let mut word = [0u8; 4];
    word.copy_from_slice(&read_back(emu, emu.to_cpu(data))[..4]);
    let stored = if arch.big_endian() {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    };
    let _ = emu.uc.emu_start(base, base + 0x28, 0, 0);
    emu.clear_reservation();
    let r2 = emu.uc.emu_start(base + 0x28, end, 0, 0);
    let trapped = (reg(emu, RegisterPPC::R5) >> 29) & 1;
    vec![
        check(
            arch,
            "kernel address: code, store, load",
            r.is_ok() && emu.to_cpu(pc) == emu.to_cpu(end) && r1 == data && r3 == 0x0102_0304,
            format!(
                "ran to {pc:#x} (real mode: {:#x}), stored at {r1:#x}, loaded {r3:#x} ({r:?})",
                emu.to_cpu(pc)
            ),
        ),
        check(
            arch,
            "kernel address: unprobed LL/SC pair succeeds",
            eq == 1 && stored == 0x0102_0305,
            format!("stwcx. CR0[EQ]={eq}, memory {stored:#x}"),
        ),
        check(
            arch,
            "kernel address: exception return clears the reservation",
            r2.is_ok() && trapped == 0,
            format!("stwcx. CR0[EQ]={trapped} after the exit-path stdcx."),
        ),
    ]
}
