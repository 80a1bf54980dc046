//! The seed's experiments: how much inlining and cloning change what can
//! be probed. Per source function: its out-of-line copies (`.call`
//! points, compiler clones included), its inline instances (`.inline`
//! points) with the parameters that have a location at each entry, whether
//! a return probe is possible, and whether the blacklist covers it; and
//! [`diff`] between two builds of the same code.

mod diff;

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::Serialize;

use crate::cfg::Exit;
use crate::debuginfo::DebugInfo;
use crate::decode::Decoder;
use crate::error::Result;
use crate::facts::function_exits;
use crate::hazard::Blacklist;
use crate::load::Binary;
use crate::point::glob_match;
use crate::report::{hex, BinaryInfo, Tool};

pub use diff::{diff, line_delta, line_map, Category, Change, LineDelta, LineMap, Side};

/// Suffixes GCC and Clang give compiler clones of a function.
const CLONE_MARKERS: &[&str] = &[
    ".isra.",
    ".constprop.",
    ".part.",
    ".cold",
    ".lto_priv.",
    ".specialized.",
    ".llvm.",
];

/// Split `f.isra.0` into (`f`, Some(`.isra.0`)).
pub fn clone_base(symbol: &str) -> (&str, Option<&str>) {
    CLONE_MARKERS
        .iter()
        .filter_map(|m| symbol.find(m))
        .min()
        .filter(|&i| i > 0)
        .map_or((symbol, None), |i| (&symbol[..i], Some(&symbol[i..])))
}

/// One out-of-line copy.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Copy {
    /// Its probe entry.
    pub address: String,
    /// Its symbol, if it has one.
    pub symbol: Option<String>,
    /// The clone suffix (`.isra.0`), if it is a clone.
    pub clone: Option<String>,
    /// It has a return instruction (not only tail-call exits).
    pub returns: bool,
    /// Its exits by tail call.
    pub tail_call_exits: usize,
}

/// One inline instance.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InlineSite {
    /// Its entry (the `.inline` point).
    pub entry: String,
    /// The function it is inlined into.
    pub caller: Option<String>,
    /// Where the call was.
    pub call_site: Option<String>,
    /// Parameters with a location at the entry.
    pub params_with_location: Vec<String>,
    /// Parameters without one (optimised out there).
    pub params_without_location: Vec<String>,
}

/// What probing can do with one source function.
#[derive(Clone, Debug, Serialize)]
pub struct FunctionSurvey {
    /// The source name.
    pub name: String,
    /// The declaring file, from DWARF.
    pub decl_file: Option<String>,
    /// Out-of-line copies (`.call` points).
    pub out_of_line: Vec<Copy>,
    /// Inline instances (`.inline` points).
    pub inline_instances: Vec<InlineSite>,
    /// A `.return` probe is possible: some copy has a real return.
    pub return_probe: bool,
    /// The kernel's blacklist covers some copy.
    pub blacklisted: bool,
    /// For a blacklisted function: the entries of its inline instances
    /// that lie outside the blacklist (the kernel covers whole out-of-line
    /// symbols and sections only, so it accepts a probe in these copies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inline_outside_blacklist: Vec<String>,
}

/// Totals over all functions.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Source functions.
    pub functions: usize,
    /// With at least one out-of-line copy.
    pub with_call: usize,
    /// Only inlined: no `.call` point at all.
    pub only_inlined: usize,
    /// Inline instances.
    pub inline_instances: usize,
    /// Out-of-line copies.
    pub out_of_line_copies: usize,
    /// Copies that are compiler clones.
    pub clones: usize,
    /// Functions with several out-of-line copies.
    pub multiple_copies: usize,
    /// Functions with copies but no possible return probe.
    pub without_return_probe: usize,
}

/// A survey of one binary.
#[derive(Clone, Debug, Serialize)]
pub struct Survey {
    /// The tool.
    pub tool: Tool,
    /// The binary.
    pub binary: BinaryInfo,
    /// Where the DWARF came from (null: symbols only).
    pub debug_file: Option<String>,
    /// Raw DWARF counts (for cross-checks with other tools).
    pub dwarf: Option<crate::debuginfo::DwarfCounts>,
    /// Per function, by name.
    pub functions: Vec<FunctionSurvey>,
    /// Totals.
    pub totals: Totals,
}

/// Survey a binary (functions matching `glob`, or all).
pub fn survey(
    binary: &Binary,
    debug: Option<&DebugInfo>,
    blacklist: &Blacklist,
    glob: Option<&str>,
) -> Result<Survey> {
    survey_with(binary, debug, blacklist, glob, &exits_of(binary))
}

/// For each function of the binary (in order): whether it has a return
/// instruction, and how many tail-call exits. Independent of DWARF, so a
/// caller can compute it while the DWARF loads.
pub fn exits_of(binary: &Binary) -> Vec<(bool, usize)> {
    exits_of_with(binary, &|| {})
}

/// [`exits_of`], calling `done` once per function decoded (for a
/// progress bar).
pub fn exits_of_with(binary: &Binary, done: &(dyn Fn() + Sync)) -> Vec<(bool, usize)> {
    binary
        .functions
        .par_iter()
        .map_init(
            || Decoder::new(binary.arch),
            |decoder, f| match decoder {
                Ok(decoder) => {
                    // Only the exits matter here: no graph, no windows.
                    let exits = function_exits(decoder, binary, f);
                    done();
                    (
                        exits.contains(&Exit::Return),
                        exits
                            .iter()
                            .filter(|e| matches!(e, Exit::TailCall { .. }))
                            .count(),
                    )
                }
                Err(_) => {
                    done();
                    (false, 0)
                }
            },
        )
        .collect()
}

/// [`survey`] with the exits already computed by [`exits_of`].
pub fn survey_with(
    binary: &Binary,
    debug: Option<&DebugInfo>,
    blacklist: &Blacklist,
    glob: Option<&str>,
    exits: &[(bool, usize)],
) -> Result<Survey> {
    // Grouped by source name; sorted by it at the end.
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut grouped: Vec<FunctionSurvey> = Vec::new();
    let mut entry = |name: &str| -> Option<usize> {
        if let Some(&i) = index.get(name) {
            return Some(i);
        }
        if glob.is_some_and(|g| !glob_match(g, name)) {
            return None;
        }
        grouped.push(FunctionSurvey {
            name: name.to_owned(),
            decl_file: None,
            out_of_line: Vec::new(),
            inline_instances: Vec::new(),
            return_probe: false,
            blacklisted: false,
            inline_outside_blacklist: Vec::new(),
        });
        index.insert(name.to_owned(), grouped.len() - 1);
        Some(grouped.len() - 1)
    };
    // Out-of-line copies: every function of the binary, named by DWARF when
    // it knows the source name (a clone's DWARF name is its origin's).
    let copies: Vec<(String, Option<String>, Copy, bool)> = binary
        .functions
        .par_iter()
        .zip(exits.par_iter())
        .map(|(f, &(returns, tails))| {
            let dwarf = debug.and_then(|d| d.function_starting_at(f.address));
            let (base, suffix) = clone_base(&f.name);
            let name = dwarf.map_or_else(|| base.to_owned(), |d| d.name.clone());
            let copy = Copy {
                address: hex(f.entry),
                symbol: Some(f.name.clone()),
                clone: suffix.map(str::to_owned),
                returns,
                tail_call_exits: tails,
            };
            let blacklisted = blacklist.lookup(f.address).next().is_some();
            (
                name,
                dwarf.and_then(|d| d.decl_file.clone()),
                copy,
                blacklisted,
            )
        })
        .collect();
    let mut slots = Vec::with_capacity(copies.len());
    for (name, ..) in &copies {
        slots.push(entry(name));
    }
    let mut sites_slots = Vec::new();
    let sites = debug
        .map(|debug| inline_sites(debug, glob))
        .unwrap_or_default();
    for (name, ..) in &sites {
        sites_slots.push(entry(name));
    }
    for ((_, decl_file, copy, blacklisted), slot) in copies.into_iter().zip(slots) {
        if let Some(i) = slot {
            let s = &mut grouped[i];
            s.decl_file = s.decl_file.take().or(decl_file);
            s.return_probe |= copy.returns;
            s.blacklisted |= blacklisted;
            s.out_of_line.push(copy);
        }
    }
    for ((_, decl_file, site), slot) in sites.into_iter().zip(sites_slots) {
        if let Some(i) = slot {
            let s = &mut grouped[i];
            s.decl_file = s.decl_file.take().or(decl_file);
            s.inline_instances.push(site);
        }
    }
    let mut functions = grouped;
    functions.par_sort_unstable_by(|a, b| a.name.cmp(&b.name));
    functions.par_iter_mut().for_each(|f| {
        f.out_of_line.sort_by(|a, b| a.address.cmp(&b.address));
        f.inline_instances.sort_by(|a, b| a.entry.cmp(&b.entry));
        if f.blacklisted {
            f.inline_outside_blacklist = f
                .inline_instances
                .iter()
                .filter(|i| {
                    crate::report::parse_address(&i.entry)
                        .is_some_and(|a| blacklist.lookup(a).next().is_none())
                })
                .map(|i| i.entry.clone())
                .collect();
        }
    });
    let mut totals = Totals {
        functions: functions.len(),
        ..Totals::default()
    };
    for f in &functions {
        totals.with_call += usize::from(!f.out_of_line.is_empty());
        totals.only_inlined +=
            usize::from(f.out_of_line.is_empty() && !f.inline_instances.is_empty());
        totals.inline_instances += f.inline_instances.len();
        totals.out_of_line_copies += f.out_of_line.len();
        totals.clones += f.out_of_line.iter().filter(|c| c.clone.is_some()).count();
        totals.multiple_copies += usize::from(f.out_of_line.len() > 1);
        totals.without_return_probe += usize::from(!f.out_of_line.is_empty() && !f.return_probe);
    }
    Ok(Survey {
        tool: Tool::default(),
        binary: BinaryInfo {
            path: binary.path.display().to_string(),
            arch: binary.arch.name().to_owned(),
            build_id: binary.build_id_hex(),
        },
        debug_file: debug.map(|d| d.source.display().to_string()),
        dwarf: debug.map(|d| d.counts),
        functions,
        totals,
    })
}

/// Every inline instance as a survey site: (source name, declaring file, site).
fn inline_sites(
    debug: &DebugInfo,
    glob: Option<&str>,
) -> Vec<(String, Option<String>, InlineSite)> {
    {
        debug
            .inlines
            .par_iter()
            .filter(|i| glob.is_none_or(|g| glob_match(g, &i.name)))
            .map(|i| {
                let site = InlineSite {
                    entry: hex(i.entry),
                    caller: i
                        .function
                        .and_then(|f| debug.functions.get(f))
                        .map(|f| f.name.clone()),
                    call_site: match (&i.call_file, i.call_line) {
                        (Some(f), Some(l)) => Some(format!("{f}:{l}")),
                        _ => None,
                    },
                    params_with_location: i
                        .params
                        .iter()
                        .filter(|p| p.1)
                        .map(|p| p.0.to_string())
                        .collect(),
                    params_without_location: i
                        .params
                        .iter()
                        .filter(|p| !p.1)
                        .map(|p| p.0.to_string())
                        .collect(),
                };
                (
                    i.name.to_string(),
                    i.decl_file.as_deref().map(str::to_owned),
                    site,
                )
            })
            .collect()
    }
}

/// Render a survey as text: one row per function, then the totals.
pub fn render_text(s: &Survey) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, build-id {}, debug info: {})",
        s.binary.path,
        s.binary.arch,
        s.binary.build_id.as_deref().unwrap_or("none"),
        s.debug_file.as_deref().unwrap_or("none")
    );
    let width = s
        .functions
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(8)
        .clamp(8, 40);
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:>6}  {:<6}  {:<9}  CLONES / PARAMS AT INLINE ENTRIES",
        "FUNCTION", "CALL", "INLINE", "RETURN", "BLACKLIST"
    );
    for f in &s.functions {
        let clones: Vec<&str> = f
            .out_of_line
            .iter()
            .filter_map(|c| c.clone.as_deref())
            .collect();
        let mut notes = Vec::new();
        if !clones.is_empty() {
            notes.push(format!("clones {}", clones.join(" ")));
        }
        let params: BTreeSet<String> = f
            .inline_instances
            .iter()
            .map(|i| {
                format!(
                    "[{}|{}]",
                    i.params_with_location.join(","),
                    i.params_without_location.join(",")
                )
            })
            .collect();
        if !params.is_empty() {
            notes.push(format!(
                "params (located|not) {}",
                params.into_iter().collect::<Vec<_>>().join(" ")
            ));
        }
        if !f.inline_outside_blacklist.is_empty() {
            let callers: std::collections::BTreeSet<&str> = f
                .inline_instances
                .iter()
                .filter(|i| f.inline_outside_blacklist.contains(&i.entry))
                .filter_map(|i| i.caller.as_deref())
                .collect();
            notes.push(format!(
                "{} inline copies outside the blacklist (in {})",
                f.inline_outside_blacklist.len(),
                callers.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:>6}  {:<6}  {:<9}  {}",
            f.name,
            f.out_of_line.len(),
            f.inline_instances.len(),
            if f.out_of_line.is_empty() {
                "-"
            } else if f.return_probe {
                "yes"
            } else {
                "NO"
            },
            if f.blacklisted { "yes" } else { "-" },
            notes.join("; ")
        );
    }
    let t = &s.totals;
    let _ = writeln!(
        out,
        "{} functions: {} with .call, {} only inlined ({} inline instances), {} out-of-line copies ({} clones, {} functions with several), {} without a return probe",
        t.functions, t.with_call, t.only_inlined, t.inline_instances, t.out_of_line_copies, t.clones, t.multiple_copies, t.without_return_probe
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_names() {
        assert_eq!(clone_base("foo.isra.0"), ("foo", Some(".isra.0")));
        assert_eq!(
            clone_base("foo.constprop.0.isra.0"),
            ("foo", Some(".constprop.0.isra.0"))
        );
        assert_eq!(clone_base("bar.cold"), ("bar", Some(".cold")));
        assert_eq!(clone_base("bar.part.1"), ("bar", Some(".part.1")));
        assert_eq!(clone_base("plain"), ("plain", None));
        assert_eq!(clone_base(".foo"), (".foo", None));
    }
}
