//! The static findings at one point: the blacklist, the probe machinery,
//! the instruction itself, DWARF, the windows that contain it, its exit.

use super::dwarf::DwarfMemo;
use super::{machinery, StaticMap};
use crate::cfg::{Cfg, Exit};
use crate::decode::Insn;
use crate::facts::{FunctionFacts, Window, WindowKind};
use crate::load::Function;
use crate::report::{hex, Finding, FindingKind};

impl StaticMap<'_> {
    /// At a point that the blacklist does not cover: the probe machinery's
    /// findings (its call graph reaches the function) and the inline copies
    /// of blacklisted functions that contain the point.
    fn machinery_findings(&self, function: &Function, addr: u64) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(m) = self.machinery() {
            if let Some(reach) = m.reach(function.address) {
                out.push(machinery_finding(
                    function,
                    reach,
                    &m.chain(function.address),
                ));
            }
        }
        let Some(debug) = self.debug.as_deref() else {
            return out;
        };
        let listed = self.listed_names();
        if listed.is_empty() {
            return out;
        }
        for inline in debug.inline_chain(addr) {
            if !listed.contains(&*inline.name) {
                continue;
            }
            let (start, end) = inline
                .ranges
                .iter()
                .copied()
                .find(|&(s, e)| s <= addr && addr < e)
                .unwrap_or((inline.entry, inline.entry));
            out.push(Finding::new_static(
                FindingKind::BlacklistedInlineCopy,
                format!(
                    "{addr:#x} is in a copy of {} inlined into {}: the kprobe blacklist lists {} but covers only its out-of-line copy, not this one ({start:#x}-{end:#x})",
                    inline.name, function.name, inline.name
                ),
                crate::report::evidence::InlineCopyEvidence {
                    origin: inline.name.to_string(),
                    caller: function.name.clone(),
                    entry: crate::report::evidence::Hex(inline.entry),
                    start: crate::report::evidence::Hex(start),
                    end: crate::report::evidence::Hex(end),
                    call_file: inline.call_file.clone(),
                    call_line: inline.call_line,
                },
            ));
        }
        out
    }

    /// The static findings at `addr` in `function`; `exit` when the point
    /// was selected as a `.return` exit.
    pub fn findings(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        addr: u64,
        exit: Option<Exit>,
    ) -> Vec<Finding> {
        self.findings_memo(function, facts, addr, exit, &mut DwarfMemo::default())
    }

    /// [`StaticMap::findings`], with the DWARF findings of the points of one
    /// function that share their inline chain and line computed once.
    pub(crate) fn findings_memo(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        addr: u64,
        exit: Option<Exit>,
        memo: &mut DwarfMemo,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        if function.ifunc {
            out.push(Finding::new_static(
                FindingKind::IfuncResolver,
                format!(
                    "{} is an STT_GNU_IFUNC symbol: this code is the resolver run once at load time, not the implementation it selects",
                    function.name
                ),
                crate::report::evidence::IfuncEvidence { function: function.name.clone() },
            ));
        }
        for range in self.blacklist.lookup(addr) {
            out.push(Finding::new_static(
                FindingKind::Blacklisted,
                format!(
                    "the kprobe blacklist covers {:#x}-{:#x} ({})",
                    range.start, range.end, range.source
                ),
                crate::report::evidence::BlacklistedEvidence {
                    source: range.source.clone(),
                    start: crate::report::evidence::Hex(range.start),
                    end: crate::report::evidence::Hex(range.end),
                    symbol: range.symbol.clone(),
                },
            ));
        }
        if self.blacklist.lookup(addr).next().is_none() {
            out.extend(self.machinery_findings(function, addr));
        }
        let cfg = &facts.cfg;
        let align = crate::arch::spec(self.binary.arch).insn_align();
        let index = if addr % align != 0 {
            None
        } else {
            cfg.index_of(addr)
        };
        let Some(i) = index else {
            let containing = cfg.containing(addr);
            let data = facts.data.iter().find(|d| addr >= d.start && addr < d.end);
            let detail = match (containing, data) {
                (_, Some(d)) => format!(
                    "{addr:#x} is not an instruction: it is in the {} of {} ({:#x}-{:#x}), data that is never executed",
                    d.what, function.name, d.start, d.end
                ),
                (Some(insn), None) => format!(
                    "{addr:#x} is inside the instruction at {:#x} ({}); a breakpoint here corrupts it",
                    insn.address,
                    insn.text()
                ),
                (None, None) if addr % align != 0 => format!("{addr:#x} is not {align}-byte aligned"),
                (None, None) => format!("{addr:#x} is not the start of an instruction decoded from {}", function.name),
            };
            out.push(Finding::new_static(
                FindingKind::NotInstructionBoundary,
                detail,
                crate::report::evidence::BoundaryEvidence {
                    alignment: align,
                    instruction: containing.map(|i| crate::report::evidence::Hex(i.address)),
                    text: containing.map(Insn::text),
                },
            ));
            return out;
        };
        let insn = &cfg.insns[i];
        if insn.mnemonic == "(bad)" {
            out.push(Finding::new_static(
                FindingKind::UndecodableInstruction,
                format!("the bytes at {addr:#x} do not decode as an instruction (data in code, or an instruction unknown to the disassembler)"),
                crate::report::evidence::UndecodableEvidence { length: insn.len },
            ));
        }
        if let Some(reason) = insn.unsteppable {
            out.push(Finding::new_static(
                FindingKind::UnsteppableInstruction,
                format!(
                    "the kernel refuses to single-step `{}`: {reason}",
                    insn.text()
                ),
                crate::report::evidence::UnsteppableEvidence {
                    instruction: insn.text(),
                    reason: reason.to_owned(),
                },
            ));
        }
        if let Some(debug) = self.debug.as_deref() {
            out.extend(self.dwarf_findings(debug, function, addr, memo));
        }
        for w in facts.llsc.iter().filter(|w| w.contains(i)) {
            out.push(window_finding(cfg, w, i));
        }
        for w in facts.tm.iter().filter(|w| w.contains(i)) {
            out.push(window_finding(cfg, w, i));
        }
        match exit {
            Some(Exit::TailCall { target }) => {
                let name = self.binary.function_at(target).map(|f| f.name.clone());
                let dwarf = self
                    .debug
                    .as_ref()
                    .map(|_| self.tail_sites.has(addr, insn.next()));
                out.push(Finding::new_static(
                    FindingKind::TailCallExit,
                    format!(
                        "{} exits here by a jump to {}: the return happens there, so a return probe here sees the other function's return",
                        function.name,
                        name.clone().unwrap_or_else(|| hex(target))
                    ),
                    crate::report::evidence::TailCallEvidence { jump: crate::report::evidence::Hex(addr), target: Some(crate::report::evidence::Hex(target)), how: crate::report::evidence::TailJump::Direct { target_symbol: name, dwarf_call_site: dwarf }, dynamic: None },
                ));
            }
            Some(Exit::IndirectJump) => {
                out.push(Finding::new_static(
                    FindingKind::TailCallExit,
                    format!(
                        "{} may exit here by an indirect jump (`{}`): a tail call through a register, or a jump table",
                        function.name,
                        insn.text()
                    ),
                    crate::report::evidence::TailCallEvidence { jump: crate::report::evidence::Hex(addr), target: None, how: crate::report::evidence::TailJump::Indirect { instruction: insn.text() }, dynamic: None },
                ));
            }
            _ => {}
        }
        out
    }
}

fn window_finding(cfg: &Cfg, w: &Window, i: usize) -> Finding {
    let open = &cfg.insns[w.open];
    let closes: Vec<crate::report::evidence::Hex> = w
        .closes
        .iter()
        .map(|&c| crate::report::evidence::Hex(cfg.insns[c].address))
        .collect();
    let role = if i == w.open {
        "opener"
    } else if w.closes.contains(&i) {
        "closer"
    } else {
        "inside"
    };
    let first = crate::report::evidence::Hex(cfg.insns[w.members[0]].address);
    let last = crate::report::evidence::Hex(
        cfg.insns[*w.members.last().expect("a window has members")].address,
    );
    match w.kind {
        WindowKind::LlSc => Finding::new_static(
            FindingKind::LlscReservationLoss,
            format!(
                "in the LL/SC window of `{}` at {:#x}: a trap here clears the reservation, so the store-conditional at {} fails on every attempt",
                open.text(),
                open.address,
                closes.iter().map(|c| hex(c.0)).collect::<Vec<_>>().join(", ")
            ),
            crate::report::evidence::LlscEvidence {
                load_linked: Some(crate::report::evidence::Hex(open.address)),
                store_conditional: closes,
                role: match role { "opener" => crate::report::evidence::WindowRole::LoadLinked, "closer" => crate::report::evidence::WindowRole::StoreConditional, _ => crate::report::evidence::WindowRole::Inside },
                window: Some(crate::report::evidence::LlscWindow {
                    window_instructions: w.members.len(),
                    window_first: first,
                    window_last: last,
                }),
                dynamic: None,
            },
        ),
        WindowKind::Transaction => {
            let fallback = open.target.map(crate::report::evidence::Hex);
            Finding::new_static(
                FindingKind::TmAbort,
                format!(
                    "in the transaction begun by `{}` at {:#x}: a trap here aborts it on every attempt",
                    open.text(),
                    open.address
                ),
                crate::report::evidence::TmEvidence {
                    begin: crate::report::evidence::Hex(open.address),
                    role: match role { "opener" => crate::report::evidence::WindowRole::Begin, "closer" => crate::report::evidence::WindowRole::End, _ => crate::report::evidence::WindowRole::Inside },
                    window: Some(crate::report::evidence::TmWindow {
                        end: closes,
                        fallback,
                        window_instructions: w.members.len(),
                    }),
                    dynamic: None,
                },
            )
        }
    }
}

/// The finding at every point of a function that the probe machinery's
/// call graph reaches.
fn machinery_finding(
    function: &Function,
    reach: &machinery::Reach,
    chain: &[machinery::Link],
) -> Finding {
    let path = chain
        .iter()
        .map(|l| l.function.as_str())
        .collect::<Vec<_>>()
        .join(" -> ");
    let evidence = crate::report::evidence::MachineryEvidence {
        phase: reach.phase.name().to_owned(),
        root: reach.root.0.clone(),
        root_source: reach.root.1.to_owned(),
        chain: chain
            .iter()
            .map(|l| crate::report::evidence::MachineryLink {
                symbol: l.function.clone(),
                site: l.site.map(crate::report::evidence::Hex),
                edge: l.edge.map(|e| e.name().to_owned()),
            })
            .collect(),
    };
    match reach.phase {
        machinery::Phase::Trap => Finding::new_static(
            FindingKind::NonProgressRecursion,
            format!(
                "the probe machinery runs {} while it handles a probe hit ({path}; {} from {}): a probe here fires before the kprobe core records the running probe or while it single-steps, so the kernel recurses without progress or stops with \"Unrecoverable kprobe detected\"",
                function.name, reach.root.0, reach.root.1
            ),
            evidence,
        ),
        machinery::Phase::Handler => Finding::new_static(
            FindingKind::MissedInHandler,
            format!(
                "{} runs inside probe handlers ({path}; {} from {}): a probe here that hits while another probe's handler runs is counted as missed and skipped, so its events are silently lost",
                function.name, reach.root.0, reach.root.1
            ),
            evidence,
        ),
    }
}
