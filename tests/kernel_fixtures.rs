//! Kernel-style fixtures beyond the manifest's verdicts: the module
//! `kmod-windows.ko` (ET_REL) runs on its own relocated data, and a branch
//! to a null pointer in a POWER kernel image is named as one. Each test
//! names what was wrong before.

mod common;

use common::fixture;
use probesafe::report::FindingKind;

/// The dynamic evidence of the window finding of `kind` at `spec` in `file`.
fn dynamic(file: &str, spec: &str, kind: FindingKind) -> serde_json::Value {
    common::dynamic_evidence(file, spec, kind)
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

/// Was: in POWER real mode address 0 is the low alias of a kernel linked
/// at 0xc000000000000000, so a trial that branched through a null pointer
/// ran the image's first instructions (the endian fixup `tdi 0,0,0x48`,
/// here then a `trap`) and the fault was blamed on them: "fault at
/// 0xc00000000000000c `trap` (program interrupt ...)". Now the run stops
/// at the fetch of address 0 and names the branch.
#[test]
fn power_null_branch_is_a_fetch_at_zero() {
    for target in ["ppc64", "ppc64le"] {
        let file = format!("{target}/vmlinux-null");
        for (spec, branch, at) in [
            ("null_tail+0x4", "bctr", "0xc000000000000048"),
            ("null_return+0x4", "blr", "0xc000000000000088"),
        ] {
            let d = dynamic(&file, spec, FindingKind::LlscReservationLoss);
            assert_eq!(d["outcome"], "inconclusive", "{file} {spec}: {d}");
            let exits = d["exits"].as_array().expect("exits");
            assert!(!exits.is_empty(), "{file} {spec}: {d}");
            let want = format!(
                "fault at 0x0 (FETCH: a branch to address 0, a null pointer, from `{branch}` at {at})"
            );
            for e in exits {
                assert_eq!(e.as_str(), Some(want.as_str()), "{file} {spec}");
            }
        }
    }
}

/// Was: a module compressed as Fedora and Ubuntu ship them (`.ko.zst`) or
/// as others do (`.ko.xz`) was refused ("file format is Unknown, not
/// ELF"). It is read directly now and gives the uncompressed module's
/// report, emulation included.
#[test]
fn compressed_modules_read_as_the_module() {
    for target in ["aarch64", "ppc64le"] {
        let plain = common::report([
            "scan",
            &fixture(&format!("{target}/kmod-windows.ko"))
                .display()
                .to_string(),
            "--per-point",
            "--format",
            "json",
        ]);
        let emulated = plain
            .points
            .iter()
            .flat_map(|p| &p.findings)
            .filter(|f| f.evidence.contains_key("dynamic"))
            .count();
        assert!(emulated > 0, "{target}: nothing emulated");
        for ext in ["zst", "xz"] {
            let packed = common::report([
                "scan",
                &fixture(&format!("{target}/kmod-windows.ko.{ext}"))
                    .display()
                    .to_string(),
                "--per-point",
                "--format",
                "json",
            ]);
            assert_eq!(packed.points, plain.points, "{target} .ko.{ext}");
            assert_eq!(packed.binary.build_id, plain.binary.build_id, "{target}");
        }
    }
}

/// A compressed file cut short is an input error naming the file: one
/// line, exit 2, no panic.
#[test]
fn a_truncated_compressed_module_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["zst", "xz"] {
        let bytes = std::fs::read(fixture(&format!("aarch64/kmod-windows.ko.{ext}"))).unwrap();
        let path = dir.path().join(format!("cut.ko.{ext}"));
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let out = common::probesafe(["scan", &path.display().to_string()]);
        assert_eq!(out.status.code(), Some(2), "{ext}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{ext}: {err}");
        assert!(err.contains(&format!("cut.ko.{ext}")), "{ext}: {err}");
    }
}
