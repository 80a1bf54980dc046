//! The documented fan-outs run as written: the probesafe commands of
//! docs/examples/github-actions-shards.yml (a strategy matrix) and of
//! docs/examples/k8s-indexed-job.yaml (an Indexed Job) are executed with a
//! shell, one per shard, the binary replaced by a corpus fixture; their
//! merge step must give exactly the report of one unsharded run.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The `probesafe ...` commands of an example file, in order.
fn commands(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let at = line.find("probesafe ")?;
            // Comments name probesafe too; commands follow `run:` or `- `.
            let before = line[..at].trim();
            (before.ends_with("run:") || before == "-").then(|| line[at..].trim().to_string())
        })
        .collect()
}

/// Run one command line with `sh -c` in `dir`, with the probesafe under
/// test first on PATH and `env` set; panics on a failing exit.
fn sh(dir: &Path, line: &str, env: &[(&str, String)]) {
    let exe = Path::new(env!("CARGO_BIN_EXE_probesafe"));
    let path = format!(
        "{}:{}",
        exe.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("sh runs");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "`{line}` failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The unsharded report of the fuzz command, as the merge must give it.
fn unsharded(fuzz: &str, binary: &str) -> Vec<u8> {
    let cases = fuzz
        .split_whitespace()
        .skip_while(|w| *w != "--cases")
        .nth(1)
        .expect("the example sets --cases");
    let out = probesafe(["fuzz", binary, "--cases", cases, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out.stdout
}

const FIXTURE: &str = "aarch64-lse/hazards.so";

#[test]
fn github_actions_matrix_as_documented() {
    let text =
        std::fs::read_to_string(root().join("docs/examples/github-actions-shards.yml")).unwrap();
    let matrix = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("matrix: { shard: ["))
        .and_then(|l| l.strip_suffix("] }"))
        .expect("a shard matrix");
    let shards: Vec<usize> = matrix
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let commands = commands(&text);
    let (fuzz, merges) = commands.split_first().expect("a fuzz command");
    assert!(fuzz.starts_with("probesafe fuzz build/vmlinux "), "{fuzz}");
    assert!(
        fuzz.contains(&format!("--shard ${{{{ matrix.shard }}}}/{}", shards.len())),
        "the shard count is the matrix size: {fuzz}"
    );
    assert_eq!(shards, (0..shards.len()).collect::<Vec<_>>());

    let dir = tempfile::tempdir().unwrap();
    let binary = arg(&fixture(FIXTURE));
    for i in &shards {
        let line = fuzz
            .replace("${{ matrix.shard }}", &i.to_string())
            .replace("build/vmlinux", &binary);
        sh(dir.path(), &line, &[]);
    }
    assert!(!merges.is_empty());
    for line in merges {
        sh(dir.path(), line, &[]);
    }
    let merged = std::fs::read(dir.path().join("report.json")).unwrap();
    assert!(
        merged == unsharded(fuzz, &binary),
        "the merged matrix differs from the unsharded run"
    );
    let sarif = std::fs::read_to_string(dir.path().join("probesafe.sarif")).unwrap();
    assert!(sarif.contains("\"version\": \"2.1.0\""), "{sarif}");
}

#[test]
fn kubernetes_indexed_job_as_documented() {
    let text = std::fs::read_to_string(root().join("docs/examples/k8s-indexed-job.yaml")).unwrap();
    assert!(text.contains("completionMode: Indexed"));
    let completions: usize = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions: "))
        .expect("completions")
        .parse()
        .unwrap();
    let commands = commands(&text);
    assert_eq!(commands.len(), 2, "{commands:?}");
    let (fuzz, merge) = (&commands[0], &commands[1]);
    assert!(
        fuzz.contains(&format!("--shard ${{JOB_COMPLETION_INDEX}}/{completions}")),
        "the shard count is the number of completions: {fuzz}"
    );

    // /work is the shared volume: a temporary directory here.
    let dir = tempfile::tempdir().unwrap();
    let work = arg(dir.path());
    std::fs::copy(fixture(FIXTURE), dir.path().join("vmlinux")).unwrap();
    let fuzz = fuzz.replace("/work/", &format!("{work}/"));
    for i in 0..completions {
        sh(
            dir.path(),
            &fuzz,
            &[("JOB_COMPLETION_INDEX", i.to_string())],
        );
    }
    // A restarted pod resumes from its checkpoint and writes the same shard.
    let first = std::fs::read(dir.path().join("shard-0.json")).unwrap();
    sh(dir.path(), &fuzz, &[("JOB_COMPLETION_INDEX", "0".into())]);
    assert!(first == std::fs::read(dir.path().join("shard-0.json")).unwrap());

    sh(
        dir.path(),
        &merge.replace("/work/", &format!("{work}/")),
        &[],
    );
    let merged = std::fs::read(dir.path().join("report.json")).unwrap();
    assert!(
        merged == unsharded(&fuzz, &arg(&dir.path().join("vmlinux"))),
        "the merged Job differs from the unsharded run"
    );
}
