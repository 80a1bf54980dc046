//! The exits-only sweep that `survey` uses (decoding only the instructions
//! that may transfer control) gives exactly the exits of the full decode,
//! on every function of every corpus binary.

use std::path::Path;

use probesafe::cfg::exit_of;
use probesafe::decode::Decoder;
use probesafe::facts::{decode_function, function_exits};
use probesafe::load::Binary;

#[test]
fn exits_only_sweep_equals_full_decode() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora");
    let mut files = 0;
    let mut exits = 0;
    for target in ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"] {
        for entry in std::fs::read_dir(root.join(target)).unwrap() {
            let path = entry.unwrap().path();
            let Ok(binary) = Binary::open(&path) else {
                continue;
            };
            let decoder = Decoder::new(binary.arch).unwrap();
            for f in &binary.functions {
                let full: Vec<_> = decode_function(&decoder, &binary, f)
                    .iter()
                    .filter_map(|i| exit_of(i, f.address, f.end()))
                    .collect();
                let fast = function_exits(&decoder, &binary, f);
                assert_eq!(full, fast, "{} {}", path.display(), f.name);
                exits += full.len();
            }
            files += 1;
        }
    }
    assert!(files >= 40, "{files} binaries");
    assert!(exits > 1000, "{exits} exits");
}
