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
mod tests;
