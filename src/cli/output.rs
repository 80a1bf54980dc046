//! Writing reports: to stdout (a closed pipe is not an error) or atomically
//! to a file (a temporary file in the same directory, then a rename).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Write `text` to `path`, or to stdout when `path` is `None`.
pub fn emit(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to standard output"),
            }
        }
        Some(path) => write_atomic(path, text.as_bytes()),
    }
}

/// Write a file so that a reader never sees it half-written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(probesafe::atomic_file::write_atomic(path, bytes)?)
}
