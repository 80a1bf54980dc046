//! What the hooks read and write while Unicorn runs (its user data), and
//! the records they leave for the trial driver.

use std::collections::HashMap;
use std::time::Instant;

use super::abi::Abi;
use super::run;
use crate::arch::Class;

/// Why the emulator stopped inside `emu_start`, set by a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The active probe point was reached.
    Probe(u64),
    /// The active probe point was reached while the handler ran.
    Reentry(u64),
    /// A transaction instruction is about to execute: the driver models it.
    Tx(u64),
    /// The instruction budget ran out.
    Budget,
    /// The wall-clock limit passed, or the process was interrupted.
    Timeout,
    /// A group trial: a trap at one of its points would break the sequence
    /// at this address.
    Harm(u64),
}

/// One journaled store: the bytes it overwrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Journaled {
    pub(crate) addr: u64,
    pub(crate) len: u8,
    pub(crate) old: [u8; 16],
}

/// A store-conditional's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ScResult {
    /// The store-conditional.
    pub sc: u64,
    /// It stored.
    pub ok: bool,
    /// Probe hits before it.
    pub after_hits: u32,
}

/// A cache-block zeroing instruction: its address is `base + index`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ZeroBlock {
    /// POWER `rA` (none for `0`).
    pub(crate) base: Option<i32>,
    pub(crate) index: i32,
}

/// A stubbed call.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallRecord {
    /// The call instruction.
    pub at: u64,
    /// Its target, if known.
    pub target: Option<u64>,
    /// The first four argument registers.
    pub args: [u64; 4],
    /// The value the stub returned.
    pub returned: u64,
}

/// How a store-conditional reports success.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ScStatus {
    /// A status register: 0 means it stored (arm64).
    Register(i32),
    /// A flag bit set means it stored (POWER CR0[EQ]).
    FlagSet {
        /// The register that holds it.
        reg: i32,
        /// The bit.
        bit: u32,
    },
}

/// A call the region makes, replaced by a stub.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stub {
    pub(crate) len: u8,
    pub(crate) target: Option<u64>,
}

/// State that the hooks read and write (Unicorn's user data).
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The architecture's registers (set when the emulator is made).
    pub(crate) abi: Option<&'static Abi>,
    /// Target byte order, for generated memory.
    pub(crate) big_endian: bool,
    /// POWER: the TOC register and its save slot in the caller's frame,
    /// which a stubbed call fills as the linker's call stub would.
    pub(crate) toc_save: Option<(i32, u64)>,
    pub(crate) journal: Vec<Journaled>,
    pub(crate) lazy_pages: u32,
    /// Pages the lazy-memory hook mapped, unmapped again once many.
    pub(crate) lazy_mapped: Vec<u64>,
    pub(crate) stop: Option<Stop>,
    pub(crate) budget: i64,
    pub(crate) deadline: Option<Instant>,
    pub(crate) blocks: u64,
    pub(crate) executed: u64,
    pub(crate) probe: Option<u64>,
    /// A group trial's points, with the hits each may still trap.
    pub(crate) armed: AddrMap<u32>,
    /// This trial is a group trial.
    pub(crate) grouped: bool,
    /// Group trial: a trap came after the last load-linked (its
    /// reservation would be gone).
    pub(crate) reservation_lost: bool,
    /// A transaction is open (the driver's transaction model says so).
    pub(crate) tx_open: bool,
    /// The function's load-linked instructions.
    pub(crate) ll_at: AddrMap<()>,
    /// The function's cache-block zeroing instructions.
    pub(crate) zero_at: AddrMap<ZeroBlock>,
    pub(crate) skip_probe: bool,
    pub(crate) count_only: bool,
    pub(crate) probe_count: u64,
    pub(crate) hits: u32,
    pub(crate) sc_at: AddrMap<ScStatus>,
    pub(crate) sc_after: AddrMap<u64>,
    pub(crate) sc_pending: Option<(u64, ScStatus)>,
    pub(crate) sc_log: Vec<ScResult>,
    pub(crate) tx_at: AddrMap<Class>,
    pub(crate) stubs: AddrMap<Stub>,
    pub(crate) stub_seed: u64,
    pub(crate) calls: Vec<CallRecord>,
    pub(crate) in_handler: bool,
    pub(crate) handler_blocks: Vec<u64>,
    pub(crate) last_block: (u64, u32),
    pub(crate) region: (u64, u64),
    pub(crate) left_region: Option<(u64, u64)>,
    pub(crate) tracing: bool,
    pub(crate) trace: Vec<run::TraceEvent>,
    /// An interrupt the program raised that no model handles (POWER:
    /// Unicorn's interrupt number and the instruction's address); the
    /// run stops there.
    pub(crate) interrupt: Option<(u32, u64)>,
    /// The last access to an address outside every mapping and the heap
    /// window: `(address, is a write)`.
    pub(crate) unmapped: Option<(u64, bool)>,
    /// The branch (its CPU address) that took the run to address 0, a
    /// null pointer (see [`super::arch::on_block_at_zero`]).
    pub(crate) null_branch: Option<u64>,
    /// Instructions of the image the emulator must not execute itself,
    /// replaced in its copy of the code and modelled by the interrupt hook
    /// ([`super::arch::EmuArch::modelled_code`]): `(address, original
    /// word)`, sorted by address.
    pub(crate) modelled: Vec<(u64, u32)>,
}

/// Maps keyed by instruction address, looked up at every instruction of a
/// hooked function: a multiply-shift hash instead of SipHash.
pub(crate) type AddrMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<AddrHasher>>;

#[derive(Default)]
pub(crate) struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}
