//! The report forms that scale to a whole kernel, on the corpora: the
//! folded JSON expands back to exactly the per-point report, JSON Lines and
//! `--min-verdict` hold the same points, `merge` reads every form, and a
//! `--format blacklist` list read back with `--blacklist` marks exactly the
//! hazardous points.

mod common;

use common::{arg, fixture, probesafe, report, stderr};
use probesafe::report::{FindingKind, Report, Verdict};
use serde_json::Value;

const TARGETS: &[&str] = &["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"];
const FILES: &[&str] = &["hazards.so", "kmod.o", "vmlinux", "hazards-stripped.so"];

fn corpora() -> Vec<String> {
    let mut out = Vec::new();
    for t in TARGETS {
        for f in FILES {
            out.push(arg(&fixture(&format!("{t}/{f}"))));
        }
    }
    out.push(arg(&fixture("aarch64/dwarf-O2.so")));
    out
}

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = probesafe(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    out.stdout
}

#[test]
fn folded_json_expands_to_the_per_point_report() {
    let mut ranges = 0;
    let mut stepped = 0;
    for bin in corpora() {
        let per_point = stdout_of(&[
            "scan",
            &bin,
            "--static-only",
            "--format",
            "json",
            "--per-point",
        ]);
        let folded = stdout_of(&["scan", &bin, "--static-only", "--format", "json"]);
        let p: Report = serde_json::from_slice(&per_point).unwrap();
        // The streamed per-point form is byte for byte the library's.
        assert_eq!(String::from_utf8_lossy(&per_point), p.to_json(), "{bin}");
        let f: Report = serde_json::from_slice(&folded)
            .unwrap_or_else(|e| panic!("{bin}: the folded report does not read back: {e}"));
        assert_eq!(
            f, p,
            "{bin}: the folded report expands to the per-point one"
        );
        let raw: Value = serde_json::from_slice(&folded).unwrap();
        let entries = raw["points"].as_array().unwrap();
        assert!(entries.len() < p.points.len(), "{bin}: folding folds");
        for e in entries.iter().filter(|e| e.get("range").is_some()) {
            ranges += 1;
            stepped += e["range"].get("steps").is_some() as usize;
            assert!(e["range"]["count"].as_u64().unwrap() >= 2);
            assert!(e.get("address").is_none());
        }
        // JSON Lines: the same entries, one a line.
        let lines = stdout_of(&["scan", &bin, "--static-only", "--format", "jsonl"]);
        let text = String::from_utf8(lines).unwrap();
        assert_eq!(text.lines().count(), entries.len() + 2, "{bin}");
        for (line, entry) in text.lines().skip(1).zip(entries) {
            assert_eq!(&serde_json::from_str::<Value>(line).unwrap(), entry);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, &text).unwrap();
        let merged = stdout_of(&["merge", &arg(&path), "--per-point"]);
        assert_eq!(merged, per_point, "{bin}: merge reads JSON Lines");
    }
    assert!(ranges > 100, "{ranges} ranges");
    assert!(stepped > 0, "x86 ranges list their steps");
}

#[test]
fn min_verdict_leaves_out_the_better_points() {
    for bin in corpora() {
        let all = report(["scan", &bin, "--static-only", "--format", "json"]);
        for (flag, min) in [("gray", Verdict::Gray), ("hazardous", Verdict::Hazardous)] {
            let r = report([
                "scan",
                &bin,
                "--static-only",
                "--format",
                "json",
                "--min-verdict",
                flag,
            ]);
            let want: Vec<_> = all
                .points
                .iter()
                .filter(|p| p.verdict >= min)
                .cloned()
                .collect();
            assert_eq!(r.points, want, "{bin} --min-verdict {flag}");
            assert_eq!(r.summary.safe, 0);
            assert_eq!(
                r.summary.hazardous,
                want.iter()
                    .filter(|p| p.verdict == Verdict::Hazardous)
                    .count() as u64
            );
        }
    }
}

#[test]
fn merge_reads_every_form() {
    let bin = arg(&fixture("aarch64/hazards.so"));
    let dir = tempfile::tempdir().unwrap();
    let per_point = stdout_of(&[
        "scan",
        &bin,
        "--static-only",
        "--format",
        "json",
        "--per-point",
    ]);
    let folded = stdout_of(&["scan", &bin, "--static-only", "--format", "json"]);
    let write = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let mut all = vec!["scan", &bin, "--static-only"];
        all.extend(args);
        std::fs::write(&path, stdout_of(&all)).unwrap();
        arg(&path)
    };
    let a = write("a.json", &["--format", "json", "--functions", "llsc_*"]);
    let b = write("b.jsonl", &["--format", "jsonl"]);
    let c = write("c.json", &["--format", "json", "--per-point"]);
    let d = write("d.json", &["--format", "json", "--min-verdict", "gray"]);
    // Folded, JSON Lines, per-point and partial reports of one binary merge
    // into the whole report, in either form.
    assert_eq!(
        stdout_of(&["merge", &a, &b, &c, &d, "--per-point"]),
        per_point
    );
    assert_eq!(stdout_of(&["merge", &d, &c]), folded);
    // A range that does not add up is refused with exit 2.
    let mut v: Value = serde_json::from_slice(&folded).unwrap();
    let range = v["points"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e.get("range").is_some())
        .unwrap();
    range["range"]["count"] = Value::from(range["range"]["count"].as_u64().unwrap() + 1);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = probesafe(["merge", &arg(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));
}

#[test]
fn blacklist_read_back_marks_the_hazardous_points() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines_seen = 0;
    for (n, bin) in corpora().into_iter().enumerate() {
        let list = dir.path().join(format!("{n}.blacklist"));
        let out = probesafe([
            "scan",
            &bin,
            "--static-only",
            "--format",
            "blacklist",
            "-o",
            &arg(&list),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = std::fs::read_to_string(&list).unwrap();
        let before = report(["scan", &bin, "--static-only", "--format", "json"]);
        let mut previous_end = 0;
        for line in text.lines() {
            // 0xSTART-0xEND<TAB>SYMBOL, as the kernel prints it.
            let (range, symbol) = line.split_once('\t').expect("a tab");
            let (start, end) = range.split_once('-').unwrap();
            assert!(start.len() == 18 && end.len() == 18, "{line}");
            let start = u64::from_str_radix(&start[2..], 16).unwrap();
            let end = u64::from_str_radix(&end[2..], 16).unwrap();
            assert!(start < end && start >= previous_end, "{line}");
            previous_end = end;
            assert!(before
                .points
                .iter()
                .any(|p| p.address_value() == start && p.symbol == symbol));
            lines_seen += 1;
        }
        let after = report([
            "scan",
            &bin,
            "--static-only",
            "--format",
            "json",
            "--per-point",
            "--blacklist",
            &arg(&list),
        ]);
        assert_eq!(after.points.len(), before.points.len());
        let source = arg(&list);
        for (b, a) in before.points.iter().zip(&after.points) {
            assert_eq!(b.address, a.address);
            let listed = a.findings.iter().any(|f| {
                f.kind == FindingKind::Blacklisted
                    && f.evidence["source"]
                        .as_str()
                        .is_some_and(|s| s.starts_with(&source))
            });
            assert_eq!(
                listed,
                b.verdict == Verdict::Hazardous,
                "{bin} {} ({}+{:#x}): hazardous before, listed after",
                b.address,
                b.symbol,
                b.offset
            );
        }
    }
    assert!(lines_seen > 20, "{lines_seen} lines");
}

#[test]
fn sarif_groups_a_range_into_one_result() {
    let bin = arg(&fixture("aarch64/dwarf-O2.so"));
    let folded = stdout_of(&["scan", &bin, "--static-only", "--format", "json"]);
    let raw: Value = serde_json::from_slice(&folded).unwrap();
    let findings: usize = raw["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["findings"].as_array().unwrap().len())
        .sum();
    let sarif: Value = serde_json::from_slice(&stdout_of(&[
        "scan",
        &bin,
        "--static-only",
        "--format",
        "sarif",
    ]))
    .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings);
    assert!(results
        .iter()
        .any(|r| r["properties"]["range"]["count"].as_u64() > Some(1)));
}
