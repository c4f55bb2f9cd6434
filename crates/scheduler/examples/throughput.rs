//! Rough allocation throughput of the scheduling core:
//! `cargo run --release -p spindle-scheduler --example throughput [nodes] [applications]
//! [fifo|capacity|fair] [queues] [locality]`. Not a benchmark suite (`spindle bench scheduler`
//! is); a quick check that cost per allocation stays flat as the cluster, the queues and the
//! applications grow. The Capacity run uses the dominant-resource calculator, delay scheduling
//! and the preemption monitor; the Fair run drf with preemption; both spread applications over
//! `queues` leaves. With `locality`, each application also names 4 hosts and their racks (as
//! the simulator's benchmark does), so delay scheduling has requests to hold back (Fair:
//! locality thresholds 0.5).

use std::collections::BTreeMap;
use std::time::Instant;

use spindle_scheduler::{
    scheduler_config_from_files, AllocationLimits, ResourceRequest, Scheduler, SchedulerAction,
    SchedulerConfig, SchedulerEvent, SchedulerFile, CAPACITY_SCHEDULER_CLASS, FAIR_SCHEDULER_CLASS,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

fn capacity_file(queues: usize) -> String {
    let mut xml = String::from("<configuration>");
    let mut property = |key: &str, value: &str| {
        xml.push_str(&format!(
            "<property><name>yarn.scheduler.capacity.{key}</name><value>{value}</value></property>"
        ))
    };
    let names: Vec<String> = (0..queues).map(|q| format!("q{q}")).collect();
    property("root.queues", &names.join(","));
    let share = 100.0 / queues as f64;
    for (position, name) in names.iter().enumerate() {
        // The last queue takes the rounding so that the shares add up to 100.
        let capacity = if position + 1 == queues {
            100.0 - share * (queues - 1) as f64
        } else {
            share
        };
        property(&format!("root.{name}.capacity"), &format!("{capacity}"));
        property(&format!("root.{name}.maximum-capacity"), "100");
        property(&format!("root.{name}.user-limit-factor"), "-1");
        property(&format!("root.{name}.maximum-am-resource-percent"), "1");
    }
    property(
        "resource-calculator",
        "org.apache.hadoop.yarn.util.resource.DominantResourceCalculator",
    );
    property("node-locality-delay", "40");
    property("maximum-applications", "1000000");
    xml + "</configuration>"
}

fn fair_file(queues: usize) -> String {
    let mut xml = String::from(
        "<allocations><defaultQueueSchedulingPolicy>drf</defaultQueueSchedulingPolicy>",
    );
    for q in 0..queues {
        xml.push_str(&format!(
            "<queue name=\"q{q}\"><maxAMShare>-1</maxAMShare></queue>"
        ));
    }
    xml + "<defaultFairSharePreemptionTimeout>30</defaultFairSharePreemptionTimeout></allocations>"
}

fn configuration(policy: &str, queues: usize, locality: bool) -> SchedulerConfig {
    let (class, text, mut site): (&str, String, Vec<(&str, &str)>) = match policy {
        "capacity" => (
            CAPACITY_SCHEDULER_CLASS,
            capacity_file(queues),
            vec![("yarn.resourcemanager.scheduler.monitor.enable", "true")],
        ),
        "fair" => (
            FAIR_SCHEDULER_CLASS,
            fair_file(queues),
            vec![("yarn.scheduler.fair.preemption", "true")],
        ),
        _ => return SchedulerConfig::default(),
    };
    if locality && policy == "fair" {
        site.push(("yarn.scheduler.fair.locality.threshold.node", "0.5"));
        site.push(("yarn.scheduler.fair.locality.threshold.rack", "0.5"));
    }
    let site: BTreeMap<String, String> = site
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    scheduler_config_from_files(
        class,
        &site,
        Some(SchedulerFile {
            source_name: "throughput",
            text: &text,
        }),
        0,
        AllocationLimits::default(),
    )
    .expect("the example's configuration is valid")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let applications: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let policy = args.next().unwrap_or_else(|| "fifo".to_string());
    let queues: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000)
        .max(1);
    let locality = args.next().is_some_and(|a| a == "locality");
    let mut scheduler =
        Scheduler::new(configuration(&policy, queues, locality)).expect("valid config");
    let setup_started = Instant::now();
    for n in 0..nodes {
        scheduler
            .handle(SchedulerEvent::NodeAdded {
                node: NodeId::new(format!("host{n:05}"), 8041),
                rack: rack_of(n),
                capability: Resource::new(64 * 1024, 32),
            })
            .expect("node added");
    }
    println!(
        "{nodes} nodes added in {:.3}s",
        setup_started.elapsed().as_secs_f64()
    );
    let per_application = (nodes * 32 * 2 / applications) as i32;
    let workload = Workload {
        nodes,
        applications,
        queues,
        fifo: policy == "fifo",
        locality,
        per_application,
    };
    let mut live: Vec<ContainerId> = Vec::with_capacity(nodes * 32 * 3);
    let started = Instant::now();
    let filled = fill(&mut scheduler, &workload, &mut live);
    let fill_seconds = started.elapsed().as_secs_f64();
    let [node_local, rack_local, off_switch] = take_localities();
    println!(
        "{policy}{}: {nodes} nodes, {applications} applications, {queues} queues: filled {filled} containers in {fill_seconds:.3}s ({:.0} allocations/s; node-local {node_local}, rack-local {rack_local}, off-switch {off_switch})",
        if locality { " with locality asks" } else { "" },
        filled as f64 / fill_seconds
    );
    let finishes = live.len().min(500_000);
    let started = Instant::now();
    let allocated = churn(&mut scheduler, finishes, &mut live);
    let churn_seconds = started.elapsed().as_secs_f64();
    let [node_local, rack_local, off_switch] = take_localities();
    println!(
        "churn: {finishes} finishes, {allocated} allocations in {churn_seconds:.3}s ({:.0} allocations/s; node-local {node_local}, rack-local {rack_local}, off-switch {off_switch})",
        allocated as f64 / churn_seconds
    );
}

struct Workload {
    nodes: usize,
    applications: usize,
    queues: usize,
    fifo: bool,
    locality: bool,
    per_application: i32,
}

/// Adds the applications, each asking for its share of twice the cluster; returns the
/// allocations. Not inlined, so that a profiler can tell the phases apart.
#[inline(never)]
fn fill(scheduler: &mut Scheduler, workload: &Workload, live: &mut Vec<ContainerId>) -> usize {
    let mut allocated = 0;
    let capability = Resource::new(1024, 1);
    for a in 0..workload.applications {
        let application = ApplicationId::new(1, a as i32 + 1);
        let attempt = ApplicationAttemptId::new(application, 1);
        let queue = if workload.fifo {
            "default".to_string()
        } else {
            format!("q{}", a % workload.queues)
        };
        scheduler
            .handle(SchedulerEvent::ApplicationAdded {
                application,
                queue,
                user: format!("user{}", a % 100),
                priority: 0,
            })
            .expect("application added");
        let actions = scheduler
            .handle(SchedulerEvent::AttemptAdded {
                attempt,
                am_resource: None,
            })
            .expect("attempt added");
        allocated += record(actions, live);
        let count = workload.per_application;
        let mut asks = Vec::new();
        if workload.locality {
            let mut racks = Vec::new();
            for offset in 0..4 {
                let host = (a * 7919 + offset * 104_729) % workload.nodes;
                asks.push(ResourceRequest {
                    resource_name: format!("host{host:05}"),
                    ..ResourceRequest::anywhere(1, capability.clone(), count)
                });
                if !racks.contains(&rack_of(host)) {
                    racks.push(rack_of(host));
                }
            }
            for rack in racks {
                asks.push(ResourceRequest {
                    resource_name: rack,
                    ..ResourceRequest::anywhere(1, capability.clone(), count)
                });
            }
        }
        asks.push(ResourceRequest::anywhere(1, capability.clone(), count));
        let actions = scheduler
            .handle(SchedulerEvent::Asks {
                attempt,
                asks,
                releases: vec![],
            })
            .expect("asks");
        allocated += record(actions, live);
    }
    allocated
}

/// Steady state: the oldest containers finish one by one, each replaced by a pending request
/// (the cluster stays full); time moves every thousand events, so the preemption monitors run.
/// Returns the allocations. Not inlined, so that a profiler can tell the phases apart.
#[inline(never)]
fn churn(scheduler: &mut Scheduler, finishes: usize, live: &mut Vec<ContainerId>) -> usize {
    let mut allocated = 0;
    for next in 0..finishes {
        let container = live[next];
        let actions = scheduler
            .handle(SchedulerEvent::ContainerFinished {
                container,
                exit_status: 0,
            })
            .expect("finished");
        allocated += record(actions, live);
        if next % 1_000 == 0 {
            let now_ms = scheduler.now_ms() + 100;
            let actions = scheduler
                .handle(SchedulerEvent::TimeAdvanced { now_ms })
                .expect("time");
            allocated += record(actions, live);
        }
    }
    allocated
}

/// Racks of 40 nodes, as the simulator's benchmark has them.
fn rack_of(node: usize) -> String {
    format!("/rack{:03}", node / 40)
}

/// Allocations by locality (node-local, rack-local, off-switch), over the whole run.
static LOCALITY: [std::sync::atomic::AtomicUsize; 3] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];

/// Remembers the allocated containers; returns how many there were.
fn record(actions: Vec<SchedulerAction>, live: &mut Vec<ContainerId>) -> usize {
    let before = live.len();
    for action in actions {
        if let SchedulerAction::Allocated {
            container,
            locality,
            ..
        } = action
        {
            live.push(container);
            LOCALITY[locality as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    live.len() - before
}

/// The allocations so far by locality, and resets the counts.
fn take_localities() -> [usize; 3] {
    LOCALITY
        .each_ref()
        .map(|count| count.swap(0, std::sync::atomic::Ordering::Relaxed))
}
