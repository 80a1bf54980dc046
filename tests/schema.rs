//! Pins the JSON report: it deserializes into the report types with
//! `deny_unknown_fields`, its invariants hold, and docs/report-schema.md
//! documents every finding kind with its severity and every evidence field
//! that the corpora produce.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{fixture, report, root};
use probesafe::report::{verdict_of, Report, ALL_KINDS};

fn corpus_reports() -> Vec<Report> {
    let mut reports = Vec::new();
    for target in ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"] {
        for file in [
            "hazards.so",
            "kmod.o",
            "vmlinux",
            "hazards-stripped.so",
            "machinery",
        ] {
            let path = fixture(&format!("{target}/{file}")).display().to_string();
            reports.push(report(["scan", &path, "--static-only", "--format", "json"]));
        }
        let path = fixture(&format!("{target}/hazards.so"))
            .display()
            .to_string();
        reports.push(report([
            "check",
            &path,
            "--static-only",
            "--format",
            "json",
            "function(\"*\").return",
        ]));
    }
    // Kernel images: points past a function's ELF size (kallsyms), with the
    // out-of-line LL/SC loop they reach.
    for target in ["x86_64", "aarch64", "ppc64", "ppc64le"] {
        let path = fixture(&format!("{target}/vmlinux-alt"))
            .display()
            .to_string();
        reports.push(report([
            "scan",
            &path,
            "--points",
            "alt_user+0xb",
            "--points",
            "alt_user+0x10",
            "--points",
            "alt_user+0x18",
            "--cases",
            "2",
            "--format",
            "json",
        ]));
    }
    // The write checks, against the -O0 reference, and the entry/return
    // balance: every write kind and its evidence.
    for target in ["x86_64", "ppc64le"] {
        let bin = |f: &str| fixture(&format!("{target}/{f}")).display().to_string();
        reports.push(report([
            "scan",
            &bin("writes-O2.so"),
            "--functions",
            "cse_shared",
            "--functions",
            "pair_sum",
            "--all-vars",
            "--reference",
            &bin("writes-O0.so"),
            "--format",
            "json",
        ]));
        reports.push(report([
            "check",
            &bin("writes-O2.so"),
            "function(\"sum_to\").call",
            "function(\"sum_to\").return",
            "--reference",
            &bin("writes-O0.so"),
            "--format",
            "json",
        ]));
    }
    reports
}

#[test]
fn reports_hold_their_invariants() {
    for r in corpus_reports() {
        assert_eq!(r.tool.name, "probesafe");
        assert!(["x86_64", "aarch64", "ppc64", "ppc64le"].contains(&r.binary.arch.as_str()));
        if let Some(id) = &r.binary.build_id {
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
        let mut counts = BTreeMap::new();
        let mut last = None;
        for p in &r.points {
            assert!(p.address.starts_with("0x"), "{}", p.address);
            let addr = p.address_value();
            assert!(last.is_none_or(|l| l < addr), "points sorted and unique");
            last = Some(addr);
            assert_eq!(
                p.verdict,
                verdict_of(&p.findings),
                "{}: verdict is the worst finding",
                p.address
            );
            for f in &p.findings {
                assert!(!f.detail.is_empty());
            }
            *counts.entry(p.verdict).or_insert(0u64) += 1;
        }
        let count = |v| counts.get(&v).copied().unwrap_or(0);
        use probesafe::report::Verdict::*;
        assert_eq!(r.summary.safe, count(Safe));
        assert_eq!(r.summary.gray, count(Gray));
        assert_eq!(r.summary.hazardous, count(Hazardous));
        assert_eq!(r.summary.unknown, count(Unknown));
    }
}

#[test]
fn schema_doc_covers_kinds_and_evidence() {
    let doc = std::fs::read_to_string(root().join("docs/report-schema.md")).unwrap();
    // Each kind has a table row: | `kind` | severity | evidence fields |
    let mut documented: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 5 && cells[1].starts_with('`') {
            let kind = cells[1].trim_matches('`').to_owned();
            let fields = cells[3]
                .split(',')
                .map(|f| f.trim().trim_matches('`').to_owned())
                .filter(|f| !f.is_empty() && f != "-")
                .collect();
            documented.insert(kind, (cells[2].to_owned(), fields));
        }
    }
    for kind in ALL_KINDS {
        let (severity, _) = documented
            .get(kind.name())
            .unwrap_or_else(|| panic!("docs/report-schema.md has no row for {}", kind.name()));
        assert_eq!(
            severity,
            kind.severity().name(),
            "severity of {}",
            kind.name()
        );
    }
    for r in corpus_reports() {
        for p in &r.points {
            for f in &p.findings {
                let (_, fields) = &documented[f.kind.name()];
                for key in f.evidence.keys() {
                    assert!(
                        fields.contains(key),
                        "evidence field {key} of {} is not documented",
                        f.kind.name()
                    );
                }
            }
        }
    }
}

/// Point specs that named no point: the report's `unresolved` list
/// deserializes into the report type (`deny_unknown_fields`), holds the
/// spec and the error, and docs/report-schema.md documents both fields.
#[test]
fn unresolved_specs_are_in_the_report_and_documented() {
    let so = fixture("x86_64/hazards.so").display().to_string();
    let out = common::probesafe([
        "check",
        &so,
        "add3",
        "0x0",
        "--static-only",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.points.len(), 1);
    assert_eq!(r.unresolved.len(), 1);
    assert_eq!(r.unresolved[0].spec, "0x0");
    assert!(r.unresolved[0].error.contains("outside any function"));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: BTreeSet<&str> = value["unresolved"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["spec", "error"]));
    let doc = std::fs::read_to_string(root().join("docs/report-schema.md")).unwrap();
    for field in [
        "`unresolved[]`",
        "`unresolved[].spec`",
        "`unresolved[].error`",
    ] {
        assert!(doc.contains(&format!("| {field} |")), "{field} documented");
    }
    // Absent when every spec resolved: reports without it still parse.
    let out = common::probesafe(["check", &so, "add3", "--static-only", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(value.get("unresolved").is_none());
}

/// The folded form and JSON Lines: every key of a `range` entry is in the
/// Fields table (`points[].range.KEY`), ranges read back into the report
/// types, and JSON Lines has its header, entry and summary lines.
#[test]
fn folded_and_jsonl_forms_are_documented() {
    let doc = std::fs::read_to_string(root().join("docs/report-schema.md")).unwrap();
    let documented = |field: &str| {
        doc.contains(&format!("| `{field}` |")) || doc.contains(&format!("| `{field}[]` |"))
    };
    let mut seen = BTreeSet::new();
    for target in ["x86_64", "aarch64", "ppc64"] {
        let path = fixture(&format!("{target}/vmlinux")).display().to_string();
        let out = common::probesafe(["scan", &path, "--static-only", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for e in v["points"].as_array().unwrap() {
            let Some(range) = e.get("range") else {
                continue;
            };
            for key in e.as_object().unwrap().keys() {
                assert!(documented(&format!("points[].{key}")), "points[].{key}");
                seen.insert(key.clone());
            }
            for key in range.as_object().unwrap().keys() {
                assert!(
                    documented(&format!("points[].range.{key}")),
                    "points[].range.{key}"
                );
                seen.insert(format!("range.{key}"));
            }
        }
        let out = common::probesafe(["scan", &path, "--static-only", "--format", "jsonl"]);
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&lines[0]), ["binary", "tool"]);
        assert_eq!(keys(lines.last().unwrap()), ["summary"]);
        assert_eq!(&lines[1..lines.len() - 1], v["points"].as_array().unwrap());
    }
    for key in [
        "range.first",
        "range.last",
        "range.count",
        "range.step",
        "range.steps",
    ] {
        assert!(seen.contains(key), "no corpus report has {key}");
    }
}

/// The `diff` JSON form: its keys, every category in order with its count,
/// and every category and change field named in docs/report-schema.md.
#[test]
fn diff_json_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/report-schema.md")).unwrap();
    let start = doc
        .find("- `diff --format json`")
        .expect("diff in the schema doc");
    let para = &doc[start..];
    let para = &para[..para.find("\n\n").unwrap_or(para.len())];
    let categories = [
        "lost-call",
        "lost-return",
        "blacklist",
        "new-clone",
        "vanished-clone",
        "inline-count",
        "gained-call",
        "gained-return",
        "line",
    ];
    for key in categories {
        assert!(para.contains(&format!("`{key}`")), "{key} undocumented");
    }
    let mut fields = BTreeSet::new();
    for (a, b) in [
        ("aarch64/dwarf-O0.so", "aarch64/dwarf-O2.so"),
        ("x86_64/vmlinux", "x86_64/vmlinux-alt"),
        ("ppc64/vmlinux", "ppc64/vmlinux-alt"),
    ] {
        let (a, b) = (
            fixture(a).display().to_string(),
            fixture(b).display().to_string(),
        );
        let out = common::probesafe(["diff", &a, &b, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["tool", "a", "b", "totals", "categories", "changes"])
        );
        let changes = v["changes"].as_array().unwrap();
        let listed: Vec<&str> = v["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["category"].as_str().unwrap())
            .collect();
        assert_eq!(listed, categories);
        for c in v["categories"].as_array().unwrap() {
            let n = changes
                .iter()
                .filter(|x| x["change"] == c["category"])
                .count();
            assert_eq!(c["count"], n, "{c}");
        }
        for c in changes {
            assert!(categories.contains(&c["change"].as_str().unwrap()), "{c}");
            fields.extend(c.as_object().unwrap().keys().cloned());
        }
    }
    for field in &fields {
        assert!(
            para.contains(&format!("`{field}`"))
                || para.contains(&format!("{{{field}"))
                || para.contains(&format!(" {field}}}"))
                || para.contains(&format!(" {field},")),
            "change field {field} undocumented"
        );
    }
    assert!(fields.len() >= 5, "{fields:?}");
}
