//! Point specs resolved against a binary: the [`Selection`] of points to
//! analyse, grouped by function.

use std::collections::{BTreeMap, BTreeSet};

use super::Analyzer;
use crate::debuginfo::DebugInfo;
use crate::error::{Error, Result};
use crate::load::Function;
use crate::point::{file_matches, glob_match, PointSpec, Probe};

/// What to analyse in one function.
#[derive(Clone, Debug, Default)]
pub(super) struct Wanted {
    /// Every instruction boundary.
    pub(super) all: bool,
    /// Every exit (for `.return`).
    pub(super) exits: bool,
    /// These addresses.
    pub(super) points: BTreeSet<u64>,
    /// These addresses past the function's ELF size that a kernel's
    /// kallsyms still attributes to it (see [`Binary::kallsyms_end`]).
    pub(super) past: BTreeSet<u64>,
}

impl Wanted {
    fn merge(&mut self, other: Wanted) {
        self.all |= other.all;
        self.exits |= other.exits;
        self.points.extend(other.points);
        self.past.extend(other.past);
    }
}

/// The points selected for analysis, grouped by function.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub(super) by_function: BTreeMap<usize, Wanted>,
}

impl Selection {
    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.by_function.is_empty()
    }

    /// The indexes (into `Binary::functions`) of the selected functions,
    /// in order.
    pub fn functions(&self) -> impl Iterator<Item = usize> + '_ {
        self.by_function.keys().copied()
    }

    /// Keep only the functions for which `keep` (given the function's
    /// index) is true: a shard, or what a checkpoint has not done yet.
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        self.by_function.retain(|&i, _| keep(i));
    }

    /// Add everything `other` selects.
    pub fn merge(&mut self, other: Selection) {
        for (i, wanted) in other.by_function {
            self.by_function.entry(i).or_default().merge(wanted);
        }
    }
}

impl Analyzer<'_> {
    /// Functions whose name (or alias) matches a glob.
    pub fn matching_functions(&self, pattern: &str) -> Vec<usize> {
        self.binary
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.names().any(|n| glob_match(pattern, n)))
            .map(|(i, _)| i)
            .collect()
    }

    fn function_index_at(&self, addr: u64) -> Result<usize> {
        let f = self
            .binary
            .function_at(addr)
            .ok_or_else(|| Error::OutsideFunction {
                path: self.binary.path.clone(),
                address: addr,
            })?;
        Ok(self
            .binary
            .functions
            .iter()
            .position(|g| std::ptr::eq(g, f))
            .expect("function_at returns one of the functions"))
    }

    /// Select every instruction boundary of every function, or of the
    /// functions matching one of `globs`.
    pub fn select_all(&self, selection: &mut Selection, globs: &[String]) -> Result<()> {
        if globs.is_empty() {
            for i in 0..self.binary.functions.len() {
                selection.by_function.entry(i).or_default().all = true;
            }
            return Ok(());
        }
        for glob in globs {
            let found = self.matching_functions(glob);
            if found.is_empty() {
                return Err(self.unknown(glob));
            }
            for i in found {
                selection.by_function.entry(i).or_default().all = true;
            }
        }
        Ok(())
    }

    /// Add the points of each spec that resolves, each spec wholly or not
    /// at all; returns the index and the error of every spec that does not
    /// (one bad spec does not sink a batch).
    pub fn select_each<'s>(
        &self,
        selection: &mut Selection,
        specs: impl IntoIterator<Item = &'s PointSpec>,
    ) -> Vec<(usize, Error)> {
        let mut failed = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let mut one = Selection::default();
            match self.select(&mut one, spec) {
                Ok(()) => selection.merge(one),
                Err(e) => failed.push((i, e)),
            }
        }
        failed
    }

    /// [`Analyzer::select_all`] glob by glob: the error of each glob that
    /// matches no function, with its index.
    pub fn select_all_each(
        &self,
        selection: &mut Selection,
        globs: &[String],
    ) -> Vec<(usize, Error)> {
        if globs.is_empty() {
            // Every function: cannot fail.
            let _ = self.select_all(selection, globs);
            return Vec::new();
        }
        let mut failed = Vec::new();
        for (i, glob) in globs.iter().enumerate() {
            if let Err(e) = self.select_all(selection, std::slice::from_ref(glob)) {
                failed.push((i, e));
            }
        }
        failed
    }

    fn unknown(&self, name: &str) -> Error {
        Error::UnknownSymbol {
            path: self.binary.path.clone(),
            name: name.to_owned(),
        }
    }

    /// Add the points a spec names.
    pub fn select(&self, selection: &mut Selection, spec: &PointSpec) -> Result<()> {
        let mut add = |addr: u64| self.add_point(selection, addr);
        match spec {
            PointSpec::Address(a) => add(*a),
            PointSpec::Symbol { name, offset } => {
                let functions: Vec<&Function> = self
                    .binary
                    .functions
                    .iter()
                    .filter(|f| f.has_name(name))
                    .collect();
                if functions.is_empty() {
                    let sym = self
                        .binary
                        .symbols
                        .iter()
                        .find(|s| s.name == *name && !s.undefined)
                        .ok_or_else(|| self.unknown(name))?;
                    let addr = sym
                        .address
                        .checked_add(offset.unwrap_or(0))
                        .ok_or_else(|| Error::BadSpec {
                            spec: spec.to_string(),
                            reason: "address overflows".into(),
                        })?;
                    return add(addr);
                }
                for f in functions {
                    let addr = match offset {
                        None | Some(0) => f.entry,
                        Some(o) if *o < f.size.max(1) => f.address + o,
                        Some(o) => {
                            // A kernel accepts every byte up to the next
                            // symbol (kallsyms).
                            let past = f.address.checked_add(*o).filter(|&a| {
                                self.binary
                                    .kallsyms_end(f)
                                    .is_some_and(|(end, _)| a >= f.end() && a < end)
                            });
                            let Some(addr) = past else {
                                return Err(Error::OffsetPastEnd {
                                    path: self.binary.path.clone(),
                                    spec: spec.to_string(),
                                    offset: *o,
                                    function: f.name.clone(),
                                    size: f.size,
                                });
                            };
                            self.add_past_point(selection, f, addr);
                            continue;
                        }
                    };
                    self.add_point(selection, addr)?;
                }
                Ok(())
            }
            PointSpec::Function {
                pattern,
                file,
                probe,
            } => self.select_function(selection, spec, pattern, file.as_deref(), *probe),
            PointSpec::Statement {
                function,
                file,
                line,
            } => {
                let debug = self.needs_debug(spec)?;
                let mut found = false;
                for row in debug.lines.iter().filter(|r| r.is_stmt && r.line == *line) {
                    if !file_matches(file, debug.file(row)) {
                        continue;
                    }
                    let Some(owner) = self.binary.function_at(row.address) else {
                        continue;
                    };
                    let dwarf_name = debug.function_at(row.address).map(|f| f.name.as_str());
                    if function != "*"
                        && !owner.names().any(|n| glob_match(function, n))
                        && !dwarf_name.is_some_and(|n| glob_match(function, n))
                    {
                        continue;
                    }
                    self.add_point(selection, row.address)?;
                    found = true;
                }
                if !found {
                    return Err(Error::BadSpec {
                        spec: spec.to_string(),
                        reason: format!(
                            "no is_stmt line-table row for {file}:{line} in {}",
                            debug.source.display()
                        ),
                    });
                }
                Ok(())
            }
        }
    }

    /// Select one address past the ELF size of `function`, which kallsyms
    /// attributes to it.
    fn add_past_point(&self, selection: &mut Selection, function: &Function, addr: u64) {
        let i = self
            .binary
            .functions
            .iter()
            .position(|g| std::ptr::eq(g, function))
            .expect("one of the binary's functions");
        selection
            .by_function
            .entry(i)
            .or_default()
            .past
            .insert(addr);
    }

    /// Select one address, in the function that contains it (in a kernel
    /// image, past a function's ELF size too: see [`Binary::kallsyms_owner`]).
    fn add_point(&self, selection: &mut Selection, addr: u64) -> Result<()> {
        let i = match self.function_index_at(addr) {
            Ok(i) => i,
            Err(e) => {
                let Some(i) = self.binary.kallsyms_owner(addr) else {
                    return Err(e);
                };
                self.add_past_point(selection, &self.binary.functions[i], addr);
                return Ok(());
            }
        };
        selection
            .by_function
            .entry(i)
            .or_default()
            .points
            .insert(addr);
        Ok(())
    }

    fn needs_debug(&self, spec: &PointSpec) -> Result<&DebugInfo> {
        self.debug.as_deref().ok_or_else(|| Error::NoDebugInfo {
            path: self.binary.path.clone(),
            spec: spec.to_string(),
        })
    }

    fn select_function(
        &self,
        selection: &mut Selection,
        spec: &PointSpec,
        pattern: &str,
        file: Option<&str>,
        probe: Probe,
    ) -> Result<()> {
        let debug = self.debug.as_deref();
        if file.is_some() || probe == Probe::Inline {
            self.needs_debug(spec)?;
        }
        // Functions by symbol name, and (with DWARF) by source name: a
        // compiler clone `f.isra.0` is an out-of-line copy of `f`.
        let mut found: BTreeSet<usize> = BTreeSet::new();
        if file.is_none() {
            found.extend(self.matching_functions(pattern));
        }
        if let Some(debug) = debug {
            for f in debug
                .functions
                .iter()
                .filter(|f| glob_match(pattern, &f.name))
            {
                if file.is_some_and(|file| {
                    !f.decl_file
                        .as_deref()
                        .is_some_and(|d| file_matches(file, d))
                }) {
                    continue;
                }
                if let Ok(i) = self.function_index_at(f.low) {
                    found.insert(i);
                }
            }
        }
        match probe {
            Probe::Inline => {
                let debug = self.needs_debug(spec)?;
                let mut any = false;
                for inline in debug
                    .inlines
                    .iter()
                    .filter(|i| glob_match(pattern, &i.name))
                {
                    if file.is_some_and(|file| {
                        !inline
                            .decl_file
                            .as_deref()
                            .is_some_and(|d| file_matches(file, d))
                    }) {
                        continue;
                    }
                    self.add_point(selection, inline.entry)?;
                    any = true;
                }
                if !any {
                    return Err(self.unknown(&format!("{pattern} (no inline instance)")));
                }
                return Ok(());
            }
            _ if found.is_empty() => return Err(self.unknown(pattern)),
            _ => {}
        }
        for i in found {
            let wanted = selection.by_function.entry(i).or_default();
            match probe {
                Probe::Call => {
                    wanted.points.insert(self.binary.functions[i].entry);
                }
                Probe::Return => wanted.exits = true,
                Probe::Inline => unreachable!("handled above"),
            }
        }
        Ok(())
    }
}
