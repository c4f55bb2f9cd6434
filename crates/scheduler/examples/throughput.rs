//! Rough allocation throughput of the scheduling core: `cargo run --release -p spindle-scheduler
//! --example throughput [nodes] [applications]`. Not a benchmark suite (issue 5 brings the
//! simulator); a quick check that cost per allocation stays flat as the cluster grows.

use std::time::Instant;

use spindle_scheduler::{
    ResourceRequest, Scheduler, SchedulerAction, SchedulerConfig, SchedulerEvent,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let applications: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let mut scheduler = Scheduler::new(SchedulerConfig::default()).expect("default config");
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
        scheduler
            .handle(SchedulerEvent::ApplicationAdded {
                application,
                queue: "default".into(),
                user: "user".into(),
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
        "{nodes} nodes, {applications} applications: filled {filled} containers in {:.3}s ({:.0} allocations/s)",
        fill.as_secs_f64(),
        filled as f64 / fill.as_secs_f64()
    );
    // Churn: every finished container is replaced by a pending one (FIFO, full cluster).
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
