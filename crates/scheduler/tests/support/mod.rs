//! A small driver for policy tests: builds a scheduler from a policy's file text, feeds it
//! events, checks the invariants after each, and remembers the live containers.

#![allow(dead_code)]

use std::collections::BTreeMap;

use spindle_scheduler::{
    scheduler_config_from_files, AllocationLimits, Locality, ResourceRequest, Scheduler,
    SchedulerAction, SchedulerEvent, SchedulerFile,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

pub const GB: i64 = 1024;

pub fn application(number: i32) -> ApplicationId {
    ApplicationId::new(1_700_000_000_000, number)
}

pub fn attempt(number: i32) -> ApplicationAttemptId {
    ApplicationAttemptId::new(application(number), 1)
}

/// A live container as the driver saw it allocated.
#[derive(Debug, Clone)]
pub struct Live {
    pub node: NodeId,
    pub resource: Resource,
    pub locality: Locality,
}

pub struct Driver {
    pub scheduler: Scheduler,
    pub live: BTreeMap<ContainerId, Live>,
    /// Every allocation in order: container, locality.
    pub allocations: Vec<(ContainerId, Locality)>,
    pub preemption_requests: Vec<ContainerId>,
}

impl Driver {
    /// A scheduler of `class_name` configured by `site` and the file `text` (if any).
    pub fn new(
        class_name: &str,
        site: &[(&str, &str)],
        text: Option<&str>,
        limits: AllocationLimits,
    ) -> Self {
        Self::with_epoch(class_name, site, text, limits, 0)
    }

    /// As [`Driver::new`], for an RM whose epoch is `rm_epoch` (after `rm_epoch` restarts).
    pub fn with_epoch(
        class_name: &str,
        site: &[(&str, &str)],
        text: Option<&str>,
        limits: AllocationLimits,
        rm_epoch: i64,
    ) -> Self {
        let mut site: BTreeMap<String, String> = site
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        // These drivers never advance the clock: without a share window, room beyond an
        // application's steady share goes out as soon as it is entitled to it (the window's own
        // tests set it).
        site.entry(spindle_scheduler::SHARE_WINDOW_KEY.to_string())
            .or_insert_with(|| "0".to_string());
        let file = text.map(|text| SchedulerFile {
            source_name: "scheduler.xml",
            text,
        });
        let config = scheduler_config_from_files(class_name, &site, file, rm_epoch, limits)
            .unwrap_or_else(|error| panic!("{error}"));
        Self {
            scheduler: Scheduler::new(config).expect("valid configuration"),
            live: BTreeMap::new(),
            allocations: Vec::new(),
            preemption_requests: Vec::new(),
        }
    }

    /// Handles an event that must be accepted; returns its actions.
    pub fn handle(&mut self, event: SchedulerEvent) -> Vec<SchedulerAction> {
        let description = format!("{event:?}");
        // A recovered container is live once taken (no action says so; a refusal does).
        let recovered = match &event {
            SchedulerEvent::ContainerRecovered {
                container,
                node,
                resource,
                ..
            } => Some((
                *container,
                Live {
                    node: node.clone(),
                    resource: resource.clone(),
                    locality: Locality::OffSwitch,
                },
            )),
            _ => None,
        };
        let actions = self
            .scheduler
            .handle(event)
            .unwrap_or_else(|error| panic!("{description} refused: {error}"));
        if let Err(violation) = self.scheduler.check_invariants() {
            panic!("after {description}: {violation}");
        }
        for action in &actions {
            match action {
                SchedulerAction::Allocated {
                    container,
                    node,
                    resource,
                    locality,
                    ..
                } => {
                    self.live.insert(
                        *container,
                        Live {
                            node: node.clone(),
                            resource: resource.clone(),
                            locality: *locality,
                        },
                    );
                    self.allocations.push((*container, *locality));
                }
                SchedulerAction::Completed { container, .. } => {
                    self.live.remove(container);
                }
                SchedulerAction::PreemptionRequested { container, .. } => {
                    self.preemption_requests.push(*container)
                }
                SchedulerAction::RecoveryRefused { .. } => {}
            }
        }
        let refused = actions
            .iter()
            .any(|action| matches!(action, SchedulerAction::RecoveryRefused { .. }));
        if let Some((container, live)) = recovered.filter(|_| !refused) {
            self.live.entry(container).or_insert(live);
        }
        actions
    }

    pub fn add_node(&mut self, host: &str, rack: &str, capability: Resource) {
        self.handle(SchedulerEvent::NodeAdded {
            node: NodeId::new(host, 8041),
            rack: rack.to_string(),
            capability,
        });
    }

    /// Adds application `number` (unmanaged AM: no AM container) for `user` in `queue`.
    pub fn add_application(&mut self, number: i32, queue: &str, user: &str, priority: i32) {
        self.handle(SchedulerEvent::ApplicationAdded {
            application: application(number),
            queue: queue.to_string(),
            user: user.to_string(),
            priority,
        });
        self.handle(SchedulerEvent::AttemptAdded {
            attempt: attempt(number),
            am_resource: None,
        });
    }

    pub fn ask(&mut self, number: i32, requests: Vec<ResourceRequest>) {
        self.handle(SchedulerEvent::Asks {
            attempt: attempt(number),
            asks: requests,
            releases: Vec::new(),
        });
    }

    pub fn ask_anywhere(&mut self, number: i32, capability: Resource, count: i32) {
        self.ask(
            number,
            vec![ResourceRequest::anywhere(1, capability, count)],
        );
    }

    /// The container's NodeManager reports it complete in a heartbeat, as the RM passes it on:
    /// the completion, then the heartbeat (a scheduling opportunity for the node's room).
    pub fn finish(&mut self, container: ContainerId) {
        let node = self.live.get(&container).map(|live| live.node.clone());
        self.handle(SchedulerEvent::ContainerFinished {
            container,
            exit_status: 0,
        });
        if let Some(node) = node {
            self.handle(SchedulerEvent::NodeHeartbeat { node });
        }
    }

    /// Every node heartbeats once, in name order.
    pub fn heartbeat_all(&mut self) {
        let nodes: Vec<NodeId> = self
            .scheduler
            .node_reports()
            .into_iter()
            .map(|report| report.node)
            .collect();
        for node in nodes {
            self.handle(SchedulerEvent::NodeHeartbeat { node });
        }
    }

    pub fn heartbeat(&mut self, host: &str) {
        self.handle(SchedulerEvent::NodeHeartbeat {
            node: NodeId::new(host, 8041),
        });
    }

    /// Live containers of application `number`.
    pub fn containers_of(&self, number: i32) -> Vec<ContainerId> {
        self.live
            .keys()
            .filter(|container| container.application_id() == application(number))
            .copied()
            .collect()
    }

    /// Memory held by the live containers of applications whose number passes `select`.
    pub fn memory_of(&self, select: impl Fn(i32) -> bool) -> i64 {
        self.live
            .iter()
            .filter(|(container, _)| select(container.application_id().id))
            .map(|(_, live)| live.resource.memory_mb)
            .sum()
    }
}

/// A small deterministic pseudo-random sequence (SplitMix64), so tests replay exactly.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}
