//! `spindle demo`: an embedded cluster (one RM, three NMs) running several distributed-shell
//! applications at once, with live progress and a summary of where every container ran.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use spindle_client::YarnClient;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::states::{FinalApplicationStatus, YarnApplicationState};
use spindle_types::{ApplicationId, Resource};

use super::application::{format_progress, load_configuration};
use super::dshell::{self, DshellArgs};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Number of NodeManagers.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Keep the cluster's directory (logs, local dirs) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

/// One demonstration application: a name, a command and how many containers run it.
struct Workload {
    name: &'static str,
    containers: u32,
    command: &'static str,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "hello-from-every-node",
        containers: 6,
        command: "echo \"hello from $CONTAINER_ID on $NM_HOST:$NM_PORT\"; sleep 2",
    },
    Workload {
        name: "sum-1-to-a-million",
        containers: 3,
        command: "seq 1 1000000 | awk '{s+=$1} END {printf \"sum = %.0f\\n\", s}'",
    },
    Workload {
        name: "a-failing-command",
        containers: 2,
        command: "echo 'about to fail' >&2; exit 3",
    },
];

fn args(w: &Workload) -> DshellArgs {
    DshellArgs {
        num_containers: w.containers,
        container_memory: 256,
        container_vcores: 1,
        shell_command: w.command.to_string(),
        shell_args: Vec::new(),
        shell_env: Vec::new(),
        master_memory: 256,
        master_vcores: 1,
        queue: "default".into(),
        appname: w.name.to_string(),
        app_type: "DSHELL-DEMO".into(),
        priority: 0,
        shell_cmd_priority: 0,
        timeout: 120_000,
    }
}

/// Containers of `app` per NodeManager, read from each NM's log directory.
fn containers_per_node(
    base: &Path,
    nodes: usize,
    app: ApplicationId,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for i in 0..nodes {
        let dir = base.join(format!("nm-{i}/logs")).join(app.to_string());
        let mut ids: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        ids.sort();
        out.insert(format!("nm-{i}"), ids);
    }
    out
}

fn first_line_of(base: &Path, app: ApplicationId, container: &str, file: &str) -> Option<String> {
    (0..16).find_map(|i| {
        let path: PathBuf = base.join(format!("nm-{i}/logs/{app}/{container}/{file}"));
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
    })
}

pub async fn run(demo: DemoArgs) -> anyhow::Result<i32> {
    let dir = std::env::temp_dir().join(format!("spindle-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut config = MiniClusterConfig::new(dir.canonicalize()?);
    config.nodes = demo.nodes;
    config.node_resource = Resource::new(2048, 4);
    config.rm.maximum_allocation = Resource::new(2048, 4);
    config.nm_heartbeat_interval = Duration::from_millis(250);
    let started = Instant::now();
    let cluster = MiniCluster::start(config).await?;
    println!("== Spindle demo: a minicluster with 1 ResourceManager and {} NodeManagers (2 GB, 4 vcores each)", demo.nodes);
    println!(
        "   ResourceManager {}  (HADOOP_CONF_DIR={})",
        cluster.rm.client_address(),
        cluster.conf_dir().display()
    );
    println!("   Scheduler       {}", cluster.scheduler_source().class);
    for nm in cluster.node_managers.iter().flatten() {
        println!("   NodeManager     {}", nm.node_id());
    }
    println!("   started in {} ms\n", started.elapsed().as_millis());

    let configuration = load_configuration(Some(cluster.conf_dir()))?;
    let client = YarnClient::from_configuration(&configuration).await?;
    let mut apps = Vec::new();
    for w in WORKLOADS {
        let id = dshell::submit(&client, &configuration, &args(w)).await?;
        apps.push((id, w));
    }
    println!();

    // Live progress: one line per change of any application's state or progress.
    let mut last: BTreeMap<ApplicationId, String> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let reports = loop {
        let mut reports = Vec::new();
        for (id, w) in &apps {
            let r = client.get_application_report(*id).await?;
            let line = format!(
                "{:>6.1}s  {:<24} {:<9} {:>5}  containers held: {}",
                started.elapsed().as_secs_f32(),
                w.name,
                r.state.name(),
                format_progress(r.progress),
                r.used_containers
            );
            if last.get(id) != Some(&line[8..].to_string()) {
                println!("{line}");
                last.insert(*id, line[8..].to_string());
            }
            reports.push(r);
        }
        if reports.iter().all(|r| r.state.is_final()) || Instant::now() > deadline {
            break reports;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    println!("\n== Summary");
    let mut all_as_expected = true;
    for ((id, w), r) in apps.iter().zip(&reports) {
        let expected_success = w.name != "a-failing-command";
        let succeeded = r.state == YarnApplicationState::Finished
            && r.final_status == FinalApplicationStatus::Succeeded;
        all_as_expected &= succeeded == expected_success;
        println!(
            "{id}  {}  {} / {}",
            w.name,
            r.state.name(),
            r.final_status.name()
        );
        for (node, containers) in
            containers_per_node(cluster.conf_dir().parent().unwrap(), demo.nodes, *id)
        {
            let shells: Vec<&String> = containers
                .iter()
                .filter(|c| !c.ends_with("_000001"))
                .collect();
            let am = if containers.iter().any(|c| c.ends_with("_000001")) {
                " + ApplicationMaster"
            } else {
                ""
            };
            println!("    {node}: {} shell container(s){am}", shells.len());
        }
        if let Some(c) = containers_per_node(cluster.conf_dir().parent().unwrap(), demo.nodes, *id)
            .values()
            .flatten()
            .find(|c| !c.ends_with("_000001"))
        {
            let file = if expected_success { "stdout" } else { "stderr" };
            if let Some(line) = first_line_of(cluster.conf_dir().parent().unwrap(), *id, c, file) {
                println!("    {c} {file}: {line}");
            }
        }
        if !succeeded {
            println!(
                "    diagnostics: {}",
                r.diagnostics.lines().next().unwrap_or("")
            );
        }
    }
    println!(
        "\nAll applications ended as expected: {all_as_expected} ({:.1} s in all)",
        started.elapsed().as_secs_f32()
    );
    println!(
        "Inspect a log: spindle --conf-dir {} logs -applicationId {}",
        cluster.conf_dir().display(),
        apps[0].0
    );
    cluster.shutdown().await;
    if !demo.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(if all_as_expected { 0 } else { 1 })
}
