//! Reading capacity-scheduler.xml (as text or as already-merged properties) into a
//! [`CapacitySchedulerConfig`], with YARN's keys and validation. Errors name the file, the line
//! when known, the queue and the key.

use std::collections::BTreeMap;

use spindle_types::Resource;

use crate::acl::AccessControlList;
use crate::calculator::ResourceCalculator;
use crate::capacity::config::{
    CapacityHeartbeatAssignment, CapacityPreemptionConfig, CapacityQueueConfig,
    CapacitySchedulerConfig, CapacityValue, LeafOrderingPolicy, QueueMapping, QueueState,
};
use crate::config_error::{ConfigProblem, SchedulerConfigError};
use crate::config_values::{
    invalid, parse_bool, parse_bracketed_resource, parse_count, parse_f64, parse_f64_in, parse_i64,
};

pub const CAPACITY_PREFIX: &str = "yarn.scheduler.capacity.";
pub const MONITOR_ENABLE_KEY: &str = "yarn.resourcemanager.scheduler.monitor.enable";
pub const MONITOR_POLICIES_KEY: &str = "yarn.resourcemanager.scheduler.monitor.policies";
const PREEMPTION_PREFIX: &str = "yarn.resourcemanager.monitor.capacity.preemption.";
const PROPORTIONAL_POLICY: &str = "ProportionalCapacityPreemptionPolicy";
/// Where the scheduler keys of yarn-site.xml are reported from.
pub const SITE_SOURCE: &str = "yarn-site.xml";

/// Properties of one source with the line each was defined on (when read from XML).
struct Properties<'a> {
    source_name: &'a str,
    values: &'a BTreeMap<String, String>,
    lines: BTreeMap<String, usize>,
}

impl Properties<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|value| value.trim())
    }

    /// The value as written (ACLs: a leading blank means "groups only", " " means no one).
    fn get_raw(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn error(
        &self,
        key: &str,
        queue: Option<&str>,
        problem: ConfigProblem,
    ) -> SchedulerConfigError {
        let mut error = SchedulerConfigError::new(self.source_name, problem)
            .for_key(key)
            .at_line(self.lines.get(key).copied());
        if let Some(queue) = queue {
            error = error.in_queue(queue);
        }
        error
    }

    /// Reads `key` with `parse`, or None when unset.
    fn read<T>(
        &self,
        key: &str,
        queue: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ConfigProblem>,
    ) -> Result<Option<T>, SchedulerConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => parse(value)
                .map(Some)
                .map_err(|problem| self.error(key, queue, problem)),
        }
    }
}

impl CapacitySchedulerConfig {
    /// Parses capacity-scheduler.xml text. `site` holds yarn-site.xml's properties (for the
    /// preemption monitor keys, which the file may also set). Values are used as written
    /// (no `${var}` expansion; merge through `spindle_conf::Configuration` and use
    /// [`Self::from_properties`] for that).
    pub fn from_xml(
        source_name: &str,
        xml: &str,
        site: &BTreeMap<String, String>,
    ) -> Result<Self, SchedulerConfigError> {
        let parsed = spindle_conf::parse_configuration_xml(source_name, xml).map_err(|error| {
            let line = match &error {
                spindle_conf::ConfError::Malformed { line, .. } => Some(*line),
                _ => None,
            };
            SchedulerConfigError::new(source_name, ConfigProblem::MalformedXml(error.to_string()))
                .at_line(line)
        })?;
        let mut values = BTreeMap::new();
        let mut lines = BTreeMap::new();
        for property in parsed {
            if let Some(value) = property.value {
                lines.insert(property.name.clone(), property.line);
                values.insert(property.name, value);
            }
        }
        Self::parse(
            Properties {
                source_name,
                values: &values,
                lines,
            },
            site,
        )
    }

    /// Reads the configuration from merged properties (`yarn.scheduler.capacity.*` and the
    /// preemption monitor keys). `site` holds yarn-site.xml's properties.
    pub fn from_properties(
        source_name: &str,
        properties: &BTreeMap<String, String>,
        site: &BTreeMap<String, String>,
    ) -> Result<Self, SchedulerConfigError> {
        Self::parse(
            Properties {
                source_name,
                values: properties,
                lines: BTreeMap::new(),
            },
            site,
        )
    }

    fn parse(
        file: Properties<'_>,
        site: &BTreeMap<String, String>,
    ) -> Result<Self, SchedulerConfigError> {
        let defaults = Self::default();
        let global = |name: &str| format!("{CAPACITY_PREFIX}{name}");
        let resource_calculator = file
            .read(&global("resource-calculator"), None, |value| {
                ResourceCalculator::from_class_name(value).ok_or_else(|| {
                    invalid(
                        value,
                        "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator or \
                         ...DominantResourceCalculator",
                    )
                })
            })?
            .unwrap_or(defaults.resource_calculator);
        let maximum_applications = file
            .read(&global("maximum-applications"), None, parse_count)?
            .unwrap_or(defaults.maximum_applications);
        let maximum_am_resource_percent = file
            .read(&global("maximum-am-resource-percent"), None, |v| {
                parse_f64_in(v, 0.0, 1.0)
            })?
            .unwrap_or(defaults.maximum_am_resource_percent);
        let node_locality_delay = file
            .read(&global("node-locality-delay"), None, |v| {
                parse_i64(
                    v,
                    "a whole number of missed scheduling opportunities (-1 disables)",
                )
            })?
            .unwrap_or(defaults.node_locality_delay);
        let rack_locality_additional_delay = file
            .read(&global("rack-locality-additional-delay"), None, |v| {
                parse_i64(
                    v,
                    "a whole number of missed scheduling opportunities (-1: derived)",
                )
            })?
            .unwrap_or(defaults.rack_locality_additional_delay);
        let heartbeat = read_heartbeat_assignment(&file)?;
        let queue_mappings_override = file
            .read(&global("queue-mappings-override.enable"), None, parse_bool)?
            .unwrap_or(false);

        let mut root = CapacityQueueConfig::new(None, "root", CapacityValue::Percent(100.0));
        read_queue(&file, &mut root, None)?;
        if root.children.is_empty() {
            let key = format!("{CAPACITY_PREFIX}root.queues");
            return Err(file.error(
                &key,
                Some("root"),
                invalid("", "at least one child queue of root"),
            ));
        }
        if root.acl_submit_applications.is_none() {
            root.acl_submit_applications = Some(AccessControlList::everyone());
        }
        if root.acl_administer_queue.is_none() {
            root.acl_administer_queue = Some(AccessControlList::everyone());
        }
        let queue_mappings = read_mappings(&file, &root)?;
        let preemption = read_preemption(&file, site)?;
        Ok(Self {
            resource_calculator,
            root,
            maximum_applications,
            maximum_am_resource_percent,
            node_locality_delay,
            rack_locality_additional_delay,
            queue_mappings,
            queue_mappings_override,
            preemption,
            heartbeat,
        })
    }
}

fn queue_key(path: &str, name: &str) -> String {
    format!("{CAPACITY_PREFIX}{path}.{name}")
}

fn parse_capacity(value: &str) -> Result<CapacityValue, ConfigProblem> {
    if let Some(resource) = parse_bracketed_resource(value) {
        return resource.map(CapacityValue::Absolute);
    }
    if value.trim().ends_with('w') {
        return Err(ConfigProblem::Unsupported(format!(
            "weight capacities ('{value}') are not supported; use a percentage or [memory=..,vcores=..]"
        )));
    }
    parse_f64_in(value, 0.0, 100.0)
        .map(CapacityValue::Percent)
        .map_err(|_| {
            invalid(
                value,
                "a percentage from 0 to 100 or absolute resources like [memory=10240,vcores=10]",
            )
        })
}

/// Reads the settings of `queue` (whose name and path are set) and, recursively, its children.
fn read_queue(
    file: &Properties<'_>,
    queue: &mut CapacityQueueConfig,
    parent: Option<&CapacityQueueConfig>,
) -> Result<(), SchedulerConfigError> {
    let path = queue.path.clone();
    let key = |name: &str| queue_key(&path, name);
    let at = Some(path.as_str());
    if parent.is_some() {
        queue.capacity = file
            .read(&key("capacity"), at, parse_capacity)?
            .ok_or_else(|| {
                file.error(
                    &key("capacity"),
                    at,
                    invalid("", "a capacity for every queue but root"),
                )
            })?;
    }
    let maximum = file.read(&key("maximum-capacity"), at, |value| {
        if value.trim() == "-1" {
            Ok(CapacityValue::Percent(100.0))
        } else {
            parse_capacity(value)
        }
    })?;
    queue.maximum_capacity = match (maximum, &queue.capacity) {
        (Some(maximum), _) => maximum,
        (None, CapacityValue::Absolute(_)) => match parent.map(|p| &p.maximum_capacity) {
            Some(CapacityValue::Absolute(parent_maximum)) => {
                CapacityValue::Absolute(parent_maximum.clone())
            }
            _ => CapacityValue::Percent(100.0),
        },
        (None, CapacityValue::Percent(_)) => CapacityValue::Percent(100.0),
    };
    check_maximum(file, &key("maximum-capacity"), &path, queue)?;
    if let Some(factor) = file.read(&key("user-limit-factor"), at, |v| {
        parse_f64(v, "a number (1 = the queue's capacity; -1 = no limit)")
    })? {
        queue.user_limit_factor = factor;
    }
    if let Some(percent) = file.read(&key("minimum-user-limit-percent"), at, |v| {
        parse_f64_in(v, 0.0, 100.0)
    })? {
        queue.minimum_user_limit_percent = percent;
    }
    queue.maximum_am_resource_percent =
        file.read(&key("maximum-am-resource-percent"), at, |v| {
            parse_f64_in(v, 0.0, 1.0)
        })?;
    queue.maximum_applications = file.read(&key("maximum-applications"), at, parse_count)?;
    if let Some(state) = file.read(&key("state"), at, |value| {
        match value.to_ascii_uppercase().as_str() {
            "RUNNING" => Ok(QueueState::Running),
            "STOPPED" => Ok(QueueState::Stopped),
            _ => Err(invalid(value, "RUNNING or STOPPED")),
        }
    })? {
        queue.state = state;
    }
    // A STOPPED parent stops its whole subtree, as in YARN.
    if parent.is_some_and(|p| p.state == QueueState::Stopped) {
        queue.state = QueueState::Stopped;
    }
    queue.acl_submit_applications = file
        .get_raw(&key("acl_submit_applications"))
        .map(AccessControlList::parse);
    queue.acl_administer_queue = file
        .get_raw(&key("acl_administer_queue"))
        .map(AccessControlList::parse);
    let size_based = file
        .read(
            &key("ordering-policy.fair.enable-size-based-weight"),
            at,
            parse_bool,
        )?
        .unwrap_or(false);
    if let Some(policy) = file.read(&key("ordering-policy"), at, |value| match value {
        "fifo"
        | "org.apache.hadoop.yarn.server.resourcemanager.scheduler.policy.FifoOrderingPolicy" => {
            Ok(LeafOrderingPolicy::Fifo)
        }
        "fair"
        | "org.apache.hadoop.yarn.server.resourcemanager.scheduler.policy.FairOrderingPolicy" => {
            Ok(LeafOrderingPolicy::Fair {
                size_based_weight: size_based,
            })
        }
        _ => Err(invalid(value, "fifo or fair")),
    })? {
        queue.ordering_policy = policy;
    }
    queue.disable_preemption = file
        .read(&key("disable_preemption"), at, parse_bool)?
        .unwrap_or_else(|| parent.is_some_and(|p| p.disable_preemption));

    let children_key = key("queues");
    let names: Vec<String> = file
        .get(&children_key)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let mut children = Vec::with_capacity(names.len());
    for name in &names {
        if name.contains(|c: char| c == '.' || c.is_whitespace()) {
            return Err(file.error(
                &children_key,
                at,
                ConfigProblem::InvalidQueueName {
                    name: name.clone(),
                    reason: "queue names cannot contain '.' or blanks".into(),
                },
            ));
        }
        if children
            .iter()
            .any(|c: &CapacityQueueConfig| &c.name == name)
        {
            return Err(file
                .error(&children_key, None, ConfigProblem::DuplicateQueue)
                .in_queue(&format!("{path}.{name}")));
        }
        let mut child = CapacityQueueConfig::new(Some(&path), name, CapacityValue::Percent(0.0));
        read_queue(file, &mut child, Some(queue))?;
        children.push(child);
    }
    queue.children = children;
    check_children(file, &children_key, queue)
}

fn check_maximum(
    file: &Properties<'_>,
    key: &str,
    path: &str,
    queue: &CapacityQueueConfig,
) -> Result<(), SchedulerConfigError> {
    let below = match (&queue.capacity, &queue.maximum_capacity) {
        (CapacityValue::Percent(capacity), CapacityValue::Percent(maximum)) => {
            (maximum < capacity).then(|| (format!("{capacity}%"), format!("{maximum}%")))
        }
        (CapacityValue::Absolute(capacity), CapacityValue::Absolute(maximum)) => {
            (!maximum.fits(capacity)).then(|| (capacity.to_string(), maximum.to_string()))
        }
        _ => None,
    };
    match below {
        Some((capacity, maximum)) => Err(file.error(
            key,
            Some(path),
            ConfigProblem::MaximumBelowCapacity { capacity, maximum },
        )),
        None => Ok(()),
    }
}

fn check_children(
    file: &Properties<'_>,
    children_key: &str,
    queue: &CapacityQueueConfig,
) -> Result<(), SchedulerConfigError> {
    if queue.children.is_empty() {
        return Ok(());
    }
    let percents: Vec<f64> = queue
        .children
        .iter()
        .filter_map(|child| match child.capacity {
            CapacityValue::Percent(percent) => Some(percent),
            CapacityValue::Absolute(_) => None,
        })
        .collect();
    let at = Some(queue.path.as_str());
    if !percents.is_empty() && percents.len() != queue.children.len() {
        return Err(file.error(
            children_key,
            at,
            ConfigProblem::MixedCapacityModes {
                parent: queue.path.clone(),
            },
        ));
    }
    if percents.len() == queue.children.len() {
        let sum: f64 = percents.iter().sum();
        let parent_has_nothing =
            matches!(queue.capacity, CapacityValue::Percent(p) if p == 0.0) && sum == 0.0;
        if (sum - 100.0).abs() > 1e-3 && !parent_has_nothing {
            return Err(file.error(
                children_key,
                at,
                ConfigProblem::CapacitySum {
                    parent: queue.path.clone(),
                    sum: (sum * 1000.0).round() / 1000.0,
                },
            ));
        }
        return Ok(());
    }
    if let CapacityValue::Absolute(parent_capacity) = &queue.capacity {
        let mut sum = Resource::ZERO;
        for child in &queue.children {
            if let CapacityValue::Absolute(capacity) = &child.capacity {
                sum.add_assign(capacity);
            }
        }
        if !parent_capacity.fits(&sum) {
            return Err(file.error(
                children_key,
                at,
                ConfigProblem::AbsoluteCapacitySum {
                    parent: queue.path.clone(),
                    sum: sum.to_string(),
                    parent_capacity: parent_capacity.to_string(),
                },
            ));
        }
    }
    Ok(())
}

/// The leaf named by a full path or a unique last element.
pub(crate) fn find_leaf<'a>(
    root: &'a CapacityQueueConfig,
    name: &str,
) -> Option<&'a CapacityQueueConfig> {
    let all = root.walk();
    if let Some(queue) = all.iter().find(|q| q.path == name) {
        return queue.is_leaf().then_some(*queue);
    }
    let mut by_name = all.iter().filter(|q| q.name == name);
    match (by_name.next(), by_name.next()) {
        (Some(queue), None) if queue.is_leaf() => Some(*queue),
        _ => None,
    }
}

fn read_mappings(
    file: &Properties<'_>,
    root: &CapacityQueueConfig,
) -> Result<Vec<QueueMapping>, SchedulerConfigError> {
    let key = format!("{CAPACITY_PREFIX}queue-mappings");
    let Some(text) = file.get(&key) else {
        return Ok(Vec::new());
    };
    let mut mappings = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
        let mapping = match parts[..] {
            ["u", user, queue] if !user.is_empty() && !queue.is_empty() => QueueMapping::User {
                user: user.to_string(),
                queue: queue.to_string(),
            },
            ["g", group, queue] if !group.is_empty() && !queue.is_empty() => QueueMapping::Group {
                group: group.to_string(),
                queue: queue.to_string(),
            },
            _ => {
                return Err(file.error(
                    &key,
                    None,
                    invalid(entry, "u:<user>:<queue> or g:<group>:<queue>"),
                ))
            }
        };
        let target = match &mapping {
            QueueMapping::User { queue, .. } | QueueMapping::Group { queue, .. } => queue,
        };
        if !target.contains('%') && find_leaf(root, target).is_none() {
            return Err(file.error(
                &key,
                None,
                ConfigProblem::NotALeafQueue {
                    what: format!("mapping '{entry}'"),
                    queue: target.clone(),
                },
            ));
        }
        mappings.push(mapping);
    }
    Ok(mappings)
}

/// `yarn.scheduler.capacity.per-node-heartbeat.*`.
fn read_heartbeat_assignment(
    file: &Properties<'_>,
) -> Result<CapacityHeartbeatAssignment, SchedulerConfigError> {
    let key = |name: &str| format!("{CAPACITY_PREFIX}per-node-heartbeat.{name}");
    let defaults = CapacityHeartbeatAssignment::default();
    let count = |v: &str| parse_i64(v, "a whole number of containers (-1: no limit)");
    Ok(CapacityHeartbeatAssignment {
        multiple_assignments: file
            .read(&key("multiple-assignments-enabled"), None, parse_bool)?
            .unwrap_or(defaults.multiple_assignments),
        maximum_container_assignments: file
            .read(&key("maximum-container-assignments"), None, count)?
            .unwrap_or(defaults.maximum_container_assignments),
        maximum_offswitch_assignments: file
            .read(&key("maximum-offswitch-assignments"), None, count)?
            .map_or(defaults.maximum_offswitch_assignments, |value| {
                u32::try_from(value.clamp(1, i64::from(u32::MAX))).unwrap_or(1)
            }),
    })
}

fn read_preemption(
    file: &Properties<'_>,
    site: &BTreeMap<String, String>,
) -> Result<Option<CapacityPreemptionConfig>, SchedulerConfigError> {
    let site_properties = Properties {
        source_name: SITE_SOURCE,
        values: site,
        lines: BTreeMap::new(),
    };
    // A key in capacity-scheduler.xml wins over yarn-site.xml (YARN layers the two).
    let read = |key: &str, parse: &dyn Fn(&str) -> Result<f64, ConfigProblem>| match file
        .read(key, None, parse)?
    {
        Some(value) => Ok::<_, SchedulerConfigError>(Some(value)),
        None => site_properties.read(key, None, parse),
    };
    let enabled = match file.read(MONITOR_ENABLE_KEY, None, parse_bool)? {
        Some(enabled) => enabled,
        None => site_properties
            .read(MONITOR_ENABLE_KEY, None, parse_bool)?
            .unwrap_or(false),
    };
    let policies = file
        .get(MONITOR_POLICIES_KEY)
        .or_else(|| site_properties.get(MONITOR_POLICIES_KEY))
        .unwrap_or(PROPORTIONAL_POLICY);
    if !enabled || !policies.contains(PROPORTIONAL_POLICY) {
        return Ok(None);
    }
    let mut config = CapacityPreemptionConfig::default();
    let milliseconds = |v: &str| parse_f64(v, "milliseconds").map(|ms| ms.max(0.0));
    let fraction = |v: &str| parse_f64_in(v, 0.0, 1.0);
    if let Some(ms) = read(
        &format!("{PREEMPTION_PREFIX}monitoring_interval"),
        &milliseconds,
    )? {
        config.monitoring_interval_ms = ms as i64;
    }
    if let Some(ms) = read(
        &format!("{PREEMPTION_PREFIX}max_wait_before_kill"),
        &milliseconds,
    )? {
        config.max_wait_before_kill_ms = ms as i64;
    }
    if let Some(value) = read(
        &format!("{PREEMPTION_PREFIX}total_preemption_per_round"),
        &fraction,
    )? {
        config.total_preemption_per_round = value;
    }
    if let Some(value) = read(
        &format!("{PREEMPTION_PREFIX}max_ignored_over_capacity"),
        &|v: &str| parse_f64(v, "a fraction, 0 or more").map(|f| f.max(0.0)),
    )? {
        config.max_ignored_over_capacity = value;
    }
    if let Some(value) = read(
        &format!("{PREEMPTION_PREFIX}natural_termination_factor"),
        &fraction,
    )? {
        config.natural_termination_factor = value;
    }
    Ok(Some(config))
}
