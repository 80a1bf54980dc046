//! Point specs in batches: one bad spec does not sink the others.
//!
//! As grep and ripgrep do with files, every spec that resolves is
//! reported, each one that does not gets one line on stderr (naming the
//! spec and the error) and a place in the report's `unresolved` list, and
//! the run exits 2 at the end.

use std::path::Path;

use probesafe::analyze::{Analyzer, Selection};
use probesafe::point::PointSpec;
use probesafe::report::Unresolved;

/// A spec that parsed.
#[derive(Debug)]
struct Item {
    /// Its position among the specs given.
    index: usize,
    /// The text as given.
    text: String,
    /// What errors about it start with (`FILE:LINE: ` for a spec file).
    prefix: String,
    spec: PointSpec,
}

/// Specs as given, with those that failed so far.
#[derive(Debug, Default)]
pub(super) struct Specs {
    /// The specs that parsed (and resolved, once [`Specs::select`] ran).
    good: Vec<Item>,
    /// The ones that did not, with their position.
    bad: Vec<(usize, Unresolved)>,
}

impl Specs {
    /// Parse specs given on the command line.
    pub fn parse(raw: &[String]) -> Specs {
        let mut specs = Specs::default();
        for (i, text) in raw.iter().enumerate() {
            match text.parse::<PointSpec>() {
                Ok(spec) => specs.good.push(Item {
                    index: i,
                    text: text.clone(),
                    prefix: String::new(),
                    spec,
                }),
                Err(e) => specs.fail(i, text, &e.to_string()),
            }
        }
        specs
    }

    /// Parse the lines of a spec file: `(line number, text)`; errors name
    /// the file and the line.
    pub fn parse_lines(path: &Path, lines: &[(usize, String)]) -> Specs {
        let mut specs = Specs::default();
        for (i, (number, text)) in lines.iter().enumerate() {
            let prefix = format!("{}:{number}: ", path.display());
            match text.parse::<PointSpec>() {
                Ok(spec) => specs.good.push(Item {
                    index: i,
                    text: text.clone(),
                    prefix,
                    spec,
                }),
                Err(e) => specs.fail(i, text, &format!("{prefix}{e}")),
            }
        }
        specs
    }

    /// Specs that need no parsing (from a report), each with its text.
    pub fn of(specs: Vec<PointSpec>) -> Specs {
        Specs {
            good: specs
                .into_iter()
                .enumerate()
                .map(|(index, spec)| Item {
                    index,
                    text: spec.to_string(),
                    prefix: String::new(),
                    spec,
                })
                .collect(),
            bad: Vec::new(),
        }
    }

    /// Add specs derived from the given ones (they come last).
    pub fn extend(&mut self, specs: Vec<PointSpec>) {
        self.good.extend(specs.into_iter().map(|spec| Item {
            index: usize::MAX,
            text: spec.to_string(),
            prefix: String::new(),
            spec,
        }));
    }

    /// Add a spec that failed.
    pub fn fail(&mut self, index: usize, spec: &str, error: &str) {
        self.bad.push((
            index,
            Unresolved {
                spec: spec.to_owned(),
                error: error.to_owned(),
            },
        ));
    }

    /// The specs that parsed and resolved so far.
    pub fn specs(&self) -> Vec<PointSpec> {
        self.good.iter().map(|item| item.spec.clone()).collect()
    }

    /// Whether no spec was given at all.
    pub fn is_empty(&self) -> bool {
        self.good.is_empty() && self.bad.is_empty()
    }

    /// Select each spec that resolves into `selection`; the others move to
    /// the unresolved ones.
    pub fn select(&mut self, analyzer: &Analyzer<'_>, selection: &mut Selection) {
        let failed = analyzer.select_each(selection, self.good.iter().map(|item| &item.spec));
        let mut failed = failed.into_iter().peekable();
        let mut kept = Vec::new();
        for (n, item) in std::mem::take(&mut self.good).into_iter().enumerate() {
            match failed.next_if(|(k, _)| *k == n) {
                Some((_, e)) => self.fail(item.index, &item.text, &format!("{}{e}", item.prefix)),
                None => kept.push(item),
            }
        }
        self.good = kept;
    }

    /// The unresolved specs, in the order given.
    pub fn unresolved(&self) -> Vec<Unresolved> {
        let mut bad = self.bad.clone();
        bad.sort_by_key(|(i, _)| *i);
        bad.into_iter().map(|(_, u)| u).collect()
    }

    /// One line on stderr per unresolved spec, naming the spec and the
    /// error.
    pub fn print_unresolved(&self) {
        print_unresolved(&self.unresolved());
    }
}

/// One line on stderr per unresolved spec, naming the spec and the error.
pub(super) fn print_unresolved(unresolved: &[Unresolved]) {
    for u in unresolved {
        eprintln!("probesafe: error: {}", line(u));
    }
}

/// The error, prefixed with the spec unless it already names it.
fn line(u: &Unresolved) -> String {
    if u.error.contains(&u.spec) {
        u.error.clone()
    } else {
        format!("{}: {}", u.spec, u.error)
    }
}
