//! SARIF 2.1.0: one rule per finding kind, one result per finding, the
//! verdict as the level (hazardous: `error`, gray: `warning`, unknown:
//! `note`), located at the source line when DWARF has one and at the binary
//! and address otherwise.

use serde_json::{json, Value};

use super::{FindingKind, Report, Verdict, ALL_KINDS};

/// A source place for an address: (file, line).
pub type LineLookup<'a> = &'a dyn Fn(u64) -> Option<(String, u64)>;

/// Short description, full description and what to do, per kind.
fn texts(kind: FindingKind) -> (&'static str, &'static str, &'static str) {
    use FindingKind::*;
    match kind {
        LlscReservationLoss => (
            "Probe inside a load-linked/store-conditional window",
            "A trap between a load-linked and its store-conditional clears the reservation, so the store-conditional fails on every retry and the loop never progresses.",
            "Move the probe before the load-linked or after the store-conditional's loop, or use a tracepoint; on arm64 build with LSE atomics.",
        ),
        TmAbort => (
            "Probe inside a hardware transaction",
            "A trap inside a hardware transaction (xbegin/tstart/tbegin.) aborts it on every attempt, so only the fallback path ever runs.",
            "Move the probe outside the transaction, before its begin or after its end.",
        ),
        NonProgressRecursion => (
            "The probe machinery runs through this point",
            "The probe handler (emulated with --handler), or the kernel's own trap path (its call graph from the breakpoint and single-step handlers), reaches the point while a probe is being handled: the probe fires inside its own handling and the kernel cannot make progress.",
            "Do not probe here; the kernel should mark the function NOKPROBE_SYMBOL or nokprobe_inline.",
        ),
        MissedInHandler => (
            "Probe handlers run through this point",
            "Functions that run inside probe handlers (trace events, BPF) reach the point: a hit while another probe's handler runs is counted as missed and skipped, so events are silently lost.",
            "Expect missed hits (kprobe nmissed) while other probes are active, or probe elsewhere.",
        ),
        BlacklistedInlineCopy => (
            "Inlined copy of a blacklisted function",
            "The point is in a copy of a NOKPROBE/blacklisted function that the compiler inlined into a function the blacklist does not cover: the kernel accepts the probe although the function's author forbade it.",
            "Do not probe here; the kernel should mark the helper nokprobe_inline or the caller NOKPROBE_SYMBOL.",
        ),
        IneffectiveWrite => (
            "Writing the variable changes nothing",
            "Writing the variable at its debug location at this point changed nothing a caller observes for any input that reaches it (or less than the same write in the reference build).",
            "Write the variable where its location is still read (see also_in for the register that really holds it), or patch the code that reads it.",
        ),
        PartialWrite => (
            "Writing one of the variable's places is not writing the variable",
            "The variable is in several places at this point; writing one of them does not do what writing all of them does.",
            "Write every location the debug information gives at this point.",
        ),
        UnwritableLocation => (
            "The variable has no place to write here",
            "At this point the variable is a computed value, a constant, an entry value or optimised out: there is nothing to write.",
            "Patch at a point where the variable has a register or memory location (probesafe vars), or build the function with less optimisation.",
        ),
        OverbroadWrite => (
            "Writing the variable changes more than the source says",
            "The variable's location also feeds other expressions (a shared common subexpression): the write changes effects that the same write in the reference build does not.",
            "Write at a point where the location holds only this variable, or patch the expression instead.",
        ),
        EntryReturnImbalance => (
            "Entry and return probes do not balance",
            "Entries and returns of the function differ for one call, or differ from the reference build's: a tail-call exit, or recursion turned into a loop.",
            "Do not pair .call and .return counts for this function; probe the loop or the tail-called function.",
        ),
        EffectiveWrite => (
            "Writing the variable takes effect",
            "The write changes what a caller observes; the witness input shows it.",
            "Nothing to do: the write works at this point.",
        ),
        TailCallExit => (
            "Function exits by a tail call",
            "The function leaves here by a jump into another function, so a return probe sees the other function's return.",
            "Probe the return of the function jumped to as well, or use an entry probe.",
        ),
        InlinedSite => (
            "Point inside an inlined function",
            "The address is inside an inline instance, which has no entry or return of its own; a probe there sees the caller's frame.",
            "Probe the out-of-line copies and each inline instance's entry, or the caller.",
        ),
        MultipleViews => (
            "Address belongs to several source views",
            "The address is a line of several functions at once (an inlined function's and its caller's).",
            "Decide which source view the probe is meant for; variables are those of the innermost.",
        ),
        Blacklisted => (
            "Address on the kprobe blacklist",
            "The kernel refuses a probe here: a no-probe section, a NOKPROBE_SYMBOL, or a blacklist file entry.",
            "Choose another function: the kernel will refuse this address.",
        ),
        NotInstructionBoundary => (
            "Not an instruction boundary",
            "The address is not where an instruction starts: a breakpoint there corrupts the instruction that contains it.",
            "Use the address of an instruction (objdump -d), not one inside it.",
        ),
        UnsteppableInstruction => (
            "Instruction the kernel will not single-step",
            "The kernel refuses to single-step this instruction out of line, so a probe cannot be placed on it.",
            "Probe the instruction before or after it.",
        ),
        EmulationLimit => (
            "The emulator could not decide",
            "Emulation could not run or reach the point, so the dynamic checks did not decide.",
            "Check the point by hand or with more cases (--cases) and a larger budget (--budget).",
        ),
        IfuncResolver => (
            "Point in an ifunc resolver",
            "The function is an STT_GNU_IFUNC resolver, run once at load time, not the implementation it selects.",
            "Probe the implementation the resolver selects.",
        ),
        UndecodableInstruction => (
            "Bytes do not decode as an instruction",
            "The bytes at the point are data in code or an instruction unknown to the disassembler.",
            "Check the address with a disassembler before probing it.",
        ),
        PastSymbolSize => (
            "Address past the function's ELF size",
            "In a kernel image the address lies past the ELF size of the function, before the next symbol: kallsyms gives the function those bytes, so the kernel accepts a probe, but the code there (alternative replacement sequences, out-of-line code placed after the function) is not the function's body and may run from elsewhere or never.",
            "Find which code really runs these bytes (objdump -d around the address) and probe the place it runs from.",
        ),
    }
}

/// The SARIF level of a verdict.
fn level(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Hazardous => "error",
        Verdict::Gray => "warning",
        Verdict::Unknown => "note",
        Verdict::Safe => "none",
    }
}

fn camel(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The report as a SARIF 2.1.0 log, pretty-printed with a final newline;
/// `folded`: a run of points with the same findings (a `range` entry of
/// the folded JSON) gives one result per finding, at its first point.
pub fn to_sarif(report: &Report, lines: LineLookup<'_>, folded: bool) -> String {
    let rules: Vec<Value> = ALL_KINDS
        .iter()
        .map(|&kind| {
            let (short, full, help) = texts(kind);
            json!({
                "id": kind.name(),
                "name": camel(kind.name()),
                "shortDescription": { "text": short },
                "fullDescription": { "text": full },
                "help": { "text": help },
                "defaultConfiguration": { "level": level(kind.severity()) },
                "properties": { "severity": kind.severity().name() },
            })
        })
        .collect();
    let mut results = Vec::new();
    let runs = if folded {
        super::fold::runs(&report.points)
    } else {
        (0..report.points.len()).map(|i| (i, i + 1)).collect()
    };
    for (i, j) in runs {
        let point = &report.points[i];
        let last = &report.points[j - 1];
        let addr = point.address_value();
        let (at, place) = if j - i == 1 {
            (
                point.address.clone(),
                format!("{}+{:#x}", point.symbol, point.offset),
            )
        } else {
            (
                format!("{}..{}", point.address, last.address),
                format!(
                    "{}+{:#x}..+{:#x}, {} points",
                    point.symbol,
                    point.offset,
                    last.offset,
                    j - i
                ),
            )
        };
        let mut physical = json!({
            "artifactLocation": { "uri": report.binary.path },
            "address": {
                "absoluteAddress": addr,
                "name": format!("{}+{:#x}", point.symbol, point.offset),
                "kind": "instruction",
            },
        });
        if let Some((file, line)) = lines(addr).filter(|(_, l)| *l > 0) {
            physical["artifactLocation"] = json!({ "uri": file });
            physical["region"] = json!({ "startLine": line });
        }
        for finding in &point.findings {
            let rule_index = ALL_KINDS
                .iter()
                .position(|k| *k == finding.kind)
                .unwrap_or(0);
            let mut result = json!({
                "ruleId": finding.kind.name(),
                "ruleIndex": rule_index,
                "level": level(finding.kind.severity()),
                "message": { "text": format!("{} at {at} ({place}): {}", finding.kind.name(), finding.detail) },
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{ "fullyQualifiedName": point.symbol, "kind": "function" }],
                }],
                "properties": {
                    "address": point.address,
                    "verdict": point.verdict.name(),
                    "confirmed": finding.confirmed,
                    "evidence": finding.evidence,
                },
            });
            if j - i > 1 {
                result["properties"]["range"] =
                    json!({ "first": point.address, "last": last.address, "count": j - i });
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "informationUri": "https://github.com/probesafe/probesafe",
                "rules": rules,
            }},
            "artifacts": [{ "location": { "uri": report.binary.path }, "roles": ["analysisTarget"] }],
            "results": results,
            "invocations": [{
                "executionSuccessful": report.unresolved.is_empty(),
                "toolExecutionNotifications": report.unresolved.iter().map(|u| json!({
                    "level": "error",
                    "message": { "text": format!("{}: {}", u.spec, u.error) },
                    "descriptor": { "id": "unresolved-spec" },
                    "properties": { "spec": u.spec, "error": u.error },
                })).collect::<Vec<Value>>(),
            }],
            "properties": {
                "arch": report.binary.arch,
                "build_id": report.binary.build_id,
                "summary": report.summary,
            },
        }],
    });
    serde_json::to_string_pretty(&log).expect("SARIF always serializes") + "\n"
}
