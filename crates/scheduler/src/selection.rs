//! Choosing and configuring the scheduler from YARN's settings: the class named by
//! `yarn.resourcemanager.scheduler.class` and the text of its file. Pure: the RM reads the files.

use std::collections::BTreeMap;

use crate::acl::AccessControlList;
use crate::capacity::config::CapacitySchedulerConfig;
use crate::capacity::parse::SITE_SOURCE;
use crate::config::{
    AclSettings, AllocationLimits, ImmediateAllocation, SchedulerConfig, SchedulingPolicy,
};
use crate::config_error::{ConfigProblem, SchedulerConfigError};
use crate::config_values::parse_bool;
use crate::fair::config::FairSchedulerConfig;
use crate::groups::{GroupMapping, STATIC_MAPPING_OVERRIDES_KEY};

pub const SCHEDULER_CLASS_KEY: &str = "yarn.resourcemanager.scheduler.class";
/// How long room beyond an application's steady share is held after it first asks (see
/// [`SchedulerConfig::share_window_ms`]); default twice [`NM_HEARTBEAT_INTERVAL_KEY`].
pub const SHARE_WINDOW_KEY: &str = "spindle.scheduler.share-window-ms";
/// YARN's NodeManager heartbeat interval (1000 ms).
pub const NM_HEARTBEAT_INTERVAL_KEY: &str =
    "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms";
pub const FIFO_SCHEDULER_CLASS: &str =
    "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fifo.FifoScheduler";
pub const CAPACITY_SCHEDULER_CLASS: &str =
    "org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity.CapacityScheduler";
pub const FAIR_SCHEDULER_CLASS: &str =
    "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fair.FairScheduler";
/// The Capacity Scheduler's file, looked up in the configuration directory.
pub const CAPACITY_SCHEDULER_FILE: &str = "capacity-scheduler.xml";
/// The key naming the Fair Scheduler's allocation file (default `fair-scheduler.xml`).
pub const FAIR_ALLOCATION_FILE_KEY: &str = "yarn.scheduler.fair.allocation.file";
pub const FAIR_ALLOCATION_FILE_DEFAULT: &str = "fair-scheduler.xml";
pub const ACL_ENABLE_KEY: &str = "yarn.acl.enable";
pub const ADMIN_ACL_KEY: &str = "yarn.admin.acl";

/// The three schedulers YARN ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    Fifo,
    Capacity,
    Fair,
}

impl SchedulerKind {
    /// The scheduler YARN's class name selects (blanks around it ignored).
    pub fn from_class_name(class_name: &str) -> Result<Self, SchedulerConfigError> {
        match class_name.trim() {
            FIFO_SCHEDULER_CLASS => Ok(Self::Fifo),
            CAPACITY_SCHEDULER_CLASS => Ok(Self::Capacity),
            FAIR_SCHEDULER_CLASS => Ok(Self::Fair),
            other => Err(SchedulerConfigError::new(
                SITE_SOURCE,
                ConfigProblem::UnknownSchedulerClass(other.to_string()),
            )
            .for_key(SCHEDULER_CLASS_KEY)),
        }
    }

    pub fn class_name(self) -> &'static str {
        match self {
            Self::Fifo => FIFO_SCHEDULER_CLASS,
            Self::Capacity => CAPACITY_SCHEDULER_CLASS,
            Self::Fair => FAIR_SCHEDULER_CLASS,
        }
    }

    /// The file the RM must read for this scheduler: `capacity-scheduler.xml`, the allocation
    /// file named by `yarn.scheduler.fair.allocation.file`, or none for FIFO.
    pub fn scheduler_file_name(self, site: &BTreeMap<String, String>) -> Option<String> {
        match self {
            Self::Fifo => None,
            Self::Capacity => Some(CAPACITY_SCHEDULER_FILE.to_string()),
            Self::Fair => Some(
                site.get(FAIR_ALLOCATION_FILE_KEY)
                    .map(|name| name.trim().to_string())
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| FAIR_ALLOCATION_FILE_DEFAULT.to_string()),
            ),
        }
    }
}

/// A scheduler file as the RM read it.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerFile<'a> {
    /// How errors name it (usually its path).
    pub source_name: &'a str,
    pub text: &'a str,
}

/// The policy for `class_name`, configured from yarn-site.xml's `site` properties and the
/// scheduler's `file` (None when it does not exist: the Capacity Scheduler then has only
/// `root.default`, the Fair Scheduler places by user as YARN does without an allocation file).
pub fn scheduling_policy_from_files(
    class_name: &str,
    site: &BTreeMap<String, String>,
    file: Option<SchedulerFile<'_>>,
) -> Result<SchedulingPolicy, SchedulerConfigError> {
    Ok(match SchedulerKind::from_class_name(class_name)? {
        SchedulerKind::Fifo => SchedulingPolicy::Fifo,
        SchedulerKind::Capacity => SchedulingPolicy::Capacity(match file {
            Some(file) => CapacitySchedulerConfig::from_xml(file.source_name, file.text, site)?,
            None => CapacitySchedulerConfig::from_properties(
                CAPACITY_SCHEDULER_FILE,
                &BTreeMap::from([
                    (
                        "yarn.scheduler.capacity.root.queues".into(),
                        "default".into(),
                    ),
                    (
                        "yarn.scheduler.capacity.root.default.capacity".into(),
                        "100".into(),
                    ),
                ]),
                site,
            )?,
        }),
        SchedulerKind::Fair => SchedulingPolicy::Fair(FairSchedulerConfig::parse(
            site,
            file.map(|file| (file.source_name, file.text)),
        )?),
    })
}

/// The whole scheduler configuration: the policy as [`scheduling_policy_from_files`] builds it,
/// ACL settings (`yarn.acl.enable`, `yarn.admin.acl`) and static group mappings
/// (`hadoop.user.group.static.mapping.overrides`) from `site`, with the RM's epoch and limits.
pub fn scheduler_config_from_files(
    class_name: &str,
    site: &BTreeMap<String, String>,
    file: Option<SchedulerFile<'_>>,
    rm_epoch: i64,
    limits: AllocationLimits,
) -> Result<SchedulerConfig, SchedulerConfigError> {
    let policy = scheduling_policy_from_files(class_name, site, file)?;
    let site_error =
        |key: &str, problem| SchedulerConfigError::new(SITE_SOURCE, problem).for_key(key);
    let enabled = site
        .get(ACL_ENABLE_KEY)
        .map(|value| parse_bool(value).map_err(|p| site_error(ACL_ENABLE_KEY, p)))
        .transpose()?
        .unwrap_or(false);
    let admin = site
        .get(ADMIN_ACL_KEY)
        .map(|value| AccessControlList::parse(value))
        .unwrap_or_else(AccessControlList::everyone);
    let user_groups = match site.get(STATIC_MAPPING_OVERRIDES_KEY) {
        Some(text) => GroupMapping::parse_static_overrides(text).map_err(|reason| {
            site_error(
                STATIC_MAPPING_OVERRIDES_KEY,
                ConfigProblem::InvalidValue {
                    value: text.clone(),
                    expected: reason,
                },
            )
        })?,
        None => GroupMapping::default(),
    };
    let immediate_allocation = match site.get(ImmediateAllocation::KEY) {
        Some(text) => ImmediateAllocation::parse(text).ok_or_else(|| {
            site_error(
                ImmediateAllocation::KEY,
                ConfigProblem::InvalidValue {
                    value: text.clone(),
                    expected: "within-share or all".into(),
                },
            )
        })?,
        None => ImmediateAllocation::default(),
    };
    let milliseconds = |key: &str| -> Result<Option<i64>, SchedulerConfigError> {
        site.get(key)
            .map(|text| {
                text.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|ms| (0..=86_400_000).contains(ms))
                    .ok_or_else(|| {
                        site_error(
                            key,
                            ConfigProblem::InvalidValue {
                                value: text.clone(),
                                expected: "a whole number of milliseconds, 0 to 86400000".into(),
                            },
                        )
                    })
            })
            .transpose()
    };
    let share_window_ms = match milliseconds(SHARE_WINDOW_KEY)? {
        Some(window) => window,
        None => 2 * milliseconds(NM_HEARTBEAT_INTERVAL_KEY)?.unwrap_or(1000),
    };
    Ok(SchedulerConfig {
        rm_epoch,
        limits,
        policy,
        user_groups,
        acls: AclSettings { enabled, admin },
        immediate_allocation,
        share_window_ms,
    })
}
