//! The subcommands.

use std::process::ExitCode;

use anyhow::Result;

use probesafe::detect::DynamicOptions;
use probesafe::hazard::{Analyzer, Blacklist, Selection};
use probesafe::load::Binary;
use probesafe::point::PointSpec;
use probesafe::report::{render_text, BinaryInfo, Layout, Report, Verdict};
use probesafe::Error;

use super::args::{Cli, Command, Common, FailOn, Format};
use super::output::emit;
use super::trace;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
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

fn parse_specs(specs: &[String]) -> Result<Vec<PointSpec>, Error> {
    specs.iter().map(|s| s.parse()).collect()
}

fn open(path: &std::path::Path, common: &Common) -> Result<Binary> {
    let binary = Binary::open(path)?;
    if let Some(expected) = &common.expect_build_id {
        let actual = binary.build_id_hex();
        if actual.as_deref() != Some(expected.to_ascii_lowercase().as_str()) {
            return Err(Error::BuildIdMismatch {
                path: path.to_owned(),
                expected: expected.clone(),
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
    let mut analyzer = Analyzer::new(binary, blacklist);
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
