//! Work-preserving RM restart (YARN's ResourceManager restart), for the FIFO, Capacity and Fair
//! policies: a scheduler rebuilt from the store's applications (`AttemptRecovered`) and the
//! containers NodeManagers report (`ContainerRecovered`) counts what the scheduler that allocated
//! them counted, makes the same decisions afterwards, frees recovered containers like any other
//! (finished, released, node lost, attempt or application ended, preempted), and refuses with a
//! kill, changing nothing, the reports it cannot take; the order of the reports does not matter.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use spindle_scheduler::{
    AllocationLimits, ApplicationUsage, ClusterMetrics, CompletionReason, ContainerReport,
    Locality, NodeReport, RecoveryRefusal, ResourceRequest, Scheduler, SchedulerAction,
    SchedulerEvent, WaitReason, CAPACITY_SCHEDULER_CLASS, FAIR_SCHEDULER_CLASS,
    FIFO_SCHEDULER_CLASS,
};
use spindle_types::{ApplicationAttemptId, ContainerId, NodeId, Resource};
use support::{application, attempt, Driver, GB};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Fifo,
    Capacity,
    Fair,
}

const POLICIES: [Policy; 3] = [Policy::Fifo, Policy::Capacity, Policy::Fair];

/// Capacity: `a` (40%) and `b` (60%), both elastic to the whole cluster, with the preemption
/// monitor on.
const CAPACITY: &[(&str, &str)] = &[
    ("root.queues", "a,b"),
    ("root.a.capacity", "40"),
    ("root.a.user-limit-factor", "3"),
    ("root.a.maximum-am-resource-percent", "0.5"),
    ("root.b.capacity", "60"),
    ("root.b.maximum-am-resource-percent", "0.5"),
];

const CAPACITY_SITE: &[(&str, &str)] = &[
    ("yarn.resourcemanager.scheduler.monitor.enable", "true"),
    (
        "yarn.resourcemanager.monitor.capacity.preemption.monitoring_interval",
        "1000",
    ),
    (
        "yarn.resourcemanager.monitor.capacity.preemption.max_wait_before_kill",
        "2000",
    ),
    (
        "yarn.resourcemanager.monitor.capacity.preemption.natural_termination_factor",
        "1",
    ),
];

/// Fair: `prod` and `dev` of equal weight; `dev` takes back its whole fair share after a second.
const FAIR: &str = r#"<allocations>
  <queue name="prod"/>
  <queue name="dev">
    <fairSharePreemptionTimeout>1</fairSharePreemptionTimeout>
    <fairSharePreemptionThreshold>1.0</fairSharePreemptionThreshold>
  </queue>
</allocations>"#;

const FAIR_SITE: &[(&str, &str)] = &[
    ("yarn.scheduler.fair.preemption", "true"),
    ("yarn.scheduler.fair.waitTimeBeforeKill", "1000"),
];

fn capacity_file(properties: &[(&str, &str)]) -> String {
    let mut xml = String::from("<configuration>\n");
    for (key, value) in properties {
        xml.push_str(&format!(
            "<property><name>yarn.scheduler.capacity.{key}</name><value>{value}</value></property>\n"
        ));
    }
    xml + "</configuration>\n"
}

/// A scheduler of `policy` for an RM in epoch `rm_epoch`.
fn driver(policy: Policy, rm_epoch: i64) -> Driver {
    let limits = AllocationLimits::default();
    match policy {
        Policy::Fifo => Driver::with_epoch(FIFO_SCHEDULER_CLASS, &[], None, limits, rm_epoch),
        Policy::Capacity => Driver::with_epoch(
            CAPACITY_SCHEDULER_CLASS,
            CAPACITY_SITE,
            Some(&capacity_file(CAPACITY)),
            limits,
            rm_epoch,
        ),
        Policy::Fair => Driver::with_epoch(
            FAIR_SCHEDULER_CLASS,
            FAIR_SITE,
            Some(FAIR),
            limits,
            rm_epoch,
        ),
    }
}

/// An application of the scenarios: its number, queue, user and AM container (None: unmanaged).
struct App {
    number: i32,
    queue: &'static str,
    user: &'static str,
    am: Option<Resource>,
}

/// 1 (alice) and 3 (carol, unmanaged AM) share the first queue; 2 (bob) has the second.
fn applications(policy: Policy) -> Vec<App> {
    let (first, second) = match policy {
        Policy::Fifo => ("default", "default"),
        Policy::Capacity => ("a", "b"),
        Policy::Fair => ("prod", "dev"),
    };
    vec![
        App {
            number: 1,
            queue: first,
            user: "alice",
            am: Some(Resource::new(GB, 1)),
        },
        App {
            number: 2,
            queue: second,
            user: "bob",
            am: Some(Resource::new(GB, 1)),
        },
        App {
            number: 3,
            queue: first,
            user: "carol",
            am: None,
        },
    ]
}

const NODES: [(&str, &str); 3] = [("h1", "/r1"), ("h2", "/r1"), ("h3", "/r2")];

fn node(host: &str) -> NodeId {
    NodeId::new(host, 8041)
}

fn add_node(driver: &mut Driver, host: &str, rack: &str) {
    driver.add_node(host, rack, Resource::new(8 * GB, 8));
}

fn request(priority: i32, name: &str, memory_mb: i64, count: i32) -> ResourceRequest {
    ResourceRequest {
        priority,
        resource_name: name.to_string(),
        capability: Resource::new(memory_mb, 1),
        num_containers: count,
        relax_locality: true,
        allocation_request_id: 0,
    }
}

fn add_application(driver: &mut Driver, app: &App) {
    driver.handle(SchedulerEvent::ApplicationAdded {
        application: application(app.number),
        queue: app.queue.to_string(),
        user: app.user.to_string(),
        priority: 0,
    });
}

/// The history before the restart (epoch 0): every application allocated what it asked for
/// (node-local where asked), one container finished, and the AMs acquired the rest.
fn original(policy: Policy) -> Driver {
    let mut driver = driver(policy, 0);
    for (host, rack) in NODES {
        add_node(&mut driver, host, rack);
    }
    for app in applications(policy) {
        add_application(&mut driver, &app);
        driver.handle(SchedulerEvent::AttemptAdded {
            attempt: attempt(app.number),
            am_resource: app.am.clone(),
        });
    }
    driver.ask(
        1,
        vec![
            request(1, "*", 2 * GB, 7),
            request(2, "h2", GB, 1),
            request(2, "/r1", GB, 1),
            request(2, "*", GB, 1),
        ],
    );
    driver.ask(2, vec![request(1, "*", GB, 2)]);
    driver.ask(3, vec![request(1, "*", GB, 1)]);
    for _ in 0..5 {
        driver.heartbeat_all();
    }
    let cluster = driver.scheduler.cluster_metrics();
    assert_eq!(cluster.pending, Resource::ZERO, "{policy:?}: all placed");
    assert_eq!(cluster.allocated, Resource::new(20 * GB, 13), "{policy:?}");
    // A gap in 1's ids.
    driver.finish(ContainerId::new(attempt(1), 0, 3));
    let live: Vec<ContainerId> = driver.live.keys().copied().collect();
    driver.handle(SchedulerEvent::ContainersAcquired { containers: live });
    driver
}

/// Every live container, as the NodeManagers would report them, in id order.
fn reported(scheduler: &Scheduler) -> Vec<ContainerReport> {
    scheduler
        .application_ids()
        .into_iter()
        .filter_map(|id| scheduler.application_usage(id))
        .flat_map(|usage| usage.containers)
        .collect()
}

fn recover_event(report: &ContainerReport) -> SchedulerEvent {
    SchedulerEvent::ContainerRecovered {
        container: report.container,
        node: report.node.clone(),
        resource: report.resource.clone(),
        priority: report.priority,
        allocation_request_id: report.allocation_request_id,
        is_am: report.is_am,
    }
}

/// The restarted RM (epoch 1): the store's applications and running attempts first, then each
/// node registers and reports its containers (in `order`). Nothing is allocated.
fn recovered(policy: Policy, containers: &[ContainerReport]) -> Driver {
    let mut driver = driver(policy, 1);
    for app in applications(policy) {
        add_application(&mut driver, &app);
        let actions = driver.handle(SchedulerEvent::AttemptRecovered {
            attempt: attempt(app.number),
            am_resource: app.am.clone().unwrap_or(Resource::ZERO),
        });
        assert_eq!(actions, Vec::new());
    }
    for (host, rack) in NODES {
        add_node(&mut driver, host, rack);
        for report in containers
            .iter()
            .filter(|report| &*report.node.host == host)
        {
            let actions = driver.handle(recover_event(report));
            assert_eq!(actions, Vec::new(), "recovering {}", report.container);
        }
    }
    driver
}

/// What the scheduler reports as used: cluster, nodes, queues, applications (recovered
/// containers do not know the locality they were allocated with: it is left out).
#[derive(Debug, PartialEq)]
struct Usage {
    cluster: ClusterMetrics,
    nodes: Vec<NodeReport>,
    /// Path, used, AM used, pending, applications.
    queues: Vec<(String, Resource, Resource, Resource, usize)>,
    applications: Vec<ApplicationUsage>,
}

fn usage(scheduler: &Scheduler) -> Usage {
    Usage {
        cluster: scheduler.cluster_metrics(),
        nodes: scheduler.node_reports(),
        queues: scheduler
            .queue_infos()
            .into_iter()
            .map(|q| (q.path, q.used, q.am_used, q.pending, q.num_applications))
            .collect(),
        applications: scheduler
            .application_ids()
            .into_iter()
            .filter_map(|id| scheduler.application_usage(id))
            .map(|mut usage| {
                for container in &mut usage.containers {
                    container.locality = Locality::OffSwitch;
                }
                usage
            })
            .collect(),
    }
}

/// Everything the scheduler reports, one line per item: usage, every queue's whole QueueInfo
/// (shares, active users), each application's headroom and why it waits. Container ids are
/// mapped through `ids` (containers allocated after the restart have ids of its epoch).
fn snapshot(scheduler: &Scheduler, ids: &BTreeMap<ContainerId, ContainerId>) -> Vec<String> {
    let id = |container: &ContainerId| *ids.get(container).unwrap_or(container);
    let Usage {
        cluster,
        mut nodes,
        queues,
        mut applications,
    } = usage(scheduler);
    let mut lines = vec![format!("{cluster:?}")];
    for node in &mut nodes {
        node.containers = node.containers.iter().map(id).collect();
        node.containers.sort();
        lines.push(format!("{node:?}"));
    }
    lines.extend(queues.iter().map(|queue| format!("{queue:?}")));
    lines.extend(
        scheduler
            .queue_infos()
            .iter()
            .map(|info| format!("{info:?}")),
    );
    for usage in &mut applications {
        for container in &mut usage.containers {
            container.container = id(&container.container);
        }
        usage
            .containers
            .sort_by_key(|container| container.container);
        let containers = std::mem::take(&mut usage.containers);
        lines.push(format!("{usage:?}"));
        lines.extend(
            containers
                .iter()
                .map(|container| format!("  {container:?}")),
        );
        lines.push(format!(
            "  headroom {:?}, waits {:?}",
            scheduler.headroom(usage.application),
            scheduler.explain(usage.application)
        ));
    }
    lines
}

/// Asserts two snapshots are equal, showing the first line that differs.
fn assert_same_lines(original: &[String], recovered: &[String], context: &str) {
    for (line, (want, got)) in original.iter().zip(recovered).enumerate() {
        assert_eq!(want, got, "{context}: line {line} differs");
    }
    assert_eq!(original.len(), recovered.len(), "{context}");
}

/// The original scheduler and the recovered one, fed the same events (with the original's
/// container ids): they must decide the same, the recovered one numbering new containers in its
/// own epoch.
struct Twin {
    policy: Policy,
    original: Driver,
    recovered: Driver,
    /// Containers allocated after the restart: the recovered scheduler's id → the original's.
    to_original: BTreeMap<ContainerId, ContainerId>,
    to_recovered: BTreeMap<ContainerId, ContainerId>,
    /// Every action of the recovered scheduler.
    actions: Vec<SchedulerAction>,
}

impl Twin {
    fn new(policy: Policy) -> Self {
        let original = original(policy);
        let recovered = recovered(policy, &reported(&original.scheduler));
        assert_eq!(
            usage(&original.scheduler),
            usage(&recovered.scheduler),
            "{policy:?}: recovered usage"
        );
        Self {
            policy,
            original,
            recovered,
            to_original: BTreeMap::new(),
            to_recovered: BTreeMap::new(),
            actions: Vec::new(),
        }
    }

    fn translate(map: &BTreeMap<ContainerId, ContainerId>, container: &mut ContainerId) {
        if let Some(mapped) = map.get(container) {
            *container = *mapped;
        }
    }

    fn both(&mut self, event: SchedulerEvent) {
        let mut for_recovered = event.clone();
        match &mut for_recovered {
            SchedulerEvent::ContainerFinished { container, .. }
            | SchedulerEvent::ContainerExpired { container } => {
                Self::translate(&self.to_recovered, container)
            }
            SchedulerEvent::Asks { releases, .. } => {
                for container in releases {
                    Self::translate(&self.to_recovered, container);
                }
            }
            SchedulerEvent::ContainersAcquired { containers } => {
                for container in containers {
                    Self::translate(&self.to_recovered, container);
                }
            }
            _ => {}
        }
        let description = format!("{:?}: {event:?}", self.policy);
        let original = self.original.handle(event);
        let recovered = self.recovered.handle(for_recovered);
        assert_eq!(original.len(), recovered.len(), "{description}");
        let mut translated = Vec::new();
        for (before, after) in original.iter().zip(&recovered) {
            let mut after = after.clone();
            match (before, &mut after) {
                (
                    SchedulerAction::Allocated { container: old, .. },
                    SchedulerAction::Allocated { container: new, .. },
                ) => {
                    assert_eq!((old.epoch(), new.epoch()), (0, 1), "{description}");
                    self.to_original.insert(*new, *old);
                    self.to_recovered.insert(*old, *new);
                    *new = *old;
                }
                (_, SchedulerAction::Completed { container, .. })
                | (_, SchedulerAction::PreemptionRequested { container, .. }) => {
                    Self::translate(&self.to_original, container)
                }
                _ => {}
            }
            translated.push(after);
        }
        assert_eq!(original, translated, "{description}");
        self.actions.extend(recovered);
    }

    fn heartbeat_all(&mut self) {
        for (host, _) in NODES {
            if self.original.scheduler.node_report(&node(host)).is_some() {
                self.both(SchedulerEvent::NodeHeartbeat { node: node(host) });
            }
        }
    }

    fn acquire_all(&mut self) {
        let containers = self.original.live.keys().copied().collect();
        self.both(SchedulerEvent::ContainersAcquired { containers });
    }

    fn same_reports(&self, when: &str) {
        assert_same_lines(
            &snapshot(&self.original.scheduler, &BTreeMap::new()),
            &snapshot(&self.recovered.scheduler, &self.to_original),
            &format!("{:?}: {when}", self.policy),
        );
    }

    /// Reasons the recovered scheduler completed containers recovered from the restart with.
    fn recovered_completions(&self) -> Vec<CompletionReason> {
        let mut reasons: Vec<CompletionReason> = self
            .actions
            .iter()
            .filter_map(|action| match action {
                SchedulerAction::Completed {
                    container, reason, ..
                } if container.epoch() == 0 => Some(*reason),
                _ => None,
            })
            .collect();
        reasons.dedup();
        reasons
    }
}

#[test]
fn recovered_usage_and_next_decisions_are_the_original_ones() {
    for policy in POLICIES {
        let mut twin = Twin::new(policy);
        // The AMs re-register: their first allocate states what they want (nothing more).
        for app in applications(policy) {
            twin.both(SchedulerEvent::Asks {
                attempt: attempt(app.number),
                asks: Vec::new(),
                releases: Vec::new(),
            });
        }
        twin.same_reports("after the AMs re-registered");
        // New asks: what fits goes to the same nodes, in the same order, with the same
        // locality; the rest waits (and counts missed opportunities) alike.
        twin.both(SchedulerEvent::Asks {
            attempt: attempt(2),
            asks: vec![request(3, "*", 2 * GB, 5)],
            releases: Vec::new(),
        });
        twin.both(SchedulerEvent::Asks {
            attempt: attempt(1),
            asks: vec![
                request(3, "h3", GB, 1),
                request(3, "/r2", GB, 1),
                request(3, "*", GB, 1),
            ],
            releases: Vec::new(),
        });
        twin.acquire_all();
        twin.heartbeat_all();
        twin.same_reports("after new asks");
        let new: Vec<ContainerId> = twin.to_original.keys().copied().collect();
        assert!(!new.is_empty(), "{policy:?}: something was allocated");
        // New ids are in the new epoch, each attempt's from 1.
        let mut next: BTreeMap<ApplicationAttemptId, i64> = BTreeMap::new();
        for container in new {
            let sequence = next.entry(container.attempt_id).or_insert(1);
            assert_eq!(
                container,
                ContainerId::new(container.attempt_id, 1, *sequence)
            );
            *sequence += 1;
        }
    }
}

#[test]
fn recovered_containers_complete_release_and_are_preempted_like_allocated_ones() {
    for policy in POLICIES {
        let mut twin = Twin::new(policy);
        for app in applications(policy) {
            twin.both(SchedulerEvent::Asks {
                attempt: attempt(app.number),
                asks: Vec::new(),
                releases: Vec::new(),
            });
        }
        // The second queue wants more than the room left: under Capacity and Fair it takes it
        // back from the first, which holds more than its share.
        twin.both(SchedulerEvent::Asks {
            attempt: attempt(2),
            asks: vec![request(3, "*", 2 * GB, 6)],
            releases: Vec::new(),
        });
        twin.acquire_all();
        for second in 1..=12 {
            twin.both(SchedulerEvent::TimeAdvanced {
                now_ms: second * 1000,
            });
            twin.acquire_all();
            twin.heartbeat_all();
        }
        twin.same_reports("after preemption");
        // A recovered container of 1 finishes, another is released.
        let mut recovered_of_1 = twin
            .recovered
            .containers_of(1)
            .into_iter()
            .filter(|container| container.epoch() == 0 && container.sequence() > 1);
        let finished = recovered_of_1.next().expect("1 keeps recovered containers");
        let released = recovered_of_1.next().expect("1 keeps two");
        twin.both(SchedulerEvent::ContainerFinished {
            container: finished,
            exit_status: 0,
        });
        twin.both(SchedulerEvent::Asks {
            attempt: attempt(1),
            asks: Vec::new(),
            releases: vec![released],
        });
        twin.heartbeat_all();
        twin.same_reports("after a completion and a release");
        // Node lost, attempt ended keeping its containers, applications ended.
        twin.both(SchedulerEvent::NodeRemoved { node: node("h2") });
        twin.both(SchedulerEvent::AttemptRemoved {
            attempt: attempt(1),
            keep_containers: true,
        });
        twin.same_reports("after h2 was lost and 1's attempt ended");
        twin.both(SchedulerEvent::ApplicationRemoved {
            application: application(3),
        });
        twin.both(SchedulerEvent::AttemptRemoved {
            attempt: attempt(2),
            keep_containers: false,
        });
        twin.both(SchedulerEvent::ApplicationRemoved {
            application: application(1),
        });
        twin.same_reports("at the end");
        let mut expected = vec![
            CompletionReason::Finished,
            CompletionReason::ReleasedByApplication,
            CompletionReason::NodeLost,
            CompletionReason::ApplicationCompleted,
        ];
        if policy != Policy::Fifo {
            expected.push(CompletionReason::Preempted);
        }
        let seen = twin.recovered_completions();
        for reason in expected {
            assert!(
                seen.contains(&reason),
                "{policy:?}: no recovered container completed {reason:?}: {seen:?}"
            );
        }
    }
}

/// A scheduler after a restart with 1's AM container and one other container recovered on h1.
fn restarted(policy: Policy) -> Driver {
    let mut driver = driver(policy, 1);
    let app = &applications(policy)[0];
    add_application(&mut driver, app);
    driver.handle(SchedulerEvent::AttemptRecovered {
        attempt: attempt(1),
        am_resource: Resource::new(GB, 1),
    });
    add_node(&mut driver, "h1", "");
    add_node(&mut driver, "h2", "");
    for (sequence, memory_mb, is_am) in [(1, GB, true), (2, 2 * GB, false)] {
        driver.handle(SchedulerEvent::ContainerRecovered {
            container: ContainerId::new(attempt(1), 0, sequence),
            node: node("h1"),
            resource: Resource::new(memory_mb, 1),
            priority: if is_am { 0 } else { 1 },
            allocation_request_id: if is_am { -1 } else { 0 },
            is_am,
        });
    }
    driver
}

#[test]
fn refused_reports_change_nothing_and_ask_for_a_kill() {
    for policy in POLICIES {
        let mut driver = restarted(policy);
        // 2 is known but has no attempt yet.
        add_application(&mut driver, &applications(policy)[1]);
        let report = |container: ContainerId, host: &str, memory_mb: i64, is_am: bool| {
            SchedulerEvent::ContainerRecovered {
                container,
                node: node(host),
                resource: Resource::new(memory_mb, 1),
                priority: 1,
                allocation_request_id: 0,
                is_am,
            }
        };
        let cases = [
            (
                report(ContainerId::new(attempt(9), 0, 1), "h1", GB, false),
                RecoveryRefusal::UnknownApplication,
            ),
            (
                report(
                    ContainerId::new(ApplicationAttemptId::new(application(1), 2), 0, 1),
                    "h1",
                    GB,
                    false,
                ),
                RecoveryRefusal::NotCurrentAttempt,
            ),
            (
                report(ContainerId::new(attempt(2), 0, 1), "h1", GB, false),
                RecoveryRefusal::NotCurrentAttempt,
            ),
            (
                report(ContainerId::new(attempt(1), 0, 3), "h9", GB, false),
                RecoveryRefusal::UnknownNode,
            ),
            (
                report(ContainerId::new(attempt(1), 0, 2), "h2", 2 * GB, false),
                RecoveryRefusal::AlreadyLive,
            ),
            (
                report(ContainerId::new(attempt(1), 0, 4), "h2", GB, true),
                RecoveryRefusal::SecondAmContainer,
            ),
            (
                report(ContainerId::new(attempt(1), 0, 5), "h2", -GB, false),
                RecoveryRefusal::NegativeResource,
            ),
        ];
        for (event, reason) in cases {
            let SchedulerEvent::ContainerRecovered {
                container, node, ..
            } = event.clone()
            else {
                unreachable!()
            };
            let before = format!("{:?}", driver.scheduler);
            let actions = driver.handle(event);
            assert_eq!(
                actions,
                vec![SchedulerAction::RecoveryRefused {
                    container,
                    node,
                    reason
                }],
                "{policy:?}"
            );
            assert_eq!(
                before,
                format!("{:?}", driver.scheduler),
                "{policy:?} {reason:?}"
            );
        }
        // The same container reported again on its node is already counted.
        let before = format!("{:?}", driver.scheduler);
        let again = report(ContainerId::new(attempt(1), 0, 2), "h1", 2 * GB, false);
        assert_eq!(driver.handle(again), Vec::new());
        assert_eq!(before, format!("{:?}", driver.scheduler), "{policy:?}");
        // An attempt that still asks for its AM container gets no recovered one.
        driver.handle(SchedulerEvent::AttemptAdded {
            attempt: attempt(2),
            am_resource: Some(Resource::new(8 * GB, 4)),
        });
        driver.handle(SchedulerEvent::ContainerRecovered {
            container: ContainerId::new(attempt(1), 0, 6),
            node: node("h2"),
            resource: Resource::new(GB, 1),
            priority: 1,
            allocation_request_id: 0,
            is_am: false,
        });
        let before = format!("{:?}", driver.scheduler);
        let actions = driver.handle(report(ContainerId::new(attempt(2), 0, 1), "h1", GB, true));
        assert_eq!(
            actions,
            vec![SchedulerAction::RecoveryRefused {
                container: ContainerId::new(attempt(2), 0, 1),
                node: node("h1"),
                reason: RecoveryRefusal::SecondAmContainer
            }],
            "{policy:?}: 2 still asks for its AM"
        );
        assert_eq!(before, format!("{:?}", driver.scheduler), "{policy:?}");
        // Attempts are refused as AttemptAdded refuses them.
        for (recovered, unknown) in [(attempt(1), false), (attempt(7), true)] {
            let result = driver.scheduler.handle(SchedulerEvent::AttemptRecovered {
                attempt: recovered,
                am_resource: Resource::new(GB, 1),
            });
            let error = result.expect_err("refused").to_string();
            assert_eq!(error.contains("not known"), unknown, "{error}");
        }
    }
}

#[test]
fn the_am_resource_counts_only_once_its_container_is_recovered() {
    // The leaf's AM limit is 1 GB: a recovered AM container fills it.
    let properties = [
        ("root.queues", "default"),
        ("root.default.capacity", "100"),
        ("root.default.maximum-am-resource-percent", "0.0625"),
    ];
    for reported in [true, false] {
        let mut driver = Driver::with_epoch(
            CAPACITY_SCHEDULER_CLASS,
            &[],
            Some(&capacity_file(&properties)),
            AllocationLimits::default(),
            1,
        );
        for number in [1, 2] {
            driver.handle(SchedulerEvent::ApplicationAdded {
                application: application(number),
                queue: "default".into(),
                user: "alice".into(),
                priority: 0,
            });
        }
        driver.handle(SchedulerEvent::AttemptRecovered {
            attempt: attempt(1),
            am_resource: Resource::new(GB, 1),
        });
        add_node(&mut driver, "h1", "");
        add_node(&mut driver, "h2", "");
        let am_used = |driver: &Driver| driver.scheduler.queue_info("default").unwrap().am_used;
        assert_eq!(
            am_used(&driver),
            Resource::ZERO,
            "nothing before the report"
        );
        driver.handle(SchedulerEvent::ContainerRecovered {
            container: ContainerId::new(attempt(1), 0, 2),
            node: node("h1"),
            resource: Resource::new(2 * GB, 1),
            priority: 1,
            allocation_request_id: 0,
            is_am: false,
        });
        assert_eq!(
            am_used(&driver),
            Resource::ZERO,
            "a task container is no AM"
        );
        if reported {
            driver.handle(SchedulerEvent::ContainerRecovered {
                container: ContainerId::new(attempt(1), 0, 1),
                node: node("h1"),
                resource: Resource::new(GB, 1),
                priority: 0,
                allocation_request_id: -1,
                is_am: true,
            });
            assert_eq!(am_used(&driver), Resource::new(GB, 1));
        }
        // A new application's AM container: held by the AM limit only if 1's AM counts.
        let actions = driver.handle(SchedulerEvent::AttemptAdded {
            attempt: attempt(2),
            am_resource: Some(Resource::new(GB, 1)),
        });
        let allocated = actions
            .iter()
            .any(|action| matches!(action, SchedulerAction::Allocated { is_am: true, .. }));
        assert_eq!(allocated, !reported, "reported: {reported}");
        if reported {
            assert!(
                matches!(
                    driver.scheduler.explain(application(2)),
                    Some(WaitReason::AmResourceLimit { .. })
                ),
                "{:?}",
                driver.scheduler.explain(application(2))
            );
            // The recovered AM container frees the AM limit like an allocated one.
            let actions = driver.handle(SchedulerEvent::ContainerFinished {
                container: ContainerId::new(attempt(1), 0, 1),
                exit_status: 0,
            });
            assert!(actions
                .iter()
                .any(|action| matches!(action, SchedulerAction::Allocated { is_am: true, .. })));
        }
    }
}

#[test]
fn recovery_allocates_nothing_and_a_node_may_be_overcommitted() {
    for policy in POLICIES {
        let mut driver = driver(policy, 1);
        for app in applications(policy) {
            add_application(&mut driver, &app);
        }
        // 2 is waiting for its AM container when the node registers; 1 was recovered.
        driver.handle(SchedulerEvent::AttemptRecovered {
            attempt: attempt(1),
            am_resource: Resource::new(GB, 1),
        });
        driver.handle(SchedulerEvent::NodeAdded {
            node: node("h1"),
            rack: String::new(),
            capability: Resource::new(4 * GB, 4),
        });
        for (sequence, memory_mb) in [(1, GB), (2, 2 * GB), (3, 2 * GB)] {
            let actions = driver.handle(SchedulerEvent::ContainerRecovered {
                container: ContainerId::new(attempt(1), 0, sequence),
                node: node("h1"),
                resource: Resource::new(memory_mb, 1),
                priority: 1,
                allocation_request_id: 0,
                is_am: sequence == 1,
            });
            assert_eq!(actions, Vec::new());
        }
        let report = driver.scheduler.node_report(&node("h1")).unwrap();
        assert_eq!(report.available, Resource::new(-GB, 1), "{policy:?}");
        // An AM container that fits nowhere waits; 1's next container goes where there is room.
        let actions = driver.handle(SchedulerEvent::AttemptAdded {
            attempt: attempt(2),
            am_resource: Some(Resource::new(GB, 1)),
        });
        assert_eq!(actions, Vec::new(), "{policy:?}: h1 is overcommitted");
        driver.handle(SchedulerEvent::NodeHeartbeat { node: node("h1") });
        assert!(driver.containers_of(2).is_empty(), "{policy:?}");
        driver.finish(ContainerId::new(attempt(1), 0, 2));
        assert_eq!(
            driver.containers_of(2),
            vec![ContainerId::new(attempt(2), 1, 1)],
            "{policy:?}: the AM container goes once h1 drained"
        );
    }
}

/// Recovers `containers` (reports on nodes h1..h4 of applications 1..3) in the given order on a
/// scheduler that has registered every node and recovered every attempt.
fn recover_in_order(policy: Policy, containers: &[ContainerReport]) -> Driver {
    let mut driver = driver(policy, 1);
    for app in applications(policy) {
        add_application(&mut driver, &app);
        driver.handle(SchedulerEvent::AttemptRecovered {
            attempt: attempt(app.number),
            am_resource: Resource::new(GB, 1),
        });
    }
    for host in ["h1", "h2", "h3", "h4"] {
        add_node(&mut driver, host, "");
    }
    for report in containers {
        assert_eq!(driver.handle(recover_event(report)), Vec::new());
    }
    driver
}

fn random_containers() -> impl Strategy<Value = Vec<ContainerReport>> {
    proptest::collection::vec((1i32..4, 0usize..4, 1i64..5, 1i64..4, 0u8..3), 1..16).prop_map(
        |specs| {
            let mut sequences = BTreeMap::new();
            specs
                .into_iter()
                .map(|(app, host, memory_gb, vcores, priority)| {
                    let sequence = sequences.entry(app).or_insert(0);
                    *sequence += 1;
                    // Each application's first container is its AM.
                    let is_am = *sequence == 1 && app != 3;
                    ContainerReport {
                        container: ContainerId::new(attempt(app), 0, *sequence),
                        attempt: attempt(app),
                        node: node(["h1", "h2", "h3", "h4"][host]),
                        resource: Resource::new(memory_gb * GB / 2, vcores),
                        priority: if is_am { 0 } else { priority as i32 + 1 },
                        allocation_request_id: if is_am { -1 } else { 0 },
                        is_am,
                        locality: Locality::OffSwitch,
                        acquired: true,
                    }
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever order NodeManagers report containers in, the scheduler counts the same usage,
    /// reports the same shares, and then makes the same decisions.
    #[test]
    fn the_order_of_reports_does_not_matter(
        containers in random_containers(),
        seed in any::<u64>(),
    ) {
        for policy in POLICIES {
            let mut order = containers.clone();
            // A deterministic shuffle from the generated seed.
            let mut random = support::Random::new(seed);
            for i in (1..order.len()).rev() {
                order.swap(i, random.below(i + 1));
            }
            let mut first = recover_in_order(policy, &containers);
            let mut second = recover_in_order(policy, &order);
            prop_assert_eq!(usage(&first.scheduler), usage(&second.scheduler), "{:?}", policy);
            // Usage adds up to the reports.
            let total = containers.iter().fold(Resource::ZERO, |total, c| total.add(&c.resource));
            prop_assert_eq!(&first.scheduler.cluster_metrics().allocated, &total);
            for driver in [&mut first, &mut second] {
                for app in applications(policy) {
                    driver.handle(SchedulerEvent::Asks {
                        attempt: attempt(app.number),
                        asks: Vec::new(),
                        releases: Vec::new(),
                    });
                }
            }
            let none = BTreeMap::new();
            prop_assert_eq!(snapshot(&first.scheduler, &none), snapshot(&second.scheduler, &none), "{:?}", policy);
            for number in [2, 1, 3] {
                let ask = SchedulerEvent::Asks {
                    attempt: attempt(number),
                    asks: vec![request(5, "*", GB, 6)],
                    releases: Vec::new(),
                };
                prop_assert_eq!(first.handle(ask.clone()), second.handle(ask), "{:?}", policy);
            }
            for host in ["h1", "h2", "h3", "h4"] {
                let heartbeat = SchedulerEvent::NodeHeartbeat { node: node(host) };
                prop_assert_eq!(first.handle(heartbeat.clone()), second.handle(heartbeat), "{:?}", policy);
            }
            let none = BTreeMap::new();
            prop_assert_eq!(snapshot(&first.scheduler, &none), snapshot(&second.scheduler, &none), "{:?}", policy);
        }
    }
}

#[test]
fn the_recovery_wait_places_nothing_until_it_ends_then_everything() {
    for policy in POLICIES {
        let mut driver = driver(policy, 1);
        driver.handle(SchedulerEvent::TimeAdvanced { now_ms: 1_000 });
        driver.handle(SchedulerEvent::RecoveryWait { until_ms: 11_000 });
        let apps = applications(policy);
        for app in &apps {
            add_application(&mut driver, app);
        }
        driver.handle(SchedulerEvent::AttemptRecovered {
            attempt: attempt(1),
            am_resource: Resource::new(GB, 1),
        });
        // 2's AM container and 1's re-sent asks wait, though h1 has room.
        driver.handle(SchedulerEvent::AttemptAdded {
            attempt: attempt(2),
            am_resource: Some(Resource::new(GB, 1)),
        });
        // Smaller than the configured maximum (8 GB).
        driver.add_node("h1", "", Resource::new(4 * GB, 8));
        driver.ask_anywhere(1, Resource::new(GB, 1), 2);
        for now_ms in [2_000, 6_000, 10_999] {
            driver.handle(SchedulerEvent::TimeAdvanced { now_ms });
            driver.heartbeat_all();
            assert!(driver.scheduler.waiting_for_recovery(), "{policy:?}");
            assert_eq!(
                driver.scheduler.maximum_allocation(),
                AllocationLimits::default().maximum,
                "{policy:?}: the configured maximum while nodes re-register"
            );
            assert!(driver.containers_of(1).is_empty(), "{policy:?}");
            assert!(driver.containers_of(2).is_empty(), "{policy:?}");
            assert_eq!(
                driver.scheduler.explain(application(2)),
                Some(WaitReason::RecoveryWait { until_ms: 11_000 }),
                "{policy:?}"
            );
        }
        // Once the wait is over, the first event places what waited.
        driver.handle(SchedulerEvent::TimeAdvanced { now_ms: 11_000 });
        assert!(!driver.scheduler.waiting_for_recovery());
        assert_eq!(driver.containers_of(2).len(), 1, "{policy:?}: 2's AM");
        driver.heartbeat_all();
        assert!(!driver.containers_of(1).is_empty(), "{policy:?}: 1's asks");
        let configured = AllocationLimits::default().maximum;
        assert_eq!(
            driver.scheduler.maximum_allocation().memory_mb,
            4 * GB,
            "{policy:?}: the largest node's once the wait is over (configured {configured:?})"
        );
    }
}
