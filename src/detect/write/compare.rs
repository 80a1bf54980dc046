//! What a write changed (the channels of a run's effects), and the
//! comparison with the same write in a reference build.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{finding, Effects};
use crate::detect::Detector;
use crate::report::evidence::{to_map, Evidence, WriteEvidence, WriteReference};
use crate::report::{hex, Confirmed, Finding, FindingKind, Point};

/// What a comparison with the reference build adds to a write finding's
/// evidence (the rest of it is kept as it is).
#[derive(Default, Serialize)]
struct Compared {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<WriteReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extra: Option<Vec<String>>,
}

impl Compared {
    /// `evidence` with these fields added (or replaced).
    fn added_to(&self, evidence: &Map<String, Value>) -> Map<String, Value> {
        let mut out = evidence.clone();
        out.extend(to_map(self));
        out
    }
}

/// One thing a caller observes that two runs differ in. Its text (the
/// evidence's `changed`, `changes`, `missing`, `extra`) is named so that
/// two builds of the same source compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    /// `how the run ended (A -> B)`.
    Ended(String, String),
    /// `return value`.
    ReturnValue,
    /// `calls made (A -> B)`.
    CallsMade(usize, usize),
    /// `call K target`: the K-th stubbed call's target.
    CallTarget(usize),
    /// `call K argument I`.
    CallArgument(usize, usize),
    /// `memory SYMBOL+0x8` or `memory 0x...` (8-byte granules).
    Memory(String),
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Ended(a, b) => write!(f, "how the run ended ({a} -> {b})"),
            Channel::ReturnValue => f.write_str("return value"),
            Channel::CallsMade(a, b) => write!(f, "calls made ({a} -> {b})"),
            Channel::CallTarget(k) => write!(f, "call {k} target"),
            Channel::CallArgument(k, i) => write!(f, "call {k} argument {i}"),
            Channel::Memory(name) => write!(f, "memory {name}"),
        }
    }
}

impl Channel {
    /// Read a channel back from its text.
    pub(crate) fn parse(s: &str) -> Option<Channel> {
        if s == "return value" {
            return Some(Channel::ReturnValue);
        }
        if let Some(name) = s.strip_prefix("memory ") {
            return Some(Channel::Memory(name.to_owned()));
        }
        if let Some(rest) = s
            .strip_prefix("how the run ended (")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (a, b) = rest.split_once(" -> ")?;
            return Some(Channel::Ended(a.to_owned(), b.to_owned()));
        }
        if let Some(rest) = s
            .strip_prefix("calls made (")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (a, b) = rest.split_once(" -> ")?;
            return Some(Channel::CallsMade(a.parse().ok()?, b.parse().ok()?));
        }
        let mut words = s.strip_prefix("call ")?.split(' ');
        let k = words.next()?.parse().ok()?;
        match (words.next(), words.next(), words.next()) {
            (Some("target"), None, None) => Some(Channel::CallTarget(k)),
            (Some("argument"), Some(i), None) => Some(Channel::CallArgument(k, i.parse().ok()?)),
            _ => None,
        }
    }

    /// The stubbed call the channel is about.
    fn call(&self) -> Option<usize> {
        match self {
            Channel::CallTarget(k) | Channel::CallArgument(k, _) => Some(*k),
            _ => None,
        }
    }
}

/// What differs between two runs' effects (see [`Channel`]).
pub(super) fn changed(d: &Detector<'_>, a: &Effects, b: &Effects) -> Vec<String> {
    let mut out = Vec::new();
    if a.ended != b.ended {
        out.push(Channel::Ended(a.ended.clone(), b.ended.clone()));
    }
    if a.ret != b.ret {
        out.push(Channel::ReturnValue);
    }
    if a.calls.len() != b.calls.len() {
        out.push(Channel::CallsMade(a.calls.len(), b.calls.len()));
    }
    for (k, (x, y)) in a.calls.iter().zip(&b.calls).enumerate() {
        if x.1 != y.1 {
            out.push(Channel::CallTarget(k));
        }
        for (i, (p, q)) in x.2.iter().zip(&y.2).enumerate() {
            if p != q {
                out.push(Channel::CallArgument(k, i));
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
        out.push(Channel::Memory(name));
    }
    out.iter().map(Channel::to_string).collect()
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
    // What the write changed in one case a finding compared.
    let changes_of = |e: &WriteEvidence, case: u64| -> Vec<String> {
        e.changes
            .as_ref()
            .and_then(|c| c.get(&case.to_string()))
            .cloned()
            .unwrap_or_default()
    };
    // The cases a finding compared.
    let compared_of = |e: &WriteEvidence| -> Option<BTreeSet<u64>> {
        e.compared.as_ref().map(|c| c.iter().copied().collect())
    };
    let changed_of = |e: &WriteEvidence| e.changed.clone().unwrap_or_default();
    // The reference build's findings, each with its write evidence.
    let theirs: Vec<(&Point, &Finding, Option<WriteEvidence>)> = reference
        .iter()
        .flat_map(|p| p.findings.iter().map(move |g| (p, g, WriteEvidence::of(g))))
        .collect();
    let mut added = Vec::new();
    for f in point
        .findings
        .iter_mut()
        .filter(|f| writes.contains(&f.kind))
    {
        let Some(ours) = WriteEvidence::of(f) else {
            continue;
        };
        let var = ours.variable.clone();
        let before = ours.calls_before_point.unwrap_or(0);
        let arity: Vec<usize> = ours.call_arguments.clone().unwrap_or_default();
        // "call K ..." for a call made before the point here: not comparable.
        let past = |c: &Channel| c.call().is_some_and(|k| (k as u64) < before);
        // "call K argument I" beyond the arguments this build's call site
        // passes: a leftover register in the reference (an -O0 build has no
        // call-site information to say so itself).
        let beyond = |c: &Channel| match c {
            Channel::CallArgument(k, i) => arity.get(*k).is_some_and(|&n| *i >= n),
            _ => false,
        };
        // Only the inputs whose runs ended on their own in both builds are
        // compared: what each build's write changed for those.
        let mut here = BTreeSet::new();
        let mut there = BTreeSet::new();
        let mut ref_points = Vec::new();
        let mut common = 0usize;
        let mut undecided = Vec::new();
        for (p, g, theirs) in &theirs {
            let Some(theirs) = theirs.as_ref().filter(|e| e.variable == var) else {
                continue;
            };
            if g.kind == FindingKind::EmulationLimit {
                undecided.push(format!("{}: {}", p.address, g.detail));
                continue;
            }
            if !writes.contains(&g.kind) {
                continue;
            }
            ref_points.push(p.address.clone());
            match (compared_of(&ours), compared_of(theirs)) {
                (Some(a), Some(b)) => {
                    for case in a.intersection(&b) {
                        common += 1;
                        here.extend(changes_of(&ours, *case));
                        there.extend(changes_of(theirs, *case));
                    }
                }
                // Findings without the cases compared: their unions.
                _ => {
                    common += 1;
                    here.extend(changed_of(&ours));
                    there.extend(changed_of(theirs));
                }
            }
        }
        if ref_points.is_empty() {
            if !undecided.is_empty() {
                let evidence = Compared {
                    reference: Some(WriteReference {
                        binary: path.to_owned(),
                        line: line.to_owned(),
                        points: None,
                        changed: None,
                        undecided: Some(undecided.clone()),
                    }),
                    ..Compared::default()
                }
                .added_to(&f.evidence);
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
            let evidence = Compared {
                reference: Some(WriteReference {
                    binary: path.to_owned(),
                    line: line.to_owned(),
                    points: Some(ref_points),
                    changed: None,
                    undecided: None,
                }),
                ..Compared::default()
            }
            .added_to(&f.evidence);
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
        there.retain(|c: &String| {
            Channel::parse(c).is_none_or(|channel| !past(&channel) && !beyond(&channel))
        });
        let missing: Vec<String> = there.difference(&here).cloned().collect();
        let extra: Vec<String> = here.difference(&there).cloned().collect();
        f.evidence = Compared {
            reference: Some(WriteReference {
                binary: path.to_owned(),
                line: line.to_owned(),
                points: Some(ref_points),
                changed: Some(there.clone()),
                undecided: None,
            }),
            ..Compared::default()
        }
        .added_to(&f.evidence);
        if !missing.is_empty() && f.kind == FindingKind::IneffectiveWrite {
            // Already ineffective here: the reference says what it misses.
            f.evidence = Compared {
                missing: Some(missing.clone()),
                ..Compared::default()
            }
            .added_to(&f.evidence);
        } else if !missing.is_empty() {
            let evidence = Compared {
                missing: Some(missing.clone()),
                ..Compared::default()
            }
            .added_to(&f.evidence);
            added.push(finding(
                FindingKind::IneffectiveWrite,
                Confirmed::Dynamic,
                format!(
                    "writing {var} here does not change {} as the same write at {line} of the reference build does",
                    missing.join(", ")
                ),
                evidence,
            ));
        }
        if !extra.is_empty() {
            let evidence = Compared {
                extra: Some(extra.clone()),
                ..Compared::default()
            }
            .added_to(&f.evidence);
            added.push(finding(
                FindingKind::OverbroadWrite,
                Confirmed::Dynamic,
                format!(
                    "writing {var} here also changes {}, which the same write at {line} of the reference build does not: the location feeds other expressions",
                    extra.join(", ")
                ),
                evidence,
            ));
        }
    }
    if !added.is_empty() {
        // An effective write that misses or exceeds the reference's effect
        // is reported by those findings instead.
        // (An undecided comparison leaves this build's verdict as it is.)
        let vars: Vec<String> = added
            .iter()
            .filter(|f| f.kind != FindingKind::EmulationLimit)
            .filter_map(|f| WriteEvidence::of(f).map(|e| e.variable))
            .collect();
        point.findings.retain(|f| {
            !(f.kind == FindingKind::EffectiveWrite
                && WriteEvidence::of(f).is_some_and(|e| vars.contains(&e.variable)))
        });
        point.findings.extend(added);
    }
    point.settle();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every channel reads back from its text.
    #[test]
    fn channels_read_back() {
        for c in [
            Channel::Ended("returned".into(), "fault at 0x10 (unmapped)".into()),
            Channel::ReturnValue,
            Channel::CallsMade(2, 3),
            Channel::CallTarget(1),
            Channel::CallArgument(0, 3),
            Channel::Memory("counter+0x8".into()),
            Channel::Memory("0x4010".into()),
        ] {
            assert_eq!(Channel::parse(&c.to_string()), Some(c));
        }
        assert_eq!(Channel::CallArgument(1, 2).to_string(), "call 1 argument 2");
        assert_eq!(Channel::parse("call x target"), None);
    }
}
