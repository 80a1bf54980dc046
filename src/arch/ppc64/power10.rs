//! POWER10 (Power ISA 3.1): the one-word instructions the bundled Capstone
//! does not decode, the MMA updates, and the prefixed (8-byte) instructions.

use super::super::{Class, RawEncoding};

/// POWER10 (Power ISA 3.1) instructions of one word that the bundled
/// Capstone (5.0) does not decode. None of them branches, traps or takes a
/// reservation: they are ordinary instructions, and knowing them makes
/// their points judged like any other (`undecodable-instruction` is for
/// data). The masks follow the instruction forms of ISA 3.1 (X, VX, VA,
/// VC, XX2, XX3, DQ); the table is consulted only after Capstone failed.
pub(super) const POWER10: &[RawEncoding] = &[
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
pub(super) fn mma(word: u32) -> Option<(&'static str, &'static str)> {
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
pub(super) fn prefixed_mnemonic(prefix: u32, suffix: u32) -> &'static str {
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
