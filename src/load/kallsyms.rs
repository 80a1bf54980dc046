//! The kernel's view of symbol extents (kallsyms).
//!
//! A linked kernel gives each symbol every byte up to the next symbol:
//! `kallsyms_lookup_size_offset()` names an address by the closest symbol at
//! or below it, whatever the ELF symbol's `st_size` says. Code the kernel
//! places after a function (arm64 alternative replacement sequences and
//! other `.subsection 1` code, alignment padding) is therefore
//! `FUNCTION+OFFSET` past the function's ELF size, and the kernel accepts a
//! probe there. probesafe follows that rule for kernel images only; in other
//! binaries a function ends at its ELF size.

use object::elf;

use super::{Binary, FileKind, Function};

/// The longest stretch past a function's ELF size that is attributed to it
/// (a hostile file may put one symbol at the start of a huge section).
pub const MAX_PAST_SIZE: u64 = 64 * 1024;

/// Symbols of a linked kernel that no other ET_EXEC defines.
const KERNEL_SYMBOLS: &[&str] = &[
    "_stext",
    "__start_kprobe_blacklist",
    "__kprobes_text_start",
    "kallsyms_names",
    "linux_banner",
];

/// Symbols that scripts/kallsyms leaves out of the kernel's table, by
/// prefix: mapping symbols (`$x`, `$d`, also with the nVHE hypervisor's
/// `__kvm_nvhe_` prefix), local labels, linker thunks and veneers, CRCs.
/// They do not end the previous symbol's bytes.
const IGNORED_PREFIXES: &[&str] = &[
    "$",
    ".L",
    "__crc_",
    "__efistub_",
    "__kvm_nvhe_$",
    "__kvm_nvhe_.L",
    "__AArch64ADRPThunk_",
    "__ARMV5PILongThunk_",
    "__ARMV7PILongThunk_",
    "__ThumbV7PILongThunk_",
    "__LA25Thunk_",
    "__microLA25Thunk_",
    "__kcfi_typeid_",
];

/// The same, by suffix (ARM interworking veneers).
const IGNORED_SUFFIXES: &[&str] = &["_from_arm", "_from_thumb", "_veneer"];

impl Binary {
    /// Whether the file is a linked kernel image (vmlinux): an ET_EXEC, or
    /// an ET_DYN as arm64 links vmlinux (a PIE), with the kernel's own
    /// symbols (`_stext`, `__start_kprobe_blacklist`, ...) or whose code
    /// lies in the architecture's kernel half of the address space.
    pub fn is_kernel_image(&self) -> bool {
        if self.kind == FileKind::Rel {
            return false;
        }
        if self
            .symbols
            .iter()
            .any(|s| !s.undefined && KERNEL_SYMBOLS.contains(&s.name.as_str()))
        {
            return true;
        }
        let kernel_base = crate::arch::spec(self.arch).kernel_base();
        self.sections
            .iter()
            .filter(|s| s.executable && s.size > 0)
            .all(|s| s.address >= kernel_base)
            && self.sections.iter().any(|s| s.executable && s.size > 0)
    }

    /// In a kernel image, where the kernel stops attributing addresses to
    /// `function`: the first symbol (or function) at or after the end of
    /// its ELF size, clamped to its section and to [`MAX_PAST_SIZE`] bytes
    /// past the ELF end. `None` outside kernel images, and when nothing lies
    /// between the ELF end and that boundary.
    pub fn kallsyms_end(&self, function: &Function) -> Option<(u64, Option<String>)> {
        if !self.is_kernel_image() {
            return None;
        }
        let elf_end = function.end();
        let section = self
            .sections
            .iter()
            .find(|s| s.executable && s.contains(function.address))?;
        let section_end = section.address.saturating_add(section.size);
        let mut end = section_end.min(elf_end.saturating_add(MAX_PAST_SIZE));
        let mut next = None;
        let counts = |name: &str, st_type: u8| {
            !name.is_empty()
                && !IGNORED_PREFIXES.iter().any(|p| name.starts_with(p))
                && !IGNORED_SUFFIXES.iter().any(|p| name.ends_with(p))
                && st_type != elf::STT_SECTION
                && st_type != elf::STT_FILE
        };
        for s in &self.symbols {
            if !s.undefined && s.address >= elf_end && s.address < end && counts(&s.name, s.st_type)
            {
                end = s.address;
                next = Some(s.name.clone());
            }
        }
        for f in &self.functions {
            if f.address >= elf_end && f.address < end {
                end = f.address;
                next = Some(f.name.clone());
            }
        }
        (end > elf_end).then_some((end, next))
    }

    /// In a kernel image, the function the kernel attributes `addr` to when
    /// no function's ELF size covers it: the closest function below it,
    /// when `addr` is before [`Binary::kallsyms_end`] of that function.
    /// Returns its index in [`Binary::functions`].
    pub fn kallsyms_owner(&self, addr: u64) -> Option<usize> {
        if !self.is_kernel_image() {
            return None;
        }
        let below = self.functions.partition_point(|f| f.address <= addr);
        let i = below.checked_sub(1)?;
        let f = &self.functions[i];
        if f.contains(addr) {
            return None;
        }
        let (end, _) = self.kallsyms_end(f)?;
        (addr >= f.end() && addr < end).then_some(i)
    }
}
