//! The probe machinery's own code: which functions of a kernel run while a
//! kprobe is being handled, found by the call graph of the image.
//!
//! A probe on a function that the trap path itself calls fires inside the
//! handling of another probe. What happens then depends on the phase the
//! kernel is in (arch `kprobe_handler` / `reenter_kprobe`):
//!
//! - [`Phase::Trap`]: the exception entry, the handler lookup, the
//!   single-step of the probed instruction. A hit there recurses before the
//!   kprobe core has recorded the running probe, or while it single-steps
//!   (`KPROBE_HIT_SS`): the kernel loops or stops with "Unrecoverable kprobe
//!   detected". Reported as `non-progress-recursion`.
//! - [`Phase::Handler`]: code that runs inside the user's handler (trace
//!   events, BPF). A hit there is counted as missed and skipped: the probe
//!   silently loses events. Reported as `missed-in-handler`.
//!
//! The roots of each phase are data, per architecture ([`roots`], from the
//! architecture's table: [`crate::arch::ArchSpec::kprobe_roots`]), each with
//! the kernel source file it comes from. The graph follows direct calls and
//! tail-call jumps (a linker stub or veneer is a function that jumps on, so
//! it is followed too); an indirect call is an edge to an unknown target,
//! counted with its site. The kernel's blacklist guards only the listed
//! function itself, not what it calls, so the walk goes through listed
//! functions and reports the unlisted ones it reaches.

use std::collections::{HashMap, VecDeque};

use crate::arch::{Arch, Class};
use crate::decode::Decoder;
use crate::load::Binary;

use crate::facts::decode_function;

mod summary;

pub use summary::{listed_names, render_text, InlineCopy, RootFound, Summary, Unlisted};

use crate::arch::kprobes::{handler, trap};
pub use crate::arch::kprobes::{Phase, Root};

/// Roots every architecture shares: the kprobe core's lookup, and the
/// functions that run user handlers (entered through an indirect call, so
/// the graph cannot reach them from the trap path by itself).
const COMMON: &[Root] = &[
    trap("get_kprobe", "kernel/kprobes.c"),
    handler("aggr_pre_handler", "kernel/kprobes.c"),
    handler("aggr_post_handler", "kernel/kprobes.c"),
    handler("pre_handler_kretprobe", "kernel/kprobes.c"),
    handler("__kretprobe_trampoline_handler", "kernel/kprobes.c"),
    handler("kprobe_dispatcher", "kernel/trace/trace_kprobe.c"),
    handler("kretprobe_dispatcher", "kernel/trace/trace_kprobe.c"),
    handler("kprobe_trace_func", "kernel/trace/trace_kprobe.c"),
    handler("kprobe_perf_func", "kernel/trace/trace_kprobe.c"),
    handler("trace_call_bpf", "kernel/trace/bpf_trace.c"),
];

/// Functions the walk does not enter: they run on the trap path only when
/// the kernel is already failing (an unhandled exception, the
/// "Unrecoverable kprobe" report, an oops), or only for a trap taken in user
/// mode. A probe there does not stop a probe from being handled; following
/// them would put half the kernel (`do_exit`, the page allocator, the VFS)
/// in the closure.
const STOPS: &[(&str, &str)] = &[
    (
        "arm64_notify_die",
        "the unhandled-exception path (arch/arm64/kernel/traps.c)",
    ),
    ("die", "oops"),
    ("__die", "oops"),
    ("panic", "panic"),
    ("make_task_dead", "oops: the task is killed"),
    ("do_exit", "oops: the task is killed"),
    (
        "dump_kprobe",
        "printed just before BUG() on an unrecoverable re-entry",
    ),
    (
        "_printk",
        "printed on an unhandled exception; the kprobe path never prints",
    ),
    (
        "printk",
        "printed on an unhandled exception; the kprobe path never prints",
    ),
    ("__warn_printk", "WARN()"),
    ("__warn", "WARN()"),
    ("warn_slowpath_fmt", "WARN()"),
    ("report_bug", "BUG()/WARN()"),
    ("dump_stack", "diagnostics"),
    ("dump_stack_lvl", "diagnostics"),
    ("show_regs", "diagnostics"),
    ("__show_regs", "diagnostics"),
    ("bust_spinlocks", "oops"),
    (
        "send_user_sigtrap",
        "a breakpoint taken in user mode (ptrace)",
    ),
    (
        "user_rewind_single_step",
        "a single step taken in user mode",
    ),
    ("do_int3_user", "an int3 taken in user mode"),
    ("force_sig_fault", "a signal to a user task"),
    ("arm64_force_sig_fault", "a signal to a user task"),
    ("_exception", "a signal to a user task (powerpc)"),
    (
        "schedule",
        "probe handling runs with preemption disabled: it never schedules",
    ),
    (
        "__schedule",
        "probe handling runs with preemption disabled: it never schedules",
    ),
    (
        "__cond_resched",
        "probe handling runs with preemption disabled: it never schedules",
    ),
    (
        "preempt_schedule",
        "probe handling runs with preemption disabled: it never schedules",
    ),
    (
        "preempt_schedule_common",
        "probe handling runs with preemption disabled: it never schedules",
    ),
    (
        "preempt_schedule_notrace",
        "probe handling runs with preemption disabled: it never schedules",
    ),
];

/// Why the walk does not enter a function of this name, if it does not.
pub fn stop_reason(name: &str) -> Option<&'static str> {
    STOPS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// The roots of the probe machinery of `arch`: the architecture's own,
/// then those every architecture shares.
pub fn roots(arch: Arch) -> impl Iterator<Item = &'static Root> {
    crate::arch::spec(arch).kprobe_roots().iter().chain(COMMON)
}

/// How a function was reached.
#[derive(Clone, Debug)]
pub struct Reach {
    /// The phase it runs in (the trap phase wins when both reach it).
    pub phase: Phase,
    /// The caller's function address and the site, `None` for a root.
    pub parent: Option<(u64, u64, Edge)>,
    /// The root name it was reached from, and where that name comes from.
    pub root: (String, &'static str),
}

/// An edge of the call graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// A direct call.
    Call,
    /// A direct jump into another function (a tail call, a stub).
    TailCall,
}

impl Edge {
    /// The name used in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Edge::Call => "call",
            Edge::TailCall => "tail-call",
        }
    }
}

/// One step of a chain from a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The function.
    pub function: String,
    /// Where it is entered from the previous link (none for the root).
    pub site: Option<u64>,
    /// How.
    pub edge: Option<Edge>,
}

/// The machinery's closure over one image.
#[derive(Debug, Default)]
pub struct Machinery {
    reached: HashMap<u64, Reach>,
    names: HashMap<u64, String>,
    /// Roots found in the image: name, phase, source.
    pub roots_found: Vec<(String, Phase, &'static str)>,
    /// Indirect call sites in reached functions (targets unknown).
    pub unknown_edges: Vec<u64>,
    /// Edges into failure or user-mode paths that the walk did not follow.
    pub cut: usize,
}

/// Whether the probe machinery analysis applies: a linked kernel image
/// ([`Binary::is_kernel_image`]); a module or a shared object has no trap path.
pub fn applies(binary: &Binary) -> bool {
    binary.is_kernel_image()
}

impl Machinery {
    /// Walk the call graph of `binary` from its roots: those of the
    /// architecture, plus `extra` (the user's `--handler` functions), taken
    /// as trap-phase roots.
    pub fn build(binary: &Binary, extra: &[String]) -> Machinery {
        let mut out = Machinery::default();
        let Ok(decoder) = Decoder::new(binary.arch) else {
            return out;
        };
        let named: Vec<(String, Phase, &'static str)> = roots(binary.arch)
            .map(|r| (r.name.to_owned(), r.phase, r.source))
            .chain(extra.iter().map(|n| (n.clone(), Phase::Trap, "--handler")))
            .collect();
        // The trap phase first, so that a function both phases reach is
        // attributed to the trap phase.
        let mut queue: VecDeque<u64> = VecDeque::new();
        for phase in [Phase::Trap, Phase::Handler] {
            for (name, _, source) in named.iter().filter(|(_, p, _)| *p == phase) {
                for f in binary.functions.iter().filter(|f| f.has_name(name)) {
                    if out.reached.contains_key(&f.address) {
                        continue;
                    }
                    out.roots_found.push((name.clone(), phase, source));
                    out.reached.insert(
                        f.address,
                        Reach {
                            phase,
                            parent: None,
                            root: (name.clone(), source),
                        },
                    );
                    out.names.insert(f.address, f.name.clone());
                    queue.push_back(f.address);
                }
            }
            while let Some(at) = queue.pop_front() {
                out.visit(binary, &decoder, at, &mut queue);
            }
        }
        out.unknown_edges.sort_unstable();
        out
    }

    /// Add the callees of the function at `at` that are not reached yet.
    fn visit(&mut self, binary: &Binary, decoder: &Decoder, at: u64, queue: &mut VecDeque<u64>) {
        let Some(function) = binary.function_at(at) else {
            return;
        };
        let reach = self.reached[&at].clone();
        for insn in decode_function(decoder, binary, function) {
            let edge = match insn.class {
                Class::Call {
                    indirect: false, ..
                } => Edge::Call,
                Class::Call { indirect: true, .. } => {
                    self.unknown_edges.push(insn.address);
                    continue;
                }
                Class::Jump {
                    indirect: false, ..
                } => match insn.target {
                    Some(t) if !function.contains(t) => Edge::TailCall,
                    _ => continue,
                },
                _ => continue,
            };
            let Some(target) = insn.target else { continue };
            let target = binary.deref_descriptor(target).unwrap_or(target);
            let Some(callee) = binary.function_at(target) else {
                continue;
            };
            if self.reached.contains_key(&callee.address) {
                continue;
            }
            if callee.names().any(|n| stop_reason(n).is_some()) {
                self.cut += 1;
                continue;
            }
            self.reached.insert(
                callee.address,
                Reach {
                    phase: reach.phase,
                    parent: Some((at, insn.address, edge)),
                    root: reach.root.clone(),
                },
            );
            self.names.insert(callee.address, callee.name.clone());
            queue.push_back(callee.address);
        }
    }

    /// How the function that starts at `address` is reached, if it is.
    pub fn reach(&self, address: u64) -> Option<&Reach> {
        self.reached.get(&address)
    }

    /// Every reached function: its start address and how it is reached.
    pub fn reached(&self) -> impl Iterator<Item = (u64, &Reach)> {
        self.reached.iter().map(|(&a, r)| (a, r))
    }

    /// The number of functions reached in `phase`.
    pub fn count(&self, phase: Phase) -> usize {
        self.reached.values().filter(|r| r.phase == phase).count()
    }

    /// The chain of calls from the root to the function at `address`: each
    /// link names a function and the site in the previous link that enters it.
    pub fn chain(&self, address: u64) -> Vec<Link> {
        let mut links = Vec::new();
        let mut at = address;
        while let Some(reach) = self.reached.get(&at) {
            links.push(Link {
                function: self.names.get(&at).cloned().unwrap_or_default(),
                site: reach.parent.map(|(_, site, _)| site),
                edge: reach.parent.map(|(_, _, edge)| edge),
            });
            match reach.parent {
                Some((parent, _, _)) if links.len() < 4096 => at = parent,
                _ => break,
            }
        }
        links.reverse();
        links
    }
}
