//! The evidence of the write checks and of the entry/return balance.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Hex, WitnessEvidence};

/// The write checks' kinds (`ineffective-write`, `partial-write`,
/// `unwritable-location`, `overbroad-write`, `effective-write`, and an
/// `emulation-limit` of a write check).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteEvidence {
    /// The variable.
    pub variable: String,
    /// The function or inline instance it belongs to.
    #[serde(default)]
    pub scope: String,
    /// Its locations at the point.
    #[serde(default)]
    pub locations: Vec<LocationText>,
    /// The value written.
    #[serde(default)]
    pub value: String,
    /// Inputs drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn: Option<u64>,
    /// Inputs whose unwritten run ended on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<usize>,
    /// Of those, the ones that reach the point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<usize>,
    /// Arguments compared per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_arguments: Option<Vec<usize>>,
    /// Calls made before the point's first hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_before_point: Option<u64>,
    /// The value before the first write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Hex>,
    /// The value written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<Hex>,
    /// Registers that held the same value at the hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_in: Option<Vec<String>>,
    /// The locations written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_locations: Option<Vec<String>>,
    /// Written runs cut by a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<usize>,
    /// The cases compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared: Option<Vec<u64>>,
    /// What the write changed, per case compared (by case number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<BTreeMap<String, Vec<String>>>,
    /// What the write changed in any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<BTreeSet<String>>,
    /// Each location written alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each: Option<Vec<LocationChanged>>,
    /// An input whose effects the write changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<WitnessEvidence>,
    /// What it changed for the witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_changed: Option<Vec<String>>,
    /// The reference build's comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<WriteReference>,
    /// What the reference build's write changes and this one does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
    /// What this build's write changes and the reference's does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Vec<String>>,
}

/// A variable's location: its kind and text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationText {
    /// `register`, `memory`, `computed`, ...
    pub kind: String,
    /// `x19`, `[rbp-0x14]`, ...
    pub text: String,
}

/// One location written alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationChanged {
    /// The location.
    pub location: String,
    /// What writing it changed.
    pub changed: BTreeSet<String>,
}

/// The reference build's side of a write comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteReference {
    /// The reference binary.
    pub binary: String,
    /// The source line.
    pub line: String,
    /// Its points at that line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<String>>,
    /// What its write changed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<BTreeSet<String>>,
    /// Its undecided write checks there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undecided: Option<Vec<String>>,
}

/// `entry-return-imbalance`, and an `emulation-limit` of the balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceEvidence {
    /// The function.
    pub function: String,
    /// The inputs that returned.
    pub inputs: Vec<BalanceInput>,
    /// The reference build's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<BalanceReference>,
}

/// One input's entries and returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceInput {
    /// The case.
    pub case: usize,
    /// Entries.
    pub entries: u64,
    /// Returns.
    pub returns: u64,
}

/// The reference build's balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceReference {
    /// The reference binary.
    pub binary: String,
    /// Its inputs that returned.
    pub inputs: Vec<BalanceInput>,
}
