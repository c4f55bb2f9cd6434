//! The ResourceManager under test: a real `spindle_rm::service::ResourceManager`, started either
//! in a child process (`spindle bench rm-serve`, so that its CPU time and resident memory are
//! its own) or in this process on its own tokio runtime whose threads are named `spindle-rm`
//! (CPU is then counted per thread; resident memory is the whole process's).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};
use spindle_rm::service::{now_ms, ResourceManager, RmBindAddresses, SchedulerSetup};
use spindle_rm::settings::RmSettings;
use spindle_scheduler::{CAPACITY_SCHEDULER_CLASS, FAIR_SCHEDULER_CLASS};
use spindle_types::Resource;

use super::proc_stats;
use super::RmBenchError;
use crate::bench::{capacity_scheduler_xml, fair_allocation_xml, BenchPolicy};

/// Thread-name prefix of the in-process RM's runtime.
pub const RM_THREAD_NAME: &str = "spindle-rm";

/// How the RM under test is configured; also what the parent hands a child as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmServeSettings {
    /// A directory with yarn-site.xml and the scheduler's file (None: FIFO with the limits).
    pub scheduler_conf_dir: Option<PathBuf>,
    pub maximum_allocation_mb: i64,
    pub maximum_allocation_vcores: i64,
    pub nm_heartbeat_interval_ms: i64,
    /// Worker threads of the RM's tokio runtime.
    pub worker_threads: usize,
}

impl RmServeSettings {
    /// Reads the settings a parent passed as JSON (`spindle bench rm-serve --settings ...`).
    pub fn from_json(text: &str) -> Result<Self, RmBenchError> {
        let settings: Self = serde_json::from_str(text)
            .map_err(|e| RmBenchError::Usage(format!("RM settings JSON: {e}")))?;
        if settings.worker_threads == 0 {
            return Err(RmBenchError::Usage(
                "RM settings JSON: worker_threads must be at least 1".into(),
            ));
        }
        if settings.nm_heartbeat_interval_ms <= 0 {
            return Err(RmBenchError::Usage(
                "RM settings JSON: nm_heartbeat_interval_ms must be positive".into(),
            ));
        }
        Ok(settings)
    }

    fn rm_settings(&self) -> RmSettings {
        RmSettings {
            cluster_timestamp: now_ms(),
            nm_heartbeat_interval_ms: self.nm_heartbeat_interval_ms,
            maximum_allocation: Resource::new(
                self.maximum_allocation_mb,
                self.maximum_allocation_vcores,
            ),
            ..RmSettings::default()
        }
    }
}

/// The RM's four addresses, as a child prints them on its first line of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RmAddresses {
    pub client: SocketAddr,
    pub scheduler: SocketAddr,
    pub tracker: SocketAddr,
    pub admin: SocketAddr,
}

impl RmAddresses {
    fn of(rm: &ResourceManager) -> Self {
        Self {
            client: rm.client_address(),
            scheduler: rm.scheduler_address(),
            tracker: rm.tracker_address(),
            admin: rm.admin_address(),
        }
    }

    /// Reads the child's first line.
    pub fn from_line(line: &str) -> Result<Self, RmBenchError> {
        serde_json::from_str(line.trim()).map_err(|e| {
            RmBenchError::Setup(format!(
                "the RM process printed {:?} instead of its addresses: {e}",
                line.trim()
            ))
        })
    }
}

/// Where the RM under test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RmPlacement {
    /// In this process, on its own runtime.
    InProcess,
    /// A child process: `program args... --settings <json>` must run [`serve_rm_until_stdin_closes`].
    ChildProcess { program: PathBuf, args: Vec<String> },
}

/// Writes yarn-site.xml and the scheduler file for `policy` with `queues` leaves into `dir`;
/// None for FIFO (the RM's built-in default).
pub fn write_scheduler_conf_dir(
    dir: &Path,
    policy: BenchPolicy,
    queues: usize,
) -> Result<Option<PathBuf>, RmBenchError> {
    let (class, file_name, text) = match policy {
        BenchPolicy::Fifo => return Ok(None),
        BenchPolicy::Capacity => (
            CAPACITY_SCHEDULER_CLASS,
            "capacity-scheduler.xml",
            capacity_scheduler_xml(queues, false),
        ),
        BenchPolicy::Fair => (
            FAIR_SCHEDULER_CLASS,
            "fair-scheduler.xml",
            fair_allocation_xml(queues, false),
        ),
    };
    let failed = |e: &dyn std::fmt::Display| {
        RmBenchError::Setup(format!("writing the scheduler configuration: {e}"))
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
    spindle_conf::write_site_xml(
        &dir.join("yarn-site.xml"),
        &[("yarn.resourcemanager.scheduler.class", class)],
    )
    .map_err(|e| failed(&e))?;
    std::fs::write(dir.join(file_name), text).map_err(|e| failed(&e))?;
    Ok(Some(dir.to_path_buf()))
}

fn rm_runtime(worker_threads: usize) -> Result<tokio::runtime::Runtime, RmBenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .thread_name(RM_THREAD_NAME)
        .enable_all()
        .build()
        .map_err(|e| RmBenchError::Setup(format!("the RM's runtime: {e}")))
}

async fn start_rm(settings: &RmServeSettings) -> Result<ResourceManager, RmBenchError> {
    let rm_settings = settings.rm_settings();
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let setup = SchedulerSetup {
        loader: settings
            .scheduler_conf_dir
            .as_ref()
            .map(|dir| spindle_rm::scheduler_files::loader(Some(dir.clone()), &rm_settings)),
        admins: vec!["*".into()],
        ..SchedulerSetup::default()
    };
    ResourceManager::start_with(
        rm_settings,
        RmBindAddresses {
            client: loopback,
            scheduler: loopback,
            tracker: loopback,
            admin: loopback,
        },
        setup,
    )
    .await
    .map_err(|e| RmBenchError::Setup(format!("the ResourceManager did not start: {e:#}")))
}

/// The child side: starts the RM, prints its addresses as one JSON line, serves until standard
/// input closes (the parent ended or closed it), then shuts down. Call it from a thread that is
/// not inside a tokio runtime.
pub fn serve_rm_until_stdin_closes(settings: &RmServeSettings) -> Result<(), RmBenchError> {
    let runtime = rm_runtime(settings.worker_threads)?;
    let rm = runtime.block_on(start_rm(settings))?;
    let line = serde_json::to_string(&RmAddresses::of(&rm)).expect("addresses serialize");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}")
        .and_then(|_| stdout.flush())
        .map_err(|e| RmBenchError::Setup(format!("printing the RM's addresses: {e}")))?;
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    runtime.block_on(rm.shutdown());
    runtime.shutdown_background();
    Ok(())
}

/// A running RM under test.
pub struct RmUnderTest {
    pub addresses: RmAddresses,
    host: Host,
}

enum Host {
    InProcess {
        runtime: tokio::runtime::Runtime,
        rm: Box<ResourceManager>,
    },
    Child {
        child: Child,
    },
}

impl RmUnderTest {
    /// Starts the RM. Call it from a thread that is not inside a tokio runtime.
    pub fn start(
        placement: &RmPlacement,
        settings: &RmServeSettings,
    ) -> Result<Self, RmBenchError> {
        match placement {
            RmPlacement::InProcess => {
                let runtime = rm_runtime(settings.worker_threads)?;
                let rm = runtime.block_on(start_rm(settings))?;
                Ok(Self {
                    addresses: RmAddresses::of(&rm),
                    host: Host::InProcess {
                        runtime,
                        rm: Box::new(rm),
                    },
                })
            }
            RmPlacement::ChildProcess { program, args } => {
                let json = serde_json::to_string(settings).expect("settings serialize");
                let mut command = Command::new(program);
                if std::env::var_os("SPINDLE_LOG").is_none() {
                    // One INFO line per registered NM would flood the terminal at 10k nodes.
                    command.env("SPINDLE_LOG", "warn");
                }
                let mut child = command
                    .args(args)
                    .arg("--settings")
                    .arg(json)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| {
                        RmBenchError::Setup(format!("starting {}: {e}", program.display()))
                    })?;
                let mut first_line = String::new();
                let stdout = child.stdout.take().expect("piped");
                let mut reader = BufReader::new(stdout);
                let read = reader.read_line(&mut first_line);
                if read.is_err() || first_line.is_empty() {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(RmBenchError::Setup(format!(
                        "the RM process ({}) ended before printing its addresses",
                        program.display()
                    )));
                }
                // Keep draining its output so that it never blocks on a full pipe.
                std::thread::spawn(move || {
                    let _ = reader.read_to_end(&mut Vec::new());
                });
                let addresses = match RmAddresses::from_line(&first_line) {
                    Ok(addresses) => addresses,
                    Err(error) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(error);
                    }
                };
                tracing::info!(
                    "ResourceManager under test: process {} (attach a profiler with perf record -p {})",
                    child.id(),
                    child.id()
                );
                Ok(Self {
                    addresses,
                    host: Host::Child { child },
                })
            }
        }
    }

    /// Whether the RM has a process of its own (else its memory is this process's).
    pub fn has_own_process(&self) -> bool {
        matches!(self.host, Host::Child { .. })
    }

    /// The RM's process id when it runs in a child process.
    pub fn process_id(&self) -> Option<u32> {
        match &self.host {
            Host::Child { child } => Some(child.id()),
            Host::InProcess { .. } => None,
        }
    }

    /// CPU seconds the RM has used so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        match &self.host {
            Host::Child { child } => proc_stats::process_cpu_seconds(child.id()),
            Host::InProcess { .. } => proc_stats::own_threads_cpu_seconds(RM_THREAD_NAME),
        }
    }

    /// Resident memory of the RM's process (this process's when in-process).
    pub fn rss_bytes(&self) -> Option<u64> {
        match &self.host {
            Host::Child { child } => proc_stats::process_rss_bytes(child.id()),
            Host::InProcess { .. } => proc_stats::process_rss_bytes(std::process::id()),
        }
    }

    /// Stops the RM (closing a child's standard input, then waiting for it).
    pub fn stop(self) {
        match self.host {
            Host::InProcess { runtime, rm } => {
                runtime.block_on(rm.shutdown());
                runtime.shutdown_background();
            }
            Host::Child { mut child } => {
                drop(child.stdin.take());
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) => break,
                        Ok(None) if std::time::Instant::now() < deadline => {
                            std::thread::sleep(std::time::Duration::from_millis(20))
                        }
                        _ => {
                            let _ = child.kill();
                            let _ = child.wait();
                            break;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_json_and_bad_json_is_refused() {
        let settings = RmServeSettings {
            scheduler_conf_dir: Some(PathBuf::from("/tmp/x")),
            maximum_allocation_mb: 16384,
            maximum_allocation_vcores: 16,
            nm_heartbeat_interval_ms: 1000,
            worker_threads: 2,
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(RmServeSettings::from_json(&json).unwrap(), settings);
        assert!(RmServeSettings::from_json("{").is_err());
        assert!(RmServeSettings::from_json("{\"worker_threads\": 2}").is_err());
        let no_threads = json.replace("\"worker_threads\":2", "\"worker_threads\":0");
        let error = RmServeSettings::from_json(&no_threads).unwrap_err();
        assert!(error.to_string().contains("worker_threads"), "{error}");
    }

    #[test]
    fn the_address_line_parses_and_anything_else_is_named_in_the_error() {
        let addresses = RmAddresses {
            client: "127.0.0.1:1".parse().unwrap(),
            scheduler: "127.0.0.1:2".parse().unwrap(),
            tracker: "127.0.0.1:3".parse().unwrap(),
            admin: "127.0.0.1:4".parse().unwrap(),
        };
        let line = format!("{}\n", serde_json::to_string(&addresses).unwrap());
        assert_eq!(RmAddresses::from_line(&line).unwrap(), addresses);
        let error = RmAddresses::from_line("panicked at main.rs\n").unwrap_err();
        assert!(error.to_string().contains("panicked at main.rs"), "{error}");
    }

    #[test]
    fn scheduler_files_are_written_for_capacity_and_fair_and_none_for_fifo() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            write_scheduler_conf_dir(dir.path(), BenchPolicy::Fifo, 1).unwrap(),
            None
        );
        let written = write_scheduler_conf_dir(dir.path(), BenchPolicy::Capacity, 3)
            .unwrap()
            .unwrap();
        let site = std::fs::read_to_string(written.join("yarn-site.xml")).unwrap();
        assert!(site.contains(CAPACITY_SCHEDULER_CLASS));
        assert!(written.join("capacity-scheduler.xml").exists());
        write_scheduler_conf_dir(dir.path(), BenchPolicy::Fair, 3).unwrap();
        assert!(dir.path().join("fair-scheduler.xml").exists());
    }
}
