//! Writing reports: to stdout (a closed pipe is not an error) or atomically
//! to a file (a temporary file in the same directory, then a rename); whole
//! ([`emit`]) or as the points are finished ([`Output`]).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use probesafe::Error;

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

/// Where a streamed report goes: standard output (a closed pipe ends the
/// writing quietly) or a file put in place atomically at the end.
pub enum Output {
    Stdout(std::io::BufWriter<std::io::Stdout>, bool),
    File(probesafe::atomic_file::AtomicFile),
}

impl Output {
    pub fn open(path: Option<&Path>) -> Result<Output, Error> {
        Ok(match path {
            None => Output::Stdout(
                std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()),
                false,
            ),
            Some(path) => Output::File(probesafe::atomic_file::AtomicFile::create(path)?),
        })
    }

    pub fn commit(self) -> Result<(), Error> {
        match self {
            Output::Stdout(..) => Ok(()),
            Output::File(f) => f.commit(),
        }
    }
}

impl std::io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(_, true) => Ok(buf.len()),
            Output::Stdout(out, closed) => match out.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(buf.len())
                }
                other => other,
            },
            Output::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(_, true) => Ok(()),
            Output::Stdout(out, closed) => match out.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(())
                }
                other => other,
            },
            Output::File(f) => f.flush(),
        }
    }
}
