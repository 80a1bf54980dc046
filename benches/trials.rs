//! Trials per second per core on corpus regions, and the cost of
//! probesafe's harness (hooks, journal, trap model, budgets) relative to a
//! plain unhooked Unicorn run of the same function with the same input,
//! measured side by side in one process. Run with `harness/bench.sh` or
//! `cargo bench --bench trials`. Figures, not assertions.

use std::path::Path;
use std::time::{Duration, Instant};

use probesafe::decode::Decoder;
use probesafe::emu::plain::PlainEngine;
use probesafe::emu::{Emulator, Input, ProbeMode, Trial};
use probesafe::hazard::decode_function;
use probesafe::load::Binary;

const ROUNDS: usize = 5;

fn rate(mut f: impl FnMut(), n: usize) -> f64 {
    // Warm the translation cache first.
    for _ in 0..200 {
        f();
    }
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates[ROUNDS / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!(
        "{:<10} {:<22} {:>8} {:>16} {:>16} {:>12}",
        "target", "function", "insns", "probesafe/s", "plain/s", "slowdown"
    );
    let cases: &[(&str, &[&str])] = &[
        (
            "x86_64",
            &["add3", "sum_array", "atomic_cas_long", "tm_fallback"],
        ),
        (
            "aarch64",
            &["add3", "sum_array", "atomic_cas_long", "llsc_loop"],
        ),
        (
            "ppc64",
            &["add3", "sum_array", "atomic_cas_long", "llsc_loop"],
        ),
        (
            "ppc64le",
            &["add3", "sum_array", "atomic_cas_long", "llsc_loop"],
        ),
    ];
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    for (target, functions) in cases {
        if filter.as_deref().is_some_and(|f| !target.contains(f)) {
            continue;
        }
        let binary = Binary::open(&root.join(format!("corpora/{target}/hazards.so"))).unwrap();
        let decoder = Decoder::new(binary.arch).unwrap();
        let mut emu = Emulator::new(&binary).unwrap();
        let mut plain = PlainEngine::new(&binary).unwrap();
        for name in *functions {
            let f = binary.functions.iter().find(|f| f.has_name(name)).unwrap();
            let insns = decode_function(&decoder, &binary, f);
            let last = insns.last().unwrap().address;
            emu.instrument(f.address, f.end(), &insns, &[last]).unwrap();
            let mut input = Input::generate(binary.arch, 0x5eed, 0);
            if *name == "sum_array" {
                input.args[1] = 16; // a 16-element loop, not a pointer-sized length
            }
            for &a in input.args.iter().take(2) {
                plain.map_data(a, &[0; 16]).unwrap();
            }
            let toc = f.descriptor.and_then(|d| binary.read_u64(d + 8));
            let trial = Trial {
                start: f.address,
                entry: f.address,
                toc,
                probe: Some(last),
                mode: ProbeMode::Count,
                input: &input,
                handlers: &[],
                budget: 100_000,
                timeout: Duration::from_secs(1),
                trace: false,
                memory: &[],
            };
            let executed = emu.run(&trial).executed;
            let n = 20_000;
            let harness = rate(
                || {
                    emu.run(&trial);
                },
                n,
            );
            let unhooked = rate(
                || {
                    let _ = plain.run(f.address, toc, &input);
                },
                n,
            );
            println!(
                "{:<10} {:<22} {:>8} {:>16.0} {:>16.0} {:>11.2}x",
                target,
                name,
                executed,
                harness,
                unhooked,
                unhooked / harness
            );
        }
    }
}
