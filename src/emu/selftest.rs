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
    match arch {
        Arch::X86_64 => x86(&mut emu),
        Arch::Aarch64 => aarch64(&mut emu),
        Arch::Ppc64 | Arch::Ppc64le => ppc(&mut emu, arch),
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
