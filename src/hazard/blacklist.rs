//! The kprobe blacklist: what the kernel itself refuses to probe.
//!
//! Sources: the kernel's no-probe sections (by name in objects and modules,
//! by their `__*_text_start`/`__*_text_end` symbols in a linked kernel), the
//! `_kprobe_blacklist` table that `NOKPROBE_SYMBOL()` fills (widened to the
//! whole function, dereferenced through `.opd` on ppc64 ELFv1), and a file
//! in the format of `/sys/kernel/debug/kprobes/blacklist`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::interval::IntervalIndex;
use crate::load::Binary;

/// One blacklisted range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Why: which mechanism put it there.
    pub source: String,
    /// The symbol it covers, if one.
    pub symbol: Option<String>,
}

/// Sections the kernel never probes.
const SECTIONS: &[&str] = &[
    ".kprobes.text",
    ".noinstr.text",
    ".entry.text",
    ".irqentry.text",
    ".softirqentry.text",
    ".hyp.text",
    ".idmap.text",
    ".hyp.idmap.text",
];

/// The same sections in a linked kernel, by their bounding symbols.
const SYMBOL_RANGES: &[(&str, &str)] = &[
    ("__kprobes_text_start", "__kprobes_text_end"),
    ("__noinstr_text_start", "__noinstr_text_end"),
    ("__entry_text_start", "__entry_text_end"),
    ("__irqentry_text_start", "__irqentry_text_end"),
    ("__softirqentry_text_start", "__softirqentry_text_end"),
    ("__hyp_text_start", "__hyp_text_end"),
    ("__idmap_text_start", "__idmap_text_end"),
    ("__hyp_idmap_text_start", "__hyp_idmap_text_end"),
];

/// The blacklist of a binary.
#[derive(Clone, Debug, Default)]
pub struct Blacklist {
    ranges: Vec<Range>,
    index: IntervalIndex<usize>,
}

impl Blacklist {
    /// Collect the binary's own blacklist.
    pub fn of(binary: &Binary) -> Blacklist {
        let mut ranges = Vec::new();
        for section in &binary.sections {
            if SECTIONS.contains(&section.name.as_str()) && section.size > 0 {
                ranges.push(Range {
                    start: section.address,
                    end: section.address.saturating_add(section.size),
                    source: format!("section {}", section.name),
                    symbol: None,
                });
            }
        }
        for (start, end) in SYMBOL_RANGES {
            if let (Some(s), Some(e)) = (binary.symbol(start), binary.symbol(end)) {
                if s.address < e.address {
                    ranges.push(Range {
                        start: s.address,
                        end: e.address,
                        source: format!("between {start} and {end}"),
                        symbol: None,
                    });
                }
            }
        }
        for (entry, value) in kprobe_blacklist_entries(binary) {
            let code = binary.deref_descriptor(value).unwrap_or(value);
            let Some(function) = binary.function_at(code) else {
                continue;
            };
            ranges.push(Range {
                start: function.address,
                end: function.end(),
                source: format!("NOKPROBE_SYMBOL: entry at {entry:#x} in _kprobe_blacklist"),
                symbol: Some(function.name.clone()),
            });
        }
        let mut list = Blacklist {
            ranges,
            index: IntervalIndex::default(),
        };
        list.index();
        list
    }

    fn index(&mut self) {
        self.ranges
            .sort_by(|a, b| (a.start, a.end, &a.source).cmp(&(b.start, b.end, &b.source)));
        self.ranges.dedup();
        self.index = IntervalIndex::new(
            self.ranges
                .iter()
                .enumerate()
                .map(|(i, r)| (r.start, r.end, i))
                .collect(),
        );
    }

    /// Add the ranges of a user file (`0xSTART-0xEND<TAB>SYMBOL` per line).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| Error::BadBlacklist {
                path: path.to_owned(),
                line: n + 1,
                reason: reason.to_owned(),
            };
            let mut parts = line.split_whitespace();
            let range = parts.next().ok_or_else(|| bad("empty"))?;
            let symbol = parts.next().map(str::to_owned);
            let (start, end) = range
                .split_once('-')
                .ok_or_else(|| bad("no '-' in the range"))?;
            let start = parse_hex(start).ok_or_else(|| bad("start is not a 0x hex address"))?;
            let end = parse_hex(end).ok_or_else(|| bad("end is not a 0x hex address"))?;
            if end <= start {
                return Err(bad("end is not above start"));
            }
            self.ranges.push(Range {
                start,
                end,
                source: format!("{}:{}", path.display(), n + 1),
                symbol,
            });
        }
        self.index();
        Ok(())
    }

    /// Every range that contains `addr`.
    pub fn lookup(&self, addr: u64) -> impl Iterator<Item = &Range> {
        self.index.query(addr).map(move |&i| &self.ranges[i])
    }

    /// All ranges.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

/// `(entry address, value)` for each pointer in the `_kprobe_blacklist`
/// table: the section of that name, or the range between
/// `__start_kprobe_blacklist` and `__stop_kprobe_blacklist`.
fn kprobe_blacklist_entries(binary: &Binary) -> Vec<(u64, u64)> {
    let range = match (
        binary.symbol("__start_kprobe_blacklist"),
        binary.symbol("__stop_kprobe_blacklist"),
    ) {
        (Some(s), Some(e)) if s.address < e.address => Some((s.address, e.address)),
        _ => binary
            .sections
            .iter()
            .find(|s| s.name == "_kprobe_blacklist")
            .map(|s| (s.address, s.address.saturating_add(s.size))),
    };
    let Some((start, end)) = range else {
        return Vec::new();
    };
    // A hostile table can claim a huge range; read only what exists.
    (start..end)
        .step_by(8)
        .take(1 << 22)
        .map_while(|at| binary.read_u64(at).map(|v| (at, v)))
        .collect()
}
