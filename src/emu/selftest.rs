//! Start-up self-tests: prove that each architecture's 64-bit mode works in
//! this build of Unicorn before trusting any verdict from it. A failing
//! architecture's points are `unknown` with `emulation-limit`, never `safe`.

use std::sync::OnceLock;

use serde::Serialize;
use unicorn_engine::unicorn_const::Prot;
use unicorn_engine::{RegisterARM64, RegisterPPC, RegisterX86};

use super::Emulator;
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
    [Arch::X86_64, Arch::Aarch64, Arch::Ppc64, Arch::Ppc64le]
        .into_iter()
        .flat_map(run)
        .collect()
}

/// Whether the emulator can be trusted on `arch` (run once per process and
/// architecture, when a binary of it is first emulated).
pub fn arch_ok(arch: Arch) -> Result<(), String> {
    static CACHE: [OnceLock<Result<(), String>>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let slot = match arch {
        Arch::X86_64 => 0,
        Arch::Aarch64 => 1,
        Arch::Ppc64 => 2,
        Arch::Ppc64le => 3,
    };
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
                Err(failed.join("; "))
            }
        })
        .clone()
}

fn check(arch: Arch, name: &'static str, ok: bool, detail: String) -> Check {
    Check {
        arch,
        name,
        ok,
        detail,
    }
}

fn words(arch: Arch, w: &[u32]) -> Vec<u8> {
    w.iter()
        .flat_map(|x| {
            if arch == Arch::Ppc64 {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        })
        .collect()
}

/// The checks of one architecture.
pub fn run(arch: Arch) -> Vec<Check> {
    let mut emu = match Emulator::bare(arch) {
        Ok(e) => e,
        Err(e) => return vec![check(arch, "set-up", false, e)],
    };
    let mapped = emu.uc.mem_map(CODE, 0x1000, Prot::ALL).is_ok()
        && emu
            .uc
            .mem_map(HIGH, 0x1000, Prot::READ | Prot::WRITE)
            .is_ok();
    if !mapped {
        return vec![check(arch, "set-up", false, "cannot map test pages".into())];
    }
    let mut checks = match arch {
        Arch::X86_64 => x86(&mut emu),
        Arch::Aarch64 => aarch64(&mut emu),
        Arch::Ppc64 | Arch::Ppc64le => ppc(&mut emu, arch),
    };
    checks.extend(kernel(arch));
    checks
}

/// Where each architecture's kernels are linked (Debian 6.1: arm64's TTBR1
/// half, x86-64's canonical high half, POWER's `0xc000...` linear map).
pub fn kernel_base(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 0xffff_ffff_8100_0000,
        Arch::Aarch64 => 0xffff_8000_0801_0000,
        Arch::Ppc64 | Arch::Ppc64le => 0xc000_0000_0001_0000,
    }
}

/// The "kernel address" checks: code at the kernel base runs, stores and
/// loads one page above it (the address computed from the PC, or built
/// whole on POWER), and the exclusive pair works there, unprobed and with
/// the modelled exception return in between. The addresses are the link
/// addresses, not moved: code reads absolute pointers from its data.
fn kernel(arch: Arch) -> Vec<Check> {
    let mut emu = match Emulator::bare(arch) {
        Ok(e) => e,
        Err(e) => return vec![check(arch, "kernel address: set-up", false, e)],
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
    let read = |emu: &Emulator| {
        let mut b = [0u8; 8];
        let _ = emu.uc.mem_read(emu.to_cpu(data), &mut b);
        b
    };
    match arch {
        Arch::X86_64 => {
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
            let mem = read(&emu);
            let percpu = u64::from_le_bytes(
                super::page_content(super::PERCPU_BASE, false)[..8]
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
        Arch::Aarch64 => {
            let code = words(
                arch,
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
                reg(&emu, RegisterARM64::X1),
                reg(&emu, RegisterARM64::X3),
                reg(&emu, RegisterARM64::X5),
            );
            let (x6, x7) = (reg(&emu, RegisterARM64::X6), reg(&emu, RegisterARM64::X7));
            let pc = reg(&emu, RegisterARM64::PC);
            let mem = read(&emu);
            // Again, with an exception return between the ldxr and the stxr.
            let _ = emu.uc.reg_write(RegisterARM64::X5, 9);
            let _ = emu.uc.emu_start(base, base + 0x1c, 0, 0);
            emu.clear_reservation();
            let r2 = emu.uc.emu_start(base + 0x1c, base + 0x20, 0, 0);
            let trapped = reg(&emu, RegisterARM64::X5);
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
                    x6 == super::CURRENT_TASK && x7 == 0,
                    format!("current (sp_el0) {x6:#x}, per-CPU offset (tpidr_el1) {x7:#x}"),
                ),
            ]
        }
        Arch::Ppc64 | Arch::Ppc64le => {
            let code = words(
                arch,
                &[
                    0x3c20_c000, // lis r1, 0xc000
                    0x7821_07c6, // sldi r1, r1, 32
                    0x6421_0001, // oris r1, r1, 1
                    0x6021_1000, // ori r1, r1, 0x1000 (= base + 0x1000)
                    0x3c40_0102, // lis r2, 0x102
                    0x6042_0304, // ori r2, r2, 0x304
                    0x9041_0000, // stw r2, 0(r1)
                    0x8061_0000, // lwz r3, 0(r1)
                    0x7c80_0828, // lwarx r4, 0, r1
                    0x3884_0001, // addi r4, r4, 1
                    0x7c80_092d, // stwcx. r4, 0, r1
                    0x7ca0_0026, // mfcr r5
                    0x6000_0000, // nop
                ],
            );
            let _ = emu.uc.mem_write(emu.to_cpu(base), &code);
            let end = base + 0x30;
            let r = emu.uc.emu_start(base, end, 0, 0);
            let reg = |emu: &Emulator, r| emu.uc.reg_read(r).unwrap_or(0);
            let (r1, r3) = (reg(&emu, RegisterPPC::R1), reg(&emu, RegisterPPC::R3));
            let eq = (reg(&emu, RegisterPPC::R5) >> 29) & 1;
            let pc = reg(&emu, RegisterPPC::PC);
            let mut word = [0u8; 4];
            word.copy_from_slice(&read(&emu)[..4]);
            let stored = if arch == Arch::Ppc64 {
                u32::from_be_bytes(word)
            } else {
                u32::from_le_bytes(word)
            };
            let _ = emu.uc.emu_start(base, base + 0x28, 0, 0);
            emu.clear_reservation();
            let r2 = emu.uc.emu_start(base + 0x28, end, 0, 0);
            let trapped = (reg(&emu, RegisterPPC::R5) >> 29) & 1;
            vec![
                check(
                    arch,
                    "kernel address: code, store, load",
                    r.is_ok() && emu.to_cpu(pc) == emu.to_cpu(end) && r1 == data && r3 == 0x0102_0304,
                    format!(
                        "ran to {pc:#x} (real mode: {:#x}), stored at {r1:#x}, loaded {r3:#x} ({r:?})",
                        emu.to_cpu(pc)
                    ),
                ),
                check(
                    arch,
                    "kernel address: unprobed LL/SC pair succeeds",
                    eq == 1 && stored == 0x0102_0305,
                    format!("stwcx. CR0[EQ]={eq}, memory {stored:#x}"),
                ),
                check(
                    arch,
                    "kernel address: exception return clears the reservation",
                    r2.is_ok() && trapped == 0,
                    format!("stwcx. CR0[EQ]={trapped} after the exit-path stdcx."),
                ),
            ]
        }
    }
}

fn read_high(emu: &Emulator) -> [u8; 4] {
    let mut b = [0u8; 4];
    let _ = emu.uc.mem_read(HIGH, &mut b);
    b
}

fn x86(emu: &mut Emulator) -> Vec<Check> {
    let arch = Arch::X86_64;
    // movabs rdi, 0x123450000; mov dword [rdi], 0x01020304; mov eax, [rdi]; nop
    let code = [
        0x48, 0xbf, 0x00, 0x00, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x07, 0x04, 0x03, 0x02,
        0x01, 0x8b, 0x07, 0x90,
    ];
    let _ = emu.uc.mem_write(CODE, &code);
    let r = emu.uc.emu_start(CODE, CODE + code.len() as u64 - 1, 0, 0);
    let eax = emu.uc.reg_read(RegisterX86::RAX).unwrap_or(0);
    vec![
        check(
            arch,
            "64-bit store above 4 GiB",
            r.is_ok() && eax == 0x0102_0304,
            format!("loaded {eax:#x} back ({r:?})"),
        ),
        check(
            arch,
            "little-endian memory",
            read_high(emu) == [4, 3, 2, 1],
            format!("bytes {:02x?}", read_high(emu)),
        ),
    ]
}

fn aarch64(emu: &mut Emulator) -> Vec<Check> {
    let arch = Arch::Aarch64;
    let code = words(
        arch,
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
    let _ = emu.uc.mem_write(CODE, &code);
    let end = CODE + 0x24;
    let r = emu.uc.emu_start(CODE, end, 0, 0);
    let x3 = emu.uc.reg_read(RegisterARM64::X3).unwrap_or(0);
    let w5 = emu.uc.reg_read(RegisterARM64::X5).unwrap_or(9);
    // Again, with an exception return between the ldxr and the stxr.
    let _ = emu.uc.emu_start(CODE, CODE + 0x1c, 0, 0);
    emu.clear_reservation();
    let r2 = emu.uc.emu_start(CODE + 0x1c, end, 0, 0);
    let w5_trapped = emu.uc.reg_read(RegisterARM64::X5).unwrap_or(9);
    vec![
        check(
            arch,
            "64-bit store above 4 GiB",
            r.is_ok() && x3 == 0x0102_0304,
            format!("loaded {x3:#x} back ({r:?})"),
        ),
        check(
            arch,
            "little-endian memory",
            read_high(emu) == [4, 3, 2, 1],
            format!("bytes {:02x?}", read_high(emu)),
        ),
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
    ]
}

fn ppc(emu: &mut Emulator, arch: Arch) -> Vec<Check> {
    let code = words(
        arch,
        &[
            0x3820_0001, // li r1, 1
            0x7821_07c6, // sldi r1, r1, 32
            0x6421_2345, // oris r1, r1, 0x2345
            0x3c40_0102, // lis r2, 0x102
            0x6042_0304, // ori r2, r2, 0x304
            0x9041_0000, // stw r2, 0(r1)
            0x8061_0000, // lwz r3, 0(r1)
            0x7c80_0828, // lwarx r4, 0, r1
            0x3884_0001, // addi r4, r4, 1
            0x7c80_092d, // stwcx. r4, 0, r1
            0x7ca0_0026, // mfcr r5
            0x6000_0000, // nop
        ],
    );
    let _ = emu.uc.mem_write(CODE, &code);
    let end = CODE + 0x2c;
    let r = emu.uc.emu_start(CODE, end, 0, 0);
    let r3 = emu.uc.reg_read(RegisterPPC::R3).unwrap_or(0);
    let eq = (emu.uc.reg_read(RegisterPPC::R5).unwrap_or(0) >> 29) & 1;
    let _ = emu.uc.emu_start(CODE, CODE + 0x20, 0, 0);
    emu.clear_reservation();
    let r2 = emu.uc.emu_start(CODE + 0x20, end, 0, 0);
    let eq_trapped = (emu.uc.reg_read(RegisterPPC::R5).unwrap_or(0) >> 29) & 1;
    let want = if arch == Arch::Ppc64 {
        [1, 2, 3, 4]
    } else {
        [4, 3, 2, 1]
    };
    let endian = if arch == Arch::Ppc64 {
        "big-endian memory"
    } else {
        "little-endian memory"
    };
    vec![
        check(
            arch,
            "64-bit store above 4 GiB",
            r.is_ok() && r3 == 0x0102_0304,
            format!("loaded {r3:#x} back ({r:?})"),
        ),
        check(
            arch,
            endian,
            read_high(emu) == want,
            format!("bytes {:02x?}", read_high(emu)),
        ),
        check(
            arch,
            "unprobed LL/SC pair succeeds",
            eq == 1,
            format!("stwcx. CR0[EQ]={eq}"),
        ),
        check(
            arch,
            "exception return clears the reservation",
            r2.is_ok() && eq_trapped == 0,
            format!("stwcx. CR0[EQ]={eq_trapped} after the exit-path stdcx."),
        ),
    ]
}
