//! Queue, user and AM limits: whether an application may take one more container of a size, the
//! limit that refused it, and the bookkeeping that retries refused requests once the limit
//! loosens (a container finished, a user went idle, the cluster grew, the configuration changed).

use std::collections::{BTreeMap, BTreeSet};

use spindle_types::{ApplicationId, Resource};

use crate::calculator::{scale_down, scale_up, unbounded};
use crate::config::SchedulingPolicy;
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

/// The limit that keeps a request waiting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Blocker {
    /// The queue (the leaf or an ancestor) would exceed its maximum capacity / maxResources.
    QueueMaximum(QueueIndex),
    /// Capacity Scheduler: the user is above its user limit in the leaf.
    UserLimit { queue: QueueIndex, user: String },
    /// The leaf's AM containers would exceed maximum-am-resource-percent / maxAMShare.
    AmLimit(QueueIndex),
}

/// Requests refused by a limit, by limit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Blocked {
    /// Queues that refused a request for their maximum: all their applications are retried.
    pub(crate) queues: BTreeSet<QueueIndex>,
    pub(crate) users: BTreeMap<(QueueIndex, String), BTreeSet<ApplicationId>>,
    pub(crate) am: BTreeMap<QueueIndex, BTreeSet<ApplicationId>>,
}

impl Blocked {
    pub(crate) fn forget_queue(&mut self, queue: QueueIndex) {
        self.queues.remove(&queue);
        self.users.retain(|(leaf, _), _| *leaf != queue);
        self.am.remove(&queue);
    }
}

impl Scheduler {
    /// The limit that stops `application` from getting a container of `capability` now (an AM
    /// container when `is_am`); None when no limit does. Room on nodes and locality aside.
    pub(crate) fn limit_blocker(
        &self,
        application: ApplicationId,
        capability: &Resource,
        is_am: bool,
    ) -> Option<Blocker> {
        if matches!(self.config.policy, SchedulingPolicy::Fifo) {
            return None;
        }
        let app = &self.applications[&application];
        for index in self.queues.chain(app.queue) {
            if index == ROOT {
                break;
            }
            let queue = self.queues.get(index);
            if !self
                .calculator
                .fits_within(&queue.used.add(capability), &queue.maximum)
            {
                return Some(Blocker::QueueMaximum(index));
            }
        }
        let leaf = self.queues.get(app.queue);
        if is_am && !leaf.am_used.is_zero() {
            if let Some(limit) = self.am_limit(app.queue) {
                if !self
                    .calculator
                    .fits_within(&leaf.am_used.add(capability), &limit)
                {
                    return Some(Blocker::AmLimit(app.queue));
                }
            }
        }
        if matches!(self.config.policy, SchedulingPolicy::Capacity(_)) {
            static NOTHING: Resource = Resource::ZERO;
            let used = leaf
                .users
                .get(&app.user)
                .map_or(&NOTHING, |account| &account.used);
            let cluster = self.nodes.total();
            let below_floor = leaf
                .user_limit_floor
                .as_ref()
                .is_some_and(|floor| !self.calculator.greater_than(cluster, used, floor));
            if !below_floor
                && self
                    .user_limit(app.queue)
                    .is_some_and(|limit| self.calculator.greater_than(cluster, used, &limit))
            {
                return Some(Blocker::UserLimit {
                    queue: app.queue,
                    user: app.user.clone(),
                });
            }
        }
        None
    }

    /// Capacity Scheduler: a bound the leaf's user limit never falls below, whatever the
    /// queue's usage and active users, for the current cluster (kept with the queue limits). A
    /// user using no more is within the limit without computing it.
    ///
    /// The limit is at least min(minimum-user-limit-percent of the current capacity,
    /// user-limit-factor x capacity), and the current capacity is at least the capacity; the
    /// bound is that with the capacity, less two units of each type for rounding. None where
    /// extra resource types are involved.
    pub(crate) fn user_limit_floor(&self, leaf: QueueIndex) -> Option<Resource> {
        let SchedulingPolicy::Capacity(_) = &self.config.policy else {
            return None;
        };
        let queue = self.queues.get(leaf);
        let settings = &queue.settings;
        let cluster = self.nodes.total();
        let calculator = self.calculator;
        let required = &self.config.limits.minimum;
        let queue_capacity = calculator.max(cluster, &queue.guaranteed, required).clone();
        if !queue_capacity.others().is_empty() || !cluster.others().is_empty() {
            return None;
        }
        let minimum_share = scale_up(&queue_capacity, settings.minimum_user_limit_percent / 100.0);
        let lowered = Resource::new(
            (minimum_share.memory_mb - 2).max(0),
            (minimum_share.vcores - 2).max(0),
        );
        let maximum_user_limit = if settings.user_limit_factor <= 0.0 {
            unbounded()
        } else {
            scale_down(&queue_capacity, settings.user_limit_factor)
        };
        Some(
            calculator
                .min(cluster, &lowered, &maximum_user_limit)
                .clone(),
        )
    }

    /// Whether no request of the minimum size fits under the queue's (or an ancestor's) maximum:
    /// then none of its applications can get anything.
    pub(crate) fn queue_full(&self, queue: QueueIndex) -> Option<QueueIndex> {
        if matches!(self.config.policy, SchedulingPolicy::Fifo) {
            return None;
        }
        let minimum = &self.config.limits.minimum;
        self.queues
            .chain(queue)
            .take_while(|&index| index != ROOT)
            .find(|&index| {
                let q = self.queues.get(index);
                !self
                    .calculator
                    .fits_within(&q.used.add(minimum), &q.maximum)
            })
    }

    /// The AM resource limit of a leaf: Capacity maximum-am-resource-percent of the queue's
    /// usable resources, Fair maxAMShare of its steady fair share. None: no limit.
    pub(crate) fn am_limit(&self, leaf: QueueIndex) -> Option<Resource> {
        let queue = self.queues.get(leaf);
        let cluster = self.nodes.total();
        match &self.config.policy {
            SchedulingPolicy::Fifo => None,
            SchedulingPolicy::Capacity(_) => {
                let percent = queue.settings.maximum_am_resource_percent?;
                let usable_maximum = queue.maximum.min(cluster);
                let usable = self
                    .calculator
                    .max(cluster, &queue.guaranteed, &usable_maximum);
                Some(scale_down(usable, percent))
            }
            SchedulingPolicy::Fair(_) => {
                let share = queue.settings.max_am_share;
                if share < 0.0 {
                    return None;
                }
                let base = if queue.steady_fair_share.memory_mb > 0 {
                    queue.steady_fair_share.clone()
                } else {
                    queue.maximum.min(cluster)
                };
                Some(scale_down(&base, share))
            }
        }
    }

    /// Capacity Scheduler: the most one user of `leaf` may use before it stops getting
    /// containers (YARN's user limit: the queue's current capacity shared by the active users,
    /// at least minimum-user-limit-percent of it, at most user-limit-factor x capacity). None
    /// for the other policies.
    pub(crate) fn user_limit(&self, leaf: QueueIndex) -> Option<Resource> {
        let SchedulingPolicy::Capacity(_) = &self.config.policy else {
            return None;
        };
        let queue = self.queues.get(leaf);
        let settings = &queue.settings;
        let cluster = self.nodes.total();
        let calculator = self.calculator;
        let required = &self.config.limits.minimum;
        let queue_capacity = calculator.max(cluster, &queue.guaranteed, required).clone();
        let current_capacity = if calculator
            .compare(cluster, &queue.used, &queue_capacity)
            .is_lt()
        {
            queue_capacity.clone()
        } else {
            queue.used.add(required)
        };
        let active_users = queue.active_users.max(1);
        let shared = scale_up(&queue.active_used.add(required), 1.0 / active_users as f64);
        let minimum_share = scale_up(
            &current_capacity,
            settings.minimum_user_limit_percent / 100.0,
        );
        let user_limit = calculator.max(cluster, &shared, &minimum_share).clone();
        let maximum_user_limit = if settings.user_limit_factor <= 0.0 {
            unbounded()
        } else {
            scale_down(&queue_capacity, settings.user_limit_factor)
        };
        let limit = calculator
            .min(cluster, &user_limit, &maximum_user_limit)
            .clone();
        Some(round_up_to(&limit, required))
    }

    /// Records that a limit refused `application`.
    pub(crate) fn register_blocker(&mut self, application: ApplicationId, blocker: Blocker) {
        match blocker {
            Blocker::QueueMaximum(queue) => {
                self.blocked.queues.insert(queue);
            }
            Blocker::UserLimit { queue, user } => {
                self.blocked
                    .users
                    .entry((queue, user))
                    .or_default()
                    .insert(application);
                self.set_limited(application, true);
            }
            Blocker::AmLimit(queue) => {
                self.blocked
                    .am
                    .entry(queue)
                    .or_default()
                    .insert(application);
            }
        }
    }

    /// A container of `user` in `leaf` finished: the queues above it, the user and (for an AM
    /// container) the leaf's AM limit have room again.
    pub(crate) fn loosen_after_refund(
        &mut self,
        leaf: QueueIndex,
        application: ApplicationId,
        is_am: bool,
    ) {
        if !self.blocked.queues.is_empty() {
            let mut index = Some(leaf);
            while let Some(queue) = index {
                if self.blocked.queues.remove(&queue) {
                    self.work.queues.push(queue);
                }
                index = self.queues.get(queue).parent;
            }
        }
        if !self.blocked.users.is_empty() {
            let user = self.applications[&application].user.clone();
            if let Some(apps) = self.blocked.users.remove(&(leaf, user)) {
                self.release_limited(apps);
            }
        }
        if is_am {
            if let Some(apps) = self.blocked.am.remove(&leaf) {
                self.work.applications.extend(apps);
            }
        }
    }

    /// The user limit of `leaf` moves with its usage and active users: retry its users.
    pub(crate) fn loosen_user_limits(&mut self, leaf: QueueIndex) {
        if self.blocked.users.is_empty() {
            return;
        }
        let keys: Vec<(QueueIndex, String)> = self
            .blocked
            .users
            .range((leaf, String::new())..)
            .take_while(|((queue, _), _)| *queue == leaf)
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            if let Some(apps) = self.blocked.users.remove(&key) {
                self.release_limited(apps);
            }
        }
    }

    /// Applications their user limit held back are tried again (and claim their share again).
    fn release_limited(&mut self, applications: BTreeSet<ApplicationId>) {
        for &application in &applications {
            self.set_limited(application, false);
        }
        self.work.applications.extend(applications);
    }

    /// Records whether the application's user limit holds it back; entitlements count it.
    fn set_limited(&mut self, application: ApplicationId, limited: bool) {
        if let Some(app) = self.applications.get_mut(&application) {
            if app.limited != limited {
                app.limited = limited;
                self.entitlements_changed();
            }
        }
    }

    /// Every limit may have moved (cluster size, configuration): retry everything refused.
    pub(crate) fn loosen_everything(&mut self) {
        let blocked = std::mem::take(&mut self.blocked);
        self.work.queues.extend(blocked.queues);
        for apps in blocked.users.into_values() {
            self.release_limited(apps);
        }
        for apps in blocked.am.into_values() {
            self.work.applications.extend(apps);
        }
    }
}

/// Rounds every type of `resource` up to a multiple of `step`'s (types `step` lacks unchanged).
fn round_up_to(resource: &Resource, step: &Resource) -> Resource {
    let round = |value: i64, step: i64| -> i64 {
        if step <= 0 || value <= 0 || value >= i64::MAX / 8 {
            value
        } else {
            (value + step - 1) / step * step
        }
    };
    let mut out = Resource::new(
        round(resource.memory_mb, step.memory_mb),
        round(resource.vcores, step.vcores),
    );
    for (name, value) in resource.others() {
        out.set(name, *value);
    }
    out
}
