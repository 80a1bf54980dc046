//! What the probe machinery's analysis found in one image, as data and as
//! text.

use super::{Machinery, Phase};
use crate::load::Binary;

/// What the probe machinery's analysis found in one image: the roots, the
/// size of each phase's closure, the functions reached that the blacklist
/// does not cover (with their chains), and the inline copies of blacklisted
/// functions outside the blacklist.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// Roots found in the image: `{name, phase, source}`.
    pub roots: Vec<RootFound>,
    /// Functions reached in the trap phase.
    pub trap_closure: usize,
    /// Functions reached in the handler phase (and not in the trap phase).
    pub handler_closure: usize,
    /// Functions in the image.
    pub functions: usize,
    /// Indirect call sites in reached functions: edges to unknown targets.
    pub unknown_edges: usize,
    /// Edges into failure or user-mode paths (oops, panic, printk, signals
    /// to user tasks) that the walk did not follow.
    pub cut_edges: usize,
    /// Reached functions the blacklist does not cover, trap phase first,
    /// then by name.
    pub unlisted: Vec<Unlisted>,
    /// Inline copies of blacklisted functions in functions the blacklist
    /// does not cover (null without DWARF).
    pub inline_copies: Option<Vec<InlineCopy>>,
}

/// A root found in the image.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RootFound {
    /// Its name.
    pub name: String,
    /// `trap` or `handler`.
    pub phase: &'static str,
    /// The kernel source file it comes from, or `--handler`.
    pub source: &'static str,
}

/// A reached function that the blacklist does not cover.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Unlisted {
    /// Its name.
    pub function: String,
    /// Its address (hex).
    pub address: String,
    /// `trap` or `handler`.
    pub phase: &'static str,
    /// The chain from the root: function names.
    pub chain: Vec<String>,
}

/// An inline copy of a blacklisted function outside the blacklist.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InlineCopy {
    /// The blacklisted function that was inlined.
    pub origin: String,
    /// The function it was inlined into.
    pub caller: String,
    /// The inline instance's entry (hex).
    pub entry: String,
    /// Whether the probe machinery also reaches the caller.
    pub caller_reached: bool,
}

impl Machinery {
    /// The summary of this closure over `binary`.
    pub fn summary(
        &self,
        binary: &Binary,
        blacklist: &crate::hazard::Blacklist,
        debug: Option<&crate::debuginfo::DebugInfo>,
    ) -> Summary {
        let listed = |a: u64| blacklist.lookup(a).next().is_some();
        let mut unlisted: Vec<Unlisted> = self
            .reached()
            .filter(|&(a, _)| !listed(a))
            .map(|(a, r)| Unlisted {
                function: self.names.get(&a).cloned().unwrap_or_default(),
                address: format!("{a:#x}"),
                phase: r.phase.name(),
                chain: self.chain(a).into_iter().map(|l| l.function).collect(),
            })
            .collect();
        unlisted.sort_by(|a, b| {
            (a.phase != "trap", &a.function).cmp(&(b.phase != "trap", &b.function))
        });
        let inline_copies = debug.map(|debug| {
            let names = listed_names(binary, blacklist);
            let mut copies: Vec<InlineCopy> = debug
                .inlines
                .iter()
                .filter(|i| names.contains(&*i.name) && !listed(i.entry))
                .filter_map(|i| {
                    let caller = binary.function_at(i.entry)?;
                    Some(InlineCopy {
                        origin: i.name.to_string(),
                        caller: caller.name.clone(),
                        entry: format!("{:#x}", i.entry),
                        caller_reached: self.reach(caller.address).is_some(),
                    })
                })
                .collect();
            copies.sort_by(|a, b| {
                (&a.origin, &a.caller, &a.entry).cmp(&(&b.origin, &b.caller, &b.entry))
            });
            copies
        });
        Summary {
            roots: self
                .roots_found
                .iter()
                .map(|(name, phase, source)| RootFound {
                    name: name.clone(),
                    phase: phase.name(),
                    source,
                })
                .collect(),
            trap_closure: self.count(Phase::Trap),
            handler_closure: self.count(Phase::Handler),
            functions: binary.functions.len(),
            unknown_edges: self.unknown_edges.len(),
            cut_edges: self.cut,
            unlisted,
            inline_copies,
        }
    }
}

/// The source names (clone suffixes removed) of every function the
/// blacklist covers: how DWARF names their inline copies.
pub fn listed_names(
    binary: &Binary,
    blacklist: &crate::hazard::Blacklist,
) -> std::collections::HashSet<String> {
    binary
        .functions
        .iter()
        .filter(|f| blacklist.lookup(f.address).next().is_some())
        .flat_map(|f| f.names())
        .map(|n| n.split_once('.').map_or(n, |(base, _)| base).to_owned())
        .collect()
}

/// The summary as text: the figures, then one line per unlisted function
/// with its chain, then the inline copies grouped by origin.
pub fn render_text(binary: &Binary, s: &Summary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", binary.path.display(), binary.arch);
    let _ = writeln!(
        out,
        "roots found: {}",
        s.roots
            .iter()
            .map(|r| format!("{} ({}, {})", r.name, r.phase, r.source))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "reached: {} functions in the trap phase, {} more in handlers, of {}; {} indirect calls not followed; {} calls into failure or user-mode paths not followed",
        s.trap_closure, s.handler_closure, s.functions, s.unknown_edges, s.cut_edges
    );
    let trap = s.unlisted.iter().filter(|u| u.phase == "trap").count();
    let _ = writeln!(
        out,
        "not blacklisted: {trap} in the trap phase (non-progress-recursion), {} in handlers (missed-in-handler)",
        s.unlisted.len() - trap
    );
    for u in &s.unlisted {
        let _ = writeln!(
            out,
            "  {:<8} {:<40} {}",
            u.phase,
            u.function,
            u.chain.join(" -> ")
        );
    }
    if let Some(copies) = &s.inline_copies {
        let reached = copies.iter().filter(|c| c.caller_reached).count();
        let _ = writeln!(
            out,
            "inline copies of blacklisted functions outside the blacklist: {} ({reached} in functions the machinery reaches)",
            copies.len()
        );
        let mut by_origin: Vec<(&str, Vec<&InlineCopy>)> = Vec::new();
        for c in copies {
            match by_origin.last_mut() {
                Some((o, v)) if *o == c.origin => v.push(c),
                _ => by_origin.push((&c.origin, vec![c])),
            }
        }
        by_origin.sort_by_key(|(o, v)| (std::cmp::Reverse(v.len()), *o));
        for (origin, v) in by_origin {
            let mut callers: Vec<&str> = v.iter().map(|c| c.caller.as_str()).collect();
            callers.dedup();
            let shown = callers
                .iter()
                .take(6)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let more = callers.len().saturating_sub(6);
            let _ = writeln!(
                out,
                "  {origin:<40} {} copies in {} functions: {shown}{}",
                v.len(),
                callers.len(),
                if more > 0 {
                    format!(", +{more}")
                } else {
                    String::new()
                }
            );
        }
    } else {
        let _ = writeln!(out, "inline copies: no DWARF");
    }
    out
}
