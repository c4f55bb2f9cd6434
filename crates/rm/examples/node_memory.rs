//! Live heap per registered NodeManager, counted with a counting global allocator: the
//! scheduling core alone, then the RM core (its records plus the scheduler) over nodes that
//! registered and heartbeat once. Run with
//! `cargo run --release -p spindle-rm --example node_memory [-- <nodes>]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use spindle_proto::yarn::{
    NodeHealthStatusProto, NodeHeartbeatRequestProto, NodeStatusProto,
    RegisterNodeManagerRequestProto,
};
use spindle_rm::core::RmCore;
use spindle_rm::settings::RmSettings;
use spindle_scheduler::{Scheduler, SchedulerConfig, SchedulerEvent, DEFAULT_RACK};
use spindle_types::{NodeId, Resource};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only a counter is added.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// The ids the `spindle bench rm` node fleet uses.
fn node_id(number: usize) -> NodeId {
    NodeId::new(format!("sim-node-{number:06}"), 8041)
}

const CAPABILITY: (i64, i64) = (16_384, 16);

fn scheduler_alone(nodes: usize) -> f64 {
    let mut scheduler = Scheduler::new(SchedulerConfig::default()).expect("FIFO");
    let before = live();
    for number in 0..nodes {
        scheduler
            .handle(SchedulerEvent::NodeAdded {
                node: node_id(number),
                rack: DEFAULT_RACK.to_string(),
                capability: Resource::new(CAPABILITY.0, CAPABILITY.1),
            })
            .expect("node added");
    }
    let bytes = live() - before;
    drop(scheduler);
    bytes as f64 / nodes as f64
}

fn rm_core(nodes: usize) -> f64 {
    let now = 1_700_000_000_000;
    let mut core = RmCore::new(RmSettings::default());
    let ids: Vec<NodeId> = (0..nodes).map(node_id).collect();
    let before = live();
    for id in &ids {
        core.register_node(
            &RegisterNodeManagerRequestProto {
                node_id: Some(id.into()),
                http_port: Some(8042),
                resource: Some((&Resource::new(CAPABILITY.0, CAPABILITY.1)).into()),
                nm_version: Some(env!("CARGO_PKG_VERSION").to_string()),
                ..Default::default()
            },
            now,
        )
        .expect("registered");
    }
    for id in &ids {
        core.node_heartbeat(
            &NodeHeartbeatRequestProto {
                node_status: Some(NodeStatusProto {
                    node_id: Some(id.into()),
                    node_health_status: Some(NodeHealthStatusProto {
                        is_node_healthy: Some(true),
                        health_report: Some(String::new()),
                        last_health_report_time: Some(now + 1000),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            now + 1000,
        )
        .expect("heartbeat");
    }
    let bytes = live() - before;
    core.check_invariants().expect("invariants hold");
    drop(core);
    bytes as f64 / nodes as f64
}

fn main() {
    let nodes = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number of nodes"))
        .unwrap_or(10_000);
    let scheduler = scheduler_alone(nodes);
    let total = rm_core(nodes);
    println!("{nodes} nodes, live heap per node:");
    println!("  scheduler alone  {scheduler:7.1} B");
    println!(
        "  RM core total    {total:7.1} B (RM records {:.1} B)",
        total - scheduler
    );
}
