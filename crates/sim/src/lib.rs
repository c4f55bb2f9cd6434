//! Spindle's scheduler load simulator (YARN's SLS, for Spindle): replays an SLS job trace or a
//! seeded synthetic workload against the real scheduling core on a virtual clock, and reports
//! what a cluster operator wants to know before deploying a scheduler configuration.
//!
//! # Flow
//!
//! 1. **Inputs** ([`trace`], [`synthetic`]): the SLS JSON job trace and nodes file, or the
//!    synthetic generator, become one [`Workload`] (nodes; jobs with their tasks). Parsing is
//!    all-or-nothing: a malformed job or node refuses the file with an error naming the file,
//!    line, job and field.
//! 2. **Scheduler** ([`scheduler_setup`]): configured exactly as the RM configures it, from a
//!    configuration directory's yarn-site.xml and capacity-scheduler.xml or Fair Scheduler
//!    allocation file (or YARN's defaults).
//! 3. **Simulation** ([`run_simulation`]): a discrete-event loop on a virtual clock drives
//!    [`spindle_scheduler::Scheduler::handle`] with simulated NodeManagers and MapReduce-style
//!    ApplicationMasters. Nothing sleeps, nothing runs concurrently, no hash order leaks out:
//!    the same inputs give byte-identical outputs.
//! 4. **Outputs** ([`report`]): a [`SimulationReport`] written as JSON, CSV files and a
//!    self-contained HTML report with inline SVG plots.
//!
//! [`bench`] measures the scheduling core itself (allocations per second, per-allocation
//! latency) at cluster scale, and [`scaling`] plots how that cost grows with nodes, queues,
//! applications and pending requests; [`rm_bench`] measures the whole ResourceManager over Hadoop IPC
//! with simulated NodeManagers and ApplicationMasters.
//!
//! Invariant: no wall-clock time, randomness without a seed, or hash-map iteration order
//! reaches a report.

pub mod bench;
mod engine;
pub mod metrics;
mod random;
pub mod report;
pub mod rm_bench;
pub mod scaling;
pub mod scheduler_setup;
pub mod synthetic;
pub mod trace;
pub mod workload;

pub use engine::{run_simulation, SimulationError, SimulationSettings};
pub use metrics::SimulationReport;
pub use random::LogNormal;
pub use scheduler_setup::{scheduler_setup, SchedulerSetup, SchedulerSetupError};
pub use workload::{
    HostPreference, JobSpec, NodeSpec, ResourceDefaults, TaskSpec, TaskStage, Workload,
};
