//! Code linked at a kernel's base address runs there: `probesafe selftest`
//! has passing "kernel address" rows for every architecture, and the
//! kernel-image fixture's windows are confirmed at their link addresses.
//! (Regressions: arm64 code at 0xffff8000... was `inconclusive`, because
//! masked addresses were reported without their top bits; x86-64 code at
//! 0xffffffff81000000 was `unreached`, because Unicorn's translation with
//! paging off keeps 52 physical bits.)

mod common;

use common::{fixture, probesafe, report};
use probesafe::report::{Confirmed, FindingKind};

#[test]
fn selftest_has_passing_kernel_address_rows() {
    let out = probesafe(["selftest", "--format", "json"]);
    assert!(out.status.success(), "selftest failed");
    let checks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    for arch in ["x86_64", "aarch64", "ppc64", "ppc64le"] {
        let rows: Vec<&serde_json::Value> = checks
            .iter()
            .filter(|c| c["arch"] == arch && c["name"].as_str().unwrap().starts_with("kernel "))
            .collect();
        assert!(rows.len() >= 2, "{arch}: no kernel address rows");
        for r in rows {
            assert_eq!(r["ok"], true, "{arch}: {r}");
        }
    }
}

/// The LL/SC (arm64) and RTM (x86-64) windows of the kernel image are
/// confirmed, and the evidence names their link addresses: the
/// store-conditional that failed, where the transaction aborted and resumed.
#[test]
fn kernel_image_windows_confirmed_at_link_addresses() {
    for (target, spec, kind, field, want) in [
        (
            "aarch64/kimage",
            "llsc_loop+0x4",
            FindingKind::LlscReservationLoss,
            "store_conditional",
            "0xffff800008010328",
        ),
        (
            "aarch64/kimage",
            "kdata_add+0x18",
            FindingKind::LlscReservationLoss,
            "store_conditional",
            "0xffff8000080102ec",
        ),
        (
            "x86_64/kimage",
            "tm_fallback+0x6",
            FindingKind::TmAbort,
            "resumed_at",
            "0xffffffff810002fc",
        ),
    ] {
        let r = report([
            "check",
            &fixture(target).display().to_string(),
            "--format",
            "json",
            spec,
        ]);
        let p = &r.points[0];
        let f = p
            .findings
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("{target} {spec}: no {kind:?}"));
        let dynamic = f.evidence.get("dynamic");
        assert_eq!(
            f.confirmed,
            Confirmed::Dynamic,
            "{target} {spec}: {dynamic:?}"
        );
        assert_eq!(
            dynamic.and_then(|d| d.get(field)).and_then(|v| v.as_str()),
            Some(want),
            "{target} {spec}: {dynamic:?}"
        );
    }
}

/// A section that reaches the top of the 64-bit address space (x86-64 and
/// arm64 use every address bit) is an error naming it, not an arithmetic
/// overflow in the emulator's mapping (it panicked before).
#[test]
fn section_at_the_top_of_the_address_space_is_an_error() {
    let mut elf = std::fs::read(fixture("x86_64/kimage")).expect("fixture");
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(&elf, 0x28),
        u16_at(&elf, 0x3a),
        u16_at(&elf, 0x3c),
        u16_at(&elf, 0x3e),
    );
    let strtab = u64_at(&elf, shoff + shstrndx * shentsize + 0x18);
    let rodata = (0..shnum)
        .map(|i| shoff + i * shentsize)
        .find(|&o| elf[strtab + u32_at(&elf, o)..].starts_with(b".rodata\0"))
        .expect(".rodata");
    elf[rodata + 0x10..rodata + 0x18].copy_from_slice(&0xffff_ffff_ffff_fc00u64.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("top.elf");
    std::fs::write(&path, &elf).unwrap();
    let out = probesafe([
        "scan",
        &path.display().to_string(),
        "--functions",
        "tm_fallback",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a report");
    let text = report.to_string();
    assert!(
        text.contains("reaches the top of the address space"),
        "the emulator's error should name the section: {text}"
    );
}

/// Kernel context: code that reaches its window only through `current`
/// (arm64 `sp_el0`) or the per-CPU base (x86-64 `%gs`) reaches it from the
/// function's entry in every trial. (Without the context, arm64 trials
/// reached the window only by starting at its opener, and the x86-64
/// `%gs:0x10` access faulted.)
#[test]
fn kernel_context_reaches_the_window_from_the_entry() {
    for (target, spec, kind) in [
        (
            "aarch64/kimage",
            "kcontext_add+0x10",
            FindingKind::LlscReservationLoss,
        ),
        ("x86_64/kimage", "kcontext_add+0xb", FindingKind::TmAbort),
    ] {
        let r = report([
            "check",
            &fixture(target).display().to_string(),
            "--format",
            "json",
            spec,
        ]);
        let f = r.points[0]
            .findings
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("{target} {spec}: no {kind:?}"));
        let dynamic = f.evidence.get("dynamic").expect("dynamic evidence");
        assert_eq!(
            f.confirmed,
            Confirmed::Dynamic,
            "{target} {spec}: {dynamic}"
        );
        assert_eq!(
            dynamic["start"], "function entry",
            "{target} {spec}: {dynamic}"
        );
        assert_eq!(
            dynamic["reached"], dynamic["trials"],
            "{target} {spec}: {dynamic}"
        );
    }
}
