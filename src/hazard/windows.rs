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
    kind: WindowKind,
    opens: fn(Class) -> bool,
    closes: fn(Class) -> bool,
    /// A path through one of these does not carry the window on (the
    /// monitor was cleared, or a new sequence starts there).
    kills: fn(Class) -> bool,
}

const LLSC: Rules = Rules {
    kind: WindowKind::LlSc,
    opens: |c| c == Class::LoadLinked,
    closes: |c| c == Class::StoreConditional,
    kills: |c| matches!(c, Class::ClearExclusive | Class::LoadLinked),
};

const TRANSACTION: Rules = Rules {
    kind: WindowKind::Transaction,
    opens: |c| c == Class::TxBegin,
    closes: |c| matches!(c, Class::TxEnd | Class::TxAbort),
    kills: |c| c == Class::TxBegin,
};

/// Every LL/SC window of the function.
pub fn llsc_windows(cfg: &Cfg) -> Vec<Window> {
    find(cfg, &LLSC, None)
}

/// Every transaction window of the function. The branch that tests the
/// begin's status (arm64 `cbz Xt`, POWER `bne`) is followed only along the
/// edge where the transaction started; x86 `xbegin` branches itself.
pub fn transaction_windows(cfg: &Cfg, spec: &dyn ArchSpec) -> Vec<Window> {
    find(cfg, &TRANSACTION, Some(spec))
}

/// The status test right after a transaction begin: `(branch, success
/// successor)`, looked for among the next few straight-line instructions.
fn status_test(cfg: &Cfg, open: usize, spec: &dyn ArchSpec) -> Option<(usize, usize)> {
    let begin = &cfg.insns[open];
    let mut i = cfg.fallthrough(open)?;
    for _ in 0..4 {
        let insn = &cfg.insns[i];
        match insn.class {
            Class::Jump {
                conditional: true,
                indirect: false,
            } => {
                let taken = spec.tx_success_taken(&begin.op_str, &insn.mnemonic, &insn.op_str)?;
                let fall = cfg.fallthrough(i)?;
                let target = cfg.succ[i]
                    .iter()
                    .map(|&s| s as usize)
                    .find(|&s| s != fall)?;
                return Some((i, if taken { target } else { fall }));
            }
            Class::Other => i = cfg.fallthrough(i)?,
            _ => return None,
        }
    }
    None
}

fn find(cfg: &Cfg, rules: &Rules, spec: Option<&dyn ArchSpec>) -> Vec<Window> {
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
        // Forward: what the opener reaches without passing a kill, stopping
        // at closers. Only the fall-through of a transaction begin is
        // transactional (x86 `xbegin`'s target is the abort fallback).
        forward[open] = true;
        let first: Vec<usize> = if rules.kind == WindowKind::Transaction {
            cfg.fallthrough(open).into_iter().collect()
        } else {
            cfg.succ[open].iter().map(|&s| s as usize).collect()
        };
        stack.clear();
        for s in first {
            if !(rules.kills)(cfg.insns[s].class) && !forward[s] {
                forward[s] = true;
                stack.push(s);
            }
        }
        let test = spec.and_then(|spec| status_test(cfg, open, spec));
        let mut closes = Vec::new();
        while let Some(i) = stack.pop() {
            if (rules.closes)(cfg.insns[i].class) {
                closes.push(i);
                continue;
            }
            for &s in &cfg.succ[i] {
                let s = s as usize;
                if test.is_some_and(|(branch, success)| branch == i && s != success) {
                    continue; // the failure edge: no transaction there
                }
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
            kind: rules.kind,
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
        let insns = Decoder::new(arch).unwrap().decode(&bytes, 0x1000);
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
