//! `probesafe fuzz`, `replay` and `merge` on the corpora through the real
//! CLI: determinism across --jobs, shard-and-merge equals the unsharded
//! run, resume after SIGTERM, every witness replays, SARIF against the
//! official schema, JUnit, baselines, refused checkpoints.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{arg, fixture, probesafe, root, stderr};
use probesafe::report::Report;
use serde_json::Value;

const TARGETS: [&str; 5] = ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"];

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = probesafe(args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "probesafe {args:?}: {:?} {}",
        out.status,
        stderr(&out)
    );
    out.stdout
}

#[test]
fn same_report_whatever_jobs_is() {
    for target in ["aarch64", "ppc64"] {
        let bin = arg(&fixture(&format!("{target}/hazards.so")));
        let one = stdout_of(&["fuzz", &bin, "--format", "json", "--jobs", "1"]);
        let two = stdout_of(&["fuzz", &bin, "--format", "json", "--jobs", "2"]);
        let report: Report = serde_json::from_slice(&one).unwrap();
        assert!(
            report.summary.hazardous > 0,
            "{target}: the corpus has hazards"
        );
        assert!(one == two, "{target}: --jobs 1 and --jobs 2 differ");
        let other = stdout_of(&["fuzz", &bin, "--format", "json", "--seed", "7"]);
        assert!(
            other != one,
            "{target}: another seed gives other witnesses (the seed is used)"
        );
    }
}

#[test]
fn shards_merged_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["x86_64", "aarch64-lse", "ppc64le"] {
        let bin = arg(&fixture(&format!("{target}/hazards.so")));
        let whole = stdout_of(&["fuzz", &bin, "--format", "json"]);
        let mut paths = Vec::new();
        let mut counts = Vec::new();
        for i in 0..3 {
            let shard = format!("{i}/3");
            let out = stdout_of(&["fuzz", &bin, "--format", "json", "--shard", &shard]);
            let r: Report = serde_json::from_slice(&out).unwrap();
            counts.push(r.points.len());
            let path = dir.path().join(format!("{target}-{i}.json"));
            std::fs::write(&path, &out).unwrap();
            paths.push(arg(&path));
        }
        let total: Report = serde_json::from_slice(&whole).unwrap();
        assert_eq!(
            counts.iter().sum::<usize>(),
            total.points.len(),
            "{target}: shards partition the points"
        );
        assert!(counts.iter().all(|&c| c > 0), "{target}: {counts:?}");
        // Any order of the shard reports.
        let merged = stdout_of(&["merge", &paths[2], &paths[0], &paths[1]]);
        assert!(
            merged == whole,
            "{target}: merge differs from the unsharded report"
        );
    }
    // Reports of different binaries do not merge.
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(
        &a,
        stdout_of(&[
            "fuzz",
            &arg(&fixture("x86_64/hazards.so")),
            "--format",
            "json",
            "--static-only",
        ]),
    )
    .unwrap();
    std::fs::write(
        &b,
        stdout_of(&[
            "fuzz",
            &arg(&fixture("ppc64/hazards.so")),
            "--format",
            "json",
            "--static-only",
        ]),
    )
    .unwrap();
    let out = probesafe(["merge", &arg(&a), &arg(&b)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

/// What a replayed witness's trace must hold for its finding (the text
/// `replay` prints; "REPRODUCED" alone is printed whatever the trace
/// holds): the probe hit at the point and, after it, the event that is the
/// finding: the window's store-conditional failing, the transaction
/// aborting, the handler reaching the point again; for a tail call (its
/// probe only counts) the point's instruction followed by the target's.
fn trace_shows(witness: &Value, text: &str) -> Result<(), String> {
    let point = witness["point"]["address"].as_str().unwrap();
    let evidence = &witness["finding"]["evidence"];
    let hit = format!("** probe hit #1 at {point}:");
    let after_hit = |event: &str| -> Result<(), String> {
        let h = text.find(&hit).ok_or_else(|| format!("`{hit}`"))?;
        text[h..]
            .find(event)
            .map(|_| ())
            .ok_or_else(|| format!("`{event}` after `{hit}`"))
    };
    match witness["finding"]["kind"].as_str().unwrap() {
        "llsc-reservation-loss" => {
            let sc = evidence["dynamic"]["store_conditional"].as_str().unwrap();
            after_hit(&format!("** store-conditional at {sc} FAILED"))
        }
        "tm-abort" => after_hit("** transaction ABORTED"),
        "non-progress-recursion" => {
            after_hit("** probe handler runs")?;
            after_hit(&format!("end: re-entry: {point} ->"))
        }
        "tail-call-exit" => {
            let target = evidence["target"].as_str().unwrap();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("  0x"))
                .map(str::trim)
                .collect();
            lines
                .windows(2)
                .any(|w| {
                    w[0].starts_with(&format!("{point} "))
                        && w[1].starts_with(&format!("{target} "))
                })
                .then_some(())
                .ok_or_else(|| format!("{point} followed by {target}"))
        }
        other => Err(format!("a check for {other}")),
    }
}

#[test]
fn every_witness_of_the_corpora_replays() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs: Vec<(String, Vec<&str>)> = TARGETS
        .iter()
        .map(|t| (format!("{t}/hazards.so"), vec![]))
        .collect();
    runs.push((
        "x86_64/handlers.so".into(),
        vec!["--handler", "handler_indirect", "--functions", "helper"],
    ));
    let mut replayed = 0;
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, (file, extra)) in runs.iter().enumerate() {
        let wdir = dir.path().join(format!("w{i}"));
        let bin = arg(&fixture(file));
        let mut args = vec!["fuzz", &bin, "--format", "json", "--witnesses"];
        let w = arg(&wdir);
        args.push(&w);
        args.extend(extra.iter().copied());
        let report: Report = serde_json::from_slice(&stdout_of(&args)).unwrap();
        let dynamic = report
            .points
            .iter()
            .flat_map(|p| &p.findings)
            .filter(|f| {
                f.confirmed == probesafe::report::Confirmed::Dynamic
                    && probesafe::detect::witness_of(f).is_some()
            })
            .count();
        let files: Vec<_> = std::fs::read_dir(&wdir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(dynamic > 0, "{file}: no dynamic finding");
        assert_eq!(
            files.len(),
            dynamic,
            "{file}: one witness file per dynamic finding"
        );
        for path in &files {
            let out = probesafe(["replay", &arg(path)]);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{}: {}",
                path.display(),
                stderr(&out)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("REPRODUCED"), "{text}");
            let w: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            let kind = w["finding"]["kind"].as_str().unwrap().to_owned();
            if let Err(missing) = trace_shows(&w, &text) {
                panic!("{}: the trace lacks {missing}:\n{text}", path.display());
            }
            *kinds.entry(kind).or_insert(0) += 1;
            assert!(
                w["witness"]["shrink_steps"].is_u64(),
                "{}: shrunk",
                path.display()
            );
            replayed += 1;
        }
    }
    assert!(replayed > 300, "{replayed}");
    // Each kind of dynamic finding of these runs was replayed, and its
    // trace checked for what shows it.
    for kind in [
        "llsc-reservation-loss",
        "tm-abort",
        "non-progress-recursion",
    ] {
        assert!(kinds.get(kind).is_some_and(|&n| n > 0), "{kind}: {kinds:?}");
    }

    // The same witness moved to a point after the store-conditional does not
    // reproduce (exit 0); on another binary it is refused (exit 2).
    let wdir = dir.path().join("w1");
    let witness = wdir.join("0xb54-llsc-reservation-loss.json");
    let mut w: Value = serde_json::from_slice(&std::fs::read(&witness).unwrap()).unwrap();
    assert_eq!(w["point"]["symbol"], "llsc_loop");
    w["point"]["address"] = "0xb5c".into();
    let moved = dir.path().join("moved.json");
    std::fs::write(&moved, serde_json::to_vec(&w).unwrap()).unwrap();
    let out = probesafe(["replay", &arg(&moved)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not reproduced"));
    let other = arg(&fixture("aarch64-lse/hazards.so"));
    let out = probesafe(["replay", &arg(&witness), "--binary", &other]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("build-id"), "{}", stderr(&out));
}

#[test]
fn resume_after_sigterm_gives_the_uninterrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let bin = arg(&fixture("aarch64/hazards.so"));
    let base = ["fuzz", bin.as_str(), "--format", "json", "--cases", "48"];
    let whole = stdout_of(&[&base[..], &["--jobs", "2"]].concat());
    let checkpoint = dir.path().join("run.checkpoint");
    let report = dir.path().join("report.json");
    let run = |jobs: &str| {
        Command::new(env!("CARGO_BIN_EXE_probesafe"))
            .args(base)
            .args([
                "--jobs",
                jobs,
                "--checkpoint",
                &arg(&checkpoint),
                "-o",
                &arg(&report),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = run("1");
    let t = Instant::now();
    while !checkpoint.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(!report.exists(), "no report from an interrupted run");
    // JSON Lines: the header, then one line per finished function.
    let saved = std::fs::read_to_string(&checkpoint).unwrap();
    let mut lines = saved
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let header = lines.next().unwrap();
    assert_eq!(header["header"]["format"], "probesafe-fuzz-checkpoint");
    let done = lines
        .inspect(|l| {
            assert!(l["points"].as_array().unwrap().len() == l["ends"].as_array().unwrap().len())
        })
        .count();
    assert!(done > 0 && done < 36, "{done} functions in the checkpoint");

    let out = run("2").wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read(&report).unwrap() == whole,
        "resumed report differs"
    );

    // A checkpoint of other options is refused with one line, exit 2.
    let out = probesafe(
        [
            &base[..],
            &["--seed", "1", "--checkpoint", &arg(&checkpoint)],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("other options"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
}

/// A checkpoint whose last line was cut short (the run killed with
/// SIGKILL while it appended) resumes: the cut function is done again and
/// the report is the uninterrupted one. A checkpoint holds points, not a
/// report form: one written by a JSON run completes a deny-list run, whose
/// ranges need the instruction ends it keeps.
#[test]
fn a_checkpoint_cut_mid_line_resumes_to_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let bin = arg(&fixture("aarch64/hazards.so"));
    let checkpoint = dir.path().join("ck.jsonl");
    let ck = arg(&checkpoint);
    let base = ["fuzz", bin.as_str(), "--cases", "4", "--jobs", "2"];
    let json = [&base[..], &["--format", "json"]].concat();
    let blacklist = [&base[..], &["--format", "blacklist"]].concat();
    let whole = stdout_of(&json);
    let whole_blacklist = stdout_of(&blacklist);
    assert!(
        !whole_blacklist.is_empty(),
        "the corpus has hazardous ranges"
    );
    assert!(stdout_of(&[&json[..], &["--checkpoint", &ck]].concat()) == whole);
    let text = std::fs::read_to_string(&checkpoint).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 10, "{} lines", lines.len());
    // The header, half the functions, and half of the next line.
    let keep = lines.len() / 2;
    let cut = lines[..keep].join("\n") + "\n" + &lines[keep][..lines[keep].len() / 2];
    std::fs::write(&checkpoint, &cut).unwrap();
    assert!(stdout_of(&[&json[..], &["--checkpoint", &ck]].concat()) == whole);
    // Now whole again: every line parses.
    let text = std::fs::read_to_string(&checkpoint).unwrap();
    assert_eq!(text.lines().count(), lines.len());
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    std::fs::write(&checkpoint, &cut).unwrap();
    assert!(
        stdout_of(&[&blacklist[..], &["--checkpoint", &ck]].concat()) == whole_blacklist,
        "the deny-list from a checkpoint differs"
    );
}

/// The OASIS SARIF 2.1.0 schema, with its two broken patterns fixed.
fn sarif_schema() -> Value {
    // tests/data/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 schema
    // (draft-07, $id .../oasis-tcs/sarif-spec/.../sarif-schema-2.1.0.json) as
    // shipped in the serde-sarif 0.8.0 crate on crates.io (src/schema.json).
    let mut schema: Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    // The published schema's `language` patterns have a stray `]`
    // (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`), which the jsonschema
    // crate's meta-validation rejects as a regex; probesafe writes no
    // `language`, so those patterns are replaced by their evident intent.
    fn fix(v: &mut Value) -> usize {
        match v {
            Value::Object(map) => map
                .iter_mut()
                .map(|(k, v)| {
                    if k == "pattern" && v == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *v = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".into();
                        1
                    } else {
                        fix(v)
                    }
                })
                .sum(),
            Value::Array(a) => a.iter_mut().map(fix).sum(),
            _ => 0,
        }
    }
    assert_eq!(fix(&mut schema), 2, "the two language patterns");
    schema
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema = sarif_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    for file in [
        "aarch64/hazards-stripped.so",
        "ppc64/hazards.so",
        "x86_64/dwarf-O2.so",
        "aarch64/vmlinux",
    ] {
        let bin = arg(&fixture(file));
        let out = stdout_of(&["fuzz", &bin, "--format", "sarif"]);
        let log: Value = serde_json::from_slice(&out).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:#?}");
        let mut broken = log.clone();
        broken["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] =
            "fatal".into();
        assert!(
            !validator.is_valid(&broken),
            "the validator rejects a bad level"
        );
        // One result per finding of each entry of the folded JSON: a range
        // of points with the same findings is one result.
        let json: Value =
            serde_json::from_slice(&stdout_of(&["fuzz", &bin, "--format", "json"])).unwrap();
        let results = log["runs"][0]["results"].as_array().unwrap();
        let findings: usize = json["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["findings"].as_array().unwrap().len())
            .sum();
        assert_eq!(results.len(), findings, "{file}: one result per finding");
        for r in results {
            let level = r["level"].as_str().unwrap();
            let kind =
                probesafe::report::FindingKind::from_name(r["ruleId"].as_str().unwrap()).unwrap();
            let want = match kind.severity() {
                probesafe::report::Verdict::Hazardous => "error",
                probesafe::report::Verdict::Gray => "warning",
                _ => "note",
            };
            assert_eq!(level, want);
        }
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), probesafe::report::ALL_KINDS.len());
        let located =
            |r: &Value| r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64();
        assert!(results
            .iter()
            .all(|r| r["locations"][0]["physicalLocation"]["address"]["absoluteAddress"].is_u64()));
        if file.contains("dwarf") {
            assert!(
                results.iter().any(located),
                "{file}: DWARF gives source lines"
            );
        } else if file.contains("stripped") {
            assert!(!results.iter().any(located), "{file}: no DWARF, no lines");
        }
    }
}

#[test]
fn junit_has_one_case_per_point_and_a_failure_per_hazardous_point() {
    let bin = arg(&fixture("ppc64le/hazards.so"));
    let xml = String::from_utf8(stdout_of(&["fuzz", &bin, "--format", "junit"])).unwrap();
    let report: Report =
        serde_json::from_slice(&stdout_of(&["fuzz", &bin, "--format", "json"])).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<testcase ").count(), report.points.len());
    assert_eq!(
        xml.matches("<failure ").count() as u64,
        report.summary.hazardous
    );
    // Balanced elements, and no raw markup characters in text.
    for tag in ["testsuites", "testsuite", "failure", "system-out"] {
        assert_eq!(
            xml.matches(&format!("<{tag} ")).count() + xml.matches(&format!("<{tag}>")).count(),
            xml.matches(&format!("</{tag}>")).count(),
            "{tag}"
        );
    }
    // Every `<` opens or closes an element: details were escaped.
    for piece in xml.split('<').skip(1) {
        let name = piece.trim_start_matches(['/', '?']);
        assert!(
            [
                "xml",
                "testsuites",
                "testsuite",
                "testcase",
                "failure",
                "system-out",
                "properties",
                "property"
            ]
            .iter()
            .any(|t| name.starts_with(t)),
            "unescaped markup: <{}",
            &piece[..piece.len().min(40)]
        );
    }
}

#[test]
fn baseline_reports_and_fails_only_on_points_that_got_worse() {
    let dir = tempfile::tempdir().unwrap();
    let bin = arg(&fixture("aarch64/hazards.so"));
    let current = stdout_of(&["fuzz", &bin, "--format", "json", "--per-point"]);
    let same = dir.path().join("same.json");
    std::fs::write(&same, &current).unwrap();
    let out = probesafe(["fuzz", &bin, "--format", "json", "--baseline", &arg(&same)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r.points.is_empty());
    // An older build where llsc_loop+4 was safe and one gray point was
    // hazardous: only llsc_loop+4 got worse.
    let mut old: Value = serde_json::from_slice(&current).unwrap();
    let mut gray_to_hazardous = None;
    for p in old["points"].as_array_mut().unwrap() {
        if p["symbol"] == "llsc_loop" && p["offset"] == 4 {
            p["verdict"] = "safe".into();
            p["findings"] = Value::Array(vec![]);
        } else if p["verdict"] == "gray" && gray_to_hazardous.is_none() {
            p["verdict"] = "hazardous".into();
            gray_to_hazardous = Some(p["address"].clone());
        }
    }
    assert!(gray_to_hazardous.is_some());
    let older = dir.path().join("older.json");
    std::fs::write(&older, serde_json::to_vec(&old).unwrap()).unwrap();
    let out = probesafe(["fuzz", &bin, "--format", "json", "--baseline", &arg(&older)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.points.len(), 1, "{:?}", r.points);
    assert_eq!(
        (r.points[0].symbol.as_str(), r.points[0].offset),
        ("llsc_loop", 4)
    );
    let out = probesafe([
        "fuzz",
        &bin,
        "--format",
        "json",
        "--baseline",
        &arg(&older),
        "--fail-on",
        "hazardous",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // A baseline that is not a report: one line, exit 2.
    let out = probesafe([
        "fuzz",
        &bin,
        "--baseline",
        &arg(&fixture("aarch64/hazards.so")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn bad_shards_are_usage_errors() {
    let bin = arg(&fixture("x86_64/hazards.so"));
    for shard in ["3/3", "1", "a/2", "0/0"] {
        let out = probesafe(["fuzz", &bin, "--shard", shard]);
        assert_eq!(out.status.code(), Some(2), "{shard}");
        assert!(stderr(&out).contains("bad shard"), "{}", stderr(&out));
    }
}

/// corpora/src/hidden_*.S: a window whose closing instruction is reached
/// only through an indirect branch, so the static map marks none. `fuzz`
/// traps every boundary and must find exactly the points inside it, with
/// witnesses that replay and whose evidence describes the shrunk input;
/// `--candidates` (the static map's points only) finds nothing there.
#[test]
fn windows_the_static_map_misses_are_discovered() {
    let dir = tempfile::tempdir().unwrap();
    for (target, kind, inside) in [
        ("x86_64", "tm-abort", [0x7, 0xd, 0xf, 0x11]),
        ("aarch64", "llsc-reservation-loss", [0x4, 0x8, 0xc, 0x10]),
        (
            "aarch64-lse",
            "llsc-reservation-loss",
            [0x4, 0x8, 0xc, 0x10],
        ),
        ("ppc64", "llsc-reservation-loss", [0xc, 0x10, 0x14, 0x18]),
        ("ppc64le", "llsc-reservation-loss", [0xc, 0x10, 0x14, 0x18]),
    ] {
        let bin = arg(&fixture(&format!("{target}/hidden.so")));
        let wdir = dir.path().join(target);
        let w = arg(&wdir);
        let report: Report = serde_json::from_slice(&stdout_of(&[
            "fuzz",
            &bin,
            "--format",
            "json",
            "--witnesses",
            &w,
        ]))
        .unwrap();
        let discovered: Vec<u64> = report
            .points
            .iter()
            .filter(|p| {
                p.findings.iter().any(|f| {
                    f.kind.name() == kind
                        && f.confirmed == probesafe::report::Confirmed::Dynamic
                        && f.evidence["role"] == "discovered"
                        && f.evidence["dynamic"]["outcome"] == "confirmed"
                })
            })
            .map(|p| p.offset)
            .collect();
        assert_eq!(discovered, inside, "{target}: the points inside the window");
        assert!(
            report.points.len() > inside.len() + 3,
            "{target}: the boundaries before and after the window were tried too"
        );

        // The static map alone sees nothing there.
        let candidates: Report = serde_json::from_slice(&stdout_of(&[
            "fuzz",
            &bin,
            "--candidates",
            "--format",
            "json",
        ]))
        .unwrap();
        assert!(
            candidates
                .points
                .iter()
                .all(|p| p.findings.iter().all(|f| f.kind.name() != kind)),
            "{target}: --candidates found a window"
        );

        // Every witness replays, and its evidence is that of the shrunk
        // input: exactly `hits` probe hits.
        let mut files: Vec<_> = std::fs::read_dir(&wdir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), inside.len(), "{target}: one witness per point");
        for path in files {
            let w: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert!(w["witness"]["shrink_steps"].as_u64().unwrap() > 0, "{w}");
            let out = probesafe(["replay", &arg(&path)]);
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            let text = String::from_utf8_lossy(&out.stdout);
            let hits = w["finding"]["evidence"]["dynamic"]["hits"]
                .as_u64()
                .unwrap();
            assert!(
                text.contains(&format!("** probe hit #{hits} ")),
                "{w}\n{text}"
            );
            assert!(
                !text.contains(&format!("** probe hit #{} ", hits + 1)),
                "{w}\n{text}"
            );
        }
    }
}

/// Point specs that named no point are tool execution notifications in a
/// valid SARIF log (issue 12).
#[test]
fn sarif_with_unresolved_specs_validates() {
    let schema = sarif_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let bin = arg(&fixture("aarch64/hazards.so"));
    let out = probesafe(["check", &bin, "add3", "0x0", "nope", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 2);
}

/// corpora/src/tm_nested_*.S: nested transactions (flat nesting, POWER
/// `tend. 1`) and the status test after a begin. `fuzz` traps every
/// boundary, so it judges each one by emulation: its tm-abort points must
/// be exactly the static windows' (nothing discovered, nothing refuted or
/// left inconclusive), every finding names the outermost begin, and the
/// code after the outer end and the fallback stay safe. Regression: the
/// static window closed at the inner end, so the outer part of the nest was
/// `safe` statically but aborted when emulated, and the inner part was
/// attributed to the inner begin, which an abort never names; the
/// emulator's `tend. 1` ended one level only, so the code after it aborted.
#[test]
fn nested_transactions_fuzz_agrees_with_the_static_windows() {
    for target in TARGETS {
        let bin = arg(&fixture(&format!("{target}/txnest.so")));
        let fuzzed: Report =
            serde_json::from_slice(&stdout_of(&["fuzz", &bin, "--format", "json"])).unwrap();
        let static_only: Report = serde_json::from_slice(&stdout_of(&[
            "scan",
            &bin,
            "--static-only",
            "--format",
            "json",
        ]))
        .unwrap();
        let tm = |r: &Report| -> Vec<(String, u64)> {
            r.points
                .iter()
                .filter(|p| p.findings.iter().any(|f| f.kind.name() == "tm-abort"))
                .map(|p| (p.symbol.clone(), p.offset))
                .collect()
        };
        assert_eq!(
            tm(&fuzzed),
            tm(&static_only),
            "{target}: emulation and the static map"
        );
        let nested: Vec<u64> = tm(&fuzzed)
            .iter()
            .filter(|(f, _)| f == "tm_nested")
            .map(|&(_, o)| o)
            .collect();
        let want: Vec<u64> = if target == "x86_64" {
            vec![0x0, 0x6, 0x8, 0xe, 0x11, 0x14, 0x17]
        } else {
            (0..=0x38).step_by(4).collect()
        };
        assert_eq!(nested, want, "{target}: outer begin .. outer end");
        for p in &fuzzed.points {
            for f in p.findings.iter().filter(|f| f.kind.name() == "tm-abort") {
                assert_ne!(
                    f.evidence["role"],
                    "discovered",
                    "{target} {:#x}",
                    p.address_value()
                );
                assert_eq!(
                    f.evidence["dynamic"]["outcome"],
                    "confirmed",
                    "{target} {:#x}: {}",
                    p.address_value(),
                    f.detail
                );
                let begin = fuzzed
                    .points
                    .iter()
                    .find(|q| q.symbol == p.symbol && q.offset == 0)
                    .map(|q| q.address_value())
                    .unwrap();
                assert_eq!(
                    f.evidence["begin"],
                    format!("{begin:#x}"),
                    "{target} {:#x}: the outermost begin",
                    p.address_value()
                );
            }
        }
    }
}
