//! How a trial ended, in the words of the evidence.

use crate::emu::Exit;
use crate::load::Binary;

/// `(progress, proof)` of a trapped run.
pub(super) fn progress(exit: &Exit) -> (&'static str, String) {
    match exit {
        Exit::Livelock { at, period } => (
            "none",
            format!(
                "the same full state recurred at {at:#x} after {period} hit(s): an infinite loop"
            ),
        ),
        Exit::Budget => ("none", "still looping when the budget ran out".into()),
        Exit::Timeout => ("none", "still looping when the time limit passed".into()),
        Exit::Returned => ("fallback", "the region returned on another path".into()),
        Exit::Reentry { .. } => ("none", "the handler re-entered the probe".into()),
        Exit::Fault { pc, reason } => ("fault", format!("the run faulted at {pc:#x}: {reason}")),
    }
}

/// How a run ended, in a few words; a fault names the instruction at its
/// address (when the binary holds it) and the reason.
pub(super) fn exit_name(binary: &Binary, exit: &Exit) -> String {
    match exit {
        Exit::Returned => "returned".into(),
        Exit::Livelock { .. } => "livelock".into(),
        Exit::Reentry { .. } => "reentry".into(),
        Exit::Budget => "budget".into(),
        Exit::Timeout => "timeout".into(),
        Exit::Fault { pc, reason } => match instruction_text(binary, *pc) {
            Some(text) => format!("fault at {pc:#x} `{text}` ({reason})"),
            None => format!("fault at {pc:#x} ({reason})"),
        },
    }
}

/// The instruction at `addr` in the binary, as text.
fn instruction_text(binary: &Binary, addr: u64) -> Option<String> {
    let decoder = crate::decode::Decoder::new(binary.arch).ok()?;
    let bytes = [16, 8, 4]
        .into_iter()
        .find_map(|len| binary.bytes_at(addr, len))?;
    decoder
        .decode(bytes, addr)
        .first()
        .map(crate::decode::Insn::text)
}
