//! The `diff` report: what changed between two builds' surveys (JSON, or a
//! line per change).

use std::fmt::Write;

use crate::survey::{Change, Survey};

/// The JSON form: the tool, both binaries, their totals and the changes.
pub fn to_json(a: &Survey, b: &Survey, changes: &[Change]) -> serde_json::Result<String> {
    Ok(serde_json::to_string_pretty(&serde_json::json!({
        "tool": super::Tool::default(),
        "a": a.binary,
        "b": b.binary,
        "totals": { "a": a.totals, "b": b.totals },
        "changes": changes,
    }))? + "\n")
}

/// The text form: both binaries, the totals before and after, one line per
/// change and their count.
pub fn render_text(a: &Survey, b: &Survey, changes: &[Change]) -> String {
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
    for c in changes {
        let line = match c {
            Change::LostCall { function } => {
                format!("lost .call       {function}: no out-of-line copy any more")
            }
            Change::GainedCall { function } => format!("gained .call     {function}"),
            Change::InlineCount {
                function,
                before,
                after,
            } => format!("inline count     {function}: {before} -> {after}"),
            Change::NewClone { function, clone } => {
                format!("new clone        {function}{clone}")
            }
            Change::VanishedClone { function, clone } => {
                format!("vanished clone   {function}{clone}")
            }
            Change::GainedReturn { function } => format!("gained .return   {function}"),
            Change::LostReturn { function } => format!("lost .return     {function}"),
            Change::Blacklist {
                function,
                blacklisted,
            } => {
                format!(
                    "blacklist        {function}: {}",
                    if *blacklisted {
                        "now covered"
                    } else {
                        "no longer covered"
                    }
                )
            }
            Change::Line {
                line,
                before,
                after,
            } => format!("line moved       {line}: {before:?} -> {after:?}"),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{} changes", changes.len());
    out
}
