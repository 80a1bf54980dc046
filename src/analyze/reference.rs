//! `--reference`: the same writes at the same source lines of another
//! build of the same source (typically -O0). Effects the reference's write
//! shows that this build's write does not are `ineffective-write`, effects
//! only this build's write has are `overbroad-write`.

use std::sync::Arc;

use crate::debuginfo::DebugInfo;
use crate::detect::write::compare_with_reference;
use crate::detect::DynamicOptions;
use crate::error::{Error, Result};
use crate::hazard::{Analyzer, Blacklist, Selection};
use crate::load::Binary;
use crate::point::PointSpec;
use crate::report::Point;

/// The reference build's points for one point of this build: those of the
/// same source line (after the prologue at a function's first line).
#[derive(Clone, Debug)]
pub struct LineRun {
    /// The index of this build's point.
    pub point: usize,
    /// `FILE:LINE`.
    pub line: String,
    /// The reference build's points there, with their write findings.
    pub points: Vec<Point>,
}

/// Run the reference build (`reference`, which must have DWARF) at the
/// source line of each of `points` with the same dynamic `options`; points
/// without a line, or whose line the reference does not have, get none.
pub fn runs(
    analyzer: &Analyzer<'_>,
    points: &[Point],
    reference: &Binary,
    options: &DynamicOptions,
    jobs: Option<usize>,
) -> Result<Vec<LineRun>> {
    let Some(debug) = analyzer.debug_info() else {
        return Ok(Vec::new());
    };
    let ref_debug = DebugInfo::load(reference, None)?.ok_or_else(|| Error::NoDebugInfo {
        path: reference.path.clone(),
        spec: "--reference".into(),
    })?;
    let ref_analyzer = Analyzer::new(reference, Blacklist::of(reference))
        .with_debug_info(Some(Arc::new(ref_debug)))
        .with_detail(true)
        .with_dynamic(options.clone());
    let mut out = Vec::new();
    for (index, point) in points.iter().enumerate() {
        let addr = point.address_value();
        // Several rows at one address (views): the point runs before all
        // of them, so it is at the first one's line.
        let row = debug.rows_at(addr).first().or_else(|| debug.row_for(addr));
        let (Some(function), Some(row)) = (debug.function_at(addr), row) else {
            continue;
        };
        let Some(file) = debug.files.get(row.file as usize) else {
            continue;
        };
        let spec = PointSpec::Statement {
            function: function.name.clone(),
            file: file.clone(),
            line: row.line,
        };
        let mut selection = Selection::default();
        if ref_analyzer.select(&mut selection, &spec).is_err() {
            continue;
        }
        let mut ref_points = ref_analyzer.run(&selection, jobs)?;
        // A function's first line is its entry, where an -O0 build has not
        // yet stored its parameters: use the first line after the prologue
        // there, as debuggers do.
        if let Some(after) = ref_points
            .iter()
            .find_map(|p| after_prologue(ref_analyzer.debug_info()?, p.address_value()))
        {
            let mut selection = Selection::default();
            ref_analyzer.select(&mut selection, &PointSpec::Address(after))?;
            ref_points = ref_analyzer.run(&selection, jobs)?;
        }
        out.push(LineRun {
            point: index,
            line: format!("{file}:{}", row.line),
            points: ref_points,
        });
    }
    Ok(out)
}

/// Compare the write findings of each run's point with the reference
/// build's (at `path`) and settle the point's verdict.
pub fn apply(points: &mut [Point], runs: &[LineRun], path: &str) {
    for run in runs {
        if let Some(point) = points.get_mut(run.point) {
            compare_with_reference(point, &run.points, path, &run.line);
        }
    }
}

/// When `addr` is a function's entry: the address of the first line-table
/// row after it inside the function (the end of the prologue).
fn after_prologue(debug: &DebugInfo, addr: u64) -> Option<u64> {
    let f = debug.function_starting_at(addr)?;
    let end = f.ranges.iter().map(|r| r.1).max()?;
    let i = debug.lines.partition_point(|r| r.address <= addr);
    debug.lines[i..]
        .iter()
        .map(|r| r.address)
        .find(|&a| a > addr && a < end)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::report::{Confirmed, Finding, FindingKind, Verdict};

    fn write(kind: FindingKind, evidence: Value) -> Finding {
        let Value::Object(mut evidence) = evidence else {
            unreachable!()
        };
        evidence.insert("variable".into(), json!("x"));
        Finding {
            kind,
            confirmed: Confirmed::Dynamic,
            detail: format!("{} of x", kind.name()),
            evidence,
        }
    }

    fn point(addr: u64, findings: Vec<Finding>) -> Point {
        let mut p = Point {
            address: format!("{addr:#x}"),
            symbol: "f".into(),
            offset: 0,
            verdict: Verdict::Safe,
            findings,
        };
        p.settle();
        p
    }

    fn effective(changed: &[&str]) -> Finding {
        write(FindingKind::EffectiveWrite, json!({ "changed": changed }))
    }

    /// This build's point with `here`, compared with one reference point
    /// with `there`.
    fn compare(here: Finding, there: Finding) -> Point {
        let mut points = vec![point(0x1000, vec![here])];
        let runs = [LineRun {
            point: 0,
            line: "f.c:7".into(),
            points: vec![point(0x2000, vec![there])],
        }];
        apply(&mut points, &runs, "f-O0");
        points.remove(0)
    }

    fn kinds(p: &Point) -> Vec<FindingKind> {
        p.findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn the_same_effects_agree() {
        let p = compare(effective(&["return value"]), effective(&["return value"]));
        assert_eq!(kinds(&p), [FindingKind::EffectiveWrite]);
        let reference = &p.findings[0].evidence["reference"];
        assert_eq!(reference["binary"], "f-O0");
        assert_eq!(reference["line"], "f.c:7");
        assert_eq!(reference["changed"], json!(["return value"]));
    }

    #[test]
    fn an_effect_only_here_is_an_overbroad_write() {
        let p = compare(
            effective(&["return value", "memory g+0x0"]),
            effective(&["return value"]),
        );
        // It replaces the effective write of the same variable.
        assert_eq!(kinds(&p), [FindingKind::OverbroadWrite]);
        assert_eq!(p.findings[0].evidence["extra"], json!(["memory g+0x0"]));
        assert_eq!(p.verdict, FindingKind::OverbroadWrite.severity());
    }

    #[test]
    fn an_effect_only_in_the_reference_is_an_ineffective_write() {
        let p = compare(
            effective(&["return value"]),
            effective(&["return value", "call 0 argument 1"]),
        );
        assert_eq!(kinds(&p), [FindingKind::IneffectiveWrite]);
        assert_eq!(
            p.findings[0].evidence["missing"],
            json!(["call 0 argument 1"])
        );
    }

    #[test]
    fn a_leftover_argument_register_in_the_reference_is_no_effect() {
        // This build's call 0 passes one argument: the reference's
        // "argument 1" is a register the -O0 build left behind.
        let mut here = effective(&["return value"]);
        here.evidence.insert("call_arguments".into(), json!([1]));
        let p = compare(here, effective(&["return value", "call 0 argument 1"]));
        assert_eq!(kinds(&p), [FindingKind::EffectiveWrite]);
    }

    #[test]
    fn an_undecided_reference_is_an_emulation_limit() {
        let p = compare(
            effective(&["return value"]),
            write(FindingKind::EmulationLimit, json!({})),
        );
        assert_eq!(
            kinds(&p),
            [FindingKind::EffectiveWrite, FindingKind::EmulationLimit]
        );
    }

    #[test]
    fn a_point_without_a_run_is_left_alone() {
        let mut points = vec![point(0x1000, vec![effective(&["return value"])])];
        let before = points.clone();
        apply(&mut points, &[], "f-O0");
        assert_eq!(points, before);
    }
}
