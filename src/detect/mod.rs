//! Dynamic confirmation: run the function in the emulator with a simulated
//! breakpoint at each candidate point and turn what happens into findings.
//!
//! For each point that the static map marks (an LL/SC or transaction
//! window, a `.return` exit) or that a `--handler` makes interesting, the
//! detector runs generated inputs twice: unprobed (counting whether the
//! point is reached at all) and with the trap model applied at every hit.
//! A static finding is then confirmed with a witness, refuted (the point is
//! reached but the hazard does not happen), or marked unreached; it is never
//! dropped silently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::arch::Arch;
use crate::cfg::Exit as CfgExit;
use crate::emu::{self, Emulator, Exit, Input, Outcome, ProbeMode, Trial};
use crate::facts::{FunctionFacts, Window, WindowKind};
use crate::load::{Binary, Function, PpcAbi};
use crate::report::{hex, parse_address, Confirmed, Finding, FindingKind, Point};

/// Where the inputs of the trials come from when not from
/// [`Input::generate`]: `probesafe fuzz` plugs in its property-based
/// strategies here, and shrinks a confirming input to a minimal witness.
pub trait InputSource: std::fmt::Debug + Send + Sync {
    /// The input of case `case` at the probe point `addr` (deterministic).
    fn input(&self, arch: Arch, addr: u64, case: u64) -> Input;
    /// Shrink case `case` at `addr` while `keep` says the simpler input
    /// still shows the finding; the smallest kept input and the number of
    /// candidates tried, or `None` when nothing simpler was kept.
    fn shrink(
        &self,
        arch: Arch,
        addr: u64,
        case: u64,
        keep: &mut dyn FnMut(&Input) -> bool,
    ) -> Option<(Input, u32)>;
}

pub mod write;

pub use write::WriteRequest;

/// How hard to try.
#[derive(Clone, Debug)]
pub struct DynamicOptions {
    /// Generated inputs per point.
    pub cases: u64,
    /// The seed inputs are generated from.
    pub seed: u64,
    /// Instructions per trial (approximate).
    pub budget: u64,
    /// Wall-clock limit per trial.
    pub timeout: Duration,
    /// Entry addresses of the probe handler functions.
    pub handlers: Vec<u64>,
    /// Variables to write at every point (`--write`).
    pub writes: Vec<write::WriteRequest>,
    /// Write every variable in scope (`--all-vars`).
    pub all_vars: bool,
    /// Where inputs come from; [`Input::generate`] when `None`.
    pub inputs: Option<Arc<dyn InputSource>>,
    /// Emulate every selected point, not only those the static map marks,
    /// and report a store-conditional failure or transaction abort caused
    /// by the trap where no static window was found (`fuzz`).
    pub every_point: bool,
    /// Let one group trial per input stand for the one-point trials of the
    /// points outside every window when it shows no harm (see
    /// [`Detector::confirm_outside_windows`]); off, every such point runs
    /// its own trials. The reports are the same; the tests compare them.
    pub group_trials: bool,
}

impl Default for DynamicOptions {
    fn default() -> DynamicOptions {
        DynamicOptions {
            cases: 8,
            seed: 0x5eed,
            budget: 200_000,
            timeout: Duration::from_secs(2),
            handlers: Vec::new(),
            writes: Vec::new(),
            all_vars: false,
            inputs: None,
            every_point: false,
            group_trials: true,
        }
    }
}

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
    pub fn to_json(&self, arch: Arch) -> Value {
        let mut regs = Map::new();
        for (name, v) in arg_names(arch).iter().zip(&self.input.args) {
            regs.insert((*name).to_owned(), Value::String(hex(*v)));
        }
        json!({
            "seed": self.seed,
            "case": self.case,
            "start": hex(self.start),
            "registers": regs,
        })
    }

    /// Read a witness back from its JSON form. The argument registers are
    /// taken from `registers` (a shrunk witness is not a generated case);
    /// an argument register missing there is regenerated from the seed and
    /// case, as is the whole input when `registers` is absent.
    pub fn from_json(w: &Value, arch: Arch) -> Option<Witness> {
        let seed = w.get("seed")?.as_u64()?;
        let case = w.get("case")?.as_u64()?;
        let start = parse_address(w.get("start")?.as_str()?)?;
        let generated = Input::generate(arch, seed, case);
        let input = match w.get("registers") {
            None => generated,
            Some(regs) => {
                let regs = regs.as_object()?;
                let mut args = generated.args;
                for (i, name) in arg_names(arch).iter().enumerate() {
                    if let Some(v) = regs.get(*name) {
                        args[i] = parse_address(v.as_str()?)?;
                    }
                }
                Input::from_args(seed, case, args)
            }
        };
        Some(Witness {
            seed,
            case,
            start,
            input,
        })
    }
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
        let ev = &finding.evidence;
        let addr = |key: &str| ev.get(key).and_then(Value::as_str).and_then(parse_address);
        match finding.kind {
            FindingKind::LlscReservationLoss => Some(Criterion::StoreConditionalFails {
                closers: ev
                    .get("store_conditional")?
                    .as_array()?
                    .iter()
                    .map(|v| v.as_str().and_then(parse_address))
                    .collect::<Option<Vec<u64>>>()?,
            }),
            FindingKind::TmAbort => Some(Criterion::TransactionAborts {
                begin: addr("begin")?,
            }),
            FindingKind::TailCallExit => Some(Criterion::LeavesTo {
                target: addr("target")?,
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
    fn mode(&self) -> ProbeMode {
        match self {
            Criterion::LeavesTo { .. } => ProbeMode::Count,
            _ => ProbeMode::Trap,
        }
    }
}

/// The witness object inside a finding's evidence (`dynamic.witness`, or
/// `witness` for a recursion).
pub fn witness_of(finding: &Finding) -> Option<&Value> {
    finding.evidence.get("witness").or_else(|| {
        finding
            .evidence
            .get("dynamic")
            .and_then(|d| d.get("witness"))
    })
}

fn witness_of_mut(finding: &mut Finding) -> Option<&mut Value> {
    if finding.evidence.contains_key("witness") {
        return finding.evidence.get_mut("witness");
    }
    finding
        .evidence
        .get_mut("dynamic")
        .and_then(|d| d.get_mut("witness"))
}

/// The points of one function that need emulation, and why.
pub fn wants_emulation(
    facts: &FunctionFacts,
    index: Option<usize>,
    exit: Option<CfgExit>,
    handlers: bool,
) -> bool {
    let Some(i) = index else { return false };
    handlers
        || matches!(exit, Some(CfgExit::TailCall { .. }))
        || facts.llsc.iter().any(|w| w.contains(i))
        || facts.tm.iter().any(|w| w.contains(i))
}

/// Runs trials for the points of one function.
pub struct Detector<'a> {
    emu: &'a mut Emulator,
    binary: &'a Binary,
    function: &'a Function,
    facts: &'a FunctionFacts,
    options: &'a DynamicOptions,
    /// Write-check input cases whose unprobed run the budget cut. That run
    /// is the same whatever the point (a counted hit does not stop it), so
    /// the function's other points skip those cases without running them.
    write_cut: std::collections::BTreeSet<u64>,
}

impl<'a> Detector<'a> {
    /// Instrument the function for these points.
    pub fn new(
        emu: &'a mut Emulator,
        binary: &'a Binary,
        function: &'a Function,
        facts: &'a FunctionFacts,
        options: &'a DynamicOptions,
        probes: &[u64],
    ) -> Result<Detector<'a>, String> {
        emu.instrument(function.address, function.end(), &facts.cfg.insns, probes)?;
        Ok(Detector {
            emu,
            binary,
            function,
            facts,
            options,
            write_cut: std::collections::BTreeSet::new(),
        })
    }

    fn toc(&self) -> Option<u64> {
        if self.binary.ppc_abi == Some(PpcAbi::ElfV1) {
            self.function
                .descriptor
                .and_then(|d| self.binary.read_u64(d + 8))
        } else {
            None
        }
    }

    fn trial<'i>(
        &self,
        start: u64,
        probe: u64,
        mode: ProbeMode,
        input: &'i Input,
        trace: bool,
    ) -> Trial<'i>
    where
        'a: 'i,
    {
        Trial {
            start,
            toc: self.toc(),
            probe: Some(probe),
            mode,
            handlers: &self.options.handlers,
            budget: self.options.budget,
            timeout: self.options.timeout,
            trace,
            ..Trial::new(self.function.address, input)
        }
    }

    /// Run one witness again with the instruction trace on.
    pub fn trace(&mut self, probe: u64, witness: &Witness) -> Outcome {
        let trial = self.trial(witness.start, probe, ProbeMode::Trap, &witness.input, true);
        self.emu.run(&trial)
    }

    /// Run `input` from `start` with a probe at `probe` the way
    /// `criterion` needs, and say whether the finding shows again.
    pub fn check(
        &mut self,
        probe: u64,
        criterion: &Criterion,
        start: u64,
        input: &Input,
        trace: bool,
    ) -> (bool, Outcome) {
        let out = self
            .emu
            .run(&self.trial(start, probe, criterion.mode(), input, trace));
        (criterion.holds(&out), out)
    }

    /// Replace each dynamic finding's witness at `addr` with the smallest
    /// input the input source finds that still shows it, and make the
    /// evidence of that trial (hits, progress, attempts...) describe the
    /// shrunk witness. `drawn_at` is the point the inputs were drawn for.
    fn shrink_witnesses(&mut self, point: &mut Point, addr: u64, drawn_at: u64) {
        let Some(source) = self.options.inputs.clone() else {
            return;
        };
        let arch = self.binary.arch;
        for finding in &mut point.findings {
            let Some(criterion) = Criterion::of(finding) else {
                continue;
            };
            let Some(witness) = witness_of(finding).and_then(|w| Witness::from_json(w, arch))
            else {
                continue;
            };
            let mut keep =
                |input: &Input| self.check(addr, &criterion, witness.start, input, false).0;
            let (input, tried) = source
                .shrink(arch, drawn_at, witness.case, &mut keep)
                .unwrap_or((witness.input.clone(), 0));
            if tried > 0 {
                let (holds, out) = self.check(addr, &criterion, witness.start, &input, false);
                if holds {
                    refresh_evidence(finding, &criterion, &out);
                }
            }
            let shrunk = Witness { input, ..witness };
            if let Some(slot) = witness_of_mut(finding) {
                let mut json = shrunk.to_json(arch);
                json["shrink_steps"] = json!(tried);
                *slot = json;
            }
        }
    }

    /// Add dynamic evidence to the point at `addr`.
    pub fn confirm(&mut self, point: &mut Point, addr: u64, exit: Option<CfgExit>) {
        let Some(i) = self.facts.cfg.index_of(addr) else {
            return;
        };
        if self.outside_windows(addr, exit) {
            self.confirm_outside_windows(&mut [point]);
            return;
        }
        let arch = self.binary.arch;
        // Interrupted (SIGINT/SIGTERM): no more inputs (trials stop at
        // once, and the caller drops the function's results).
        let inputs: Vec<(u64, Input)> = (0..self.options.cases)
            .take_while(|_| !emu::interrupted())
            .map(|case| {
                let input = match &self.options.inputs {
                    Some(source) => source.input(arch, addr, case),
                    None => Input::generate(arch, self.options.seed, case),
                };
                (case, input)
            })
            .collect();
        // Where to start: the entry, or the opener of the window that holds
        // the point when no generated input reaches it from the entry, or
        // when no trial from the entry reaches a store-conditional of its
        // LL/SC window after the trap (a compare-and-swap's compare failed,
        // or the run faulted on a value the inputs do not provide). A trial
        // that starts at a load-linked has its address register pointing
        // into the heap and the compared register holding the word there
        // ([`Emulator::opener_registers`]).
        let mut start = self.function.address;
        let mut baseline = self.baselines(start, addr, &inputs);
        let mut trapped = self.trapped(start, addr, &inputs, &baseline);
        let mut start_note = "function entry".to_owned();
        let llsc = self.facts.llsc.iter().find(|w| w.contains(i));
        let unreached = baseline.iter().all(|(_, o)| o.reached == 0);
        let undecided = !unreached && llsc.is_some_and(|w| !self.closer_ran(w, &trapped));
        let opener = llsc
            .or_else(|| self.facts.tm.iter().find(|w| w.contains(i)))
            .map(|w| self.facts.cfg.insns[w.open].address)
            .filter(|&o| o != start && (unreached || undecided));
        if let Some(opener) = opener {
            let alt = self.baselines(opener, addr, &inputs);
            let alt_trapped = if alt.iter().any(|(_, o)| o.reached > 0) {
                self.trapped(opener, addr, &inputs, &alt)
            } else {
                Vec::new()
            };
            let decides = !alt_trapped.is_empty()
                && (unreached || llsc.is_some_and(|w| self.closer_ran(w, &alt_trapped)));
            if decides {
                let why = if unreached {
                    "no generated input reached the point from the entry".to_owned()
                } else {
                    let exits: std::collections::BTreeSet<String> = trapped
                        .iter()
                        .map(|(_, _, o)| exit_name(self.binary, &o.exit))
                        .collect();
                    format!(
                        "from the entry no trial reached a store-conditional after the trap (they ended: {})",
                        exits.into_iter().collect::<Vec<_>>().join("; ")
                    )
                };
                let setup = inputs
                    .first()
                    .map(|(_, input)| self.emu.opener_registers(opener, input))
                    .unwrap_or_default();
                let setup = if setup.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; there the load-linked's address register points into the heap, at a word its compare accepts (case 0: {})",
                        setup
                            .iter()
                            .map(|(r, v)| format!("{r} = {v:#x}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                start = opener;
                baseline = alt;
                trapped = alt_trapped;
                start_note =
                    format!("{opener:#x}: {why}, so trials start at the window's opener{setup}");
            }
        }
        let summary = Summary {
            trials: inputs.len(),
            reached: baseline.iter().filter(|(_, o)| o.reached > 0).count(),
            start_note: &start_note,
        };
        let windows: Vec<&Window> = self
            .facts
            .llsc
            .iter()
            .chain(&self.facts.tm)
            .filter(|w| w.contains(i))
            .collect();
        let in_window = !windows.is_empty();
        for w in windows {
            self.window_evidence(point, w, start, &trapped, &summary);
        }
        if let Some(CfgExit::TailCall { target }) = exit {
            self.tail_call_evidence(point, addr, target, start, &inputs, &baseline);
        }
        if !self.options.handlers.is_empty() {
            self.recursion_evidence(point, start, &trapped, &summary);
        }
        if self.options.every_point && !in_window {
            self.discover(point, addr, start, &trapped);
        }
        if summary.reached == 0 && windows_or_exit_absent(point) {
            point.findings.push(limit(format!(
                "no generated input reached {addr:#x} in {} trials: the dynamic checks could not run there",
                summary.trials
            )));
        }
        self.shrink_witnesses(point, addr, addr);
        point.settle();
    }

    /// Whether `confirm` treats `addr` as a point outside every static
    /// window that `fuzz` emulates because it tries every boundary: no
    /// window contains it, it is no `.return` exit, and no handler runs.
    pub fn outside_windows(&self, addr: u64, exit: Option<CfgExit>) -> bool {
        let Some(i) = self.facts.cfg.index_of(addr) else {
            return false;
        };
        let in_any_window = self
            .facts
            .llsc
            .iter()
            .chain(&self.facts.tm)
            .any(|w| w.contains(i));
        self.options.every_point
            && !in_any_window
            && exit.is_none()
            && self.options.handlers.is_empty()
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

    /// The trapped runs from `start` of the inputs whose unprobed run
    /// (`baseline`) reached the point.
    fn trapped<'i>(
        &mut self,
        start: u64,
        addr: u64,
        inputs: &'i [(u64, Input)],
        baseline: &[(u64, Outcome)],
    ) -> Vec<(u64, &'i Input, Outcome)> {
        inputs
            .iter()
            .zip(baseline)
            .filter(|(_, (_, o))| o.reached > 0)
            .map(|((case, input), _)| {
                let out = self
                    .emu
                    .run(&self.trial(start, addr, ProbeMode::Trap, input, false));
                (*case, input, out)
            })
            .collect()
    }

    /// Whether one of the window's store-conditionals ran after a trap in
    /// one of these runs (whether it stored or not): such runs decide.
    fn closer_ran(&self, w: &Window, trapped: &[(u64, &Input, Outcome)]) -> bool {
        let closers: Vec<u64> = w
            .closes
            .iter()
            .map(|&c| self.facts.cfg.insns[c].address)
            .collect();
        trapped.iter().any(|(_, _, o)| {
            o.sc.iter()
                .any(|s| s.after_hits > 0 && closers.contains(&s.sc))
        })
    }

    fn baselines(&mut self, start: u64, addr: u64, inputs: &[(u64, Input)]) -> Vec<(u64, Outcome)> {
        inputs
            .iter()
            .map(|(case, input)| {
                (
                    *case,
                    self.emu
                        .run(&self.trial(start, addr, ProbeMode::Count, input, false)),
                )
            })
            .collect()
    }

    fn witness(&self, case: u64, start: u64, input: &Input) -> Value {
        Witness {
            seed: self.options.seed,
            case,
            start,
            input: input.clone(),
        }
        .to_json(self.binary.arch)
    }

    fn window_evidence(
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
        let Some(finding) = point.findings.iter_mut().find(|f| {
            f.kind == kind
                && f.evidence.get(if kind == FindingKind::TmAbort {
                    "begin"
                } else {
                    "load_linked"
                }) == Some(&Value::String(hex(open)))
        }) else {
            return;
        };
        let closers: Vec<u64> = w
            .closes
            .iter()
            .map(|&c| self.facts.cfg.insns[c].address)
            .collect();
        let mut dynamic = Map::new();
        dynamic.insert("trials".into(), json!(summary.trials));
        dynamic.insert("reached".into(), json!(summary.reached));
        dynamic.insert("start".into(), json!(summary.start_note));
        let confirming = trapped.iter().find_map(|(case, input, out)| {
            let evidence = match w.kind {
                WindowKind::LlSc => {
                    let failed = out.sc.iter().filter(|s| s.after_hits > 0 && !s.ok && closers.contains(&s.sc)).count();
                    (failed > 0).then(|| {
                        let sc = out.sc.iter().find(|s| s.after_hits > 0 && !s.ok).map(|s| s.sc).unwrap_or(0);
                        json!({ "store_conditional": hex(sc), "failed_attempts": failed, "succeeded_after_trap": out.sc.iter().filter(|s| s.after_hits > 0 && s.ok).count() })
                    })
                }
                WindowKind::Transaction => out.tx_aborts.iter().find(|a| a.by_trap && a.begin == open).map(|a| {
                    json!({ "abort_at": hex(a.at), "status": hex(a.status), "handler_ran": a.handler_ran, "resumed_at": hex(a.resumed_at), "aborts": out.tx_aborts.iter().filter(|a| a.by_trap).count() })
                }),
            }?;
            Some((case, input, out, evidence))
        });
        match confirming {
            Some((case, input, out, evidence)) => {
                let (progress, proof) = progress(&out.exit);
                if let Value::Object(map) = evidence {
                    dynamic.extend(map);
                }
                dynamic.insert("outcome".into(), json!("confirmed"));
                dynamic.insert("progress".into(), json!(progress));
                dynamic.insert("proof".into(), json!(proof));
                dynamic.insert("hits".into(), json!(out.hits));
                dynamic.insert("witness".into(), self.witness(*case, start, input));
                finding.confirmed = Confirmed::Dynamic;
                finding.detail = match (w.kind, progress) {
                    (WindowKind::LlSc, "none") => format!("{}; emulation confirms it: the loop never progresses ({proof}).", finding.detail),
                    (WindowKind::LlSc, _) => format!("{}; emulation confirms it: the store-conditional failed after the trap and the code fell back.", finding.detail),
                    (WindowKind::Transaction, "none") => format!("{}; emulation confirms it: the transaction aborted at every attempt ({proof}).", finding.detail),
                    (WindowKind::Transaction, _) => format!("{}; emulation confirms it: the transaction aborted and the fallback path ran.", finding.detail),
                };
            }
            None if summary.reached == 0 => {
                dynamic.insert("outcome".into(), json!("unreached"));
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
                dynamic.insert("exits".into(), json!(exits));
                if completed {
                    dynamic.insert("outcome".into(), json!("refuted"));
                    finding.detail = format!(
                        "{} (Emulation did not confirm it: after a trap here the sequence still completed.)",
                        finding.detail
                    );
                } else {
                    dynamic.insert("outcome".into(), json!("inconclusive"));
                    finding.detail = format!(
                        "{} (Not confirmed: in {} trials that reached it, no store-conditional or transaction end followed the trap.)",
                        finding.detail, summary.reached
                    );
                }
            }
        }
        finding
            .evidence
            .insert("dynamic".into(), Value::Object(dynamic));
    }

    fn tail_call_evidence(
        &self,
        point: &mut Point,
        addr: u64,
        target: u64,
        start: u64,
        inputs: &[(u64, Input)],
        baseline: &[(u64, Outcome)],
    ) {
        let Some(finding) = point
            .findings
            .iter_mut()
            .find(|f| f.kind == FindingKind::TailCallExit)
        else {
            return;
        };
        let seen = baseline
            .iter()
            .zip(inputs)
            .find(|((_, o), _)| o.reached > 0 && o.left_via.is_some_and(|(_, t)| t == target));
        let mut dynamic = Map::new();
        match seen {
            Some(((_, out), (case, input))) => {
                dynamic.insert("outcome".into(), json!("confirmed"));
                let returned = out
                    .last_block
                    .map(|(block, size)| last_insn(self.binary, block, size));
                dynamic.insert("returned_at".into(), json!(returned.map(hex)));
                let returned_in = returned
                    .and_then(|r| self.binary.function_at(r))
                    .map(|f| f.name.clone());
                dynamic.insert("returned_in".into(), json!(returned_in));
                if returned.is_none() {
                    dynamic.insert("end".into(), json!(exit_name(self.binary, &out.exit)));
                }
                dynamic.insert("witness".into(), self.witness(*case, start, input));
                finding.confirmed = Confirmed::Dynamic;
                finding.detail = match &returned_in {
                    Some(f) => format!(
                        "{}; emulation: the run left through {addr:#x} and returned from {f}.",
                        finding.detail
                    ),
                    None => format!(
                        "{}; emulation: the run left through {addr:#x}.",
                        finding.detail
                    ),
                };
            }
            None => {
                let reached = baseline.iter().filter(|(_, o)| o.reached > 0).count();
                dynamic.insert(
                    "outcome".into(),
                    json!(if reached == 0 { "unreached" } else { "refuted" }),
                );
            }
        }
        finding
            .evidence
            .insert("dynamic".into(), Value::Object(dynamic));
    }

    fn recursion_evidence(
        &self,
        point: &mut Point,
        start: u64,
        trapped: &[(u64, &Input, Outcome)],
        summary: &Summary<'_>,
    ) {
        let Some((case, input, chain)) =
            trapped
                .iter()
                .find_map(|(case, input, out)| match &out.exit {
                    Exit::Reentry { chain } => Some((case, input, chain)),
                    _ => None,
                })
        else {
            return;
        };
        // One entry per function on the way (the first block executed in
        // it), ending with the probe point reached again.
        let function_of = |a: u64| self.binary.function_at(a).map(|f| f.address);
        let mut steps: Vec<u64> = Vec::new();
        for (i, &a) in chain.iter().enumerate() {
            let continues = i + 1 < chain.len()
                && steps.last().is_some_and(|&prev| {
                    function_of(prev).is_some() && function_of(prev) == function_of(a)
                });
            if !continues {
                steps.push(a);
            }
        }
        steps.dedup();
        let named: Vec<Value> = steps
            .iter()
            .map(|&a| {
                let f = self.binary.function_at(a);
                json!({ "address": hex(a), "symbol": f.map(|f| format!("{}+{:#x}", f.name, a - f.address)) })
            })
            .collect();
        let first = chain.first().copied().unwrap_or(0);
        let mut finding = Finding::new_static(
            FindingKind::NonProgressRecursion,
            format!(
                "the probe handler reaches {first:#x} again: the probe fires inside its own handler, and nothing guards the recursion"
            ),
            json!({ "chain": named, "trials": summary.trials, "reached": summary.reached, "witness": self.witness(*case, start, input) }),
        );
        finding.confirmed = Confirmed::Dynamic;
        point.findings.push(finding);
    }
}

struct Summary<'s> {
    trials: usize,
    reached: usize,
    start_note: &'s str,
}

impl Detector<'_> {
    /// A point outside every static window: does a trap there still make a
    /// store-conditional fail, or abort a transaction? (A window the static
    /// map did not see: split across functions, behind an indirect jump.)
    fn discover(
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
            let by_trap = out.tx_aborts.iter().filter(|a| a.by_trap).count();
            let (kind, detail, evidence) = if let Some(first) = failed.first() {
                let (progress, proof) = progress(&out.exit);
                let attempts = failed.iter().filter(|s| s.sc == first.sc).count();
                (
                    FindingKind::LlscReservationLoss,
                    format!(
                        "found by emulation, not by the static map: after a trap at {addr:#x} the store-conditional at {:#x} failed {} time(s) ({})",
                        first.sc,
                        attempts,
                        out.exit.describe()
                    ),
                    json!({
                        "store_conditional": [hex(first.sc)],
                        "role": "discovered",
                        "dynamic": {
                            "outcome": "confirmed",
                            "store_conditional": hex(first.sc),
                            "failed_attempts": attempts,
                            "succeeded_after_trap": out.sc.iter().filter(|s| s.after_hits > 0 && s.ok).count(),
                            "progress": progress,
                            "proof": proof,
                            "hits": out.hits,
                            "witness": self.witness(*case, start, input),
                        },
                    }),
                )
            } else if by_trap > 0 {
                let a = out.tx_aborts.iter().find(|a| a.by_trap).expect("counted");
                (
                    FindingKind::TmAbort,
                    format!(
                        "found by emulation, not by the static map: a trap at {addr:#x} aborted the transaction begun at {:#x}",
                        a.begin
                    ),
                    json!({
                        "begin": hex(a.begin),
                        "role": "discovered",
                        "dynamic": {
                            "outcome": "confirmed",
                            "abort_at": hex(a.at),
                            "status": hex(a.status),
                            "handler_ran": a.handler_ran,
                            "resumed_at": hex(a.resumed_at),
                            "aborts": by_trap,
                            "hits": out.hits,
                            "witness": self.witness(*case, start, input),
                        },
                    }),
                )
            } else {
                continue;
            };
            let mut f = Finding::new_static(kind, detail, evidence);
            f.confirmed = Confirmed::Dynamic;
            point.findings.push(f);
            return;
        }
    }
}

/// Probe hits per trapped trial at a point outside every static window.
const DISCOVERY_HITS: u32 = 8;

/// Make the evidence of a dynamic finding's trial describe `out`, the run
/// of its (shrunk) witness: the keys it has are recomputed.
fn refresh_evidence(finding: &mut Finding, criterion: &Criterion, out: &Outcome) {
    let Some(Value::Object(dynamic)) = finding.evidence.get_mut("dynamic") else {
        return;
    };
    let (progress, proof) = progress(&out.exit);
    let mut fresh = Map::new();
    fresh.insert("hits".into(), json!(out.hits));
    fresh.insert("progress".into(), json!(progress));
    fresh.insert("proof".into(), json!(proof));
    match criterion {
        Criterion::StoreConditionalFails { closers } => {
            let failed: Vec<&emu::ScResult> = out
                .sc
                .iter()
                .filter(|s| s.after_hits > 0 && !s.ok && closers.contains(&s.sc))
                .collect();
            if let Some(first) = failed.first() {
                fresh.insert("store_conditional".into(), json!(hex(first.sc)));
            }
            fresh.insert("failed_attempts".into(), json!(failed.len()));
            fresh.insert(
                "succeeded_after_trap".into(),
                json!(out.sc.iter().filter(|s| s.after_hits > 0 && s.ok).count()),
            );
        }
        Criterion::TransactionAborts { begin } => {
            if let Some(a) = out
                .tx_aborts
                .iter()
                .find(|a| a.by_trap && a.begin == *begin)
            {
                fresh.insert("abort_at".into(), json!(hex(a.at)));
                fresh.insert("status".into(), json!(hex(a.status)));
                fresh.insert("handler_ran".into(), json!(a.handler_ran));
                fresh.insert("resumed_at".into(), json!(hex(a.resumed_at)));
            }
            fresh.insert(
                "aborts".into(),
                json!(out.tx_aborts.iter().filter(|a| a.by_trap).count()),
            );
        }
        Criterion::LeavesTo { .. } | Criterion::Reentry => return,
    }
    for (key, value) in fresh {
        if let Some(slot) = dynamic.get_mut(&key) {
            *slot = value;
        }
    }
}

fn windows_or_exit_absent(point: &Point) -> bool {
    !point.findings.iter().any(|f| {
        matches!(
            f.kind,
            FindingKind::LlscReservationLoss | FindingKind::TmAbort | FindingKind::TailCallExit
        )
    })
}

fn limit(detail: String) -> Finding {
    Finding {
        kind: FindingKind::EmulationLimit,
        confirmed: Confirmed::Dynamic,
        detail,
        evidence: Map::new(),
    }
}

/// `(progress, proof)` of a trapped run.
fn progress(exit: &Exit) -> (&'static str, String) {
    match exit {
        Exit::Livelock { at, period } => (
            "none",
            format!(
                "the same full state recurred at {at:#x} after {period} hit(s): an infinite loop"
            ),
        ),
        Exit::Budget => ("none", "still looping when the budget ran out".into()),
        Exit::Timeout => ("none", "still looping when the time limit passed".into()),
        Exit::Returned => ("fallback", "the region returned on another path".into()),
        Exit::Reentry { .. } => ("none", "the handler re-entered the probe".into()),
        Exit::Fault { pc, reason } => ("fault", format!("the run faulted at {pc:#x}: {reason}")),
    }
}

/// How a run ended, in a few words; a fault names the instruction at its
/// address (when the binary holds it) and the reason.
fn exit_name(binary: &Binary, exit: &Exit) -> String {
    match exit {
        Exit::Returned => "returned".into(),
        Exit::Livelock { .. } => "livelock".into(),
        Exit::Reentry { .. } => "reentry".into(),
        Exit::Budget => "budget".into(),
        Exit::Timeout => "timeout".into(),
        Exit::Fault { pc, reason } => match instruction_text(binary, *pc) {
            Some(text) => format!("fault at {pc:#x} `{text}` ({reason})"),
            None => format!("fault at {pc:#x} ({reason})"),
        },
    }
}

/// The instruction at `addr` in the binary, as text.
fn instruction_text(binary: &Binary, addr: u64) -> Option<String> {
    let decoder = crate::decode::Decoder::new(binary.arch).ok()?;
    let bytes = [16, 8, 4]
        .into_iter()
        .find_map(|len| binary.bytes_at(addr, len))?;
    decoder
        .decode(bytes, addr)
        .first()
        .map(crate::decode::Insn::text)
}

/// The last instruction of an executed block (where a `ret` ran).
fn last_insn(binary: &Binary, block: u64, size: u32) -> u64 {
    let end = block + u64::from(size);
    if binary.arch == crate::arch::Arch::X86_64 {
        if let (Some(bytes), Ok(decoder)) = (
            binary.bytes_at(block, u64::from(size)),
            crate::decode::Decoder::new(binary.arch),
        ) {
            if let Some(last) = decoder.decode(bytes, block).last() {
                return last.address;
            }
        }
        end.saturating_sub(1)
    } else {
        end.saturating_sub(4)
    }
}

/// Group the points of a function by address (for callers that need it).
pub fn by_address(points: &mut [Point]) -> BTreeMap<u64, &mut Point> {
    points.iter_mut().map(|p| (p.address_value(), p)).collect()
}
