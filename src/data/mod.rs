//! Everything about input data: the Unicauca schema, reading flow CSVs and
//! turning labels into classes.

pub mod classes;
pub mod ingest;
mod label_scan;
pub mod reader;
pub mod rejects;
pub mod sample;
pub mod schema;
