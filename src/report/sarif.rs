//! SARIF 2.1.0: one rule per finding kind, one result per finding, the
//! verdict as the level (hazardous: `error`, gray: `warning`, unknown:
//! `note`), located at the source line when DWARF has one and at the binary
//! and address otherwise.

use serde_json::{json, Value};

use super::{Report, Verdict, KINDS};

/// A source place for an address: (file, line).
pub type LineLookup<'a> = &'a dyn Fn(u64) -> Option<(String, u64)>;

/// The SARIF level of a verdict.
fn level(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Hazardous => "error",
        Verdict::Gray => "warning",
        Verdict::Unknown => "note",
        Verdict::Safe => "none",
    }
}

fn camel(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The report as a SARIF 2.1.0 log, pretty-printed with a final newline;
/// `folded`: a run of points with the same findings (a `range` entry of
/// the folded JSON) gives one result per finding, at its first point.
pub fn to_sarif(report: &Report, lines: LineLookup<'_>, folded: bool) -> String {
    let rules: Vec<Value> = KINDS
        .iter()
        .map(|row| {
            json!({
                "id": row.name,
                "name": camel(row.name),
                "shortDescription": { "text": row.short },
                "fullDescription": { "text": row.full },
                "help": { "text": row.help },
                "defaultConfiguration": { "level": level(row.severity) },
                "properties": { "severity": row.severity.name() },
            })
        })
        .collect();
    let mut results = Vec::new();
    let runs = if folded {
        super::fold::runs(&report.points)
    } else {
        (0..report.points.len()).map(|i| (i, i + 1)).collect()
    };
    for (i, j) in runs {
        let point = &report.points[i];
        let last = &report.points[j - 1];
        let addr = point.address_value();
        let (at, place) = if j - i == 1 {
            (
                point.address.clone(),
                format!("{}+{:#x}", point.symbol, point.offset),
            )
        } else {
            (
                format!("{}..{}", point.address, last.address),
                format!(
                    "{}+{:#x}..+{:#x}, {} points",
                    point.symbol,
                    point.offset,
                    last.offset,
                    j - i
                ),
            )
        };
        let mut physical = json!({
            "artifactLocation": { "uri": report.binary.path },
            "address": {
                "absoluteAddress": addr,
                "name": format!("{}+{:#x}", point.symbol, point.offset),
                "kind": "instruction",
            },
        });
        if let Some((file, line)) = lines(addr).filter(|(_, l)| *l > 0) {
            physical["artifactLocation"] = json!({ "uri": file });
            physical["region"] = json!({ "startLine": line });
        }
        for finding in &point.findings {
            let rule_index = finding.kind as usize;
            let mut result = json!({
                "ruleId": finding.kind.name(),
                "ruleIndex": rule_index,
                "level": level(finding.kind.severity()),
                "message": { "text": format!("{} at {at} ({place}): {}", finding.kind.name(), finding.detail) },
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{ "fullyQualifiedName": point.symbol, "kind": "function" }],
                }],
                "properties": {
                    "address": point.address,
                    "verdict": point.verdict.name(),
                    "confirmed": finding.confirmed,
                    "evidence": finding.evidence,
                },
            });
            if j - i > 1 {
                result["properties"]["range"] =
                    json!({ "first": point.address, "last": last.address, "count": j - i });
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "informationUri": "https://github.com/probesafe/probesafe",
                "rules": rules,
            }},
            "artifacts": [{ "location": { "uri": report.binary.path }, "roles": ["analysisTarget"] }],
            "results": results,
            "invocations": [{
                "executionSuccessful": report.unresolved.is_empty(),
                "toolExecutionNotifications": report.unresolved.iter().map(|u| json!({
                    "level": "error",
                    "message": { "text": format!("{}: {}", u.spec, u.error) },
                    "descriptor": { "id": "unresolved-spec" },
                    "properties": { "spec": u.spec, "error": u.error },
                })).collect::<Vec<Value>>(),
            }],
            "properties": {
                "arch": report.binary.arch,
                "build_id": report.binary.build_id,
                "summary": report.summary,
            },
        }],
    });
    serde_json::to_string_pretty(&log).expect("SARIF always serializes") + "\n"
}
