//! `--trace`: the instruction trace of each dynamic finding's witness.

use std::fmt::Write;

use anyhow::Result;

use probesafe::decode::Decoder;
use probesafe::detect::{witness_of, Witness};
use probesafe::emu::run::TraceEvent;
use probesafe::emu::Outcome;
use probesafe::hazard::Analyzer;
use probesafe::load::Binary;
use probesafe::report::{Confirmed, Report};

use super::args::{Common, Format};
use super::output::emit;

/// `--trace`: each dynamic finding's witness re-run with its instruction
/// trace, after the report (on stderr when the report is not text).
pub fn print_traces(analyzer: &Analyzer<'_>, report: &Report, common: &Common) -> Result<()> {
    if common.trace {
        let traces = render_witness_traces(analyzer, report)?;
        if common.format == Format::Text {
            emit(None, &traces)?;
        } else {
            eprint!("{traces}");
        }
    }
    Ok(())
}

/// Re-run every dynamic finding's witness and print its trace.
pub fn render_witness_traces(analyzer: &Analyzer<'_>, report: &Report) -> Result<String> {
    let binary = analyzer.binary();
    let decoder = Decoder::new(binary.arch)?;
    let mut out = String::new();
    for point in &report.points {
        for finding in point
            .findings
            .iter()
            .filter(|f| f.confirmed == Confirmed::Dynamic)
        {
            let Some(witness) =
                witness_of(finding).and_then(|w| Witness::from_json(w, binary.arch))
            else {
                continue;
            };
            let addr = point.address_value();
            let outcome = analyzer.trace(addr, &witness)?;
            let _ = writeln!(
                out,
                "\ntrace of {} at {} ({}+{:#x}), seed {:#x} case {}, start {:#x}:",
                finding.kind.name(),
                point.address,
                point.symbol,
                point.offset,
                witness.seed,
                witness.case,
                witness.start
            );
            render_outcome(binary, &decoder, &outcome, &mut out);
        }
    }
    Ok(out)
}

/// The lines of a traced run: each instruction with its place and text,
/// the probe, monitor and transaction events, and how it ended.
pub fn render_outcome(binary: &Binary, decoder: &Decoder, outcome: &Outcome, out: &mut String) {
    for event in &outcome.trace {
        let line = match event {
            TraceEvent::Insn { at } => {
                // Up to the longest instruction, but no further than the
                // section: the last instructions of .text are shorter.
                let text = (1..=16)
                    .rev()
                    .find_map(|len| binary.bytes_at(*at, len))
                    .and_then(|b| decoder.decode(b, *at).into_iter().next())
                    .map(|i| i.text())
                    .unwrap_or_else(|| "?".into());
                let place = binary
                    .function_at(*at)
                    .map(|f| format!("{}+{:#x}", f.name, at - f.address))
                    .unwrap_or_default();
                format!("  {at:#x}  {place:<28} {text}")
            }
            TraceEvent::Hit { at, n } => format!("  ** probe hit #{n} at {at:#x}: breakpoint exception"),
            TraceEvent::Handler { entry } => format!("  ** probe handler runs ({entry:#x})"),
            TraceEvent::ReservationCleared => "  ** exception return: exclusive monitor / reservation cleared".into(),
            TraceEvent::Step { at } => format!("  ** single-step of the probed instruction at {at:#x}"),
            TraceEvent::StoreConditional { at, ok } => {
                format!("  ** store-conditional at {at:#x} {}", if *ok { "stored" } else { "FAILED" })
            }
            TraceEvent::TxBegin { at } => format!("  ** transaction begins at {at:#x}"),
            TraceEvent::TxCommit { at } => format!("  ** transaction commits at {at:#x}"),
            TraceEvent::TxAbort { event } => format!(
                "  ** transaction ABORTED at {:#x} (status {:#x}, handler ran: {}), rolled back, resumes at {:#x}",
                event.at, event.status, event.handler_ran, event.resumed_at
            ),
            TraceEvent::Stub { at, target, returned } => format!(
                "  ** call at {at:#x} to {} stubbed, returns {returned:#x}",
                target.map_or("(indirect)".to_owned(), |t| format!("{t:#x}"))
            ),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "  end: {} after ~{} instructions",
        outcome.exit.describe(),
        outcome.executed
    );
}
