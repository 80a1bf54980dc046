//! The ppc64 start-up workaround (see the shared hazard-semantics notes):
//! Unicorn 2.1's only correct 64-bit POWER model starts with MSR[HV]
//! clear, so the first fetch takes a hypervisor storage fault, and the
//! register API cannot set HV. The saved CPU context holds the MSR twice
//! (the `msr` field and the derived `hflags`); we find both by diffing two
//! saved contexts around an MSR write, set HV and SF (and LE for ppc64le)
//! in both, and restore. This is the only place that touches a raw context.

use unicorn_engine::{RegisterPPC, Unicorn};
use unicorn_engine_sys as sys;

/// MSR bits.
const MSR_SF: u64 = 1 << 63;
const MSR_HV: u64 = 1 << 60;
const MSR_PR: u64 = 1 << 14;
const MSR_LE: u64 = 1;

/// Put the CPU in 64-bit hypervisor real mode, big- or little-endian.
pub(super) fn enter_64bit_real_mode<D>(
    uc: &mut Unicorn<'_, D>,
    little_endian: bool,
) -> Result<(), String> {
    let handle = uc.get_handle() as *mut sys::uc_engine;
    let wanted = MSR_SF | MSR_HV | if little_endian { MSR_LE } else { 0 };
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
