//! Time from `submitApplication` to the AM container allocated, launched and its process
//! running, on an embedded cluster (`spindle_minicluster`: the real RM and real NMs that start
//! real processes). The AM is `sleep`: it never registers, so this measures scheduling and
//! launch only. The RM side is read from the RM's own records (polled every millisecond); the
//! process writes its own start time (`date +%s%N`) as its first act.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use spindle_client::YarnClient;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::{ApplicationSubmissionContextProto, ContainerLaunchContextProto};
use spindle_rm::lifecycle::attempt::AttemptState;
use spindle_types::{ApplicationId, Resource};

use super::RmBenchError;
use crate::metrics::Percentiles;

/// The runs to make.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitBenchSpec {
    pub applications: usize,
    pub nodes: usize,
    /// The NMs' heartbeat interval (YARN's default 1 s).
    pub nm_heartbeat_interval: Duration,
    /// How long each AM process sleeps.
    pub am_sleep_seconds: u32,
    /// Where the cluster keeps its directories (created; left in place).
    pub base_dir: PathBuf,
}

/// One application's timeline, microseconds after the submitApplication call began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitSample {
    /// YarnClient.submitApplication returned (submitApplication plus one report, as YARN's
    /// client does).
    pub submit_returned_us: i64,
    /// Whether the AM container was already allocated when the call returned.
    pub allocated_within_call: bool,
    /// The attempt left SCHEDULED (AM container allocated): observed by polling, or the
    /// submit call's return when it was allocated by then (an upper bound).
    pub allocated_us: i64,
    /// The NM accepted startContainers (attempt LAUNCHED) — observed.
    pub launched_us: i64,
    /// The AM process's first command ran (its own clock reading).
    pub process_started_us: Option<i64>,
}

/// All runs and their distributions (microseconds).
#[derive(Debug, Clone)]
pub struct SubmitBenchResult {
    pub spec: SubmitBenchSpec,
    pub samples: Vec<SubmitSample>,
    pub submit_returned_us: Percentiles,
    pub allocated_us: Percentiles,
    pub launched_us: Percentiles,
    pub process_started_us: Percentiles,
}

/// Runs the submissions one after another, each once the previous AM ended.
pub fn run_submit_benchmark(spec: &SubmitBenchSpec) -> Result<SubmitBenchResult, RmBenchError> {
    if spec.applications == 0 || spec.nodes == 0 {
        return Err(RmBenchError::Usage(
            "the submit benchmark needs at least one application and one node".into(),
        ));
    }
    super::on_own_runtime(|| run(spec))
}

fn wall_clock_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// The attempt state of the current attempt of `id`, from the RM's records.
fn attempt_state(cluster: &MiniCluster, id: ApplicationId) -> Option<AttemptState> {
    cluster.rm.inspect(|core| {
        let attempt = core.application(id).ok()?.current_attempt()?;
        Some(core.attempt(attempt)?.state)
    })
}

async fn run(spec: &SubmitBenchSpec) -> Result<SubmitBenchResult, RmBenchError> {
    let setup = |e: &dyn std::fmt::Display| RmBenchError::Setup(e.to_string());
    let markers = spec.base_dir.join("am-started");
    std::fs::create_dir_all(&markers).map_err(|e| setup(&e))?;
    let mut config = MiniClusterConfig::new(&spec.base_dir);
    config.nodes = spec.nodes;
    config.nm_heartbeat_interval = spec.nm_heartbeat_interval;
    config.rm.max_attempts = 1;
    let cluster = MiniCluster::start(config)
        .await
        .map_err(|e| setup(&format!("minicluster: {e:#}")))?;
    let result = submit_all(spec, &cluster, &markers).await;
    cluster.shutdown().await;
    result
}

async fn submit_all(
    spec: &SubmitBenchSpec,
    cluster: &MiniCluster,
    markers: &std::path::Path,
) -> Result<SubmitBenchResult, RmBenchError> {
    let yarn = YarnClient::connect(cluster.rm.client_address(), "rm-bench")
        .await
        .map_err(|e| RmBenchError::Client(e.to_string()))?;
    let mut samples = Vec::with_capacity(spec.applications);
    for index in 0..spec.applications {
        let application = yarn
            .get_new_application()
            .await
            .map_err(|e| RmBenchError::Client(format!("getNewApplication: {e}")))?;
        let id = application.application_id;
        let marker = markers.join(format!("{index}"));
        let context = ApplicationSubmissionContextProto {
            application_id: Some(id.into()),
            application_name: Some(format!("submit-bench-{index}")),
            am_container_spec: Some(ContainerLaunchContextProto {
                command: vec![format!(
                    "date +%s%N > {}; exec sleep {}",
                    marker.display(),
                    spec.am_sleep_seconds
                )],
                ..Default::default()
            }),
            resource: Some((&Resource::new(256, 1)).into()),
            max_app_attempts: Some(1),
            ..Default::default()
        };
        let submitted_ns = wall_clock_ns();
        let submitted = Instant::now();
        yarn.submit_application(context)
            .await
            .map_err(|e| RmBenchError::Client(format!("submitApplication: {e}")))?;
        let submit_returned_us = submitted.elapsed().as_micros() as i64;
        let mut allocated_us = None;
        let mut launched_us = None;
        let mut allocated_within_call = false;
        let mut process_started_us = None;
        let deadline = submitted + Duration::from_secs(60);
        let mut first_poll = true;
        loop {
            let now_us = submitted.elapsed().as_micros() as i64;
            let state = attempt_state(cluster, id);
            let allocated = state.is_some_and(|s| s != AttemptState::Scheduled);
            if allocated && allocated_us.is_none() {
                // Allocated already at the first look: it happened inside the submit call.
                allocated_within_call = first_poll;
                allocated_us = Some(if first_poll {
                    submit_returned_us
                } else {
                    now_us
                });
            }
            if launched_us.is_none()
                && matches!(state, Some(AttemptState::Launched | AttemptState::Running))
            {
                launched_us = Some(now_us);
            }
            if process_started_us.is_none() {
                process_started_us = std::fs::read_to_string(&marker)
                    .ok()
                    .and_then(|text| text.trim().parse::<i128>().ok())
                    .map(|ns| ((ns - submitted_ns) / 1000) as i64);
            }
            if (launched_us.is_some() && process_started_us.is_some())
                || state.is_some_and(|s| s.is_final())
                || Instant::now() > deadline
            {
                break;
            }
            first_poll = false;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (Some(allocated_us), Some(launched_us)) = (allocated_us, launched_us) else {
            return Err(RmBenchError::TimedOut(format!(
                "{id}: the AM container was not allocated and launched within 60 s"
            )));
        };
        // Let the AM exit and its container be freed, so that every submission meets an idle
        // cluster (otherwise later AMs would wait for room, not for the RM).
        while !attempt_state(cluster, id).is_some_and(|s| s.is_final()) {
            if Instant::now() > deadline {
                return Err(RmBenchError::TimedOut(format!(
                    "{id}: the AM did not end within 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        samples.push(SubmitSample {
            submit_returned_us,
            allocated_within_call,
            allocated_us,
            launched_us,
            process_started_us,
        });
    }
    let distribution = |value: &dyn Fn(&SubmitSample) -> Option<i64>| {
        Percentiles::of(&samples.iter().filter_map(value).collect::<Vec<_>>())
    };
    Ok(SubmitBenchResult {
        spec: spec.clone(),
        submit_returned_us: distribution(&|s| Some(s.submit_returned_us)),
        allocated_us: distribution(&|s| Some(s.allocated_us)),
        launched_us: distribution(&|s| Some(s.launched_us)),
        process_started_us: distribution(&|s| s.process_started_us),
        samples,
    })
}
