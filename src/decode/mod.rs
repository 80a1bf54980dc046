//! Decoding machine code into classified instructions.
//!
//! This module owns every Capstone handle; the rest of probesafe sees only
//! [`Insn`]. A [`Decoder`] is cheap to keep and not `Sync`: make one per
//! worker thread.

use capstone::arch::{self, ArchDetail, ArchOperand};
use capstone::Capstone;
use serde::Serialize;

use crate::arch::{spec, Arch, ArchSpec, Class, InsnView};
use crate::error::{Error, Result};

/// One decoded instruction.
#[derive(Clone, Debug, Serialize)]
pub struct Insn {
    /// Its address.
    pub address: u64,
    /// Length in bytes.
    pub len: u8,
    /// Mnemonic (`(bad)` for bytes that do not decode).
    pub mnemonic: String,
    /// Operands as text.
    pub op_str: String,
    /// What it does, for probe safety.
    pub class: Class,
    /// Direct branch or call target (for `xbegin`, the abort fallback).
    pub target: Option<u64>,
    /// Why the kernel refuses to probe it, if it does.
    pub unsteppable: Option<&'static str>,
}

impl Insn {
    /// The address of the next instruction in memory.
    pub fn next(&self) -> u64 {
        self.address + u64::from(self.len)
    }

    /// `mnemonic op_str`, as a disassembler prints it.
    pub fn text(&self) -> String {
        if self.op_str.is_empty() {
            self.mnemonic.clone()
        } else {
            format!("{} {}", self.mnemonic, self.op_str)
        }
    }
}

/// A disassembler for one architecture.
pub struct Decoder {
    /// Sweeps without operand details (several times faster).
    cs: Capstone,
    /// Decodes branches again with details, for their targets.
    detailed: Capstone,
    spec: &'static dyn ArchSpec,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("arch", &self.spec.arch())
            .finish()
    }
}

impl Decoder {
    /// Make a decoder for `arch`.
    pub fn new(arch: Arch) -> Result<Decoder> {
        let cs = Self::capstone(arch, false)?;
        let detailed = Self::capstone(arch, true)?;
        Ok(Decoder {
            cs,
            detailed,
            spec: spec(arch),
        })
    }

    fn capstone(arch: Arch, detail: bool) -> Result<Capstone> {
        let (cs_arch, mode, endian) = spec(arch).capstone_mode();
        let built =
            Capstone::new_raw(cs_arch, mode, std::iter::empty(), endian).and_then(|mut cs| {
                if detail {
                    cs.set_detail(true)?;
                }
                Ok(cs)
            });
        built.map_err(|e| Error::Disassembler {
            arch: arch.name(),
            reason: e.to_string(),
        })
    }

    /// The architecture decoded.
    pub fn arch(&self) -> Arch {
        self.spec.arch()
    }

    /// Decode `code`, which starts at `address`, by linear sweep. Bytes that
    /// do not decode become one `(bad)` instruction of the minimum length (one
    /// byte on x86, one word elsewhere) unless the architecture's raw
    /// encoding table knows them.
    pub fn decode(&self, code: &[u8], address: u64) -> Vec<Insn> {
        let mut out = Vec::with_capacity(code.len() / 4 + 1);
        let mut offset = 0usize;
        let fixed = self.spec.word_len().map_or(1, usize::from);
        while offset < code.len() {
            let start = address + offset as u64;
            if let Ok(mut iter) = self.cs.disasm_iter(&code[offset..], start) {
                while let Some(insn) = iter.next() {
                    out.push(self.convert(&insn));
                    offset += insn.len();
                }
            }
            if offset >= code.len() {
                break;
            }
            // An instruction the disassembler does not know at `offset`:
            // the architecture's table may (a POWER10 prefixed instruction
            // is 8 bytes), else one `(bad)` word.
            let insn = self.undecodable(&code[offset..], address + offset as u64, fixed);
            offset += usize::from(insn.len);
            out.push(insn);
        }
        out
    }

    /// Like [`Decoder::decode`] but only the instructions that may be exits
    /// of their function ([`ArchSpec::may_exit`]), for sweeps that need
    /// nothing else. On fixed-width architectures the other words are
    /// skipped without disassembling them, several times faster; on x86 this
    /// is [`Decoder::decode`] without the ordinary instructions.
    pub fn decode_exit_candidates(&self, code: &[u8], address: u64) -> Vec<Insn> {
        if self.spec.word_len().is_none() {
            let mut all = self.decode(code, address);
            all.retain(|i| i.class != Class::Other);
            return all;
        }
        let big = self.spec.arch().big_endian();
        let mut out = Vec::new();
        for (i, chunk) in code.chunks(4).enumerate() {
            let at = address + 4 * i as u64;
            let Ok(bytes) = <[u8; 4]>::try_from(chunk) else {
                break;
            };
            let word = if big {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            };
            if !self.spec.may_exit(word) {
                continue;
            }
            let insn = match self.cs.disasm_count(chunk, at, 1) {
                Ok(insns) => match insns.iter().next() {
                    Some(insn) => self.convert(insn),
                    None => self.undecodable(chunk, at, 4),
                },
                Err(_) => self.undecodable(chunk, at, 4),
            };
            out.push(insn);
        }
        out
    }

    /// The instruction at the start of `rest` that the disassembler could
    /// not decode: from the architecture's own table, or `(bad)` of
    /// `fixed` bytes (one word; one byte on x86).
    fn undecodable(&self, rest: &[u8], address: u64, fixed: usize) -> Insn {
        let raw = (fixed > 1)
            .then(|| self.spec.raw_decode(rest))
            .flatten()
            .filter(|r| usize::from(r.len) <= rest.len());
        let len = raw.map_or(fixed.min(rest.len()), |r| usize::from(r.len));
        let mnemonic = raw.map_or("(bad)", |r| r.mnemonic);
        let view = InsnView {
            mnemonic,
            op_str: "",
            bytes: &rest[..len],
        };
        Insn {
            address,
            len: len as u8,
            mnemonic: mnemonic.to_owned(),
            op_str: String::new(),
            class: raw.map_or(Class::Other, |r| r.class),
            target: None,
            unsteppable: raw.and_then(|_| self.spec.unsteppable(&view)),
        }
    }

    fn convert(&self, insn: &capstone::Insn<'_>) -> Insn {
        let mnemonic = insn.mnemonic().unwrap_or("");
        let op_str = insn.op_str().unwrap_or("");
        let view = InsnView {
            mnemonic,
            op_str,
            bytes: insn.bytes(),
        };
        let class = self.spec.classify(&view);
        let branches = class != Class::TxBegin || self.spec.tx_begin_branches();
        let target = if class.has_target() && branches {
            self.target(insn.bytes(), insn.address())
        } else {
            None
        };
        Insn {
            address: insn.address(),
            len: insn.len() as u8,
            mnemonic: mnemonic.to_owned(),
            op_str: op_str.to_owned(),
            class,
            target,
            unsteppable: self.spec.unsteppable(&view),
        }
    }

    /// A direct branch's target: the instruction decoded again with details.
    fn target(&self, bytes: &[u8], address: u64) -> Option<u64> {
        let insns = self.detailed.disasm_count(bytes, address, 1).ok()?;
        let insn = insns.iter().next()?;
        let detail = self.detailed.insn_detail(insn).ok()?;
        last_immediate(&detail.arch_detail())
    }
}

/// The last immediate operand: the branch target of a direct branch.
fn last_immediate(detail: &ArchDetail<'_>) -> Option<u64> {
    detail.operands().iter().rev().find_map(|op| match op {
        ArchOperand::X86Operand(o) => match o.op_type {
            arch::x86::X86OperandType::Imm(i) => Some(i as u64),
            _ => None,
        },
        ArchOperand::Arm64Operand(o) => match o.op_type {
            arch::arm64::Arm64OperandType::Imm(i) => Some(i as u64),
            _ => None,
        },
        ArchOperand::PpcOperand(arch::ppc::PpcOperand::Imm(i)) => Some(*i as u64),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
