//! 64-bit POWER (both byte orders): larx/stcx. reservations, HTM
//! transactions, and the branch mnemonics, which the disassembler groups only
//! as "jump" (a `bl` is a call and a `blr` a return only by its name).

mod power10;
#[cfg(test)]
mod tests;
mod traceback;

use power10::{mma, prefixed_mnemonic, POWER10};
use traceback::traceback_len;

use object::elf;

use super::kprobes::{handler, trap, Root};
use super::{
    lookup, Arch, ArchSpec, CapstoneMode, Class, Comparand, InsnView, LoadLinkedOperands, PpcAbi,
    RawEncoding, RawInsn, RelocKind,
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

/// `R_PPC64_REL24_NOTOC` (ELFv2 power10 calls), not named by `object`.
const R_PPC64_REL24_NOTOC: u32 = 116;

/// powerpc: the program-check and single-step exceptions and the kprobe
/// handlers they call (the probed instruction is often emulated).
const KPROBE_ROOTS: &[Root] = &[
    trap("program_check_exception", "arch/powerpc/kernel/traps.c"),
    trap("single_step_exception", "arch/powerpc/kernel/traps.c"),
    trap("kprobe_handler", "arch/powerpc/kernel/kprobes.c"),
    trap("kprobe_post_handler", "arch/powerpc/kernel/kprobes.c"),
    trap("try_to_emulate", "arch/powerpc/kernel/kprobes.c"),
    trap("kprobe_fault_handler", "arch/powerpc/kernel/kprobes.c"),
    trap(
        "kprobe_ftrace_handler",
        "arch/powerpc/kernel/kprobes-ftrace.c",
    ),
    handler("trampoline_probe_handler", "arch/powerpc/kernel/kprobes.c"),
];

impl ArchSpec for Ppc64 {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn insn_align(&self) -> u64 {
        4
    }

    fn word_len(&self) -> Option<u8> {
        Some(4)
    }

    fn elf_machine(&self) -> u16 {
        elf::EM_PPC64
    }

    fn relocation(&self, r_type: u32) -> Option<RelocKind> {
        Some(match r_type {
            elf::R_PPC64_ADDR64 => RelocKind::Abs64,
            elf::R_PPC64_ADDR32 => RelocKind::Abs32,
            elf::R_PPC64_REL32 => RelocKind::Rel32,
            elf::R_PPC64_REL24 | R_PPC64_REL24_NOTOC => RelocKind::PpcBranch24,
            elf::R_PPC64_REL14 | elf::R_PPC64_REL14_BRTAKEN | elf::R_PPC64_REL14_BRNTAKEN => {
                RelocKind::PpcBranch14
            }
            elf::R_PPC64_RELATIVE => RelocKind::Relative,
            elf::R_PPC64_TOC => RelocKind::PpcTocBase,
            _ => return ppc16(r_type),
        })
    }

    fn ppc_abi(&self, e_flags: u32) -> Option<PpcAbi> {
        Some(match e_flags & elf::EF_PPC64_ABI {
            1 => PpcAbi::ElfV1,
            2 => PpcAbi::ElfV2,
            // Unmarked: big-endian files are ELFv1, little-endian ELFv2.
            _ if self.arch.big_endian() => PpcAbi::ElfV1,
            _ => PpcAbi::ElfV2,
        })
    }

    fn capstone_mode(&self) -> CapstoneMode {
        let endian = if self.arch.big_endian() {
            capstone::Endian::Big
        } else {
            capstone::Endian::Little
        };
        (capstone::Arch::PPC, capstone::Mode::Mode64, Some(endian))
    }

    fn kernel_base(&self) -> u64 {
        0xc000_0000_0000_0000
    }

    fn kprobe_roots(&self) -> &'static [Root] {
        KPROBE_ROOTS
    }

    fn zero_word_ends_code(&self) -> bool {
        true
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

    fn memory_base(&self, insn: &InsnView<'_>) -> Option<String> {
        // D-form `lwz r3, 0x5c(r19)`; r1 is the stack, r2 the TOC, r13 the
        // thread pointer (the paca in the kernel).
        let inside = insn.op_str.split_once('(')?.1;
        let base = inside.split(')').next()?.trim();
        let n: u8 = base.strip_prefix('r')?.parse().ok()?;
        (!matches!(n, 0..=2 | 13)).then(|| base.to_owned())
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

/// The 16-bit relocations of a module's code: `ADDR16_*` (an address
/// built whole), `REL16_*` (an ELFv2 global entry's TOC set-up against
/// `.TOC.`), `TOC16_*` (data through the TOC, `-mcmodel=medium`).
fn ppc16(r_type: u32) -> Option<RelocKind> {
    use crate::arch::{Ppc16Base as B, Ppc16Half as H};
    let (base, half) = match r_type {
        elf::R_PPC64_ADDR16_LO => (B::Absolute, H::Lo),
        elf::R_PPC64_ADDR16_LO_DS => (B::Absolute, H::LoDs),
        elf::R_PPC64_ADDR16_HI | elf::R_PPC64_ADDR16_HIGH => (B::Absolute, H::Hi),
        elf::R_PPC64_ADDR16_HA | elf::R_PPC64_ADDR16_HIGHA => (B::Absolute, H::Ha),
        elf::R_PPC64_REL16_LO => (B::Place, H::Lo),
        elf::R_PPC64_REL16_HI => (B::Place, H::Hi),
        elf::R_PPC64_REL16_HA => (B::Place, H::Ha),
        elf::R_PPC64_TOC16 | elf::R_PPC64_TOC16_LO => (B::Toc, H::Lo),
        elf::R_PPC64_TOC16_DS | elf::R_PPC64_TOC16_LO_DS => (B::Toc, H::LoDs),
        elf::R_PPC64_TOC16_HI => (B::Toc, H::Hi),
        elf::R_PPC64_TOC16_HA => (B::Toc, H::Ha),
        _ => return None,
    };
    Some(RelocKind::Ppc16 { base, half })
}
