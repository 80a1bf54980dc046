//! Checkpoints: the points of every function a run has finished, under a
//! header that names the binary and the options, so that an interrupted run
//! resumes without redoing them and a checkpoint of another run is refused.
//!
//! The file is JSON Lines: the header, then one line per finished function
//! (`{function, points, ends}`), appended as the run goes. Only the place
//! of each function's line is held in memory; its points are read back
//! when the report reaches them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
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

/// The first line of a checkpoint.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderLine<H> {
    header: H,
}

/// The line of one finished function: its index in the binary's function
/// table, its points in address order, and the address just after each
/// point's instruction.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionLine<P, E> {
    /// The function's index in the binary's function table.
    pub function: usize,
    /// Its points.
    pub points: P,
    /// The end of each point's instruction.
    pub ends: E,
}

/// Where a finished function's line is in the file.
#[derive(Clone, Copy, Debug)]
struct Place {
    offset: u64,
    len: usize,
    points: usize,
}

/// Lines not yet appended, and when they were last.
struct Pending {
    lines: Vec<u8>,
    last: Instant,
    interval: Duration,
    error: Option<Error>,
}

/// The shortest time between two appends to the file; an append that takes
/// long makes the interval grow, so that writing stays a small share.
const INTERVAL: Duration = Duration::from_millis(500);

/// The checkpoint of a run: the functions an earlier run finished (read
/// back on demand) and those this run finishes (appended at most every
/// [`INTERVAL`], and by [`Checkpoint::flush`]).
pub struct Checkpoint {
    path: PathBuf,
    header: Header,
    /// The functions the file held when the run started.
    resumed: BTreeMap<usize, Place>,
    reader: Mutex<Option<File>>,
    pending: Mutex<Pending>,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("path", &self.path)
            .field("resumed", &self.resumed.len())
            .finish()
    }
}

impl Checkpoint {
    /// Open the checkpoint at `path`: the functions it holds when there is
    /// one, refusing one that was written for another binary or other
    /// options; nothing is written before the first [`Checkpoint::flush`].
    pub fn open(path: &Path, header: &Header) -> Result<Checkpoint> {
        let bad = |reason: String| Error::Checkpoint {
            path: PathBuf::from(path),
            reason,
        };
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut checkpoint = Checkpoint {
            path: path.to_owned(),
            header: header.clone(),
            resumed: BTreeMap::new(),
            reader: Mutex::new(None),
            pending: Mutex::new(Pending {
                lines: Vec::new(),
                last: Instant::now(),
                interval: INTERVAL,
                error: None,
            }),
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(checkpoint),
            Err(e) => return Err(io(e)),
        };
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).map_err(io)?;
        let first: HeaderLine<Header> =
            serde_json::from_slice(&line).map_err(|e| bad(format!("not a checkpoint: {e}")))?;
        if let Some(reason) = first.header.mismatch(header) {
            return Err(bad(reason));
        }
        let mut offset = line.len() as u64;
        let mut number = 1;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            number += 1;
            let parsed = serde_json::from_slice::<FunctionLine<Vec<IgnoredAny>, IgnoredAny>>(&line);
            match parsed {
                Ok(entry) if line.ends_with(b"\n") => {
                    checkpoint.resumed.entry(entry.function).or_insert(Place {
                        offset,
                        len: n,
                        points: entry.points.len(),
                    });
                }
                // The last line, cut short by a kill while it was
                // appended: that function is done again.
                _ if !line.ends_with(b"\n") => break,
                Ok(_) => unreachable!("ends with a newline"),
                Err(e) => return Err(bad(format!("line {number}: {e}"))),
            }
            offset += n as u64;
        }
        drop(reader);
        // A last line cut short by a kill while it was appended: dropped,
        // so that the next line starts on a line of its own.
        if file.metadata().map_err(io)?.len() > offset {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(offset))
                .map_err(io)?;
        }
        checkpoint.reader = Mutex::new(Some(file));
        Ok(checkpoint)
    }

    /// Keep only the functions for which `keep` is true (a checkpoint holds
    /// only the functions of its selection, which its header pins, but be
    /// strict anyway).
    pub fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        self.resumed.retain(|&i, _| keep(i));
    }

    /// The functions the checkpoint held when the run started, with the
    /// number of points of each.
    pub fn resumed(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.resumed.iter().map(|(&i, p)| (i, p.points))
    }

    /// Whether the checkpoint held function `index` when the run started.
    pub fn holds(&self, index: usize) -> bool {
        self.resumed.contains_key(&index)
    }

    /// The points (and the ends of their instructions) of function `index`
    /// if the checkpoint held it when the run started.
    pub fn read(&self, index: usize) -> Option<Result<(Vec<Point>, Vec<u64>)>> {
        let place = *self.resumed.get(&index)?;
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let mut text = vec![0; place.len];
        let read = {
            let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
            let file = reader
                .as_mut()
                .expect("a checkpoint with functions has a file");
            file.seek(SeekFrom::Start(place.offset))
                .and_then(|_| file.read_exact(&mut text))
        };
        Some(read.map_err(io).and_then(|()| {
            let line: FunctionLine<Vec<Point>, Vec<u64>> =
                serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
                    path: self.path.clone(),
                    reason: format!("function {index}: {e}"),
                })?;
            Ok((line.points, line.ends))
        }))
    }

    /// Record a function this run finished; appended to the file when the
    /// interval since the last append has passed.
    pub fn record(&self, index: usize, points: &[Point], ends: &[u64]) {
        // Serialised before the lock: the other workers wait on it.
        let mut line = serde_json::to_vec(&FunctionLine {
            function: index,
            points,
            ends,
        })
        .expect("points always serialize");
        line.push(b'\n');
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.lines.extend_from_slice(&line);
        if pending.last.elapsed() >= pending.interval {
            self.append(&mut pending);
        }
    }

    /// Append the functions recorded so far (the file is created with its
    /// header when there is none yet); the first error of any append.
    pub fn flush(&self) -> Result<()> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        self.append(&mut pending);
        match pending.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn append(&self, pending: &mut Pending) {
        let t = Instant::now();
        if let Err(e) = self.try_append(&pending.lines) {
            pending.error.get_or_insert(e);
        }
        pending.lines.clear();
        pending.interval = INTERVAL.max(t.elapsed() * 10);
        pending.last = Instant::now();
    }

    fn try_append(&self, lines: &[u8]) -> Result<()> {
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if reader.is_none() {
            // A new checkpoint: its header, put in place whole.
            let mut header = serde_json::to_vec(&HeaderLine {
                header: &self.header,
            })
            .expect("a header always serializes");
            header.push(b'\n');
            crate::atomic_file::write_atomic(&self.path, &header)?;
            *reader = Some(File::open(&self.path).map_err(io)?);
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        file.write_all(lines).map_err(io)?;
        Ok(())
    }
}
