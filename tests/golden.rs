//! Golden outputs: one expected file per (input, view) under tests/golden/.
//! Regenerate them all with `PROBESAFE_BLESS=1 cargo test --test golden`
//! (or `harness/bless.sh`) and review the diff.

mod common;

use std::process::Command;

use common::root;

/// (golden file, arguments; paths relative to the repository root).
const CASES: &[(&str, &[&str])] = &[
    (
        "scan-x86_64.txt",
        &["scan", "corpora/x86_64/hazards.so", "--static-only"],
    ),
    (
        "scan-aarch64.txt",
        &["scan", "corpora/aarch64/hazards.so", "--static-only"],
    ),
    (
        "scan-aarch64-lse.txt",
        &["scan", "corpora/aarch64-lse/hazards.so", "--static-only"],
    ),
    (
        "scan-ppc64.txt",
        &["scan", "corpora/ppc64/hazards.so", "--static-only"],
    ),
    (
        "scan-ppc64le.txt",
        &["scan", "corpora/ppc64le/hazards.so", "--static-only"],
    ),
    (
        "scan-ppc64-kmod.txt",
        &["scan", "corpora/ppc64/kmod.o", "--static-only"],
    ),
    (
        "scan-aarch64-vmlinux.txt",
        &["scan", "corpora/aarch64/vmlinux", "--static-only"],
    ),
    (
        "scan-aarch64-stripped.txt",
        &[
            "scan",
            "corpora/aarch64/hazards-stripped.so",
            "--static-only",
        ],
    ),
    (
        "check-aarch64-llsc.json",
        &[
            "check",
            "corpora/aarch64/hazards.so",
            "--static-only",
            "--format",
            "json",
            "llsc_loop",
            "llsc_loop+4",
            "llsc_loop+0x8",
            "llsc_loop+0xc",
            "function(\"wrapper\").return",
        ],
    ),
    (
        "survey-aarch64-dwarf-O2.txt",
        &["survey", "corpora/aarch64/dwarf-O2.so"],
    ),
    (
        "survey-ppc64-dwarf-O3.txt",
        &["survey", "corpora/ppc64/dwarf-O3.so"],
    ),
    (
        "vars-x86_64-dwarf-O2.txt",
        &[
            "vars",
            "corpora/x86_64/dwarf-O2.so",
            "function(\"constants\").call",
            "function(\"mix\").inline",
        ],
    ),
    (
        "diff-aarch64-O0-O2.txt",
        &[
            "diff",
            "corpora/aarch64/dwarf-O0.so",
            "corpora/aarch64/dwarf-O2.so",
        ],
    ),
    (
        "diff-aarch64-vmlinux-alt.txt",
        &[
            "diff",
            "corpora/aarch64/vmlinux",
            "corpora/aarch64/vmlinux-alt",
        ],
    ),
    (
        "diff-x86_64-O2-O3.txt",
        &[
            "diff",
            "corpora/x86_64/dwarf-O2.so",
            "corpora/x86_64/dwarf-O3.so",
        ],
    ),
    (
        "check-x86_64-tm.json",
        &[
            "check",
            "corpora/x86_64/hazards.so",
            "--static-only",
            "--format",
            "json",
            "function(\"tm_*\").call",
            "boundary+1",
        ],
    ),
    // The dynamic evidence of a few representative points per target (the
    // emulation's outcome, progress, attempts, hits and witness): LL/SC
    // windows, transactions, tail-call returns, a re-entering handler.
    (
        "check-dynamic-x86_64.json",
        &[
            "check",
            "corpora/x86_64/hazards.so",
            "--format",
            "json",
            "function(\"tm_*\").call",
            "function(\"wrapper\").return",
        ],
    ),
    (
        "check-dynamic-aarch64.json",
        &[
            "check",
            "corpora/aarch64/hazards.so",
            "--format",
            "json",
            "llsc_loop+4",
            "llsc_bounded+8",
            "tm_fallback+4",
            "function(\"wrapper\").return",
        ],
    ),
    (
        "check-dynamic-aarch64-lse.json",
        &[
            "check",
            "corpora/aarch64-lse/hazards.so",
            "--format",
            "json",
            "llsc_loop+4",
            "tm_fallback+4",
            "atomic_cas_int",
        ],
    ),
    (
        "check-dynamic-ppc64.json",
        &[
            "check",
            "corpora/ppc64/hazards.so",
            "--format",
            "json",
            "llsc_loop+4",
            "llsc_bounded+8",
            "tm_fallback+4",
            "function(\"wrapper\").return",
        ],
    ),
    (
        "check-dynamic-ppc64le.json",
        &[
            "check",
            "corpora/ppc64le/hazards.so",
            "--format",
            "json",
            "llsc_loop+4",
            "atomic_cas_int+8",
            "tm_fallback+4",
        ],
    ),
    (
        "check-dynamic-aarch64-kmod.json",
        &[
            "check",
            "corpora/aarch64/kmod-windows.ko",
            "--format",
            "json",
            "mod_take+0x44",
            "kdata_add+0x18",
            "tm_fallback+0xc",
        ],
    ),
    (
        "check-dynamic-ppc64le-null.json",
        &[
            "check",
            "corpora/ppc64le/vmlinux-null",
            "--format",
            "json",
            "null_tail+0x4",
            "null_return+0x4",
        ],
    ),
    (
        "check-dynamic-x86_64-handlers.json",
        &[
            "check",
            "corpora/x86_64/handlers.so",
            "--format",
            "json",
            "--handler",
            "handler_indirect",
            "helper",
        ],
    ),
];

#[test]
fn golden_outputs() {
    let bless = std::env::var_os("PROBESAFE_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, args) in CASES {
        let out = Command::new(env!("CARGO_BIN_EXE_probesafe"))
            .args(*args)
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8(out.stdout).unwrap();
        // The version changes with every release; the golden files do not.
        let got = got.replace(env!("CARGO_PKG_VERSION"), "VERSION");
        let path = root().join("tests/golden").join(name);
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            stale.push(format!("{name}: differs from {}", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nRegenerate with PROBESAFE_BLESS=1 cargo test --test golden and review the diff.",
        stale.join("\n")
    );
}
