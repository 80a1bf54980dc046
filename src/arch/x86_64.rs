//! x86-64: RTM transactions, and the instructions x86 kprobes refuse.

use object::elf;

use super::kprobes::{handler, trap, Root};
use super::{lookup, Arch, ArchSpec, CapstoneMode, Class, InsnView, RelocKind};

pub(super) struct X86_64;

/// Instructions classified by mnemonic alone.
const TABLE: &[(&str, Class)] = &[
    ("xbegin", Class::TxBegin),
    ("xend", Class::TxEnd),
    ("xabort", Class::TxAbort),
    ("xtest", Class::TxTest),
    ("ret", Class::Return { conditional: false }),
    ("retf", Class::Return { conditional: false }),
    ("iret", Class::Return { conditional: false }),
    ("iretd", Class::Return { conditional: false }),
    ("iretq", Class::Return { conditional: false }),
    ("sysret", Class::Return { conditional: false }),
    ("sysretq", Class::Return { conditional: false }),
    ("sysexit", Class::Return { conditional: false }),
    ("int3", Class::Trap { stops: false }),
    ("int", Class::Trap { stops: false }),
    ("into", Class::Trap { stops: false }),
    ("int1", Class::Trap { stops: false }),
    ("syscall", Class::Trap { stops: false }),
    ("sysenter", Class::Trap { stops: false }),
    ("ud0", Class::Trap { stops: true }),
    ("ud1", Class::Trap { stops: true }),
    ("ud2", Class::Trap { stops: true }),
    ("hlt", Class::Trap { stops: false }),
];

/// What x86 kprobes refuse to single-step (arch/x86/kernel/kprobes/core.c):
/// breakpoints and software interrupts, undefined opcodes, and the
/// instructions that load SS (they inhibit the single-step trap).
const UNSTEPPABLE: &[(&str, &str)] = &[
    ("int3", "int3 is the breakpoint itself"),
    ("int", "software interrupt (int n)"),
    ("into", "software interrupt (into)"),
    ("int1", "int1 raises the debug exception"),
    ("ud0", "undefined opcode (ud0)"),
    ("ud1", "undefined opcode (ud1)"),
    ("ud2", "undefined opcode (ud2)"),
];

fn is_immediate(op_str: &str) -> bool {
    let op = op_str.trim();
    op.starts_with("0x") || op.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// x86_64: int3 and debug exception entries, and the kprobe core they call.
const KPROBE_ROOTS: &[Root] = &[
    trap("exc_int3", "arch/x86/kernel/traps.c"),
    trap("do_int3", "arch/x86/kernel/traps.c"),
    trap("do_int3_user", "arch/x86/kernel/traps.c"),
    trap("poke_int3_handler", "arch/x86/kernel/alternative.c"),
    trap("exc_debug", "arch/x86/kernel/traps.c"),
    trap("exc_debug_kernel", "arch/x86/kernel/traps.c"),
    trap("kprobe_int3_handler", "arch/x86/kernel/kprobes/core.c"),
    trap("kprobe_post_process", "arch/x86/kernel/kprobes/core.c"),
    trap("setup_singlestep", "arch/x86/kernel/kprobes/core.c"),
    trap("reenter_kprobe", "arch/x86/kernel/kprobes/core.c"),
    trap(
        "kprobe_emulate_ifmodifiers",
        "arch/x86/kernel/kprobes/core.c",
    ),
    trap("kprobe_fault_handler", "arch/x86/kernel/kprobes/core.c"),
    trap("kprobe_ftrace_handler", "arch/x86/kernel/kprobes/ftrace.c"),
    handler("trampoline_handler", "arch/x86/kernel/kprobes/core.c"),
];

impl ArchSpec for X86_64 {
    fn arch(&self) -> Arch {
        Arch::X86_64
    }

    fn insn_align(&self) -> u64 {
        1
    }

    fn word_len(&self) -> Option<u8> {
        None
    }

    fn elf_machine(&self) -> u16 {
        elf::EM_X86_64
    }

    fn relocation(&self, r_type: u32) -> Option<RelocKind> {
        Some(match r_type {
            elf::R_X86_64_64 => RelocKind::Abs64,
            elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => RelocKind::Rel32,
            elf::R_X86_64_32 | elf::R_X86_64_32S => RelocKind::Abs32,
            elf::R_X86_64_RELATIVE => RelocKind::Relative,
            _ => return None,
        })
    }

    fn capstone_mode(&self) -> CapstoneMode {
        (capstone::Arch::X86, capstone::Mode::Mode64, None)
    }

    fn kernel_base(&self) -> u64 {
        0xffff_8000_0000_0000
    }

    fn kprobe_roots(&self) -> &'static [Root] {
        KPROBE_ROOTS
    }

    fn dwarf_register(&self, n: u16) -> Option<String> {
        const NAMES: [&str; 17] = [
            "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip",
        ];
        match n {
            0..=16 => Some(NAMES[n as usize].to_owned()),
            17..=32 => Some(format!("xmm{}", n - 17)),
            _ => None,
        }
    }

    fn tx_begin_branches(&self) -> bool {
        true
    }

    fn tx_success_taken(
        &self,
        _begin_op_str: &str,
        between: &[(&str, &str)],
        mnemonic: &str,
        _op_str: &str,
    ) -> Option<bool> {
        // `_xbegin()`: EAX is preloaded with ~0, which a started transaction
        // leaves and an abort overwrites; with the fallback at the next
        // instruction (GCC's code) the test follows: `cmp eax, -1; jne`.
        let &(m, ops) = between.last()?;
        let ops: String = ops.split_whitespace().collect();
        if m != "cmp" || !(ops == "eax,-1" || ops == "eax,0xffffffff") {
            return None;
        }
        match mnemonic {
            "je" => Some(true),
            "jne" => Some(false),
            _ => None,
        }
    }

    fn memory_base(&self, insn: &InsnView<'_>) -> Option<String> {
        // Intel syntax: `mov eax, dword ptr [rbx + 0x5c]`; not the stack,
        // not RIP-relative, not a segment-relative per-CPU access.
        let (before, inside) = insn.op_str.split_once('[')?;
        if before.ends_with(':') {
            return None;
        }
        let base = inside.split([' ', '+', '-', '*', ']']).next()?.trim();
        let general = [
            "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12",
            "r13", "r14", "r15",
        ];
        general.contains(&base).then(|| base.to_owned())
    }

    fn classify(&self, insn: &InsnView<'_>) -> Class {
        if let Some(class) = lookup(TABLE, insn.mnemonic) {
            return class;
        }
        // By mnemonic, so that classification needs no operand details:
        // call, jmp, and the conditional jumps (jcc, jrcxz, loop*).
        let indirect = !is_immediate(insn.op_str);
        let m = insn
            .mnemonic
            .trim_start_matches("notrack ")
            .trim_start_matches("bnd ");
        match m {
            "call" | "lcall" => Class::Call {
                indirect,
                conditional: false,
            },
            "jmp" | "ljmp" => Class::Jump {
                indirect,
                conditional: false,
            },
            _ if m.starts_with('j') || m.starts_with("loop") => Class::Jump {
                indirect,
                conditional: true,
            },
            _ => Class::Other,
        }
    }

    fn unsteppable(&self, insn: &InsnView<'_>) -> Option<&'static str> {
        if let Some((_, why)) = UNSTEPPABLE.iter().find(|(m, _)| *m == insn.mnemonic) {
            return Some(why);
        }
        let op = insn.op_str.trim();
        match insn.mnemonic {
            "mov" if op.starts_with("ss,") => Some("mov to ss inhibits the single-step trap"),
            "pop" if op == "ss" => Some("pop ss inhibits the single-step trap"),
            _ => None,
        }
    }
}
