//! One compilation unit walked into a compact summary (functions, inline
//! instances, lines, tail-call sites), and the DIE attribute helpers.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{AttributeValue, DebuggingInformationEntry, Reader, Unit};

use super::{DwarfFunction, Inline, TailCallSite, UnitSummary, R};

/// The byte size of a variable's type: `DW_AT_type` (through the abstract
/// origin of a concrete instance), through typedefs and qualifiers.
pub(super) fn type_size(
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
pub(super) fn name_of(
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
    // gimli adds DW_AT_high_pc's offset form to DW_AT_low_pc unchecked (a
    // panic with overflow checks on a hostile file): such a DIE has no range.
    if let (Some(low), Ok(Some(AttributeValue::Udata(size)))) = (
        attr_addr(dwarf, unit, entry, gimli::DW_AT_low_pc),
        entry.attr_value(gimli::DW_AT_high_pc),
    ) {
        if low.checked_add(size).is_none() {
            return out;
        }
    }
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

pub(super) fn attr_addr(
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
pub(super) fn summarize(
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
