//! The emulator's error: what could not be set up, on which architecture,
//! and where. The messages are the one-line reasons reports and the
//! command line show.

use unicorn_engine::unicorn_const::uc_error;

use crate::arch::Arch;

/// Why an emulator could not be made or instrumented.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmuError {
    /// Unicorn refused an operation.
    #[error("{operation}: {code:?}")]
    Unicorn {
        /// The architecture.
        arch: Arch,
        /// What was being done ("mapping the stack", "hooking 0x1000").
        operation: String,
        /// The address it was about, if one.
        address: Option<u64>,
        /// Unicorn's error code.
        code: uc_error,
    },
    /// A section of the binary ends beyond the top of the address space.
    #[error(
        "section {section} at {address:#x} (size {size:#x}) reaches the top of the address space"
    )]
    SectionOverflow {
        /// The architecture.
        arch: Arch,
        /// The section's name.
        section: String,
        /// Its address.
        address: u64,
        /// Its size.
        size: u64,
    },
    /// The binary's mapped pages exceed the emulator's limit.
    #[error("the image is larger than {} MiB", limit >> 20)]
    ImageTooLarge {
        /// The architecture.
        arch: Arch,
        /// The limit in bytes.
        limit: u64,
    },
    /// POWER start-up: a raw CPU context could not be allocated, saved or
    /// restored.
    #[error("cannot {operation} CPU context")]
    RawContext {
        /// The architecture.
        arch: Arch,
        /// `allocate a`, `save the`, `restore the`.
        operation: &'static str,
    },
    /// POWER start-up: the saved context did not hold the two copies of
    /// the MSR the workaround sets.
    #[error("found {found} MSR copies in the saved context, expected the msr and hflags fields")]
    MsrCopies {
        /// The architecture.
        arch: Arch,
        /// How many were found.
        found: usize,
    },
    /// POWER start-up: the MSR lacks bits after the workaround.
    #[error("MSR is {msr:#x} after the workaround, wanted bits {wanted:#x}")]
    MsrNotSet {
        /// The architecture.
        arch: Arch,
        /// The MSR read back.
        msr: u64,
        /// The bits wanted.
        wanted: u64,
    },
    /// The start-up self-test failed: each failed check with what it saw.
    #[error("{failed}")]
    SelfTest {
        /// The architecture.
        arch: Arch,
        /// `name: detail` of each failed check, joined by `; `.
        failed: String,
    },
}

impl EmuError {
    /// Unicorn's error `code` while doing `operation` on `arch`.
    pub(crate) fn unicorn(
        arch: Arch,
        operation: impl Into<String>,
        address: Option<u64>,
        code: uc_error,
    ) -> EmuError {
        EmuError::Unicorn {
            arch,
            operation: operation.into(),
            address,
            code,
        }
    }

    /// The architecture the error is about.
    pub fn arch(&self) -> Arch {
        match self {
            EmuError::Unicorn { arch, .. }
            | EmuError::SectionOverflow { arch, .. }
            | EmuError::ImageTooLarge { arch, .. }
            | EmuError::RawContext { arch, .. }
            | EmuError::MsrCopies { arch, .. }
            | EmuError::MsrNotSet { arch, .. }
            | EmuError::SelfTest { arch, .. } => *arch,
        }
    }

    /// The address the error is about, if one.
    pub fn address(&self) -> Option<u64> {
        match self {
            EmuError::Unicorn { address, .. } => *address,
            EmuError::SectionOverflow { address, .. } => Some(*address),
            _ => None,
        }
    }
}

/// Callers that carry reasons as text (a point's `emulation-limit`) keep
/// the message.
impl From<EmuError> for String {
    fn from(e: EmuError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_the_value() {
        let e = EmuError::unicorn(
            Arch::Aarch64,
            "mapping 0x1000-0x2000",
            Some(0x1000),
            uc_error::MAP,
        );
        assert_eq!(e.to_string(), "mapping 0x1000-0x2000: MAP");
        assert_eq!((e.arch(), e.address()), (Arch::Aarch64, Some(0x1000)));
        let e = EmuError::RawContext {
            arch: Arch::Ppc64,
            operation: "allocate a",
        };
        assert_eq!(String::from(e), "cannot allocate a CPU context");
        let e = EmuError::ImageTooLarge {
            arch: Arch::X86_64,
            limit: 1 << 31,
        };
        assert_eq!(e.to_string(), "the image is larger than 2048 MiB");
    }
}
