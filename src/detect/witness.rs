//! Witnesses: the input of a trial that showed a finding, what it must show
//! again ([`Criterion`]), and shrinking it to a minimal input (`fuzz`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::outcome::progress;
use super::Detector;
use crate::arch::Arch;
use crate::emu::{self, Exit, Input, Outcome, ProbeMode};
use crate::report::evidence::{
    AbortAt, Evidence, Hex, LlscEvidence, RecursionEvidence, TailCallEvidence, TmEvidence,
    WindowDynamic, WitnessEvidence, WriteEvidence,
};
use crate::report::{hex, parse_address, Finding, FindingKind, Point};

/// A reproducible trial: what `--trace` re-runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The seed of the run.
    pub seed: u64,
    /// The case number.
    pub case: u64,
    /// Where execution started.
    pub start: u64,
    /// The generated input.
    pub input: Input,
}

/// The names of the argument registers, in calling-convention order.
fn arg_names(arch: Arch) -> Vec<&'static str> {
    let abi = emu::abi::abi(arch);
    abi.args
        .iter()
        .map(|r| {
            let i = abi.state.iter().position(|s| s == r).unwrap_or(0);
            abi.state_names[i]
        })
        .collect()
}

impl Witness {
    /// `{seed, case, start, registers}` as in a report's evidence.
    pub fn to_evidence(&self, arch: Arch) -> WitnessEvidence {
        let registers: BTreeMap<String, String> = arg_names(arch)
            .iter()
            .zip(&self.input.args)
            .map(|(name, v)| ((*name).to_owned(), hex(*v)))
            .collect();
        WitnessEvidence {
            seed: self.seed,
            case: self.case,
            start: Hex(self.start),
            registers: Some(registers),
            shrink_steps: None,
        }
    }

    /// The JSON form of [`Witness::to_evidence`].
    pub fn to_json(&self, arch: Arch) -> Value {
        Value::Object(self.to_evidence(arch).to_map())
    }

    /// Read a witness back from its evidence. The argument registers are
    /// taken from `registers` (a shrunk witness is not a generated case);
    /// an argument register missing there is regenerated from the seed and
    /// case, as is the whole input when `registers` is absent.
    pub fn from_evidence(w: &WitnessEvidence, arch: Arch) -> Option<Witness> {
        let generated = Input::generate(arch, w.seed, w.case);
        let input = match &w.registers {
            None => generated,
            Some(regs) => {
                let mut args = generated.args;
                for (i, name) in arg_names(arch).iter().enumerate() {
                    if let Some(v) = regs.get(*name) {
                        args[i] = parse_address(v)?;
                    }
                }
                Input::from_args(w.seed, w.case, args)
            }
        };
        Some(Witness {
            seed: w.seed,
            case: w.case,
            start: w.start.0,
            input,
        })
    }

    /// Read a witness back from its JSON form (see
    /// [`Witness::from_evidence`]).
    pub fn from_json(w: &Value, arch: Arch) -> Option<Witness> {
        let w: WitnessEvidence = serde_json::from_value(w.clone()).ok()?;
        Witness::from_evidence(&w, arch)
    }
}

impl WitnessEvidence {
    /// The witness of a finding: `dynamic.witness` of a window or a
    /// tail-call exit, `witness` of a recursion or a write.
    pub fn of_finding(finding: &Finding) -> Option<WitnessEvidence> {
        match finding.kind {
            FindingKind::LlscReservationLoss => LlscEvidence::of(finding)?.dynamic?.witness,
            FindingKind::TmAbort => TmEvidence::of(finding)?.dynamic?.witness,
            FindingKind::TailCallExit => {
                Some(TailCallEvidence::of(finding)?.dynamic?.left?.witness)
            }
            FindingKind::NonProgressRecursion => Some(RecursionEvidence::of(finding)?.witness),
            _ => WriteEvidence::of(finding)?.witness,
        }
    }
}

/// The witness object inside a finding's evidence (`dynamic.witness`, or
/// `witness` for a recursion), as JSON: what a witness file holds.
pub fn witness_of(finding: &Finding) -> Option<&Value> {
    finding.evidence.get("witness").or_else(|| {
        finding
            .evidence
            .get("dynamic")
            .and_then(|d| d.get("witness"))
    })
}

/// What a witness must show again for its finding to reproduce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// After a trap, one of these store-conditionals fails.
    StoreConditionalFails {
        /// The window's store-conditionals.
        closers: Vec<u64>,
    },
    /// The trap aborts the transaction begun here.
    TransactionAborts {
        /// The begin instruction.
        begin: u64,
    },
    /// The unprobed run reaches the point and leaves the function through
    /// it, to this target.
    LeavesTo {
        /// The jump's target.
        target: u64,
    },
    /// The probe handler reaches the probe point again.
    Reentry,
}

impl Criterion {
    /// The criterion of a finding that emulation can show, from its kind
    /// and evidence.
    pub fn of(finding: &Finding) -> Option<Criterion> {
        match finding.kind {
            FindingKind::LlscReservationLoss => Some(Criterion::StoreConditionalFails {
                closers: LlscEvidence::of(finding)?
                    .store_conditional
                    .iter()
                    .map(|h| h.0)
                    .collect(),
            }),
            FindingKind::TmAbort => Some(Criterion::TransactionAborts {
                begin: TmEvidence::of(finding)?.begin.0,
            }),
            FindingKind::TailCallExit => Some(Criterion::LeavesTo {
                target: TailCallEvidence::of(finding)?.target?.0,
            }),
            FindingKind::NonProgressRecursion => Some(Criterion::Reentry),
            _ => None,
        }
    }

    /// Whether a run shows it.
    pub fn holds(&self, out: &Outcome) -> bool {
        match self {
            Criterion::StoreConditionalFails { closers } => out
                .sc
                .iter()
                .any(|s| s.after_hits > 0 && !s.ok && closers.contains(&s.sc)),
            Criterion::TransactionAborts { begin } => {
                out.tx_aborts.iter().any(|a| a.by_trap && a.begin == *begin)
            }
            Criterion::LeavesTo { target } => {
                out.reached > 0 && out.left_via.is_some_and(|(_, t)| t == *target)
            }
            Criterion::Reentry => matches!(out.exit, Exit::Reentry { .. }),
        }
    }

    /// Whether the probe is armed (trap model) or only counted.
    pub(super) fn mode(&self) -> ProbeMode {
        match self {
            Criterion::LeavesTo { .. } => ProbeMode::Count,
            _ => ProbeMode::Trap,
        }
    }
}

impl Detector<'_> {
    /// Replace each dynamic finding's witness at `addr` with the smallest
    /// input the input source finds that still shows it, and make the
    /// evidence of that trial (hits, progress, attempts...) describe the
    /// shrunk witness. `drawn_at` is the point the inputs were drawn for.
    pub(super) fn shrink_witnesses(&mut self, point: &mut Point, addr: u64, drawn_at: u64) {
        let Some(source) = self.options.inputs.clone() else {
            return;
        };
        let arch = self.binary.arch;
        for finding in &mut point.findings {
            let Some(criterion) = Criterion::of(finding) else {
                continue;
            };
            let Some(witness) =
                WitnessEvidence::of_finding(finding).and_then(|w| Witness::from_evidence(&w, arch))
            else {
                continue;
            };
            let mut keep =
                |input: &Input| self.check(addr, &criterion, witness.start, input, false).0;
            let (input, tried) = source
                .shrink(arch, drawn_at, witness.case, &mut keep)
                .unwrap_or((witness.input.clone(), 0));
            let refreshed = if tried > 0 {
                let (holds, out) = self.check(addr, &criterion, witness.start, &input, false);
                holds.then_some(out)
            } else {
                None
            };
            let shrunk = Witness { input, ..witness };
            let mut json = shrunk.to_evidence(arch);
            json.shrink_steps = Some(tried);
            set_witness(finding, &criterion, refreshed.as_ref(), json);
        }
    }
}

/// Put the shrunk witness `w` into a finding's evidence, and make the
/// evidence of its trial describe `out`, the run of the shrunk witness
/// (when it was run again and still shows the finding): the fields the
/// evidence has are recomputed.
fn set_witness(
    finding: &mut Finding,
    criterion: &Criterion,
    out: Option<&Outcome>,
    w: WitnessEvidence,
) {
    let refresh = |dynamic: &mut WindowDynamic| {
        if let Some(out) = out {
            refresh_evidence(dynamic, criterion, out);
        }
        dynamic.witness = Some(w.clone());
    };
    match finding.kind {
        FindingKind::LlscReservationLoss => {
            if let Some(mut e) = LlscEvidence::of(finding) {
                if let Some(d) = &mut e.dynamic {
                    refresh(d);
                    finding.set_evidence(&e);
                }
            }
        }
        FindingKind::TmAbort => {
            if let Some(mut e) = TmEvidence::of(finding) {
                if let Some(d) = &mut e.dynamic {
                    refresh(d);
                    finding.set_evidence(&e);
                }
            }
        }
        FindingKind::TailCallExit => {
            if let Some(mut e) = TailCallEvidence::of(finding) {
                if let Some(left) = e.dynamic.as_mut().and_then(|d| d.left.as_mut()) {
                    left.witness = w;
                    finding.set_evidence(&e);
                }
            }
        }
        FindingKind::NonProgressRecursion => {
            if let Some(mut e) = RecursionEvidence::of(finding) {
                e.witness = w;
                finding.set_evidence(&e);
            }
        }
        _ => {}
    }
}

/// Make the evidence of a window finding's trial describe `out`, the run
/// of its (shrunk) witness: the fields it has are recomputed.
fn refresh_evidence(dynamic: &mut WindowDynamic, criterion: &Criterion, out: &Outcome) {
    let (progress, proof) = progress(&out.exit);
    match criterion {
        Criterion::StoreConditionalFails { closers } => {
            if let Some(sc) = &mut dynamic.store_conditional {
                let failed: Vec<&emu::ScResult> = out
                    .sc
                    .iter()
                    .filter(|s| s.after_hits > 0 && !s.ok && closers.contains(&s.sc))
                    .collect();
                if let Some(first) = failed.first() {
                    sc.store_conditional = Hex(first.sc);
                }
                sc.failed_attempts = failed.len();
                sc.succeeded_after_trap = super::window::succeeded_after_trap(out);
            }
        }
        Criterion::TransactionAborts { begin } => {
            if let Some(abort) = &mut dynamic.abort {
                if let Some(a) = out
                    .tx_aborts
                    .iter()
                    .find(|a| a.by_trap && a.begin == *begin)
                {
                    if abort.at.is_some() {
                        abort.at = Some(AbortAt::of(a));
                    }
                }
                abort.aborts = super::window::aborts_by_trap(out);
            }
        }
        Criterion::LeavesTo { .. } | Criterion::Reentry => return,
    }
    if dynamic.hits.is_some() {
        dynamic.hits = Some(out.hits);
    }
    if dynamic.progress.is_some() {
        dynamic.progress = Some(progress.to_owned());
    }
    if dynamic.proof.is_some() {
        dynamic.proof = Some(proof);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::evidence::{LlscWindow, TailJump, WindowRole};
    use crate::report::Confirmed;

    fn finding(kind: FindingKind, evidence: &impl serde::Serialize) -> Finding {
        Finding::new(kind, Confirmed::Static, "", evidence)
    }

    /// A finding's criterion comes from its typed evidence.
    #[test]
    fn criteria_read_the_evidence() {
        let llsc = LlscEvidence {
            load_linked: Some(Hex(0x10)),
            store_conditional: vec![Hex(0x18), Hex(0x20)],
            role: WindowRole::Inside,
            window: Some(LlscWindow {
                window_instructions: 4,
                window_first: Hex(0x10),
                window_last: Hex(0x20),
            }),
            dynamic: None,
        };
        assert_eq!(
            Criterion::of(&finding(FindingKind::LlscReservationLoss, &llsc)),
            Some(Criterion::StoreConditionalFails {
                closers: vec![0x18, 0x20]
            })
        );
        let tm = TmEvidence {
            begin: Hex(0x40),
            role: WindowRole::Discovered,
            window: None,
            dynamic: None,
        };
        assert_eq!(
            Criterion::of(&finding(FindingKind::TmAbort, &tm)),
            Some(Criterion::TransactionAborts { begin: 0x40 })
        );
        let mut tail = TailCallEvidence {
            jump: Hex(0x50),
            target: Some(Hex(0x900)),
            how: TailJump::Direct {
                target_symbol: None,
                dwarf_call_site: None,
            },
            dynamic: None,
        };
        assert_eq!(
            Criterion::of(&finding(FindingKind::TailCallExit, &tail)),
            Some(Criterion::LeavesTo { target: 0x900 })
        );
        tail.target = None;
        tail.how = TailJump::Indirect {
            instruction: "jmp rax".into(),
        };
        assert_eq!(
            Criterion::of(&finding(FindingKind::TailCallExit, &tail)),
            None
        );
        // The wrong evidence for the kind: no criterion.
        assert_eq!(
            Criterion::of(&finding(FindingKind::LlscReservationLoss, &tm)),
            None
        );
    }

    /// A witness reads back from its evidence; a register missing there is
    /// regenerated from the seed and case.
    #[test]
    fn witness_round_trip() {
        let arch = Arch::Aarch64;
        let w = Witness {
            seed: 7,
            case: 3,
            start: 0x1000,
            input: Input::from_args(7, 3, vec![1, 2, 3, 4, 5, 6, 7, 8]),
        };
        let e = w.to_evidence(arch);
        assert_eq!(Witness::from_evidence(&e, arch), Some(w.clone()));
        assert_eq!(Witness::from_json(&w.to_json(arch), arch), Some(w));
        let mut partial = e.clone();
        partial.registers.as_mut().unwrap().remove("x7");
        let back = Witness::from_evidence(&partial, arch).unwrap();
        assert_eq!(back.input.args[7], Input::generate(arch, 7, 3).args[7]);
        assert_eq!(back.input.args[0], 1);
    }
}
