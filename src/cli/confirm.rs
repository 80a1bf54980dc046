//! `probesafe confirm`: gray candidates through every dynamic check that
//! applies, and what changed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use probesafe::debuginfo::DebugInfo;
use probesafe::hazard::{Analyzer, Blacklist, Selection};
use probesafe::load::Binary;
use probesafe::point::{PointSpec, Probe};
use probesafe::report::{
    combine, hex, Confirmed, Finding, FindingKind, Layout, Report, Tool, Unresolved, Verdict,
};
use probesafe::Error;

use super::args::{Common, FailOn, ReportFormat};
use super::commands::{
    analyzer, balanced_patterns, binary_info, deliver, dynamic_extras, exit_status, wants_report,
    Delivery,
};
use super::output::emit;
use super::specs::Specs;

/// One candidate's before and after.
#[derive(Debug, Serialize)]
struct Change {
    address: String,
    symbol: String,
    offset: u64,
    before: Verdict,
    after: Verdict,
    /// `confirmed hazardous`, `confirmed safe`, `still gray` or `undecided`.
    status: &'static str,
    /// The findings the dynamic checks established.
    evidence: Vec<Finding>,
}

#[derive(Debug, Serialize)]
struct Confirmation<'a> {
    tool: Tool,
    binary: probesafe::report::BinaryInfo,
    source: String,
    points: &'a [Change],
    summary: BTreeMap<&'static str, usize>,
    /// The specs that named no point (absent when there is none).
    #[serde(skip_serializing_if = "<[Unresolved]>::is_empty")]
    unresolved: &'a [Unresolved],
}

pub(super) fn run(binary: &Binary, candidates: &Path, common: &Common) -> Result<ExitCode> {
    // The candidates, their verdicts before, and the functions whose
    // .call/.return balance applies.
    let (mut specs, before, balanced) = read_candidates(binary, candidates, common)?;
    let mut common_dynamic = common.clone();
    common_dynamic.static_only = false;
    let analyzer = analyzer(binary, &common_dynamic, true, None)?;
    let mut selection = Selection::default();
    specs.select(&analyzer, &mut selection);
    specs.print_unresolved();
    let unresolved = specs.unresolved();
    let mut points = analyzer.run(&selection, common.jobs.map(usize::from))?;
    dynamic_extras(binary, &analyzer, &mut points, &balanced, &common_dynamic)?;
    let report = Report::new(binary_info(binary), points).with_unresolved(unresolved.clone());
    if !wants_report(!selection.is_empty(), &unresolved, common) {
        return Ok(exit_status(ExitCode::SUCCESS, &unresolved));
    }
    if matches!(common.format, ReportFormat::Sarif | ReportFormat::Junit) {
        let code = deliver(
            report,
            analyzer.debug_info(),
            &Delivery::of(common, Layout::Points),
        )?;
        return Ok(exit_status(code, &unresolved));
    }
    let changes: Vec<Change> = report
        .points
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
                        f.confirmed == Confirmed::Dynamic
                            || probesafe::report::evidence::has_dynamic_part(f)
                    })
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    let mut summary = BTreeMap::new();
    for status in [
        "confirmed hazardous",
        "confirmed safe",
        "still gray",
        "undecided",
    ] {
        summary.insert(
            status,
            changes.iter().filter(|c| c.status == status).count(),
        );
    }
    let text = match common.format {
        ReportFormat::Json => {
            serde_json::to_string_pretty(&Confirmation {
                tool: Tool::default(),
                binary: binary_info(binary),
                source: candidates.display().to_string(),
                points: &changes,
                summary: summary.clone(),
                unresolved: &unresolved,
            })? + "\n"
        }
        _ => render(binary, &changes, &summary, &unresolved),
    };
    emit(common.output.as_deref(), &text)?;
    let threshold = common.fail_on.map(|f| match f {
        FailOn::Gray => Verdict::Gray,
        FailOn::Hazardous => Verdict::Hazardous,
    });
    let code = match threshold {
        Some(t) if report.worst() >= t => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    };
    Ok(exit_status(code, &unresolved))
}

type Candidates = (Specs, BTreeMap<u64, Verdict>, Vec<String>);

/// A JSON report's gray and unknown points (its `tail-call-exit` points
/// also get their function's entry/return balance), or a spec file's
/// points with their static verdicts.
fn read_candidates(binary: &Binary, path: &Path, common: &Common) -> Result<Candidates> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    if text.trim_start().starts_with('{') {
        let report = combine::read_report(path)?;
        if report.binary.build_id.is_some() && report.binary.build_id != binary.build_id_hex() {
            return Err(Error::BuildIdMismatch {
                path: binary.path.clone(),
                expected: report.binary.build_id.clone().unwrap_or_default(),
                actual: binary.build_id_hex().unwrap_or_else(|| "none".into()),
            }
            .into());
        }
        let mut specs = Vec::new();
        let mut before = BTreeMap::new();
        let mut balanced = Vec::new();
        for p in &report.points {
            if !matches!(p.verdict, Verdict::Gray | Verdict::Unknown) {
                continue;
            }
            let addr = p.address_value();
            specs.push(PointSpec::Address(addr));
            before.insert(addr, p.verdict);
            if p.findings
                .iter()
                .any(|f| f.kind == FindingKind::TailCallExit)
            {
                if let Some(f) = binary.function_at(addr) {
                    specs.push(PointSpec::Address(f.entry));
                    balanced.push(f.name.clone());
                }
            }
        }
        balanced.sort();
        balanced.dedup();
        return Ok((Specs::of(specs), before, balanced));
    }
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i, l.to_owned()))
        .collect();
    let mut parsed = Specs::parse_lines(path, &lines);
    // Their static verdicts; the specs that do not resolve are set aside
    // here, and reported by the caller.
    let debug = DebugInfo::load(binary, common.debug_file.as_deref())?.map(Arc::new);
    let mut blacklist = Blacklist::of(binary);
    for file in &common.blacklist {
        blacklist.add_file(file)?;
    }
    let stat = Analyzer::new(binary, blacklist)
        .with_debug_info(debug)
        .with_detail(true);
    let mut selection = Selection::default();
    parsed.select(&stat, &mut selection);
    let specs = parsed.specs();
    let mut balanced = balanced_patterns(&specs);
    // A `.return` alone still gets its balance: add its `.call`.
    let mut extra = Vec::new();
    for s in &specs {
        if let PointSpec::Function {
            pattern,
            file,
            probe: Probe::Return,
        } = s
        {
            if !balanced.contains(pattern) {
                balanced.push(pattern.clone());
                extra.push(PointSpec::Function {
                    pattern: pattern.clone(),
                    file: file.clone(),
                    probe: Probe::Call,
                });
            }
        }
    }
    // The `.call` of a `.return` that resolved resolves too.
    stat.select_each(&mut selection, &extra);
    parsed.extend(extra);
    let before = stat
        .run(&selection, common.jobs.map(usize::from))?
        .iter()
        .map(|p| (p.address_value(), p.verdict))
        .collect();
    Ok((parsed, before, balanced))
}

fn render(
    binary: &Binary,
    changes: &[Change],
    summary: &BTreeMap<&'static str, usize>,
    unresolved: &[Unresolved],
) -> String {
    let mut out = format!(
        "{} ({}, build-id {})\n",
        binary.path.display(),
        binary.arch.name(),
        binary.build_id_hex().unwrap_or_else(|| "none".into())
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

impl Change {
    fn address_value(&self) -> u64 {
        probesafe::report::parse_address(&self.address).unwrap_or(0)
    }
}
