//! The set-up every command shares: open the binary (and check its
//! build-id), its blacklist, its DWARF, the `--handler` entries, and the
//! analyzer with the dynamic options of the command line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use probesafe::debuginfo::DebugInfo;
use probesafe::detect::{DynamicOptions, InputSource, WriteRequest};
use probesafe::hazard::{Analyzer, Blacklist};
use probesafe::load::Binary;
use probesafe::report::BinaryInfo;
use probesafe::Error;

use super::args::Common;

/// How a build-id is compared with the binary's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hex {
    /// `--expect-build-id`: hex in either case.
    AnyCase,
    /// A report's build-id, as probesafe wrote it.
    AsWritten,
}

/// Open the binary at `path`; with `expect_build_id`, refuse it unless its
/// GNU build-id is that.
pub fn open(path: &Path, expect_build_id: Option<&str>) -> Result<Binary> {
    let binary = Binary::open(path)?;
    if let Some(expected) = expect_build_id {
        pin_build_id(&binary, expected, Hex::AnyCase)?;
    }
    Ok(binary)
}

/// Refuse `binary` unless its GNU build-id is `expected`.
pub fn pin_build_id(binary: &Binary, expected: &str, hex: Hex) -> Result<(), Error> {
    let actual = binary.build_id_hex();
    let matches = match hex {
        Hex::AnyCase => actual.as_deref() == Some(expected.to_ascii_lowercase().as_str()),
        Hex::AsWritten => actual.as_deref() == Some(expected),
    };
    if matches {
        return Ok(());
    }
    Err(Error::BuildIdMismatch {
        path: binary.path.clone(),
        expected: expected.to_owned(),
        actual: actual.unwrap_or_else(|| "none".into()),
    })
}

/// The binary's own blacklist with the `--blacklist` files added.
pub fn blacklist(binary: &Binary, files: &[PathBuf]) -> Result<Blacklist> {
    let mut blacklist = Blacklist::of(binary);
    for file in files {
        blacklist.add_file(file)?;
    }
    Ok(blacklist)
}

/// The entries of the `--handler` functions.
pub fn handler_entries(binary: &Binary, names: &[String]) -> Result<Vec<u64>> {
    let mut handlers = Vec::new();
    for handler in names {
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
    Ok(handlers)
}

/// What the report of a binary says about it.
pub fn binary_info(binary: &Binary) -> BinaryInfo {
    BinaryInfo {
        path: binary.path.display().to_string(),
        arch: binary.arch.name().to_owned(),
        build_id: binary.build_id_hex(),
    }
}

/// An analyzer for `binary` with the blacklist, DWARF and dynamic options
/// of `common`; `inputs` replaces the generated inputs (fuzz).
pub fn analyzer<'b>(
    binary: &'b Binary,
    common: &Common,
    detail: bool,
    inputs: Option<Arc<dyn InputSource>>,
) -> Result<Analyzer<'b>> {
    analyzer_with(binary, common, detail, inputs, true)
}

/// [`analyzer`], without loading the DWARF when `dwarf` is false.
pub fn analyzer_with<'b>(
    binary: &'b Binary,
    common: &Common,
    detail: bool,
    inputs: Option<Arc<dyn InputSource>>,
    dwarf: bool,
) -> Result<Analyzer<'b>> {
    let blacklist = blacklist(binary, &common.blacklist)?;
    let handlers = handler_entries(binary, &common.handler)?;
    let debug = if dwarf {
        DebugInfo::load(binary, common.debug_file.as_deref())?.map(Arc::new)
    } else {
        None
    };
    let mut analyzer = Analyzer::new(binary, blacklist)
        .with_debug_info(debug)
        .with_detail(detail)
        .with_machinery_roots(common.handler.clone());
    let writes = common
        .write
        .iter()
        .map(|w| w.parse())
        .collect::<Result<Vec<WriteRequest>, Error>>()?;
    if (!writes.is_empty() || common.all_vars || common.reference.is_some())
        && analyzer.debug_info().is_none()
    {
        return Err(Error::NoDebugInfo {
            path: binary.path.clone(),
            spec: "--write, --all-vars and --reference".into(),
        }
        .into());
    }
    if !common.static_only {
        analyzer = analyzer.with_dynamic(DynamicOptions {
            cases: common.cases.max(1),
            seed: common.seed,
            budget: common.budget.max(1),
            handlers,
            inputs,
            writes,
            all_vars: common.all_vars,
            ..DynamicOptions::default()
        });
    }
    Ok(analyzer)
}
