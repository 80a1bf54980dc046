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
