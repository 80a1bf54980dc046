//! What changed between two builds: the survey of each, and their line
//! tables.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{clone_base, FunctionSurvey, Survey};
use crate::debuginfo::DebugInfo;
use crate::load::Binary;

/// One change between two builds.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum Change {
    /// No `.call` point any more (only inlined now).
    LostCall {
        /// Function.
        function: String,
    },
    /// A `.call` point appeared.
    GainedCall {
        /// Function.
        function: String,
    },
    /// The number of inline instances changed.
    InlineCount {
        /// Function.
        function: String,
        /// Before.
        before: usize,
        /// After.
        after: usize,
    },
    /// A compiler clone appeared.
    NewClone {
        /// Function.
        function: String,
        /// The clone's suffix.
        clone: String,
    },
    /// A compiler clone vanished.
    VanishedClone {
        /// Function.
        function: String,
        /// The clone's suffix.
        clone: String,
    },
    /// A return probe became possible.
    GainedReturn {
        /// Function.
        function: String,
    },
    /// A return probe is no longer possible (only tail-call exits, or inlined).
    LostReturn {
        /// Function.
        function: String,
    },
    /// The blacklist covers it now, or no longer.
    Blacklist {
        /// Function.
        function: String,
        /// Covered after.
        blacklisted: bool,
    },
    /// The set of `is_stmt` addresses of a source line changed (count per
    /// function owning them).
    Line {
        /// `file:line`.
        line: String,
        /// Before: owning function -> addresses.
        before: BTreeMap<String, usize>,
        /// After.
        after: BTreeMap<String, usize>,
    },
}

/// What changed between two surveys (and their line tables).
pub fn diff(
    a: &Survey,
    b: &Survey,
    lines_a: &BTreeMap<String, BTreeMap<String, usize>>,
    lines_b: &BTreeMap<String, BTreeMap<String, usize>>,
) -> Vec<Change> {
    let map = |s: &Survey| {
        s.functions
            .iter()
            .map(|f| (f.name.clone(), f.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let (ma, mb) = (map(a), map(b));
    let names: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let function = name.clone();
        let (fa, fb) = (ma.get(name), mb.get(name));
        let calls = |f: Option<&FunctionSurvey>| f.is_some_and(|f| !f.out_of_line.is_empty());
        let inlines = |f: Option<&FunctionSurvey>| f.map_or(0, |f| f.inline_instances.len());
        let ret = |f: Option<&FunctionSurvey>| f.is_some_and(|f| f.return_probe);
        let clones = |f: Option<&FunctionSurvey>| -> BTreeSet<String> {
            f.map(|f| {
                f.out_of_line
                    .iter()
                    .filter_map(|c| c.clone.clone())
                    .collect()
            })
            .unwrap_or_default()
        };
        match (calls(fa), calls(fb)) {
            (true, false) => out.push(Change::LostCall {
                function: function.clone(),
            }),
            (false, true) => out.push(Change::GainedCall {
                function: function.clone(),
            }),
            _ => {}
        }
        if inlines(fa) != inlines(fb) {
            out.push(Change::InlineCount {
                function: function.clone(),
                before: inlines(fa),
                after: inlines(fb),
            });
        }
        let (ca, cb) = (clones(fa), clones(fb));
        for c in cb.difference(&ca) {
            out.push(Change::NewClone {
                function: function.clone(),
                clone: c.clone(),
            });
        }
        for c in ca.difference(&cb) {
            out.push(Change::VanishedClone {
                function: function.clone(),
                clone: c.clone(),
            });
        }
        match (ret(fa), ret(fb)) {
            (false, true) => out.push(Change::GainedReturn {
                function: function.clone(),
            }),
            (true, false) => out.push(Change::LostReturn {
                function: function.clone(),
            }),
            _ => {}
        }
        let bl = |f: Option<&FunctionSurvey>| f.is_some_and(|f| f.blacklisted);
        if bl(fa) != bl(fb) && fa.is_some() && fb.is_some() {
            out.push(Change::Blacklist {
                function,
                blacklisted: bl(fb),
            });
        }
    }
    let keys: BTreeSet<&String> = lines_a.keys().chain(lines_b.keys()).collect();
    for key in keys {
        let before = lines_a.get(key).cloned().unwrap_or_default();
        let after = lines_b.get(key).cloned().unwrap_or_default();
        if before != after {
            out.push(Change::Line {
                line: key.clone(),
                before,
                after,
            });
        }
    }
    out
}

/// The `is_stmt` addresses of every source line, counted per owning
/// function, for [`diff`].
pub fn line_map(binary: &Binary, debug: &DebugInfo) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for row in debug.lines.iter().filter(|r| r.is_stmt) {
        let owner = debug
            .function_at(row.address)
            .map(|f| f.name.clone())
            .or_else(|| {
                binary
                    .function_at(row.address)
                    .map(|f| clone_base(&f.name).0.to_owned())
            })
            .unwrap_or_else(|| "?".into());
        *out.entry(format!("{}:{}", debug.file(row), row.line))
            .or_default()
            .entry(owner)
            .or_default() += 1;
    }
    out
}
