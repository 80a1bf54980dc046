//! Start-up self-tests: prove that each architecture's 64-bit mode works in
//! this build of Unicorn before trusting any verdict from it. A failing
//! architecture's points are `unknown` with `emulation-limit`, never `safe`.
//! The programs are in each architecture's table (`arch/<arch>.rs`).

use std::sync::OnceLock;

use serde::Serialize;
use unicorn_engine::unicorn_const::Prot;

use super::arch::{self, ARCHES};
use super::{EmuError, Emulator};
use crate::arch::Arch;

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The architecture.
    pub arch: Arch,
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

const CODE: u64 = 0x10000;
const HIGH: u64 = 0x1_2345_0000;

/// Every architecture's checks.
pub fn run_all() -> Vec<Check> {
    ARCHES.into_iter().flat_map(run).collect()
}

/// Whether the emulator can be trusted on `arch` (run once per process and
/// architecture, when a binary of it is first emulated).
pub fn arch_ok(arch: Arch) -> Result<(), EmuError> {
    static CACHE: [OnceLock<Result<(), EmuError>>; ARCHES.len()] =
        [const { OnceLock::new() }; ARCHES.len()];
    let slot = ARCHES
        .iter()
        .position(|&a| a == arch)
        .expect("every architecture is in ARCHES");
    CACHE[slot]
        .get_or_init(|| {
            let failed: Vec<String> = run(arch)
                .into_iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            if failed.is_empty() {
                Ok(())
            } else {
                Err(EmuError::SelfTest {
                    arch,
                    failed: failed.join("; "),
                })
            }
        })
        .clone()
}

/// One check.
pub(crate) fn check(arch: Arch, name: &'static str, ok: bool, detail: String) -> Check {
    Check {
        arch,
        name,
        ok,
        detail,
    }
}

/// The 8 bytes at CPU address `addr` (zeros where unreadable).
pub(crate) fn read_back(emu: &Emulator, addr: u64) -> [u8; 8] {
    let mut b = [0u8; 8];
    let _ = emu.uc.mem_read(addr, &mut b);
    b
}

/// The two checks every architecture's self-test starts with: the word
/// 0x01020304 stored above 4 GiB (at `high`) and loaded back into a
/// register (`loaded`, after the run that ended with `run`), and its bytes
/// in the architecture's order.
pub(crate) fn memory_checks(
    arch: Arch,
    emu: &Emulator,
    high: u64,
    loaded: u64,
    run: &Result<(), unicorn_engine::unicorn_const::uc_error>,
) -> [Check; 2] {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&read_back(emu, high)[..4]);
    let (order, want) = if arch.big_endian() {
        ("big-endian memory", [1, 2, 3, 4])
    } else {
        ("little-endian memory", [4, 3, 2, 1])
    };
    [
        check(
            arch,
            "64-bit store above 4 GiB",
            run.is_ok() && loaded == 0x0102_0304,
            format!("loaded {loaded:#x} back ({run:?})"),
        ),
        check(arch, order, bytes == want, format!("bytes {bytes:02x?}")),
    ]
}

/// The checks of one architecture.
pub fn run(arch: Arch) -> Vec<Check> {
    let mut emu = match Emulator::bare(arch) {
        Ok(e) => e,
        Err(e) => return vec![check(arch, "set-up", false, e.to_string())],
    };
    let mapped = emu.uc.mem_map(CODE, 0x1000, Prot::ALL).is_ok()
        && emu
            .uc
            .mem_map(HIGH, 0x1000, Prot::READ | Prot::WRITE)
            .is_ok();
    if !mapped {
        return vec![check(arch, "set-up", false, "cannot map test pages".into())];
    }
    let mut checks = arch::of(arch).self_test(&mut emu, CODE, HIGH);
    checks.extend(kernel(arch));
    checks
}

/// Where each architecture's kernels are linked (Debian 6.1: arm64's TTBR1
/// half, x86-64's canonical high half, POWER's `0xc000...` linear map).
pub fn kernel_base(arch: Arch) -> u64 {
    arch::of(arch).kernel_base()
}

/// The "kernel address" checks: code at the kernel base runs, stores and
/// loads one page above it (the address computed from the PC, or built
/// whole on POWER), and the exclusive pair works there, unprobed and with
/// the modelled exception return in between. The addresses are the link
/// addresses, not moved: code reads absolute pointers from its data.
fn kernel(arch: Arch) -> Vec<Check> {
    let mut emu = match Emulator::bare(arch) {
        Ok(e) => e,
        Err(e) => return vec![check(arch, "kernel address: set-up", false, e.to_string())],
    };
    let base = kernel_base(arch);
    let data = base + 0x1000;
    if emu.uc.mem_map(emu.to_cpu(base), 0x1000, Prot::ALL).is_err()
        || emu
            .uc
            .mem_map(emu.to_cpu(data), 0x1000, Prot::READ | Prot::WRITE)
            .is_err()
    {
        return vec![check(
            arch,
            "kernel address: set-up",
            false,
            format!("cannot map {base:#x}"),
        )];
    }
    arch::of(arch).kernel_self_test(&mut emu, base, data)
}
