//! Applying the relocations that the analysis needs.
//!
//! A relocatable object (a kernel module) has branch targets, `.opd`
//! descriptors and `_kprobe_blacklist` entries only as relocations; a shared
//! object may leave pointers to RELATIVE dynamic relocations. Both are
//! resolved into the section contents so that decoding and table reads see
//! final addresses.

use object::elf;
use object::read::elf::ElfFile64;
use object::{Endianness, Object, ObjectSection, RelocationFlags, RelocationTarget};

use super::{Binary, FileKind};
use crate::arch::{Arch, Ppc16Base, Ppc16Half, RelocKind};
use crate::error::Result;

/// How to write one relocation: the architecture's table says
/// ([`crate::arch::ArchSpec::relocation`]).
fn kind(arch: Arch, r_type: u32) -> Option<RelocKind> {
    crate::arch::spec(arch).relocation(r_type)
}

/// Apply static relocations (ET_REL) or RELATIVE/absolute dynamic ones (ET_DYN).
pub(super) fn apply(
    binary: &mut Binary,
    file: &ElfFile64<'_, Endianness>,
    by_index: &[Option<usize>],
) -> Result<()> {
    let mut edits: Vec<(u64, RelocKind, u64)> = Vec::new(); // (place, how, S + A)
                                                            // Symbol-table index -> address, for .symtab and .dynsym.
    let mut static_syms: Vec<Option<u64>> = Vec::new();
    let mut dynamic_syms: Vec<Option<u64>> = Vec::new();
    for sym in &binary.symbols {
        let table = if sym.dynamic {
            &mut dynamic_syms
        } else {
            &mut static_syms
        };
        if table.len() <= sym.index {
            table.resize(sym.index + 1, None);
        }
        if !(sym.dynamic && sym.undefined) {
            table[sym.index] = Some(sym.address);
        }
    }
    if binary.kind == FileKind::Rel {
        for section in file.sections() {
            let Some(target) = by_index.get(section.index().0).copied().flatten() else {
                continue;
            };
            let base = binary.sections[target].address;
            for (offset, reloc) in section.relocations() {
                let RelocationFlags::Elf { r_type } = reloc.flags() else {
                    continue;
                };
                let Some(how) = kind(binary.arch, r_type) else {
                    continue;
                };
                if how == RelocKind::PpcTocBase {
                    // No symbol (index 0): the value is the TOC base.
                    if let Some(toc) = module_toc(binary) {
                        edits.push((base.wrapping_add(offset), how, toc));
                    }
                    continue;
                }
                let s = match reloc.target() {
                    RelocationTarget::Symbol(index) => {
                        match static_syms.get(index.0).copied().flatten() {
                            Some(address) => address,
                            None => continue,
                        }
                    }
                    RelocationTarget::Section(index) => {
                        match by_index.get(index.0).copied().flatten() {
                            Some(i) => binary.sections[i].address,
                            None => continue,
                        }
                    }
                    RelocationTarget::Absolute => 0,
                    _ => continue,
                };
                let mut value = s.wrapping_add(reloc.addend() as u64);
                if let RelocKind::Ppc16 {
                    base: Ppc16Base::Toc,
                    ..
                } = how
                {
                    value = value.wrapping_sub(module_toc(binary).unwrap_or(0));
                }
                edits.push((base.wrapping_add(offset), how, value));
            }
        }
    } else if file.dynamic_symbol_table().is_none() {
        // No dynamic symbol table: a kernel image linked as a PIE
        // (arm64 and ppc64 vmlinux, `--no-apply-dynamic-relocs`) keeps its
        // absolute pointers (the `_kprobe_blacklist` table among them) as
        // RELATIVE entries of `.rela.dyn`, and zeros in the data.
        unattached_relative(binary.arch, file, &mut edits);
    } else if let Some(relocs) = file.dynamic_relocations() {
        for (place, reloc) in relocs {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                continue;
            };
            let how = match kind(binary.arch, r_type) {
                Some(how @ (RelocKind::Relative | RelocKind::Abs64)) => how,
                _ => continue,
            };
            let s = match (how, reloc.target()) {
                (RelocKind::Relative, _) => 0,
                (_, RelocationTarget::Symbol(index)) => {
                    match dynamic_syms.get(index.0).copied().flatten() {
                        Some(address) => address,
                        None => continue,
                    }
                }
                _ => continue,
            };
            edits.push((place, how, s.wrapping_add(reloc.addend() as u64)));
        }
    }
    // Branches last: an ELFv1 module's `bl helper` names helper's `.opd`
    // descriptor, and branches to its code (as the linker makes it), so
    // the descriptors must hold their relocated code addresses first.
    let branch = |how: RelocKind| matches!(how, RelocKind::PpcBranch24 | RelocKind::PpcBranch14);
    for &(place, how, value) in edits.iter().filter(|e| !branch(e.1)) {
        write(binary, place, how, value);
    }
    for &(place, how, value) in edits.iter().filter(|e| branch(e.1)) {
        let value = match binary.kind {
            FileKind::Rel => binary.deref_descriptor(value).unwrap_or(value),
            _ => value,
        };
        write(binary, place, how, value);
    }
    Ok(())
}

/// The TOC base of a POWER module, as the kernel's module loader sets it
/// (`my_r2`, arch/powerpc/kernel/module_64.c): 0x8000 past the start of
/// its `.toc` section; without one the kernel uses the `.stubs` section it
/// adds, which probesafe does not lay out, so the module's first section
/// stands in. `.TOC.` (the ELFv2 global entries' `REL16` pair), `TOC16_*`
/// (data through r2) and `R_PPC64_TOC` (ELFv1 descriptors) all resolve to
/// it. `None` off POWER and for linked files (their `.TOC.` is a symbol).
pub(super) fn module_toc(binary: &Binary) -> Option<u64> {
    if binary.kind != FileKind::Rel || binary.ppc_abi.is_none() {
        return None;
    }
    let toc = binary
        .sections
        .iter()
        .find(|s| s.name == ".toc")
        .or_else(|| binary.sections.first())?;
    Some(toc.address.wrapping_add(0x8000))
}

/// The RELATIVE entries of the SHT_RELA sections that apply to no section
/// (`sh_info` 0): with the load base 0, each writes its addend.
fn unattached_relative(
    arch: Arch,
    file: &ElfFile64<'_, Endianness>,
    edits: &mut Vec<(u64, RelocKind, u64)>,
) {
    use object::read::elf::{Rela, SectionHeader};
    let endian = file.endian();
    let data = file.data();
    for header in file.elf_section_table().iter() {
        if header.sh_type(endian) != elf::SHT_RELA || header.sh_info(endian) != 0 {
            continue;
        }
        let Ok(Some((relas, _))) = header.rela(endian, data) else {
            continue;
        };
        for rela in relas {
            let r_type = rela.r_type(endian, false);
            if kind(arch, r_type) == Some(RelocKind::Relative) {
                edits.push((
                    rela.r_offset(endian),
                    RelocKind::Relative,
                    rela.r_addend(endian) as u64,
                ));
            }
        }
    }
}

/// Write one relocated value; places outside any section are ignored (a
/// broken file gets no relocation there, never a panic).
fn write(binary: &mut Binary, place: u64, how: RelocKind, value: u64) {
    let big = binary.arch.big_endian();
    let Some(section) = binary
        .sections
        .iter_mut()
        .find(|s| s.contains(place) && !s.data.is_empty())
    else {
        return;
    };
    let Ok(at) = usize::try_from(place - section.address) else {
        return;
    };
    let width = match how {
        RelocKind::Abs64 | RelocKind::Relative | RelocKind::PpcTocBase => 8,
        // A POWER half16 field: the relocation's offset is the halfword
        // itself (+2 into the instruction word big-endian, +0 little).
        RelocKind::Ppc16 { .. } => 2,
        _ => 4,
    };
    let Some(bytes) = at
        .checked_add(width)
        .and_then(|end| section.data.get_mut(at..end))
    else {
        return;
    };
    let pcrel = value.wrapping_sub(place);
    if width == 8 {
        let v = if big {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        };
        bytes.copy_from_slice(&v);
        return;
    }
    if let RelocKind::Ppc16 { base, half } = how {
        let old = if big {
            u16::from_be_bytes([bytes[0], bytes[1]])
        } else {
            u16::from_le_bytes([bytes[0], bytes[1]])
        };
        let v = match base {
            Ppc16Base::Place => pcrel,
            Ppc16Base::Absolute | Ppc16Base::Toc => value,
        };
        let new = match half {
            Ppc16Half::Lo => v as u16,
            Ppc16Half::LoDs => (v as u16 & 0xfffc) | (old & 3),
            Ppc16Half::Hi => (v >> 16) as u16,
            Ppc16Half::Ha => (v.wrapping_add(0x8000) >> 16) as u16,
        };
        bytes.copy_from_slice(&if big {
            new.to_be_bytes()
        } else {
            new.to_le_bytes()
        });
        return;
    }
    let old = {
        let b: [u8; 4] = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let new = match how {
        RelocKind::Abs32 => value as u32,
        RelocKind::Rel32 => pcrel as u32,
        RelocKind::A64Branch26 => (old & !0x03ff_ffff) | ((pcrel >> 2) as u32 & 0x03ff_ffff),
        RelocKind::A64Branch19 => (old & !(0x7ffff << 5)) | (((pcrel >> 2) as u32 & 0x7ffff) << 5),
        RelocKind::A64Branch14 => (old & !(0x3fff << 5)) | (((pcrel >> 2) as u32 & 0x3fff) << 5),
        RelocKind::PpcBranch24 => (old & !0x03ff_fffc) | (pcrel as u32 & 0x03ff_fffc),
        RelocKind::PpcBranch14 => (old & !0xfffc) | (pcrel as u32 & 0xfffc),
        RelocKind::A64AdrPage21 => {
            let pages = ((value & !0xfff).wrapping_sub(place & !0xfff) >> 12) as u32;
            (old & !((3 << 29) | (0x7ffff << 5)))
                | ((pages & 3) << 29)
                | (((pages >> 2) & 0x7ffff) << 5)
        }
        RelocKind::A64Lo12 { shift } => {
            let imm = ((value & 0xfff) >> shift) as u32;
            (old & !(0xfff << 10)) | ((imm & 0xfff) << 10)
        }
        RelocKind::Abs64
        | RelocKind::Relative
        | RelocKind::PpcTocBase
        | RelocKind::Ppc16 { .. } => {
            unreachable!("8- and 2-byte writes handled above")
        }
    };
    let v = if big {
        new.to_be_bytes()
    } else {
        new.to_le_bytes()
    };
    bytes.copy_from_slice(&v);
}
