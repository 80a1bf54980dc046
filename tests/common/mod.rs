//! Helpers shared by the integration tests: fixtures and the real CLI.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use probesafe::report::Report;

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A corpus binary, e.g. `fixture("aarch64/hazards.so")`.
pub fn fixture(name: &str) -> PathBuf {
    let path = root().join("corpora").join(name);
    assert!(path.exists(), "missing fixture {}", path.display());
    path
}

/// Run the probesafe binary.
pub fn probesafe<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_probesafe"))
        .args(args)
        .output()
        .expect("probesafe runs")
}

/// Run probesafe and parse its JSON report; panics with stderr on failure.
pub fn report<I, S>(args: I) -> Report
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = probesafe(args);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "probesafe failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report does not parse: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The text of stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A path as an argument.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// The dynamic evidence of the `kind` finding at the first point `check
/// FILE SPEC` reports (FILE under corpora/).
#[allow(dead_code)] // not every test crate uses it
pub fn dynamic_evidence(
    file: &str,
    spec: &str,
    kind: probesafe::report::FindingKind,
) -> serde_json::Value {
    let r = report([
        "check",
        &fixture(file).display().to_string(),
        spec,
        "--format",
        "json",
    ]);
    let p = r
        .points
        .first()
        .unwrap_or_else(|| panic!("{file} {spec}: no point"));
    p.findings
        .iter()
        .find(|f| f.kind == kind)
        .and_then(|f| f.evidence.get("dynamic").cloned())
        .unwrap_or_else(|| panic!("{file} {spec}: no dynamic {kind:?} evidence"))
}
