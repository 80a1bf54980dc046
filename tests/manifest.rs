//! Runs the real CLI on every corpus binary and checks each line of
//! corpora/MANIFEST: the expected static verdict and findings, with the
//! reason the manifest gives.

mod common;

use common::{fixture, report, root};
use probesafe::report::{FindingKind, Point, Verdict};

#[derive(Debug)]
struct Line {
    number: usize,
    binary: String,
    spec: String,
    verdict: Option<Verdict>,
    findings: Option<Vec<FindingKind>>, // None: "-" (no findings at all)
    reason: String,
}

fn parse_manifest() -> Vec<Line> {
    let text = std::fs::read_to_string(root().join("corpora/MANIFEST")).expect("corpora/MANIFEST");
    let mut binary = None;
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            binary = Some(name.to_owned());
            continue;
        }
        let (columns, reason) = line
            .split_once(" -- ")
            .unwrap_or_else(|| panic!("MANIFEST:{number}: no ' -- reason'"));
        let columns: Vec<&str> = columns.split_whitespace().collect();
        assert_eq!(
            columns.len(),
            3,
            "MANIFEST:{number}: expected SPEC VERDICT FINDINGS"
        );
        let verdict = match columns[1] {
            "-" => None,
            "safe" => Some(Verdict::Safe),
            "gray" => Some(Verdict::Gray),
            "hazardous" => Some(Verdict::Hazardous),
            "unknown" => Some(Verdict::Unknown),
            v => panic!("MANIFEST:{number}: bad verdict {v}"),
        };
        let findings = (columns[2] != "-").then(|| {
            columns[2]
                .split(',')
                .map(|k| {
                    FindingKind::from_name(k)
                        .unwrap_or_else(|| panic!("MANIFEST:{number}: unknown finding kind {k}"))
                })
                .collect()
        });
        assert!(!reason.trim().is_empty(), "MANIFEST:{number}: empty reason");
        lines.push(Line {
            number,
            binary: binary
                .clone()
                .unwrap_or_else(|| panic!("MANIFEST:{number}: line before any [binary]")),
            spec: columns[0].to_owned(),
            verdict,
            findings,
            reason: reason.trim().to_owned(),
        });
    }
    lines
}

fn kinds(p: &Point) -> Vec<FindingKind> {
    p.findings.iter().map(|f| f.kind).collect()
}

fn check_point(line: &Line, p: &Point) -> Result<(), String> {
    let got = kinds(p);
    if let Some(v) = line.verdict {
        if p.verdict != v {
            return Err(format!(
                "{} is {:?} with {:?}, expected {:?}",
                p.address, p.verdict, got, v
            ));
        }
    }
    match &line.findings {
        None if !got.is_empty() => Err(format!(
            "{} has findings {:?}, expected none",
            p.address, got
        )),
        Some(want) => match want.iter().find(|k| !got.contains(k)) {
            Some(missing) => Err(format!("{} lacks {:?} (has {:?})", p.address, missing, got)),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

fn run_line(line: &Line) -> Result<(), String> {
    let binary = fixture(&line.binary);
    let binary = binary.display().to_string();
    let quantified = |prefix: &str| {
        line.spec
            .strip_prefix(prefix)
            .and_then(|s| s.strip_suffix(')'))
            .map(str::to_owned)
    };
    if let Some(name) = quantified("any(") {
        let r = report([
            "scan",
            &binary,
            "--static-only",
            "--format",
            "json",
            "--functions",
            &name,
        ]);
        if r.points.iter().any(|p| check_point(line, p).is_ok()) {
            return Ok(());
        }
        return Err(format!("no point of {name} has {:?}", line.findings));
    }
    if let Some(name) = quantified("none(") {
        let r = report([
            "scan",
            &binary,
            "--static-only",
            "--format",
            "json",
            "--functions",
            &name,
        ]);
        let forbidden = line.findings.clone().unwrap_or_default();
        for p in &r.points {
            if let Some(k) = kinds(p).iter().find(|k| forbidden.contains(k)) {
                return Err(format!("{} has {:?}", p.address, k));
            }
        }
        return Ok(());
    }
    let r = report([
        "check",
        &binary,
        "--static-only",
        "--format",
        "json",
        &line.spec,
    ]);
    if r.points.is_empty() {
        return Err("the spec resolved to no point".into());
    }
    for p in &r.points {
        check_point(line, p)?;
    }
    Ok(())
}

#[test]
fn corpora_manifest() {
    let lines = parse_manifest();
    assert!(lines.len() > 100, "the manifest should cover the corpora");
    let failures: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            run_line(line).err().map(|e| {
                format!(
                    "MANIFEST:{} [{}] {}: {e}\n    expected because: {}",
                    line.number, line.binary, line.spec, line.reason
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} manifest lines fail:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_is_covered() {
    let lines = parse_manifest();
    for target in ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"] {
        for file in ["hazards.so", "hazards-stripped.so", "kmod.o", "vmlinux"] {
            let name = format!("{target}/{file}");
            assert!(
                lines.iter().any(|l| l.binary == name),
                "the manifest has no line for {name}"
            );
        }
    }
}
