//! The static hazard map: for each point, what the decoded code, its control
//! flow and the kernel's tables say about a probe there.
//!
//! A [`StaticMap`] gives the static findings at an address of a function
//! from the function's decoded facts ([`crate::facts::FunctionFacts`]), the
//! kprobe blacklist, the probe machinery's call graph on a kernel image, and
//! DWARF (inline sites, tail-call sites). It knows neither the emulator nor
//! the dynamic detectors: [`crate::analyze`] runs it, then them.

pub mod blacklist;
mod dwarf;
mod findings;
pub mod machinery;
#[cfg(test)]
mod tests;

use crate::debuginfo::DebugInfo;
use crate::load::Binary;

pub use blacklist::Blacklist;
pub(crate) use dwarf::DwarfMemo;

/// Produces the static findings of the points of a binary.
#[derive(Debug)]
pub struct StaticMap<'b> {
    binary: &'b Binary,
    blacklist: Blacklist,
    debug: Option<std::sync::Arc<DebugInfo>>,
    /// DWARF's tail-call sites, indexed: their `pc`s and `return_pc`s.
    tail_sites: TailSites,
    detail: bool,
    /// More roots of the probe machinery (`--handler`).
    machinery_roots: Vec<String>,
    /// The probe machinery's call graph, on a kernel image (built on first use).
    machinery: std::sync::OnceLock<Option<machinery::Machinery>>,
    /// Names of the blacklisted functions (built on first use).
    listed_names: std::sync::OnceLock<std::collections::HashSet<String>>,
}

/// The addresses DWARF's tail-call sites name.
#[derive(Debug, Default)]
struct TailSites {
    pcs: std::collections::HashSet<u64>,
    return_pcs: std::collections::HashSet<u64>,
}

impl TailSites {
    fn of(debug: &DebugInfo) -> TailSites {
        TailSites {
            pcs: debug.tail_calls.iter().filter_map(|t| t.pc).collect(),
            return_pcs: debug
                .tail_calls
                .iter()
                .filter_map(|t| t.return_pc)
                .collect(),
        }
    }

    /// Whether the instruction at `pc`, ending at `next`, is a site.
    fn has(&self, pc: u64, next: u64) -> bool {
        self.pcs.contains(&pc) || self.return_pcs.contains(&next)
    }
}

impl<'b> StaticMap<'b> {
    /// A static map with the given blacklist (usually [`Blacklist::of`] the
    /// binary plus user files).
    pub fn new(binary: &'b Binary, blacklist: Blacklist) -> StaticMap<'b> {
        StaticMap {
            binary,
            blacklist,
            debug: None,
            tail_sites: TailSites::default(),
            detail: false,
            machinery_roots: Vec::new(),
            machinery: std::sync::OnceLock::new(),
            listed_names: std::sync::OnceLock::new(),
        }
    }

    /// More roots of the probe machinery's call graph: functions the probe
    /// handler runs (`--handler`), on a kernel image.
    pub fn with_machinery_roots(mut self, names: Vec<String>) -> StaticMap<'b> {
        self.machinery_roots = names;
        self
    }

    /// The probe machinery's call graph, when the binary is a kernel image.
    pub fn machinery(&self) -> Option<&machinery::Machinery> {
        self.machinery
            .get_or_init(|| {
                machinery::applies(self.binary)
                    .then(|| machinery::Machinery::build(self.binary, &self.machinery_roots))
            })
            .as_ref()
    }

    /// The names of the functions the blacklist covers, clone suffixes
    /// (`.isra.0`, `.constprop.0`) removed: how DWARF names their inline copies.
    fn listed_names(&self) -> &std::collections::HashSet<String> {
        self.listed_names
            .get_or_init(|| machinery::listed_names(self.binary, &self.blacklist))
    }

    /// Use DWARF: inline sites, tail-call sites.
    pub fn with_debug_info(mut self, debug: Option<std::sync::Arc<DebugInfo>>) -> StaticMap<'b> {
        self.tail_sites = debug.as_deref().map(TailSites::of).unwrap_or_default();
        self.debug = debug;
        self
    }

    /// Add the costlier per-point details (the parameters with a location
    /// at an inline site); `check` wants them, a whole-binary `scan` not.
    pub fn with_detail(mut self, detail: bool) -> StaticMap<'b> {
        self.detail = detail;
        self
    }

    /// The DWARF in use, if any.
    pub fn debug_info(&self) -> Option<&DebugInfo> {
        self.debug.as_deref()
    }

    /// The binary.
    pub fn binary(&self) -> &'b Binary {
        self.binary
    }

    /// The blacklist in force.
    pub fn blacklist(&self) -> &Blacklist {
        &self.blacklist
    }

    /// Whether DWARF names the instruction at `pc`, ending at `next`, as a
    /// tail-call site (`DW_AT_call_tail_call`).
    pub fn tail_call_site(&self, pc: u64, next: u64) -> bool {
        self.tail_sites.has(pc, next)
    }
}
