//! The Fair Scheduler's configuration: typed values and the allocation file reader.

pub mod allocation_file;
pub mod config;
mod xml_tree;
