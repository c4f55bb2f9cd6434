//! Spindle on several machines, each a Linux network namespace on one switch (common/netns.rs):
//! `spindle resourcemanager` on one host and `spindle nodemanager` on others (sharing a cluster
//! secret), each with its own yarn-site.xml and address, the clients on the RM's host. A distributed shell spreads over
//! the NM hosts; an NM cut off from the network is LOST, its containers replaced elsewhere, and
//! when the link comes back it rejoins without running anything twice; a topology table places
//! each host in its rack. An AM whose host is cut off is expired and a new attempt's AM takes
//! over on a connected host, the old one stopped once its host is back; a real Spark job in
//! cluster mode (pyspark's spark-submit on the RM's host) runs its driver and executors on the
//! NM hosts, each on its host's own address, and replaces the executors of a lost host.
//!
//! These tests need root and iproute2 (`ip netns`); elsewhere they fail saying so, unless
//! `SPINDLE_SKIP_NETNS=1` is set.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::netns::{Host, Network};
use common::*;

/// NM memory: four containers of the 256 MB minimum allocation.
const NM_MEMORY_MB: u32 = 1024;

/// The NM liveness expiry: a silent NM is LOST after 4 s.
const NM_EXPIRY_MS: u32 = 4000;

/// yarn-site.xml keys every host shares: where the RM's services are. Every host is its own
/// network namespace, so YARN's default ports are free on each and are used as they are.
fn rm_addresses(rm: Ipv4Addr) -> Vec<(&'static str, String)> {
    vec![
        ("yarn.resourcemanager.hostname", rm.to_string()),
        ("yarn.resourcemanager.address", format!("{rm}:8032")),
        (
            "yarn.resourcemanager.scheduler.address",
            format!("{rm}:8030"),
        ),
        (
            "yarn.resourcemanager.resource-tracker.address",
            format!("{rm}:8031"),
        ),
        ("yarn.resourcemanager.admin.address", format!("{rm}:8033")),
        (
            "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
            "250".to_string(),
        ),
    ]
}

/// Writes `properties` to `dir/yarn-site.xml`; the configuration directory.
fn write_conf(dir: &Path, properties: &[(&str, String)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    spindle_conf::write_site_xml(&dir.join("yarn-site.xml"), properties).unwrap();
    dir.to_path_buf()
}

/// `spindle --conf-dir CONF ARGS...` on `host`, logging at `level`.
fn spindle_on(host: &Host, conf: &Path, args: &[&str], level: &str) -> Command {
    let mut command = host.command(env!("CARGO_BIN_EXE_spindle"));
    command
        .arg("--conf-dir")
        .arg(conf)
        .args(args)
        .env("SPINDLE_LOG", level);
    command
}

/// Runs `command` in the background, its output in `log`; killed when dropped.
fn spawn_logged(mut command: Command, log: &Path) -> Process {
    let file = std::fs::File::create(log).unwrap();
    Process(
        command
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("ip netns exec spindle starts"),
    )
}

/// The ids of `application`'s containers that have a live process on `host` (from each
/// process's `CONTAINER_ID`, which the NM sets for every process of a container).
fn containers_on(host: &Host, application: &str) -> BTreeSet<String> {
    let prefix = format!(
        "CONTAINER_ID={}",
        application.replace("application_", "container_")
    );
    host.pids()
        .into_iter()
        .filter_map(|pid| std::fs::read(format!("/proc/{pid}/environ")).ok())
        .filter_map(|environ| {
            environ
                .split(|b| *b == 0)
                .map(String::from_utf8_lossy)
                .find(|var| var.starts_with(&prefix))
                .map(|var| var["CONTAINER_ID=".len()..].to_string())
        })
        .collect()
}

/// Whether `container` is its application's AM (the first container of attempt 1).
fn is_am(container: &str) -> bool {
    container.ends_with("_01_000001")
}

/// One row of `spindle node -list -all`.
#[derive(Debug, Clone)]
struct NodeRow {
    id: String,
    state: String,
    running_containers: u32,
}

/// An RM host (`rm`) and NM hosts (`nm-1`, `nm-2`, ...) on one switch, each daemon in its own
/// namespace with its own yarn-site.xml; the clients' configuration is on the RM's host.
/// Fields drop in order: the daemons, then the network (with whatever still runs on it), then
/// the directory.
struct Cluster {
    daemons: Vec<Process>,
    network: Network,
    client_conf: PathBuf,
    dir: tempfile::TempDir,
}

/// What a test changes in the cluster [`Cluster::start`] makes.
struct Options {
    /// Memory of every NM.
    nm_memory_mb: u32,
    /// yarn-site.xml keys of the RM's, added to (or replacing) its defaults.
    rm: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            nm_memory_mb: NM_MEMORY_MB,
            rm: Vec::new(),
        }
    }
}

impl Cluster {
    /// Starts the RM and `nms` NMs and waits until every NM has registered. The RM's topology
    /// table puts `nm-i` on `/rack-i`. `None` when namespaces are unavailable and skipping was
    /// asked for.
    async fn start(nms: usize) -> Option<Cluster> {
        Cluster::start_with(nms, Options::default()).await
    }

    /// As [`Cluster::start`], with `options`.
    async fn start_with(nms: usize, options: Options) -> Option<Cluster> {
        let mut labels = vec!["rm".to_string()];
        labels.extend((1..=nms).map(|i| format!("nm-{i}")));
        let network = Network::create(&labels.iter().map(String::as_str).collect::<Vec<_>>())?;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let rm = network.host("rm");

        let topology = root.join("topology.table");
        let table: String = (1..=nms)
            .map(|i| format!("{} /rack-{i}\n", network.host(&format!("nm-{i}")).address))
            .collect();
        std::fs::write(&topology, table).unwrap();
        // Membership as a real cluster should have it: the RM and every NM share a secret.
        let secret = root.join("cluster-secret");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&secret, "6d756c74692d686f73742d736563726574\n").unwrap();
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let secret_key = (
            "spindle.node-registration.secret-file",
            secret.display().to_string(),
        );
        let mut rm_properties = rm_addresses(rm.address);
        rm_properties.push(secret_key.clone());
        rm_properties.extend([
            (
                "yarn.nm.liveness-monitor.expiry-interval-ms",
                NM_EXPIRY_MS.to_string(),
            ),
            ("yarn.scheduler.minimum-allocation-mb", "256".to_string()),
            (
                "net.topology.table.file.name",
                topology.display().to_string(),
            ),
        ]);
        for (key, value) in options.rm {
            rm_properties.retain(|(k, _)| *k != key);
            rm_properties.push((key, value));
        }
        let rm_conf = write_conf(&root.join("rm/conf"), &rm_properties);
        let client_conf = write_conf(&root.join("client"), &rm_addresses(rm.address));

        let mut cluster = Cluster {
            daemons: Vec::new(),
            network,
            client_conf,
            dir,
        };
        let rm_address = cluster.network.host("rm").address;
        cluster.daemons.push(spawn_logged(
            spindle_on(
                cluster.network.host("rm"),
                &rm_conf,
                &["resourcemanager"],
                "info",
            ),
            &cluster.log_path("rm"),
        ));
        wait_until(30, "the RM to serve on its host's address", || {
            cluster.spindle(&["application", "-list"]).status.success()
        })
        .await;

        for i in 1..=nms {
            let host = cluster.nm_host(i);
            let nm_dir = cluster.nm_dir(i);
            let mut properties = rm_addresses(rm_address);
            properties.push(secret_key.clone());
            properties.extend([
                // Each NM advertises its own host's address: node ids carry distinct hosts.
                ("yarn.nodemanager.hostname", host.address.to_string()),
                (
                    "yarn.nodemanager.address",
                    format!("{}:45454", host.address),
                ),
                (
                    "yarn.nodemanager.resource.memory-mb",
                    options.nm_memory_mb.to_string(),
                ),
                ("yarn.nodemanager.resource.cpu-vcores", "4".to_string()),
                (
                    "yarn.nodemanager.local-dirs",
                    nm_dir.join("local").display().to_string(),
                ),
                (
                    "yarn.nodemanager.log-dirs",
                    nm_dir.join("logs").display().to_string(),
                ),
            ]);
            let conf = write_conf(&nm_dir.join("conf"), &properties);
            let nm = spawn_logged(
                spindle_on(host, &conf, &["nodemanager"], "info"),
                &cluster.log_path(&format!("nm-{i}")),
            );
            cluster.daemons.push(nm);
        }
        wait_until(30, "every NM to register", || {
            let nodes = cluster.nodes();
            nodes.len() == nms && nodes.iter().all(|n| n.state == "RUNNING")
        })
        .await;
        Some(cluster)
    }

    fn nm_host(&self, i: usize) -> &Host {
        self.network.host(&format!("nm-{i}"))
    }

    /// The NM's directory: its conf, `local` and `logs`.
    fn nm_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("nm-{i}"))
    }

    /// The application id a client's log (`<client>.log`) says it submitted, once it says so.
    fn submitted(&self, client: &str) -> Option<String> {
        let log = std::fs::read_to_string(self.log_path(client)).unwrap_or_default();
        log.contains("Submitted application")
            .then(|| application_id(&log))
    }

    fn log_path(&self, daemon: &str) -> PathBuf {
        self.dir.path().join(format!("{daemon}.log"))
    }

    /// Every daemon's log, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                out.push_str(&format!(
                    "\n===== {} =====\n{}",
                    path.display(),
                    std::fs::read_to_string(&path).unwrap_or_default()
                ));
            }
        }
        out
    }

    /// Starts `spindle dshell` (its log `dshell.log`) with `containers` shell containers of
    /// 256 MB running `command`, and waits until its AM and every container run on the first
    /// `nms` NM hosts: the running client and the application id.
    async fn start_dshell(
        &self,
        nms: usize,
        containers: usize,
        command: &str,
    ) -> (Process, String) {
        let args = dshell_args(containers, command);
        let client = spawn_logged(
            self.client(&args.iter().map(String::as_str).collect::<Vec<_>>()),
            &self.log_path("dshell"),
        );
        let mut application = String::new();
        let what = format!("the AM and {containers} shell containers to run");
        wait_until(60, &what, || {
            if application.is_empty() {
                match self.submitted("dshell") {
                    Some(id) => application = id,
                    None => return false,
                }
            }
            (1..=nms)
                .map(|i| containers_on(self.nm_host(i), &application).len())
                .sum::<usize>()
                == containers + 1
        })
        .await;
        (client, application)
    }

    /// A client command on the RM's host with the client configuration.
    fn client(&self, args: &[&str]) -> Command {
        spindle_on(self.network.host("rm"), &self.client_conf, args, "warn")
    }

    /// Runs a client command to completion.
    fn spindle(&self, args: &[&str]) -> Output {
        self.client(args)
            .output()
            .expect("ip netns exec spindle runs")
    }

    /// `spindle node -list -all`, parsed.
    fn nodes(&self) -> Vec<NodeRow> {
        text(&self.spindle(&["node", "-list", "-all"]))
            .lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words[..] {
                    [id, state, _http, count] if id.contains(':') => Some(NodeRow {
                        id: id.to_string(),
                        state: state.to_string(),
                        running_containers: count.parse().ok()?,
                    }),
                    _ => None,
                }
            })
            .collect()
    }

    /// The node of NM host `i` (its id starts with the host's address), if the RM lists it.
    /// Connects NM host `i` to the switch again, and waits until its NM runs again (the RM told
    /// it to resync and it registered) and none of `application`'s processes is left on it (the
    /// RM had it stop what it had already reported lost or expired).
    async fn heal(&self, i: usize, application: &str) {
        let host = self.nm_host(i);
        host.reconnect();
        wait_until(90, "the healed NM to run again", || {
            self.node(i).is_some_and(|n| n.state == "RUNNING")
        })
        .await;
        wait_until(
            30,
            "the application's processes on the healed host to stop",
            || containers_on(host, application).is_empty(),
        )
        .await;
    }

    fn node(&self, i: usize) -> Option<NodeRow> {
        let prefix = format!("{}:", self.nm_host(i).address);
        self.nodes().into_iter().find(|n| n.id.starts_with(&prefix))
    }

    /// The containers of `application` whose log directories NM `i` made, with the contents of
    /// each one's `stdout` (empty for the AM, which writes AppMaster.stdout).
    fn container_logs(&self, i: usize, application: &str) -> BTreeMap<String, String> {
        let logs = self.nm_dir(i).join("logs").join(application);
        std::fs::read_dir(&logs)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let stdout = std::fs::read_to_string(e.path().join("stdout"));
                        (
                            e.file_name().to_string_lossy().to_string(),
                            stdout.unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The AM's AppMaster.stdout, from the NM host that ran it.
    fn am_stdout(&self, application: &str) -> String {
        let am = format!(
            "{}_01_000001",
            application.replace("application_", "container_")
        );
        self.network
            .hosts()
            .iter()
            .filter_map(|h| h.label.strip_prefix("nm-")?.parse::<usize>().ok())
            .map(|i| {
                self.nm_dir(i)
                    .join("logs")
                    .join(application)
                    .join(&am)
                    .join("AppMaster.stdout")
            })
            .find_map(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }
}

/// The addresses local to the network a process saw, from its `/proc/net/fib_trie`
/// (`|-- 10.231.0.2` lines; the namespace's own addresses, subnet and broadcast addresses).
fn addresses_in_fib_trie(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("|-- "))
        .map(|address| address.trim().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_shell_runs_its_containers_on_both_node_manager_hosts() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let (b, c) = (cluster.nm_host(1).address, cluster.nm_host(2).address);

    // The RM knows two NMs, on two hosts.
    let nodes = cluster.nodes();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(nodes.iter().all(|n| n.state == "RUNNING"), "{nodes:?}");
    for address in [b, c] {
        assert!(
            nodes
                .iter()
                .any(|n| n.id.starts_with(&format!("{address}:"))),
            "a node on {address}: {nodes:?}"
        );
    }
    let listing = text(&cluster.spindle(&["node", "-list"]));
    assert!(listing.contains("Total Nodes:2"), "{listing}");

    // Six containers and the AM do not fit on one NM (four each): both hosts run some. Each
    // prints the address the NM gave it and the addresses its own network stack has.
    let out = cluster.spindle(&[
        "dshell",
        "--num-containers",
        "6",
        "--container-memory",
        "256",
        "--shell-command",
        "echo ran on $NM_HOST; cat /proc/net/fib_trie",
    ]);
    assert!(out.status.success(), "{}{}", text(&out), cluster.logs());
    let application = application_id(&text(&out));
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert!(report.contains("Final-State : SUCCEEDED"), "{report}");

    let mut shell_containers = 0;
    for (i, (own, other)) in [(1, (b, c)), (2, (c, b))] {
        let ran: Vec<(String, String)> = cluster
            .container_logs(i, &application)
            .into_iter()
            .filter(|(container, _)| !is_am(container))
            .collect();
        assert!(
            !ran.is_empty(),
            "the NM on {own} ran some of the shell containers{}",
            cluster.logs()
        );
        for (container, stdout) in &ran {
            assert!(
                stdout.starts_with(&format!("ran on {own}\n")),
                "{container} was told it runs on {own}: {stdout}"
            );
            let seen = addresses_in_fib_trie(stdout);
            assert!(
                seen.contains(&own.to_string()) && !seen.contains(&other.to_string()),
                "{container}'s process ran in {own}'s network, not {other}'s: {seen:?}"
            );
        }
        shell_containers += ran.len();
    }
    assert_eq!(shell_containers, 6, "each shell container ran once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_node_manager_is_lost_then_rejoins_without_running_anything_twice() {
    // Three NM hosts of four containers each: six shell containers and the AM spread over at
    // least two, and the two left after a partition have room for all seven.
    let Some(cluster) = Cluster::start(3).await else {
        return;
    };
    let marks = cluster.dir.path().join("marks");
    let release = cluster.dir.path().join("release");
    // Each shell container notes its id when it starts, then runs until the test releases it.
    let command = format!(
        "echo start $CONTAINER_ID >> {}; while [ ! -e {} ]; do sleep 0.2; done",
        marks.display(),
        release.display()
    );
    let (mut client, application) = cluster.start_dshell(3, 6, &command).await;
    let before: Vec<BTreeSet<String>> = (1..=3)
        .map(|i| containers_on(cluster.nm_host(i), &application))
        .collect();
    // The victim: an NM host that runs shell containers but not the AM.
    let victim = (1..=3)
        .find(|i| !before[i - 1].is_empty() && !before[i - 1].iter().any(|c| is_am(c)))
        .expect("an NM with shell containers only");
    let victim_host = cluster.nm_host(victim);
    let cut_off = before[victim - 1].clone();
    let victim_node = cluster.node(victim).expect("the victim's node").id;

    // Pull the victim's cable: its NM can no longer heartbeat, nothing reaches it.
    victim_host.disconnect();
    wait_until(30, "the RM to mark the cut-off NM LOST", || {
        cluster.node(victim).is_some_and(|n| n.state == "LOST")
    })
    .await;
    let listing = text(&cluster.spindle(&["node", "-list", "-all"]));
    assert!(
        listing
            .lines()
            .any(|l| l.contains(&victim_node) && l.contains("LOST")),
        "{listing}"
    );

    // The AM hears its containers there were lost and replaces them on the other two hosts.
    let others: Vec<usize> = (1..=3).filter(|i| *i != victim).collect();
    wait_until(60, "replacements of the lost containers to run", || {
        let elsewhere: BTreeSet<String> = others
            .iter()
            .flat_map(|i| containers_on(cluster.nm_host(*i), &application))
            .collect();
        elsewhere.len() == 7 && elsewhere.is_disjoint(&cut_off)
    })
    .await;
    let am_stdout = cluster.am_stdout(&application);
    for container in &cut_off {
        assert!(
            am_stdout.contains(&format!("Container {container} was lost")),
            "the AM learned {container} was lost: {am_stdout}"
        );
    }
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert!(
        report.contains("State : RUNNING"),
        "the application goes on: {report}"
    );
    // Cut off, the NM cannot be told anything: its containers still run there.
    assert_eq!(containers_on(victim_host, &application), cut_off);

    // Plug the cable back in: the RM tells the NM to resync, it registers again, and is told to
    // stop the containers the RM already reported lost.
    cluster.heal(victim, &application).await;

    // Nothing runs twice: the RM counts the AM and six shell containers, none on the rejoined
    // host; each container id has processes on one host only; every id started once.
    let nodes = cluster.nodes();
    assert_eq!(
        cluster.node(victim).unwrap().running_containers,
        0,
        "{nodes:?}"
    );
    assert_eq!(
        nodes.iter().map(|n| n.running_containers).sum::<u32>(),
        7,
        "{nodes:?}"
    );
    let mut hosts_of: BTreeMap<String, usize> = BTreeMap::new();
    for i in 1..=3 {
        for container in containers_on(cluster.nm_host(i), &application) {
            *hosts_of.entry(container).or_default() += 1;
        }
    }
    assert_eq!(hosts_of.len(), 7, "{hosts_of:?}");
    assert!(hosts_of.values().all(|n| *n == 1), "{hosts_of:?}");
    assert!(
        hosts_of.keys().all(|c| !cut_off.contains(c)),
        "{hosts_of:?}"
    );
    let started = std::fs::read_to_string(&marks).unwrap();
    let mut starts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in started.lines().filter_map(|l| l.strip_prefix("start ")) {
        *starts.entry(id).or_default() += 1;
    }
    assert!(starts.values().all(|n| *n == 1), "{started}");
    assert_eq!(starts.len(), 6 + cut_off.len(), "{started}");

    // Released, the six running shell containers complete and the application succeeds.
    std::fs::write(&release, "").unwrap();
    let status = exit_within(&mut client.0, 60, "the dshell client").await;
    let output = std::fs::read_to_string(cluster.log_path("dshell")).unwrap_or_default();
    assert!(status.success(), "{output}{}", cluster.logs());
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert!(report.contains("Final-State : SUCCEEDED"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topology_table_places_each_node_manager_host_in_its_rack() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    for i in 1..=2 {
        let node = cluster.node(i).expect("the node of each NM host");
        let report = text(&cluster.spindle(&["node", "-status", &node.id]));
        assert!(
            report.contains(&format!("Rack : /rack-{i}")),
            "the table maps {} to /rack-{i}: {report}",
            cluster.nm_host(i).address
        );
    }
}

/// The value of `label` in `spindle application -status`'s report (`\tLabel : value`).
fn report_field(report: &str, label: &str) -> String {
    report
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{label} : ")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The AM container of `application`'s attempt `attempt` (`container_..._0A_000001`).
fn am_container(application: &str, attempt: u32) -> String {
    format!(
        "{}_{attempt:02}_000001",
        application.replace("application_", "container_")
    )
}

/// The AM liveness expiry of the AM test: an AM silent for 4 s is expired.
const AM_EXPIRY_MS: u32 = 4000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_master_cut_off_from_the_rm_is_expired_and_a_new_attempt_takes_over() {
    // Three NM hosts; the RM expires an AM silent for 4 s (its NMs still after 12 s, so the
    // silent AM, not its lost node, ends the attempt) and allows two attempts.
    let options = Options {
        rm: vec![
            (
                "yarn.am.liveness-monitor.expiry-interval-ms",
                AM_EXPIRY_MS.to_string(),
            ),
            (
                "yarn.nm.liveness-monitor.expiry-interval-ms",
                (3 * NM_EXPIRY_MS).to_string(),
            ),
            ("yarn.resourcemanager.am.max-attempts", "2".to_string()),
        ],
        ..Options::default()
    };
    let Some(cluster) = Cluster::start_with(3, options).await else {
        return;
    };
    let release = cluster.dir.path().join("release");
    // Two shell containers that run until the test releases them.
    let command = format!("while [ ! -e {} ]; do sleep 0.2; done", release.display());
    let (mut client, application) = cluster.start_dshell(3, 2, &command).await;
    // The AM's host: the one running attempt 1's AM container.
    let first_am = am_container(&application, 1);
    let victim = (1..=3)
        .find(|i| containers_on(cluster.nm_host(*i), &application).contains(&first_am))
        .expect("a host runs the AM");
    let victim_host = cluster.nm_host(victim);
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert_eq!(
        report_field(&report, "AM Host"),
        victim_host.address.to_string(),
        "{report}"
    );

    // Cut the AM's host off: the AM's heartbeats no longer reach the RM (nor its NM's).
    victim_host.disconnect();
    let others: Vec<usize> = (1..=3).filter(|i| *i != victim).collect();
    // The RM expires the silent AM and starts another attempt; the application runs again once
    // an attempt's AM runs on a connected host. What `-status` says along the way is kept.
    let mut diagnostics: Vec<String> = Vec::new();
    let mut new_am: Option<(u32, usize)> = None;
    wait_until(90, "a new attempt's AM to run on a connected host", || {
        let report = text(&cluster.spindle(&["application", "-status", &application]));
        let said = report_field(&report, "Diagnostics");
        if !said.is_empty() && !diagnostics.contains(&said) {
            diagnostics.push(said);
        }
        new_am = (2..=4).find_map(|attempt| {
            let am = am_container(&application, attempt);
            others
                .iter()
                .find(|i| containers_on(cluster.nm_host(**i), &application).contains(&am))
                .map(|i| (attempt, *i))
        });
        report_field(&report, "State") == "RUNNING"
            && new_am.is_some_and(|(_, host)| {
                report_field(&report, "AM Host") == cluster.nm_host(host).address.to_string()
            })
    })
    .await;
    // Attempt 1 ended because its AM fell silent, as `-status` said.
    let expired = format!(
        "ApplicationMaster for attempt {} timed out after {AM_EXPIRY_MS} ms without a heartbeat",
        application.replace("application_", "appattempt_") + "_000001"
    );
    assert!(diagnostics.contains(&expired), "{diagnostics:#?}");
    // Attempt 2's AM runs on a connected host. The silent host may be the freest node once
    // attempt 1's containers are released, but a node that missed its heartbeats for 3 s
    // (before the AM's 4 s expiry) gets no new containers, as in YARN, which allocates on
    // node heartbeats: attempt 2 never goes there.
    let (attempt, new_host) = new_am.unwrap();
    assert_eq!(attempt, 2, "attempt 2 took over, not a later one");
    // Cut off, the old AM cannot be told anything: it still runs on its host.
    assert!(containers_on(victim_host, &application).contains(&first_am));

    // Plug the cable back in: the NM resyncs with the RM, which has it stop the containers of
    // the expired attempt; no stray AM keeps running on the healed host.
    cluster.heal(victim, &application).await;
    // The application runs under the new attempt only: its AM and two shell containers.
    let running: BTreeSet<String> = (1..=3)
        .flat_map(|i| containers_on(cluster.nm_host(i), &application))
        .collect();
    let prefix = format!(
        "{}_{attempt:02}_",
        application.replace("application_", "container_")
    );
    assert_eq!(running.len(), 3, "{running:?}");
    assert!(
        running.iter().all(|c| c.starts_with(&prefix)),
        "{running:?}"
    );
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert_eq!(report_field(&report, "State"), "RUNNING", "{report}");
    assert_eq!(
        report_field(&report, "AM Host"),
        cluster.nm_host(new_host).address.to_string(),
        "{report}"
    );

    // Released, the new attempt's shell containers complete and the application succeeds.
    std::fs::write(&release, "").unwrap();
    let status = exit_within(&mut client.0, 60, "the dshell client").await;
    let output = std::fs::read_to_string(cluster.log_path("dshell")).unwrap_or_default();
    assert!(status.success(), "{output}{}", cluster.logs());
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert!(report.contains("Final-State : SUCCEEDED"), "{report}");
}

/// A Spark job of 16 tasks of 4 s each, each first noting in `MARKS` (a file every host sees)
/// that it started: long enough on two executors for one of them to be lost and replaced.
const SPARK_JOB_ACROSS_HOSTS: &str = r#"
import time
from pyspark.sql import SparkSession
def task(x):
    with open("MARKS", "a") as marks:
        marks.write("task %d\n" % x)
    time.sleep(4)
    return x
spark = SparkSession.builder.appName("spindle-across-hosts").getOrCreate()
n = spark.sparkContext.parallelize(range(16), 16).map(task).sum()
print("RESULT", n)
spark.stop()
"#;

/// `spark-submit --master yarn --deploy-mode cluster` on `host`, with the client configuration
/// `conf`, pyspark's jars and a staging directory in `dir`. spark-submit binds to the host's
/// own address (`SPARK_LOCAL_IP`); inside the containers nothing sets it (unlike
/// common::spark_submit, which keeps Spark on loopback), so the driver and the executors each
/// take their host's only non-loopback address, the one other hosts reach.
fn spark_submit_on(host: &Host, conf: &Path, dir: &Path, args: &[&str]) -> Command {
    let bin = pyspark_home().join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = host.command(bin.join("spark-submit"));
    command
        .args(["--master", "yarn", "--deploy-mode", "cluster"])
        .args(["--conf", "spark.ui.enabled=false"])
        .args(["--conf", &local_jars()])
        .arg("--conf")
        .arg(format!(
            "spark.yarn.stagingDir=file://{}",
            dir.join("staging").display()
        ))
        .args(args)
        .env("HADOOP_CONF_DIR", conf)
        .env("SPARK_LOCAL_IP", host.address.to_string())
        .env("PATH", path)
        .env_remove("SPARK_HOME");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_runs_across_hosts_and_replaces_the_executors_of_a_partitioned_node() {
    // Three NM hosts of 2 GB: each holds two of the job's containers (the driver's of 512 MB
    // and each executor's of 512 MB, each with Spark's 384 MB overhead, are 1 GB containers),
    // so after one host is lost the other two have room for the driver and both executors.
    let options = Options {
        nm_memory_mb: 2048,
        ..Options::default()
    };
    let Some(cluster) = Cluster::start_with(3, options).await else {
        return;
    };
    let dir = cluster.dir.path();
    let marks = dir.join("marks");
    let job = script(
        dir,
        "across.py",
        &SPARK_JOB_ACROSS_HOSTS.replace("MARKS", marks.to_str().unwrap()),
    );
    // One attempt: a driver that fails is not hidden by a second one.
    let mut submit = spawn_logged(
        spark_submit_on(
            cluster.network.host("rm"),
            &cluster.client_conf,
            dir,
            &[
                "--num-executors",
                "2",
                "--driver-memory",
                "512m",
                "--executor-memory",
                "512m",
                "--conf",
                "spark.yarn.maxAppAttempts=1",
                job.to_str().unwrap(),
            ],
        ),
        &cluster.log_path("spark-submit"),
    );
    let mut application = String::new();
    wait_until(180, "the driver and both executors to run tasks", || {
        if application.is_empty() {
            match cluster.submitted("spark-submit") {
                Some(id) => application = id,
                None => return false,
            }
        }
        let running: usize = (1..=3)
            .map(|i| containers_on(cluster.nm_host(i), &application).len())
            .sum();
        // Two tasks started: each executor (one core each) took one.
        let started = std::fs::read_to_string(&marks).unwrap_or_default();
        running == 3 && started.lines().count() >= 2
    })
    .await;
    let before: Vec<BTreeSet<String>> = (1..=3)
        .map(|i| containers_on(cluster.nm_host(i), &application))
        .collect();
    // The victim: a host running an executor but not the driver (the AM container).
    let victim = (1..=3)
        .find(|i| !before[i - 1].is_empty() && !before[i - 1].iter().any(|c| is_am(c)))
        .unwrap_or_else(|| panic!("a host with executors only: {before:?}"));
    let victim_host = cluster.nm_host(victim);
    let cut_off = before[victim - 1].clone();
    let driver_host = (1..=3)
        .find(|i| before[i - 1].iter().any(|c| is_am(c)))
        .unwrap();

    // Pull the victim's cable: its NM is LOST, its executors' containers with it.
    victim_host.disconnect();
    wait_until(30, "the RM to mark the cut-off NM LOST", || {
        cluster.node(victim).is_some_and(|n| n.state == "LOST")
    })
    .await;

    // Spark hears from YARN that the executors there were lost and asks for new ones, which run
    // on the two connected hosts.
    let others: Vec<usize> = (1..=3).filter(|i| *i != victim).collect();
    wait_until(
        120,
        "replacement executors to run on the connected hosts",
        || {
            let elsewhere: BTreeSet<String> = others
                .iter()
                .flat_map(|i| containers_on(cluster.nm_host(*i), &application))
                .collect();
            elsewhere.len() == 3 && elsewhere.is_disjoint(&cut_off)
        },
    )
    .await;
    let driver_log = std::fs::read_to_string(
        cluster
            .nm_dir(driver_host)
            .join("logs")
            .join(&application)
            .join(am_container(&application, 1))
            .join("stderr"),
    )
    .unwrap_or_default();
    // The AM side of the driver (YarnAllocator) was told each cut-off container was released on
    // a lost node; the driver dropped its executor and launched new ones on connected hosts.
    let victim_address = victim_host.address.to_string();
    for container in &cut_off {
        let told = format!("Container marked as failed: {container} on host: {victim_address}");
        assert!(
            driver_log.contains(&told)
                && driver_log.contains("Container released on a *lost* node"),
            "the driver learned {container} was lost: {driver_log}"
        );
    }
    assert!(driver_log.contains("Lost executor"), "{driver_log}");
    let replacements: BTreeSet<String> = others
        .iter()
        .flat_map(|i| containers_on(cluster.nm_host(*i), &application))
        .filter(|c| !before.iter().any(|b| b.contains(c)))
        .collect();
    for container in &replacements {
        assert!(
            others.iter().any(|i| driver_log.contains(&format!(
                "Launching container {container} on host {}",
                cluster.nm_host(*i).address
            ))),
            "the driver launched {container} on a connected host: {driver_log}"
        );
    }
    assert!(!replacements.is_empty());

    // The job finishes: spark-submit succeeds, the application too, with the full sum.
    let status = exit_within(&mut submit.0, 300, "spark-submit").await;
    let output = std::fs::read_to_string(cluster.log_path("spark-submit")).unwrap_or_default();
    assert!(status.success(), "{output}{}", cluster.logs());
    let report = text(&cluster.spindle(&["application", "-status", &application]));
    assert_eq!(report_field(&report, "State"), "FINISHED", "{report}");
    assert_eq!(
        report_field(&report, "Final-State"),
        "SUCCEEDED",
        "{report}"
    );
    let driver_stdout = std::fs::read_to_string(
        cluster
            .nm_dir(driver_host)
            .join("logs")
            .join(&application)
            .join(am_container(&application, 1))
            .join("stdout"),
    )
    .unwrap_or_default();
    assert!(driver_stdout.contains("RESULT 120"), "{driver_stdout}");
}
