//! The finding kinds, one row each: the kebab-case name used in reports,
//! the severity, the SARIF rule's texts and the section of
//! docs/report-schema.md that documents the kind's evidence.
//!
//! The `finding_kinds!` table below is the only place a kind is declared:
//! [`FindingKind`], [`FindingKind::name`], [`FindingKind::severity`],
//! [`ALL_KINDS`] and the SARIF rules ([`super::sarif`]) are derived from it.
//! The rows' order is the order of findings in a point (kinds sort by it)
//! and of the SARIF rules (a result's `ruleIndex`).

use serde::{Deserialize, Serialize};

use super::Verdict;

/// One finding kind's row of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind.
    pub kind: FindingKind,
    /// The kebab-case name used in reports (and as the SARIF rule id).
    pub name: &'static str,
    /// How bad a finding of this kind is.
    pub severity: Verdict,
    /// The SARIF rule's short description.
    pub short: &'static str,
    /// The SARIF rule's full description.
    pub full: &'static str,
    /// The SARIF rule's help text: what to do.
    pub help: &'static str,
    /// The anchor in docs/report-schema.md that documents the kind.
    pub anchor: &'static str,
}

macro_rules! finding_kinds {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident {
            name: $name:literal,
            severity: $severity:ident,
            short: $short:literal,
            full: $full:literal,
            help: $help:literal,
            anchor: $anchor:literal $(,)?
        }
    )*) => {
        /// The kinds of finding.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum FindingKind {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant,
            )*
        }

        /// Every finding kind's row, in the order of [`FindingKind`].
        pub const KINDS: &[KindInfo] = &[
            $(
                KindInfo {
                    kind: FindingKind::$variant,
                    name: $name,
                    severity: Verdict::$severity,
                    short: $short,
                    full: $full,
                    help: $help,
                    anchor: $anchor,
                },
            )*
        ];

        /// Every finding kind.
        pub const ALL_KINDS: &[FindingKind] = &[$(FindingKind::$variant),*];
    };
}

finding_kinds! {
    /// A trap in an LL/SC window makes the store-conditional fail.
    LlscReservationLoss {
        name: "llsc-reservation-loss",
        severity: Hazardous,
        short: "Probe inside a load-linked/store-conditional window",
        full: "A trap between a load-linked and its store-conditional clears the reservation, so the store-conditional fails on every retry and the loop never progresses.",
        help: "Move the probe before the load-linked or after the store-conditional's loop, or use a tracepoint; on arm64 build with LSE atomics.",
        anchor: "finding-kinds",
    }
    /// A trap in a hardware transaction aborts it.
    TmAbort {
        name: "tm-abort",
        severity: Hazardous,
        short: "Probe inside a hardware transaction",
        full: "A trap inside a hardware transaction (xbegin/tstart/tbegin.) aborts it on every attempt, so only the fallback path ever runs.",
        help: "Move the probe outside the transaction, before its begin or after its end.",
        anchor: "finding-kinds",
    }
    /// The probe machinery itself runs through the point.
    NonProgressRecursion {
        name: "non-progress-recursion",
        severity: Hazardous,
        short: "The probe machinery runs through this point",
        full: "The probe handler (emulated with --handler), or the kernel's own trap path (its call graph from the breakpoint and single-step handlers), reaches the point while a probe is being handled: the probe fires inside its own handling and the kernel cannot make progress.",
        help: "Do not probe here; the kernel should mark the function NOKPROBE_SYMBOL or nokprobe_inline.",
        anchor: "finding-kinds",
    }
    /// Probe handlers run through the point: a hit there while another
    /// probe's handler runs is counted as missed.
    MissedInHandler {
        name: "missed-in-handler",
        severity: Gray,
        short: "Probe handlers run through this point",
        full: "Functions that run inside probe handlers (trace events, BPF) reach the point: a hit while another probe's handler runs is counted as missed and skipped, so events are silently lost.",
        help: "Expect missed hits (kprobe nmissed) while other probes are active, or probe elsewhere.",
        anchor: "finding-kinds",
    }
    /// The point is in an inlined copy of a blacklisted function, which the
    /// blacklist (whole out-of-line functions only) does not cover.
    BlacklistedInlineCopy {
        name: "blacklisted-inline-copy",
        severity: Gray,
        short: "Inlined copy of a blacklisted function",
        full: "The point is in a copy of a NOKPROBE/blacklisted function that the compiler inlined into a function the blacklist does not cover: the kernel accepts the probe although the function's author forbade it.",
        help: "Do not probe here; the kernel should mark the helper nokprobe_inline or the caller NOKPROBE_SYMBOL.",
        anchor: "finding-kinds",
    }
    /// Writing the variable's location changes nothing.
    IneffectiveWrite {
        name: "ineffective-write",
        severity: Gray,
        short: "Writing the variable changes nothing",
        full: "Writing the variable at its debug location at this point changed nothing a caller observes for any input that reaches it (or less than the same write in the reference build).",
        help: "Write the variable where its location is still read (see also_in for the register that really holds it), or patch the code that reads it.",
        anchor: "finding-kinds",
    }
    /// The variable is in several places; writing one is not writing all.
    PartialWrite {
        name: "partial-write",
        severity: Gray,
        short: "Writing one of the variable's places is not writing the variable",
        full: "The variable is in several places at this point; writing one of them does not do what writing all of them does.",
        help: "Write every location the debug information gives at this point.",
        anchor: "finding-kinds",
    }
    /// The variable has no place to write at the point.
    UnwritableLocation {
        name: "unwritable-location",
        severity: Gray,
        short: "The variable has no place to write here",
        full: "At this point the variable is a computed value, a constant, an entry value or optimised out: there is nothing to write.",
        help: "Patch at a point where the variable has a register or memory location (probesafe vars), or build the function with less optimisation.",
        anchor: "finding-kinds",
    }
    /// Writing the variable changes effects that the reference build's
    /// write does not (a shared common subexpression).
    OverbroadWrite {
        name: "overbroad-write",
        severity: Gray,
        short: "Writing the variable changes more than the source says",
        full: "The variable's location also feeds other expressions (a shared common subexpression): the write changes effects that the same write in the reference build does not.",
        help: "Write at a point where the location holds only this variable, or patch the expression instead.",
        anchor: "finding-kinds",
    }
    /// `.call` and `.return` hits do not balance, or differ from the
    /// reference build's (recursion folded into a loop, a tail-call exit).
    EntryReturnImbalance {
        name: "entry-return-imbalance",
        severity: Gray,
        short: "Entry and return probes do not balance",
        full: "Entries and returns of the function differ for one call, or differ from the reference build's: a tail-call exit, or recursion turned into a loop.",
        help: "Do not pair .call and .return counts for this function; probe the loop or the tail-called function.",
        anchor: "finding-kinds",
    }
    /// Writing the variable takes effect (confirmed with a witness).
    EffectiveWrite {
        name: "effective-write",
        severity: Safe,
        short: "Writing the variable takes effect",
        full: "The write changes what a caller observes; the witness input shows it.",
        help: "Nothing to do: the write works at this point.",
        anchor: "finding-kinds",
    }
    /// The function exits here by jumping into another function.
    TailCallExit {
        name: "tail-call-exit",
        severity: Gray,
        short: "Function exits by a tail call",
        full: "The function leaves here by a jump into another function, so a return probe sees the other function's return.",
        help: "Probe the return of the function jumped to as well, or use an entry probe.",
        anchor: "finding-kinds",
    }
    /// The point is inside an inlined function.
    InlinedSite {
        name: "inlined-site",
        severity: Gray,
        short: "Point inside an inlined function",
        full: "The address is inside an inline instance, which has no entry or return of its own; a probe there sees the caller's frame.",
        help: "Probe the out-of-line copies and each inline instance's entry, or the caller.",
        anchor: "finding-kinds",
    }
    /// The address belongs to several functions' lines at once.
    MultipleViews {
        name: "multiple-views",
        severity: Gray,
        short: "Address belongs to several source views",
        full: "The address is a line of several functions at once (an inlined function's and its caller's).",
        help: "Decide which source view the probe is meant for; variables are those of the innermost.",
        anchor: "finding-kinds",
    }
    /// The kernel's blacklist covers the point.
    Blacklisted {
        name: "blacklisted",
        severity: Hazardous,
        short: "Address on the kprobe blacklist",
        full: "The kernel refuses a probe here: a no-probe section, a NOKPROBE_SYMBOL, or a blacklist file entry.",
        help: "Choose another function: the kernel will refuse this address.",
        anchor: "finding-kinds",
    }
    /// The address is not the start of an instruction.
    NotInstructionBoundary {
        name: "not-instruction-boundary",
        severity: Hazardous,
        short: "Not an instruction boundary",
        full: "The address is not where an instruction starts: a breakpoint there corrupts the instruction that contains it.",
        help: "Use the address of an instruction (objdump -d), not one inside it.",
        anchor: "finding-kinds",
    }
    /// The kernel refuses to single-step the instruction.
    UnsteppableInstruction {
        name: "unsteppable-instruction",
        severity: Hazardous,
        short: "Instruction the kernel will not single-step",
        full: "The kernel refuses to single-step this instruction out of line, so a probe cannot be placed on it.",
        help: "Probe the instruction before or after it.",
        anchor: "finding-kinds",
    }
    /// The emulator could not decide.
    EmulationLimit {
        name: "emulation-limit",
        severity: Unknown,
        short: "The emulator could not decide",
        full: "Emulation could not run or reach the point, so the dynamic checks did not decide.",
        help: "Check the point by hand or with more cases (--cases) and a larger budget (--budget).",
        anchor: "finding-kinds",
    }
    /// The function is an `STT_GNU_IFUNC` resolver, not the implementation.
    IfuncResolver {
        name: "ifunc-resolver",
        severity: Gray,
        short: "Point in an ifunc resolver",
        full: "The function is an STT_GNU_IFUNC resolver, run once at load time, not the implementation it selects.",
        help: "Probe the implementation the resolver selects.",
        anchor: "finding-kinds",
    }
    /// The bytes at the point do not decode as an instruction (data in
    /// code, or an instruction the disassembler does not know).
    UndecodableInstruction {
        name: "undecodable-instruction",
        severity: Unknown,
        short: "Bytes do not decode as an instruction",
        full: "The bytes at the point are data in code or an instruction unknown to the disassembler.",
        help: "Check the address with a disassembler before probing it.",
        anchor: "finding-kinds",
    }
    /// In a kernel image: the address is past the ELF size of the function
    /// it is attributed to, before the next symbol (kallsyms gives the
    /// function those bytes; code placed after it, such as alternative
    /// replacement sequences).
    PastSymbolSize {
        name: "past-symbol-size",
        severity: Gray,
        short: "Address past the function's ELF size",
        full: "In a kernel image the address lies past the ELF size of the function, before the next symbol: kallsyms gives the function those bytes, so the kernel accepts a probe, but the code there (alternative replacement sequences, out-of-line code placed after the function) is not the function's body and may run from elsewhere or never.",
        help: "Find which code really runs these bytes (objdump -d around the address) and probe the place it runs from.",
        anchor: "finding-kinds",
    }
}

impl FindingKind {
    /// The kind's row of the registry.
    pub fn info(self) -> &'static KindInfo {
        // The rows are in declaration order (a unit test checks it).
        &KINDS[self as usize]
    }

    /// How bad a finding of this kind is.
    pub fn severity(self) -> Verdict {
        self.info().severity
    }

    /// The kebab-case name used in reports.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Parse a kebab-case name.
    pub fn from_name(name: &str) -> Option<FindingKind> {
        KINDS.iter().find(|k| k.name == name).map(|k| k.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_kind_has_its_own_row_in_order() {
        assert_eq!(KINDS.len(), ALL_KINDS.len());
        for (i, (row, &kind)) in KINDS.iter().zip(ALL_KINDS).enumerate() {
            assert_eq!(row.kind, kind);
            assert_eq!(kind as usize, i, "{} out of order", row.name);
            assert_eq!(kind.info(), row);
            assert_eq!(FindingKind::from_name(row.name), Some(kind));
        }
    }

    #[test]
    fn names_are_unique_kebab_case_and_what_serde_writes() {
        let names: BTreeSet<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names.len(), KINDS.len());
        for row in KINDS {
            assert!(row.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert_eq!(
                serde_json::to_value(row.kind).unwrap(),
                serde_json::Value::String(row.name.to_owned())
            );
            let back: FindingKind = serde_json::from_value(row.name.into()).unwrap();
            assert_eq!(back, row.kind);
            assert!(!row.short.is_empty() && !row.full.is_empty() && !row.help.is_empty());
        }
    }

    /// The severities are those of the table of docs/report-schema.md,
    /// which lists every kind once, and the anchors name its headings.
    #[test]
    fn severities_are_those_documented() {
        let doc = include_str!("../../docs/report-schema.md");
        let mut documented = std::collections::BTreeMap::new();
        for line in doc.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() > 3 && cells[1].starts_with('`') {
                let name = cells[1].trim_matches('`');
                if FindingKind::from_name(name).is_some() {
                    documented.insert(name.to_owned(), cells[2].to_owned());
                }
            }
        }
        assert_eq!(documented.len(), KINDS.len(), "{documented:?}");
        let anchors: BTreeSet<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("## "))
            .map(|h| h.to_lowercase().replace(' ', "-"))
            .collect();
        for row in KINDS {
            assert_eq!(documented[row.name], row.severity.name(), "{}", row.name);
            assert!(
                anchors.contains(row.anchor),
                "{}: #{}",
                row.name,
                row.anchor
            );
        }
    }

    /// The SARIF log has one rule per row, in order, with the row's name
    /// as its id and its severity as its level.
    #[test]
    fn sarif_rules_are_the_rows() {
        let report = crate::report::Report::new(
            crate::report::BinaryInfo {
                path: "x".into(),
                arch: "x86_64".into(),
                build_id: None,
            },
            Vec::new(),
        );
        let log: serde_json::Value =
            serde_json::from_str(&crate::report::sarif::to_sarif(&report, &|_| None, false))
                .unwrap();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), KINDS.len());
        for (rule, row) in rules.iter().zip(KINDS) {
            assert_eq!(rule["id"], row.name);
            assert_eq!(rule["shortDescription"]["text"], row.short);
            assert_eq!(rule["fullDescription"]["text"], row.full);
            assert_eq!(rule["help"]["text"], row.help);
            assert_eq!(rule["properties"]["severity"], row.severity.name());
        }
    }
}
