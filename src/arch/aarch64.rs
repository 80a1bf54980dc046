//! AArch64: exclusive monitors (LL/SC), TME transactions, and what arm64
//! kprobes refuse (arch/arm64/kernel/probes/decode-insn.c).

use object::elf;

use super::kprobes::{handler, trap, Root};
use super::{
    lookup, Arch, ArchSpec, CapstoneMode, Class, Comparand, InsnView, LoadLinkedOperands, RelocKind,
};

pub(super) struct Aarch64;

/// Instructions classified by mnemonic alone.
const TABLE: &[(&str, Class)] = &[
    ("ldxr", Class::LoadLinked),
    ("ldxrb", Class::LoadLinked),
    ("ldxrh", Class::LoadLinked),
    ("ldaxr", Class::LoadLinked),
    ("ldaxrb", Class::LoadLinked),
    ("ldaxrh", Class::LoadLinked),
    ("ldxp", Class::LoadLinked),
    ("ldaxp", Class::LoadLinked),
    ("stxr", Class::StoreConditional),
    ("stxrb", Class::StoreConditional),
    ("stxrh", Class::StoreConditional),
    ("stlxr", Class::StoreConditional),
    ("stlxrb", Class::StoreConditional),
    ("stlxrh", Class::StoreConditional),
    ("stxp", Class::StoreConditional),
    ("stlxp", Class::StoreConditional),
    ("clrex", Class::ClearExclusive),
    ("tstart", Class::TxBegin),
    ("tcommit", Class::TxEnd),
    ("tcancel", Class::TxAbort),
    ("ttest", Class::TxTest),
    ("ret", Class::Return { conditional: false }),
    ("retaa", Class::Return { conditional: false }),
    ("retab", Class::Return { conditional: false }),
    ("eret", Class::Return { conditional: false }),
    ("eretaa", Class::Return { conditional: false }),
    ("eretab", Class::Return { conditional: false }),
    (
        "bl",
        Class::Call {
            indirect: false,
            conditional: false,
        },
    ),
    (
        "blr",
        Class::Call {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "blraa",
        Class::Call {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "blraaz",
        Class::Call {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "blrab",
        Class::Call {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "blrabz",
        Class::Call {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "b",
        Class::Jump {
            indirect: false,
            conditional: false,
        },
    ),
    (
        "br",
        Class::Jump {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "braa",
        Class::Jump {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "braaz",
        Class::Jump {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "brab",
        Class::Jump {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "brabz",
        Class::Jump {
            indirect: true,
            conditional: false,
        },
    ),
    (
        "cbz",
        Class::Jump {
            indirect: false,
            conditional: true,
        },
    ),
    (
        "cbnz",
        Class::Jump {
            indirect: false,
            conditional: true,
        },
    ),
    (
        "tbz",
        Class::Jump {
            indirect: false,
            conditional: true,
        },
    ),
    (
        "tbnz",
        Class::Jump {
            indirect: false,
            conditional: true,
        },
    ),
    ("svc", Class::Trap { stops: false }),
    ("hvc", Class::Trap { stops: false }),
    ("smc", Class::Trap { stops: false }),
    ("brk", Class::Trap { stops: true }),
    ("hlt", Class::Trap { stops: true }),
    ("udf", Class::Trap { stops: true }),
    ("dcps1", Class::Trap { stops: false }),
    ("dcps2", Class::Trap { stops: false }),
    ("dcps3", Class::Trap { stops: false }),
];

/// The hints arm64 kprobes single-step (aarch64_insn_is_steppable_hint, an
/// allow-list): every other hint, AUTI* and `hint #n` included, is refused.
const STEPPABLE_HINTS: &[&str] = &[
    "nop",
    "xpaclri",
    "pacia1716",
    "pacib1716",
    "paciaz",
    "pacibz",
    "paciasp",
    "pacibsp",
    "bti",
];

/// Pointer-authenticated branches: kprobes simulates only plain B/BL/BR/BLR/RET.
const AUTH_BRANCHES: &[&str] = &[
    "retaa", "retab", "braa", "braaz", "brab", "brabz", "blraa", "blraaz", "blrab", "blrabz",
];

/// arm64: the debug-exception entry, the BRK and step hooks, and the
/// kprobe handlers registered on them.
const KPROBE_ROOTS: &[Root] = &[
    trap("el1_dbg", "arch/arm64/kernel/entry-common.c"),
    trap("do_debug_exception", "arch/arm64/mm/fault.c"),
    trap("brk_handler", "arch/arm64/kernel/debug-monitors.c"),
    trap("single_step_handler", "arch/arm64/kernel/debug-monitors.c"),
    trap("call_break_hook", "arch/arm64/kernel/debug-monitors.c"),
    trap("call_step_hook", "arch/arm64/kernel/debug-monitors.c"),
    trap(
        "kprobe_breakpoint_handler",
        "arch/arm64/kernel/probes/kprobes.c",
    ),
    trap(
        "kprobe_breakpoint_ss_handler",
        "arch/arm64/kernel/probes/kprobes.c",
    ),
    trap("kprobe_handler", "arch/arm64/kernel/probes/kprobes.c"),
    trap("post_kprobe_handler", "arch/arm64/kernel/probes/kprobes.c"),
    trap("setup_singlestep", "arch/arm64/kernel/probes/kprobes.c"),
    trap("reenter_kprobe", "arch/arm64/kernel/probes/kprobes.c"),
    trap("kprobe_fault_handler", "arch/arm64/kernel/probes/kprobes.c"),
    handler(
        "trampoline_probe_handler",
        "arch/arm64/kernel/probes/kprobes.c",
    ),
];

impl ArchSpec for Aarch64 {
    fn arch(&self) -> Arch {
        Arch::Aarch64
    }

    fn insn_align(&self) -> u64 {
        4
    }

    fn word_len(&self) -> Option<u8> {
        Some(4)
    }

    fn elf_machine(&self) -> u16 {
        elf::EM_AARCH64
    }

    fn relocation(&self, r_type: u32) -> Option<RelocKind> {
        Some(match r_type {
            elf::R_AARCH64_ABS64 => RelocKind::Abs64,
            elf::R_AARCH64_ABS32 => RelocKind::Abs32,
            elf::R_AARCH64_PREL32 => RelocKind::Rel32,
            elf::R_AARCH64_CALL26 | elf::R_AARCH64_JUMP26 => RelocKind::A64Branch26,
            elf::R_AARCH64_CONDBR19 => RelocKind::A64Branch19,
            elf::R_AARCH64_TSTBR14 => RelocKind::A64Branch14,
            elf::R_AARCH64_RELATIVE => RelocKind::Relative,
            elf::R_AARCH64_ADR_PREL_PG_HI21 | elf::R_AARCH64_ADR_PREL_PG_HI21_NC => {
                RelocKind::A64AdrPage21
            }
            elf::R_AARCH64_ADD_ABS_LO12_NC | elf::R_AARCH64_LDST8_ABS_LO12_NC => {
                RelocKind::A64Lo12 { shift: 0 }
            }
            elf::R_AARCH64_LDST16_ABS_LO12_NC => RelocKind::A64Lo12 { shift: 1 },
            elf::R_AARCH64_LDST32_ABS_LO12_NC => RelocKind::A64Lo12 { shift: 2 },
            elf::R_AARCH64_LDST64_ABS_LO12_NC => RelocKind::A64Lo12 { shift: 3 },
            elf::R_AARCH64_LDST128_ABS_LO12_NC => RelocKind::A64Lo12 { shift: 4 },
            _ => return None,
        })
    }

    fn capstone_mode(&self) -> CapstoneMode {
        (capstone::Arch::ARM64, capstone::Mode::Arm, None)
    }

    fn kernel_base(&self) -> u64 {
        0xffff_0000_0000_0000
    }

    fn kprobe_roots(&self) -> &'static [Root] {
        KPROBE_ROOTS
    }

    fn may_exit(&self, word: u32) -> bool {
        // Bits 28:26 = 0b101: the "branches, exception generating and
        // system instructions" group of the A64 encoding. Every other group
        // (data processing, loads and stores, SIMD and FP) falls through.
        // Within it, `bl` (0x94000000) returns, and the system instructions
        // (0xd5000000: hints such as paciasp and the ftrace nops, barriers,
        // msr/mrs) fall through.
        (word >> 26) & 0b111 == 0b101
            && word & 0xfc00_0000 != 0x9400_0000
            && word & 0xffc0_0000 != 0xd500_0000
    }

    fn classify(&self, insn: &InsnView<'_>) -> Class {
        if let Some(class) = lookup(TABLE, insn.mnemonic) {
            return class;
        }
        // Conditional branches: b.eq, b.ne, bc.eq ...
        if insn.mnemonic.starts_with("b.") || insn.mnemonic.starts_with("bc.") {
            return Class::Jump {
                indirect: false,
                conditional: true,
            };
        }
        Class::Other
    }

    fn load_linked_operands(&self, insn: &InsnView<'_>) -> Option<LoadLinkedOperands> {
        // `ldxr Wt, [Xn]`, `ldaxrb Wt, [Xn]`, `ldxp Xt1, Xt2, [Xn]`.
        let (dest, rest) = insn.op_str.split_once(',')?;
        let base = rest.rsplit_once('[')?.1.trim_end_matches(']').trim();
        let dest = dest.trim();
        let wide = dest.starts_with('x');
        let size = match insn.mnemonic {
            "ldxrb" | "ldaxrb" => 1,
            "ldxrh" | "ldaxrh" => 2,
            "ldxr" | "ldaxr" => {
                if wide {
                    8
                } else {
                    4
                }
            }
            "ldxp" | "ldaxp" => {
                if wide {
                    16
                } else {
                    8
                }
            }
            _ => return None,
        };
        Some(LoadLinkedOperands {
            dest: dest.to_owned(),
            address: vec![base.to_owned()],
            size,
        })
    }

    fn memory_base(&self, insn: &InsnView<'_>) -> Option<String> {
        // `ldr x0, [x19, #0x5c]`, `stlrb w0, [x1]`, `ldp x1, x2, [x3], #16`.
        let inside = insn.op_str.split_once('[')?.1;
        let base = inside.split([',', ']']).next()?.trim();
        (base.starts_with('x') && base[1..].parse::<u8>().is_ok()).then(|| base.to_owned())
    }

    fn comparison(&self, insn: &InsnView<'_>, dest: &str) -> Option<Comparand> {
        // Registers by number: `w1` and `x1` are the same register.
        let same = |a: &str, b: &str| a.get(1..).is_some() && a.get(1..) == b.get(1..);
        let ops: Vec<&str> = insn.op_str.split(',').map(str::trim).collect();
        match (insn.mnemonic, ops.as_slice()) {
            ("cmp", [a, b]) => {
                if let Some(imm) = b.strip_prefix('#') {
                    let value = match imm.strip_prefix("0x") {
                        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
                        None => imm.parse().ok()?,
                    };
                    same(a, dest).then_some(Comparand::Immediate(value))
                } else if same(a, dest) {
                    Some(Comparand::Register((*b).to_owned()))
                } else if same(b, dest) {
                    Some(Comparand::Register((*a).to_owned()))
                } else {
                    None
                }
            }
            // The kernel's compare-and-swap (`__ll_sc__cmpxchg_case_*`):
            // `eor w4, w0, w1` (or `sub`) then `cbnz w4, fail`: the
            // difference is zero only when the word equals the operand.
            ("eor" | "sub" | "subs", [_, a, b]) if same(a, dest) || same(b, dest) => {
                let other = if same(a, dest) { b } else { a };
                match other.strip_prefix('#') {
                    Some(imm) => {
                        let value = match imm.strip_prefix("0x") {
                            Some(hex) => i64::from_str_radix(hex, 16).ok()?,
                            None => imm.parse().ok()?,
                        };
                        Some(Comparand::Immediate(value))
                    }
                    None if other.starts_with(['w', 'x']) => {
                        Some(Comparand::Register((*other).to_owned()))
                    }
                    None => None,
                }
            }
            // `cbnz Wt` leaves the sequence unless the word is zero.
            ("cbnz", [a, _]) if same(a, dest) => Some(Comparand::Immediate(0)),
            _ => None,
        }
    }

    fn dwarf_register(&self, n: u16) -> Option<String> {
        match n {
            0..=30 => Some(format!("x{n}")),
            31 => Some("sp".into()),
            64..=95 => Some(format!("v{}", n - 64)),
            _ => None,
        }
    }

    fn tx_success_taken(
        &self,
        begin_op_str: &str,
        _between: &[(&str, &str)],
        mnemonic: &str,
        op_str: &str,
    ) -> Option<bool> {
        // tstart Xt writes 0 when the transaction started, the cause otherwise.
        let tested = op_str.split(',').next()?.trim();
        if tested != begin_op_str.trim() {
            return None;
        }
        match mnemonic {
            "cbz" => Some(true),
            "cbnz" => Some(false),
            _ => None,
        }
    }

    fn unsteppable(&self, insn: &InsnView<'_>) -> Option<&'static str> {
        let class = self.classify(insn);
        match class {
            Class::Trap { .. } => return Some("exception-generating instruction"),
            Class::LoadLinked | Class::StoreConditional => {
                return Some(
                    "exclusive load/store: the single step would break the exclusive sequence",
                )
            }
            _ => {}
        }
        match insn.mnemonic {
            "eret" | "eretaa" | "eretab" => Some("exception return"),
            "msr" => Some("msr can change processor state during the single step"),
            // The step runs with every DAIF bit set, so reading DAIF gives
            // a wrong value; other system registers read correctly.
            "mrs" if insn.op_str.to_ascii_lowercase().contains("daif") => {
                Some("mrs of DAIF reads the single-step environment's masks, not the probed code's")
            }
            "tcancel" => Some("tcancel is encoded in the exception-generating class"),
            m if AUTH_BRANCHES.contains(&m) => {
                Some("pointer-authenticated branch: kprobes cannot simulate it")
            }
            _ => {
                let word = word(insn.bytes)?;
                if word & 0xffff_f01f == 0xd503_201f {
                    // The HINT space (NOP, YIELD, WFE, PAC/AUT, BTI, hint #n).
                    let steppable = STEPPABLE_HINTS.contains(&insn.mnemonic);
                    return (!steppable)
                        .then_some("hint instruction not on the kernel's steppable list");
                }
                if word & 0xff00_0000 == 0xd800_0000 {
                    return Some(
                        "PRFM (literal) uses a PC-relative literal, which cannot run out of line",
                    );
                }
                if word & 0x3f00_0000 == 0x1c00_0000 {
                    return Some(
                        "SIMD/FP load (literal): the kernel does not refuse it, but out of line it reads the wrong address",
                    );
                }
                None
            }
        }
    }
}

/// The instruction word, if `bytes` holds one.
fn word(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?))
}
