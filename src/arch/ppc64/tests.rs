//! The POWER tables on hand-made words.

use super::*;

#[test]
fn gcc_tbegin_status_idiom() {
    let gcc = [
        ("mfcr", "r9"),
        ("rlwinm", "r9, r9, 3, 0x1f, 0x1f"),
        ("xori", "r9, r9, 1"),
        ("cmpwi", "r9, 0"),
    ];
    // beq after it: the value `started` is 0, the transaction failed.
    assert_eq!(
        PPC64_BE.tx_success_taken("0", &gcc, "beq", "0x2010"),
        Some(false)
    );
    assert_eq!(
        PPC64_BE.tx_success_taken("0", &gcc, "bne", "0x2010"),
        Some(true)
    );
    let no_xori = [gcc[0], gcc[1], gcc[3]];
    assert_eq!(
        PPC64_LE.tx_success_taken("0", &no_xori, "beq", "0x2010"),
        Some(true)
    );
    assert_eq!(
        PPC64_BE.tx_success_taken("0", &[], "beq-", "0x2010"),
        Some(false)
    );
    let harmless = [("nop", ""), ("li", "r4, 1")];
    assert_eq!(
        PPC64_BE.tx_success_taken("0", &harmless, "bne", "0x2010"),
        Some(true)
    );
    // Another register, or something else between: not the status.
    let other = [gcc[0], gcc[1], gcc[2], ("cmpwi", "r10, 0")];
    assert_eq!(
        PPC64_BE.tx_success_taken("0", &other, "beq", "0x2010"),
        None
    );
    assert_eq!(
        PPC64_BE.tx_success_taken("0", &[("cmpdi", "r3, 0")], "beq", "0x2010"),
        None
    );
}

#[test]
fn branch_grammar() {
    let call = |indirect, conditional| Class::Call {
        indirect,
        conditional,
    };
    let jump = |indirect, conditional| Class::Jump {
        indirect,
        conditional,
    };
    assert_eq!(classify_branch("b"), Some(jump(false, false)));
    assert_eq!(classify_branch("bl"), Some(call(false, false)));
    assert_eq!(
        classify_branch("blr"),
        Some(Class::Return { conditional: false })
    );
    assert_eq!(
        classify_branch("beqlr+"),
        Some(Class::Return { conditional: true })
    );
    assert_eq!(classify_branch("bne-"), Some(jump(false, true)));
    // `bnl` is branch-if-not-less, not a call.
    assert_eq!(classify_branch("bnl"), Some(jump(false, true)));
    assert_eq!(classify_branch("bnll"), Some(call(false, true)));
    assert_eq!(classify_branch("ble"), Some(jump(false, true)));
    assert_eq!(classify_branch("bctr"), Some(jump(true, false)));
    assert_eq!(classify_branch("bctrl"), Some(call(true, false)));
    assert_eq!(classify_branch("bcctrl"), Some(call(true, true)));
    assert_eq!(classify_branch("bdnz"), Some(jump(false, true)));
    assert_eq!(classify_branch("bdnzt"), Some(jump(false, true)));
    assert_eq!(classify_branch("bcl"), Some(call(false, true)));
    assert_eq!(classify_branch("brinc"), None);
}

fn words(ws: &[u32], big: bool) -> Vec<u8> {
    ws.iter()
        .flat_map(|w| {
            if big {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            }
        })
        .collect()
}

#[test]
fn traceback_tables() {
    // gcc's partial table: zero word, 8 bytes of flags (`.byte`, the
    // same in both byte orders).
    let partial = [0, 0, 0, 0, 0, 0, 0, 1, 128, 0, 0, 0];
    assert_eq!(traceback_len(&partial, false), Some(12));
    // One fixed parameter: a parameter word follows.
    let mut params = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    params.extend_from_slice(&[0, 0, 0, 0x80]);
    assert_eq!(traceback_len(&params, false), Some(16));
    // The full table of glibc's assembly (TB_ASM, has_tboff,
    // name_present): tb_offset, name length, "abort", padding.
    let mut full = vec![0, 0, 0, 0, 0, 12, 0x20, 0x40, 0, 0, 0, 0];
    full.extend_from_slice(&0x100u32.to_be_bytes());
    full.extend_from_slice(&5u16.to_be_bytes());
    full.extend_from_slice(b"abort\0");
    assert_eq!(traceback_len(&full, true), Some(24));
    // Not a table: a version other than 0, or running past the end.
    assert_eq!(
        traceback_len(&[0, 0, 0, 0, 0xfc, 0xff, 0xff, 0x4b, 0, 0, 0, 0], false),
        None
    );
    assert_eq!(traceback_len(&params[..12], false), None);

    for big in [false, true] {
        let spec = if big { &PPC64_BE } else { &PPC64_LE };
        // bl; nop; the table: the code ends after the nop.
        let mut code = words(&[0x4800_0011, 0x6000_0000], big);
        code.extend_from_slice(&partial);
        assert_eq!(spec.trailing_data(&code), Some((8, "traceback table")));
        // glibc's abort: `.long 0` is code, then `b .-4`, then the table.
        let mut code = words(&[0x6000_0000, 0, 0x4bff_fffc], big);
        code.extend_from_slice(&partial);
        assert_eq!(spec.trailing_data(&code).map(|d| d.0), Some(12));
        // A zero word followed by code to the end is no table.
        let code = words(&[0x6000_0000, 0, 0x3860_0000, 0x4e80_0020], big);
        assert_eq!(spec.trailing_data(&code), None);
    }
}

#[test]
fn jump_tables() {
    // The table at 0x57c of a function at 0x540..0x5a4: case offsets
    // -0x30, 0x10, 0x18, 0x20, then `li r3,11` (code).
    let table = [0xffff_ffd0, 0x10, 0x18, 0x20, 0x3860_000b, 0x4e80_0020];
    for big in [false, true] {
        let spec = if big { &PPC64_BE } else { &PPC64_LE };
        let bytes = words(&table, big);
        assert_eq!(spec.jump_table_len(&bytes, 0x57c, 0x540..0x5a4), 16);
        // A target outside the function ends the table.
        assert_eq!(spec.jump_table_len(&bytes, 0x57c, 0x560..0x5a4), 0);
        // Code after a `bctr` that is no table.
        let code = words(&[0x3860_000b, 0x4e80_0020], big);
        assert_eq!(spec.jump_table_len(&code, 0x57c, 0x540..0x5a4), 0);
    }
}

#[test]
fn prefixed_instructions() {
    assert_eq!(prefixed_mnemonic(0x0410_0000, 0xe460_0138), "pld");
    assert_eq!(prefixed_mnemonic(0x0610_0000, 0x3860_0130), "paddi");
    assert_eq!(prefixed_mnemonic(0x0700_0000, 0), "pnop");
    assert_eq!(prefixed_mnemonic(0x0500_0000, 0x8026_0005), "xxspltiw");
    assert_eq!(prefixed_mnemonic(0x0790_0034, 0xec04_28d8), "pmxvf32ger");
    for big in [false, true] {
        let spec = if big { &PPC64_BE } else { &PPC64_LE };
        let pld = words(&[0x0400_0000, 0xe483_0008], big);
        let insn = spec.raw_decode(&pld).unwrap();
        assert_eq!(
            (insn.len, insn.mnemonic, insn.class),
            (8, "pld", Class::Other)
        );
        // A prefix without its suffix (the range ends) is not decoded.
        assert_eq!(spec.raw_decode(&pld[..4]), None);
    }
}

#[test]
fn compare_and_swap_operands() {
    let view = |mnemonic, op_str| InsnView {
        mnemonic,
        op_str,
        bytes: &[],
    };
    let ll = PPC64_LE
        .load_linked_operands(&view("lwarx", "r8, 0, r3, 1"))
        .unwrap();
    assert_eq!(
        (ll.dest.as_str(), ll.address.clone(), ll.size),
        ("r8", vec!["r3".to_owned()], 4)
    );
    let ll = PPC64_LE
        .load_linked_operands(&view("ldarx", "r6, r4, r5"))
        .unwrap();
    assert_eq!(ll.address, vec!["r4".to_owned(), "r5".to_owned()]);
    let reg = |r: &str| Some(Comparand::Register(r.to_owned()));
    assert_eq!(
        PPC64_LE.comparison(&view("subf.", "r8, r9, r8"), "r8"),
        reg("r9")
    );
    assert_eq!(
        PPC64_LE.comparison(&view("cmpw", "cr7, r10, r9"), "r10"),
        reg("r9")
    );
    assert_eq!(
        PPC64_LE.comparison(&view("cmpd", "r9, r6"), "r6"),
        reg("r9")
    );
    assert_eq!(
        PPC64_LE.comparison(&view("cmpwi", "r10, 0"), "r10"),
        Some(Comparand::Immediate(0))
    );
    assert_eq!(PPC64_LE.comparison(&view("addi", "r9, r9, 1"), "r9"), None);
    assert_eq!(PPC64_LE.comparison(&view("cmpw", "r4, r5"), "r9"), None);
}
