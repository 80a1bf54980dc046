//! x86-64 in the emulator: SysV registers, `gs` as the kernel's per-CPU
//! base, RTM transactions, no reservation to clear.

use unicorn_engine::unicorn_const::{Arch as UcArch, Mode};
use unicorn_engine::RegisterX86;

use super::{EmuArch, MonitorClear, TxInsn, TxSignal};
use crate::arch::Arch;
use crate::emu::abi::Abi;
use crate::emu::selftest::{check, memory_checks, read_back, Check};
use crate::emu::{Emulator, PERCPU_BASE};
use crate::trap::{StatusEncoding, TrapModel, TxResume};

/// The x86-64 table.
pub(super) struct X86_64;

const ABI: Abi = Abi {
    pc: RegisterX86::RIP as i32,
    sp: RegisterX86::RSP as i32,
    lr: None,
    args: ids!(RegisterX86: RDI, RSI, RDX, RCX, R8, R9),
    ret: RegisterX86::RAX as i32,
    state: ids!(RegisterX86: RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, RFLAGS),
    state_names: names!(
        rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, r10, r11, r12, r13, r14, r15, rflags
    ),
    // `%gs:sym` reads the per-CPU area (`current` is `pcpu_hot.current_task`).
    kernel_context: &[(RegisterX86::GS_BASE as i32, PERCPU_BASE)],
};

impl EmuArch for X86_64 {
    fn arch(&self) -> Arch {
        Arch::X86_64
    }

    fn unicorn(&self) -> (UcArch, Mode) {
        (UcArch::X86, Mode::MODE_64)
    }

    fn abi(&self) -> &'static Abi {
        &ABI
    }

    fn gpr(&self, name: &str) -> Option<i32> {
        let name = name.trim().trim_start_matches('%');
        let i = ABI.state_names.iter().position(|r| *r == name)?;
        Some(ABI.state[i])
    }

    fn clear_code(&self) -> Vec<u8> {
        vec![0x90]
    }

    fn monitor_clear(&self) -> MonitorClear {
        MonitorClear::Nothing
    }

    fn trap_model(&self) -> TrapModel {
        TrapModel {
            return_clears_reservation: false,
            handler_runs_in_transaction: false,
            tx_resume: TxResume::Fallback,
            status: StatusEncoding::Rtm,
        }
    }

    fn tx_insn(&self, at: u64, code: &[u8]) -> TxInsn {
        // xbegin rel32 (c7 f8), xabort imm8 (c6 f8), xend/xtest (0f 01 d5/d6).
        let byte = |i: usize| code.get(i).copied().unwrap_or(0);
        let len = match [byte(0), byte(1)] {
            [0xc7, 0xf8] => 6,
            [0xc6, 0xf8] => 3,
            _ => 3,
        };
        let rel = i32::from_le_bytes([byte(2), byte(3), byte(4), byte(5)]);
        TxInsn {
            len,
            fallback: Some((at + len).wrapping_add(rel as i64 as u64)),
            result_reg: None,
            abort_imm: u64::from(byte(2)),
            ends_all: false,
        }
    }

    fn tx_tested(&self, _depth: u32) -> TxSignal {
        // xtest: ZF clear inside a transaction.
        TxSignal::FlagClearInside {
            reg: RegisterX86::RFLAGS as i32,
            bit: 6,
        }
    }

    fn self_test(&self, emu: &mut Emulator, code_at: u64, high: u64) -> Vec<Check> {
        let arch = Arch::X86_64;
        // movabs rdi, 0x123450000; mov dword [rdi], 0x01020304; mov eax, [rdi]; nop
        let code = [
            0x48, 0xbf, 0x00, 0x00, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x07, 0x04, 0x03,
            0x02, 0x01, 0x8b, 0x07, 0x90,
        ];
        let _ = emu.uc.mem_write(code_at, &code);
        let r = emu
            .uc
            .emu_start(code_at, code_at + code.len() as u64 - 1, 0, 0);
        let eax = emu.uc.reg_read(RegisterX86::RAX).unwrap_or(0);
        let mut checks = Vec::from(memory_checks(arch, emu, high, eax, &r));
        checks.extend([]);
        checks
    }

    fn kernel_base(&self) -> u64 {
        0xffff_ffff_8100_0000
    }

    fn kernel_self_test(&self, emu: &mut Emulator, base: u64, data: u64) -> Vec<Check> {
        let arch = Arch::X86_64;
        // lea rdi, [rip + 0xff9] (= base + 0x1000); mov dword [rdi], 0x01020304;
        // mov eax, [rdi]; lock xadd [rdi], esi (esi = 1); mov rcx, gs:[0]; nop
        let code = [
            0x48, 0x8d, 0x3d, 0xf9, 0x0f, 0x00, 0x00, 0xc7, 0x07, 0x04, 0x03, 0x02, 0x01, 0x8b,
            0x07, 0xf0, 0x0f, 0xc1, 0x37, 0x65, 0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x00, 0x00,
            0x90,
        ];
        let _ = emu.uc.mem_write(emu.to_cpu(base), &code);
        let _ = emu.uc.reg_write(RegisterX86::RSI, 1);
        let end = base + code.len() as u64 - 1;
        let r = emu.uc.emu_start(base, end, 0, 0);
        let rdi = emu.uc.reg_read(RegisterX86::RDI).unwrap_or(0);
        let eax = emu.uc.reg_read(RegisterX86::RAX).unwrap_or(0);
        let rcx = emu.uc.reg_read(RegisterX86::RCX).unwrap_or(0);
        let pc = emu.uc.reg_read(RegisterX86::RIP).unwrap_or(0);
        let mem = read_back(emu, emu.to_cpu(data));
        let percpu = u64::from_le_bytes(
            crate::emu::memory::page_content(PERCPU_BASE, false)[..8]
                .try_into()
                .expect("8 bytes"),
        );
        vec![
            check(
                arch,
                "kernel address: code, store, load",
                r.is_ok() && pc == end && rdi == data && eax == 0x0102_0304,
                format!("ran to {pc:#x}, stored at {rdi:#x}, loaded {eax:#x} ({r:?})"),
            ),
            check(
                arch,
                "kernel address: locked add",
                mem[..4] == [5, 3, 2, 1],
                format!("bytes {:02x?} after lock xadd", &mem[..4]),
            ),
            check(
                arch,
                "kernel context: gs base",
                rcx == percpu,
                format!("%gs:0 read {rcx:#x}, the per-CPU area holds {percpu:#x}"),
            ),
        ]
    }
}
