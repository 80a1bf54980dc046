//! Finding and loading DWARF sections: from the binary itself, compressed
//! (SHF_COMPRESSED zlib/zstd, or GNU `.zdebug`), or from a separate debug
//! file named by `--debug-file`, `.gnu_debuglink` or the build-id.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSymbol};

use crate::arch::{Arch, RelocKind};
use crate::error::{Error, Result};
use crate::load::{Binary, FileBytes, FileKind};

/// Uncompressed DWARF sections by name (`.debug_info`...).
pub(super) struct Sections {
    pub(super) file: PathBuf,
    pub(super) big_endian: bool,
    pub(super) data: HashMap<String, SectionBytes>,
}

/// One section's bytes: a range of the mapped file, or a decompressed copy.
#[derive(Clone, Debug)]
pub(super) struct SectionBytes {
    backing: Arc<Backing>,
    range: std::ops::Range<usize>,
}

#[derive(Debug)]
enum Backing {
    File(FileBytes),
    Decompressed(Vec<u8>),
}

impl SectionBytes {
    pub(super) fn empty() -> SectionBytes {
        SectionBytes {
            backing: Arc::new(Backing::Decompressed(Vec::new())),
            range: 0..0,
        }
    }
}

impl Deref for SectionBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let all: &[u8] = match &*self.backing {
            Backing::File(f) => f,
            Backing::Decompressed(v) => v,
        };
        &all[self.range.clone()]
    }
}

impl SectionBytes {
    /// A reference that gimli's readers copy freely: no reference count to
    /// update on every clone and drop (on all cores at once, that counter's
    /// cache line was a fifth of the time of a kernel's survey).
    ///
    /// # Safety
    /// The `SectionBytes` must outlive every reader made from the result;
    /// [`super::DebugInfo`] keeps them in a field dropped after its `Dwarf`.
    pub(super) unsafe fn unowned(&self) -> SectionRef {
        let bytes: &[u8] = self;
        SectionRef {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

/// Bytes of a section that some [`SectionBytes`] owns.
#[derive(Clone, Copy, Debug)]
pub(super) struct SectionRef {
    ptr: *const u8,
    len: usize,
}

impl Deref for SectionRef {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: made by `SectionBytes::unowned`, whose owner outlives it.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

// SAFETY: the bytes are immutable and owned elsewhere for as long as the
// reference is used (see `SectionBytes::unowned`); they never move.
unsafe impl Send for SectionRef {}
unsafe impl Sync for SectionRef {}
unsafe impl gimli::StableDeref for SectionRef {}
unsafe impl gimli::CloneStableDeref for SectionRef {}

fn read(path: &Path) -> Result<Arc<Backing>> {
    FileBytes::open(path).map(|f| Arc::new(Backing::File(f)))
}

/// The DWARF sections of one file (none if it has no `.debug_info`). In a
/// relocatable object (a kernel module) they are relocated against the
/// layout `binary` gave its sections.
fn sections_of(path: &Path, backing: &Arc<Backing>, binary: &Binary) -> Result<Option<Sections>> {
    let Backing::File(bytes) = &**backing else {
        return Ok(None);
    };
    let data: &[u8] = bytes;
    let file = object::File::parse(data).map_err(|e| Error::BadElf {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut out: HashMap<String, SectionBytes> = HashMap::new();
    for section in file.sections() {
        let Ok(name) = section.name() else { continue };
        let name = if let Some(rest) = name.strip_prefix(".zdebug_") {
            format!(".debug_{rest}")
        } else if name.starts_with(".debug_") {
            name.to_owned()
        } else {
            continue;
        };
        let bytes = section.uncompressed_data().map_err(|e| Error::BadSection {
            path: path.to_owned(),
            section: name.clone(),
            reason: e.to_string(),
        })?;
        let relocated = (file.kind() == object::ObjectKind::Relocatable
            && binary.kind == FileKind::Rel)
            .then(|| relocate(&file, &section, &bytes, binary))
            .flatten();
        let bytes = match relocated {
            Some(v) => Cow::Owned(v),
            None => bytes,
        };
        let section = match bytes {
            // Uncompressed: the range of the mapped file, not a copy.
            Cow::Borrowed(slice) => {
                let start = slice.as_ptr() as usize - data.as_ptr() as usize;
                SectionBytes {
                    backing: backing.clone(),
                    range: start..start + slice.len(),
                }
            }
            Cow::Owned(v) => SectionBytes {
                range: 0..v.len(),
                backing: Arc::new(Backing::Decompressed(v)),
            },
        };
        out.insert(name, section);
    }
    // A separate debug file made with --only-keep-debug keeps the section
    // headers of .debug_info; a stripped binary has none.
    if out.get(".debug_info").is_none_or(|d| d.is_empty()) {
        return Ok(None);
    }
    Ok(Some(Sections {
        file: path.to_owned(),
        big_endian: !file.is_little_endian(),
        data: out,
    }))
}

/// A copy of a debug section of a relocatable object with its absolute
/// relocations applied: addresses in the code get the layout `binary` gave
/// the sections; offsets into other debug sections (`.debug_str`,
/// `.debug_line`...) get their addend. `None` when it has no relocations.
fn relocate(
    file: &object::File<'_>,
    section: &object::Section<'_, '_>,
    bytes: &[u8],
    binary: &Binary,
) -> Option<Vec<u8>> {
    let mut relocations = section.relocations().peekable();
    relocations.peek()?;
    let big = binary.arch.big_endian();
    let mut out = bytes.to_vec();
    let base_of = |index: object::SectionIndex| {
        binary
            .sections
            .iter()
            .find(|s| s.elf_index == index.0)
            .map_or(0, |s| s.address)
    };
    for (offset, reloc) in relocations {
        let object::RelocationFlags::Elf { r_type } = reloc.flags() else {
            continue;
        };
        let Some(width) = absolute_width(binary.arch, r_type) else {
            continue;
        };
        let s = match reloc.target() {
            object::RelocationTarget::Symbol(index) => match file.symbol_by_index(index) {
                Ok(sym) => sym
                    .section_index()
                    .map_or(0, base_of)
                    .wrapping_add(sym.address()),
                Err(_) => continue,
            },
            object::RelocationTarget::Section(index) => base_of(index),
            object::RelocationTarget::Absolute => 0,
            _ => continue,
        };
        let value = s.wrapping_add(reloc.addend() as u64);
        let Some(place) = usize::try_from(offset)
            .ok()
            .and_then(|at| out.get_mut(at..at.checked_add(width)?))
        else {
            continue;
        };
        match (width, big) {
            (8, false) => place.copy_from_slice(&value.to_le_bytes()),
            (8, true) => place.copy_from_slice(&value.to_be_bytes()),
            (_, false) => place.copy_from_slice(&(value as u32).to_le_bytes()),
            (_, true) => place.copy_from_slice(&(value as u32).to_be_bytes()),
        }
    }
    Some(out)
}

/// The width of an absolute data relocation, the only kind DWARF uses.
fn absolute_width(arch: Arch, r_type: u32) -> Option<usize> {
    match crate::arch::spec(arch).relocation(r_type)? {
        RelocKind::Abs64 => Some(8),
        RelocKind::Abs32 => Some(4),
        _ => None,
    }
}

/// Where distributions install separate debug files (GDB's default
/// `debug-file-directory`).
const DEBUG_ROOT: &str = "/usr/lib/debug";

/// Where a separate debug file may be, for a binary with this build-id and
/// `.gnu_debuglink`, in the order GDB looks.
fn candidates(
    root: &Path,
    binary: &Path,
    build_id: Option<&[u8]>,
    debuglink: Option<&str>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(id) = build_id.filter(|id| id.len() > 1) {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        out.push(
            root.join(".build-id")
                .join(&hex[..2])
                .join(format!("{}.debug", &hex[2..])),
        );
    }
    if let Some(link) = debuglink {
        let dir = binary.parent().unwrap_or(Path::new("."));
        out.push(dir.join(link));
        out.push(dir.join(".debug").join(link));
        let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        out.push(root.join(abs.strip_prefix("/").unwrap_or(&abs)).join(link));
    }
    out
}

/// Load the DWARF of `binary`: from `debug_file` if given, else from the
/// binary, else from a separate debug file it names. `None`: no DWARF.
pub(super) fn load(binary: &Binary, debug_file: Option<&Path>) -> Result<Option<Sections>> {
    load_with_root(binary, debug_file, Path::new(DEBUG_ROOT))
}

fn load_with_root(
    binary: &Binary,
    debug_file: Option<&Path>,
    root: &Path,
) -> Result<Option<Sections>> {
    let program = binary;
    let binary = &program.path;
    if let Some(path) = debug_file {
        let data = read(path)?;
        return sections_of(path, &data, program)?
            .map(Some)
            .ok_or_else(|| Error::BadSection {
                path: path.to_owned(),
                section: ".debug_info".into(),
                reason: "the debug file has no DWARF".into(),
            });
    }
    let backing = read(binary)?;
    if let Some(s) = sections_of(binary, &backing, program)? {
        return Ok(Some(s));
    }
    let Backing::File(data) = &*backing else {
        return Ok(None);
    };
    let file = object::File::parse(&**data).map_err(|e| Error::BadElf {
        path: binary.to_owned(),
        reason: e.to_string(),
    })?;
    let build_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
    let link = file
        .gnu_debuglink()
        .ok()
        .flatten()
        .map(|(name, _crc)| String::from_utf8_lossy(name).into_owned());
    for candidate in candidates(root, binary, build_id.as_deref(), link.as_deref()) {
        let Ok(backing) = read(&candidate) else {
            continue;
        };
        // A debug file of another build (a stale one next to the binary)
        // would describe other code: skip it, as GDB does.
        let Backing::File(bytes) = &*backing else {
            continue;
        };
        let other = object::File::parse(&**bytes)
            .ok()
            .and_then(|f| f.build_id().ok().flatten().map(<[u8]>::to_vec));
        if let (Some(want), Some(got)) = (&build_id, &other) {
            if want != got {
                continue;
            }
        }
        if let Ok(Some(s)) = sections_of(&candidate, &backing, program) {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpora")
            .join(path)
    }

    /// A stripped binary with no debug file next to it finds its DWARF at
    /// ROOT/.build-id/xx/rest.debug; a debug file of another build at the
    /// `.gnu_debuglink` path is refused.
    #[test]
    fn build_id_path_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let bin_dir = dir.path().join("bin");
        let root = dir.path().join("debug");
        std::fs::create_dir_all(&bin_dir).unwrap();
        let stripped = bin_dir.join("dwarf-O2-stripped.so");
        std::fs::copy(corpus("x86_64/dwarf-O2-stripped.so"), &stripped).unwrap();
        let binary = Binary::open(&stripped).unwrap();
        let id = binary.build_id_hex().unwrap();

        // Nothing anywhere: no DWARF.
        assert!(load_with_root(&binary, None, &root).unwrap().is_none());

        // Another build's debug file under the debuglink name: refused.
        std::fs::copy(
            corpus("aarch64/dwarf-O2.debug"),
            bin_dir.join("dwarf-O2.debug"),
        )
        .unwrap();
        assert!(load_with_root(&binary, None, &root).unwrap().is_none());

        // The right one at the build-id path: found there.
        let by_id = root
            .join(".build-id")
            .join(&id[..2])
            .join(format!("{}.debug", &id[2..]));
        std::fs::create_dir_all(by_id.parent().unwrap()).unwrap();
        std::fs::copy(corpus("x86_64/dwarf-O2.debug"), &by_id).unwrap();
        let found = load_with_root(&binary, None, &root).unwrap().unwrap();
        assert_eq!(found.file, by_id);
        assert!(!found.data[".debug_info"].is_empty());
    }
}
