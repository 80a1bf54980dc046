//! Entry/return balance: `.call` and `.return` of one function in one run.

use crate::detect::Detector;
use crate::emu::{Exit, Input, ProbeMode};
use crate::report::evidence::{BalanceEvidence, BalanceInput, BalanceReference};
use crate::report::{Confirmed, Finding, FindingKind};

use super::finding;

/// Entries and returns of one input's run (`None`: it did not return).
pub type Counts = Option<(u64, u64)>;

/// The fewest inputs an entry/return balance tries.
const BALANCE_CASES: u64 = 32;

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
    let listed = |v: &[Counts]| -> Vec<BalanceInput> {
        v.iter()
            .enumerate()
            .filter_map(|(case, x)| {
                x.map(|(entries, returns)| BalanceInput {
                    case,
                    entries,
                    returns,
                })
            })
            .collect()
    };
    let mut evidence = BalanceEvidence {
        function: name.to_owned(),
        inputs: listed(here),
        reference: None,
    };
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
        evidence.reference = Some(BalanceReference {
            binary: path.to_owned(),
            inputs: listed(there),
        });
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
}
