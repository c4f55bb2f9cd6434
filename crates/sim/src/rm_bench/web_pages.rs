//! How long the RM's web pages and REST answers take on a big cluster's state (`spindle bench
//! web`): an embedded RM with the CapacityScheduler configured with `queues` leaf queues and
//! `applications` applications spread over them (no NodeManagers: the applications wait in
//! ACCEPTED, so nothing else runs), then each page fetched over HTTP one after another, `requests`
//! times: its size and the time to the last byte.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use spindle_ipc::{ClientOptions, IpcClient};
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::*;
use spindle_types::{ApplicationId, Resource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::RmBenchError;
use crate::metrics::Percentiles;

const CLIENT_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";

/// The pages measured (`{queue}` is one leaf queue).
pub const PAGES: &[&str] = &[
    "/cluster",
    "/cluster/scheduler",
    "/cluster/apps",
    "/cluster/apps?page=50",
    "/cluster/queue/root.q{queue}",
    "/ws/v1/cluster/metrics",
    "/ws/v1/cluster/scheduler",
    "/ws/v1/cluster/apps?limit=100",
    "/ws/v1/cluster/apps",
    "/prom",
];

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct WebBenchSpec {
    pub queues: usize,
    pub applications: usize,
    /// Fetches of each page.
    pub requests: usize,
    /// Where the cluster keeps its directories.
    pub base_dir: PathBuf,
}

/// One page's figures.
#[derive(Debug, Clone)]
pub struct PageTiming {
    pub path: String,
    pub status: u16,
    pub bytes: usize,
    /// Time to the last byte, microseconds.
    pub micros: Percentiles,
}

/// Runs the benchmark on its own runtime (the caller may be inside another).
pub fn run_web_benchmark(spec: &WebBenchSpec) -> Result<Vec<PageTiming>, RmBenchError> {
    if spec.queues == 0 || spec.requests == 0 {
        return Err(RmBenchError::Usage(
            "the web benchmark needs at least one queue and one request".into(),
        ));
    }
    super::on_own_runtime(|| run(spec))
}

fn capacity_scheduler_xml(queues: usize) -> String {
    let names: Vec<String> = (0..queues).map(|i| format!("q{i}")).collect();
    // Six decimals each (as written), the last queue taking the rest: exactly 100 in all.
    let share = (100.0 / queues as f64 * 1e6).floor() / 1e6;
    let mut properties = vec![
        (
            "yarn.scheduler.capacity.root.queues".to_string(),
            names.join(","),
        ),
        (
            "yarn.scheduler.capacity.maximum-applications".to_string(),
            "1000000".to_string(),
        ),
    ];
    for (i, name) in names.iter().enumerate() {
        // The last queue takes the rounding, so the children add up to exactly 100.
        let capacity = if i + 1 == queues {
            100.0 - share * (queues - 1) as f64
        } else {
            share
        };
        properties.push((
            format!("yarn.scheduler.capacity.root.{name}.capacity"),
            format!("{capacity:.6}"),
        ));
        properties.push((
            format!("yarn.scheduler.capacity.root.{name}.maximum-capacity"),
            "100".to_string(),
        ));
    }
    spindle_conf::site_xml_string(&properties).unwrap_or_default()
}

async fn submit(client: &IpcClient, queue: usize, index: usize) -> Result<(), RmBenchError> {
    let failed = |e: spindle_ipc::IpcClientError| RmBenchError::Setup(format!("submit: {e}"));
    let new: GetNewApplicationResponseProto = client
        .call("getNewApplication", &GetNewApplicationRequestProto {})
        .await
        .map_err(failed)?;
    let id = new
        .application_id
        .as_ref()
        .and_then(|id| ApplicationId::try_from(id).ok())
        .ok_or_else(|| RmBenchError::Setup("getNewApplication gave no id".into()))?;
    let context = ApplicationSubmissionContextProto {
        application_id: Some(id.into()),
        application_name: Some(format!("bench-{index}")),
        queue: Some(format!("q{queue}")),
        am_container_spec: Some(ContainerLaunchContextProto {
            command: vec!["sleep 600".into()],
            ..Default::default()
        }),
        resource: Some((&Resource::new(256, 1)).into()),
        ..Default::default()
    };
    let _: SubmitApplicationResponseProto = client
        .call(
            "submitApplication",
            &SubmitApplicationRequestProto {
                application_submission_context: Some(context),
            },
        )
        .await
        .map_err(failed)?;
    Ok(())
}

/// A plain HTTP/1.0 GET: the status and the body's length.
async fn fetch(address: &str, path: &str) -> Result<(u16, usize), RmBenchError> {
    let failed = |e: std::io::Error| RmBenchError::Setup(format!("GET {path}: {e}"));
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(failed)?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .await
        .map_err(failed)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.map_err(failed)?;
    let text = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| answer.len() - i - 4)
        .unwrap_or(0);
    Ok((status, body))
}

async fn run(spec: &WebBenchSpec) -> Result<Vec<PageTiming>, RmBenchError> {
    let mut config = MiniClusterConfig::new(&spec.base_dir);
    config.nodes = 0;
    config.scheduler_files = vec![(
        "capacity-scheduler.xml".into(),
        capacity_scheduler_xml(spec.queues),
    )];
    let cluster = MiniCluster::start(config)
        .await
        .map_err(|e| RmBenchError::Setup(format!("the cluster: {e}")))?;
    let client = Arc::new(
        IpcClient::connect(
            cluster.rm.client_address(),
            ClientOptions::new(CLIENT_PROTOCOL, "bench"),
        )
        .await
        .map_err(|e| RmBenchError::Setup(format!("connecting: {e}")))?,
    );
    // Submissions in waves of 64 calls in flight.
    let mut index = 0;
    while index < spec.applications {
        let mut wave = tokio::task::JoinSet::new();
        for i in index..(index + 64).min(spec.applications) {
            let client = client.clone();
            let queue = i % spec.queues;
            wave.spawn(async move { submit(&client, queue, i).await });
        }
        while let Some(done) = wave.join_next().await {
            done.map_err(|e| RmBenchError::Setup(format!("submit task: {e}")))??;
        }
        index += 64;
    }
    let address = cluster
        .rm
        .web_address()
        .ok_or_else(|| RmBenchError::Setup("the RM has no web server".into()))?
        .to_string();
    let mut timings = Vec::new();
    for page in PAGES {
        let path = page.replace("{queue}", &(spec.queues / 2).to_string());
        let mut samples = Vec::with_capacity(spec.requests);
        let mut last = (0, 0);
        for _ in 0..spec.requests {
            let started = Instant::now();
            last = fetch(&address, &path).await?;
            samples.push(started.elapsed().as_micros() as i64);
        }
        timings.push(PageTiming {
            path,
            status: last.0,
            bytes: last.1,
            micros: Percentiles::of(&samples),
        });
    }
    cluster.shutdown().await;
    Ok(timings)
}

/// The figures as a Markdown table.
pub fn web_result_markdown(spec: &WebBenchSpec, timings: &[PageTiming]) -> String {
    let mut out = format!(
        "{} queues, {} applications (ACCEPTED), {} fetches per page, one after another\n\n\
| page | status | bytes | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n",
        spec.queues, spec.applications, spec.requests
    );
    for t in timings {
        out.push_str(&format!(
            "| `{}` | {} | {} | {:.1} | {:.1} | {:.1} |\n",
            t.path,
            t.status,
            t.bytes,
            t.micros.p50 as f64 / 1000.0,
            t.micros.p99 as f64 / 1000.0,
            t.micros.max as f64 / 1000.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capacities_add_up_to_a_hundred() {
        let xml = capacity_scheduler_xml(3);
        assert!(xml.contains("q0,q1,q2"));
        assert!(
            xml.contains("33.333333") && xml.contains("33.333334"),
            "{xml}"
        );
    }
}
