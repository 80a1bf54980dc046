//! A plain, unhooked Unicorn run of a function: the reference the
//! benchmark compares probesafe's instrumented trials against. Same
//! mapping, same inputs, no hooks, no journal: only `emu_start`.

use unicorn_engine::unicorn_const::Prot;
use unicorn_engine::{Context, Unicorn};

use super::abi::Abi;
use super::arch::{self, EmuArch};
use super::{EmuError, Emulator, Input, SENTINEL, STACK_BASE, STACK_SIZE};
use crate::arch::Arch;
use crate::load::Binary;

/// An engine with the binary mapped and nothing else.
pub struct PlainEngine {
    uc: Unicorn<'static, ()>,
    abi: &'static Abi,
    table: &'static dyn EmuArch,
    mask: u64,
    ctx: Context,
}

impl PlainEngine {
    /// Map the binary, a stack and the sentinel page.
    pub fn new(binary: &Binary) -> Result<PlainEngine, EmuError> {
        let arch = binary.arch;
        let table = arch::of(arch);
        let (uc_arch, mode) = table.unicorn();
        let err = |operation: &str, e| EmuError::unicorn(arch, operation, None, e);
        let mut uc = Unicorn::new(uc_arch, mode).map_err(|e| err("opening the emulator", e))?;
        super::configure(&mut uc, arch)?;
        let mask = Emulator::mask_of(arch);
        for s in binary.sections.iter().filter(|s| s.size > 0) {
            let start = (s.address & mask) & !0xfff;
            let Some(end) = (s.address & mask)
                .checked_add(s.size)
                .and_then(|e| e.div_ceil(0x1000).checked_mul(0x1000))
            else {
                return Err(EmuError::SectionOverflow {
                    arch,
                    section: s.name.clone(),
                    address: s.address,
                    size: s.size,
                });
            };
            let mut page = start;
            while page < end {
                let _ = uc.mem_map(page, 0x1000, Prot::ALL);
                page += 0x1000;
            }
            if !s.data.is_empty() {
                let _ = uc.mem_write(s.address & mask, &s.data);
            }
        }
        uc.mem_map(STACK_BASE, STACK_SIZE, Prot::READ | Prot::WRITE)
            .map_err(|e| err("mapping the stack", e))?;
        uc.mem_map(SENTINEL, 0x1000, Prot::ALL)
            .map_err(|e| err("mapping the sentinel page", e))?;
        let ctx = uc
            .context_init()
            .map_err(|e| err("saving the pristine context", e))?;
        Ok(PlainEngine {
            uc,
            abi: table.abi(),
            table,
            mask,
            ctx,
        })
    }

    /// Map a page of data (the benchmark's pointer arguments point there).
    pub fn map_data(&mut self, addr: u64, bytes: &[u8]) -> Result<(), EmuError> {
        let page = addr & !0xfff;
        let _ = self.uc.mem_map(page, 0x1000, Prot::READ | Prot::WRITE);
        self.uc
            .mem_write(addr, bytes)
            .map_err(|e| EmuError::unicorn(self.arch(), "writing data", Some(addr), e))
    }

    /// Run the function at `entry` with `input` until it returns.
    pub fn run(&mut self, entry: u64, toc: Option<u64>, input: &Input) -> Result<u64, EmuError> {
        let _ = self.uc.context_restore(&self.ctx);
        for (i, &reg) in self.abi.args.iter().enumerate() {
            let _ = self
                .uc
                .reg_write(reg, input.args.get(i).copied().unwrap_or(0));
        }
        let sp = STACK_BASE + STACK_SIZE - 0x4000;
        match self.abi.lr {
            Some(lr) => {
                let _ = self.uc.reg_write(self.abi.sp, sp);
                let _ = self.uc.reg_write(lr, SENTINEL);
            }
            None => {
                let _ = self.uc.reg_write(self.abi.sp, sp - 8);
                let _ = self.uc.mem_write(sp - 8, &SENTINEL.to_le_bytes());
            }
        }
        if let Some(reg) = self.table.entry_register() {
            let _ = self.uc.reg_write(reg, entry & self.mask);
        }
        if let (Some((reg, _)), Some(toc)) = (self.table.toc(), toc) {
            let _ = self.uc.reg_write(reg, toc & self.mask);
        }
        let arch = self.arch();
        self.uc
            .emu_start(entry & self.mask, SENTINEL, 0, 0)
            .map_err(|e| EmuError::unicorn(arch, "running", Some(entry), e))?;
        self.uc
            .reg_read(self.abi.ret)
            .map_err(|e| EmuError::unicorn(arch, "reading the return value", None, e))
    }

    fn arch(&self) -> Arch {
        self.table.arch()
    }
}
