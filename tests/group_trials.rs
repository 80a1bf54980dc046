//! `fuzz` lets one group trial per input (every boundary outside the static
//! windows trapping at once) stand for the one-point trials of those
//! boundaries when it shows no harm. That is an optimisation, not a change
//! of meaning: on every corpus binary the report is the same as with a
//! one-point trial per boundary and input, discovered windows included,
//! and it takes fewer trials.

mod common;

use std::sync::Arc;

use common::fixture;
use probesafe::analyze::{Analyzer, Selection};
use probesafe::detect::{DynamicOptions, InputSource};
use probesafe::emu::run::trials_run;
use probesafe::fuzz::PropInputs;
use probesafe::hazard::Blacklist;
use probesafe::load::Binary;
use probesafe::report::{BinaryInfo, Report};

/// The `fuzz` report of `binary` (every boundary, 8 cases, one worker) and
/// the trials it took.
fn fuzz(binary: &Binary, group_trials: bool) -> (String, u64) {
    let options = DynamicOptions {
        every_point: true,
        group_trials,
        inputs: Some(Arc::new(PropInputs::new(0x5eed)) as Arc<dyn InputSource>),
        ..DynamicOptions::default()
    };
    let analyzer = Analyzer::new(binary, Blacklist::of(binary)).with_dynamic(options);
    let mut selection = Selection::default();
    analyzer.select_all(&mut selection, &[]).unwrap();
    let before = trials_run();
    let points = analyzer.run(&selection, Some(1)).unwrap();
    let trials = trials_run() - before;
    let info = BinaryInfo {
        path: String::new(),
        arch: binary.arch.name().to_owned(),
        build_id: None,
    };
    (Report::new(info, points).to_json(), trials)
}

#[test]
fn group_trials_give_the_one_point_trials_report() {
    let (mut grouped, mut single) = (0, 0);
    let mut discovered = 0;
    for target in ["x86_64", "aarch64", "aarch64-lse", "ppc64", "ppc64le"] {
        for file in [
            "hazards.so",
            "hidden.so",
            "handlers.so",
            "writes-O2.so",
            "txnest.so",
        ] {
            let binary = Binary::open(&fixture(&format!("{target}/{file}"))).unwrap();
            let (a, trials_a) = fuzz(&binary, true);
            let (b, trials_b) = fuzz(&binary, false);
            if a != b {
                let dir = std::env::temp_dir();
                std::fs::write(dir.join("group-a.json"), &a).unwrap();
                std::fs::write(dir.join("group-b.json"), &b).unwrap();
            }
            assert!(a == b, "{target}/{file}: group trials change the report");
            discovered += a.matches("\"role\": \"discovered\"").count();
            grouped += trials_a;
            single += trials_b;
        }
    }
    assert!(
        discovered >= 20,
        "the hidden windows were found ({discovered})"
    );
    eprintln!("trials: {grouped} with group trials, {single} without");
    assert!(
        grouped < single,
        "{grouped} trials, {single} without groups"
    );
}
