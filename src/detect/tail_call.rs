//! `.return` points that are jumps out of the function: the run that
//! leaves through the point, and where it returns.

use super::outcome::exit_name;
use super::Detector;
use crate::emu::{Input, Outcome};
use crate::load::Binary;
use crate::report::evidence::{
    Evidence, Hex, LeftThrough, Outcome as Decided, TailCallDynamic, TailCallEvidence,
};
use crate::report::{Confirmed, FindingKind, Point};

impl Detector<'_> {
    /// Add what the unprobed runs showed to the `tail-call-exit` finding of
    /// the jump at `addr` to `target`.
    pub(super) fn tail_call_evidence(
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
        let dynamic = match seen {
            Some(((_, out), (case, input))) => {
                let returned = out
                    .last_block
                    .map(|(block, size)| last_insn(self.binary, block, size));
                let returned_in = returned
                    .and_then(|r| self.binary.function_at(r))
                    .map(|f| f.name.clone());
                let left = LeftThrough {
                    returned_at: returned.map(Hex),
                    returned_in: returned_in.clone(),
                    end: returned
                        .is_none()
                        .then(|| exit_name(self.binary, &out.exit)),
                    witness: self.witness(*case, start, input),
                };
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
                TailCallDynamic {
                    outcome: Decided::Confirmed,
                    left: Some(left),
                }
            }
            None => {
                let reached = baseline.iter().filter(|(_, o)| o.reached > 0).count();
                TailCallDynamic {
                    outcome: if reached == 0 {
                        Decided::Unreached
                    } else {
                        Decided::Refuted
                    },
                    left: None,
                }
            }
        };
        if let Some(mut e) = TailCallEvidence::of(finding) {
            e.dynamic = Some(dynamic);
            finding.set_evidence(&e);
        }
    }
}

/// The last instruction of an executed block (where a `ret` ran): the
/// last fixed-width word, or on a variable-length architecture the last
/// instruction the block decodes to.
fn last_insn(binary: &Binary, block: u64, size: u32) -> u64 {
    let end = block + u64::from(size);
    if let Some(len) = crate::arch::spec(binary.arch).word_len() {
        return end.saturating_sub(u64::from(len));
    }
    if let (Some(bytes), Ok(decoder)) = (
        binary.bytes_at(block, u64::from(size)),
        crate::decode::Decoder::new(binary.arch),
    ) {
        if let Some(last) = decoder.decode(bytes, block).last() {
            return last.address;
        }
    }
    end.saturating_sub(1)
}
