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

use serde_json::{json, Map, Value};

use super::{Detector, Witness};
use crate::debuginfo::location::{Address, FrameBase, Place};
use crate::debuginfo::{DebugInfo, Location, Variable};
use crate::emu::write::{Target, WriteOp};
use crate::emu::{Exit, Input, Outcome, ProbeMode};
use crate::error::Error;
use crate::report::{hex, Confirmed, Finding, FindingKind, Point};

/// Entries and returns of one input's run (`None`: it did not return).
pub type Counts = Option<(u64, u64)>;

/// The fewest inputs an entry/return balance tries.
const BALANCE_CASES: u64 = 32;

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
        let locations: Vec<Value> = var
            .locations
            .iter()
            .map(|l| json!({ "kind": l.kind, "text": l.text }))
            .collect();
        let mut evidence = Map::new();
        evidence.insert("variable".into(), json!(var.name));
        evidence.insert("scope".into(), json!(var.scope));
        evidence.insert("locations".into(), json!(locations));
        evidence.insert(
            "value".into(),
            json!(value.map_or("the value there plus one".to_owned(), hex)),
        );
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
        evidence.insert("drawn".into(), json!(drawn.drawn));
        evidence.insert("trials".into(), json!(drawn.trials.len()));
        evidence.insert("reached".into(), json!(reached.len()));
        if let Some(&i) = reached.first() {
            // How many arguments of each call are compared (DWARF call
            // sites say; 4 when they do not).
            let counts: Vec<usize> = drawn.trials[i]
                .effects
                .calls
                .iter()
                .map(|c| c.2.len())
                .collect();
            evidence.insert("call_arguments".into(), json!(counts));
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
                evidence.insert(
                    "calls_before_point".into(),
                    json!(out.calls_before_hit.unwrap_or(0)),
                );
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
            evidence.insert("before".into(), json!(hex(e.before)));
            evidence.insert("written".into(), json!(hex(e.after)));
            evidence.insert("also_in".into(), json!(e.also_in));
        }
        evidence.insert(
            "written_locations".into(),
            json!(attempts.iter().map(|a| a.label.clone()).collect::<Vec<_>>()),
        );
        evidence.insert("cut".into(), json!(reached.len() - compared.len()));
        // The cases compared, and what each changed: a reference build's
        // comparison takes the cases both builds compared.
        evidence.insert(
            "compared".into(),
            json!(compared
                .iter()
                .map(|&i| drawn.trials[i].case)
                .collect::<Vec<_>>()),
        );
        let per_case: Map<String, Value> = compared
            .iter()
            .zip(&all_changes)
            .filter(|(_, c)| !c.is_empty())
            .map(|(&i, c)| (drawn.trials[i].case.to_string(), json!(c)))
            .collect();
        evidence.insert("changes".into(), Value::Object(per_case));
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
        evidence.insert("changed".into(), json!(union));
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
                each.push(json!({ "location": a.label, "changed": alone }));
            }
            if differs {
                partial = Some(each);
            }
        }
        if let Some(each) = partial {
            evidence.insert("each".into(), json!(each));
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
                evidence.insert(
                    "witness".into(),
                    Witness {
                        seed: self.options.seed,
                        case: trial.case,
                        start: self.function.address,
                        input: trial.input.clone(),
                    }
                    .to_json(self.binary.arch),
                );
                evidence.insert("witness_changed".into(), json!(c));
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

    /// The inputs of a point's write checks with their unperturbed runs:
    /// bounded inputs ([`Input::generate_bounded`]) drawn until `--cases`
    /// of them reached the point and returned, at most four times as many. An input whose run the budget or
    /// the clock cut is dropped: what a write changes is told only by two
    /// complete runs.
    fn draw_complete_inputs(&mut self, addr: u64, debug: &DebugInfo) -> Drawn {
        let arch = self.binary.arch;
        let cases = self.options.cases.max(1);
        let mut drawn = Drawn {
            drawn: 0,
            trials: Vec::new(),
        };
        let mut reaching = 0;
        for case in 0..cases.saturating_mul(DRAW_FACTOR) {
            if reaching >= cases {
                break;
            }
            drawn.drawn += 1;
            if self.write_cut.contains(&case) {
                continue;
            }
            let input = Input::generate_bounded(arch, self.options.seed, case);
            let out = self.run_write(self.function.address, addr, ProbeMode::Count, &input, &[]);
            if out.exit == Exit::Budget {
                self.write_cut.insert(case);
            }
            if ended_on_its_own(&out.exit) {
                // A run that faults (a small number used as a pointer) is
                // compared too, but tells less: it does not count.
                reaching += u64::from(out.reached > 0 && out.exit == Exit::Returned);
                let effects = self.effects(&out, debug);
                drawn.trials.push(Trial {
                    case,
                    input,
                    effects,
                    hits: out.reached,
                    executed: out.executed,
                });
            }
        }
        drawn
    }

    /// The writes that reach `place` at `addr`.
    fn ops_for(
        &self,
        place: &Place,
        frame_base: Option<FrameBase>,
        addr: u64,
        (size, total): (u8, u64),
        value: Option<u64>,
    ) -> Option<Vec<WriteOp>> {
        let arch = self.binary.arch;
        let op = |target| WriteOp { target, value };
        Some(match place {
            Place::Register(n) => {
                crate::emu::abi::dwarf_reg(arch, *n)?;
                vec![op(Target::Register(*n))]
            }
            Place::Memory(a) => {
                // A variable wider than a word (a struct in memory): each
                // word of it; an explicit VALUE goes to the first.
                let words = total.div_ceil(8).clamp(1, 8);
                let mut out = Vec::new();
                for k in 0..words {
                    let a = match *a {
                        Address::Register(r, o) => Address::Register(r, o + 8 * k as i64),
                        Address::FrameBase(o) => Address::FrameBase(o + 8 * k as i64),
                        Address::Absolute(x) => Address::Absolute(x + 8 * k),
                    };
                    let s = if words == 1 { size } else { 8 };
                    let t = self.memory_target(a, frame_base, addr, s)?;
                    out.push(WriteOp {
                        target: t,
                        value: if k == 0 { value } else { None },
                    });
                }
                out
            }
            Place::Pieces(pieces) => {
                let mut out = Vec::new();
                let mut offset = 0i64;
                for (p, bytes) in pieces {
                    let piece_size = (*bytes).clamp(1, 8) as u8;
                    match p {
                        Some(Place::Register(n))
                            if crate::emu::abi::dwarf_reg(arch, *n).is_some() =>
                        {
                            out.push(op(Target::Register(*n)))
                        }
                        Some(Place::Memory(a)) => {
                            if let Some(t) = self.memory_target(*a, frame_base, addr, piece_size) {
                                out.push(op(t));
                            }
                        }
                        _ => {}
                    }
                    offset += *bytes as i64;
                }
                let _ = offset;
                out
            }
        })
    }

    fn memory_target(
        &self,
        address: Address,
        frame_base: Option<FrameBase>,
        addr: u64,
        size: u8,
    ) -> Option<Target> {
        Some(match address {
            Address::Register(base, offset) => Target::RegisterMemory { base, offset, size },
            Address::Absolute(address) => Target::Memory { address, size },
            Address::FrameBase(offset) => match frame_base? {
                FrameBase::Register(base, o) => Target::RegisterMemory {
                    base,
                    offset: o.wrapping_add(offset),
                    size,
                },
                FrameBase::Cfa => {
                    let (base, o) = crate::load::cfa_rule(self.binary, addr)?;
                    Target::RegisterMemory {
                        base,
                        offset: o.wrapping_add(offset),
                        size,
                    }
                }
            },
        })
    }

    /// The written run of one input. It may hit the point at most four
    /// times as often as the unwritten run did (plus 16), and execute at
    /// most eight times its instructions (plus 10,000, within `--budget`):
    /// a write that keeps a loop going is cut there (and not compared), as
    /// the budget would cut it later, without running on until then.
    fn run_written(&mut self, addr: u64, trial: &Trial, ops: &[WriteOp]) -> Outcome {
        let limit = trial
            .hits
            .saturating_mul(4)
            .saturating_add(16)
            .min(u64::from(crate::emu::run::MAX_HITS));
        let budget = trial
            .executed
            .saturating_mul(8)
            .saturating_add(10_000)
            .min(self.options.budget);
        self.emu.set_hit_limit(limit as u32);
        let out = self.run_write_within(
            self.function.address,
            addr,
            ProbeMode::Write,
            &trial.input,
            ops,
            budget,
        );
        self.emu.set_hit_limit(crate::emu::run::MAX_HITS);
        out
    }

    fn run_write(
        &mut self,
        start: u64,
        addr: u64,
        mode: ProbeMode,
        input: &Input,
        writes: &[WriteOp],
    ) -> Outcome {
        let budget = self.options.budget;
        self.run_write_within(start, addr, mode, input, writes, budget)
    }

    fn run_write_within(
        &mut self,
        start: u64,
        addr: u64,
        mode: ProbeMode,
        input: &Input,
        writes: &[WriteOp],
        budget: u64,
    ) -> Outcome {
        let trial = crate::emu::Trial {
            start,
            toc: self.toc(),
            probe: Some(addr),
            mode,
            budget,
            timeout: self.options.timeout,
            writes,
            observe: true,
            ..crate::emu::Trial::new(self.function.address, input)
        };
        self.emu.run(&trial)
    }

    /// The observable effects of a run: calls keep only the arguments their
    /// call site passes when DWARF says how many.
    pub(crate) fn effects(&self, out: &Outcome, debug: &DebugInfo) -> Effects {
        let calls = out
            .calls
            .iter()
            .map(|c| {
                let next = self
                    .facts
                    .cfg
                    .index_of(c.at)
                    .map(|i| self.facts.cfg.insns[i].next());
                // POWER's DW_AT_call_return_pc is after the TOC restore.
                let arity = next
                    .and_then(|n| {
                        debug.call_arity(n).or_else(|| {
                            self.binary
                                .arch
                                .is_ppc()
                                .then(|| debug.call_arity(n + 4))
                                .flatten()
                        })
                    })
                    .unwrap_or(4)
                    .min(4);
                (c.at, c.target, c.args[..arity].to_vec())
            })
            .collect();
        Effects {
            ended: out.exit.describe(),
            ret: out.return_value,
            stores: out.stores.iter().copied().collect(),
            calls,
        }
    }
}

impl Detector<'_> {
    /// Entry/return balance: for each generated input, how often the
    /// function's entry and its return instructions execute in one call
    /// from outside, with its calls to itself run for real. `None` for an
    /// input whose run did not return (the budget cut a deep recursion).
    pub fn balance(&mut self) -> Vec<Counts> {
        // ELFv2: calls within the module, recursive ones included, enter
        // at the local entry; that is where a .call probe goes.
        let start = self.function.address;
        let entry = self.function.entry;
        self.emu.follow_calls_to(start);
        self.emu.follow_calls_to(entry);
        let returns: Vec<u64> = self
            .facts
            .cfg
            .insns
            .iter()
            .filter(|i| matches!(i.class, crate::arch::Class::Return { .. }))
            .map(|i| i.address)
            .collect();
        let arch = self.binary.arch;
        // Recursion deep enough to exhaust the budget tells nothing: at
        // least 32 inputs, bounded so that most of them end.
        (0..self.options.cases.max(BALANCE_CASES))
            .map(|case| {
                let input = Input::generate_bounded(arch, self.options.seed, case);
                let mut complete = true;
                let mut count = |emu: &mut Self, probe: u64| {
                    let out = emu.run_write(start, probe, ProbeMode::Count, &input, &[]);
                    complete &= out.exit == Exit::Returned;
                    out.reached
                };
                let entries = count(self, entry);
                let exits = returns.iter().map(|&r| count(self, r)).sum();
                complete.then_some((entries, exits))
            })
            .collect()
    }
}

/// The findings of the entry/return balance for a `.call` point, from this
/// build's balance and, with `--reference`, the reference build's (same
/// inputs): `entry-return-imbalance` when the counts do not balance or
/// differ from the reference's, `emulation-limit` when no input returned
/// (or, against the reference, none returned in both builds), since a run
/// cut by the budget has counted only part of its entries and returns.
/// Empty when everything balances and agrees.
pub fn balance_findings(
    name: &str,
    here: &[Counts],
    reference: Option<(&str, &[Counts])>,
) -> Vec<Finding> {
    let listed = |v: &[Counts]| -> Vec<Value> {
        v.iter()
            .enumerate()
            .filter_map(|(case, x)| {
                x.map(|(e, r)| json!({ "case": case, "entries": e, "returns": r }))
            })
            .collect()
    };
    let per_input = listed(here);
    let mut evidence = Map::new();
    evidence.insert("function".into(), json!(name));
    evidence.insert("inputs".into(), json!(per_input));
    let mut out = Vec::new();
    if here.iter().all(Option::is_none) {
        out.push(finding(
            FindingKind::EmulationLimit,
            Confirmed::Dynamic,
            format!(
                "none of the {} inputs let {name} return within the budget: its entries and returns could not be counted",
                here.len()
            ),
            evidence,
        ));
        return out;
    }
    let unbalanced = here.iter().position(|x| x.is_some_and(|(e, r)| e != r));
    let mut details = Vec::new();
    if let Some(case) = unbalanced {
        let (e, r) = here[case].unwrap_or_default();
        details.push(format!(
            "{e} entries but {r} returns for input {case}: exits that are not returns (a tail call) or entries that are not calls (a jump back to the entry)"
        ));
    }
    if let Some((path, there)) = reference {
        let ref_inputs = listed(there);
        evidence.insert(
            "reference".into(),
            json!({ "binary": path, "inputs": ref_inputs }),
        );
        // Only inputs that returned in both builds are compared.
        let both = here
            .iter()
            .zip(there)
            .filter(|(a, b)| a.is_some() && b.is_some())
            .count();
        let differs = here
            .iter()
            .zip(there)
            .enumerate()
            .find_map(|(case, (a, b))| match (a, b) {
                (Some(a), Some(b)) if a.0 != b.0 && a.0 > 0 && b.0 > 0 => Some((case, a.0, b.0)),
                _ => None,
            });
        if let Some((case, a, b)) = differs {
            details.push(format!(
                "{name} enters {a} time(s) for input {case} where the reference build enters {b} time(s): its recursion was turned into a loop (or the reverse), so a .call probe does not see the source's calls"
            ));
        } else if both == 0 {
            out.push(finding(
                FindingKind::EmulationLimit,
                Confirmed::Dynamic,
                format!(
                    "no input of {} let {name} return within the budget in both builds: its entry counts could not be compared with the reference build's",
                    here.len()
                ),
                evidence.clone(),
            ));
        }
    }
    if !details.is_empty() {
        out.push(finding(
            FindingKind::EntryReturnImbalance,
            Confirmed::Dynamic,
            details.join("; "),
            evidence,
        ));
    }
    out
}

/// What differs between two runs' effects, named so that two builds of the
/// same source compare: `return value`, `call 1 argument 0`, `memory
/// SYMBOL+0x8` or `memory 0x...` (8-byte granules).
fn changed(d: &Detector<'_>, a: &Effects, b: &Effects) -> Vec<String> {
    let mut out = Vec::new();
    if a.ended != b.ended {
        out.push(format!("how the run ended ({} -> {})", a.ended, b.ended));
    }
    if a.ret != b.ret {
        out.push("return value".to_owned());
    }
    if a.calls.len() != b.calls.len() {
        out.push(format!(
            "calls made ({} -> {})",
            a.calls.len(),
            b.calls.len()
        ));
    }
    for (k, (x, y)) in a.calls.iter().zip(&b.calls).enumerate() {
        if x.1 != y.1 {
            out.push(format!("call {k} target"));
        }
        for (i, (p, q)) in x.2.iter().zip(&y.2).enumerate() {
            if p != q {
                out.push(format!("call {k} argument {i}"));
            }
        }
    }
    let mut granules = BTreeSet::new();
    for (addr, v) in &a.stores {
        if b.stores.get(addr) != Some(v) {
            granules.insert(addr & !7);
        }
    }
    for (addr, v) in &b.stores {
        if a.stores.get(addr) != Some(v) {
            granules.insert(addr & !7);
        }
    }
    for g in granules {
        let name = d
            .binary
            .symbols
            .iter()
            .find(|s| s.size > 0 && g >= s.address && g - s.address < s.size && !s.undefined)
            .map(|s| format!("{}+{:#x}", s.name, g - s.address))
            .unwrap_or_else(|| hex(g));
        out.push(format!("memory {name}"));
    }
    out
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
    evidence: Map<String, Value>,
) -> Finding {
    Finding {
        kind,
        confirmed,
        detail,
        evidence,
    }
}

/// Compare the write findings at `point` with those at the reference
/// build's points for the same source line (`line`): the union of what
/// each variable's write changed there against what it changed here.
pub fn compare_with_reference(point: &mut Point, reference: &[Point], path: &str, line: &str) {
    let writes = [
        FindingKind::EffectiveWrite,
        FindingKind::IneffectiveWrite,
        FindingKind::PartialWrite,
    ];
    let changed_of = |f: &Finding| -> BTreeSet<String> {
        f.evidence
            .get("changed")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The cases a finding compared, and what the write changed in one.
    let compared_of = |f: &Finding| -> Option<BTreeSet<u64>> {
        f.evidence
            .get("compared")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
    };
    let changes_of = |f: &Finding, case: u64| -> Vec<String> {
        f.evidence
            .get("changes")
            .and_then(|c| c.get(case.to_string()))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    // "call K ..." for a call made before the point here: not comparable.
    let past = |channel: &str, before: u64| {
        channel
            .strip_prefix("call ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|k| k.parse::<u64>().ok())
            .is_some_and(|k| k < before)
    };
    let mut added = Vec::new();
    for f in point
        .findings
        .iter_mut()
        .filter(|f| writes.contains(&f.kind))
    {
        let Some(var) = f
            .evidence
            .get("variable")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let before = f
            .evidence
            .get("calls_before_point")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let arity: Vec<u64> = f
            .evidence
            .get("call_arguments")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        // "call K argument I" beyond the arguments this build's call site
        // passes: a leftover register in the reference (an -O0 build has no
        // call-site information to say so itself).
        let beyond = |channel: &str| {
            let mut words = channel.split(' ');
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("call"), Some(k), Some("argument"), Some(i)) => {
                    match (k.parse::<usize>(), i.parse::<u64>()) {
                        (Ok(k), Ok(i)) => arity.get(k).is_some_and(|&n| i >= n),
                        _ => false,
                    }
                }
                _ => false,
            }
        };
        // Only the inputs whose runs ended on their own in both builds are
        // compared: what each build's write changed for those.
        let mut here = BTreeSet::new();
        let mut there = BTreeSet::new();
        let mut ref_points = Vec::new();
        let mut common = 0usize;
        let mut undecided = Vec::new();
        for p in reference {
            for g in &p.findings {
                if g.evidence.get("variable").and_then(Value::as_str) != Some(var.as_str()) {
                    continue;
                }
                if g.kind == FindingKind::EmulationLimit {
                    undecided.push(format!("{}: {}", p.address, g.detail));
                    continue;
                }
                if !writes.contains(&g.kind) {
                    continue;
                }
                ref_points.push(p.address.clone());
                match (compared_of(f), compared_of(g)) {
                    (Some(a), Some(b)) => {
                        for case in a.intersection(&b) {
                            common += 1;
                            here.extend(changes_of(f, *case));
                            there.extend(changes_of(g, *case));
                        }
                    }
                    // Findings without the cases compared: their unions.
                    _ => {
                        common += 1;
                        here.extend(changed_of(f));
                        there.extend(changed_of(g));
                    }
                }
            }
        }
        if ref_points.is_empty() {
            if !undecided.is_empty() {
                let mut evidence = f.evidence.clone();
                evidence.insert(
                    "reference".into(),
                    json!({ "binary": path, "line": line, "undecided": undecided }),
                );
                added.push(finding(
                    FindingKind::EmulationLimit,
                    Confirmed::Dynamic,
                    format!(
                        "the same write of {var} at {line} of the reference build could not be judged ({}): the builds were not compared",
                        undecided.join("; ")
                    ),
                    evidence,
                ));
            }
            continue;
        }
        ref_points.sort();
        ref_points.dedup();
        if common == 0 {
            let mut evidence = f.evidence.clone();
            evidence.insert(
                "reference".into(),
                json!({ "binary": path, "line": line, "points": ref_points }),
            );
            added.push(finding(
                FindingKind::EmulationLimit,
                Confirmed::Dynamic,
                format!(
                    "no input reached the write of {var} and ran to its end, written and unwritten, in both this build and the reference build (at {line}): the builds were not compared"
                ),
                evidence,
            ));
            continue;
        }
        there.retain(|c| !past(c, before) && !beyond(c));
        let missing: Vec<&String> = there.difference(&here).collect();
        let extra: Vec<&String> = here.difference(&there).collect();
        let reference_evidence = json!({
            "binary": path,
            "line": line,
            "points": ref_points,
            "changed": there,
        });
        f.evidence
            .insert("reference".into(), reference_evidence.clone());
        if !missing.is_empty() && f.kind == FindingKind::IneffectiveWrite {
            // Already ineffective here: the reference says what it misses.
            f.evidence.insert("missing".into(), json!(missing));
        } else if !missing.is_empty() {
            let mut evidence = f.evidence.clone();
            evidence.insert("missing".into(), json!(missing));
            added.push(finding(
                FindingKind::IneffectiveWrite,
                Confirmed::Dynamic,
                format!(
                    "writing {var} here does not change {} as the same write at {line} of the reference build does",
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                evidence,
            ));
        }
        if !extra.is_empty() {
            let mut evidence = f.evidence.clone();
            evidence.insert("extra".into(), json!(extra));
            added.push(finding(
                FindingKind::OverbroadWrite,
                Confirmed::Dynamic,
                format!(
                    "writing {var} here also changes {}, which the same write at {line} of the reference build does not: the location feeds other expressions",
                    extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                evidence,
            ));
        }
    }
    if !added.is_empty() {
        // An effective write that misses or exceeds the reference's effect
        // is reported by those findings instead.
        // (An undecided comparison leaves this build's verdict as it is.)
        let vars: Vec<Value> = added
            .iter()
            .filter(|f| f.kind != FindingKind::EmulationLimit)
            .filter_map(|f| f.evidence.get("variable").cloned())
            .collect();
        point.findings.retain(|f| {
            !(f.kind == FindingKind::EffectiveWrite
                && f.evidence.get("variable").is_some_and(|v| vars.contains(v)))
        });
        point.findings.extend(added);
    }
    point.settle();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A balance with no input that returned is undecided, never balanced;
    /// against a reference, inputs cut in either build are not compared.
    #[test]
    fn balance_compares_only_inputs_that_returned() {
        let none: Vec<Counts> = vec![None; 4];
        let f = balance_findings("f", &none, None);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::EmulationLimit);
        let here = vec![Some((1, 1)), None];
        let there = vec![None, Some((5, 5))];
        let f = balance_findings("f", &here, Some(("ref", &there)));
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FindingKind::EmulationLimit]
        );
        let there = vec![Some((3, 3)), None];
        let f = balance_findings("f", &here, Some(("ref", &there)));
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FindingKind::EntryReturnImbalance]
        );
        assert!(balance_findings("f", &here, None).is_empty());
    }

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
