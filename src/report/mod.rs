//! The report: one entry per point with its verdict and findings.
//!
//! The JSON form is the contract every feature extends; it is documented in
//! docs/report-schema.md and pinned by a test. Addresses are hex strings
//! because kernel addresses do not fit a JSON double.

pub mod combine;
pub mod confirm;
pub mod diff;
pub mod evidence;
pub mod fold;
pub mod junit;
mod kinds;
pub mod sarif;
pub mod selftest;
pub mod stream;
mod text;
pub mod vars;

use serde::{Deserialize, Serialize};

pub use kinds::{FindingKind, KindInfo, ALL_KINDS, KINDS};
pub use text::{render_text, Layout};

/// Where on the spectrum of safety a point falls. Ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing found: a probe here is expected to behave.
    Safe,
    /// It could not be decided (emulation limit).
    Unknown,
    /// It depends: inlining, tail calls, debug-info locations.
    Gray,
    /// A probe here breaks the program or the kernel.
    Hazardous,
}

impl Verdict {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Unknown => "unknown",
            Verdict::Gray => "gray",
            Verdict::Hazardous => "hazardous",
        }
    }
}

/// How a finding was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confirmed {
    /// From decoding, control flow and tables.
    Static,
    /// Observed in emulation.
    Dynamic,
}

/// One finding at a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// How it was established.
    pub confirmed: Confirmed,
    /// One sentence.
    pub detail: String,
    /// Machine-readable evidence; its fields depend on the kind.
    pub evidence: serde_json::Map<String, serde_json::Value>,
}

impl Finding {
    /// A finding with this evidence (one of [`evidence`]'s structs).
    pub fn new(
        kind: FindingKind,
        confirmed: Confirmed,
        detail: impl Into<String>,
        evidence: &impl serde::Serialize,
    ) -> Finding {
        Finding {
            kind,
            confirmed,
            detail: detail.into(),
            evidence: evidence::to_map(evidence),
        }
    }

    /// A static finding.
    pub fn new_static(
        kind: FindingKind,
        detail: impl Into<String>,
        evidence: impl serde::Serialize,
    ) -> Finding {
        Finding::new(kind, Confirmed::Static, detail, &evidence)
    }

    /// Replace the evidence.
    pub fn set_evidence(&mut self, evidence: &impl serde::Serialize) {
        self.evidence = evidence::to_map(evidence);
    }
}

/// The tool that wrote the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Always `probesafe`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Tool {
        Tool {
            name: "probesafe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The binary a report is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryInfo {
    /// The path given on the command line.
    pub path: String,
    /// `x86_64`, `aarch64`, `ppc64` or `ppc64le`.
    pub arch: String,
    /// The GNU build-id in hex, or null.
    pub build_id: Option<String>,
}

/// One point: an address and what a probe there would meet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// `0x...`.
    pub address: String,
    /// The function that contains it.
    pub symbol: String,
    /// Byte offset from the function's first instruction.
    pub offset: u64,
    /// The worst of the findings' severities; `safe` without findings.
    pub verdict: Verdict,
    /// What was found, in a stable order.
    pub findings: Vec<Finding>,
}

impl Point {
    /// The address as a number.
    pub fn address_value(&self) -> u64 {
        parse_address(&self.address).unwrap_or(0)
    }

    /// Recompute the verdict from the findings.
    pub fn settle(&mut self) {
        self.findings
            .sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.detail.cmp(&b.detail)));
        self.findings.dedup();
        self.verdict = verdict_of(&self.findings);
    }
}

/// The worst severity of the findings (safe < unknown < gray < hazardous).
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    findings
        .iter()
        .map(|f| f.kind.severity())
        .max()
        .unwrap_or(Verdict::Safe)
}

/// A point spec that named no point: the spec as given and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unresolved {
    /// The spec as given (a spec-file line keeps its text).
    pub spec: String,
    /// The error, as the one line printed on stderr says it.
    pub error: String,
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Safe points.
    pub safe: u64,
    /// Gray points.
    pub gray: u64,
    /// Hazardous points.
    pub hazardous: u64,
    /// Undecided points.
    pub unknown: u64,
}

impl Summary {
    /// Count `n` points of `verdict`.
    pub fn count(&mut self, verdict: Verdict, n: u64) {
        match verdict {
            Verdict::Safe => self.safe += n,
            Verdict::Gray => self.gray += n,
            Verdict::Hazardous => self.hazardous += n,
            Verdict::Unknown => self.unknown += n,
        }
    }
}

/// A whole report. It is written per point by [`Report::to_json`]; it
/// reads every JSON form (per point, or with runs of points folded into
/// `range` entries, which are expanded back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "fold::RawReport")]
pub struct Report {
    /// The tool.
    pub tool: Tool,
    /// The binary.
    pub binary: BinaryInfo,
    /// The points, by address.
    pub points: Vec<Point>,
    /// Counts per verdict.
    pub summary: Summary,
    /// The specs that could not be resolved (the run exits 2); absent when
    /// every spec named a point.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Unresolved>,
}

impl Report {
    /// A report over `points`, sorted by address, with its summary.
    pub fn new(binary: BinaryInfo, mut points: Vec<Point>) -> Report {
        points.sort_by_key(Point::address_value);
        let mut summary = Summary::default();
        for p in &points {
            summary.count(p.verdict, 1);
        }
        Report {
            tool: Tool::default(),
            binary,
            points,
            summary,
            unresolved: Vec::new(),
        }
    }

    /// The report with these unresolved specs.
    pub fn with_unresolved(mut self, unresolved: Vec<Unresolved>) -> Report {
        self.unresolved = unresolved;
        self
    }

    /// The worst verdict of any point.
    pub fn worst(&self) -> Verdict {
        self.points
            .iter()
            .map(|p| p.verdict)
            .max()
            .unwrap_or(Verdict::Safe)
    }

    /// The JSON text, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a report always serializes");
        s.push('\n');
        s
    }
}

/// Format an address as the report does.
pub fn hex(addr: u64) -> String {
    format!("{addr:#x}")
}

/// Parse `0x...`.
pub fn parse_address(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}
