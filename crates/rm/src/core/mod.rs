//! The RM's state and rules, with time as an input: every method takes `now_ms` and returns what
//! the services must answer; side effects that need I/O (starting an AM container on its NM)
//! are queued as [`Effect`]s for the async shell to carry out.

mod allocate_reply;
mod am;
mod apps;
mod durability;
pub mod log_aggregation;
mod node_table;
mod nodes;
pub mod records;
mod reports;
mod scheduling;
mod tokens;
mod usage;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

pub use allocate_reply::{AllocateReply, AllocatedContainer, CompletedContainer};
pub use durability::{Persisted, RecoverySummary};
pub use records::{RmApp, RmAttempt, RmContainer, RmNode};
pub use reports::{proxy_url, UNAVAILABLE};
pub use scheduling::Decision;
pub use tokens::RmKeys;
pub(crate) use usage::UsageBasis;
pub use usage::{ApplicationMetrics, AttemptMetrics, ResourceSeconds};

use crate::liveness::LivenessMonitor;
use crate::settings::RmSettings;

/// Work for the async shell around the core.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Start the AM container of `attempt` on its node (ContainerManagementProtocol.startContainers).
    LaunchAm {
        attempt: ApplicationAttemptId,
        container: Box<spindle_proto::yarn::ContainerProto>,
        launch_context: Box<spindle_proto::yarn::ContainerLaunchContextProto>,
    },
    /// Make `write` durable (writes are committed in the order the core queued them), then call
    /// [`RmCore::persisted`] with `then`, if any.
    Persist {
        write: crate::store::StoreWrite,
        then: Option<Persisted>,
    },
}

/// A failure a caller sees as a Java exception (class name + message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct RmError {
    pub class: &'static str,
    pub message: String,
}

/// Java exception classes the RM raises.
pub mod exceptions {
    pub const YARN: &str = "org.apache.hadoop.yarn.exceptions.YarnException";
    pub const APPLICATION_NOT_FOUND: &str =
        "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException";
    pub const ATTEMPT_NOT_FOUND: &str =
        "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException";
    pub const CONTAINER_NOT_FOUND: &str =
        "org.apache.hadoop.yarn.exceptions.ContainerNotFoundException";
    pub const AM_NOT_REGISTERED: &str =
        "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException";
    pub const INVALID_AM_REQUEST: &str =
        "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException";
    pub const INVALID_RESOURCE_REQUEST: &str =
        "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException";
    pub const INVALID_RELEASE: &str =
        "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException";
    pub const ACCESS_CONTROL: &str = "org.apache.hadoop.security.AccessControlException";
    pub const ILLEGAL_ARGUMENT: &str = "java.lang.IllegalArgumentException";
}

impl RmError {
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// Everything the ResourceManager knows.
pub struct RmCore {
    pub(crate) settings: RmSettings,
    /// Shared with the allocate replies that sign their tokens outside the lock.
    pub(crate) keys: Arc<RmKeys>,
    next_app_id: i32,
    pub(crate) apps: BTreeMap<ApplicationId, RmApp>,
    pub(crate) attempts: FastMap<ApplicationAttemptId, RmAttempt>,
    /// The NM liveness monitor is each node's `last_seen_ms` (no map of its own).
    pub(crate) nodes: node_table::RmNodes,
    pub(crate) containers: FastMap<ContainerId, RmContainer>,
    pub(crate) scheduler: scheduling::SchedulerBridge,
    pub(crate) am_liveness: LivenessMonitor<ApplicationAttemptId>,
    effects: Vec<Effect>,
    /// Applications that reached a final state in this call: their records are stored when the
    /// call's effects are taken, once the callers have set the final status and diagnostics.
    final_pending: Vec<ApplicationId>,
    /// Strings many nodes share (racks, NM versions), one copy each.
    shared_strings: std::collections::HashSet<Arc<str>>,
    node_summary: std::cell::OnceCell<NodeSummary>,
    /// Moves whenever an application appears, disappears, or its or an attempt's lifecycle
    /// state changes: application lists cached across calls are stale once it moved.
    app_generation: u64,
    /// The shell's wall clock minus its monotonic clock at the current call (0 when nobody says
    /// otherwise, as in tests driving the core with one clock). Liveness and grace periods are
    /// measured on `now_ms - wall_minus_monotonic_ms`, so a wall-clock step (NTP) neither marks
    /// every NM lost nor delays expiry; reports and tokens keep wall-clock times.
    wall_minus_monotonic_ms: i64,
}

/// A `HashMap` with a fast hasher: the RM's maps are keyed by ids it issued itself (nobody can pick
/// keys that collide), and SipHash was a visible share of every heartbeat's container lookups.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// A `HashSet` with the same hasher as [`FastMap`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// What allocate calls need to know about the nodes, cached between node changes.
#[derive(Debug, Clone)]
pub(crate) struct NodeSummary {
    pub(crate) running: i32,
    pub(crate) largest: Option<Resource>,
}

impl RmCore {
    /// An RM core with the FIFO scheduler over the settings' allocation limits.
    pub fn new(settings: RmSettings) -> Self {
        Self::with_scheduler(settings, None)
            .expect("the FIFO configuration from validated settings is valid")
    }

    /// An RM core whose scheduler runs `scheduler` (Capacity, Fair or FIFO from the files).
    pub fn with_scheduler(
        settings: RmSettings,
        scheduler: Option<spindle_scheduler::SchedulerConfig>,
    ) -> Result<Self, String> {
        let scheduler = scheduling::SchedulerBridge::with_config(&settings, scheduler)?;
        Ok(Self {
            keys: Arc::new(RmKeys::generate()),
            next_app_id: 1,
            apps: BTreeMap::new(),
            attempts: FastMap::default(),
            nodes: node_table::RmNodes::default(),
            containers: FastMap::default(),
            scheduler,
            am_liveness: LivenessMonitor::new(settings.am_expiry_ms),
            effects: Vec::new(),
            final_pending: Vec::new(),
            shared_strings: Default::default(),
            node_summary: std::cell::OnceCell::new(),
            app_generation: 0,
            wall_minus_monotonic_ms: 0,
            settings,
        })
    }

    /// `refreshQueues`: a new scheduler configuration, applied to the running scheduler. Refused
    /// configurations leave everything as it was.
    pub fn replace_scheduler_config(
        &mut self,
        config: spindle_scheduler::SchedulerConfig,
        now_ms: i64,
    ) -> Result<(), RmError> {
        let decisions = self
            .scheduler
            .replace_config(config)
            .map_err(|e| RmError::new(exceptions::YARN, e))?;
        self.apply_decisions(decisions, now_ms);
        Ok(())
    }

    pub fn settings(&self) -> &RmSettings {
        &self.settings
    }

    /// Takes the queued effects for the shell to run.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        for id in std::mem::take(&mut self.final_pending) {
            if self.apps.contains_key(&id) {
                self.save_app(id, Some(Persisted::AppFinal(id)), 0);
            }
        }
        std::mem::take(&mut self.effects)
    }

    /// Uses the master keys a state store kept (before the RM serves anyone).
    pub fn set_keys(&mut self, keys: RmKeys) {
        self.keys = Arc::new(keys);
    }

    pub fn keys(&self) -> &Arc<RmKeys> {
        &self.keys
    }

    pub(crate) fn push_effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    pub(crate) fn allocate_app_id(&mut self) -> ApplicationId {
        let id = ApplicationId::new(self.settings.cluster_timestamp, self.next_app_id);
        self.next_app_id += 1;
        id
    }

    /// Tells the core how the shell's wall clock (the `now_ms` of every call) stands to its
    /// monotonic clock at this call: liveness is measured on the monotonic one.
    pub fn set_clock_offset(&mut self, wall_minus_monotonic_ms: i64) {
        self.wall_minus_monotonic_ms = wall_minus_monotonic_ms;
    }

    /// `now_ms` on the monotonic clock (see `set_clock_offset`), for intervals only.
    pub(crate) fn monotonic(&self, now_ms: i64) -> i64 {
        now_ms - self.wall_minus_monotonic_ms
    }

    /// Advances time: expires silent NMs and AMs, and kills AM containers that outstay unregistration.
    pub fn tick(&mut self, now_ms: i64) {
        self.watch_nodes(now_ms);
        for attempt in self.am_liveness.take_expired(self.monotonic(now_ms)) {
            let expiry = self.settings.am_expiry_ms;
            self.attempt_expired(attempt, expiry, now_ms);
        }
        self.kill_lingering_am_containers(now_ms);
        let decisions = self.scheduler.time_advanced(now_ms);
        self.apply_decisions(decisions, now_ms);
    }

    /// The largest container the scheduler can give: the configured maximum, bounded by the
    /// largest registered node once there is one (and the recovery wait is over).
    pub fn maximum_allocation(&self) -> Resource {
        let configured = self.settings.maximum_allocation.clone();
        // While NMs re-register after a restart, as YARN does: not yet bounded by the nodes.
        if self.scheduler.scheduler().waiting_for_recovery() {
            return configured;
        }
        match self.node_summary().largest.clone() {
            Some(largest) => {
                // Extra resource types have no configured maximum (YARN's default is unbounded):
                // the largest node bounds them.
                let mut max = configured.min(&largest);
                for (name, value) in largest.others() {
                    max.set(name, *value);
                }
                max
            }
            None => configured,
        }
    }

    /// How many nodes can take containers and the largest of them, computed once per change of
    /// the node set (allocate calls ask for it on every request).
    pub(crate) fn node_summary(&self) -> &NodeSummary {
        self.node_summary.get_or_init(|| {
            let schedulable = self
                .nodes
                .values()
                .filter(|n| crate::lifecycle::node::is_schedulable(n.state));
            NodeSummary {
                running: schedulable.clone().count() as i32,
                largest: schedulable
                    .map(|n| n.capability.clone())
                    .reduce(|a, b| a.max(&b)),
            }
        })
    }

    /// The one shared copy of `text` (rack names and NM versions repeat across thousands of nodes).
    pub(crate) fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.shared_strings.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.shared_strings.insert(shared.clone());
        shared
    }

    /// A node joined, left or changed state.
    pub(crate) fn nodes_changed(&mut self) {
        self.node_summary.take();
    }

    /// An NMToken for `attempt` on `node`, as an allocate response would carry it.
    pub fn issue_nm_token(
        &self,
        attempt: ApplicationAttemptId,
        node: &NodeId,
        user: &str,
    ) -> spindle_proto::common::TokenProto {
        self.keys.nm_token(attempt, node, user)
    }

    /// Checks the RM's conservation rules; tests call it after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (id, c) in &self.containers {
            let attempt = self
                .attempts
                .get(&c.attempt)
                .ok_or(format!("{id}: no attempt {}", c.attempt))?;
            if !attempt.live_containers.contains(id) {
                return Err(format!("{id}: live but not in its attempt"));
            }
            if !self.nodes.contains_key(&c.node) {
                return Err(format!("{id}: unknown node {}", c.node));
            }
        }
        for a in self.attempts.values() {
            for c in &a.live_containers {
                if !self.containers.contains_key(c) {
                    return Err(format!("{}: lists {c} which is not live", a.id));
                }
            }
        }
        let mut on_nodes: HashMap<&NodeId, (i32, Resource)> = HashMap::new();
        for c in self.containers.values() {
            let (count, used) = on_nodes.entry(&c.node).or_insert((0, Resource::ZERO));
            *count += 1;
            used.add_assign(&c.resource);
        }
        self.nodes.check()?;
        for n in self.nodes.values() {
            let (count, used) = on_nodes.remove(&n.id).unwrap_or((0, Resource::ZERO));
            if n.num_containers != count || n.used != used {
                return Err(format!(
                    "{}: counts {} containers using {}, but {count} live containers use {used}",
                    n.id, n.num_containers, n.used
                ));
            }
        }
        self.scheduler.check_invariants()
    }
}
