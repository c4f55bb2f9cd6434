//! Scenario tests of the RM core with injected time: an application's life from submission to
//! its end, attempts that fail and retry, nodes that are lost, and requests that are refused.

use prost::Message;
use spindle_proto::yarn::*;
use spindle_rm::core::{exceptions, Effect, RmCore};
use spindle_rm::settings::RmSettings;
use spindle_types::states::{FinalApplicationStatus, YarnApplicationState};
use spindle_types::{
    exit_status, ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource,
};

const TS: i64 = 1_700_000_000_000;

fn settings() -> RmSettings {
    RmSettings {
        cluster_timestamp: TS,
        am_expiry_ms: 10_000,
        nm_expiry_ms: 5_000,
        max_attempts: 2,
        ..Default::default()
    }
}

struct Cluster {
    core: RmCore,
    now: i64,
    /// Wall clock minus monotonic clock, as the shell tells the core.
    clock_offset: i64,
}

impl Cluster {
    fn new() -> Self {
        Self {
            core: RmCore::new(settings()),
            now: TS,
            clock_offset: 0,
        }
    }

    /// The wall clock jumps by `ms` (an NTP step); no time passes.
    fn wall_clock_step(&mut self, ms: i64) {
        self.now += ms;
        self.clock_offset += ms;
        self.core.set_clock_offset(self.clock_offset);
        self.core.tick(self.now);
        self.core.check_invariants().unwrap();
    }

    fn step(&mut self, ms: i64) {
        self.now += ms;
        self.core.tick(self.now);
        self.core.check_invariants().unwrap();
    }

    fn add_node(&mut self, host: &str, memory_mb: i64, vcores: i64) -> NodeId {
        let node = NodeId::new(host, 8041);
        let response = self
            .core
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
        assert_eq!(response.node_action, Some(NodeActionProto::Normal as i32));
        assert!(response.container_token_master_key.is_some());
        node
    }

    fn heartbeat(
        &mut self,
        node: &NodeId,
        statuses: Vec<ContainerStatusProto>,
    ) -> NodeHeartbeatResponseProto {
        let response = self
            .core
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
        response
    }

    fn submit(&mut self, am_memory: i64) -> ApplicationId {
        let (id, _) = self.core.new_application();
        self.core
            .submit_application(
                "alice",
                ApplicationSubmissionContextProto {
                    application_id: Some(id.into()),
                    application_name: Some("test".into()),
                    queue: Some("default".into()),
                    am_container_spec: Some(ContainerLaunchContextProto {
                        command: vec!["sleep 100".into()],
                        ..Default::default()
                    }),
                    resource: Some((&Resource::new(am_memory, 1)).into()),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        self.core.check_invariants().unwrap();
        id
    }

    fn state(&self, app: ApplicationId) -> YarnApplicationState {
        self.core.application(app).unwrap().state.yarn_state()
    }

    /// Takes the AM launch effects and reports them launched.
    fn launch_ams(
        &mut self,
    ) -> Vec<(
        ApplicationAttemptId,
        ContainerProto,
        ContainerLaunchContextProto,
    )> {
        let launched: Vec<_> = self
            .core
            .take_effects()
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::LaunchAm {
                    attempt,
                    container,
                    launch_context,
                } => Some((attempt, *container, *launch_context)),
                // No state store here: the core queues no writes.
                Effect::Persist { .. } => None,
            })
            .collect();
        for (attempt, _, _) in &launched {
            self.core.am_launched(*attempt, Ok(()), self.now);
        }
        launched
    }

    fn register(&mut self, attempt: ApplicationAttemptId) {
        self.core
            .register_application_master(
                attempt,
                &RegisterApplicationMasterRequestProto {
                    host: Some("h".into()),
                    rpc_port: Some(1),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
    }

    fn allocate(
        &mut self,
        attempt: ApplicationAttemptId,
        response_id: i32,
        asks: Vec<ResourceRequestProto>,
        release: Vec<ContainerId>,
    ) -> AllocateResponseProto {
        let r = self
            .core
            .allocate(
                attempt,
                &AllocateRequestProto {
                    ask: asks,
                    release: release.into_iter().map(Into::into).collect(),
                    response_id: Some(response_id),
                    progress: Some(0.5),
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        self.core.check_invariants().unwrap();
        r
    }
}

fn ask_any(memory_mb: i64, n: i32) -> ResourceRequestProto {
    ResourceRequestProto {
        priority: Some(PriorityProto { priority: Some(1) }),
        resource_name: Some("*".into()),
        capability: Some((&Resource::new(memory_mb, 1)).into()),
        num_containers: Some(n),
        relax_locality: Some(true),
        allocation_request_id: Some(0),
        ..Default::default()
    }
}

fn running(id: &ContainerProto) -> ContainerStatusProto {
    ContainerStatusProto {
        container_id: id.id,
        state: Some(ContainerStateProto::CRunning as i32),
        ..Default::default()
    }
}

fn completed(id: ContainerId, exit: i32) -> ContainerStatusProto {
    ContainerStatusProto {
        container_id: Some(id.into()),
        state: Some(ContainerStateProto::CComplete as i32),
        exit_status: Some(exit),
        diagnostics: Some(format!("exited with {exit}")),
        ..Default::default()
    }
}

fn cid(c: &ContainerProto) -> ContainerId {
    ContainerId::try_from(c.id.as_ref().unwrap()).unwrap()
}

#[test]
fn an_application_runs_from_submission_to_finished() {
    let mut c = Cluster::new();
    let node = c.add_node("n1", 8192, 8);
    let app = c.submit(1024);
    assert_eq!(c.state(app), YarnApplicationState::Accepted);
    let launched = c.launch_ams();
    assert_eq!(launched.len(), 1);
    let (attempt, am, context) = launched.into_iter().next().unwrap();
    assert_eq!(
        cid(&am).to_string(),
        format!("container_{TS}_0001_01_000001")
    );
    // The AM's credentials carry its AMRMToken.
    let creds = spindle_security::Credentials::decode(context.tokens()).unwrap();
    assert!(creds.find_kind("YARN_AM_RM_TOKEN").is_some());
    assert_eq!(c.state(app), YarnApplicationState::Accepted);
    c.register(attempt);
    assert_eq!(c.state(app), YarnApplicationState::Running);

    let r = c.allocate(attempt, 0, vec![ask_any(1500, 2)], vec![]);
    assert_eq!(r.response_id, Some(1));
    assert_eq!(r.num_cluster_nodes, Some(1));
    assert_eq!(r.allocated_containers.len(), 2);
    // Memory is rounded up to the minimum allocation's multiple and is at least what was asked.
    assert_eq!(
        r.allocated_containers[0].resource.as_ref().unwrap().memory,
        Some(2048)
    );
    assert_eq!(r.nm_tokens.len(), 1, "one NMToken for the one node");
    let executors: Vec<ContainerId> = r.allocated_containers.iter().map(cid).collect();
    let statuses = r.allocated_containers.iter().map(running).collect();
    c.heartbeat(&node, statuses);

    // An executor exits; the AM hears of it with its exit status.
    c.heartbeat(&node, vec![completed(executors[0], 3)]);
    let r = c.allocate(attempt, 1, vec![], vec![]);
    assert_eq!(r.completed_container_statuses.len(), 1);
    assert_eq!(r.completed_container_statuses[0].exit_status, Some(3));
    assert!(r.allocated_containers.is_empty());
    assert!(
        r.nm_tokens.is_empty(),
        "the AM already holds this node's NMToken"
    );

    // Unregistering ends the application; the remaining executor is killed on its node.
    c.core
        .finish_application_master(
            attempt,
            &FinishApplicationMasterRequestProto {
                final_application_status: Some(FinalApplicationStatusProto::AppSucceeded as i32),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    assert_eq!(c.state(app), YarnApplicationState::Finished);
    assert_eq!(
        c.core.application(app).unwrap().final_status,
        FinalApplicationStatus::Succeeded
    );
    let hb = c.heartbeat(&node, vec![]);
    assert!(hb
        .containers_to_cleanup
        .iter()
        .any(|p| ContainerId::try_from(p).unwrap() == executors[1]));
    // The AM container exits by itself; then the app is cleaned up on every node.
    let hb = c.heartbeat(&node, vec![completed(cid(&am), 0)]);
    assert_eq!(hb.applications_to_cleanup.len(), 1);
    assert_eq!(
        c.core.application(app).unwrap().state.yarn_state(),
        YarnApplicationState::Finished
    );
}

#[test]
fn a_failed_am_gets_a_second_attempt_then_the_app_fails() {
    let mut c = Cluster::new();
    let node = c.add_node("n1", 8192, 8);
    let app = c.submit(1024);
    let (attempt1, am1, _) = c.launch_ams().remove(0);
    c.heartbeat(&node, vec![completed(cid(&am1), 1)]);
    assert_eq!(
        c.state(app),
        YarnApplicationState::Accepted,
        "a second attempt is scheduled"
    );
    let (attempt2, am2, _) = c.launch_ams().remove(0);
    assert_eq!(attempt2.attempt_id, 2);
    assert_eq!(
        cid(&am2).to_string(),
        format!("container_{TS}_0001_02_000001")
    );
    assert_ne!(attempt1, attempt2);
    c.heartbeat(&node, vec![completed(cid(&am2), 7)]);
    assert_eq!(c.state(app), YarnApplicationState::Failed);
    let diagnostics = &c.core.application(app).unwrap().diagnostics;
    assert!(diagnostics.contains("failed 2 times"), "{diagnostics}");
    assert!(diagnostics.contains("exitCode: 7"), "{diagnostics}");
}

#[test]
fn failures_older_than_the_validity_interval_do_not_use_up_attempts() {
    let mut c = Cluster::new();
    let node = c.add_node("n1", 8192, 8);
    let app = submit_with(&mut c, |s| {
        s.attempt_failures_validity_interval = Some(5_000)
    });
    // Two attempts allowed; each fails more than 5 s after the previous failure.
    for attempt in 1..=3 {
        let (id, am, _) = c.launch_ams().remove(0);
        assert_eq!(id.attempt_id, attempt);
        // (The node heartbeats within its 5 s expiry.)
        c.step(3_000);
        c.heartbeat(&node, vec![]);
        c.step(3_000);
        c.heartbeat(&node, vec![completed(cid(&am), 1)]);
        assert_eq!(
            c.state(app),
            YarnApplicationState::Accepted,
            "attempt {attempt}"
        );
        let a = c.core.application(app).unwrap();
        assert_eq!(a.counted_failures, 1, "attempt {attempt}: {a:?}");
    }
    // Two failures within 5 s of each other end it.
    let (_, am, _) = c.launch_ams().remove(0);
    c.step(1_000);
    c.heartbeat(&node, vec![completed(cid(&am), 1)]);
    assert_eq!(c.state(app), YarnApplicationState::Failed);
}

/// Submits a 1 GB AM application to `default` whose submission `customize` completes.
/// A submission of `app` to `default`: a 1 GB AM running `sleep 100`.
fn submission_of(app: ApplicationId) -> ApplicationSubmissionContextProto {
    ApplicationSubmissionContextProto {
        application_id: Some(app.into()),
        queue: Some("default".into()),
        am_container_spec: Some(ContainerLaunchContextProto {
            command: vec!["sleep 100".into()],
            ..Default::default()
        }),
        resource: Some((&Resource::new(1024, 1)).into()),
        ..Default::default()
    }
}

fn submit_with(
    c: &mut Cluster,
    customize: impl FnOnce(&mut ApplicationSubmissionContextProto),
) -> ApplicationId {
    let (app, _) = c.core.new_application();
    let mut submission = submission_of(app);
    customize(&mut submission);
    c.core
        .submit_application("alice", submission, c.now)
        .unwrap();
    app
}

#[test]
fn with_keep_containers_a_new_attempt_inherits_the_running_containers() {
    for keep in [true, false] {
        let mut c = Cluster::new();
        let node = c.add_node("n1", 8192, 8);
        let app = submit_with(&mut c, |s| {
            s.keep_containers_across_application_attempts = Some(keep)
        });
        let (attempt1, am1, _) = c.launch_ams().remove(0);
        c.register(attempt1);
        let r = c.allocate(attempt1, 0, vec![ask_any(1024, 2)], vec![]);
        let executors: Vec<ContainerId> = r.allocated_containers.iter().map(cid).collect();
        c.heartbeat(&node, r.allocated_containers.iter().map(running).collect());
        // The AM dies: attempt 2 starts.
        let hb = c.heartbeat(&node, vec![completed(cid(&am1), 1)]);
        let killed: Vec<ContainerId> = hb
            .containers_to_cleanup
            .iter()
            .map(|p| ContainerId::try_from(p).unwrap())
            .collect();
        let (attempt2, _, _) = c.launch_ams().remove(0);
        assert_eq!(attempt2.attempt_id, 2);
        let registered = c
            .core
            .register_application_master(
                attempt2,
                &RegisterApplicationMasterRequestProto::default(),
                c.now,
            )
            .unwrap();
        let previous: Vec<ContainerId> = registered
            .containers_from_previous_attempts
            .iter()
            .map(cid)
            .collect();
        if keep {
            assert!(killed.is_empty(), "{killed:?}");
            assert_eq!(previous, executors);
            assert_eq!(registered.nm_tokens_from_previous_attempts.len(), 1);
            // The executors' later completion reaches the new AM.
            c.heartbeat(&node, vec![completed(executors[0], 0)]);
            let r = c.allocate(attempt2, 0, vec![], vec![]);
            assert_eq!(r.completed_container_statuses.len(), 1);
            assert_eq!(
                ContainerId::try_from(
                    r.completed_container_statuses[0]
                        .container_id
                        .as_ref()
                        .unwrap()
                )
                .unwrap(),
                executors[0]
            );
        } else {
            assert_eq!(killed.len(), 2, "the executors are stopped");
            assert!(previous.is_empty());
            assert!(registered.nm_tokens_from_previous_attempts.is_empty());
        }
        assert_eq!(c.state(app), YarnApplicationState::Running);
    }
}

#[test]
fn a_silent_am_expires_and_is_retried() {
    let mut c = Cluster::new();
    let node = c.add_node("n1", 8192, 8);
    let app = c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    c.register(attempt);
    for _ in 0..9 {
        c.step(1000);
        c.heartbeat(&node, vec![]);
    }
    assert_eq!(c.core.attempt(attempt).unwrap().state.name(), "RUNNING");
    c.step(1500);
    assert_eq!(c.core.attempt(attempt).unwrap().state.name(), "FAILED");
    assert_eq!(c.core.application(app).unwrap().attempts.len(), 2);
    let hb = c.heartbeat(&node, vec![]);
    assert_eq!(
        hb.containers_to_cleanup.len(),
        1,
        "the silent AM's container is killed"
    );
}

#[test]
fn a_lost_node_reports_its_containers_aborted_to_the_am() {
    let mut c = Cluster::new();
    let n1 = c.add_node("n1", 4096, 4);
    let app = c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    c.register(attempt);
    let n2 = c.add_node("n2", 4096, 4);
    // Fill n1's remaining 3 GB and put the rest on n2.
    let r = c.allocate(attempt, 0, vec![ask_any(1024, 5)], vec![]);
    assert_eq!(r.allocated_containers.len(), 5);
    let on_n2: Vec<ContainerId> = r
        .allocated_containers
        .iter()
        .filter(|x| NodeId::try_from(x.node_id.as_ref().unwrap()).unwrap() == n2)
        .map(cid)
        .collect();
    assert!(!on_n2.is_empty());
    // n1 keeps heartbeating, n2 goes silent; the AM keeps allocating and collects completions.
    let mut aborted: Vec<ContainerId> = Vec::new();
    let mut response_id = 1;
    for _ in 0..7 {
        c.step(1000);
        c.heartbeat(&n1, vec![]);
        let r = c.allocate(attempt, response_id, vec![], vec![]);
        response_id = r.response_id.unwrap();
        for s in &r.completed_container_statuses {
            assert_eq!(s.exit_status, Some(exit_status::ABORTED));
            assert_eq!(s.diagnostics(), "Container released on a *lost* node");
            aborted.push(ContainerId::try_from(s.container_id.as_ref().unwrap()).unwrap());
        }
    }
    assert_eq!(
        c.core.nodes().find(|n| n.id == n2).unwrap().state.name(),
        "LOST"
    );
    let metrics = c.core.cluster_metrics();
    assert_eq!(metrics.num_lost_nms, Some(1));
    assert_eq!(metrics.num_active_nms, Some(1));
    aborted.sort();
    assert_eq!(
        aborted, on_n2,
        "every container of the lost node, and only those"
    );
    assert_eq!(c.state(app), YarnApplicationState::Running);
}

#[test]
fn a_long_lost_node_is_forgotten_and_may_register_again() {
    // The RM does not keep every node it ever saw: a lost node is reported for
    // node-removal-untracked.timeout-ms (60 s by default), then forgotten.
    let mut c = Cluster::new();
    let n1 = c.add_node("n1", 4096, 4);
    let n2 = c.add_node("n2", 4096, 4);
    for _ in 0..7 {
        c.step(1000);
        c.heartbeat(&n1, vec![]);
    }
    assert_eq!(c.core.cluster_metrics().num_lost_nms, Some(1));
    for _ in 0..59 {
        c.step(1000);
        c.heartbeat(&n1, vec![]);
    }
    assert!(c.core.nodes().any(|n| n.id == n2), "still reported at 59 s");
    c.step(2000);
    c.heartbeat(&n1, vec![]);
    assert!(c.core.nodes().all(|n| n.id != n2));
    let metrics = c.core.cluster_metrics();
    assert_eq!(metrics.num_lost_nms, Some(0));
    assert_eq!(metrics.num_active_nms, Some(1));
    // It comes back: its heartbeat is answered RESYNC and it registers as new.
    let response = c
        .core
        .node_heartbeat(
            &NodeHeartbeatRequestProto {
                node_status: Some(NodeStatusProto {
                    node_id: Some((&n2).into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    assert_eq!(response.node_action, Some(NodeActionProto::Resync as i32));
    c.add_node("n2", 4096, 4);
    assert_eq!(c.core.cluster_metrics().num_active_nms, Some(2));
}

#[test]
fn requests_beyond_the_maximum_are_refused_with_yarns_exception() {
    let mut c = Cluster::new();
    c.add_node("n1", 4096, 4);
    let (id, max) = c.core.new_application();
    assert_eq!(max, Resource::new(4096, 4), "bounded by the largest node");
    let err = c
        .core
        .submit_application(
            "bob",
            ApplicationSubmissionContextProto {
                application_id: Some(id.into()),
                am_container_spec: Some(ContainerLaunchContextProto {
                    command: vec!["x".into()],
                    ..Default::default()
                }),
                resource: Some((&Resource::new(9000, 1)).into()),
                ..Default::default()
            },
            c.now,
        )
        .unwrap_err();
    assert_eq!(err.class, exceptions::INVALID_RESOURCE_REQUEST);
    assert!(
        err.message
            .contains("greater than maximum allowed allocation"),
        "{}",
        err.message
    );
    // Nothing was accepted.
    assert!(c.core.application(id).is_err());
}

#[test]
fn an_unknown_queue_fails_the_application_with_the_queue_named() {
    let mut c = Cluster::new();
    c.add_node("n1", 4096, 4);
    let (id, _) = c.core.new_application();
    c.core
        .submit_application(
            "bob",
            ApplicationSubmissionContextProto {
                application_id: Some(id.into()),
                queue: Some("nope".into()),
                am_container_spec: Some(ContainerLaunchContextProto {
                    command: vec!["x".into()],
                    ..Default::default()
                }),
                resource: Some((&Resource::new(1024, 1)).into()),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    let app = c.core.application(id).unwrap();
    assert_eq!(app.state.yarn_state(), YarnApplicationState::Failed);
    assert!(
        app.diagnostics.contains("unknown queue: nope"),
        "{}",
        app.diagnostics
    );
    // Placed nowhere: reports name the queue asked for, as YARN's do.
    assert_eq!(c.core.application_report(app, c.now).queue(), "nope");
}

#[test]
fn kill_stops_every_container_of_the_application() {
    let mut c = Cluster::new();
    let node = c.add_node("n1", 8192, 8);
    let app = c.submit(1024);
    let (attempt, am, _) = c.launch_ams().remove(0);
    c.register(attempt);
    let r = c.allocate(attempt, 0, vec![ask_any(1024, 2)], vec![]);
    assert!(c.core.kill_application(app, c.now).unwrap());
    assert_eq!(c.state(app), YarnApplicationState::Killed);
    let hb = c.heartbeat(&node, vec![]);
    let mut killed: Vec<ContainerId> = hb
        .containers_to_cleanup
        .iter()
        .map(|p| ContainerId::try_from(p).unwrap())
        .collect();
    killed.sort();
    let mut expected: Vec<ContainerId> = r
        .allocated_containers
        .iter()
        .map(cid)
        .chain([cid(&am)])
        .collect();
    expected.sort();
    assert_eq!(killed, expected);
    assert_eq!(hb.applications_to_cleanup.len(), 1);
    // A late allocate from the killed AM is refused.
    let err = c
        .core
        .allocate(
            attempt,
            &AllocateRequestProto {
                response_id: Some(1),
                ..Default::default()
            },
            c.now,
        )
        .unwrap_err();
    assert_eq!(err.class, exceptions::ATTEMPT_NOT_FOUND);
}

#[test]
fn a_repeated_allocate_gets_the_same_bytes_with_tokens_the_nm_accepts() {
    let mut c = Cluster::new();
    let registered = c
        .core
        .register_node(
            &RegisterNodeManagerRequestProto {
                node_id: Some((&NodeId::new("n1", 8041)).into()),
                http_port: Some(8042),
                resource: Some((&Resource::new(8192, 8)).into()),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    let key = registered.container_token_master_key.unwrap();
    let container_key = spindle_security::MasterKey {
        key_id: key.key_id(),
        bytes: key.bytes().to_vec(),
    };
    c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    c.register(attempt);
    let request = AllocateRequestProto {
        ask: vec![ask_any(1024, 2)],
        response_id: Some(0),
        ..Default::default()
    };
    let first = c.core.allocate_reply(attempt, &request, c.now).unwrap();
    let first_bytes = first.encoded();
    c.now += 1_000;
    let again = c.core.allocate_reply(attempt, &request, c.now).unwrap();
    assert_eq!(
        again.encoded(),
        first_bytes,
        "a replay is the same response"
    );
    let response = AllocateResponseProto::decode(first_bytes).unwrap();
    assert_eq!(response.response_id, Some(1));
    assert_eq!(response.allocated_containers.len(), 2);
    for container in &response.allocated_containers {
        let token = container.container_token.as_ref().unwrap();
        assert!(container_key.verify(&token.identifier, &token.password));
        assert_eq!(token.service, "n1:8041");
        assert_eq!(container.node_http_address.as_deref(), Some("n1:8042"));
        let identifier =
            ContainerTokenIdentifierProto::decode(token.identifier.as_slice()).unwrap();
        assert_eq!(identifier.nm_host_addr.as_deref(), Some("n1:8041"));
        assert_eq!(identifier.app_submitter.as_deref(), Some("alice"));
    }
    assert_eq!(response.nm_tokens.len(), 1, "one NMToken for the one node");
    c.core.check_invariants().unwrap();
}

#[test]
fn allocate_follows_the_response_id_protocol() {
    let mut c = Cluster::new();
    c.add_node("n1", 8192, 8);
    c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    let err = c
        .core
        .allocate(attempt, &AllocateRequestProto::default(), c.now)
        .unwrap_err();
    assert_eq!(err.class, exceptions::AM_NOT_REGISTERED);
    c.register(attempt);
    let first = c.allocate(attempt, 0, vec![ask_any(1024, 1)], vec![]);
    // The same heartbeat again gets the same answer, not a second container.
    let again = c.allocate(attempt, 0, vec![ask_any(1024, 1)], vec![]);
    assert_eq!(first, again);
    let err = c
        .core
        .allocate(
            attempt,
            &AllocateRequestProto {
                response_id: Some(7),
                ..Default::default()
            },
            c.now,
        )
        .unwrap_err();
    assert_eq!(err.class, exceptions::INVALID_AM_REQUEST);
    // Releasing another application's container is refused and names both.
    let foreign = ContainerId::new(
        ApplicationAttemptId::new(ApplicationId::new(TS, 99), 1),
        0,
        2,
    );
    let err = c
        .core
        .allocate(
            attempt,
            &AllocateRequestProto {
                response_id: Some(1),
                release: vec![foreign.into()],
                ..Default::default()
            },
            c.now,
        )
        .unwrap_err();
    assert_eq!(err.class, exceptions::INVALID_RELEASE);
    assert!(err.message.contains(&foreign.to_string()));
}

#[test]
fn released_containers_return_to_the_cluster_at_once() {
    let mut c = Cluster::new();
    c.add_node("n1", 4096, 4);
    c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    c.register(attempt);
    let r = c.allocate(attempt, 0, vec![ask_any(1024, 3)], vec![]);
    assert_eq!(r.allocated_containers.len(), 3);
    let r = c.allocate(
        attempt,
        1,
        vec![ask_any(1024, 1)],
        vec![cid(&r.allocated_containers[0])],
    );
    // The freed room is used for the new ask in the same call.
    assert_eq!(r.allocated_containers.len(), 1);
    assert_eq!(r.completed_container_statuses.len(), 1);
    assert_eq!(
        r.completed_container_statuses[0].exit_status,
        Some(exit_status::ABORTED)
    );
}

/// A cluster whose scheduler is the Fair Scheduler with allocation file `file` and yarn-site.xml
/// keys `site`.
fn fair_cluster(site: &[(&str, &str)], file: &str) -> Cluster {
    let site: std::collections::BTreeMap<String, String> = site
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
        spindle_scheduler::FAIR_SCHEDULER_CLASS,
        &site,
        Some(spindle_scheduler::SchedulerFile {
            source_name: "fair-scheduler.xml",
            text: file,
        }),
        0,
        limits,
    )
    .unwrap();
    Cluster {
        core: RmCore::with_scheduler(settings, Some(config)).unwrap(),
        now: TS,
        clock_offset: 0,
    }
}

/// Submits an application with a 1 GB AM to `queue` as alice.
fn submit_to(c: &mut Cluster, queue: &str) -> ApplicationId {
    let (id, _) = c.core.new_application();
    c.core
        .submit_application(
            "alice",
            ApplicationSubmissionContextProto {
                application_id: Some(id.into()),
                queue: Some(queue.into()),
                am_container_spec: Some(ContainerLaunchContextProto {
                    command: vec!["x".into()],
                    ..Default::default()
                }),
                resource: Some((&Resource::new(1024, 1)).into()),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    c.core.check_invariants().unwrap();
    id
}

/// The Fair Scheduler's preemption seen by the AMs: the over-share AM is told which containers it
/// will lose (PreemptionMessage), then they complete as PREEMPTED, and the starved queue gets them.
#[test]
fn fair_share_preemption_is_announced_then_enforced() {
    let mut c = fair_cluster(
        &[
            ("yarn.scheduler.fair.preemption", "true"),
            ("yarn.scheduler.fair.waitTimeBeforeKill", "1000"),
        ],
        r#"<allocations><queue name="a"/><queue name="b"><fairSharePreemptionTimeout>2</fairSharePreemptionTimeout></queue></allocations>"#,
    );
    let node = c.add_node("n1", 4096, 8);
    let a = submit_to(&mut c, "a");
    let (attempt_a, _, _) = c.launch_ams().remove(0);
    c.register(attempt_a);
    let r = c.allocate(attempt_a, 0, vec![ask_any(1024, 3)], vec![]);
    // Its steady share (a third: a, b and default, here no more than its AM holds) at once, the
    // rest of the idle cluster once its share window (two heartbeat intervals) has passed.
    let mut filled = r.allocated_containers.len();
    let mut response_id = 1;
    for _ in 0..8 {
        if filled == 3 {
            break;
        }
        c.step(500);
        c.heartbeat(&node, vec![]);
        let r = c.allocate(attempt_a, response_id, vec![], vec![]);
        response_id = r.response_id.unwrap();
        filled += r.allocated_containers.len();
    }
    assert_eq!(filled, 3, "queue a fills the idle cluster");
    let b = submit_to(&mut c, "b");
    assert_eq!(
        c.core.application(b).unwrap().state.yarn_state(),
        YarnApplicationState::Accepted
    );
    let mut announced = Vec::new();
    let mut preempted = Vec::new();
    for _ in 0..12 {
        c.step(500);
        c.heartbeat(&node, vec![]);
        let r = c.allocate(attempt_a, response_id, vec![], vec![]);
        response_id = r.response_id.unwrap();
        if let Some(p) = &r.preempt {
            for pc in &p.contract.as_ref().unwrap().container {
                let id = ContainerId::try_from(pc.id.as_ref().unwrap()).unwrap();
                if !announced.contains(&id) {
                    assert!(preempted.is_empty(), "announced before being killed");
                    announced.push(id);
                }
            }
        }
        for s in &r.completed_container_statuses {
            assert_eq!(s.exit_status, Some(exit_status::PREEMPTED));
            preempted.push(ContainerId::try_from(s.container_id.as_ref().unwrap()).unwrap());
        }
    }
    assert!(
        !announced.is_empty(),
        "the AM was told before anything was killed"
    );
    announced.sort();
    preempted.sort();
    assert_eq!(
        announced, preempted,
        "exactly the announced containers were preempted"
    );
    // The starved queue's AM got room.
    assert!(c
        .core
        .attempt(c.core.application(b).unwrap().current_attempt().unwrap())
        .unwrap()
        .am_container
        .is_some());
    let _ = a;
}

/// The seed document's allocation file (Hadoop: The Definitive Guide): prod (weight 40, fifo),
/// dev (weight 60) with eng and science, and placement rules that end in dev.eng (one copy for
/// the scheduler, RM and CLI tests).
const SEED_ALLOCATION_FILE: &str =
    include_str!("../../scheduler/tests/fixtures/seed-fair-scheduler.xml");

/// An application asked for a queue that does not exist; the placement rules put it in
/// root.dev.eng. Every report says root.dev.eng — while it waits, while it runs (also the AM's
/// registration answer) and after it finished and the scheduler forgot it.
#[test]
fn the_placed_queue_is_reported_for_the_whole_life_of_an_application() {
    let mut c = fair_cluster(
        // alice's primary group has no queue: the default rule places her applications.
        &[(
            "hadoop.user.group.static.mapping.overrides",
            "alice=analytics",
        )],
        SEED_ALLOCATION_FILE,
    );
    let node = c.add_node("n1", 4096, 4);
    let app = submit_to(&mut c, "nosuch");
    let reported_queue = |c: &Cluster| {
        let app = c.core.application(app).unwrap();
        c.core.application_report(app, c.now).queue().to_string()
    };
    assert_eq!(c.core.application(app).unwrap().queue, "nosuch");
    assert_eq!(reported_queue(&c), "root.dev.eng", "while accepted");

    let (attempt, am, _) = c.launch_ams().remove(0);
    let registered = c
        .core
        .register_application_master(
            attempt,
            &RegisterApplicationMasterRequestProto::default(),
            c.now,
        )
        .unwrap();
    assert_eq!(
        registered.queue(),
        "root.dev.eng",
        "the AM is told its queue"
    );
    assert_eq!(reported_queue(&c), "root.dev.eng", "while running");

    c.core
        .finish_application_master(
            attempt,
            &FinishApplicationMasterRequestProto {
                final_application_status: Some(FinalApplicationStatusProto::AppSucceeded as i32),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    c.heartbeat(&node, vec![completed(cid(&am), 0)]);
    assert_eq!(c.state(app), YarnApplicationState::Finished);
    let eng = c
        .core
        .queue_info("root.dev.eng", true, false, false, c.now)
        .unwrap();
    assert!(
        eng.applications.is_empty(),
        "the scheduler forgot the finished application"
    );
    assert_eq!(reported_queue(&c), "root.dev.eng", "after it finished");
}

#[test]
fn an_id_from_the_previous_active_is_accepted_and_a_malformed_one_is_refused() {
    // The client got its id from the RM that was active before a failover (another cluster
    // timestamp) and submits it here: accepted once, as YARN does, and the RM's own ids go on.
    let mut c = Cluster::new();
    c.add_node("n1", 8192, 8);
    let submission = submission_of;
    let foreign = ApplicationId::new(TS - 60_000, 7);
    let now = c.now;
    for _ in 0..2 {
        let submitted = c
            .core
            .submit_application("alice", submission(foreign), now)
            .unwrap();
        assert_eq!(submitted, foreign);
        c.core.check_invariants().unwrap();
    }
    assert_eq!(c.state(foreign), YarnApplicationState::Accepted);
    assert_eq!(c.core.applications().count(), 1);
    let (own, _) = c.core.new_application();
    assert_eq!(own, ApplicationId::new(TS, 1));

    let err = c
        .core
        .submit_application("alice", submission(ApplicationId::new(TS, -3)), now)
        .unwrap_err();
    assert!(err.to_string().contains("-3"), "{err}");
    assert_eq!(c.core.applications().count(), 1);
}

#[test]
fn a_registering_nm_cleans_up_applications_that_ended_while_it_was_away() {
    let mut c = Cluster::new();
    let n1 = c.add_node("n1", 8192, 8);
    let running = c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    c.register(attempt);
    let killed = c.submit(1024);
    c.launch_ams();
    assert!(c.core.kill_application(killed, c.now).unwrap());
    c.heartbeat(&n1, vec![]);
    let unknown = ApplicationId::new(TS - 1, 5);
    // n2 registers holding all three (an NM that was away, with recovery): the RM tells it to
    // clean up the killed and the unknown one, never the running one.
    let n2 = NodeId::new("n2", 8041);
    c.core
        .register_node(
            &RegisterNodeManagerRequestProto {
                node_id: Some((&n2).into()),
                http_port: Some(8042),
                resource: Some((&Resource::new(8192, 8)).into()),
                running_applications: [running, killed, unknown].iter().map(Into::into).collect(),
                ..Default::default()
            },
            c.now,
        )
        .unwrap();
    let hb = c.heartbeat(&n2, vec![]);
    let mut cleaned: Vec<ApplicationId> = hb
        .applications_to_cleanup
        .iter()
        .map(|p| ApplicationId::try_from(p).unwrap())
        .collect();
    cleaned.sort();
    let mut expected = vec![killed, unknown];
    expected.sort();
    assert_eq!(cleaned, expected);
    assert_eq!(c.state(running), YarnApplicationState::Running);
}

#[test]
fn a_wall_clock_step_neither_loses_live_nodes_nor_keeps_silent_ones() {
    let mut c = Cluster::new();
    let n1 = c.add_node("n1", 4096, 4);
    let n2 = c.add_node("n2", 4096, 4);
    let app = c.submit(1024);
    let (attempt, _, _) = c.launch_ams().remove(0);
    c.register(attempt);
    let state =
        |c: &Cluster, node: &NodeId| c.core.nodes().find(|n| &n.id == node).unwrap().state.name();

    // An hour forward: by the wall clock everyone has been silent far past every expiry.
    c.wall_clock_step(3_600_000);
    assert_eq!(state(&c, &n1), "RUNNING");
    assert_eq!(state(&c, &n2), "RUNNING");
    assert_eq!(c.core.attempt(attempt).unwrap().state.name(), "RUNNING");
    // Reports carry the new wall-clock time.
    let later = c.submit(1024);
    assert!(c.core.application(later).unwrap().submit_time >= TS + 3_600_000);

    // Two hours back: n2 falls silent and is still lost after the 5 s expiry, not two hours on.
    c.wall_clock_step(-7_200_000);
    let mut response_id = 0;
    for _ in 0..6 {
        c.step(1000);
        c.heartbeat(&n1, vec![]);
        response_id = c
            .allocate(attempt, response_id, vec![], vec![])
            .response_id
            .unwrap();
    }
    assert_eq!(state(&c, &n1), "RUNNING");
    assert_eq!(
        state(&c, &n2),
        "LOST",
        "expired 5 s after its last heartbeat"
    );
    assert_eq!(c.state(app), YarnApplicationState::Running);
}

#[test]
fn a_lost_node_rejoins_without_the_scheduler_removing_it_twice() {
    let mut c = Cluster::new();
    let n1 = c.add_node("n1", 4096, 4);
    let n2 = c.add_node("n2", 4096, 4);
    for _ in 0..6 {
        c.step(1000);
        c.heartbeat(&n1, vec![]);
    }
    let state = |c: &Cluster| c.core.nodes().find(|n| n.id == n2).unwrap().state.name();
    assert_eq!(state(&c), "LOST");
    // The partition heals: the NM registers again (the RM answered its heartbeats RESYNC).
    c.add_node("n2", 4096, 4);
    c.step(1000);
    assert_eq!(state(&c), "RUNNING");
    // Every step checks the invariants, which include "the scheduler refused no event".
    c.heartbeat(&n2, vec![]);
    c.step(1000);
    assert_eq!(c.core.cluster_metrics().num_active_nms, Some(2));
}

#[test]
fn a_node_that_missed_its_heartbeats_gets_no_new_containers_until_it_heartbeats() {
    let mut c = Cluster::new();
    let n1 = c.add_node("n1", 4096, 4);
    let app = c.submit(1024);
    let (attempt, am, _) = c.launch_ams().remove(0);
    assert_eq!(NodeId::try_from(am.node_id.as_ref().unwrap()).unwrap(), n1);
    c.register(attempt);
    let n2 = c.add_node("n2", 4096, 4);
    // n2 goes quiet (cut off, not yet lost: the NM expiry is 5 s); n1 heartbeats.
    for _ in 0..4 {
        c.step(1000);
        c.heartbeat(&n1, vec![]);
    }
    let on = |r: &AllocateResponseProto, node: &NodeId| {
        r.allocated_containers
            .iter()
            .filter(|x| NodeId::try_from(x.node_id.as_ref().unwrap()).unwrap() == *node)
            .count()
    };
    // Five containers asked: n1's 3 GB take three; n2, empty but silent, takes none.
    let r = c.allocate(attempt, 0, vec![ask_any(1024, 5)], vec![]);
    assert_eq!(on(&r, &n1), 3);
    assert_eq!(on(&r, &n2), 0, "nothing goes to a node the RM cannot hear");
    assert_eq!(
        c.core.nodes().find(|n| n.id == n2).unwrap().state.name(),
        "RUNNING",
        "silent, not lost"
    );
    // Heard from again: the two still asked for go there at once.
    c.heartbeat(&n2, vec![]);
    let r = c.allocate(attempt, 1, vec![], vec![]);
    assert_eq!(on(&r, &n2), 2);
    assert_eq!(c.state(app), YarnApplicationState::Running);
}
