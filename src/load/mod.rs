//! Loading an ELF binary: architecture, sections (with relocations applied
//! where the file is relocatable), functions and the build-id.
//!
//! Hostile or broken files are expected input: every offset is checked and
//! every failure is an [`Error`] naming the file and the section.

mod ehframe;
mod file;
mod kallsyms;
mod reloc;
mod symbols;

use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection};
use serde::Serialize;

use crate::arch::Arch;
use crate::error::{Error, Result};

pub use ehframe::cfa_rule;
pub use file::FileBytes;
pub use kallsyms::MAX_PAST_SIZE;

pub use symbols::{Function, FunctionSource, Symbol, MAX_FUNCTION_SIZE};

/// The ELF file type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// ET_EXEC: a fixed-address executable (or a kernel image).
    Exec,
    /// ET_DYN: a shared object or position-independent executable.
    Dyn,
    /// ET_REL: a relocatable object (a kernel module).
    Rel,
}

pub use crate::arch::PpcAbi;

/// One allocated section, with its contents at its (possibly assigned) address.
#[derive(Clone, Debug)]
pub struct Section {
    /// Section name.
    pub name: String,
    /// Address of the first byte (assigned by probesafe for ET_REL files).
    pub address: u64,
    /// Size in memory.
    pub size: u64,
    /// SHF_EXECINSTR.
    pub executable: bool,
    /// Contents with relocations applied (empty for SHT_NOBITS).
    pub data: Vec<u8>,
    /// Its index in the ELF section header table.
    pub elf_index: usize,
}

impl Section {
    /// Whether `addr` is inside the section.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.address && addr - self.address < self.size
    }
}

/// A loaded binary.
#[derive(Debug)]
pub struct Binary {
    /// The path it was loaded from.
    pub path: PathBuf,
    /// Its architecture.
    pub arch: Arch,
    /// ELF file type.
    pub kind: FileKind,
    /// The POWER ABI, for ppc64 files.
    pub ppc_abi: Option<PpcAbi>,
    /// The GNU build-id note, if present.
    pub build_id: Option<Vec<u8>>,
    /// Allocated sections, in file order.
    pub sections: Vec<Section>,
    /// Every named symbol with an address (functions, objects, range markers).
    pub symbols: Vec<Symbol>,
    /// Functions sorted by address.
    pub functions: Vec<Function>,
    /// Distinguishes loads in one process (per-thread emulator caches).
    pub(crate) instance: u64,
}

impl Binary {
    /// Read and load the file at `path`.
    pub fn open(path: &Path) -> Result<Binary> {
        let data = FileBytes::open(path)?;
        Binary::parse(path, &data)
    }

    /// Load a binary from bytes; `path` is used in reports and errors.
    pub fn parse(path: &Path, data: &[u8]) -> Result<Binary> {
        let bad = |reason: String| Error::BadElf {
            path: path.to_owned(),
            reason,
        };
        let kind = object::FileKind::parse(data).map_err(|e| bad(e.to_string()))?;
        match kind {
            object::FileKind::Elf64 => {}
            object::FileKind::Elf32 => {
                let machine = elf32_machine(data);
                return Err(Error::UnsupportedArch {
                    path: path.to_owned(),
                    machine: format!("{machine} (32-bit ELF)"),
                });
            }
            other => return Err(bad(format!("file format is {other:?}, not ELF"))),
        }
        let file = ElfFile64::<Endianness>::parse(data).map_err(|e| bad(e.to_string()))?;
        let endian = file.endian();
        let header = file.elf_header();
        let machine = header.e_machine(endian);
        let Some(arch) = Arch::from_elf(machine, endian == Endianness::Big) else {
            return Err(Error::UnsupportedArch {
                path: path.to_owned(),
                machine: format!("{} ({endian:?} endian)", machine_name(machine)),
            });
        };
        let kind = match header.e_type(endian) {
            elf::ET_EXEC => FileKind::Exec,
            elf::ET_DYN => FileKind::Dyn,
            elf::ET_REL => FileKind::Rel,
            other => {
                return Err(bad(format!(
                    "ELF type {other} is not an executable, shared object or relocatable object"
                )))
            }
        };
        let ppc_abi = crate::arch::spec(arch).ppc_abi(header.e_flags(endian));
        let build_id = file
            .build_id()
            .map_err(|e| bad(format!("build-id note: {e}")))?
            .map(<[u8]>::to_vec);

        let mut sections = Vec::new();
        // ELF section index -> index in `sections`.
        let mut by_index = vec![None; file.elf_section_table().len()];
        let mut next_rel_addr = 0x10000u64;
        for section in file.sections() {
            let shdr = section.elf_section_header();
            let flags = shdr.sh_flags(endian);
            if flags & u64::from(elf::SHF_ALLOC) == 0 {
                continue;
            }
            let name = section.name().unwrap_or("<bad name>").to_owned();
            let size = shdr.sh_size(endian);
            let mut address = shdr.sh_addr(endian);
            if kind == FileKind::Rel {
                let align = shdr.sh_addralign(endian).clamp(1, 0x1000);
                address = next_rel_addr.div_ceil(align) * align;
                next_rel_addr = address.saturating_add(size.max(1));
            }
            let data = if shdr.sh_type(endian) == elf::SHT_NOBITS {
                Vec::new()
            } else {
                section
                    .uncompressed_data()
                    .map_err(|e| Error::BadSection {
                        path: path.to_owned(),
                        section: name.clone(),
                        reason: e.to_string(),
                    })?
                    .into_owned()
            };
            if let Some(slot) = by_index.get_mut(section.index().0) {
                *slot = Some(sections.len());
            }
            sections.push(Section {
                name,
                address,
                size,
                executable: flags & u64::from(elf::SHF_EXECINSTR) != 0,
                data,
                elf_index: section.index().0,
            });
        }

        let mut binary = Binary {
            path: path.to_owned(),
            arch,
            kind,
            ppc_abi,
            build_id,
            sections,
            symbols: Vec::new(),
            functions: Vec::new(),
            instance: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        };
        binary.symbols = symbols::read_symbols(&binary, &file, &by_index, next_rel_addr)?;
        if let Some(toc) = reloc::module_toc(&binary) {
            // A module's `.TOC.` is the loader's TOC base, not an external.
            for sym in binary.symbols.iter_mut().filter(|s| s.name == ".TOC.") {
                sym.address = toc;
            }
        }
        reloc::apply(&mut binary, &file, &by_index)?;
        binary.functions = symbols::functions(&binary, &file)?;
        let fdes = ehframe::fde_ranges(&binary);
        symbols::add_fde_functions(&mut binary.functions, &fdes, &binary.sections);
        symbols::fill_sizes(&mut binary.functions, &binary.sections);
        symbols::clamp_to_sections(&mut binary.functions, &binary.sections);
        if binary.functions.is_empty() {
            return Err(Error::NoFunctions {
                path: path.to_owned(),
            });
        }
        Ok(binary)
    }

    /// The build-id as lowercase hex.
    pub fn build_id_hex(&self) -> Option<String> {
        self.build_id
            .as_ref()
            .map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The allocated section that contains `addr`.
    pub fn section_at(&self, addr: u64) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.contains(addr) && !s.data.is_empty())
    }

    /// Bytes at an address, if a section holds all of them.
    pub fn bytes_at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let section = self.section_at(addr)?;
        let start = usize::try_from(addr - section.address).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        section.data.get(start..end)
    }

    /// A pointer-size value at an address, in the file's byte order.
    pub fn read_u64(&self, addr: u64) -> Option<u64> {
        let bytes: [u8; 8] = self.bytes_at(addr, 8)?.try_into().ok()?;
        Some(if self.arch.big_endian() {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        })
    }

    /// The function that contains `addr`.
    pub fn function_at(&self, addr: u64) -> Option<&Function> {
        let i = self.functions.partition_point(|f| f.address <= addr);
        self.functions[..i]
            .iter()
            .rev()
            .take(8)
            .find(|f| f.contains(addr))
    }

    /// The first symbol with exactly this name.
    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|s| s.name == name)
    }

    /// For ppc64 ELFv1: if `addr` is a function descriptor in `.opd`, the code
    /// address it points at.
    pub fn deref_descriptor(&self, addr: u64) -> Option<u64> {
        if self.ppc_abi != Some(PpcAbi::ElfV1) {
            return None;
        }
        let section = self.section_at(addr)?;
        (section.name == ".opd")
            .then(|| self.read_u64(addr))
            .flatten()
    }
}

fn elf32_machine(data: &[u8]) -> String {
    let m = match (data.get(5), data.get(18..20)) {
        (Some(1), Some(b)) => u16::from_le_bytes([b[0], b[1]]),
        (Some(2), Some(b)) => u16::from_be_bytes([b[0], b[1]]),
        _ => return "unknown machine".into(),
    };
    machine_name(m)
}

fn machine_name(machine: u16) -> String {
    match machine {
        elf::EM_386 => "i386".into(),
        elf::EM_ARM => "arm".into(),
        elf::EM_PPC => "ppc".into(),
        elf::EM_RISCV => "riscv".into(),
        elf::EM_S390 => "s390".into(),
        elf::EM_MIPS => "mips".into(),
        elf::EM_SPARCV9 => "sparc64".into(),
        elf::EM_LOONGARCH => "loongarch".into(),
        elf::EM_X86_64 => "x86_64".into(),
        elf::EM_AARCH64 => "aarch64".into(),
        elf::EM_PPC64 => "ppc64".into(),
        m => format!("e_machine {m}"),
    }
}
