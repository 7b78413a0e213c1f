//! `ntc report`: what is in a flow CSV and, with a model, what the model is
//! and how it scores on it. Identifier columns (addresses, flow IDs,
//! timestamps) are counted but never profiled or printed.

pub mod markdown;
pub mod profile;

pub use profile::{profile_csv, DataProfile};
