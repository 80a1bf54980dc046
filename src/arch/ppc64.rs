//! 64-bit POWER (both byte orders): larx/stcx. reservations, HTM
//! transactions, and the branch mnemonics, which the disassembler groups only
//! as "jump" (a `bl` is a call and a `blr` a return only by its name).

use super::{
    lookup, Arch, ArchSpec, Class, Comparand, InsnView, LoadLinkedOperands, RawEncoding, RawInsn,
};

pub(super) struct Ppc64 {
    arch: Arch,
}

pub(super) const PPC64_BE: Ppc64 = Ppc64 { arch: Arch::Ppc64 };
pub(super) const PPC64_LE: Ppc64 = Ppc64 {
    arch: Arch::Ppc64le,
};

/// Instructions classified by mnemonic alone.
const TABLE: &[(&str, Class)] = &[
    ("lbarx", Class::LoadLinked),
    ("lharx", Class::LoadLinked),
    ("lwarx", Class::LoadLinked),
    ("ldarx", Class::LoadLinked),
    ("lqarx", Class::LoadLinked),
    ("stbcx.", Class::StoreConditional),
    ("sthcx.", Class::StoreConditional),
    ("stwcx.", Class::StoreConditional),
    ("stdcx.", Class::StoreConditional),
    ("stqcx.", Class::StoreConditional),
    ("tbegin.", Class::TxBegin),
    ("tend.", Class::TxEnd),
    ("tendall.", Class::TxEnd),
    ("tabort.", Class::TxAbort),
    ("tabortwc.", Class::TxAbort),
    ("tabortwci.", Class::TxAbort),
    ("tabortdc.", Class::TxAbort),
    ("tabortdci.", Class::TxAbort),
    ("tsuspend.", Class::TxSuspend),
    ("tresume.", Class::TxResume),
    ("tcheck", Class::TxTest),
    ("sc", Class::Trap { stops: false }),
    ("scv", Class::Trap { stops: false }),
    ("trap", Class::Trap { stops: true }),
    ("rfid", Class::Return { conditional: false }),
    ("hrfid", Class::Return { conditional: false }),
    ("rfi", Class::Return { conditional: false }),
    ("rfscv", Class::Return { conditional: false }),
];

/// The condition part of simplified branch mnemonics (`beq`, `bdnz`, `bc`),
/// longest first so that `bdnzt` is not read as `bdnz` + `t`.
const CONDITIONS: &[&str] = &[
    "dnzt", "dnzf", "dzt", "dzf", "dnz", "dz", "lt", "le", "eq", "ge", "gt", "nl", "ne", "ng",
    "so", "ns", "un", "nu", "c", "t", "f",
];

/// What follows the condition: the branch kind.
fn branch_kind(suffix: &str, conditional: bool) -> Option<Class> {
    Some(match suffix {
        "" | "a" => Class::Jump {
            indirect: false,
            conditional,
        },
        "l" | "la" => Class::Call {
            indirect: false,
            conditional,
        },
        "lr" => Class::Return { conditional },
        "ctr" => Class::Jump {
            indirect: true,
            conditional,
        },
        "lrl" | "ctrl" | "tarl" => Class::Call {
            indirect: true,
            conditional,
        },
        "tar" => Class::Jump {
            indirect: true,
            conditional,
        },
        _ => return None,
    })
}

/// Classify a branch mnemonic such as `b`, `bl`, `bne-`, `beqlr+`, `bdnz`,
/// `bcctrl`.
fn classify_branch(mnemonic: &str) -> Option<Class> {
    let m = mnemonic.trim_end_matches(['+', '-']);
    let rest = m.strip_prefix('b')?;
    if let Some(class) = branch_kind(rest, false) {
        return Some(class);
    }
    CONDITIONS.iter().find_map(|cond| {
        let suffix = rest.strip_prefix(cond)?;
        // `bc` + `ctr` is `bcctr`; `bc` + `lr` is `bclr`.
        branch_kind(suffix, true)
    })
}

/// Instructions the disassembler does not decode but that matter here:
/// `lqarx`/`stqcx.` (X-form, opcode 31), `sc`/`scv` (opcode 17) and the
/// opcode-19 interrupt returns and power-saving instructions.
const RAW: &[RawEncoding] = &[
    RawEncoding {
        mask: 0xfc00_0000,
        value: 0x4400_0000,
        mnemonic: "scv",
        class: Class::Trap { stops: false },
    },
    xl(18, "rfid", Class::Return { conditional: false }),
    xl(274, "hrfid", Class::Return { conditional: false }),
    xl(306, "urfid", Class::Return { conditional: false }),
    xl(82, "rfscv", Class::Return { conditional: false }),
    xl(50, "rfi", Class::Return { conditional: false }),
    xl(370, "stop", Class::Other),
    xl(402, "doze", Class::Other),
    xl(434, "nap", Class::Other),
    xl(466, "sleep", Class::Other),
    xl(498, "rvwinkle", Class::Other),
    RawEncoding {
        mask: 0xfc00_07fe,
        value: 0x7c00_0228,
        mnemonic: "lqarx",
        class: Class::LoadLinked,
    },
    RawEncoding {
        mask: 0xfc00_07ff,
        value: 0x7c00_016d,
        mnemonic: "stqcx.",
        class: Class::StoreConditional,
    },
];

/// POWER10 (Power ISA 3.1) instructions of one word that the bundled
/// Capstone (5.0) does not decode. None of them branches, traps or takes a
/// reservation: they are ordinary instructions, and knowing them makes
/// their points judged like any other (`undecodable-instruction` is for
/// data). The masks follow the instruction forms of ISA 3.1 (X, VX, VA,
/// VC, XX2, XX3, DQ); the table is consulted only after Capstone failed.
const POWER10: &[RawEncoding] = &[
    // DQ-form paired vector loads and stores (opcode 6).
    p10(0xfc00_000f, 0x1800_0000, "lxvp"),
    p10(0xfc00_000f, 0x1800_0001, "stxvp"),
    // X-form, opcode 31.
    x31(333, "lxvpx"),
    x31(461, "stxvpx"),
    x31(13, "lxvrbx"),
    x31(45, "lxvrhx"),
    x31(77, "lxvrwx"),
    x31(109, "lxvrdx"),
    x31(141, "stxvrbx"),
    x31(173, "stxvrhx"),
    x31(205, "stxvrwx"),
    x31(237, "stxvrdx"),
    x31(219, "brh"),
    x31(155, "brw"),
    x31(187, "brd"),
    x31(384, "setbc"),
    x31(416, "setbcr"),
    x31(448, "setnbc"),
    x31(480, "setnbcr"),
    x31(220, "cfuged"),
    x31(59, "cntlzdm"),
    x31(571, "cnttzdm"),
    x31(156, "pdepd"),
    x31(188, "pextd"),
    x31(722, "hashst"),
    x31(754, "hashchk"),
    x31(658, "hashstp"),
    x31(690, "hashchkp"),
    // MMA accumulator moves: opcode 31, XO 177, the RA field selects.
    p10(0xfc1f_07fe, 0x7c00_0162, "xxmfacc"),
    p10(0xfc1f_07fe, 0x7c01_0162, "xxmtacc"),
    p10(0xfc1f_07fe, 0x7c03_0162, "xxsetaccz"),
    // VX-form, opcode 4, XO 1602: the VRA field selects.
    vxa(8, 1602, "vextractbm"),
    vxa(9, 1602, "vextracthm"),
    vxa(10, 1602, "vextractwm"),
    vxa(11, 1602, "vextractdm"),
    vxa(12, 1602, "vextractqm"),
    vxa(0, 1602, "vexpandbm"),
    vxa(1, 1602, "vexpandhm"),
    vxa(2, 1602, "vexpandwm"),
    vxa(3, 1602, "vexpanddm"),
    vxa(4, 1602, "vexpandqm"),
    vxa(16, 1602, "mtvsrbm"),
    vxa(17, 1602, "mtvsrhm"),
    vxa(18, 1602, "mtvsrwm"),
    vxa(19, 1602, "mtvsrdm"),
    vxa(20, 1602, "mtvsrqm"),
    // vcntmb[bhwd]: VRA = 0b11ssM (M is an operand).
    p10(0xfc1e_07ff, 0x1018_0642, "vcntmbb"),
    p10(0xfc1e_07ff, 0x101a_0642, "vcntmbh"),
    p10(0xfc1e_07ff, 0x101c_0642, "vcntmbw"),
    p10(0xfc1e_07ff, 0x101e_0642, "vcntmbd"),
    vxa(27, 1538, "vextsd2q"),
    // vstri[bh][lr][.]: XO 13 and Rc (0x400), the VRA field selects.
    p10(0xfc1f_07ff, 0x1000_000d, "vstribl"),
    p10(0xfc1f_07ff, 0x1001_000d, "vstribr"),
    p10(0xfc1f_07ff, 0x1002_000d, "vstrihl"),
    p10(0xfc1f_07ff, 0x1003_000d, "vstrihr"),
    p10(0xfc1f_07ff, 0x1000_040d, "vstribl."),
    p10(0xfc1f_07ff, 0x1001_040d, "vstribr."),
    p10(0xfc1f_07ff, 0x1002_040d, "vstrihl."),
    p10(0xfc1f_07ff, 0x1003_040d, "vstrihr."),
    // DX-form mtvsrbmi: opcode 4, XO 10 in bits 26-30.
    p10(0xfc00_003e, 0x1000_0014, "mtvsrbmi"),
    // VX-form, opcode 4, 11-bit XO.
    vx(397, "vclrlb"),
    vx(461, "vclrrb"),
    vx(1357, "vcfuged"),
    vx(1485, "vpdepd"),
    vx(1421, "vpextd"),
    vx(1228, "vgnb"),
    vx(457, "vmulld"),
    vx(905, "vmulhsw"),
    vx(649, "vmulhuw"),
    vx(969, "vmulhsd"),
    vx(713, "vmulhud"),
    vx(395, "vdivsw"),
    vx(139, "vdivuw"),
    vx(459, "vdivsd"),
    vx(203, "vdivud"),
    vx(267, "vdivsq"),
    vx(11, "vdivuq"),
    vx(1931, "vmodsw"),
    vx(1675, "vmoduw"),
    vx(1995, "vmodsd"),
    vx(1739, "vmodud"),
    vx(1803, "vmodsq"),
    vx(1547, "vmoduq"),
    vx(907, "vdivesw"),
    vx(651, "vdiveuw"),
    vx(971, "vdivesd"),
    vx(715, "vdiveud"),
    vx(779, "vdivesq"),
    vx(523, "vdiveuq"),
    vx(207, "vinsw"),
    vx(463, "vinsd"),
    vx(527, "vinsblx"),
    vx(783, "vinsbrx"),
    vx(591, "vinshlx"),
    vx(847, "vinshrx"),
    vx(655, "vinswlx"),
    vx(911, "vinswrx"),
    vx(719, "vinsdlx"),
    vx(975, "vinsdrx"),
    vx(15, "vinsbvlx"),
    vx(271, "vinsbvrx"),
    vx(79, "vinshvlx"),
    vx(335, "vinshvrx"),
    vx(143, "vinswvlx"),
    vx(399, "vinswvrx"),
    vx(321, "vcmpsq"),
    vx(257, "vcmpuq"),
    vx(968, "vmulesd"),
    vx(712, "vmuleud"),
    vx(456, "vmulosd"),
    vx(200, "vmuloud"),
    vx(5, "vrlq"),
    vx(69, "vrlqmi"),
    vx(325, "vrlqnm"),
    vx(261, "vslq"),
    vx(517, "vsrq"),
    vx(773, "vsraq"),
    // VC-form (10-bit XO and Rc), opcode 4.
    p10(0xfc00_07ff, 0x1000_01c7, "vcmpequq"),
    p10(0xfc00_07ff, 0x1000_0387, "vcmpgtsq"),
    p10(0xfc00_07ff, 0x1000_0287, "vcmpgtuq"),
    p10(0xfc00_07ff, 0x1000_05c7, "vcmpequq."),
    p10(0xfc00_07ff, 0x1000_0787, "vcmpgtsq."),
    p10(0xfc00_07ff, 0x1000_0687, "vcmpgtuq."),
    // VA-form (6-bit XO), opcode 4.
    p10(0xfc00_003f, 0x1000_0017, "vmsumcud"),
    p10(0xfc00_003f, 0x1000_0018, "vextdubvlx"),
    p10(0xfc00_003f, 0x1000_0019, "vextdubvrx"),
    p10(0xfc00_003f, 0x1000_001a, "vextduhvlx"),
    p10(0xfc00_003f, 0x1000_001b, "vextduhvrx"),
    p10(0xfc00_003f, 0x1000_001c, "vextduwvlx"),
    p10(0xfc00_003f, 0x1000_001d, "vextduwvrx"),
    p10(0xfc00_003f, 0x1000_001e, "vextddvlx"),
    p10(0xfc00_003f, 0x1000_001f, "vextddvrx"),
    // VN-form vsldbi / vsrdbi: XO 22, bits 21-22 select.
    p10(0xfc00_063f, 0x1000_0016, "vsldbi"),
    p10(0xfc00_063f, 0x1000_0216, "vsrdbi"),
    // X-form, opcode 63: quad-precision compares and conversions.
    x63(68, "xscmpeqqp"),
    x63(196, "xscmpgeqp"),
    x63(228, "xscmpgtqp"),
    x63(676, "xsmaxcqp"),
    x63(740, "xsmincqp"),
    p10(0xfc1f_07fe, 0xfc0b_0688, "xscvsqqp"),
    p10(0xfc1f_07fe, 0xfc03_0688, "xscvuqqp"),
    p10(0xfc1f_07fe, 0xfc08_0688, "xscvqpsqz"),
    p10(0xfc1f_07fe, 0xfc00_0688, "xscvqpuqz"),
    p10(0xfc1f_07fe, 0xfc00_07c4, "dcffixqq"),
    p10(0xfc1f_07fe, 0xfc01_07c4, "dctfixqq"),
    // Opcode 60: bfloat16 conversions (XX2), mask generation (X), lxvkq.
    p10(0xfc1f_07fc, 0xf010_076c, "xvcvbf16spn"),
    p10(0xfc1f_07fc, 0xf011_076c, "xvcvspbf16"),
    p10(0xfc00_07fe, 0xf000_0728, "xxgenpcvbm"),
    p10(0xfc00_07fe, 0xf000_072a, "xxgenpcvhm"),
    p10(0xfc00_07fe, 0xf000_0768, "xxgenpcvwm"),
    p10(0xfc00_07fe, 0xf000_076a, "xxgenpcvdm"),
    p10(0xfc1f_07fe, 0xf01f_02d0, "lxvkq"),
];

/// The MMA rank-k updates (XX3-form, opcode 59, 8-bit extended opcode in
/// bits 21-28), and their masked prefixed forms (MMIRR prefix).
const MMA: &[(u32, &str, &str)] = &[
    (35, "xvi4ger8", "pmxvi4ger8"),
    (34, "xvi4ger8pp", "pmxvi4ger8pp"),
    (3, "xvi8ger4", "pmxvi8ger4"),
    (2, "xvi8ger4pp", "pmxvi8ger4pp"),
    (99, "xvi8ger4spp", "pmxvi8ger4spp"),
    (75, "xvi16ger2", "pmxvi16ger2"),
    (107, "xvi16ger2pp", "pmxvi16ger2pp"),
    (43, "xvi16ger2s", "pmxvi16ger2s"),
    (42, "xvi16ger2spp", "pmxvi16ger2spp"),
    (19, "xvf16ger2", "pmxvf16ger2"),
    (18, "xvf16ger2pp", "pmxvf16ger2pp"),
    (146, "xvf16ger2pn", "pmxvf16ger2pn"),
    (82, "xvf16ger2np", "pmxvf16ger2np"),
    (210, "xvf16ger2nn", "pmxvf16ger2nn"),
    (51, "xvbf16ger2", "pmxvbf16ger2"),
    (50, "xvbf16ger2pp", "pmxvbf16ger2pp"),
    (178, "xvbf16ger2pn", "pmxvbf16ger2pn"),
    (114, "xvbf16ger2np", "pmxvbf16ger2np"),
    (242, "xvbf16ger2nn", "pmxvbf16ger2nn"),
    (27, "xvf32ger", "pmxvf32ger"),
    (26, "xvf32gerpp", "pmxvf32gerpp"),
    (154, "xvf32gerpn", "pmxvf32gerpn"),
    (90, "xvf32gernp", "pmxvf32gernp"),
    (218, "xvf32gernn", "pmxvf32gernn"),
    (59, "xvf64ger", "pmxvf64ger"),
    (58, "xvf64gerpp", "pmxvf64gerpp"),
    (186, "xvf64gerpn", "pmxvf64gerpn"),
    (122, "xvf64gernp", "pmxvf64gernp"),
    (250, "xvf64gernn", "pmxvf64gernn"),
];

/// The MMA update that `word` (opcode 59) encodes: `(name, prefixed name)`.
fn mma(word: u32) -> Option<(&'static str, &'static str)> {
    let xo = (word >> 3) & 0xff;
    (word >> 26 == 59)
        .then(|| MMA.iter().find(|(x, _, _)| *x == xo))
        .flatten()
        .map(|(_, name, pm)| (*name, *pm))
}

const fn p10(mask: u32, value: u32, mnemonic: &'static str) -> RawEncoding {
    RawEncoding {
        mask,
        value,
        mnemonic,
        class: Class::Other,
    }
}

/// X-form of opcode 31 with extended opcode `xo` (bits 21-30).
const fn x31(xo: u32, mnemonic: &'static str) -> RawEncoding {
    p10(0xfc00_07fe, 0x7c00_0000 | (xo << 1), mnemonic)
}

/// X-form of opcode 63 with extended opcode `xo`.
const fn x63(xo: u32, mnemonic: &'static str) -> RawEncoding {
    p10(0xfc00_07fe, 0xfc00_0000 | (xo << 1), mnemonic)
}

/// VX-form (opcode 4) with the 11-bit extended opcode `xo`.
const fn vx(xo: u32, mnemonic: &'static str) -> RawEncoding {
    p10(0xfc00_07ff, 0x1000_0000 | xo, mnemonic)
}

/// VX-form whose VRA field `ra` is part of the opcode.
const fn vxa(ra: u32, xo: u32, mnemonic: &'static str) -> RawEncoding {
    p10(0xfc1f_07ff, 0x1000_0000 | (ra << 16) | xo, mnemonic)
}

/// The mnemonic of a POWER10 prefixed instruction (primary opcode 1): the
/// prefix's type (bits 6-7: 8LS, 8RR, MLS, MMIRR) and the suffix's primary
/// opcode select it. Every one is an ordinary instruction of 8 bytes.
fn prefixed_mnemonic(prefix: u32, suffix: u32) -> &'static str {
    let kind = (prefix >> 24) & 3;
    let op = suffix >> 26;
    match (kind, op) {
        (3, _) if prefix & 0xfff0_0000 == 0x0700_0000 => "pnop",
        // MLS: modified load/store and add immediate.
        (2, 14) => "paddi",
        (2, 32) => "plwz",
        (2, 34) => "plbz",
        (2, 36) => "pstw",
        (2, 38) => "pstb",
        (2, 40) => "plhz",
        (2, 42) => "plha",
        (2, 44) => "psth",
        (2, 48) => "plfs",
        (2, 50) => "plfd",
        (2, 52) => "pstfs",
        (2, 54) => "pstfd",
        // 8LS: 8-byte load/store.
        (0, 41) => "plwa",
        (0, 42) => "plxsd",
        (0, 43) => "plxssp",
        (0, 46) => "pstxsd",
        (0, 47) => "pstxssp",
        (0, 50 | 51) => "plxv",
        (0, 54 | 55) => "pstxv",
        (0, 56) => "plq",
        (0, 57) => "pld",
        (0, 58) => "plxvp",
        (0, 60) => "pstq",
        (0, 61) => "pstd",
        (0, 62) => "pstxvp",
        // 8RR: splat, blend, permute.
        (1, 32) => match (suffix >> 17) & 0xf {
            3 => "xxspltiw",
            2 => "xxspltidp",
            _ => "xxsplti32dx",
        },
        (1, 33) => {
            ["xxblendvb", "xxblendvh", "xxblendvw", "xxblendvd"][((suffix >> 4) & 3) as usize]
        }
        (1, 34) if (suffix >> 4) & 3 == 0 => "xxpermx",
        (1, 34) => "xxeval",
        // MMIRR: the masked MMA updates.
        (3, 59) => mma(suffix).map_or("prefixed", |(_, pm)| pm),
        _ => "prefixed",
    }
}

/// The length of the traceback table that starts at `table[0]`, as gcc
/// emits it after a function's last instruction on POWER (the AIX/64-bit
/// PowerPC ELF layout, `rs6000_output_function_epilogue`): a zero word;
/// eight bytes of version, language and flags; then the optional fields
/// the flags announce (parameter info, offset to the code, interrupt
/// mask, controlled-storage anchors, the name, the alloca register,
/// vector info), padded to a word. `None` when it is no table.
fn traceback_len(table: &[u8], big_endian: bool) -> Option<usize> {
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

/// Split an operand string into its operands, without a leading condition
/// register field (`cr7, r10, r9` -> `r10, r9`).
fn operands(op_str: &str) -> Vec<&str> {
    let mut ops: Vec<&str> = op_str.split(',').map(str::trim).collect();
    if ops.first().is_some_and(|o| o.starts_with("cr")) {
        ops.remove(0);
    }
    ops
}

/// An XL-form instruction of primary opcode 19 with extended opcode `xo`.
const fn xl(xo: u32, mnemonic: &'static str, class: Class) -> RawEncoding {
    RawEncoding {
        mask: 0xfc00_07fe,
        value: 0x4c00_0000 | (xo << 1),
        mnemonic,
        class,
    }
}

impl ArchSpec for Ppc64 {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn insn_align(&self) -> u64 {
        4
    }

    fn may_exit(&self, word: u32) -> bool {
        // Primary opcodes 16 (bc), 17 (sc), 18 (b) and 19 (bclr, bcctr,
        // bctar, rfid, rfscv...), except the calls among the immediate
        // branches (LK = 1: `bl`, `bcl`), which return; and the
        // unconditional traps `tw 31` and `td 31` (opcode 31, TO = 31),
        // which never fall through.
        let opcode = word >> 26;
        (matches!(opcode, 16..=19) && !(matches!(opcode, 16 | 18) && word & 1 == 1))
            || word & 0xffe0_07fe == 0x7fe0_0008
            || word & 0xffe0_07fe == 0x7fe0_0088
    }

    fn classify(&self, insn: &InsnView<'_>) -> Class {
        if let Some(class) = lookup(TABLE, insn.mnemonic) {
            return class;
        }
        // The disassembler prints tsuspend. and tresume. as tsr. 0 / tsr. 1.
        if insn.mnemonic == "tsr." {
            return if insn.op_str.trim() == "0" {
                Class::TxSuspend
            } else {
                Class::TxResume
            };
        }
        let m = insn.mnemonic;
        // tw, twi, td, tdi and their simplified forms (tweq, twlgti, tdnei...).
        if m.starts_with("tw") || m.starts_with("td") {
            // Conditional traps (tdi, twi, tdeq...): continue when not taken.
            return Class::Trap { stops: false };
        }
        if insn.mnemonic.starts_with('b') {
            if let Some(class) = classify_branch(insn.mnemonic) {
                return class;
            }
        }
        Class::Other
    }

    fn unsteppable(&self, insn: &InsnView<'_>) -> Option<&'static str> {
        // can_single_step() in arch/powerpc (used by kprobes and uprobes).
        if let Class::Trap { .. } = self.classify(insn) {
            return Some("trap and system-call instructions cannot be single-stepped");
        }
        match insn.mnemonic {
            "rfid" | "hrfid" | "urfid" | "rfi" | "rfci" | "rfmci" | "rfdi" | "rfscv" => {
                Some("interrupt return")
            }
            "mtmsr" | "mtmsrd" => Some("writes the machine state register"),
            "stop" | "doze" | "nap" | "sleep" | "rvwinkle" => Some("power-saving state change"),
            _ => None,
        }
    }

    fn raw_encodings(&self) -> &'static [RawEncoding] {
        RAW
    }

    fn raw_decode(&self, bytes: &[u8]) -> Option<RawInsn> {
        let word = |at: usize| -> Option<u32> {
            let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
            Some(if self.arch.big_endian() {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let first = word(0)?;
        if first >> 26 == 1 {
            // A prefixed instruction: the prefix and its suffix word.
            return Some(RawInsn {
                len: 8,
                mnemonic: prefixed_mnemonic(first, word(4)?),
                class: Class::Other,
            });
        }
        let known = RAW
            .iter()
            .chain(POWER10)
            .find(|r| first & r.mask == r.value);
        match known {
            Some(r) => Some(RawInsn {
                len: 4,
                mnemonic: r.mnemonic,
                class: r.class,
            }),
            None => mma(first).map(|(name, _)| RawInsn {
                len: 4,
                mnemonic: name,
                class: Class::Other,
            }),
        }
    }

    fn trailing_data(&self, code: &[u8]) -> Option<(usize, &'static str)> {
        // The first zero word from which a whole traceback table reaches
        // exactly the end of the range. (A zero word elsewhere is code:
        // glibc's `abort` executes `.long 0` as its illegal instruction.)
        (4..code.len())
            .step_by(4)
            .filter(|&k| code[k..].starts_with(&[0, 0, 0, 0]))
            .find(|&k| traceback_len(&code[k..], self.arch.big_endian()) == Some(code.len() - k))
            .map(|k| (k, "traceback table"))
    }

    fn jump_table_len(&self, bytes: &[u8], table: u64, function: std::ops::Range<u64>) -> usize {
        // gcc: `lwax r9,r10,r3; add r9,r9,r10; mtctr r9; bctr`, then the
        // table: one signed word per case, the case's offset from the
        // table, a word-aligned address inside the function and outside
        // the table. An instruction word is no such offset: its opcode
        // puts it 64 MiB or more away (opcode 0, whose words would be
        // small, is illegal).
        let mut len = 0;
        for word in bytes.chunks_exact(4) {
            let b = [word[0], word[1], word[2], word[3]];
            let offset = if self.arch.big_endian() {
                i32::from_be_bytes(b)
            } else {
                i32::from_le_bytes(b)
            };
            let target = table.wrapping_add_signed(i64::from(offset));
            let in_table = (table..table + len as u64 + 4).contains(&target);
            if target % 4 != 0 || !function.contains(&target) || in_table {
                break;
            }
            len += 4;
        }
        len
    }

    fn load_linked_operands(&self, insn: &InsnView<'_>) -> Option<LoadLinkedOperands> {
        // `lXarx rT, rA, rB[, EH]`: EA = (rA|0) + rB.
        let size = match insn.mnemonic {
            "lbarx" => 1,
            "lharx" => 2,
            "lwarx" => 4,
            "ldarx" => 8,
            _ => return None,
        };
        let ops = operands(insn.op_str);
        let (dest, ra, rb) = (ops.first()?, ops.get(1)?, ops.get(2)?);
        let mut address = Vec::new();
        if !matches!(*ra, "0" | "r0") {
            address.push((*ra).to_owned());
        }
        address.push((*rb).to_owned());
        Some(LoadLinkedOperands {
            dest: (*dest).to_owned(),
            address,
            size,
        })
    }

    fn comparison(&self, insn: &InsnView<'_>, dest: &str) -> Option<Comparand> {
        let ops = operands(insn.op_str);
        let other = |a: &str, b: &str| {
            if a == dest {
                Some(Comparand::Register(b.to_owned()))
            } else if b == dest {
                Some(Comparand::Register(a.to_owned()))
            } else {
                None
            }
        };
        match (insn.mnemonic, ops.as_slice()) {
            ("cmpw" | "cmpd" | "cmplw" | "cmpld", [a, b]) => other(a, b),
            // rD = rB - rA, CR0 from the result.
            ("subf." | "xor.", [_, a, b]) => other(a, b),
            ("cmpwi" | "cmpdi" | "cmplwi" | "cmpldi", [a, imm]) if *a == dest => {
                let imm = imm.trim();
                let value = match imm.strip_prefix("0x") {
                    Some(hex) => i64::from_str_radix(hex, 16).ok()?,
                    None => imm.parse().ok()?,
                };
                Some(Comparand::Immediate(value))
            }
            _ => None,
        }
    }

    fn dwarf_register(&self, n: u16) -> Option<String> {
        match n {
            0..=31 => Some(format!("r{n}")),
            32..=63 => Some(format!("f{}", n - 32)),
            65 => Some("lr".into()),
            66 => Some("ctr".into()),
            68..=75 => Some(format!("cr{}", n - 68)),
            76 => Some("xer".into()),
            77..=108 => Some(format!("v{}", n - 77)),
            _ => None,
        }
    }

    fn tx_success_taken(
        &self,
        _begin_op_str: &str,
        between: &[(&str, &str)],
        mnemonic: &str,
        op_str: &str,
    ) -> Option<bool> {
        let on_cr0 = !op_str.contains("cr") || op_str.trim_start().starts_with("cr0");
        if !on_cr0 {
            return None;
        }
        // tbegin. sets CR0[EQ] when the transaction failed to start; GCC's
        // __builtin_tbegin turns that into a value compared with 0 again.
        let eq_means_failed = if between.iter().any(|&(m, _)| may_write_cr0(m)) {
            status_idiom(between)?
        } else {
            true
        };
        match mnemonic.trim_end_matches(['+', '-']) {
            "bne" => Some(eq_means_failed),
            "beq" => Some(!eq_means_failed),
            _ => None,
        }
    }

    fn tx_end_ends_all(&self, mnemonic: &str, op_str: &str) -> bool {
        // tend. A=1 (tendall.) ends the outermost transaction and all
        // nested ones.
        mnemonic == "tendall." || (mnemonic == "tend." && op_str.trim() == "1")
    }
}

/// Whether an instruction may write CR field 0 (a record form, a compare,
/// a move to the CR, a CR logical operation): conservative.
fn may_write_cr0(mnemonic: &str) -> bool {
    mnemonic.ends_with('.')
        || ["cmp", "mtcr", "mtocrf", "mcrf", "mcrxr", "cr"]
            .iter()
            .any(|p| mnemonic.starts_with(p))
}

/// GCC's code for `__builtin_tbegin` between `tbegin.` and the branch:
/// `mfcr rA; rlwinm rA, rA, 3, 31, 31` (CR0[EQ]: failed), any number of
/// `xori rA, rA, 1` (each negates it), `cmpwi rA, 0` (CR0[EQ]: the value is
/// 0). Whether CR0[EQ] then means "failed"; `None` for any other sequence.
fn status_idiom(between: &[(&str, &str)]) -> Option<bool> {
    let ops = |s: &str| -> Vec<String> { s.split(',').map(|o| o.trim().to_owned()).collect() };
    let [(mfcr, mfcr_ops), (rlwinm, rlwinm_ops), rest @ ..] = between else {
        return None;
    };
    let reg = mfcr_ops.trim();
    let bit = ops(rlwinm_ops);
    let is_31 = |o: &String| o == "31" || o == "0x1f";
    if *mfcr != "mfcr"
        || *rlwinm != "rlwinm"
        || bit.len() != 5
        || bit[0] != reg
        || bit[1] != reg
        || bit[2] != "3"
        || !is_31(&bit[3])
        || !is_31(&bit[4])
    {
        return None;
    }
    let (&(cmp, cmp_ops), flips) = rest.split_last()?;
    let mut value_is_failed = true;
    for &(m, o) in flips {
        if m != "xori" || ops(o) != [reg, reg, "1"] {
            return None;
        }
        value_is_failed = !value_is_failed;
    }
    if !matches!(cmp, "cmpwi" | "cmpdi" | "cmplwi" | "cmpldi") || ops(cmp_ops) != [reg, "0"] {
        return None;
    }
    // EQ is set when the value is 0: when "failed" is false, or "started" is.
    Some(!value_is_failed)
}

#[cfg(test)]
mod tests {
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
}
