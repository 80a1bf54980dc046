//! LL/SC windows and hardware transactions: the dynamic evidence of a
//! point in a static window, and the points outside every window that
//! `fuzz` traps to find a window the static map missed.

use super::outcome::{exit_name, progress};
use super::{Detector, Summary};
use crate::emu::run::TxEvent;
use crate::emu::{self, Exit, Input, Outcome, ProbeMode, Trial};
use crate::facts::{Window, WindowKind};
use crate::report::evidence::{
    AbortAt, Evidence, Hex, LlscEvidence, Outcome as Decided, ScFailure, TmEvidence, TrapAbort,
    WindowDynamic, WindowRole,
};
use crate::report::{Confirmed, Finding, FindingKind, Point};

/// Probe hits per trapped trial at a point outside every static window.
const DISCOVERY_HITS: u32 = 8;

/// How often a store-conditional still stored after a trap in `out`.
pub(super) fn succeeded_after_trap(out: &Outcome) -> usize {
    out.sc.iter().filter(|s| s.after_hits > 0 && s.ok).count()
}

/// How many transaction aborts of `out` a trap caused.
pub(super) fn aborts_by_trap(out: &Outcome) -> usize {
    out.tx_aborts.iter().filter(|a| a.by_trap).count()
}

impl ScFailure {
    /// The store-conditional `sc` failed `failed` times after a trap in
    /// `out`.
    fn new(out: &Outcome, sc: u64, failed: usize) -> ScFailure {
        ScFailure {
            store_conditional: Hex(sc),
            failed_attempts: failed,
            succeeded_after_trap: succeeded_after_trap(out),
        }
    }
}

impl AbortAt {
    /// Where and how the trap aborted the transaction.
    pub(super) fn of(a: &TxEvent) -> AbortAt {
        AbortAt {
            abort_at: Hex(a.at),
            status: Hex(a.status),
            handler_ran: a.handler_ran,
            resumed_at: Hex(a.resumed_at),
        }
    }
}

impl TrapAbort {
    /// The trap's abort `a` in `out`.
    fn new(out: &Outcome, a: &TxEvent) -> TrapAbort {
        TrapAbort {
            at: Some(AbortAt::of(a)),
            aborts: aborts_by_trap(out),
        }
    }
}

/// The opener (load-linked or begin) of a static LL/SC or transaction
/// finding.
fn opener_of(f: &Finding) -> Option<u64> {
    match f.kind {
        FindingKind::LlscReservationLoss => LlscEvidence::of(f)?.load_linked.map(|h| h.0),
        FindingKind::TmAbort => Some(TmEvidence::of(f)?.begin.0),
        _ => None,
    }
}

impl Detector<'_> {
    /// Add what the trials showed to the static finding of window `w` at
    /// the point.
    pub(super) fn window_evidence(
        &self,
        point: &mut Point,
        w: &Window,
        start: u64,
        trapped: &[(u64, &Input, Outcome)],
        summary: &Summary<'_>,
    ) {
        let kind = match w.kind {
            WindowKind::LlSc => FindingKind::LlscReservationLoss,
            WindowKind::Transaction => FindingKind::TmAbort,
        };
        let open = self.facts.cfg.insns[w.open].address;
        let Some(finding) = point
            .findings
            .iter_mut()
            .find(|f| f.kind == kind && opener_of(f) == Some(open))
        else {
            return;
        };
        let closers: Vec<u64> = w
            .closes
            .iter()
            .map(|&c| self.facts.cfg.insns[c].address)
            .collect();
        let mut dynamic = WindowDynamic {
            trials: Some(summary.trials),
            reached: Some(summary.reached),
            start: Some(summary.start_note.to_owned()),
            ..WindowDynamic::default()
        };
        let confirming = trapped.iter().find_map(|(case, input, out)| {
            match w.kind {
                WindowKind::LlSc => {
                    let failed = out
                        .sc
                        .iter()
                        .filter(|s| s.after_hits > 0 && !s.ok && closers.contains(&s.sc))
                        .count();
                    (failed > 0).then(|| {
                        let sc = out
                            .sc
                            .iter()
                            .find(|s| s.after_hits > 0 && !s.ok)
                            .map(|s| s.sc)
                            .unwrap_or(0);
                        dynamic.store_conditional = Some(ScFailure::new(out, sc, failed));
                    })
                }
                WindowKind::Transaction => out
                    .tx_aborts
                    .iter()
                    .find(|a| a.by_trap && a.begin == open)
                    .map(|a| dynamic.abort = Some(TrapAbort::new(out, a))),
            }?;
            Some((case, input, out))
        });
        match confirming {
            Some((case, input, out)) => {
                let (progress, proof) = progress(&out.exit);
                dynamic.outcome = Decided::Confirmed;
                dynamic.progress = Some(progress.to_owned());
                dynamic.proof = Some(proof.clone());
                dynamic.hits = Some(out.hits);
                dynamic.witness = Some(self.witness(*case, start, input));
                finding.confirmed = Confirmed::Dynamic;
                finding.detail = match (w.kind, progress) {
                    (WindowKind::LlSc, "none") => format!("{}; emulation confirms it: the loop never progresses ({proof}).", finding.detail),
                    (WindowKind::LlSc, _) => format!("{}; emulation confirms it: the store-conditional failed after the trap and the code fell back.", finding.detail),
                    (WindowKind::Transaction, "none") => format!("{}; emulation confirms it: the transaction aborted at every attempt ({proof}).", finding.detail),
                    (WindowKind::Transaction, _) => format!("{}; emulation confirms it: the transaction aborted and the fallback path ran.", finding.detail),
                };
            }
            None if summary.reached == 0 => {
                dynamic.outcome = Decided::Unreached;
                finding.detail = format!(
                    "{} (Not confirmed: no generated input reached it.)",
                    finding.detail
                );
            }
            None => {
                // Refuted only if the sequence completed after a trap:
                // the store-conditional stored, or the transaction committed.
                let completed = trapped.iter().any(|(_, _, o)| match w.kind {
                    WindowKind::LlSc => {
                        o.sc.iter()
                            .any(|s| s.after_hits > 0 && s.ok && closers.contains(&s.sc))
                    }
                    WindowKind::Transaction => {
                        o.hits > 0 && o.tx_commits > 0 && o.tx_aborts.iter().all(|a| !a.by_trap)
                    }
                });
                let exits: Vec<String> = trapped
                    .iter()
                    .map(|(_, _, o)| exit_name(self.binary, &o.exit))
                    .collect();
                dynamic.exits = Some(exits);
                if completed {
                    dynamic.outcome = Decided::Refuted;
                    finding.detail = format!(
                        "{} (Emulation did not confirm it: after a trap here the sequence still completed.)",
                        finding.detail
                    );
                } else {
                    dynamic.outcome = Decided::Inconclusive;
                    finding.detail = format!(
                        "{} (Not confirmed: in {} trials that reached it, no store-conditional or transaction end followed the trap.)",
                        finding.detail, summary.reached
                    );
                }
            }
        }
        match kind {
            FindingKind::LlscReservationLoss => {
                if let Some(mut e) = LlscEvidence::of(finding) {
                    e.dynamic = Some(dynamic);
                    finding.set_evidence(&e);
                }
            }
            _ => {
                if let Some(mut e) = TmEvidence::of(finding) {
                    e.dynamic = Some(dynamic);
                    finding.set_evidence(&e);
                }
            }
        }
    }

    /// A point outside every static window: does a trap there still make a
    /// store-conditional fail, or abort a transaction? (A window the static
    /// map did not see: split across functions, behind an indirect jump.)
    pub(super) fn discover(
        &self,
        point: &mut Point,
        addr: u64,
        start: u64,
        trapped: &[(u64, &Input, Outcome)],
    ) {
        for (case, input, out) in trapped {
            let failed: Vec<&emu::ScResult> = out
                .sc
                .iter()
                .filter(|s| s.after_hits > 0 && !s.ok)
                .collect();
            let by_trap = aborts_by_trap(out);
            let f = if let Some(first) = failed.first() {
                let (progress, proof) = progress(&out.exit);
                let attempts = failed.iter().filter(|s| s.sc == first.sc).count();
                Finding::new(
                    FindingKind::LlscReservationLoss,
                    Confirmed::Dynamic,
                    format!(
                        "found by emulation, not by the static map: after a trap at {addr:#x} the store-conditional at {:#x} failed {} time(s) ({})",
                        first.sc,
                        attempts,
                        out.exit.describe()
                    ),
                    &LlscEvidence {
                        load_linked: None,
                        store_conditional: vec![Hex(first.sc)],
                        role: WindowRole::Discovered,
                        window: None,
                        dynamic: Some(WindowDynamic {
                            outcome: Decided::Confirmed,
                            store_conditional: Some(ScFailure::new(out, first.sc, attempts)),
                            progress: Some(progress.to_owned()),
                            proof: Some(proof),
                            hits: Some(out.hits),
                            witness: Some(self.witness(*case, start, input)),
                            ..WindowDynamic::default()
                        }),
                    },
                )
            } else if by_trap > 0 {
                let a = out.tx_aborts.iter().find(|a| a.by_trap).expect("counted");
                Finding::new(
                    FindingKind::TmAbort,
                    Confirmed::Dynamic,
                    format!(
                        "found by emulation, not by the static map: a trap at {addr:#x} aborted the transaction begun at {:#x}",
                        a.begin
                    ),
                    &TmEvidence {
                        begin: Hex(a.begin),
                        role: WindowRole::Discovered,
                        window: None,
                        dynamic: Some(WindowDynamic {
                            outcome: Decided::Confirmed,
                            abort: Some(TrapAbort::new(out, a)),
                            hits: Some(out.hits),
                            witness: Some(self.witness(*case, start, input)),
                            ..WindowDynamic::default()
                        }),
                    },
                )
            } else {
                continue;
            };
            point.findings.push(f);
            return;
        }
    }

    /// Points outside every static window (see [`Self::outside_windows`]):
    /// does a trap at one of them still make a store-conditional fail or a
    /// transaction abort? A trap that does harm there shows at its first
    /// hits, so each point traps at most 8 times (`DISCOVERY_HITS`); and no
    /// unprobed run is needed to know whether an input reaches it.
    ///
    /// The points share the function's inputs, and each input first runs
    /// once as a group trial ([`Trial::group`]): on the unprobed path, with
    /// a trap followed at each point's first hits. A trap changes nothing
    /// but the reservation and the transaction state, so when the group
    /// trial meets no place where one of those traps would break a
    /// sequence, each point's one-point trial would have followed the same
    /// path and can show no harm. One-point trials run only where it cannot
    /// stand for them: such a place was met (each point's own trial then
    /// says which), a store-conditional failed anyway, or the time limit
    /// passed.
    pub fn confirm_outside_windows(&mut self, points: &mut [&mut Point]) {
        let addrs: Vec<u64> = points.iter().map(|p| p.address_value()).collect();
        let arch = self.binary.arch;
        let start = self.function.address;
        self.emu.set_hit_limit(DISCOVERY_HITS);
        let mut trapped: Vec<Vec<(u64, Input, Outcome)>> = vec![Vec::new(); addrs.len()];
        for case in 0..self.options.cases {
            if emu::interrupted() {
                break;
            }
            let input = match &self.options.inputs {
                Some(source) => source.input(arch, start, case),
                None => Input::generate(arch, self.options.seed, case),
            };
            if self.options.group_trials && self.group_trial(&addrs, &input) {
                continue;
            }
            for (i, &addr) in addrs.iter().enumerate() {
                let out = self
                    .emu
                    .run(&self.trial(start, addr, ProbeMode::Trap, &input, false));
                if out.hits > 0 {
                    trapped[i].push((case, input.clone(), out));
                }
            }
        }
        self.emu.set_hit_limit(emu::run::MAX_HITS);
        for ((point, addr), trapped) in points.iter_mut().zip(&addrs).zip(&trapped) {
            let trapped: Vec<(u64, &Input, Outcome)> = trapped
                .iter()
                .map(|(case, input, out)| (*case, input, out.clone()))
                .collect();
            self.discover(point, *addr, start, &trapped);
            self.shrink_witnesses(point, *addr, start);
            point.settle();
        }
    }

    /// Run `input` once with every point of `addrs` trapping; whether that
    /// run stands for each point's own trial with the same input.
    fn group_trial(&mut self, addrs: &[u64], input: &Input) -> bool {
        let start = self.function.address;
        let trial = Trial {
            probe: None,
            group: addrs,
            ..self.trial(start, start, ProbeMode::Trap, input, false)
        };
        let g = self.emu.run(&trial);
        // It followed the unprobed path to its end, a fault, or the budget
        // (which it charged as the unprobed run would, and a one-point
        // trial no less): no harm on the way is no harm in any point's
        // own trial. A store-conditional that failed anyway, or a time
        // limit, leaves it to them.
        g.harm.is_none()
            && !g.sc.iter().any(|s| s.after_hits > 0 && !s.ok)
            && !g.tx_aborts.iter().any(|a| a.by_trap)
            && matches!(g.exit, Exit::Returned | Exit::Fault { .. } | Exit::Budget)
    }
}
