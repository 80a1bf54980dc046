//! The `confirm` report: each gray candidate's verdict before and after
//! the dynamic checks, with the evidence they established (JSON, or a
//! table and a summary line).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{hex, BinaryInfo, Confirmed, Finding, Point, Tool, Unresolved, Verdict};

/// The statuses, in the order of the summary.
pub const STATUSES: [&str; 4] = [
    "confirmed hazardous",
    "confirmed safe",
    "still gray",
    "undecided",
];

/// One candidate's before and after.
#[derive(Debug, Serialize)]
pub struct Change {
    /// `0x...`.
    pub address: String,
    /// The function that contains it.
    pub symbol: String,
    /// Byte offset from the function's first instruction.
    pub offset: u64,
    /// The verdict before the dynamic checks.
    pub before: Verdict,
    /// The verdict after them.
    pub after: Verdict,
    /// `confirmed hazardous`, `confirmed safe`, `still gray` or `undecided`.
    pub status: &'static str,
    /// The findings the dynamic checks established.
    pub evidence: Vec<Finding>,
}

impl Change {
    fn address_value(&self) -> u64 {
        super::parse_address(&self.address).unwrap_or(0)
    }
}

/// The whole confirmation (its JSON form).
#[derive(Debug, Serialize)]
pub struct Confirmation<'a> {
    /// The tool that wrote it.
    pub tool: Tool,
    /// The binary.
    pub binary: BinaryInfo,
    /// Where the candidates came from.
    pub source: String,
    /// The candidates.
    pub points: &'a [Change],
    /// How many candidates have each status.
    pub summary: BTreeMap<&'static str, usize>,
    /// The specs that named no point (absent when there is none).
    #[serde(skip_serializing_if = "<[Unresolved]>::is_empty")]
    pub unresolved: &'a [Unresolved],
}

/// Each point after the dynamic checks against its verdict before (its own
/// when `before` has none).
pub fn changes(points: &[Point], before: &BTreeMap<u64, Verdict>) -> Vec<Change> {
    points
        .iter()
        .map(|p| {
            let before = before.get(&p.address_value()).copied().unwrap_or(p.verdict);
            let status = match p.verdict {
                Verdict::Hazardous => "confirmed hazardous",
                Verdict::Safe => "confirmed safe",
                Verdict::Gray => "still gray",
                Verdict::Unknown => "undecided",
            };
            Change {
                address: p.address.clone(),
                symbol: p.symbol.clone(),
                offset: p.offset,
                before,
                after: p.verdict,
                status,
                evidence: p
                    .findings
                    .iter()
                    .filter(|f| {
                        f.confirmed == Confirmed::Dynamic || super::evidence::has_dynamic_part(f)
                    })
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// How many changes have each status (every status, zero or not).
pub fn summary(changes: &[Change]) -> BTreeMap<&'static str, usize> {
    let mut summary = BTreeMap::new();
    for status in STATUSES {
        summary.insert(
            status,
            changes.iter().filter(|c| c.status == status).count(),
        );
    }
    summary
}

/// The JSON form.
pub fn to_json(confirmation: &Confirmation<'_>) -> serde_json::Result<String> {
    Ok(serde_json::to_string_pretty(confirmation)? + "\n")
}

/// The text form: the binary, a table of the candidates with their
/// evidence, the summary line and the unresolved specs.
pub fn render_text(
    binary: &BinaryInfo,
    changes: &[Change],
    summary: &BTreeMap<&'static str, usize>,
    unresolved: &[Unresolved],
) -> String {
    let mut out = format!(
        "{} ({}, build-id {})\n",
        binary.path,
        binary.arch,
        binary.build_id.as_deref().unwrap_or("none")
    );
    let _ = writeln!(
        out,
        "{:<12} {:<28} {:<10} {:<10} STATUS",
        "ADDRESS", "POINT", "BEFORE", "AFTER"
    );
    for c in changes {
        let _ = writeln!(
            out,
            "{:<12} {:<28} {:<10} {:<10} {}",
            hex(c.address_value()),
            format!("{}+{:#x}", c.symbol, c.offset),
            c.before.name(),
            c.after.name(),
            c.status
        );
        for f in &c.evidence {
            let _ = writeln!(out, "{:13}{}: {}", "", f.kind.name(), f.detail);
        }
    }
    let _ = writeln!(
        out,
        "{} candidates: {} confirmed hazardous, {} confirmed safe, {} still gray, {} undecided",
        changes.len(),
        summary["confirmed hazardous"],
        summary["confirmed safe"],
        summary["still gray"],
        summary["undecided"]
    );
    for u in unresolved {
        let _ = writeln!(out, "unresolved {}: {}", u.spec, u.error);
    }
    out
}
