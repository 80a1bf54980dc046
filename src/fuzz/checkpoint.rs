//! Checkpoints: the points of every function a run has finished, under a
//! header that names the binary and the options, so that an interrupted run
//! resumes without redoing them and a checkpoint of another run is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::report::{BinaryInfo, Point};

/// What a checkpoint is valid for: the same binary (build-id and
/// architecture) and the same options (seed, cases, budget, selection,
/// shard...). The binary's path may differ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always `probesafe-fuzz-checkpoint`.
    pub format: String,
    /// The probesafe version that wrote it.
    pub version: String,
    /// The binary.
    pub binary: BinaryInfo,
    /// Every option that changes a result.
    pub options: Value,
}

impl Header {
    /// The header of a run of this version on `binary` with `options`.
    pub fn new(binary: BinaryInfo, options: Value) -> Header {
        Header {
            format: "probesafe-fuzz-checkpoint".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            binary,
            options,
        }
    }

    /// Why a checkpoint written under `self` cannot be resumed under `now`.
    fn mismatch(&self, now: &Header) -> Option<String> {
        if self.format != now.format {
            return Some(format!("not a checkpoint (format {:?})", self.format));
        }
        if self.version != now.version {
            return Some(format!(
                "written by probesafe {}, this is {}",
                self.version, now.version
            ));
        }
        if (&self.binary.arch, &self.binary.build_id) != (&now.binary.arch, &now.binary.build_id) {
            return Some(format!(
                "made for another binary ({} build-id {}), not {} build-id {}",
                self.binary.arch,
                self.binary.build_id.as_deref().unwrap_or("none"),
                now.binary.arch,
                now.binary.build_id.as_deref().unwrap_or("none")
            ));
        }
        if self.options != now.options {
            return Some(format!(
                "made with other options ({}), not {}",
                self.options, now.options
            ));
        }
        None
    }
}

/// The finished functions of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// What it is valid for.
    pub header: Header,
    /// The points of each finished function, keyed by the function's index
    /// in the binary's function table (the points carry their addresses).
    pub functions: BTreeMap<usize, Vec<Point>>,
}

impl Checkpoint {
    /// An empty checkpoint.
    pub fn new(header: Header) -> Checkpoint {
        Checkpoint {
            header,
            functions: BTreeMap::new(),
        }
    }

    /// Read the checkpoint at `path` if there is one, refusing one that
    /// was written for another binary or other options.
    pub fn resume(path: &Path, header: &Header) -> Result<Option<Checkpoint>> {
        let bad = |reason: String| Error::Checkpoint {
            path: PathBuf::from(path),
            reason,
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let checkpoint: Checkpoint =
            serde_json::from_slice(&text).map_err(|e| bad(format!("not a checkpoint: {e}")))?;
        if let Some(reason) = checkpoint.header.mismatch(header) {
            return Err(bad(reason));
        }
        Ok(Some(checkpoint))
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serializes") + "\n"
    }

    /// Write it atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::atomic_file::write_atomic(path, self.to_json().as_bytes())
    }
}
