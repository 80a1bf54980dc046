//! The text form of `probesafe selftest`: one line per check, a summary.

use crate::emu::selftest::Check;

/// One line per check (architecture, ok or FAIL, name, detail) and the
/// count of those that passed and failed.
pub fn render_text(checks: &[Check]) -> String {
    let mut s = String::new();
    for c in checks {
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
