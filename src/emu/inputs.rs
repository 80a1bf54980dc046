//! A trial's generated inputs: argument registers drawn from a seed, as
//! edge values, small integers, pointers into the lazily materialised heap
//! or random words, and what a load from that heap reads before anything
//! writes it.

use serde::Serialize;

use super::memory::{page_content, splitmix};
use super::{abi, HEAP_BASE, PAGE};
use crate::arch::Arch;

/// The generated input of a trial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Input {
    /// The seed it was generated from.
    pub seed: u64,
    /// Integer argument registers, in calling-convention order.
    pub args: Vec<u64>,
}

impl Input {
    /// Generate the input of case `case` from `seed`: per argument, an edge
    /// value, a small integer, a pointer into the lazily materialised heap,
    /// or a random word. Odd cases echo the word behind a pointer argument
    /// (the first, second or third, in turn) into the next argument, so that
    /// a comparison between an argument and memory (a compare-and-swap's
    /// expected value, wherever the convention puts it) is taken both ways.
    pub fn generate(arch: Arch, seed: u64, case: u64) -> Input {
        let mut state = seed ^ case.wrapping_mul(0xd1b5_4a32_d192_ed03);
        let n = abi::abi(arch).args.len();
        let echo = case % 2 == 1;
        let pointer = ((case / 2) % 3) as usize;
        let mut args = Vec::with_capacity(n);
        for i in 0..n {
            let r = splitmix(&mut state);
            // Case 0 is the plainest input: pointers first, then small values.
            let kind = match () {
                _ if case == 0 => {
                    if i < 2 {
                        0
                    } else {
                        3
                    }
                }
                _ if echo && i == pointer => 0,
                _ => r % 8,
            };
            args.push(match kind {
                0..=2 => HEAP_BASE + ((r >> 8) & 0xff) * PAGE * 4 + ((r >> 20) & 0x3f8),
                3 | 4 => (r >> 16) % 17,
                5 => [
                    0,
                    1,
                    u64::MAX,
                    0x7fff_ffff,
                    0x8000_0000,
                    i64::MAX as u64,
                    0xffff_ffff,
                ][((r >> 8) % 7) as usize],
                _ => splitmix(&mut state),
            });
        }
        if echo {
            let target = (pointer + 1) % 3;
            let big = arch.big_endian();
            // A 64-bit word also satisfies a 32-bit comparison on a
            // little-endian target; big-endian needs the first four bytes.
            let narrow = big && (case / 6) % 2 == 1;
            args[target] = if narrow {
                lazy_bytes(args[pointer], 4, big) as u32 as i32 as i64 as u64
            } else {
                lazy_bytes(args[pointer], 8, big)
            };
        }
        Input {
            seed: seed ^ case,
            args,
        }
    }

    /// The input of case `case` for the checks that compare two runs of it
    /// (a write against none, one build against another): each of the
    /// first three arguments is a pointer into the heap or a small value,
    /// in turn (bit `i` of the case: every combination in eight cases), the
    /// others small values. A small value is 0, 1, -1, or 2 to 15, even or
    /// odd in turn (bit 3 of the case: a loop unrolled by two branches on
    /// its count's parity), so that an argument used as a loop bound, a
    /// count or a size lets the run end on its own: a run cut by the budget
    /// says nothing about what the other run changed. The stub seed is
    /// [`Input::generate`]'s.
    pub fn generate_bounded(arch: Arch, seed: u64, case: u64) -> Input {
        let mut input = Input::generate(arch, seed, case);
        let mut state = seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xb0_7d;
        for (i, a) in input.args.iter_mut().enumerate() {
            let r = splitmix(&mut state);
            let pointer = i < 3 && (case >> i) & 1 == 0;
            *a = if pointer {
                HEAP_BASE + ((r >> 8) & 0xff) * PAGE * 4 + ((r >> 20) & 0x3f8)
            } else {
                match r % 8 {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    // 2 to 15, odd when bit 3 of the case is set.
                    _ => (2 + (r >> 16) % 14) & !1 | (case >> 3) & 1,
                }
            };
        }
        input
    }

    /// The input of case `case` of run `seed` with explicit argument
    /// values (a shrunk witness, or one read back from a file): the same
    /// stub seed as a generated input of that case.
    pub fn from_args(seed: u64, case: u64, args: Vec<u64>) -> Input {
        Input {
            seed: seed ^ case,
            args,
        }
    }
}

/// A pointer into the lazily materialised heap that generated inputs use:
/// `page` (mod 256) selects one of its regions, `slot` (mod 128) an
/// 8-byte-aligned word in it.
pub fn heap_pointer(page: u64, slot: u64) -> u64 {
    HEAP_BASE + (page & 0xff) * PAGE * 4 + (slot & 0x7f) * 8
}

/// What a load of the word at `addr` in the lazy heap reads before
/// anything writes it: 8 bytes, or the first 4 sign-extended when `narrow`
/// (a 32-bit comparison on a big-endian target).
pub fn lazy_word(arch: Arch, addr: u64, narrow: bool) -> u64 {
    let big = arch.big_endian();
    if narrow {
        lazy_bytes(addr, 4, big) as u32 as i32 as i64 as u64
    } else {
        lazy_bytes(addr, 8, big)
    }
}

/// What a `len`-byte load at `addr` reads from a lazily materialised page
/// before anything writes it.
fn lazy_bytes(addr: u64, len: usize, big_endian: bool) -> u64 {
    let page = addr & !(PAGE - 1);
    let content = page_content(page, big_endian);
    let at = (addr - page) as usize;
    let bytes = content.get(at..at + len).unwrap_or(&[]);
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}
