//! The human-readable report: a table, a summary line, and a line per
//! point spec that named no point.

use std::fmt::Write;

use super::{Point, Report, Verdict};

/// How to lay the table out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One row per point, every finding's detail below it (`check`).
    Points,
    /// Runs of consecutive points in one function with the same findings
    /// folded into one row (`scan`).
    Ranges,
}

/// Render a report as text. In the `Points` layout every point is listed
/// (the user named them); in the `Ranges` layout safe points are only
/// counted unless `all` is set.
pub fn render_text(report: &Report, layout: Layout, all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, build-id {})",
        report.binary.path,
        report.binary.arch,
        report.binary.build_id.as_deref().unwrap_or("none")
    );
    let shown: Vec<&Point> = report
        .points
        .iter()
        .filter(|p| all || layout == Layout::Points || p.verdict != Verdict::Safe)
        .collect();
    let mut rows: Vec<(String, String, &Point)> = Vec::new(); // (address, point, first point)
    let mut i = 0;
    while i < shown.len() {
        let first = shown[i];
        let mut last = i;
        if layout == Layout::Ranges {
            while last + 1 < shown.len()
                && same_findings(shown[last], shown[last + 1])
                && shown[last + 1].symbol == first.symbol
            {
                last += 1;
            }
        }
        let (address, at) = if last == i {
            (
                first.address.clone(),
                format!("{}+{:#x}", first.symbol, first.offset),
            )
        } else {
            let end = shown[last];
            (
                format!("{}..{}", first.address, end.address),
                format!("{}+{:#x}..+{:#x}", first.symbol, first.offset, end.offset),
            )
        };
        rows.push((address, at, first));
        i = last + 1;
    }
    if !rows.is_empty() {
        let aw = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(7);
        let pw = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(5);
        let _ = writeln!(
            out,
            "{:<aw$}  {:<pw$}  {:<9}  FINDINGS",
            "ADDRESS", "POINT", "VERDICT"
        );
        for (address, at, p) in rows {
            let kinds: Vec<&str> = p.findings.iter().map(|f| f.kind.name()).collect();
            let kinds = if kinds.is_empty() {
                "-".to_owned()
            } else {
                kinds.join(",")
            };
            let _ = writeln!(
                out,
                "{address:<aw$}  {at:<pw$}  {:<9}  {kinds}",
                p.verdict.name()
            );
            for f in &p.findings {
                let _ = writeln!(out, "{:<aw$}  {:<pw$}  {:<9}    {}", "", "", "", f.detail);
            }
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} points: {} safe, {} gray, {} hazardous, {} unknown",
        report.points.len(),
        s.safe,
        s.gray,
        s.hazardous,
        s.unknown
    );
    for u in &report.unresolved {
        let _ = writeln!(out, "unresolved {}: {}", u.spec, u.error);
    }
    out
}

fn same_findings(a: &Point, b: &Point) -> bool {
    a.verdict == b.verdict
        && a.findings.len() == b.findings.len()
        && a.findings
            .iter()
            .zip(&b.findings)
            .all(|(x, y)| x.kind == y.kind && x.detail == y.detail)
}
