//! The library's one error type.
//!
//! Every variant names what it is about: the file, the section, the address or
//! the point spec, so that the command line can print one clear line.

use std::path::PathBuf;

/// Errors from loading, decoding and analysing a binary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not an ELF file, or its headers are truncated or inconsistent.
    #[error("{path}: not a valid ELF file: {reason}")]
    BadElf {
        /// The file.
        path: PathBuf,
        /// What the ELF parser found wrong.
        reason: String,
    },
    /// The ELF machine is not one probesafe analyses.
    #[error("{path}: unsupported architecture {machine} (probesafe supports x86_64, aarch64, ppc64 and ppc64le, 64-bit only)")]
    UnsupportedArch {
        /// The file.
        path: PathBuf,
        /// The ELF machine and class, as text.
        machine: String,
    },
    /// A section's contents could not be read.
    #[error("{path}: section {section}: {reason}")]
    BadSection {
        /// The file.
        path: PathBuf,
        /// The section name.
        section: String,
        /// What was wrong.
        reason: String,
    },
    /// The binary has no function to analyse.
    #[error("{path}: no functions found (no .symtab, .dynsym or .eh_frame entries for code)")]
    NoFunctions {
        /// The file.
        path: PathBuf,
    },
    /// A `--write VAR[=VALUE]` argument could not be parsed.
    #[error("bad --write {arg:?}: {reason}")]
    BadWrite {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A point spec could not be parsed.
    #[error("bad point spec {spec:?}: {reason}")]
    BadSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A point spec names a symbol the binary does not have.
    #[error("{path}: unknown symbol {name:?}")]
    UnknownSymbol {
        /// The file.
        path: PathBuf,
        /// The symbol or glob.
        name: String,
    },
    /// `SYMBOL+OFFSET` points past the end of the function.
    #[error("{path}: {spec}: offset {offset:#x} is past the end of {function} (size {size:#x})")]
    OffsetPastEnd {
        /// The file.
        path: PathBuf,
        /// The spec as given.
        spec: String,
        /// The offset.
        offset: u64,
        /// The function.
        function: String,
        /// Its size.
        size: u64,
    },
    /// A point spec needs DWARF and the binary has none.
    #[error(
        "{path}: {spec} needs debug information (DWARF), and none was found (try --debug-file)"
    )]
    NoDebugInfo {
        /// The file.
        path: PathBuf,
        /// The spec.
        spec: String,
    },
    /// A `--write` variable is in scope at none of the points.
    #[error("{path}: variable {name:?} is not in scope at {address:#x} (see `probesafe vars`)")]
    UnknownVariable {
        /// The file.
        path: PathBuf,
        /// The variable.
        name: String,
        /// The (first) point.
        address: u64,
    },
    /// A point address lies outside every function of the binary.
    #[error("{path}: address {address:#x} is outside any function")]
    OutsideFunction {
        /// The file.
        path: PathBuf,
        /// The address.
        address: u64,
    },
    /// A user blacklist file could not be parsed.
    #[error("{path}:{line}: bad blacklist line: {reason} (expected `0xSTART-0xEND<TAB>SYMBOL`)")]
    BadBlacklist {
        /// The blacklist file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The binary's build-id is not the one the user pinned.
    #[error("{path}: build-id {actual} does not match the expected {expected}")]
    BuildIdMismatch {
        /// The file.
        path: PathBuf,
        /// The build-id the user expected.
        expected: String,
        /// The binary's build-id, or `none`.
        actual: String,
    },
    /// The emulator could not run.
    #[error("emulator for {arch}: {reason}")]
    Emulation {
        /// The architecture name.
        arch: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The disassembler could not be set up.
    #[error("disassembler for {arch}: {reason}")]
    Disassembler {
        /// The architecture name.
        arch: &'static str,
        /// Capstone's message.
        reason: String,
    },
    /// A file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A fuzz checkpoint is unreadable or belongs to another run.
    #[error("{path}: checkpoint: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A witness file is unreadable or inconsistent with its binary.
    #[error("{path}: witness: {reason}")]
    Witness {
        /// The witness file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A report given as input (to merge, or as a baseline) is unreadable.
    #[error("{path}: not a probesafe JSON report: {reason}")]
    BadReport {
        /// The report file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reports that cannot be merged or compared.
    #[error("{path}: {reason}")]
    Incompatible {
        /// The report that does not fit the others.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A `--shard I/N` that is not one.
    #[error("bad shard {spec:?}: {reason} (expected I/N with 0 <= I < N)")]
    BadShard {
        /// The spec as given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
