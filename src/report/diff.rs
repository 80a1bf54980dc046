//! The `diff` report: what changed between two builds' surveys (JSON, or
//! the changes grouped by category, most important first, each told as a
//! difference).

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::survey::{line_delta, Category, Change, LineDelta, Side};

/// Rows the text form prints per category, unless asked for all.
pub const ROWS_PER_CATEGORY: usize = 20;

/// Functions a source-line row of the text form names, unless asked for
/// all.
pub const FUNCTIONS_PER_LINE: usize = 8;

/// The JSON form: the tool, both binaries, their totals, the count of
/// changes per category (most important first) and every change.
pub fn to_json(a: &Side, b: &Side, changes: &[Change]) -> serde_json::Result<String> {
    let categories: Vec<serde_json::Value> = Category::ALL
        .iter()
        .zip(counts(changes))
        .map(|(c, n)| serde_json::json!({ "category": c, "count": n }))
        .collect();
    Ok(serde_json::to_string_pretty(&serde_json::json!({
        "tool": super::Tool::default(),
        "a": a.binary,
        "b": b.binary,
        "totals": { "a": a.totals, "b": b.totals },
        "categories": categories,
        "changes": changes,
    }))? + "\n")
}

/// The number of changes of each category, in the order of
/// [`Category::ALL`].
fn counts(changes: &[Change]) -> [usize; Category::ALL.len()] {
    let mut n = [0; Category::ALL.len()];
    for c in changes {
        n[c.category() as usize] += 1;
    }
    n
}

/// How the text form names a category: in the summary (plural), as a
/// heading (and in the summary, singular), and what its rows mean.
fn names(c: Category) -> (&'static str, &'static str, &'static str) {
    match c {
        Category::LostCall => (
            "lost .call",
            "lost .call",
            "no out-of-line copy any more, so no .call probe",
        ),
        Category::LostReturn => (
            "lost .return",
            "lost .return",
            "no copy that returns any more, so no .return probe",
        ),
        Category::Blacklist => (
            "blacklist changes",
            "blacklist change",
            "the kernel's blacklist covers a copy now (probes refused) or no longer",
        ),
        Category::NewClone => (
            "new clones",
            "new clone",
            "compiler clones in b only: symbols a probe on the function also has to name",
        ),
        Category::VanishedClone => (
            "vanished clones",
            "vanished clone",
            "compiler clones in a only: a probe on these symbols no longer resolves",
        ),
        Category::InlineCount => (
            "inline counts",
            "inline count",
            "inline instances (.inline points), a -> b, biggest change first",
        ),
        Category::GainedCall => ("gained .call", "gained .call", "an out-of-line copy now"),
        Category::GainedReturn => (
            "gained .return",
            "gained .return",
            "a copy that returns now",
        ),
        Category::Line => (
            "lines moved",
            "line moved",
            "source lines whose is_stmt addresses changed owner or number: -f (only in a), +f (only in b), (N) addresses when more than one, f: a -> b addresses; most changed first",
        ),
    }
}

/// The text form: both binaries, the totals before and after, the count of
/// changes per category, then each category with its rows (most important
/// category first). Unless `all`, a category prints its first
/// [`ROWS_PER_CATEGORY`] rows and a source-line row its first
/// [`FUNCTIONS_PER_LINE`] functions, and says how many it left out.
pub fn render_text(a: &Side, b: &Side, changes: &[Change], all: bool) -> String {
    let mut out = format!(
        "a: {} ({})\nb: {} ({})\n",
        a.binary.path, a.binary.arch, b.binary.path, b.binary.arch
    );
    let (ta, tb) = (&a.totals, &b.totals);
    let _ = writeln!(
        out,
        ".call functions {} -> {}, only inlined {} -> {}, inline instances {} -> {}, clones {} -> {}, without return probe {} -> {}",
        ta.with_call, tb.with_call, ta.only_inlined, tb.only_inlined, ta.inline_instances, tb.inline_instances, ta.clones, tb.clones, ta.without_return_probe, tb.without_return_probe
    );
    let counts = counts(changes);
    let summary: Vec<String> = Category::ALL
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .map(|(&c, n)| match n {
            1 => format!("1 {}", names(c).1),
            n => format!("{n} {}", names(c).0),
        })
        .collect();
    let _ = writeln!(
        out,
        "{} changes{}{}",
        changes.len(),
        if summary.is_empty() { "" } else { ": " },
        summary.join(", ")
    );
    // Functions that lost (or gained) .call: a lost (gained) .return of
    // theirs repeats it, so it comes after the others, and only with all.
    let with = |category: Category| -> BTreeSet<&str> {
        changes
            .iter()
            .filter(|c| c.category() == category)
            .filter_map(|c| match c {
                Change::LostCall { function } | Change::GainedCall { function } => {
                    Some(function.as_str())
                }
                _ => None,
            })
            .collect()
    };
    let (lost_call, gained_call) = (with(Category::LostCall), with(Category::GainedCall));
    let mut left_out = 0;
    for category in Category::ALL {
        let mut rows: Vec<(RowKey, String)> = changes
            .iter()
            .filter(|c| c.category() == category)
            .map(|c| row(c, &lost_call, &gained_call, all))
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort();
        let (_, heading, meaning) = names(category);
        // A lost (gained) .return that comes with a lost (gained) .call
        // repeats a row above: printed with --all only.
        let (implied, other) = match category {
            Category::LostReturn => (implied(changes, category, &lost_call), "lost .call"),
            Category::GainedReturn => (implied(changes, category, &gained_call), "gained .call"),
            _ => (0, ""),
        };
        let mut head = format!("\n{heading} ({}", rows.len());
        if implied > 0 {
            let _ = write!(head, ", {implied} of them under {other} too");
        }
        let _ = writeln!(out, "{head}): {meaning}");
        let listed = if all {
            rows.len()
        } else {
            rows.len() - implied
        };
        let shown = if all {
            listed
        } else {
            listed.min(ROWS_PER_CATEGORY)
        };
        for (_, text) in &rows[..shown] {
            let _ = writeln!(out, "  {text}");
        }
        let left = rows.len() - shown;
        if left > 0 {
            let why = if all || implied == 0 {
                String::new()
            } else if listed == shown {
                format!(": the functions under {other}")
            } else {
                format!(", {implied} of them under {other}")
            };
            let more = if shown > 0 { " more" } else { "" };
            let _ = writeln!(
                out,
                "  ... {left}{more} {heading} rows left out{why} (--all shows them)"
            );
            left_out += left;
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n{} changes, {left_out} rows left out (--all prints every row)",
            changes.len()
        );
    } else {
        let _ = writeln!(out, "\n{} changes", changes.len());
    }
    out
}

/// How many changes of `category` (a lost or gained .return) are of
/// functions in `with` (those that lost or gained .call).
fn implied(changes: &[Change], category: Category, with: &BTreeSet<&str>) -> usize {
    changes
        .iter()
        .filter(|c| c.category() == category)
        .filter(|c| match c {
            Change::LostReturn { function } | Change::GainedReturn { function } => {
                with.contains(function.as_str())
            }
            _ => false,
        })
        .count()
}

/// Where a row goes in its category: most important first, then by name
/// (a source line: by file, then line number).
type RowKey = (
    usize,
    std::cmp::Reverse<usize>,
    std::cmp::Reverse<usize>,
    String,
    u64,
);

/// One change as a row of the text form, with its place in its category.
fn row(
    change: &Change,
    lost_call: &BTreeSet<&str>,
    gained_call: &BTreeSet<&str>,
    all: bool,
) -> (RowKey, String) {
    use std::cmp::Reverse;
    let key = |first: usize, name: &str| (first, Reverse(0), Reverse(0), name.to_owned(), 0);
    match change {
        Change::LostCall { function } | Change::GainedCall { function } => {
            (key(0, function), function.clone())
        }
        Change::LostReturn { function } => {
            if lost_call.contains(function.as_str()) {
                (key(1, function), function.clone())
            } else {
                (
                    key(0, function),
                    format!("{function} (still has a .call copy)"),
                )
            }
        }
        Change::GainedReturn { function } => {
            if gained_call.contains(function.as_str()) {
                (key(1, function), function.clone())
            } else {
                (key(0, function), format!("{function} (had a .call copy)"))
            }
        }
        Change::InlineCount {
            function,
            before,
            after,
        } => (
            (
                0,
                Reverse(before.abs_diff(*after)),
                Reverse(0),
                function.clone(),
                0,
            ),
            format!("{function}: {before} -> {after}"),
        ),
        Change::NewClone { function, clone } | Change::VanishedClone { function, clone } => {
            let symbol = format!("{function}{clone}");
            (key(0, &symbol), symbol)
        }
        Change::Blacklist {
            function,
            blacklisted,
        } => {
            if *blacklisted {
                (key(0, function), format!("{function}: now covered"))
            } else {
                (key(1, function), format!("{function}: no longer covered"))
            }
        }
        Change::Line {
            line,
            before,
            after,
        } => {
            let mut deltas = line_delta(before, after);
            // Functions that lose the line, then those that gain it, then
            // the counts (each by name).
            deltas.sort_by_key(|d| match d {
                LineDelta::Removed(..) => 0,
                LineDelta::Added(..) => 1,
                LineDelta::Count(..) => 2,
            });
            let owners = deltas
                .iter()
                .filter(|d| !matches!(d, LineDelta::Count(..)))
                .count();
            let moved: usize = deltas
                .iter()
                .map(|d| match *d {
                    LineDelta::Added(_, n) | LineDelta::Removed(_, n) => n,
                    LineDelta::Count(_, x, y) => x.abs_diff(y),
                })
                .sum();
            let shown = if all {
                deltas.len()
            } else {
                deltas.len().min(FUNCTIONS_PER_LINE)
            };
            let count = |n: usize| {
                if n > 1 {
                    format!(" ({n})")
                } else {
                    String::new()
                }
            };
            let mut parts: Vec<String> = deltas[..shown]
                .iter()
                .map(|d| match *d {
                    LineDelta::Removed(name, n) => format!("-{name}{}", count(n)),
                    LineDelta::Added(name, n) => format!("+{name}{}", count(n)),
                    LineDelta::Count(name, x, y) => format!("{name}: {x} -> {y}"),
                })
                .collect();
            if shown < deltas.len() {
                parts.push(format!("and {} more", deltas.len() - shown));
            }
            let (file, number) = line
                .rsplit_once(':')
                .and_then(|(f, n)| Some((f, n.parse().ok()?)))
                .unwrap_or((line, 0));
            (
                (0, Reverse(owners), Reverse(moved), file.to_owned(), number),
                format!("{line}: {}", parts.join(", ")),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn categories_index_their_order() {
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::from(c.key())
            );
        }
    }

    /// Rows within a category: a blacklist that now covers a function
    /// before one that no longer does, the biggest inline-count change
    /// first, a lost .return of a function that keeps its .call before
    /// those that lost it.
    #[test]
    fn rows_most_important_first() {
        let none = BTreeSet::new();
        let sorted = |changes: Vec<Change>, lost: &BTreeSet<&str>| {
            let mut rows: Vec<_> = changes.iter().map(|c| row(c, lost, &none, false)).collect();
            rows.sort();
            rows.into_iter().map(|r| r.1).collect::<Vec<_>>()
        };
        let blacklist = |function: &str, blacklisted| Change::Blacklist {
            function: function.into(),
            blacklisted,
        };
        assert_eq!(
            sorted(vec![blacklist("a", false), blacklist("b", true)], &none),
            ["b: now covered", "a: no longer covered"]
        );
        let inline = |function: &str, before, after| Change::InlineCount {
            function: function.into(),
            before,
            after,
        };
        assert_eq!(
            sorted(
                vec![inline("a", 1, 2), inline("b", 9, 3), inline("c", 0, 6)],
                &none
            ),
            ["b: 9 -> 3", "c: 0 -> 6", "a: 1 -> 2"]
        );
        let lost = |function: &str| Change::LostReturn {
            function: function.into(),
        };
        assert_eq!(
            sorted(vec![lost("a"), lost("b")], &BTreeSet::from(["a"])),
            ["b (still has a .call copy)", "a"]
        );
    }

    /// A source line that a dozen functions gain: the row names the first
    /// eight unless all, and says how many more.
    #[test]
    fn a_line_row_names_eight_functions_unless_all() {
        let before: BTreeMap<String, usize> = [("kept".to_owned(), 2), ("gone".to_owned(), 3)]
            .into_iter()
            .collect();
        let mut after: BTreeMap<String, usize> = (0..12).map(|i| (format!("f{i:02}"), 1)).collect();
        after.insert("kept".into(), 5);
        let change = Change::Line {
            line: "a.h:7".into(),
            before,
            after,
        };
        let none = BTreeSet::new();
        let (_, capped) = row(&change, &none, &none, false);
        assert_eq!(
            capped,
            "a.h:7: -gone (3), +f00, +f01, +f02, +f03, +f04, +f05, +f06, and 6 more"
        );
        let (_, all) = row(&change, &none, &none, true);
        assert!(all.ends_with("+f10, +f11, kept: 2 -> 5"), "{all}");
        assert_eq!(all.matches(", ").count(), 13);
    }
}
