//! Witness files: one dynamic finding with the input that shows it, in a
//! file that `probesafe replay` re-runs exactly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::detect::{witness_of, Criterion, Witness};
use crate::error::{Error, Result};
use crate::load::Binary;
use crate::report::{hex, parse_address, BinaryInfo, Confirmed, Finding, Report, Tool};

/// Where the finding is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessPoint {
    /// `0x...`.
    pub address: String,
    /// The function that contains it.
    pub symbol: String,
    /// Bytes from the function's first instruction.
    pub offset: u64,
}

/// What a trial needs besides the input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialOptions {
    /// Instructions per trial.
    pub budget: u64,
    /// Entry addresses (`0x...`) of the probe handler functions.
    pub handlers: Vec<String>,
}

/// A witness file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessFile {
    /// The tool that wrote it.
    pub tool: Tool,
    /// The binary: path, architecture, build-id.
    pub binary: BinaryInfo,
    /// The probe point.
    pub point: WitnessPoint,
    /// Budget and handlers of the trial.
    pub options: TrialOptions,
    /// `{seed, case, start, registers, shrink_steps}`: the input.
    pub witness: Value,
    /// The finding it shows, as in the report.
    pub finding: Finding,
}

impl WitnessFile {
    /// One witness file per dynamic finding of `report` that has a witness.
    pub fn all_of(report: &Report, options: &TrialOptions) -> Vec<WitnessFile> {
        let mut out = Vec::new();
        for point in &report.points {
            for finding in &point.findings {
                if finding.confirmed != Confirmed::Dynamic || Criterion::of(finding).is_none() {
                    continue;
                }
                let Some(witness) = witness_of(finding) else {
                    continue;
                };
                out.push(WitnessFile {
                    tool: Tool::default(),
                    binary: report.binary.clone(),
                    point: WitnessPoint {
                        address: point.address.clone(),
                        symbol: point.symbol.clone(),
                        offset: point.offset,
                    },
                    options: options.clone(),
                    witness: witness.clone(),
                    finding: finding.clone(),
                });
            }
        }
        out
    }

    /// The file name: `ADDRESS-KIND.json`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.json", self.point.address, self.finding.kind.name())
    }

    /// The pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a witness always serializes") + "\n"
    }

    /// Read one.
    pub fn read(path: &Path) -> Result<WitnessFile> {
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|e| Error::Witness {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Check it against the binary it is replayed on and decode what the
    /// trial needs: the point, the witness, the criterion, the handlers.
    pub fn prepare(&self, path: &Path, binary: &Binary) -> Result<Replay> {
        let bad = |reason: String| Error::Witness {
            path: PathBuf::from(path),
            reason,
        };
        if binary.arch.name() != self.binary.arch {
            return Err(bad(format!(
                "made on {}, but {} is {}",
                self.binary.arch,
                binary.path.display(),
                binary.arch.name()
            )));
        }
        if binary.build_id_hex() != self.binary.build_id {
            return Err(Error::BuildIdMismatch {
                path: binary.path.clone(),
                expected: self
                    .binary
                    .build_id
                    .clone()
                    .unwrap_or_else(|| "none".into()),
                actual: binary.build_id_hex().unwrap_or_else(|| "none".into()),
            });
        }
        let address = parse_address(&self.point.address)
            .ok_or_else(|| bad(format!("bad point address {:?}", self.point.address)))?;
        let witness = Witness::from_json(&self.witness, binary.arch)
            .ok_or_else(|| bad("the witness needs seed, case, start and hex registers".into()))?;
        let criterion = Criterion::of(&self.finding).ok_or_else(|| {
            bad(format!(
                "a {} finding has no dynamic criterion to replay",
                self.finding.kind.name()
            ))
        })?;
        let handlers = self
            .options
            .handlers
            .iter()
            .map(|h| parse_address(h).ok_or_else(|| bad(format!("bad handler address {h:?}"))))
            .collect::<Result<Vec<u64>>>()?;
        Ok(Replay {
            address,
            witness,
            criterion,
            handlers,
            budget: self.options.budget,
        })
    }
}

/// A witness ready to run.
#[derive(Clone, Debug)]
pub struct Replay {
    /// The probe point.
    pub address: u64,
    /// The input and where it starts.
    pub witness: Witness,
    /// What must happen again.
    pub criterion: Criterion,
    /// Probe handler entries.
    pub handlers: Vec<u64>,
    /// Instructions per trial.
    pub budget: u64,
}

/// Trial options of a run, for its witness files.
pub fn trial_options(budget: u64, handlers: &[u64]) -> TrialOptions {
    TrialOptions {
        budget,
        handlers: handlers.iter().map(|&h| hex(h)).collect(),
    }
}
