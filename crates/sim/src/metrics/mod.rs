//! Measuring a run: the recorder the simulation feeds, distribution summaries, and the report
//! model every output (JSON, CSV, HTML) is written from.

mod model;
mod percentiles;
pub(crate) mod recorder;

pub use model::{
    ApplicationSeries, ClusterSample, ContainerRecord, JobOutcome, JobResult, LocalitySummary,
    QueueSeries, QueueSummary, RunSummary, SchedulerDescription, SimulationReport, TimeSeries,
    UtilizationSummary, WorkloadDescription,
};
pub use percentiles::{round3, Percentiles};
