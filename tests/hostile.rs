//! Hostile or broken ELF files are normal input: truncations and byte
//! flips of every corpus binary must load or fail with an error, never
//! panic or hang. Deterministic (a fixed xorshift seed), so a failure names
//! the variant that reproduces it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use probesafe::analyze::{Analyzer, Selection};
use probesafe::hazard::Blacklist;
use probesafe::load::Binary;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How far a variant got: rejected at load (0), loaded (1), analysed into
/// points (2).
type Stage = usize;

/// Load and analyse; errors are fine, panics are not.
fn survive(name: &str, bytes: &[u8]) -> Stage {
    let started = Instant::now();
    let result = std::panic::catch_unwind(|| {
        let Ok(binary) = Binary::parse(Path::new(name), bytes) else {
            return 0;
        };
        let analyzer = Analyzer::new(&binary, Blacklist::of(&binary));
        let mut selection = Selection::default();
        analyzer.select_all(&mut selection, &[]).unwrap();
        match analyzer.run(&selection, Some(1)) {
            Ok(points) if !points.is_empty() => 2,
            _ => 1,
        }
    });
    assert!(result.is_ok(), "panic on {name}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{name} took {:?}",
        started.elapsed()
    );
    result.unwrap()
}

#[test]
fn truncated_and_corrupted_corpora_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    // Variants that reached each stage, of the truncations and of the
    // byte flips.
    let mut cuts = [0usize; 3];
    let mut flips = [0usize; 3];
    for target in ["x86_64", "aarch64", "ppc64", "ppc64le"] {
        for file in ["hazards.so", "hazards-stripped.so", "kmod.o", "vmlinux"] {
            let corpus = format!("{target}/{file}");
            let bytes = std::fs::read(common::fixture(&corpus)).unwrap();
            for cut in [
                0,
                1,
                16,
                52,
                64,
                100,
                512,
                bytes.len() / 3,
                bytes.len() / 2,
                bytes.len() - 1,
            ] {
                cuts[survive(
                    &format!("{corpus} cut at {cut}"),
                    &bytes[..cut.min(bytes.len())],
                )] += 1;
            }
            // The ELF header and the section header table are where lengths
            // and offsets live; flip bytes there, and anywhere.
            let shoff = if target == "ppc64" {
                u64::from_be_bytes(bytes[0x28..0x30].try_into().unwrap())
            } else {
                u64::from_le_bytes(bytes[0x28..0x30].try_into().unwrap())
            } as usize;
            for round in 0..60 {
                let mut mutated = bytes.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = match rng.below(3) {
                        0 => rng.below(64),
                        1 if shoff < bytes.len() => shoff + rng.below(bytes.len() - shoff),
                        _ => rng.below(bytes.len()),
                    };
                    mutated[at] = rng.next() as u8;
                }
                flips[survive(&format!("{corpus} mutation {round}"), &mutated)] += 1;
            }
        }
    }
    eprintln!("truncations by stage: {cuts:?}; byte flips by stage: {flips:?}");
    // Truncated files are rejected (their section headers or contents lie
    // past the end); most byte flips keep the file loadable, and those are
    // analysed into points: the sweep must reach the analysis, not only
    // the loader's refusals.
    assert_eq!(cuts.iter().sum::<usize>(), 160);
    assert_eq!(flips.iter().sum::<usize>(), 960);
    assert!(flips[2] > 480, "byte flips analysed: {flips:?}");
    assert!(flips[0] > 0, "byte flips rejected: {flips:?}");
    assert!(cuts[0] > 80, "truncations rejected: {cuts:?}");
}

/// The same for DWARF: corrupted debug sections must give errors or
/// partial answers, never a panic or a hang.
#[test]
fn corrupted_dwarf_never_panics() {
    use probesafe::debuginfo::DebugInfo;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for corpus in [
        "aarch64/dwarf-O2.so",
        "ppc64/dwarf-O3.so",
        "x86_64/dwarf-O2-zlib.so",
    ] {
        let bytes = std::fs::read(common::fixture(corpus)).unwrap();
        // DWARF lives after the code in these files: flip bytes in the
        // second half, where .debug_* sections are.
        for round in 0..80 {
            let mut mutated = bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let at = bytes.len() / 2 + rng.below(bytes.len() / 2);
                mutated[at] = rng.next() as u8;
            }
            let name = format!("{corpus} dwarf mutation {round}");
            let dir =
                std::env::temp_dir().join(format!("probesafe-hostile-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("m.so");
            std::fs::write(&path, &mutated).unwrap();
            let started = Instant::now();
            let result = std::panic::catch_unwind(|| {
                if let Ok(binary) = Binary::open(&path) {
                    if let Ok(Some(debug)) = DebugInfo::load(&binary, None) {
                        let _ = probesafe::survey::survey(
                            &binary,
                            Some(&debug),
                            &Blacklist::of(&binary),
                            None,
                        );
                        for f in debug.functions.iter().take(8) {
                            let _ = debug.variables_at(f.low);
                            let _ = debug.inline_chain(f.low);
                        }
                        let analyzer = Analyzer::new(&binary, Blacklist::of(&binary))
                            .with_debug_info(Some(std::sync::Arc::new(debug)))
                            .with_detail(true);
                        let mut selection = Selection::default();
                        analyzer.select_all(&mut selection, &[]).unwrap();
                        let _ = analyzer.run(&selection, Some(1));
                    }
                }
            });
            assert!(result.is_ok(), "panic on {name}");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{name} took {:?}",
                started.elapsed()
            );
        }
    }
}

// ---------------------------------------------------------------------
// The real CLI on hostile files: bounded in time, ended by a signal, and
// a mutation sweep over every corpus binary and command.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// Run the CLI with `args` for at most `limit`; kill it and say how long
/// it ran when it is over. Its output goes to files (a pipe nobody reads
/// while it runs would block it once full).
fn run_bounded(args: &[&str], limit: Duration) -> Result<std::process::Output, Duration> {
    let files = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (files.path().join("out"), files.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_probesafe"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child, limit)?;
    Ok(std::process::Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    })
}

/// Wait for `child` at most `limit`; kill it when it is over.
fn wait_bounded(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus, Duration> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Ok(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The offsets of the symbol table entries (`.symtab`, `.dynsym`) of a
/// 64-bit ELF file, read from its section headers.
fn symbol_entries(bytes: &[u8]) -> Vec<usize> {
    let big = bytes[5] == 2;
    let u16_at = |o: usize| {
        let b = [bytes[o], bytes[o + 1]];
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = bytes[o..o + 4].try_into().unwrap();
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let u64_at = |o: usize| {
        let b: [u8; 8] = bytes[o..o + 8].try_into().unwrap();
        if big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    } as usize;
    let (shoff, entsize, count) = (u64_at(0x28), u16_at(0x3a) as usize, u16_at(0x3c) as usize);
    let mut out = Vec::new();
    for i in 0..count {
        let sh = shoff + i * entsize;
        if matches!(u32_at(sh + 4), 2 | 11) {
            let (off, size) = (u64_at(sh + 0x18), u64_at(sh + 0x20));
            out.extend((off..off + size).step_by(24));
        }
    }
    out
}

/// Set `st_size` of every function symbol to `size`.
fn with_function_sizes(bytes: &[u8], size: u64) -> Vec<u8> {
    let big = bytes[5] == 2;
    let mut out = bytes.to_vec();
    for sym in symbol_entries(bytes) {
        if matches!(bytes[sym + 4] & 0xf, 2 | 10) {
            let v = if big {
                size.to_be_bytes()
            } else {
                size.to_le_bytes()
            };
            out[sym + 16..sym + 24].copy_from_slice(&v);
        }
    }
    out
}

/// The reproducer of the hang: every function symbol's size corrupted to
/// 2^47 bytes made the function's extent reach the emulator, whose
/// invalidation of translated code walked it page by page (2^35 pages: it
/// did not end; killed after 100 s on the 26 KB ppc64 corpus file).
/// Extents are clamped to their sections now, and `scan` (whose emulation
/// still runs) ends in seconds (3 s of CPU in a release build). The bound
/// is for a hang, not a speed: the debug build of this test shares two
/// cores with the rest of the suite, and a 60 s bound failed on a loaded
/// machine while the scan was progressing.
#[test]
fn symbol_sizes_of_2_pow_47_do_not_hang_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["ppc64", "x86_64"] {
        let bytes = std::fs::read(common::fixture(&format!("{target}/hazards.so"))).unwrap();
        let mutated = with_function_sizes(&bytes, 1 << 47);
        assert_ne!(mutated, bytes);
        // The loader keeps every function inside its section.
        let binary = Binary::parse(Path::new("m.so"), &mutated).unwrap();
        for f in &binary.functions {
            let section = binary
                .sections
                .iter()
                .find(|s| s.executable && s.contains(f.address))
                .unwrap();
            assert!(
                f.end() <= section.address + section.size,
                "{target}: {} ends at {:#x}, past {}",
                f.name,
                f.end(),
                section.name
            );
        }
        let path = dir.path().join(format!("{target}-sizes.so"));
        std::fs::write(&path, &mutated).unwrap();
        let file = common::arg(&path);
        let out = run_bounded(
            &["scan", &file, "--format", "json", "--jobs", "2"],
            Duration::from_secs(300),
        )
        .unwrap_or_else(|t| panic!("{target}: scan still ran after {t:?}"));
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let dynamic = report["points"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["findings"].as_array().unwrap())
            .filter(|f| f["evidence"]["dynamic"].is_object())
            .count();
        assert!(dynamic > 0, "{target}: nothing was emulated");
    }
}

/// A signal ends a run whatever the emulator is doing: `fuzz` with so many
/// cases that its first function alone would run for minutes stops within
/// seconds of SIGTERM, with exit 130 (the signal is read inside the
/// emulation, not only between functions).
#[test]
fn sigterm_ends_a_long_fuzz_run_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.checkpoint");
    let bin = common::arg(&common::fixture("aarch64/hazards.so"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_probesafe"))
        .args([
            "fuzz",
            &bin,
            "--cases",
            "1000000",
            "--jobs",
            "1",
            "--format",
            "json",
            "--checkpoint",
            &common::arg(&checkpoint),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Loading takes a fraction of a second; then it is in its first
    // function's trials.
    std::thread::sleep(Duration::from_secs(3));
    let pid = child.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    wait_bounded(&mut child, Duration::from_secs(15))
        .unwrap_or_else(|t| panic!("fuzz still ran {t:?} after SIGTERM"));
    let took = sent.elapsed();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("interrupted after 0 of"),
        "{}",
        common::stderr(&out)
    );
    assert!(
        took < Duration::from_secs(10),
        "exit {took:?} after SIGTERM"
    );
    // The function under way when the signal came is not in the
    // checkpoint: its trials were cut short.
    let saved = std::fs::read_to_string(&checkpoint).unwrap();
    let lines: Vec<Value> = saved
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "the header alone: {saved}");
    assert_eq!(lines[0]["header"]["format"], "probesafe-fuzz-checkpoint");
}

/// What one mutated run reached.
#[derive(Default, Debug, Clone, Copy)]
struct Reached {
    runs: usize,
    /// The library loads the mutated file.
    loaded: usize,
    /// The report has points (or the survey functions, the vars entries).
    functions: usize,
    /// A finding has dynamic evidence: the emulator ran.
    emulated: usize,
    /// Exit 0 or 1 with a report that parses.
    reported: usize,
}

const COMMANDS: [&str; 6] = ["scan", "check", "fuzz", "vars", "survey", "confirm"];

/// Every ELF file of the corpora.
fn corpus_binaries() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(common::root().join("corpora")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let head = std::fs::read(&path).map(|b| b.get(..4) == Some(b"\x7fELF"));
            if path.is_file() && head.unwrap_or(false) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Mutate `bytes` the way `class` says: bytes anywhere, in the section
/// header table, one symbol's size or value, or the ELF header.
fn mutate(bytes: &[u8], class: usize, rng: &mut XorShift) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let big = bytes[5] == 2;
    let shoff = {
        let b: [u8; 8] = bytes[0x28..0x30].try_into().unwrap();
        (if big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }) as usize
    };
    match class {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                out[at] ^= 1 << rng.below(8);
            }
        }
        1 if shoff < bytes.len() => {
            for _ in 0..1 + rng.below(3) {
                let at = shoff + rng.below(bytes.len() - shoff);
                out[at] = rng.next() as u8;
            }
        }
        2 => {
            let symbols = symbol_entries(bytes);
            if symbols.is_empty() {
                return mutate(bytes, 0, rng);
            }
            let sym = symbols[rng.below(symbols.len())];
            // st_size (or st_value): a huge or a random value.
            let field = if rng.below(3) == 0 { 8 } else { 16 };
            let value = match rng.below(3) {
                0 => 1u64 << (32 + rng.below(31)),
                1 => u64::MAX - rng.below(0x1000) as u64,
                _ => rng.next(),
            };
            let v = if big {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            out[sym + field..sym + field + 8].copy_from_slice(&v);
        }
        _ => {
            for _ in 0..1 + rng.below(2) {
                let at = 0x10 + rng.below(0x30);
                out[at] ^= 1 << rng.below(8);
            }
        }
    }
    out
}

/// Every corpus binary, mutated, through every command of the CLI: no
/// panic, exit 0, 1 or 2, a bound on the wall time of each run; and enough
/// of the runs get through loading, analysis and emulation to a report
/// that the sweep exercises the tool, not only its rejection of bad files.
/// Deterministic: the variant a failure names reproduces it.
#[test]
fn mutated_corpora_through_every_command() {
    const LIMIT: Duration = Duration::from_secs(60);
    let binaries = corpus_binaries();
    assert!(binaries.len() >= 70, "{} corpus binaries", binaries.len());
    let dir = tempfile::tempdir().unwrap();
    // (binary, command) pairs, each with its own mutation.
    let jobs: Vec<(usize, usize)> = (0..binaries.len())
        .flat_map(|b| (0..COMMANDS.len()).map(move |c| (b, c)))
        .collect();
    // Points of each original for check, vars and confirm: those where
    // the static map finds an LL/SC window or a transaction (the dynamic
    // checks emulate them), and two function entries.
    let specs: Vec<Vec<String>> = binaries
        .iter()
        .map(|path| {
            let Ok(o) = Binary::open(path) else {
                return Vec::new();
            };
            let analyzer = Analyzer::new(&o, Blacklist::of(&o));
            let mut selection = Selection::default();
            analyzer.select_all(&mut selection, &[]).unwrap();
            let points = analyzer.run(&selection, Some(1)).unwrap();
            let windows = points.iter().filter(|p| {
                p.findings
                    .iter()
                    .any(|f| matches!(f.kind.name(), "llsc-reservation-loss" | "tm-abort"))
            });
            windows
                .take(3)
                .map(|p| p.address.clone())
                .chain(
                    o.functions
                        .iter()
                        .take(2)
                        .map(|f| format!("{:#x}", f.entry)),
                )
                .collect()
        })
        .collect();
    let next = AtomicUsize::new(0);
    let reached = Mutex::new([Reached::default(); COMMANDS.len()]);
    let failures = Mutex::new(Vec::<String>::new());
    let worker = || loop {
        let j = next.fetch_add(1, Ordering::Relaxed);
        let Some(&(b, c)) = jobs.get(j) else { break };
        let original = std::fs::read(&binaries[b]).unwrap();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ ((j as u64 + 1) << 17));
        let class = (b + c) % 4;
        let bytes = mutate(&original, class, &mut rng);
        let name = format!(
            "{} mutation class {class} job {j} ({})",
            binaries[b].strip_prefix(common::root()).unwrap().display(),
            COMMANDS[c]
        );
        let path = dir.path().join(format!("m{j}.bin"));
        std::fs::write(&path, &bytes).unwrap();
        let file = common::arg(&path);
        let specs = &specs[b];
        let list = dir.path().join(format!("m{j}.points"));
        std::fs::write(&list, specs.join("\n") + "\n").unwrap();
        let mut args: Vec<String> = vec![COMMANDS[c].into(), file.clone()];
        match COMMANDS[c] {
            "scan" => args.extend(["--cases", "2", "--budget", "20000"].map(String::from)),
            "fuzz" => args.extend(["--cases", "1", "--budget", "5000"].map(String::from)),
            "check" | "vars" => args.extend(specs.iter().cloned()),
            "confirm" => args.push(common::arg(&list)),
            _ => {}
        }
        args.extend(["--format", "json"].map(String::from));
        if !matches!(COMMANDS[c], "vars" | "survey") {
            args.extend(["--jobs", "1"].map(String::from));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let loaded = Binary::parse(Path::new("m"), &bytes).is_ok();
        let out = match run_bounded(&argv, LIMIT) {
            Ok(out) => out,
            Err(t) => {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("{name}: still running after {t:?}: {args:?}"));
                continue;
            }
        };
        let code = out.status.code();
        let err = common::stderr(&out);
        if !matches!(code, Some(0..=2)) || err.contains("panicked") {
            failures
                .lock()
                .unwrap()
                .push(format!("{name}: exit {:?}: {err}", out.status));
            continue;
        }
        let report: Option<Value> = matches!(code, Some(0 | 1))
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten();
        let entries = report.as_ref().map_or(0, |r| {
            ["points", "functions"]
                .iter()
                .filter_map(|k| r[k].as_array())
                .map(Vec::len)
                .sum::<usize>()
                + r.as_array().map_or(0, Vec::len)
        });
        let dynamic = String::from_utf8_lossy(&out.stdout).contains("\"dynamic\"");
        let mut r = reached.lock().unwrap();
        let r = &mut r[c];
        r.runs += 1;
        r.loaded += usize::from(loaded);
        r.reported += usize::from(report.is_some());
        r.functions += usize::from(entries > 0);
        r.emulated += usize::from(report.is_some() && dynamic);
    };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(worker);
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let reached = reached.into_inner().unwrap();
    for (c, r) in reached.iter().enumerate() {
        eprintln!("{}: {r:?}", COMMANDS[c]);
    }
    for (c, r) in reached.iter().enumerate() {
        let name = COMMANDS[c];
        assert_eq!(r.runs, binaries.len(), "{name}");
        // Most mutations leave the file loadable, and those reach a report
        // with its points; the emulating commands emulate on many.
        assert!(r.loaded * 2 > r.runs, "{name}: {r:?}");
        assert!(r.reported * 4 > r.runs, "{name}: {r:?}");
        assert!(r.functions * 4 > r.runs, "{name}: {r:?}");
        if matches!(name, "scan" | "check" | "fuzz" | "confirm") {
            assert!(r.emulated * 8 > r.runs, "{name}: {r:?}");
        }
    }
}
