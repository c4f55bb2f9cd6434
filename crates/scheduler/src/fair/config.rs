//! The Fair Scheduler's configuration as typed values: the allocation file (fair-scheduler.xml)
//! and the `yarn.scheduler.fair.*` keys of yarn-site.xml.

use std::collections::BTreeMap;

use spindle_types::Resource;

use crate::acl::AccessControlList;

/// A queue's `schedulingPolicy`: how it shares among its children (or applications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FairPolicy {
    /// First in, first out (leaf queues only).
    Fifo,
    /// Fair sharing of memory (YARN's FairSharePolicy).
    #[default]
    Fair,
    /// Dominant Resource Fairness over all resource types.
    Drf,
}

impl FairPolicy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fifo => "fifo",
            Self::Fair => "fair",
            Self::Drf => "drf",
        }
    }

    /// The policy YARN names `text` (short names, any case, or the policy classes).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let short = text.rsplit('.').next().unwrap_or(text);
        match short.to_ascii_lowercase().as_str() {
            "fifo" | "fifopolicy" => Some(Self::Fifo),
            "fair" | "fairsharepolicy" => Some(Self::Fair),
            "drf" | "dominantresourcefairnesspolicy" => Some(Self::Drf),
            _ => None,
        }
    }
}

/// `maxResources`: absolute, or percentages of the cluster per type.
#[derive(Debug, Clone, PartialEq)]
pub enum MaxResources {
    Absolute(Resource),
    /// Percent of the cluster's memory and vcores (`50%` or `40% memory, 60% cpu`).
    Percent {
        memory: f64,
        vcores: f64,
    },
}

/// One `<queue>` of the allocation file. Unset values inherit from the parent or the file's
/// defaults when the scheduler builds its queues.
#[derive(Debug, Clone, PartialEq)]
pub struct FairQueueConfig {
    pub name: String,
    /// Full path (`root.dev.eng`).
    pub path: String,
    /// `<weight>` (1.0).
    pub weight: f64,
    /// `<minResources>`: resources the queue is guaranteed when it has demand.
    pub min_resources: Resource,
    /// `<maxResources>`; None: the cluster (or `queueMaxResourcesDefault`).
    pub max_resources: Option<MaxResources>,
    /// `<maxRunningApps>`; None: `queueMaxAppsDefault`.
    pub max_running_apps: Option<usize>,
    /// `<maxAMShare>`; None: `queueMaxAMShareDefault`. -1 disables the check.
    pub max_am_share: Option<f64>,
    /// `<schedulingPolicy>`; None: `defaultQueueSchedulingPolicy`.
    pub scheduling_policy: Option<FairPolicy>,
    pub acl_submit_apps: Option<AccessControlList>,
    pub acl_administer_apps: Option<AccessControlList>,
    /// `<minSharePreemptionTimeout>` in milliseconds (the file says seconds).
    pub min_share_preemption_timeout_ms: Option<i64>,
    pub fair_share_preemption_timeout_ms: Option<i64>,
    pub fair_share_preemption_threshold: Option<f64>,
    /// `<allowPreemptionFrom>` (true): false protects this subtree's containers.
    pub allow_preemption_from: bool,
    /// `type="parent"`: a parent even without children (placement creates leaves under it).
    pub declared_parent: bool,
    pub children: Vec<FairQueueConfig>,
}

impl FairQueueConfig {
    pub fn new(parent_path: Option<&str>, name: &str) -> Self {
        Self {
            name: name.to_string(),
            path: match parent_path {
                Some(parent) => format!("{parent}.{name}"),
                None => name.to_string(),
            },
            weight: 1.0,
            min_resources: Resource::ZERO,
            max_resources: None,
            max_running_apps: None,
            max_am_share: None,
            scheduling_policy: None,
            acl_submit_apps: None,
            acl_administer_apps: None,
            min_share_preemption_timeout_ms: None,
            fair_share_preemption_timeout_ms: None,
            fair_share_preemption_threshold: None,
            allow_preemption_from: true,
            declared_parent: false,
            children: Vec::new(),
        }
    }

    pub fn is_parent(&self) -> bool {
        self.declared_parent || !self.children.is_empty()
    }

    /// Every queue of this subtree, parents before children.
    pub fn walk(&self) -> Vec<&FairQueueConfig> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    /// The queue at `path` in this subtree.
    pub fn find(&self, path: &str) -> Option<&FairQueueConfig> {
        self.walk().into_iter().find(|queue| queue.path == path)
    }
}

/// One rule of `<queuePlacementPolicy>`. `create`: whether the rule may create the queue it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementRule {
    /// The queue the application asked for (skipped when it asked for `default` or nothing).
    Specified { create: bool },
    /// `root.<user>`.
    User { create: bool },
    /// `root.<primary group>`.
    PrimaryGroup { create: bool },
    /// `root.<group>` for the first secondary group with an existing queue.
    SecondaryGroupExistingQueue,
    /// `<queue from the inner rule>.<user>`.
    NestedUserQueue {
        inner: Box<PlacementRule>,
        create: bool,
    },
    /// The `queue` attribute (`root.default` when absent).
    Default { queue: String, create: bool },
    /// Refuses the application.
    Reject,
}

impl PlacementRule {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Specified { .. } => "specified",
            Self::User { .. } => "user",
            Self::PrimaryGroup { .. } => "primaryGroup",
            Self::SecondaryGroupExistingQueue => "secondaryGroupExistingQueue",
            Self::NestedUserQueue { .. } => "nestedUserQueue",
            Self::Default { .. } => "default",
            Self::Reject => "reject",
        }
    }

    /// A rule that always places (or rejects): rules after it could never apply.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Default { .. } | Self::Reject => true,
            Self::User { create } | Self::PrimaryGroup { create } => *create,
            Self::NestedUserQueue { inner, create } => *create && inner.is_terminal(),
            Self::Specified { .. } | Self::SecondaryGroupExistingQueue => false,
        }
    }
}

/// The `yarn.scheduler.fair.*` keys of yarn-site.xml.
#[derive(Debug, Clone, PartialEq)]
pub struct FairSiteSettings {
    /// `user-as-default-queue` (true): without a placement policy, apps go to `root.<user>`.
    pub user_as_default_queue: bool,
    /// `allow-undeclared-pools` (true): placement may create queues.
    pub allow_undeclared_pools: bool,
    /// `preemption` (false).
    pub preemption: bool,
    /// `preemption.cluster-utilization-threshold` (0.8): preempt only above this utilization.
    pub preemption_cluster_utilization_threshold: f64,
    /// `waitTimeBeforeKill` (15000 ms): between asking the AM and killing the container.
    pub wait_time_before_kill_ms: i64,
    /// `locality.threshold.node` (-1: no delay): missed opportunities, as a fraction of the
    /// cluster's nodes, before accepting a rack-local container.
    pub locality_threshold_node: f64,
    /// `locality.threshold.rack` (-1: no delay): likewise before accepting off-switch.
    pub locality_threshold_rack: f64,
    /// `sizebasedweight` (false): an application's weight grows with the log of its demand.
    pub size_based_weight: bool,
    /// `assignmultiple` (false): a heartbeat may assign more than one container beyond shares.
    pub assign_multiple: bool,
    /// `max.assign` (-1: no limit): with assignmultiple and without dynamic.max.assign, the
    /// containers a heartbeat may assign.
    pub max_assign: i64,
    /// `dynamic.max.assign` (true): with assignmultiple, a heartbeat assigns up to half the
    /// node's unallocated room.
    pub dynamic_max_assign: bool,
}

impl Default for FairSiteSettings {
    fn default() -> Self {
        Self {
            user_as_default_queue: true,
            allow_undeclared_pools: true,
            preemption: false,
            preemption_cluster_utilization_threshold: 0.8,
            wait_time_before_kill_ms: 15_000,
            locality_threshold_node: -1.0,
            locality_threshold_rack: -1.0,
            size_based_weight: false,
            assign_multiple: false,
            max_assign: -1,
            dynamic_max_assign: true,
        }
    }
}

/// Everything the Fair Scheduler is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct FairSchedulerConfig {
    /// `root` and its tree (always holding `root.default`).
    pub root: FairQueueConfig,
    /// The placement rules in order (the file's, or YARN's default policy).
    pub placement_rules: Vec<PlacementRule>,
    /// `<defaultQueueSchedulingPolicy>` (fair).
    pub default_scheduling_policy: FairPolicy,
    /// `<queueMaxAppsDefault>`.
    pub queue_max_apps_default: Option<usize>,
    /// `<queueMaxAMShareDefault>` (0.5).
    pub queue_max_am_share_default: f64,
    /// `<queueMaxResourcesDefault>`.
    pub queue_max_resources_default: Option<MaxResources>,
    /// `<userMaxAppsDefault>`.
    pub user_max_apps_default: Option<usize>,
    /// `<user name="..."><maxRunningApps>`.
    pub user_max_apps: BTreeMap<String, usize>,
    /// `<defaultMinSharePreemptionTimeout>` in ms (None: never).
    pub default_min_share_preemption_timeout_ms: Option<i64>,
    /// `<defaultFairSharePreemptionTimeout>` in ms (None: never).
    pub default_fair_share_preemption_timeout_ms: Option<i64>,
    /// `<defaultFairSharePreemptionThreshold>` (0.5).
    pub default_fair_share_preemption_threshold: f64,
    pub site: FairSiteSettings,
}

impl Default for FairSchedulerConfig {
    /// No allocation file: `root` with `root.default`, YARN's default placement.
    fn default() -> Self {
        let mut root = FairQueueConfig::new(None, "root");
        root.acl_submit_apps = Some(AccessControlList::everyone());
        root.acl_administer_apps = Some(AccessControlList::everyone());
        root.children
            .push(FairQueueConfig::new(Some("root"), "default"));
        let site = FairSiteSettings::default();
        Self {
            root,
            placement_rules: default_placement_rules(&site),
            default_scheduling_policy: FairPolicy::Fair,
            queue_max_apps_default: None,
            queue_max_am_share_default: 0.5,
            queue_max_resources_default: None,
            user_max_apps_default: None,
            user_max_apps: BTreeMap::new(),
            default_min_share_preemption_timeout_ms: None,
            default_fair_share_preemption_timeout_ms: None,
            default_fair_share_preemption_threshold: 0.5,
            site,
        }
    }
}

/// YARN's placement without a `<queuePlacementPolicy>`: the specified queue, then (with
/// user-as-default-queue) the user's queue, then `root.default`; creating queues only when
/// allow-undeclared-pools is on.
pub fn default_placement_rules(site: &FairSiteSettings) -> Vec<PlacementRule> {
    let create = site.allow_undeclared_pools;
    let mut rules = vec![PlacementRule::Specified { create }];
    if site.user_as_default_queue {
        rules.push(PlacementRule::User { create });
    }
    rules.push(PlacementRule::Default {
        queue: "root.default".into(),
        create: true,
    });
    rules
}
