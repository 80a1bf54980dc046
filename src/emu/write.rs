//! Writing a variable at a probe hit, as a live patch or a probe handler
//! changing `pt_regs` would: to a register, or to memory whose address is
//! computed from the registers at the hit.

use serde::Serialize;

use super::{abi, page_content, Emulator, PAGE, STACK_BASE, STACK_SIZE};

/// Where a write goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A register (DWARF number).
    Register(u16),
    /// `size` bytes of memory at a register's value plus an offset.
    RegisterMemory {
        /// DWARF number of the base register.
        base: u16,
        /// Offset from it.
        offset: i64,
        /// Bytes written.
        size: u8,
    },
    /// `size` bytes of memory at a static address.
    Memory {
        /// The address.
        address: u64,
        /// Bytes written.
        size: u8,
    },
}

/// One write applied at every hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOp {
    /// Where.
    pub target: Target,
    /// What; `None`: the value there plus one (a change whatever it was).
    pub value: Option<u64>,
}

/// One write as it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WriteEvent {
    /// The place written, resolved: `rbx`, `[0x7ffff000]`.
    pub place: String,
    /// The value there before.
    pub before: u64,
    /// The value written.
    pub after: u64,
    /// Other integer registers that held the same value at the hit (the
    /// variable may live there too).
    pub also_in: Vec<&'static str>,
}

impl Emulator {
    /// Apply `ops` at a hit; memory writes are journaled so that the next
    /// trial's reset undoes them.
    pub(super) fn apply_writes(&mut self, ops: &[WriteOp]) -> Vec<WriteEvent> {
        let abi = abi::abi(self.arch);
        let mut events = Vec::new();
        for op in ops {
            let (place, before, reg, mem) = match op.target {
                Target::Register(n) => {
                    let Some((id, name)) = abi::dwarf_reg(self.arch, n) else {
                        continue;
                    };
                    (name.to_owned(), self.reg(id), Some(id), None)
                }
                Target::RegisterMemory { base, offset, size } => {
                    let Some((id, _)) = abi::dwarf_reg(self.arch, base) else {
                        continue;
                    };
                    let addr = self.reg(id).wrapping_add(offset as u64);
                    let Some(v) = self.read_value(addr, size) else {
                        continue;
                    };
                    (format!("[{addr:#x}]"), v, None, Some((addr, size)))
                }
                Target::Memory { address, size } => {
                    let addr = self.to_cpu(address);
                    let Some(v) = self.read_value(addr, size) else {
                        continue;
                    };
                    (format!("[{address:#x}]"), v, None, Some((addr, size)))
                }
            };
            let after = op.value.unwrap_or(before.wrapping_add(1));
            let also_in = abi
                .state
                .iter()
                .zip(abi.state_names)
                .filter(|(id, _)| Some(**id) != reg && **id != abi.sp)
                .filter(|(id, _)| {
                    let v = self.reg(**id);
                    match mem.map(|(_, s)| s) {
                        Some(size) if size < 8 => v & mask(size) == before & mask(size),
                        _ => v == before,
                    }
                })
                .map(|(_, name)| *name)
                .collect();
            if let Some(id) = reg {
                self.set_reg(id, after);
            }
            if let Some((addr, size)) = mem {
                self.write_word(addr, size, after);
            }
            events.push(WriteEvent {
                place,
                before,
                after,
                also_in,
            });
        }
        events
    }

    fn read_value(&mut self, addr: u64, size: u8) -> Option<u64> {
        let size = usize::from(size.clamp(1, 8));
        let mut buf = [0u8; 8];
        if self.uc.mem_read(addr, &mut buf[..size]).is_err() {
            let page = addr & !(PAGE - 1);
            if page < 0x10000 {
                return None;
            }
            let content = page_content(page, self.arch.big_endian());
            let at = (addr - page) as usize;
            buf[..size].copy_from_slice(content.get(at..at + size)?);
        }
        let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
        Some(if self.arch.big_endian() {
            buf[..size].iter().fold(0, fold)
        } else {
            buf[..size].iter().rev().fold(0, fold)
        })
    }

    fn write_word(&mut self, addr: u64, size: u8, value: u64) {
        let size = usize::from(size.clamp(1, 8));
        let bytes = if self.arch.big_endian() {
            value.to_be_bytes()[8 - size..].to_vec()
        } else {
            value.to_le_bytes()[..size].to_vec()
        };
        // A heap page nobody touched yet is materialised as a load would.
        let mut probe = [0u8; 1];
        if self.uc.mem_read(addr, &mut probe).is_err()
            && !super::memory::map_lazy_page(&mut self.uc, addr & !(PAGE - 1))
        {
            return;
        }
        super::memory::write_journaled(&mut self.uc, addr, &bytes);
    }

    /// Every byte stored during the trial outside the stack: `(address,
    /// final value)`, sorted. With the return value and the calls, what a
    /// caller can observe. The trial's caller is synthetic: its stack frame
    /// holds no variables (pointer arguments point into the heap), only the
    /// ABI's save areas that a callee may write (the POWER link register,
    /// TOC and parameter save areas), so the whole stack is the region's.
    pub(super) fn observable_stores(&self) -> Vec<(u64, u8)> {
        let state = self.uc.get_data();
        let mut out: Vec<(u64, u8)> = Vec::new();
        for j in &state.journal {
            for i in 0..u64::from(j.len) {
                let a = j.addr + i;
                let own_frame = (STACK_BASE..STACK_BASE + STACK_SIZE).contains(&a);
                let scratch = super::is_scratch(a);
                if !own_frame && !scratch {
                    out.push((a, 0));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        for (a, v) in &mut out {
            let mut b = [0u8; 1];
            let _ = self.uc.mem_read(*a, &mut b);
            *v = b[0];
        }
        out
    }
}

fn mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * u32::from(size))) - 1
    }
}
