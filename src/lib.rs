//! probesafe: where on the spectrum of safety does a probe or a live patch
//! at an address fall?
//!
//! The library loads an ELF binary ([`load::Binary`]), decodes its functions
//! ([`decode::Decoder`]), builds a control-flow graph per function
//! ([`cfg::Cfg`]), marks hazard windows ([`hazard`]), and reports a verdict
//! per point ([`report::Report`]).

#![deny(missing_docs)]

pub mod analyze;
pub mod arch;
pub mod atomic_file;
pub mod decode;
pub mod error;
pub mod load;

pub use error::{Error, Result};
pub mod cfg;
pub mod debuginfo;
pub mod detect;
pub mod emu;
pub mod fuzz;
pub mod hazard;
pub mod interval;
pub mod point;
pub mod report;
pub mod survey;
pub mod trap;
