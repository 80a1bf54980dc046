//! The evidence of each finding kind, typed.
//!
//! A finding's `evidence` is a JSON object in the report (docs/report-schema.md
//! lists its fields per kind). The code that makes a finding builds one of
//! these structs and [`Finding::new`] turns it into that object; the code
//! that reads a finding's evidence back (a detector confirming a static
//! finding, `fuzz` shrinking a witness, a `--reference` comparison reading
//! the other build's report) reads it with [`Evidence::of`], by field, never
//! by key. Addresses are [`Hex`]: `0x...` strings, as in `points[].address`.
//!
//! The JSON object is written through `serde_json::Map`, whose keys are
//! sorted: a struct's field order does not show. What shows is each field's
//! name, its number or string form, and whether an empty field is absent
//! (`skip_serializing_if`) or `null` (a plain `Option`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{hex, parse_address, Finding};

/// A typed evidence object.
pub trait Evidence: Serialize + DeserializeOwned {
    /// The JSON object of the report.
    fn to_map(&self) -> Map<String, Value> {
        to_map(self)
    }

    /// The evidence of `finding`, read back; `None` when it does not have
    /// this form.
    fn of(finding: &Finding) -> Option<Self> {
        serde_json::from_value(Value::Object(finding.evidence.clone())).ok()
    }
}

/// The JSON object of any serializable evidence (a struct of this module,
/// or a `serde_json::Value` object); anything else gives an empty object.
pub fn to_map(evidence: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(evidence) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A number written as `0x...` hex: an address or a register value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(self.0))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hex, D::Error> {
        let s = String::deserialize(d)?;
        parse_address(&s)
            .map(Hex)
            .ok_or_else(|| serde::de::Error::custom(format!("not a 0x hex number: {s}")))
    }
}

/// Where an LL/SC or transaction finding's point is in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowRole {
    /// The load-linked that opens an LL/SC window.
    LoadLinked,
    /// A store-conditional that closes it.
    StoreConditional,
    /// A transaction begin.
    Begin,
    /// A transaction end.
    End,
    /// Between the two.
    Inside,
    /// Found by emulation outside every static window (`fuzz`).
    Discovered,
}

/// `llsc-reservation-loss`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlscEvidence {
    /// The window's load-linked (absent when discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_linked: Option<Hex>,
    /// Every store-conditional the load-linked reaches (discovered: the one
    /// that failed).
    pub store_conditional: Vec<Hex>,
    /// Where the point is.
    pub role: WindowRole,
    /// The static window: its size, first and last instruction.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub window: Option<LlscWindow>,
    /// What emulation saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<WindowDynamic>,
}

/// The static extent of an LL/SC window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlscWindow {
    /// Instructions in the window.
    pub window_instructions: usize,
    /// Its first instruction.
    pub window_first: Hex,
    /// Its last instruction.
    pub window_last: Hex,
}

/// `tm-abort`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TmEvidence {
    /// The (outermost) transaction begin.
    pub begin: Hex,
    /// Where the point is.
    pub role: WindowRole,
    /// The static window (absent when discovered).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TmWindow>,
    /// What emulation saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<WindowDynamic>,
}

/// The static extent of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmWindow {
    /// The ends that bring the depth back to 0.
    pub end: Vec<Hex>,
    /// The x86 `xbegin` abort target; null elsewhere.
    pub fallback: Option<Hex>,
    /// Instructions in the window.
    pub window_instructions: usize,
}

/// How the trials of a window point went (`evidence.dynamic`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowDynamic {
    /// `confirmed`, `refuted`, `inconclusive` or `unreached`.
    pub outcome: Outcome,
    /// Inputs tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<usize>,
    /// Inputs that reached the point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<usize>,
    /// Where the trials started, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// LL/SC: the store-conditional that failed after the trap.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub store_conditional: Option<ScFailure>,
    /// Transactions: the abort the trap caused.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<TrapAbort>,
    /// `none`, `fallback` or `fault`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// How `progress` was established.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Probe hits in the confirming trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<u32>,
    /// The confirming input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<WitnessEvidence>,
    /// How the trapped runs ended, when none confirmed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exits: Option<Vec<String>>,
}

/// The outcome of a finding's trials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A trial showed it.
    Confirmed,
    /// The trials showed it does not happen.
    Refuted,
    /// Reached, but no trial decided.
    Inconclusive,
    /// No input reached the point.
    #[default]
    Unreached,
}

/// An LL/SC trial's store-conditionals after the trap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScFailure {
    /// The store-conditional that failed.
    pub store_conditional: Hex,
    /// How often it failed after a trap.
    pub failed_attempts: usize,
    /// How often a store-conditional still stored after a trap.
    pub succeeded_after_trap: usize,
}

/// The transaction abort a trap caused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapAbort {
    /// Where the trap aborted it (absent when no abort of this begin).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub at: Option<AbortAt>,
    /// Aborts caused by traps in the run.
    pub aborts: usize,
}

/// Where and how a transaction aborted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortAt {
    /// Where the trap aborted it.
    pub abort_at: Hex,
    /// The architecture's status value (x86 EAX, arm64 Xt, POWER CR0).
    pub status: Hex,
    /// Whether the probe handler ran first.
    pub handler_ran: bool,
    /// Where execution resumed.
    pub resumed_at: Hex,
}

/// A reproducible trial: `{seed, case, start, registers}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessEvidence {
    /// The seed of the run.
    pub seed: u64,
    /// The case number.
    pub case: u64,
    /// Where execution started.
    pub start: Hex,
    /// The argument registers, by name (absent: generated from the seed
    /// and case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registers: Option<BTreeMap<String, String>>,
    /// Candidates `fuzz` tried while shrinking the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink_steps: Option<u32>,
}

/// `tail-call-exit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailCallEvidence {
    /// The jump out of the function.
    pub jump: Hex,
    /// Where it jumps; null for an indirect jump.
    pub target: Option<Hex>,
    /// A direct jump's symbol and DWARF call site, or an indirect jump's
    /// instruction.
    #[serde(flatten)]
    pub how: TailJump,
    /// What emulation saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<TailCallDynamic>,
}

/// The jump of a tail-call exit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TailJump {
    /// Through a register, or a jump table.
    Indirect {
        /// The instruction.
        instruction: String,
    },
    /// To a known address.
    Direct {
        /// The function jumped to, when known.
        target_symbol: Option<String>,
        /// Whether DWARF has a tail-call site there (null without DWARF).
        dwarf_call_site: Option<bool>,
    },
}

/// What emulation saw of a tail-call exit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailCallDynamic {
    /// `confirmed`, `refuted` or `unreached`.
    pub outcome: Outcome,
    /// The run that left through the point (when confirmed).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub left: Option<LeftThrough>,
}

/// A run that left the function through a tail-call exit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftThrough {
    /// Where the run returned.
    pub returned_at: Option<Hex>,
    /// The function it returned from.
    pub returned_in: Option<String>,
    /// How the run ended, when it did not return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// The input.
    pub witness: WitnessEvidence,
}

/// `non-progress-recursion` found by emulating the handler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecursionEvidence {
    /// From the point through the handler back to the point.
    pub chain: Vec<ChainStep>,
    /// Inputs tried.
    pub trials: usize,
    /// Inputs that reached the point.
    pub reached: usize,
    /// The input that re-entered.
    pub witness: WitnessEvidence,
}

/// One function on an emulated recursion's way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStep {
    /// The first block executed in it.
    pub address: Hex,
    /// `function+0x..`, when known.
    pub symbol: Option<String>,
}

/// Static `non-progress-recursion` and `missed-in-handler`: the probe
/// machinery's call graph reaches the point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineryEvidence {
    /// `trap` or `handler`.
    pub phase: String,
    /// The root of the call graph.
    pub root: String,
    /// The kernel source file the root comes from.
    pub root_source: String,
    /// From the root to the function.
    pub chain: Vec<MachineryLink>,
}

/// One function on the machinery's way to the point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineryLink {
    /// The function.
    pub symbol: String,
    /// The call or jump in the previous function.
    pub site: Option<Hex>,
    /// `call` or `tail-call`.
    pub edge: Option<String>,
}

/// `blacklisted-inline-copy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineCopyEvidence {
    /// The blacklisted function.
    pub origin: String,
    /// The function it is inlined into.
    pub caller: String,
    /// The inline instance's entry.
    pub entry: Hex,
    /// The start of its range that holds the point.
    pub start: Hex,
    /// The end of that range.
    pub end: Hex,
    /// Where it is called.
    pub call_file: Option<Arc<str>>,
    /// The call's line.
    pub call_line: Option<u64>,
}

/// `blacklisted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlacklistedEvidence {
    /// Which blacklist.
    pub source: String,
    /// The range's start.
    pub start: Hex,
    /// Its end.
    pub end: Hex,
    /// The symbol it was made from.
    pub symbol: Option<String>,
}

/// `not-instruction-boundary`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryEvidence {
    /// The architecture's instruction alignment.
    pub alignment: u64,
    /// The instruction that contains the address.
    pub instruction: Option<Hex>,
    /// Its text.
    pub text: Option<String>,
}

/// `undecodable-instruction`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndecodableEvidence {
    /// The bytes skipped.
    pub length: u8,
}

/// `unsteppable-instruction`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsteppableEvidence {
    /// The instruction's text.
    pub instruction: String,
    /// Why the kernel refuses it.
    pub reason: String,
}

/// `ifunc-resolver`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfuncEvidence {
    /// The resolver.
    pub function: String,
}

/// `past-symbol-size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastSizeEvidence {
    /// The function.
    pub symbol: String,
    /// Its ELF size.
    pub size: u64,
    /// The point's offset in it.
    pub offset: u64,
    /// The next symbol; null when the section ends first.
    pub next_symbol: Option<String>,
    /// Where the function's bytes end for kallsyms.
    pub extent_end: Hex,
}

/// `inlined-site`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinedSiteEvidence {
    /// The function the instances are inlined into.
    pub caller: String,
    /// The instances, from the outermost.
    pub chain: Vec<InlineFrame>,
    /// The innermost instance's parameters with a location (`check`; null
    /// in `scan`).
    pub params_with_location: Option<Vec<String>>,
    /// And those without.
    pub params_without_location: Option<Vec<String>>,
}

/// One inline instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineFrame {
    /// The inlined function.
    pub function: Arc<str>,
    /// Its entry.
    pub entry: Hex,
    /// Where it is called.
    pub call_file: Option<Arc<str>>,
    /// The call's line.
    pub call_line: Option<u64>,
}

/// `multiple-views`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewsEvidence {
    /// The views.
    pub views: Vec<View>,
}

/// One source view of an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The function.
    pub function: Arc<str>,
    /// The file.
    pub file: Option<Arc<str>>,
    /// The line.
    pub line: Option<u64>,
}

impl View {
    /// `FUNCTION FILE:LINE` (`?` for no file, `null` for no line).
    pub fn text(&self) -> String {
        format!(
            "{} {}:{}",
            self.function,
            self.file.as_deref().unwrap_or("?"),
            self.line
                .map_or_else(|| "null".to_owned(), |l| l.to_string())
        )
    }
}

/// No evidence (`{}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoEvidence {}

impl Evidence for LlscEvidence {}
impl Evidence for TmEvidence {}
impl Evidence for TailCallEvidence {}
impl Evidence for RecursionEvidence {}
impl Evidence for MachineryEvidence {}
impl Evidence for InlineCopyEvidence {}
impl Evidence for BlacklistedEvidence {}
impl Evidence for BoundaryEvidence {}
impl Evidence for UndecodableEvidence {}
impl Evidence for UnsteppableEvidence {}
impl Evidence for IfuncEvidence {}
impl Evidence for PastSizeEvidence {}
impl Evidence for InlinedSiteEvidence {}
impl Evidence for ViewsEvidence {}
impl Evidence for WriteEvidence {}
impl Evidence for BalanceEvidence {}
impl Evidence for NoEvidence {}
impl Evidence for WitnessEvidence {}

/// Whether emulation added its part to a finding's evidence (`dynamic`:
/// an LL/SC window, a transaction, a tail-call exit).
pub fn has_dynamic_part(finding: &Finding) -> bool {
    LlscEvidence::of(finding).is_some_and(|e| e.dynamic.is_some())
        || TmEvidence::of(finding).is_some_and(|e| e.dynamic.is_some())
        || TailCallEvidence::of(finding).is_some_and(|e| e.dynamic.is_some())
}

mod write;
pub use write::{
    BalanceEvidence, BalanceInput, BalanceReference, LocationChanged, LocationText, WriteEvidence,
    WriteReference,
};

#[cfg(test)]
mod tests;
