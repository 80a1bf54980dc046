//! DWARF on the corpora built at -O0/-O2/-O3 for every target: counts
//! cross-checked with llvm-dwarfdump's (corpora/<target>/dwarf-*.counts),
//! inline sites and their views, clones, source lines, variables, separate
//! debug files, and the survey/diff experiments.

mod common;

use std::collections::BTreeMap;

use common::{fixture, probesafe, report, root, stderr};
use probesafe::report::FindingKind;
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let out = probesafe(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// probesafe's raw DWARF counts equal llvm-dwarfdump's on every build:
/// DWARF 4 and 5, compressed sections, and a stripped binary whose DWARF is
/// found through .gnu_debuglink.
#[test]
fn counts_match_llvm_dwarfdump() {
    let mut checked = 0;
    for target in ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"] {
        let dir = root().join("corpora").join(target);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("counts") {
                continue;
            }
            let want: BTreeMap<String, u64> = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(|l| {
                    let (k, v) = l.split_once(' ').unwrap();
                    (k.to_owned(), v.trim().parse().unwrap())
                })
                .collect();
            let so = path.with_extension("so");
            let survey = json(&["survey", &so.display().to_string(), "--format", "json"]);
            let got = &survey["dwarf"];
            for (key, value) in &want {
                assert_eq!(
                    got[key].as_u64(),
                    Some(*value),
                    "{}: {key} (llvm-dwarfdump says {value})",
                    so.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 21, "checked {checked} builds");
}

/// The seed's case: an atomic primitive inlined into two callers. Its
/// instances are `.inline` points with two views each (the caller's line and
/// the primitive's), and on arm64 without LSE the instance is an LL/SC loop.
#[test]
fn inlined_atomic_primitive() {
    for target in ["x86_64", "aarch64", "ppc64", "ppc64le"] {
        let so = fixture(&format!("{target}/dwarf-O2.so"))
            .display()
            .to_string();
        let r = report([
            "check",
            &so,
            "function(\"atomic_inc_return\").inline",
            "--format",
            "json",
        ]);
        assert_eq!(r.points.len(), 2, "{target}: one .inline point per caller");
        let callers: Vec<&str> = r.points.iter().map(|p| p.symbol.as_str()).collect();
        assert!(
            callers.contains(&"counter_bump") && callers.contains(&"refcount_get"),
            "{target}: {callers:?}"
        );
        for p in &r.points {
            let kinds: Vec<FindingKind> = p.findings.iter().map(|f| f.kind).collect();
            assert!(
                kinds.contains(&FindingKind::InlinedSite),
                "{target} {}: {kinds:?}",
                p.address
            );
            let views = p
                .findings
                .iter()
                .find(|f| f.kind == FindingKind::MultipleViews)
                .unwrap_or_else(|| panic!("{target} {}: no multiple-views", p.address));
            let lines: Vec<u64> = views.evidence["views"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["line"].as_u64().unwrap())
                .collect();
            let caller_line = if p.symbol == "counter_bump" { 47 } else { 52 };
            assert_eq!(
                lines,
                [caller_line, 42],
                "{target} {}: views {lines:?}",
                p.symbol
            );
            let site = p
                .findings
                .iter()
                .find(|f| f.kind == FindingKind::InlinedSite)
                .unwrap();
            assert_eq!(
                site.evidence["params_with_location"],
                serde_json::json!(["p"]),
                "{target}"
            );
            if target == "aarch64" {
                assert!(
                    kinds.contains(&FindingKind::LlscReservationLoss),
                    "{target}: the inline instance is an LL/SC loop"
                );
            }
        }
    }
}

#[test]
fn clones_are_out_of_line_copies() {
    for target in ["x86_64", "aarch64", "ppc64le"] {
        let so = fixture(&format!("{target}/dwarf-O2.so"))
            .display()
            .to_string();
        let r = report([
            "check",
            &so,
            "function(\"req_cost\").call",
            "--static-only",
            "--format",
            "json",
        ]);
        assert!(
            r.points.iter().any(|p| p.symbol == "req_cost.isra.0"),
            "{target}: {:?}",
            r.points
        );
        let survey = json(&[
            "survey",
            &so,
            "--format",
            "json",
            "--functions",
            "shift_mix",
        ]);
        let copies = &survey["functions"][0]["out_of_line"];
        assert!(
            copies
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["clone"] == ".constprop.0"),
            "{target}: {copies}"
        );
    }
}

#[test]
fn source_lines_resolve_to_is_stmt_addresses() {
    let so = fixture("aarch64/dwarf-O2.so").display().to_string();
    let r = report([
        "check",
        &so,
        "src/dwarf.c:47",
        "--static-only",
        "--format",
        "json",
    ]);
    assert!(!r.points.is_empty());
    assert!(
        r.points.iter().all(|p| p.symbol == "counter_bump"),
        "{:?}",
        r.points
    );
    let same = report([
        "check",
        &so,
        "statement(\"counter_bump@dwarf.c:47\")",
        "--static-only",
        "--format",
        "json",
    ]);
    assert_eq!(r.points, same.points);
    let out = probesafe(["check", &so, "src/dwarf.c:9999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no is_stmt line-table row"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn separate_debug_file_through_debuglink_and_flag() {
    for target in ["x86_64", "aarch64"] {
        let stripped = fixture(&format!("{target}/dwarf-O2-stripped.so"))
            .display()
            .to_string();
        let survey = json(&["survey", &stripped, "--format", "json"]);
        assert!(
            survey["debug_file"]
                .as_str()
                .unwrap()
                .ends_with("dwarf-O2.debug"),
            "{target}: {}",
            survey["debug_file"]
        );
        let debug = fixture(&format!("{target}/dwarf-O2.debug"))
            .display()
            .to_string();
        let vars = json(&[
            "vars",
            &stripped,
            "function(\"in_memory\").call",
            "--debug-file",
            &debug,
            "--format",
            "json",
        ]);
        assert_eq!(vars["points"][0]["variables"][0]["name"], "v");
    }
}

#[test]
fn variables_have_every_kind_of_location() {
    let so = fixture("aarch64/dwarf-O2.so").display().to_string();
    let v = json(&[
        "vars",
        &so,
        "function(\"constants\").call",
        "function(\"in_memory\").call",
        "--format",
        "json",
    ]);
    let kinds: Vec<String> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["variables"].as_array().unwrap().clone())
        .flat_map(|var| var["locations"].as_array().unwrap().clone())
        .map(|l| l["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "register",
        "memory",
        "constant",
        "stack-value",
        "optimized-out",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} location in {kinds:?}"
        );
    }
}

#[test]
fn diff_between_optimisation_levels() {
    let a = fixture("aarch64/dwarf-O0.so").display().to_string();
    let b = fixture("aarch64/dwarf-O2.so").display().to_string();
    let d = json(&["diff", &a, &b, "--format", "json"]);
    let changes: Vec<String> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["change"].as_str().unwrap(),
                c["function"].as_str().or(c["line"].as_str()).unwrap_or("")
            )
        })
        .collect();
    for want in [
        "lost-call atomic_inc_return",
        "lost-call mix",
        "new-clone req_cost",
        "lost-return tail_wrap",
    ] {
        assert!(
            changes.iter().any(|c| c == want),
            "{want} missing from {changes:?}"
        );
    }
}

#[test]
fn dwarf_specs_need_dwarf() {
    let so = fixture("aarch64/hazards-stripped.so").display().to_string();
    let out = probesafe(["check", &so, "function(\"add3\").inline"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs debug information"),
        "{}",
        stderr(&out)
    );
}

/// zstd-compressed debug sections (which llvm-dwarfdump 14 cannot read)
/// give exactly the counts of the uncompressed build.
#[test]
fn zstd_sections_read_like_uncompressed() {
    for target in ["x86_64", "aarch64"] {
        let plain = json(&[
            "survey",
            &fixture(&format!("{target}/dwarf-O2.so"))
                .display()
                .to_string(),
            "--format",
            "json",
        ]);
        let zstd = json(&[
            "survey",
            &fixture(&format!("{target}/dwarf-O2-zstd.so"))
                .display()
                .to_string(),
            "--format",
            "json",
        ]);
        assert_eq!(plain["dwarf"], zstd["dwarf"], "{target}");
        assert_eq!(plain["totals"], zstd["totals"], "{target}");
    }
}

/// A kernel module (ET_REL) has its DWARF only through relocations: code
/// addresses against the sections probesafe lays out, names and line
/// programs as offsets into other debug sections. Read relocated, every
/// function of blacklist.c has the same source line, variables and
/// locations (relative to its entry) as in hazards.so, where the linker
/// applied them.
#[test]
fn relocatable_object_dwarf_is_relocated() {
    let functions = [
        "kp_func",
        "noinstr_func",
        "entry_func",
        "irqentry_func",
        "nokprobe_a",
        "nokprobe_b",
        "not_blacklisted",
    ];
    // (symbol, file, line, [(name, parameter, [(kind, text, range from entry)])])
    let view = |path: &str| {
        let mut args = vec!["vars", path];
        args.extend(functions);
        args.extend(["--format", "json"]);
        let v = json(&args);
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let at = u64::from_str_radix(&p["address"].as_str().unwrap()[2..], 16).unwrap();
                let vars: Vec<_> = p["variables"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|var| {
                        let locs: Vec<_> = var["locations"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| {
                                let range = l["range"].as_array().map(|r| {
                                    (r[0].as_u64().unwrap() - at, r[1].as_u64().unwrap() - at)
                                });
                                (l["kind"].to_string(), l["text"].to_string(), range)
                            })
                            .collect();
                        (var["name"].to_string(), var["parameter"].to_string(), locs)
                    })
                    .collect();
                (
                    p["symbol"].to_string(),
                    p["file"].to_string(),
                    p["line"].as_u64(),
                    vars,
                )
            })
            .collect::<Vec<_>>()
    };
    for target in ["x86_64", "aarch64", "ppc64", "ppc64le"] {
        let module = view(&fixture(&format!("{target}/kmod.o")).display().to_string());
        let linked = view(
            &fixture(&format!("{target}/hazards.so"))
                .display()
                .to_string(),
        );
        assert_eq!(module.len(), functions.len());
        assert!(
            module.iter().all(|p| p.1 == "\"src/blacklist.c\""
                && p.2.is_some()
                && p.3.iter().any(|v| v.0 == "\"p\"" && !v.2.is_empty())),
            "{target}: {module:?}"
        );
        assert_eq!(module, linked, "{target}");
    }
}

/// A compilation unit that fails to parse is recorded with its offset and
/// gimli's reason, not dropped silently (it still contributes nothing).
#[test]
fn unparsable_unit_is_recorded() {
    use object::{Object, ObjectSection};
    use probesafe::debuginfo::DebugInfo;
    use probesafe::load::Binary;
    let path = fixture("x86_64/dwarf-O2.so");
    let bytes = std::fs::read(&path).unwrap();
    let whole = DebugInfo::load(&Binary::open(&path).unwrap(), None)
        .unwrap()
        .unwrap();
    assert!(whole.skipped_units.is_empty());
    assert!(!whole.functions.is_empty());
    // The first unit's header (DWARF 5: length, version, unit type, address
    // size, abbreviation offset): point its abbreviations past the section.
    let file = object::File::parse(&*bytes).unwrap();
    let (start, _) = file
        .section_by_name(".debug_info")
        .unwrap()
        .file_range()
        .unwrap();
    let at = start as usize + 8;
    let mut mutated = bytes.clone();
    mutated[at..at + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.so");
    std::fs::write(&broken, &mutated).unwrap();
    let debug = DebugInfo::load(&Binary::open(&broken).unwrap(), None)
        .unwrap()
        .unwrap();
    assert_eq!(debug.skipped_units.len(), 1, "{:?}", debug.skipped_units);
    assert_eq!(debug.skipped_units[0].offset, 0);
    assert!(!debug.skipped_units[0].reason.is_empty());
    assert!(debug.functions.len() < whole.functions.len());
}
