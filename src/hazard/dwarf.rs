//! The static findings DWARF gives: `inlined-site` and `multiple-views`.

use super::StaticMap;
use crate::debuginfo::DebugInfo;
use crate::load::Function;
use crate::report::{Finding, FindingKind};

impl StaticMap<'_> {
    /// `inlined-site` and `multiple-views` at `addr`, from DWARF.
    pub(super) fn dwarf_findings(
        &self,
        debug: &DebugInfo,
        function: &Function,
        addr: u64,
        memo: &mut DwarfMemo,
    ) -> Vec<Finding> {
        let chain = debug.inline_chain(addr);
        if chain.is_empty() {
            return Vec::new();
        }
        let dwarf_caller = debug.function_at(addr);
        // Without the per-point parameter lists, the findings depend only
        // on the caller, the chain and the innermost line: the points of
        // one inline instance's line share them.
        let key = (!self.detail).then(|| {
            let innermost = chain.last().expect("not empty");
            let row = self.innermost_row(debug, innermost, addr);
            (
                dwarf_caller.map(|f| f as *const _ as usize),
                chain
                    .iter()
                    .map(|i| *i as *const _ as usize)
                    .collect::<Vec<_>>(),
                row.map(|r| (r.file, r.line)),
            )
        });
        if let Some(found) = key.as_ref().and_then(|k| memo.0.get(k)) {
            return found.clone();
        }
        let found = self.dwarf_findings_of(debug, function, addr, &chain, dwarf_caller);
        if let Some(key) = key {
            memo.0.insert(key, found.clone());
        }
        found
    }

    /// The innermost instance's own line at `addr`: several rows can share
    /// the address (the caller's line first); the inlined function's own
    /// line is the one that is not its call site's.
    fn innermost_row<'d>(
        &self,
        debug: &'d DebugInfo,
        innermost: &crate::debuginfo::Inline,
        addr: u64,
    ) -> Option<&'d crate::debuginfo::LineRow> {
        let call = (
            innermost.call_file.as_deref(),
            innermost.call_line.map(|l| l as u32),
        );
        debug
            .rows_at(addr)
            .last()
            .filter(|r| (Some(debug.file(r)), Some(r.line)) != call)
            .or_else(|| debug.row_for(addr))
    }

    fn dwarf_findings_of(
        &self,
        debug: &DebugInfo,
        function: &Function,
        addr: u64,
        chain: &[&crate::debuginfo::Inline],
        dwarf_caller: Option<&crate::debuginfo::DwarfFunction>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        let caller = dwarf_caller.map_or_else(|| function.name.clone(), |f| f.name.clone());
        let place = |file: &Option<std::sync::Arc<str>>, line: Option<u64>| match (file, line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (None, Some(l)) => format!("line {l}"),
            _ => "an unknown line".into(),
        };
        let mut views: Vec<crate::report::evidence::View> = Vec::new();
        if let Some(innermost) = chain.last() {
            let (with, without) = if self.detail {
                let vars = debug.variables_at(addr);
                let params: Vec<_> = vars
                    .iter()
                    .filter(|v| v.parameter && *v.scope == *innermost.name)
                    .collect();
                let has = |v: &&crate::debuginfo::Variable| {
                    v.locations
                        .iter()
                        .any(|l| l.kind != crate::debuginfo::LocationKind::OptimizedOut)
                };
                (
                    Some(
                        params
                            .iter()
                            .filter(|v| has(v))
                            .map(|v| v.name.clone())
                            .collect::<Vec<_>>(),
                    ),
                    Some(
                        params
                            .iter()
                            .filter(|v| !has(v))
                            .map(|v| v.name.clone())
                            .collect::<Vec<_>>(),
                    ),
                )
            } else {
                (None, None)
            };
            let chain_json: Vec<crate::report::evidence::InlineFrame> = chain
                .iter()
                .map(|i| crate::report::evidence::InlineFrame {
                    function: i.name.clone(),
                    entry: crate::report::evidence::Hex(i.entry),
                    call_file: i.call_file.clone(),
                    call_line: i.call_line,
                })
                .collect();
            out.push(Finding::new_static(
                FindingKind::InlinedSite,
                format!(
                    "inside {} inlined into {caller} (called at {}): an inline instance has no entry or return of its own",
                    innermost.name,
                    place(&chain[0].call_file, chain[0].call_line)
                ),
                crate::report::evidence::InlinedSiteEvidence {
                    caller: caller.clone(),
                    chain: chain_json,
                    params_with_location: with,
                    params_without_location: without,
                },
            ));
            // One view per function on the chain: the caller at its call
            // line, each inline at the next call line, the innermost at the
            // line table's line.
            views.push(crate::report::evidence::View {
                function: caller.as_str().into(),
                file: chain[0].call_file.clone(),
                line: chain[0].call_line,
            });
            for w in chain.windows(2) {
                views.push(crate::report::evidence::View {
                    function: w[0].name.clone(),
                    file: w[1].call_file.clone(),
                    line: w[1].call_line,
                });
            }
            let row = self.innermost_row(debug, innermost, addr);
            views.push(crate::report::evidence::View {
                function: innermost.name.clone(),
                file: row.map(|r| debug.file(r).into()),
                line: row.map(|r| u64::from(r.line)),
            });
        }
        // Several lines of one function at one address (an entry's opening
        // line and its first statement) are normal and not views of
        // different functions; only the inline chain makes them.
        if views.len() > 1 {
            let text: Vec<String> = views
                .iter()
                .map(crate::report::evidence::View::text)
                .collect();
            out.push(Finding::new_static(
                FindingKind::MultipleViews,
                format!(
                    "the address belongs to several source views at once: {}",
                    text.join("; ")
                ),
                crate::report::evidence::ViewsEvidence { views },
            ));
        }
        out
    }
}

/// The DWARF findings already made for the points of one function, by
/// caller, inline chain and line.
#[derive(Default)]
pub(crate) struct DwarfMemo(std::collections::HashMap<DwarfKey, Vec<Finding>>);

/// The DWARF function (by address of its entry in the table), the inline
/// chain (likewise) and the innermost line (file, line).
type DwarfKey = (Option<usize>, Vec<usize>, Option<(u32, u32)>);
