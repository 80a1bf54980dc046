//! The static map on a corpus binary, without the emulator.

use super::{Blacklist, StaticMap};
use crate::decode::Decoder;
use crate::facts::FunctionFacts;
use crate::load::Binary;
use crate::report::FindingKind;

fn corpus(name: &str) -> Binary {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join(name);
    Binary::open(&path).unwrap()
}

/// The static findings of the points of an LL/SC loop (corpora/MANIFEST,
/// `llsc_loop` of aarch64/hazards.so): the window from the `ldxr` to the
/// `stxr`, the exclusive accesses unsteppable, nothing after the window.
#[test]
fn llsc_loop_findings() {
    let binary = corpus("aarch64/hazards.so");
    let map = StaticMap::new(&binary, Blacklist::of(&binary));
    let function = binary
        .functions
        .iter()
        .find(|f| f.has_name("llsc_loop"))
        .unwrap();
    let decoder = Decoder::new(binary.arch).unwrap();
    let facts = FunctionFacts::of(&decoder, &binary, function);
    let kinds = |offset: u64| -> Vec<FindingKind> {
        let mut k: Vec<FindingKind> = map
            .findings(function, &facts, function.address + offset, None)
            .into_iter()
            .map(|f| f.kind)
            .collect();
        k.sort_by_key(|k| k.name());
        k
    };
    let window = FindingKind::LlscReservationLoss;
    let unsteppable = FindingKind::UnsteppableInstruction;
    assert_eq!(kinds(0), vec![window, unsteppable]);
    assert_eq!(kinds(4), vec![window]);
    assert_eq!(kinds(8), vec![window, unsteppable]);
    assert_eq!(kinds(0xc), vec![]);
    assert_eq!(kinds(0x10), vec![]);
    // Inside an instruction: not a boundary.
    assert_eq!(kinds(2), vec![FindingKind::NotInstructionBoundary]);
}

/// The static map and the facts it reads know neither the emulator, nor
/// the detectors, nor the analysis layer above them (docs/architecture.md).
#[test]
fn static_layers_import_nothing_dynamic() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("hazard"), &mut files);
    sources(&root.join("facts"), &mut files);
    assert!(files.len() > 5, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // Spelt in two halves, so that this file does not match itself.
            for layer in [
                concat!("crate::", "emu"),
                concat!("crate::", "detect"),
                concat!("crate::", "analyze"),
            ] {
                assert!(
                    !code.contains(layer),
                    "{}:{}: {line}",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}
