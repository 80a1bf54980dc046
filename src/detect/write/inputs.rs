//! The inputs of a point's write checks, the writes that reach a
//! variable's locations, the written runs and their observable effects.

use super::{ended_on_its_own, Drawn, Effects, Trial, DRAW_FACTOR};
use crate::debuginfo::location::{Address, FrameBase, Place};
use crate::debuginfo::DebugInfo;
use crate::detect::Detector;
use crate::emu::write::{Target, WriteOp};
use crate::emu::{Exit, Input, Outcome, ProbeMode};

impl Detector<'_> {
    /// The inputs of a point's write checks with their unperturbed runs:
    /// bounded inputs ([`Input::generate_bounded`]) drawn until `--cases`
    /// of them reached the point and returned, at most four times as many. An input whose run the budget or
    /// the clock cut is dropped: what a write changes is told only by two
    /// complete runs.
    pub(super) fn draw_complete_inputs(&mut self, addr: u64, debug: &DebugInfo) -> Drawn {
        let arch = self.binary.arch;
        let cases = self.options.cases.max(1);
        let mut drawn = Drawn {
            drawn: 0,
            trials: Vec::new(),
        };
        let mut reaching = 0;
        for case in 0..cases.saturating_mul(DRAW_FACTOR) {
            if reaching >= cases {
                break;
            }
            drawn.drawn += 1;
            if self.write_cut.contains(&case) {
                continue;
            }
            let input = Input::generate_bounded(arch, self.options.seed, case);
            let out = self.run_write(self.function.address, addr, ProbeMode::Count, &input, &[]);
            if out.exit == Exit::Budget {
                self.write_cut.insert(case);
            }
            if ended_on_its_own(&out.exit) {
                // A run that faults (a small number used as a pointer) is
                // compared too, but tells less: it does not count.
                reaching += u64::from(out.reached > 0 && out.exit == Exit::Returned);
                let effects = self.effects(&out, debug);
                drawn.trials.push(Trial {
                    case,
                    input,
                    effects,
                    hits: out.reached,
                    executed: out.executed,
                });
            }
        }
        drawn
    }

    /// The writes that reach `place` at `addr`.
    pub(super) fn ops_for(
        &self,
        place: &Place,
        frame_base: Option<FrameBase>,
        addr: u64,
        (size, total): (u8, u64),
        value: Option<u64>,
    ) -> Option<Vec<WriteOp>> {
        let arch = self.binary.arch;
        let op = |target| WriteOp { target, value };
        Some(match place {
            Place::Register(n) => {
                crate::emu::abi::dwarf_reg(arch, *n)?;
                vec![op(Target::Register(*n))]
            }
            Place::Memory(a) => {
                // A variable wider than a word (a struct in memory): each
                // word of it; an explicit VALUE goes to the first.
                let words = total.div_ceil(8).clamp(1, 8);
                let mut out = Vec::new();
                for k in 0..words {
                    let a = match *a {
                        Address::Register(r, o) => Address::Register(r, o + 8 * k as i64),
                        Address::FrameBase(o) => Address::FrameBase(o + 8 * k as i64),
                        Address::Absolute(x) => Address::Absolute(x + 8 * k),
                    };
                    let s = if words == 1 { size } else { 8 };
                    let t = self.memory_target(a, frame_base, addr, s)?;
                    out.push(WriteOp {
                        target: t,
                        value: if k == 0 { value } else { None },
                    });
                }
                out
            }
            Place::Pieces(pieces) => {
                let mut out = Vec::new();
                let mut offset = 0i64;
                for (p, bytes) in pieces {
                    let piece_size = (*bytes).clamp(1, 8) as u8;
                    match p {
                        Some(Place::Register(n))
                            if crate::emu::abi::dwarf_reg(arch, *n).is_some() =>
                        {
                            out.push(op(Target::Register(*n)))
                        }
                        Some(Place::Memory(a)) => {
                            if let Some(t) = self.memory_target(*a, frame_base, addr, piece_size) {
                                out.push(op(t));
                            }
                        }
                        _ => {}
                    }
                    offset += *bytes as i64;
                }
                let _ = offset;
                out
            }
        })
    }

    fn memory_target(
        &self,
        address: Address,
        frame_base: Option<FrameBase>,
        addr: u64,
        size: u8,
    ) -> Option<Target> {
        Some(match address {
            Address::Register(base, offset) => Target::RegisterMemory { base, offset, size },
            Address::Absolute(address) => Target::Memory { address, size },
            Address::FrameBase(offset) => match frame_base? {
                FrameBase::Register(base, o) => Target::RegisterMemory {
                    base,
                    offset: o.wrapping_add(offset),
                    size,
                },
                FrameBase::Cfa => {
                    let (base, o) = crate::load::cfa_rule(self.binary, addr)?;
                    Target::RegisterMemory {
                        base,
                        offset: o.wrapping_add(offset),
                        size,
                    }
                }
            },
        })
    }

    /// The written run of one input. It may hit the point at most four
    /// times as often as the unwritten run did (plus 16), and execute at
    /// most eight times its instructions (plus 10,000, within `--budget`):
    /// a write that keeps a loop going is cut there (and not compared), as
    /// the budget would cut it later, without running on until then.
    pub(super) fn run_written(&mut self, addr: u64, trial: &Trial, ops: &[WriteOp]) -> Outcome {
        let limit = trial
            .hits
            .saturating_mul(4)
            .saturating_add(16)
            .min(u64::from(crate::emu::run::MAX_HITS));
        let budget = trial
            .executed
            .saturating_mul(8)
            .saturating_add(10_000)
            .min(self.options.budget);
        self.emu.set_hit_limit(limit as u32);
        let out = self.run_write_within(
            self.function.address,
            addr,
            ProbeMode::Write,
            &trial.input,
            ops,
            budget,
        );
        self.emu.set_hit_limit(crate::emu::run::MAX_HITS);
        out
    }

    pub(super) fn run_write(
        &mut self,
        start: u64,
        addr: u64,
        mode: ProbeMode,
        input: &Input,
        writes: &[WriteOp],
    ) -> Outcome {
        let budget = self.options.budget;
        self.run_write_within(start, addr, mode, input, writes, budget)
    }

    fn run_write_within(
        &mut self,
        start: u64,
        addr: u64,
        mode: ProbeMode,
        input: &Input,
        writes: &[WriteOp],
        budget: u64,
    ) -> Outcome {
        let trial = crate::emu::Trial {
            start,
            toc: self.toc(),
            probe: Some(addr),
            mode,
            budget,
            timeout: self.options.timeout,
            writes,
            observe: true,
            ..crate::emu::Trial::new(self.function.address, input)
        };
        self.emu.run(&trial)
    }

    /// The observable effects of a run: calls keep only the arguments their
    /// call site passes when DWARF says how many.
    pub(crate) fn effects(&self, out: &Outcome, debug: &DebugInfo) -> Effects {
        let calls = out
            .calls
            .iter()
            .map(|c| {
                let next = self
                    .facts
                    .cfg
                    .index_of(c.at)
                    .map(|i| self.facts.cfg.insns[i].next());
                // POWER's DW_AT_call_return_pc is after the TOC restore.
                let arity = next
                    .and_then(|n| {
                        debug.call_arity(n).or_else(|| {
                            self.binary
                                .arch
                                .is_ppc()
                                .then(|| debug.call_arity(n + 4))
                                .flatten()
                        })
                    })
                    .unwrap_or(4)
                    .min(4);
                (c.at, c.target, c.args[..arity].to_vec())
            })
            .collect();
        Effects {
            ended: out.exit.describe(),
            ret: out.return_value,
            stores: out.stores.iter().copied().collect(),
            calls,
        }
    }
}
