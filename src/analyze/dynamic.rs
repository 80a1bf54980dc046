//! The dynamic checks: each point the static map cannot settle, run in
//! this thread's emulator by a [`Detector`]; and the extras that run one
//! function (balance, trace, replay).

use super::Analyzer;
use crate::cfg::Exit;
use crate::decode::Decoder;
use crate::detect::{self, Detector, DynamicOptions};
use crate::emu::Emulator;
use crate::error::{Error, Result};
use crate::facts::FunctionFacts;
use crate::load::{Binary, Function};
use crate::report::{Finding, FindingKind, Point};

impl Analyzer<'_> {
    pub(super) fn confirm_dynamically(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        points: &mut [(Point, Option<Exit>)],
        options: &DynamicOptions,
    ) {
        let writes = (!options.writes.is_empty() || options.all_vars)
            .then_some(self.debug.as_deref())
            .flatten();
        let handlers = !options.handlers.is_empty() || writes.is_some() || options.every_point;
        let wanted: Vec<usize> = points
            .iter()
            .enumerate()
            .filter(|(_, (p, exit))| {
                detect::wants_emulation(
                    facts,
                    facts.cfg.index_of(p.address_value()),
                    *exit,
                    handlers,
                )
            })
            .map(|(i, _)| i)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let probes: Vec<u64> = wanted
            .iter()
            .map(|&i| points[i].0.address_value())
            .collect();
        let result = with_emulator(self.binary, |emu| {
            let mut detector = Detector::new(emu, self.binary, function, facts, options, &probes)?;
            // The points outside every window share group trials.
            let (outside, inside): (Vec<usize>, Vec<usize>) = wanted.iter().partition(|&&i| {
                let (point, exit) = &points[i];
                options.group_trials && detector.outside_windows(point.address_value(), *exit)
            });
            if !outside.is_empty() {
                let mut group: Vec<&mut Point> = points
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| outside.binary_search(i).is_ok())
                    .map(|(_, (p, _))| p)
                    .collect();
                detector.confirm_outside_windows(&mut group);
            }
            for &i in &wanted {
                let (point, exit) = &mut points[i];
                let addr = point.address_value();
                if inside.binary_search(&i).is_ok() {
                    detector.confirm(point, addr, *exit);
                }
                if let Some(debug) = writes {
                    detector.check_writes(point, addr, debug, &options.writes, options.all_vars);
                }
            }
            Ok(())
        });
        if let Err(reason) = result {
            for &i in &wanted {
                let point = &mut points[i].0;
                point.findings.push(Finding {
                    kind: FindingKind::EmulationLimit,
                    confirmed: crate::report::Confirmed::Dynamic,
                    detail: format!("the emulator cannot run {}: {reason}", self.binary.arch),
                    evidence: serde_json::Map::new(),
                });
                point.settle();
            }
        }
    }

    /// Entry/return balance of the function at `entry` (see
    /// [`Detector::balance`]); needs the dynamic options.
    pub fn balance(&self, entry: u64) -> Result<Vec<detect::write::Counts>> {
        let function = self
            .binary
            .function_at(entry)
            .ok_or_else(|| Error::OutsideFunction {
                path: self.binary.path.clone(),
                address: entry,
            })?;
        let decoder = Decoder::new(self.binary.arch)?;
        let facts = FunctionFacts::of(&decoder, self.binary, function);
        let options = self.dynamic.clone().unwrap_or_default();
        let mut probes = vec![function.entry];
        probes.extend(
            facts
                .cfg
                .insns
                .iter()
                .filter(|i| matches!(i.class, crate::arch::Class::Return { .. }))
                .map(|i| i.address),
        );
        with_emulator(self.binary, |emu| {
            let mut detector =
                Detector::new(emu, self.binary, function, &facts, &options, &probes)?;
            Ok(detector.balance())
        })
        .map_err(|reason| Error::Emulation {
            arch: self.binary.arch.name(),
            reason,
        })
    }

    /// Re-run the witness of a dynamic finding with the instruction trace on.
    pub fn trace(&self, addr: u64, witness: &detect::Witness) -> Result<crate::emu::Outcome> {
        self.with_detector(addr, |detector| detector.trace(addr, witness))
    }

    /// Re-run a witness the way its finding needs (with the trace on) and
    /// say whether the finding shows again.
    pub fn replay(
        &self,
        addr: u64,
        criterion: &detect::Criterion,
        witness: &detect::Witness,
    ) -> Result<(bool, crate::emu::Outcome)> {
        self.with_detector(addr, |detector| {
            detector.check(addr, criterion, witness.start, &witness.input, true)
        })
    }

    /// A detector for the function that contains `addr`, probing `addr`.
    fn with_detector<T>(&self, addr: u64, f: impl FnOnce(&mut Detector<'_>) -> T) -> Result<T> {
        let function = self
            .binary
            .function_at(addr)
            .ok_or_else(|| Error::OutsideFunction {
                path: self.binary.path.clone(),
                address: addr,
            })?;
        let decoder = Decoder::new(self.binary.arch)?;
        let facts = FunctionFacts::of(&decoder, self.binary, function);
        let options = self.dynamic.clone().unwrap_or_default();
        with_emulator(self.binary, |emu| {
            let mut detector =
                Detector::new(emu, self.binary, function, &facts, &options, &[addr])?;
            Ok(f(&mut detector))
        })
        .map_err(|reason| Error::Emulation {
            arch: self.binary.arch.name(),
            reason,
        })
    }
}

thread_local! {
    /// One emulator per worker thread, for the binary it was made for.
    static EMULATOR: std::cell::RefCell<Option<(u64, Emulator)>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with this thread's emulator for `binary`, made on first use;
/// an architecture whose self-test fails is refused.
fn with_emulator<T>(
    binary: &Binary,
    f: impl FnOnce(&mut Emulator) -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    crate::emu::selftest::arch_ok(binary.arch)
        .map_err(|e| format!("the start-up self-test failed ({e})"))?;
    EMULATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(id, _)| *id != binary.instance) {
            *slot = None;
            *slot = Some((binary.instance, Emulator::new(binary)?));
        }
        let (_, emu) = slot.as_mut().expect("just made");
        f(emu)
    })
}
