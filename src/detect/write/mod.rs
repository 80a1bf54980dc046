//! The ineffective-write detector: does writing a variable at a point
//! change anything a caller can observe?
//!
//! For each generated input the function runs twice: unperturbed, and with
//! the variable's DWARF location(s) written at every hit of the point. The
//! observable effects (how the run ended, the return value, every byte
//! stored outside the region's own stack frames, and the stubbed calls with
//! the arguments their call sites pass) are compared. Nothing changed for
//! any input that reaches the point: `ineffective-write`. Several locations
//! at once, and writing one of them does not do what writing all does:
//! `partial-write`. No place to write (a computed value, a constant, an
//! entry value, optimised out): `unwritable-location`. Otherwise the write
//! is effective, with the input that shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use super::{Detector, Witness};
use crate::debuginfo::location::Place;
use crate::debuginfo::{DebugInfo, Location, Variable};
use crate::emu::write::WriteOp;
use crate::emu::{Exit, Input};
use crate::error::Error;
use crate::report::evidence::{Hex, LocationChanged, LocationText, WriteEvidence};
use crate::report::{hex, Confirmed, Finding, FindingKind, Point};

mod balance;
mod compare;
mod inputs;

pub use balance::{balance_findings, Counts};
use compare::changed;
pub use compare::compare_with_reference;

/// `--write VAR[=VALUE]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRequest {
    /// The variable or parameter.
    pub variable: String,
    /// The value; `None`: the value the location holds plus one.
    pub value: Option<u64>,
}

impl FromStr for WriteRequest {
    type Err = Error;

    fn from_str(s: &str) -> Result<WriteRequest, Error> {
        let bad = |reason: &str| Error::BadWrite {
            arg: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (s.trim(), None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(bad("expected VAR or VAR=VALUE with a C identifier"));
        }
        let value =
            match value {
                None => None,
                Some(v) => Some(parse_value(v).ok_or_else(|| {
                    bad("VALUE must be an integer (decimal, 0x hex, or negative)")
                })?),
            };
        Ok(WriteRequest {
            variable: name.to_owned(),
            value,
        })
    }
}

fn parse_value(v: &str) -> Option<u64> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    Some(if neg { n.wrapping_neg() } else { n })
}

/// What a caller can observe of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Effects {
    ended: String,
    ret: Option<u64>,
    stores: BTreeMap<u64, u8>,
    /// (call instruction, target, the arguments the call site passes)
    calls: Vec<(u64, Option<u64>, Vec<u64>)>,
}

/// Inputs drawn per wanted case at most, for the checks that compare two
/// runs: the rest ran into the budget.
const DRAW_FACTOR: u64 = 4;

/// Whether a run ended on its own (returned, faulted, ...), not cut by the
/// instruction budget, the hit limit or the time limit.
pub(crate) fn ended_on_its_own(exit: &Exit) -> bool {
    !matches!(exit, Exit::Budget | Exit::Timeout)
}

/// One input of a write check whose unperturbed run ended on its own.
struct Trial {
    case: u64,
    input: Input,
    effects: Effects,
    /// Hits of the point in the unperturbed run.
    hits: u64,
    /// Instructions the unperturbed run executed (approximately).
    executed: u64,
}

/// The inputs of a point's write checks.
struct Drawn {
    /// Inputs drawn in all, those cut by the budget included.
    drawn: u64,
    trials: Vec<Trial>,
}

/// One written location and what the write did.
struct Attempt {
    label: String,
    ops: Vec<WriteOp>,
}

impl Detector<'_> {
    /// Run the write checks for the variables `requests` names (every
    /// variable in scope with `all`), adding findings to `point`.
    pub fn check_writes(
        &mut self,
        point: &mut Point,
        addr: u64,
        debug: &DebugInfo,
        requests: &[WriteRequest],
        all: bool,
    ) {
        let vars = debug.variables_at(addr);
        let mut chosen: Vec<(Variable, Option<u64>)> = Vec::new();
        if all {
            chosen.extend(vars.iter().cloned().map(|v| (v, None)));
        }
        for r in requests {
            // The innermost scope's variable of that name.
            if let Some(v) = vars.iter().rev().find(|v| v.name == r.variable) {
                chosen.retain(|(c, _)| c.name != v.name);
                chosen.push((v.clone(), r.value));
            }
        }
        if chosen.is_empty() {
            return;
        }
        let drawn = self.draw_complete_inputs(addr, debug);
        for (var, value) in chosen {
            let finding = self.check_variable(addr, debug, &var, value, &drawn);
            point.findings.push(finding);
        }
        point.settle();
    }

    fn check_variable(
        &mut self,
        addr: u64,
        debug: &DebugInfo,
        var: &Variable,
        value: Option<u64>,
        drawn: &Drawn,
    ) -> Finding {
        let total = var.size.unwrap_or(8);
        let size = total.clamp(1, 8) as u8;
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut unwritable: Vec<&Location> = Vec::new();
        for loc in &var.locations {
            // Each piece of a composite location is a place of its own.
            if let Some(Place::Pieces(pieces)) = &loc.place {
                for (k, (piece, bytes)) in pieces.iter().enumerate() {
                    let ops = piece.as_ref().and_then(|p| {
                        let s = (*bytes).clamp(1, 8) as u8;
                        self.ops_for(p, var.frame_base, addr, (s, *bytes), value)
                    });
                    if let Some(ops) = ops.filter(|o| !o.is_empty()) {
                        attempts.push(Attempt {
                            label: format!("piece {k} of {}", loc.text),
                            ops,
                        });
                    }
                }
                continue;
            }
            match loc
                .place
                .as_ref()
                .and_then(|p| self.ops_for(p, var.frame_base, addr, (size, total), value))
            {
                Some(ops) if !ops.is_empty() => {
                    if !attempts.iter().any(|a| a.ops == ops) {
                        attempts.push(Attempt {
                            label: loc.text.clone(),
                            ops,
                        });
                    }
                }
                _ => unwritable.push(loc),
            }
        }
        let mut evidence = WriteEvidence {
            variable: var.name.clone(),
            scope: var.scope.clone(),
            locations: var
                .locations
                .iter()
                .map(|l| LocationText {
                    kind: kind_name(l),
                    text: l.text.clone(),
                })
                .collect(),
            value: value.map_or("the value there plus one".to_owned(), hex),
            ..WriteEvidence::default()
        };
        if attempts.is_empty() {
            let kinds: Vec<String> = unwritable
                .iter()
                .map(|l| format!("{} ({})", kind_name(l), l.text))
                .collect();
            return finding(
                FindingKind::UnwritableLocation,
                Confirmed::Static,
                format!(
                    "{} has no place to write at {addr:#x}: {}",
                    var.name,
                    kinds.join("; ")
                ),
                evidence,
            );
        }
        // Only inputs whose unperturbed run ended on its own are here; of
        // those that reach the point, only the ones whose written run ended
        // on its own too are compared: a run cut by the budget or the clock
        // stops at a place that says nothing about the write.
        let reached: Vec<usize> = (0..drawn.trials.len())
            .filter(|&i| drawn.trials[i].hits > 0)
            .collect();
        evidence.drawn = Some(drawn.drawn);
        evidence.trials = Some(drawn.trials.len());
        evidence.reached = Some(reached.len());
        if let Some(&i) = reached.first() {
            // How many arguments of each call are compared (DWARF call
            // sites say; 4 when they do not).
            let counts: Vec<usize> = drawn.trials[i]
                .effects
                .calls
                .iter()
                .map(|c| c.2.len())
                .collect();
            evidence.call_arguments = Some(counts);
        }
        if drawn.trials.is_empty() {
            return finding(
                FindingKind::EmulationLimit,
                Confirmed::Dynamic,
                format!(
                    "none of the {} inputs drawn ran {} to its end within the budget of {} instructions: the write of {} at {addr:#x} could not be judged",
                    drawn.drawn,
                    self.function.name,
                    self.options.budget,
                    var.name
                ),
                evidence,
            );
        }
        if reached.is_empty() {
            return finding(
                FindingKind::EmulationLimit,
                Confirmed::Dynamic,
                format!(
                    "no generated input reached {addr:#x} in {} trials: the write of {} could not be tested",
                    drawn.trials.len(),
                    var.name
                ),
                evidence,
            );
        }
        let all_ops: Vec<WriteOp> = attempts.iter().flat_map(|a| a.ops.clone()).collect();
        // Writing every location: the variable's value as the program sees it.
        let mut compared: Vec<usize> = Vec::new();
        let mut all_changes: Vec<Vec<String>> = Vec::new();
        let mut first_event = None;
        for &i in &reached {
            let out = self.run_written(addr, &drawn.trials[i], &all_ops);
            if first_event.is_none() {
                first_event = out.writes.first().cloned();
                // Calls made before the point cannot change; a reference
                // build's are compared from this one on.
                evidence.calls_before_point = Some(out.calls_before_hit.unwrap_or(0) as u64);
            }
            if !ended_on_its_own(&out.exit) {
                continue;
            }
            compared.push(i);
            all_changes.push(changed(
                self,
                &drawn.trials[i].effects,
                &self.effects(&out, debug),
            ));
        }
        if let Some(e) = &first_event {
            evidence.before = Some(Hex(e.before));
            evidence.written = Some(Hex(e.after));
            evidence.also_in = Some(e.also_in.iter().map(|r| (*r).to_owned()).collect());
        }
        evidence.written_locations = Some(attempts.iter().map(|a| a.label.clone()).collect());
        evidence.cut = Some(reached.len() - compared.len());
        // The cases compared, and what each changed: a reference build's
        // comparison takes the cases both builds compared.
        evidence.compared = Some(compared.iter().map(|&i| drawn.trials[i].case).collect());
        evidence.changes = Some(
            compared
                .iter()
                .zip(&all_changes)
                .filter(|(_, c)| !c.is_empty())
                .map(|(&i, c)| (drawn.trials[i].case.to_string(), c.clone()))
                .collect(),
        );
        if compared.is_empty() {
            return finding(
                FindingKind::EmulationLimit,
                Confirmed::Dynamic,
                format!(
                    "writing {} at {addr:#x}: every one of the {} runs that reach it with the write was cut by the budget of {} instructions, the hit limit or the time limit, so none ended on its own to compare with the unwritten run",
                    var.name,
                    reached.len(),
                    self.options.budget
                ),
                evidence,
            );
        }
        let union: BTreeSet<String> = all_changes.iter().flatten().cloned().collect();
        evidence.changed = Some(union);
        // Each location alone, when there are several (on the inputs
        // compared above, each run ending on its own).
        let mut partial = None;
        if attempts.len() > 1 {
            let mut each = Vec::new();
            let mut differs = false;
            for a in &attempts {
                let mut alone: BTreeSet<String> = BTreeSet::new();
                for (k, &i) in compared.iter().enumerate() {
                    let out = self.run_written(addr, &drawn.trials[i], &a.ops);
                    if !ended_on_its_own(&out.exit) {
                        continue;
                    }
                    let c = changed(self, &drawn.trials[i].effects, &self.effects(&out, debug));
                    if c != all_changes[k] {
                        differs = true;
                    }
                    alone.extend(c);
                }
                each.push(LocationChanged {
                    location: a.label.clone(),
                    changed: alone,
                });
            }
            if differs {
                partial = Some(each);
            }
        }
        if let Some(each) = partial {
            evidence.each = Some(each);
            return finding(
                FindingKind::PartialWrite,
                Confirmed::Dynamic,
                format!(
                    "{} is in {} places at {addr:#x}; writing one of them does not do what writing all does",
                    var.name,
                    attempts.len()
                ),
                evidence,
            );
        }
        match compared
            .iter()
            .zip(&all_changes)
            .find(|(_, c)| !c.is_empty())
        {
            Some((&i, c)) => {
                let trial = &drawn.trials[i];
                evidence.witness = Some(
                    Witness {
                        seed: self.options.seed,
                        case: trial.case,
                        start: self.function.address,
                        input: trial.input.clone(),
                    }
                    .to_evidence(self.binary.arch),
                );
                evidence.witness_changed = Some(c.clone());
                finding(
                    FindingKind::EffectiveWrite,
                    Confirmed::Dynamic,
                    format!(
                        "writing {} at {addr:#x} changes {} (case {})",
                        var.name,
                        c.join(", "),
                        trial.case
                    ),
                    evidence,
                )
            }
            None if compared.len() < reached.len() => {
                // Nothing changed in the runs that ended, but the written
                // run of other inputs was cut where the unwritten one ended:
                // the write may have changed the path (a loop that no longer
                // ends), or only the hit limit or the budget's accounting
                // differ. Not ineffective: undecided.
                let cut = reached.len() - compared.len();
                finding(
                    FindingKind::EmulationLimit,
                    Confirmed::Dynamic,
                    format!(
                        "writing {} at {addr:#x} changed nothing observable in the {} runs that ended on their own, but {cut} written run(s) that reach it were cut by the budget of {} instructions, the hit limit or the time limit where the unwritten run ended: not judged",
                        var.name,
                        compared.len(),
                        self.options.budget
                    ),
                    evidence,
                )
            }
            None => {
                let live = first_event
                    .as_ref()
                    .filter(|e| !e.also_in.is_empty())
                    .map(|e| format!("; the value also lives in {}", e.also_in.join(", ")))
                    .unwrap_or_default();
                finding(
                    FindingKind::IneffectiveWrite,
                    Confirmed::Dynamic,
                    format!(
                        "writing {} at {addr:#x} ({}) changed nothing observable for any of {} inputs that reach it and run to their end{live}",
                        var.name,
                        attempts.iter().map(|a| a.label.as_str()).collect::<Vec<_>>().join(", "),
                        compared.len()
                    ),
                    evidence,
                )
            }
        }
    }
}

fn kind_name(l: &Location) -> String {
    serde_json::to_value(l.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn finding(
    kind: FindingKind,
    confirmed: Confirmed,
    detail: String,
    evidence: impl serde::Serialize,
) -> Finding {
    Finding::new(kind, confirmed, detail, &evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cut_by_a_limit_did_not_end_on_their_own() {
        assert!(!ended_on_its_own(&Exit::Budget));
        assert!(!ended_on_its_own(&Exit::Timeout));
        assert!(ended_on_its_own(&Exit::Returned));
        assert!(ended_on_its_own(&Exit::Fault {
            pc: 0,
            reason: String::new()
        }));
    }
}
