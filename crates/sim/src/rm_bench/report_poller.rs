//! Clients that poll the RM's application list in a loop (`--report-pollers`), as dashboards,
//! schedulers such as Airflow and `yarn application -list` watchers do, so one run shows what
//! report traffic costs the allocation path.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use spindle_client::{ApplicationFilter, YarnClient};
use tokio::task::JoinHandle;

use super::RmBenchError;

/// What the pollers saw during the measured window.
#[derive(Debug, Clone, Default)]
pub struct PollerResult {
    /// getApplications round trips, microseconds.
    pub latencies_us: Vec<i64>,
    /// Applications in the replies, summed.
    pub applications_listed: u64,
    /// Calls that failed (whole run).
    pub errors: u64,
}

/// Running pollers.
pub struct ReportPollers {
    tasks: Vec<JoinHandle<PollerResult>>,
    stop: Arc<AtomicBool>,
    errors: Arc<AtomicU64>,
}

impl ReportPollers {
    /// Connects `count` clients to the RM's client port; each calls getApplications (all
    /// applications, no filter) again as soon as the previous answer arrived.
    pub async fn start(
        count: usize,
        client: SocketAddr,
        recording: Arc<AtomicBool>,
    ) -> Result<Self, RmBenchError> {
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::with_capacity(count);
        for _ in 0..count {
            let yarn = YarnClient::connect(client, "rm-bench-poller")
                .await
                .map_err(|e| RmBenchError::Client(format!("connecting a report poller: {e}")))?;
            let (stop, errors, recording) = (stop.clone(), errors.clone(), recording.clone());
            tasks.push(tokio::spawn(async move {
                let mut result = PollerResult::default();
                let filter = ApplicationFilter::default();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match yarn.get_applications(&filter).await {
                        Ok(reports) if recording.load(Ordering::Relaxed) => {
                            result
                                .latencies_us
                                .push(started.elapsed().as_micros() as i64);
                            result.applications_listed += reports.len() as u64;
                        }
                        Ok(_) => {}
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
                result
            }));
        }
        Ok(Self {
            tasks,
            stop,
            errors,
        })
    }

    /// Stops every poller and merges what they saw.
    pub async fn stop(self) -> PollerResult {
        self.stop.store(true, Ordering::Relaxed);
        let mut merged = PollerResult::default();
        for task in self.tasks {
            if let Ok(result) = task.await {
                merged.latencies_us.extend(result.latencies_us);
                merged.applications_listed += result.applications_listed;
            }
        }
        merged.errors = self.errors.load(Ordering::Relaxed);
        merged
    }
}
