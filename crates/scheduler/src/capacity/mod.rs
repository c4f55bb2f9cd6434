//! The Capacity Scheduler's configuration: typed values and the capacity-scheduler.xml reader.

pub mod config;
pub mod parse;
