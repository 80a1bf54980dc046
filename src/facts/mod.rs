//! Decoded facts about a function: its instructions and control-flow
//! graph, the data inside its range, its LL/SC and transaction windows, its
//! exits. Computed once per function from the code alone; the static hazard
//! map ([`crate::hazard`]) and the dynamic detectors ([`crate::detect`]) both
//! read them.

pub mod windows;

use std::collections::BTreeSet;

use crate::arch::Class;
use crate::cfg::{Cfg, Exit};
use crate::decode::{Decoder, Insn};
use crate::load::{Binary, Function};

pub use windows::{Window, WindowKind};

/// A function's decoded code and its hazard windows.
#[derive(Debug)]
pub struct FunctionFacts {
    /// The control-flow graph over its instructions.
    pub cfg: Cfg,
    /// LL/SC windows.
    pub llsc: Vec<Window>,
    /// Transaction windows.
    pub tm: Vec<Window>,
    /// Data inside the function's range: POWER jump tables after a
    /// `bctr`, zero padding after an instruction that does not fall
    /// through, the traceback table after its last instruction.
    pub data: Vec<DataRange>,
}

/// Bytes inside a function's range that are data, not instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRange {
    /// First address.
    pub start: u64,
    /// Past the last.
    pub end: u64,
    /// What it is (`jump table`, `traceback table`, `padding`).
    pub what: &'static str,
}

impl FunctionFacts {
    /// Decode `function` and find its windows.
    pub fn of(decoder: &Decoder, binary: &Binary, function: &Function) -> FunctionFacts {
        let (insns, data) = decode_code(decoder, binary, function);
        let cfg = Cfg::build(function, insns);
        let llsc = windows::llsc_windows(&cfg);
        let tm = windows::transaction_windows(&cfg, crate::arch::spec(decoder.arch()));
        FunctionFacts {
            cfg,
            llsc,
            tm,
            data,
        }
    }
}

/// Decode the bytes of a function that its section holds (a hostile size
/// is clamped to the section).
pub fn decode_function(decoder: &Decoder, binary: &Binary, function: &Function) -> Vec<Insn> {
    decode_code(decoder, binary, function).0
}

/// Decode a function's code, without the data inside its range: the
/// jump tables after its indirect jumps and the data after its last
/// instruction ([`crate::arch::ArchSpec::jump_table_len`],
/// [`crate::arch::ArchSpec::trailing_data`]).
fn decode_code(
    decoder: &Decoder,
    binary: &Binary,
    function: &Function,
) -> (Vec<Insn>, Vec<DataRange>) {
    let code = function_code(binary, function);
    let spec = crate::arch::spec(decoder.arch());
    let (code_len, trailing) = code_extent(decoder, code, function.address);
    let mut insns = decoder.decode(&code[..code_len], function.address);
    let mut data = Vec::new();
    let range = function.address..function.address + code_len as u64;
    for insn in &insns {
        let jump = matches!(
            insn.class,
            Class::Jump {
                indirect: true,
                conditional: false
            }
        );
        let at = (insn.next() - function.address) as usize;
        if !jump || at >= code_len {
            continue;
        }
        let len = spec.jump_table_len(&code[at..code_len], insn.next(), range.clone());
        if len > 0 {
            data.push(DataRange {
                start: insn.next(),
                end: insn.next() + len as u64,
                what: "jump table",
            });
        }
    }
    // Zero words right after an instruction that does not fall through,
    // which no branch targets: padding (the linker's 32-byte call stubs
    // on POWER end `bctr` and zeros). A zero word that is reached (glibc's
    // `abort` executes `.long 0`) stays an instruction.
    let targets: BTreeSet<u64> = insns.iter().filter_map(|i| i.target).collect();
    let mut i = 0;
    while i + 1 < insns.len() {
        let padding = insns[i + 1..]
            .iter()
            .take_while(|n| {
                n.mnemonic == "(bad)"
                    && !targets.contains(&n.address)
                    && binary
                        .bytes_at(n.address, u64::from(n.len))
                        .is_some_and(|b| b.iter().all(|&x| x == 0))
            })
            .count();
        if padding > 0 && !insns[i].class.falls_through() {
            data.push(DataRange {
                start: insns[i + 1].address,
                end: insns[i + padding].next(),
                what: "padding",
            });
        }
        i += padding + 1;
    }
    if !data.is_empty() {
        // Words stay words on POWER (a table word is no prefix), so the
        // instructions after a table decoded right.
        insns.retain(|i| {
            !data
                .iter()
                .any(|d| i.address >= d.start && i.address < d.end)
        });
    }
    if let Some((start, what)) = trailing {
        data.push(DataRange {
            start,
            end: function.end(),
            what,
        });
    } else if crate::arch::spec(decoder.arch()).zero_word_ends_code() {
        // A table that does not reach the end of the range (one that
        // runs on into padding): it still starts with a zero word right
        // after an instruction that does not fall through.
        let table = insns.windows(2).position(|w| {
            !w[0].class.falls_through()
                && w[1].mnemonic == "(bad)"
                && traceback_follows(code, function.address, &w[0])
        });
        if let Some(i) = table {
            insns.truncate(i + 1);
            data.push(DataRange {
                start: insns[i].next(),
                end: function.end(),
                what: "traceback table",
            });
        }
    }
    (insns, data)
}

/// How many bytes of `code` (a function's range at `address`) are code,
/// and where the data after them starts: the architecture's trailing data
/// ([`crate::arch::ArchSpec::trailing_data`]).
fn code_extent(
    decoder: &Decoder,
    code: &[u8],
    address: u64,
) -> (usize, Option<(u64, &'static str)>) {
    match crate::arch::spec(decoder.arch()).trailing_data(code) {
        Some((at, what)) => (at, Some((address + at as u64, what))),
        None => (code.len(), None),
    }
}

/// The exits of a function (returns, tail calls, indirect jumps) as
/// [`decode_function`] and [`crate::cfg::exit_of`] give them, from a sweep
/// that disassembles only the instructions that may transfer control: what
/// `survey` needs of every function of a kernel.
pub fn function_exits(decoder: &Decoder, binary: &Binary, function: &Function) -> Vec<Exit> {
    let code = function_code(binary, function);
    let code = &code[..code_extent(decoder, code, function.address).0];
    let mut exits = Vec::new();
    let zero_word_ends_code = crate::arch::spec(decoder.arch()).zero_word_ends_code();
    for insn in decoder.decode_exit_candidates(code, function.address) {
        exits.extend(crate::cfg::exit_of(&insn, function.address, function.end()));
        if zero_word_ends_code
            && !insn.class.falls_through()
            && traceback_follows(code, function.address, &insn)
        {
            break;
        }
    }
    exits
}

/// The bytes of a function's symbol range that are present in the file.
fn function_code<'b>(binary: &'b Binary, function: &Function) -> &'b [u8] {
    let Some(section) = binary.section_at(function.address) else {
        return &[];
    };
    let start = ((function.address - section.address) as usize).min(section.data.len());
    let end = (start as u64)
        .saturating_add(function.size)
        .min(section.data.len() as u64) as usize;
    &section.data[start..end]
}

/// A POWER function's code ends where its traceback table begins: a zero
/// word right after an instruction that does not fall through.
fn traceback_follows(code: &[u8], address: u64, insn: &Insn) -> bool {
    let at = (insn.next() - address) as usize;
    code.get(at..at + 4) == Some(&[0, 0, 0, 0])
}
