//! `probesafe confirm`: gray candidates through every dynamic check that
//! applies, and what changed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use probesafe::analyze::balance::balanced_patterns;
use probesafe::debuginfo::DebugInfo;
use probesafe::hazard::{Analyzer, Selection};
use probesafe::load::Binary;
use probesafe::point::{PointSpec, Probe};
use probesafe::report::confirm::{self, Confirmation};
use probesafe::report::{combine, FindingKind, Layout, Report, Tool, Verdict};
use probesafe::Error;

use super::analyse::dynamic_extras;
use super::args::{Common, ConfirmArgs, Format};
use super::deliver::{deliver, exit_status, threshold, wants_report, Delivery};
use super::output::emit;
use super::setup::{self, analyzer, binary_info, Hex};
use super::specs::Specs;

pub fn run(args: ConfirmArgs) -> Result<ExitCode> {
    let ConfirmArgs {
        binary,
        candidates,
        common,
    } = args;
    let binary = setup::open(&binary, common.expect_build_id.as_deref())?;
    let binary = &binary;
    let common = &common;
    // The candidates, their verdicts before, and the functions whose
    // .call/.return balance applies.
    let (mut specs, before, balanced) = read_candidates(binary, &candidates, common)?;
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
    let changes = confirm::changes(&report.points, &before);
    let summary = confirm::summary(&changes);
    let text = match common.format {
        // The point report of the candidates after the checks.
        Format::Sarif | Format::Junit => {
            let code = deliver(
                report,
                analyzer.debug_info(),
                &Delivery::of(common, Layout::Points),
            )?;
            return Ok(exit_status(code, &unresolved));
        }
        Format::Json => confirm::to_json(&Confirmation {
            tool: Tool::default(),
            binary: binary_info(binary),
            source: candidates.display().to_string(),
            points: &changes,
            summary: summary.clone(),
            unresolved: &unresolved,
        })?,
        // The table: confirm has no streamed form, so JSON Lines and the
        // blacklist form print the table too.
        Format::Text | Format::Jsonl | Format::Blacklist => {
            confirm::render_text(&binary_info(binary), &changes, &summary, &unresolved)
        }
    };
    emit(common.output.as_deref(), &text)?;
    let code = match common.fail_on.map(threshold) {
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
        if let Some(expected) = &report.binary.build_id {
            setup::pin_build_id(binary, expected, Hex::AsWritten)?;
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
    let blacklist = setup::blacklist(binary, &common.blacklist)?;
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
