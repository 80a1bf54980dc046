//! The emulator's per-architecture table: one file per architecture behind
//! [`EmuArch`], chosen once by [`of`].
//!
//! What differs between architectures once their code runs in Unicorn: the
//! engine's arch and mode, the CPU model and address translation, the
//! registers of the calling convention ([`Abi`]), the kernel context, the
//! instruction an exception return executes to clear the exclusive monitor,
//! how a store-conditional reports success, the transaction instructions'
//! encodings and status values, the trap model ([`TrapModel`]) and the
//! start-up self-test programs. The rest of `src/emu` asks the table and
//! never matches on the architecture. Adding one means a new file here and
//! a row in [`of`] and [`ARCHES`].
//!
//! Nothing here runs per instruction: the hooks read what they need from
//! values the table gave at set-up (`State`), the table's methods are
//! called per trial, per stubbed call or per transaction instruction.

/// Unicorn register ids: `ids!(RegisterX86: RAX, RBX)`.
macro_rules! ids {
    ($enum:ident: $($r:ident),* $(,)?) => { &[$($enum::$r as i32),*] };
}

/// Register names, as the disassembler writes them: `names!(rax, rbx)`.
macro_rules! names {
    ($($r:ident),* $(,)?) => { &[$(stringify!($r)),*] };
}

mod aarch64;
mod ppc64;
mod x86_64;

pub(crate) use ppc64::{enter_64bit_real_mode, on_block_at_zero};

use unicorn_engine::unicorn_const::{Arch as UcArch, Mode};

use super::abi::Abi;
use super::selftest::Check;
use super::state::{ScStatus, ZeroBlock};
use super::{Addressing, Emulator};
use crate::arch::Arch;
use crate::trap::TrapModel;

/// Every architecture the emulator runs, in the order the self-test
/// reports them.
pub const ARCHES: [Arch; 4] = [Arch::X86_64, Arch::Aarch64, Arch::Ppc64, Arch::Ppc64le];

/// The table of an architecture: the one place that matches on it.
pub(crate) fn of(arch: Arch) -> &'static dyn EmuArch {
    match arch {
        Arch::X86_64 => &x86_64::X86_64,
        Arch::Aarch64 => &aarch64::AARCH64,
        Arch::Ppc64 => &ppc64::PPC64_BE,
        Arch::Ppc64le => &ppc64::PPC64_LE,
    }
}

/// Registers a [`MonitorClear::Execute`] preserves at most.
pub(crate) const MAX_PRESERVED: usize = 4;

/// How an exception return's clearing of the exclusive monitor (or
/// reservation) is modelled: by executing the architecture's own clearing
/// instruction, written at the start of the scratch page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MonitorClear {
    /// Nothing to clear (x86 has no reservation).
    Nothing,
    /// Execute the scratch instruction once.
    Execute {
        /// A register the instruction takes the scratch granule's address
        /// from (POWER `stdcx. r3,0,r3`).
        address: Option<i32>,
        /// Registers saved before and restored after (the address
        /// register, the condition register the instruction sets, the pc).
        preserved: &'static [i32],
    },
}

/// A transaction instruction as the model needs it, decoded from its
/// encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxInsn {
    /// Its length in bytes.
    pub len: u64,
    /// x86 `xbegin rel32`: the abort fallback address.
    pub fallback: Option<u64>,
    /// arm64 `tstart Xt` / `ttest Xt`: the register it writes.
    pub result_reg: Option<i32>,
    /// The explicit abort's immediate (`xabort imm8`, `tcancel #imm16`).
    pub abort_imm: u64,
    /// POWER `tend. 1`: ends every nesting level, not one.
    pub ends_all: bool,
}

/// Where a transaction instruction leaves a value for the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxSignal {
    /// Nothing.
    None,
    /// The instruction's result register ([`TxInsn::result_reg`]) gets a value.
    ResultReg(u64),
    /// POWER condition register field 0 gets a value.
    Cr0(u8),
    /// x86 `xtest`: ZF (bit `bit` of register `reg`) is clear inside a
    /// transaction.
    FlagClearInside {
        /// The flags register.
        reg: i32,
        /// The bit.
        bit: u32,
    },
}

/// The emulator's per-architecture facts and the pieces of code that use
/// them.
pub(crate) trait EmuArch: Sync {
    /// Which architecture this is.
    fn arch(&self) -> Arch;
    /// Unicorn's arch and mode.
    fn unicorn(&self) -> (UcArch, Mode);
    /// A CPU model to select instead of Unicorn's default, and the
    /// architecture's name in the error if that fails.
    fn cpu_model(&self) -> Option<(i32, &'static str)> {
        None
    }
    /// How the CPU reaches the binary's addresses.
    fn addressing(&self) -> Addressing {
        Addressing::Identity
    }
    /// Registers of the calling convention and the kernel context.
    fn abi(&self) -> &'static Abi;
    /// The Unicorn id of a general register named in disassembly (`w2`,
    /// `x5`, `r3`, `eax`...).
    fn gpr(&self, name: &str) -> Option<i32>;
    /// The register that holds the function's entry address at its entry
    /// (POWER ELFv2 `r12`).
    fn entry_register(&self) -> Option<i32> {
        None
    }
    /// The register that holds the TOC pointer (POWER `r2`), and where the
    /// linker's call stub saves it in the caller's frame (offset from the
    /// stack pointer).
    fn toc(&self) -> Option<(i32, u64)> {
        None
    }
    /// Registers every trial starts with besides the arguments (POWER
    /// `r13`, the paca).
    fn trial_registers(&self) -> &'static [(i32, u64)] {
        &[]
    }
    /// The instruction at the start of the scratch page, in memory order.
    fn clear_code(&self) -> Vec<u8>;
    /// How an exception return clears the monitor.
    fn monitor_clear(&self) -> MonitorClear;
    /// Code the interrupt model returns from a system call through, put at
    /// `SYSCALL_RETURN` (POWER).
    /// Instructions in `code` (an executable section's bytes, at
    /// `address`) that Unicorn must not execute: each is replaced in the
    /// emulator's copy by an illegal instruction, so that the interrupt
    /// hook models it. Returns the replaced words, `(address, original)`.
    fn modelled_code(&self, _code: &mut [u8], _address: u64) -> Vec<(u64, u32)> {
        Vec::new()
    }

    fn syscall_return_code(&self) -> Option<Vec<u8>> {
        None
    }
    /// The interrupt hook, where Unicorn raises interrupts that the
    /// program's own code causes (POWER system calls and faults).
    fn interrupt_hook(&self) -> Option<fn(&mut unicorn_engine::Unicorn<'_, super::State>, u32)> {
        None
    }
    /// The name of an interrupt number the hook recorded.
    fn interrupt_name(&self, _intno: u32) -> &'static str {
        "an interrupt the emulator raised and nothing handles"
    }
    /// A cache-block zeroing instruction (POWER `dcbz`, arm64 `dc zva`),
    /// given its operands.
    fn zero_block(&self, _mnemonic: &str, _ops: &[&str]) -> Option<ZeroBlock> {
        None
    }
    /// How a store-conditional with operands `op_str` reports success.
    fn sc_status(&self, op_str: &str) -> Option<ScStatus> {
        op_str
            .split(',')
            .next()
            .and_then(|r| self.gpr(r))
            .map(ScStatus::Register)
    }
    /// The trap model.
    fn trap_model(&self) -> TrapModel;
    /// Decode the transaction instruction at `at` whose bytes start with
    /// `code` (at least 6 bytes).
    fn tx_insn(&self, at: u64, code: &[u8]) -> TxInsn {
        let _ = (at, code);
        TxInsn {
            len: 4,
            ..TxInsn::default()
        }
    }
    /// What a transaction begin leaves (`nested`: inside a transaction).
    fn tx_started(&self, _nested: bool) -> TxSignal {
        TxSignal::None
    }
    /// What a transaction end leaves.
    fn tx_ended(&self) -> TxSignal {
        TxSignal::None
    }
    /// What a transaction test leaves at nesting depth `depth`.
    fn tx_tested(&self, _depth: u32) -> TxSignal {
        TxSignal::None
    }
    /// The self-test program on an emulator with the test pages mapped:
    /// code at `code`, data at `high` (above 4 GiB).
    fn self_test(&self, emu: &mut Emulator, code: u64, high: u64) -> Vec<Check>;
    /// Where the architecture's kernels are linked.
    fn kernel_base(&self) -> u64;
    /// The kernel-address self-test: code at `base`, data at `data` (one
    /// page above), both mapped.
    fn kernel_self_test(&self, emu: &mut Emulator, base: u64, data: u64) -> Vec<Check>;
}

/// Instruction words in the target's byte order.
pub(crate) fn words(big_endian: bool, w: &[u32]) -> Vec<u8> {
    w.iter()
        .flat_map(|x| {
            if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        })
        .collect()
}

/// The general register `name` with a one-letter prefix (`x5`, `r3`):
/// index into `state`, at most `last`.
fn numbered(abi: &Abi, name: &str, prefixes: &[char], last: usize) -> Option<i32> {
    let n: usize = name.strip_prefix(prefixes)?.parse().ok()?;
    abi.state.get(n).copied().filter(|_| n <= last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trap::{AbortCause, TxStatus};

    #[test]
    fn every_table_is_its_own_architecture() {
        for arch in ARCHES {
            assert_eq!(of(arch).arch(), arch);
        }
    }

    #[test]
    fn register_names_round_trip_through_the_tables() {
        for arch in ARCHES {
            let t = of(arch);
            let abi = t.abi();
            assert_eq!(abi.state.len(), abi.state_names.len(), "{arch}");
            for &arg in abi.args {
                assert!(
                    abi.state.contains(&arg),
                    "{arch}: argument not in the state"
                );
            }
            for (i, name) in abi.state_names.iter().enumerate() {
                // Every general register (not flags, sp, lr...) is found by its name.
                if let Some(id) = t.gpr(name) {
                    assert_eq!(id, abi.state[i], "{arch} {name}");
                }
            }
            assert!(t.gpr(abi.state_names[0]).is_some(), "{arch}");
        }
    }

    #[test]
    fn clearing_code_matches_the_byte_order() {
        for arch in ARCHES {
            let t = of(arch);
            let code = t.clear_code();
            match t.monitor_clear() {
                MonitorClear::Nothing => assert!(!t.trap_model().return_clears_reservation),
                MonitorClear::Execute { address, preserved } => {
                    assert!(t.trap_model().return_clears_reservation);
                    assert_eq!(code.len(), 4, "{arch}");
                    assert!(preserved.len() <= MAX_PRESERVED, "{arch}");
                    if let Some(a) = address {
                        assert!(preserved.contains(&a), "{arch}");
                    }
                }
            }
            if let Some(ret) = t.syscall_return_code() {
                // The return path starts with the same store-conditional
                // form, in the same byte order.
                assert_eq!(ret.len() % 4, 0);
                assert_eq!(code[0] == 0x7c, arch.big_endian(), "{arch}");
            }
        }
    }

    #[test]
    fn transaction_encodings_decode() {
        // x86: xbegin rel32 to 0x10 past its end; xabort 0x7f; xend.
        let x86 = of(Arch::X86_64);
        let begin = x86.tx_insn(0x1000, &[0xc7, 0xf8, 0x10, 0, 0, 0]);
        assert_eq!((begin.len, begin.fallback), (6, Some(0x1016)));
        assert_eq!(x86.tx_insn(0, &[0xc6, 0xf8, 0x7f, 0, 0, 0]).abort_imm, 0x7f);
        assert_eq!(x86.tx_insn(0, &[0x0f, 0x01, 0xd5, 0, 0, 0]).len, 3);
        // arm64: tstart x3; tcancel #0x1234.
        let a64 = of(Arch::Aarch64);
        let tstart = 0xd523_3063u32.to_le_bytes();
        let t = a64.tx_insn(0, &[tstart.as_slice(), &[0, 0]].concat());
        assert_eq!(t.result_reg, a64.gpr("x3"));
        let tcancel = (0xd460_0000u32 | (0x1234 << 5)).to_le_bytes();
        assert_eq!(
            a64.tx_insn(0, &[tcancel.as_slice(), &[0, 0]].concat())
                .abort_imm,
            0x1234
        );
        // POWER: tend. 1 ends all; tend. ends one; in either byte order.
        for arch in [Arch::Ppc64, Arch::Ppc64le] {
            let t = of(arch);
            let all = words(arch.big_endian(), &[0x7e00_055d, 0]);
            let one = words(arch.big_endian(), &[0x7c00_055d, 0]);
            assert!(t.tx_insn(0, &all).ends_all, "{arch}");
            assert!(!t.tx_insn(0, &one).ends_all, "{arch}");
            assert_eq!(t.tx_started(false), TxSignal::Cr0(0));
            assert_eq!(t.tx_started(true), TxSignal::Cr0(0b0100));
        }
    }

    #[test]
    fn abort_status_follows_the_architectures() {
        let x86 = of(Arch::X86_64).trap_model();
        assert_eq!(x86.abort_status(AbortCause::Trap), TxStatus::Eax(0x10));
        let a64 = of(Arch::Aarch64).trap_model();
        assert_eq!(a64.abort_status(AbortCause::Trap), TxStatus::Xt(1 << 22));
        for arch in [Arch::Ppc64, Arch::Ppc64le] {
            let ppc = of(arch).trap_model();
            assert_eq!(
                ppc.abort_status(AbortCause::Explicit(3)),
                TxStatus::Cr0(0b1010)
            );
        }
    }
}
