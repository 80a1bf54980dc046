//! Variables in scope: those `vars` lists at each point, and the check
//! that each `--write` variable is in scope somewhere.

use crate::debuginfo::DebugInfo;
use crate::detect::WriteRequest;
use crate::error::Error;
use crate::load::Binary;
use crate::report::vars::VarsPoint;
use crate::report::{hex, Point};

/// Each `--write` variable must be in scope at one of the points at least;
/// the first that is not is [`Error::UnknownVariable`] (at the first point).
pub fn check_writes(
    binary: &Binary,
    debug: &DebugInfo,
    points: &[Point],
    writes: &[WriteRequest],
) -> Result<(), Error> {
    for w in writes {
        let found = points.iter().any(|p| {
            debug
                .variables_at(p.address_value())
                .iter()
                .any(|v| v.name == w.variable)
        });
        if !found && !points.is_empty() {
            return Err(Error::UnknownVariable {
                path: binary.path.clone(),
                name: w.variable.clone(),
                address: points[0].address_value(),
            });
        }
    }
    Ok(())
}

/// Each point with its source line, its inline chain and every variable in
/// scope there with all of its locations.
pub fn at_points(debug: &DebugInfo, points: Vec<Point>) -> Vec<VarsPoint> {
    points
        .into_iter()
        .map(|p| {
            let addr = p.address_value();
            let row = debug.row_for(addr);
            VarsPoint {
                address: hex(addr),
                symbol: p.symbol,
                offset: p.offset,
                file: row.map(|r| debug.file(r).to_owned()),
                line: row.map(|r| r.line),
                inline_chain: debug
                    .inline_chain(addr)
                    .iter()
                    .map(|i| i.name.to_string())
                    .collect(),
                variables: debug.variables_at(addr),
            }
        })
        .collect()
}
