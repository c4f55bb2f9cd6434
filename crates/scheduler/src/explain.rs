//! Why an application waits: the precise reason its first outstanding request gets no container
//! now, for the application report's diagnostics and `spindle application -status`. Typed inside
//! ([`WaitReason`]), text through `Display`.

use std::fmt;

use spindle_types::{ApplicationId, NodeId, Resource};

use crate::action::Locality;
use crate::asks::RequestSlot;
use crate::config::SchedulingPolicy;
use crate::limits::Blocker;
use crate::scheduler::Scheduler;

/// The reason an application's first outstanding request is not served.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitReason {
    /// Fair Scheduler: the queue (or an ancestor) already runs its maxRunningApps.
    QueueMaxRunningApplications { queue: String, limit: usize },
    /// Fair Scheduler: the user already runs its maxRunningApps (userMaxAppsDefault).
    UserMaxRunningApplications { user: String, limit: usize },
    /// The queue (or an ancestor) would exceed its maximum capacity / maxResources.
    QueueAtMaximumCapacity {
        queue: String,
        used: Resource,
        maximum: Resource,
        requested: Resource,
    },
    /// Capacity Scheduler: the user is above its user limit in the queue.
    UserLimit {
        queue: String,
        user: String,
        used: Resource,
        limit: Resource,
    },
    /// The queue's AM containers are at maximum-am-resource-percent / maxAMShare.
    AmResourceLimit {
        queue: String,
        am_used: Resource,
        limit: Resource,
        requested: Resource,
    },
    /// Delay scheduling: the request passes up nodes that are not local enough.
    WaitingForLocality {
        /// The locality the request waits to be allowed.
        next: Locality,
        missed_opportunities: u64,
        /// Opportunities to miss before `next` is allowed.
        required_opportunities: u64,
    },
    /// No registered node could ever hold the container.
    NoNodeLargeEnough {
        requested: Resource,
        /// Per type, the most any node offers (None without nodes).
        largest_node: Option<Resource>,
    },
    /// A node is held for this request until enough of it frees.
    ReservedNode {
        node: NodeId,
        available: Resource,
        requested: Resource,
    },
    /// The application (or its queue, `queue`) holds its share of the cluster among the active
    /// applications: room beyond it goes out on node heartbeats, in the policy's order.
    BeyondShare {
        /// None: the application's own share; Some: the queue whose share is reached.
        queue: Option<String>,
        holds: Resource,
        share: Resource,
    },
    /// Within its share, beyond its steady share: held until `until_ms`, so that applications
    /// submitted meanwhile are counted (`spindle.scheduler.share-window-ms`).
    ShareWindow {
        holds: Resource,
        steady_share: Resource,
        until_ms: i64,
    },
    /// No node has the room now; others in the queue or other queues come first.
    WaitingForResources {
        queue: String,
        requested: Resource,
        /// Applications ahead of it in its queue's order.
        applications_ahead: usize,
    },
    /// After an RM restart, nothing is placed until `until_ms`, while the NodeManagers
    /// re-register their containers (`work-preserving-recovery.scheduling-wait-ms`).
    RecoveryWait { until_ms: i64 },
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::QueueMaxRunningApplications { queue, limit } => write!(
                f,
                "waiting: queue {queue} already runs its maximum of {limit} application(s) (maxRunningApps)"
            ),
            Self::UserMaxRunningApplications { user, limit } => write!(
                f,
                "waiting: user {user} already runs its maximum of {limit} application(s) (maxRunningApps)"
            ),
            Self::QueueAtMaximumCapacity {
                queue,
                used,
                maximum,
                requested,
            } => write!(
                f,
                "waiting: queue {queue} is at its maximum capacity (using {used} of {maximum}; the next container needs {requested})"
            ),
            Self::UserLimit {
                queue,
                user,
                used,
                limit,
            } => write!(
                f,
                "waiting: user {user} has reached the user limit of queue {queue} (using {used}, limit {limit})"
            ),
            Self::AmResourceLimit {
                queue,
                am_used,
                limit,
                requested,
            } => write!(
                f,
                "waiting: the AM resource limit of queue {queue} is reached (AM containers use {am_used} of {limit}; this AM needs {requested})"
            ),
            Self::WaitingForLocality {
                next,
                missed_opportunities,
                required_opportunities,
            } => write!(
                f,
                "waiting for locality: {missed_opportunities} of {required_opportunities} scheduling opportunities passed up before accepting {} container",
                match next {
                    Locality::NodeLocal => "a node-local",
                    Locality::RackLocal => "a rack-local",
                    Locality::OffSwitch => "an off-switch",
                }
            ),
            Self::NoNodeLargeEnough {
                requested,
                largest_node,
            } => match largest_node {
                Some(largest) => write!(
                    f,
                    "waiting: no node is large enough for a container of {requested} (the most any node offers of each type is {largest})"
                ),
                None => write!(f, "waiting: no node is registered (a container of {requested} is wanted)"),
            },
            Self::ReservedNode {
                node,
                available,
                requested,
            } => write!(
                f,
                "waiting: node {node} is reserved for this request and has {available} free of the {requested} needed"
            ),
            Self::BeyondShare {
                queue: None,
                holds,
                share,
            } => write!(
                f,
                "waiting for its share: it holds {holds}, its share among the active applications is {share}; room beyond it goes out on node heartbeats"
            ),
            Self::BeyondShare {
                queue: Some(queue),
                holds,
                share,
            } => write!(
                f,
                "waiting for its queue's share: queue {queue} holds {holds}, its share among the active queues is {share}; room beyond it goes out on node heartbeats"
            ),
            Self::ShareWindow {
                holds,
                steady_share,
                until_ms,
            } => write!(
                f,
                "waiting for its share window: it holds {holds}, its steady share is {steady_share}; the rest of its share is held until {until_ms} ms for applications submitted meanwhile"
            ),
            Self::WaitingForResources {
                queue,
                requested,
                applications_ahead,
            } => write!(
                f,
                "waiting for resources: no node has {requested} free for queue {queue}; {applications_ahead} application(s) ahead in the queue"
            ),
            Self::RecoveryWait { until_ms } => write!(
                f,
                "waiting for NodeManagers to re-register after the ResourceManager restarted: nothing is placed until {until_ms} ms (yarn.resourcemanager.work-preserving-recovery.scheduling-wait-ms)"
            ),
        }
    }
}

impl Scheduler {
    /// Why `application` waits, or None when it is not waiting (unknown, no current attempt,
    /// or nothing outstanding).
    pub fn explain(&self, application: ApplicationId) -> Option<WaitReason> {
        let app = self.applications.get(&application)?;
        if !app.runnable {
            return Some(self.max_running_reason(application));
        }
        let attempt = app.attempt.as_ref()?;
        let slot = attempt.asks.next_pending_slot(None)?;
        let requested = attempt.asks.pending_capability(slot)?.clone();
        if let (true, Some(until_ms)) = (self.waiting_for_recovery(), self.recovery_wait_until) {
            return Some(WaitReason::RecoveryWait { until_ms });
        }
        let is_am = slot == RequestSlot::ApplicationMaster;
        if !self
            .nodes
            .iter()
            .any(|(_, node)| node.capability.fits(&requested))
        {
            let largest_node = self
                .nodes
                .largest_capability()
                .map(|(memory, vcores)| Resource::new(memory, vcores));
            return Some(WaitReason::NoNodeLargeEnough {
                requested,
                largest_node,
            });
        }
        // A user above its limit waits for that, whatever else is full.
        if let Some(limit) = self.user_limit(app.queue) {
            let used = self
                .queues
                .get(app.queue)
                .users
                .get(&app.user)
                .map(|account| account.used.clone())
                .unwrap_or_default();
            if self
                .calculator
                .greater_than(self.nodes.total(), &used, &limit)
            {
                return Some(WaitReason::UserLimit {
                    queue: self.queues.get(app.queue).path.clone(),
                    user: app.user.clone(),
                    used,
                    limit,
                });
            }
        }
        if let Some(blocker) = self.limit_blocker(application, &requested, is_am) {
            return Some(self.blocker_reason(application, blocker, &requested));
        }
        if let Some(&(_, node)) = app
            .reservations
            .iter()
            .find(|(reserved, _)| *reserved == slot)
        {
            let node = self.nodes.get(node);
            return Some(WaitReason::ReservedNode {
                node: node.id.clone(),
                available: node.available.clone(),
                requested,
            });
        }
        if let Some(reason) = self.locality_reason(application, slot) {
            return Some(reason);
        }
        // Held back by its share while some node has the room.
        let room_somewhere = self
            .nodes
            .iter()
            .any(|(_, node)| node.available.fits(&requested));
        if let Some(level) = self
            .entitlement_blocker(application, &requested, is_am)
            .filter(|_| room_somewhere)
        {
            return Some(self.share_reason(application, level));
        }
        let queue = self.queues.get(app.queue);
        // By their current keys (a set may list an application under an older one).
        let applications_ahead = app.sort_key.map_or(0, |key| {
            queue
                .schedulable_applications
                .iter()
                .filter_map(|listed| self.applications[&listed.application].sort_key)
                .chain(
                    queue
                        .delayed_applications
                        .members()
                        .into_iter()
                        .map(|(listed, _, _)| listed),
                )
                .filter(|other| *other < key)
                .count()
        });
        Some(WaitReason::WaitingForResources {
            queue: queue.path.clone(),
            requested,
            applications_ahead,
        })
    }

    fn max_running_reason(&self, application: ApplicationId) -> WaitReason {
        let app = &self.applications[&application];
        for index in self.queues.chain(app.queue) {
            let queue = self.queues.get(index);
            if let Some(limit) = queue.settings.max_running_apps {
                if queue.num_runnable >= limit {
                    return WaitReason::QueueMaxRunningApplications {
                        queue: queue.path.clone(),
                        limit,
                    };
                }
            }
        }
        let limit = match &self.config.policy {
            SchedulingPolicy::Fair(config) => config
                .user_max_apps
                .get(&app.user)
                .copied()
                .or(config.user_max_apps_default)
                .unwrap_or(0),
            _ => 0,
        };
        WaitReason::UserMaxRunningApplications {
            user: app.user.clone(),
            limit,
        }
    }

    fn blocker_reason(
        &self,
        application: ApplicationId,
        blocker: Blocker,
        requested: &Resource,
    ) -> WaitReason {
        match blocker {
            Blocker::QueueMaximum(index) => {
                let queue = self.queues.get(index);
                WaitReason::QueueAtMaximumCapacity {
                    queue: queue.path.clone(),
                    used: queue.used.clone(),
                    maximum: queue.maximum.clone(),
                    requested: requested.clone(),
                }
            }
            Blocker::UserLimit { queue, user } => {
                let leaf = self.queues.get(queue);
                WaitReason::UserLimit {
                    queue: leaf.path.clone(),
                    used: leaf
                        .users
                        .get(&user)
                        .map(|a| a.used.clone())
                        .unwrap_or_default(),
                    limit: self.user_limit(queue).unwrap_or_default(),
                    user,
                }
            }
            Blocker::AmLimit(index) => {
                let queue = self.queues.get(index);
                let _ = application;
                WaitReason::AmResourceLimit {
                    queue: queue.path.clone(),
                    am_used: queue.am_used.clone(),
                    limit: self.am_limit(index).unwrap_or_default(),
                    requested: requested.clone(),
                }
            }
        }
    }

    /// The request waits for locality when a node it could use now is only refused by delay
    /// scheduling.
    fn locality_reason(&self, application: ApplicationId, slot: RequestSlot) -> Option<WaitReason> {
        let attempt = self.applications[&application].attempt.as_ref()?;
        let capability = attempt.asks.pending_capability(slot)?;
        let mut refused: Option<Locality> = None;
        for (index, node) in self.nodes.iter() {
            if !node.available.fits(capability) || !self.node_open_to(index, application, slot) {
                continue;
            }
            if let Some(locality) = attempt.asks.locality_on(slot, &node.id.host, &node.rack) {
                if !self.locality_allowed(application, slot, locality) {
                    refused = Some(refused.map_or(locality, |r| r.min(locality)));
                }
            }
        }
        let next = refused?;
        let wait = attempt.asks.locality_wait(slot);
        let shape = attempt
            .asks
            .slot_view(slot)
            .map(|view| view.shape)
            .expect("a pending slot");
        let required = self
            .delay
            .required_opportunities(next, wait, shape, self.nodes.len());
        let missed = if wait.waiting {
            (wait.offered + self.unsettled_charges(application)).saturating_sub(wait.since)
        } else {
            0
        };
        Some(WaitReason::WaitingForLocality {
            next,
            missed_opportunities: missed,
            required_opportunities: required,
        })
    }
}
