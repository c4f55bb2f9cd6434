//! What applications use over time, counted as YARN's RMAppAttemptMetrics and RMAppMetrics count
//! it: the resource-seconds of each attempt's completed containers (those of preempted ones also
//! apart), the running containers' so far, and the usage block of application reports.
//!
//! A container adds `value × (finish − start) / 1000` per resource type when it completes (start:
//! its allocation; rounded down per container, as YARN does); until then reports add what it used
//! so far, up to the `now_ms` they are asked at. An application's figures are the sum over its
//! attempts.

use std::collections::HashMap;

use spindle_proto::yarn::{ApplicationResourceUsageReportProto, StringLongMapProto};
use spindle_scheduler::{ResourceCalculator, SchedulingPolicy};
use spindle_types::resource::{MEMORY_MB, VCORES};
use spindle_types::{exit_status, ApplicationAttemptId, Resource};

use super::{RmApp, RmAttempt, RmContainer, RmCore};

/// Resource × seconds per resource type: MB-seconds in `memory-mb`, vcore-seconds in `vcores`,
/// and each other type's seconds under its name (YARN's resource-seconds maps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSeconds(Resource);

impl ResourceSeconds {
    pub const ZERO: ResourceSeconds = ResourceSeconds(Resource::ZERO);

    /// What holding `resource` for `millis` adds: per type, value × millis / 1000, rounded down.
    /// A negative duration (a wall clock stepped back) adds nothing.
    pub fn held(resource: &Resource, millis: i64) -> Self {
        let millis = millis.max(0);
        let seconds = |value: i64| value.saturating_mul(millis) / 1000;
        let mut out = Resource::new(seconds(resource.memory_mb), seconds(resource.vcores));
        for (name, value) in resource.others() {
            out.set(name, seconds(*value));
        }
        Self(out)
    }

    /// Seconds per type name, as a store record or a report lists them.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut out = Resource::ZERO;
        for (name, value) in entries {
            out.set(name, value);
        }
        Self(out)
    }

    pub fn add_assign(&mut self, other: &ResourceSeconds) {
        self.0.add_assign(&other.0);
    }

    pub fn memory_mb_seconds(&self) -> i64 {
        self.0.memory_mb
    }

    pub fn vcore_seconds(&self) -> i64 {
        self.0.vcores
    }

    /// The seconds of one resource type (0 for a type never held).
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name)
    }

    /// YARN's resource-seconds map: `memory-mb`, `vcores` and each of `types` (the configured
    /// extra types, held or not), then any other type these seconds hold.
    pub fn to_map(&self, types: &[String]) -> Vec<StringLongMapProto> {
        let entry = |name: &str, value: i64| StringLongMapProto {
            key: name.to_string(),
            value,
        };
        let mut map = vec![
            entry(MEMORY_MB, self.0.memory_mb),
            entry(VCORES, self.0.vcores),
        ];
        for name in types {
            map.push(entry(name, self.0.get(name)));
        }
        for (name, value) in self.0.others() {
            if !types.contains(name) {
                map.push(entry(name, *value));
            }
        }
        map
    }
}

/// One attempt's usage (YARN's RMAppAttemptMetrics), of the containers that completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptMetrics {
    /// Resource-seconds of its completed containers.
    pub finished: ResourceSeconds,
    /// The part of `finished` from containers that were preempted.
    pub preempted: ResourceSeconds,
    /// The resources of the preempted containers.
    pub preempted_resource: Resource,
    /// How many of its containers other than the AM's were preempted.
    pub preempted_non_am_containers: i32,
    /// Whether its AM container was preempted.
    pub am_preempted: bool,
}

impl AttemptMetrics {
    /// A container of the attempt completed with `exit_status` after `held_ms`.
    pub fn container_completed(
        &mut self,
        resource: &Resource,
        is_am: bool,
        exit_status: i32,
        held_ms: i64,
    ) {
        let used = ResourceSeconds::held(resource, held_ms);
        self.finished.add_assign(&used);
        if exit_status == exit_status::PREEMPTED {
            self.preempted.add_assign(&used);
            self.preempted_resource.add_assign(resource);
            if is_am {
                self.am_preempted = true;
            } else {
                self.preempted_non_am_containers += 1;
            }
        }
    }
}

/// An application's usage summed over its attempts (YARN's RMAppMetrics), its running containers
/// counted up to the time asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationMetrics {
    pub resource_seconds: ResourceSeconds,
    pub preempted_seconds: ResourceSeconds,
    pub preempted_resource: Resource,
    /// Attempts whose AM container was preempted.
    pub preempted_am_containers: i32,
    pub preempted_non_am_containers: i32,
}

/// What the queue and cluster usage percentages of reports divide by, worked out once for many
/// reports (one listing): the cluster, the calculator and each queue's share of the cluster.
#[derive(Debug, Default)]
pub(crate) struct UsageBasis {
    computed: Option<(Resource, ResourceCalculator)>,
    queue_divisors: HashMap<String, Option<Resource>>,
}

/// YARN's usage report of an application without a live attempt: -1 containers and resources
/// (RMServerUtils.DUMMY_APPLICATION_RESOURCE_USAGE_REPORT); the seconds are filled in after.
fn dummy_usage() -> ApplicationResourceUsageReportProto {
    let none = Resource::new(-1, -1);
    ApplicationResourceUsageReportProto {
        num_used_containers: Some(-1),
        num_reserved_containers: Some(-1),
        used_resources: Some((&none).into()),
        reserved_resources: Some((&none).into()),
        needed_resources: Some((&none).into()),
        queue_usage_percentage: Some(0.0),
        cluster_usage_percentage: Some(0.0),
        ..Default::default()
    }
}

/// `used` as a percentage of `of`, as YARN's `ResourceCalculator.divide(cluster, used, of)`:
/// memory over memory, or (dominant) the two dominant shares of the cluster over each other.
/// 0 where that is not a number (nothing to divide by).
fn percentage(
    calculator: ResourceCalculator,
    cluster: &Resource,
    used: &Resource,
    of: &Resource,
) -> f32 {
    let ratio = match calculator {
        ResourceCalculator::Default => used.memory_mb as f64 / of.memory_mb as f64,
        ResourceCalculator::Dominant => {
            calculator.share(used, cluster) / calculator.share(of, cluster)
        }
    };
    if ratio.is_finite() {
        (ratio * 100.0) as f32
    } else {
        0.0
    }
}

impl RmCore {
    /// Charges a completed container's use to its attempt (`now_ms`: when it completed).
    pub(crate) fn charge_completed_container(
        &mut self,
        attempt_id: ApplicationAttemptId,
        container: &RmContainer,
        exit_status: i32,
        now_ms: i64,
    ) {
        if let Some(attempt) = self.attempts.get_mut(&attempt_id) {
            attempt.metrics.container_completed(
                &container.resource,
                container.is_am,
                exit_status,
                now_ms - container.creation_time,
            );
        }
    }

    /// What `attempt`'s live containers used so far (YARN's running aggregate usage).
    fn running_seconds(&self, attempt: &RmAttempt, now_ms: i64) -> ResourceSeconds {
        let mut seconds = ResourceSeconds::ZERO;
        for c in attempt
            .live_containers
            .iter()
            .filter_map(|id| self.containers.get(id))
        {
            seconds.add_assign(&ResourceSeconds::held(
                &c.resource,
                now_ms - c.creation_time,
            ));
        }
        seconds
    }

    /// `app`'s usage over all its attempts, its running containers counted up to `now_ms`.
    pub fn application_metrics(&self, app: &RmApp, now_ms: i64) -> ApplicationMetrics {
        let mut metrics = ApplicationMetrics::default();
        for attempt in app.attempts.iter().filter_map(|id| self.attempts.get(id)) {
            let m = &attempt.metrics;
            metrics.resource_seconds.add_assign(&m.finished);
            metrics
                .resource_seconds
                .add_assign(&self.running_seconds(attempt, now_ms));
            metrics.preempted_seconds.add_assign(&m.preempted);
            metrics.preempted_resource.add_assign(&m.preempted_resource);
            metrics.preempted_am_containers += i32::from(m.am_preempted);
            metrics.preempted_non_am_containers += m.preempted_non_am_containers;
        }
        // Containers between two attempts (keepContainersAcrossApplicationAttempts) run too.
        for c in app
            .kept_containers
            .iter()
            .filter_map(|id| self.containers.get(id))
        {
            metrics.resource_seconds.add_assign(&ResourceSeconds::held(
                &c.resource,
                now_ms - c.creation_time,
            ));
        }
        metrics
    }

    /// The usage block of `app`'s report at `now_ms`. While the application runs: its current
    /// attempt's containers and resources, and their share of its queue and of the cluster; once
    /// it ended (or before it has an attempt), YARN's dummy usage of -1. The resource-seconds,
    /// preempted ones apart, are always the application's aggregate.
    pub(crate) fn usage_report(
        &self,
        app: &RmApp,
        attempt: Option<&RmAttempt>,
        now_ms: i64,
        basis: &mut UsageBasis,
    ) -> ApplicationResourceUsageReportProto {
        let mut report = match attempt.filter(|_| !app.state.is_final()) {
            None => dummy_usage(),
            Some(attempt) => {
                let (used, containers) = attempt
                    .live_containers
                    .iter()
                    .filter_map(|c| self.containers.get(c))
                    .fold((Resource::ZERO, 0), |(sum, n), c| {
                        (sum.add(&c.resource), n + 1)
                    });
                let (queue_usage, cluster_usage) = self.usage_percentages(app, &used, basis);
                ApplicationResourceUsageReportProto {
                    num_used_containers: Some(containers),
                    num_reserved_containers: Some(0),
                    used_resources: Some((&used).into()),
                    reserved_resources: Some((&Resource::ZERO).into()),
                    needed_resources: Some((&used).into()),
                    queue_usage_percentage: Some(queue_usage),
                    cluster_usage_percentage: Some(cluster_usage),
                    ..Default::default()
                }
            }
        };
        let metrics = self.application_metrics(app, now_ms);
        let types = &self.settings.resource_types;
        report.memory_seconds = Some(metrics.resource_seconds.memory_mb_seconds());
        report.vcore_seconds = Some(metrics.resource_seconds.vcore_seconds());
        report.application_resource_usage_map = metrics.resource_seconds.to_map(types);
        report.preempted_memory_seconds = Some(metrics.preempted_seconds.memory_mb_seconds());
        report.preempted_vcore_seconds = Some(metrics.preempted_seconds.vcore_seconds());
        report.application_preempted_resource_usage_map = metrics.preempted_seconds.to_map(types);
        report
    }

    /// `used` as percentages of the application's queue and of the cluster, as YARN's
    /// schedulers define them. The calculator is the scheduler's own: the Capacity Scheduler's
    /// configured one (memory only by default, dominant share with the DominantResourceCalculator),
    /// memory only for FIFO and Fair (the Fair Scheduler's `getResourceCalculator` is YARN's
    /// DefaultResourceCalculator, whatever its policies). What the queue's percentage divides by:
    /// the Capacity queue's effective guaranteed resources (FiCaSchedulerApp), the Fair queue's
    /// fair share (its QueueInfo capacity times the cluster), the whole cluster for FIFO (whose
    /// one queue has capacity 1).
    fn usage_percentages(
        &self,
        app: &RmApp,
        used: &Resource,
        basis: &mut UsageBasis,
    ) -> (f32, f32) {
        let scheduler = self.scheduler.scheduler();
        let (cluster, calculator) = basis
            .computed
            .get_or_insert_with(|| {
                let calculator = match &scheduler.config().policy {
                    SchedulingPolicy::Capacity(config) => config.resource_calculator,
                    SchedulingPolicy::Fifo | SchedulingPolicy::Fair(_) => {
                        ResourceCalculator::Default
                    }
                };
                (scheduler.cluster_metrics().total, calculator)
            })
            .clone();
        if cluster.memory_mb <= 0 {
            return (0.0, 0.0);
        }
        let queue = app.reported_queue();
        let divisor = basis
            .queue_divisors
            .entry(queue.to_string())
            .or_insert_with(|| {
                let info = scheduler.queue_info(queue)?;
                Some(match &scheduler.config().policy {
                    SchedulingPolicy::Fifo => cluster.clone(),
                    SchedulingPolicy::Capacity(_) => info.guaranteed,
                    SchedulingPolicy::Fair(_) => info.fair_share,
                })
            });
        let queue_usage = divisor
            .as_ref()
            .map_or(0.0, |of| percentage(calculator, &cluster, used, of));
        (
            queue_usage,
            percentage(calculator, &cluster, used, &cluster),
        )
    }
}
