//! The arm64 kernel's own LL/SC rule, implemented here as an independent
//! test oracle and compared point by point with probesafe's control-flow
//! windows (see docs/kernel-comparison.md).
//!
//! The oracle follows arch/arm64/kernel/probes/decode-insn.c:
//! `arm_kprobe_decode_insn` refuses an exclusive load/store itself
//! (`aarch64_insn_is_exclusive`, via `aarch64_insn_is_steppable`), and
//! `is_probed_address_atomic(addr - 1, scan_end)` scans the raw words
//! BACKWARD from the instruction before the probe, down to `scan_end`
//! inclusive: the symbol's start if the probe is less than
//! `MAX_ATOMIC_CONTEXT_SIZE * 4` bytes into it, else `addr - 32`
//! instructions. The first store-exclusive met allows the probe, the first
//! load-exclusive met refuses it. No control flow is followed.
//!
//! The library is used only to load the binary and to list instruction
//! addresses (and mnemonics for messages); the oracle reads raw words and
//! matches the kernel's encoding masks. probesafe's answer comes from the
//! real CLI (`scan --static-only --format json`).
//!
//! Two generations of `aarch64_insn_is_{load,store}_ex` masks exist:
//! `0x3F400000` (which also matches LDAR/STLR and the LSE CAS family) and
//! `0x3FC00000` (BIT(23) added, "arm64: insn: Add BIT(23) to
//! {load,store}_ex's mask", 2025). Both are checked; they differ only on
//! the LSE corpus, where `casal` counts as a load-exclusive for the old one.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{arg, fixture, report};
use probesafe::arch::Class;
use probesafe::decode::{Decoder, Insn};
use probesafe::facts::decode_function;
use probesafe::load::{Binary, Function};
use probesafe::report::{FindingKind, Verdict};

/// arch/arm64/kernel/probes/decode-insn.h: 128 bytes / sizeof(kprobe_opcode_t).
const MAX_ATOMIC_CONTEXT_SIZE: u64 = 32;
/// sizeof(kprobe_opcode_t).
const INSN_SIZE: u64 = 4;

/// `__AARCH64_INSN_FUNCS(exclusive, 0x3F800000, 0x08000000)`: LDXR, STXR,
/// LDAXR, STLXR and the pair forms (o2 == 0), all sizes.
fn is_exclusive(word: u32) -> bool {
    word & 0x3F80_0000 == 0x0800_0000
}

/// Which `{load,store}_ex` masks the kernel has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Masks {
    /// `0x3F400000`: bit 23 (o2) ignored, so LDAR/LDAPR-class loads and
    /// CASA/CASAL count as load-exclusive, STLR and CAS/CASL as
    /// store-exclusive.
    Legacy,
    /// `0x3FC00000`: only the real exclusives (o2 == 0).
    Bit23,
}

impl Masks {
    fn mask(self) -> u32 {
        match self {
            Masks::Legacy => 0x3F40_0000,
            Masks::Bit23 => 0x3FC0_0000,
        }
    }

    /// `aarch64_insn_is_load_ex`.
    fn is_load_ex(self, word: u32) -> bool {
        word & self.mask() == 0x0840_0000
    }

    /// `aarch64_insn_is_store_ex`.
    fn is_store_ex(self, word: u32) -> bool {
        word & self.mask() == 0x0800_0000
    }
}

/// Why the kernel refuses a probe (only the LL/SC-related reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// The probed instruction is an exclusive load/store.
    Exclusive,
    /// The backward scan met a load-exclusive (at this address) first.
    AtomicContext(u64),
}

fn word_at(binary: &Binary, addr: u64) -> u32 {
    let bytes = binary
        .bytes_at(addr, INSN_SIZE)
        .unwrap_or_else(|| panic!("{}: no bytes at {addr:#x}", binary.path.display()));
    u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
}

/// `arm_kprobe_decode_insn`, reduced to its LL/SC checks. `function` plays
/// the part of the kallsyms symbol that contains `addr`.
fn kernel_refuses(
    binary: &Binary,
    function: &Function,
    addr: u64,
    masks: Masks,
) -> Option<Refusal> {
    if is_exclusive(word_at(binary, addr)) {
        return Some(Refusal::Exclusive);
    }
    let offset = addr - function.address;
    let scan_end = if offset < MAX_ATOMIC_CONTEXT_SIZE * INSN_SIZE {
        addr - (offset / INSN_SIZE) * INSN_SIZE
    } else {
        addr - MAX_ATOMIC_CONTEXT_SIZE * INSN_SIZE
    };
    // is_probed_address_atomic(addr - 1, scan_end): scan_start >= scan_end.
    let mut scan = addr;
    while scan > scan_end {
        scan -= INSN_SIZE;
        let word = word_at(binary, scan);
        if masks.is_store_ex(word) {
            return None;
        }
        if masks.is_load_ex(word) {
            return Some(Refusal::AtomicContext(scan));
        }
    }
    None
}

/// Kernel refuses while probesafe has no LL/SC window there, or the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// The kernel refuses; probesafe reports no `llsc-reservation-loss`.
    KernelOnly,
    /// probesafe reports `llsc-reservation-loss`; the kernel allows the probe.
    ProbesafeOnly,
}

/// One known disagreement: (function, offset), who flags it, probesafe's
/// verdict at the point, and why.
struct Known {
    function: &'static str,
    offset: u64,
    side: Side,
    verdict: Verdict,
    reason: &'static str,
}

const fn known(
    function: &'static str,
    offset: u64,
    side: Side,
    verdict: Verdict,
    reason: &'static str,
) -> Known {
    Known {
        function,
        offset,
        side,
        verdict,
        reason,
    }
}

use Side::{KernelOnly, ProbesafeOnly};
use Verdict::{Hazardous, Safe};

const ABANDONED: &str = "after an ldxr abandoned by clrex (no stxr): no window, the linear scan still meets the ldxr - kernel false alarm";
const LONG_TAIL: &str = "window tail more than 32 insns after the ldxr: the kernel's scan stops short - probesafe right, kernel misses it";

/// Disagreements on every aarch64 and aarch64-lse `hazards*.so`, with
/// either generation of masks (the `.S` sources are the same on both).
const KNOWN: &[Known] = &[
    known("llsc_abandoned", 0x0, KernelOnly, Hazardous, "the abandoned ldxr itself: kernel refuses it as exclusive; no window, but probesafe still says hazardous (unsteppable-instruction)"),
    known("llsc_abandoned", 0x4, KernelOnly, Safe, "clrex right after the ldxr: the scan meets the ldxr - kernel false alarm"),
    known("llsc_abandoned", 0x8, KernelOnly, Safe, ABANDONED),
    known("llsc_abandoned", 0xc, KernelOnly, Safe, ABANDONED),
    known("llsc_abandoned", 0x10, KernelOnly, Safe, ABANDONED),
    known("llsc_abandoned", 0x14, KernelOnly, Safe, ABANDONED),
    known("llsc_abandoned", 0x18, KernelOnly, Safe, ABANDONED),
    known("llsc_abandoned", 0x1c, KernelOnly, Safe, ABANDONED),
    known("llsc_abandoned", 0x20, KernelOnly, Safe, "the ret: same, the ldxr is 8 insns back with no stxr between"),
    known("llsc_long", 0x84, ProbesafeOnly, Hazardous, "add #33: the scan covers addr-1..addr-32, the ldxr is 33 back - kernel misses it"),
    known("llsc_long", 0x88, ProbesafeOnly, Hazardous, LONG_TAIL),
    known("llsc_long", 0x8c, ProbesafeOnly, Hazardous, LONG_TAIL),
    known("llsc_long", 0x90, ProbesafeOnly, Hazardous, LONG_TAIL),
    known("llsc_long", 0x94, ProbesafeOnly, Hazardous, LONG_TAIL),
    known("llsc_long", 0x98, ProbesafeOnly, Hazardous, LONG_TAIL),
    known("llsc_long", 0x9c, ProbesafeOnly, Hazardous, LONG_TAIL),
    known("llsc_long", 0xa0, ProbesafeOnly, Hazardous, "add #40, the last one before the stxr: kernel misses it"),
    known("llsc_branch", 0x4, ProbesafeOnly, Hazardous, "add reached from the ldxr by `b 1b` but placed before it in address order - kernel misses it"),
];

/// Only on the aarch64-lse `hazards*.so`, and only with the legacy masks:
/// `casal` (o2 = 1, L = 1) matches the old load_ex mask, and nothing after
/// it matches store_ex.
const KNOWN_LEGACY_LSE: &[Known] = &[
    known("atomic_cas_int", 0x8, KernelOnly, Safe, "cmp after casal: the old mask takes the single-instruction CAS for a load-exclusive - kernel false alarm"),
    known("atomic_cas_int", 0xc, KernelOnly, Safe, "cset after casal: same old-mask false alarm"),
    known("atomic_cas_int", 0x10, KernelOnly, Safe, "ret after casal: same old-mask false alarm"),
    known("atomic_cas_long", 0x8, KernelOnly, Safe, "cmp after casal (64-bit): same old-mask false alarm"),
    known("atomic_cas_long", 0xc, KernelOnly, Safe, "cset after casal (64-bit): same old-mask false alarm"),
    known("atomic_cas_long", 0x10, KernelOnly, Safe, "ret after casal (64-bit): same old-mask false alarm"),
];

/// Every aarch64 corpus file: the `.so` files hold LL/SC code (from the
/// `.S` files on both targets, and C11 atomics on plain aarch64); kmod.o
/// and vmlinux hold none, so they must agree everywhere.
const FILES: &[&str] = &[
    "aarch64/hazards.so",
    "aarch64/hazards-stripped.so",
    "aarch64/kmod.o",
    "aarch64/vmlinux",
    "aarch64-lse/hazards.so",
    "aarch64-lse/hazards-stripped.so",
    "aarch64-lse/kmod.o",
    "aarch64-lse/vmlinux",
];

fn expected(file: &str, masks: Masks) -> BTreeMap<(String, u64), (Side, Verdict, &'static str)> {
    let mut out = BTreeMap::new();
    if !file.ends_with(".so") {
        return out;
    }
    let mut lists = vec![KNOWN];
    if file.starts_with("aarch64-lse/") && masks == Masks::Legacy {
        lists.push(KNOWN_LEGACY_LSE);
    }
    for k in lists.into_iter().flatten() {
        let old = out.insert(
            (k.function.to_owned(), k.offset),
            (k.side, k.verdict, k.reason),
        );
        assert!(
            old.is_none(),
            "duplicate known entry {}+{:#x}",
            k.function,
            k.offset
        );
    }
    out
}

/// What probesafe said at one address.
#[derive(Clone, Debug)]
struct Said {
    llsc: bool,
    verdict: Verdict,
}

fn probesafe_says(file: &str) -> BTreeMap<u64, Said> {
    let path = fixture(file);
    let r = report(["scan", &arg(&path), "--static-only", "--format", "json"]);
    let mut out: BTreeMap<u64, Said> = BTreeMap::new();
    for p in &r.points {
        let llsc = p
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::LlscReservationLoss);
        let entry = out.entry(p.address_value()).or_insert(Said {
            llsc: false,
            verdict: Verdict::Safe,
        });
        entry.llsc |= llsc;
        entry.verdict = entry.verdict.max(p.verdict);
    }
    out
}

/// Function names by address. In a stripped copy some functions are only
/// known from `.eh_frame` (`fde_c90`); name them from the unstripped file,
/// whose code is at the same addresses.
fn names(file: &str, binary: &Binary) -> BTreeMap<u64, String> {
    let mut out: BTreeMap<u64, String> = binary
        .functions
        .iter()
        .map(|f| (f.address, f.name.clone()))
        .collect();
    if let Some(unstripped) = file.strip_suffix("-stripped.so") {
        let full = Binary::open(&fixture(&format!("{unstripped}.so"))).expect("loads");
        for f in &full.functions {
            out.insert(f.address, f.name.clone());
        }
    }
    out
}

#[derive(Default, Debug)]
struct Counts {
    points: usize,
    both_refuse: usize,
    both_allow: usize,
    kernel_only: usize,
    probesafe_only: usize,
}

struct Disagreement {
    function: String,
    offset: u64,
    side: Side,
    verdict: Verdict,
    text: String,
    refusal: Option<Refusal>,
}

fn compare(
    file: &str,
    binary: &Binary,
    insns: &[(usize, Vec<Insn>)],
    said: &BTreeMap<u64, Said>,
    names: &BTreeMap<u64, String>,
    masks: Masks,
) -> (Counts, Vec<Disagreement>) {
    let mut counts = Counts::default();
    let mut found = Vec::new();
    for (fi, list) in insns {
        let function = &binary.functions[*fi];
        for insn in list {
            let refusal = kernel_refuses(binary, function, insn.address, masks);
            let p = said.get(&insn.address).unwrap_or_else(|| {
                panic!(
                    "{file}: probesafe's report has no point at {:#x} ({}+{:#x})",
                    insn.address,
                    function.name,
                    insn.address - function.address
                )
            });
            counts.points += 1;
            let side = match (refusal.is_some(), p.llsc) {
                (true, true) => {
                    counts.both_refuse += 1;
                    continue;
                }
                (false, false) => {
                    counts.both_allow += 1;
                    continue;
                }
                (true, false) => {
                    counts.kernel_only += 1;
                    Side::KernelOnly
                }
                (false, true) => {
                    counts.probesafe_only += 1;
                    Side::ProbesafeOnly
                }
            };
            found.push(Disagreement {
                function: names
                    .get(&function.address)
                    .cloned()
                    .unwrap_or_else(|| function.name.clone()),
                offset: insn.address - function.address,
                side,
                verdict: p.verdict,
                text: insn.text(),
                refusal,
            });
        }
    }
    (counts, found)
}

/// The decoder's LL/SC classes must be exactly the kernel's exclusives, or
/// the comparison would be comparing decoders rather than rules.
fn check_classes(file: &str, binary: &Binary, insns: &[(usize, Vec<Insn>)]) -> usize {
    let mut exclusives = 0;
    for (_, list) in insns {
        for insn in list {
            assert_eq!(insn.len as u64, INSN_SIZE, "{file}: {insn:?}");
            let word = word_at(binary, insn.address);
            let ll = insn.class == Class::LoadLinked;
            let sc = insn.class == Class::StoreConditional;
            assert_eq!(
                is_exclusive(word),
                ll || sc,
                "{file}: {:#x} `{}` ({word:#010x}): kernel exclusive vs probesafe class {:?}",
                insn.address,
                insn.text(),
                insn.class
            );
            assert_eq!(Masks::Bit23.is_load_ex(word), ll, "{file}: {insn:?}");
            assert_eq!(Masks::Bit23.is_store_ex(word), sc, "{file}: {insn:?}");
            exclusives += usize::from(ll || sc);
        }
    }
    exclusives
}

#[test]
fn oracle_masks_match_known_encodings() {
    // (word, exclusive, legacy load_ex, legacy store_ex, bit23 load_ex, bit23 store_ex)
    let cases: &[(&str, u32, [bool; 5])] = &[
        (
            "ldxr x1, [x0]",
            0xc85f_7c01,
            [true, true, false, true, false],
        ),
        (
            "ldaxr w0, [x2]",
            0x885f_fc40,
            [true, true, false, true, false],
        ),
        (
            "stxr w2, x1, [x0]",
            0xc802_7c01,
            [true, false, true, false, true],
        ),
        (
            "stlxr w4, w3, [x2]",
            0x8804_fc43,
            [true, false, true, false, true],
        ),
        (
            "ldaxp x0, x1, [x2]",
            0xc87f_8440,
            [true, true, false, true, false],
        ),
        (
            "stlxp w3, x0, x1, [x2]",
            0xc823_8440,
            [true, false, true, false, true],
        ),
        (
            "ldar x0, [x1]",
            0xc8df_fc20,
            [false, true, false, false, false],
        ),
        (
            "stlr x0, [x1]",
            0xc89f_fc20,
            [false, false, true, false, false],
        ),
        (
            "casal w3, w2, [x0]",
            0x88e3_fc02,
            [false, true, false, false, false],
        ),
        (
            "cas w3, w2, [x0]",
            0x88a3_7c02,
            [false, false, true, false, false],
        ),
        ("clrex", 0xd503_3f5f, [false, false, false, false, false]),
        (
            "ldaddal w1, w0, [x0]",
            0xb8e1_0000,
            [false, false, false, false, false],
        ),
    ];
    for &(text, word, want) in cases {
        let got = [
            is_exclusive(word),
            Masks::Legacy.is_load_ex(word),
            Masks::Legacy.is_store_ex(word),
            Masks::Bit23.is_load_ex(word),
            Masks::Bit23.is_store_ex(word),
        ];
        assert_eq!(got, want, "{text} ({word:#010x})");
    }
}

#[test]
fn kernel_rule_vs_probesafe_windows() {
    let mut report_lines = Vec::new();
    let mut failures = Vec::new();
    let mut totals: BTreeMap<Masks, Counts> = BTreeMap::new();
    for &file in FILES {
        let path = fixture(file);
        let binary = Binary::open(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let decoder = Decoder::new(binary.arch).expect("decoder");
        let insns: Vec<(usize, Vec<Insn>)> = binary
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| (i, decode_function(&decoder, &binary, f)))
            .collect();
        let exclusives = check_classes(file, &binary, &insns);
        let said = probesafe_says(file);
        let names = names(file, &binary);
        for masks in [Masks::Legacy, Masks::Bit23] {
            let (counts, found) = compare(file, &binary, &insns, &said, &names, masks);
            assert!(counts.points > 0, "{file}: no instructions compared");
            if file.ends_with(".so") {
                assert!(exclusives > 0 && counts.both_refuse > 0, "{file}: vacuous");
            }
            report_lines.push(format!(
                "{file:32} {masks:6?}: {:4} points, agree {:4} (both refuse {:3}, both allow {:4}), kernel-only {:2}, probesafe-only {:2}, exclusives {exclusives}",
                counts.points,
                counts.both_refuse + counts.both_allow,
                counts.both_refuse,
                counts.both_allow,
                counts.kernel_only,
                counts.probesafe_only,
            ));
            let total = totals.entry(masks).or_default();
            total.points += counts.points;
            total.both_refuse += counts.both_refuse;
            total.both_allow += counts.both_allow;
            total.kernel_only += counts.kernel_only;
            total.probesafe_only += counts.probesafe_only;

            let mut want = expected(file, masks);
            let mut seen = BTreeSet::new();
            for d in &found {
                let key = (d.function.clone(), d.offset);
                match want.get(&key) {
                    Some(&(side, verdict, reason)) => {
                        seen.insert(key.clone());
                        if side != d.side || verdict != d.verdict {
                            failures.push(format!(
                                "{file} [{masks:?}] {}+{:#x} `{}`: expected {side:?} with probesafe verdict {verdict:?}, got {:?} with {:?} ({reason})",
                                d.function, d.offset, d.text, d.side, d.verdict
                            ));
                        }
                    }
                    None => failures.push(format!(
                        "{file} [{masks:?}] {}+{:#x} `{}`: NEW disagreement {:?} (kernel: {:?}, probesafe verdict {:?})",
                        d.function, d.offset, d.text, d.side, d.refusal, d.verdict
                    )),
                }
            }
            want.retain(|k, _| !seen.contains(k));
            for ((function, offset), (side, _, reason)) in want {
                failures.push(format!(
                    "{file} [{masks:?}] {function}+{offset:#x}: expected {side:?} disagreement is GONE ({reason})"
                ));
            }
        }
    }
    for line in &report_lines {
        println!("{line}");
    }
    for (masks, t) in &totals {
        println!(
            "TOTAL {masks:?}: {} points, agree {} (both refuse {}, both allow {}), kernel-only {}, probesafe-only {}",
            t.points,
            t.both_refuse + t.both_allow,
            t.both_refuse,
            t.both_allow,
            t.kernel_only,
            t.probesafe_only
        );
    }
    println!("known disagreements (every aarch64 and aarch64-lse hazards*.so, both masks):");
    for k in KNOWN {
        println!(
            "  {}+{:#x} {:?}: {}",
            k.function, k.offset, k.side, k.reason
        );
    }
    println!("known disagreements (aarch64-lse hazards*.so, legacy masks only):");
    for k in KNOWN_LEGACY_LSE {
        println!(
            "  {}+{:#x} {:?}: {}",
            k.function, k.offset, k.side, k.reason
        );
    }
    assert!(
        failures.is_empty(),
        "kernel oracle vs probesafe:\n{}",
        failures.join("\n")
    );
}
