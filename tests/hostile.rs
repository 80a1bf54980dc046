//! Hostile or broken ELF files are normal input: truncations and byte
//! flips of every corpus binary must load or fail with an error, never
//! panic or hang. Deterministic (a fixed xorshift seed), so a failure names
//! the variant that reproduces it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use probesafe::hazard::{Analyzer, Blacklist, Selection};
use probesafe::load::Binary;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Load and analyse; errors are fine, panics are not.
fn survive(name: &str, bytes: &[u8]) {
    let started = Instant::now();
    let result = std::panic::catch_unwind(|| {
        if let Ok(binary) = Binary::parse(Path::new(name), bytes) {
            let analyzer = Analyzer::new(&binary, Blacklist::of(&binary));
            let mut selection = Selection::default();
            analyzer.select_all(&mut selection, &[]).unwrap();
            let _ = analyzer.run(&selection, Some(1));
        }
    });
    assert!(result.is_ok(), "panic on {name}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{name} took {:?}",
        started.elapsed()
    );
}

#[test]
fn truncated_and_corrupted_corpora_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut variants = 0;
    for target in ["x86_64", "aarch64", "ppc64", "ppc64le"] {
        for file in ["hazards.so", "hazards-stripped.so", "kmod.o", "vmlinux"] {
            let corpus = format!("{target}/{file}");
            let bytes = std::fs::read(common::fixture(&corpus)).unwrap();
            for cut in [
                0,
                1,
                16,
                52,
                64,
                100,
                512,
                bytes.len() / 3,
                bytes.len() / 2,
                bytes.len() - 1,
            ] {
                survive(
                    &format!("{corpus} cut at {cut}"),
                    &bytes[..cut.min(bytes.len())],
                );
                variants += 1;
            }
            // The ELF header and the section header table are where lengths
            // and offsets live; flip bytes there, and anywhere.
            let shoff = if target == "ppc64" {
                u64::from_be_bytes(bytes[0x28..0x30].try_into().unwrap())
            } else {
                u64::from_le_bytes(bytes[0x28..0x30].try_into().unwrap())
            } as usize;
            for round in 0..60 {
                let mut mutated = bytes.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = match rng.below(3) {
                        0 => rng.below(64),
                        1 if shoff < bytes.len() => shoff + rng.below(bytes.len() - shoff),
                        _ => rng.below(bytes.len()),
                    };
                    mutated[at] = rng.next() as u8;
                }
                survive(&format!("{corpus} mutation {round}"), &mutated);
                variants += 1;
            }
        }
    }
    assert!(variants > 1000);
}

/// The same for DWARF: corrupted debug sections must give errors or
/// partial answers, never a panic or a hang.
#[test]
fn corrupted_dwarf_never_panics() {
    use probesafe::debuginfo::DebugInfo;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for corpus in [
        "aarch64/dwarf-O2.so",
        "ppc64/dwarf-O3.so",
        "x86_64/dwarf-O2-zlib.so",
    ] {
        let bytes = std::fs::read(common::fixture(corpus)).unwrap();
        // DWARF lives after the code in these files: flip bytes in the
        // second half, where .debug_* sections are.
        for round in 0..80 {
            let mut mutated = bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let at = bytes.len() / 2 + rng.below(bytes.len() / 2);
                mutated[at] = rng.next() as u8;
            }
            let name = format!("{corpus} dwarf mutation {round}");
            let dir =
                std::env::temp_dir().join(format!("probesafe-hostile-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("m.so");
            std::fs::write(&path, &mutated).unwrap();
            let started = Instant::now();
            let result = std::panic::catch_unwind(|| {
                if let Ok(binary) = Binary::open(&path) {
                    if let Ok(Some(debug)) = DebugInfo::load(&binary, None) {
                        let _ = probesafe::survey::survey(
                            &binary,
                            Some(&debug),
                            &Blacklist::of(&binary),
                            None,
                        );
                        for f in debug.functions.iter().take(8) {
                            let _ = debug.variables_at(f.low);
                            let _ = debug.inline_chain(f.low);
                        }
                        let analyzer = Analyzer::new(&binary, Blacklist::of(&binary))
                            .with_debug_info(Some(std::sync::Arc::new(debug)))
                            .with_detail(true);
                        let mut selection = Selection::default();
                        analyzer.select_all(&mut selection, &[]).unwrap();
                        let _ = analyzer.run(&selection, Some(1));
                    }
                }
            });
            assert!(result.is_ok(), "panic on {name}");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{name} took {:?}",
                started.elapsed()
            );
        }
    }
}
