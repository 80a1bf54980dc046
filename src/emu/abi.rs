//! Per-architecture register tables for the emulator: which Unicorn
//! register is the program counter, the stack pointer, the return address,
//! the arguments and the return value, and which registers make up the
//! state that the livelock proof compares.

use unicorn_engine::{RegisterARM64, RegisterPPC, RegisterX86};

use super::{CURRENT_TASK, PERCPU_BASE};
use crate::arch::Arch;

/// Unicorn register ids and calling convention of one architecture.
#[derive(Debug)]
pub struct Abi {
    /// Program counter.
    pub pc: i32,
    /// Stack pointer.
    pub sp: i32,
    /// Link register, if the architecture has one (the return address
    /// goes on the stack otherwise).
    pub lr: Option<i32>,
    /// Integer argument registers in order.
    pub args: &'static [i32],
    /// Return value register.
    pub ret: i32,
    /// Every register that belongs to the integer state, for the livelock
    /// proof and for witnesses.
    pub state: &'static [i32],
    /// Their names, parallel to `state`.
    pub state_names: &'static [&'static str],
    /// Kernel context: registers kernel code finds `current` and its
    /// per-CPU data through, with the value every trial starts with (see
    /// [`super::KERNEL_CONTEXT`]). POWER's `r13` (the paca) is set with
    /// the arguments, at every trial start.
    pub kernel_context: &'static [(i32, u64)],
}

macro_rules! ids {
    ($enum:ident: $($r:ident),* $(,)?) => { &[$($enum::$r as i32),*] };
}

macro_rules! names {
    ($($r:ident),* $(,)?) => { &[$(stringify!($r)),*] };
}

const X86_64: Abi = Abi {
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

const AARCH64: Abi = Abi {
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

const PPC64: Abi = Abi {
    pc: RegisterPPC::PC as i32,
    sp: RegisterPPC::R1 as i32,
    lr: Some(RegisterPPC::LR as i32),
    args: ids!(RegisterPPC: R3, R4, R5, R6, R7, R8, R9, R10),
    ret: RegisterPPC::R3 as i32,
    state: ids!(RegisterPPC: R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16, R17, R18, R19, R20, R21, R22, R23, R24, R25, R26, R27, R28, R29, R30, R31, CR, LR, CTR, XER),
    state_names: names!(
        r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, r16, r17, r18, r19,
        r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31, cr, lr, ctr, xer
    ),
    kernel_context: &[],
};

/// The table of an architecture.
pub fn abi(arch: Arch) -> &'static Abi {
    match arch {
        Arch::X86_64 => &X86_64,
        Arch::Aarch64 => &AARCH64,
        Arch::Ppc64 | Arch::Ppc64le => &PPC64,
    }
}

/// The Unicorn id of a general register named in disassembly (`w2`, `x5`,
/// `r3`, `eax`...), for reading a store-conditional's status or a
/// transaction's result register.
pub fn gpr_by_name(arch: Arch, name: &str) -> Option<i32> {
    let name = name.trim().trim_start_matches('%');
    match arch {
        Arch::Aarch64 => {
            let n: usize = name.strip_prefix(['w', 'x'])?.parse().ok()?;
            AARCH64.state.get(n).copied().filter(|_| n <= 30)
        }
        Arch::Ppc64 | Arch::Ppc64le => {
            let n: usize = name.strip_prefix('r')?.parse().ok()?;
            PPC64.state.get(n).copied().filter(|_| n <= 31)
        }
        Arch::X86_64 => {
            let i = X86_64.state_names.iter().position(|r| *r == name)?;
            Some(X86_64.state[i])
        }
    }
}

/// The Unicorn id and name of the integer register with DWARF number `n`
/// (the psABI's numbering), if it is one of the integer state.
pub fn dwarf_reg(arch: Arch, n: u16) -> Option<(i32, &'static str)> {
    let name = crate::arch::spec(arch).dwarf_register(n)?;
    let abi = abi(arch);
    let i = abi.state_names.iter().position(|r| *r == name)?;
    Some((abi.state[i], abi.state_names[i]))
}
