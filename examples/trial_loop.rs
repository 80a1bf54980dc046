//! A fixed number of trials of one benchmark region, for counting the
//! instructions a trial costs (`harness/bench-instructions.sh` runs it under
//! callgrind): unlike a time, the count does not depend on how busy the
//! machine is, so two builds compare exactly.
//!
//!   trial_loop N TARGET/FUNCTION    e.g. trial_loop 2000 ppc64/llsc_loop
//!
//! With N = 0 it only sets up, so the set-up's count can be subtracted.

#[path = "../benches/cases.rs"]
mod cases;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(n), Some(which)) = (args.next(), args.next()) else {
        eprintln!("usage: trial_loop N TARGET/FUNCTION");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("N: a number of trials");
    let (target, name) = which.split_once('/').expect("TARGET/FUNCTION");
    let known = cases::CASES
        .iter()
        .any(|(t, fs)| *t == target && fs.contains(&name));
    if !known {
        eprintln!("trial_loop: {which} is not one of the benchmark regions (benches/cases.rs)");
        std::process::exit(2);
    }
    let mut t = cases::Target::open(target);
    let case = t.case(name);
    let trial = case.trial();
    for _ in 0..n {
        std::hint::black_box(t.emu.run(&trial));
    }
}
