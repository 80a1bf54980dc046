//! Differential test of the emulation harness: for leaf functions of the
//! corpus drivers (no probe), the result computed under probesafe's
//! emulation equals the result of running the same binary for real:
//! natively on x86_64, under Debian's qemu-user elsewhere. The real run's
//! output is committed (corpora/<target>/diffdriver.out) and, when the
//! runner is installed, regenerated live and compared too. The protocol is
//! in corpora/README.md ("Differential driver") and corpora/DIFFERENTIAL.

mod common;

use std::process::Command;

use common::{fixture, root};
use probesafe::arch::Arch;
use probesafe::decode::Decoder;
use probesafe::emu::{Emulator, Exit, Input, Trial, HEAP_BASE};
use probesafe::hazard::decode_function;
use probesafe::load::Binary;

const CASES: u64 = 64;
const BUF: u64 = HEAP_BASE + 0x0100_0000;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `(function, ret type, args)` of a target's table.
fn table(target: &str) -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("corpora/DIFFERENTIAL")).unwrap();
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
            continue;
        }
        if section == target {
            let mut words = line.split_whitespace().map(str::to_owned);
            let name = words.next().unwrap();
            let ret = words.next().unwrap();
            out.push((name, ret, words.collect()));
        }
    }
    assert!(
        !out.is_empty(),
        "no [{target}] table in corpora/DIFFERENTIAL"
    );
    out
}

fn convert(value: u64, ty: &str) -> u64 {
    match ty {
        "i32" => value as u32 as i32 as i64 as u64,
        "u32" => value as u32 as u64,
        "i64" | "u64" => value,
        other => panic!("type {other}"),
    }
}

/// What the emulator computes for the whole table: the driver's output bytes.
fn emulate(target: &str) -> Vec<u8> {
    let binary = Binary::open(&fixture(&format!("{target}/diffdriver"))).unwrap();
    let big = binary.arch == Arch::Ppc64;
    let decoder = Decoder::new(binary.arch).unwrap();
    let mut emu = Emulator::new(&binary).unwrap();
    let entries = table(target);
    let mut out = Vec::new();
    for case in 0..CASES {
        let mut state = 0xd1ff_0000 + case;
        let (a, b, c) = (
            splitmix(&mut state),
            splitmix(&mut state),
            splitmix(&mut state),
        );
        for (name, ret, args) in &entries {
            let f = binary
                .functions
                .iter()
                .find(|f| f.has_name(name))
                .unwrap_or_else(|| panic!("{target}: no function {name}"));
            let insns = decode_function(&decoder, &binary, f);
            emu.instrument(f.address, f.end(), &insns, &[]).unwrap();
            let regs: Vec<u64> = args
                .iter()
                .map(|arg| match arg.as_str() {
                    "buf" => BUF,
                    "len8:c" => c % 8,
                    spec => {
                        let (which, ty) = spec.split_once(':').unwrap();
                        let v = match which {
                            "a" => a,
                            "b" => b,
                            "c" => c,
                            other => panic!("{other}"),
                        };
                        convert(v, ty)
                    }
                })
                .collect();
            let buf: Vec<u8> = (0..8u64)
                .flat_map(|k| {
                    let v = a.wrapping_add(k);
                    if big {
                        v.to_be_bytes()
                    } else {
                        v.to_le_bytes()
                    }
                })
                .collect();
            let memory = vec![(BUF, buf)];
            let input = Input {
                seed: case,
                args: regs,
            };
            let toc = f.descriptor.and_then(|d| binary.read_u64(d + 8));
            let outcome = emu.run(&Trial {
                start: f.entry.min(f.address).max(f.address),
                toc,
                budget: 1_000_000,
                memory: &memory,
                ..Trial::new(f.address, &input)
            });
            assert_eq!(
                outcome.exit,
                Exit::Returned,
                "{target} {name} case {case}: {:?}",
                outcome.exit
            );
            let raw = outcome.return_value.unwrap();
            let result = match ret.as_str() {
                "void" => 0,
                ty => convert(raw, ty),
            };
            let after = emu.read_memory(BUF, 8).unwrap();
            let buf0 = if big {
                u64::from_be_bytes(after.try_into().unwrap())
            } else {
                u64::from_le_bytes(after.try_into().unwrap())
            };
            out.extend_from_slice(&result.to_le_bytes());
            out.extend_from_slice(&buf0.to_le_bytes());
        }
    }
    out
}

/// The driver run for real, if its runner is installed.
fn run_for_real(target: &str) -> Option<Vec<u8>> {
    let driver = fixture(&format!("{target}/diffdriver"));
    let runner = match target {
        "x86_64" if cfg!(target_arch = "x86_64") => None,
        "x86_64" => return None,
        "aarch64" | "aarch64-lse" => Some("qemu-aarch64"),
        "ppc64" => Some("qemu-ppc64"),
        "ppc64le" => Some("qemu-ppc64le"),
        other => panic!("{other}"),
    };
    let output = match runner {
        None => Command::new(&driver).output(),
        Some(r) => Command::new(r).arg(&driver).output(),
    };
    match output {
        Ok(o) if o.status.success() => Some(o.stdout),
        Ok(o) => panic!("{target}: the driver failed: {:?}", o.status),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{target}: {} is missing in CI (harness/setup.sh installs qemu-user)",
                runner.unwrap_or("the native driver")
            );
            eprintln!(
                "{target}: {} not installed, comparing with the committed output only",
                runner.unwrap_or("?")
            );
            None
        }
    }
}

fn differential(target: &str) {
    let expected = std::fs::read(fixture(&format!("{target}/diffdriver.out"))).unwrap();
    if let Some(real) = run_for_real(target) {
        assert_eq!(
            real, expected,
            "{target}: the live run differs from diffdriver.out"
        );
    }
    let emulated = emulate(target);
    assert_eq!(emulated.len(), expected.len(), "{target}: output length");
    let entries = table(target);
    for (i, (e, x)) in emulated.chunks(16).zip(expected.chunks(16)).enumerate() {
        let (name, _, _) = &entries[i % entries.len()];
        assert_eq!(
            e,
            x,
            "{target}: {name} case {} differs: emulated {e:02x?}, real {x:02x?}",
            i / entries.len()
        );
    }
}

#[test]
fn x86_64_emulation_matches_native() {
    differential("x86_64");
}

#[test]
fn aarch64_emulation_matches_qemu_user() {
    differential("aarch64");
    differential("aarch64-lse");
}

#[test]
fn ppc64_emulation_matches_qemu_user() {
    differential("ppc64");
}

#[test]
fn ppc64le_emulation_matches_qemu_user() {
    differential("ppc64le");
}
