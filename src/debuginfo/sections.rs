//! Finding and loading DWARF sections: from the binary itself, compressed
//! (SHF_COMPRESSED zlib/zstd, or GNU `.zdebug`), or from a separate debug
//! file named by `--debug-file`, `.gnu_debuglink` or the build-id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::{Object, ObjectSection};

use crate::error::{Error, Result};

/// Uncompressed DWARF sections by name (`.debug_info`...).
pub(super) struct Sections {
    pub(super) file: PathBuf,
    pub(super) big_endian: bool,
    pub(super) data: HashMap<String, Arc<[u8]>>,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// The DWARF sections of one file (none if it has no `.debug_info`).
fn sections_of(path: &Path, data: &[u8]) -> Result<Option<Sections>> {
    let file = object::File::parse(data).map_err(|e| Error::BadElf {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut out: HashMap<String, Arc<[u8]>> = HashMap::new();
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
        out.insert(name, Arc::from(bytes.into_owned()));
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

/// Where a separate debug file may be, for a binary with this build-id and
/// `.gnu_debuglink`, in the order GDB looks.
fn candidates(binary: &Path, build_id: Option<&[u8]>, debuglink: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(id) = build_id.filter(|id| id.len() > 1) {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        out.push(PathBuf::from(format!(
            "/usr/lib/debug/.build-id/{}/{}.debug",
            &hex[..2],
            &hex[2..]
        )));
    }
    if let Some(link) = debuglink {
        let dir = binary.parent().unwrap_or(Path::new("."));
        out.push(dir.join(link));
        out.push(dir.join(".debug").join(link));
        let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        out.push(
            Path::new("/usr/lib/debug")
                .join(abs.strip_prefix("/").unwrap_or(&abs))
                .join(link),
        );
    }
    out
}

/// Load the DWARF of `binary`: from `debug_file` if given, else from the
/// binary, else from a separate debug file it names. `None`: no DWARF.
pub(super) fn load(binary: &Path, debug_file: Option<&Path>) -> Result<Option<Sections>> {
    if let Some(path) = debug_file {
        let data = read(path)?;
        return sections_of(path, &data)?
            .map(Some)
            .ok_or_else(|| Error::BadSection {
                path: path.to_owned(),
                section: ".debug_info".into(),
                reason: "the debug file has no DWARF".into(),
            });
    }
    let data = read(binary)?;
    if let Some(s) = sections_of(binary, &data)? {
        return Ok(Some(s));
    }
    let file = object::File::parse(&*data).map_err(|e| Error::BadElf {
        path: binary.to_owned(),
        reason: e.to_string(),
    })?;
    let build_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
    let link = file
        .gnu_debuglink()
        .ok()
        .flatten()
        .map(|(name, _crc)| String::from_utf8_lossy(name).into_owned());
    for candidate in candidates(binary, build_id.as_deref(), link.as_deref()) {
        if let Ok(bytes) = std::fs::read(&candidate) {
            if let Ok(Some(s)) = sections_of(&candidate, &bytes) {
                return Ok(Some(s));
            }
        }
    }
    Ok(None)
}
