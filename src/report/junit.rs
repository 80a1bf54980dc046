//! JUnit XML for CI systems that show test reports: one test suite per
//! binary, one test case per point, a failure for each hazardous point, and
//! a test case with an error for each point spec that named no point.

use std::fmt::Write;

use super::{Report, Verdict};

/// Escape text for XML attributes and character data.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML.
pub fn to_junit(report: &Report) -> String {
    let failures = report.summary.hazardous;
    let errors = report.unresolved.len();
    let tests = report.points.len() + errors;
    let suite = escape(&report.binary.path);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"probesafe\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">",
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
    );
    let _ = writeln!(
        out,
        "    <properties><property name=\"arch\" value=\"{}\"/><property name=\"build_id\" value=\"{}\"/></properties>",
        escape(&report.binary.arch),
        escape(report.binary.build_id.as_deref().unwrap_or("none"))
    );
    for point in &report.points {
        let name = escape(&format!(
            "{} {}+{:#x}",
            point.address, point.symbol, point.offset
        ));
        let _ = write!(out, "    <testcase classname=\"{suite}\" name=\"{name}\"");
        let kinds: Vec<&str> = point.findings.iter().map(|f| f.kind.name()).collect();
        let details: Vec<String> = point
            .findings
            .iter()
            .map(|f| format!("{}: {}", f.kind.name(), f.detail))
            .collect();
        match point.verdict {
            Verdict::Safe => {
                let _ = writeln!(out, "/>");
            }
            Verdict::Hazardous => {
                let _ = writeln!(out, ">");
                let _ = writeln!(
                    out,
                    "      <failure message=\"hazardous: {}\" type=\"{}\">{}</failure>",
                    escape(&kinds.join(", ")),
                    escape(kinds.first().copied().unwrap_or("hazardous")),
                    escape(&details.join("\n"))
                );
                let _ = writeln!(out, "    </testcase>");
            }
            verdict => {
                let _ = writeln!(out, ">");
                let _ = writeln!(
                    out,
                    "      <system-out>{}: {}</system-out>",
                    verdict.name(),
                    escape(&details.join("\n"))
                );
                let _ = writeln!(out, "    </testcase>");
            }
        }
    }
    for u in &report.unresolved {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{suite}\" name=\"{}\">",
            escape(&format!("unresolved {}", u.spec))
        );
        let _ = writeln!(
            out,
            "      <error message=\"{}\" type=\"unresolved-spec\">{}</error>",
            escape(&u.error),
            escape(&format!("{}: {}", u.spec, u.error))
        );
        let _ = writeln!(out, "    </testcase>");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\"'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;\\u{1}\n"
        );
    }
}
