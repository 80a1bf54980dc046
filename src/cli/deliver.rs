//! Delivery in one place: which renderer of `report/` a format picks, where
//! the text goes, and the exit status (0 ran, 1 `--fail-on` met, 2 a spec
//! did not resolve).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use probesafe::debuginfo::DebugInfo;
use probesafe::load::Binary;
use probesafe::report::{combine, render_text, stream, Layout, Report, Unresolved, Verdict};
use probesafe::Error;

use super::args::{Common, FailOn, Format};
use super::output::emit;

/// The pretty-printed JSON form of a value, with a final newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// The error for a format a command has no renderer for (clap offers a
/// command only the formats it has: see `Formats`).
pub fn unsupported(command: &str, format: Format) -> anyhow::Error {
    anyhow::anyhow!("{command} has no {format:?} output")
}

/// The streamed form of a report format, if it has one.
pub fn stream_form(format: Format) -> Option<stream::Form> {
    match format {
        Format::Json => Some(stream::Form::Json),
        Format::Jsonl => Some(stream::Form::Jsonl),
        Format::Blacklist => Some(stream::Form::Blacklist),
        Format::Text | Format::Sarif | Format::Junit => None,
    }
}

/// The verdict from which `--fail-on` exits 1.
pub fn threshold(fail_on: FailOn) -> Verdict {
    match fail_on {
        FailOn::Gray => Verdict::Gray,
        FailOn::Hazardous => Verdict::Hazardous,
    }
}

/// Exit 1 when `--fail-on` (or, with a baseline, any regression) is met by
/// the worst verdict of the points reported.
pub fn exit_code(
    fail_on: Option<FailOn>,
    baseline: Option<&Path>,
    worst: Option<Verdict>,
) -> ExitCode {
    let threshold = match fail_on {
        Some(f) => Some(threshold(f)),
        // Every point left after a baseline comparison got worse.
        None if baseline.is_some() => Some(Verdict::Unknown),
        None => None,
    };
    match (threshold, worst) {
        (Some(t), Some(w)) if w >= t => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// The exit status of a run that resolved all but `unresolved`: 2 when a
/// spec named no point, as grep and ripgrep exit 2 after an error.
pub fn exit_status(code: ExitCode, unresolved: &[Unresolved]) -> ExitCode {
    if unresolved.is_empty() {
        code
    } else {
        ExitCode::from(2)
    }
}

/// Whether to write the report: always, except the text report on stdout
/// when no spec resolved (the lines on stderr say it all).
pub fn wants_report(selected: bool, unresolved: &[Unresolved], common: &Common) -> bool {
    selected || unresolved.is_empty() || common.format != Format::Text || common.output.is_some()
}

/// How a report is delivered.
pub struct Delivery<'a> {
    pub format: Format,
    pub output: Option<&'a Path>,
    pub all: bool,
    pub layout: Layout,
    pub fail_on: Option<FailOn>,
    pub baseline: Option<&'a Path>,
    pub per_point: bool,
    pub min_verdict: Option<Verdict>,
}

impl<'a> Delivery<'a> {
    pub fn of(common: &'a Common, layout: Layout) -> Delivery<'a> {
        Delivery {
            format: common.format,
            output: common.output.as_deref(),
            all: common.all,
            layout,
            fail_on: common.fail_on,
            baseline: common.baseline.as_deref(),
            per_point: common.per_point,
            min_verdict: common.min_verdict.map(|m| m.verdict()),
        }
    }
}

/// Narrow the report to regressions when there is a baseline, write it in
/// its format, and say whether `--fail-on` (or, with a baseline, any
/// regression) is met.
pub fn deliver(report: Report, debug: Option<&DebugInfo>, how: &Delivery<'_>) -> Result<ExitCode> {
    let report = match how.baseline {
        Some(path) => combine::regressions(&combine::read_report(path)?, path, report)?,
        None => report,
    };
    if let Some(form) = stream_form(how.format) {
        let options = stream::Options {
            form,
            folded: how.layout == Layout::Ranges && !how.per_point,
            min_verdict: how.min_verdict,
        };
        let ends = if form == stream::Form::Blacklist {
            instruction_ends(&report)?
        } else {
            Vec::new()
        };
        let mut text = Vec::new();
        let mut writer = stream::ReportWriter::new(&mut text, options, &report.binary)?
            .with_unresolved(&report.unresolved);
        writer.write(&report.points, &ends)?;
        writer.finish()?;
        emit(how.output, &String::from_utf8(text)?)?;
        return Ok(exit_code(
            how.fail_on,
            how.baseline,
            report.points.iter().map(|p| p.verdict).max(),
        ));
    }
    let report = match how.min_verdict {
        Some(m) => Report::new(
            report.binary,
            report
                .points
                .into_iter()
                .filter(|p| p.verdict >= m)
                .collect(),
        )
        .with_unresolved(report.unresolved),
        None => report,
    };
    let text = match how.format {
        Format::Json | Format::Jsonl | Format::Blacklist => {
            unreachable!("streamed above")
        }
        Format::Text => render_text(&report, how.layout, how.all),
        Format::Sarif => {
            let lines = |addr: u64| {
                let debug = debug?;
                let row = debug.row_for(addr)?;
                Some((debug.file(row).to_owned(), u64::from(row.line)))
            };
            probesafe::report::sarif::to_sarif(
                &report,
                &lines,
                how.layout == Layout::Ranges && !how.per_point,
            )
        }
        Format::Junit => probesafe::report::junit::to_junit(&report),
    };
    emit(how.output, &text)?;
    Ok(exit_code(
        how.fail_on,
        how.baseline,
        report.points.iter().map(|p| p.verdict).max(),
    ))
}

/// The address just after the instruction at each point: a fixed width on
/// arm64 and POWER; x86 decodes the binary the report is about (only for
/// the hazardous points, which the blacklist form needs).
fn instruction_ends(report: &Report) -> Result<Vec<u64>> {
    use probesafe::report::FindingKind;
    let hazardous = report
        .points
        .iter()
        .any(|p| p.verdict == Verdict::Hazardous);
    let fixed = report.binary.arch != "x86_64";
    let decoded = if hazardous && !fixed {
        let binary = Binary::open(Path::new(&report.binary.path))?;
        if binary.build_id_hex() != report.binary.build_id {
            return Err(Error::Incompatible {
                path: binary.path.clone(),
                reason: "its build-id is not the report's: the x86 instruction ends of --format blacklist need the binary of the report".into(),
            }
            .into());
        }
        let decoder = probesafe::decode::Decoder::new(binary.arch)?;
        Some((binary, decoder))
    } else {
        None
    };
    Ok(report
        .points
        .iter()
        .map(|p| {
            let addr = p.address_value();
            if p.verdict != Verdict::Hazardous
                || p.findings
                    .iter()
                    .any(|f| f.kind == FindingKind::NotInstructionBoundary)
            {
                return addr.saturating_add(1);
            }
            match &decoded {
                None => addr.saturating_add(4),
                Some((binary, decoder)) => binary
                    .section_at(addr)
                    .and_then(|s| {
                        let at = (addr - s.address) as usize;
                        let bytes = s.data.get(at..(at + 16).min(s.data.len()))?;
                        decoder.decode(bytes, addr).first().map(|i| i.next())
                    })
                    .unwrap_or(addr.saturating_add(1)),
            }
        })
        .collect())
}
