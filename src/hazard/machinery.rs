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
//! The roots of each phase are data, per architecture ([`roots`]), each with
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

use super::decode_function;

/// When a function runs in the handling of a probe hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before the kprobe core records the running probe, or while the probed
    /// instruction is single-stepped: a hit there cannot make progress.
    Trap,
    /// Inside the user's handler: a hit there is counted as missed.
    Handler,
}

impl Phase {
    /// The name used in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Trap => "trap",
            Phase::Handler => "handler",
        }
    }
}

/// One root of the probe machinery's call graph.
#[derive(Clone, Copy, Debug)]
pub struct Root {
    /// The function's name in the kernel.
    pub name: &'static str,
    /// The phase it runs in.
    pub phase: Phase,
    /// The kernel source file that defines it (Linux 6.1).
    pub source: &'static str,
}

const fn trap(name: &'static str, source: &'static str) -> Root {
    Root {
        name,
        phase: Phase::Trap,
        source,
    }
}

const fn handler(name: &'static str, source: &'static str) -> Root {
    Root {
        name,
        phase: Phase::Handler,
        source,
    }
}

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

/// x86_64: int3 and debug exception entries, and the kprobe core they call.
const X86_64: &[Root] = &[
    trap("exc_int3", "arch/x86/kernel/traps.c"),
    trap("do_int3", "arch/x86/kernel/traps.c"),
    trap("do_int3_user", "arch/x86/kernel/traps.c"),
    trap("poke_int3_handler", "arch/x86/kernel/alternative.c"),
    trap("exc_debug", "arch/x86/kernel/traps.c"),
    trap("exc_debug_kernel", "arch/x86/kernel/traps.c"),
    trap("kprobe_int3_handler", "arch/x86/kernel/kprobes/core.c"),
    trap("kprobe_post_process", "arch/x86/kernel/kprobes/core.c"),
    trap("setup_singlestep", "arch/x86/kernel/kprobes/core.c"),
    trap("reenter_kprobe", "arch/x86/kernel/kprobes/core.c"),
    trap(
        "kprobe_emulate_ifmodifiers",
        "arch/x86/kernel/kprobes/core.c",
    ),
    trap("kprobe_fault_handler", "arch/x86/kernel/kprobes/core.c"),
    trap("kprobe_ftrace_handler", "arch/x86/kernel/kprobes/ftrace.c"),
    handler("trampoline_handler", "arch/x86/kernel/kprobes/core.c"),
];

/// arm64: the debug-exception entry, the BRK and step hooks, and the
/// kprobe handlers registered on them.
const AARCH64: &[Root] = &[
    trap("el1_dbg", "arch/arm64/kernel/entry-common.c"),
    trap("do_debug_exception", "arch/arm64/mm/fault.c"),
    trap("brk_handler", "arch/arm64/kernel/debug-monitors.c"),
    trap("single_step_handler", "arch/arm64/kernel/debug-monitors.c"),
    trap("call_break_hook", "arch/arm64/kernel/debug-monitors.c"),
    trap("call_step_hook", "arch/arm64/kernel/debug-monitors.c"),
    trap(
        "kprobe_breakpoint_handler",
        "arch/arm64/kernel/probes/kprobes.c",
    ),
    trap(
        "kprobe_breakpoint_ss_handler",
        "arch/arm64/kernel/probes/kprobes.c",
    ),
    trap("kprobe_handler", "arch/arm64/kernel/probes/kprobes.c"),
    trap("post_kprobe_handler", "arch/arm64/kernel/probes/kprobes.c"),
    trap("setup_singlestep", "arch/arm64/kernel/probes/kprobes.c"),
    trap("reenter_kprobe", "arch/arm64/kernel/probes/kprobes.c"),
    trap("kprobe_fault_handler", "arch/arm64/kernel/probes/kprobes.c"),
    handler(
        "trampoline_probe_handler",
        "arch/arm64/kernel/probes/kprobes.c",
    ),
];

/// powerpc: the program-check and single-step exceptions and the kprobe
/// handlers they call (the probed instruction is often emulated).
const POWERPC: &[Root] = &[
    trap("program_check_exception", "arch/powerpc/kernel/traps.c"),
    trap("single_step_exception", "arch/powerpc/kernel/traps.c"),
    trap("kprobe_handler", "arch/powerpc/kernel/kprobes.c"),
    trap("kprobe_post_handler", "arch/powerpc/kernel/kprobes.c"),
    trap("try_to_emulate", "arch/powerpc/kernel/kprobes.c"),
    trap("kprobe_fault_handler", "arch/powerpc/kernel/kprobes.c"),
    trap(
        "kprobe_ftrace_handler",
        "arch/powerpc/kernel/kprobes-ftrace.c",
    ),
    handler("trampoline_probe_handler", "arch/powerpc/kernel/kprobes.c"),
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
    let own: &'static [Root] = match arch {
        Arch::X86_64 => X86_64,
        Arch::Aarch64 => AARCH64,
        Arch::Ppc64 | Arch::Ppc64le => POWERPC,
    };
    own.iter().chain(COMMON)
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
        blacklist: &super::Blacklist,
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
    blacklist: &super::Blacklist,
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
