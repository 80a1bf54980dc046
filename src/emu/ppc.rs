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

use unicorn_engine::{RegisterPPC, Unicorn};
use unicorn_engine_sys as sys;

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
pub(super) fn enter_64bit_real_mode<D>(
    uc: &mut Unicorn<'_, D>,
    little_endian: bool,
) -> Result<(), String> {
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
            return Err("cannot allocate a CPU context".into());
        }
        let result = (|| {
            if sys::uc_context_save(handle, before) != sys::uc_error::OK {
                return Err("cannot save the CPU context".to_owned());
            }
            let msr = uc
                .reg_read(RegisterPPC::MSR)
                .map_err(|e| format!("reading MSR: {e:?}"))?;
            uc.reg_write(RegisterPPC::MSR, msr ^ MSR_PR)
                .map_err(|e| format!("writing MSR: {e:?}"))?;
            if sys::uc_context_save(handle, after) != sys::uc_error::OK {
                return Err("cannot save the CPU context".to_owned());
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
                return Err(format!(
                    "found {} MSR copies in the saved context, expected the msr and hflags fields",
                    fields.len()
                ));
            }
            for off in fields {
                let x = u64::from_ne_bytes(a[off..off + 8].try_into().unwrap());
                a[off..off + 8].copy_from_slice(&(x | wanted).to_ne_bytes());
            }
            if sys::uc_context_restore(handle, before) != sys::uc_error::OK {
                return Err("cannot restore the CPU context".to_owned());
            }
            Ok(())
        })();
        sys::uc_context_free(before);
        sys::uc_context_free(after);
        result?;
    }
    let msr = uc
        .reg_read(RegisterPPC::MSR)
        .map_err(|e| format!("reading MSR: {e:?}"))?;
    if msr & wanted != wanted {
        return Err(format!(
            "MSR is {msr:#x} after the workaround, wanted bits {wanted:#x}"
        ));
    }
    Ok(())
}

/// Unicorn's numbers of the POWER interrupts (QEMU's `POWERPC_EXCP_*`).
const EXCP_SYSCALL: u32 = 8;

/// The interrupt `intno`, for people.
pub(super) fn interrupt_name(intno: u32) -> &'static str {
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
pub(super) fn syscall_return_code(big_endian: bool) -> Vec<u8> {
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
pub(super) fn on_interrupt(uc: &mut Unicorn<'_, super::State>, intno: u32) {
    // Unicorn has already advanced the PC past the instruction.
    let next = uc.reg_read(RegisterPPC::PC).unwrap_or(0);
    let at = next.wrapping_sub(4);
    if intno != EXCP_SYSCALL {
        uc.get_data_mut().interrupt = Some((intno, at));
        let _ = uc.emu_stop();
        return;
    }
    let abi = super::abi::abi(crate::arch::Arch::Ppc64);
    let mut args = [0u64; 4];
    for (i, a) in args.iter_mut().enumerate() {
        *a = uc.reg_read(abi.args[i]).unwrap_or(0);
    }
    let state = uc.get_data_mut();
    let returned = super::generated_return(state);
    state.calls.push(super::CallRecord {
        at,
        target: None,
        args,
        returned,
    });
    let _ = uc.reg_write(RegisterPPC::R3, returned);
    let _ = uc.reg_write(RegisterPPC::R11, super::SCRATCH_DATA);
    let _ = uc.reg_write(RegisterPPC::R12, next);
    let _ = uc.reg_write(RegisterPPC::PC, super::SYSCALL_RETURN);
}
