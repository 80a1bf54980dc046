//! The analysis layer: point specs resolved into a [`Selection`], then
//! each selected function analysed once (in parallel): its decoded facts
//! ([`crate::facts`]), the static findings at every selected address
//! ([`crate::hazard::StaticMap`]), then, with emulation on, the dynamic
//! checks ([`crate::detect`]) in one emulator per worker thread; and the
//! extras that need a whole selection's points (the entry/return balance,
//! the comparison with a reference build, the variables in scope), each a
//! function to data that the report module renders.

pub mod balance;
mod dynamic;
pub mod reference;
mod run;
pub mod scope;
mod select;

use crate::cfg::Exit;
use crate::debuginfo::DebugInfo;
use crate::detect::DynamicOptions;
use crate::facts::FunctionFacts;
use crate::hazard::{machinery, Blacklist, StaticMap};
use crate::load::{Binary, Function};
use crate::report::{Finding, Point};

pub use select::Selection;

/// How a long run is steered from outside: a flag that stops it between
/// functions, and a callback for each function finished.
pub struct RunControl<'c> {
    /// Set to stop: workers take no new function once it is set.
    pub stop: &'c std::sync::atomic::AtomicBool,
    /// Called with the function's index and its points when it is done.
    pub done: &'c (dyn Fn(usize, &[Point]) + Sync),
}

/// How a chunked run ([`Analyzer::run_chunked_with`]) is steered: a flag
/// that stops it, the functions whose points come from elsewhere (a
/// checkpoint) rather than from analysing them again, and a callback for
/// each function analysed.
pub struct ChunkControl<'c> {
    /// Set to stop: workers take no new function once it is set, and the
    /// chunk under way is not given to the sink.
    pub stop: &'c std::sync::atomic::AtomicBool,
    /// The points of function `index` and the end of each point's
    /// instruction, when they are known already.
    pub prior: &'c PriorPoints<'c>,
    /// Called with each function analysed (not the prior ones): its index,
    /// its points and the end of each point's instruction.
    pub done: &'c FunctionDone<'c>,
}

/// See [`ChunkControl::done`].
pub type FunctionDone<'c> = dyn Fn(usize, &[Point], &[u64]) + Sync + 'c;

/// See [`ChunkControl::prior`].
pub type PriorPoints<'c> =
    dyn Fn(usize) -> Option<crate::error::Result<(Vec<Point>, Vec<u64>)>> + Sync + 'c;

/// Resolves specs, produces static findings and confirms them dynamically.
#[derive(Debug)]
pub struct Analyzer<'b> {
    binary: &'b Binary,
    dynamic: Option<DynamicOptions>,
    debug: Option<std::sync::Arc<DebugInfo>>,
    /// The static findings.
    map: StaticMap<'b>,
}

impl<'b> Analyzer<'b> {
    /// An analyzer with the given blacklist (usually [`Blacklist::of`] the
    /// binary plus user files).
    pub fn new(binary: &'b Binary, blacklist: Blacklist) -> Analyzer<'b> {
        Analyzer {
            binary,
            dynamic: None,
            debug: None,
            map: StaticMap::new(binary, blacklist),
        }
    }

    /// More roots of the probe machinery's call graph: functions the probe
    /// handler runs (`--handler`), on a kernel image.
    pub fn with_machinery_roots(mut self, names: Vec<String>) -> Analyzer<'b> {
        self.map = self.map.with_machinery_roots(names);
        self
    }

    /// The probe machinery's call graph, when the binary is a kernel image.
    pub fn machinery(&self) -> Option<&machinery::Machinery> {
        self.map.machinery()
    }

    /// Use DWARF: source-level point specs, inline sites, tail-call sites.
    pub fn with_debug_info(mut self, debug: Option<std::sync::Arc<DebugInfo>>) -> Analyzer<'b> {
        self.map = self.map.with_debug_info(debug.clone());
        self.debug = debug;
        self
    }

    /// Add the costlier per-point details (the parameters with a location
    /// at an inline site); `check` wants them, a whole-binary `scan` not.
    pub fn with_detail(mut self, detail: bool) -> Analyzer<'b> {
        self.map = self.map.with_detail(detail);
        self
    }

    /// The DWARF in use, if any.
    pub fn debug_info(&self) -> Option<&DebugInfo> {
        self.debug.as_deref()
    }

    /// Confirm the static findings by emulation (see [`crate::detect`]).
    pub fn with_dynamic(mut self, options: DynamicOptions) -> Analyzer<'b> {
        self.dynamic = Some(options);
        self
    }

    /// The dynamic options, when emulation is on.
    pub fn dynamic_options(&self) -> Option<&DynamicOptions> {
        self.dynamic.as_ref()
    }

    /// The binary.
    pub fn binary(&self) -> &'b Binary {
        self.binary
    }

    /// The blacklist in force.
    pub fn blacklist(&self) -> &Blacklist {
        self.map.blacklist()
    }

    /// The static map of the analysis.
    pub fn static_map(&self) -> &StaticMap<'b> {
        &self.map
    }

    /// The static findings at `addr` in `function`; `exit` when the point
    /// was selected as a `.return` exit (see [`StaticMap::findings`]).
    pub fn findings(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        addr: u64,
        exit: Option<Exit>,
    ) -> Vec<Finding> {
        self.map.findings(function, facts, addr, exit)
    }
}
