//! Runs the real CLI on every corpus binary and checks each line of
//! corpora/MANIFEST: the expected static verdict and findings, with the
//! reason the manifest gives.

mod common;

use common::{fixture, report, root};
use probesafe::report::{Confirmed, FindingKind, Point, Verdict};

#[derive(Debug)]
struct Line {
    number: usize,
    binary: String,
    spec: String,
    verdict: Option<Verdict>,
    findings: Option<Vec<FindingKind>>, // None: "-" (no findings at all)
    reason: String,
    /// A `dyn` line: expectations of the emulation (`key=value` pairs).
    dynamic: Option<Vec<(String, String)>>,
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
        let mut columns: Vec<&str> = columns.split_whitespace().collect();
        let dynamic = if columns.first() == Some(&"dyn") {
            assert_eq!(
                columns.len(),
                5,
                "MANIFEST:{number}: expected dyn SPEC VERDICT FINDINGS EXTRA"
            );
            let extra = columns.pop().unwrap();
            columns.remove(0);
            Some(
                extra
                    .split(',')
                    .filter(|e| *e != "-")
                    .map(|e| {
                        let (k, v) = e
                            .split_once('=')
                            .unwrap_or_else(|| panic!("MANIFEST:{number}: bad {e}"));
                        (k.to_owned(), v.to_owned())
                    })
                    .collect(),
            )
        } else {
            None
        };
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
            dynamic,
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

/// Kinds that emulation confirms.
const DYNAMIC_KINDS: &[FindingKind] = &[FindingKind::LlscReservationLoss, FindingKind::TmAbort];

/// A line run with emulation: the same verdict, every LL/SC and transaction
/// finding confirmed by execution, and a `dyn` line's expectations.
fn run_line_dynamic(line: &Line) -> Result<(), String> {
    let binary = fixture(&line.binary).display().to_string();
    let extra = line.dynamic.clone().unwrap_or_default();
    let mut args = vec![
        "check".to_owned(),
        binary,
        "--format".into(),
        "json".into(),
        line.spec.clone(),
    ];
    for (k, v) in &extra {
        if k == "handler" {
            args.push("--handler".into());
            args.push(v.clone());
        }
    }
    let r = report(&args);
    if r.points.is_empty() {
        return Err("the spec resolved to no point".into());
    }
    for p in &r.points {
        check_point(line, p)?;
        let want_outcome = extra
            .iter()
            .find(|(k, _)| k == "outcome")
            .map(|(_, v)| v.as_str());
        for f in p
            .findings
            .iter()
            .filter(|f| DYNAMIC_KINDS.contains(&f.kind))
        {
            let dynamic = f.evidence.get("dynamic");
            let outcome = dynamic
                .and_then(|d| d.get("outcome"))
                .and_then(|o| o.as_str())
                .unwrap_or("none");
            match want_outcome {
                Some(want) if outcome != want => {
                    return Err(format!(
                        "{} {:?}: outcome {outcome}, expected {want}",
                        p.address, f.kind
                    ))
                }
                None if f.confirmed != Confirmed::Dynamic => {
                    return Err(format!(
                        "{} {:?} is not confirmed by emulation (outcome {outcome})",
                        p.address, f.kind
                    ))
                }
                _ => {}
            }
            if let Some((_, want)) = extra.iter().find(|(k, _)| k == "progress") {
                let got = dynamic
                    .and_then(|d| d.get("progress"))
                    .and_then(|o| o.as_str())
                    .unwrap_or("none given");
                if got != want {
                    return Err(format!(
                        "{} {:?}: progress {got}, expected {want}",
                        p.address, f.kind
                    ));
                }
            }
        }
        if line.dynamic.is_some() {
            for k in line.findings.iter().flatten() {
                let f = p
                    .findings
                    .iter()
                    .find(|f| f.kind == *k)
                    .expect("checked above");
                let has_outcome = extra.iter().any(|(k, _)| k == "outcome");
                if !has_outcome && f.confirmed != Confirmed::Dynamic {
                    return Err(format!(
                        "{} {:?} is not confirmed by emulation",
                        p.address, k
                    ));
                }
            }
        }
    }
    Ok(())
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
    if line.dynamic.is_some() {
        return Ok(()); // checked with emulation, by corpora_manifest_dynamic
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
fn corpora_manifest_dynamic() {
    let lines = parse_manifest();
    let plain = |l: &&Line| !l.spec.starts_with("any(") && !l.spec.starts_with("none(");
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in lines.iter().filter(plain) {
        checked += 1;
        if let Err(e) = run_line_dynamic(line) {
            failures.push(format!(
                "MANIFEST:{} [{}] {}: {e}\n    expected because: {}",
                line.number, line.binary, line.spec, line.reason
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} manifest lines fail with emulation:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_is_covered() {
    let lines = parse_manifest();
    for target in ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"] {
        for file in [
            "hazards.so",
            "hazards-stripped.so",
            "kmod.o",
            "vmlinux",
            "kimage",
            "kmod-windows.ko",
            "txnest.so",
        ] {
            let name = format!("{target}/{file}");
            assert!(
                lines.iter().any(|l| l.binary == name),
                "the manifest has no line for {name}"
            );
        }
    }
}
