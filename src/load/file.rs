//! The bytes of a file: memory-mapped when possible, so that a kernel's
//! hundreds of megabytes of DWARF are neither copied nor read up front.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use crate::error::{Error, Result};

/// A whole file's contents.
#[derive(Debug)]
pub enum FileBytes {
    /// Mapped read-only.
    Mapped(memmap2::Mmap),
    /// Read into memory (when mapping is not possible, e.g. a pipe).
    Read(Vec<u8>),
}

impl FileBytes {
    /// Map the file at `path`, or read it when it cannot be mapped.
    pub fn open(path: &Path) -> Result<FileBytes> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and private to this process. A
            // file truncated by another process while mapped would fault;
            // probesafe reads binaries that are not being rewritten, as
            // ripgrep and the debuggers do.
            if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
                return Ok(FileBytes::Mapped(map));
            }
        }
        std::fs::read(path).map(FileBytes::Read).map_err(io)
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}
