//! Rough allocation throughput of the scheduling core:
//! `cargo run --release -p spindle-scheduler --example throughput [nodes] [applications]
//! [fifo|capacity|fair] [queues]`. Not a benchmark suite (issue 5 brings the simulator); a quick
//! check that cost per allocation stays flat as the cluster, the queues and the applications grow.
//! The Capacity run uses the dominant-resource calculator, delay scheduling and the preemption
//! monitor; the Fair run drf with preemption; both spread applications over `queues` leaves.

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

fn configuration(policy: &str, queues: usize) -> SchedulerConfig {
    let (class, text, site): (&str, String, Vec<(&str, &str)>) = match policy {
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
    let mut scheduler = Scheduler::new(configuration(&policy, queues)).expect("valid config");
    for n in 0..nodes {
        scheduler
            .handle(SchedulerEvent::NodeAdded {
                node: NodeId::new(format!("host{n:05}"), 8041),
                rack: format!("/rack{}", n % 50),
                capability: Resource::new(64 * 1024, 32),
            })
            .expect("node added");
    }
    let containers_per_node = 32;
    let total_slots = nodes * containers_per_node;
    let per_application = (total_slots * 2 / applications) as i32;
    let mut live: Vec<ContainerId> = Vec::new();
    let started = Instant::now();
    let mut allocated = 0usize;
    for a in 0..applications {
        let application = ApplicationId::new(1, a as i32 + 1);
        let attempt = ApplicationAttemptId::new(application, 1);
        let queue = if policy == "fifo" {
            "default".to_string()
        } else {
            format!("q{}", a % queues)
        };
        scheduler
            .handle(SchedulerEvent::ApplicationAdded {
                application,
                queue,
                user: format!("user{}", a % 100),
                priority: 0,
            })
            .expect("application added");
        allocated += record(
            scheduler
                .handle(SchedulerEvent::AttemptAdded {
                    attempt,
                    am_resource: None,
                })
                .unwrap(),
            &mut live,
        );
        let ask = ResourceRequest::anywhere(1, Resource::new(1024, 1), per_application);
        let actions = scheduler
            .handle(SchedulerEvent::Asks {
                attempt,
                asks: vec![ask],
                releases: vec![],
            })
            .unwrap();
        allocated += record(actions, &mut live);
    }
    let fill = started.elapsed();
    let filled = allocated;
    println!(
        "{policy}: {nodes} nodes, {applications} applications, {queues} queues: filled {filled} containers in {:.3}s ({:.0} allocations/s)",
        fill.as_secs_f64(),
        filled as f64 / fill.as_secs_f64()
    );
    // Churn: every finished container is replaced by a pending one (full cluster); time moves
    // every thousand events (preemption monitors run).
    let churn_started = Instant::now();
    let churn = live.len().min(500_000);
    for next in 0..churn {
        let container = live[next];
        let actions = scheduler
            .handle(SchedulerEvent::ContainerFinished {
                container,
                exit_status: 0,
            })
            .expect("finished");
        allocated += record(actions, &mut live);
        if next % 1_000 == 0 {
            let now_ms = scheduler.now_ms() + 100;
            let actions = scheduler
                .handle(SchedulerEvent::TimeAdvanced { now_ms })
                .expect("time");
            allocated += record(actions, &mut live);
        }
    }
    let elapsed = churn_started.elapsed();
    println!(
        "churn: {churn} finishes, {} allocations in {:.3}s ({:.0} allocations/s)",
        allocated - filled,
        elapsed.as_secs_f64(),
        (allocated - filled) as f64 / elapsed.as_secs_f64()
    );
}

/// Remembers the allocated containers; returns how many there were.
fn record(actions: Vec<SchedulerAction>, live: &mut Vec<ContainerId>) -> usize {
    let before = live.len();
    for action in actions {
        if let SchedulerAction::Allocated { container, .. } = action {
            live.push(container);
        }
    }
    live.len() - before
}
