//! The per-architecture tables, checked against each other.

use super::*;

/// The ELF header selects each table, and nothing else.
#[test]
fn elf_header_selects_the_table() {
    for arch in Arch::ALL {
        let machine = spec(arch).elf_machine();
        assert_eq!(Arch::from_elf(machine, arch.big_endian()), Some(arch));
    }
    assert_eq!(Arch::from_elf(object::elf::EM_X86_64, true), None);
    assert_eq!(Arch::from_elf(object::elf::EM_AARCH64, true), None);
    assert_eq!(Arch::from_elf(object::elf::EM_RISCV, false), None);
}

/// Every table knows its 64- and 32-bit absolute data relocations (the
/// only kind DWARF sections carry) and its RELATIVE one.
#[test]
fn absolute_relocations() {
    use object::elf;
    let cases = [
        (
            Arch::X86_64,
            elf::R_X86_64_64,
            elf::R_X86_64_32,
            elf::R_X86_64_RELATIVE,
        ),
        (
            Arch::Aarch64,
            elf::R_AARCH64_ABS64,
            elf::R_AARCH64_ABS32,
            elf::R_AARCH64_RELATIVE,
        ),
        (
            Arch::Ppc64,
            elf::R_PPC64_ADDR64,
            elf::R_PPC64_ADDR32,
            elf::R_PPC64_RELATIVE,
        ),
        (
            Arch::Ppc64le,
            elf::R_PPC64_ADDR64,
            elf::R_PPC64_ADDR32,
            elf::R_PPC64_RELATIVE,
        ),
    ];
    for (arch, abs64, abs32, relative) in cases {
        let s = spec(arch);
        assert_eq!(s.relocation(abs64), Some(RelocKind::Abs64), "{arch}");
        assert_eq!(s.relocation(abs32), Some(RelocKind::Abs32), "{arch}");
        assert_eq!(s.relocation(relative), Some(RelocKind::Relative), "{arch}");
        assert_eq!(s.relocation(0), None, "{arch}: R_*_NONE");
    }
}

/// The POWER ABI: from `e_flags` when marked, else from the byte order;
/// none off POWER.
#[test]
fn ppc_abi_from_flags() {
    assert_eq!(spec(Arch::Ppc64).ppc_abi(0), Some(PpcAbi::ElfV1));
    assert_eq!(spec(Arch::Ppc64le).ppc_abi(0), Some(PpcAbi::ElfV2));
    assert_eq!(spec(Arch::Ppc64).ppc_abi(2), Some(PpcAbi::ElfV2));
    assert_eq!(spec(Arch::Ppc64le).ppc_abi(1), Some(PpcAbi::ElfV1));
    assert_eq!(spec(Arch::X86_64).ppc_abi(2), None);
}

/// Fixed-width tables align instructions to their word; x86 has neither.
#[test]
fn words_and_alignment() {
    for arch in Arch::ALL {
        let s = spec(arch);
        match s.word_len() {
            Some(w) => assert_eq!(u64::from(w), s.insn_align(), "{arch}"),
            None => assert_eq!(s.insn_align(), 1, "{arch}"),
        }
    }
    assert_eq!(spec(Arch::X86_64).word_len(), None);
    assert_eq!(spec(Arch::Ppc64le).word_len(), Some(4));
}

/// The base register of a memory operand, as a trial started at a
/// load-linked points it into the heap: not the stack, the TOC, the
/// thread pointer, RIP or a segment-relative per-CPU access.
#[test]
fn memory_bases() {
    let base = |arch: Arch, mnemonic: &str, op_str: &str| {
        spec(arch).memory_base(&InsnView {
            mnemonic,
            op_str,
            bytes: &[],
        })
    };
    let a64 = Arch::Aarch64;
    assert_eq!(base(a64, "ldr", "x0, [x19, #0x5c]").as_deref(), Some("x19"));
    assert_eq!(base(a64, "stlrb", "w0, [x1]").as_deref(), Some("x1"));
    assert_eq!(base(a64, "ldp", "x1, x2, [x3], #16").as_deref(), Some("x3"));
    assert_eq!(base(a64, "ldr", "x0, [sp, #8]"), None);
    assert_eq!(base(a64, "add", "x0, x1, #8"), None);
    for ppc in [Arch::Ppc64, Arch::Ppc64le] {
        assert_eq!(base(ppc, "ld", "r9, 0x10(r29)").as_deref(), Some("r29"));
        assert_eq!(base(ppc, "std", "r0, 16(r1)"), None);
        assert_eq!(base(ppc, "ld", "r9, -0x7ff0(r2)"), None);
        assert_eq!(base(ppc, "ld", "r9, 8(r13)"), None);
        assert_eq!(base(ppc, "ldarx", "r9, 0, r3"), None);
    }
    let x86 = Arch::X86_64;
    assert_eq!(
        base(x86, "mov", "eax, dword ptr [rbx + 0x5c]").as_deref(),
        Some("rbx")
    );
    assert_eq!(
        base(x86, "mov", "qword ptr [r12], rax").as_deref(),
        Some("r12")
    );
    assert_eq!(base(x86, "mov", "rax, qword ptr [rsp + 8]"), None);
    assert_eq!(base(x86, "mov", "rax, qword ptr [rip + 0x100]"), None);
    assert_eq!(base(x86, "add", "qword ptr gs:[0x10], rdi"), None);
}

/// What a compare-and-swap compares the loaded value with, on arm64: the
/// kernel's `eor`/`sub` + `cbnz` as well as `cmp`.
#[test]
fn arm64_comparisons() {
    let cmp = |mnemonic: &str, op_str: &str, dest: &str| {
        spec(Arch::Aarch64).comparison(
            &InsnView {
                mnemonic,
                op_str,
                bytes: &[],
            },
            dest,
        )
    };
    let reg = |r: &str| Some(crate::arch::Comparand::Register(r.to_owned()));
    assert_eq!(cmp("cmp", "x3, x1", "x3"), reg("x1"));
    assert_eq!(cmp("eor", "w4, w0, w1", "w0"), reg("w1"));
    assert_eq!(cmp("eor", "x1, x1, x27", "x1"), reg("x27"));
    assert_eq!(cmp("sub", "w4, w2, w0", "w0"), reg("w2"));
    assert_eq!(
        cmp("eor", "w4, w0, #0x3", "w0"),
        Some(crate::arch::Comparand::Immediate(3))
    );
    assert_eq!(cmp("eor", "w4, w5, w1", "w0"), None);
    assert_eq!(cmp("add", "w4, w0, w1", "w0"), None);
}
