//! Files that a reader never sees half-written: a temporary file in the
//! same directory, flushed to disk, then renamed over the target. Reports,
//! checkpoints and witness files are written this way, so an interrupted
//! run leaves the old file or the new one, never a truncated one.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically (through [`AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })?;
    file.commit()
}

/// A file written as a stream and put in place atomically by
/// [`AtomicFile::commit`]; dropped without it, the temporary file is
/// removed and the target left as it was.
pub struct AtomicFile {
    path: std::path::PathBuf,
    /// The temporary file, when the target is a regular file (a device or
    /// a pipe is written to directly).
    tmp: Option<std::path::PathBuf>,
    file: std::io::BufWriter<std::fs::File>,
}

impl AtomicFile {
    /// Start writing `path`. A device or a pipe (`-o /dev/stdout`,
    /// `/dev/null`) is written to, not replaced: renaming over it would put
    /// a regular file in its place.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let io = |source| Error::Write {
            path: path.to_owned(),
            source,
        };
        if std::fs::metadata(path).is_ok_and(|m| !m.file_type().is_file() && !m.is_dir()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io)?;
            return Ok(AtomicFile {
                path: path.to_owned(),
                tmp: None,
                file: std::io::BufWriter::with_capacity(1 << 20, file),
            });
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?;
        let tmp = dir.join(format!(
            ".{}.tmp{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = std::fs::File::create(&tmp).map_err(io)?;
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp: Some(tmp),
            file: std::io::BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Flush, sync and rename the file into place.
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        let tmp = self.tmp.take();
        let result = (|| -> std::io::Result<()> {
            self.file.flush()?;
            if let Some(tmp) = &tmp {
                self.file.get_ref().sync_all()?;
                std::fs::rename(tmp, &path)?;
            }
            Ok(())
        })();
        if result.is_err() {
            if let Some(tmp) = &tmp {
                let _ = std::fs::remove_file(tmp);
            }
        }
        result.map_err(|source| Error::Write { path, source })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
