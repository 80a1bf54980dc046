//! Reports from several runs: merging shard reports into the report of the
//! unsharded run, and comparing a run with a baseline.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{Point, Report, Verdict};
use crate::error::{Error, Result};

/// Read a JSON report in any of its forms: per point, folded (ranges are
/// expanded), with `--min-verdict`, or JSON Lines.
pub fn read_report(path: &Path) -> Result<Report> {
    let text = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| Error::BadReport {
        path: path.to_owned(),
        reason,
    };
    // JSON Lines: the first line is a whole object, and more lines follow.
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let more = text[first.len()..].iter().any(|b| !b.is_ascii_whitespace());
    if more
        && first.starts_with(b"{\"")
        && serde_json::from_slice::<serde::de::IgnoredAny>(first).is_ok()
    {
        let text = std::str::from_utf8(&text).map_err(|e| bad(e.to_string()))?;
        return super::fold::read_jsonl(text).map_err(bad);
    }
    serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))
}

/// Merge the reports of the shards of one run (same binary: architecture
/// and build-id; the first report's path is kept). A point found in two
/// reports must be identical in both. The summary is recomputed, so the
/// result is byte for byte the report of the unsharded run.
pub fn merge(reports: Vec<(PathBuf, Report)>) -> Result<Report> {
    let mut iter = reports.into_iter();
    let Some((_, first)) = iter.next() else {
        return Err(Error::Incompatible {
            path: PathBuf::from("-"),
            reason: "no report to merge".into(),
        });
    };
    let binary = first.binary.clone();
    let mut points: BTreeMap<u64, Point> = BTreeMap::new();
    let mut add = |path: &Path, report: Report| -> Result<()> {
        if (&report.binary.arch, &report.binary.build_id) != (&binary.arch, &binary.build_id) {
            return Err(Error::Incompatible {
                path: path.to_owned(),
                reason: format!(
                    "about {} build-id {}, not {} build-id {} like the first report",
                    report.binary.arch,
                    report.binary.build_id.as_deref().unwrap_or("none"),
                    binary.arch,
                    binary.build_id.as_deref().unwrap_or("none")
                ),
            });
        }
        if report.tool != first.tool {
            return Err(Error::Incompatible {
                path: path.to_owned(),
                reason: format!(
                    "written by {} {}, not {}",
                    report.tool.name, report.tool.version, first.tool.version
                ),
            });
        }
        for p in report.points {
            let addr = p.address_value();
            match points.get(&addr) {
                Some(q) if *q != p => {
                    return Err(Error::Incompatible {
                        path: path.to_owned(),
                        reason: format!(
                            "point {} differs from the same point in an earlier report (another seed or options?)",
                            p.address
                        ),
                    })
                }
                _ => {
                    points.insert(addr, p);
                }
            }
        }
        Ok(())
    };
    // Every shard resolves every spec: the same unresolved specs, once.
    let mut unresolved = first.unresolved.clone();
    add(Path::new("-"), first.clone())?;
    for (path, report) in iter {
        for u in &report.unresolved {
            if !unresolved.contains(u) {
                unresolved.push(u.clone());
            }
        }
        add(&path, report)?;
    }
    Ok(Report::new(binary, points.into_values().collect()).with_unresolved(unresolved))
}

/// The points of `current` whose verdict is worse than at the same point of
/// `baseline` (matched by function and offset, so that a rebuild that
/// moves code still matches, then by address). A point the baseline does
/// not have counts as safe there.
pub fn regressions(baseline: &Report, baseline_path: &Path, current: Report) -> Result<Report> {
    if baseline.binary.arch != current.binary.arch {
        return Err(Error::Incompatible {
            path: baseline_path.to_owned(),
            reason: format!(
                "the baseline is about {}, this run about {}",
                baseline.binary.arch, current.binary.arch
            ),
        });
    }
    let by_place: HashMap<(&str, u64), Verdict> = baseline
        .points
        .iter()
        .map(|p| ((p.symbol.as_str(), p.offset), p.verdict))
        .collect();
    let by_address: HashMap<u64, Verdict> = baseline
        .points
        .iter()
        .map(|p| (p.address_value(), p.verdict))
        .collect();
    let worse: Vec<Point> = current
        .points
        .iter()
        .filter(|p| {
            let before = by_place
                .get(&(p.symbol.as_str(), p.offset))
                .or_else(|| by_address.get(&p.address_value()))
                .copied()
                .unwrap_or(Verdict::Safe);
            p.verdict > before
        })
        .cloned()
        .collect();
    Ok(Report::new(current.binary, worse).with_unresolved(current.unresolved))
}
