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

/// The kind of a [`Change`], in the order that matters to someone holding
/// probes: a lost `.call` or `.return` breaks a probe, a blacklist change
/// makes the kernel refuse it (or accept it), a new or vanished clone is a
/// symbol a probe must also (or can no longer) name, an inline count change
/// moves `.inline` points, gains are new possibilities, and a moved line
/// changes where a `file:line` probe lands.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// [`Change::LostCall`].
    LostCall,
    /// [`Change::LostReturn`].
    LostReturn,
    /// [`Change::Blacklist`].
    Blacklist,
    /// [`Change::NewClone`].
    NewClone,
    /// [`Change::VanishedClone`].
    VanishedClone,
    /// [`Change::InlineCount`].
    InlineCount,
    /// [`Change::GainedCall`].
    GainedCall,
    /// [`Change::GainedReturn`].
    GainedReturn,
    /// [`Change::Line`].
    Line,
}

impl Category {
    /// Every category, most important first.
    pub const ALL: [Category; 9] = [
        Category::LostCall,
        Category::LostReturn,
        Category::Blacklist,
        Category::NewClone,
        Category::VanishedClone,
        Category::InlineCount,
        Category::GainedCall,
        Category::GainedReturn,
        Category::Line,
    ];

    /// Its name in the JSON form (the `change` tag of its changes).
    pub fn key(self) -> &'static str {
        match self {
            Category::LostCall => "lost-call",
            Category::LostReturn => "lost-return",
            Category::Blacklist => "blacklist",
            Category::NewClone => "new-clone",
            Category::VanishedClone => "vanished-clone",
            Category::InlineCount => "inline-count",
            Category::GainedCall => "gained-call",
            Category::GainedReturn => "gained-return",
            Category::Line => "line",
        }
    }
}

impl Change {
    /// Its category.
    pub fn category(&self) -> Category {
        match self {
            Change::LostCall { .. } => Category::LostCall,
            Change::GainedCall { .. } => Category::GainedCall,
            Change::InlineCount { .. } => Category::InlineCount,
            Change::NewClone { .. } => Category::NewClone,
            Change::VanishedClone { .. } => Category::VanishedClone,
            Change::GainedReturn { .. } => Category::GainedReturn,
            Change::LostReturn { .. } => Category::LostReturn,
            Change::Blacklist { .. } => Category::Blacklist,
            Change::Line { .. } => Category::Line,
        }
    }
}

/// What changed for one function on one source line (a [`Change::Line`]
/// told as a difference).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineDelta<'a> {
    /// The function owns addresses of the line in b only (how many).
    Added(&'a str, usize),
    /// In a only (how many).
    Removed(&'a str, usize),
    /// In both, with another count of addresses (a, b).
    Count(&'a str, usize, usize),
}

/// The functions whose share of a source line changed, by name: what a
/// [`Change::Line`] says without repeating what stayed.
pub fn line_delta<'a>(
    before: &'a BTreeMap<String, usize>,
    after: &'a BTreeMap<String, usize>,
) -> Vec<LineDelta<'a>> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| match (before.get(name), after.get(name)) {
            (None, Some(&n)) => Some(LineDelta::Added(name, n)),
            (Some(&n), None) => Some(LineDelta::Removed(name, n)),
            (Some(&x), Some(&y)) if x != y => Some(LineDelta::Count(name, x, y)),
            _ => None,
        })
        .collect()
}

/// What changed between two surveys (and their line tables).
pub fn diff(
    a: &Survey,
    b: &Survey,
    lines_a: &BTreeMap<String, BTreeMap<String, usize>>,
    lines_b: &BTreeMap<String, BTreeMap<String, usize>>,
) -> Vec<Change> {
    fn map(s: &Survey) -> BTreeMap<&str, &FunctionSurvey> {
        s.functions.iter().map(|f| (f.name.as_str(), f)).collect()
    }
    let (ma, mb) = (map(a), map(b));
    let names: BTreeSet<&str> = ma.keys().chain(mb.keys()).copied().collect();
    let mut out = Vec::new();
    for name in names {
        let function = name.to_owned();
        let (fa, fb) = (ma.get(name).copied(), mb.get(name).copied());
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
