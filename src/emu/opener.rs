//! Trials that start at a window's opener, the load-linked, instead of the
//! function's entry (see [`crate::detect`]): the registers the code before
//! it would have set are not there, so the load-linked's address
//! registers are made to point into the heap, and the register a
//! compare-and-swap compares the loaded value with is given that value (or
//! the address is chosen where memory holds the constant it compares
//! with). The sequence then reaches its store-conditional, as it does on
//! the path where the swap happens. The registers the code from there on
//! uses as base addresses point into the heap too (kernel code reaches its
//! objects through them: `ldr x0, [x19, #0x5c]`). Everything is drawn from the trial's
//! seed, so a witness that starts at an opener reproduces.

use super::{abi, splitmix, Emulator, Input, PAGE};
use crate::arch::{spec, Arch, Class, Comparand, InsnView};
use crate::decode::Insn;

/// How a trial starting at one load-linked sets up its operands.
#[derive(Clone, Debug)]
pub(super) struct Opener {
    /// The address registers (Unicorn ids): the first gets the pointer,
    /// the others zero.
    address: Vec<i32>,
    /// Bytes loaded.
    size: u8,
    /// What the loaded value is compared with, if the window does.
    comparand: Option<Compared>,
    /// The other registers the function uses as the base of a memory
    /// access (Unicorn ids): each points into the heap, as the code before
    /// the load-linked would have left a pointer there.
    bases: Vec<i32>,
}

#[derive(Clone, Copy, Debug)]
enum Compared {
    /// A register (Unicorn id).
    Register(i32),
    /// A constant.
    Constant(i64),
}

/// The instructions after a load-linked that may hold its compare.
const COMPARE_WITHIN: usize = 3;

fn view(i: &Insn) -> InsnView<'_> {
    InsnView {
        mnemonic: &i.mnemonic,
        op_str: &i.op_str,
        bytes: &[],
    }
}

/// The set-up of each load-linked instruction of a function (by address).
pub(super) fn openers(arch: Arch, insns: &[Insn]) -> Vec<(u64, Opener)> {
    let spec = spec(arch);
    let mut out = Vec::new();
    for (i, insn) in insns.iter().enumerate() {
        if insn.class != Class::LoadLinked {
            continue;
        }
        let Some(ops) = spec.load_linked_operands(&view(insn)) else {
            continue;
        };
        let address: Option<Vec<i32>> = ops
            .address
            .iter()
            .map(|r| abi::gpr_by_name(arch, r))
            .collect();
        let Some(address) = address.filter(|a| !a.is_empty()) else {
            continue;
        };
        let comparand = insns[i + 1..]
            .iter()
            .take(COMPARE_WITHIN)
            .take_while(|n| n.class == Class::Other)
            .find_map(|n| spec.comparison(&view(n), &ops.dest))
            .and_then(|c| match c {
                Comparand::Register(r) => abi::gpr_by_name(arch, &r)
                    .filter(|id| !address.contains(id))
                    .map(Compared::Register),
                Comparand::Immediate(v) => Some(Compared::Constant(v)),
            });
        let mut bases: Vec<i32> = Vec::new();
        // Those after the load-linked first (the window and what follows
        // in address order), then the rest of the function: code after a
        // window often continues at a lower address (an unlock path).
        for n in insns[i + 1..].iter().chain(&insns[..i]) {
            let Some(reg) = spec
                .memory_base(&view(n))
                .and_then(|b| abi::gpr_by_name(arch, &b))
            else {
                continue;
            };
            let compared = matches!(comparand, Some(Compared::Register(c)) if c == reg);
            if !address.contains(&reg) && !compared && !bases.contains(&reg) {
                bases.push(reg);
            }
        }
        out.push((
            insn.address,
            Opener {
                address,
                size: ops.size,
                comparand,
                bases,
            },
        ));
    }
    out
}

/// What a `size`-byte load at `addr` of the lazily materialised heap
/// reads before anything writes it, zero-extended.
fn heap_value(addr: u64, size: u8, big_endian: bool) -> u64 {
    let page = addr & !(PAGE - 1);
    let content = super::page_content(page, big_endian);
    let at = (addr - page) as usize;
    let len = usize::from(size.min(8));
    let bytes = content.get(at..at + len).unwrap_or(&[]);
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

impl Opener {
    /// The register values of a trial that starts here with `input`.
    fn registers(&self, arch: Arch, start: u64, input: &Input) -> Vec<(i32, u64)> {
        let big = arch.big_endian();
        let mut state = input.seed ^ start.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let r = splitmix(&mut state);
        let align = u64::from(self.size.max(8));
        let at = |page: u64, slot: u64| crate::emu::run::heap_pointer(page, slot) & !(align - 1);
        let (page, slot) = (r & 0xff, (r >> 8) & 0x7f);
        let width_mask = match self.size {
            8.. => u64::MAX,
            n => (1u64 << (8 * u32::from(n))) - 1,
        };
        // A compare with a constant: the first word from the drawn one on
        // that holds it (a quarter of the heap's words are zero).
        let pointer = match self.comparand {
            Some(Compared::Constant(v)) => (0..512u64)
                .map(|k| at(page + k / 128, slot + k))
                .find(|&p| heap_value(p, self.size, big) == v as u64 & width_mask)
                .unwrap_or_else(|| at(page, slot)),
            _ => at(page, slot),
        };
        let mut regs = Vec::new();
        for (i, &reg) in self.address.iter().enumerate() {
            regs.push((reg, if i == 0 { pointer } else { 0 }));
        }
        if let Some(Compared::Register(reg)) = self.comparand {
            regs.push((reg, heap_value(pointer, self.size, big)));
        }
        // Each base on a page of its own, after the load-linked's.
        for (k, &reg) in self.bases.iter().enumerate() {
            regs.push((reg, at(page + 1 + k as u64, slot)));
        }
        regs
    }
}

impl Emulator {
    /// Set up a trial that starts at `start`, if a load-linked is there.
    pub(super) fn enter_at_opener(&mut self, start: u64, input: &Input) {
        let start = self.to_cpu(start);
        let Some(opener) = self.openers.get(&start) else {
            return;
        };
        for (reg, value) in opener.registers(self.arch, start, input) {
            self.set_reg(reg, value);
        }
    }

    /// The registers a trial that starts at `start` (a load-linked of the
    /// instrumented function, not its entry) with `input` gets besides the
    /// arguments, by name: what evidence shows of such a start.
    pub fn opener_registers(&self, start: u64, input: &Input) -> Vec<(&'static str, u64)> {
        let cpu = self.to_cpu(start);
        let Some(opener) = self.openers.get(&cpu) else {
            return Vec::new();
        };
        let abi = abi::abi(self.arch);
        opener
            .registers(self.arch, cpu, input)
            .into_iter()
            .filter_map(|(reg, v)| {
                let i = abi.state.iter().position(|&r| r == reg)?;
                Some((abi.state_names[i], v))
            })
            .collect()
    }
}
