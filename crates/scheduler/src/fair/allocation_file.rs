//! Reading the Fair Scheduler allocation file (fair-scheduler.xml) and the `yarn.scheduler.fair.*`
//! keys into a [`FairSchedulerConfig`]. Every error names the file, line, queue and element.
//!
//! Unknown elements are refused (YARN logs and skips them); the `create` attribute of placement
//! rules is read as YARN reads it (`true` in any case is true, anything else false).

use std::collections::BTreeMap;

use spindle_types::Resource;

use crate::acl::AccessControlList;
use crate::capacity::parse::SITE_SOURCE;
use crate::config_error::{ConfigProblem, SchedulerConfigError};
use crate::config_values::{
    invalid, parse_bool, parse_count, parse_f64, parse_f64_in, parse_memory_mb,
    parse_resource_pairs,
};
use crate::fair::config::{
    default_placement_rules, FairPolicy, FairQueueConfig, FairSchedulerConfig, FairSiteSettings,
    MaxResources, PlacementRule,
};
use crate::fair::xml_tree::{read_document, Element};

pub const FAIR_PREFIX: &str = "yarn.scheduler.fair.";

/// Elements a queue may hold that Spindle reads but does not act on (reservations, templates).
const IGNORED_QUEUE_ELEMENTS: &[&str] = &[
    "maxChildResources",
    "maxContainerAllocation",
    "reservation",
    "aclAdministerReservations",
    "aclListReservations",
    "aclSubmitReservations",
];
const IGNORED_TOP_ELEMENTS: &[&str] = &[
    "reservation-agent",
    "reservation-policy",
    "reservation-planner",
    "defaultQueueSchedulingMode",
];

impl FairSiteSettings {
    /// Reads the `yarn.scheduler.fair.*` keys of yarn-site.xml.
    pub fn from_site(site: &BTreeMap<String, String>) -> Result<Self, SchedulerConfigError> {
        let mut settings = Self::default();
        let read = |name: &str| site.get(&format!("{FAIR_PREFIX}{name}")).map(|v| v.trim());
        let fail = |name: &str, problem| {
            SchedulerConfigError::new(SITE_SOURCE, problem).for_key(&format!("{FAIR_PREFIX}{name}"))
        };
        let boolean = |name: &str, target: &mut bool| -> Result<(), SchedulerConfigError> {
            if let Some(value) = read(name) {
                *target = parse_bool(value).map_err(|p| fail(name, p))?;
            }
            Ok(())
        };
        boolean("user-as-default-queue", &mut settings.user_as_default_queue)?;
        boolean(
            "allow-undeclared-pools",
            &mut settings.allow_undeclared_pools,
        )?;
        boolean("preemption", &mut settings.preemption)?;
        boolean("sizebasedweight", &mut settings.size_based_weight)?;
        boolean("assignmultiple", &mut settings.assign_multiple)?;
        boolean("dynamic.max.assign", &mut settings.dynamic_max_assign)?;
        let number =
            |name: &str, low: f64, high: f64| -> Result<Option<f64>, SchedulerConfigError> {
                read(name)
                    .map(|value| parse_f64_in(value, low, high).map_err(|p| fail(name, p)))
                    .transpose()
            };
        if let Some(value) = number("preemption.cluster-utilization-threshold", 0.0, 1.0)? {
            settings.preemption_cluster_utilization_threshold = value;
        }
        if let Some(value) = number("waitTimeBeforeKill", 0.0, 1e12)? {
            settings.wait_time_before_kill_ms = value as i64;
        }
        if let Some(value) = number("max.assign", -1.0, 1e9)? {
            settings.max_assign = value as i64;
        }
        if let Some(value) = number("locality.threshold.node", -1.0, 1.0)? {
            settings.locality_threshold_node = value;
        }
        if let Some(value) = number("locality.threshold.rack", -1.0, 1.0)? {
            settings.locality_threshold_rack = value;
        }
        Ok(settings)
    }
}

impl FairSchedulerConfig {
    /// Reads the Fair Scheduler configuration: yarn-site.xml's `site` properties and, when there
    /// is one, the allocation file as `(source name, text)`.
    pub fn parse(
        site: &BTreeMap<String, String>,
        allocation_file: Option<(&str, &str)>,
    ) -> Result<Self, SchedulerConfigError> {
        let site = FairSiteSettings::from_site(site)?;
        let mut config = Self {
            placement_rules: default_placement_rules(&site),
            site,
            ..Self::default()
        };
        let Some((source_name, text)) = allocation_file else {
            return Ok(config);
        };
        let document = read_document(source_name, text)?;
        AllocationFileReader { source_name }.read(&document, &mut config)?;
        Ok(config)
    }
}

struct AllocationFileReader<'a> {
    source_name: &'a str,
}

impl AllocationFileReader<'_> {
    fn error(
        &self,
        element: &Element,
        queue: Option<&str>,
        problem: ConfigProblem,
    ) -> SchedulerConfigError {
        let mut error = SchedulerConfigError::new(self.source_name, problem)
            .at_line(Some(element.line))
            .for_key(&format!("<{}>", element.name));
        if let Some(queue) = queue {
            error = error.in_queue(queue);
        }
        error
    }

    fn value<T>(
        &self,
        element: &Element,
        queue: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ConfigProblem>,
    ) -> Result<T, SchedulerConfigError> {
        parse(&element.text).map_err(|problem| self.error(element, queue, problem))
    }

    fn read(
        &self,
        document: &Element,
        config: &mut FairSchedulerConfig,
    ) -> Result<(), SchedulerConfigError> {
        if document.name != "allocations" {
            return Err(self.error(
                document,
                None,
                ConfigProblem::MalformedXml(format!(
                    "the root element is <{}>, expected <allocations>",
                    document.name
                )),
            ));
        }
        let mut root = FairQueueConfig::new(None, "root");
        let mut placement = None;
        for element in &document.children {
            match element.name.as_str() {
                "queue" | "pool" => {
                    let name = self.queue_name(element, None)?;
                    if name == "root" {
                        self.read_queue_body(element, &mut root)?;
                    } else {
                        let mut queue = FairQueueConfig::new(Some("root"), &name);
                        self.read_queue_body(element, &mut queue)?;
                        self.add_child(element, &mut root, queue)?;
                    }
                }
                "user" => {
                    let Some(user) = element.attribute("name").filter(|n| !n.trim().is_empty())
                    else {
                        return Err(self.error(element, None, invalid("", "a name attribute")));
                    };
                    for field in &element.children {
                        match field.name.as_str() {
                            "maxRunningApps" => {
                                let limit = self.value(field, None, parse_count)?;
                                config.user_max_apps.insert(user.trim().to_string(), limit);
                            }
                            _ => {
                                return Err(self.error(
                                    field,
                                    None,
                                    ConfigProblem::UnknownElement(field.name.clone()),
                                ))
                            }
                        }
                    }
                }
                "userMaxAppsDefault" => {
                    config.user_max_apps_default = Some(self.value(element, None, parse_count)?)
                }
                "queueMaxAppsDefault" => {
                    config.queue_max_apps_default = Some(self.value(element, None, parse_count)?)
                }
                "queueMaxAMShareDefault" => {
                    config.queue_max_am_share_default = self.value(element, None, parse_am_share)?
                }
                "queueMaxResourcesDefault" => {
                    config.queue_max_resources_default =
                        Some(self.value(element, None, parse_max_resources)?)
                }
                "defaultMinSharePreemptionTimeout" => {
                    config.default_min_share_preemption_timeout_ms =
                        Some(self.value(element, None, parse_seconds)?)
                }
                "defaultFairSharePreemptionTimeout" | "fairSharePreemptionTimeout" => {
                    config.default_fair_share_preemption_timeout_ms =
                        Some(self.value(element, None, parse_seconds)?)
                }
                "defaultFairSharePreemptionThreshold" => {
                    config.default_fair_share_preemption_threshold =
                        self.value(element, None, |v| parse_f64_in(v, 0.0, 1.0))?
                }
                "defaultQueueSchedulingPolicy" => {
                    let policy = self.value(element, None, parse_policy)?;
                    config.default_scheduling_policy = policy;
                }
                "queuePlacementPolicy" => placement = Some(self.read_placement(element)?),
                name if IGNORED_TOP_ELEMENTS.contains(&name) => {}
                other => {
                    return Err(self.error(
                        element,
                        None,
                        ConfigProblem::UnknownElement(other.into()),
                    ))
                }
            }
        }
        if !root.children.iter().any(|queue| queue.name == "default") {
            root.children
                .push(FairQueueConfig::new(Some("root"), "default"));
        }
        if root.acl_submit_apps.is_none() {
            root.acl_submit_apps = Some(AccessControlList::everyone());
        }
        if root.acl_administer_apps.is_none() {
            root.acl_administer_apps = Some(AccessControlList::everyone());
        }
        self.check_fifo_parents(document, &root, config.default_scheduling_policy)?;
        config.root = root;
        if let Some(rules) = placement {
            config.placement_rules = rules;
        }
        Ok(())
    }

    fn queue_name(
        &self,
        element: &Element,
        parent: Option<&str>,
    ) -> Result<String, SchedulerConfigError> {
        let name = element.attribute("name").map(str::trim).unwrap_or("");
        let reason = if name.is_empty() {
            Some("a queue needs a name attribute")
        } else if name.contains('.') {
            Some("queue names cannot contain '.'; nest <queue> elements instead")
        } else if name.chars().any(char::is_whitespace) {
            Some("queue names cannot contain blanks")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(self.error(
                element,
                parent,
                ConfigProblem::InvalidQueueName {
                    name: name.to_string(),
                    reason: reason.to_string(),
                },
            )),
            None => Ok(name.to_string()),
        }
    }

    fn add_child(
        &self,
        element: &Element,
        parent: &mut FairQueueConfig,
        child: FairQueueConfig,
    ) -> Result<(), SchedulerConfigError> {
        if parent.children.iter().any(|c| c.name == child.name) {
            return Err(self.error(element, Some(&child.path), ConfigProblem::DuplicateQueue));
        }
        parent.children.push(child);
        Ok(())
    }

    fn read_queue_body(
        &self,
        element: &Element,
        queue: &mut FairQueueConfig,
    ) -> Result<(), SchedulerConfigError> {
        let path = queue.path.clone();
        let at = Some(path.as_str());
        match element.attribute("type") {
            None => {}
            Some("parent") => queue.declared_parent = true,
            Some(other) => {
                return Err(self.error(element, at, invalid(other, "type=\"parent\" or no type")))
            }
        }
        for field in &element.children {
            match field.name.as_str() {
                "queue" | "pool" => {
                    let name = self.queue_name(field, at)?;
                    let mut child = FairQueueConfig::new(Some(&path), &name);
                    self.read_queue_body(field, &mut child)?;
                    self.add_child(field, queue, child)?;
                }
                "weight" => {
                    queue.weight = self.value(field, at, |v| {
                        parse_f64(v, "a weight, 0 or more").and_then(|w| {
                            if w < 0.0 {
                                Err(invalid(v, "a weight, 0 or more"))
                            } else {
                                Ok(w)
                            }
                        })
                    })?
                }
                "minResources" => {
                    queue.min_resources = self.value(field, at, parse_min_resources)?
                }
                "maxResources" => {
                    queue.max_resources = Some(self.value(field, at, parse_max_resources)?)
                }
                "maxRunningApps" => {
                    queue.max_running_apps = Some(self.value(field, at, parse_count)?)
                }
                "maxAMShare" => queue.max_am_share = Some(self.value(field, at, parse_am_share)?),
                "schedulingPolicy" => {
                    queue.scheduling_policy = Some(self.value(field, at, parse_policy)?)
                }
                "aclSubmitApps" => {
                    queue.acl_submit_apps = Some(AccessControlList::parse(&field.text))
                }
                "aclAdministerApps" => {
                    queue.acl_administer_apps = Some(AccessControlList::parse(&field.text))
                }
                "minSharePreemptionTimeout" => {
                    queue.min_share_preemption_timeout_ms =
                        Some(self.value(field, at, parse_seconds)?)
                }
                "fairSharePreemptionTimeout" => {
                    queue.fair_share_preemption_timeout_ms =
                        Some(self.value(field, at, parse_seconds)?)
                }
                "fairSharePreemptionThreshold" => {
                    queue.fair_share_preemption_threshold =
                        Some(self.value(field, at, |v| parse_f64_in(v, 0.0, 1.0))?)
                }
                "allowPreemptionFrom" => {
                    queue.allow_preemption_from = self.value(field, at, parse_bool)?
                }
                name if IGNORED_QUEUE_ELEMENTS.contains(&name) => {}
                other => {
                    return Err(self.error(field, at, ConfigProblem::UnknownElement(other.into())))
                }
            }
        }
        if let Some(FairPolicy::Fifo) = queue.scheduling_policy {
            if queue.is_parent() {
                return Err(self.error(
                    element,
                    at,
                    invalid(
                        "fifo",
                        "fair or drf: fifo only orders applications in a leaf queue",
                    ),
                ));
            }
        }
        Ok(())
    }

    /// YARN refuses fifo on a parent queue, including through the default policy.
    fn check_fifo_parents(
        &self,
        document: &Element,
        root: &FairQueueConfig,
        default_policy: FairPolicy,
    ) -> Result<(), SchedulerConfigError> {
        if default_policy != FairPolicy::Fifo {
            return Ok(());
        }
        for queue in root.walk() {
            if queue.is_parent() && queue.scheduling_policy.is_none() {
                return Err(self.error(
                    document,
                    Some(&queue.path),
                    invalid(
                        "fifo",
                        "a defaultQueueSchedulingPolicy parents can use (fair or drf), or an explicit policy on each parent",
                    ),
                ));
            }
        }
        Ok(())
    }

    fn read_placement(
        &self,
        element: &Element,
    ) -> Result<Vec<PlacementRule>, SchedulerConfigError> {
        let mut rules = Vec::new();
        for rule_element in &element.children {
            if rule_element.name != "rule" {
                return Err(self.error(
                    rule_element,
                    None,
                    ConfigProblem::UnknownElement(rule_element.name.clone()),
                ));
            }
            let rule = self.read_rule(rule_element)?;
            if let Some(previous) = rules.last().filter(|r: &&PlacementRule| r.is_terminal()) {
                return Err(self.error(
                    rule_element,
                    None,
                    ConfigProblem::Placement(format!(
                        "rule '{}' can never be reached: the '{}' rule before it always places",
                        rule.name(),
                        previous.name()
                    )),
                ));
            }
            rules.push(rule);
        }
        match rules.last() {
            None => Err(self.error(
                element,
                None,
                ConfigProblem::Placement("the queue placement policy has no rule".into()),
            )),
            Some(last) if !last.is_terminal() => Err(self.error(
                element,
                None,
                ConfigProblem::Placement(format!(
                    "an application can get past the last rule ('{}') without a queue; end with \
                     'default', 'reject' or a rule with create=\"true\"",
                    last.name()
                )),
            )),
            Some(_) => Ok(rules),
        }
    }

    fn read_rule(&self, element: &Element) -> Result<PlacementRule, SchedulerConfigError> {
        // YARN reads `create` with Boolean.parseBoolean: only "true" (any case) is true.
        let create = element
            .attribute("create")
            .is_none_or(|value| value.trim().eq_ignore_ascii_case("true"));
        let name = element.attribute("name").unwrap_or("");
        let rule =
            match name {
                "specified" => PlacementRule::Specified { create },
                "user" => PlacementRule::User { create },
                "primaryGroup" => PlacementRule::PrimaryGroup { create },
                "secondaryGroupExistingQueue" => PlacementRule::SecondaryGroupExistingQueue,
                "default" => {
                    let queue = element.attribute("queue").map(str::trim).unwrap_or("");
                    let queue = match queue {
                        "" => "root.default".to_string(),
                        q if q.starts_with("root.") || q == "root" => q.to_string(),
                        q => format!("root.{q}"),
                    };
                    PlacementRule::Default { queue, create }
                }
                "reject" => PlacementRule::Reject,
                "nestedUserQueue" => {
                    let inner: Vec<&Element> = element
                        .children
                        .iter()
                        .filter(|c| c.name == "rule")
                        .collect();
                    let [inner] = inner[..] else {
                        return Err(self.error(
                            element,
                            None,
                            ConfigProblem::Placement(
                                "nestedUserQueue needs exactly one nested <rule>".into(),
                            ),
                        ));
                    };
                    let inner = self.read_rule(inner)?;
                    if matches!(
                        inner,
                        PlacementRule::Reject | PlacementRule::NestedUserQueue { .. }
                    ) {
                        return Err(self.error(
                            element,
                            None,
                            ConfigProblem::Placement(format!(
                                "nestedUserQueue cannot nest the '{}' rule",
                                inner.name()
                            )),
                        ));
                    }
                    PlacementRule::NestedUserQueue {
                        inner: Box::new(inner),
                        create,
                    }
                }
                other => return Err(self.error(
                    element,
                    None,
                    invalid(
                        other,
                        "a rule name: specified, user, primaryGroup, secondaryGroupExistingQueue, \
                         nestedUserQueue, default or reject",
                    ),
                )),
            };
        Ok(rule)
    }
}

fn parse_policy(value: &str) -> Result<FairPolicy, ConfigProblem> {
    FairPolicy::parse(value).ok_or_else(|| invalid(value, "fifo, fair or drf"))
}

fn parse_seconds(value: &str) -> Result<i64, ConfigProblem> {
    let seconds: i64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(value, "a whole number of seconds"))?;
    if seconds < 0 {
        return Err(invalid(value, "a whole number of seconds, 0 or more"));
    }
    Ok(seconds.saturating_mul(1000))
}

fn parse_am_share(value: &str) -> Result<f64, ConfigProblem> {
    let share = parse_f64(value, "a fraction from 0 to 1, or -1 to disable")?;
    if share == -1.0 || (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(invalid(value, "a fraction from 0 to 1, or -1 to disable"))
    }
}

const RESOURCE_EXPECTED: &str =
    "resources like '1024 mb, 4 vcores' or 'memory-mb=1024, vcores=4[, yarn.io/gpu=1]'";

/// `X mb, Y vcores` (either order) or `memory-mb=X, vcores=Y, ...`.
fn parse_min_resources(value: &str) -> Result<Resource, ConfigProblem> {
    if value.contains('%') {
        return Err(invalid(
            value,
            "absolute resources (percentages only suit maxResources)",
        ));
    }
    parse_absolute(value)
}

fn parse_absolute(value: &str) -> Result<Resource, ConfigProblem> {
    if value.contains('=') {
        return parse_resource_pairs(value, RESOURCE_EXPECTED);
    }
    let lower = value.to_ascii_lowercase();
    let mut memory = None;
    let mut vcores = None;
    for part in lower.split(',').map(str::trim) {
        if let Some(amount) = part
            .strip_suffix("vcores")
            .or_else(|| part.strip_suffix("vcore"))
        {
            vcores = amount.trim().parse::<i64>().ok().filter(|v| *v >= 0);
            if vcores.is_none() {
                return Err(invalid(value, RESOURCE_EXPECTED));
            }
        } else if let Some(amount) = part.strip_suffix("mb") {
            memory = parse_memory_mb(amount).filter(|m| *m >= 0);
            if memory.is_none() {
                return Err(invalid(value, RESOURCE_EXPECTED));
            }
        } else if let Some(amount) = part.strip_suffix("gb") {
            memory = parse_memory_mb(&format!("{}g", amount.trim()));
            if memory.is_none() {
                return Err(invalid(value, RESOURCE_EXPECTED));
            }
        } else {
            return Err(invalid(value, RESOURCE_EXPECTED));
        }
    }
    match (memory, vcores) {
        (Some(memory), Some(vcores)) => Ok(Resource::new(memory, vcores)),
        _ => Err(invalid(value, RESOURCE_EXPECTED)),
    }
}

/// Absolute resources, `50%`, `40% memory, 60% cpu` or `memory-mb=40%, vcores=60%`.
fn parse_max_resources(value: &str) -> Result<MaxResources, ConfigProblem> {
    if !value.contains('%') {
        return parse_absolute(value).map(MaxResources::Absolute);
    }
    let expected = "a percentage like '50%', '40% memory, 60% cpu' or 'memory-mb=40%, vcores=60%'";
    let percent = |text: &str| -> Result<f64, ConfigProblem> {
        let number = text
            .trim()
            .strip_suffix('%')
            .ok_or_else(|| invalid(value, expected))?;
        parse_f64_in(number, 0.0, 100.0).map_err(|_| invalid(value, expected))
    };
    let trimmed = value.trim();
    if !trimmed.contains(',') && !trimmed.contains(' ') && !trimmed.contains('=') {
        let all = percent(trimmed)?;
        return Ok(MaxResources::Percent {
            memory: all,
            vcores: all,
        });
    }
    let (mut memory, mut vcores) = (None, None);
    for part in trimmed.split(',').map(str::trim) {
        let (kind, amount) = match part.split_once('=') {
            Some((kind, amount)) => (kind.trim().to_ascii_lowercase(), amount.trim().to_string()),
            None => match part.split_once(' ') {
                Some((amount, kind)) => (kind.trim().to_ascii_lowercase(), amount.to_string()),
                None => return Err(invalid(value, expected)),
            },
        };
        match kind.as_str() {
            "memory" | "memory-mb" => memory = Some(percent(&amount)?),
            "cpu" | "vcores" => vcores = Some(percent(&amount)?),
            _ => return Err(invalid(value, expected)),
        }
    }
    match (memory, vcores) {
        (Some(memory), Some(vcores)) => Ok(MaxResources::Percent { memory, vcores }),
        _ => Err(invalid(value, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_values_in_both_syntaxes() {
        assert_eq!(
            parse_min_resources("1024 mb, 4 vcores"),
            Ok(Resource::new(1024, 4))
        );
        assert_eq!(
            parse_min_resources("4 vcores,2048mb"),
            Ok(Resource::new(2048, 4))
        );
        assert_eq!(
            parse_min_resources("memory-mb=2048, vcores=2"),
            Ok(Resource::new(2048, 2))
        );
        assert_eq!(
            parse_min_resources("10 gb, 1 vcores"),
            Ok(Resource::new(10240, 1))
        );
        for bad in [
            "1024",
            "lots mb, 1 vcores",
            "1024 mb",
            "50%",
            "1024 mb, -1 vcores",
        ] {
            assert!(parse_min_resources(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            parse_max_resources("50%"),
            Ok(MaxResources::Percent {
                memory: 50.0,
                vcores: 50.0
            })
        );
        assert_eq!(
            parse_max_resources("40% memory, 60% cpu"),
            Ok(MaxResources::Percent {
                memory: 40.0,
                vcores: 60.0
            })
        );
        assert_eq!(
            parse_max_resources("memory-mb=40%, vcores=60%"),
            Ok(MaxResources::Percent {
                memory: 40.0,
                vcores: 60.0
            })
        );
        assert!(parse_max_resources("140%").is_err());
        assert!(parse_max_resources("40% memory").is_err());
    }

    #[test]
    fn timeouts_are_seconds_and_shares_fractions() {
        assert_eq!(parse_seconds("30"), Ok(30_000));
        assert!(parse_seconds("-5").is_err());
        assert!(parse_seconds("1.5").is_err());
        assert_eq!(parse_am_share("-1"), Ok(-1.0));
        assert!(parse_am_share("1.5").is_err());
        assert_eq!(parse_policy("DRF"), Ok(FairPolicy::Drf));
        assert!(parse_policy("lottery").is_err());
    }
}
