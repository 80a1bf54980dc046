//! Control-flow graph of one function, at instruction granularity.
//!
//! Hazard windows are sets of instructions on paths between two others, so
//! the graph keeps one node per instruction rather than basic blocks: it is
//! simpler and the functions are small.

use crate::arch::Class;
use crate::decode::Insn;
use crate::load::Function;

/// A function's instructions and the edges between them.
#[derive(Debug)]
pub struct Cfg {
    /// Instructions in address order.
    pub insns: Vec<Insn>,
    /// Successors of each instruction (indices into `insns`).
    pub succ: Vec<Vec<u32>>,
    /// Predecessors of each instruction.
    pub pred: Vec<Vec<u32>>,
    /// The index of the fall-through successor, if it has one.
    fallthrough: Vec<Option<u32>>,
    start: u64,
    end: u64,
}

/// How control leaves a function at an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// A return instruction.
    Return,
    /// A direct jump to another function: the return happens there.
    TailCall {
        /// The jump target.
        target: u64,
    },
    /// An indirect jump whose target is not known statically (a tail call
    /// through a register, or a jump table).
    IndirectJump,
}

impl Cfg {
    /// Build the graph of `function` from its decoded instructions.
    pub fn build(function: &Function, insns: Vec<Insn>) -> Cfg {
        let n = insns.len();
        let mut succ = vec![Vec::new(); n];
        let mut fallthrough = vec![None; n];
        let start = function.address;
        let end = function.end();
        let index_of = |insns: &[Insn], addr: u64| {
            insns
                .binary_search_by_key(&addr, |i| i.address)
                .ok()
                .map(|i| i as u32)
        };
        for (i, insn) in insns.iter().enumerate() {
            if insn.class.falls_through()
                && insns.get(i + 1).is_some_and(|n| n.address == insn.next())
            {
                succ[i].push(i as u32 + 1);
                fallthrough[i] = Some(i as u32 + 1);
            }
            let branches = matches!(insn.class, Class::Jump { .. } | Class::TxBegin);
            if let Some(target) = insn.target.filter(|_| branches) {
                if let Some(t) = index_of(&insns, target) {
                    if !succ[i].contains(&t) {
                        succ[i].push(t);
                    }
                }
            }
        }
        let mut pred = vec![Vec::new(); n];
        for (i, s) in succ.iter().enumerate() {
            for &t in s {
                pred[t as usize].push(i as u32);
            }
        }
        Cfg {
            insns,
            succ,
            pred,
            fallthrough,
            start,
            end,
        }
    }

    /// The index of the instruction that starts at `addr`.
    pub fn index_of(&self, addr: u64) -> Option<usize> {
        self.insns.binary_search_by_key(&addr, |i| i.address).ok()
    }

    /// The instruction whose bytes contain `addr`.
    pub fn containing(&self, addr: u64) -> Option<&Insn> {
        let i = self.insns.partition_point(|i| i.address <= addr);
        self.insns[..i].last().filter(|insn| addr < insn.next())
    }

    /// The fall-through successor of instruction `i`.
    pub fn fallthrough(&self, i: usize) -> Option<usize> {
        self.fallthrough[i].map(|f| f as usize)
    }

    /// Whether `addr` is inside the function.
    pub fn in_function(&self, addr: u64) -> bool {
        addr >= self.start && addr < self.end
    }

    /// How control leaves the function at instruction `i`, if it does.
    pub fn exit(&self, i: usize) -> Option<Exit> {
        exit_of(&self.insns[i], self.start, self.end)
    }
}

/// How control leaves a function spanning `start..end` at `insn`, if it
/// does: a return, a direct jump out of the range (a tail call), or an
/// indirect jump.
pub fn exit_of(insn: &Insn, start: u64, end: u64) -> Option<Exit> {
    match insn.class {
        Class::Return { .. } => Some(Exit::Return),
        Class::Jump { indirect: true, .. } => Some(Exit::IndirectJump),
        Class::Jump {
            indirect: false, ..
        } => match insn.target {
            Some(t) if t < start || t >= end => Some(Exit::TailCall { target: t }),
            _ => None,
        },
        _ => None,
    }
}
