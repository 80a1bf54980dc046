//! The analysis of a selection, function by function in parallel: the
//! static findings of each point, then the dynamic checks.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::select::Wanted;
use super::{Analyzer, ChunkControl, RunControl, Selection};
use crate::cfg::Exit;
use crate::decode::Decoder;
use crate::error::{Error, Result};
use crate::facts::FunctionFacts;
use crate::hazard::DwarfMemo;
use crate::load::Function;
use crate::report::{hex, Finding, FindingKind, Point};

impl Analyzer<'_> {
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
                    let site = self.map.tail_call_site(insn.address, insn.next());
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
                    findings: self
                        .map
                        .findings_memo(function, &facts, addr, exit, &mut memo),
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

    /// How many points each selected function is expected to give (its
    /// index, the estimate), for a progress bar: one per instruction slot
    /// when every boundary is wanted (exact on fixed-width instruction
    /// sets, a count of bytes on x86), the points asked for otherwise.
    pub fn point_estimates<'s>(
        &'s self,
        selection: &'s Selection,
    ) -> impl Iterator<Item = (usize, u64)> + 's {
        let align = crate::arch::spec(self.binary.arch).insn_align().max(1);
        selection.by_function.iter().map(move |(&i, wanted)| {
            let function = &self.binary.functions[i];
            let estimate = if wanted.all {
                function.size / align
            } else {
                wanted.points.len() as u64 + wanted.past.len() as u64 + u64::from(wanted.exits)
            };
            (i, estimate.max(1))
        })
    }

    /// [`Analyzer::run`] for a selection of any size: the functions are
    /// analysed in chunks (in parallel inside a chunk), and `sink` gets
    /// each chunk's points in address order with the end of each point's
    /// instruction, while the next chunk is analysed. Only two chunks are
    /// held at a time, whatever the number of points. A chunk holds whole
    /// functions and never splits overlapping ones. `done` is called with
    /// each function's index and points as it is finished (in no order).
    pub fn run_chunked(
        &self,
        selection: &Selection,
        jobs: Option<usize>,
        done: &(dyn Fn(usize, &[Point]) + Sync),
        sink: &mut (dyn FnMut(Vec<Point>, Vec<u64>) -> Result<()> + Send),
    ) -> Result<()> {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let control = ChunkControl {
            stop: &stop,
            prior: &|_| None,
            done: &|i, points, _| done(i, points),
        };
        self.run_chunked_with(selection, jobs, &control, sink)
            .map(|_| ())
    }

    /// [`Analyzer::run_chunked`] steered by `control`: the functions
    /// `control.prior` knows are taken from it instead of being analysed
    /// (they go to the sink in their place in address order), and once
    /// `control.stop` is set no new function is taken and no chunk is
    /// given to the sink any more. Whether every chunk went to the sink.
    pub fn run_chunked_with(
        &self,
        selection: &Selection,
        jobs: Option<usize>,
        control: &ChunkControl<'_>,
        sink: &mut (dyn FnMut(Vec<Point>, Vec<u64>) -> Result<()> + Send),
    ) -> Result<bool> {
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
        let stopped =
            || control.stop.load(std::sync::atomic::Ordering::Relaxed) || crate::emu::interrupted();
        // `None`: a chunk cut short by a stop.
        type Chunk = Option<(Vec<Point>, Vec<u64>)>;
        let analyse_chunk = |chunk: &[(usize, &Wanted)]| -> Result<Chunk> {
            let per_function: Vec<Option<(Vec<Point>, Vec<u64>)>> = chunk
                .par_iter()
                .with_max_len(1)
                .map_init(
                    || Decoder::new(arch),
                    |decoder, (i, wanted)| -> Result<Option<(Vec<Point>, Vec<u64>)>> {
                        if let Some(known) = (control.prior)(*i) {
                            return known.map(Some);
                        }
                        let decoder = decoder.as_ref().map_err(|e| Error::Disassembler {
                            arch: arch.name(),
                            reason: e.to_string(),
                        })?;
                        if stopped() {
                            return Ok(None);
                        }
                        let (points, ends) = self.function_points_ends(decoder, *i, wanted);
                        // Interrupted while it ran: its trials were cut
                        // short, so its points are not kept.
                        if stopped() {
                            return Ok(None);
                        }
                        (control.done)(*i, &points, &ends);
                        Ok(Some((points, ends)))
                    },
                )
                .collect::<Result<_>>()?;
            let Some(per_function) = per_function.into_iter().collect::<Option<Vec<_>>>() else {
                return Ok(None);
            };
            let mut pairs: Vec<(Point, u64)> = per_function
                .into_iter()
                .flat_map(|(points, ends)| points.into_iter().zip(ends))
                .collect();
            pairs.sort_by_key(|(p, _)| p.address_value());
            Ok(Some(pairs.into_iter().unzip()))
        };
        let mut drive = || -> Result<bool> {
            let mut pending: Chunk = None;
            for chunk in &chunks {
                let (written, analysed) = rayon::join(
                    || pending.take().map_or(Ok(()), |(p, e)| sink(p, e)),
                    || analyse_chunk(chunk),
                );
                written?;
                match analysed? {
                    Some(analysed) => pending = Some(analysed),
                    None => return Ok(false),
                }
            }
            pending.map_or(Ok(()), |(p, e)| sink(p, e))?;
            Ok(true)
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
}
