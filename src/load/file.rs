//! The bytes of a file: memory-mapped when possible, so that a kernel's
//! hundreds of megabytes of DWARF are neither copied nor read up front. A
//! kernel module compressed as distributions ship them (`.ko.zst` on
//! Fedora and Ubuntu, `.ko.xz` on others) is recognised by its magic and
//! decompressed into memory, with a bound on its size.

use std::fs::File;
use std::io::{self, Write};
use std::ops::Deref;
use std::path::Path;

use crate::error::{Error, Result};

/// A whole file's contents.
#[derive(Debug)]
pub enum FileBytes {
    /// Mapped read-only.
    Mapped(memmap2::Mmap),
    /// Read into memory (when mapping is not possible, e.g. a pipe), or
    /// decompressed.
    Read(Vec<u8>),
}

/// The most bytes a compressed file may expand to (4 GiB: the largest
/// modules with DWARF are a few hundred MB). A file that would expand
/// further is refused instead of filling memory.
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

/// zstd's frame magic (RFC 8878).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// xz's stream header magic.
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

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
                return FileBytes::Mapped(map).decompressed().map_err(io);
            }
        }
        let bytes = std::fs::read(path).map_err(io)?;
        FileBytes::Read(bytes).decompressed().map_err(io)
    }

    /// These bytes, or what they decompress to when they are a zstd or xz
    /// file (bounded by [`MAX_DECOMPRESSED`]).
    fn decompressed(self) -> io::Result<FileBytes> {
        let mut out = Bounded {
            bytes: Vec::new(),
            limit: MAX_DECOMPRESSED,
        };
        if self.starts_with(&ZSTD_MAGIC) {
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(&self[..])
                .map_err(|e| invalid(format!("zstd: {e}")))?;
            io::copy(&mut decoder, &mut out).map_err(|e| invalid(format!("zstd: {e}")))?;
        } else if self.starts_with(&XZ_MAGIC) {
            lzma_rs::xz_decompress(&mut &self[..], &mut out)
                .map_err(|e| invalid(format!("xz: {e}")))?;
        } else {
            return Ok(self);
        }
        Ok(FileBytes::Read(out.bytes))
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A buffer that refuses to grow past `limit` bytes.
struct Bounded {
    bytes: Vec<u8>,
    limit: u64,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() as u64 + buf.len() as u64 > self.limit {
            return Err(invalid(format!(
                "decompresses to more than {} bytes",
                self.limit
            )));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn zeros_as(magic_tool: &str) -> Vec<u8> {
        let data = vec![0u8; 1 << 20];
        match magic_tool {
            "xz" => {
                let mut out = Vec::new();
                lzma_rs::xz_compress(&mut &data[..], &mut out).unwrap();
                out
            }
            _ => ruzstd::encoding::compress_to_vec(
                &data[..],
                ruzstd::encoding::CompressionLevel::Fastest,
            ),
        }
    }

    #[test]
    fn compressed_files_expand_and_plain_ones_stay() {
        for tool in ["zstd", "xz"] {
            let packed = zeros_as(tool);
            let out = FileBytes::Read(packed).decompressed().unwrap();
            assert_eq!(out.len(), 1 << 20, "{tool}");
            assert!(out.iter().all(|&b| b == 0), "{tool}");
        }
        let plain = FileBytes::Read(b"\x7fELF....".to_vec())
            .decompressed()
            .unwrap();
        assert_eq!(&plain[..4], b"\x7fELF");
    }

    #[test]
    fn a_bomb_is_refused_at_the_bound() {
        let mut out = Bounded {
            bytes: Vec::new(),
            limit: 1000,
        };
        let packed = zeros_as("zstd");
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(&packed[..]).unwrap();
        let e = io::copy(&mut decoder, &mut out).unwrap_err();
        assert!(e.to_string().contains("more than 1000 bytes"), "{e}");
    }

    #[test]
    fn a_truncated_stream_is_an_error() {
        for tool in ["zstd", "xz"] {
            let packed = zeros_as(tool);
            let cut = packed[..packed.len() / 2].to_vec();
            let e = FileBytes::Read(cut).decompressed().err();
            assert!(e.is_some(), "{tool}");
        }
    }
}
