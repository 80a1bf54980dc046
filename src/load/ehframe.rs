//! Function ranges from `.eh_frame` FDEs, read with gimli: stripped binaries
//! (distribution libraries) have no `.symtab`, but every function that can be
//! unwound has an FDE.

use gimli::{BaseAddresses, CieOrFde, EhFrame, UnwindSection};

use super::Binary;

/// `(start, length)` of every FDE; an unreadable `.eh_frame` yields what was
/// read before the error.
pub(super) fn fde_ranges(binary: &Binary) -> Vec<(u64, u64)> {
    let Some(eh) = binary.sections.iter().find(|s| s.name == ".eh_frame") else {
        return Vec::new();
    };
    let text = binary.sections.iter().find(|s| s.name == ".text");
    let got = binary.sections.iter().find(|s| s.name == ".got");
    let mut bases = BaseAddresses::default().set_eh_frame(eh.address);
    if let Some(text) = text {
        bases = bases.set_text(text.address);
    }
    if let Some(got) = got {
        bases = bases.set_got(got.address);
    }
    let mut out = Vec::new();
    let run = |endian| {
        let section = EhFrame::new(&eh.data, endian);
        let mut ranges = Vec::new();
        let mut entries = section.entries(&bases);
        // A hostile file can hold a huge number of entries; bound the work.
        for _ in 0..5_000_000 {
            match entries.next() {
                Ok(Some(CieOrFde::Fde(partial))) => {
                    if let Ok(fde) = partial.parse(EhFrame::cie_from_offset) {
                        ranges.push((fde.initial_address(), fde.len()));
                    }
                }
                Ok(Some(CieOrFde::Cie(_))) => {}
                Ok(None) | Err(_) => break,
            }
        }
        ranges
    };
    if binary.arch.big_endian() {
        out.extend(run(gimli::RunTimeEndian::Big));
    } else {
        out.extend(run(gimli::RunTimeEndian::Little));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The canonical frame address rule at `pc` from `.eh_frame`: the CFA is
/// the DWARF register's value plus the offset. `None` when no FDE covers
/// `pc` or the rule is an expression.
pub fn cfa_rule(binary: &Binary, pc: u64) -> Option<(u16, i64)> {
    let eh = binary.sections.iter().find(|s| s.name == ".eh_frame")?;
    let mut bases = BaseAddresses::default().set_eh_frame(eh.address);
    if let Some(text) = binary.sections.iter().find(|s| s.name == ".text") {
        bases = bases.set_text(text.address);
    }
    if let Some(got) = binary.sections.iter().find(|s| s.name == ".got") {
        bases = bases.set_got(got.address);
    }
    let endian = if binary.arch.big_endian() {
        gimli::RunTimeEndian::Big
    } else {
        gimli::RunTimeEndian::Little
    };
    let section = EhFrame::new(&eh.data, endian);
    let mut ctx = gimli::UnwindContext::new();
    let row = section
        .unwind_info_for_address(&bases, &mut ctx, pc, EhFrame::cie_from_offset)
        .ok()?;
    match row.cfa() {
        gimli::CfaRule::RegisterAndOffset { register, offset } => Some((register.0, *offset)),
        gimli::CfaRule::Expression(_) => None,
    }
}
