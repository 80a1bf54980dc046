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
    /// A pair load (arm64 `ldxp x1, x0, [x2]`): each register gets half
    /// of `size`, and the second is compared on its own (`eor x1, x1,
    /// x27; eor x0, x0, x21; orr; cbnz`) with this.
    second: Option<Compared>,
    /// Bytes each compared register holds: `size`, or half of it for a
    /// pair.
    half: u8,
    /// Whether the window tests its compare for equality (`bne`, `b.ne`,
    /// `cbnz`...), so that a word holding the constant takes the path to
    /// the store-conditional. An ordered test (`cmpwi r3, 256; bge out`)
    /// leaves the window on that word: the constant is then not written.
    equality: bool,
    /// The other registers the function uses as the base of a memory
    /// access (Unicorn ids): each points into the heap, as the code before
    /// the load-linked would have left a pointer there.
    bases: Vec<i32>,
    /// The frame the function's prologue builds before the load-linked
    /// can run, if it saves the link register there (arm64 `stp x29,
    /// x30, [sp, #-N]!`).
    frame: Option<Frame>,
}

/// A prologue's frame: how far it lowers the stack pointer, and where it
/// saves the link register, relative to the stack pointer at the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frame {
    depth: u64,
    link_slot: i64,
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
        let compared_with = |dest: &str| {
            insns[i + 1..]
                .iter()
                .take(COMPARE_WITHIN)
                .take_while(|n| n.class == Class::Other)
                .find_map(|n| spec.comparison(&view(n), dest))
                .and_then(|c| match c {
                    Comparand::Register(r) => abi::gpr_by_name(arch, &r)
                        .filter(|id| !address.contains(id))
                        .map(Compared::Register),
                    Comparand::Immediate(v) => Some(Compared::Constant(v)),
                })
        };
        let comparand = compared_with(&ops.dest);
        let pair = pair_second(arch, insn);
        let second = pair.as_deref().and_then(compared_with);
        let half = if pair.is_some() {
            ops.size / 2
        } else {
            ops.size
        };
        let equality = insns[i + 1..]
            .iter()
            .take(COMPARE_WITHIN + 2)
            .find(|n| {
                matches!(
                    n.class,
                    Class::Jump {
                        conditional: true,
                        ..
                    }
                )
            })
            .is_some_and(|n| equality_test(&n.mnemonic));
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
            let compared = [comparand, second]
                .iter()
                .any(|c| matches!(c, Some(Compared::Register(c)) if *c == reg));
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
                second,
                half,
                equality,
                bases,
                frame: prologue_frame(arch, &insns[..i]),
            },
        ));
    }
    out
}

/// Whether a conditional branch tests equality (POWER `beq`/`bne` with
/// their hints, arm64 `b.eq`/`b.ne`/`cbz`/`cbnz`).
fn equality_test(mnemonic: &str) -> bool {
    matches!(
        mnemonic.trim_end_matches(['+', '-']),
        "beq" | "bne" | "b.eq" | "b.ne" | "cbz" | "cbnz"
    )
}

/// The second register a pair load-exclusive loads (arm64 `ldxp x1, x0,
/// [x2]`: `x0`, from the upper half of the pair), if it is one.
fn pair_second(arch: Arch, insn: &Insn) -> Option<String> {
    if arch != Arch::Aarch64 || !insn.mnemonic.ends_with("xp") {
        return None;
    }
    Some(insn.op_str.split(',').nth(1)?.trim().to_owned())
}

/// The instructions of a prologue that are read for its frame.
const PROLOGUE_WITHIN: usize = 16;

/// The frame an arm64 prologue builds, read from the instructions before
/// the load-linked (`before`) up to the first branch: `stp x29, x30, [sp,
/// #-N]!`, `str x30, [sp, #-N]!`, `sub sp, sp, #N` and `stp`/`str` of x30
/// at `[sp, #off]`. A trial that starts at the load-linked gets this frame
/// with the sentinel return address in the link register's slot, so that
/// the epilogue (`ldp x29, x30, [sp], #N; ret`) returns to it as the
/// function would to its caller. `None` when the link register is not
/// saved there (a leaf) or the prologue is not read (other architectures:
/// POWER saves it in the caller's frame, x86 has it on the stack already).
fn prologue_frame(arch: Arch, before: &[Insn]) -> Option<Frame> {
    if arch != Arch::Aarch64 {
        return None;
    }
    let imm = |t: &str| -> Option<i64> {
        let t = t.trim().trim_end_matches(']').trim_end_matches('!');
        let t = t.trim_end_matches(']').trim().strip_prefix('#')?;
        match t.strip_prefix("-0x") {
            Some(hex) => i64::from_str_radix(hex, 16).ok().map(|v| -v),
            None => match t.strip_prefix("0x") {
                Some(hex) => i64::from_str_radix(hex, 16).ok(),
                None => t.parse().ok(),
            },
        }
    };
    let mut depth: i64 = 0;
    let mut link: Option<i64> = None;
    for insn in before.iter().take(PROLOGUE_WITHIN) {
        if !matches!(insn.class, Class::Other) {
            break;
        }
        let ops: Vec<&str> = insn.op_str.split(',').map(str::trim).collect();
        let writeback = insn.op_str.ends_with('!');
        match (insn.mnemonic.as_str(), ops.as_slice()) {
            ("sub", ["sp", "sp", n]) => depth += imm(n)?,
            ("stp", [a, b, base, off]) if *base == "[sp" => {
                let off = imm(off)?;
                if writeback {
                    depth -= off;
                }
                let at = if writeback { -depth } else { off - depth };
                if *a == "x30" {
                    link = Some(at);
                } else if *b == "x30" {
                    link = Some(at + 8);
                }
            }
            ("stp", [a, b, "[sp]"]) => {
                if *a == "x30" {
                    link = Some(-depth);
                } else if *b == "x30" {
                    link = Some(8 - depth);
                }
            }
            ("str", ["x30", "[sp]"]) => link = Some(-depth),
            ("str", ["x30", base, off]) if *base == "[sp" => {
                let off = imm(off)?;
                if writeback {
                    depth -= off;
                }
                link = Some(if writeback { -depth } else { off - depth });
            }
            _ => {}
        }
    }
    let depth = u64::try_from(depth)
        .ok()
        .filter(|&d| d > 0 && d % 16 == 0)?;
    let link_slot = link.filter(|&l| l < 0 && l + depth as i64 >= 0)?;
    Some(Frame { depth, link_slot })
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
    /// Where the window compares a loaded register with a constant and
    /// the word the load-linked's address register points at (in `regs`,
    /// as [`Self::registers`] made them) does not hold it: where to write
    /// it, and the bytes.
    fn constant_stores(&self, arch: Arch, regs: &[(i32, u64)]) -> Vec<(u64, Vec<u8>)> {
        let big = arch.big_endian();
        let size = self.half.min(8);
        let width_mask = match size {
            8 => u64::MAX,
            n => (1u64 << (8 * u32::from(n))) - 1,
        };
        let Some(&(_, pointer)) = regs.iter().find(|(r, _)| Some(r) == self.address.first()) else {
            return Vec::new();
        };
        if !self.equality {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (offset, compared) in [(0, self.comparand), (u64::from(self.half), self.second)] {
            let Some(Compared::Constant(v)) = compared else {
                continue;
            };
            let at = pointer + offset;
            let want = v as u64 & width_mask;
            if heap_value(at, size, big) == want {
                continue;
            }
            let len = usize::from(size);
            let bytes = if big {
                want.to_be_bytes()[8 - len..].to_vec()
            } else {
                want.to_le_bytes()[..len].to_vec()
            };
            out.push((at, bytes));
        }
        out
    }

    /// The register values of a trial that starts here with `input`.
    fn registers(&self, arch: Arch, start: u64, input: &Input) -> Vec<(i32, u64)> {
        let big = arch.big_endian();
        let mut state = input.seed ^ start.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let r = splitmix(&mut state);
        let align = u64::from(self.size.max(8));
        let at = |page: u64, slot: u64| crate::emu::run::heap_pointer(page, slot) & !(align - 1);
        let (page, slot) = (r & 0xff, (r >> 8) & 0x7f);
        let width_mask = match self.half {
            8.. => u64::MAX,
            n => (1u64 << (8 * u32::from(n))) - 1,
        };
        // A compare with a constant: the first word from the drawn one on
        // that holds it (a quarter of the heap's words are zero).
        let pointer = match self.comparand {
            Some(Compared::Constant(v)) => (0..512u64)
                .map(|k| at(page + k / 128, slot + k))
                .find(|&p| heap_value(p, self.half, big) == v as u64 & width_mask)
                .unwrap_or_else(|| at(page, slot)),
            _ => at(page, slot),
        };
        let mut regs = Vec::new();
        for (i, &reg) in self.address.iter().enumerate() {
            regs.push((reg, if i == 0 { pointer } else { 0 }));
        }
        if let Some(Compared::Register(reg)) = self.comparand {
            regs.push((reg, heap_value(pointer, self.half, big)));
        }
        if let Some(Compared::Register(reg)) = self.second {
            let upper = pointer + u64::from(self.half);
            regs.push((reg, heap_value(upper, self.half, big)));
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
        let regs = opener.registers(self.arch, start, input);
        // A constant no word of the heap near the drawn one holds: the
        // word is written (journaled, like the program's own stores), as
        // the code that set the object up would have left it.
        let stores = opener.constant_stores(self.arch, &regs);
        let frame = opener.frame;
        for (reg, value) in regs {
            self.set_reg(reg, value);
        }
        for (addr, bytes) in stores {
            super::memory::write_journaled(&mut self.uc, addr, &bytes);
        }
        // The prologue's frame, with the sentinel where it saved the
        // return address.
        if let Some(frame) = frame {
            let sp = self.reg(self.abi.sp);
            let slot = sp.wrapping_add_signed(frame.link_slot);
            let bytes = if self.arch.big_endian() {
                super::SENTINEL.to_be_bytes()
            } else {
                super::SENTINEL.to_le_bytes()
            };
            super::memory::write_journaled(&mut self.uc, slot, &bytes);
            self.set_reg(self.abi.sp, sp - frame.depth);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(mnemonic: &str, op_str: &str) -> Insn {
        Insn {
            address: 0,
            len: 4,
            mnemonic: mnemonic.to_owned(),
            op_str: op_str.to_owned(),
            class: Class::Other,
            target: None,
            unsteppable: None,
        }
    }

    /// The frames of arm64 prologues as Capstone prints them.
    #[test]
    fn arm64_prologue_frames() {
        let frame = |code: &[(&str, &str)]| {
            let insns: Vec<Insn> = code.iter().map(|(m, o)| insn(m, o)).collect();
            prologue_frame(Arch::Aarch64, &insns)
        };
        // The kernel's: paciasp; stp x29, x30, [sp, #-0x30]!; mov x29, sp.
        assert_eq!(
            frame(&[
                ("paciasp", ""),
                ("stp", "x29, x30, [sp, #-0x30]!"),
                ("mov", "x29, sp"),
                ("stp", "x19, x20, [sp, #0x10]"),
            ]),
            Some(Frame {
                depth: 0x30,
                link_slot: -0x28
            })
        );
        // A large frame: sub sp first, then the frame record at its top.
        assert_eq!(
            frame(&[
                ("sub", "sp, sp, #0x60"),
                ("stp", "x29, x30, [sp, #0x50]"),
                ("add", "x29, sp, #0x50"),
            ]),
            Some(Frame {
                depth: 0x60,
                link_slot: -0x8
            })
        );
        assert_eq!(
            frame(&[("str", "x30, [sp, #-0x10]!")]),
            Some(Frame {
                depth: 0x10,
                link_slot: -0x10
            })
        );
        // A leaf saves no link register: no frame.
        assert_eq!(frame(&[("stp", "x19, x20, [sp, #-0x20]!")]), None);
        assert_eq!(frame(&[("add", "x1, x1, #1")]), None);
        // Other architectures keep their own conventions.
        let insns = vec![insn("stp", "x29, x30, [sp, #-0x30]!")];
        assert_eq!(prologue_frame(Arch::Ppc64le, &insns), None);
    }

    /// A constant no heap word holds is written only where the window
    /// tests the compare for equality: on Debian's ppc64el kernel
    /// (`idle_kvm_start_guest`: `lwarx r3,0,r8; cmpwi r3,256; bge out`)
    /// writing 256 sent every trial out of the window.
    #[test]
    fn constants_written_for_equality_tests_only() {
        let window = |arch: Arch, code: &[(&str, &str, Class)]| {
            let insns: Vec<Insn> = code
                .iter()
                .map(|(m, o, c)| Insn {
                    class: *c,
                    ..insn(m, o)
                })
                .collect();
            let (_, opener) = openers(arch, &insns).pop().expect("an opener");
            let input = Input::from_args(1, 0, Vec::new());
            let regs = opener.registers(arch, 0x1000, &input);
            opener.constant_stores(arch, &regs)
        };
        let branch = Class::Jump {
            indirect: false,
            conditional: true,
        };
        let ordered = window(
            Arch::Ppc64le,
            &[
                ("lwarx", "r3, 0, r8", Class::LoadLinked),
                ("cmpwi", "r3, 0x100", Class::Other),
                ("bge", "0x2000", branch),
            ],
        );
        assert!(ordered.is_empty());
        let equal = window(
            Arch::Aarch64,
            &[
                ("ldxr", "w0, [x3]", Class::LoadLinked),
                ("eor", "w4, w0, #0x55555555", Class::Other),
                ("cbnz", "w4, #0x2000", branch),
            ],
        );
        assert_eq!(equal.len(), 1);
        assert_eq!(equal[0].1, 0x5555_5555u32.to_le_bytes().to_vec());
    }
}
