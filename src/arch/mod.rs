//! Everything that differs between architectures, behind one trait.
//!
//! Each supported architecture has one file here with its instruction-class
//! tables (which mnemonics are load-linked, store-conditional, transaction
//! begin, calls, returns...), the instructions the kernel refuses to probe, and
//! its decoding quirks, and the static facts the loader, the decoder and the
//! kernel analyses need (ELF machine, relocation kinds, Capstone mode, DWARF
//! register numbers, the kernel half of the address space, the probe
//! machinery's roots). The rest of probesafe asks [`spec`] for the
//! [`ArchSpec`] of a binary and never matches on architecture names itself.

mod aarch64;
pub mod kprobes;
mod ppc64;
#[cfg(test)]
mod tests;
mod x86_64;

use serde::{Deserialize, Serialize};

/// A supported target: a 64-bit ISA with its byte order and ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arch {
    /// x86-64, little-endian, SysV ABI.
    #[serde(rename = "x86_64")]
    X86_64,
    /// AArch64, little-endian, AAPCS64.
    #[serde(rename = "aarch64")]
    Aarch64,
    /// 64-bit POWER, big-endian (ELFv1 ABI with `.opd` descriptors, or ELFv2).
    #[serde(rename = "ppc64")]
    Ppc64,
    /// 64-bit POWER, little-endian, ELFv2 ABI.
    #[serde(rename = "ppc64le")]
    Ppc64le,
}

impl Arch {
    /// Every supported architecture, in the order of the ELF header's
    /// lookup ([`Arch::from_elf`]).
    pub const ALL: [Arch; 4] = [Arch::X86_64, Arch::Aarch64, Arch::Ppc64, Arch::Ppc64le];

    /// The architecture of an ELF file with this `e_machine` and byte
    /// order, if it is supported ([`ArchSpec::elf_machine`]).
    pub fn from_elf(machine: u16, big_endian: bool) -> Option<Arch> {
        Arch::ALL
            .into_iter()
            .find(|&a| spec(a).elf_machine() == machine && a.big_endian() == big_endian)
    }

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64le => "ppc64le",
        }
    }

    /// Whether the target stores multi-byte values big-end first.
    pub fn big_endian(self) -> bool {
        self == Arch::Ppc64
    }

    /// Whether this is one of the two POWER targets.
    pub fn is_ppc(self) -> bool {
        matches!(self, Arch::Ppc64 | Arch::Ppc64le)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an instruction does, as far as probe safety is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Anything else: falls through to the next instruction.
    Other,
    /// Load-linked / load-exclusive: sets a reservation (monitor).
    LoadLinked,
    /// Store-conditional / store-exclusive: succeeds only if the reservation holds.
    StoreConditional,
    /// Clears the exclusive monitor (arm64 `clrex`).
    ClearExclusive,
    /// Starts a hardware transaction.
    TxBegin,
    /// Commits a hardware transaction.
    TxEnd,
    /// Aborts a hardware transaction explicitly.
    TxAbort,
    /// Tests whether a transaction is active.
    TxTest,
    /// Suspends a transaction (POWER `tsuspend.`).
    TxSuspend,
    /// Resumes a suspended transaction (POWER `tresume.`).
    TxResume,
    /// A call; returns to the next instruction.
    Call {
        /// The target is in a register or memory.
        indirect: bool,
        /// The call happens only when a condition holds (POWER `beql`).
        conditional: bool,
    },
    /// A return to the caller.
    Return {
        /// The return happens only when a condition holds (POWER `beqlr`).
        conditional: bool,
    },
    /// A jump: within the function, or to another one (a tail call).
    Jump {
        /// The target is in a register or memory.
        indirect: bool,
        /// Falls through when the condition does not hold.
        conditional: bool,
    },
    /// Generates an exception (system call, breakpoint, undefined instruction, trap).
    Trap {
        /// Execution never continues at the next instruction (`ud2`, `brk`, an unconditional `trap`).
        stops: bool,
    },
}

impl Class {
    /// Whether execution can continue at the next instruction.
    pub fn falls_through(self) -> bool {
        match self {
            Class::Return { conditional } => conditional,
            Class::Jump { conditional, .. } => conditional,
            Class::Trap { stops } => !stops,
            _ => true,
        }
    }

    /// Whether the instruction transfers control to a target operand.
    pub fn has_target(self) -> bool {
        matches!(
            self,
            Class::Jump {
                indirect: false,
                ..
            } | Class::Call {
                indirect: false,
                ..
            } | Class::TxBegin
        )
    }
}

/// The facts about one decoded instruction that classification needs,
/// independent of the disassembler library.
#[derive(Clone, Copy, Debug)]
pub struct InsnView<'a> {
    /// The mnemonic as the disassembler prints it (`ldxr`, `stwcx.`, `xbegin`).
    pub mnemonic: &'a str,
    /// The operands as text.
    pub op_str: &'a str,
    /// The raw instruction bytes.
    pub bytes: &'a [u8],
}

/// An instruction the disassembler does not know, recognised by its encoding.
#[derive(Clone, Copy, Debug)]
pub struct RawEncoding {
    /// Bits that must match.
    pub mask: u32,
    /// Their value.
    pub value: u32,
    /// The mnemonic to report.
    pub mnemonic: &'static str,
    /// Its class.
    pub class: Class,
}

/// An instruction decoded from the architecture's own encoding table where
/// the disassembler knows none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawInsn {
    /// Length in bytes (8 for a POWER10 prefixed instruction).
    pub len: u8,
    /// The mnemonic to report.
    pub mnemonic: &'static str,
    /// Its class.
    pub class: Class,
}

/// What a load-linked instruction reads: the operands that set up a trial
/// started at it (see [`ArchSpec::load_linked_operands`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadLinkedOperands {
    /// The register it loads into, as the disassembler names it.
    pub dest: String,
    /// The registers whose sum is the address (POWER `rA`, `rB`; arm64 the
    /// base). POWER's `rA = 0` stands for the value 0 and is left out.
    pub address: Vec<String>,
    /// Bytes loaded (the alignment the address needs).
    pub size: u8,
}

/// What an instruction compares a loaded value with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comparand {
    /// Another register, as the disassembler names it.
    Register(String),
    /// A constant.
    Immediate(i64),
}

/// How to write one relocation (see [`ArchSpec::relocation`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocKind {
    /// 64-bit S + A.
    Abs64,
    /// 32-bit S + A.
    Abs32,
    /// 32-bit S + A - P.
    Rel32,
    /// arm64 B/BL: imm26 = (S + A - P) >> 2.
    A64Branch26,
    /// arm64 B.cond/CBZ: imm19 at bit 5.
    A64Branch19,
    /// arm64 TBZ: imm14 at bit 5.
    A64Branch14,
    /// ppc I-form branch: LI field (bits 2..25) = S + A - P.
    PpcBranch24,
    /// ppc B-form branch: BD field (bits 2..15) = S + A - P.
    PpcBranch14,
    /// Dynamic RELATIVE: B + A, with the load base 0.
    Relative,
    /// arm64 ADRP: the 21-bit page delta `Page(S + A) - Page(P)` in immlo:immhi.
    A64AdrPage21,
    /// arm64 ADD/LDR/STR `:lo12:`: bits 0..11 of S + A, scaled down by
    /// `1 << shift` (the access size) into imm12.
    A64Lo12 {
        /// log2 of the access size (0 for ADD).
        shift: u8,
    },
    /// ppc 16-bit field of a D-form or DS-form instruction.
    Ppc16 {
        /// What the field is relative to.
        base: Ppc16Base,
        /// Which half of the value it holds.
        half: Ppc16Half,
    },
    /// ppc64 `R_PPC64_TOC`: the 64-bit TOC base (ELFv1 `.opd` descriptors).
    PpcTocBase,
}

/// What a POWER 16-bit relocation's value is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ppc16Base {
    /// S + A (`ADDR16_*`).
    Absolute,
    /// S + A - P (`REL16_*`).
    Place,
    /// S + A - TOC base (`TOC16_*`).
    Toc,
}

/// Which 16 bits of a POWER relocation's value go into the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ppc16Half {
    /// Bits 0..15 (`@l`).
    Lo,
    /// Bits 0..15 with the low two bits kept from the instruction (`@l`, DS-form).
    LoDs,
    /// Bits 16..31 (`@h`).
    Hi,
    /// Bits 16..31, adjusted for the sign of the low half (`@ha`).
    Ha,
}

/// The POWER ABI of a ppc64 file (from `e_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PpcAbi {
    /// ELFv1: function symbols name `.opd` descriptors.
    ElfV1,
    /// ELFv2: global and local entry points.
    ElfV2,
}

/// The Capstone architecture, mode and byte order that decode an
/// architecture (see [`ArchSpec::capstone_mode`]).
pub type CapstoneMode = (capstone::Arch, capstone::Mode, Option<capstone::Endian>);

/// Architecture-specific facts and tables.
pub trait ArchSpec: Sync {
    /// Which architecture this is.
    fn arch(&self) -> Arch;
    /// The ELF header's `e_machine` of its files.
    fn elf_machine(&self) -> u16;
    /// How to apply an ELF relocation of type `r_type`, if the analysis
    /// applies it (absolute data, PC-relative data and branches, RELATIVE).
    fn relocation(&self, r_type: u32) -> Option<RelocKind>;
    /// The POWER ABI that `e_flags` declares (`None` off POWER).
    fn ppc_abi(&self, _e_flags: u32) -> Option<PpcAbi> {
        None
    }
    /// The Capstone architecture, mode and byte order that decode it.
    fn capstone_mode(&self) -> CapstoneMode;
    /// Where the kernel half of the address space begins: a file whose
    /// code lies wholly above is a kernel image.
    fn kernel_base(&self) -> u64;
    /// The roots of the kernel's probe machinery that are this
    /// architecture's own (its exception entries and kprobe handlers).
    fn kprobe_roots(&self) -> &'static [kprobes::Root];
    /// Whether a zero word right after an instruction that does not fall
    /// through ends a function's code (the POWER traceback table), when
    /// [`ArchSpec::trailing_data`] finds no whole table.
    fn zero_word_ends_code(&self) -> bool {
        false
    }
    /// Required alignment of an instruction address (1 on x86).
    fn insn_align(&self) -> u64;
    /// The length of an instruction word where every instruction is one
    /// (POWER10's prefixed instructions are two): 4 on arm64 and POWER.
    /// `None` where lengths vary (x86: only the decoder knows).
    fn word_len(&self) -> Option<u8>;
    /// Classify a decoded instruction.
    fn classify(&self, insn: &InsnView<'_>) -> Class;
    /// If the kernel refuses to single-step (and so to probe) this instruction, why.
    fn unsteppable(&self, insn: &InsnView<'_>) -> Option<&'static str>;
    /// Encodings of instructions that the disassembler cannot decode but that
    /// matter here (POWER `lqarx`/`stqcx.`). Fixed-width architectures only.
    fn raw_encodings(&self) -> &'static [RawEncoding] {
        &[]
    }
    /// Decode the instruction at the start of `bytes` (the rest of the
    /// function's code) from the architecture's own tables, when the
    /// disassembler does not know it. By default the first word is looked
    /// up in [`ArchSpec::raw_encodings`]. Fixed-width architectures only.
    fn raw_decode(&self, bytes: &[u8]) -> Option<RawInsn> {
        let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        let word = if self.arch().big_endian() {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        let raw = self
            .raw_encodings()
            .iter()
            .find(|r| word & r.mask == r.value)?;
        Some(RawInsn {
            len: 4,
            mnemonic: raw.mnemonic,
            class: raw.class,
        })
    }
    /// Where the data that follows a function's last instruction begins,
    /// as an offset into `code` (the bytes of the function's whole range),
    /// and what that data is: POWER traceback tables. `None` when the
    /// range holds code to its end, as far as the architecture's rules see.
    fn trailing_data(&self, _code: &[u8]) -> Option<(usize, &'static str)> {
        None
    }
    /// The bytes of the jump table that starts at `bytes[0]`, at address
    /// `table` right after an unconditional indirect jump of the function
    /// spanning `function` (gcc's inline switch tables on POWER: words that
    /// hold each case's offset from the table). 0 when none is there.
    fn jump_table_len(&self, _bytes: &[u8], _table: u64, _function: std::ops::Range<u64>) -> usize {
        0
    }
    /// The operands of a load-linked instruction: where it loads from and
    /// into which register. `None` when they cannot be read from the text.
    fn load_linked_operands(&self, _insn: &InsnView<'_>) -> Option<LoadLinkedOperands> {
        None
    }
    /// The base register of `insn`'s memory operand (`[x19, #0x5c]`,
    /// `0x5c(r19)`, `[rbx + 0x5c]`), when it has one that a function's
    /// caller provides: not the stack pointer, nor a register the ABI or
    /// the kernel keeps a fixed value in (the TOC, the thread pointer).
    /// A trial that starts inside a function points each into the heap.
    fn memory_base(&self, _insn: &InsnView<'_>) -> Option<String> {
        None
    }
    /// If `insn` compares the register `dest` (a load-linked result) with
    /// something, as a compare-and-swap does before its store-conditional:
    /// what it compares it with.
    fn comparison(&self, _insn: &InsnView<'_>, _dest: &str) -> Option<Comparand> {
        None
    }
    /// Whether the instruction word `word` may be an exit of its function or
    /// end its code (a jump, which may be a tail call; a return or exception
    /// return; a trap or system call), judged from the encoding alone.
    /// Conservative: `true` when in doubt; calls return and are not exits.
    /// Lets a sweep that needs only a function's exits skip the disassembler
    /// for the other instructions. Fixed-width architectures only; x86 never
    /// calls it.
    fn may_exit(&self, _word: u32) -> bool {
        true
    }
    /// The name of DWARF register number `n` (the psABI's numbering).
    fn dwarf_register(&self, n: u16) -> Option<String>;
    /// Whether a transaction begin names its abort fallback as a branch
    /// target (x86 `xbegin rel32`); elsewhere the failure is a status value.
    fn tx_begin_branches(&self) -> bool {
        false
    }
    /// For a conditional branch that tests a transaction begin's status
    /// (arm64 `cbz`/`cbnz` on the `tstart` register, POWER `beq`/`bne` on
    /// CR0, x86 `je`/`jne` after `cmp eax, -1`): whether its taken edge is
    /// the transactional path. `between` are the straight-line instructions
    /// from the begin to the branch, both excluded (`mnemonic`, `op_str`).
    /// `None` when the branch does not test the status.
    fn tx_success_taken(
        &self,
        _begin_op_str: &str,
        _between: &[(&str, &str)],
        _mnemonic: &str,
        _op_str: &str,
    ) -> Option<bool> {
        None
    }
    /// Whether a transaction end ends every nesting level at once (POWER
    /// `tend. 1`, printed `tendall.` by some disassemblers) instead of one.
    fn tx_end_ends_all(&self, _mnemonic: &str, _op_str: &str) -> bool {
        false
    }
}

/// The [`ArchSpec`] of an architecture.
pub fn spec(arch: Arch) -> &'static dyn ArchSpec {
    match arch {
        Arch::X86_64 => &x86_64::X86_64,
        Arch::Aarch64 => &aarch64::Aarch64,
        Arch::Ppc64 => &ppc64::PPC64_BE,
        Arch::Ppc64le => &ppc64::PPC64_LE,
    }
}

/// Look a mnemonic up in a table of `(mnemonic, class)` pairs.
fn lookup(table: &[(&str, Class)], mnemonic: &str) -> Option<Class> {
    table.iter().find(|(m, _)| *m == mnemonic).map(|(_, c)| *c)
}
