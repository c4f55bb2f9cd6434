//! `GET /ws/v1/cluster/scheduler` in the shape of the scheduler that runs: the Capacity
//! Scheduler's queue tree (`capacityScheduler`, what yarn-api-client's queue helpers walk), the
//! Fair Scheduler's (`fairScheduler` with `rootQueue`/`childQueues`), or FIFO's single queue.

use serde_json::{json, Value};
use spindle_scheduler::{QueueInfo, SchedulingPolicy};
use spindle_types::Resource;

use crate::core::RmCore;

fn resource(r: &Resource) -> Value {
    json!({"memory": r.memory_mb, "vCores": r.vcores})
}

fn percent(part: i64, whole: i64) -> f32 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64) as f32
    }
}

/// The `schedulerInfo` object.
pub(crate) fn scheduler_info(core: &RmCore) -> Value {
    let scheduler = core.scheduler.scheduler();
    let cluster = scheduler.cluster_metrics();
    let queues: Vec<QueueInfo> = scheduler.queue_infos();
    let find = |path: &str| queues.iter().find(|q| q.path == path);
    match &scheduler.config().policy {
        SchedulingPolicy::Fifo => {
            let used = &cluster.allocated;
            json!({
                "type": "fifoScheduler",
                "capacity": 1.0,
                "usedCapacity": percent(used.memory_mb, cluster.total.memory_mb) / 100.0,
                "qstate": "RUNNING",
                "minQueueMemoryCapacity": core.settings.minimum_allocation.memory_mb,
                "maxQueueMemoryCapacity": core.settings.maximum_allocation.memory_mb,
                "numNodes": cluster.num_nodes,
                "usedNodeCapacity": used.memory_mb,
                "availNodeCapacity": cluster.available.memory_mb.max(0),
                "totalNodeCapacity": cluster.total.memory_mb,
                "numContainers": cluster.num_containers,
            })
        }
        SchedulingPolicy::Capacity(_) => {
            let root = find("root");
            let mut info = match root {
                Some(root) => capacity_queue(root, 1.0, &cluster.total, &find),
                None => json!({}),
            };
            if let Value::Object(map) = &mut info {
                map.insert("type".into(), json!("capacityScheduler"));
                map.insert("capacity".into(), json!(100.0));
                map.insert("maxCapacity".into(), json!(100.0));
            }
            info
        }
        SchedulingPolicy::Fair(_) => {
            let root = find("root")
                .map(|root| fair_queue(root, &cluster.total, &find))
                .unwrap_or_else(|| json!({}));
            json!({"type": "fairScheduler", "rootQueue": root})
        }
    }
}

/// A Capacity Scheduler queue and, recursively, its children. `parent_absolute` is the parent's
/// absolute capacity as a fraction of the cluster.
fn capacity_queue<'a>(
    queue: &QueueInfo,
    parent_absolute: f32,
    cluster: &Resource,
    find: &dyn Fn(&str) -> Option<&'a QueueInfo>,
) -> Value {
    let absolute = if queue.path == "root" {
        1.0
    } else {
        parent_absolute * queue.capacity
    };
    let absolute_max = (parent_absolute * queue.maximum_capacity).min(1.0);
    let guaranteed = queue.guaranteed.memory_mb;
    let used_capacity = percent(queue.used.memory_mb, guaranteed);
    let absolute_used = percent(queue.used.memory_mb, cluster.memory_mb).min(100.0);
    let state = match queue.state {
        spindle_scheduler::QueueState::Running => "RUNNING",
        spindle_scheduler::QueueState::Stopped => "STOPPED",
    };
    let mut info = json!({
        "queuePath": queue.path,
        "queueName": queue.name,
        "capacity": queue.capacity * 100.0,
        "usedCapacity": used_capacity,
        "maxCapacity": queue.maximum_capacity * 100.0,
        "absoluteCapacity": absolute * 100.0,
        "absoluteMaxCapacity": absolute_max * 100.0,
        "absoluteUsedCapacity": absolute_used,
        "numApplications": queue.num_applications,
        "state": state,
        "resourcesUsed": resource(&queue.used),
        "usedResources": format!("<memory:{}, vCores:{}>", queue.used.memory_mb, queue.used.vcores),
        "pendingContainers": 0,
        "capacities": {"queueCapacitiesByPartition": [{
            "partitionName": "",
            "capacity": queue.capacity * 100.0,
            "usedCapacity": used_capacity,
            "maxCapacity": queue.maximum_capacity * 100.0,
            "absoluteCapacity": absolute * 100.0,
            "absoluteUsedCapacity": absolute_used,
            "absoluteMaxCapacity": absolute_max * 100.0,
        }]},
        "resources": {"resourceUsagesByPartition": [{
            "partitionName": "",
            "used": resource(&queue.used),
            "pending": resource(&queue.pending),
            "amUsed": resource(&queue.am_used),
        }]},
    });
    let map = info.as_object_mut().expect("an object");
    if queue.children.is_empty() {
        map.insert("type".into(), json!("capacitySchedulerLeafQueueInfo"));
        map.insert("numActiveApplications".into(), json!(queue.num_runnable));
        map.insert(
            "numPendingApplications".into(),
            json!(queue.num_applications.saturating_sub(queue.num_runnable)),
        );
        map.insert("usedAMResource".into(), resource(&queue.am_used));
        map.insert("users".into(), Value::Null);
    } else {
        let children: Vec<Value> = queue
            .children
            .iter()
            .filter_map(|path| find(path))
            .map(|child| capacity_queue(child, absolute, cluster, find))
            .collect();
        map.insert("queues".into(), json!({ "queue": children }));
    }
    info
}

/// A Fair Scheduler queue and, recursively, its children.
fn fair_queue<'a>(
    queue: &QueueInfo,
    cluster: &Resource,
    find: &dyn Fn(&str) -> Option<&'a QueueInfo>,
) -> Value {
    let demand = queue.used.add(&queue.pending);
    let mut info = json!({
        "queueName": queue.path,
        "schedulingPolicy": queue.ordering_policy,
        "minResources": resource(&queue.guaranteed),
        "maxResources": resource(queue.maximum.as_ref().unwrap_or(cluster)),
        "usedResources": resource(&queue.used),
        "amUsedResources": resource(&queue.am_used),
        "demandResources": resource(&demand),
        "steadyFairResources": resource(&queue.fair_share),
        "fairResources": resource(&queue.fair_share),
        "clusterResources": resource(cluster),
        "reservedResources": resource(&Resource::ZERO),
        "allocatedContainers": 0,
        "pendingContainers": 0,
        "reservedContainers": 0,
        "preemptable": true,
    });
    let map = info.as_object_mut().expect("an object");
    if queue.children.is_empty() {
        map.insert("type".into(), json!("fairSchedulerLeafQueueInfo"));
        map.insert("numActiveApps".into(), json!(queue.num_runnable));
        map.insert(
            "numPendingApps".into(),
            json!(queue.num_applications.saturating_sub(queue.num_runnable)),
        );
    } else {
        let children: Vec<Value> = queue
            .children
            .iter()
            .filter_map(|path| find(path))
            .map(|child| fair_queue(child, cluster, find))
            .collect();
        map.insert("childQueues".into(), json!({ "queue": children }));
    }
    info
}
