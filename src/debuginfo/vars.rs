//! The variables in scope at a pc: the DIE tree of one unit walked again on
//! demand, each variable with all its locations.

use gimli::{AttributeValue, DebuggingInformationEntry, Unit};

use super::units::{name_of, type_size};
use super::{location, DebugInfo, Location, LocationKind, Variable, R};
use crate::arch::spec;

impl DebugInfo {
    pub(super) fn collect_vars(
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
