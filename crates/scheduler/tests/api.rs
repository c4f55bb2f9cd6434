//! The RM-facing API outside the scenario files: configuration, limits, reports, exit statuses.

use spindle_scheduler::{
    AllocationLimits, CompletionReason, Locality, ResourceRequest, Scheduler, SchedulerAction,
    SchedulerConfig, SchedulerError, SchedulerEvent,
};
use spindle_types::{exit_status, ApplicationAttemptId, ApplicationId, NodeId, Resource};

fn scheduler() -> Scheduler {
    Scheduler::new(SchedulerConfig::default()).unwrap()
}

fn add_node(scheduler: &mut Scheduler, host: &str, capability: Resource) -> Vec<SchedulerAction> {
    scheduler
        .handle(SchedulerEvent::NodeAdded {
            node: NodeId::new(host, 8041),
            rack: String::new(),
            capability,
        })
        .unwrap()
}

fn add_application(scheduler: &mut Scheduler, id: i32) -> ApplicationAttemptId {
    add_application_placing(scheduler, id).0
}

/// Adds application `id` to root.default as alice with its first attempt (a 1 GB AM): the
/// attempt, and what adding it placed.
fn add_application_placing(
    scheduler: &mut Scheduler,
    id: i32,
) -> (ApplicationAttemptId, Vec<SchedulerAction>) {
    let application = ApplicationId::new(1, id);
    scheduler
        .handle(SchedulerEvent::ApplicationAdded {
            application,
            queue: "root.default".into(),
            user: "alice".into(),
            priority: 0,
        })
        .unwrap();
    let attempt = ApplicationAttemptId::new(application, 1);
    let actions = scheduler
        .handle(SchedulerEvent::AttemptAdded {
            attempt,
            am_resource: Some(Resource::new(1024, 1)),
        })
        .unwrap();
    (attempt, actions)
}

#[test]
fn maximum_allocation_is_configured_until_nodes_register_then_bounded_by_the_largest() {
    let mut scheduler = scheduler();
    assert_eq!(scheduler.maximum_allocation(), Resource::new(8192, 4));
    add_node(&mut scheduler, "small", Resource::new(4096, 16));
    assert_eq!(scheduler.maximum_allocation(), Resource::new(4096, 4));
    add_node(&mut scheduler, "large", Resource::new(6144, 2));
    assert_eq!(scheduler.maximum_allocation(), Resource::new(6144, 4));
    scheduler
        .handle(SchedulerEvent::NodeRemoved {
            node: NodeId::new("large", 8041),
        })
        .unwrap();
    assert_eq!(scheduler.effective_limits().maximum, Resource::new(4096, 4));
}

#[test]
fn configuration_replacement_changes_limits_but_never_the_epoch() {
    let mut scheduler = Scheduler::new(SchedulerConfig {
        rm_epoch: 4,
        ..SchedulerConfig::default()
    })
    .unwrap();
    let mut config = scheduler.config().clone();
    config.limits.minimum = Resource::new(256, 1);
    config.limits.increment = Resource::new(256, 1);
    scheduler
        .handle(SchedulerEvent::ConfigurationReplaced {
            config: Box::new(config.clone()),
        })
        .unwrap();
    add_node(&mut scheduler, "h1", Resource::new(8192, 8));
    let attempt = add_application(&mut scheduler, 1);
    let ask = ResourceRequest::anywhere(1, Resource::new(300, 1), 1);
    let actions = scheduler
        .handle(SchedulerEvent::Asks {
            attempt,
            asks: vec![ask],
            releases: vec![],
        })
        .unwrap();
    assert!(
        matches!(&actions[..], [SchedulerAction::Allocated { resource, container, .. }]
            if *resource == Resource::new(512, 1) && container.epoch() == 4),
        "{actions:?}"
    );
    config.rm_epoch = 5;
    let refused = scheduler
        .handle(SchedulerEvent::ConfigurationReplaced {
            config: Box::new(config),
        })
        .unwrap_err();
    assert_eq!(
        refused,
        SchedulerError::EpochChange {
            current: 4,
            requested: 5
        }
    );
    assert_eq!(scheduler.config().rm_epoch, 4);
}

#[test]
fn invalid_configurations_are_refused() {
    let config = SchedulerConfig {
        limits: AllocationLimits {
            minimum: Resource::new(4096, 1),
            maximum: Resource::new(2048, 4),
            increment: Resource::new(4096, 1),
        },
        ..SchedulerConfig::default()
    };
    let error = Scheduler::new(config).unwrap_err();
    assert!(error.to_string().contains("exceeds the maximum"), "{error}");
    let error = Scheduler::new(SchedulerConfig {
        rm_epoch: -1,
        ..SchedulerConfig::default()
    })
    .unwrap_err();
    assert!(matches!(error, SchedulerError::InvalidConfiguration { .. }));
}

#[test]
fn completion_reasons_map_to_yarn_exit_statuses_and_diagnostics() {
    assert_eq!(CompletionReason::Finished.exit_status(), None);
    for reason in [
        CompletionReason::ReleasedByApplication,
        CompletionReason::NodeLost,
        CompletionReason::ApplicationCompleted,
        CompletionReason::Expired,
    ] {
        assert_eq!(
            reason.exit_status(),
            Some(exit_status::ABORTED),
            "{reason:?}"
        );
    }
    assert_eq!(
        CompletionReason::Preempted.exit_status(),
        Some(exit_status::PREEMPTED)
    );
    assert_eq!(
        CompletionReason::ReleasedByApplication.diagnostics(),
        "Container released by application"
    );
    assert_eq!(
        CompletionReason::NodeLost.diagnostics(),
        "Container released on a *lost* node"
    );
    assert!(CompletionReason::ReleasedByApplication.requires_container_kill());
    assert!(!CompletionReason::NodeLost.requires_container_kill());
    assert!(!CompletionReason::Finished.requires_container_kill());
}

#[test]
fn reports_describe_containers_applications_queues_and_time() {
    let mut scheduler = scheduler();
    add_node(&mut scheduler, "h1", Resource::new(4096, 4));
    let attempt = add_application(&mut scheduler, 7);
    let application = attempt.application_id;
    let usage = scheduler.application_usage(application).unwrap();
    assert_eq!(
        (usage.queue.as_str(), usage.user.as_str()),
        ("root.default", "alice")
    );
    assert_eq!(usage.current_attempt, Some(attempt));
    let am = &usage.containers[0];
    assert!(am.is_am && am.acquired);
    assert_eq!(
        (am.priority, am.allocation_request_id, am.locality),
        (0, -1, Locality::OffSwitch)
    );
    assert_eq!(am.container.to_string(), "container_1_0007_01_000001");
    assert_eq!(scheduler.container_report(am.container).unwrap(), *am);
    assert_eq!(scheduler.application_ids(), vec![application]);
    let queues = scheduler.queue_infos();
    assert_eq!(
        queues.iter().map(|q| q.path.as_str()).collect::<Vec<_>>(),
        vec!["root", "root.default"]
    );
    assert_eq!(queues[0].children, vec!["root.default".to_string()]);
    assert_eq!(
        (queues[1].name.as_str(), queues[1].used.clone()),
        ("default", Resource::new(1024, 1))
    );
    assert_eq!(
        scheduler.node_reports()[0].available,
        Resource::new(3072, 3)
    );
    scheduler
        .handle(SchedulerEvent::TimeAdvanced { now_ms: 5_000 })
        .unwrap();
    scheduler
        .handle(SchedulerEvent::TimeAdvanced { now_ms: 4_000 })
        .unwrap();
    assert_eq!(scheduler.now_ms(), 5_000, "time never goes back");
}

#[test]
fn headroom_is_bounded_by_the_user_limit_the_queue_maximum_and_the_cluster() {
    let site = std::collections::BTreeMap::new();
    let xml = "<configuration>
        <property><name>yarn.scheduler.capacity.root.queues</name><value>a,b</value></property>
        <property><name>yarn.scheduler.capacity.root.a.capacity</name><value>50</value></property>
        <property><name>yarn.scheduler.capacity.root.a.maximum-capacity</name><value>75</value></property>
        <property><name>yarn.scheduler.capacity.root.a.user-limit-factor</name><value>2</value></property>
        <property><name>yarn.scheduler.capacity.root.b.capacity</name><value>50</value></property>
      </configuration>";
    let config = spindle_scheduler::scheduler_config_from_files(
        spindle_scheduler::CAPACITY_SCHEDULER_CLASS,
        &site,
        Some(spindle_scheduler::SchedulerFile {
            source_name: "capacity-scheduler.xml",
            text: xml,
        }),
        0,
        AllocationLimits::default(),
    )
    .unwrap();
    let mut scheduler = Scheduler::new(config).unwrap();
    add_node(&mut scheduler, "h1", Resource::new(8192, 8));
    let application = ApplicationId::new(1, 1);
    scheduler
        .handle(SchedulerEvent::ApplicationAdded {
            application,
            queue: "a".into(),
            user: "alice".into(),
            priority: 0,
        })
        .unwrap();
    // Below the queue's capacity a user's limit is that capacity (YARN's user limit), within
    // the queue's 75% maximum.
    assert_eq!(
        scheduler.headroom(application),
        Some(Resource::new(4096, 4))
    );
    let attempt = ApplicationAttemptId::new(application, 1);
    scheduler
        .handle(SchedulerEvent::AttemptAdded {
            attempt,
            am_resource: Some(Resource::new(1024, 1)),
        })
        .unwrap();
    assert_eq!(
        scheduler.headroom(application),
        Some(Resource::new(3072, 3))
    );
    assert_eq!(scheduler.headroom(ApplicationId::new(1, 9)), None);
    // FIFO: the cluster's free resources.
    let mut fifo = Scheduler::new(SchedulerConfig::default()).unwrap();
    add_node(&mut fifo, "h1", Resource::new(8192, 8));
    let attempt = add_application(&mut fifo, 1);
    assert_eq!(
        fifo.headroom(attempt.application_id),
        Some(Resource::new(7168, 7))
    );
}

#[test]
fn queue_guarantees_follow_the_cluster_as_nodes_register_before_and_after_applications() {
    let xml = "<configuration>
        <property><name>yarn.scheduler.capacity.root.queues</name><value>a,b</value></property>
        <property><name>yarn.scheduler.capacity.root.a.capacity</name><value>75</value></property>
        <property><name>yarn.scheduler.capacity.root.b.capacity</name><value>25</value></property>
      </configuration>";
    let config = spindle_scheduler::scheduler_config_from_files(
        spindle_scheduler::CAPACITY_SCHEDULER_CLASS,
        &std::collections::BTreeMap::new(),
        Some(spindle_scheduler::SchedulerFile {
            source_name: "capacity-scheduler.xml",
            text: xml,
        }),
        0,
        AllocationLimits::default(),
    )
    .unwrap();
    let mut scheduler = Scheduler::new(config).unwrap();
    let guaranteed = |scheduler: &Scheduler, queue: &str| {
        scheduler.queue_info(queue).unwrap().guaranteed.memory_mb
    };
    // Nodes registering on an idle scheduler: the queues' guarantees are those of the cluster
    // at every step.
    for (count, host) in ["h1", "h2", "h3"].into_iter().enumerate() {
        add_node(&mut scheduler, host, Resource::new(8192, 8));
        let cluster = 8192 * (count as i64 + 1);
        assert_eq!(guaranteed(&scheduler, "a"), cluster * 3 / 4);
        assert_eq!(guaranteed(&scheduler, "b"), cluster / 4);
        scheduler.check_invariants().unwrap();
    }
    let application = ApplicationId::new(1, 1);
    scheduler
        .handle(SchedulerEvent::ApplicationAdded {
            application,
            queue: "b".into(),
            user: "alice".into(),
            priority: 0,
        })
        .unwrap();
    scheduler.check_invariants().unwrap();
    add_node(&mut scheduler, "h4", Resource::new(8192, 8));
    assert_eq!(guaranteed(&scheduler, "b"), 8192);
    assert_eq!(
        scheduler.headroom(application),
        Some(Resource::new(8192, 8)),
        "the user limit is the queue's capacity of the grown cluster"
    );
    scheduler.check_invariants().unwrap();
}

/// The nodes the actions allocate on.
fn allocated_on(actions: &[SchedulerAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            SchedulerAction::Allocated { node, .. } => Some(node.host.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unreachable_node_gets_no_new_containers_until_it_is_reachable_again() {
    let mut scheduler = scheduler();
    add_node(&mut scheduler, "quiet", Resource::new(8192, 8));
    let reachability = |reachable| SchedulerEvent::NodeReachability {
        node: NodeId::new("quiet", 8041),
        reachable,
    };
    scheduler.handle(reachability(false)).unwrap();
    // The AM container waits: the only node is unreachable, though empty.
    let (_, waiting) = add_application_placing(&mut scheduler, 1);
    assert!(allocated_on(&waiting).is_empty());
    // Its limits do not change meanwhile (its capability stays).
    assert_eq!(scheduler.maximum_allocation(), Resource::new(8192, 4));
    let placed = scheduler.handle(reachability(true)).unwrap();
    assert_eq!(
        allocated_on(&placed),
        ["quiet"],
        "placed once reachable again"
    );
    // Another node takes what an unreachable one cannot.
    scheduler.handle(reachability(false)).unwrap();
    add_application(&mut scheduler, 2);
    let placed = add_node(&mut scheduler, "loud", Resource::new(4096, 4));
    assert_eq!(allocated_on(&placed), ["loud"]);
    scheduler.check_invariants().unwrap();
}
