//! Point specs: how a user names the places to probe.
//!
//! `0xADDR`, `SYMBOL`, `SYMBOL+OFFSET` (hex `0x..` or decimal),
//! `function("NAME").call`, `function("NAME").return` and
//! `function("NAME").inline`, with `*` and `?` globs in NAME and an optional
//! `@FILE`; `statement("FUNC@FILE:LINE")` and `FILE:LINE` (needs DWARF).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Which probe of a function a `function("NAME")` spec asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    /// The entry of each out-of-line copy.
    Call,
    /// Each exit: returns and tail-call jumps.
    Return,
    /// The entry of each inline instance (DWARF).
    Inline,
}

/// A parsed point spec.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PointSpec {
    /// An absolute address.
    Address(u64),
    /// A symbol, optionally plus an offset.
    Symbol {
        /// Symbol name.
        name: String,
        /// Byte offset; `None` means the function's probe entry.
        offset: Option<u64>,
    },
    /// `function("NAME[@FILE]").call`, `.return` or `.inline`.
    Function {
        /// Name or glob.
        pattern: String,
        /// The declaring file (glob, or a path suffix), if given.
        file: Option<String>,
        /// Which probe.
        probe: Probe,
    },
    /// `statement("FUNC@FILE:LINE")` or `FILE:LINE`: the `is_stmt`
    /// addresses of a source line (DWARF).
    Statement {
        /// Function name or glob (`*` for any).
        function: String,
        /// File glob or path suffix.
        file: String,
        /// Line.
        line: u32,
    },
}

impl FromStr for PointSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<PointSpec, Error> {
        let bad = |reason: &str| Error::BadSpec {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let s = spec.trim();
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if let Some(rest) = s.strip_prefix("statement(") {
            let inner = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix("\")"))
                .ok_or_else(|| bad("expected statement(\"FUNC@FILE:LINE\")"))?;
            let (function, place) = inner.rsplit_once('@').unwrap_or(("*", inner));
            return statement(function, place).ok_or_else(|| bad("expected FILE:LINE after '@'"));
        }
        if let Some(rest) = s.strip_prefix("function(") {
            let rest = rest
                .strip_prefix('"')
                .ok_or_else(|| bad("expected a quoted name: function(\"NAME\").call"))?;
            let (pattern, rest) = rest
                .split_once("\")")
                .ok_or_else(|| bad("unterminated name: expected \")"))?;
            let (pattern, file) = match pattern.rsplit_once('@') {
                Some((name, file)) if !file.is_empty() => (name, Some(file.to_owned())),
                _ => (pattern, None),
            };
            if pattern.is_empty() {
                return Err(bad("empty function name"));
            }
            let probe = match rest {
                ".call" => Probe::Call,
                ".return" => Probe::Return,
                ".inline" => Probe::Inline,
                "" => return Err(bad("missing .call, .return or .inline")),
                other => {
                    return Err(bad(&format!(
                        "unknown probe {other:?}: expected .call, .return or .inline"
                    )))
                }
            };
            return Ok(PointSpec::Function {
                pattern: pattern.to_owned(),
                file,
                probe,
            });
        }
        if let Some((file, line)) = s.rsplit_once(':') {
            let plain = !file.is_empty() && !file.ends_with(':') && !file.contains(['(', '+']);
            if plain && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) {
                return statement("*", s).ok_or_else(|| bad("expected FILE:LINE"));
            }
        }
        if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            return u64::from_str_radix(hex, 16)
                .map(PointSpec::Address)
                .map_err(|_| bad("not a hex address"));
        }
        if let Some((name, off)) = s.rsplit_once('+') {
            if let Some(offset) = parse_number(off) {
                if name.is_empty() {
                    return Err(bad("missing symbol before '+'"));
                }
                return Ok(PointSpec::Symbol {
                    name: name.to_owned(),
                    offset: Some(offset),
                });
            }
            if off.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(bad("offset is not a number (hex 0x.. or decimal)"));
            }
        }
        if s.chars().any(char::is_whitespace) {
            return Err(bad("whitespace in a symbol name"));
        }
        Ok(PointSpec::Symbol {
            name: s.to_owned(),
            offset: None,
        })
    }
}

impl fmt::Display for PointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointSpec::Address(a) => write!(f, "{a:#x}"),
            PointSpec::Symbol { name, offset: None } => f.write_str(name),
            PointSpec::Symbol {
                name,
                offset: Some(o),
            } => write!(f, "{name}+{o:#x}"),
            PointSpec::Function {
                pattern,
                file,
                probe,
            } => {
                let p = match probe {
                    Probe::Call => "call",
                    Probe::Return => "return",
                    Probe::Inline => "inline",
                };
                match file {
                    Some(file) => write!(f, "function(\"{pattern}@{file}\").{p}"),
                    None => write!(f, "function(\"{pattern}\").{p}"),
                }
            }
            PointSpec::Statement {
                function,
                file,
                line,
            } => write!(f, "statement(\"{function}@{file}:{line}\")"),
        }
    }
}

fn statement(function: &str, place: &str) -> Option<PointSpec> {
    let (file, line) = place.rsplit_once(':')?;
    let line: u32 = line.parse().ok()?;
    (!file.is_empty()).then(|| PointSpec::Statement {
        function: if function.is_empty() {
            "*".into()
        } else {
            function.to_owned()
        },
        file: file.to_owned(),
        line,
    })
}

/// Whether a source path matches a file pattern: a glob over the whole
/// path, or the path ends with the pattern at a `/` boundary.
pub fn file_matches(pattern: &str, path: &str) -> bool {
    glob_match(pattern, path)
        || path == pattern
        || path.ends_with(&format!("/{pattern}"))
        || glob_match(&format!("*/{pattern}"), path)
}

fn parse_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters
/// and `?` any one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether a pattern has glob characters.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let p = |s: &str| s.parse::<PointSpec>();
        assert_eq!(p("0x1000").unwrap(), PointSpec::Address(0x1000));
        assert_eq!(
            p("foo").unwrap(),
            PointSpec::Symbol {
                name: "foo".into(),
                offset: None
            }
        );
        assert_eq!(
            p("foo+0x10").unwrap(),
            PointSpec::Symbol {
                name: "foo".into(),
                offset: Some(16)
            }
        );
        assert_eq!(
            p("foo+12").unwrap(),
            PointSpec::Symbol {
                name: "foo".into(),
                offset: Some(12)
            }
        );
        assert_eq!(
            p("function(\"a*b\").return").unwrap(),
            PointSpec::Function {
                pattern: "a*b".into(),
                file: None,
                probe: Probe::Return
            }
        );
        assert_eq!(
            p("function(\"f@src/x.c\").inline").unwrap(),
            PointSpec::Function {
                pattern: "f".into(),
                file: Some("src/x.c".into()),
                probe: Probe::Inline
            }
        );
        assert_eq!(
            p("statement(\"*@dwarf.c:42\")").unwrap(),
            PointSpec::Statement {
                function: "*".into(),
                file: "dwarf.c".into(),
                line: 42
            }
        );
        assert_eq!(
            p("src/dwarf.c:7").unwrap(),
            PointSpec::Statement {
                function: "*".into(),
                file: "src/dwarf.c".into(),
                line: 7
            }
        );
        // C++ scopes are not FILE:LINE.
        assert!(matches!(p("ns::f").unwrap(), PointSpec::Symbol { .. }));
        // C++ operator names keep their '+'.
        assert_eq!(
            p("operator+").unwrap(),
            PointSpec::Symbol {
                name: "operator+".into(),
                offset: None
            }
        );
        for bad in [
            "",
            "0xzz",
            "foo+0xzz",
            "function(foo).call",
            "function(\"f\").entry",
            "function(\"f\")",
            "+4",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn spec_display_round_trips() {
        for s in [
            "0x1000",
            "foo",
            "foo+0x10",
            "function(\"a*\").call",
            "function(\"b\").return",
        ] {
            assert_eq!(s.parse::<PointSpec>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("foo*", "foo.isra.0"));
        assert!(glob_match("f?o", "foo"));
        assert!(!glob_match("f?o", "fo"));
        assert!(glob_match("*lock*", "spin_lock_irq"));
        assert!(!glob_match("*lock", "spin_lock_irq"));
        assert!(file_matches("dwarf.c", "src/dwarf.c"));
        assert!(file_matches("src/*.c", "src/dwarf.c"));
        assert!(!file_matches("arf.c", "src/dwarf.c"));
        assert!(glob_match("a*b*c", "axxbyyc"));
    }
}
