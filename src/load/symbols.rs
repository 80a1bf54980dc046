//! Symbols and the functions they name.

use std::collections::BTreeMap;

use object::elf;
use object::read::elf::{ElfFile64, Sym};
use object::{Endianness, Object, ObjectSymbol};
use serde::Serialize;

use super::{Binary, FileKind, PpcAbi, Section};
use crate::error::Result;

/// A symbol with its address in probesafe's view of the file.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// Name (empty for section symbols).
    pub name: String,
    /// Address: `st_value`, or the assigned section address plus `st_value`
    /// in a relocatable file; a synthetic address for undefined symbols.
    pub address: u64,
    /// `st_size`.
    pub size: u64,
    /// ELF symbol type (`STT_*`).
    pub st_type: u8,
    /// `st_other` (ppc64 ELFv2 keeps the local-entry offset here).
    pub st_other: u8,
    /// Undefined in this file (an external function or object).
    pub undefined: bool,
    /// From `.dynsym` rather than `.symtab`.
    pub dynamic: bool,
    /// Index in its symbol table.
    pub index: usize,
}

/// Where a function was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionSource {
    /// `.symtab`.
    Symtab,
    /// `.dynsym`.
    Dynsym,
    /// A `.eh_frame` FDE with no symbol (a stripped binary).
    EhFrame,
}

/// A function: a named range of code.
#[derive(Clone, Debug)]
pub struct Function {
    /// The preferred name.
    pub name: String,
    /// Other names for the same code (aliases, ppc64 ELFv1 `.name`).
    pub aliases: Vec<String>,
    /// Address of the first instruction (the global entry on ppc64 ELFv2).
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
    /// Where a probe on the function's entry goes: the ELFv2 local entry
    /// point, otherwise `address`.
    pub entry: u64,
    /// Where the function was found.
    pub source: FunctionSource,
    /// An `STT_GNU_IFUNC` symbol: this code is the resolver, not the implementation.
    pub ifunc: bool,
    /// ppc64 ELFv1: the address of the function's `.opd` descriptor.
    pub descriptor: Option<u64>,
}

impl Function {
    /// Whether `addr` is inside the function.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.address && addr - self.address < self.size.max(1)
    }

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.address.saturating_add(self.size)
    }

    /// Whether `name` is one of the function's names.
    pub fn has_name(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }

    /// All names, preferred first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// Read `.symtab` and `.dynsym`. In a relocatable file, addresses are made
/// absolute with the assigned section addresses and undefined symbols get
/// synthetic addresses from `external_base` on, so that calls to them leave
/// every function.
pub(super) fn read_symbols(
    binary: &Binary,
    file: &ElfFile64<'_, Endianness>,
    by_index: &[Option<usize>],
    external_base: u64,
) -> Result<Vec<Symbol>> {
    let endian = file.endian();
    let mut out = Vec::new();
    let mut externals: BTreeMap<String, u64> = BTreeMap::new();
    let mut next_external = external_base.div_ceil(0x1000) * 0x1000 + 0x10000;
    let tables = [(file.symbols(), false), (file.dynamic_symbols(), true)];
    for (symbols, dynamic) in tables {
        for symbol in symbols {
            let raw = symbol.elf_symbol();
            let st_type = raw.st_type();
            let name = symbol.name().unwrap_or("").to_owned();
            let undefined = symbol.is_undefined();
            let address = if undefined {
                if name.is_empty() || binary.kind != FileKind::Rel {
                    continue;
                }
                *externals.entry(name.clone()).or_insert_with(|| {
                    let a = next_external;
                    next_external += 0x10;
                    a
                })
            } else if binary.kind == FileKind::Rel {
                let shndx = raw.st_shndx(endian);
                if shndx == elf::SHN_ABS {
                    raw.st_value(endian)
                } else {
                    let Some(section) = symbol
                        .section_index()
                        .and_then(|i| by_index.get(i.0).copied().flatten())
                        .and_then(|i| binary.sections.get(i))
                    else {
                        continue;
                    };
                    section.address.wrapping_add(raw.st_value(endian))
                }
            } else {
                raw.st_value(endian)
            };
            out.push(Symbol {
                name,
                address,
                size: raw.st_size(endian),
                st_type,
                st_other: raw.st_other(),
                undefined,
                dynamic,
                index: symbol.index().0,
            });
        }
    }
    Ok(out)
}

/// ELFv2 local entry offset from `st_other` (ABI: bits 5-7; 2..6 mean 2^n bytes).
fn local_entry_offset(st_other: u8) -> u64 {
    match (st_other >> 5) & 7 {
        n @ 2..=6 => 1 << n,
        _ => 0,
    }
}

/// Functions from the symbol tables, merged by code address.
pub(super) fn functions(
    binary: &Binary,
    _file: &ElfFile64<'_, Endianness>,
) -> Result<Vec<Function>> {
    let elfv1 = binary.ppc_abi == Some(PpcAbi::ElfV1);
    let elfv2 = binary.ppc_abi == Some(PpcAbi::ElfV2);
    let mut by_addr: BTreeMap<u64, Function> = BTreeMap::new();
    for sym in &binary.symbols {
        let is_func = sym.st_type == elf::STT_FUNC || sym.st_type == elf::STT_GNU_IFUNC;
        if !is_func || sym.undefined || sym.name.is_empty() {
            continue;
        }
        let mut descriptor = None;
        let mut address = sym.address;
        if elfv1 {
            if let Some(code) = binary.deref_descriptor(sym.address) {
                descriptor = Some(sym.address);
                address = code;
            }
        }
        let in_code = binary
            .sections
            .iter()
            .any(|s| s.executable && s.contains(address));
        if !in_code {
            continue;
        }
        let entry = if elfv2 {
            address + local_entry_offset(sym.st_other)
        } else {
            address
        };
        let source = if sym.dynamic {
            FunctionSource::Dynsym
        } else {
            FunctionSource::Symtab
        };
        let ifunc = sym.st_type == elf::STT_GNU_IFUNC;
        match by_addr.get_mut(&address) {
            Some(f) => {
                if !f.has_name(&sym.name) {
                    // A dot-name, or a dynamic name, is never preferred.
                    let better = f.name.starts_with('.') && !sym.name.starts_with('.');
                    if better {
                        let old = std::mem::replace(&mut f.name, sym.name.clone());
                        f.aliases.push(old);
                    } else {
                        f.aliases.push(sym.name.clone());
                    }
                }
                f.size = f.size.max(sym.size);
                f.ifunc |= ifunc;
                f.descriptor = f.descriptor.or(descriptor);
                f.entry = f.entry.max(entry);
                if f.source == FunctionSource::Dynsym && source == FunctionSource::Symtab {
                    f.source = source;
                }
            }
            None => {
                by_addr.insert(
                    address,
                    Function {
                        name: sym.name.clone(),
                        aliases: Vec::new(),
                        address,
                        size: sym.size,
                        entry,
                        source,
                        ifunc,
                        descriptor,
                    },
                );
            }
        }
    }
    let mut functions: Vec<Function> = by_addr.into_values().collect();
    if elfv1 {
        // ELFv1 code is also known by the dot-name of its descriptor.
        for f in &mut functions {
            if f.descriptor.is_some() && !f.name.starts_with('.') {
                let dot = format!(".{}", f.name);
                if !f.has_name(&dot) {
                    f.aliases.push(dot);
                }
            }
        }
    }

    Ok(functions)
}

/// Give size-less functions (hand-written assembly without `.size`) the
/// bytes up to the next function or the end of their section.
pub(super) fn fill_sizes(functions: &mut [Function], sections: &[Section]) {
    for i in 0..functions.len() {
        if functions[i].size != 0 {
            continue;
        }
        let start = functions[i].address;
        let section_end = sections
            .iter()
            .find(|s| s.executable && s.contains(start))
            .map(|s| s.address.saturating_add(s.size))
            .unwrap_or(start);
        let next = functions.get(i + 1).map(|f| f.address).unwrap_or(u64::MAX);
        functions[i].size = section_end.min(next).saturating_sub(start);
    }
}

/// The most bytes a function may span: far more than any compiler emits
/// (the largest functions of a kernel or a libc are some hundred KiB), and
/// small enough that every per-function cost that follows the extent
/// (invalidating translated code, hooking the range) stays bounded.
pub const MAX_FUNCTION_SIZE: u64 = 64 << 20;

/// Clamp every function's extent to the executable section it starts in
/// and to [`MAX_FUNCTION_SIZE`]: a symbol size (or an FDE length) from a
/// corrupted file may say 2^47 bytes, and the function's extent is what
/// the decoder, the control-flow graph and the emulator work on.
pub(super) fn clamp_to_sections(functions: &mut [Function], sections: &[Section]) {
    for f in functions.iter_mut() {
        let section_end = sections
            .iter()
            .find(|s| s.executable && s.contains(f.address))
            .map_or(f.address, |s| s.address.saturating_add(s.size));
        let room = section_end.saturating_sub(f.address).min(MAX_FUNCTION_SIZE);
        f.size = f.size.min(room);
    }
}

/// Add functions found only as `.eh_frame` FDEs (stripped binaries), and give
/// size-less symbols the FDE's length.
pub(super) fn add_fde_functions(
    functions: &mut Vec<Function>,
    fdes: &[(u64, u64)],
    sections: &[Section],
) {
    if fdes.is_empty() {
        return;
    }
    let mut added = Vec::new();
    for &(start, len) in fdes {
        if len == 0 || !sections.iter().any(|s| s.executable && s.contains(start)) {
            continue;
        }
        let i = functions.partition_point(|f| f.address < start);
        if let Some(f) = functions.get_mut(i).filter(|f| f.address == start) {
            if f.size == 0 {
                f.size = len;
            }
            continue;
        }
        let covered = i > 0 && functions[i - 1].contains(start);
        if !covered {
            added.push(Function {
                name: format!("fde_{start:x}"),
                aliases: Vec::new(),
                address: start,
                size: len,
                entry: start,
                source: FunctionSource::EhFrame,
                ifunc: false,
                descriptor: None,
            });
        }
    }
    functions.extend(added);
    functions.sort_by_key(|f| f.address);
    functions.dedup_by_key(|f| f.address);
}
