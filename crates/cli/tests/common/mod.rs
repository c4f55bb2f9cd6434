//! Shared helpers of the end-to-end tests: an embedded cluster, the real Spark from pyspark's
//! package (installed by scripts/ensure-pyspark), and the `spindle` binary under test.

#![allow(dead_code)]

pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::Resource;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The pyspark package directory (with `jars/` and `bin/`), installing it on first use.
pub fn pyspark_home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/ensure-pyspark"))
            .output()
            .expect("scripts/ensure-pyspark runs");
        assert!(
            out.status.success(),
            "installing pyspark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .clone()
}

/// A cluster of `nodes` NMs with `memory_mb` each, heartbeating every 200 ms.
pub async fn cluster(dir: &Path, nodes: usize, memory_mb: i64) -> MiniCluster {
    let mut config = MiniClusterConfig::new(dir);
    config.nodes = nodes;
    config.node_resource = Resource::new(memory_mb, 4);
    config.rm.maximum_allocation = Resource::new(memory_mb, 4);
    config.nm_heartbeat_interval = Duration::from_millis(200);
    MiniCluster::start(config).await.unwrap()
}

/// `spark-submit --master yarn` with Spark kept on loopback and this cluster's staging directory.
fn spark_command(conf_dir: &Path, args: &[&str]) -> Command {
    let bin = pyspark_home().join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(bin.join("spark-submit"));
    command
        .args(["--master", "yarn"])
        .args(["--conf", "spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1"])
        .args(["--conf", "spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1"])
        .args(["--conf", "spark.ui.enabled=false"])
        .args(["--conf", &staging_dir(conf_dir)])
        .args(args)
        .env("HADOOP_CONF_DIR", conf_dir)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PATH", path)
        .env_remove("SPARK_HOME");
    command
}

/// Runs spark-submit to completion; returns its output.
pub fn spark_submit(conf_dir: &Path, args: &[&str]) -> Output {
    spark_command(conf_dir, args)
        .output()
        .expect("spark-submit runs")
}

/// Runs spark-submit to completion off the async runtime.
pub async fn spark_submit_async(conf_dir: &Path, args: &[&str]) -> Output {
    let conf_dir = conf_dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        spark_submit(
            &conf_dir,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    })
    .await
    .unwrap()
}

/// Each cluster's own staging directory (beside its configuration), so that parallel tests never
/// share `~/.sparkStaging`.
fn staging_dir(conf_dir: &Path) -> String {
    format!(
        "spark.yarn.stagingDir=file://{}",
        conf_dir
            .parent()
            .unwrap_or(conf_dir)
            .join("staging")
            .display()
    )
}

/// `spark.yarn.jars` pointing at pyspark's own jars: no upload.
pub fn local_jars() -> String {
    format!("spark.yarn.jars=local:{}/jars/*", pyspark_home().display())
}

/// Runs the `spindle` binary under test.
pub fn spindle(conf_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spindle"))
        .arg("--conf-dir")
        .arg(conf_dir)
        .args(args)
        .env("SPINDLE_LOG", "warn")
        .output()
        .expect("spindle runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The application id spark-submit reported.
pub fn application_id(output: &str) -> String {
    output
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| w.starts_with("application_") && w.len() > "application_".len())
        .unwrap_or_else(|| panic!("no application id in:\n{output}"))
        .to_string()
}

/// Writes a PySpark script into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

pub const SUM_OF_SQUARES: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("spindle-sum-of-squares").getOrCreate()
n = spark.sparkContext.parallelize(range(1, 100001), 4).map(lambda x: x * x).sum()
print("RESULT sum of squares =", n)
spark.stop()
"#;

pub const SUM_OF_SQUARES_RESULT: &str = "RESULT sum of squares = 333338333350000";

/// Pids of live processes whose environment holds `CONTAINER_ID=<prefix>...`.
pub fn container_processes(container_prefix: &str) -> Vec<(i32, String)> {
    let needle = format!("CONTAINER_ID={container_prefix}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            continue;
        }
        for var in environ.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            if let Some(rest) = var.strip_prefix("CONTAINER_ID=") {
                if var.starts_with(&needle) {
                    let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                    let _ = rest;
                    found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
                }
            }
        }
    }
    found
}

/// Waits until `check` holds, polling every 200 ms, or panics with `what` after `seconds`.
pub async fn wait_until(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts spark-submit in the background, its output going to `log`.
pub fn spawn_spark_submit(conf_dir: &Path, args: &[&str], log: &Path) -> std::process::Child {
    let file = std::fs::File::create(log).unwrap();
    spark_command(conf_dir, args)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("spark-submit starts")
}

/// The seed document's allocation file (Hadoop: The Definitive Guide): prod (weight 40, fifo),
/// dev (weight 60) with eng and science, and placement rules that end in dev.eng. The Korean
/// article's copy writes the last rule as `create="dev.eng"`, a typo for the book's `queue=`
/// (the scheduler's configuration tests load that copy as written).
pub const SEED_ALLOCATION_FILE: &str =
    include_str!("../../../scheduler/tests/fixtures/seed-fair-scheduler.xml");

/// `dshell` arguments for two 256 MB containers running `command`.
/// `spindle dshell` arguments: `containers` containers of 256 MB running `command`.
pub fn dshell_args(containers: usize, command: &str) -> Vec<String> {
    [
        "dshell",
        "--num-containers",
        &containers.to_string(),
        "--container-memory",
        "256",
        "--shell-command",
        command,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn dshell_two_containers(command: &str) -> [&str; 7] {
    [
        "dshell",
        "--num-containers",
        "2",
        "--container-memory",
        "256",
        "--shell-command",
        command,
    ]
}

/// A loopback port free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (and reaped) when dropped.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `spindle --conf-dir CONF ARGS...` in the background, its output in `log`.
pub fn spawn_spindle(conf: &Path, args: &[&str], log: &Path) -> Process {
    spawn_spindle_with_env(conf, args, log, &[])
}

/// As [`spawn_spindle`], with extra environment variables (`SPINDLE_LOG` defaults to `warn`).
pub fn spawn_spindle_with_env(
    conf: &Path,
    args: &[&str],
    log: &Path,
    environment: &[(&str, &str)],
) -> Process {
    let file = std::fs::File::create(log).unwrap();
    Process(
        Command::new(env!("CARGO_BIN_EXE_spindle"))
            .arg("--conf-dir")
            .arg(conf)
            .args(args)
            .env("SPINDLE_LOG", "warn")
            .envs(environment.iter().copied())
            .stdout(std::process::Stdio::from(file.try_clone().unwrap()))
            .stderr(std::process::Stdio::from(file))
            .spawn()
            .unwrap(),
    )
}

/// yarn-site.xml keys for an RM and one NM on loopback: the RM's client, scheduler and
/// resource-tracker ports (`tracker` is where the NM reaches the RM), an NM of 3 GB and 3
/// vcores with its directories under `dir/nm`, 200 ms heartbeats, 256 MB minimum allocation.
pub fn daemon_properties(
    dir: &Path,
    client: u16,
    scheduler: u16,
    tracker: u16,
) -> Vec<(&'static str, String)> {
    vec![
        ("yarn.resourcemanager.hostname", "127.0.0.1".to_string()),
        (
            "yarn.resourcemanager.address",
            format!("127.0.0.1:{client}"),
        ),
        (
            "yarn.resourcemanager.scheduler.address",
            format!("127.0.0.1:{scheduler}"),
        ),
        (
            "yarn.resourcemanager.resource-tracker.address",
            format!("127.0.0.1:{tracker}"),
        ),
        // Not the default 8033: RMs of tests running at once must not share it.
        (
            "yarn.resourcemanager.admin.address",
            format!("127.0.0.1:{}", free_port()),
        ),
        ("yarn.nodemanager.address", "localhost:0".to_string()),
        // Free web ports: RMs and NMs of tests running at once must not share 8088 and 8042.
        (
            "yarn.resourcemanager.webapp.address",
            "127.0.0.1:0".to_string(),
        ),
        ("yarn.nodemanager.webapp.address", "127.0.0.1:0".to_string()),
        ("yarn.nodemanager.resource.memory-mb", "3072".to_string()),
        ("yarn.nodemanager.resource.cpu-vcores", "3".to_string()),
        (
            "yarn.nodemanager.local-dirs",
            dir.join("nm/local").display().to_string(),
        ),
        (
            "yarn.nodemanager.log-dirs",
            dir.join("nm/logs").display().to_string(),
        ),
        (
            "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
            "200".to_string(),
        ),
        ("yarn.scheduler.minimum-allocation-mb", "256".to_string()),
    ]
}

/// yarn-site.xml in `dir/conf` for an RM with recovery on (its store under `dir/rmstore`) and
/// one NM ([`daemon_properties`] plus `extra`).
pub fn recovery_daemon_conf(dir: &Path, extra: &[(&'static str, &str)]) -> PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let (client, scheduler, tracker) = (free_port(), free_port(), free_port());
    let mut properties = daemon_properties(dir, client, scheduler, tracker);
    properties.extend([
        ("yarn.resourcemanager.recovery.enabled", "true".to_string()),
        (
            "yarn.resourcemanager.fs.state-store.uri",
            format!("file://{}", dir.join("rmstore").display()),
        ),
    ]);
    for (key, value) in extra {
        properties.retain(|(k, _)| k != key);
        properties.push((key, value.to_string()));
    }
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    conf
}

/// `spindle resourcemanager` logging at info level to `log` (its recovery summary and the
/// containers it takes back are asserted on).
pub fn spawn_rm(conf: &Path, log: &Path) -> Process {
    spawn_spindle_with_env(conf, &["resourcemanager"], log, &[("SPINDLE_LOG", "info")])
}

/// An RM ([`spawn_rm`], log `dir/rm.log`) and one NM (`dir/nm.log`), once the NM has registered.
pub async fn start_rm_and_nm(conf: &Path, dir: &Path) -> (Process, Process) {
    let rm = spawn_rm(conf, &dir.join("rm.log"));
    let nm = spawn_spindle(conf, &["nodemanager"], &dir.join("nm.log"));
    wait_until(20, "the NM to register", || {
        text(&spindle(conf, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;
    (rm, nm)
}

/// yarn-site.xml for rm1 and rm2 on loopback in `dir/<id>/conf` (with `ha.id`) and a client
/// configuration in `dir/client` (without), which the NM also runs with; `nm` overrides its
/// properties (or adds to them).
pub fn ha_confs(dir: &Path, zk: &str, nm: &[(&str, &str)]) -> (PathBuf, PathBuf, PathBuf) {
    let mut shared: Vec<(String, String)> = vec![
        ("yarn.resourcemanager.ha.enabled".into(), "true".into()),
        ("yarn.resourcemanager.ha.rm-ids".into(), "rm1,rm2".into()),
        (
            "yarn.resourcemanager.cluster-id".into(),
            "spindle-ha".into(),
        ),
        (
            "yarn.resourcemanager.recovery.enabled".into(),
            "true".into(),
        ),
        (
            "yarn.resourcemanager.store.class".into(),
            "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore".into(),
        ),
        ("hadoop.zk.address".into(), zk.into()),
        ("hadoop.zk.timeout-ms".into(), "3000".into()),
        ("yarn.client.failover-sleep-base-ms".into(), "100".into()),
        ("yarn.client.failover-sleep-max-ms".into(), "500".into()),
        // The NM (run with the client configuration).
        ("yarn.nodemanager.address".into(), "localhost:0".into()),
        (
            "yarn.nodemanager.webapp.address".into(),
            "127.0.0.1:0".into(),
        ),
        ("yarn.nodemanager.resource.memory-mb".into(), "3072".into()),
        ("yarn.nodemanager.resource.cpu-vcores".into(), "3".into()),
        (
            "yarn.nodemanager.local-dirs".into(),
            dir.join("nm/local").display().to_string(),
        ),
        (
            "yarn.nodemanager.log-dirs".into(),
            dir.join("nm/logs").display().to_string(),
        ),
        (
            "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms".into(),
            "200".into(),
        ),
        ("yarn.scheduler.minimum-allocation-mb".into(), "256".into()),
    ];
    for (key, value) in nm {
        shared.retain(|(k, _)| k != key);
        shared.push((key.to_string(), value.to_string()));
    }
    for id in ["rm1", "rm2"] {
        for key in [
            "yarn.resourcemanager.address",
            "yarn.resourcemanager.scheduler.address",
            "yarn.resourcemanager.resource-tracker.address",
            "yarn.resourcemanager.admin.address",
            // Hadoop's AM filter set-up (Spark's AM) resolves each RM's web address; without
            // one per id it looks for the local RM and finds both on loopback.
            "yarn.resourcemanager.webapp.address",
        ] {
            shared.push((format!("{key}.{id}"), format!("127.0.0.1:{}", free_port())));
        }
    }
    let write = |sub: &str, extra: &[(String, String)]| {
        let conf = dir.join(sub);
        std::fs::create_dir_all(&conf).unwrap();
        let mut properties = shared.clone();
        properties.extend_from_slice(extra);
        spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
        conf
    };
    let id = |rm: &str| vec![("yarn.resourcemanager.ha.id".to_string(), rm.to_string())];
    (
        write("rm1", &id("rm1")),
        write("rm2", &id("rm2")),
        write("client", &[]),
    )
}

pub fn ha_state(client: &Path, id: &str) -> String {
    text(&spindle(client, &["rmadmin", "-getServiceState", id]))
        .trim()
        .to_string()
}

/// Sends `signal` (`TERM`, `INT`) to the process with `kill`, as an operator or systemd would.
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// Waits up to `seconds` for the process to exit; its exit status.
pub async fn exit_within(
    child: &mut std::process::Child,
    seconds: u64,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} still running after {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Eight tasks of a few seconds each on two executors: a Spark job that outlives an RM's
/// restart or failover.
pub const SLOW_SPARK_JOB: &str = r#"
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("spindle-slow-job").getOrCreate()
n = spark.sparkContext.parallelize(range(8), 8).map(lambda x: time.sleep(4) or x).sum()
print("RESULT", n)
spark.stop()
"#;

/// Submits [`SLOW_SPARK_JOB`] in `deploy_mode` (two 512 MB executors, pyspark's jars) to the
/// cluster of `conf`, spark-submit's output in `dir/submit.log`, and waits until the application
/// runs its AM and both executors; returns spark-submit and the application id.
pub async fn start_slow_spark_job(
    conf: &Path,
    dir: &Path,
    deploy_mode: &str,
) -> (std::process::Child, String) {
    let job = script(dir, "slow.py", SLOW_SPARK_JOB);
    let jars = local_jars();
    let submit = spawn_spark_submit(
        conf,
        &[
            "--deploy-mode",
            deploy_mode,
            "--num-executors",
            "2",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            job.to_str().unwrap(),
        ],
        &dir.join("submit.log"),
    );
    let mut app = String::new();
    wait_until(150, "the job to run on both executors", || {
        let list = text(&spindle(conf, &["application", "-list"]));
        if let Some(line) = list
            .lines()
            .find(|l| l.trim_start().starts_with("application_") && l.contains("RUNNING"))
        {
            app = application_id(line);
        }
        !app.is_empty()
            && container_processes(&app.replace("application_", "container_")).len() >= 3
    })
    .await;
    (submit, app)
}

/// The containers the NM with logs in `dir/nm/logs` ran for `app` (one log directory each),
/// sorted.
pub fn containers_run(dir: &Path, app: &str) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir.join("nm/logs").join(app))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// A plain HTTP/1.0 GET of `path` on `address` (`host:port`): the status and the whole answer
/// (headers and body).
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("the web port answers");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// A key of the yarn-site.xml in `conf`.
pub fn site_value(conf: &Path, key: &str) -> Option<String> {
    spindle_conf::Configuration::load_default_files(Some(conf))
        .ok()?
        .get(key)
        .map(str::to_string)
}
