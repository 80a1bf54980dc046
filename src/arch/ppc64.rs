//! 64-bit POWER (both byte orders): larx/stcx. reservations, HTM
//! transactions, and the branch mnemonics, which the disassembler groups only
//! as "jump" (a `bl` is a call and a `blr` a return only by its name).

use super::{lookup, Arch, ArchSpec, Class, InsnView, RawEncoding};

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
}
