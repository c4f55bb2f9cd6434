//! The scheduler's configuration: RM epoch, allocation limits, scheduling policy, groups, ACLs.

use spindle_types::Resource;

use crate::acl::AccessControlList;
use crate::capacity::config::CapacitySchedulerConfig;
use crate::error::SchedulerError;
use crate::fair::config::FairSchedulerConfig;
use crate::groups::GroupMapping;

/// Which scheduler runs, with its queues.
#[derive(Debug, Clone, PartialEq)]
pub enum SchedulingPolicy {
    /// One queue, `root.default`; applications in order of (application priority, higher first;
    /// then application id). YARN's FifoScheduler.
    Fifo,
    /// YARN's CapacityScheduler, from capacity-scheduler.xml.
    Capacity(CapacitySchedulerConfig),
    /// YARN's FairScheduler, from the allocation file.
    Fair(FairSchedulerConfig),
}

impl SchedulingPolicy {
    /// `fifo`, `capacity` or `fair`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fifo => "fifo",
            Self::Capacity(_) => "capacity",
            Self::Fair(_) => "fair",
        }
    }
}

/// YARN's `yarn.acl.enable` and `yarn.admin.acl`: whether queue ACLs are enforced, and who
/// administers everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSettings {
    pub enabled: bool,
    pub admin: AccessControlList,
}

impl Default for AclSettings {
    /// YARN's defaults: ACLs off, everyone an administrator.
    fn default() -> Self {
        Self {
            enabled: false,
            admin: AccessControlList::everyone(),
        }
    }
}

/// YARN's `yarn.scheduler.minimum-allocation-*`, `maximum-allocation-*` and increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationLimits {
    /// Every container gets at least this much.
    pub minimum: Resource,
    /// Asks above this are rejected. Extra resource types (GPU) are only limited if listed here.
    pub maximum: Resource,
    /// Asks are rounded up to a multiple of this (YARN's CapacityScheduler uses the minimum).
    pub increment: Resource,
}

impl Default for AllocationLimits {
    /// YARN's defaults: minimum 1024 MB / 1 vcore, maximum 8192 MB / 4 vcores.
    fn default() -> Self {
        let minimum = Resource::new(1024, 1);
        Self {
            increment: minimum.clone(),
            minimum,
            maximum: Resource::new(8192, 4),
        }
    }
}

/// Everything the scheduler is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// The RM's epoch, the high bits of every container id (`container_e<epoch>_...`).
    pub rm_epoch: i64,
    pub limits: AllocationLimits,
    pub policy: SchedulingPolicy,
    /// Users' groups for placement rules and ACLs (the RM may add more with
    /// [`crate::SchedulerEvent::UserGroupsUpdated`]).
    pub user_groups: GroupMapping,
    pub acls: AclSettings,
    /// `spindle.scheduler.immediate-allocation`: what is granted the moment a request and room
    /// meet (room beyond goes out on node heartbeats).
    pub immediate_allocation: ImmediateAllocation,
    /// How long after an application first asks, room beyond its steady share is held for
    /// applications submitted meanwhile (`spindle.scheduler.share-window-ms`; default two
    /// NodeManager heartbeat intervals, 2000 ms).
    pub share_window_ms: i64,
}

/// What the scheduler grants at once, outside node heartbeats (`spindle.scheduler.immediate-allocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImmediateAllocation {
    /// `within-share` (default): each application up to its entitlement, the share the policy
    /// gives it among the active applications; room beyond it goes out on node heartbeats,
    /// paced by the policy's per-heartbeat assignment keys.
    #[default]
    WithinShare,
    /// `all`: everything that fits, in the order requests arrive (Spindle before issue 10;
    /// the first asker may take the whole cluster).
    All,
}

impl ImmediateAllocation {
    /// The yarn-site key.
    pub const KEY: &'static str = "spindle.scheduler.immediate-allocation";

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "within-share" => Some(Self::WithinShare),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            rm_epoch: 0,
            limits: AllocationLimits::default(),
            policy: SchedulingPolicy::Fifo,
            user_groups: GroupMapping::default(),
            acls: AclSettings::default(),
            immediate_allocation: ImmediateAllocation::default(),
            share_window_ms: 2000,
        }
    }
}

impl SchedulerConfig {
    pub fn validate(&self) -> Result<(), SchedulerError> {
        let limits = &self.limits;
        let invalid = |reason: String| Err(SchedulerError::InvalidConfiguration { reason });
        if self.rm_epoch < 0 {
            return invalid(format!(
                "the RM epoch must not be negative, got {}",
                self.rm_epoch
            ));
        }
        if limits.minimum.any_negative()
            || limits.maximum.any_negative()
            || limits.increment.any_negative()
        {
            return invalid(format!(
                "allocation limits must not be negative (minimum {}, maximum {}, increment {})",
                limits.minimum, limits.maximum, limits.increment
            ));
        }
        if !limits.maximum.fits(&limits.minimum) {
            return invalid(format!(
                "the minimum allocation {} exceeds the maximum allocation {}",
                limits.minimum, limits.maximum
            ));
        }
        Ok(())
    }
}
