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
