//! The static hazard map: for each point, what the decoded code, its control
//! flow and the kernel's tables say about a probe there.
//!
//! An [`Analyzer`] resolves point specs against a binary into a
//! [`Selection`], then analyses each selected function once (in parallel):
//! decode, control-flow graph, LL/SC and transaction windows, and the
//! findings at every selected address.

pub mod blacklist;
pub mod windows;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde_json::{json, Value};

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
    detail: bool,
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
            detail: false,
        }
    }

    /// Use DWARF: source-level point specs, inline sites, tail-call sites.
    pub fn with_debug_info(mut self, debug: Option<std::sync::Arc<DebugInfo>>) -> Analyzer<'b> {
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
                            return Err(Error::OffsetPastEnd {
                                path: self.binary.path.clone(),
                                spec: spec.to_string(),
                                offset: *o,
                                function: f.name.clone(),
                                size: f.size,
                            })
                        }
                    };
                    add(addr)?;
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

    /// Select one address, in the function that contains it.
    fn add_point(&self, selection: &mut Selection, addr: u64) -> Result<()> {
        let i = self.function_index_at(addr)?;
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
            if let Some(debug) = self.debug.as_deref() {
                for insn in &facts.cfg.insns {
                    let site = debug
                        .tail_calls
                        .iter()
                        .any(|t| t.pc == Some(insn.address) || t.return_pc == Some(insn.next()));
                    let jump = matches!(insn.class, crate::arch::Class::Jump { .. });
                    if site && jump {
                        addrs.entry(insn.address).or_insert(Some(Exit::TailCall {
                            target: insn.target.unwrap_or(0),
                        }));
                    }
                }
            }
        }
        let mut points: Vec<(Point, Option<Exit>)> = addrs
            .into_iter()
            .map(|(addr, exit)| {
                let mut point = Point {
                    address: hex(addr),
                    symbol: function.name.clone(),
                    offset: addr.wrapping_sub(function.address),
                    verdict: crate::report::Verdict::Safe,
                    findings: self.findings(function, &facts, addr, exit),
                };
                point.settle();
                (point, exit)
            })
            .collect();
        if let Some(options) = &self.dynamic {
            self.confirm_dynamically(function, &facts, &mut points, options);
        }
        points.into_iter().map(|(p, _)| p).collect()
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

    /// The static findings at `addr` in `function`; `exit` when the point
    /// was selected as a `.return` exit.
    pub fn findings(
        &self,
        function: &Function,
        facts: &FunctionFacts,
        addr: u64,
        exit: Option<Exit>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        if function.ifunc {
            out.push(Finding::new_static(
                FindingKind::IfuncResolver,
                format!(
                    "{} is an STT_GNU_IFUNC symbol: this code is the resolver run once at load time, not the implementation it selects",
                    function.name
                ),
                json!({ "function": function.name }),
            ));
        }
        for range in self.blacklist.lookup(addr) {
            out.push(Finding::new_static(
                FindingKind::Blacklisted,
                format!(
                    "the kprobe blacklist covers {:#x}-{:#x} ({})",
                    range.start, range.end, range.source
                ),
                json!({
                    "source": range.source,
                    "start": hex(range.start),
                    "end": hex(range.end),
                    "symbol": range.symbol,
                }),
            ));
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
                json!({
                    "alignment": align,
                    "instruction": containing.map(|i| hex(i.address)),
                    "text": containing.map(Insn::text),
                }),
            ));
            return out;
        };
        let insn = &cfg.insns[i];
        if insn.mnemonic == "(bad)" {
            out.push(Finding::new_static(
                FindingKind::UndecodableInstruction,
                format!("the bytes at {addr:#x} do not decode as an instruction (data in code, or an instruction unknown to the disassembler)"),
                json!({ "length": insn.len }),
            ));
        }
        if let Some(reason) = insn.unsteppable {
            out.push(Finding::new_static(
                FindingKind::UnsteppableInstruction,
                format!(
                    "the kernel refuses to single-step `{}`: {reason}",
                    insn.text()
                ),
                json!({ "instruction": insn.text(), "reason": reason }),
            ));
        }
        if let Some(debug) = self.debug.as_deref() {
            out.extend(self.dwarf_findings(debug, function, addr));
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
                let dwarf = self.debug.as_deref().map(|d| {
                    d.tail_calls
                        .iter()
                        .any(|t| t.pc == Some(addr) || t.return_pc == Some(insn.next()))
                });
                out.push(Finding::new_static(
                    FindingKind::TailCallExit,
                    format!(
                        "{} exits here by a jump to {}: the return happens there, so a return probe here sees the other function's return",
                        function.name,
                        name.clone().unwrap_or_else(|| hex(target))
                    ),
                    json!({ "jump": hex(addr), "target": hex(target), "target_symbol": name, "dwarf_call_site": dwarf }),
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
                    json!({ "jump": hex(addr), "target": null, "instruction": insn.text() }),
                ));
            }
            _ => {}
        }
        out
    }
}

impl Analyzer<'_> {
    /// `inlined-site` and `multiple-views` at `addr`, from DWARF.
    fn dwarf_findings(&self, debug: &DebugInfo, function: &Function, addr: u64) -> Vec<Finding> {
        let mut out = Vec::new();
        let chain = debug.inline_chain(addr);
        let caller = debug
            .function_at(addr)
            .map_or_else(|| function.name.clone(), |f| f.name.clone());
        let place = |file: &Option<std::sync::Arc<str>>, line: Option<u64>| match (file, line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (None, Some(l)) => format!("line {l}"),
            _ => "an unknown line".into(),
        };
        let mut views: Vec<Value> = Vec::new();
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
            let chain_json: Vec<Value> = chain
                .iter()
                .map(|i| json!({ "function": i.name, "entry": hex(i.entry), "call_file": i.call_file, "call_line": i.call_line }))
                .collect();
            out.push(Finding::new_static(
                FindingKind::InlinedSite,
                format!(
                    "{addr:#x} is inside {} inlined into {caller} (called at {}): an inline instance has no entry or return of its own",
                    innermost.name,
                    place(&chain[0].call_file, chain[0].call_line)
                ),
                json!({
                    "caller": caller,
                    "chain": chain_json,
                    "params_with_location": with,
                    "params_without_location": without,
                }),
            ));
            // One view per function on the chain: the caller at its call
            // line, each inline at the next call line, the innermost at the
            // line table's line.
            views.push(json!({ "function": caller, "file": chain[0].call_file, "line": chain[0].call_line }));
            for w in chain.windows(2) {
                views.push(json!({ "function": w[0].name, "file": w[1].call_file, "line": w[1].call_line }));
            }
            // Several rows can share the address (the caller's line first);
            // the inlined function's own line is the one that is not its
            // call site's.
            let call = (
                innermost.call_file.as_deref(),
                innermost.call_line.map(|l| l as u32),
            );
            let row = debug
                .rows_at(addr)
                .last()
                .filter(|r| (Some(debug.file(r)), Some(r.line)) != call)
                .or_else(|| debug.row_for(addr));
            views.push(json!({
                "function": innermost.name,
                "file": row.map(|r| debug.file(r)),
                "line": row.map(|r| r.line),
            }));
        }
        // Several lines of one function at one address (an entry's opening
        // line and its first statement) are normal and not views of
        // different functions; only the inline chain makes them.
        if views.len() > 1 {
            let text: Vec<String> = views
                .iter()
                .map(|v| {
                    format!(
                        "{} {}:{}",
                        v["function"].as_str().unwrap_or("?"),
                        v["file"].as_str().unwrap_or("?"),
                        v["line"]
                    )
                })
                .collect();
            out.push(Finding::new_static(
                FindingKind::MultipleViews,
                format!(
                    "{addr:#x} belongs to several source views at once: {}",
                    text.join("; ")
                ),
                json!({ "views": views }),
            ));
        }
        out
    }
}

fn window_finding(cfg: &Cfg, w: &Window, i: usize) -> Finding {
    let open = &cfg.insns[w.open];
    let closes: Vec<String> = w
        .closes
        .iter()
        .map(|&c| hex(cfg.insns[c].address))
        .collect();
    let role = if i == w.open {
        "opener"
    } else if w.closes.contains(&i) {
        "closer"
    } else {
        "inside"
    };
    let first = hex(cfg.insns[w.members[0]].address);
    let last = hex(cfg.insns[*w.members.last().expect("a window has members")].address);
    match w.kind {
        WindowKind::LlSc => Finding::new_static(
            FindingKind::LlscReservationLoss,
            format!(
                "in the LL/SC window of `{}` at {:#x}: a trap here clears the reservation, so the store-conditional at {} fails on every attempt",
                open.text(),
                open.address,
                closes.join(", ")
            ),
            json!({
                "load_linked": hex(open.address),
                "store_conditional": closes,
                "role": match role { "opener" => "load-linked", "closer" => "store-conditional", r => r },
                "window_instructions": w.members.len(),
                "window_first": first,
                "window_last": last,
            }),
        ),
        WindowKind::Transaction => {
            let fallback = open.target.map(hex);
            Finding::new_static(
                FindingKind::TmAbort,
                format!(
                    "in the transaction begun by `{}` at {:#x}: a trap here aborts it on every attempt",
                    open.text(),
                    open.address
                ),
                json!({
                    "begin": hex(open.address),
                    "end": closes,
                    "role": match role { "opener" => "begin", "closer" => "end", r => r },
                    "fallback": fallback,
                    "window_instructions": w.members.len(),
                }),
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
