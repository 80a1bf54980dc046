//! Window computation on decoded instruction words.

use super::*;
use crate::arch::{spec, Arch};
use crate::decode::Decoder;
use crate::load::{Function, FunctionSource};

fn cfg(arch: Arch, words: &[u32]) -> Cfg {
    let bytes: Vec<u8> = words
        .iter()
        .flat_map(|w| {
            if arch.big_endian() {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            }
        })
        .collect();
    cfg_of_bytes(arch, &bytes)
}

fn cfg_of_bytes(arch: Arch, bytes: &[u8]) -> Cfg {
    let insns = Decoder::new(arch).unwrap().decode(bytes, 0x1000);
    let f = Function {
        name: "f".into(),
        aliases: vec![],
        address: 0x1000,
        size: bytes.len() as u64,
        entry: 0x1000,
        source: FunctionSource::Symtab,
        ifunc: false,
        descriptor: None,
    };
    Cfg::build(&f, insns)
}

fn addrs(cfg: &Cfg, w: &Window) -> Vec<u64> {
    w.members.iter().map(|&i| cfg.insns[i].address).collect()
}

/// Regression: the failure edge of the status test after tstart was
/// counted as transactional (found on a hand-written TME sequence).
#[test]
fn tme_failure_edge_is_not_transactional() {
    let c = cfg(
        Arch::Aarch64,
        &[
            0xd523_3061, // 0x1000 tstart x1
            0xb400_0061, // 0x1004 cbz x1, 0x1010 (started)
            0xd280_0022, // 0x1008 mov x2, #1 (failed)
            0xb900_0002, // 0x100c str w2, [x0]
            0x9100_0400, // 0x1010 add x0, x0, #1
            0xd503_307f, // 0x1014 tcommit
            0xd65f_03c0, // 0x1018 ret
        ],
    );
    let w = transaction_windows(&c, spec(Arch::Aarch64));
    assert_eq!(w.len(), 1);
    assert_eq!(addrs(&c, &w[0]), [0x1000, 0x1004, 0x1010, 0x1014]);
}

/// The same on POWER: `bne` after tbegin. is taken when it started.
#[test]
fn htm_failure_edge_is_not_transactional() {
    let c = cfg(
        Arch::Ppc64,
        &[
            0x7c00_051d, // 0x1000 tbegin.
            0x4082_000c, // 0x1004 bne 0x1010 (started)
            0x38a0_0001, // 0x1008 li r5, 1 (failed)
            0x90a3_0000, // 0x100c stw r5, 0(r3)
            0x3863_0001, // 0x1010 addi r3, r3, 1
            0x7c00_055d, // 0x1014 tend.
            0x4e80_0020, // 0x1018 blr
        ],
    );
    let w = transaction_windows(&c, spec(Arch::Ppc64));
    assert_eq!(w.len(), 1);
    assert_eq!(addrs(&c, &w[0]), [0x1000, 0x1004, 0x1010, 0x1014]);
}

fn closes(cfg: &Cfg, w: &Window) -> Vec<u64> {
    w.closes.iter().map(|&i| cfg.insns[i].address).collect()
}

/// Regression: a nested `tstart` killed the outer window (no window at
/// all from the outer begin) and the inner `tcommit` closed the inner
/// one, so the outer part of the nest was safe. The window runs from
/// the outer `tstart` to the outer `tcommit`; the inner begin opens none
/// of its own (an abort always resumes after the outermost); the
/// failure edges of both status tests stay outside.
#[test]
fn tme_nested_transaction_is_one_window_to_the_outer_commit() {
    let c = cfg(
        Arch::Aarch64,
        &[
            0xd523_3061, // 0x1000 tstart x1
            0xb500_0201, // 0x1004 cbnz x1, 0x1044
            0xf940_0002, // 0x1008 ldr x2, [x0]
            0x9100_0442, // 0x100c add x2, x2, #1
            0xf900_0002, // 0x1010 str x2, [x0]
            0xd523_3063, // 0x1014 tstart x3 (nested)
            0xb500_0163, // 0x1018 cbnz x3, 0x1044
            0xf940_0404, // 0x101c ldr x4, [x0, #8]
            0x9100_0484, // 0x1020 add x4, x4, #1
            0xf900_0404, // 0x1024 str x4, [x0, #8]
            0xd503_307f, // 0x1028 tcommit (inner: depth 2 -> 1)
            0xf940_0805, // 0x102c ldr x5, [x0, #16]
            0x9100_04a5, // 0x1030 add x5, x5, #1
            0xf900_0805, // 0x1034 str x5, [x0, #16]
            0xd503_307f, // 0x1038 tcommit (outer: commits)
            0xd280_0000, // 0x103c mov x0, #0
            0xd65f_03c0, // 0x1040 ret
            0x9280_0000, // 0x1044 mov x0, #-1 (fallback)
            0xd65f_03c0, // 0x1048 ret
        ],
    );
    let w = transaction_windows(&c, spec(Arch::Aarch64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(c.insns[w[0].open].address, 0x1000);
    assert_eq!(closes(&c, &w[0]), [0x1038]);
    assert_eq!(
        addrs(&c, &w[0]),
        (0x1000..=0x1038).step_by(4).collect::<Vec<u64>>()
    );
}

/// The same nest on x86: the inner `xbegin` raises the depth (its
/// fallback edge is not transactional), the inner `xend` lowers it.
#[test]
fn rtm_nested_transaction_is_one_window_to_the_outer_xend() {
    let c = cfg_of_bytes(
        Arch::X86_64,
        &[
            0xc7, 0xf8, 0x17, 0, 0, 0, // 0x1000 xbegin 0x101d
            0xff, 0x07, // 0x1006 incl (%rdi)
            0xc7, 0xf8, 0x0f, 0, 0, 0, // 0x1008 xbegin 0x101d (nested)
            0xff, 0x47, 0x04, // 0x100e incl 4(%rdi)
            0x0f, 0x01, 0xd5, // 0x1011 xend (inner)
            0xff, 0x47, 0x08, // 0x1014 incl 8(%rdi)
            0x0f, 0x01, 0xd5, // 0x1017 xend (outer)
            0x31, 0xc0, // 0x101a xor %eax, %eax
            0xc3, // 0x101c ret
            0xb8, 0xff, 0xff, 0xff, 0xff, // 0x101d mov $-1, %eax
            0xc3, // 0x1022 ret
        ],
    );
    let w = transaction_windows(&c, spec(Arch::X86_64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(closes(&c, &w[0]), [0x1017]);
    assert_eq!(
        addrs(&c, &w[0]),
        [0x1000, 0x1006, 0x1008, 0x100e, 0x1011, 0x1014, 0x1017]
    );
}

const HTM_NEST: [u32; 12] = [
    0x7c00_051d, // 0x1000 tbegin.
    0x41c2_0024, // 0x1004 beq- 0x1028
    0x7c00_051d, // 0x1008 tbegin. (nested)
    0x41c2_001c, // 0x100c beq- 0x1028
    0xe883_0000, // 0x1010 ld r4, 0(r3)
    0x3884_0001, // 0x1014 addi r4, r4, 1
    0xf883_0000, // 0x1018 std r4, 0(r3)
    0x7e00_055d, // 0x101c tend. 1 (tendall.)
    0x3860_0000, // 0x1020 li r3, 0
    0x4e80_0020, // 0x1024 blr
    0x3860_ffff, // 0x1028 li r3, -1
    0x4e80_0020, // 0x102c blr
];

/// POWER `tend. 1` ends every level: one window, outer `tbegin.` to it.
#[test]
fn htm_tendall_closes_the_whole_nest() {
    let c = cfg(Arch::Ppc64, &HTM_NEST);
    let w = transaction_windows(&c, spec(Arch::Ppc64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(c.insns[w[0].open].address, 0x1000);
    assert_eq!(closes(&c, &w[0]), [0x101c]);
    assert_eq!(
        addrs(&c, &w[0]),
        (0x1000..=0x101c).step_by(4).collect::<Vec<u64>>()
    );
}

/// With a plain `tend.` there instead, only the inner level ends: the
/// outer transaction outlives the function (no window of the outer
/// begin), and the inner begin's own window is all that is left.
#[test]
fn htm_tend_ends_one_level_only() {
    let mut words = HTM_NEST;
    words[7] = 0x7c00_055d; // tend.
    let c = cfg(Arch::Ppc64, &words);
    let w = transaction_windows(&c, spec(Arch::Ppc64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(c.insns[w[0].open].address, 0x1008);
    assert_eq!(
        addrs(&c, &w[0]),
        [0x1008, 0x100c, 0x1010, 0x1014, 0x1018, 0x101c]
    );
}

/// GCC's `_xbegin()` (glibc's lock elision): the fallback is the next
/// instruction and `cmp eax, -1; jne retry` tests the status. The retry
/// path runs after an abort, outside any transaction, even though it
/// leads back to the `xbegin`. Regression: once nested begins raised
/// the depth instead of ending the walk, the retry path reached the
/// `xabort` through the `xbegin` again and became transactional (10
/// points of Debian's x86-64 libc.so.6).
#[test]
fn rtm_status_test_of_xbegin_with_the_fallback_next() {
    let c = cfg_of_bytes(
        Arch::X86_64,
        &[
            0xa8, 0x02, // 0x1000 test al, 2 (retry: after an abort)
            0x74, 0x1c, // 0x1002 je 0x1020
            0xb8, 0xff, 0xff, 0xff, 0xff, // 0x1004 mov eax, -1
            0xc7, 0xf8, 0, 0, 0, 0, // 0x1009 xbegin 0x100f
            0x83, 0xf8, 0xff, // 0x100f cmp eax, -1
            0x75, 0xec, // 0x1012 jne 0x1000 (aborted)
            0x8b, 0x07, // 0x1014 mov eax, [rdi]
            0x85, 0xc0, // 0x1016 test eax, eax
            0x74, 0x03, // 0x1018 je 0x101d
            0xc6, 0xf8, 0xff, // 0x101a xabort 0xff
            0x0f, 0x01, 0xd5, // 0x101d xend
            0xc3, // 0x1020 ret
        ],
    );
    let w = transaction_windows(&c, spec(Arch::X86_64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(closes(&c, &w[0]), [0x101a, 0x101d]);
    assert_eq!(
        addrs(&c, &w[0]),
        [0x1009, 0x100f, 0x1012, 0x1014, 0x1016, 0x1018, 0x101a, 0x101d]
    );
}

/// GCC's `__builtin_tbegin` on POWER (glibc's lock elision): `mfcr`,
/// `rlwinm` (CR0[EQ]), `xori`, `cmpwi`, then `beq` to the failure path,
/// which retries at the `tbegin.`. The failure path is outside the
/// transaction. Regression: the idiom was not read as the status test,
/// and once nested begins raised the depth, the retry path reached the
/// `tabort.` through the `tbegin.` again (8 points of Debian's ppc64
/// libc.so.6).
#[test]
fn htm_status_test_of_gcc_tbegin_idiom() {
    let c = cfg(
        Arch::Ppc64,
        &[
            0x7c00_051d, // 0x1000 tbegin.
            0x7d20_0026, // 0x1004 mfcr r9
            0x5529_1ffe, // 0x1008 rlwinm r9, r9, 3, 31, 31
            0x6929_0001, // 0x100c xori r9, r9, 1
            0x2c09_0000, // 0x1010 cmpwi r9, 0
            0x4182_001c, // 0x1014 beq 0x1030 (failed)
            0x8123_0000, // 0x1018 lwz r9, 0(r3)
            0x2c09_0000, // 0x101c cmpwi r9, 0
            0x4182_0008, // 0x1020 beq 0x1028
            0x7c0a_071d, // 0x1024 tabort. r10
            0x7c00_055d, // 0x1028 tend.
            0x4e80_0020, // 0x102c blr
            0x7d23_22a6, // 0x1030 mfspr r9, 131 (texasru)
            0x4bff_ffcc, // 0x1034 b 0x1000 (retry)
        ],
    );
    let w = transaction_windows(&c, spec(Arch::Ppc64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(closes(&c, &w[0]), [0x1024, 0x1028]);
    assert_eq!(
        addrs(&c, &w[0]),
        (0x1000..=0x1028).step_by(4).collect::<Vec<u64>>()
    );
}

/// The status test is the only instruction between begin and end: it
/// is in the window (it runs transactionally), its failure target not.
#[test]
fn status_test_is_in_the_window() {
    let c = cfg(
        Arch::Ppc64,
        &[
            0x7c00_051d, // 0x1000 tbegin.
            0x41c2_0010, // 0x1004 beq- 0x1014
            0x7c00_055d, // 0x1008 tend.
            0x3860_0000, // 0x100c li r3, 0
            0x4e80_0020, // 0x1010 blr
            0x3860_ffff, // 0x1014 li r3, -1
            0x4e80_0020, // 0x1018 blr
        ],
    );
    let w = transaction_windows(&c, spec(Arch::Ppc64));
    assert_eq!(w.len(), 1);
    assert_eq!(addrs(&c, &w[0]), [0x1000, 0x1004, 0x1008]);
}

#[test]
fn llsc_window_stops_at_clrex_and_needs_a_store_conditional() {
    let c = cfg(
        Arch::Aarch64,
        &[
            0xc85f_7c01, // 0x1000 ldxr x1, [x0]
            0xd503_3f5f, // 0x1004 clrex
            0x9100_0421, // 0x1008 add x1, x1, #1
            0xd65f_03c0, // 0x100c ret
        ],
    );
    assert!(llsc_windows(&c).is_empty());
}

/// An instruction of a hand-built list: 4 bytes at `address`.
fn hand(address: u64, mnemonic: &str, class: Class, target: Option<u64>) -> crate::decode::Insn {
    crate::decode::Insn {
        address,
        len: 4,
        mnemonic: mnemonic.into(),
        op_str: String::new(),
        class,
        target,
        unsteppable: None,
    }
}

/// The graph of a hand-built list starting at 0x1000.
fn cfg_of_list(insns: Vec<crate::decode::Insn>) -> Cfg {
    let f = Function {
        name: "f".into(),
        aliases: vec![],
        address: 0x1000,
        size: 4 * insns.len() as u64,
        entry: 0x1000,
        source: FunctionSource::Symtab,
        ifunc: false,
        descriptor: None,
    };
    Cfg::build(&f, insns)
}

const JUMP_IF: Class = Class::Jump {
    indirect: false,
    conditional: true,
};
const RET: Class = Class::Return { conditional: false };

/// A compare-and-swap loop: the window runs from the load-linked to the
/// store-conditional on the paths between them; the exit taken when the
/// comparison fails and the retry branch after the store are outside.
#[test]
fn llsc_window_of_a_hand_built_list() {
    let c = cfg_of_list(vec![
        hand(0x1000, "ldaxr", Class::LoadLinked, None),
        hand(0x1004, "cmp", Class::Other, None),
        hand(0x1008, "b.ne", JUMP_IF, Some(0x1014)),
        hand(0x100c, "stlxr", Class::StoreConditional, None),
        hand(0x1010, "cbnz", JUMP_IF, Some(0x1000)),
        hand(0x1014, "ret", RET, None),
    ]);
    let w = llsc_windows(&c);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].kind, WindowKind::LlSc);
    assert_eq!(w[0].open, 0);
    assert_eq!(w[0].closes, vec![3]);
    assert_eq!(w[0].members, vec![0, 1, 2, 3]);
    assert!(w[0].contains(2) && !w[0].contains(4) && !w[0].contains(5));
}

/// Two store-conditionals reached from one load-linked: both close it,
/// and a path does not run on past the first closer it meets.
#[test]
fn llsc_window_with_two_closers() {
    let c = cfg_of_list(vec![
        hand(0x1000, "ldxr", Class::LoadLinked, None),
        hand(0x1004, "cbz", JUMP_IF, Some(0x100c)),
        hand(0x1008, "stxr", Class::StoreConditional, None),
        hand(0x100c, "stxr", Class::StoreConditional, None),
        hand(0x1010, "ret", RET, None),
    ]);
    let w = llsc_windows(&c);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].closes, vec![2, 3]);
    assert_eq!(w[0].members, vec![0, 1, 2, 3]);
}

/// `clrex` between the load-linked and the store-conditional abandons the
/// sequence: no window. A second load-linked starts its own window and
/// ends the first one's.
#[test]
fn llsc_kills_of_a_hand_built_list() {
    let cleared = cfg_of_list(vec![
        hand(0x1000, "ldxr", Class::LoadLinked, None),
        hand(0x1004, "clrex", Class::ClearExclusive, None),
        hand(0x1008, "stxr", Class::StoreConditional, None),
        hand(0x100c, "ret", RET, None),
    ]);
    assert!(llsc_windows(&cleared).is_empty());
    let restarted = cfg_of_list(vec![
        hand(0x1000, "ldxr", Class::LoadLinked, None),
        hand(0x1004, "ldxr", Class::LoadLinked, None),
        hand(0x1008, "stxr", Class::StoreConditional, None),
        hand(0x100c, "ret", RET, None),
    ]);
    let w = llsc_windows(&restarted);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].open, w[0].members.clone()), (1, vec![1, 2]));
}

/// A transaction from a hand-built list: from the begin to the end on the
/// transactional path; a store-conditional-free list has no LL/SC window.
#[test]
fn transaction_window_of_a_hand_built_list() {
    let c = cfg_of_list(vec![
        hand(0x1000, "tstart", Class::TxBegin, None),
        hand(0x1004, "add", Class::Other, None),
        hand(0x1008, "tcommit", Class::TxEnd, None),
        hand(0x100c, "ret", RET, None),
    ]);
    assert!(llsc_windows(&c).is_empty());
    let w = transaction_windows(&c, spec(Arch::Aarch64));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].kind, WindowKind::Transaction);
    assert_eq!(w[0].open, 0);
    assert_eq!(w[0].closes, vec![2]);
    assert_eq!(w[0].members, vec![0, 1, 2]);
}
