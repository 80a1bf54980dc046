//! A plain, unhooked Unicorn run of a function: the reference the
//! benchmark compares probesafe's instrumented trials against. Same
//! mapping, same inputs, no hooks, no journal: only `emu_start`.

use unicorn_engine::unicorn_const::{Arch as UcArch, Mode, Prot};
use unicorn_engine::{Context, RegisterPPC, Unicorn};

use super::abi::{abi, Abi};
use super::{Emulator, Input, SENTINEL, STACK_BASE, STACK_SIZE};
use crate::arch::Arch;
use crate::load::Binary;

/// An engine with the binary mapped and nothing else.
pub struct PlainEngine {
    uc: Unicorn<'static, ()>,
    abi: &'static Abi,
    arch: Arch,
    mask: u64,
    ctx: Context,
}

impl PlainEngine {
    /// Map the binary, a stack and the sentinel page.
    pub fn new(binary: &Binary) -> Result<PlainEngine, String> {
        let arch = binary.arch;
        let (uc_arch, mode) = match arch {
            Arch::X86_64 => (UcArch::X86, Mode::MODE_64),
            Arch::Aarch64 => (UcArch::ARM64, Mode::ARM),
            Arch::Ppc64 | Arch::Ppc64le => (UcArch::PPC, Mode::PPC64 | Mode::BIG_ENDIAN),
        };
        let mut uc = Unicorn::new(uc_arch, mode).map_err(|e| format!("{e:?}"))?;
        super::set_cpu_model(&mut uc, arch)?;
        if arch.is_ppc() {
            super::ppc::enter_64bit_real_mode(&mut uc, arch == Arch::Ppc64le)?;
        }
        let mask = Emulator::mask_of(arch);
        for s in binary.sections.iter().filter(|s| s.size > 0) {
            let start = (s.address & mask) & !0xfff;
            let end = ((s.address & mask).saturating_add(s.size)).div_ceil(0x1000) * 0x1000;
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
            .map_err(|e| format!("{e:?}"))?;
        uc.mem_map(SENTINEL, 0x1000, Prot::ALL)
            .map_err(|e| format!("{e:?}"))?;
        let ctx = uc.context_init().map_err(|e| format!("{e:?}"))?;
        Ok(PlainEngine {
            uc,
            abi: abi(arch),
            arch,
            mask,
            ctx,
        })
    }

    /// Map a page of data (the benchmark's pointer arguments point there).
    pub fn map_data(&mut self, addr: u64, bytes: &[u8]) -> Result<(), String> {
        let page = addr & !0xfff;
        let _ = self.uc.mem_map(page, 0x1000, Prot::READ | Prot::WRITE);
        self.uc.mem_write(addr, bytes).map_err(|e| format!("{e:?}"))
    }

    /// Run the function at `entry` with `input` until it returns.
    pub fn run(&mut self, entry: u64, toc: Option<u64>, input: &Input) -> Result<u64, String> {
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
        if self.arch.is_ppc() {
            let _ = self.uc.reg_write(RegisterPPC::R12, entry & self.mask);
            if let Some(toc) = toc {
                let _ = self.uc.reg_write(RegisterPPC::R2, toc & self.mask);
            }
        }
        self.uc
            .emu_start(entry & self.mask, SENTINEL, 0, 0)
            .map_err(|e| format!("{e:?}"))?;
        self.uc.reg_read(self.abi.ret).map_err(|e| format!("{e:?}"))
    }
}
