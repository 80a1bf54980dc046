//! Each evidence struct, built by hand, is written as the exact JSON the
//! reports held before the evidence was typed (the samples are taken from
//! the corpora's reports, or from the `json!` forms the code wrote), and
//! reads back to the same value.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::report::{Confirmed, FindingKind};

/// `evidence` serialises to `json` (compact, keys sorted, as the report
/// writes the object) and reads back from it.
fn same<T: Evidence + PartialEq + std::fmt::Debug>(evidence: &T, json: &str) {
    let text = serde_json::to_string(&Value::Object(evidence.to_map())).unwrap();
    assert_eq!(text, json);
    let finding = Finding {
        kind: FindingKind::EmulationLimit,
        confirmed: Confirmed::Static,
        detail: String::new(),
        evidence: serde_json::from_str(json).unwrap(),
    };
    assert_eq!(T::of(&finding).as_ref(), Some(evidence));
}

fn aarch64_witness(start: u64, shrink_steps: Option<u32>) -> WitnessEvidence {
    let regs = [
        ("x0", "0x7e00002a4038"),
        ("x1", "0x7e00002101b8"),
        ("x2", "0x3"),
        ("x3", "0xd"),
        ("x4", "0x2"),
        ("x5", "0x9"),
        ("x6", "0x6"),
        ("x7", "0x8"),
    ];
    WitnessEvidence {
        seed: 24301,
        case: 0,
        start: Hex(start),
        registers: Some(
            regs.iter()
                .map(|(r, v)| ((*r).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        shrink_steps,
    }
}

const AARCH64_REGS: &str = r#"{"x0":"0x7e00002a4038","x1":"0x7e00002101b8","x2":"0x3","x3":"0xd","x4":"0x2","x5":"0x9","x6":"0x6","x7":"0x8"}"#;

#[test]
fn llsc_window_confirmed() {
    let e = LlscEvidence {
        load_linked: Some(Hex(0x401030)),
        store_conditional: vec![Hex(0x401038)],
        role: WindowRole::LoadLinked,
        window: Some(LlscWindow {
            window_instructions: 3,
            window_first: Hex(0x401030),
            window_last: Hex(0x401038),
        }),
        dynamic: Some(WindowDynamic {
            outcome: Outcome::Confirmed,
            trials: Some(8),
            reached: Some(8),
            start: Some("function entry".into()),
            store_conditional: Some(ScFailure {
                store_conditional: Hex(0x401038),
                failed_attempts: 2,
                succeeded_after_trap: 0,
            }),
            abort: None,
            progress: Some("none".into()),
            proof: Some(
                "the same full state recurred at 0x401030 after 1 hit(s): an infinite loop".into(),
            ),
            hits: Some(3),
            witness: Some(aarch64_witness(0x401030, None)),
            exits: None,
        }),
    };
    same(
        &e,
        &format!(
            r#"{{"dynamic":{{"failed_attempts":2,"hits":3,"outcome":"confirmed","progress":"none","proof":"the same full state recurred at 0x401030 after 1 hit(s): an infinite loop","reached":8,"start":"function entry","store_conditional":"0x401038","succeeded_after_trap":0,"trials":8,"witness":{{"case":0,"registers":{AARCH64_REGS},"seed":24301,"start":"0x401030"}}}},"load_linked":"0x401030","role":"load-linked","store_conditional":["0x401038"],"window_first":"0x401030","window_instructions":3,"window_last":"0x401038"}}"#
        ),
    );
}

#[test]
fn llsc_window_not_confirmed_and_static() {
    let mut e = LlscEvidence {
        load_linked: Some(Hex(0x10)),
        store_conditional: vec![Hex(0x18), Hex(0x20)],
        role: WindowRole::Inside,
        window: Some(LlscWindow {
            window_instructions: 4,
            window_first: Hex(0x10),
            window_last: Hex(0x20),
        }),
        dynamic: None,
    };
    same(
        &e,
        r#"{"load_linked":"0x10","role":"inside","store_conditional":["0x18","0x20"],"window_first":"0x10","window_instructions":4,"window_last":"0x20"}"#,
    );
    e.role = WindowRole::StoreConditional;
    e.dynamic = Some(WindowDynamic {
        outcome: Outcome::Inconclusive,
        trials: Some(8),
        reached: Some(2),
        start: Some("function entry".into()),
        exits: Some(vec!["returned".into(), "budget".into()]),
        ..WindowDynamic::default()
    });
    same(
        &e,
        r#"{"dynamic":{"exits":["returned","budget"],"outcome":"inconclusive","reached":2,"start":"function entry","trials":8},"load_linked":"0x10","role":"store-conditional","store_conditional":["0x18","0x20"],"window_first":"0x10","window_instructions":4,"window_last":"0x20"}"#,
    );
}

#[test]
fn llsc_discovered_with_a_shrunk_witness() {
    let mut w = aarch64_witness(0x260, Some(57));
    w.registers = Some(
        (0..8)
            .map(|i| {
                let v = if i < 2 { "0x7e0000000000" } else { "0x0" };
                (format!("x{i}"), v.to_owned())
            })
            .collect(),
    );
    let e = LlscEvidence {
        load_linked: None,
        store_conditional: vec![Hex(0x270)],
        role: WindowRole::Discovered,
        window: None,
        dynamic: Some(WindowDynamic {
            outcome: Outcome::Confirmed,
            store_conditional: Some(ScFailure {
                store_conditional: Hex(0x270),
                failed_attempts: 2,
                succeeded_after_trap: 0,
            }),
            progress: Some("none".into()),
            proof: Some(
                "the same full state recurred at 0x264 after 1 hit(s): an infinite loop".into(),
            ),
            hits: Some(3),
            witness: Some(w),
            ..WindowDynamic::default()
        }),
    };
    same(
        &e,
        r#"{"dynamic":{"failed_attempts":2,"hits":3,"outcome":"confirmed","progress":"none","proof":"the same full state recurred at 0x264 after 1 hit(s): an infinite loop","store_conditional":"0x270","succeeded_after_trap":0,"witness":{"case":0,"registers":{"x0":"0x7e0000000000","x1":"0x7e0000000000","x2":"0x0","x3":"0x0","x4":"0x0","x5":"0x0","x6":"0x0","x7":"0x0"},"seed":24301,"shrink_steps":57,"start":"0x260"}},"role":"discovered","store_conditional":["0x270"]}"#,
    );
}

#[test]
fn transaction_window_confirmed_unreached_and_discovered() {
    let window = TmWindow {
        end: vec![Hex(0xcb4)],
        fallback: None,
        window_instructions: 6,
    };
    let e = TmEvidence {
        begin: Hex(0xca0),
        role: WindowRole::Begin,
        window: Some(window.clone()),
        dynamic: Some(WindowDynamic {
            outcome: Outcome::Confirmed,
            trials: Some(8),
            reached: Some(8),
            start: Some("function entry".into()),
            abort: Some(TrapAbort {
                at: Some(AbortAt {
                    abort_at: Hex(0xca0),
                    status: Hex(0x400000),
                    handler_ran: true,
                    resumed_at: Hex(0xca4),
                }),
                aborts: 1,
            }),
            progress: Some("fallback".into()),
            proof: Some("the region returned on another path".into()),
            hits: Some(1),
            witness: Some(aarch64_witness(0xca0, None)),
            ..WindowDynamic::default()
        }),
    };
    same(
        &e,
        &format!(
            r#"{{"begin":"0xca0","dynamic":{{"abort_at":"0xca0","aborts":1,"handler_ran":true,"hits":1,"outcome":"confirmed","progress":"fallback","proof":"the region returned on another path","reached":8,"resumed_at":"0xca4","start":"function entry","status":"0x400000","trials":8,"witness":{{"case":0,"registers":{AARCH64_REGS},"seed":24301,"start":"0xca0"}}}},"end":["0xcb4"],"fallback":null,"role":"begin","window_instructions":6}}"#
        ),
    );
    let e = TmEvidence {
        begin: Hex(0xcf4),
        role: WindowRole::End,
        window: Some(TmWindow {
            end: vec![Hex(0xd08), Hex(0xd10)],
            fallback: Some(Hex(0xd20)),
            window_instructions: 7,
        }),
        dynamic: Some(WindowDynamic {
            outcome: Outcome::Unreached,
            trials: Some(4),
            reached: Some(0),
            start: Some("function entry".into()),
            ..WindowDynamic::default()
        }),
    };
    same(
        &e,
        r#"{"begin":"0xcf4","dynamic":{"outcome":"unreached","reached":0,"start":"function entry","trials":4},"end":["0xd08","0xd10"],"fallback":"0xd20","role":"end","window_instructions":7}"#,
    );
    let e = TmEvidence {
        begin: Hex(0x267),
        role: WindowRole::Discovered,
        window: None,
        dynamic: Some(WindowDynamic {
            outcome: Outcome::Confirmed,
            abort: Some(TrapAbort {
                at: Some(AbortAt {
                    abort_at: Hex(0x267),
                    status: Hex(0x10),
                    handler_ran: true,
                    resumed_at: Hex(0x27a),
                }),
                aborts: 1,
            }),
            hits: Some(1),
            witness: Some(WitnessEvidence {
                seed: 24301,
                case: 0,
                start: Hex(0x260),
                registers: Some(BTreeMap::from([(
                    "rdi".to_owned(),
                    "0x7e0000000000".to_owned(),
                )])),
                shrink_steps: Some(50),
            }),
            ..WindowDynamic::default()
        }),
    };
    same(
        &e,
        r#"{"begin":"0x267","dynamic":{"abort_at":"0x267","aborts":1,"handler_ran":true,"hits":1,"outcome":"confirmed","resumed_at":"0x27a","status":"0x10","witness":{"case":0,"registers":{"rdi":"0x7e0000000000"},"seed":24301,"shrink_steps":50,"start":"0x260"}},"role":"discovered"}"#,
    );
}

#[test]
fn tail_call_exits() {
    let mut e = TailCallEvidence {
        jump: Hex(0x1010),
        target: Some(Hex(0x2000)),
        how: TailJump::Direct {
            target_symbol: Some("callee".into()),
            dwarf_call_site: None,
        },
        dynamic: None,
    };
    same(
        &e,
        r#"{"dwarf_call_site":null,"jump":"0x1010","target":"0x2000","target_symbol":"callee"}"#,
    );
    e.dynamic = Some(TailCallDynamic {
        outcome: Outcome::Confirmed,
        left: Some(LeftThrough {
            returned_at: None,
            returned_in: None,
            end: Some("budget".into()),
            witness: WitnessEvidence {
                seed: 1,
                case: 2,
                start: Hex(0x1000),
                registers: Some(BTreeMap::new()),
                shrink_steps: None,
            },
        }),
    });
    same(
        &e,
        r#"{"dwarf_call_site":null,"dynamic":{"end":"budget","outcome":"confirmed","returned_at":null,"returned_in":null,"witness":{"case":2,"registers":{},"seed":1,"start":"0x1000"}},"jump":"0x1010","target":"0x2000","target_symbol":"callee"}"#,
    );
    let e = TailCallEvidence {
        jump: Hex(0x1010),
        target: None,
        how: TailJump::Indirect {
            instruction: "br x16".into(),
        },
        dynamic: Some(TailCallDynamic {
            outcome: Outcome::Refuted,
            left: None,
        }),
    };
    same(
        &e,
        r#"{"dynamic":{"outcome":"refuted"},"instruction":"br x16","jump":"0x1010","target":null}"#,
    );
}

#[test]
fn recursion_and_machinery() {
    let e = RecursionEvidence {
        chain: vec![
            ChainStep {
                address: Hex(0x10),
                symbol: Some("f+0x0".into()),
            },
            ChainStep {
                address: Hex(0x99),
                symbol: None,
            },
        ],
        trials: 8,
        reached: 3,
        witness: WitnessEvidence {
            seed: 5,
            case: 1,
            start: Hex(0x10),
            registers: Some(BTreeMap::new()),
            shrink_steps: None,
        },
    };
    same(
        &e,
        r#"{"chain":[{"address":"0x10","symbol":"f+0x0"},{"address":"0x99","symbol":null}],"reached":3,"trials":8,"witness":{"case":1,"registers":{},"seed":5,"start":"0x10"}}"#,
    );
    let e = MachineryEvidence {
        phase: "trap".into(),
        root: "kprobe_breakpoint_handler".into(),
        root_source: "arch/arm64/kernel/probes/kprobes.c".into(),
        chain: vec![
            MachineryLink {
                symbol: "kprobe_breakpoint_handler".into(),
                site: None,
                edge: None,
            },
            MachineryLink {
                symbol: "tail_target".into(),
                site: Some(Hex(0xffff8000800001b4)),
                edge: Some("tail-call".into()),
            },
        ],
    };
    same(
        &e,
        r#"{"chain":[{"edge":null,"site":null,"symbol":"kprobe_breakpoint_handler"},{"edge":"tail-call","site":"0xffff8000800001b4","symbol":"tail_target"}],"phase":"trap","root":"kprobe_breakpoint_handler","root_source":"arch/arm64/kernel/probes/kprobes.c"}"#,
    );
}

#[test]
fn static_kinds() {
    same(
        &InlineCopyEvidence {
            origin: "nokprobe_inlined".into(),
            caller: "inline_caller".into(),
            entry: Hex(0xffff800080000280),
            start: Hex(0xffff800080000280),
            end: Hex(0xffff8000800002b0),
            call_file: Some("src/machinery.c".into()),
            call_line: Some(65),
        },
        r#"{"call_file":"src/machinery.c","call_line":65,"caller":"inline_caller","end":"0xffff8000800002b0","entry":"0xffff800080000280","origin":"nokprobe_inlined","start":"0xffff800080000280"}"#,
    );
    same(
        &BlacklistedEvidence {
            source: "NOKPROBE_SYMBOL: entry at 0x3010 in _kprobe_blacklist".into(),
            start: Hex(0xa80),
            end: Hex(0xab0),
            symbol: Some("nokprobe_a".into()),
        },
        r#"{"end":"0xab0","source":"NOKPROBE_SYMBOL: entry at 0x3010 in _kprobe_blacklist","start":"0xa80","symbol":"nokprobe_a"}"#,
    );
    same(
        &BoundaryEvidence {
            alignment: 4,
            instruction: None,
            text: None,
        },
        r#"{"alignment":4,"instruction":null,"text":null}"#,
    );
    same(
        &BoundaryEvidence {
            alignment: 1,
            instruction: Some(Hex(0x1000)),
            text: Some("mov eax, 1".into()),
        },
        r#"{"alignment":1,"instruction":"0x1000","text":"mov eax, 1"}"#,
    );
    same(&UndecodableEvidence { length: 4 }, r#"{"length":4}"#);
    same(
        &UnsteppableEvidence {
            instruction: "svc #0".into(),
            reason: "exception-generating instruction".into(),
        },
        r#"{"instruction":"svc #0","reason":"exception-generating instruction"}"#,
    );
    same(
        &IfuncEvidence {
            function: "resolve_fast".into(),
        },
        r#"{"function":"resolve_fast"}"#,
    );
    same(
        &PastSizeEvidence {
            symbol: "f".into(),
            size: 16,
            offset: 20,
            next_symbol: None,
            extent_end: Hex(0x40),
        },
        r#"{"extent_end":"0x40","next_symbol":null,"offset":20,"size":16,"symbol":"f"}"#,
    );
    same(
        &InlinedSiteEvidence {
            caller: "driver_main".into(),
            chain: vec![InlineFrame {
                function: "splitmix64".into(),
                entry: Hex(0x4001d8),
                call_file: Some("src/diffdriver.c".into()),
                call_line: Some(203),
            }],
            params_with_location: None,
            params_without_location: Some(vec!["x".into()]),
        },
        r#"{"caller":"driver_main","chain":[{"call_file":"src/diffdriver.c","call_line":203,"entry":"0x4001d8","function":"splitmix64"}],"params_with_location":null,"params_without_location":["x"]}"#,
    );
    let views = ViewsEvidence {
        views: vec![
            View {
                function: "driver_main".into(),
                file: Some("src/diffdriver.c".into()),
                line: Some(203),
            },
            View {
                function: "splitmix64".into(),
                file: None,
                line: None,
            },
        ],
    };
    same(
        &views,
        r#"{"views":[{"file":"src/diffdriver.c","function":"driver_main","line":203},{"file":null,"function":"splitmix64","line":null}]}"#,
    );
    assert_eq!(views.views[0].text(), "driver_main src/diffdriver.c:203");
    assert_eq!(views.views[1].text(), "splitmix64 ?:null");
    same(&NoEvidence {}, "{}");
}

#[test]
fn write_checks() {
    let mut e = WriteEvidence {
        variable: "n".into(),
        scope: "f".into(),
        locations: vec![LocationText {
            kind: "register".into(),
            text: "x19".into(),
        }],
        value: "the value there plus one".into(),
        ..WriteEvidence::default()
    };
    same(
        &e,
        r#"{"locations":[{"kind":"register","text":"x19"}],"scope":"f","value":"the value there plus one","variable":"n"}"#,
    );
    e.drawn = Some(12);
    e.trials = Some(8);
    e.reached = Some(8);
    e.call_arguments = Some(vec![2, 4]);
    e.calls_before_point = Some(0);
    e.before = Some(Hex(3));
    e.written = Some(Hex(4));
    e.also_in = Some(vec!["x0".into()]);
    e.written_locations = Some(vec!["x19".into()]);
    e.cut = Some(0);
    e.compared = Some(vec![0, 1]);
    e.changes = Some(BTreeMap::from([(
        "1".to_owned(),
        vec!["return value".to_owned()],
    )]));
    e.changed = Some(BTreeSet::from(["return value".to_owned()]));
    e.each = Some(vec![LocationChanged {
        location: "x19".into(),
        changed: BTreeSet::new(),
    }]);
    e.witness_changed = Some(vec!["return value".into()]);
    e.reference = Some(WriteReference {
        binary: "ref".into(),
        line: "a.c:3".into(),
        points: Some(vec!["0x10".into()]),
        changed: Some(BTreeSet::new()),
        undecided: None,
    });
    e.missing = Some(vec![]);
    e.extra = Some(vec!["call 0 argument 1".into()]);
    same(
        &e,
        r#"{"also_in":["x0"],"before":"0x3","call_arguments":[2,4],"calls_before_point":0,"changed":["return value"],"changes":{"1":["return value"]},"compared":[0,1],"cut":0,"drawn":12,"each":[{"changed":[],"location":"x19"}],"extra":["call 0 argument 1"],"locations":[{"kind":"register","text":"x19"}],"missing":[],"reached":8,"reference":{"binary":"ref","changed":[],"line":"a.c:3","points":["0x10"]},"scope":"f","trials":8,"value":"the value there plus one","variable":"n","witness_changed":["return value"],"written":"0x4","written_locations":["x19"]}"#,
    );
    e.reference = Some(WriteReference {
        binary: "ref".into(),
        line: "a.c:3".into(),
        points: None,
        changed: None,
        undecided: Some(vec!["0x10: why".into()]),
    });
    let text = serde_json::to_string(&e.to_map()["reference"]).unwrap();
    assert_eq!(
        text,
        r#"{"binary":"ref","line":"a.c:3","undecided":["0x10: why"]}"#
    );
}

#[test]
fn balance() {
    let mut e = BalanceEvidence {
        function: "fib".into(),
        inputs: vec![BalanceInput {
            case: 0,
            entries: 3,
            returns: 3,
        }],
        reference: None,
    };
    same(
        &e,
        r#"{"function":"fib","inputs":[{"case":0,"entries":3,"returns":3}]}"#,
    );
    e.reference = Some(BalanceReference {
        binary: "ref".into(),
        inputs: vec![],
    });
    same(
        &e,
        r#"{"function":"fib","inputs":[{"case":0,"entries":3,"returns":3}],"reference":{"binary":"ref","inputs":[]}}"#,
    );
}

/// A finding of another kind does not read as window evidence.
#[test]
fn other_kinds_do_not_read_as_windows() {
    let f = Finding::new(
        FindingKind::IfuncResolver,
        Confirmed::Static,
        "x",
        &IfuncEvidence {
            function: "f".into(),
        },
    );
    assert!(LlscEvidence::of(&f).is_none());
    assert!(TmEvidence::of(&f).is_none());
    assert!(!has_dynamic_part(&f));
}
