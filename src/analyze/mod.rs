//! Analysis above the static map and the dynamic checks: the extras that
//! need a whole selection's points (the entry/return balance, the
//! comparison with a reference build, the variables in scope). Each is a
//! function from the analyzer, the binary and its debug information to
//! data that the report module renders; none prints.

pub mod balance;
pub mod reference;
pub mod scope;
