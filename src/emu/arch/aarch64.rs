//! AArch64 in the emulator: AAPCS64 registers, the `max` CPU model,
//! `clrex` on exception return, TME transactions, `sp_el0`/`tpidr_el1` as
//! the kernel context.

use unicorn_engine::unicorn_const::{Arch as UcArch, Mode};
use unicorn_engine::RegisterARM64;

use super::{numbered, words, EmuArch, MonitorClear, TxInsn, TxSignal};
use crate::arch::Arch;
use crate::emu::abi::Abi;
use crate::emu::selftest::{check, memory_checks, read_back, Check};
use crate::emu::state::ZeroBlock;
use crate::emu::{Emulator, CURRENT_TASK};
use crate::trap::{StatusEncoding, TrapModel, TxResume};

/// The AArch64 table.
pub(super) struct Aarch64;

/// The table's one value.
pub(super) const AARCH64: Aarch64 = Aarch64;

const ABI: Abi = Abi {
    pc: RegisterARM64::PC as i32,
    sp: RegisterARM64::SP as i32,
    lr: Some(RegisterARM64::X30 as i32),
    args: ids!(RegisterARM64: X0, X1, X2, X3, X4, X5, X6, X7),
    ret: RegisterARM64::X0 as i32,
    state: ids!(RegisterARM64: X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15, X16, X17, X18, X19, X20, X21, X22, X23, X24, X25, X26, X27, X28, X29, X30, SP, NZCV),
    state_names: names!(
        x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15, x16, x17, x18, x19,
        x20, x21, x22, x23, x24, x25, x26, x27, x28, x29, x30, sp, nzcv
    ),
    // `current` is `sp_el0` at EL1. `tpidr_el1` is the per-CPU offset added
    // to a per-CPU symbol's link address: 0 reads the image's own
    // `.data..percpu`, the template every CPU's area starts as a copy of.
    kernel_context: &[
        (RegisterARM64::SP_EL0 as i32, CURRENT_TASK),
        (RegisterARM64::TPIDR_EL1 as i32, 0),
    ],
};

impl EmuArch for Aarch64 {
    fn arch(&self) -> Arch {
        Arch::Aarch64
    }

    fn unicorn(&self) -> (UcArch, Mode) {
        (UcArch::ARM64, Mode::ARM)
    }

    /// The `max` CPU, so that ARMv8.1+ code (LSE atomics, PAC hints) runs;
    /// Unicorn's default Cortex-A72 is ARMv8.0.
    fn cpu_model(&self) -> Option<(i32, &'static str)> {
        Some((unicorn_engine_sys::Arm64CpuModel::MAX as i32, "arm64"))
    }

    fn abi(&self) -> &'static Abi {
        &ABI
    }

    fn gpr(&self, name: &str) -> Option<i32> {
        let name = name.trim().trim_start_matches('%');
        numbered(&ABI, name, &['w', 'x'], 30)
    }

    /// `clrex`.
    fn clear_code(&self) -> Vec<u8> {
        0xd503_3f5fu32.to_le_bytes().to_vec()
    }

    fn monitor_clear(&self) -> MonitorClear {
        MonitorClear::Execute {
            address: None,
            preserved: &[],
        }
    }

    /// `dc zva, Xt`.
    fn zero_block(&self, mnemonic: &str, ops: &[&str]) -> Option<ZeroBlock> {
        match (mnemonic, ops) {
            ("dc", [op, xt]) if op.eq_ignore_ascii_case("zva") => Some(ZeroBlock {
                base: None,
                index: self.gpr(xt)?,
            }),
            _ => None,
        }
    }

    fn trap_model(&self) -> TrapModel {
        TrapModel {
            return_clears_reservation: true,
            handler_runs_in_transaction: false,
            tx_resume: TxResume::AfterBegin,
            status: StatusEncoding::Tme,
        }
    }

    fn tx_insn(&self, _at: u64, code: &[u8]) -> TxInsn {
        let word = code
            .get(..4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        // `tstart`/`ttest` destination register.
        let rt = (word & 0x1f) as usize;
        TxInsn {
            len: 4,
            fallback: None,
            result_reg: (rt < 31).then(|| ABI.state[rt]),
            abort_imm: u64::from((word >> 5) & 0xffff),
            ends_all: false,
        }
    }

    fn tx_started(&self, _nested: bool) -> TxSignal {
        TxSignal::ResultReg(0)
    }

    fn tx_tested(&self, depth: u32) -> TxSignal {
        TxSignal::ResultReg(u64::from(depth))
    }

    fn self_test(&self, emu: &mut Emulator, code_at: u64, high: u64) -> Vec<Check> {
        let arch = Arch::Aarch64;
        let code = words(
            false,
            &[
                0xd2c0_0021, // mov x1, #0x100000000
                0xf2a4_68a1, // movk x1, #0x2345, lsl #16
                0xd280_6082, // mov x2, #0x304
                0xf2a0_2042, // movk x2, #0x102, lsl #16
                0xf900_0022, // str x2, [x1]
                0xf940_0023, // ldr x3, [x1]
                0xc85f_7c24, // ldxr x4, [x1]
                0x9100_0484, // add x4, x4, #1
                0xc805_7c24, // stxr w5, x4, [x1]
                0xd503_201f, // nop
            ],
        );
        let _ = emu.uc.mem_write(code_at, &code);
        let end = code_at + 0x24;
        let r = emu.uc.emu_start(code_at, end, 0, 0);
        let x3 = emu.uc.reg_read(RegisterARM64::X3).unwrap_or(0);
        let w5 = emu.uc.reg_read(RegisterARM64::X5).unwrap_or(9);
        // Again, with an exception return between the ldxr and the stxr.
        let _ = emu.uc.emu_start(code_at, code_at + 0x1c, 0, 0);
        emu.clear_reservation();
        let r2 = emu.uc.emu_start(code_at + 0x1c, end, 0, 0);
        let w5_trapped = emu.uc.reg_read(RegisterARM64::X5).unwrap_or(9);
        let mut checks = Vec::from(memory_checks(arch, emu, high, x3, &r));
        checks.extend([
            check(
                arch,
                "unprobed LL/SC pair succeeds",
                w5 == 0,
                format!("stxr status {w5}"),
            ),
            check(
                arch,
                "exception return clears the monitor",
                r2.is_ok() && w5_trapped == 1,
                format!("stxr status {w5_trapped} after CLREX"),
            ),
        ]);
        checks
    }

    /// Debian 6.1's arm64 kernels: the TTBR1 half.
    fn kernel_base(&self) -> u64 {
        0xffff_8000_0801_0000
    }

    fn kernel_self_test(&self, emu: &mut Emulator, base: u64, data: u64) -> Vec<Check> {
        let arch = Arch::Aarch64;
        let code = words(
            false,
            &[
                0x1000_8001, // adr x1, .+0x1000 (= base + 0x1000)
                0xd280_6082, // mov x2, #0x304
                0xf2a0_2042, // movk x2, #0x102, lsl #16
                0xf900_0022, // str x2, [x1]
                0xf940_0023, // ldr x3, [x1]
                0xc85f_7c24, // ldxr x4, [x1]
                0x9100_0484, // add x4, x4, #1
                0xc805_7c24, // stxr w5, x4, [x1]
                0xd538_4106, // mrs x6, sp_el0
                0xd538_d087, // mrs x7, tpidr_el1
                0xd503_201f, // nop
            ],
        );
        let _ = emu.uc.mem_write(emu.to_cpu(base), &code);
        let end = base + 0x28;
        let _ = emu.uc.reg_write(RegisterARM64::X5, 9);
        let r = emu.uc.emu_start(base, end, 0, 0);
        let reg = |emu: &Emulator, r| emu.uc.reg_read(r).unwrap_or(9);
        let (x1, x3, w5) = (
            reg(emu, RegisterARM64::X1),
            reg(emu, RegisterARM64::X3),
            reg(emu, RegisterARM64::X5),
        );
        let (x6, x7) = (reg(emu, RegisterARM64::X6), reg(emu, RegisterARM64::X7));
        let pc = reg(emu, RegisterARM64::PC);
        let mem = read_back(emu, emu.to_cpu(data));
        // Again, with an exception return between the ldxr and the stxr.
        let _ = emu.uc.reg_write(RegisterARM64::X5, 9);
        let _ = emu.uc.emu_start(base, base + 0x1c, 0, 0);
        emu.clear_reservation();
        let r2 = emu.uc.emu_start(base + 0x1c, base + 0x20, 0, 0);
        let trapped = reg(emu, RegisterARM64::X5);
        vec![
            check(
                arch,
                "kernel address: code, store, load",
                r.is_ok() && pc == end && x1 == data && x3 == 0x0102_0304,
                format!("ran to {pc:#x}, stored at {x1:#x}, loaded {x3:#x} ({r:?})"),
            ),
            check(
                arch,
                "kernel address: unprobed LL/SC pair succeeds",
                w5 == 0 && mem == 0x0102_0305u64.to_le_bytes(),
                format!("stxr status {w5}, memory {:#x}", u64::from_le_bytes(mem)),
            ),
            check(
                arch,
                "kernel address: exception return clears the monitor",
                r2.is_ok() && trapped == 1,
                format!("stxr status {trapped} after CLREX"),
            ),
            check(
                arch,
                "kernel context: sp_el0, tpidr_el1",
                x6 == CURRENT_TASK && x7 == 0,
                format!("current (sp_el0) {x6:#x}, per-CPU offset (tpidr_el1) {x7:#x}"),
            ),
        ]
    }
}
