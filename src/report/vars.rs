//! The `vars` report: the variables in scope at each point, with every
//! DWARF location they have there (JSON, or one block of lines per point).

use std::fmt::Write;

use serde::Serialize;

use super::{BinaryInfo, Tool, Unresolved};
use crate::debuginfo::Variable;

/// The `vars` report.
#[derive(Serialize)]
pub struct VarsReport {
    /// The tool that wrote it.
    pub tool: Tool,
    /// The binary.
    pub binary: BinaryInfo,
    /// The file the DWARF came from.
    pub debug_file: String,
    /// The points that resolved.
    pub points: Vec<VarsPoint>,
    /// The specs that named no point (absent when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Unresolved>,
}

/// One point of the `vars` report.
#[derive(Serialize)]
pub struct VarsPoint {
    /// `0x...`.
    pub address: String,
    /// The function that contains it.
    pub symbol: String,
    /// Byte offset from the function's first instruction.
    pub offset: u64,
    /// Its source file, if the line table has it.
    pub file: Option<String>,
    /// Its source line.
    pub line: Option<u32>,
    /// The inlined functions it is in, outermost first.
    pub inline_chain: Vec<String>,
    /// The variables and parameters in scope.
    pub variables: Vec<Variable>,
}

/// The text form: the point and its line, then one line per variable.
pub fn render_text(report: &VarsReport) -> String {
    let mut out = String::new();
    for p in &report.points {
        let _ = write!(out, "{} {}+{:#x}", p.address, p.symbol, p.offset);
        if let (Some(f), Some(l)) = (&p.file, p.line) {
            let _ = write!(out, " at {f}:{l}");
        }
        if !p.inline_chain.is_empty() {
            let _ = write!(out, " (inlined: {})", p.inline_chain.join(" > "));
        }
        let _ = writeln!(out);
        if p.variables.is_empty() {
            let _ = writeln!(out, "  no variables in scope");
        }
        for v in &p.variables {
            let kind = if v.parameter { "param" } else { "var" };
            let locations: Vec<String> = v
                .locations
                .iter()
                .map(|l| {
                    let range = l
                        .range
                        .map(|(a, b)| format!(" [{a:#x}-{b:#x})"))
                        .unwrap_or_default();
                    format!(
                        "{} {}{range}",
                        serde_json::to_value(l.kind)
                            .ok()
                            .and_then(|k| k.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        l.text
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  {kind:<5} {:<16} in {:<20} {}",
                v.name,
                v.scope,
                locations.join("; ")
            );
        }
    }
    for u in &report.unresolved {
        let _ = writeln!(out, "unresolved {}: {}", u.spec, u.error);
    }
    out
}
