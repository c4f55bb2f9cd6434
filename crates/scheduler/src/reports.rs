//! Read-only views of the scheduler's state for the RM: cluster metrics, nodes, applications,
//! containers and queues. Each is a snapshot; lists are in a stable order.

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use crate::action::Locality;
use crate::applications::ContainerRecord;
use crate::config::SchedulerConfig;
use crate::queues::QueueIndex;
use crate::scheduler::Scheduler;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetrics {
    pub total: Resource,
    pub allocated: Resource,
    /// `total - allocated` (negative components only on overcommitted nodes).
    pub available: Resource,
    /// Sum over applications of their pending requests (count x capability).
    pub pending: Resource,
    pub num_nodes: usize,
    pub num_containers: usize,
    pub num_applications: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub node: NodeId,
    pub rack: String,
    pub capability: Resource,
    pub allocated: Resource,
    pub available: Resource,
    /// Live containers on the node, by id.
    pub containers: Vec<ContainerId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerReport {
    pub container: ContainerId,
    /// The attempt it belongs to now.
    pub attempt: ApplicationAttemptId,
    pub node: NodeId,
    pub resource: Resource,
    pub priority: i32,
    pub allocation_request_id: i64,
    pub is_am: bool,
    pub locality: Locality,
    pub acquired: bool,
}

/// An application's share of the cluster (YARN's ApplicationResourceUsageReport, plus its containers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationUsage {
    pub application: ApplicationId,
    /// Full path of its leaf queue (`root.default`).
    pub queue: String,
    pub user: String,
    pub priority: i32,
    pub current_attempt: Option<ApplicationAttemptId>,
    pub allocated: Resource,
    pub pending: Resource,
    /// Live containers by id, including those kept from earlier attempts.
    pub containers: Vec<ContainerReport>,
}

/// A queue as YARN's QueueInfo describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueInfo {
    /// Full dotted path (`root.default`).
    pub path: String,
    /// Last path element (`default`), what YARN calls the queue name.
    pub name: String,
    /// Configured share of the parent, 0.0 to 1.0.
    pub capacity: f32,
    pub maximum_capacity: f32,
    pub used: Resource,
    pub num_applications: usize,
    /// Full paths of the child queues (empty for a leaf).
    pub children: Vec<String>,
}

impl Scheduler {
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// The latest time given by [`crate::SchedulerEvent::TimeAdvanced`].
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn cluster_metrics(&self) -> ClusterMetrics {
        let mut pending = Resource::ZERO;
        for app in self.applications.values() {
            if let Some(attempt) = &app.attempt {
                pending.add_assign(&attempt.asks.pending_resource());
            }
        }
        ClusterMetrics {
            total: self.nodes.total().clone(),
            allocated: self.nodes.allocated().clone(),
            available: self.nodes.total().sub(self.nodes.allocated()),
            pending,
            num_nodes: self.nodes.len(),
            num_containers: self.containers.len(),
            num_applications: self.applications.len(),
        }
    }

    pub fn node_report(&self, node: &NodeId) -> Option<NodeReport> {
        let node = self.nodes.get(self.nodes.lookup(node)?);
        Some(NodeReport {
            node: node.id.clone(),
            rack: node.rack.clone(),
            capability: node.capability.clone(),
            allocated: node.allocated.clone(),
            available: node.available.clone(),
            containers: node.containers.iter().copied().collect(),
        })
    }

    /// Every registered node, by node id.
    pub fn node_reports(&self) -> Vec<NodeReport> {
        let mut ids: Vec<&NodeId> = self.nodes.iter().map(|(_, node)| &node.id).collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| self.node_report(id))
            .collect()
    }

    fn container_report_of(
        &self,
        container: ContainerId,
        record: &ContainerRecord,
    ) -> ContainerReport {
        ContainerReport {
            container,
            attempt: record.owner,
            node: self.nodes.get(record.node).id.clone(),
            resource: record.resource.clone(),
            priority: record.priority,
            allocation_request_id: record.allocation_request_id,
            is_am: record.is_am,
            locality: record.locality,
            acquired: record.acquired,
        }
    }

    pub fn container_report(&self, container: ContainerId) -> Option<ContainerReport> {
        let record = self.containers.get(&container)?;
        Some(self.container_report_of(container, record))
    }

    pub fn application_usage(&self, application: ApplicationId) -> Option<ApplicationUsage> {
        let app = self.applications.get(&application)?;
        Some(ApplicationUsage {
            application,
            queue: self.queues.get(app.queue).path.clone(),
            user: app.user.clone(),
            priority: app.priority,
            current_attempt: app.attempt.as_ref().map(|attempt| attempt.id),
            allocated: app.allocated.clone(),
            pending: app
                .attempt
                .as_ref()
                .map(|attempt| attempt.asks.pending_resource())
                .unwrap_or_default(),
            containers: app
                .containers
                .iter()
                .map(|&container| self.container_report_of(container, &self.containers[&container]))
                .collect(),
        })
    }

    /// Every known application id, in FIFO order of submission.
    pub fn application_ids(&self) -> Vec<ApplicationId> {
        let mut ids: Vec<ApplicationId> = self.applications.keys().copied().collect();
        ids.sort();
        ids
    }

    fn queue_info_of(&self, index: QueueIndex) -> QueueInfo {
        let queue = self.queues.get(index);
        QueueInfo {
            path: queue.path.clone(),
            name: queue.name.clone(),
            capacity: queue.capacity,
            maximum_capacity: queue.maximum_capacity,
            used: queue.used.clone(),
            num_applications: queue.num_applications,
            children: queue
                .children
                .iter()
                .map(|&child| self.queues.get(child).path.clone())
                .collect(),
        }
    }

    /// A queue by full path (`root.default`) or by unique name (`default`).
    pub fn queue_info(&self, path_or_name: &str) -> Option<QueueInfo> {
        self.queues
            .find(path_or_name)
            .map(|index| self.queue_info_of(index))
    }

    /// Every queue, parents before children.
    pub fn queue_infos(&self) -> Vec<QueueInfo> {
        self.queues
            .iter()
            .map(|(index, _)| self.queue_info_of(index))
            .collect()
    }
}
