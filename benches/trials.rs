//! Trials per second per core on corpus regions (criterion), and next to
//! each the same function run by a plain, unhooked Unicorn engine with the
//! same mapping and input: the cost of probesafe's harness (hooks, write
//! journal, trap model, budgets). `harness/bench.sh` prints the ratios from
//! criterion's estimates. Figures, not assertions.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use probesafe::decode::Decoder;
use probesafe::emu::plain::PlainEngine;
use probesafe::emu::{Emulator, Input, Trial};
use probesafe::hazard::decode_function;
use probesafe::load::Binary;

const CASES: &[(&str, &[&str])] = &[
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

fn trials(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (target, functions) in CASES {
        let binary = Binary::open(&root.join(format!("corpora/{target}/hazards.so"))).unwrap();
        let decoder = Decoder::new(binary.arch).unwrap();
        let mut emu = Emulator::new(&binary).unwrap();
        let mut plain = PlainEngine::new(&binary).unwrap();
        let mut group = c.benchmark_group(format!("trials/{target}"));
        group.throughput(Throughput::Elements(1));
        for name in *functions {
            let f = binary.functions.iter().find(|f| f.has_name(name)).unwrap();
            let insns = decode_function(&decoder, &binary, f);
            // A probe point (counted, not trapped) on the last instruction:
            // the hook is there, as in a real trial.
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
                toc,
                probe: Some(last),
                timeout: Duration::from_secs(1),
                ..Trial::new(f.address, &input)
            };
            group.bench_function(format!("{name}/probesafe"), |b| b.iter(|| emu.run(&trial)));
            group.bench_function(format!("{name}/unhooked"), |b| {
                b.iter(|| plain.run(f.address, toc, &input))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(20);
    targets = trials
}
criterion_main!(benches);
