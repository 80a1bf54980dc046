//! The POWER time base and decrementers, which Unicorn 2.1.5 cannot
//! execute: replaced in the emulator's copy of the
//! code, modelled by the interrupt hook (see [`timer_sprs`]).

/// The time base as `mftb` and `mfspr TBL/PURR/SPURR/VTB` read it: a
/// fixed value (100 s at 512 MHz, POWER9's time base frequency), so that
/// every run of the same input sees the same value.
const TIME_BASE: u64 = 100 * 512_000_000;

/// The decrementers (`DEC`, `HDEC`) as read: a positive count, the next
/// timer interrupt far away (none is modelled).
const DECREMENTER: u64 = 0x0100_0000;

/// The special-purpose registers of the time base and the decrementers:
/// Unicorn 2.1.5 never sets up the POWER time base (`env->tb_env` stays
/// NULL: `cpu_ppc_tb_init` is never called), and its helpers for these
/// registers (`cpu_ppc_load_vtb`, `cpu_ppc_store_purr`, ...) read through
/// that pointer; modelled all alike, they also keep runs deterministic. Kernel code reaching `mtspr PURR`
/// killed the whole process with SIGSEGV (Debian's 6.1.0-50 ppc64el
/// vmlinux), and `mfvtb` in its KVM code did too. DEC 22, TBL/TBU 268/269
/// (read), 284/285 (write), TBU40 286, SPURR 308, PURR 309, HDEC 310,
/// ATBL/ATBU 526/527, VTB 849 (QEMU's `SPR_*` numbers, decimal here).
const TIMER_SPRS: [u32; 12] = [22, 268, 269, 284, 285, 286, 308, 309, 310, 526, 527, 849];

/// `(extended opcode, SPR)` of an `mfspr`, `mftb` or `mtspr`.
fn spr_access(word: u32) -> Option<(u32, u32)> {
    if word >> 26 != 31 {
        return None;
    }
    let xo = (word >> 1) & 0x3ff;
    if !matches!(xo, 339 | 371 | 467) {
        return None;
    }
    // The SPR number's two 5-bit halves are swapped in the encoding.
    let field = (word >> 11) & 0x3ff;
    Some((xo, ((field & 0x1f) << 5) | (field >> 5)))
}

/// The target register and the value of a timer SPR read, or `None` for
/// a write.
pub(super) fn timer_spr_read(word: u32) -> Option<(u8, u64)> {
    let (xo, spr) = spr_access(word)?;
    if xo == 467 {
        return None;
    }
    let rt = ((word >> 21) & 0x1f) as u8;
    let value = match spr {
        22 | 310 => DECREMENTER,
        269 | 527 => TIME_BASE >> 32,
        _ => TIME_BASE,
    };
    Some((rt, value))
}

/// Replaces every timer SPR access in `code` (at `address`) by the illegal
/// word 0, which raises the interrupt [`super::on_interrupt`] models it at;
/// returns the replaced words.
pub(super) fn timer_sprs(big_endian: bool, code: &mut [u8], address: u64) -> Vec<(u64, u32)> {
    let mut found = Vec::new();
    for (i, chunk) in code.chunks_exact_mut(4).enumerate() {
        let bytes: [u8; 4] = chunk.try_into().expect("4 bytes");
        let word = if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        };
        if spr_access(word).is_some_and(|(_, spr)| TIMER_SPRS.contains(&spr)) {
            found.push((address + 4 * i as u64, word));
            chunk.fill(0);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_sprs_are_replaced_and_read_as_fixed_values() {
        // mfspr r5, DEC; mtspr PURR, r4; mftb r6; add r4, r4, r6;
        // mfspr r7, LR (not a timer: kept).
        let words = [
            0x7cb6_02a6,
            0x7c95_4ba6,
            0x7ccc_42a6,
            0x7c84_3214,
            0x7ce8_02a6,
        ];
        for big_endian in [false, true] {
            let mut code = super::super::super::words(big_endian, &words);
            let found = timer_sprs(big_endian, &mut code, 0x1000);
            assert_eq!(
                found,
                vec![(0x1000, words[0]), (0x1004, words[1]), (0x1008, words[2])]
            );
            assert_eq!(&code[..12], &[0; 12]);
            assert_eq!(
                code[12..],
                super::super::super::words(big_endian, &words[3..])
            );
        }
        assert_eq!(timer_spr_read(words[0]), Some((5, DECREMENTER)));
        assert_eq!(timer_spr_read(words[1]), None);
        assert_eq!(timer_spr_read(words[2]), Some((6, TIME_BASE)));
        // mftb r3, TBU (the extended mftb form).
        assert_eq!(timer_spr_read(0x7c6d_42e6), Some((3, TIME_BASE >> 32)));
        // mfvtb r9, as Debian's ppc64el kernel has it (SPR 849).
        let mut code = 0x7d31_d2a6u32.to_le_bytes().to_vec();
        assert_eq!(timer_sprs(false, &mut code, 0), vec![(0, 0x7d31_d2a6)]);
        assert_eq!(timer_spr_read(0x7d31_d2a6), Some((9, TIME_BASE)));
    }
}
