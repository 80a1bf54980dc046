//! The progress bar and `--stats` of the long runs (`scan`, `check`,
//! `fuzz`, `survey`): with `--stats`, one line of final figures on stderr
//! whose counts are those of the report; without it, nothing on a stderr
//! that is not a terminal; and on a terminal (a pseudo-terminal made by
//! util-linux `script`), the bar, on stderr only.

mod common;

use std::process::Command;

use common::*;

/// The number just before `what` in `line` (`... 347 points, ...`).
fn number_before(line: &str, what: &str) -> f64 {
    let at = line
        .find(what)
        .unwrap_or_else(|| panic!("no {what:?} in {line:?}"));
    let head = line[..at].trim_end();
    let start = head
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    head[start..]
        .parse()
        .unwrap_or_else(|e| panic!("{what:?} in {line:?}: {e}"))
}

/// The stats line of a run: stderr must be exactly one line starting
/// with `command: `.
fn stats_line(out: &std::process::Output, command: &str) -> String {
    let err = stderr(out);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{command}: {:?}: {err}",
        out.status
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{command}: one line of figures: {err:?}");
    assert!(lines[0].starts_with(&format!("{command}: ")), "{err:?}");
    lines[0].to_owned()
}

/// The seconds and the rate of `unit` agree with the count.
fn check_rate(line: &str, unit: &str, count: f64) {
    let secs = number_before(&line[line.find(&format!(" {unit}")).unwrap()..], " s:");
    let rate = number_before(line, &format!(" {unit}/s"));
    // Seconds are printed to the millisecond: the rate, computed from the
    // exact time, lies within the rates of the rounded bounds.
    let (lo, hi) = (count / (secs + 0.0005), count / (secs - 0.0005).max(1e-9));
    assert!(
        rate + 1.0 >= lo && rate - 1.0 <= hi,
        "{unit}/s {rate} against {count} in {secs} s: {line}"
    );
}

/// The trials of an emulating run: counted, with their rates per second
/// and per thread (`--jobs 2`).
fn check_trials(line: &str) {
    let trials = number_before(line, " trials in");
    assert!(trials > 0.0, "an emulating run runs trials: {line}");
    let per_sec = number_before(line, " trials/s,");
    let per_thread = number_before(line, " trials/s per thread");
    assert!(line.ends_with("(2 threads)"), "{line}");
    assert!(
        (per_sec / 2.0 - per_thread).abs() <= 1.0,
        "per thread is half of the total with 2 threads: {line}"
    );
}

fn hazards() -> String {
    arg(&fixture("aarch64/hazards.so"))
}

/// `scan --stats`: the points of the report, the trials of its emulation.
#[test]
fn scan_stats_count_the_points_and_the_trials() {
    let args = |extra: &[&str]| {
        let mut a = vec!["scan".to_owned(), hazards(), "--jobs".into(), "2".into()];
        a.extend(["--per-point"].map(String::from));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let report = report(args(&["--format", "json"]));
    let out = probesafe(args(&["--stats", "--format", "json"]));
    let line = stats_line(&out, "scan");
    let points = number_before(&line, " points,");
    assert_eq!(points as usize, report.points.len(), "{line}");
    check_rate(&line, "points", points);
    check_trials(&line);
    // The report is the same with and without --stats.
    let with: probesafe::report::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        serde_json::to_value(&with).unwrap(),
        serde_json::to_value(&report).unwrap()
    );

    // Streamed and static: no trials to speak of.
    let out = probesafe(args(&["--stats", "--static-only", "--format", "jsonl"]));
    let line = stats_line(&out, "scan");
    let points = number_before(&line, " points in");
    assert_eq!(points as usize, report.points.len(), "{line}");
    assert!(!line.contains("trials"), "{line}");
    check_rate(&line, "points", points);
}

/// `check --stats` with many points: one per spec resolved.
#[test]
fn check_stats_count_the_points() {
    let args = |extra: &[&str]| {
        let mut a = vec!["check".to_owned(), hazards(), "function(\"*\").call".into()];
        a.extend(["--jobs", "2", "--format", "json"].map(String::from));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let report = report(args(&[]));
    assert!(report.points.len() > 10, "many points");
    let line = stats_line(&probesafe(args(&["--stats"])), "check");
    let points = number_before(&line, " points,");
    assert_eq!(points as usize, report.points.len(), "{line}");
    check_rate(&line, "points", points);
    check_trials(&line);
}

/// `fuzz --stats`: functions, points and trials; a resumed run counts
/// only its own work and says what the checkpoint held.
#[test]
fn fuzz_stats_count_this_runs_work() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("ck.json");
    let args = |extra: &[&str]| {
        let mut a = vec!["fuzz".to_owned(), hazards(), "--cases".into(), "1".into()];
        a.extend(["--jobs", "2", "--format", "json", "--per-point"].map(String::from));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = probesafe(args(&["--stats", "--checkpoint", &arg(&checkpoint)]));
    let line = stats_line(&out, "fuzz");
    let report: probesafe::report::Report = serde_json::from_slice(&out.stdout).unwrap();
    let points = number_before(&line, " points,");
    assert_eq!(points as usize, report.points.len(), "{line}");
    let functions = number_before(&line, " functions,");
    let distinct: std::collections::BTreeSet<&str> =
        report.points.iter().map(|p| p.symbol.as_str()).collect();
    assert_eq!(functions as usize, distinct.len(), "{line}");
    check_rate(&line, "points", points);
    check_trials(&line);
    assert!(!line.contains("checkpoint"), "{line}");

    // Everything is in the checkpoint now: the rerun does nothing itself.
    let line = stats_line(
        &probesafe(args(&["--stats", "--checkpoint", &arg(&checkpoint)])),
        "fuzz",
    );
    assert!(
        line.starts_with("fuzz: 0 functions, 0 points, 0 trials in ")
            && line.ends_with(&format!(
                " ({functions} functions, {points} points from the checkpoint)"
            )),
        "{line}"
    );
}

/// `survey --stats`: the functions decoded and the compilation units read.
#[test]
fn survey_stats_count_functions_and_units() {
    let out = probesafe(["survey", &hazards(), "--stats", "--format", "json"]);
    let line = stats_line(&out, "survey");
    let functions = number_before(&line, " functions in");
    let units = number_before(&line, " compilation units in");
    // Every function of the binary is an out-of-line copy in the survey.
    let survey: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let copies: usize = survey["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["out_of_line"].as_array().unwrap().len())
        .sum();
    assert_eq!(functions as usize, copies, "{line}");
    // Its DWARF units, as readelf lists them.
    let readelf = Command::new("readelf")
        .args(["--debug-dump=info", &hazards()])
        .output()
        .unwrap();
    let cus = String::from_utf8_lossy(&readelf.stdout)
        .matches("Compilation Unit @")
        .count();
    assert_eq!(units as usize, cus, "{line}");
    check_rate(&line, "functions", functions);
    check_rate(&line, "compilation units", units);
    assert!(line.ends_with(" s in all"), "{line}");
}

/// Without `--stats` and with stderr not a terminal (a pipe here), the
/// four commands print nothing on stderr.
#[test]
fn without_stats_a_piped_stderr_gets_nothing() {
    let h = hazards();
    let runs: Vec<Vec<&str>> = vec![
        vec!["scan", &h],
        vec!["scan", &h, "--static-only", "--format", "jsonl"],
        vec!["check", &h, "function(\"*\").call"],
        vec!["fuzz", &h, "--cases", "1"],
        vec!["survey", &h],
    ];
    for args in runs {
        let out = probesafe(&args);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out), "", "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}: a report on stdout");
    }
}

/// Run `line` with stdin, stdout and stderr on a pseudo-terminal
/// (util-linux `script`); what the terminal got.
fn on_a_terminal(line: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("util-linux script runs");
    assert!(out.status.success(), "{line}: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// On a terminal the bar is drawn on stderr (done / total, rate, ETA) and
/// erased at the end; it goes nowhere else: not into the report, and not
/// onto the terminal when only stdout is one.
#[test]
fn on_a_terminal_the_bar_is_drawn_on_stderr_only() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("util-linux script is needed for the pseudo-terminal");
    }
    let exe = env!("CARGO_BIN_EXE_probesafe");
    let dir = tempfile::tempdir().unwrap();
    let h = hazards();
    for (args, unit) in [
        (
            format!("fuzz {h} --cases 1 --format json --per-point"),
            "points",
        ),
        (format!("scan {h} --format json --per-point"), "points"),
        (
            format!("check {h} 'function(\"*\").call' --format json"),
            "points",
        ),
        (format!("survey {h} --format json"), "functions"),
    ] {
        let piped = dir.path().join("piped.json");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("{exe} {args} -o {}", arg(&piped)))
            .status()
            .unwrap();
        assert!(status.code() == Some(0) || status.code() == Some(1));
        let report = dir.path().join("tty.json");
        // stderr on the terminal, stdout not.
        let seen = on_a_terminal(&format!("{exe} {args} > {}", arg(&report)));
        // Drawn: a count out of a total, a rate and the time left, then
        // erased (the last thing on the line is the erase sequence).
        let draws: Vec<&str> = seen.split('\r').filter(|d| d.contains(unit)).collect();
        assert!(!draws.is_empty(), "{args}: no bar in {seen:?}");
        let last = draws.last().unwrap();
        assert!(
            last.contains(&format!(" {unit}, ")) && last.contains("/s, ETA "),
            "{args}: {last:?}"
        );
        let (drawn, erased) = (seen.rfind(unit).unwrap(), seen.rfind("\x1b[2K").unwrap());
        assert!(erased > drawn, "{args}: not erased: {seen:?}");
        // The report (stdout) is the one written without a terminal.
        assert_eq!(
            std::fs::read(&report).unwrap(),
            std::fs::read(&piped).unwrap(),
            "{args}"
        );
        // stdout on the terminal, stderr not: the terminal gets the report
        // and nothing else.
        let seen = on_a_terminal(&format!("{exe} {args} 2>/dev/null"));
        let report = std::fs::read_to_string(&piped).unwrap();
        assert_eq!(seen.replace("\r\n", "\n"), report, "{args}");
    }
}
