//! `probesafe diff` on the corpora's kernel pairs (vmlinux against
//! vmlinux-alt, per target): the text form groups the changes by category
//! in order of importance with their counts, tells a moved source line as
//! what changed (`-f`, `+f`, `f: a -> b`), caps each category unless
//! `--all`, and agrees with the JSON form, which holds every change.

mod common;

use std::collections::BTreeMap;

use common::{arg, fixture, probesafe, stderr};

const TARGETS: [&str; 4] = ["x86_64", "aarch64", "ppc64", "ppc64le"];

/// The text form's category headings and the JSON `change` tag of each,
/// most important first.
const CATEGORIES: [(&str, &str, &str); 9] = [
    ("lost-call", "lost .call", "lost .call"),
    ("lost-return", "lost .return", "lost .return"),
    ("blacklist", "blacklist change", "blacklist changes"),
    ("new-clone", "new clone", "new clones"),
    ("vanished-clone", "vanished clone", "vanished clones"),
    ("inline-count", "inline count", "inline counts"),
    ("gained-call", "gained .call", "gained .call"),
    ("gained-return", "gained .return", "gained .return"),
    ("line", "line moved", "lines moved"),
];

fn run(args: &[&str]) -> String {
    let out = probesafe(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn pair(target: &str) -> (String, String) {
    (
        arg(&fixture(&format!("{target}/vmlinux"))),
        arg(&fixture(&format!("{target}/vmlinux-alt"))),
    )
}

/// The rows of a category's section (the lines indented under its
/// heading), with the heading.
fn section<'a>(text: &'a str, heading: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let mut lines = text.lines();
    let head = lines.find(|l| l.starts_with(&format!("{heading} (")))?;
    Some((head, lines.take_while(|l| l.starts_with("  ")).collect()))
}

/// The counts per category in the JSON form, checked against its changes.
fn json_counts(json: &serde_json::Value) -> BTreeMap<String, usize> {
    let changes = json["changes"].as_array().unwrap();
    let categories = json["categories"].as_array().unwrap();
    let keys: Vec<&str> = categories
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        CATEGORIES.map(|c| c.0),
        "every category, most important first"
    );
    let mut counts = BTreeMap::new();
    for c in categories {
        let key = c["category"].as_str().unwrap();
        let n = changes.iter().filter(|x| x["change"] == key).count();
        assert_eq!(c["count"], n, "{key}");
        counts.insert(key.to_owned(), n);
    }
    assert_eq!(counts.values().sum::<usize>(), changes.len());
    counts
}

/// The summary line and the headings give each category's count, the
/// sections come most important first, and the kernel pairs hold what
/// their sources make them hold (vmlinux-alt keeps none of vmlinux's
/// blacklist functions and adds alt_user and after_alt).
#[test]
fn categories_are_counted_and_ordered() {
    for target in TARGETS {
        let (a, b) = pair(target);
        let text = run(&["diff", &a, &b]);
        let json: serde_json::Value =
            serde_json::from_str(&run(&["diff", &a, &b, "--format", "json"])).unwrap();
        let counts = json_counts(&json);
        assert_eq!(counts["lost-call"], 7, "{target}");
        assert_eq!(counts["lost-return"], 7, "{target}");
        assert_eq!(counts["gained-call"], 2, "{target}");
        assert_eq!(counts["gained-return"], 2, "{target}");
        assert!(counts["line"] > 20, "{target}: {counts:?}");
        let summary: Vec<String> = CATEGORIES
            .iter()
            .filter(|c| counts[c.0] > 0)
            .map(|c| match counts[c.0] {
                1 => format!("1 {}", c.1),
                n => format!("{n} {}", c.2),
            })
            .collect();
        let total = json["changes"].as_array().unwrap().len();
        let want = format!("{total} changes: {}", summary.join(", "));
        assert_eq!(
            text.lines().nth(3),
            Some(want.as_str()),
            "{target}:\n{text}"
        );
        let mut last = 0;
        for (key, heading, _) in CATEGORIES {
            match section(&text, heading) {
                Some((head, _)) => {
                    assert!(counts[key] > 0, "{target}: {head}");
                    assert!(
                        head.starts_with(&format!("{heading} ({}", counts[key])),
                        "{target}: {head}"
                    );
                    let at = text.find(head).unwrap();
                    assert!(at > last, "{target}: {heading} out of order");
                    last = at;
                }
                None => assert_eq!(counts[key], 0, "{target}: no {heading} section"),
            }
        }
        let (_, lost) = section(&text, "lost .call").unwrap();
        assert_eq!(
            lost,
            [
                "  entry_func",
                "  irqentry_func",
                "  kp_func",
                "  noinstr_func",
                "  nokprobe_a",
                "  nokprobe_b",
                "  not_blacklisted"
            ],
            "{target}"
        );
        let (_, gained) = section(&text, "gained .call").unwrap();
        assert_eq!(gained, ["  after_alt", "  alt_user"], "{target}");
        // Their .return goes with their .call: not repeated unless --all.
        let (head, rows) = section(&text, "lost .return").unwrap();
        assert!(
            head.starts_with("lost .return (7, 7 of them under lost .call too): "),
            "{target}: {head}"
        );
        assert_eq!(
            rows,
            ["  ... 7 lost .return rows left out: the functions under lost .call (--all shows them)"],
            "{target}"
        );
        let all = run(&["diff", &a, &b, "--all"]);
        assert_eq!(
            section(&all, "lost .return").unwrap().1,
            lost,
            "{target}: --all lists them"
        );
        assert_eq!(
            section(&all, "gained .return").unwrap().1,
            gained,
            "{target}"
        );
    }
}

/// A moved line is told as what changed: each function only in a as
/// `-name`, only in b as `+name`, with its count of addresses when more
/// than one, and a count that changed as `name: a -> b`; never the maps of
/// both sides. Checked on every line change of the JSON form (`--all`).
#[test]
fn moved_lines_print_what_changed() {
    for target in TARGETS {
        let (a, b) = pair(target);
        let text = run(&["diff", &a, &b, "--all"]);
        let json: serde_json::Value =
            serde_json::from_str(&run(&["diff", &a, &b, "--format", "json"])).unwrap();
        let (_, rows) = section(&text, "line moved").unwrap();
        let changes: Vec<&serde_json::Value> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["change"] == "line")
            .collect();
        assert_eq!(rows.len(), changes.len(), "{target}");
        for c in changes {
            let line = c["line"].as_str().unwrap();
            let row = rows
                .iter()
                .find(|r| r.starts_with(&format!("  {line}: ")))
                .unwrap_or_else(|| panic!("{target}: no row for {line}"));
            let (before, after) = (
                c["before"].as_object().unwrap(),
                c["after"].as_object().unwrap(),
            );
            let count = |n: u64| {
                if n > 1 {
                    format!(" ({n})")
                } else {
                    String::new()
                }
            };
            let mut want = Vec::new();
            for (name, n) in before {
                if !after.contains_key(name) {
                    want.push(format!("-{name}{}", count(n.as_u64().unwrap())));
                }
            }
            for (name, n) in after {
                match before.get(name) {
                    None => want.push(format!("+{name}{}", count(n.as_u64().unwrap()))),
                    Some(m) if m != n => want.push(format!("{name}: {m} -> {n}")),
                    Some(_) => {}
                }
            }
            assert!(!want.is_empty(), "{target}: {line} did not change");
            let got = row.trim_start().strip_prefix(&format!("{line}: ")).unwrap();
            let mut got: Vec<&str> = got.split(", ").collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{target}: {row}");
        }
    }
    // The kernel pair's own rows, as text.
    let (a, b) = pair("aarch64");
    let text = run(&["diff", &a, &b, "--all"]);
    for row in [
        "  src/blacklist.c:31: -kp_func (8)",
        "  src/start.c:19: -_start (4)",
        "  src/alt_aarch64.S:23: +alt_user",
        "  src/alt_aarch64.S:45: +after_alt",
    ] {
        assert!(text.lines().any(|l| l == row), "{row} missing:\n{text}");
    }
    assert!(!text.contains('{'), "a map printed:\n{text}");
}

/// The text form prints 20 rows of a category and says how many it left
/// out; `--all` prints every row and leaves nothing out.
#[test]
fn the_text_is_capped_unless_all() {
    for target in TARGETS {
        let (a, b) = pair(target);
        let json: serde_json::Value =
            serde_json::from_str(&run(&["diff", &a, &b, "--format", "json"])).unwrap();
        let counts = json_counts(&json);
        let total = json["changes"].as_array().unwrap().len();
        let lines = counts["line"];
        let capped = run(&["diff", &a, &b]);
        let (_, rows) = section(&capped, "line moved").unwrap();
        assert_eq!(rows.len(), 21, "{target}: 20 rows and the note");
        assert_eq!(
            rows[20],
            format!(
                "  ... {} more line moved rows left out (--all shows them)",
                lines - 20
            ),
            "{target}"
        );
        // Left out: the lines over 20, and the .return rows of functions
        // under lost or gained .call.
        let left = lines - 20 + counts["lost-return"] + counts["gained-return"];
        assert_eq!(
            capped.lines().last().unwrap(),
            format!("{total} changes, {left} rows left out (--all prints every row)"),
            "{target}"
        );
        assert_eq!(
            capped.lines().filter(|l| l.starts_with("  ")).count(),
            total - left + 3,
            "{target}: the rows printed and three notes"
        );
        let all = run(&["diff", &a, &b, "--all"]);
        let (_, rows) = section(&all, "line moved").unwrap();
        assert_eq!(rows.len(), lines, "{target}");
        assert!(!all.contains("left out"), "{target}");
        assert_eq!(all.lines().last().unwrap(), format!("{total} changes"));
        // Rows are printed once each: the capped text is the full one
        // with rows left out.
        let full: Vec<&str> = all.lines().collect();
        for line in capped.lines().filter(|l| !l.contains("left out")) {
            assert!(full.contains(&line), "{target}: {line}");
        }
        assert_eq!(
            all.lines().filter(|l| l.starts_with("  ")).count(),
            total,
            "{target}: one row per change"
        );
    }
}
