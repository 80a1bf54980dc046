//! Bad input gets one clear line on stderr naming the file and the problem,
//! and exit 2; never a panic.

mod common;

use std::path::Path;

use common::{arg, fixture, probesafe, stderr};

/// Run, and check the one-line error contract; returns the line.
fn fails_cleanly(args: &[&str], mentions: &[&str]) -> String {
    let out = probesafe(args);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status for {args:?}: {err}"
    );
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one line on stderr for {args:?}, got: {err}"
    );
    assert!(lines[0].starts_with("probesafe: error: "), "{err}");
    for m in mentions {
        assert!(
            lines[0].contains(m),
            "{args:?}: {:?} should mention {m:?}",
            lines[0]
        );
    }
    assert!(out.stdout.is_empty(), "no report on error");
    lines[0].to_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    arg(&path)
}

fn corpus_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

#[test]
fn not_an_elf() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "notes.txt",
        b"just some text, not an ELF file\n",
    );
    fails_cleanly(&["scan", &path], &[&path, "not a valid ELF"]);
}

#[test]
fn missing_file() {
    fails_cleanly(
        &["scan", "/nonexistent/vmlinux"],
        &["/nonexistent/vmlinux", "cannot read"],
    );
}

#[test]
fn truncated_headers() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = corpus_bytes("aarch64/hazards.so");
    for len in [4usize, 20, 63] {
        let path = write(dir.path(), &format!("cut{len}.so"), &bytes[..len]);
        fails_cleanly(&["scan", &path], &[&path]);
    }
}

#[test]
fn inconsistent_section_headers() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = corpus_bytes("x86_64/hazards.so");
    // e_shoff (offset 0x28, 8 bytes LE) far past the end of the file.
    bytes[0x28..0x30].copy_from_slice(&0x7fff_ffffu64.to_le_bytes());
    let path = write(dir.path(), "bad-shoff.so", &bytes);
    fails_cleanly(&["scan", &path], &[&path, "not a valid ELF"]);
}

#[test]
fn unsupported_architectures() {
    let dir = tempfile::tempdir().unwrap();
    let mut riscv = corpus_bytes("x86_64/hazards.so");
    riscv[0x12..0x14].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    let path = write(dir.path(), "riscv.so", &riscv);
    fails_cleanly(&["scan", &path], &[&path, "unsupported architecture riscv"]);

    // A minimal 32-bit ARM ELF header.
    let mut arm32 = vec![0u8; 52];
    arm32[..4].copy_from_slice(b"\x7fELF");
    arm32[4] = 1; // ELFCLASS32
    arm32[5] = 1; // little-endian
    arm32[6] = 1;
    arm32[0x10] = 2; // ET_EXEC
    arm32[0x12] = 40; // EM_ARM
    arm32[0x14] = 1;
    arm32[0x28] = 52;
    let path = write(dir.path(), "arm32", &arm32);
    fails_cleanly(
        &["scan", &path],
        &[&path, "unsupported architecture arm", "32-bit"],
    );
}

#[test]
fn unknown_symbol() {
    let so = arg(&fixture("x86_64/hazards.so"));
    fails_cleanly(
        &["check", &so, "no_such_function"],
        &[&so, "unknown symbol", "no_such_function"],
    );
    fails_cleanly(
        &["check", &so, "function(\"nomatch*\").call"],
        &[&so, "nomatch*"],
    );
    fails_cleanly(
        &["scan", &so, "--functions", "nomatch*"],
        &[&so, "nomatch*"],
    );
    fails_cleanly(
        &["check", &so, "add3", "--handler", "no_handler"],
        &[&so, "no_handler"],
    );
}

#[test]
fn address_outside_any_function() {
    let so = arg(&fixture("aarch64/hazards.so"));
    fails_cleanly(
        &["check", &so, "0x0"],
        &[&so, "0x0 is outside any function"],
    );
    fails_cleanly(
        &["check", &so, "0xffffffffffff0000"],
        &[&so, "outside any function"],
    );
}

#[test]
fn bad_point_spec() {
    let so = arg(&fixture("aarch64/hazards.so"));
    fails_cleanly(
        &["check", &so, "function(add3).call"],
        &["function(add3).call", "quoted"],
    );
    fails_cleanly(&["check", &so, "add3+0xzz"], &["add3+0xzz"]);
    fails_cleanly(&["check", &so, "function(\"add3\").entry"], &[".entry"]);
}

#[test]
fn bad_blacklist_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "blacklist",
        b"0x1000-0x2000\tgood\nnot-a-range\tbad\n",
    );
    let so = arg(&fixture("aarch64/hazards.so"));
    fails_cleanly(
        &["check", &so, "add3", "--blacklist", &path],
        &[&format!("{path}:2")],
    );
}

#[test]
fn build_id_mismatch() {
    let so = arg(&fixture("aarch64/hazards.so"));
    fails_cleanly(
        &["check", &so, "add3", "--expect-build-id", "00112233"],
        &[&so, "build-id", "00112233"],
    );
    // The right build-id is accepted.
    let out = probesafe(["check", &so, "add3", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = report["binary"]["build_id"].as_str().unwrap().to_owned();
    let out = probesafe(["check", &so, "add3", "--expect-build-id", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let out = probesafe(["scan"]);
    assert_eq!(out.status.code(), Some(2));
    let out = probesafe(["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = probesafe(["--help"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fail_on_sets_exit_1() {
    let so = arg(&fixture("aarch64/hazards.so"));
    // llsc_loop+0x4 is inside an LL/SC window: hazardous.
    let out = probesafe(["check", &so, "llsc_loop+0x4", "--fail-on", "hazardous"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = probesafe(["check", &so, "llsc_loop+0x4", "--fail-on", "gray"]);
    assert_eq!(out.status.code(), Some(1));
    // add3 is plain code: safe.
    let out = probesafe(["check", &so, "add3", "--fail-on", "gray"]);
    assert_eq!(out.status.code(), Some(0));
    // The ifunc resolver is gray: fails on gray, not on hazardous.
    let out = probesafe(["check", &so, "resolve_fast", "--fail-on", "gray"]);
    assert_eq!(out.status.code(), Some(1));
    let out = probesafe(["check", &so, "resolve_fast", "--fail-on", "hazardous"]);
    assert_eq!(out.status.code(), Some(0));
    // Without --fail-on a hazardous point still exits 0: the run succeeded.
    let out = probesafe(["check", &so, "llsc_loop+0x4"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let so = arg(&fixture("ppc64/hazards.so"));
    let out = probesafe(["scan", &so, "--format", "json", "--output", &arg(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let report: probesafe::report::Report =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(!report.points.is_empty());
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

/// Regression: `SYMBOL+OFFSET` wrapped around the address space, or silently
/// landed in the next function, instead of being refused.
#[test]
fn offset_past_the_end_of_the_function() {
    let so = arg(&fixture("aarch64/hazards.so"));
    fails_cleanly(
        &["check", &so, "add3+0xffffffffffffffff"],
        &[&so, "past the end of add3"],
    );
    fails_cleanly(
        &["check", &so, "add3+0x100"],
        &[&so, "past the end of add3"],
    );
}

/// Regression: an unbounded `--jobs` value tried to start that many threads
/// and aborted.
#[test]
fn jobs_are_bounded() {
    let so = arg(&fixture("aarch64/hazards.so"));
    let out = probesafe(["check", &so, "add3", "-j", "5000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1..=1024"));
}

/// A run with some bad point specs: the output, and the report parsed from
/// stdout (or from `--output`) when one is expected.
struct Batch {
    code: Option<i32>,
    stdout: String,
    lines: Vec<String>,
}

fn batch(args: &[&str]) -> Batch {
    let out = probesafe(args);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    Batch {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        lines: err.lines().map(str::to_owned).collect(),
    }
}

/// Each of `bad` (spec, words of its error) has its own line on stderr, in
/// order, and nothing else is there; exit 2.
fn assert_bad_lines(b: &Batch, bad: &[(&str, &str)], what: &str) {
    assert_eq!(
        b.code,
        Some(2),
        "{what}: exit status; stderr: {:?}",
        b.lines
    );
    assert_eq!(
        b.lines.len(),
        bad.len(),
        "{what}: one stderr line per bad spec: {:?}",
        b.lines
    );
    for (line, (spec, error)) in b.lines.iter().zip(bad) {
        assert!(line.starts_with("probesafe: error: "), "{what}: {line}");
        assert!(line.contains(spec), "{what}: {line:?} names {spec:?}");
        assert!(line.contains(error), "{what}: {line:?} says {error:?}");
    }
}

/// The unresolved list of a JSON report: (spec, error) in order.
fn unresolved_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["unresolved"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    (
                        u["spec"].as_str().unwrap().to_owned(),
                        u["error"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn json_points(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["address"].as_str().unwrap().to_owned(),
                p["symbol"].as_str().unwrap().to_owned(),
                p["offset"].as_u64().unwrap(),
            )
        })
        .collect()
}

const BAD: &[(&str, &str)] = &[
    ("0x0", "outside any function"),
    ("no_such_function", "unknown symbol"),
    ("add3+0x100", "past the end of add3"),
    ("add3+0xzz", "bad point spec"),
];

/// Regression (issue 12): one address "outside any function" among many
/// made `check` exit 2 with no report at all. Now the good specs are
/// reported, each bad one gets a line on stderr and a place in the JSON's
/// `unresolved`, and the run exits 2 at the end.
#[test]
fn check_reports_the_good_specs_of_a_batch() {
    let so = arg(&fixture("aarch64/hazards.so"));
    let mut args = vec![
        "check",
        &so,
        "add3",
        "0x0",
        "llsc_loop+0x4",
        "no_such_function",
    ];
    args.extend([
        "add3+0x100",
        "add3+0xzz",
        "--static-only",
        "--format",
        "json",
    ]);
    let b = batch(&args);
    let bad = [BAD[0], BAD[1], BAD[2], BAD[3]];
    assert_bad_lines(&b, &bad, "check");
    let report: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    // It parses as the library's report type (deny_unknown_fields).
    let typed: probesafe::report::Report = serde_json::from_str(&b.stdout).unwrap();
    assert_eq!(typed.unresolved.len(), 4);
    let points = json_points(&report);
    let names: Vec<(&str, u64)> = points.iter().map(|p| (p.1.as_str(), p.2)).collect();
    assert_eq!(names, [("add3", 0), ("llsc_loop", 4)], "{points:?}");
    assert_eq!(report["points"][1]["verdict"], "hazardous");
    let unresolved = unresolved_of(&report);
    let specs: Vec<&str> = unresolved.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(
        specs,
        ["0x0", "no_such_function", "add3+0x100", "add3+0xzz"]
    );
    for ((_, error), (_, words)) in unresolved.iter().zip(&bad) {
        assert!(error.contains(words), "{error:?} says {words:?}");
    }
    // The text report lists the good points and the bad specs too; --fail-on
    // does not hide the exit 2.
    let mut args = vec![
        "check",
        &so,
        "add3",
        "0x0",
        "llsc_loop+0x4",
        "--static-only",
    ];
    args.extend(["--fail-on", "hazardous"]);
    let b = batch(&args);
    assert_bad_lines(&b, &[BAD[0]], "check text");
    assert!(b.stdout.contains("add3+0x0"), "{}", b.stdout);
    assert!(b.stdout.contains("llsc_loop+0x4"), "{}", b.stdout);
    assert!(b.stdout.contains("2 points:"), "{}", b.stdout);
    assert!(
        b.stdout.contains("unresolved 0x0: ") && b.stdout.contains("outside any function"),
        "{}",
        b.stdout
    );
}

/// The same for `scan --points` and `fuzz --points` (and `--functions`
/// globs that match nothing).
#[test]
fn scan_and_fuzz_point_lists_survive_bad_specs() {
    let so = arg(&fixture("x86_64/hazards.so"));
    for command in ["scan", "fuzz"] {
        let mut args = vec![command, &so, "--points", "add3", "--points", "0x0"];
        args.extend([
            "--points",
            "tm_fallback+0x6",
            "--points",
            "no_such_function",
        ]);
        args.extend(["--format", "json", "--per-point", "--cases", "2"]);
        let b = batch(&args);
        assert_bad_lines(&b, &[BAD[0], BAD[1]], command);
        let report: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
        let points = json_points(&report);
        let names: Vec<(&str, u64)> = points.iter().map(|p| (p.1.as_str(), p.2)).collect();
        assert_eq!(
            names,
            [("add3", 0), ("tm_fallback", 6)],
            "{command}: {points:?}"
        );
        assert_eq!(report["points"][1]["verdict"], "hazardous", "{command}");
        let specs: Vec<String> = unresolved_of(&report).into_iter().map(|u| u.0).collect();
        assert_eq!(specs, ["0x0", "no_such_function"], "{command}");
    }
    let b = batch(&[
        "scan",
        &so,
        "--functions",
        "add3",
        "--functions",
        "nomatch*",
        "--static-only",
        "--format",
        "json",
        "--per-point",
    ]);
    assert_bad_lines(&b, &[("nomatch*", "unknown symbol")], "scan --functions");
    let report: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    assert!(json_points(&report).iter().all(|p| p.1 == "add3"));
    assert!(!json_points(&report).is_empty());
}

/// `confirm` with a spec file: the bad lines are named with their line
/// number, the good ones confirmed.
#[test]
fn confirm_spec_file_survives_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let specs = write(
        dir.path(),
        "specs.txt",
        b"# candidates\nllsc_loop+0x4\n0x0\n\nadd3\nfunction(\"nomatch\").return\nadd3+0xzz\n",
    );
    let so = arg(&fixture("aarch64/hazards.so"));
    let b = batch(&["confirm", &so, &specs, "--format", "json", "--cases", "2"]);
    let bad = [
        ("0x0", "specs.txt:3: "),
        ("function(\"nomatch\").return", "specs.txt:6: "),
        ("add3+0xzz", "specs.txt:7: "),
    ];
    assert_bad_lines(&b, &bad, "confirm");
    assert!(b.lines[0].contains("outside any function"), "{:?}", b.lines);
    let report: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    let points = json_points(&report);
    let names: Vec<(&str, u64)> = points.iter().map(|p| (p.1.as_str(), p.2)).collect();
    assert_eq!(names, [("add3", 0), ("llsc_loop", 4)], "{points:?}");
    assert_eq!(report["points"][1]["status"], "confirmed hazardous");
    let unresolved = unresolved_of(&report);
    let specs: Vec<&str> = unresolved.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(specs, ["0x0", "function(\"nomatch\").return", "add3+0xzz"]);
    assert!(unresolved[0].1.contains("specs.txt:3: "), "{unresolved:?}");
}

/// `vars` with several specs.
#[test]
fn vars_survives_bad_specs() {
    let so = arg(&fixture("x86_64/dwarf-O2.so"));
    let b = batch(&[
        "vars",
        &so,
        "function(\"in_memory\").call",
        "no_such_function",
        "function(\"constants\").call",
        "--format",
        "json",
    ]);
    assert_bad_lines(&b, &[BAD[1]], "vars");
    let report: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    let points = json_points(&report);
    let names: Vec<&str> = points.iter().map(|p| p.1.as_str()).collect();
    assert!(
        names.contains(&"in_memory") && names.contains(&"constants"),
        "{names:?}"
    );
    let specs: Vec<String> = unresolved_of(&report).into_iter().map(|u| u.0).collect();
    assert_eq!(specs, ["no_such_function"]);
}

/// When every spec is bad: exit 2 with the lines, no text report, and an
/// empty report when JSON or a file was asked for.
#[test]
fn every_spec_bad() {
    let so = arg(&fixture("aarch64/hazards.so"));
    let b = batch(&["check", &so, "0x0", "no_such_function"]);
    assert_bad_lines(&b, &[BAD[0], BAD[1]], "all bad, text");
    assert!(b.stdout.is_empty(), "no text report: {}", b.stdout);

    let b = batch(&["check", &so, "0x0", "no_such_function", "--format", "json"]);
    assert_bad_lines(&b, &[BAD[0], BAD[1]], "all bad, json");
    let report: probesafe::report::Report = serde_json::from_str(&b.stdout).unwrap();
    assert!(report.points.is_empty());
    assert_eq!(report.unresolved.len(), 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.txt");
    let b = batch(&["check", &so, "0x0", "-o", &arg(&path)]);
    assert_bad_lines(&b, &[BAD[0]], "all bad, -o");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("0 points:") && text.contains("unresolved 0x0"),
        "{text}"
    );
}

/// SARIF and JUnit show the unresolved specs: a tool execution notification
/// and a JUnit error test case each.
#[test]
fn sarif_and_junit_show_unresolved_specs() {
    let so = arg(&fixture("aarch64/hazards.so"));
    let b = batch(&["check", &so, "add3", "0x0", "--format", "sarif"]);
    assert_bad_lines(&b, &[BAD[0]], "sarif");
    let sarif: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(notes[0]["properties"]["spec"], "0x0");
    assert!(notes[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("outside any function"));

    let b = batch(&["check", &so, "add3", "0x0", "--format", "junit"]);
    assert_bad_lines(&b, &[BAD[0]], "junit");
    assert!(b.stdout.contains("tests=\"2\""), "{}", b.stdout);
    assert!(b.stdout.contains("errors=\"1\""), "{}", b.stdout);
    assert!(
        b.stdout.contains("name=\"unresolved 0x0\"")
            && b.stdout.contains("<error message=")
            && b.stdout.contains("type=\"unresolved-spec\""),
        "{}",
        b.stdout
    );
}

fn json_report(args: &[&str]) -> serde_json::Value {
    let out = probesafe(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Regression (issue 12): in a kernel image, `SYMBOL+OFFSET` past the ELF
/// symbol's size (code the kernel places after a function, such as arm64
/// alternative replacement sequences, `__kvm_nvhe_hyp_create_idmap+0xe0`)
/// was refused, though kallsyms gives the symbol every byte up to the next
/// one and the kernel accepts the probe. vmlinux-alt (src/alt_<arch>.S):
/// alt_user's replacement sequence and out-of-line code follow it, then
/// after_alt.
#[test]
fn kernel_image_follows_kallsyms() {
    // (target, ELF size of alt_user, an offset inside the out-of-line
    // LL/SC loop, if the arch has one)
    for (target, size, window) in [
        ("aarch64", 0x10u64, Some(0x18u64)),
        ("x86_64", 0xb, None),
        ("ppc64", 0x10, Some(0x18)),
        ("ppc64le", 0x10, Some(0x18)),
    ] {
        let bin = arg(&fixture(&format!("{target}/vmlinux-alt")));
        let after = json_report(&[
            "check",
            &bin,
            "after_alt",
            "--static-only",
            "--format",
            "json",
        ]);
        let after = after["points"][0]["address"].as_str().unwrap().to_owned();
        let entry = json_report(&[
            "check",
            &bin,
            "alt_user",
            "--static-only",
            "--format",
            "json",
        ]);
        let base =
            probesafe::report::parse_address(entry["points"][0]["address"].as_str().unwrap())
                .unwrap();
        let past = format!("alt_user+{size:#x}");
        let by_address = format!("{:#x}", base + size);
        let r = json_report(&[
            "check",
            &bin,
            &past,
            &by_address,
            "--static-only",
            "--format",
            "json",
        ]);
        let points = r["points"].as_array().unwrap();
        assert_eq!(points.len(), 1, "{target}: both specs name one point: {r}");
        let p = &points[0];
        assert_eq!(p["symbol"], "alt_user", "{target}");
        assert_eq!(p["offset"], size, "{target}");
        assert_eq!(p["verdict"], "gray", "{target}: {p}");
        let finding = p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "past-symbol-size")
            .unwrap_or_else(|| panic!("{target}: no past-symbol-size: {p}"));
        let evidence = &finding["evidence"];
        assert_eq!(evidence["symbol"], "alt_user", "{target}");
        assert_eq!(evidence["size"], size, "{target}");
        assert_eq!(evidence["offset"], size, "{target}");
        assert_eq!(evidence["next_symbol"], "after_alt", "{target}");
        // Bounded by the next symbol.
        assert_eq!(evidence["extent_end"], after.as_str(), "{target}");
        assert!(
            finding["detail"]
                .as_str()
                .unwrap()
                .contains("past the ELF size"),
            "{target}: {finding}"
        );
        // At the next symbol the kernel names after_alt: refused as alt_user.
        let end = probesafe::report::parse_address(&after).unwrap() - base;
        let beyond = format!("alt_user+{end:#x}");
        fails_cleanly(
            &["check", &bin, &beyond],
            &[&bin, "past the end of alt_user"],
        );
        // The out-of-line LL/SC loop is analysed and emulated as part of
        // alt_user (its extent reaches the next symbol, no further).
        if let Some(off) = window {
            let spec = format!("alt_user+{off:#x}");
            let r = json_report(&["check", &bin, &spec, "--format", "json", "--cases", "4"]);
            let p = &r["points"][0];
            assert_eq!(p["verdict"], "hazardous", "{target}: {p}");
            let kinds: Vec<&str> = p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["kind"].as_str().unwrap())
                .collect();
            assert!(kinds.contains(&"past-symbol-size"), "{target}: {kinds:?}");
            let llsc = p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["kind"] == "llsc-reservation-loss")
                .unwrap_or_else(|| panic!("{target}: no LL/SC finding: {p}"));
            assert_eq!(llsc["confirmed"], "dynamic", "{target}: {llsc}");
            assert_eq!(
                llsc["evidence"]["dynamic"]["outcome"], "confirmed",
                "{target}"
            );
        }
    }
}

/// Outside kernel images a function still ends at its ELF size: the
/// padding after `_start` in a user-space ET_EXEC is refused.
#[test]
fn user_space_keeps_elf_sizes() {
    let exe = arg(&fixture("x86_64/diffdriver"));
    fails_cleanly(
        &["check", &exe, "_start+0xc"],
        &[&exe, "past the end of _start"],
    );
    fails_cleanly(
        &["check", &exe, "0x40016c"],
        &[&exe, "0x40016c is outside any function"],
    );
}
