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

use crate::arch::Class;
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
    find(cfg, &LLSC)
}

/// Every transaction window of the function.
pub fn transaction_windows(cfg: &Cfg) -> Vec<Window> {
    find(cfg, &TRANSACTION)
}

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
            kind: rules.kind,
            open,
            closes,
            members,
        });
    }
    windows
}
