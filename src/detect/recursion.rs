//! With `--handler`: the emulated probe handler reaches the probe point
//! again (`non-progress-recursion`).

use super::{Detector, Summary};
use crate::emu::{Exit, Input, Outcome};
use crate::report::evidence::{ChainStep, Hex, RecursionEvidence};
use crate::report::{Confirmed, Finding, FindingKind, Point};

impl Detector<'_> {
    /// A `non-progress-recursion` finding from the first trapped run that
    /// re-entered the probe.
    pub(super) fn recursion_evidence(
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
        let named: Vec<ChainStep> = steps
            .iter()
            .map(|&a| {
                let f = self.binary.function_at(a);
                ChainStep {
                    address: Hex(a),
                    symbol: f.map(|f| format!("{}+{:#x}", f.name, a - f.address)),
                }
            })
            .collect();
        let first = chain.first().copied().unwrap_or(0);
        point.findings.push(Finding::new(
            FindingKind::NonProgressRecursion,
            Confirmed::Dynamic,
            format!(
                "the probe handler reaches {first:#x} again: the probe fires inside its own handler, and nothing guards the recursion"
            ),
            &RecursionEvidence {
                chain: named,
                trials: summary.trials,
                reached: summary.reached,
                witness: self.witness(*case, start, input),
            },
        ));
    }
}
