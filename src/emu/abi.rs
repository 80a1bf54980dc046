//! The register table of a calling convention: which Unicorn register is
//! the program counter, the stack pointer, the return address, the
//! arguments and the return value, and which registers make up the state
//! that the livelock proof compares. Each architecture's value is in its
//! emulator table (`src/emu/arch/<arch>.rs`).

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
    /// [`super::CURRENT_TASK`]). POWER's `r13` (the paca) is set with
    /// the arguments, at every trial start.
    pub kernel_context: &'static [(i32, u64)],
}

/// The table of an architecture.
pub fn abi(arch: Arch) -> &'static Abi {
    super::arch::of(arch).abi()
}

/// The Unicorn id of a general register named in disassembly (`w2`, `x5`,
/// `r3`, `eax`...), for reading a store-conditional's status or a
/// transaction's result register.
pub fn gpr_by_name(arch: Arch, name: &str) -> Option<i32> {
    super::arch::of(arch).gpr(name)
}

/// The Unicorn id and name of the integer register with DWARF number `n`
/// (the psABI's numbering), if it is one of the integer state.
pub fn dwarf_reg(arch: Arch, n: u16) -> Option<(i32, &'static str)> {
    let name = crate::arch::spec(arch).dwarf_register(n)?;
    let abi = abi(arch);
    let i = abi.state_names.iter().position(|r| *r == name)?;
    Some((abi.state[i], abi.state_names[i]))
}
