//! The usage application reports carry, in the core with injected time: resource-seconds of
//! completed and running containers summed over attempts, what preemption took, the queue and
//! cluster percentages, YARN's -1 usage once an application ended, and the launch time and
//! final tracking URL.

use spindle_proto::yarn::*;
use spindle_rm::core::{Effect, RmCore};
use spindle_rm::settings::RmSettings;
use spindle_types::{
    exit_status, ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource,
};

const TS: i64 = 1_700_000_000_000;

fn settings() -> RmSettings {
    RmSettings {
        cluster_timestamp: TS,
        am_expiry_ms: 600_000,
        nm_expiry_ms: 600_000,
        max_attempts: 2,
        ..Default::default()
    }
}

/// A core, its clock, and the AM/NM calls the tests make.
struct Cluster {
    core: RmCore,
    now: i64,
}

impl Cluster {
    fn new() -> Self {
        Self::with_scheduler(None)
    }

    /// A core under the scheduler `class` configured by `file` (capacity-scheduler.xml or the
    /// Fair allocation file) and `site` keys.
    fn configured(
        class: &str,
        site: &[(&str, &str)],
        source_name: &'static str,
        file: &str,
    ) -> Self {
        let site = site
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = settings();
        let limits = spindle_scheduler::AllocationLimits {
            minimum: settings.minimum_allocation.clone(),
            maximum: settings.maximum_allocation.clone(),
            increment: settings.minimum_allocation.clone(),
        };
        let config = spindle_scheduler::scheduler_config_from_files(
            class,
            &site,
            Some(spindle_scheduler::SchedulerFile {
                source_name,
                text: file,
            }),
            0,
            limits,
        )
        .unwrap();
        Self::with_scheduler(Some(config))
    }

    fn with_scheduler(config: Option<spindle_scheduler::SchedulerConfig>) -> Self {
        Self {
            core: RmCore::with_scheduler(settings(), config).unwrap(),
            now: TS,
        }
    }

    fn step(&mut self, ms: i64) {
        self.now += ms;
        self.core.tick(self.now);
        self.core.check_invariants().unwrap();
    }

    fn add_node(&mut self, memory_mb: i64, vcores: i64) -> NodeId {
        let node = NodeId::new("n1", 8041);
        self.core
            .register_node(
                &RegisterNodeManagerRequestProto {
                    node_id: Some((&node).into()),
                    http_port: Some(8042),
                    resource: Some((&Resource::new(memory_mb, vcores)).into()),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        node
    }

    fn heartbeat(&mut self, node: &NodeId, statuses: Vec<ContainerStatusProto>) {
        self.core
            .node_heartbeat(
                &NodeHeartbeatRequestProto {
                    node_status: Some(NodeStatusProto {
                        node_id: Some(node.into()),
                        containers_statuses: statuses,
                        node_health_status: Some(NodeHealthStatusProto {
                            is_node_healthy: Some(true),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        self.core.check_invariants().unwrap();
    }

    /// Submits an application with a 1024 MB / 1 vcore AM to `queue`.
    fn submit(&mut self, queue: &str) -> ApplicationId {
        let (id, _) = self.core.new_application();
        self.core
            .submit_application(
                "alice",
                ApplicationSubmissionContextProto {
                    application_id: Some(id.into()),
                    queue: Some(queue.into()),
                    am_container_spec: Some(ContainerLaunchContextProto {
                        command: vec!["sleep 100".into()],
                        ..Default::default()
                    }),
                    resource: Some((&Resource::new(1024, 1)).into()),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        id
    }

    /// Starts the AM containers the core asked for (now); returns (attempt, AM container).
    fn launch_ams(&mut self) -> Vec<(ApplicationAttemptId, ContainerId)> {
        let launched: Vec<_> = self
            .core
            .take_effects()
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::LaunchAm {
                    attempt, container, ..
                } => Some((attempt, cid(&container))),
                Effect::Persist { .. } => None,
            })
            .collect();
        for (attempt, _) in &launched {
            self.core.am_launched(*attempt, Ok(()), self.now);
        }
        launched
    }

    fn register(&mut self, attempt: ApplicationAttemptId, tracking_url: &str) {
        self.core
            .register_application_master(
                attempt,
                &RegisterApplicationMasterRequestProto {
                    host: Some("am-host".into()),
                    rpc_port: Some(1),
                    tracking_url: Some(tracking_url.into()),
                },
                self.now,
            )
            .unwrap();
    }

    /// One allocate call asking for `n` containers of `capability` (0 asks nothing new).
    fn allocate(
        &mut self,
        attempt: ApplicationAttemptId,
        response_id: i32,
        capability: Resource,
        n: i32,
    ) -> AllocateResponseProto {
        let ask = ResourceRequestProto {
            priority: Some(PriorityProto { priority: Some(1) }),
            resource_name: Some("*".into()),
            capability: Some((&capability).into()),
            num_containers: Some(n),
            relax_locality: Some(true),
            allocation_request_id: Some(0),
            ..Default::default()
        };
        let response = self
            .core
            .allocate(
                attempt,
                &AllocateRequestProto {
                    ask: if n > 0 { vec![ask] } else { vec![] },
                    response_id: Some(response_id),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        self.core.check_invariants().unwrap();
        response
    }

    fn finish(&mut self, attempt: ApplicationAttemptId, final_tracking_url: Option<&str>) {
        self.core
            .finish_application_master(
                attempt,
                &FinishApplicationMasterRequestProto {
                    final_application_status: Some(
                        FinalApplicationStatusProto::AppSucceeded as i32,
                    ),
                    tracking_url: final_tracking_url.map(str::to_string),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
    }

    fn report(&self, app: ApplicationId) -> ApplicationReportProto {
        self.core
            .application_report(self.core.application(app).unwrap(), self.now)
    }

    fn usage(&self, app: ApplicationId) -> ApplicationResourceUsageReportProto {
        self.report(app).app_resource_usage.unwrap()
    }
}

fn cid(c: &ContainerProto) -> ContainerId {
    ContainerId::try_from(c.id.as_ref().unwrap()).unwrap()
}

fn completed(id: ContainerId, exit: i32) -> ContainerStatusProto {
    ContainerStatusProto {
        container_id: Some(id.into()),
        state: Some(ContainerStateProto::CComplete as i32),
        exit_status: Some(exit),
        ..Default::default()
    }
}

/// (MB-seconds, vcore-seconds) as the report's fields and its per-type map must both say.
fn seconds(usage: &ApplicationResourceUsageReportProto) -> (i64, i64) {
    let in_map = |key: &str| {
        usage
            .application_resource_usage_map
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value)
    };
    let fields = (usage.memory_seconds(), usage.vcore_seconds());
    assert_eq!(
        (in_map("memory-mb"), in_map("vcores")),
        (Some(fields.0), Some(fields.1)),
        "the map and the fields agree"
    );
    fields
}

fn preempted_seconds(usage: &ApplicationResourceUsageReportProto) -> (i64, i64) {
    (
        usage.preempted_memory_seconds(),
        usage.preempted_vcore_seconds(),
    )
}

/// An application with a 2048 MB / 2 vcore container for 10 s beside its 1024 MB / 1 vcore AM:
/// the container's 20480 MB-seconds and 20 vcore-seconds count while it runs and stay once it
/// completed, the AM's keep counting until it exits; then the usage is YARN's -1 and the seconds
/// no longer move.
#[test]
fn containers_add_resource_seconds_while_they_run_and_when_they_complete() {
    let mut c = Cluster::new();
    let node = c.add_node(8192, 8);
    let app = c.submit("default");
    let (attempt, am) = c.launch_ams().remove(0);
    c.register(attempt, "");
    let r = c.allocate(attempt, 0, Resource::new(2048, 2), 1);
    assert_eq!(r.allocated_containers.len(), 1);
    let executor = cid(&r.allocated_containers[0]);
    assert_eq!(seconds(&c.usage(app)), (0, 0), "nothing used yet");

    c.step(10_000);
    // Running for 10 s: the AM's 1024 × 10 and the executor's 2048 × 10 so far.
    let usage = c.usage(app);
    assert_eq!(seconds(&usage), (10_240 + 20_480, 10 + 20));
    assert_eq!(usage.num_used_containers(), 2);
    assert_eq!(
        Resource::try_from(usage.used_resources.as_ref().unwrap()).unwrap(),
        Resource::new(3072, 3)
    );

    c.heartbeat(&node, vec![completed(executor, 0)]);
    c.step(5_000);
    // The executor's 20480 MB-seconds stay; the AM, alone now, adds 5 s more.
    let usage = c.usage(app);
    assert_eq!(seconds(&usage), (15_360 + 20_480, 15 + 20));
    assert_eq!(usage.num_used_containers(), 1);

    c.finish(attempt, None);
    c.step(1_000);
    c.heartbeat(&node, vec![completed(am, 0)]);
    let ended = c.usage(app);
    assert_eq!(seconds(&ended), (16_384 + 20_480, 16 + 20));
    assert_eq!(
        ended.num_used_containers(),
        -1,
        "YARN's usage of an ended application"
    );
    assert_eq!(ended.num_reserved_containers(), -1);
    for resource in [
        &ended.used_resources,
        &ended.reserved_resources,
        &ended.needed_resources,
    ] {
        let resource = resource.as_ref().unwrap();
        assert_eq!((resource.memory(), resource.virtual_cores()), (-1, -1));
    }
    c.step(60_000);
    assert_eq!(seconds(&c.usage(app)), (16_384 + 20_480, 16 + 20));
    assert_eq!(preempted_seconds(&c.usage(app)), (0, 0));
}

/// An application whose first AM fails after 4 s and whose second runs 6 s: its report sums
/// both attempts, also once the second failed and the application ended.
#[test]
fn the_application_sums_its_attempts() {
    let mut c = Cluster::new();
    let node = c.add_node(8192, 8);
    let app = c.submit("default");
    let (_, am1) = c.launch_ams().remove(0);
    c.step(4_000);
    c.heartbeat(&node, vec![completed(am1, 1)]);
    let (attempt2, am2) = c.launch_ams().remove(0);
    assert_eq!(attempt2.attempt_id, 2);
    c.step(6_000);
    assert_eq!(seconds(&c.usage(app)), (4_096 + 6_144, 4 + 6));
    assert_eq!(c.usage(app).num_used_containers(), 1, "attempt 2's AM");
    c.heartbeat(&node, vec![completed(am2, 1)]);
    assert!(c.core.application(app).unwrap().state.is_final());
    c.step(3_000);
    let usage = c.usage(app);
    assert_eq!(seconds(&usage), (4_096 + 6_144, 4 + 6));
    assert_eq!(usage.num_used_containers(), -1);
}

/// A Fair queue over its share loses containers to a starved one: the preempted containers'
/// resource-seconds show apart (and within the total), and they count as non-AM preemptions.
#[test]
fn preempted_containers_count_apart() {
    let mut c = Cluster::configured(
        spindle_scheduler::FAIR_SCHEDULER_CLASS,
        &[
            ("yarn.scheduler.fair.preemption", "true"),
            ("yarn.scheduler.fair.waitTimeBeforeKill", "1000"),
        ],
        "fair-scheduler.xml",
        r#"<allocations><queue name="a"/><queue name="b"><fairSharePreemptionTimeout>2</fairSharePreemptionTimeout></queue></allocations>"#,
    );
    let node = c.add_node(4096, 8);
    let a = c.submit("a");
    let (attempt_a, _) = c.launch_ams().remove(0);
    c.register(attempt_a, "");
    // Each executor: when it was allocated.
    let mut allocated_at: Vec<(ContainerId, i64)> = Vec::new();
    let mut response_id = 0;
    let mut asks = 3;
    for _ in 0..10 {
        let r = c.allocate(attempt_a, response_id, Resource::new(1024, 1), asks);
        asks = 0;
        response_id = r.response_id();
        allocated_at.extend(r.allocated_containers.iter().map(|x| (cid(x), c.now)));
        if allocated_at.len() == 3 {
            break;
        }
        c.step(500);
        c.heartbeat(&node, vec![]);
    }
    assert_eq!(allocated_at.len(), 3, "queue a fills the idle cluster");
    c.submit("b");
    let mut expected = (0, 0);
    let mut preempted = 0;
    for _ in 0..12 {
        c.step(500);
        c.heartbeat(&node, vec![]);
        let r = c.allocate(attempt_a, response_id, Resource::ZERO, 0);
        response_id = r.response_id();
        for status in &r.completed_container_statuses {
            assert_eq!(status.exit_status, Some(exit_status::PREEMPTED));
            let id = ContainerId::try_from(status.container_id.as_ref().unwrap()).unwrap();
            let (_, since) = allocated_at.iter().find(|(c, _)| *c == id).unwrap();
            // Preempted during this step: held from its allocation until now.
            expected.0 += 1024 * (c.now - since) / 1000;
            expected.1 += (c.now - since) / 1000;
            preempted += 1;
        }
    }
    assert!(preempted > 0, "queue b got room by preemption");
    let usage = c.usage(a);
    assert_eq!(preempted_seconds(&usage), expected);
    let total = seconds(&usage);
    assert!(
        total.0 > expected.0 && total.1 > expected.1,
        "{total:?} {expected:?}"
    );
    let preempted_map: Vec<(&str, i64)> = usage
        .application_preempted_resource_usage_map
        .iter()
        .map(|e| (e.key.as_str(), e.value))
        .collect();
    assert_eq!(
        preempted_map,
        [("memory-mb", expected.0), ("vcores", expected.1)]
    );
    let metrics = c
        .core
        .application_metrics(c.core.application(a).unwrap(), c.now);
    assert_eq!(metrics.preempted_non_am_containers, preempted);
    assert_eq!(metrics.preempted_am_containers, 0);
    assert_eq!(
        metrics.preempted_resource,
        Resource::new(1024 * i64::from(preempted), i64::from(preempted))
    );
}

/// The percentages: the application's used resources over its Capacity queue's guaranteed
/// resources (a quarter of the cluster) and over the cluster, by memory (the default calculator).
#[test]
fn usage_is_a_percentage_of_the_queue_and_of_the_cluster() {
    let mut c = Cluster::configured(
        spindle_scheduler::CAPACITY_SCHEDULER_CLASS,
        &[],
        "capacity-scheduler.xml",
        r#"<configuration>
  <property><name>yarn.scheduler.capacity.root.queues</name><value>a,b</value></property>
  <property><name>yarn.scheduler.capacity.root.a.capacity</name><value>25</value></property>
  <property><name>yarn.scheduler.capacity.root.a.maximum-capacity</name><value>100</value></property>
  <property><name>yarn.scheduler.capacity.root.b.capacity</name><value>75</value></property>
</configuration>"#,
    );
    let node = c.add_node(8192, 8);
    let app = c.submit("a");
    let (attempt, _) = c.launch_ams().remove(0);
    c.register(attempt, "");
    let usage = c.usage(app);
    // 1024 MB of the queue's 2048 and of the cluster's 8192.
    assert_eq!(usage.queue_usage_percentage(), 50.0);
    assert_eq!(usage.cluster_usage_percentage(), 12.5);
    // Beyond its guarantee: the elastic room comes with a node heartbeat.
    let mut response = c.allocate(attempt, 0, Resource::new(2048, 1), 1);
    for _ in 0..10 {
        if !response.allocated_containers.is_empty() {
            break;
        }
        c.step(500);
        c.heartbeat(&node, vec![]);
        response = c.allocate(attempt, response.response_id(), Resource::ZERO, 0);
    }
    assert_eq!(response.allocated_containers.len(), 1);
    let usage = c.usage(app);
    assert_eq!(
        usage.queue_usage_percentage(),
        150.0,
        "beyond its guarantee"
    );
    assert_eq!(usage.cluster_usage_percentage(), 37.5);
}

/// Start, launch and finish times and the tracking URL: the launch time is the AM container's
/// launch (not the AM's registration), and the URL the AM gives as it unregisters replaces the
/// one it registered with.
#[test]
fn times_and_the_final_tracking_url_are_reported() {
    let mut c = Cluster::new();
    let node = c.add_node(8192, 8);
    let submitted = c.now;
    let app = c.submit("default");
    c.step(1_000);
    let launched = c.now;
    let (attempt, am) = c.launch_ams().remove(0);
    c.step(2_000);
    c.register(attempt, "http://am-host:4040/");
    let report = c.report(app);
    assert_eq!(report.start_time(), submitted);
    assert_eq!(report.launch_time(), launched);
    assert_eq!(report.finish_time(), 0);
    assert_eq!(report.original_tracking_url(), "http://am-host:4040/");
    c.step(2_000);
    let finished = c.now;
    c.finish(attempt, Some("http://history:18080/app"));
    c.heartbeat(&node, vec![completed(am, 0)]);
    let report = c.report(app);
    assert_eq!(report.finish_time(), finished);
    assert_eq!(report.launch_time(), launched);
    assert_eq!(report.original_tracking_url(), "http://history:18080/app");
    assert_eq!(report.tracking_url(), "http://history:18080/app");
}

/// An AM that unregisters without a final URL leaves none (YARN reports "N/A").
#[test]
fn an_unregistration_without_a_url_reports_none() {
    let mut c = Cluster::new();
    c.add_node(8192, 8);
    let app = c.submit("default");
    let (attempt, _) = c.launch_ams().remove(0);
    c.register(attempt, "http://am-host:4040/");
    c.finish(attempt, None);
    assert_eq!(c.report(app).original_tracking_url(), "N/A");
}
