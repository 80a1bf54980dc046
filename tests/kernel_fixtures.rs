//! Kernel-style fixtures beyond the manifest's verdicts: the module
//! `kmod-windows.ko` (ET_REL) runs on its own relocated data. Each test
//! names what was wrong before.

mod common;

use common::{fixture, report};
use probesafe::report::{FindingKind, Point};

/// The dynamic evidence of the window finding of `kind` at `spec` in `file`.
fn dynamic(file: &str, spec: &str, kind: FindingKind) -> serde_json::Value {
    let r = report([
        "check",
        &fixture(file).display().to_string(),
        spec,
        "--format",
        "json",
    ]);
    let p: &Point = r
        .points
        .first()
        .unwrap_or_else(|| panic!("{file} {spec}: no point"));
    p.findings
        .iter()
        .find(|f| f.kind == kind)
        .and_then(|f| f.evidence.get("dynamic").cloned())
        .unwrap_or_else(|| panic!("{file} {spec}: no dynamic {kind:?} evidence"))
}

/// Was: the loader applied only absolute, PC-relative and branch
/// relocations, so in a module an arm64 `adrp`/`add :lo12:` pair, POWER
/// `TOC16_HA/LO` (with `.TOC.` and the ELFv1 descriptors' TOC word) kept
/// the zeros of the object file: `mod_take` read its `.data` check word
/// from elsewhere, never entered its window from the entry, and the window
/// was confirmed only from a trial started at the load-linked with a heap
/// address, not on the module's `.bss` lock word. Every target's window
/// (x86-64: the transaction) must be reached from the entry.
#[test]
fn module_windows_run_on_relocated_data() {
    let cases = [
        ("x86_64", "mod_tx_add+0x1a", FindingKind::TmAbort),
        ("aarch64", "mod_take+0x44", FindingKind::LlscReservationLoss),
        ("ppc64", "mod_take+0x4c", FindingKind::LlscReservationLoss),
        ("ppc64le", "mod_take+0x5c", FindingKind::LlscReservationLoss),
    ];
    for (target, spec, kind) in cases {
        let file = format!("{target}/kmod-windows.ko");
        let d = dynamic(&file, spec, kind);
        assert_eq!(d["outcome"], "confirmed", "{file} {spec}: {d}");
        assert_eq!(
            d["start"], "function entry",
            "{file} {spec}: the entry must pass the .data check and reach the window: {d}"
        );
    }
}
