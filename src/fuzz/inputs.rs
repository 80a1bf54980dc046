//! Property-based inputs: proptest strategies that know the calling
//! convention, one deterministic RNG per (seed, probe point, case), and
//! proptest's shrinking to a minimal witness.
//!
//! Each argument register gets, in this order of simplicity (proptest
//! shrinks towards the first alternatives): a small integer, a pointer into
//! the emulator's lazily materialised heap, an edge value (`0`, `1`, `-1`,
//! `i64::MIN`, `i64::MAX`, 32-bit limits), a flag word (one bit set), or
//! any 64-bit word. In odd cases the word behind the first, second or third
//! argument (made a pointer) is echoed into the next argument, so that a
//! compare-and-swap's expected value matches memory and both of its paths
//! are taken.

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::arch::Arch;
use crate::detect::InputSource;
use crate::emu::run::{heap_pointer, lazy_word};
use crate::emu::{abi, splitmix, Input};

/// Candidates tried per shrink at most (each is one trial).
const MAX_SHRINK_STEPS: u32 = 256;

const EDGES: &[u64] = &[
    0,
    1,
    u64::MAX,
    i64::MIN as u64,
    i64::MAX as u64,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

/// Inputs from proptest strategies, seeded from `--seed`.
#[derive(Clone, Debug)]
pub struct PropInputs {
    seed: u64,
}

impl PropInputs {
    /// The source for run seed `seed`.
    pub fn new(seed: u64) -> PropInputs {
        PropInputs { seed }
    }

    /// A runner whose RNG depends only on the seed, the point and the case.
    fn runner(&self, addr: u64, case: u64) -> TestRunner {
        let mut state = self.seed ^ addr.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ case.rotate_left(32);
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
        }
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
        )
    }

    fn tree(&self, arch: Arch, addr: u64, case: u64) -> Option<impl ValueTree<Value = Vec<u64>>> {
        strategy(arch, case)
            .new_tree(&mut self.runner(addr, case))
            .ok()
    }
}

/// One argument register; the first two favour pointers (most functions
/// that touch memory take it there).
fn argument(position: usize) -> BoxedStrategy<u64> {
    let pointer_weight = if position < 2 { 6 } else { 3 };
    prop_oneof![
        3 => 0u64..=16,
        pointer_weight => (0u64..256, 0u64..128).prop_map(|(page, slot)| heap_pointer(page, slot)),
        1 => proptest::sample::select(EDGES),
        1 => (0u32..64).prop_map(|bit| 1u64 << bit),
        2 => any::<u64>(),
    ]
    .boxed()
}

/// The arguments of case `case`: case 0 is the plainest input (pointers in
/// the first two registers, small integers after), the others are drawn
/// from [`argument`]. Odd cases echo the word behind the first, second or
/// third argument (in turn), made a pointer, into the next one, as
/// [`Input::generate`] does, so that every run of eight cases takes a
/// compare-and-swap's both paths wherever the convention puts its pointer.
fn strategy(arch: Arch, case: u64) -> BoxedStrategy<Vec<u64>> {
    let n = abi::abi(arch).args.len();
    let args: Vec<BoxedStrategy<u64>> = (0..n)
        .map(|i| match (case, i) {
            (0, 0 | 1) => (0u64..256, 0u64..128)
                .prop_map(|(page, slot)| heap_pointer(page, slot))
                .boxed(),
            (0, _) => (0u64..=16).boxed(),
            _ => argument(i),
        })
        .collect();
    let echo = (case % 2 == 1).then_some(((case / 2) % 3) as usize);
    // A big-endian 32-bit comparison needs the first four bytes.
    let narrow = arch.big_endian() && (case / 6) % 2 == 1;
    (args, 0u64..256, 0u64..128)
        .prop_map(move |(mut args, page, slot)| {
            if let Some(pointer) = echo {
                let p = heap_pointer(page, slot);
                args[pointer] = p;
                args[(pointer + 1) % 3] = lazy_word(arch, p, narrow);
            }
            args
        })
        .boxed()
}

impl InputSource for PropInputs {
    fn input(&self, arch: Arch, addr: u64, case: u64) -> Input {
        let args = self
            .tree(arch, addr, case)
            .map(|t| t.current())
            .unwrap_or_else(|| Input::generate(arch, self.seed, case).args);
        Input::from_args(self.seed, case, args)
    }

    fn shrink(
        &self,
        arch: Arch,
        addr: u64,
        case: u64,
        keep: &mut dyn FnMut(&Input) -> bool,
    ) -> Option<(Input, u32)> {
        let mut tree = self.tree(arch, addr, case)?;
        let mut best = None;
        let mut tried = 0;
        if !tree.simplify() {
            return None;
        }
        while tried < MAX_SHRINK_STEPS {
            tried += 1;
            let candidate = Input::from_args(self.seed, case, tree.current());
            if keep(&candidate) {
                best = Some(candidate);
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
        best.map(|b| (b, tried))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_depend_only_on_seed_point_and_case() {
        let a = PropInputs::new(7);
        for arch in crate::emu::arch::ARCHES {
            let n = abi::abi(arch).args.len();
            for case in 0..16 {
                let x = a.input(arch, 0x1000, case);
                assert_eq!(x, PropInputs::new(7).input(arch, 0x1000, case));
                assert_eq!(x.args.len(), n);
            }
            let here: Vec<_> = (0..16).map(|c| a.input(arch, 0x1000, c)).collect();
            let there: Vec<_> = (0..16).map(|c| a.input(arch, 0x1004, c)).collect();
            assert_ne!(here, there, "another point draws other inputs");
        }
    }

    #[test]
    fn shrinking_keeps_the_property_and_simplifies() {
        // The property: the third argument is at least 1000. The minimal
        // input proptest can reach keeps it and makes everything else small.
        let source = PropInputs::new(1);
        for arch in crate::emu::arch::ARCHES {
            let case = (1..200)
                .find(|&c| source.input(arch, 0x40, c).args[2] >= 1000)
                .expect("some case has a large third argument");
            let before = source.input(arch, 0x40, case);
            let (after, steps) = source
                .shrink(arch, 0x40, case, &mut |i| i.args[2] >= 1000)
                .expect("shrinks");
            assert!(after.args[2] >= 1000 && steps > 0);
            let size = |i: &Input| i.args.iter().filter(|&&a| a > 16).count();
            assert!(size(&after) <= size(&before), "{before:?} -> {after:?}");
        }
    }
}
