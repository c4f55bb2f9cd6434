//! Whole-ResourceManager benchmarks over Hadoop IPC (`spindle bench rm`, `spindle bench submit`):
//! the real RM on loopback, driven by simulated NodeManagers and ApplicationMasters that speak
//! the same protocols as YARN's, measuring what the scheduling core alone cannot show.
//!
//! # Design
//!
//! - **RM** ([`rm_host`]): a real `ResourceManager`, in a child process (`spindle bench
//!   rm-serve`; CPU and RSS from `/proc/<pid>`) or in this process on its own runtime
//!   (threads `spindle-rm`; CPU per thread, RSS of the whole process).
//! - **NMs** ([`node_fleet`]): one tokio task per node, register and heartbeat every interval
//!   over the ResourceTracker, many nodes per IPC connection. A few *AM nodes* really listen
//!   ([`container_manager`]): the RM's AM launcher connects with its NMToken and calls
//!   `startContainers`, whose launch context holds the AMRMToken. AM nodes register first and
//!   are sized for exactly their share of AM containers, so AMs land there and tasks elsewhere.
//! - **AMs** ([`am_fleet`]): applications submitted through `YarnClient`; each launched AM
//!   connects with its AMRMToken through `AmRmClient`, registers, and calls `allocate` every
//!   interval; containers it gets are handed to their simulated node, which reports them
//!   RUNNING and, after the task time, COMPLETE in its heartbeats; a share is released.
//! - **Run** ([`scenario`]): AMs first, then the task nodes, then asks; RSS at each step; a
//!   warm-up, then a measured window (allocations, allocate() and heartbeat latencies, RM CPU).
//! - **Report pollers** ([`report_poller`]): optional clients calling getApplications in a
//!   loop during the run, to show what report traffic costs allocations and heartbeats.
//! - **Submit latency** ([`submit_latency`]): on the minicluster with real NMs and processes.
//!
//! Timing is measured and reported, never asserted.

pub mod am_fleet;
pub mod container_manager;
pub mod node_fleet;
pub mod proc_stats;
pub mod report;
pub mod report_poller;
pub mod rm_host;
pub mod scenario;
pub mod submit_latency;
pub mod web_pages;

pub use am_fleet::AmFleetSpec;
pub use report::{rm_result_markdown, submit_result_markdown};
pub use rm_host::{serve_rm_until_stdin_closes, RmPlacement, RmServeSettings};
pub use scenario::{run_rm_benchmark, RmBenchResult, RmBenchSpec};
pub use submit_latency::{run_submit_benchmark, SubmitBenchResult, SubmitBenchSpec};
pub use web_pages::{run_web_benchmark, web_result_markdown, WebBenchSpec};

/// Why a whole-RM benchmark could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RmBenchError {
    #[error("{0}")]
    Usage(String),
    #[error("setting up the benchmark: {0}")]
    Setup(String),
    #[error("a client call failed: {0}")]
    Client(String),
    #[error("timed out: {0}")]
    TimedOut(String),
}

/// Runs `work` on a two-thread runtime of its own, on a thread of its own: the benchmarks are
/// called from the CLI, which may already be inside a runtime.
pub(crate) fn on_own_runtime<T, F>(work: impl FnOnce() -> F + Send) -> Result<T, RmBenchError>
where
    F: std::future::Future<Output = Result<T, RmBenchError>>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| RmBenchError::Setup(format!("runtime: {e}")))?;
                runtime.block_on(work())
            })
            .join()
            .unwrap_or_else(|_| Err(RmBenchError::Setup("the benchmark thread panicked".into())))
    })
}
