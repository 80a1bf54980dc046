//! `probesafe machinery` on the kernel-image fixtures (corpora/src/machinery.c):
//! the call graph from the architecture's breakpoint handler and from the
//! trace-event handler, with no `--handler`.

mod common;

use common::{fixture, probesafe};
use serde_json::Value;

const TARGETS: &[(&str, &str)] = &[
    ("x86_64", "kprobe_int3_handler"),
    ("aarch64", "kprobe_breakpoint_handler"),
    // Linked as arm64 links vmlinux: the blacklist only in .rela.dyn.
    ("aarch64", "kprobe_breakpoint_handler-pie"),
    ("aarch64-lse", "kprobe_breakpoint_handler"),
    ("ppc64", "kprobe_handler"),
    ("ppc64le", "kprobe_handler"),
];

fn summary(target: &str, root: &str, extra: &[&str]) -> Value {
    let file = if root.ends_with("-pie") {
        "machinery-pie"
    } else {
        "machinery"
    };
    let path = fixture(&format!("{target}/{file}"));
    let mut args = vec![
        "machinery".to_owned(),
        path.display().to_string(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = probesafe(&args);
    assert!(out.status.success(), "{target}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn unlisted(s: &Value) -> Vec<(String, String, Vec<String>)> {
    s["unlisted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["function"].as_str().unwrap().to_owned(),
                u["phase"].as_str().unwrap().to_owned(),
                u["chain"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_machinery_reaches_the_unlisted_helpers_and_nothing_else() {
    for &(target, root) in TARGETS {
        let s = summary(target, root, &[]);
        let root = root.trim_end_matches("-pie");
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            unlisted(&s),
            vec![
                (
                    "tail_target".into(),
                    "trap".into(),
                    strs(&[root, "unlisted_helper", "tail_target"])
                ),
                (
                    "unlisted_helper".into(),
                    "trap".into(),
                    strs(&[root, "unlisted_helper"])
                ),
                (
                    "handler_helper".into(),
                    "handler".into(),
                    strs(&["kprobe_dispatcher", "handler_helper"])
                ),
            ],
            "{target}"
        );
        // The root, the listed helper, the tail call's target and the
        // unlisted helper; the handler root and its helper.
        assert_eq!(s["trap_closure"], 4, "{target}");
        assert_eq!(s["handler_closure"], 2, "{target}");
        let copies = s["inline_copies"].as_array().unwrap();
        assert_eq!(copies.len(), 1, "{target}: {copies:?}");
        assert_eq!(copies[0]["origin"], "nokprobe_inlined", "{target}");
        assert_eq!(copies[0]["caller"], "inline_caller", "{target}");
        assert_eq!(copies[0]["caller_reached"], false, "{target}");
    }
}

#[test]
fn a_handler_root_adds_its_callees_to_the_trap_phase() {
    for &(target, root) in TARGETS {
        let s = summary(target, root, &["--handler", "inline_caller"]);
        let names: Vec<(String, String)> =
            unlisted(&s).into_iter().map(|(f, p, _)| (f, p)).collect();
        assert!(
            names.contains(&("inline_caller".into(), "trap".into())),
            "{target}: {names:?}"
        );
        let copies = s["inline_copies"].as_array().unwrap();
        assert_eq!(copies[0]["caller_reached"], true, "{target}");
    }
}

#[test]
fn a_user_space_binary_has_no_machinery() {
    // hazards.so holds a _kprobe_blacklist section but is no kernel image:
    // nothing in it is reported as the probe machinery's.
    let path = fixture("x86_64/hazards.so").display().to_string();
    let report = common::report(["scan", &path, "--static-only", "--format", "json"]);
    for p in &report.points {
        for f in &p.findings {
            let machinery = matches!(
                f.kind.name(),
                "missed-in-handler" | "blacklisted-inline-copy"
            ) || (f.kind.name() == "non-progress-recursion"
                && f.evidence.contains_key("phase"));
            assert!(!machinery, "{} at {}", f.kind.name(), p.address);
        }
    }
}
