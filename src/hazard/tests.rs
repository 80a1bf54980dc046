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
