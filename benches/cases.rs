//! The corpus regions the trial benchmarks run, set up once for both the
//! criterion benchmark (`benches/trials.rs`) and the fixed-count runner
//! that counts instructions (`examples/trial_loop.rs`).

use std::path::Path;
use std::time::Duration;

use probesafe::decode::Decoder;
use probesafe::emu::plain::PlainEngine;
use probesafe::emu::{Emulator, Input, Trial};
use probesafe::facts::decode_function;
use probesafe::load::Binary;

/// Per target, the functions whose trials are measured.
pub const CASES: &[(&str, &[&str])] = &[
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

/// One target's binary with its instrumented emulator and the plain,
/// unhooked engine of the same mapping.
pub struct Target {
    pub binary: Binary,
    pub emu: Emulator,
    pub plain: PlainEngine,
}

/// One function's trial: where it starts, its input and probe.
pub struct Case {
    pub start: u64,
    pub toc: Option<u64>,
    pub probe: u64,
    pub input: Input,
}

impl Target {
    /// `corpora/<target>/hazards.so`, opened with both engines.
    pub fn open(target: &str) -> Target {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let binary = Binary::open(&root.join(format!("corpora/{target}/hazards.so"))).unwrap();
        let emu = Emulator::new(&binary).unwrap();
        let plain = PlainEngine::new(&binary).unwrap();
        Target { binary, emu, plain }
    }

    /// Instrument function `name` for its trials, with a probe point
    /// (counted, not trapped) on its last instruction: the hook is there,
    /// as in a real trial.
    pub fn case(&mut self, name: &str) -> Case {
        let binary = &self.binary;
        let decoder = Decoder::new(binary.arch).unwrap();
        let f = binary.functions.iter().find(|f| f.has_name(name)).unwrap();
        let insns = decode_function(&decoder, binary, f);
        let last = insns.last().unwrap().address;
        self.emu
            .instrument(f.address, f.end(), &insns, &[last])
            .unwrap();
        let mut input = Input::generate(binary.arch, 0x5eed, 0);
        if name == "sum_array" {
            input.args[1] = 16; // a 16-element loop, not a pointer-sized length
        }
        for &a in input.args.iter().take(2) {
            self.plain.map_data(a, &[0; 16]).unwrap();
        }
        Case {
            start: f.address,
            toc: f.descriptor.and_then(|d| binary.read_u64(d + 8)),
            probe: last,
            input,
        }
    }
}

impl Case {
    /// The trial as probesafe runs it.
    pub fn trial(&self) -> Trial<'_> {
        Trial {
            toc: self.toc,
            probe: Some(self.probe),
            timeout: Duration::from_secs(1),
            ..Trial::new(self.start, &self.input)
        }
    }
}
