//! The write checks against GDB on the real program: for each target,
//! corpora/<target>/gdbwrites (src/gdbwrites.c at -O2 with a driver that
//! passes small fixed inputs and prints every result) runs under qemu-user's
//! gdbstub, and gdb-multiarch writes every variable in scope at every
//! instruction of a few functions (`set var X = X + 1` at every hit of a
//! breakpoint there, then on to the end: tests/data/gdb_writes.py, one gdb
//! session per target with one qemu process per write). The program's
//! output against an unperturbed run's is GDB's verdict; probesafe's is
//! `scan --all-vars` of the same functions. Where both judge (GDB: the point
//! was hit, the write accepted and the run ended; probesafe:
//! `effective-write` or `ineffective-write`), they must agree.
//!
//! Skipped, with a message, when gdb-multiarch (with Python) or a target's
//! qemu-user binary is missing; harness/setup.sh installs both for CI.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixture, report, root};
use probesafe::report::FindingKind;

/// (corpus directory, qemu-user binary)
const TARGETS: &[(&str, &str)] = &[
    ("x86_64", "qemu-x86_64"),
    ("aarch64", "qemu-aarch64"),
    ("ppc64le", "qemu-ppc64le"),
    ("ppc64", "qemu-ppc64"),
];

/// The functions of src/gdbwrites.c whose every instruction is written.
const FUNCTIONS: &[&str] = &["gw_sum_calls", "gw_scale", "gw_keep", "gw_mix"];

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// probesafe's verdict per (address, variable): true for effective, false
/// for ineffective; the other findings (unwritable, partial, undecided) are
/// listed as `None`.
fn probesafe_verdicts(binary: &Path) -> BTreeMap<(u64, String), Option<bool>> {
    let mut args = vec!["scan".to_owned(), binary.display().to_string()];
    for f in FUNCTIONS {
        args.extend(["--functions".to_owned(), (*f).to_owned()]);
    }
    args.extend(["--all-vars", "--format", "json"].map(str::to_owned));
    let r = report(&args);
    let mut out = BTreeMap::new();
    for p in &r.points {
        for f in &p.findings {
            let Some(var) = f.evidence.get("variable").and_then(|v| v.as_str()) else {
                continue;
            };
            let verdict = match f.kind {
                FindingKind::EffectiveWrite => Some(true),
                FindingKind::IneffectiveWrite => Some(false),
                _ => None,
            };
            out.insert((p.address_value(), var.to_owned()), verdict);
        }
    }
    out
}

/// GDB's result per (address, variable): `changed`, `same`, `not-hit`,
/// `cut` or `unwritable`, with a detail.
fn gdb_results(
    gdb: &Path,
    qemu: &Path,
    binary: &Path,
    jobs: &[(u64, String)],
    dir: &Path,
) -> BTreeMap<(u64, String), (String, String)> {
    let jobs_file = dir.join("jobs");
    let out_file = dir.join("results");
    let text: String = jobs.iter().map(|(a, v)| format!("{a:#x} {v}\n")).collect();
    std::fs::write(&jobs_file, text).unwrap();
    let out = Command::new(gdb)
        .args(["-nx", "-batch", "-x"])
        .arg(root().join("tests/data/gdb_writes.py"))
        .env("GW_QEMU", qemu)
        .env("GW_BINARY", binary)
        .env("GW_JOBS", &jobs_file)
        .env("GW_OUT", &out_file)
        .output()
        .expect("gdb-multiarch runs");
    let results = std::fs::read_to_string(&out_file).unwrap_or_else(|e| {
        panic!(
            "gdb wrote no results ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut map = BTreeMap::new();
    for line in results.lines() {
        let mut f = line.splitn(4, ' ');
        let (Some(addr), Some(var), Some(result)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).unwrap();
        map.insert(
            (addr, var.to_owned()),
            (result.to_owned(), f.next().unwrap_or("").to_owned()),
        );
    }
    assert_eq!(
        map.len(),
        jobs.len(),
        "gdb answered {} of {} writes: {}",
        map.len(),
        jobs.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    map
}

/// What one target's cross-check found.
struct Tally {
    target: &'static str,
    writes: usize,
    judged_by_both: usize,
    effective: usize,
    ineffective: usize,
    disagreements: Vec<String>,
}

fn cross_check(target: &'static str, gdb: &Path, qemu: &Path) -> Tally {
    let binary = fixture(&format!("{target}/gdbwrites"));
    let verdicts = probesafe_verdicts(&binary);
    // Every variable in scope at every instruction of the functions.
    let jobs: Vec<(u64, String)> = verdicts.keys().cloned().collect();
    let dir = tempfile::tempdir().unwrap();
    let gdb_says = gdb_results(gdb, qemu, &binary, &jobs, dir.path());
    let mut tally = Tally {
        target,
        writes: jobs.len(),
        judged_by_both: 0,
        effective: 0,
        ineffective: 0,
        disagreements: Vec::new(),
    };
    for (key, verdict) in &verdicts {
        let (result, detail) = &gdb_says[key];
        let gdb_changed = match result.as_str() {
            "changed" => true,
            "same" => false,
            _ => continue,
        };
        let Some(effective) = verdict else { continue };
        tally.judged_by_both += 1;
        if *effective {
            tally.effective += 1;
        } else {
            tally.ineffective += 1;
        }
        if *effective != gdb_changed {
            tally.disagreements.push(format!(
                "{target} {:#x} {}: probesafe says {}, GDB {result} ({detail})",
                key.0,
                key.1,
                if *effective {
                    "effective-write"
                } else {
                    "ineffective-write"
                }
            ));
        }
    }
    tally
}

#[test]
fn write_verdicts_agree_with_gdb() {
    let Some(gdb) = on_path("gdb-multiarch") else {
        eprintln!(
            "SKIPPED write_verdicts_agree_with_gdb: gdb-multiarch is not installed (apt-get install gdb-multiarch, or harness/setup.sh)"
        );
        return;
    };
    let python = Command::new(&gdb)
        .args(["-nx", "-batch", "-ex", "python print('python-ok')"])
        .output();
    if !python.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("python-ok")) {
        eprintln!("SKIPPED write_verdicts_agree_with_gdb: this gdb-multiarch has no Python");
        return;
    }
    let mut runnable = Vec::new();
    for &(target, qemu) in TARGETS {
        match on_path(qemu) {
            Some(q) => runnable.push((target, q)),
            None => eprintln!(
                "SKIPPED {target} in write_verdicts_agree_with_gdb: {qemu} is not installed (apt-get install qemu-user)"
            ),
        }
    }
    // All targets at once: gdb and qemu mostly wait on each other.
    let tallies: Vec<Tally> = runnable
        .chunks(4)
        .flat_map(|pair| {
            std::thread::scope(|s| {
                let handles: Vec<_> = pair
                    .iter()
                    .map(|(target, qemu)| {
                        let gdb = gdb.clone();
                        s.spawn(move || cross_check(target, &gdb, qemu))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut disagreements = Vec::new();
    for t in &tallies {
        eprintln!(
            "{}: {} writes, {} judged by both ({} effective, {} ineffective), {} disagreements",
            t.target,
            t.writes,
            t.judged_by_both,
            t.effective,
            t.ineffective,
            t.disagreements.len()
        );
        // Not vacuous: both kinds of verdict, on many points.
        assert!(
            t.judged_by_both >= 40 && t.effective >= 10 && t.ineffective >= 3,
            "{}: too few points judged by both",
            t.target
        );
        disagreements.extend(t.disagreements.iter().cloned());
    }
    assert!(
        disagreements.is_empty(),
        "probesafe and GDB disagree on {} writes:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
