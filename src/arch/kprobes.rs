//! The roots of the kernel's probe machinery, as data: the functions that
//! run while a kprobe hit is handled. Each architecture's table lists its
//! own ([`super::ArchSpec::kprobe_roots`]); the walk over the call graph is
//! in [`crate::hazard::machinery`].

/// When a function runs in the handling of a probe hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before the kprobe core records the running probe, or while the probed
    /// instruction is single-stepped: a hit there cannot make progress.
    Trap,
    /// Inside the user's handler: a hit there is counted as missed.
    Handler,
}

impl Phase {
    /// The name used in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Trap => "trap",
            Phase::Handler => "handler",
        }
    }
}

/// One root of the probe machinery's call graph.
#[derive(Clone, Copy, Debug)]
pub struct Root {
    /// The function's name in the kernel.
    pub name: &'static str,
    /// The phase it runs in.
    pub phase: Phase,
    /// The kernel source file that defines it (Linux 6.1).
    pub source: &'static str,
}

/// A root of the trap phase, defined in the kernel source file `source`.
pub const fn trap(name: &'static str, source: &'static str) -> Root {
    Root {
        name,
        phase: Phase::Trap,
        source,
    }
}

/// A root of the handler phase, defined in the kernel source file `source`.
pub const fn handler(name: &'static str, source: &'static str) -> Root {
    Root {
        name,
        phase: Phase::Handler,
        source,
    }
}
