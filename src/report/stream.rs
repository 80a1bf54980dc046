//! Writing a report as its points are finished, chunk by chunk in address
//! order, without holding the whole report: the JSON report (per point or
//! folded), JSON Lines, and the kernel's blacklist format.

use std::io::{self, Write};

use serde::Serialize;

use super::fold::{self, EntryRef};
use super::{BinaryInfo, Point, Summary, Tool, Verdict};

/// The forms a report can be streamed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// One pretty-printed JSON object (docs/report-schema.md).
    Json,
    /// JSON Lines: a header line `{tool, binary}`, one line per entry, and
    /// a last line `{summary}`.
    Jsonl,
    /// One line per hazardous range, `0xSTART-0xEND<TAB>SYMBOL` (END
    /// exclusive), the format of `/sys/kernel/debug/kprobes/blacklist`.
    Blacklist,
}

/// How a report is streamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The form.
    pub form: Form,
    /// Fold runs of points with the same findings into `range` entries.
    pub folded: bool,
    /// Leave out the entries whose verdict is below this.
    pub min_verdict: Option<Verdict>,
}

/// The first line of JSON Lines.
#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header<T, B> {
    /// The tool.
    pub tool: T,
    /// The binary.
    pub binary: B,
}

/// The last line of JSON Lines.
#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tail<S> {
    /// Counts per verdict.
    pub summary: S,
}

/// What a finished stream wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The points written, per verdict.
    pub summary: Summary,
    /// Every point given, per verdict (`--min-verdict` left out).
    pub analysed: Summary,
    /// The worst verdict of any point given.
    pub worst: Option<Verdict>,
    /// Entries written (points and ranges; lines of a blacklist).
    pub entries: u64,
    /// Hazardous ranges: maximal runs of consecutive hazardous instruction
    /// boundaries of one function.
    pub hazardous_ranges: u64,
}

/// A report being written.
pub struct ReportWriter<W: Write> {
    out: W,
    options: Options,
    written: Written,
    unresolved: Vec<super::Unresolved>,
}

/// `value` pretty-printed, its lines after the first indented by `indent`
/// spaces (JSON strings hold no raw newline, so this is safe).
fn indented(value: &impl Serialize, indent: usize) -> io::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    Ok(text.replace('\n', &format!("\n{}", " ".repeat(indent))))
}

impl<W: Write> ReportWriter<W> {
    /// Start a report about `binary` (its header is written now).
    pub fn new(mut out: W, options: Options, binary: &BinaryInfo) -> io::Result<ReportWriter<W>> {
        let tool = Tool::default();
        match options.form {
            Form::Json => write!(
                out,
                "{{\n  \"tool\": {},\n  \"binary\": {},\n  \"points\": [",
                indented(&tool, 2)?,
                indented(binary, 2)?
            )?,
            Form::Jsonl => {
                serde_json::to_writer(
                    &mut out,
                    &Header {
                        tool: &tool,
                        binary,
                    },
                )?;
                out.write_all(b"\n")?;
            }
            Form::Blacklist => {}
        }
        Ok(ReportWriter {
            out,
            options,
            written: Written::default(),
            unresolved: Vec::new(),
        })
    }

    /// The point specs that named no point, written after the summary of
    /// the JSON form (as [`super::Report`] serialises them).
    pub fn with_unresolved(mut self, unresolved: &[super::Unresolved]) -> ReportWriter<W> {
        self.unresolved = unresolved.to_vec();
        self
    }

    /// Write these points: sorted by address, and whole functions (a run
    /// is never split between two calls). `ends[i]` is the address just
    /// after the instruction at `points[i]` (the blacklist form needs the
    /// hazardous points' ends; the others ignore it).
    pub fn write(&mut self, points: &[Point], ends: &[u64]) -> io::Result<()> {
        for p in points {
            self.written.analysed.count(p.verdict, 1);
            self.written.worst = self.written.worst.max(Some(p.verdict));
        }
        self.hazardous_ranges(points, ends)?;
        if self.options.form == Form::Blacklist {
            return Ok(());
        }
        let runs = if self.options.folded {
            fold::runs(points)
        } else {
            (0..points.len()).map(|i| (i, i + 1)).collect()
        };
        for (i, j) in runs {
            let run = &points[i..j];
            let entry = if run.len() == 1 {
                EntryRef::Point(&run[0])
            } else {
                fold::entry(run)
            };
            if self
                .options
                .min_verdict
                .is_some_and(|m| entry.verdict() < m)
            {
                continue;
            }
            self.written
                .summary
                .count(entry.verdict(), run.len() as u64);
            match self.options.form {
                Form::Json => {
                    let sep = if self.written.entries == 0 { "" } else { "," };
                    write!(self.out, "{sep}\n    {}", indented(&entry, 4)?)?;
                }
                Form::Jsonl => {
                    serde_json::to_writer(&mut self.out, &entry)?;
                    self.out.write_all(b"\n")?;
                }
                Form::Blacklist => unreachable!("returned above"),
            }
            self.written.entries += 1;
        }
        Ok(())
    }

    /// Count (and in the blacklist form, write) the hazardous ranges.
    fn hazardous_ranges(&mut self, points: &[Point], ends: &[u64]) -> io::Result<()> {
        let mut open: Option<(u64, u64, &str)> = None;
        let close = |open: Option<(u64, u64, &str)>, w: &mut Self| -> io::Result<()> {
            if let Some((start, end, symbol)) = open {
                w.written.hazardous_ranges += 1;
                if w.options.form == Form::Blacklist {
                    writeln!(w.out, "{start:#018x}-{end:#018x}\t{symbol}")?;
                    w.written.entries += 1;
                }
            }
            Ok(())
        };
        for (i, p) in points.iter().enumerate() {
            if p.verdict != Verdict::Hazardous {
                close(open.take(), self)?;
                continue;
            }
            let addr = p.address_value();
            let end = ends
                .get(i)
                .copied()
                .unwrap_or(addr.saturating_add(1))
                .max(addr.saturating_add(1));
            open = match open {
                Some((start, last_end, symbol)) if last_end == addr && symbol == p.symbol => {
                    Some((start, end, symbol))
                }
                other => {
                    close(other, self)?;
                    Some((addr, end, p.symbol.as_str()))
                }
            };
        }
        close(open, self)
    }

    /// End the report (the JSON forms' summary) and say what was written.
    pub fn finish(mut self) -> io::Result<(Written, W)> {
        match self.options.form {
            Form::Json => {
                let close = if self.written.entries == 0 {
                    "]"
                } else {
                    "\n  ]"
                };
                write!(
                    self.out,
                    "{close},\n  \"summary\": {}",
                    indented(&self.written.summary, 2)?
                )?;
                if !self.unresolved.is_empty() {
                    write!(
                        self.out,
                        ",\n  \"unresolved\": {}",
                        indented(&self.unresolved, 2)?
                    )?;
                }
                self.out.write_all(b"\n}\n")?;
            }
            Form::Jsonl => {
                serde_json::to_writer(
                    &mut self.out,
                    &Tail {
                        summary: &self.written.summary,
                    },
                )?;
                self.out.write_all(b"\n")?;
            }
            Form::Blacklist => {}
        }
        self.out.flush()?;
        Ok((self.written, self.out))
    }
}
