//! The traceback table gcc emits after a POWER function's last instruction.

/// The length of the traceback table that starts at `table[0]`, as gcc
/// emits it after a function's last instruction on POWER (the AIX/64-bit
/// PowerPC ELF layout, `rs6000_output_function_epilogue`): a zero word;
/// eight bytes of version, language and flags; then the optional fields
/// the flags announce (parameter info, offset to the code, interrupt
/// mask, controlled-storage anchors, the name, the alloca register,
/// vector info), padded to a word. `None` when it is no table.
pub(super) fn traceback_len(table: &[u8], big_endian: bool) -> Option<usize> {
    if table.get(..4)? != [0, 0, 0, 0] {
        return None;
    }
    let fixed = table.get(4..12)?;
    let (version, lang, flags1, flags2, flags4) =
        (fixed[0], fixed[1], fixed[2], fixed[3], fixed[5]);
    let (fixed_parms, float_parms) = (fixed[6], fixed[7] >> 1);
    // Format 0 is the only one; languages are numbered 0 (C) to 14 (ObjC).
    if version != 0 || lang > 0x0f {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = table.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let mut len = 12usize;
    if fixed_parms != 0 || float_parms != 0 {
        len += 4; // parminfo
    }
    if flags1 & 0x20 != 0 {
        len += 4; // tb_offset
    }
    if flags2 & 0x80 != 0 {
        len += 4; // hand_mask
    }
    if flags1 & 0x08 != 0 {
        let anchors = u32_at(len)?;
        if anchors > 64 {
            return None;
        }
        len += 4 + 4 * anchors as usize; // ctl_info, ctl_info_disp[]
    }
    if flags2 & 0x40 != 0 {
        let b: [u8; 2] = table.get(len..len + 2)?.try_into().ok()?;
        let name = if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        };
        len += 2 + usize::from(name);
    }
    if flags2 & 0x20 != 0 {
        len += 1; // alloca_reg
    }
    if flags4 & 0x80 != 0 {
        len += 6; // vr_saved / vec flags, vec parminfo
    }
    let len = len.next_multiple_of(4);
    (len <= table.len()).then_some(len)
}
