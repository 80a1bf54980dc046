//! Trials per second per core on corpus regions (criterion), and next to
//! each the same function run by a plain, unhooked Unicorn engine with the
//! same mapping and input: the cost of probesafe's harness (hooks, write
//! journal, trap model, budgets). `harness/bench.sh` prints the ratios from
//! criterion's estimates. Figures, not assertions.

mod cases;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn trials(c: &mut Criterion) {
    for (target, functions) in cases::CASES {
        let mut t = cases::Target::open(target);
        let mut group = c.benchmark_group(format!("trials/{target}"));
        group.throughput(Throughput::Elements(1));
        for name in *functions {
            let case = t.case(name);
            let trial = case.trial();
            group.bench_function(format!("{name}/probesafe"), |b| {
                b.iter(|| t.emu.run(&trial))
            });
            group.bench_function(format!("{name}/unhooked"), |b| {
                b.iter(|| t.plain.run(case.start, case.toc, &case.input))
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
