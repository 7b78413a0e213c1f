//! ntc: classify network traffic flows (CICFlowMeter CSV) with an RBF-kernel SVM.
//!
//! The library does all the work; `src/main.rs` and `src/cmd/` only parse
//! arguments, call into it and print.

pub mod budget;
pub mod data;
pub mod drift;
pub mod error;
pub mod features;
pub mod flows;
pub mod io;
pub mod metrics;
pub mod model;
pub mod predict;
pub mod progress;
pub mod report;
pub mod svm;
pub mod synth;
pub mod text;
pub mod train;
pub mod tune;

pub use error::{Error, Result};

/// Version written into every model file.
pub const NTC_VERSION: &str = env!("CARGO_PKG_VERSION");
