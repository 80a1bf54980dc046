//! Debug information (DWARF 4 and 5): functions and their out-of-line
//! copies, inline instances, the line table, tail-call sites, and the
//! variables in scope at a pc with all their locations.
//!
//! Compilation units are parsed in parallel into compact summaries; the DIE
//! tree of one unit is walked again on demand for variables.

pub mod location;
mod sections;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gimli::{AttributeValue, DebuggingInformationEntry, Reader, RunTimeEndian, Unit};
use rayon::prelude::*;
use serde::Serialize;

use crate::arch::spec;
use crate::error::{Error, Result};
use crate::interval::IntervalIndex;
use crate::load::Binary;
pub use location::{Location, LocationKind};

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
        let summaries: Vec<UnitSummary> = headers
            .par_iter()
            .enumerate()
            .map(|(i, &offset)| summarize(&dwarf, offset, i).unwrap_or_default())
            .collect();
        let mut info = DebugInfo {
            source: sections.file.clone(),
            functions: Vec::new(),
            inlines: Vec::new(),
            lines: Vec::new(),
            files: Vec::new(),
            tail_calls: Vec::new(),
            counts: DwarfCounts::default(),
            dwarf,
            _sections: owned,
            units: headers,
            arch: binary.arch,
            function_index: IntervalIndex::default(),
            inline_index: IntervalIndex::default(),
            by_low: HashMap::new(),
        };
        let mut file_index: HashMap<String, u32> = HashMap::new();
        for s in summaries {
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

    fn collect_vars(
        &self,
        unit: &Unit<R>,
        node: gimli::EntriesTreeNode<'_, '_, '_, R>,
        pc: u64,
        (scope, frame_base): (Option<&str>, Option<location::FrameBase>),
        out: &mut Vec<Variable>,
        depth: u32,
    ) -> gimli::Result<()> {
        if depth > 64 {
            return Ok(());
        }
        let entry = node.entry().clone();
        let tag = entry.tag();
        let in_scope = matches!(
            tag,
            gimli::DW_TAG_subprogram
                | gimli::DW_TAG_inlined_subroutine
                | gimli::DW_TAG_lexical_block
        );
        let mut scope_name = scope.map(str::to_owned);
        let mut frame_base = frame_base;
        if tag == gimli::DW_TAG_subprogram {
            if let Ok(Some(AttributeValue::Exprloc(expr))) =
                entry.attr_value(gimli::DW_AT_frame_base)
            {
                frame_base = location::frame_base(expr.0, unit.encoding());
            }
        }
        if in_scope {
            if !self.contains(unit, &entry, pc) {
                return Ok(());
            }
            if tag != gimli::DW_TAG_lexical_block {
                scope_name =
                    Some(name_of(&self.dwarf, unit, &entry, 0).unwrap_or_else(|| "?".into()));
            }
        }
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let ctag = child.entry().tag();
            if in_scope
                && matches!(
                    ctag,
                    gimli::DW_TAG_formal_parameter | gimli::DW_TAG_variable
                )
            {
                let e = child.entry().clone();
                out.push(self.variable(
                    unit,
                    &e,
                    pc,
                    scope_name.as_deref().unwrap_or("?"),
                    frame_base,
                ));
            } else if matches!(
                ctag,
                gimli::DW_TAG_subprogram
                    | gimli::DW_TAG_inlined_subroutine
                    | gimli::DW_TAG_lexical_block
                    | gimli::DW_TAG_namespace
            ) {
                self.collect_vars(
                    unit,
                    child,
                    pc,
                    (scope_name.as_deref(), frame_base),
                    out,
                    depth + 1,
                )?;
            }
        }
        Ok(())
    }

    fn contains(
        &self,
        unit: &Unit<R>,
        entry: &DebuggingInformationEntry<'_, '_, R>,
        pc: u64,
    ) -> bool {
        let Ok(mut ranges) = self.dwarf.die_ranges(unit, entry) else {
            return false;
        };
        while let Ok(Some(r)) = ranges.next() {
            if pc >= r.begin && pc < r.end {
                return true;
            }
        }
        false
    }

    fn variable(
        &self,
        unit: &Unit<R>,
        entry: &DebuggingInformationEntry<'_, '_, R>,
        pc: u64,
        scope: &str,
        frame_base: Option<location::FrameBase>,
    ) -> Variable {
        let spec = spec(self.arch);
        let name = name_of(&self.dwarf, unit, entry, 0).unwrap_or_else(|| "?".into());
        let parameter = entry.tag() == gimli::DW_TAG_formal_parameter;
        let mut locations = Vec::new();
        match entry.attr_value(gimli::DW_AT_location) {
            Ok(Some(AttributeValue::Exprloc(expr))) => {
                locations.push(location::describe(expr.0, unit.encoding(), spec, None));
            }
            Ok(Some(attr)) => {
                if let Ok(Some(mut list)) = self.dwarf.attr_locations(unit, attr) {
                    while let Ok(Some(l)) = list.next() {
                        if pc >= l.range.begin && pc < l.range.end {
                            locations.push(location::describe(
                                l.data.0,
                                unit.encoding(),
                                spec,
                                Some((l.range.begin, l.range.end)),
                            ));
                        }
                    }
                }
            }
            _ => {
                if let Ok(Some(value)) = entry.attr_value(gimli::DW_AT_const_value) {
                    let text = match value {
                        AttributeValue::Sdata(v) => v.to_string(),
                        AttributeValue::Udata(v) => v.to_string(),
                        AttributeValue::Data1(v) => v.to_string(),
                        AttributeValue::Data2(v) => v.to_string(),
                        AttributeValue::Data4(v) => v.to_string(),
                        AttributeValue::Data8(v) => v.to_string(),
                        _ => "a constant".into(),
                    };
                    locations.push(Location {
                        kind: LocationKind::Constant,
                        text,
                        range: None,
                        place: None,
                    });
                }
            }
        }
        if locations.is_empty() {
            locations.push(Location {
                kind: LocationKind::OptimizedOut,
                text: "no location at this pc".into(),
                range: None,
                place: None,
            });
        }
        Variable {
            name,
            parameter,
            scope: scope.to_owned(),
            locations,
            size: type_size(unit, entry, 0),
            frame_base,
        }
    }
}

/// The byte size of a variable's type: `DW_AT_type` (through the abstract
/// origin of a concrete instance), through typedefs and qualifiers.
fn type_size(
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    depth: u32,
) -> Option<u64> {
    if depth > 16 {
        return None;
    }
    if let Some(size) = attr_udata(entry, gimli::DW_AT_byte_size) {
        return Some(size);
    }
    for at in [gimli::DW_AT_type, gimli::DW_AT_abstract_origin] {
        if let Ok(Some(AttributeValue::UnitRef(offset))) = entry.attr_value(at) {
            if let Ok(next) = unit.entry(offset) {
                return type_size(unit, &next, depth + 1);
            }
        }
    }
    None
}

/// A DIE's name, following `DW_AT_abstract_origin` and `DW_AT_specification`.
fn name_of(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    depth: u32,
) -> Option<String> {
    if let Ok(Some(attr)) = entry.attr_value(gimli::DW_AT_name) {
        if let Ok(s) = dwarf.attr_string(unit, attr) {
            return Some(s.to_string_lossy().ok()?.into_owned());
        }
    }
    if depth > 4 {
        return None;
    }
    for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        if let Ok(Some(AttributeValue::UnitRef(offset))) = entry.attr_value(at) {
            if let Ok(origin) = unit.entry(offset) {
                return name_of(dwarf, unit, &origin, depth + 1);
            }
        }
    }
    None
}

fn linkage_name_of(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
) -> Option<String> {
    for at in [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name] {
        if let Ok(Some(attr)) = entry.attr_value(at) {
            if let Ok(s) = dwarf.attr_string(unit, attr) {
                return s.to_string_lossy().ok().map(|s| s.into_owned());
            }
        }
    }
    None
}

/// The path of file `index` of a unit's line program.
fn file_name(dwarf: &gimli::Dwarf<R>, unit: &Unit<R>, index: u64) -> Option<String> {
    let program = unit.line_program.as_ref()?;
    let header = program.header();
    let file = header.file(index)?;
    let name = dwarf
        .attr_string(unit, file.path_name())
        .ok()?
        .to_string_lossy()
        .ok()?
        .into_owned();
    if name.starts_with('/') {
        return Some(name);
    }
    let dir = file
        .directory(header)
        .and_then(|d| dwarf.attr_string(unit, d).ok())
        .and_then(|d| d.to_string_lossy().ok().map(|d| d.into_owned()))
        .unwrap_or_default();
    let joined = if dir.is_empty() || dir == "." {
        name
    } else {
        format!("{dir}/{name}")
    };
    Some(joined.trim_start_matches("./").to_owned())
}

/// A unit's file name by index, resolved once.
fn cached_file(
    files: &mut HashMap<u64, String>,
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    index: u64,
) -> String {
    files
        .entry(index)
        .or_insert_with(|| file_name(dwarf, unit, index).unwrap_or_else(|| "?".into()))
        .clone()
}

fn ranges_of(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if let Ok(mut ranges) = dwarf.die_ranges(unit, entry) {
        while let Ok(Some(r)) = ranges.next() {
            if r.begin < r.end && out.len() < 4096 {
                out.push((r.begin, r.end));
            }
        }
    }
    out.sort_unstable();
    out
}

fn attr_addr(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    at: gimli::DwAt,
) -> Option<u64> {
    match entry.attr_value(at).ok()?? {
        AttributeValue::Addr(a) => Some(a),
        v @ AttributeValue::DebugAddrIndex(_) => dwarf.attr_address(unit, v).ok()?,
        _ => None,
    }
}

fn attr_udata(entry: &DebuggingInformationEntry<'_, '_, R>, at: gimli::DwAt) -> Option<u64> {
    match entry.attr_value(at).ok()?? {
        AttributeValue::FileIndex(n) => Some(n),
        v => v.udata_value(),
    }
}

/// Walk one unit into a summary.
fn summarize(
    dwarf: &gimli::Dwarf<R>,
    offset: gimli::DebugInfoOffset,
    index: usize,
) -> gimli::Result<UnitSummary> {
    let header = dwarf.debug_info.header_from_offset(offset)?;
    let unit = dwarf.unit(header)?;
    let mut s = UnitSummary::default();
    let mut files: HashMap<u64, String> = HashMap::new();
    let mut line_files: HashMap<u64, u32> = HashMap::new();
    if let Some(program) = unit.line_program.clone() {
        let mut rows = program.rows();
        let mut count = 0u64;
        while let Some((_, row)) = rows.next_row()? {
            count += 1;
            if count > 50_000_000 {
                break;
            }
            if row.end_sequence() {
                continue;
            }
            let Some(line) = row.line() else { continue };
            let index = row.file_index();
            let file = match line_files.get(&index) {
                Some(&f) => f,
                None => {
                    let f = s.files.len() as u32;
                    s.files.push(cached_file(&mut files, dwarf, &unit, index));
                    line_files.insert(index, f);
                    f
                }
            };
            s.lines.push((
                row.address(),
                file,
                line.get().min(u64::from(u32::MAX)) as u32,
                row.is_stmt(),
            ));
        }
    }
    let mut tree = unit.entries_tree(None)?;
    let root = tree.root()?;
    walk(dwarf, &unit, root, None, None, 0, index, &mut s, &mut files)?;
    Ok(s)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    node: gimli::EntriesTreeNode<'_, '_, '_, R>,
    function: Option<usize>,
    parent_depth: Option<u32>,
    level: u32,
    unit_index: usize,
    s: &mut UnitSummary,
    files: &mut HashMap<u64, String>,
) -> gimli::Result<()> {
    if level > 256 {
        return Ok(());
    }
    let entry = node.entry().clone();
    let mut function = function;
    let mut depth = parent_depth;
    let mut inline_index = None;
    match entry.tag() {
        gimli::DW_TAG_subprogram => {
            let ranges = ranges_of(dwarf, unit, &entry);
            if let Some(&(low, _)) = ranges.first() {
                let decl_file = attr_udata(&entry, gimli::DW_AT_decl_file)
                    .map(|f| cached_file(files, dwarf, unit, f));
                // A concrete instance takes its declaration from the origin.
                let decl_file = decl_file.or_else(|| origin_decl_file(dwarf, unit, &entry, files));
                s.functions.push(DwarfFunction {
                    name: name_of(dwarf, unit, &entry, 0)
                        .unwrap_or_else(|| format!("<anonymous at {low:#x}>")),
                    linkage_name: linkage_name_of(dwarf, unit, &entry),
                    ranges,
                    low,
                    decl_file,
                    decl_line: attr_udata(&entry, gimli::DW_AT_decl_line),
                    unit: unit_index,
                });
                function = Some(s.functions.len() - 1);
                depth = Some(0);
            }
        }
        gimli::DW_TAG_inlined_subroutine => {
            s.inline_dies += 1;
            let ranges = ranges_of(dwarf, unit, &entry);
            if let Some(&(low, _)) = ranges.first() {
                let entry_pc = match entry.attr_value(gimli::DW_AT_entry_pc).ok().flatten() {
                    Some(AttributeValue::Addr(a)) => a,
                    Some(v @ AttributeValue::DebugAddrIndex(_)) => {
                        dwarf.attr_address(unit, v).ok().flatten().unwrap_or(low)
                    }
                    Some(v) => v.udata_value().map_or(low, |off| low.wrapping_add(off)),
                    None => attr_addr(dwarf, unit, &entry, gimli::DW_AT_low_pc).unwrap_or(low),
                };
                let d = depth.unwrap_or(0) + 1;
                let call_file = attr_udata(&entry, gimli::DW_AT_call_file)
                    .map(|f| cached_file(files, dwarf, unit, f));
                let decl_file = origin_decl_file(dwarf, unit, &entry, files).map(|f| s.intern(f));
                let name = s.intern(name_of(dwarf, unit, &entry, 0).unwrap_or_else(|| "?".into()));
                let call_file = call_file.map(|f| s.intern(f));
                s.inlines.push(Inline {
                    name,
                    decl_file,
                    entry: entry_pc,
                    ranges,
                    call_file,
                    call_line: attr_udata(&entry, gimli::DW_AT_call_line),
                    depth: d,
                    function,
                    params: Vec::new(),
                });
                inline_index = Some(s.inlines.len() - 1);
                depth = Some(d);
            }
        }
        gimli::DW_TAG_call_site | gimli::DW_TAG_GNU_call_site => {
            s.call_sites += 1;
            let tail = [gimli::DW_AT_call_tail_call, gimli::DW_AT_GNU_tail_call]
                .iter()
                .any(|&at| matches!(entry.attr_value(at), Ok(Some(AttributeValue::Flag(true)))));
            if tail {
                s.tail_calls.push(TailCallSite {
                    pc: attr_addr(dwarf, unit, &entry, gimli::DW_AT_call_pc),
                    return_pc: attr_addr(dwarf, unit, &entry, gimli::DW_AT_call_return_pc)
                        .or_else(|| attr_addr(dwarf, unit, &entry, gimli::DW_AT_low_pc)),
                });
            }
        }
        _ => {}
    }
    let mut children = node.children();
    while let Some(child) = children.next()? {
        if let Some(i) =
            inline_index.filter(|_| child.entry().tag() == gimli::DW_TAG_formal_parameter)
        {
            // An inline instance's parameter: is it located at the entry?
            let param = child.entry().clone();
            let name = s.intern(name_of(dwarf, unit, &param, 0).unwrap_or_else(|| "?".into()));
            let located = located_at(dwarf, unit, &param, s.inlines[i].entry);
            s.inlines[i].params.push((name, located));
            continue;
        }
        // Only these can hold code ranges, inline instances or call sites;
        // types, variables and parameters are skipped whole (through
        // DW_AT_sibling when the producer gives it).
        if !matches!(
            child.entry().tag(),
            gimli::DW_TAG_subprogram
                | gimli::DW_TAG_inlined_subroutine
                | gimli::DW_TAG_lexical_block
                | gimli::DW_TAG_call_site
                | gimli::DW_TAG_GNU_call_site
                | gimli::DW_TAG_namespace
                | gimli::DW_TAG_module
                | gimli::DW_TAG_class_type
                | gimli::DW_TAG_structure_type
                | gimli::DW_TAG_union_type
        ) {
            continue;
        }
        walk(
            dwarf,
            unit,
            child,
            function,
            depth,
            level + 1,
            unit_index,
            s,
            files,
        )?;
    }
    Ok(())
}

impl UnitSummary {
    fn intern(&mut self, text: String) -> Arc<str> {
        if let Some(a) = self.names.get(&text) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(text.as_str());
        self.names.insert(text, a.clone());
        a
    }
}

/// Whether a variable DIE has a location (or a constant value) at `pc`.
fn located_at(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    pc: u64,
) -> bool {
    match entry.attr_value(gimli::DW_AT_location) {
        Ok(Some(AttributeValue::Exprloc(expr))) => !expr.0.is_empty(),
        Ok(Some(attr)) => {
            let Ok(Some(mut list)) = dwarf.attr_locations(unit, attr) else {
                return false;
            };
            while let Ok(Some(l)) = list.next() {
                if pc >= l.range.begin && pc < l.range.end && !l.data.0.is_empty() {
                    return true;
                }
            }
            false
        }
        _ => matches!(entry.attr_value(gimli::DW_AT_const_value), Ok(Some(_))),
    }
}

fn origin_decl_file(
    dwarf: &gimli::Dwarf<R>,
    unit: &Unit<R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    files: &mut HashMap<u64, String>,
) -> Option<String> {
    for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        if let Ok(Some(AttributeValue::UnitRef(offset))) = entry.attr_value(at) {
            let origin = unit.entry(offset).ok()?;
            let f = attr_udata(&origin, gimli::DW_AT_decl_file)?;
            return Some(cached_file(files, dwarf, unit, f));
        }
    }
    None
}
