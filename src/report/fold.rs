//! The folded report form: a run of consecutive points of one function with
//! the same verdict and the same findings (evidence included) becomes one
//! `range` entry. Folding is lossless: a range lists how far apart its
//! points are (`step` when evenly spaced, `steps` otherwise), so it expands
//! back to exactly the points it replaced.

use serde::{Deserialize, Serialize};

use super::{hex, parse_address, BinaryInfo, Finding, Point, Report, Summary, Tool, Verdict};

/// Where a range entry's points are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// The first point's address.
    pub first: String,
    /// The last point's address.
    pub last: String,
    /// How many points.
    pub count: u64,
    /// The distance between consecutive points when it is always the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The distances between consecutive points (`count - 1` of them)
    /// otherwise (x86's variable-length instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<u64>>,
}

/// A folded run of points, as read back.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeEntry {
    /// The addresses.
    pub range: Span,
    /// The function.
    pub symbol: String,
    /// The first point's offset in the function.
    pub offset: u64,
    /// Every point's verdict.
    pub verdict: Verdict,
    /// Every point's findings.
    pub findings: Vec<Finding>,
}

/// A folded run of points, to write.
#[derive(Debug, Serialize)]
pub struct RangeRef<'a> {
    range: Span,
    symbol: &'a str,
    offset: u64,
    verdict: Verdict,
    findings: &'a [Finding],
}

/// One entry of `points[]`: a point, or a folded run of points.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EntryRef<'a> {
    /// A point on its own.
    Point(&'a Point),
    /// Several points.
    Range(RangeRef<'a>),
}

impl EntryRef<'_> {
    /// The verdict of its points.
    pub fn verdict(&self) -> Verdict {
        match self {
            EntryRef::Point(p) => p.verdict,
            EntryRef::Range(r) => r.verdict,
        }
    }
}

/// Whether `b` continues a run that ends with `a`: the same function (the
/// offsets grow with the addresses), verdict and findings.
fn continues(a: &Point, b: &Point) -> bool {
    let (x, y) = (a.address_value(), b.address_value());
    y > x
        && a.symbol == b.symbol
        && b.offset.checked_sub(a.offset) == Some(y - x)
        && a.verdict == b.verdict
        && a.findings == b.findings
}

/// The runs of `points` (sorted by address): `(start, end)` index pairs.
pub fn runs(points: &[Point]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let mut j = i + 1;
        while j < points.len() && continues(&points[j - 1], &points[j]) {
            j += 1;
        }
        out.push((i, j));
        i = j;
    }
    out
}

/// The entry for the points `run` (one run of [`runs`]).
pub fn entry(run: &[Point]) -> EntryRef<'_> {
    let first = &run[0];
    if run.len() == 1 {
        return EntryRef::Point(first);
    }
    let steps: Vec<u64> = run
        .windows(2)
        .map(|w| w[1].address_value() - w[0].address_value())
        .collect();
    let even = steps.iter().all(|&s| s == steps[0]);
    EntryRef::Range(RangeRef {
        range: Span {
            first: first.address.clone(),
            last: run[run.len() - 1].address.clone(),
            count: run.len() as u64,
            step: even.then_some(steps[0]),
            steps: (!even).then_some(steps),
        },
        symbol: &first.symbol,
        offset: first.offset,
        verdict: first.verdict,
        findings: &first.findings,
    })
}

/// The entries of `points`, folded or one per point.
pub fn entries(points: &[Point], folded: bool) -> Vec<EntryRef<'_>> {
    if !folded {
        return points.iter().map(EntryRef::Point).collect();
    }
    runs(points)
        .into_iter()
        .map(|(i, j)| entry(&points[i..j]))
        .collect()
}

impl RangeEntry {
    /// The points it stands for.
    pub fn expand(self) -> Result<Vec<Point>, String> {
        let bad = |why: &str| format!("range {}..{}: {why}", self.range.first, self.range.last);
        let first = parse_address(&self.range.first).ok_or_else(|| bad("bad first address"))?;
        let last = parse_address(&self.range.last).ok_or_else(|| bad("bad last address"))?;
        let count = self.range.count;
        if count < 2 {
            return Err(bad("a range has two points at least"));
        }
        let steps: Vec<u64> = match (&self.range.step, &self.range.steps) {
            (Some(s), None) => vec![*s; (count - 1) as usize],
            (None, Some(v)) if v.len() as u64 == count - 1 => v.clone(),
            (None, Some(_)) => return Err(bad("`steps` does not have count - 1 entries")),
            _ => return Err(bad("exactly one of `step` and `steps` is needed")),
        };
        let mut points = Vec::with_capacity(count as usize);
        let mut addr = first;
        for i in 0..count as usize {
            if i > 0 {
                let step = steps[i - 1];
                if step == 0 {
                    return Err(bad("a step of 0"));
                }
                addr = addr
                    .checked_add(step)
                    .ok_or_else(|| bad("address overflow"))?;
            }
            points.push(Point {
                address: hex(addr),
                symbol: self.symbol.clone(),
                offset: self.offset + (addr - first),
                verdict: self.verdict,
                findings: self.findings.clone(),
            });
        }
        if addr != last {
            return Err(bad("the steps do not lead from first to last"));
        }
        Ok(points)
    }
}

/// An entry as read: a point or a range.
enum RawEntry {
    Range(RangeEntry),
    Point(Point),
}

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawEntry, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        if value.get("range").is_some() {
            RangeEntry::deserialize(value)
                .map(RawEntry::Range)
                .map_err(D::Error::custom)
        } else {
            Point::deserialize(value)
                .map(RawEntry::Point)
                .map_err(D::Error::custom)
        }
    }
}

/// A report as read, before its ranges are expanded.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    tool: Tool,
    binary: BinaryInfo,
    points: Vec<RawEntry>,
    summary: Summary,
    #[serde(default)]
    unresolved: Vec<super::Unresolved>,
}

impl TryFrom<RawReport> for Report {
    type Error = String;

    fn try_from(raw: RawReport) -> Result<Report, String> {
        let mut points = Vec::with_capacity(raw.points.len());
        for entry in raw.points {
            match entry {
                RawEntry::Point(p) => points.push(p),
                RawEntry::Range(r) => points.extend(r.expand()?),
            }
        }
        Ok(Report {
            tool: raw.tool,
            binary: raw.binary,
            points,
            summary: raw.summary,
            unresolved: raw.unresolved,
        })
    }
}

/// Read a report in JSON Lines (see [`super::stream::Form::Jsonl`]).
pub fn read_jsonl(text: &str) -> Result<Report, String> {
    use super::stream::{Header, Tail};
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or("empty")?;
    let header: Header<Tool, BinaryInfo> =
        serde_json::from_str(first).map_err(|e| format!("line 1: {e}"))?;
    let mut points = Vec::new();
    let mut summary = None;
    for (n, line) in lines {
        if summary.is_some() {
            return Err(format!("line {}: after the summary", n + 1));
        }
        if line.starts_with("{\"summary\"") {
            let tail: Tail<Summary> =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            summary = Some(tail.summary);
            continue;
        }
        match serde_json::from_str::<RawEntry>(line).map_err(|e| format!("line {}: {e}", n + 1))? {
            RawEntry::Point(p) => points.push(p),
            RawEntry::Range(r) => points.extend(r.expand()?),
        }
    }
    Ok(Report {
        tool: header.tool,
        binary: header.binary,
        points,
        summary: summary.ok_or("no summary line: the report is incomplete")?,
        unresolved: Vec::new(),
    })
}
