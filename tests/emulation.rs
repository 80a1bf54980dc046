//! The emulator and the trap model on the corpora, through the library:
//! evidence that only execution can give (store-conditional outcomes,
//! attempt counts, proven livelocks), and determinism.

mod common;

use common::{fixture, probesafe, report};
use probesafe::decode::Decoder;
use probesafe::emu::{Emulator, Exit, Input, ProbeMode, Trial};
use probesafe::hazard::decode_function;
use probesafe::load::Binary;

const LLSC_TARGETS: &[&str] = &["aarch64", "aarch64-lse", "ppc64", "ppc64le"];

struct Setup {
    binary: Binary,
}

impl Setup {
    fn new(target: &str) -> Setup {
        Setup::of(target, "hazards.so")
    }

    fn of(target: &str, file: &str) -> Setup {
        Setup {
            binary: Binary::open(&fixture(&format!("{target}/{file}"))).unwrap(),
        }
    }

    /// Run `name` once with the trap at `probe_offset` (None: unprobed).
    fn run(&self, name: &str, probe_offset: Option<u64>, case: u64) -> probesafe::emu::Outcome {
        let f = self
            .binary
            .functions
            .iter()
            .find(|f| f.has_name(name))
            .unwrap();
        let decoder = Decoder::new(self.binary.arch).unwrap();
        let insns = decode_function(&decoder, &self.binary, f);
        let probe = probe_offset.map(|o| f.address + o);
        let mut emu = Emulator::new(&self.binary).unwrap();
        emu.instrument(
            f.address,
            f.end(),
            &insns,
            &probe.into_iter().collect::<Vec<_>>(),
        )
        .unwrap();
        let input = Input::generate(self.binary.arch, 0x5eed, case);
        let toc = f.descriptor.and_then(|d| self.binary.read_u64(d + 8));
        emu.run(&Trial {
            toc,
            probe,
            mode: ProbeMode::Trap,
            ..Trial::new(f.address, &input)
        })
    }
}

fn offset_of(binary: &Binary, name: &str, mnemonic_prefix: &str) -> u64 {
    let f = binary.functions.iter().find(|f| f.has_name(name)).unwrap();
    let decoder = Decoder::new(binary.arch).unwrap();
    let insns = decode_function(&decoder, binary, f);
    insns
        .iter()
        .find(|i| i.mnemonic.starts_with(mnemonic_prefix))
        .map(|i| i.address - f.address)
        .unwrap_or_else(|| panic!("no {mnemonic_prefix} in {name}"))
}

#[test]
fn unprobed_llsc_loop_succeeds() {
    for target in LLSC_TARGETS {
        let s = Setup::new(target);
        let out = s.run("llsc_loop", None, 0);
        assert_eq!(out.exit, Exit::Returned, "{target}: {:?}", out.exit);
        assert_eq!(
            out.sc.len(),
            1,
            "{target}: one store-conditional, first time"
        );
        assert!(
            out.sc[0].ok,
            "{target}: the unprobed store-conditional stores"
        );
    }
}

#[test]
fn a_probe_after_the_store_conditional_changes_nothing() {
    for target in LLSC_TARGETS {
        let s = Setup::new(target);
        let sc = offset_of(
            &s.binary,
            "llsc_loop",
            if target.starts_with("ppc") {
                "stdcx"
            } else {
                "stxr"
            },
        );
        let out = s.run("llsc_loop", Some(sc + 4), 0);
        assert_eq!(out.exit, Exit::Returned, "{target}: {:?}", out.exit);
        assert_eq!(
            out.hits, 1,
            "{target}: the point after the loop is hit once"
        );
        assert!(out.sc.iter().all(|s| s.ok), "{target}: {:?}", out.sc);
        let unprobed = s.run("llsc_loop", None, 0);
        assert_eq!(
            out.return_value, unprobed.return_value,
            "{target}: same result as unprobed"
        );
    }
}

#[test]
fn a_probe_inside_the_window_livelocks_and_it_is_proven() {
    for target in LLSC_TARGETS {
        let s = Setup::new(target);
        let out = s.run("llsc_loop", Some(4), 0);
        match out.exit {
            Exit::Livelock { period, .. } => assert_eq!(period, 1, "{target}"),
            other => panic!("{target}: {other:?}"),
        }
        assert!(
            out.sc.iter().all(|s| !s.ok),
            "{target}: every store-conditional fails: {:?}",
            out.sc
        );
    }
}

#[test]
fn a_bounded_loop_fails_exactly_its_retry_count() {
    // llsc_bounded tries three times, then returns -1: the attempt count and
    // the fallback come from execution, not from the static map.
    for target in LLSC_TARGETS {
        let s = Setup::new(target);
        let ll = offset_of(
            &s.binary,
            "llsc_bounded",
            if target.starts_with("ppc") {
                "ldarx"
            } else {
                "ldxr"
            },
        );
        let out = s.run("llsc_bounded", Some(ll + 4), 0);
        assert_eq!(out.exit, Exit::Returned, "{target}");
        assert_eq!(
            out.sc.iter().filter(|s| !s.ok).count(),
            3,
            "{target}: {:?}",
            out.sc
        );
        let ret = out.return_value.unwrap();
        assert!(
            ret == u64::MAX || ret as u32 == u32::MAX,
            "{target}: returns -1, got {ret:#x}"
        );
        let unprobed = s.run("llsc_bounded", None, 0);
        assert_eq!(unprobed.sc.iter().filter(|s| !s.ok).count(), 0, "{target}");
    }
}

#[test]
fn report_is_identical_whatever_the_jobs() {
    for target in ["aarch64", "ppc64", "x86_64"] {
        let so = fixture(&format!("{target}/hazards.so"))
            .display()
            .to_string();
        let one = probesafe(["scan", &so, "--format", "json", "-j", "1"]);
        let two = probesafe(["scan", &so, "--format", "json", "-j", "2"]);
        let four = probesafe(["scan", &so, "--format", "json", "-j", "4"]);
        assert_eq!(one.status.code(), Some(0));
        assert!(
            one.stdout == two.stdout && two.stdout == four.stdout,
            "{target}: reports differ across --jobs"
        );
    }
}

#[test]
fn witnesses_reproduce_with_trace() {
    let so = fixture("aarch64/hazards.so").display().to_string();
    let out = probesafe(["check", &so, "llsc_loop+4", "--trace"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("probe hit #1 at 0xb54"), "{text}");
    assert!(
        text.contains("exclusive monitor / reservation cleared"),
        "{text}"
    );
    assert!(text.contains("store-conditional at 0xb58 FAILED"), "{text}");
    assert!(text.contains("livelock proven"), "{text}");
    let r = report(["check", &so, "llsc_loop+4", "--format", "json"]);
    let dynamic = &r.points[0].findings[0].evidence["dynamic"];
    assert_eq!(dynamic["outcome"], "confirmed");
    assert_eq!(dynamic["witness"]["start"], "0xb50");
}

/// One trial of `name` in `emu` with `x0`/`r3` (the first argument) set to
/// `arg0`, after instrumenting the function for `probe`.
fn trial_in(
    emu: &mut Emulator,
    binary: &Binary,
    name: &str,
    probe: Option<u64>,
    mode: ProbeMode,
    arg0: u64,
) -> probesafe::emu::Outcome {
    let f = binary.functions.iter().find(|f| f.has_name(name)).unwrap();
    let decoder = Decoder::new(binary.arch).unwrap();
    let insns = decode_function(&decoder, binary, f);
    emu.instrument(
        f.address,
        f.end(),
        &insns,
        &probe.into_iter().collect::<Vec<_>>(),
    )
    .unwrap();
    again_in(emu, binary, name, probe, mode, arg0)
}

/// The same without instrumenting again (the function's instrumentation
/// stays from the last [`trial_in`]).
fn again_in(
    emu: &mut Emulator,
    binary: &Binary,
    name: &str,
    probe: Option<u64>,
    mode: ProbeMode,
    arg0: u64,
) -> probesafe::emu::Outcome {
    let f = binary.functions.iter().find(|f| f.has_name(name)).unwrap();
    let mut input = Input::generate(binary.arch, 0x5eed, 0);
    input.args[0] = arg0;
    let toc = f.descriptor.and_then(|d| binary.read_u64(d + 8));
    emu.run(&Trial {
        toc,
        probe,
        mode,
        ..Trial::new(f.address, &input)
    })
}

/// Regression: the single step of a trapped return ran until no address,
/// so Unicorn translated a block at the return sentinel that was no exit;
/// the next run reused it and ran on past its return through the zeros
/// behind the sentinel (thousands of stores, then a fetch fault).
#[test]
fn a_trapped_return_leaves_the_next_run_intact() {
    for target in LLSC_TARGETS {
        let binary = Binary::open(&fixture(&format!("{target}/hazards.so"))).unwrap();
        let f = binary
            .functions
            .iter()
            .find(|f| f.has_name("llsc_loop"))
            .unwrap();
        let ret = f.address
            + offset_of(
                &binary,
                "llsc_loop",
                if target.starts_with("ppc") {
                    "blr"
                } else {
                    "ret"
                },
            );
        let mut emu = Emulator::new(&binary).unwrap();
        let heap = probesafe::emu::HEAP_BASE + 0x1000;
        let trapped = trial_in(
            &mut emu,
            &binary,
            "llsc_loop",
            Some(ret),
            ProbeMode::Trap,
            heap,
        );
        assert_eq!(trapped.exit, Exit::Returned, "{target}");
        assert_eq!(trapped.hits, 1, "{target}");
        for _ in 0..3 {
            let plain = trial_in(
                &mut emu,
                &binary,
                "llsc_loop",
                Some(ret),
                ProbeMode::Count,
                heap,
            );
            assert_eq!(plain.exit, Exit::Returned, "{target}");
            assert_eq!(plain.return_value, trapped.return_value, "{target}");
            assert!(
                plain.executed < 32,
                "{target}: {} instructions",
                plain.executed
            );
        }
    }
}

/// The lazily generated heap: a pointer into its window reads generated
/// content, the same in any emulator and after its page was unmapped and
/// mapped again; a random word used as a pointer (outside the window)
/// faults instead of mapping a page; and the pages lazily mapped by earlier
/// trials are unmapped once there are many.
#[test]
fn heap_window_pages_are_generated_and_random_pointers_fault() {
    let binary = Binary::open(&fixture("aarch64/hazards.so")).unwrap();
    let base = probesafe::emu::HEAP_BASE;
    let far = base + 0x3000_0000; // in the 1 GiB window, beyond the premapped 4 MiB
    let mut emu = Emulator::new(&binary).unwrap();
    let first = trial_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, far);
    assert_eq!(first.exit, Exit::Returned);
    let mut other = Emulator::new(&binary).unwrap();
    let again = trial_in(
        &mut other,
        &binary,
        "llsc_loop",
        None,
        ProbeMode::Count,
        far,
    );
    assert_eq!(
        again.return_value, first.return_value,
        "deterministic content"
    );

    for wild in [
        0x1234_5678_9ab0,
        base + (1 << 30) + 0x1000,
        0xdead_0000_0000,
    ] {
        let out = trial_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, wild);
        assert!(
            matches!(&out.exit, Exit::Fault { reason, .. } if reason.contains("UNMAPPED")),
            "{wild:#x}: {:?}",
            out.exit
        );
    }

    // 300 more lazily mapped pages: at the next reset they are unmapped
    // (`far`'s among them), and reading `far` maps it again, the same.
    let first = trial_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, far);
    assert!(emu.read_memory(far, 8).is_some());
    for i in 1..=300u64 {
        let p = far + i * 0x1000;
        let out = again_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, p);
        assert_eq!(out.exit, Exit::Returned);
    }
    let wild = 0xdead_0000_0000;
    let out = again_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, wild);
    assert!(matches!(out.exit, Exit::Fault { .. }));
    assert!(emu.read_memory(far, 8).is_none(), "trimmed");
    let back = again_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, far);
    assert_eq!(back.return_value, first.return_value);

    // Instrumenting the next function unmaps them all: a trial may map a
    // bounded number of new pages, and pages left by other functions would
    // make it depend on what the thread emulated before.
    assert!(emu.read_memory(far, 8).is_some());
    let _ = trial_in(&mut emu, &binary, "llsc_loop", None, ProbeMode::Count, wild);
    assert!(emu.read_memory(far, 8).is_none(), "unmapped");
}

/// Regression: POWER `dcbz` and arm64 `dc zva` clear a cache block with a
/// memset that no write hook sees, so the zeros stayed in the heap for
/// every later trial (and later function) of the thread, and results
/// depended on --jobs. The block is journaled and restored at the reset.
#[test]
fn cache_block_zeroing_is_undone_by_the_reset() {
    for target in ["aarch64", "ppc64", "ppc64le"] {
        let binary = Binary::open(&fixture(&format!("{target}/state.so"))).unwrap();
        let mut emu = Emulator::new(&binary).unwrap();
        // In the premapped heap, and in a page mapped on the first touch.
        for p in [
            probesafe::emu::HEAP_BASE + 0x2040,
            probesafe::emu::HEAP_BASE + 0x2000_0040,
        ] {
            let line = p & !0x3f;
            let premapped = Emulator::new(&binary).unwrap().read_memory(line, 64);
            let out = trial_in(&mut emu, &binary, "zero_block", None, ProbeMode::Count, p);
            assert_eq!(out.exit, Exit::Returned, "{target}");
            let zeroed = emu.read_memory(line, 64).unwrap();
            assert!(
                zeroed.iter().all(|&b| b == 0),
                "{target}: the block was cleared"
            );
            let wild = 0xdead_0000_0000;
            let out = again_in(
                &mut emu,
                &binary,
                "zero_block",
                None,
                ProbeMode::Count,
                wild,
            );
            assert!(matches!(out.exit, Exit::Fault { .. }), "{target}");
            let after = emu.read_memory(line, 64).unwrap();
            assert!(
                after.iter().any(|&b| b != 0),
                "{target}: generated content is back"
            );
            if let Some(premapped) = premapped {
                assert_eq!(after, premapped, "{target}: restored");
            }
        }
    }
}

/// Regression: on POWER the call stub's save of the TOC pointer into the
/// caller's frame was written past the journal and stayed on the stack for
/// every later trial. After the reset the stack is as before any trial.
#[test]
fn the_call_stubs_toc_save_is_undone_by_the_reset() {
    for target in ["ppc64", "ppc64le"] {
        let binary = Binary::open(&fixture(&format!("{target}/hazards.so"))).unwrap();
        let mut emu = Emulator::new(&binary).unwrap();
        let base = probesafe::emu::STACK_BASE;
        let pristine = emu.read_memory(base, 0x40000).unwrap();
        let heap = probesafe::emu::HEAP_BASE + 0x1000;
        let out = trial_in(
            &mut emu,
            &binary,
            "wrapper_plt",
            None,
            ProbeMode::Count,
            heap,
        );
        assert!(
            !out.calls.is_empty(),
            "{target}: the call was stubbed ({:?})",
            out.exit
        );
        let wild = trial_in(
            &mut emu,
            &binary,
            "llsc_loop",
            None,
            ProbeMode::Count,
            0xdead_0000_0000,
        );
        assert!(matches!(wild.exit, Exit::Fault { .. }), "{target}");
        let after = emu.read_memory(base, 0x40000).unwrap();
        let changed: Vec<usize> = (0..after.len())
            .filter(|&i| after[i] != pristine[i])
            .collect();
        assert!(
            changed.is_empty(),
            "{target}: stack bytes left changed at {changed:x?}"
        );
    }
}

/// Nesting in the transaction model (corpora/src/tm_nested_*.S), unprobed:
/// arm64 `ttest` inside two `tstart` reads depth 2 and the nest commits
/// once; on POWER a nested `tbegin.` and the `tend. 1` that ends the nest
/// leave CR0 = 0b0100 (0 || MSR[TS] = transactional || 0), and `tend. 1`
/// commits the whole nest. Regression: a nested `tbegin.` left CR0 =
/// 0b0000, and `tend. 1` ended one level only (no commit).
#[test]
fn nested_transactions_count_depth_and_tendall_ends_the_nest() {
    for target in ["aarch64", "aarch64-lse"] {
        let out = Setup::of(target, "txnest.so").run("tm_depth", None, 0);
        assert_eq!(out.exit, Exit::Returned, "{target}");
        assert_eq!(out.return_value, Some(2), "{target}: ttest in the nest");
        assert_eq!(out.tx_commits, 1, "{target}: one commit, at the outer end");
    }
    for target in ["ppc64", "ppc64le"] {
        let out = Setup::of(target, "txnest.so").run("tm_cr0", None, 0);
        assert_eq!(out.exit, Exit::Returned, "{target}");
        assert_eq!(
            out.return_value,
            Some(0x44),
            "{target}: CR0 after nested tbegin. | tend. 1"
        );
        assert_eq!(out.tx_commits, 1, "{target}: tend. 1 commits the nest");
        assert!(out.tx_aborts.is_empty(), "{target}");
    }
}
