//! Debug information (DWARF 4 and 5): functions and their out-of-line
//! copies, inline instances, the line table, tail-call sites, and the
//! variables in scope at a pc with all their locations.
//!
//! Compilation units are parsed in parallel into compact summaries; the DIE
//! tree of one unit is walked again on demand for variables.

pub mod location;
mod sections;
mod units;
mod vars;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gimli::{AttributeValue, RunTimeEndian};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::interval::IntervalIndex;
use crate::load::Binary;
pub use location::{Location, LocationKind};
use units::{attr_addr, summarize};

type R = gimli::EndianReader<RunTimeEndian, sections::SectionRef>;

/// An out-of-line function with code (a compiler clone counts: its DWARF
/// name is the original function's).
#[derive(Clone, Debug, Serialize)]
pub struct DwarfFunction {
    /// The source name.
    pub name: String,
    /// The linkage name, if different.
    pub linkage_name: Option<String>,
    /// Code ranges.
    pub ranges: Vec<(u64, u64)>,
    /// Lowest address.
    pub low: u64,
    /// Declaring file.
    pub decl_file: Option<String>,
    /// Declaring line.
    pub decl_line: Option<u64>,
    #[serde(skip)]
    unit: usize,
}

/// An inline instance (`DW_TAG_inlined_subroutine`).
#[derive(Clone, Debug, Serialize)]
pub struct Inline {
    /// The inlined function's name.
    pub name: Arc<str>,
    /// Where a probe on the instance goes.
    pub entry: u64,
    /// Its code ranges.
    pub ranges: Vec<(u64, u64)>,
    /// The inlined function's declaring file.
    pub decl_file: Option<Arc<str>>,
    /// The call site's file.
    pub call_file: Option<Arc<str>>,
    /// The call site's line.
    pub call_line: Option<u64>,
    /// Nesting: 1 for an instance directly in a function.
    pub depth: u32,
    /// Index of the out-of-line function it is inlined into.
    pub function: Option<usize>,
    /// Its parameters, each with whether it has a location at the entry.
    pub params: Vec<(Arc<str>, bool)>,
}

impl Inline {
    /// Whether `pc` is in the instance.
    pub fn contains(&self, pc: u64) -> bool {
        self.ranges.iter().any(|&(a, b)| pc >= a && pc < b)
    }
}

/// One line-table row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LineRow {
    /// Address.
    pub address: u64,
    /// Index into [`DebugInfo::files`].
    pub file: u32,
    /// Line.
    pub line: u32,
    /// A recommended breakpoint location.
    pub is_stmt: bool,
}

/// A variable or parameter in scope at a pc.
#[derive(Clone, Debug, Serialize)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// A parameter rather than a local.
    pub parameter: bool,
    /// The function or inline instance whose scope it is in.
    pub scope: String,
    /// Every location valid at the pc (several when location lists
    /// overlap); `optimized-out` when there is none.
    pub locations: Vec<Location>,
    /// The size of its type in bytes, when DWARF gives it.
    #[serde(skip)]
    pub size: Option<u64>,
    /// The frame base of the function it is in (for `DW_OP_fbreg`).
    #[serde(skip)]
    pub frame_base: Option<location::FrameBase>,
}

/// A tail-call site from DWARF (`DW_TAG_call_site` with `DW_AT_call_tail_call`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TailCallSite {
    /// `DW_AT_call_pc`: the jump itself (DWARF 5), if given.
    pub pc: Option<u64>,
    /// `DW_AT_call_return_pc` / `DW_AT_low_pc`: the address after it.
    pub return_pc: Option<u64>,
}

/// Raw counts, comparable with another tool's view of the same DWARF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DwarfCounts {
    /// `DW_TAG_subprogram` DIEs with code (low_pc or ranges).
    pub subprograms_with_code: usize,
    /// `DW_TAG_inlined_subroutine` DIEs.
    pub inlined_subroutines: usize,
    /// Of those, the ones with code ranges (the `.inline` points).
    pub inline_instances_with_code: usize,
    /// Line-table rows with `is_stmt` (end-of-sequence rows not counted).
    pub is_stmt_rows: usize,
    /// `DW_TAG_call_site` / `DW_TAG_GNU_call_site` DIEs.
    pub call_sites: usize,
    /// Those marked as tail calls.
    pub tail_call_sites: usize,
}

/// A compilation unit that failed to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedUnit {
    /// Its offset in `.debug_info`.
    pub offset: u64,
    /// Why it failed (gimli's error).
    pub reason: String,
}

/// The DWARF of a binary.
pub struct DebugInfo {
    /// The file the DWARF came from (the binary or a separate debug file).
    pub source: PathBuf,
    /// Out-of-line functions with code, by address.
    pub functions: Vec<DwarfFunction>,
    /// Inline instances.
    pub inlines: Vec<Inline>,
    /// Line rows, by address.
    pub lines: Vec<LineRow>,
    /// Source files.
    pub files: Vec<String>,
    /// Tail-call sites.
    pub tail_calls: Vec<TailCallSite>,
    /// Raw counts.
    pub counts: DwarfCounts,
    /// The compilation units that failed to parse, which contribute
    /// nothing. Recorded, not reported: no command surfaces them yet (a
    /// warning would change the output of every command on such a file).
    pub skipped_units: Vec<SkippedUnit>,
    /// Readers into `_sections`: declared before it, so dropped first.
    dwarf: gimli::Dwarf<R>,
    _sections: Vec<sections::SectionBytes>,
    units: Vec<gimli::DebugInfoOffset>,
    arch: crate::arch::Arch,
    /// Function code ranges -> index into `functions`.
    function_index: IntervalIndex<usize>,
    /// Inline-instance ranges -> index into `inlines`.
    inline_index: IntervalIndex<usize>,
    /// Lowest address -> index into `functions`.
    by_low: HashMap<u64, usize>,
}

impl std::fmt::Debug for DebugInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebugInfo")
            .field("source", &self.source)
            .field("functions", &self.functions.len())
            .field("inlines", &self.inlines.len())
            .finish()
    }
}

/// What one compilation unit contributes.
#[derive(Default)]
struct UnitSummary {
    inline_dies: usize,
    call_sites: usize,
    names: HashMap<String, Arc<str>>,
    functions: Vec<DwarfFunction>,
    inlines: Vec<Inline>,
    /// (address, index into `files`, line, is_stmt).
    lines: Vec<(u64, u32, u32, bool)>,
    /// The unit's file names, by first use.
    files: Vec<String>,
    tail_calls: Vec<TailCallSite>,
}

fn bad(path: &Path, e: gimli::Error) -> Error {
    Error::BadSection {
        path: path.to_owned(),
        section: ".debug_info".into(),
        reason: e.to_string(),
    }
}

impl DebugInfo {
    /// Load the DWARF of `binary` (or of `debug_file`); `Ok(None)` when
    /// there is none.
    pub fn load(binary: &Binary, debug_file: Option<&Path>) -> Result<Option<DebugInfo>> {
        Self::load_with(binary, debug_file, &|_| {})
    }

    /// [`DebugInfo::load`], calling `unit_done` with the number of
    /// compilation units each time one is summarised (for a progress bar).
    pub fn load_with(
        binary: &Binary,
        debug_file: Option<&Path>,
        unit_done: &(dyn Fn(usize) + Sync),
    ) -> Result<Option<DebugInfo>> {
        let Some(sections) = sections::load(binary, debug_file)? else {
            return Ok(None);
        };
        let endian = if sections.big_endian {
            RunTimeEndian::Big
        } else {
            RunTimeEndian::Little
        };
        let empty = sections::SectionBytes::empty();
        let mut owned = vec![empty.clone()];
        let dwarf = gimli::Dwarf::load(|id| -> std::result::Result<R, gimli::Error> {
            let data = sections.data.get(id.name()).unwrap_or(&empty).clone();
            // SAFETY: `owned` goes into the DebugInfo with the Dwarf, in the
            // field dropped after it.
            let reader = unsafe { data.unowned() };
            owned.push(data);
            Ok(gimli::EndianReader::new(reader, endian))
        })
        .map_err(|e| bad(&sections.file, e))?;
        let mut headers = Vec::new();
        let mut iter = dwarf.units();
        // A hostile .debug_info can claim a huge number of units; bound it.
        while let Some(header) = iter.next().map_err(|e| bad(&sections.file, e))? {
            if let Some(offset) = header.offset().as_debug_info_offset() {
                headers.push(offset);
            }
            if headers.len() > 10_000_000 {
                break;
            }
        }
        let summaries: Vec<gimli::Result<UnitSummary>> = headers
            .par_iter()
            .enumerate()
            .map(|(i, &offset)| {
                let summary = summarize(&dwarf, offset, i);
                unit_done(headers.len());
                summary
            })
            .collect();
        let mut info = DebugInfo {
            source: sections.file.clone(),
            functions: Vec::new(),
            inlines: Vec::new(),
            lines: Vec::new(),
            files: Vec::new(),
            tail_calls: Vec::new(),
            counts: DwarfCounts::default(),
            skipped_units: Vec::new(),
            dwarf,
            _sections: owned,
            units: headers,
            arch: binary.arch,
            function_index: IntervalIndex::default(),
            inline_index: IntervalIndex::default(),
            by_low: HashMap::new(),
        };
        let mut file_index: HashMap<String, u32> = HashMap::new();
        for (s, offset) in summaries.into_iter().zip(&info.units) {
            // A unit that fails to parse contributes nothing (the others
            // stand on their own); it is recorded.
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    info.skipped_units.push(SkippedUnit {
                        offset: offset.0 as u64,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let base = info.functions.len();
            info.functions.extend(s.functions);
            info.inlines.extend(s.inlines.into_iter().map(|mut i| {
                i.function = i.function.map(|f| f + base);
                i
            }));
            // The unit's file table, mapped once onto the global one.
            let map: Vec<u32> = s
                .files
                .into_iter()
                .map(|file| {
                    let next = file_index.len() as u32;
                    *file_index.entry(file.clone()).or_insert_with(|| {
                        info.files.push(file);
                        next
                    })
                })
                .collect();
            info.lines.extend(
                s.lines
                    .into_iter()
                    .map(|(address, file, line, is_stmt)| LineRow {
                        address,
                        file: map[file as usize],
                        line,
                        is_stmt,
                    }),
            );
            info.tail_calls.extend(s.tail_calls);
            info.counts.inlined_subroutines += s.inline_dies;
            info.counts.call_sites += s.call_sites;
        }
        // Sort functions, keeping inline parents pointing at the right one.
        let mut order: Vec<usize> = (0..info.functions.len()).collect();
        order.sort_by_key(|&i| (info.functions[i].low, i));
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut functions: Vec<Option<DwarfFunction>> =
            info.functions.drain(..).map(Some).collect();
        info.functions = order
            .iter()
            .map(|&i| functions[i].take().expect("each once"))
            .collect();
        for inline in &mut info.inlines {
            inline.function = inline.function.map(|f| new_index[f]);
        }
        info.counts.subprograms_with_code = info.functions.len();
        info.counts.inline_instances_with_code = info.inlines.len();
        info.counts.is_stmt_rows = info.lines.iter().filter(|r| r.is_stmt).count();
        info.counts.tail_call_sites = info.tail_calls.len();
        let (inlines, lines) = (&mut info.inlines, &mut info.lines);
        rayon::join(
            || inlines.par_sort_unstable_by_key(|i| (i.entry, i.depth, i.ranges.first().copied())),
            // Stable, by address only: rows at one address keep the line
            // program's order, and the last of them is the one in effect.
            || lines.par_sort_by_key(|r| r.address),
        );
        let ranges = |items: &[(usize, &Vec<(u64, u64)>)]| -> Vec<(u64, u64, usize)> {
            items
                .iter()
                .flat_map(|&(i, r)| r.iter().map(move |&(a, b)| (a, b, i)))
                .collect()
        };
        let functions: Vec<(usize, &Vec<(u64, u64)>)> = info
            .functions
            .iter()
            .map(|f| &f.ranges)
            .enumerate()
            .collect();
        let inlines: Vec<(usize, &Vec<(u64, u64)>)> =
            info.inlines.iter().map(|f| &f.ranges).enumerate().collect();
        let (function_index, inline_index) = rayon::join(
            || IntervalIndex::new(ranges(&functions)),
            || IntervalIndex::new(ranges(&inlines)),
        );
        info.function_index = function_index;
        info.inline_index = inline_index;
        for (i, f) in info.functions.iter().enumerate() {
            info.by_low.entry(f.low).or_insert(i);
        }
        Ok(Some(info))
    }

    /// The file name of a line row.
    pub fn file(&self, row: &LineRow) -> &str {
        self.files
            .get(row.file as usize)
            .map_or("?", String::as_str)
    }

    /// The line rows at exactly `pc`, in the line program's order (the last
    /// one is in effect).
    pub fn rows_at(&self, pc: u64) -> &[LineRow] {
        let start = self.lines.partition_point(|r| r.address < pc);
        let end = self.lines.partition_point(|r| r.address <= pc);
        &self.lines[start..end]
    }

    /// The row that covers `pc` (the last row at or before it).
    pub fn row_for(&self, pc: u64) -> Option<&LineRow> {
        let i = self.lines.partition_point(|r| r.address <= pc);
        self.lines[..i].last()
    }

    /// The inline instances that contain `pc`, outermost first.
    pub fn inline_chain(&self, pc: u64) -> Vec<&Inline> {
        let mut chain: Vec<&Inline> = self
            .inline_index
            .query(pc)
            .map(|&i| &self.inlines[i])
            .collect();
        chain.sort_by_key(|i| i.depth);
        chain.dedup_by_key(|i| (i.entry, i.depth, i.name.clone()));
        chain
    }

    /// The out-of-line function whose code contains `pc`.
    pub fn function_at(&self, pc: u64) -> Option<&DwarfFunction> {
        self.function_index
            .query(pc)
            .map(|&i| &self.functions[i])
            .min_by_key(|f| f.low)
    }

    /// The out-of-line function that starts at `low`.
    pub fn function_starting_at(&self, low: u64) -> Option<&DwarfFunction> {
        self.by_low.get(&low).map(|&i| &self.functions[i])
    }

    /// Every variable and parameter in scope at `pc`, innermost scope last.
    pub fn variables_at(&self, pc: u64) -> Vec<Variable> {
        let Some(function) = self.function_at(pc) else {
            return Vec::new();
        };
        let Some(&offset) = self.units.get(function.unit) else {
            return Vec::new();
        };
        let Ok(header) = self.dwarf.debug_info.header_from_offset(offset) else {
            return Vec::new();
        };
        let Ok(unit) = self.dwarf.unit(header) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Ok(mut tree) = unit.entries_tree(None) else {
            return out;
        };
        if let Ok(root) = tree.root() {
            let _ = self.collect_vars(&unit, root, pc, (None, None), &mut out, 0);
        }
        out
    }

    /// How many arguments the call that returns to `return_pc` passes, from
    /// its `DW_TAG_call_site` (the formal parameters of its
    /// `DW_AT_call_origin`). `None` when DWARF does not say (no call-site
    /// information, as at -O0, or an indirect call).
    pub fn call_arity(&self, return_pc: u64) -> Option<usize> {
        let function = self.function_at(return_pc.wrapping_sub(1))?;
        let offset = *self.units.get(function.unit)?;
        let header = self.dwarf.debug_info.header_from_offset(offset).ok()?;
        let unit = self.dwarf.unit(header).ok()?;
        let mut entries = unit.entries();
        while let Ok(Some((_, entry))) = entries.next_dfs() {
            if !matches!(
                entry.tag(),
                gimli::DW_TAG_call_site | gimli::DW_TAG_GNU_call_site
            ) {
                continue;
            }
            let ret = attr_addr(&self.dwarf, &unit, entry, gimli::DW_AT_call_return_pc)
                .or_else(|| attr_addr(&self.dwarf, &unit, entry, gimli::DW_AT_low_pc));
            if ret != Some(return_pc) {
                continue;
            }
            let origin = [gimli::DW_AT_call_origin, gimli::DW_AT_abstract_origin]
                .iter()
                .find_map(|&at| match entry.attr_value(at) {
                    Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
                    _ => None,
                })?;
            let mut tree = unit.entries_tree(Some(origin)).ok()?;
            let root = tree.root().ok()?;
            let mut children = root.children();
            let mut n = 0;
            while let Ok(Some(child)) = children.next() {
                if child.entry().tag() == gimli::DW_TAG_formal_parameter {
                    n += 1;
                }
            }
            return Some(n);
        }
        None
    }
}
