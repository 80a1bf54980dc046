//! POWER code the way Debian's ppc64el libc.so.6 has it (corpora
//! `*/glibc.so`, `*/glibc-stripped.so` from src/glibc_ppc64.S): the emulator
//! set-up (TOC, FP/VMX/VSX, system calls, named faults), trials started at a
//! compare-and-swap's load-linked, traceback tables and POWER10
//! instructions. Each test names what was wrong before.

mod common;

use common::{fixture, report};
use probesafe::decode::Decoder;
use probesafe::emu::{Emulator, Exit, Input, Outcome, Trial};
use probesafe::facts::decode_function;
use probesafe::load::Binary;
use probesafe::report::FindingKind;

const TARGETS: &[&str] = &["ppc64le", "ppc64"];

/// Run `name` of `file` once from its entry, unprobed, with case 0's input.
fn run_unprobed(file: &str, name: &str) -> (Binary, u64, Outcome) {
    let binary = Binary::open(&fixture(file)).unwrap();
    let f = binary
        .functions
        .iter()
        .find(|f| f.has_name(name))
        .unwrap_or_else(|| panic!("{file}: no {name}"))
        .clone();
    let decoder = Decoder::new(binary.arch).unwrap();
    let insns = decode_function(&decoder, &binary, &f);
    let mut emu = Emulator::new(&binary).unwrap();
    emu.instrument(f.address, f.end(), &insns, &[]).unwrap();
    let input = Input::generate(binary.arch, 0x5eed, 0);
    let toc = f.descriptor.and_then(|d| binary.read_u64(d + 8));
    let out = emu.run(&Trial {
        toc,
        ..Trial::new(f.address, &input)
    });
    (binary, f.address, out)
}

/// The LL/SC finding's dynamic evidence at `spec`.
fn llsc_dynamic(file: &str, spec: &str) -> serde_json::Value {
    common::dynamic_evidence(file, spec, FindingKind::LlscReservationLoss)
}

/// Was: a stripped ELFv2 binary has no `.TOC.` symbol, r2 stayed 0, and a
/// function that addresses its data through the TOC without a global
/// entry faulted before its window (trials fell back to the opener).
#[test]
fn r2_is_the_toc_pointer_in_a_stripped_binary() {
    // The stripped file has the same layout; its functions have no names.
    let named = Binary::open(&fixture("ppc64le/glibc.so")).unwrap();
    let f = named
        .functions
        .iter()
        .find(|f| f.has_name("toc_counter"))
        .unwrap();
    let d = llsc_dynamic(
        "ppc64le/glibc-stripped.so",
        &format!("{:#x}", f.address + 0xc),
    );
    assert_eq!(d["outcome"], "confirmed", "{d}");
    assert_eq!(d["start"], "function entry", "{d}");
}

/// Was: MSR[FP], MSR[VEC] and MSR[VSX] were clear, so the first `mtfprwz`,
/// `stfd` or `stxvd2x` stopped the run with an unhandled interrupt.
#[test]
fn floating_point_and_vector_instructions_run() {
    for target in TARGETS {
        let (_, _, out) = run_unprobed(&format!("{target}/glibc.so"), "fp_counter");
        assert_eq!(out.exit, Exit::Returned, "{target}: {:?}", out.exit);
        assert!(
            out.sc.first().is_some_and(|s| s.ok),
            "{target}: {:?}",
            out.sc
        );
        let d = llsc_dynamic(&format!("{target}/glibc.so"), "fp_counter+0x18");
        assert_eq!(d["start"], "function entry", "{target}: {d}");
    }
}

/// Was: `sc` raised an interrupt nothing handled and the run stopped after
/// it. Now the kernel's side is modelled: a generated result in r3,
/// cr0.SO clear, a call record, and the run goes on after the `sc`.
#[test]
fn a_system_call_returns() {
    for target in TARGETS {
        let (_, entry, out) = run_unprobed(&format!("{target}/glibc.so"), "futex_then_counter");
        assert_eq!(out.exit, Exit::Returned, "{target}: {:?}", out.exit);
        assert_eq!(out.calls.len(), 1, "{target}: the sc is recorded");
        assert_eq!(out.calls[0].at, entry + 0x10, "{target}: at the sc");
        assert_eq!(out.calls[0].args[1], 1, "{target}: r4 = FUTEX_WAKE");
        assert!(
            out.sc.first().is_some_and(|s| s.ok),
            "{target}: {:?}",
            out.sc
        );
    }
}

/// The system call's return is an interrupt exit: it clears the
/// reservation, so a store-conditional after it fails even unprobed (the
/// function returns -1), as on the hardware.
#[test]
fn a_system_call_clears_the_reservation() {
    for target in TARGETS {
        let (_, _, out) = run_unprobed(&format!("{target}/glibc.so"), "sc_in_window");
        assert_eq!(out.exit, Exit::Returned, "{target}: {:?}", out.exit);
        assert_eq!(out.sc.len(), 1, "{target}");
        assert!(!out.sc[0].ok, "{target}: the stwcx. after the sc fails");
        assert_eq!(out.return_value, Some(u64::MAX), "{target}: returns -1");
    }
}

/// Was: "fault at 0x544 (EXCEPTION)", the address after the instruction
/// and no reason. Now the instruction that raised the interrupt, and which
/// interrupt: Unicorn 2.1.5's POWER10 model does not implement `lxvp`.
#[test]
fn a_fault_names_the_instruction_and_the_interrupt() {
    let (_, entry, out) = run_unprobed("ppc64le/glibc.so", "p10");
    match out.exit {
        Exit::Fault { pc, reason } => {
            assert_eq!(pc, entry, "at lxvp, not after it");
            assert!(reason.contains("emulation assistance"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// Was: a compare-and-swap whose expected value the inputs never provide
/// reached its compare from the entry, never its store-conditional, and
/// stayed `inconclusive`. Now its trials start at the lwarx with r9
/// holding the word r3 points at, and the evidence says so.
#[test]
fn a_compare_and_swap_is_confirmed_from_its_load_linked() {
    for target in TARGETS {
        let file = format!("{target}/glibc.so");
        let d = llsc_dynamic(&file, "cas_expected+0x14");
        assert_eq!(d["outcome"], "confirmed", "{target}: {d}");
        let start = d["start"].as_str().unwrap();
        assert!(
            start.contains("from the entry no trial reached a store-conditional")
                && start.contains("r3 = 0x7e")
                && start.contains("r9 = "),
            "{target}: {start}"
        );
        // The witness reproduces: it starts at the lwarx.
        let binary = Binary::open(&fixture(&file)).unwrap();
        let f = binary
            .functions
            .iter()
            .find(|f| f.has_name("cas_expected"))
            .unwrap();
        assert_eq!(
            d["witness"]["start"],
            format!("{:#x}", f.address + 0x10),
            "{target}: {d}"
        );
    }
}

/// Was: the traceback table after `bl never_returns; nop` (the last
/// instruction falls through), a switch's jump table after its `bctr` and
/// a call stub's zero padding were `undecodable-instruction` points. They
/// are data: a scan has no point there, and a point asked for there is
/// not an instruction.
#[test]
fn traceback_tables_are_data() {
    for file in [
        "ppc64le/glibc.so",
        "ppc64le/glibc-stripped.so",
        "ppc64/glibc.so",
        "ppc64/glibc-stripped.so",
    ] {
        let r = report([
            "scan",
            &fixture(file).display().to_string(),
            "--static-only",
            "--format",
            "json",
        ]);
        let undecodable: Vec<&str> = r
            .points
            .iter()
            .filter(|p| {
                p.findings
                    .iter()
                    .any(|f| f.kind == FindingKind::UndecodableInstruction)
            })
            .map(|p| p.address.as_str())
            .collect();
        // Only never_returns' `.long 0`, which is code (an illegal
        // instruction, glibc's abort).
        assert_eq!(undecodable.len(), 1, "{file}: {undecodable:?}");
        let in_table = r.points.iter().filter(|p| match p.symbol.as_str() {
            "die" | "loop_tail" => p.offset >= 0x14,
            "switch4" => (0x3c..0x4c).contains(&p.offset),
            "call_stub" => p.offset >= 0x10,
            _ => false,
        });
        assert_eq!(
            in_table.count(),
            0,
            "{file}: points in the traceback tables"
        );
    }
    for (spec, what) in [
        ("die+0x18", "traceback table"),
        ("switch4+0x40", "jump table"),
        ("call_stub+0x14", "padding"),
    ] {
        let r = report([
            "check",
            &fixture("ppc64le/glibc.so").display().to_string(),
            spec,
            "--static-only",
            "--format",
            "json",
        ]);
        let f = &r.points[0].findings[0];
        assert_eq!(f.kind, FindingKind::NotInstructionBoundary, "{spec}");
        assert!(f.detail.contains(what), "{spec}: {}", f.detail);
    }
}
