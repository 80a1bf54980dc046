//! Describing DWARF location expressions: where a variable's value is at a
//! pc (a register, memory, pieces of both, a computed value, a constant, or
//! nowhere), in the terms a live patch would write it.

use gimli::{Encoding, Operation, Reader, ReaderOffset};
use serde::Serialize;

use crate::arch::ArchSpec;

/// What kind of place a location is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocationKind {
    /// In a register.
    Register,
    /// In memory (an address computed from a register, the frame base, or a
    /// static address).
    Memory,
    /// Several pieces (registers and/or memory).
    Composite,
    /// A value computed by the expression (`DW_OP_stack_value`): nothing to write.
    StackValue,
    /// `DW_OP_implicit_value`: the value is in the debug info.
    ImplicitValue,
    /// `DW_OP_implicit_pointer`: a pointer to a variable that has no address.
    ImplicitPointer,
    /// `DW_OP_entry_value`: the value a register had at function entry.
    EntryValue,
    /// `DW_AT_const_value`: a constant.
    Constant,
    /// No location at this pc.
    OptimizedOut,
    /// An expression this describer does not break down.
    Expression,
}

impl LocationKind {
    /// Whether writing the location changes the variable (issue: live patches).
    pub fn writable(self) -> bool {
        matches!(
            self,
            LocationKind::Register | LocationKind::Memory | LocationKind::Composite
        )
    }
}

/// One location of a variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Its kind.
    pub kind: LocationKind,
    /// Human-readable form: `x19`, `[rbp-0x14]`, `x0+1 (computed)`.
    pub text: String,
    /// The pc range it is valid for (`None`: the whole scope).
    pub range: Option<(u64, u64)>,
    /// The place in machine terms, when it is one a write can reach.
    #[serde(skip)]
    pub place: Option<Place>,
}

/// A writable place: what a write through a location needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A register (DWARF number).
    Register(u16),
    /// Memory at an address.
    Memory(Address),
    /// Pieces in order: each is a place (`None`: undefined or not
    /// writable) and its size in bytes.
    Pieces(Vec<(Option<Place>, u64)>),
}

/// How a memory location's address is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    /// A register's value plus an offset (`DW_OP_bregN`).
    Register(u16, i64),
    /// The frame base plus an offset (`DW_OP_fbreg`).
    FrameBase(i64),
    /// A static address (`DW_OP_addr`).
    Absolute(u64),
}

/// A function's frame base (`DW_AT_frame_base`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameBase {
    /// `DW_OP_call_frame_cfa`: the canonical frame address from the CFI.
    Cfa,
    /// A register's value plus an offset (`DW_OP_regN`, `DW_OP_bregN`).
    Register(u16, i64),
}

/// Read a `DW_AT_frame_base` expression.
pub fn frame_base<R: Reader>(expr: R, encoding: Encoding) -> Option<FrameBase> {
    let mut reader = expr;
    let op = Operation::parse(&mut reader, encoding).ok()?;
    if !reader.is_empty() {
        return None;
    }
    match op {
        Operation::CallFrameCFA => Some(FrameBase::Cfa),
        Operation::Register { register } => Some(FrameBase::Register(register.0, 0)),
        Operation::RegisterOffset {
            register, offset, ..
        } => Some(FrameBase::Register(register.0, offset)),
        _ => None,
    }
}

/// `+0x10` / `-0x4`.
fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("+{v:#x}")
    }
}

/// Describe one location expression.
pub fn describe<R: Reader>(
    expr: R,
    encoding: Encoding,
    spec: &dyn ArchSpec,
    range: Option<(u64, u64)>,
) -> Location {
    let reg = |n: gimli::Register| {
        spec.dwarf_register(n.0)
            .unwrap_or_else(|| format!("dwarf-reg{}", n.0))
    };
    let mut reader = expr;
    let mut parts: Vec<(LocationKind, String)> = Vec::new();
    let mut current: Option<(LocationKind, String)> = None;
    // The same expression in machine terms, as far as a write can use it.
    let mut place: Option<Place> = None;
    let mut placed: Vec<(Option<Place>, u64)> = Vec::new();
    let mut pieces = 0;
    let mut bad = false;
    while !reader.is_empty() {
        let Ok(op) = Operation::parse(&mut reader, encoding) else {
            bad = true;
            break;
        };
        place = match (&op, place.take()) {
            (Operation::Register { register }, _) => Some(Place::Register(register.0)),
            (
                Operation::RegisterOffset {
                    register, offset, ..
                },
                _,
            ) => Some(Place::Memory(Address::Register(register.0, *offset))),
            (Operation::FrameOffset { offset }, _) => {
                Some(Place::Memory(Address::FrameBase(*offset)))
            }
            (Operation::Address { address }, _) => Some(Place::Memory(Address::Absolute(*address))),
            (Operation::PlusConstant { value }, Some(Place::Memory(a))) => {
                let v = *value as i64;
                Some(Place::Memory(match a {
                    Address::Register(r, o) => Address::Register(r, o.wrapping_add(v)),
                    Address::FrameBase(o) => Address::FrameBase(o.wrapping_add(v)),
                    Address::Absolute(x) => Address::Absolute(x.wrapping_add(v as u64)),
                }))
            }
            (Operation::Piece { size_in_bits, .. }, p) => {
                placed.push((p, size_in_bits / 8));
                None
            }
            _ => None,
        };
        match op {
            Operation::Register { register } => {
                current = Some((LocationKind::Register, reg(register)))
            }
            Operation::RegisterOffset {
                register, offset, ..
            } => {
                current = Some((
                    LocationKind::Memory,
                    format!("[{}{}]", reg(register), signed_hex(offset)),
                ))
            }
            Operation::FrameOffset { offset } => {
                current = Some((
                    LocationKind::Memory,
                    format!("[frame-base{}]", signed_hex(offset)),
                ))
            }
            Operation::Address { address } => {
                current = Some((LocationKind::Memory, format!("[{address:#x}]")))
            }
            Operation::StackValue => {
                let text = current
                    .take()
                    .map(|(_, t)| t.trim_matches(['[', ']']).to_owned())
                    .unwrap_or_default();
                current = Some((LocationKind::StackValue, format!("{text} (computed value)")));
            }
            Operation::UnsignedConstant { value } => {
                current = Some((LocationKind::Constant, format!("{value:#x}")))
            }
            Operation::SignedConstant { value } => {
                current = Some((LocationKind::Constant, format!("{value}")))
            }
            Operation::ImplicitValue { data } => {
                current = Some((
                    LocationKind::ImplicitValue,
                    format!("{} bytes in the debug info", data.len().into_u64()),
                ))
            }
            Operation::ImplicitPointer { byte_offset, .. } => {
                current = Some((
                    LocationKind::ImplicitPointer,
                    format!("pointer to an optimised-out variable {byte_offset:+}"),
                ))
            }
            Operation::EntryValue { .. } => {
                current = Some((
                    LocationKind::EntryValue,
                    "the value at function entry".into(),
                ))
            }
            Operation::Piece { size_in_bits, .. } => {
                pieces += 1;
                let (kind, text) = current
                    .take()
                    .unwrap_or((LocationKind::OptimizedOut, "optimised out".into()));
                parts.push((kind, format!("{text} ({} bytes)", size_in_bits / 8)));
            }
            Operation::Plus
            | Operation::PlusConstant { .. }
            | Operation::Minus
            | Operation::And
            | Operation::Or => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(" (arithmetic)");
                }
            }
            Operation::Deref { .. } => {
                if let Some((kind, text)) = current.as_mut() {
                    *kind = LocationKind::Memory;
                    *text = format!("[{text}]");
                }
            }
            _ => current = Some((LocationKind::Expression, "a DWARF expression".into())),
        }
    }
    if bad {
        return Location {
            kind: LocationKind::Expression,
            text: "an unparsable DWARF expression".into(),
            range,
            place: None,
        };
    }
    if pieces > 0 {
        if let Some(c) = current {
            parts.push(c);
        }
        let writable = parts.iter().any(|(k, _)| k.writable());
        let text = parts
            .into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(", ");
        return Location {
            kind: if writable {
                LocationKind::Composite
            } else {
                LocationKind::StackValue
            },
            text: format!("pieces: {text}"),
            range,
            place: writable.then_some(Place::Pieces(placed)),
        };
    }
    match current {
        // A constant alone on the stack is an address in DWARF < 5 style
        // expressions only with DW_OP_addr; a bare constant is a value.
        Some((LocationKind::Constant, text)) => Location {
            kind: LocationKind::Constant,
            text,
            range,
            place: None,
        },
        Some((kind, text)) => Location {
            place: if kind.writable() { place } else { None },
            kind,
            text,
            range,
        },
        None => Location {
            kind: LocationKind::OptimizedOut,
            text: "empty expression (optimised out)".into(),
            range,
            place: None,
        },
    }
}
