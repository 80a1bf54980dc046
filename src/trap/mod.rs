//! The trap model: what one probe hit does to the architectural state.
//!
//! A kprobe hit is: breakpoint exception entry, the probe handler, an
//! exception return into the out-of-line copy of the probed instruction,
//! its single-step exception, and a second exception return to the next
//! instruction. The effects that matter for probe safety, per architecture
//! (docs/trap-model.md has the sources):
//!
//! - arm64: every exception return clears the local exclusive monitor;
//! - POWER: every interrupt exit clears the reservation (`stdcx.` on the
//!   exit path);
//! - a trap inside a hardware transaction aborts it: x86 RTM and arm64 TME
//!   before the handler runs, POWER after (the kernel's entry reclaims the
//!   transaction, which fails it), resuming where the architecture resumes
//!   with its status value.
//!
//! The emulator applies this model; this module says what to apply. Each
//! architecture's [`TrapModel`] value is in its emulator table
//! (`src/emu/arch/<arch>.rs`).

/// The architectural effects of a probe hit on one architecture.
#[derive(Clone, Copy, Debug)]
pub struct TrapModel {
    /// Each exception return clears the exclusive monitor / reservation.
    pub return_clears_reservation: bool,
    /// The probe handler runs when the trap is inside a transaction.
    pub handler_runs_in_transaction: bool,
    /// Where an aborted transaction resumes.
    pub tx_resume: TxResume,
    /// How an aborted transaction's status is encoded.
    pub status: StatusEncoding,
}

/// Where execution resumes after a transaction aborts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxResume {
    /// x86: the `xbegin` fallback address.
    Fallback,
    /// arm64: the instruction after the outermost `tstart`.
    AfterBegin,
    /// POWER: `tbegin.` + 4, with CR0 = 0b1010 so `beq failure` is taken.
    BeginPlus4,
}

/// Why a transaction aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortCause {
    /// A breakpoint or single-step trap inside the transaction.
    Trap,
    /// An explicit abort (`xabort imm8`, `tcancel #imm16`, `tabort.`).
    Explicit(u64),
}

/// The status an aborted transaction leaves, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// x86: EAX.
    Eax(u32),
    /// arm64: the `tstart` destination register.
    Xt(u64),
    /// POWER: condition register field 0.
    Cr0(u8),
}

impl TxStatus {
    /// The value, for evidence.
    pub fn value(self) -> u64 {
        match self {
            TxStatus::Eax(v) => u64::from(v),
            TxStatus::Xt(v) => v,
            TxStatus::Cr0(v) => u64::from(v),
        }
    }
}

/// x86 RTM abort status bits (EAX).
pub mod rtm {
    /// Set by an explicit `xabort`; the imm8 is in bits 31:24.
    pub const EXPLICIT: u32 = 1 << 0;
    /// A debug breakpoint was hit.
    pub const DEBUG: u32 = 1 << 4;
    /// What `_xbegin()` returns when the transaction started.
    pub const STARTED: u32 = !0;
}

/// arm64 TME failure cause bits (the `tstart` register).
pub mod tme {
    /// TCANCEL: the reason is in bits 14:0 (and RTRY in bit 15).
    pub const CNCL: u64 = 1 << 16;
    /// A debug event (breakpoint, step) failed the transaction.
    pub const DBG: u64 = 1 << 22;
}

/// POWER CR0 after `tbegin.` fails: LT and EQ set (0b1010).
pub const PPC_TX_FAILED_CR0: u8 = 0b1010;
/// POWER CR0 after `tbegin.` starts a transaction (from the non-transactional state).
pub const PPC_TX_STARTED_CR0: u8 = 0b0000;
/// POWER CR0 after `tend.` ends a transaction.
pub const PPC_TX_ENDED_CR0: u8 = 0b0100;
/// POWER CR0 after a `tbegin.` inside a transaction (nested): `0 ||
/// MSR[TS] || 0` with TS = 0b10 (transactional), so EQ is clear and the
/// `beq` to the failure handler is not taken.
pub const PPC_TX_NESTED_CR0: u8 = 0b0100;
/// POWER `tend.`: the A bit (`tend. 1`, "tendall"): end every nesting
/// level, not one.
pub const PPC_TEND_ALL: u32 = 1 << 25;

/// How an architecture encodes an aborted transaction's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusEncoding {
    /// x86 RTM: EAX bits ([`rtm`]).
    Rtm,
    /// arm64 TME: the `tstart` register's failure cause ([`tme`]).
    Tme,
    /// POWER: CR0 = 0b1010, whatever the cause.
    PowerCr0,
}

impl TrapModel {
    /// The status value an abort leaves.
    pub fn abort_status(&self, cause: AbortCause) -> TxStatus {
        match (self.status, cause) {
            (StatusEncoding::Rtm, AbortCause::Trap) => TxStatus::Eax(rtm::DEBUG),
            (StatusEncoding::Rtm, AbortCause::Explicit(imm)) => {
                TxStatus::Eax(((imm as u32 & 0xff) << 24) | rtm::EXPLICIT)
            }
            (StatusEncoding::Tme, AbortCause::Trap) => TxStatus::Xt(tme::DBG),
            (StatusEncoding::Tme, AbortCause::Explicit(imm)) => {
                TxStatus::Xt((imm & 0xffff) | tme::CNCL)
            }
            (StatusEncoding::PowerCr0, _) => TxStatus::Cr0(PPC_TX_FAILED_CR0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(status: StatusEncoding) -> TrapModel {
        TrapModel {
            return_clears_reservation: false,
            handler_runs_in_transaction: false,
            tx_resume: TxResume::Fallback,
            status,
        }
    }

    #[test]
    fn status_values_follow_the_encodings() {
        let x86 = model(StatusEncoding::Rtm);
        assert_eq!(x86.abort_status(AbortCause::Trap), TxStatus::Eax(0x10));
        assert_eq!(
            x86.abort_status(AbortCause::Explicit(0xff)),
            TxStatus::Eax(0xff00_0001)
        );
        let a64 = model(StatusEncoding::Tme);
        assert_eq!(a64.abort_status(AbortCause::Trap), TxStatus::Xt(1 << 22));
        assert_eq!(
            a64.abort_status(AbortCause::Explicit(1)),
            TxStatus::Xt(0x1_0001)
        );
        let ppc = model(StatusEncoding::PowerCr0);
        assert_eq!(ppc.abort_status(AbortCause::Trap), TxStatus::Cr0(0b1010));
        assert_eq!(TxStatus::Eax(rtm::STARTED).value(), 0xffff_ffff);
    }
}
