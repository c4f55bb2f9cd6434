//! Reading scheduler configuration: YARN's class names, capacity-scheduler.xml, the Fair
//! Scheduler allocation file (the seed's among them), and precise refusals of bad files.

use std::collections::BTreeMap;

use spindle_scheduler::{
    scheduling_policy_from_files, CapacitySchedulerConfig, CapacityValue, ConfigProblem,
    FairPolicy, FairSchedulerConfig, PlacementRule, QueueMapping, QueueState, ResourceCalculator,
    Scheduler, SchedulerConfig, SchedulerEvent, SchedulerFile, SchedulerKind, SchedulingPolicy,
    CAPACITY_SCHEDULER_CLASS, FAIR_SCHEDULER_CLASS, FIFO_SCHEDULER_CLASS,
};
use spindle_types::{ApplicationId, Resource};

fn no_site() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn site(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// capacity-scheduler.xml with `yarn.scheduler.capacity.` in front of each `key=value` line.
fn capacity_xml(lines: &str) -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (key, value) = line.split_once('=').unwrap();
        xml.push_str(&format!(
            "  <property>\n    <name>yarn.scheduler.capacity.{key}</name>\n    <value>{value}</value>\n  </property>\n"
        ));
    }
    xml + "</configuration>\n"
}

fn capacity(
    lines: &str,
) -> Result<CapacitySchedulerConfig, spindle_scheduler::SchedulerConfigError> {
    CapacitySchedulerConfig::from_xml("capacity-scheduler.xml", &capacity_xml(lines), &no_site())
}

fn fair(text: &str) -> Result<FairSchedulerConfig, spindle_scheduler::SchedulerConfigError> {
    FairSchedulerConfig::parse(&no_site(), Some(("fair-scheduler.xml", text)))
}

#[test]
fn yarn_class_names_select_the_scheduler() {
    for (class, kind) in [
        (FIFO_SCHEDULER_CLASS, SchedulerKind::Fifo),
        (CAPACITY_SCHEDULER_CLASS, SchedulerKind::Capacity),
        (FAIR_SCHEDULER_CLASS, SchedulerKind::Fair),
    ] {
        assert_eq!(
            SchedulerKind::from_class_name(&format!(" {class} ")).unwrap(),
            kind
        );
        assert_eq!(kind.class_name(), class);
    }
    let error = SchedulerKind::from_class_name("org.example.Lottery").unwrap_err();
    assert_eq!(error.key(), Some("yarn.resourcemanager.scheduler.class"));
    assert!(
        error.to_string().contains("'org.example.Lottery'"),
        "{error}"
    );
    assert_eq!(
        SchedulerKind::Fair.scheduler_file_name(&site(&[(
            "yarn.scheduler.fair.allocation.file",
            "/etc/hadoop/alloc.xml"
        )])),
        Some("/etc/hadoop/alloc.xml".to_string())
    );
    assert_eq!(
        SchedulerKind::Fair.scheduler_file_name(&no_site()),
        Some("fair-scheduler.xml".to_string())
    );
    assert_eq!(SchedulerKind::Fifo.scheduler_file_name(&no_site()), None);
    // Without its file the Capacity Scheduler has root.default only.
    let SchedulingPolicy::Capacity(config) =
        scheduling_policy_from_files(CAPACITY_SCHEDULER_CLASS, &no_site(), None).unwrap()
    else {
        panic!("not the Capacity Scheduler");
    };
    assert_eq!(config.root.children[0].path, "root.default");
}

#[test]
fn the_seed_capacity_hierarchy_loads() {
    // The seed's queues: root holds a, b and c; a holds a1 and a2; b holds b1, b2 and b3.
    let config = capacity(
        "root.queues=a,b,c
         root.a.capacity=40
         root.a.queues=a1,a2
         root.a.a1.capacity=50
         root.a.a2.capacity=50
         root.b.capacity=40
         root.b.queues=b1,b2,b3
         root.b.b1.capacity=20
         root.b.b2.capacity=30
         root.b.b3.capacity=50
         root.c.capacity=20
         root.c.maximum-capacity=40
         root.c.state=stopped
         root.c.user-limit-factor=2
         root.c.minimum-user-limit-percent=25
         root.c.maximum-am-resource-percent=0.5
         root.c.ordering-policy=fair
         root.c.acl_submit_applications=alice eng
         resource-calculator=org.apache.hadoop.yarn.util.resource.DominantResourceCalculator
         node-locality-delay=10
         queue-mappings=u:alice:a1,g:eng:b2,u:%user:%primary_group",
    )
    .unwrap();
    let paths: Vec<&str> = config.root.walk().iter().map(|q| q.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "root",
            "root.a",
            "root.a.a1",
            "root.a.a2",
            "root.b",
            "root.b.b1",
            "root.b.b2",
            "root.b.b3",
            "root.c"
        ]
    );
    let c = config.root.walk()[8].clone();
    assert_eq!(c.maximum_capacity, CapacityValue::Percent(40.0));
    assert_eq!(c.state, QueueState::Stopped);
    assert_eq!(
        (c.user_limit_factor, c.minimum_user_limit_percent),
        (2.0, 25.0)
    );
    assert_eq!(c.maximum_am_resource_percent, Some(0.5));
    assert!(c
        .acl_submit_applications
        .unwrap()
        .is_allowed("bob", &["eng".to_string()]));
    assert_eq!(config.resource_calculator, ResourceCalculator::Dominant);
    assert_eq!(config.node_locality_delay, 10);
    assert_eq!(
        config.queue_mappings,
        vec![
            QueueMapping::User {
                user: "alice".into(),
                queue: "a1".into()
            },
            QueueMapping::Group {
                group: "eng".into(),
                queue: "b2".into()
            },
            QueueMapping::User {
                user: "%user".into(),
                queue: "%primary_group".into()
            },
        ]
    );
    assert!(config.preemption.is_none());
    // The scheduler runs it: the queues are there with their shares.
    let scheduler = Scheduler::new(SchedulerConfig {
        policy: SchedulingPolicy::Capacity(config),
        ..SchedulerConfig::default()
    })
    .unwrap();
    let b2 = scheduler.queue_info("b2").unwrap();
    assert_eq!((b2.path.as_str(), b2.capacity), ("root.b.b2", 0.3));
}

#[test]
fn absolute_capacities_and_the_preemption_monitor() {
    let config = CapacitySchedulerConfig::from_xml(
        "capacity-scheduler.xml",
        &capacity_xml(
            "root.queues=a,b
             root.a.capacity=[memory=10240,vcores=10]
             root.a.maximum-capacity=[memory=20g,vcores=20]
             root.b.capacity=[memory=4096,vcores=4,yarn.io/gpu=1]",
        ),
        &site(&[
            ("yarn.resourcemanager.scheduler.monitor.enable", "true"),
            (
                "yarn.resourcemanager.monitor.capacity.preemption.max_wait_before_kill",
                "5000",
            ),
        ]),
    )
    .unwrap();
    let a = &config.root.children[0];
    assert_eq!(
        a.capacity,
        CapacityValue::Absolute(Resource::new(10240, 10))
    );
    assert_eq!(
        a.maximum_capacity,
        CapacityValue::Absolute(Resource::new(20480, 20))
    );
    let preemption = config.preemption.unwrap();
    assert_eq!(
        (
            preemption.max_wait_before_kill_ms,
            preemption.monitoring_interval_ms
        ),
        (5000, 3000)
    );
}

/// The refusal of `lines`, as text.
fn capacity_refusal(lines: &str) -> String {
    capacity(lines).unwrap_err().to_string()
}

#[test]
fn bad_capacity_files_are_refused_naming_file_line_queue_and_key() {
    let cases = [
        (
            "root.queues=a,b\nroot.a.capacity=fifty\nroot.b.capacity=50",
            "capacity-scheduler.xml:7: queue root.a: yarn.scheduler.capacity.root.a.capacity: invalid value 'fifty': expected a percentage from 0 to 100",
        ),
        (
            "root.queues=a,b\nroot.a.capacity=60\nroot.b.capacity=30",
            "capacity-scheduler.xml:3: queue root: yarn.scheduler.capacity.root.queues: the capacities of the children of root add up to 90%, they must add up to 100%",
        ),
        (
            "root.queues=a\nroot.a.capacity=100\nroot.a.maximum-capacity=50",
            "queue root.a: yarn.scheduler.capacity.root.a.maximum-capacity: maximum-capacity 50% is below capacity 100%",
        ),
        (
            "root.queues=a,b\nroot.a.capacity=100",
            "queue root.b: yarn.scheduler.capacity.root.b.capacity: invalid value '': expected a capacity for every queue but root",
        ),
        (
            "root.queues=a\nroot.a.capacity=100\nroot.a.state=PAUSED",
            "yarn.scheduler.capacity.root.a.state: invalid value 'PAUSED': expected RUNNING or STOPPED",
        ),
        (
            "root.queues=a,a\nroot.a.capacity=100",
            "queue root.a: yarn.scheduler.capacity.root.queues: the queue is defined more than once",
        ),
        (
            "root.queues=a,b\nroot.a.capacity=50\nroot.b.capacity=[memory=1024,vcores=1]",
            "the children of root mix percentage and absolute capacities",
        ),
        (
            "root.queues=a\nroot.a.capacity=2w",
            "weight capacities ('2w') are not supported",
        ),
        (
            "root.queues=a\nroot.a.capacity=100\nqueue-mappings=u:alice:nowhere",
            "yarn.scheduler.capacity.queue-mappings: mapping 'u:alice:nowhere' names queue 'nowhere', which is not a leaf queue",
        ),
        (
            "root.queues=a\nroot.a.capacity=100\nqueue-mappings=x:alice",
            "invalid value 'x:alice': expected u:<user>:<queue> or g:<group>:<queue>",
        ),
        (
            "root.queues=a\nroot.a.capacity=100\nresource-calculator=Dominant",
            "yarn.scheduler.capacity.resource-calculator: invalid value 'Dominant'",
        ),
        (
            "root.queues=a\nroot.a.capacity=100\nroot.a.user-limit-factor=lots",
            "queue root.a: yarn.scheduler.capacity.root.a.user-limit-factor: invalid value 'lots'",
        ),
        ("root.a.capacity=100", "queue root: yarn.scheduler.capacity.root.queues"),
        (
            "root.queues=a.b\nroot.a.capacity=100",
            "invalid queue name 'a.b'",
        ),
    ];
    for (lines, expected) in cases {
        let message = capacity_refusal(lines);
        assert!(
            message.contains(expected),
            "{lines:?}\n  gave: {message}\n  wanted: {expected}"
        );
        assert!(message.starts_with("capacity-scheduler.xml"), "{message}");
    }
    let malformed = CapacitySchedulerConfig::from_xml(
        "/etc/hadoop/capacity-scheduler.xml",
        "<configuration>\n<property><name>x</name>\n</configuration>",
        &no_site(),
    )
    .unwrap_err();
    assert_eq!(malformed.line(), Some(3), "{malformed}");
    assert!(matches!(
        malformed.problem(),
        ConfigProblem::MalformedXml(_)
    ));
    let bad_site = CapacitySchedulerConfig::from_xml(
        "capacity-scheduler.xml",
        &capacity_xml("root.queues=a\nroot.a.capacity=100"),
        &site(&[("yarn.resourcemanager.scheduler.monitor.enable", "yes")]),
    )
    .unwrap_err();
    assert_eq!(
        bad_site.to_string(),
        "yarn-site.xml: yarn.resourcemanager.scheduler.monitor.enable: invalid value 'yes': expected true or false"
    );
}

const SEED_ALLOCATION_FILE: &str = r#"<?xml version="1.0"?>
<allocations>
	<defaultQueueSchedulingPolicy>fair</defaultQueueSchedulingPolicy>

	<queue name="prod">
		<weight>40</weight>
		<schedulingPolicy>fifo</schedulingPolicy>
	</queue>

	<queue name="dev">
		<weight>60</weight>
		<queue name="eng" />
		<queue name="science" />
	</queue>
	
	<queuePlacementPolicy>
		<rule name="specified" create="false" />
		<rule name="primaryGroup" create="false" />
		<rule name="default" create="dev.eng" />
	</queuePlacementPolicy>
</allocations>"#;

#[test]
fn the_seed_allocation_file_loads_as_written() {
    let config = fair(SEED_ALLOCATION_FILE).unwrap();
    let paths: Vec<&str> = config.root.walk().iter().map(|q| q.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "root",
            "root.prod",
            "root.dev",
            "root.dev.eng",
            "root.dev.science",
            "root.default"
        ]
    );
    let prod = config.root.find("root.prod").unwrap();
    assert_eq!(
        (prod.weight, prod.scheduling_policy),
        (40.0, Some(FairPolicy::Fifo))
    );
    assert_eq!(config.root.find("root.dev").unwrap().weight, 60.0);
    assert_eq!(config.default_scheduling_policy, FairPolicy::Fair);
    // The document writes create="dev.eng" where the book has queue="dev.eng"; YARN reads the
    // create flag as false and the queue as root.default, and so does Spindle.
    assert_eq!(
        config.placement_rules,
        vec![
            PlacementRule::Specified { create: false },
            PlacementRule::PrimaryGroup { create: false },
            PlacementRule::Default {
                queue: "root.default".into(),
                create: false
            },
        ]
    );
    let mut scheduler = Scheduler::new(SchedulerConfig {
        policy: SchedulingPolicy::Fair(config),
        ..SchedulerConfig::default()
    })
    .unwrap();
    scheduler
        .handle(SchedulerEvent::ApplicationAdded {
            application: ApplicationId::new(1, 1),
            queue: String::new(),
            user: "nobody".into(),
            priority: 0,
        })
        .unwrap();
    assert_eq!(
        scheduler
            .application_usage(ApplicationId::new(1, 1))
            .unwrap()
            .queue,
        "root.default"
    );
}

#[test]
fn allocation_file_elements_and_site_keys() {
    let config = FairSchedulerConfig::parse(
        &site(&[
            ("yarn.scheduler.fair.preemption", "true"),
            ("yarn.scheduler.fair.locality.threshold.node", "0.5"),
            ("yarn.scheduler.fair.user-as-default-queue", "false"),
            ("yarn.scheduler.fair.allow-undeclared-pools", "false"),
        ]),
        Some((
            "alloc.xml",
            r#"<allocations>
                 <queue name="root">
                   <aclSubmitApps> admins</aclSubmitApps>
                   <queue name="batch" type="parent">
                     <minResources>10240 mb, 10 vcores</minResources>
                     <maxResources>memory-mb=40%, vcores=50%</maxResources>
                     <maxRunningApps>5</maxRunningApps>
                     <maxAMShare>0.2</maxAMShare>
                     <schedulingPolicy>drf</schedulingPolicy>
                     <minSharePreemptionTimeout>30</minSharePreemptionTimeout>
                     <fairSharePreemptionThreshold>0.7</fairSharePreemptionThreshold>
                     <allowPreemptionFrom>false</allowPreemptionFrom>
                   </queue>
                 </queue>
                 <user name="alice"><maxRunningApps>2</maxRunningApps></user>
                 <userMaxAppsDefault>4</userMaxAppsDefault>
                 <defaultMinSharePreemptionTimeout>60</defaultMinSharePreemptionTimeout>
                 <queuePlacementPolicy>
                   <rule name="nestedUserQueue"><rule name="primaryGroup" create="false"/></rule>
                   <rule name="secondaryGroupExistingQueue"/>
                   <rule name="reject"/>
                 </queuePlacementPolicy>
               </allocations>"#,
        )),
    )
    .unwrap();
    let batch = config.root.find("root.batch").unwrap();
    assert!(batch.declared_parent && batch.is_parent());
    assert_eq!(batch.min_resources, Resource::new(10240, 10));
    assert_eq!(batch.min_share_preemption_timeout_ms, Some(30_000));
    assert_eq!(
        (batch.max_running_apps, batch.max_am_share),
        (Some(5), Some(0.2))
    );
    assert!(!batch.allow_preemption_from);
    assert_eq!(config.user_max_apps.get("alice"), Some(&2));
    assert_eq!(config.default_min_share_preemption_timeout_ms, Some(60_000));
    assert!(config.site.preemption && !config.site.user_as_default_queue);
    assert_eq!(config.site.locality_threshold_node, 0.5);
    assert_eq!(config.placement_rules.len(), 3);
    // root.default exists even when the file does not declare it.
    assert!(config.root.find("root.default").is_some());
}

#[test]
fn bad_allocation_files_are_refused_naming_file_line_queue_and_element() {
    let cases = [
        (
            "<allocations>\n<queue name=\"prod\">\n<wieght>40</wieght>\n</queue>\n</allocations>",
            "fair-scheduler.xml:3: queue root.prod: <wieght>: unknown element <wieght>",
        ),
        (
            "<allocations>\n<queue name=\"prod\"><weight>heavy</weight></queue>\n</allocations>",
            "fair-scheduler.xml:2: queue root.prod: <weight>: invalid value 'heavy': expected a weight, 0 or more",
        ),
        (
            "<allocations><queue name=\"a\"><queue name=\"b\"><minResources>lots</minResources></queue></queue></allocations>",
            "queue root.a.b: <minResources>: invalid value 'lots'",
        ),
        (
            "<allocations><queue name=\"a\"><schedulingPolicy>fifo</schedulingPolicy><queue name=\"b\"/></queue></allocations>",
            "queue root.a: <queue>: invalid value 'fifo': expected fair or drf",
        ),
        (
            "<allocations><queue name=\"a.b\"/></allocations>",
            "invalid queue name 'a.b': queue names cannot contain '.'",
        ),
        (
            "<allocations><queue name=\"a\"/><queue name=\"a\"/></allocations>",
            "queue root.a: <queue>: the queue is defined more than once",
        ),
        (
            "<allocations><queuePlacementPolicy><rule name=\"default\"/><rule name=\"user\"/></queuePlacementPolicy></allocations>",
            "rule 'user' can never be reached: the 'default' rule before it always places",
        ),
        (
            "<allocations><queuePlacementPolicy><rule name=\"specified\"/></queuePlacementPolicy></allocations>",
            "an application can get past the last rule ('specified') without a queue",
        ),
        (
            "<allocations><queuePlacementPolicy><rule name=\"lottery\"/></queuePlacementPolicy></allocations>",
            "<rule>: invalid value 'lottery': expected a rule name",
        ),
        (
            "<allocations><queue name=\"a\"><maxAMShare>2</maxAMShare></queue></allocations>",
            "queue root.a: <maxAMShare>: invalid value '2'",
        ),
        (
            "<allocations><queue name=\"a\"><fairSharePreemptionTimeout>soon</fairSharePreemptionTimeout></queue></allocations>",
            "invalid value 'soon': expected a whole number of seconds",
        ),
        ("<configuration/>", "the root element is <configuration>, expected <allocations>"),
        ("<allocations><queue name=\"a\">", "malformed XML"),
    ];
    for (text, expected) in cases {
        let message = fair(text).unwrap_err().to_string();
        assert!(
            message.contains(expected),
            "{text:?}\n  gave: {message}\n  wanted: {expected}"
        );
        assert!(message.starts_with("fair-scheduler.xml"), "{message}");
    }
    let bad_site = FairSchedulerConfig::parse(
        &site(&[("yarn.scheduler.fair.locality.threshold.node", "2")]),
        None,
    )
    .unwrap_err();
    assert_eq!(
        bad_site.to_string(),
        "yarn-site.xml: yarn.scheduler.fair.locality.threshold.node: invalid value '2': expected a number from -1 to 1"
    );
}

#[test]
fn a_bad_file_at_refresh_leaves_the_running_fair_scheduler_as_it_was() {
    let policy = scheduling_policy_from_files(
        FAIR_SCHEDULER_CLASS,
        &no_site(),
        Some(SchedulerFile {
            source_name: "fair-scheduler.xml",
            text: SEED_ALLOCATION_FILE,
        }),
    )
    .unwrap();
    let mut scheduler = Scheduler::new(SchedulerConfig {
        policy,
        ..SchedulerConfig::default()
    })
    .unwrap();
    // The RM parses the new file first; a refusal never reaches the scheduler.
    let refused = scheduling_policy_from_files(
        FAIR_SCHEDULER_CLASS,
        &no_site(),
        Some(SchedulerFile {
            source_name: "fair-scheduler.xml",
            text: "<allocations><queue name=\"prod\"><weight>-4</weight></queue></allocations>",
        }),
    );
    assert!(refused
        .unwrap_err()
        .to_string()
        .contains("queue root.prod: <weight>"));
    assert_eq!(scheduler.queue_info("prod").unwrap().path, "root.prod");
    // A refresh that drops a queue holding an application keeps the queue until it empties.
    scheduler
        .handle(SchedulerEvent::ApplicationAdded {
            application: ApplicationId::new(1, 1),
            queue: "prod".into(),
            user: "alice".into(),
            priority: 0,
        })
        .unwrap();
    let without_prod = scheduling_policy_from_files(
        FAIR_SCHEDULER_CLASS,
        &no_site(),
        Some(SchedulerFile {
            source_name: "fair-scheduler.xml",
            text: "<allocations><queue name=\"dev\"/></allocations>",
        }),
    )
    .unwrap();
    scheduler
        .handle(SchedulerEvent::ConfigurationReplaced {
            config: Box::new(SchedulerConfig {
                policy: without_prod,
                ..SchedulerConfig::default()
            }),
        })
        .unwrap();
    let prod = scheduler.queue_info("root.prod").unwrap();
    assert!(prod.dynamic, "kept as a dynamic queue");
    assert_eq!(prod.num_applications, 1);
    assert!(scheduler.queue_info("root.dev").is_some());
    scheduler
        .handle(SchedulerEvent::ApplicationRemoved {
            application: ApplicationId::new(1, 1),
        })
        .unwrap();
    assert!(
        scheduler.queue_info("root.prod").is_none(),
        "removed once empty"
    );
    scheduler.check_invariants().unwrap();
    // The scheduler kind cannot change at refresh.
    let refused = scheduler
        .handle(SchedulerEvent::ConfigurationReplaced {
            config: Box::new(SchedulerConfig::default()),
        })
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the scheduler cannot change from fair to fifo without a restart"
    );
}
