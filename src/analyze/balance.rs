//! The entry/return balance: with `.call` and `.return` of the same
//! function, count its entries and returns per generated input (and in the
//! reference build), and report an imbalance at its entry point.

use crate::detect::write::{balance_findings, Counts};
use crate::detect::DynamicOptions;
use crate::error::Result;
use crate::hazard::{Analyzer, Blacklist};
use crate::load::Binary;
use crate::point::{PointSpec, Probe};
use crate::report::{Finding, Point};

/// The function-name patterns given as both `.call` and `.return`.
pub fn balanced_patterns(specs: &[PointSpec]) -> Vec<String> {
    let of = |want: Probe| -> Vec<&String> {
        specs
            .iter()
            .filter_map(|s| match s {
                PointSpec::Function { pattern, probe, .. } if *probe == want => Some(pattern),
                _ => None,
            })
            .collect()
    };
    let returns = of(Probe::Return);
    of(Probe::Call)
        .into_iter()
        .filter(|p| returns.contains(p))
        .cloned()
        .collect()
}

/// One function's entries and returns per input, here and in the reference
/// build (its path and counts) when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// The function's name.
    pub function: String,
    /// Its entry: where the findings go.
    pub entry: u64,
    /// Per input: `(entries, returns)`, `None` when the run did not return.
    pub here: Vec<Counts>,
    /// The reference build's path and counts for the same inputs.
    pub reference: Option<(String, Vec<Counts>)>,
}

impl Balance {
    /// `entry-return-imbalance` when the counts do not balance or differ
    /// from the reference's, `emulation-limit` when they could not be
    /// counted; empty when everything balances and agrees.
    pub fn findings(&self) -> Vec<Finding> {
        balance_findings(
            &self.function,
            &self.here,
            self.reference
                .as_ref()
                .map(|(path, counts)| (path.as_str(), counts.as_slice())),
        )
    }
}

/// The dynamic options of the balance runs: the generated inputs of the
/// command line, nothing else.
pub fn options(cases: u64, seed: u64, budget: u64) -> DynamicOptions {
    DynamicOptions {
        cases: cases.max(1),
        seed,
        budget: budget.max(1),
        ..DynamicOptions::default()
    }
}

/// Count the entries and returns of every function matching each pattern,
/// and of its namesake in `reference` (run with `options`).
pub fn measure(
    analyzer: &Analyzer<'_>,
    patterns: &[String],
    reference: Option<&Binary>,
    options: &DynamicOptions,
) -> Result<Vec<Balance>> {
    let mut out = Vec::new();
    if patterns.is_empty() {
        return Ok(out);
    }
    let ref_analyzer =
        reference.map(|b| Analyzer::new(b, Blacklist::of(b)).with_dynamic(options.clone()));
    for pattern in patterns {
        for index in analyzer.matching_functions(pattern) {
            let function = &analyzer.binary().functions[index];
            let here = analyzer.balance(function.address)?;
            let there = match (&ref_analyzer, reference) {
                (Some(a), Some(b)) => b
                    .functions
                    .iter()
                    .find(|f| f.has_name(&function.name))
                    .map(|f| a.balance(f.address))
                    .transpose()?
                    .map(|v| (b.path.display().to_string(), v)),
                _ => None,
            };
            out.push(Balance {
                function: function.name.clone(),
                entry: function.entry,
                here,
                reference: there,
            });
        }
    }
    Ok(out)
}

/// Add each balance's findings to the point at its function's entry (if
/// it is among `points`) and settle that point's verdict.
pub fn attach(points: &mut [Point], balances: &[Balance]) {
    for balance in balances {
        let findings = balance.findings();
        if let Some(point) = points
            .iter_mut()
            .find(|p| p.address_value() == balance.entry)
        {
            if !findings.is_empty() {
                point.findings.extend(findings);
                point.settle();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FindingKind, Verdict};

    fn point(addr: u64) -> Point {
        Point {
            address: format!("{addr:#x}"),
            symbol: "f".into(),
            offset: 0,
            verdict: Verdict::Safe,
            findings: Vec::new(),
        }
    }

    fn balance(here: Vec<Counts>, reference: Option<Vec<Counts>>) -> Balance {
        Balance {
            function: "f".into(),
            entry: 0x1000,
            here,
            reference: reference.map(|r| ("ref.so".into(), r)),
        }
    }

    fn kinds(points: &[Point]) -> Vec<FindingKind> {
        points[0].findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn patterns_need_both_call_and_return() {
        let specs: Vec<PointSpec> = [
            "function(\"f\").call",
            "function(\"f\").return",
            "function(\"g\").call",
            "function(\"h\").return",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(balanced_patterns(&specs), ["f"]);
    }

    #[test]
    fn equal_counts_add_nothing() {
        let mut points = vec![point(0x1000)];
        attach(
            &mut points,
            &[balance(vec![Some((3, 3)), Some((1, 1))], None)],
        );
        assert!(points[0].findings.is_empty());
        assert_eq!(points[0].verdict, Verdict::Safe);
    }

    #[test]
    fn a_lost_return_is_an_imbalance_at_the_entry() {
        let mut points = vec![point(0x1000), point(0x1004)];
        attach(
            &mut points,
            &[balance(vec![Some((1, 1)), Some((2, 1))], None)],
        );
        assert_eq!(kinds(&points), [FindingKind::EntryReturnImbalance]);
        assert!(points[0].findings[0]
            .detail
            .contains("2 entries but 1 returns for input 1"));
        assert_eq!(
            points[0].verdict,
            FindingKind::EntryReturnImbalance.severity()
        );
        assert!(points[1].findings.is_empty(), "only the entry point");
    }

    #[test]
    fn no_input_that_returned_is_an_emulation_limit() {
        let mut points = vec![point(0x1000)];
        attach(&mut points, &[balance(vec![None, None], None)]);
        assert_eq!(kinds(&points), [FindingKind::EmulationLimit]);
    }

    #[test]
    fn entries_that_differ_from_the_reference_are_an_imbalance() {
        let mut points = vec![point(0x1000)];
        let b = balance(vec![Some((1, 1))], Some(vec![Some((4, 4))]));
        attach(&mut points, &[b]);
        assert_eq!(kinds(&points), [FindingKind::EntryReturnImbalance]);
        let evidence = &points[0].findings[0].evidence;
        assert_eq!(evidence["reference"]["binary"], "ref.so");
        // The same counts in both builds agree.
        let mut points = vec![point(0x1000)];
        let b = balance(vec![Some((4, 4))], Some(vec![Some((4, 4))]));
        attach(&mut points, &[b]);
        assert!(points[0].findings.is_empty());
    }

    #[test]
    fn a_function_whose_entry_is_not_selected_gets_nothing() {
        let mut points = vec![point(0x2000)];
        attach(&mut points, &[balance(vec![Some((2, 1))], None)]);
        assert!(points[0].findings.is_empty());
    }
}
