//! What changed between two builds: the survey of each, and their line
//! tables.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::Serialize;

use super::{clone_base, Survey, Totals};
use crate::debuginfo::DebugInfo;
use crate::load::Binary;
use crate::report::BinaryInfo;

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

/// What [`diff`] needs of one function's survey.
#[derive(Clone, Debug)]
struct Brief {
    /// It has an out-of-line copy (a `.call` point).
    calls: bool,
    /// Its inline instances.
    inlines: usize,
    /// The suffixes of its clones.
    clones: BTreeSet<String>,
    /// A return probe is possible.
    return_probe: bool,
    /// The blacklist covers a copy.
    blacklisted: bool,
}

/// One build as [`diff`] compares it: the binary and totals of its survey,
/// each function in brief, and its line map. Much smaller than the survey
/// (no inline sites), so the first build's can be held while the second is
/// surveyed.
#[derive(Clone, Debug)]
pub struct Side {
    /// The binary.
    pub binary: BinaryInfo,
    /// The survey's totals.
    pub totals: Totals,
    /// Per function, by name.
    functions: BTreeMap<String, Brief>,
    /// Its source lines.
    lines: LineMap,
}

impl Side {
    /// A build from its survey and line map (empty without DWARF).
    pub fn new(survey: Survey, lines: LineMap) -> Side {
        let functions = survey
            .functions
            .into_iter()
            .map(|f| {
                let brief = Brief {
                    calls: !f.out_of_line.is_empty(),
                    inlines: f.inline_instances.len(),
                    clones: f.out_of_line.into_iter().filter_map(|c| c.clone).collect(),
                    return_probe: f.return_probe,
                    blacklisted: f.blacklisted,
                };
                (f.name, brief)
            })
            .collect();
        Side {
            binary: survey.binary,
            totals: survey.totals,
            functions,
            lines,
        }
    }
}

/// The `is_stmt` addresses of every source line, counted per owning
/// function (the DWARF function containing the address, else the symbol's
/// name without its clone suffix, else `?`), from [`line_map`]: names once
/// each, and one row of four numbers per line and owner.
#[derive(Clone, Debug, Default)]
pub struct LineMap {
    /// File names, sorted, each once.
    files: Vec<String>,
    /// Owner names, sorted, each once.
    owners: Vec<String>,
    /// (file, line, owner, addresses), sorted; file and owner index the
    /// tables above, so the order is by name.
    rows: Vec<[u32; 4]>,
}

impl LineMap {
    /// Each source line: its file, its number and its (owner, count) rows.
    fn lines(&self) -> impl Iterator<Item = (&str, u32, &[[u32; 4]])> {
        self.rows
            .chunk_by(|x, y| x[..2] == y[..2])
            .map(|g| (name(&self.files, g[0][0]), g[0][1], g))
    }

    /// Owner name and count of each row of a line.
    fn owners<'a>(&'a self, rows: &'a [[u32; 4]]) -> impl Iterator<Item = (&'a str, usize)> {
        rows.iter()
            .map(|r| (name(&self.owners, r[2]), r[3] as usize))
    }
}

/// The name at `index` in a table of [`LineMap`] (`?` if none).
fn name(table: &[String], index: u32) -> &str {
    table.get(index as usize).map_or("?", String::as_str)
}

/// What changed between two builds.
pub fn diff(a: &Side, b: &Side) -> Vec<Change> {
    let (ma, mb) = (&a.functions, &b.functions);
    let names: BTreeSet<&str> = ma.keys().chain(mb.keys()).map(String::as_str).collect();
    let mut out = Vec::new();
    for name in names {
        let function = name.to_owned();
        let (fa, fb) = (ma.get(name), mb.get(name));
        let calls = |f: Option<&Brief>| f.is_some_and(|f| f.calls);
        let inlines = |f: Option<&Brief>| f.map_or(0, |f| f.inlines);
        let ret = |f: Option<&Brief>| f.is_some_and(|f| f.return_probe);
        let empty = BTreeSet::new();
        let clones = |f: Option<&'_ Brief>| f.map_or(&empty, |f| &f.clones).clone();
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
        let bl = |f: Option<&Brief>| f.is_some_and(|f| f.blacklisted);
        if bl(fa) != bl(fb) && fa.is_some() && fb.is_some() {
            out.push(Change::Blacklist {
                function,
                blacklisted: bl(fb),
            });
        }
    }
    // The lines of both, walked together by (file, line).
    let (mut la, mut lb) = (a.lines.lines().peekable(), b.lines.lines().peekable());
    loop {
        let order = match (la.peek(), lb.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => (x.0, x.1).cmp(&(y.0, y.1)),
        };
        let (x, y) = match order {
            Ordering::Less => (la.next(), None),
            Ordering::Greater => (None, lb.next()),
            Ordering::Equal => (la.next(), lb.next()),
        };
        let same = match (x, y) {
            (Some(x), Some(y)) => a.lines.owners(x.2).eq(b.lines.owners(y.2)),
            _ => false,
        };
        if same {
            continue;
        }
        let (file, line) = x.or(y).map(|l| (l.0, l.1)).unwrap_or_default();
        let map = |side: &LineMap, l: Option<(&str, u32, &[[u32; 4]])>| {
            l.map(|l| {
                side.owners(l.2)
                    .map(|(o, n)| (o.to_owned(), n))
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default()
        };
        out.push(Change::Line {
            line: format!("{file}:{line}"),
            before: map(&a.lines, x),
            after: map(&b.lines, y),
        });
    }
    out
}

/// The `is_stmt` addresses of every source line, counted per owning
/// function, for [`diff`].
pub fn line_map(binary: &Binary, debug: &DebugInfo) -> LineMap {
    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.par_sort_unstable();
        v.dedup();
        v
    }
    let files = sorted(
        debug
            .files
            .iter()
            .map(String::as_str)
            .chain(["?"])
            .collect(),
    );
    let owners = sorted(
        debug
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .chain(binary.functions.iter().map(|f| clone_base(&f.name).0))
            .chain(["?"])
            .collect(),
    );
    let index = |table: &[&str], name: &str| {
        table
            .binary_search(&name)
            .map_or(u32::MAX, |i| u32::try_from(i).unwrap_or(u32::MAX))
    };
    let mut rows: Vec<[u32; 3]> = debug
        .lines
        .par_iter()
        .filter(|r| r.is_stmt)
        .map(|row| {
            let owner = debug
                .function_at(row.address)
                .map(|f| f.name.as_str())
                .or_else(|| {
                    binary
                        .function_at(row.address)
                        .map(|f| clone_base(&f.name).0)
                })
                .unwrap_or("?");
            [
                index(&files, debug.file(row)),
                row.line,
                index(&owners, owner),
            ]
        })
        .collect();
    rows.par_sort_unstable();
    let rows = rows
        .chunk_by(|x, y| x == y)
        .map(|g| {
            let [file, line, owner] = g[0];
            [
                file,
                line,
                owner,
                u32::try_from(g.len()).unwrap_or(u32::MAX),
            ]
        })
        .collect();
    LineMap {
        files: files.into_iter().map(str::to_owned).collect(),
        owners: owners.into_iter().map(str::to_owned).collect(),
        rows,
    }
}
