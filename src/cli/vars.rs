//! `probesafe vars`: the variables in scope at each point, with every DWARF
//! location they have there.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use probesafe::analyze::{Analyzer, Selection};
use probesafe::debuginfo::{DebugInfo, Variable};
use probesafe::hazard::Blacklist;
use probesafe::load::Binary;
use probesafe::report::{hex, BinaryInfo, Tool, Unresolved};
use probesafe::Error;

use super::specs::Specs;

/// The `vars` report.
#[derive(Serialize)]
struct VarsReport {
    tool: Tool,
    binary: BinaryInfo,
    debug_file: String,
    points: Vec<VarsPoint>,
    /// The specs that named no point (absent when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unresolved: Vec<Unresolved>,
}

#[derive(Serialize)]
struct VarsPoint {
    address: String,
    symbol: String,
    offset: u64,
    file: Option<String>,
    line: Option<u32>,
    inline_chain: Vec<String>,
    variables: Vec<Variable>,
}

/// The report of the specs that resolve; each one that does not gets a
/// line on stderr and a place in the JSON's `unresolved` list.
pub(super) fn run(
    binary: &Binary,
    debug_file: Option<&Path>,
    specs: &mut Specs,
    json: bool,
) -> Result<String> {
    let debug = DebugInfo::load(binary, debug_file)?.ok_or_else(|| Error::NoDebugInfo {
        path: binary.path.clone(),
        spec: "vars".into(),
    })?;
    let debug = Arc::new(debug);
    let analyzer = Analyzer::new(binary, Blacklist::default()).with_debug_info(Some(debug.clone()));
    let mut selection = Selection::default();
    specs.select(&analyzer, &mut selection);
    specs.print_unresolved();
    let mut points = Vec::new();
    for p in analyzer.run(&selection, None)? {
        let addr = p.address_value();
        let row = debug.row_for(addr);
        points.push(VarsPoint {
            address: hex(addr),
            symbol: p.symbol,
            offset: p.offset,
            file: row.map(|r| debug.file(r).to_owned()),
            line: row.map(|r| r.line),
            inline_chain: debug
                .inline_chain(addr)
                .iter()
                .map(|i| i.name.to_string())
                .collect(),
            variables: debug.variables_at(addr),
        });
    }
    let report = VarsReport {
        tool: Tool::default(),
        binary: BinaryInfo {
            path: binary.path.display().to_string(),
            arch: binary.arch.name().to_owned(),
            build_id: binary.build_id_hex(),
        },
        debug_file: debug.source.display().to_string(),
        points,
        unresolved: specs.unresolved(),
    };
    if json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
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
    Ok(out)
}
