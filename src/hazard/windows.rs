//! Windows: the instructions on some control-flow path from an opening
//! instruction (a load-linked, a transaction begin) to a closing one (a
//! store-conditional, a transaction end or abort).
//!
//! A trap anywhere in such a window breaks the sequence: an exception return
//! clears the exclusive monitor or reservation, and a trap inside a
//! transaction aborts it. Both ends belong to the window: the opener is
//! single-stepped (and its step's exception return clears the monitor, or the
//! step's trap lands inside the just-started transaction), and a trap before
//! the closer executes breaks it too.

use crate::arch::{ArchSpec, Class};
use crate::cfg::Cfg;

/// What kind of sequence a window belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// Load-linked .. store-conditional.
    LlSc,
    /// Transaction begin .. end or abort.
    Transaction,
}

/// One window.
#[derive(Clone, Debug)]
pub struct Window {
    /// Load-linked or transaction begin.
    pub kind: WindowKind,
    /// Index of the opening instruction.
    pub open: usize,
    /// Indices of the closing instructions reachable from it.
    pub closes: Vec<usize>,
    /// Indices of every instruction in the window, sorted, both ends included.
    pub members: Vec<usize>,
}

impl Window {
    /// Whether instruction `i` is in the window.
    pub fn contains(&self, i: usize) -> bool {
        self.members.binary_search(&i).is_ok()
    }
}

struct Rules {
    opens: fn(Class) -> bool,
    closes: fn(Class) -> bool,
    /// A path through one of these does not carry the window on (the
    /// monitor was cleared, or a new sequence starts there).
    kills: fn(Class) -> bool,
}

const LLSC: Rules = Rules {
    opens: |c| c == Class::LoadLinked,
    closes: |c| c == Class::StoreConditional,
    kills: |c| matches!(c, Class::ClearExclusive | Class::LoadLinked),
};

/// Every LL/SC window of the function.
pub fn llsc_windows(cfg: &Cfg) -> Vec<Window> {
    find(cfg, &LLSC)
}

/// The deepest transaction nesting followed. Hardware allows a few levels
/// (x86 RTM 7 on current parts, arm64 TME 255, POWER 1 counted level per
/// `tbegin.`); a path deeper than this (a loop of begins) stays at it.
const MAX_DEPTH: usize = 16;

/// Every transaction window of the function, following the nesting depth
/// on every path: a begin inside a transaction raises it, an end lowers it
/// (POWER `tend. 1` drops it to 0) and closes the window only at depth 0;
/// an explicit abort closes it at any depth (it aborts the whole nest).
/// The branch that tests a begin's status (arm64 `cbz Xt`, POWER `bne`, x86
/// `jne` after `cmp eax, -1`) is itself in the window, but only its success
/// edge is followed: after a failure no transaction is active (and a nested
/// begin's failure edge is never taken: the failure resumes at the
/// outermost begin). x86 `xbegin` branches itself: only its fall-through is
/// transactional (GCC's `_xbegin()` puts the fallback at the next
/// instruction, and the `cmp`/`jne` there is the status test).
///
/// Hardware nesting is flat: an abort at any depth rolls back to the
/// outermost begin. A begin that runs only nested (its whole window lies in
/// the window of a begin that reaches it) opens no window of its own: its
/// instructions are in the outer window, and a trap there aborts the outer
/// transaction.
pub fn transaction_windows(cfg: &Cfg, spec: &dyn ArchSpec) -> Vec<Window> {
    let n = cfg.insns.len();
    let begins: Vec<usize> = (0..n)
        .filter(|&i| cfg.insns[i].class == Class::TxBegin)
        .collect();
    if begins.is_empty() {
        return Vec::new();
    }
    // Each begin's status test: the branch and its success successor.
    let mut success: Vec<Option<usize>> = vec![None; n];
    for &open in &begins {
        if let Some((branch, succ)) = status_test(cfg, open, spec) {
            success[branch] = Some(succ);
        }
    }
    let ends_all: Vec<bool> = cfg
        .insns
        .iter()
        .map(|insn| {
            insn.class == Class::TxEnd && spec.tx_end_ends_all(&insn.mnemonic, &insn.op_str)
        })
        .collect();
    let mut walk = DepthWalk::new(n);
    let mut windows: Vec<Window> = begins
        .iter()
        .filter_map(|&open| walk.window(cfg, open, &success, &ends_all))
        .collect();
    // Flat nesting: drop the windows of begins that only run nested. A
    // window is subsumed by a larger one (ties: the earlier opener) that
    // contains its opener and all its members; keeping the maximal ones
    // keeps every member covered.
    let rank = |w: &Window| (w.members.len(), std::cmp::Reverse(w.open));
    let subsumed: Vec<bool> = windows
        .iter()
        .map(|inner| {
            windows.iter().any(|outer| {
                outer.open != inner.open
                    && rank(outer) > rank(inner)
                    && outer.contains(inner.open)
                    && inner.members.iter().all(|&m| outer.contains(m))
            })
        })
        .collect();
    let mut keep = subsumed.iter().map(|s| !s);
    windows.retain(|_| keep.next().unwrap_or(true));
    windows
}

/// The state graph of a transaction window: (instruction, nesting depth
/// before it executes), as a flat index `i * (MAX_DEPTH + 1) + depth`.
struct DepthWalk {
    forward: Vec<bool>,
    backward: Vec<bool>,
    /// Edges found by the forward walk (from, to), for the backward one.
    edges: Vec<(usize, usize)>,
    visited: Vec<usize>,
    stack: Vec<usize>,
}

impl DepthWalk {
    const LEVELS: usize = MAX_DEPTH + 1;

    fn new(n: usize) -> DepthWalk {
        DepthWalk {
            forward: vec![false; n * Self::LEVELS],
            backward: vec![false; n * Self::LEVELS],
            edges: Vec::new(),
            visited: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn window(
        &mut self,
        cfg: &Cfg,
        open: usize,
        success: &[Option<usize>],
        ends_all: &[bool],
    ) -> Option<Window> {
        const L: usize = DepthWalk::LEVELS;
        for &v in &self.visited {
            self.forward[v] = false;
            self.backward[v] = false;
        }
        self.visited.clear();
        self.edges.clear();
        self.stack.clear();
        // Forward: from the opener at depth 0, what is reached while a
        // transaction is active, stopping where the depth returns to 0.
        let root = open * L;
        self.forward[root] = true;
        self.visited.push(root);
        self.stack.push(root);
        let mut close_states = Vec::new();
        let mut next = Vec::new();
        while let Some(state) = self.stack.pop() {
            let (i, depth) = (state / L, state % L);
            let insn = &cfg.insns[i];
            next.clear();
            match insn.class {
                Class::TxBegin => {
                    // Only the fall-through is transactional (x86's target
                    // is the fallback; a nested one's is never taken).
                    let d = (depth + 1).min(MAX_DEPTH);
                    next.extend(cfg.fallthrough(i).map(|s| (s, d)));
                }
                Class::TxEnd if depth > 0 => {
                    let d = if ends_all[i] { 0 } else { depth - 1 };
                    if d == 0 {
                        close_states.push(state);
                    } else {
                        next.extend(cfg.succ[i].iter().map(|&s| (s as usize, d)));
                    }
                }
                Class::TxAbort if depth > 0 => close_states.push(state),
                _ => match success[i] {
                    // A status test: its failure edge leaves the transaction.
                    Some(s) => next.push((s, depth)),
                    None => next.extend(cfg.succ[i].iter().map(|&s| (s as usize, depth))),
                },
            }
            for &(s, d) in &next {
                let to = s * L + d;
                self.edges.push((state, to));
                if !self.forward[to] {
                    self.forward[to] = true;
                    self.visited.push(to);
                    self.stack.push(to);
                }
            }
        }
        if close_states.is_empty() {
            // No end reachable: no window.
            return None;
        }
        // Backward from the closing states, along the edges walked.
        let mut preds: Vec<(usize, usize)> = self.edges.iter().map(|&(f, t)| (t, f)).collect();
        preds.sort_unstable();
        preds.dedup();
        for &c in &close_states {
            if !self.backward[c] {
                self.backward[c] = true;
                self.stack.push(c);
            }
        }
        while let Some(state) = self.stack.pop() {
            let from = preds.partition_point(|&(t, _)| t < state);
            for &(_, p) in preds[from..].iter().take_while(|&&(t, _)| t == state) {
                if !self.backward[p] {
                    self.backward[p] = true;
                    self.stack.push(p);
                }
            }
        }
        let mut members: Vec<usize> = self
            .visited
            .iter()
            .filter(|&&v| self.backward[v])
            .map(|&v| v / L)
            .collect();
        members.sort_unstable();
        members.dedup();
        let mut closes: Vec<usize> = close_states.iter().map(|&c| c / L).collect();
        closes.sort_unstable();
        closes.dedup();
        Some(Window {
            kind: WindowKind::Transaction,
            open,
            closes,
            members,
        })
    }
}

/// The status test right after a transaction begin: `(branch, success
/// successor)`, looked for among the next few straight-line instructions.
fn status_test(cfg: &Cfg, open: usize, spec: &dyn ArchSpec) -> Option<(usize, usize)> {
    let begin = &cfg.insns[open];
    let mut between: Vec<(&str, &str)> = Vec::new();
    let mut i = cfg.fallthrough(open)?;
    for _ in 0..6 {
        let insn = &cfg.insns[i];
        match insn.class {
            Class::Jump {
                conditional: true,
                indirect: false,
            } => {
                let taken =
                    spec.tx_success_taken(&begin.op_str, &between, &insn.mnemonic, &insn.op_str)?;
                let fall = cfg.fallthrough(i)?;
                let target = cfg.succ[i]
                    .iter()
                    .map(|&s| s as usize)
                    .find(|&s| s != fall)?;
                return Some((i, if taken { target } else { fall }));
            }
            Class::Other => {
                between.push((insn.mnemonic.as_str(), insn.op_str.as_str()));
                i = cfg.fallthrough(i)?;
            }
            _ => return None,
        }
    }
    None
}

/// LL/SC windows: forward from each opener without passing a kill,
/// stopping at closers; then backward from the closers.
fn find(cfg: &Cfg, rules: &Rules) -> Vec<Window> {
    let n = cfg.insns.len();
    let mut windows = Vec::new();
    let mut forward = vec![false; n];
    let mut backward = vec![false; n];
    let mut stack = Vec::new();
    for open in 0..n {
        if !(rules.opens)(cfg.insns[open].class) {
            continue;
        }
        forward.iter_mut().for_each(|f| *f = false);
        backward.iter_mut().for_each(|b| *b = false);
        forward[open] = true;
        stack.clear();
        for &s in &cfg.succ[open] {
            let s = s as usize;
            if !(rules.kills)(cfg.insns[s].class) && !forward[s] {
                forward[s] = true;
                stack.push(s);
            }
        }
        let mut closes = Vec::new();
        while let Some(i) = stack.pop() {
            if (rules.closes)(cfg.insns[i].class) {
                closes.push(i);
                continue;
            }
            for &s in &cfg.succ[i] {
                let s = s as usize;
                if !forward[s] && !(rules.kills)(cfg.insns[s].class) {
                    forward[s] = true;
                    stack.push(s);
                }
            }
        }
        if closes.is_empty() {
            // Abandoned (clrex, or no store-conditional): no window.
            continue;
        }
        closes.sort_unstable();
        // Backward from the closers, within what the opener reaches.
        stack.clear();
        for &c in &closes {
            backward[c] = true;
            stack.push(c);
        }
        while let Some(i) = stack.pop() {
            if i == open {
                continue;
            }
            for &p in &cfg.pred[i] {
                let p = p as usize;
                if forward[p] && !backward[p] && !(p != open && (rules.closes)(cfg.insns[p].class))
                {
                    backward[p] = true;
                    stack.push(p);
                }
            }
        }
        backward[open] = true;
        let members = (0..n).filter(|&i| backward[i]).collect();
        windows.push(Window {
            kind: WindowKind::LlSc,
            open,
            closes,
            members,
        });
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{spec, Arch};
    use crate::decode::Decoder;
    use crate::load::{Function, FunctionSource};

    fn cfg(arch: Arch, words: &[u32]) -> Cfg {
        let bytes: Vec<u8> = words
            .iter()
            .flat_map(|w| {
                if arch == Arch::Ppc64 {
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
}
