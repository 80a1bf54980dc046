//! The subcommands.

use std::process::ExitCode;

use anyhow::Result;

use std::sync::Arc;

use probesafe::debuginfo::DebugInfo;
use probesafe::detect::DynamicOptions;
use probesafe::hazard::{Analyzer, Blacklist, Selection};
use probesafe::load::Binary;
use probesafe::point::PointSpec;
use probesafe::report::{render_text, BinaryInfo, Layout, Report, Verdict};
use probesafe::survey;
use probesafe::Error;

use super::args::{Cli, Command, Common, FailOn, Format};
use super::output::emit;
use super::trace;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Vars {
            binary,
            specs,
            format,
            output,
            debug_file,
            expect_build_id,
        } => {
            let binary = open_pinned(&binary, expect_build_id.as_deref())?;
            let specs = parse_specs(&specs)?;
            let text = super::vars::run(
                &binary,
                debug_file.as_deref(),
                &specs,
                format == Format::Json,
            )?;
            emit(output.as_deref(), &text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Survey {
            binary,
            functions,
            format,
            output,
            debug_file,
        } => {
            let binary = Binary::open(&binary)?;
            // Decoding every function and loading the DWARF are independent.
            let (debug, exits) = rayon::join(
                || DebugInfo::load(&binary, debug_file.as_deref()),
                || survey::exits_of(&binary),
            );
            let debug = debug?;
            let s = survey::survey_with(
                &binary,
                debug.as_ref(),
                &Blacklist::of(&binary),
                functions.as_deref(),
                &exits,
            )?;
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&s)? + "\n",
                Format::Text => survey::render_text(&s),
            };
            emit(output.as_deref(), &text)?;
            // A kernel's DWARF summary is millions of small allocations;
            // the process is about to exit, so do not free them one by one.
            std::mem::forget(debug);
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            a,
            b,
            format,
            output,
        } => {
            let mut sides = Vec::new();
            for path in [&a, &b] {
                let binary = Binary::open(path)?;
                let debug = DebugInfo::load(&binary, None)?;
                let s = survey::survey(&binary, debug.as_ref(), &Blacklist::of(&binary), None)?;
                let lines = debug
                    .as_ref()
                    .map(|d| survey::line_map(&binary, d))
                    .unwrap_or_default();
                sides.push((s, lines));
            }
            let changes = survey::diff(&sides[0].0, &sides[1].0, &sides[0].1, &sides[1].1);
            let text = match format {
                Format::Json => {
                    serde_json::to_string_pretty(&serde_json::json!({
                        "tool": probesafe::report::Tool::default(),
                        "a": sides[0].0.binary,
                        "b": sides[1].0.binary,
                        "totals": { "a": sides[0].0.totals, "b": sides[1].0.totals },
                        "changes": changes,
                    }))? + "\n"
                }
                Format::Text => render_diff(&sides[0].0, &sides[1].0, &changes),
            };
            emit(output.as_deref(), &text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Selftest { format } => {
            let checks = probesafe::emu::selftest::run_all();
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&checks)? + "\n",
                Format::Text => {
                    let mut s = String::new();
                    for c in &checks {
                        s += &format!(
                            "{:<8} {:<4} {:<42} {}\n",
                            c.arch.name(),
                            if c.ok { "ok" } else { "FAIL" },
                            c.name,
                            c.detail
                        );
                    }
                    let failed = checks.iter().filter(|c| !c.ok).count();
                    s += &format!(
                        "{} checks: {} passed, {} failed\n",
                        checks.len(),
                        checks.len() - failed,
                        failed
                    );
                    s
                }
            };
            emit(None, &text)?;
            Ok(if checks.iter().all(|c| c.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Scan {
            binary,
            points,
            functions,
            common,
        } => {
            let binary = open(&binary, &common)?;
            let specs = parse_specs(&points)?;
            analyse(&binary, &common, Layout::Ranges, |analyzer, selection| {
                if specs.is_empty() || !functions.is_empty() {
                    analyzer.select_all(selection, &functions)?;
                }
                for spec in &specs {
                    analyzer.select(selection, spec)?;
                }
                Ok(())
            })
        }
        Command::Check {
            binary,
            specs,
            common,
        } => {
            let binary = open(&binary, &common)?;
            let specs = parse_specs(&specs)?;
            analyse(&binary, &common, Layout::Points, |analyzer, selection| {
                for spec in &specs {
                    analyzer.select(selection, spec)?;
                }
                Ok(())
            })
        }
    }
}

fn render_diff(a: &survey::Survey, b: &survey::Survey, changes: &[survey::Change]) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "a: {} ({})\nb: {} ({})\n",
        a.binary.path, a.binary.arch, b.binary.path, b.binary.arch
    );
    let (ta, tb) = (&a.totals, &b.totals);
    let _ = writeln!(
        out,
        ".call functions {} -> {}, only inlined {} -> {}, inline instances {} -> {}, clones {} -> {}, without return probe {} -> {}",
        ta.with_call, tb.with_call, ta.only_inlined, tb.only_inlined, ta.inline_instances, tb.inline_instances, ta.clones, tb.clones, ta.without_return_probe, tb.without_return_probe
    );
    for c in changes {
        let line = match c {
            survey::Change::LostCall { function } => {
                format!("lost .call       {function}: no out-of-line copy any more")
            }
            survey::Change::GainedCall { function } => format!("gained .call     {function}"),
            survey::Change::InlineCount {
                function,
                before,
                after,
            } => format!("inline count     {function}: {before} -> {after}"),
            survey::Change::NewClone { function, clone } => {
                format!("new clone        {function}{clone}")
            }
            survey::Change::VanishedClone { function, clone } => {
                format!("vanished clone   {function}{clone}")
            }
            survey::Change::GainedReturn { function } => format!("gained .return   {function}"),
            survey::Change::LostReturn { function } => format!("lost .return     {function}"),
            survey::Change::Blacklist {
                function,
                blacklisted,
            } => {
                format!(
                    "blacklist        {function}: {}",
                    if *blacklisted {
                        "now covered"
                    } else {
                        "no longer covered"
                    }
                )
            }
            survey::Change::Line {
                line,
                before,
                after,
            } => format!("line moved       {line}: {before:?} -> {after:?}"),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{} changes", changes.len());
    out
}

fn parse_specs(specs: &[String]) -> Result<Vec<PointSpec>, Error> {
    specs.iter().map(|s| s.parse()).collect()
}

fn open(path: &std::path::Path, common: &Common) -> Result<Binary> {
    open_pinned(path, common.expect_build_id.as_deref())
}

fn open_pinned(path: &std::path::Path, expect_build_id: Option<&str>) -> Result<Binary> {
    let binary = Binary::open(path)?;
    if let Some(expected) = expect_build_id {
        let actual = binary.build_id_hex();
        if actual.as_deref() != Some(expected.to_ascii_lowercase().as_str()) {
            return Err(Error::BuildIdMismatch {
                path: path.to_owned(),
                expected: expected.to_owned(),
                actual: actual.unwrap_or_else(|| "none".into()),
            }
            .into());
        }
    }
    Ok(binary)
}

fn analyse(
    binary: &Binary,
    common: &Common,
    layout: Layout,
    select: impl FnOnce(&Analyzer<'_>, &mut Selection) -> Result<(), Error>,
) -> Result<ExitCode> {
    let mut blacklist = Blacklist::of(binary);
    for file in &common.blacklist {
        blacklist.add_file(file)?;
    }
    let mut handlers = Vec::new();
    for handler in &common.handler {
        let f = binary
            .functions
            .iter()
            .find(|f| f.has_name(handler))
            .ok_or_else(|| Error::UnknownSymbol {
                path: binary.path.clone(),
                name: handler.clone(),
            })?;
        // Entered like a call through a function pointer: the global entry
        // (ppc64 ELFv2 sets r12 to it).
        handlers.push(f.address);
    }
    let debug = DebugInfo::load(binary, common.debug_file.as_deref())?.map(Arc::new);
    let mut analyzer = Analyzer::new(binary, blacklist)
        .with_debug_info(debug)
        .with_detail(layout == Layout::Points);
    if !common.static_only {
        analyzer = analyzer.with_dynamic(DynamicOptions {
            cases: common.cases.max(1),
            seed: common.seed,
            budget: common.budget.max(1),
            handlers,
            ..DynamicOptions::default()
        });
    }
    let mut selection = Selection::default();
    select(&analyzer, &mut selection)?;
    let points = analyzer.run(&selection, common.jobs.map(usize::from))?;
    let report = Report::new(
        BinaryInfo {
            path: binary.path.display().to_string(),
            arch: binary.arch.name().to_owned(),
            build_id: binary.build_id_hex(),
        },
        points,
    );
    let text = match common.format {
        Format::Json => report.to_json(),
        Format::Text => render_text(&report, layout, common.all),
    };
    emit(common.output.as_deref(), &text)?;
    if common.trace {
        let traces = trace::render_witness_traces(&analyzer, &report)?;
        if common.format == Format::Json {
            eprint!("{traces}");
        } else {
            emit(None, &traces)?;
        }
    }
    let threshold = common.fail_on.map(|f| match f {
        FailOn::Gray => Verdict::Gray,
        FailOn::Hazardous => Verdict::Hazardous,
    });
    Ok(match threshold {
        Some(t) if report.worst() >= t => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
