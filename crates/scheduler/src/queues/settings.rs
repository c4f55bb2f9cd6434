//! Per-queue settings resolved from the policy's configuration (inheritance and defaults applied),
//! in one shape for the FIFO, Capacity and Fair policies.

use spindle_types::Resource;

use crate::acl::AccessControlList;
use crate::capacity::config::{
    CapacityQueueConfig, CapacitySchedulerConfig, CapacityValue, LeafOrderingPolicy, QueueState,
};
use crate::fair::config::{FairPolicy, FairQueueConfig, FairSchedulerConfig, MaxResources};

/// How a leaf orders its applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApplicationOrdering {
    /// Application priority, then submission.
    Fifo,
    /// Least memory used first (divided by weight; `size_based` weighs by demand).
    Fair { size_based: bool },
    /// Least dominant share first.
    Drf,
}

/// How a parent orders its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildOrdering {
    /// Capacity Scheduler: least used relative to guaranteed capacity first.
    Utilization,
    /// Fair Scheduler `fair`: below-min-share first, then least memory per weight.
    Fair,
    /// Fair Scheduler `drf`: likewise by dominant share.
    Drf,
}

/// Everything the scheduler needs to know about one queue's configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueueSettings {
    pub(crate) state: QueueState,
    /// The queue's own ACLs; None when the configuration does not set them (ancestors decide).
    pub(crate) acl_submit: Option<AccessControlList>,
    pub(crate) acl_administer: Option<AccessControlList>,
    pub(crate) application_ordering: ApplicationOrdering,
    pub(crate) child_ordering: ChildOrdering,
    /// Whether the preemption monitor may take this queue's containers.
    pub(crate) preemptable: bool,
    // Capacity Scheduler.
    pub(crate) capacity: CapacityValue,
    pub(crate) maximum_capacity: CapacityValue,
    pub(crate) user_limit_factor: f64,
    pub(crate) minimum_user_limit_percent: f64,
    /// Share of the queue's guaranteed capacity for AM containers (None: no AM limit).
    pub(crate) maximum_am_resource_percent: Option<f64>,
    /// Applications (pending + running) the queue accepts; None: no limit.
    pub(crate) maximum_applications: Option<usize>,
    pub(crate) maximum_applications_per_user: Option<usize>,
    // Fair Scheduler.
    pub(crate) weight: f64,
    pub(crate) min_resources: Resource,
    pub(crate) max_resources: Option<MaxResources>,
    pub(crate) max_running_apps: Option<usize>,
    /// -1: no AM share limit.
    pub(crate) max_am_share: f64,
    pub(crate) min_share_preemption_timeout_ms: Option<i64>,
    pub(crate) fair_share_preemption_timeout_ms: Option<i64>,
    pub(crate) fair_share_preemption_threshold: f64,
}

impl QueueSettings {
    /// A queue without limits: FIFO's `root` and `root.default`.
    pub(crate) fn unlimited() -> Self {
        Self {
            state: QueueState::Running,
            acl_submit: None,
            acl_administer: None,
            application_ordering: ApplicationOrdering::Fifo,
            child_ordering: ChildOrdering::Utilization,
            preemptable: false,
            capacity: CapacityValue::Percent(100.0),
            maximum_capacity: CapacityValue::Percent(100.0),
            user_limit_factor: -1.0,
            minimum_user_limit_percent: 100.0,
            maximum_am_resource_percent: None,
            maximum_applications: None,
            maximum_applications_per_user: None,
            weight: 1.0,
            min_resources: Resource::ZERO,
            max_resources: None,
            max_running_apps: None,
            max_am_share: -1.0,
            min_share_preemption_timeout_ms: None,
            fair_share_preemption_timeout_ms: None,
            fair_share_preemption_threshold: 0.5,
        }
    }

    /// A Capacity Scheduler queue. `absolute_capacity` is the queue's share of the cluster
    /// (percent mode), used for the derived application limits as YARN derives them.
    pub(crate) fn capacity(
        queue: &CapacityQueueConfig,
        config: &CapacitySchedulerConfig,
        absolute_capacity: f64,
    ) -> Self {
        let maximum_applications = queue.maximum_applications.unwrap_or_else(|| {
            (config.maximum_applications as f64 * absolute_capacity).floor() as usize
        });
        let per_user = if queue.user_limit_factor <= 0.0 {
            maximum_applications
        } else {
            let share =
                (queue.minimum_user_limit_percent / 100.0 * queue.user_limit_factor).min(1.0);
            (maximum_applications as f64 * share).floor() as usize
        };
        Self {
            state: queue.state,
            acl_submit: queue.acl_submit_applications.clone(),
            acl_administer: queue.acl_administer_queue.clone(),
            application_ordering: match queue.ordering_policy {
                LeafOrderingPolicy::Fifo => ApplicationOrdering::Fifo,
                LeafOrderingPolicy::Fair { size_based_weight } => ApplicationOrdering::Fair {
                    size_based: size_based_weight,
                },
            },
            child_ordering: ChildOrdering::Utilization,
            preemptable: !queue.disable_preemption,
            capacity: queue.capacity.clone(),
            maximum_capacity: queue.maximum_capacity.clone(),
            user_limit_factor: queue.user_limit_factor,
            minimum_user_limit_percent: queue.minimum_user_limit_percent,
            maximum_am_resource_percent: Some(
                queue
                    .maximum_am_resource_percent
                    .unwrap_or(config.maximum_am_resource_percent),
            ),
            maximum_applications: Some(maximum_applications),
            maximum_applications_per_user: Some(per_user),
            ..Self::unlimited()
        }
    }

    /// A Fair Scheduler queue; `parent` holds the parent's resolved settings (None for root).
    /// `queue` is None for a queue placement created without configuration.
    pub(crate) fn fair(
        queue: Option<&FairQueueConfig>,
        config: &FairSchedulerConfig,
        parent: Option<&QueueSettings>,
        is_leaf: bool,
    ) -> Self {
        let policy = queue
            .and_then(|q| q.scheduling_policy)
            .unwrap_or(config.default_scheduling_policy);
        // fifo only orders applications; a parent given fifo by default shares fairly.
        let (application_ordering, child_ordering) = match policy {
            FairPolicy::Fifo => (ApplicationOrdering::Fifo, ChildOrdering::Fair),
            FairPolicy::Fair => (
                ApplicationOrdering::Fair {
                    size_based: config.site.size_based_weight,
                },
                ChildOrdering::Fair,
            ),
            FairPolicy::Drf => (ApplicationOrdering::Drf, ChildOrdering::Drf),
        };
        let inherited = |own: Option<i64>, from_parent: Option<i64>, default: Option<i64>| {
            own.or(from_parent).or(default)
        };
        Self {
            state: QueueState::Running,
            acl_submit: queue.and_then(|q| q.acl_submit_apps.clone()),
            acl_administer: queue.and_then(|q| q.acl_administer_apps.clone()),
            application_ordering,
            child_ordering,
            preemptable: queue.is_none_or(|q| q.allow_preemption_from)
                && parent.is_none_or(|p| p.preemptable),
            weight: queue.map_or(1.0, |q| q.weight),
            min_resources: queue.map_or(Resource::ZERO, |q| q.min_resources.clone()),
            max_resources: queue.and_then(|q| q.max_resources.clone()).or_else(|| {
                (is_leaf && parent.is_some())
                    .then(|| config.queue_max_resources_default.clone())
                    .flatten()
            }),
            max_running_apps: queue
                .and_then(|q| q.max_running_apps)
                .or_else(|| is_leaf.then_some(config.queue_max_apps_default).flatten()),
            max_am_share: queue
                .and_then(|q| q.max_am_share)
                .unwrap_or(config.queue_max_am_share_default),
            min_share_preemption_timeout_ms: inherited(
                queue.and_then(|q| q.min_share_preemption_timeout_ms),
                parent.and_then(|p| p.min_share_preemption_timeout_ms),
                config.default_min_share_preemption_timeout_ms,
            ),
            fair_share_preemption_timeout_ms: inherited(
                queue.and_then(|q| q.fair_share_preemption_timeout_ms),
                parent.and_then(|p| p.fair_share_preemption_timeout_ms),
                config.default_fair_share_preemption_timeout_ms,
            ),
            fair_share_preemption_threshold: queue
                .and_then(|q| q.fair_share_preemption_threshold)
                .or(parent.map(|p| p.fair_share_preemption_threshold))
                .unwrap_or(config.default_fair_share_preemption_threshold),
            ..Self::unlimited()
        }
    }
}
