//! The write checks and the entry/return balance on the corpora: every line
//! of corpora/WRITES run through the real CLI, and tests that show the
//! detector executes rather than looks up.

mod common;

use std::path::Path;

use common::{fixture, probesafe, report, root, stderr};
use probesafe::report::{FindingKind, Point};
use serde_json::Value;

struct Line {
    file: String,
    spec: String,
    options: Vec<(String, String)>,
    kinds: Vec<(bool, FindingKind)>,
    text: String,
}

fn manifest() -> Vec<Line> {
    let text = std::fs::read_to_string(root().join("corpora/WRITES")).unwrap();
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (fields, reason) = line
            .split_once(" -- ")
            .unwrap_or_else(|| panic!("no reason: {line}"));
        assert!(!reason.trim().is_empty(), "empty reason: {line}");
        let f: Vec<&str> = fields.split_whitespace().collect();
        assert_eq!(f.len(), 4, "four columns: {line}");
        let options = if f[2] == "-" {
            Vec::new()
        } else {
            f[2].split(',')
                .map(|o| match o.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (o.to_owned(), String::new()),
                })
                .collect()
        };
        let kinds = f[3]
            .split(',')
            .map(|k| {
                let (absent, name) = match k.strip_prefix('!') {
                    Some(n) => (true, n),
                    None => (false, k),
                };
                let kind = FindingKind::from_name(name)
                    .unwrap_or_else(|| panic!("unknown kind {name}: {line}"));
                (!absent, kind)
            })
            .collect();
        out.push(Line {
            file: f[0].to_owned(),
            spec: f[1].to_owned(),
            options,
            kinds,
            text: line.to_owned(),
        });
    }
    out
}

fn run(line: &Line) -> Point {
    let binary = fixture(&line.file);
    let dir = Path::new(&line.file).parent().unwrap();
    let mut args: Vec<String> = vec!["check".into(), binary.display().to_string()];
    let mut balance = false;
    for (k, v) in &line.options {
        match k.as_str() {
            "write" => args.extend(["--write".into(), v.clone()]),
            "reference" => args.extend([
                "--reference".into(),
                fixture(&dir.join(v).display().to_string())
                    .display()
                    .to_string(),
            ]),
            "balance" => balance = true,
            other => panic!("unknown option {other}: {}", line.text),
        }
    }
    if balance {
        args.push(format!("function(\"{}\").call", line.spec));
        args.push(format!("function(\"{}\").return", line.spec));
    } else {
        args.push(line.spec.clone());
    }
    args.extend(["--format".into(), "json".into()]);
    let r = report(&args);
    // The point of the spec (for a balance, the .call point: the first).
    r.points.into_iter().next().expect("one point at least")
}

/// Every line of corpora/WRITES holds.
#[test]
fn writes_manifest() {
    let lines = manifest();
    assert!(lines.len() >= 35, "{} lines", lines.len());
    let mut failures = Vec::new();
    for line in &lines {
        let point = run(line);
        for (present, kind) in &line.kinds {
            let has = point.findings.iter().any(|f| f.kind == *kind);
            if has != *present {
                failures.push(format!(
                    "{}\n    got: {:?}",
                    line.text,
                    point
                        .findings
                        .iter()
                        .map(|f| format!("{}: {}", f.kind.name(), f.detail))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn finding(point: &Point, kind: FindingKind) -> &probesafe::report::Finding {
    point
        .findings
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| {
            panic!(
                "no {} at {}: {:?}",
                kind.name(),
                point.address,
                point.findings
            )
        })
}

/// Not a lookup: one variable, one function, two points. DWARF gives x a
/// register at both, yet the write takes effect at one and not at the
/// other, and each verdict comes with what the runs showed: the effective
/// one's witness, replayed here by hand, changes the return value.
#[test]
fn same_variable_two_points_decided_by_execution() {
    let so = fixture("x86_64/dwarf-O2.so").display().to_string();
    let r = report([
        "check",
        &so,
        "keep_param+0x8",
        "keep_param+0xd",
        "--write",
        "x",
        "--format",
        "json",
    ]);
    let (effective, ineffective) = (&r.points[0], &r.points[1]);
    let e = finding(effective, FindingKind::EffectiveWrite);
    let i = finding(ineffective, FindingKind::IneffectiveWrite);
    // DWARF says the same for both: x is in rbx.
    for f in [e, i] {
        assert_eq!(f.evidence["locations"][0]["text"], "rbx", "{f:?}");
    }
    assert_eq!(
        e.evidence["witness_changed"],
        serde_json::json!(["return value"])
    );
    assert_eq!(i.evidence["changed"], serde_json::json!([]));
    assert!(i.evidence["reached"].as_u64().unwrap() > 0);
    // The witness's input with an explicit value: writing x = 100 at +0x8
    // makes the result dw_ext(x) + 300, whatever the stub returns; the same
    // value at +0xd changes nothing.
    let at = |spec: &str| {
        report(["check", &so, spec, "--write", "x=100", "--format", "json"])
            .points
            .remove(0)
    };
    let p = at("keep_param+0x8");
    assert_eq!(
        finding(&p, FindingKind::EffectiveWrite).evidence["written"],
        "0x64"
    );
    let p = at("keep_param+0xd");
    finding(&p, FindingKind::IneffectiveWrite);
}

/// The write is performed, not inferred: writing x its own value back is
/// no change, at a point where writing another value is one.
#[test]
fn writing_the_same_value_changes_nothing() {
    let so = fixture("aarch64/dwarf-O2.so").display().to_string();
    // keep_param+0x14: x in x19; the witness input of case 0 holds x there.
    let r = report([
        "check",
        &so,
        "keep_param+0x14",
        "--write",
        "x",
        "--format",
        "json",
    ]);
    let e = finding(&r.points[0], FindingKind::EffectiveWrite);
    let before = e.evidence["before"].as_str().unwrap().to_owned();
    // Case 0 only, so that the value read before is the value written back.
    let r = report([
        "check",
        &so,
        "keep_param+0x14",
        "--write",
        &format!("x={before}"),
        "--cases",
        "1",
        "--format",
        "json",
    ]);
    let i = finding(&r.points[0], FindingKind::IneffectiveWrite);
    assert_eq!(i.evidence["written"], Value::String(before));
}

/// Errors are one line and exit 2: a variable not in scope, a bad value,
/// a binary without DWARF.
#[test]
fn write_errors() {
    let so = fixture("x86_64/dwarf-O2.so").display().to_string();
    for (args, want) in [
        (
            vec!["check", &so, "keep_param", "--write", "nosuch"],
            "not in scope",
        ),
        (
            vec!["check", &so, "keep_param", "--write", "x=zz"],
            "VALUE must be an integer",
        ),
    ] {
        let out = probesafe(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
    }
    let stripped = fixture("x86_64/hazards-stripped.so").display().to_string();
    let out = probesafe(["check", &stripped, "0x1000", "--write", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `confirm` runs the dynamic checks on candidates from a spec file (with
/// their static verdicts as "before") and from a JSON report (its gray
/// points), and says what changed with the dynamic evidence.
#[test]
fn confirm_candidates() {
    let so = fixture("x86_64/dwarf-O2.so").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::write(
        &specs,
        "# candidates\nkeep_param+0x8\nkeep_param+0xd\nfunction(\"tail_wrap\").return\n",
    )
    .unwrap();
    let out = probesafe([
        "confirm",
        &so,
        &specs.display().to_string(),
        "--write",
        "x",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by = |addr: &str| {
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["address"] == addr)
            .unwrap_or_else(|| panic!("no {addr} in {v}"))
            .clone()
    };
    // keep_param+0x8: safe before and after, with the effective write.
    let p = by("0x928");
    assert_eq!(
        (p["before"].as_str(), p["status"].as_str()),
        (Some("safe"), Some("confirmed safe"))
    );
    assert_eq!(p["evidence"][0]["kind"], "effective-write");
    // keep_param+0xd: safe statically, gray once the write is tried.
    let p = by("0x92d");
    assert_eq!(
        (p["before"].as_str(), p["after"].as_str()),
        (Some("safe"), Some("gray"))
    );
    assert_eq!(p["evidence"][0]["kind"], "ineffective-write");
    // A .return alone gets its .call and the balance.
    let p = by("0x8e0");
    assert!(p["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "entry-return-imbalance"));
    assert_eq!(v["summary"]["still gray"], 3);

    // From a report: exactly its gray and unknown points.
    let report_path = dir.path().join("r.json");
    let r = report(["scan", &so, "--static-only", "--format", "json"]);
    std::fs::write(&report_path, r.to_json()).unwrap();
    let gray = r
        .points
        .iter()
        .filter(|p| {
            p.verdict >= probesafe::report::Verdict::Unknown
                && p.verdict != probesafe::report::Verdict::Hazardous
        })
        .count();
    let out = probesafe([
        "confirm",
        &so,
        &report_path.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // (A scan has no .return points, so no tail-call exits add entries.)
    assert_eq!(v["points"].as_array().unwrap().len(), gray);
    assert!(gray > 10);
}
