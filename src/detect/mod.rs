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

use crate::arch::Arch;
use crate::cfg::Exit as CfgExit;
use crate::emu::{self, Emulator, Input, Outcome, ProbeMode, Trial};
use crate::facts::{FunctionFacts, Window};
use crate::load::{Binary, Function, PpcAbi};
use crate::report::evidence::{NoEvidence, WitnessEvidence};
use crate::report::{Confirmed, Finding, FindingKind, Point};

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

mod outcome;
use outcome::exit_name;
mod recursion;
mod tail_call;
mod window;
mod witness;
pub mod write;

pub use witness::{witness_of, Criterion, Witness};
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

/// Why a function's points cannot be emulated.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DetectError {
    /// The emulator could not instrument the function (its text is the
    /// emulator's, as reports and stderr show it).
    #[error("{reason}")]
    Instrument {
        /// The function.
        function: String,
        /// Its first instruction.
        address: u64,
        /// The emulator's error.
        reason: emu::EmuError,
    },
}

/// The emulator's code (`hazard`) still carries errors as text.
impl From<DetectError> for String {
    fn from(e: DetectError) -> String {
        e.to_string()
    }
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
    ) -> Result<Detector<'a>, DetectError> {
        emu.instrument(function.address, function.end(), &facts.cfg.insns, probes)
            .map_err(|reason| DetectError::Instrument {
                function: function.name.clone(),
                address: function.address,
                reason,
            })?;
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
                        "; there the load-linked's address register points into the heap, at a word its compare accepts, and the registers the function uses as base addresses point into the heap too (case 0: {})",
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

    fn witness(&self, case: u64, start: u64, input: &Input) -> WitnessEvidence {
        Witness {
            seed: self.options.seed,
            case,
            start,
            input: input.clone(),
        }
        .to_evidence(self.binary.arch)
    }
}

/// The trials of a point: how many, how many reached it, and where they
/// started.
struct Summary<'s> {
    trials: usize,
    reached: usize,
    start_note: &'s str,
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
    Finding::new(
        FindingKind::EmulationLimit,
        Confirmed::Dynamic,
        detail,
        &NoEvidence {},
    )
}

/// Group the points of a function by address (for callers that need it).
pub fn by_address(points: &mut [Point]) -> BTreeMap<u64, &mut Point> {
    points.iter_mut().map(|p| (p.address_value(), p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error's text is the emulator's, as before it was typed.
    #[test]
    fn detect_error_keeps_the_emulator_text() {
        let reason = emu::EmuError::ImageTooLarge {
            arch: Arch::X86_64,
            limit: 64 << 20,
        };
        let text = reason.to_string();
        assert_eq!(text, "the image is larger than 64 MiB");
        let e = DetectError::Instrument {
            function: "f".into(),
            address: 0x1000,
            reason,
        };
        assert_eq!(e.to_string(), text);
        assert_eq!(String::from(e), text);
    }
}
