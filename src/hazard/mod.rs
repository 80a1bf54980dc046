//! The static hazard map: for each point, what the decoded code, its control
//! flow and the kernel's tables say about a probe there.
//!
//! An [`Analyzer`] resolves point specs against a binary into a
//! [`Selection`], then analyses each selected function once (in parallel):
//! decode, control-flow graph, LL/SC and transaction windows, and the
//! findings at every selected address.

pub mod blacklist;
pub mod machinery;
pub mod windows;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::arch::Class;
use crate::cfg::{Cfg, Exit};
use crate::debuginfo::DebugInfo;
use crate::decode::{Decoder, Insn};
use crate::detect::{self, Detector, DynamicOptions};
use crate::emu::Emulator;
use crate::error::{Error, Result};
use crate::load::{Binary, Function};
use crate::point::{file_matches, glob_match, PointSpec, Probe};
use crate::report::{hex, Finding, FindingKind, Point};

pub use blacklist::Blacklist;
pub use windows::{Window, WindowKind};

/// What to analyse in one function.
#[derive(Clone, Debug, Default)]
struct Wanted {
    /// Every instruction boundary.
    all: bool,
    /// Every exit (for `.return`).
    exits: bool,
    /// These addresses.
    points: BTreeSet<u64>,
    /// These addresses past the function's ELF size that a kernel's
    /// kallsyms still attributes to it (see [`Binary::kallsyms_end`]).
    past: BTreeSet<u64>,
}

impl Wanted {
    fn merge(&mut self, other: Wanted) {
        self.all |= other.all;
        self.exits |= other.exits;
        self.points.extend(other.points);
        self.past.extend(other.past);
    }
}

/// The points selected for analysis, grouped by function.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    by_function: BTreeMap<usize, Wanted>,
}

impl Selection {
    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.by_function.is_empty()
    }

    /// The indexes (into `Binary::functions`) of the selected functions,
    /// in order.
    pub fn functions(&self) -> impl Iterator<Item = usize> + '_ {
        self.by_function.keys().copied()
    }

    /// Keep only the functions for which `keep` (given the function's
    /// index) is true: a shard, or what a checkpoint has not done yet.
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        self.by_function.retain(|&i, _| keep(i));
    }

    /// Add everything `other` selects.
    pub fn merge(&mut self, other: Selection) {
        for (i, wanted) in other.by_function {
            self.by_function.entry(i).or_default().merge(wanted);
        }
    }
}

/// How a long run is steered from outside: a flag that stops it between
/// functions, and a callback for each function finished.
pub struct RunControl<'c> {
    /// Set to stop: workers take no new function once it is set.
    pub stop: &'c std::sync::atomic::AtomicBool,
    /// Called with the function's index and its points when it is done.
    pub done: &'c (dyn Fn(usize, &[Point]) + Sync),
}

/// A function's decoded code and its hazard windows.
#[derive(Debug)]
pub struct FunctionFacts {
    /// The control-flow graph over its instructions.
    pub cfg: Cfg,
    /// LL/SC windows.
    pub llsc: Vec<Window>,
    /// Transaction windows.
    pub tm: Vec<Window>,
    /// Data inside the function's range: POWER jump tables after a
    /// `bctr`, zero padding after an instruction that does not fall
    /// through, the traceback table after its last instruction.
    pub data: Vec<DataRange>,
}

/// Bytes inside a function's range that are data, not instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRange {
    /// First address.
    pub start: u64,
    /// Past the last.
    pub end: u64,
    /// What it is (`jump table`, `traceback table`, `padding`).
    pub what: &'static str,
}

impl FunctionFacts {
    /// Decode `function` and find its windows.
    pub fn of(decoder: &Decoder, binary: &Binary, function: &Function) -> FunctionFacts {
        let (insns, data) = decode_code(decoder, binary, function);
        let cfg = Cfg::build(function, insns);
        let llsc = windows::llsc_windows(&cfg);
        let tm = windows::transaction_windows(&cfg, crate::arch::spec(decoder.arch()));
        FunctionFacts {
            cfg,
            llsc,
            tm,
            data,
        }
    }
}

/// Decode the bytes of a function that its section holds (a hostile size
/// is clamped to the section).
pub fn decode_function(decoder: &Decoder, binary: &Binary, function: &Function) -> Vec<Insn> {
    decode_code(decoder, binary, function).0
}

/// Decode a function's code, without the data inside its range: the
/// jump tables after its indirect jumps and the data after its last
/// instruction ([`crate::arch::ArchSpec::jump_table_len`],
/// [`crate::arch::ArchSpec::trailing_data`]).
fn decode_code(
    decoder: &Decoder,
    binary: &Binary,
    function: &Function,
) -> (Vec<Insn>, Vec<DataRange>) {
    let code = function_code(binary, function);
    let spec = crate::arch::spec(decoder.arch());
    let (code_len, trailing) = code_extent(decoder, code, function.address);
    let mut insns = decoder.decode(&code[..code_len], function.address);
    let mut data = Vec::new();
    let range = function.address..function.address + code_len as u64;
    for insn in &insns {
        let jump = matches!(
            insn.class,
            Class::Jump {
                indirect: true,
                conditional: false
            }
        );
        let at = (insn.next() - function.address) as usize;
        if !jump || at >= code_len {
            continue;
        }
        let len = spec.jump_table_len(&code[at..code_len], insn.next(), range.clone());
        if len > 0 {
            data.push(DataRange {
                start: insn.next(),
                end: insn.next() + len as u64,
                what: "jump table",
            });
        }
    }
    // Zero words right after an instruction that does not fall through,
    // which no branch targets: padding (the linker's 32-byte call stubs
    // on POWER end `bctr` and zeros). A zero word that is reached (glibc's
    // `abort` executes `.long 0`) stays an instruction.
    let targets: BTreeSet<u64> = insns.iter().filter_map(|i| i.target).collect();
    let mut i = 0;
    while i + 1 < insns.len() {
        let padding = insns[i + 1..]
            .iter()
            .take_while(|n| {
                n.mnemonic == "(bad)"
                    && !targets.contains(&n.address)
                    && binary
                        .bytes_at(n.address, u64::from(n.len))
                        .is_some_and(|b| b.iter().all(|&x| x == 0))
            })
            .count();
        if padding > 0 && !insns[i].class.falls_through() {
            data.push(DataRange {
                start: insns[i + 1].address,
                end: insns[i + padding].next(),
                what: "padding",
            });
        }
        i += padding + 1;
    }
    if !data.is_empty() {
        // Words stay words on POWER (a table word is no prefix), so the
        // instructions after a table decoded right.
        insns.retain(|i| {
            !data
                .iter()
                .any(|d| i.address >= d.start && i.address < d.end)
        });
    }
    if let Some((start, what)) = trailing {
        data.push(DataRange {
            start,
            end: function.end(),
            what,
        });
    } else if decoder.arch().is_ppc() {
        // A table that does not reach the end of the range (one that
        // runs on into padding): it still starts with a zero word right
        // after an instruction that does not fall through.
        let table = insns.windows(2).position(|w| {
            !w[0].class.falls_through()
                && w[1].mnemonic == "(bad)"
                && traceback_follows(code, function.address, &w[0])
        });
        if let Some(i) = table {
            insns.truncate(i + 1);
            data.push(DataRange {
                start: insns[i].next(),
                end: function.end(),
                what: "traceback table",
            });
        }
    }
    (insns, data)
}

/// How many bytes of `code` (a function's range at `address`) are code,
/// and where the data after them starts: the architecture's trailing data
/// ([`crate::arch::ArchSpec::trailing_data`]).
fn code_extent(
    decoder: &Decoder,
    code: &[u8],
    address: u64,
) -> (usize, Option<(u64, &'static str)>) {
    match crate::arch::spec(decoder.arch()).trailing_data(code) {
        Some((at, what)) => (at, Some((address + at as u64, what))),
        None => (code.len(), None),
    }
}

/// The exits of a function (returns, tail calls, indirect jumps) as
/// [`decode_function`] and [`crate::cfg::exit_of`] give them, from a sweep
/// that disassembles only the instructions that may transfer control: what
/// `survey` needs of every function of a kernel.
pub fn function_exits(decoder: &Decoder, binary: &Binary, function: &Function) -> Vec<Exit> {
    let code = function_code(binary, function);
    let code = &code[..code_extent(decoder, code, function.address).0];
    let mut exits = Vec::new();
    for insn in decoder.decode_exit_candidates(code, function.address) {
        exits.extend(crate::cfg::exit_of(&insn, function.address, function.end()));
        if decoder.arch().is_ppc()
            && !insn.class.falls_through()
            && traceback_follows(code, function.address, &insn)
        {
            break;
        }
    }
    exits
}

/// The bytes of a function's symbol range that are present in the file.
fn function_code<'b>(binary: &'b Binary, function: &Function) -> &'b [u8] {
    let Some(section) = binary.section_at(function.address) else {
        return &[];
    };
    let start = ((function.address - section.address) as usize).min(section.data.len());
    let end = (start as u64)
        .saturating_add(function.size)
        .min(section.data.len() as u64) as usize;
    &section.data[start..end]
}

/// A POWER function's code ends where its traceback table begins: a zero
/// word right after an instruction that does not fall through.
fn traceback_follows(code: &[u8], address: u64, insn: &Insn) -> bool {
    let at = (insn.next() - address) as usize;
    code.get(at..at + 4) == Some(&[0, 0, 0, 0])
}

/// Resolves specs and produces static findings.
#[derive(Debug)]
pub struct Analyzer<'b> {
    binary: &'b Binary,
    blacklist: Blacklist,
    dynamic: Option<DynamicOptions>,
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

impl<'b> Analyzer<'b> {
    /// An analyzer with the given blacklist (usually [`Blacklist::of`] the
    /// binary plus user files).
    pub fn new(binary: &'b Binary, blacklist: Blacklist) -> Analyzer<'b> {
        Analyzer {
            binary,
            blacklist,
            dynamic: None,
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
    pub fn with_machinery_roots(mut self, names: Vec<String>) -> Analyzer<'b> {
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

    /// Use DWARF: source-level point specs, inline sites, tail-call sites.
    pub fn with_debug_info(mut self, debug: Option<std::sync::Arc<DebugInfo>>) -> Analyzer<'b> {
        self.tail_sites = debug.as_deref().map(TailSites::of).unwrap_or_default();
        self.debug = debug;
        self
    }

    /// Add the costlier per-point details (the parameters with a location
    /// at an inline site); `check` wants them, a whole-binary `scan` not.
    pub fn with_detail(mut self, detail: bool) -> Analyzer<'b> {
        self.detail = detail;
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
        &self.blacklist
    }

    /// Functions whose name (or alias) matches a glob.
    pub fn matching_functions(&self, pattern: &str) -> Vec<usize> {
        self.binary
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.names().any(|n| glob_match(pattern, n)))
            .map(|(i, _)| i)
            .collect()
    }

    fn function_index_at(&self, addr: u64) -> Result<usize> {
        let f = self
            .binary
            .function_at(addr)
            .ok_or_else(|| Error::OutsideFunction {
                path: self.binary.path.clone(),
                address: addr,
            })?;
        Ok(self
            .binary
            .functions
            .iter()
            .position(|g| std::ptr::eq(g, f))
            .expect("function_at returns one of the functions"))
    }

    /// Select every instruction boundary of every function, or of the
    /// functions matching one of `globs`.
    pub fn select_all(&self, selection: &mut Selection, globs: &[String]) -> Result<()> {
        if globs.is_empty() {
            for i in 0..self.binary.functions.len() {
                selection.by_function.entry(i).or_default().all = true;
            }
            return Ok(());
        }
        for glob in globs {
            let found = self.matching_functions(glob);
            if found.is_empty() {
                return Err(self.unknown(glob));
            }
            for i in found {
                selection.by_function.entry(i).or_default().all = true;
            }
        }
        Ok(())
    }

    /// Add the points of each spec that resolves, each spec wholly or not
    /// at all; returns the index and the error of every spec that does not
    /// (one bad spec does not sink a batch).
    pub fn select_each<'s>(
        &self,
        selection: &mut Selection,
        specs: impl IntoIterator<Item = &'s PointSpec>,
    ) -> Vec<(usize, Error)> {
        let mut failed = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let mut one = Selection::default();
            match self.select(&mut one, spec) {
                Ok(()) => selection.merge(one),
                Err(e) => failed.push((i, e)),
            }
        }
        failed
    }

    /// [`Analyzer::select_all`] glob by glob: the error of each glob that
    /// matches no function, with its index.
    pub fn select_all_each(
        &self,
        selection: &mut Selection,
        globs: &[String],
    ) -> Vec<(usize, Error)> {
        if globs.is_empty() {
            // Every function: cannot fail.
            let _ = self.select_all(selection, globs);
            return Vec::new();
        }
        let mut failed = Vec::new();
        for (i, glob) in globs.iter().enumerate() {
            if let Err(e) = self.select_all(selection, std::slice::from_ref(glob)) {
                failed.push((i, e));
            }
        }
        failed
    }

    fn unknown(&self, name: &str) -> Error {
        Error::UnknownSymbol {
            path: self.binary.path.clone(),
            name: name.to_owned(),
        }
    }

    /// Add the points a spec names.
    pub fn select(&self, selection: &mut Selection, spec: &PointSpec) -> Result<()> {
        let mut add = |addr: u64| self.add_point(selection, addr);
        match spec {
            PointSpec::Address(a) => add(*a),
            PointSpec::Symbol { name, offset } => {
                let functions: Vec<&Function> = self
                    .binary
                    .functions
                    .iter()
                    .filter(|f| f.has_name(name))
                    .collect();
                if functions.is_empty() {
                    let sym = self
                        .binary
                        .symbols
                        .iter()
                        .find(|s| s.name == *name && !s.undefined)
                        .ok_or_else(|| self.unknown(name))?;
                    let addr = sym
                        .address
                        .checked_add(offset.unwrap_or(0))
                        .ok_or_else(|| Error::BadSpec {
                            spec: spec.to_string(),
                            reason: "address overflows".into(),
                        })?;
                    return add(addr);
                }
                for f in functions {
                    let addr = match offset {
                        None | Some(0) => f.entry,
                        Some(o) if *o < f.size.max(1) => f.address + o,
                        Some(o) => {
                            // A kernel accepts every byte up to the next
                            // symbol (kallsyms).
                            let past = f.address.checked_add(*o).filter(|&a| {
                                self.binary
                                    .kallsyms_end(f)
                                    .is_some_and(|(end, _)| a >= f.end() && a < end)
                            });
                            let Some(addr) = past else {
                                return Err(Error::OffsetPastEnd {
                                    path: self.binary.path.clone(),
                                    spec: spec.to_string(),
                                    offset: *o,
                                    function: f.name.clone(),
                                    size: f.size,
                                });
                            };
                            self.add_past_point(selection, f, addr);
                            continue;
                        }
                    };
                    self.add_point(selection, addr)?;
                }
                Ok(())
            }
            PointSpec::Function {
                pattern,
                file,
                probe,
            } => self.select_function(selection, spec, pattern, file.as_deref(), *probe),
            PointSpec::Statement {
                function,
                file,
                line,
            } => {
                let debug = self.needs_debug(spec)?;
                let mut found = false;
                for row in debug.lines.iter().filter(|r| r.is_stmt && r.line == *line) {
                    if !file_matches(file, debug.file(row)) {
                        continue;
                    }
                    let Some(owner) = self.binary.function_at(row.address) else {
                        continue;
                    };
                    let dwarf_name = debug.function_at(row.address).map(|f| f.name.as_str());
                    if function != "*"
                        && !owner.names().any(|n| glob_match(function, n))
                        && !dwarf_name.is_some_and(|n| glob_match(function, n))
                    {
                        continue;
                    }
                    self.add_point(selection, row.address)?;
                    found = true;
                }
                if !found {
                    return Err(Error::BadSpec {
                        spec: spec.to_string(),
                        reason: format!(
                            "no is_stmt line-table row for {file}:{line} in {}",
                            debug.source.display()
                        ),
                    });
                }
                Ok(())
            }
        }
    }

    /// Select one address past the ELF size of `function`, which kallsyms
    /// attributes to it.
    fn add_past_point(&self, selection: &mut Selection, function: &Function, addr: u64) {
        let i = self
            .binary
            .functions
            .iter()
            .position(|g| std::ptr::eq(g, function))
            .expect("one of the binary's functions");
        selection
            .by_function
            .entry(i)
            .or_default()
            .past
            .insert(addr);
    }

    /// Select one address, in the function that contains it (in a kernel
    /// image, past a function's ELF size too: see [`Binary::kallsyms_owner`]).
    fn add_point(&self, selection: &mut Selection, addr: u64) -> Result<()> {
        let i = match self.function_index_at(addr) {
            Ok(i) => i,
            Err(e) => {
                let Some(i) = self.binary.kallsyms_owner(addr) else {
                    return Err(e);
                };
                self.add_past_point(selection, &self.binary.functions[i], addr);
                return Ok(());
            }
        };
        selection
            .by_function
            .entry(i)
            .or_default()
            .points
            .insert(addr);
        Ok(())
    }

    fn needs_debug(&self, spec: &PointSpec) -> Result<&DebugInfo> {
        self.debug.as_deref().ok_or_else(|| Error::NoDebugInfo {
            path: self.binary.path.clone(),
            spec: spec.to_string(),
        })
    }

    fn select_function(
        &self,
        selection: &mut Selection,
        spec: &PointSpec,
        pattern: &str,
        file: Option<&str>,
        probe: Probe,
    ) -> Result<()> {
        let debug = self.debug.as_deref();
        if file.is_some() || probe == Probe::Inline {
            self.needs_debug(spec)?;
        }
        // Functions by symbol name, and (with DWARF) by source name: a
        // compiler clone `f.isra.0` is an out-of-line copy of `f`.
        let mut found: BTreeSet<usize> = BTreeSet::new();
        if file.is_none() {
            found.extend(self.matching_functions(pattern));
        }
        if let Some(debug) = debug {
            for f in debug
                .functions
                .iter()
                .filter(|f| glob_match(pattern, &f.name))
            {
                if file.is_some_and(|file| {
                    !f.decl_file
                        .as_deref()
                        .is_some_and(|d| file_matches(file, d))
                }) {
                    continue;
                }
                if let Ok(i) = self.function_index_at(f.low) {
                    found.insert(i);
                }
            }
        }
        match probe {
            Probe::Inline => {
                let debug = self.needs_debug(spec)?;
                let mut any = false;
                for inline in debug
                    .inlines
                    .iter()
                    .filter(|i| glob_match(pattern, &i.name))
                {
                    if file.is_some_and(|file| {
                        !inline
                            .decl_file
                            .as_deref()
                            .is_some_and(|d| file_matches(file, d))
                    }) {
                        continue;
                    }
                    self.add_point(selection, inline.entry)?;
                    any = true;
                }
                if !any {
                    return Err(self.unknown(&format!("{pattern} (no inline instance)")));
                }
                return Ok(());
            }
            _ if found.is_empty() => return Err(self.unknown(pattern)),
            _ => {}
        }
        for i in found {
            let wanted = selection.by_function.entry(i).or_default();
            match probe {
                Probe::Call => {
                    wanted.points.insert(self.binary.functions[i].entry);
                }
                Probe::Return => wanted.exits = true,
                Probe::Inline => unreachable!("handled above"),
            }
        }
        Ok(())
    }

    /// Analyse the selection; `jobs` threads (all cores by default).
    pub fn run(&self, selection: &Selection, jobs: Option<usize>) -> Result<Vec<Point>> {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let control = RunControl {
            stop: &stop,
            done: &|_, _| {},
        };
        self.run_with(selection, jobs, &control)
    }

    /// [`Analyzer::run`], reporting each finished function to `control`
    /// and taking no new function once `control.stop` is set (the points
    /// of the functions not run are then missing from the result).
    pub fn run_with(
        &self,
        selection: &Selection,
        jobs: Option<usize>,
        control: &RunControl<'_>,
    ) -> Result<Vec<Point>> {
        let work: Vec<(&usize, &Wanted)> = selection.by_function.iter().collect();
        let arch = self.binary.arch;
        let analyse = || -> Result<Vec<Vec<Point>>> {
            // One function per job: functions differ in cost by orders of
            // magnitude, and a worker left with a long run of them in one
            // job would keep the others idle at the end.
            work.par_iter()
                .with_max_len(1)
                .map_init(
                    || Decoder::new(arch),
                    |decoder, (i, wanted)| -> Result<Vec<Point>> {
                        let decoder = decoder.as_ref().map_err(|e| Error::Disassembler {
                            arch: arch.name(),
                            reason: e.to_string(),
                        })?;
                        if control.stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return Ok(Vec::new());
                        }
                        let points = self.function_points(decoder, **i, wanted);
                        // Interrupted while it ran: its trials were cut
                        // short, so its points are not kept (nor
                        // checkpointed); the run reports itself unfinished.
                        if control.stop.load(std::sync::atomic::Ordering::Relaxed)
                            || crate::emu::interrupted()
                        {
                            return Ok(Vec::new());
                        }
                        (control.done)(**i, &points);
                        Ok(points)
                    },
                )
                .collect()
        };
        let per_function = match jobs {
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| Error::Disassembler {
                    arch: arch.name(),
                    reason: format!("thread pool: {e}"),
                })?
                .install(analyse)?,
            None => analyse()?,
        };
        Ok(per_function.into_iter().flatten().collect())
    }

    fn function_points(&self, decoder: &Decoder, index: usize, wanted: &Wanted) -> Vec<Point> {
        self.function_points_ends(decoder, index, wanted).0
    }

    /// The points of one function, and the address just after each point's
    /// instruction (one past the point when it is not on a boundary).
    fn function_points_ends(
        &self,
        decoder: &Decoder,
        index: usize,
        wanted: &Wanted,
    ) -> (Vec<Point>, Vec<u64>) {
        let function = &self.binary.functions[index];
        let facts = FunctionFacts::of(decoder, self.binary, function);
        let mut addrs: BTreeMap<u64, Option<Exit>> = BTreeMap::new();
        for &a in &wanted.points {
            addrs.insert(a, None);
        }
        if wanted.all {
            for insn in &facts.cfg.insns {
                addrs.entry(insn.address).or_insert(None);
            }
        }
        if wanted.exits {
            for i in 0..facts.cfg.insns.len() {
                if let Some(exit) = facts.cfg.exit(i) {
                    addrs.insert(facts.cfg.insns[i].address, Some(exit));
                }
            }
            // DWARF's tail-call sites (DW_AT_call_tail_call) name jumps the
            // decoder may not see leaving the function (a jump into a
            // shared epilogue of another function's range, say).
            if self.debug.is_some() {
                for insn in &facts.cfg.insns {
                    let site = self.tail_sites.has(insn.address, insn.next());
                    let jump = matches!(insn.class, crate::arch::Class::Jump { .. });
                    if site && jump {
                        addrs.entry(insn.address).or_insert(Some(Exit::TailCall {
                            target: insn.target.unwrap_or(0),
                        }));
                    }
                }
            }
        }
        let mut memo = DwarfMemo::default();
        let align = crate::arch::spec(self.binary.arch).insn_align();
        let ends: Vec<u64> = addrs
            .keys()
            .map(|&addr| {
                (addr % align == 0)
                    .then(|| facts.cfg.index_of(addr))
                    .flatten()
                    .map_or(addr.saturating_add(1), |i| facts.cfg.insns[i].next())
            })
            .collect();
        let mut points: Vec<(Point, Option<Exit>)> = addrs
            .into_iter()
            .map(|(addr, exit)| {
                let mut point = Point {
                    address: hex(addr),
                    symbol: function.name.clone(),
                    offset: addr.wrapping_sub(function.address),
                    verdict: crate::report::Verdict::Safe,
                    findings: self.findings_memo(function, &facts, addr, exit, &mut memo),
                };
                point.settle();
                (point, exit)
            })
            .collect();
        if let Some(options) = &self.dynamic {
            self.confirm_dynamically(function, &facts, &mut points, options);
        }
        let mut out: Vec<Point> = points.into_iter().map(|(p, _)| p).collect();
        let mut ends = ends;
        if !wanted.past.is_empty() {
            let (past, past_ends) = self.past_points(decoder, function, &wanted.past);
            out.extend(past);
            ends.extend(past_ends);
        }
        (out, ends)
    }

    /// The points past `function`'s ELF size that a kernel attributes to
    /// it: analysed (and emulated) as part of the function extended to
    /// [`Binary::kallsyms_end`], which is bounded by the next symbol, the
    /// section and [`crate::load::MAX_PAST_SIZE`].
    fn past_points(
        &self,
        decoder: &Decoder,
        function: &Function,
        addrs: &BTreeSet<u64>,
    ) -> (Vec<Point>, Vec<u64>) {
        let Some((end, next)) = self.binary.kallsyms_end(function) else {
            return (Vec::new(), Vec::new());
        };
        let extended = Function {
            size: end - function.address,
            ..function.clone()
        };
        let facts = FunctionFacts::of(decoder, self.binary, &extended);
        let mut points: Vec<(Point, Option<Exit>)> = addrs
            .iter()
            .filter(|&&a| a >= function.end() && a < end)
            .map(|&addr| {
                let offset = addr - function.address;
                let mut findings = self.findings(&extended, &facts, addr, None);
                findings.push(Finding::new_static(
                    FindingKind::PastSymbolSize,
                    format!(
                        "{addr:#x} is {name}+{offset:#x}, past the ELF size of {name} ({size:#x} bytes): the kernel's kallsyms gives {name} every byte up to {next} at {end:#x}, so it accepts a probe here, but the code after a function (alternative replacement sequences, out-of-line code) is not its body and may run from elsewhere or never",
                        name = function.name,
                        size = function.size,
                        next = next.as_deref().unwrap_or("the end of the section"),
                    ),
                    crate::report::evidence::PastSizeEvidence {
                        symbol: function.name.clone(),
                        size: function.size,
                        offset,
                        next_symbol: next.clone(),
                        extent_end: crate::report::evidence::Hex(end),
                    },
                ));
                let mut point = Point {
                    address: hex(addr),
                    symbol: function.name.clone(),
                    offset,
                    verdict: crate::report::Verdict::Safe,
                    findings,
                };
                point.settle();
                (point, None)
            })
            .collect();
        if let Some(options) = &self.dynamic {
            self.confirm_dynamically(&extended, &facts, &mut points, options);
        }
        let ends = points
            .iter()
            .map(|(p, _)| {
                let addr = p.address_value();
                facts
                    .cfg
                    .index_of(addr)
                    .map_or(addr.saturating_add(1), |i| facts.cfg.insns[i].next())
            })
            .collect();
        (points.into_iter().map(|(p, _)| p).collect(), ends)
    }

    /// [`Analyzer::run`] for a selection of any size: the functions are
    /// analysed in chunks (in parallel inside a chunk), and `sink` gets
    /// each chunk's points in address order with the end of each point's
    /// instruction, while the next chunk is analysed. Only two chunks are
    /// held at a time, whatever the number of points. A chunk holds whole
    /// functions and never splits overlapping ones.
    pub fn run_chunked(
        &self,
        selection: &Selection,
        jobs: Option<usize>,
        sink: &mut (dyn FnMut(Vec<Point>, Vec<u64>) -> Result<()> + Send),
    ) -> Result<()> {
        const CHUNK_POINTS: u64 = 1 << 15;
        let arch = self.binary.arch;
        let align = crate::arch::spec(arch).insn_align();
        let mut chunks: Vec<Vec<(usize, &Wanted)>> = Vec::new();
        let mut current: Vec<(usize, &Wanted)> = Vec::new();
        let (mut estimate, mut max_end) = (0u64, 0u64);
        for (&i, wanted) in &selection.by_function {
            let function = &self.binary.functions[i];
            if estimate >= CHUNK_POINTS && function.address >= max_end {
                chunks.push(std::mem::take(&mut current));
                estimate = 0;
            }
            estimate += if wanted.all {
                function.size / align.max(1) + 1
            } else {
                wanted.points.len() as u64 + 1
            };
            max_end = max_end.max(function.end());
            current.push((i, wanted));
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        let analyse_chunk = |chunk: &[(usize, &Wanted)]| -> Result<(Vec<Point>, Vec<u64>)> {
            let per_function: Vec<(Vec<Point>, Vec<u64>)> = chunk
                .par_iter()
                .with_max_len(1)
                .map_init(
                    || Decoder::new(arch),
                    |decoder, (i, wanted)| -> Result<(Vec<Point>, Vec<u64>)> {
                        let decoder = decoder.as_ref().map_err(|e| Error::Disassembler {
                            arch: arch.name(),
                            reason: e.to_string(),
                        })?;
                        Ok(self.function_points_ends(decoder, *i, wanted))
                    },
                )
                .collect::<Result<_>>()?;
            let mut pairs: Vec<(Point, u64)> = per_function
                .into_iter()
                .flat_map(|(points, ends)| points.into_iter().zip(ends))
                .collect();
            pairs.sort_by_key(|(p, _)| p.address_value());
            Ok(pairs.into_iter().unzip())
        };
        let mut drive = || -> Result<()> {
            let mut pending: Option<(Vec<Point>, Vec<u64>)> = None;
            for chunk in &chunks {
                let (written, analysed) = rayon::join(
                    || pending.take().map_or(Ok(()), |(p, e)| sink(p, e)),
                    || analyse_chunk(chunk),
                );
                written?;
                pending = Some(analysed?);
            }
            pending.map_or(Ok(()), |(p, e)| sink(p, e))
        };
        match jobs {
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| Error::Disassembler {
                    arch: arch.name(),
                    reason: format!("thread pool: {e}"),
                })?
                .install(drive),
            None => drive(),
        }
    }

    fn confirm_dynamically(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        points: &mut [(Point, Option<Exit>)],
        options: &DynamicOptions,
    ) {
        let writes = (!options.writes.is_empty() || options.all_vars)
            .then_some(self.debug.as_deref())
            .flatten();
        let handlers = !options.handlers.is_empty() || writes.is_some() || options.every_point;
        let wanted: Vec<usize> = points
            .iter()
            .enumerate()
            .filter(|(_, (p, exit))| {
                detect::wants_emulation(
                    facts,
                    facts.cfg.index_of(p.address_value()),
                    *exit,
                    handlers,
                )
            })
            .map(|(i, _)| i)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let probes: Vec<u64> = wanted
            .iter()
            .map(|&i| points[i].0.address_value())
            .collect();
        let result = with_emulator(self.binary, |emu| {
            let mut detector = Detector::new(emu, self.binary, function, facts, options, &probes)?;
            // The points outside every window share group trials.
            let (outside, inside): (Vec<usize>, Vec<usize>) = wanted.iter().partition(|&&i| {
                let (point, exit) = &points[i];
                options.group_trials && detector.outside_windows(point.address_value(), *exit)
            });
            if !outside.is_empty() {
                let mut group: Vec<&mut Point> = points
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| outside.binary_search(i).is_ok())
                    .map(|(_, (p, _))| p)
                    .collect();
                detector.confirm_outside_windows(&mut group);
            }
            for &i in &wanted {
                let (point, exit) = &mut points[i];
                let addr = point.address_value();
                if inside.binary_search(&i).is_ok() {
                    detector.confirm(point, addr, *exit);
                }
                if let Some(debug) = writes {
                    detector.check_writes(point, addr, debug, &options.writes, options.all_vars);
                }
            }
            Ok(())
        });
        if let Err(reason) = result {
            for &i in &wanted {
                let point = &mut points[i].0;
                point.findings.push(Finding {
                    kind: FindingKind::EmulationLimit,
                    confirmed: crate::report::Confirmed::Dynamic,
                    detail: format!("the emulator cannot run {}: {reason}", self.binary.arch),
                    evidence: serde_json::Map::new(),
                });
                point.settle();
            }
        }
    }

    /// Entry/return balance of the function at `entry` (see
    /// [`Detector::balance`]); needs the dynamic options.
    pub fn balance(&self, entry: u64) -> Result<Vec<detect::write::Counts>> {
        let function = self
            .binary
            .function_at(entry)
            .ok_or_else(|| Error::OutsideFunction {
                path: self.binary.path.clone(),
                address: entry,
            })?;
        let decoder = Decoder::new(self.binary.arch)?;
        let facts = FunctionFacts::of(&decoder, self.binary, function);
        let options = self.dynamic.clone().unwrap_or_default();
        let mut probes = vec![function.entry];
        probes.extend(
            facts
                .cfg
                .insns
                .iter()
                .filter(|i| matches!(i.class, crate::arch::Class::Return { .. }))
                .map(|i| i.address),
        );
        with_emulator(self.binary, |emu| {
            let mut detector =
                Detector::new(emu, self.binary, function, &facts, &options, &probes)?;
            Ok(detector.balance())
        })
        .map_err(|reason| Error::Emulation {
            arch: self.binary.arch.name(),
            reason,
        })
    }

    /// Re-run the witness of a dynamic finding with the instruction trace on.
    pub fn trace(&self, addr: u64, witness: &detect::Witness) -> Result<crate::emu::Outcome> {
        self.with_detector(addr, |detector| detector.trace(addr, witness))
    }

    /// Re-run a witness the way its finding needs (with the trace on) and
    /// say whether the finding shows again.
    pub fn replay(
        &self,
        addr: u64,
        criterion: &detect::Criterion,
        witness: &detect::Witness,
    ) -> Result<(bool, crate::emu::Outcome)> {
        self.with_detector(addr, |detector| {
            detector.check(addr, criterion, witness.start, &witness.input, true)
        })
    }

    /// A detector for the function that contains `addr`, probing `addr`.
    fn with_detector<T>(&self, addr: u64, f: impl FnOnce(&mut Detector<'_>) -> T) -> Result<T> {
        let function = self
            .binary
            .function_at(addr)
            .ok_or_else(|| Error::OutsideFunction {
                path: self.binary.path.clone(),
                address: addr,
            })?;
        let decoder = Decoder::new(self.binary.arch)?;
        let facts = FunctionFacts::of(&decoder, self.binary, function);
        let options = self.dynamic.clone().unwrap_or_default();
        with_emulator(self.binary, |emu| {
            let mut detector =
                Detector::new(emu, self.binary, function, &facts, &options, &[addr])?;
            Ok(f(&mut detector))
        })
        .map_err(|reason| Error::Emulation {
            arch: self.binary.arch.name(),
            reason,
        })
    }

    /// At a point that the blacklist does not cover: the probe machinery's
    /// findings (its call graph reaches the function) and the inline copies
    /// of blacklisted functions that contain the point.
    fn machinery_findings(&self, function: &Function, addr: u64) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(m) = self.machinery() {
            if let Some(reach) = m.reach(function.address) {
                out.push(machinery_finding(
                    function,
                    reach,
                    &m.chain(function.address),
                ));
            }
        }
        let Some(debug) = self.debug.as_deref() else {
            return out;
        };
        let listed = self.listed_names();
        if listed.is_empty() {
            return out;
        }
        for inline in debug.inline_chain(addr) {
            if !listed.contains(&*inline.name) {
                continue;
            }
            let (start, end) = inline
                .ranges
                .iter()
                .copied()
                .find(|&(s, e)| s <= addr && addr < e)
                .unwrap_or((inline.entry, inline.entry));
            out.push(Finding::new_static(
                FindingKind::BlacklistedInlineCopy,
                format!(
                    "{addr:#x} is in a copy of {} inlined into {}: the kprobe blacklist lists {} but covers only its out-of-line copy, not this one ({start:#x}-{end:#x})",
                    inline.name, function.name, inline.name
                ),
                crate::report::evidence::InlineCopyEvidence {
                    origin: inline.name.to_string(),
                    caller: function.name.clone(),
                    entry: crate::report::evidence::Hex(inline.entry),
                    start: crate::report::evidence::Hex(start),
                    end: crate::report::evidence::Hex(end),
                    call_file: inline.call_file.clone(),
                    call_line: inline.call_line,
                },
            ));
        }
        out
    }

    /// The static findings at `addr` in `function`; `exit` when the point
    /// was selected as a `.return` exit.
    pub fn findings(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        addr: u64,
        exit: Option<Exit>,
    ) -> Vec<Finding> {
        self.findings_memo(function, facts, addr, exit, &mut DwarfMemo::default())
    }

    /// [`Analyzer::findings`], with the DWARF findings of the points of one
    /// function that share their inline chain and line computed once.
    fn findings_memo(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        addr: u64,
        exit: Option<Exit>,
        memo: &mut DwarfMemo,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        if function.ifunc {
            out.push(Finding::new_static(
                FindingKind::IfuncResolver,
                format!(
                    "{} is an STT_GNU_IFUNC symbol: this code is the resolver run once at load time, not the implementation it selects",
                    function.name
                ),
                crate::report::evidence::IfuncEvidence { function: function.name.clone() },
            ));
        }
        for range in self.blacklist.lookup(addr) {
            out.push(Finding::new_static(
                FindingKind::Blacklisted,
                format!(
                    "the kprobe blacklist covers {:#x}-{:#x} ({})",
                    range.start, range.end, range.source
                ),
                crate::report::evidence::BlacklistedEvidence {
                    source: range.source.clone(),
                    start: crate::report::evidence::Hex(range.start),
                    end: crate::report::evidence::Hex(range.end),
                    symbol: range.symbol.clone(),
                },
            ));
        }
        if self.blacklist.lookup(addr).next().is_none() {
            out.extend(self.machinery_findings(function, addr));
        }
        let cfg = &facts.cfg;
        let align = crate::arch::spec(self.binary.arch).insn_align();
        let index = if addr % align != 0 {
            None
        } else {
            cfg.index_of(addr)
        };
        let Some(i) = index else {
            let containing = cfg.containing(addr);
            let data = facts.data.iter().find(|d| addr >= d.start && addr < d.end);
            let detail = match (containing, data) {
                (_, Some(d)) => format!(
                    "{addr:#x} is not an instruction: it is in the {} of {} ({:#x}-{:#x}), data that is never executed",
                    d.what, function.name, d.start, d.end
                ),
                (Some(insn), None) => format!(
                    "{addr:#x} is inside the instruction at {:#x} ({}); a breakpoint here corrupts it",
                    insn.address,
                    insn.text()
                ),
                (None, None) if addr % align != 0 => format!("{addr:#x} is not {align}-byte aligned"),
                (None, None) => format!("{addr:#x} is not the start of an instruction decoded from {}", function.name),
            };
            out.push(Finding::new_static(
                FindingKind::NotInstructionBoundary,
                detail,
                crate::report::evidence::BoundaryEvidence {
                    alignment: align,
                    instruction: containing.map(|i| crate::report::evidence::Hex(i.address)),
                    text: containing.map(Insn::text),
                },
            ));
            return out;
        };
        let insn = &cfg.insns[i];
        if insn.mnemonic == "(bad)" {
            out.push(Finding::new_static(
                FindingKind::UndecodableInstruction,
                format!("the bytes at {addr:#x} do not decode as an instruction (data in code, or an instruction unknown to the disassembler)"),
                crate::report::evidence::UndecodableEvidence { length: insn.len },
            ));
        }
        if let Some(reason) = insn.unsteppable {
            out.push(Finding::new_static(
                FindingKind::UnsteppableInstruction,
                format!(
                    "the kernel refuses to single-step `{}`: {reason}",
                    insn.text()
                ),
                crate::report::evidence::UnsteppableEvidence {
                    instruction: insn.text(),
                    reason: reason.to_owned(),
                },
            ));
        }
        if let Some(debug) = self.debug.as_deref() {
            out.extend(self.dwarf_findings(debug, function, addr, memo));
        }
        for w in facts.llsc.iter().filter(|w| w.contains(i)) {
            out.push(window_finding(cfg, w, i));
        }
        for w in facts.tm.iter().filter(|w| w.contains(i)) {
            out.push(window_finding(cfg, w, i));
        }
        match exit {
            Some(Exit::TailCall { target }) => {
                let name = self.binary.function_at(target).map(|f| f.name.clone());
                let dwarf = self
                    .debug
                    .as_ref()
                    .map(|_| self.tail_sites.has(addr, insn.next()));
                out.push(Finding::new_static(
                    FindingKind::TailCallExit,
                    format!(
                        "{} exits here by a jump to {}: the return happens there, so a return probe here sees the other function's return",
                        function.name,
                        name.clone().unwrap_or_else(|| hex(target))
                    ),
                    crate::report::evidence::TailCallEvidence { jump: crate::report::evidence::Hex(addr), target: Some(crate::report::evidence::Hex(target)), how: crate::report::evidence::TailJump::Direct { target_symbol: name, dwarf_call_site: dwarf }, dynamic: None },
                ));
            }
            Some(Exit::IndirectJump) => {
                out.push(Finding::new_static(
                    FindingKind::TailCallExit,
                    format!(
                        "{} may exit here by an indirect jump (`{}`): a tail call through a register, or a jump table",
                        function.name,
                        insn.text()
                    ),
                    crate::report::evidence::TailCallEvidence { jump: crate::report::evidence::Hex(addr), target: None, how: crate::report::evidence::TailJump::Indirect { instruction: insn.text() }, dynamic: None },
                ));
            }
            _ => {}
        }
        out
    }
}

impl Analyzer<'_> {
    /// `inlined-site` and `multiple-views` at `addr`, from DWARF.
    fn dwarf_findings(
        &self,
        debug: &DebugInfo,
        function: &Function,
        addr: u64,
        memo: &mut DwarfMemo,
    ) -> Vec<Finding> {
        let chain = debug.inline_chain(addr);
        if chain.is_empty() {
            return Vec::new();
        }
        let dwarf_caller = debug.function_at(addr);
        // Without the per-point parameter lists, the findings depend only
        // on the caller, the chain and the innermost line: the points of
        // one inline instance's line share them.
        let key = (!self.detail).then(|| {
            let innermost = chain.last().expect("not empty");
            let row = self.innermost_row(debug, innermost, addr);
            (
                dwarf_caller.map(|f| f as *const _ as usize),
                chain
                    .iter()
                    .map(|i| *i as *const _ as usize)
                    .collect::<Vec<_>>(),
                row.map(|r| (r.file, r.line)),
            )
        });
        if let Some(found) = key.as_ref().and_then(|k| memo.0.get(k)) {
            return found.clone();
        }
        let found = self.dwarf_findings_of(debug, function, addr, &chain, dwarf_caller);
        if let Some(key) = key {
            memo.0.insert(key, found.clone());
        }
        found
    }

    /// The innermost instance's own line at `addr`: several rows can share
    /// the address (the caller's line first); the inlined function's own
    /// line is the one that is not its call site's.
    fn innermost_row<'d>(
        &self,
        debug: &'d DebugInfo,
        innermost: &crate::debuginfo::Inline,
        addr: u64,
    ) -> Option<&'d crate::debuginfo::LineRow> {
        let call = (
            innermost.call_file.as_deref(),
            innermost.call_line.map(|l| l as u32),
        );
        debug
            .rows_at(addr)
            .last()
            .filter(|r| (Some(debug.file(r)), Some(r.line)) != call)
            .or_else(|| debug.row_for(addr))
    }

    fn dwarf_findings_of(
        &self,
        debug: &DebugInfo,
        function: &Function,
        addr: u64,
        chain: &[&crate::debuginfo::Inline],
        dwarf_caller: Option<&crate::debuginfo::DwarfFunction>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        let caller = dwarf_caller.map_or_else(|| function.name.clone(), |f| f.name.clone());
        let place = |file: &Option<std::sync::Arc<str>>, line: Option<u64>| match (file, line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (None, Some(l)) => format!("line {l}"),
            _ => "an unknown line".into(),
        };
        let mut views: Vec<crate::report::evidence::View> = Vec::new();
        if let Some(innermost) = chain.last() {
            let (with, without) = if self.detail {
                let vars = debug.variables_at(addr);
                let params: Vec<_> = vars
                    .iter()
                    .filter(|v| v.parameter && *v.scope == *innermost.name)
                    .collect();
                let has = |v: &&crate::debuginfo::Variable| {
                    v.locations
                        .iter()
                        .any(|l| l.kind != crate::debuginfo::LocationKind::OptimizedOut)
                };
                (
                    Some(
                        params
                            .iter()
                            .filter(|v| has(v))
                            .map(|v| v.name.clone())
                            .collect::<Vec<_>>(),
                    ),
                    Some(
                        params
                            .iter()
                            .filter(|v| !has(v))
                            .map(|v| v.name.clone())
                            .collect::<Vec<_>>(),
                    ),
                )
            } else {
                (None, None)
            };
            let chain_json: Vec<crate::report::evidence::InlineFrame> = chain
                .iter()
                .map(|i| crate::report::evidence::InlineFrame {
                    function: i.name.clone(),
                    entry: crate::report::evidence::Hex(i.entry),
                    call_file: i.call_file.clone(),
                    call_line: i.call_line,
                })
                .collect();
            out.push(Finding::new_static(
                FindingKind::InlinedSite,
                format!(
                    "inside {} inlined into {caller} (called at {}): an inline instance has no entry or return of its own",
                    innermost.name,
                    place(&chain[0].call_file, chain[0].call_line)
                ),
                crate::report::evidence::InlinedSiteEvidence {
                    caller: caller.clone(),
                    chain: chain_json,
                    params_with_location: with,
                    params_without_location: without,
                },
            ));
            // One view per function on the chain: the caller at its call
            // line, each inline at the next call line, the innermost at the
            // line table's line.
            views.push(crate::report::evidence::View {
                function: caller.as_str().into(),
                file: chain[0].call_file.clone(),
                line: chain[0].call_line,
            });
            for w in chain.windows(2) {
                views.push(crate::report::evidence::View {
                    function: w[0].name.clone(),
                    file: w[1].call_file.clone(),
                    line: w[1].call_line,
                });
            }
            let row = self.innermost_row(debug, innermost, addr);
            views.push(crate::report::evidence::View {
                function: innermost.name.clone(),
                file: row.map(|r| debug.file(r).into()),
                line: row.map(|r| u64::from(r.line)),
            });
        }
        // Several lines of one function at one address (an entry's opening
        // line and its first statement) are normal and not views of
        // different functions; only the inline chain makes them.
        if views.len() > 1 {
            let text: Vec<String> = views
                .iter()
                .map(crate::report::evidence::View::text)
                .collect();
            out.push(Finding::new_static(
                FindingKind::MultipleViews,
                format!(
                    "the address belongs to several source views at once: {}",
                    text.join("; ")
                ),
                crate::report::evidence::ViewsEvidence { views },
            ));
        }
        out
    }
}

/// The DWARF findings already made for the points of one function, by
/// caller, inline chain and line.
#[derive(Default)]
struct DwarfMemo(std::collections::HashMap<DwarfKey, Vec<Finding>>);

/// The DWARF function (by address of its entry in the table), the inline
/// chain (likewise) and the innermost line (file, line).
type DwarfKey = (Option<usize>, Vec<usize>, Option<(u32, u32)>);

fn window_finding(cfg: &Cfg, w: &Window, i: usize) -> Finding {
    let open = &cfg.insns[w.open];
    let closes: Vec<crate::report::evidence::Hex> = w
        .closes
        .iter()
        .map(|&c| crate::report::evidence::Hex(cfg.insns[c].address))
        .collect();
    let role = if i == w.open {
        "opener"
    } else if w.closes.contains(&i) {
        "closer"
    } else {
        "inside"
    };
    let first = crate::report::evidence::Hex(cfg.insns[w.members[0]].address);
    let last = crate::report::evidence::Hex(
        cfg.insns[*w.members.last().expect("a window has members")].address,
    );
    match w.kind {
        WindowKind::LlSc => Finding::new_static(
            FindingKind::LlscReservationLoss,
            format!(
                "in the LL/SC window of `{}` at {:#x}: a trap here clears the reservation, so the store-conditional at {} fails on every attempt",
                open.text(),
                open.address,
                closes.iter().map(|c| hex(c.0)).collect::<Vec<_>>().join(", ")
            ),
            crate::report::evidence::LlscEvidence {
                load_linked: Some(crate::report::evidence::Hex(open.address)),
                store_conditional: closes,
                role: match role { "opener" => crate::report::evidence::WindowRole::LoadLinked, "closer" => crate::report::evidence::WindowRole::StoreConditional, _ => crate::report::evidence::WindowRole::Inside },
                window: Some(crate::report::evidence::LlscWindow {
                    window_instructions: w.members.len(),
                    window_first: first,
                    window_last: last,
                }),
                dynamic: None,
            },
        ),
        WindowKind::Transaction => {
            let fallback = open.target.map(crate::report::evidence::Hex);
            Finding::new_static(
                FindingKind::TmAbort,
                format!(
                    "in the transaction begun by `{}` at {:#x}: a trap here aborts it on every attempt",
                    open.text(),
                    open.address
                ),
                crate::report::evidence::TmEvidence {
                    begin: crate::report::evidence::Hex(open.address),
                    role: match role { "opener" => crate::report::evidence::WindowRole::Begin, "closer" => crate::report::evidence::WindowRole::End, _ => crate::report::evidence::WindowRole::Inside },
                    window: Some(crate::report::evidence::TmWindow {
                        end: closes,
                        fallback,
                        window_instructions: w.members.len(),
                    }),
                    dynamic: None,
                },
            )
        }
    }
}

thread_local! {
    /// One emulator per worker thread, for the binary it was made for.
    static EMULATOR: std::cell::RefCell<Option<(u64, Emulator)>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with this thread's emulator for `binary`, made on first use;
/// an architecture whose self-test fails is refused.
fn with_emulator<T>(
    binary: &Binary,
    f: impl FnOnce(&mut Emulator) -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    crate::emu::selftest::arch_ok(binary.arch)
        .map_err(|e| format!("the start-up self-test failed ({e})"))?;
    EMULATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(id, _)| *id != binary.instance) {
            *slot = None;
            *slot = Some((binary.instance, Emulator::new(binary)?));
        }
        let (_, emu) = slot.as_mut().expect("just made");
        f(emu)
    })
}

/// The finding at every point of a function that the probe machinery's
/// call graph reaches.
fn machinery_finding(
    function: &Function,
    reach: &machinery::Reach,
    chain: &[machinery::Link],
) -> Finding {
    let path = chain
        .iter()
        .map(|l| l.function.as_str())
        .collect::<Vec<_>>()
        .join(" -> ");
    let evidence = crate::report::evidence::MachineryEvidence {
        phase: reach.phase.name().to_owned(),
        root: reach.root.0.clone(),
        root_source: reach.root.1.to_owned(),
        chain: chain
            .iter()
            .map(|l| crate::report::evidence::MachineryLink {
                symbol: l.function.clone(),
                site: l.site.map(crate::report::evidence::Hex),
                edge: l.edge.map(|e| e.name().to_owned()),
            })
            .collect(),
    };
    match reach.phase {
        machinery::Phase::Trap => Finding::new_static(
            FindingKind::NonProgressRecursion,
            format!(
                "the probe machinery runs {} while it handles a probe hit ({path}; {} from {}): a probe here fires before the kprobe core records the running probe or while it single-steps, so the kernel recurses without progress or stops with \"Unrecoverable kprobe detected\"",
                function.name, reach.root.0, reach.root.1
            ),
            evidence,
        ),
        machinery::Phase::Handler => Finding::new_static(
            FindingKind::MissedInHandler,
            format!(
                "{} runs inside probe handlers ({path}; {} from {}): a probe here that hits while another probe's handler runs is counted as missed and skipped, so its events are silently lost",
                function.name, reach.root.0, reach.root.1
            ),
            evidence,
        ),
    }
}
