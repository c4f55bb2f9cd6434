//! Work-preserving RM restart in the core, with the writes a shell would commit applied to a
//! memory store: what waits for the store, what a restarted core rebuilds from it, and how NMs
//! and AMs find their way back (containers, completions, re-registration, new container ids).

use spindle_proto::yarn::*;
use spindle_rm::core::{exceptions, Effect, RmCore};
use spindle_rm::settings::RmSettings;
use spindle_rm::store::memory::MemoryStore;
use spindle_rm::store::{records, StateStore, StoreWrite};
use spindle_types::states::{FinalApplicationStatus, YarnApplicationState};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

const TS: i64 = 1_700_000_000_000;

/// One RM incarnation over a store: the core, and the shell's part (commit writes in order,
/// then tell the core; collect AM launches).
struct Rm {
    core: RmCore,
    store: MemoryStore,
    now: i64,
    launches: Vec<(ApplicationAttemptId, ContainerProto)>,
    /// Writes queued but not yet committed (a crash loses them).
    uncommitted: Vec<(StoreWrite, Option<spindle_rm::core::Persisted>)>,
}

impl Rm {
    /// Starts as the daemon does: load and check the store, take this run's epoch, recover,
    /// store the next epoch and the keys.
    fn start(store: &MemoryStore, cluster_timestamp: i64) -> Self {
        let mut backend = store.clone();
        let stored = records::decode(backend.load().unwrap()).unwrap();
        let epoch = stored.epoch.unwrap_or(0);
        let mut core = RmCore::new(RmSettings {
            cluster_timestamp,
            epoch,
            durable: true,
            am_expiry_ms: 60_000,
            nm_expiry_ms: 60_000,
            ..Default::default()
        });
        if let Some(keys) = stored
            .keys
            .as_ref()
            .and_then(spindle_rm::core::RmKeys::from_stored)
        {
            core.set_keys(keys);
        }
        core.recover(stored, cluster_timestamp);
        backend
            .apply(&[
                records::version_write(),
                records::epoch_write(epoch + 1),
                records::meta_write(records::meta::MASTER_KEYS, &core.keys().to_stored()),
            ])
            .unwrap();
        let mut rm = Self {
            core,
            store: store.clone(),
            now: cluster_timestamp,
            launches: Vec::new(),
            uncommitted: Vec::new(),
        };
        rm.settle();
        rm
    }

    /// Moves the clock (the RM's tick).
    fn advance(&mut self, ms: i64) {
        self.now += ms;
        self.core.tick(self.now);
        self.settle();
    }

    /// Moves the clock a second at a time, `node` heartbeating every second as a live NM does (a
    /// node silent for 3 s gets no new containers).
    fn advance_heartbeating(&mut self, ms: i64, node: &NodeId) {
        for _ in 0..ms / 1000 {
            self.advance(1000);
            self.heartbeat(node);
        }
        self.advance(ms % 1000);
    }

    /// Collects the core's effects without committing writes.
    fn collect(&mut self) {
        for effect in self.core.take_effects() {
            match effect {
                Effect::Persist { write, then } => self.uncommitted.push((write, then)),
                Effect::LaunchAm {
                    attempt, container, ..
                } => self.launches.push((attempt, *container)),
            }
        }
    }

    /// Commits every queued write, tells the core, until nothing more is queued.
    fn settle(&mut self) {
        loop {
            self.collect();
            if self.uncommitted.is_empty() {
                break;
            }
            let batch = std::mem::take(&mut self.uncommitted);
            let writes: Vec<StoreWrite> = batch.iter().map(|(w, _)| w.clone()).collect();
            self.store.clone().apply(&writes).unwrap();
            for then in batch.into_iter().filter_map(|(_, t)| t) {
                self.core.persisted(then, self.now);
            }
        }
        self.core.check_invariants().unwrap();
    }

    fn add_node(&mut self, host: &str, containers: Vec<NmContainerStatusProto>) -> NodeId {
        let node = NodeId::new(host, 8041);
        let response = self
            .core
            .register_node(
                &RegisterNodeManagerRequestProto {
                    node_id: Some((&node).into()),
                    http_port: Some(8042),
                    resource: Some((&Resource::new(8192, 8)).into()),
                    container_statuses: containers,
                    ..Default::default()
                },
                self.now,
            )
            .unwrap();
        assert_eq!(response.node_action, Some(NodeActionProto::Normal as i32));
        node
    }

    fn heartbeat(&mut self, node: &NodeId) -> NodeHeartbeatResponseProto {
        self.heartbeat_with(node, vec![])
    }

    fn heartbeat_with(
        &mut self,
        node: &NodeId,
        statuses: Vec<ContainerStatusProto>,
    ) -> NodeHeartbeatResponseProto {
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
            .unwrap()
    }

    fn submit(&mut self, name: &str) -> ApplicationId {
        let (id, _) = self.core.new_application();
        self.core
            .submit_application(
                "alice",
                ApplicationSubmissionContextProto {
                    application_id: Some(id.into()),
                    application_name: Some(name.into()),
                    queue: Some("default".into()),
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

    fn state(&self, app: ApplicationId) -> YarnApplicationState {
        self.core.application(app).unwrap().state.yarn_state()
    }

    fn register(
        &mut self,
        attempt: ApplicationAttemptId,
    ) -> Result<RegisterApplicationMasterResponseProto, spindle_rm::core::RmError> {
        let r = self.core.register_application_master(
            attempt,
            &RegisterApplicationMasterRequestProto {
                host: Some("am-host".into()),
                rpc_port: Some(4040),
                ..Default::default()
            },
            self.now,
        );
        self.settle();
        r
    }

    fn allocate(
        &mut self,
        attempt: ApplicationAttemptId,
        response_id: i32,
        asks: Vec<ResourceRequestProto>,
    ) -> Result<AllocateResponseProto, spindle_rm::core::RmError> {
        let r = self.core.allocate(
            attempt,
            &AllocateRequestProto {
                ask: asks,
                response_id: Some(response_id),
                ..Default::default()
            },
            self.now,
        );
        self.settle();
        r
    }
}

fn ask(n: i32) -> ResourceRequestProto {
    ResourceRequestProto {
        priority: Some(PriorityProto { priority: Some(1) }),
        resource_name: Some("*".into()),
        capability: Some((&Resource::new(1024, 1)).into()),
        num_containers: Some(n),
        relax_locality: Some(true),
        ..Default::default()
    }
}

fn cid(c: &ContainerProto) -> ContainerId {
    ContainerId::try_from(c.id.as_ref().unwrap()).unwrap()
}

fn report(id: ContainerId, state: ContainerStateProto, exit: i32) -> NmContainerStatusProto {
    NmContainerStatusProto {
        container_id: Some(id.into()),
        container_state: Some(state as i32),
        resource: Some((&Resource::new(1024, 1)).into()),
        container_exit_status: Some(exit),
        diagnostics: Some(format!("exit {exit}")),
        ..Default::default()
    }
}

#[test]
fn a_new_application_is_accepted_and_launched_only_once_stored() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    rm.add_node("n1", vec![]);
    let app = rm.submit("waits");
    rm.collect();
    // Not stored yet: NEW (the client keeps polling), nothing launched.
    assert_eq!(rm.state(app), YarnApplicationState::New);
    assert!(rm.launches.is_empty());
    // A crash now loses the application, as in YARN (the client re-submits).
    let mut after_crash = Rm::start(&store, TS + 1);
    assert!(after_crash.core.application(app).is_err());
    after_crash.settle();
    // Committed: accepted, the attempt stored, then the AM launched.
    rm.settle();
    assert_eq!(rm.state(app), YarnApplicationState::Accepted);
    assert_eq!(rm.launches.len(), 1);
}

#[test]
fn an_unregistration_is_confirmed_only_once_the_final_state_is_stored() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    rm.add_node("n1", vec![]);
    let app = rm.submit("finishes");
    rm.settle();
    let (attempt, _) = rm.launches[0].clone();
    rm.register(attempt).unwrap();
    let finish = FinishApplicationMasterRequestProto {
        final_application_status: Some(FinalApplicationStatusProto::AppSucceeded as i32),
        diagnostics: Some("all done".into()),
        ..Default::default()
    };
    let confirmed = rm
        .core
        .finish_application_master(attempt, &finish, rm.now)
        .unwrap();
    assert!(!confirmed, "not stored yet: the AM must ask again");
    rm.collect();
    let again = rm
        .core
        .finish_application_master(attempt, &finish, rm.now)
        .unwrap();
    assert!(!again);
    rm.settle();
    assert!(rm
        .core
        .finish_application_master(attempt, &finish, rm.now)
        .unwrap());

    // A restarted RM reports it finished, with its status, diagnostics and placed queue.
    let rm2 = Rm::start(&store, TS + 10);
    let recovered = rm2.core.application(app).unwrap();
    assert_eq!(recovered.state.yarn_state(), YarnApplicationState::Finished);
    assert_eq!(recovered.final_status, FinalApplicationStatus::Succeeded);
    assert_eq!(recovered.diagnostics, "all done");
    assert_eq!(recovered.reported_queue(), "default");
    assert_eq!(recovered.name, "finishes");
}

#[test]
fn a_running_application_survives_a_restart_with_its_containers_and_completions() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    let node = rm.add_node("n1", vec![]);
    let app = rm.submit("spark");
    rm.settle();
    let (attempt, am) = rm.launches[0].clone();
    rm.core.am_launched(attempt, Ok(()), rm.now);
    rm.register(attempt).unwrap();
    let r = rm.allocate(attempt, 0, vec![ask(3)]).unwrap();
    let executors: Vec<ContainerId> = r.allocated_containers.iter().map(cid).collect();
    assert_eq!(executors.len(), 3);
    // The RM crashes. Meanwhile executor 0 exits on its node.
    drop(rm);

    let mut rm = Rm::start(&store, TS + 100_000);
    assert_eq!(rm.core.settings().epoch, 1);
    assert_eq!(rm.state(app), YarnApplicationState::Accepted);
    // The AM's next allocate is told to re-register (the Java client then re-sends its asks).
    let err = rm.allocate(attempt, 1, vec![]).unwrap_err();
    assert_eq!(err.class, exceptions::AM_NOT_REGISTERED);
    // The node is unknown to this RM: RESYNC.
    assert_eq!(
        rm.heartbeat(&node).node_action,
        Some(NodeActionProto::Resync as i32)
    );
    // It re-registers with what it runs and what completed while the RM was away.
    rm.add_node(
        "n1",
        vec![
            report(cid(&am), ContainerStateProto::CRunning, -1000),
            report(executors[0], ContainerStateProto::CComplete, 7),
            report(executors[1], ContainerStateProto::CRunning, -1000),
            report(executors[2], ContainerStateProto::CRunning, -1000),
        ],
    );
    rm.settle();
    let node_report = rm.core.nodes().next().unwrap().clone();
    assert_eq!(node_report.num_containers, 3, "AM + two executors");
    assert_eq!(node_report.used, Resource::new(3072, 3));

    rm.register(attempt).unwrap();
    assert_eq!(rm.state(app), YarnApplicationState::Running);
    // The AM re-sends what it still wants (asks are absolute): one replacement.
    let r = rm.allocate(attempt, 0, vec![ask(1)]).unwrap();
    // The completion reaches the AM once; recovered containers are not new allocations.
    assert_eq!(r.completed_container_statuses.len(), 1);
    assert_eq!(r.completed_container_statuses[0].exit_status, Some(7));
    // Nothing new is placed during the recovery wait (10 s, YARN's default), and the report
    // says why.
    assert!(r.allocated_containers.is_empty());
    let report = rm
        .core
        .application_report(rm.core.application(app).unwrap(), rm.now);
    let diagnostics = report.diagnostics.unwrap_or_default();
    assert!(diagnostics.contains("re-register"), "{diagnostics:?}");
    rm.advance_heartbeating(9_000, &node);
    let r = rm.allocate(attempt, 1, vec![ask(1)]).unwrap();
    assert!(r.allocated_containers.is_empty());
    // The first tick after the wait places it; the AM gets it on its next call.
    rm.advance_heartbeating(1_000, &node);
    let r = rm.allocate(attempt, 2, vec![]).unwrap();
    assert_eq!(r.allocated_containers.len(), 1);
    let new = cid(&r.allocated_containers[0]);
    assert_eq!(new.epoch(), 1);
    assert!(new
        .to_string()
        .starts_with(&format!("container_e01_{TS}_0001_01_")));
    assert!(!executors.contains(&new));
    let r = rm.allocate(attempt, 3, vec![ask(0)]).unwrap();
    assert!(r.completed_container_statuses.is_empty());
    assert!(r.allocated_containers.is_empty());
}

#[test]
fn containers_of_unknown_or_finished_applications_are_stopped_on_resync() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    let stranger = ContainerId::new(
        ApplicationAttemptId::new(ApplicationId::new(TS - 5, 9), 1),
        0,
        2,
    );
    let node = rm.add_node(
        "n1",
        vec![report(stranger, ContainerStateProto::CRunning, -1000)],
    );
    let hb = rm.heartbeat(&node);
    assert!(hb
        .containers_to_cleanup
        .iter()
        .any(|c| ContainerId::try_from(c).unwrap() == stranger));
    assert_eq!(rm.core.nodes().next().unwrap().num_containers, 0);
}

#[test]
fn an_accepted_application_without_an_attempt_gets_attempt_one_after_a_restart() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    // No node: the AM container cannot be allocated, so no attempt is stored.
    let app = rm.submit("waiting");
    rm.settle();
    assert_eq!(rm.state(app), YarnApplicationState::Accepted);
    drop(rm);
    let mut rm = Rm::start(&store, TS + 5);
    assert_eq!(rm.state(app), YarnApplicationState::Accepted);
    let node = rm.add_node("n1", vec![]);
    rm.settle();
    // Its AM container waits out the recovery wait.
    assert!(rm.launches.is_empty());
    rm.advance_heartbeating(10_000, &node);
    assert_eq!(rm.launches.len(), 1);
    let (attempt, am) = rm.launches[0].clone();
    assert_eq!(attempt.attempt_id, 1);
    assert_eq!(cid(&am).epoch(), 1);
}

#[test]
fn a_failed_attempt_counts_across_a_restart() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    let node = rm.add_node("n1", vec![]);
    let app = rm.submit("fails");
    rm.settle();
    let (attempt1, am1) = rm.launches.remove(0);
    rm.core.am_launched(attempt1, Ok(()), rm.now);
    // The AM exits with an error: attempt 2 starts (max attempts 2).
    rm.core
        .node_heartbeat(
            &NodeHeartbeatRequestProto {
                node_status: Some(NodeStatusProto {
                    node_id: Some((&node).into()),
                    containers_statuses: vec![ContainerStatusProto {
                        container_id: am1.id,
                        state: Some(ContainerStateProto::CComplete as i32),
                        exit_status: Some(1),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            },
            rm.now,
        )
        .unwrap();
    rm.settle();
    let (attempt2, am2) = rm.launches.remove(0);
    assert_eq!(attempt2.attempt_id, 2);
    drop(rm);
    // After a restart attempt 2's AM container is gone too: the application fails, because
    // the first failure was remembered.
    let mut rm = Rm::start(&store, TS + 10);
    assert_eq!(rm.core.application(app).unwrap().counted_failures, 1);
    rm.add_node(
        "n1",
        vec![report(cid(&am2), ContainerStateProto::CComplete, 1)],
    );
    rm.settle();
    assert_eq!(rm.state(app), YarnApplicationState::Failed);
    let _ = attempt1;
}

#[test]
fn a_failing_store_holds_back_only_what_waits_for_it() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    rm.add_node("n1", vec![]);
    store.fail_writes(Some("No space left on device"));
    let app = rm.submit("disk full");
    rm.collect();
    let batch: Vec<StoreWrite> = rm.uncommitted.iter().map(|(w, _)| w.clone()).collect();
    assert!(store.clone().apply(&batch).is_err());
    assert_eq!(rm.state(app), YarnApplicationState::New);
    // Reports still work; once the disk has room the application goes on.
    assert_eq!(rm.core.applications().count(), 1);
    store.fail_writes(None);
    rm.settle();
    assert_eq!(rm.state(app), YarnApplicationState::Accepted);
}

fn completed(id: ContainerId, exit: i32) -> ContainerStatusProto {
    ContainerStatusProto {
        container_id: Some(id.into()),
        state: Some(ContainerStateProto::CComplete as i32),
        exit_status: Some(exit),
        ..Default::default()
    }
}

/// The (container, exit status) pairs an allocate response reports completed.
fn completions(response: &AllocateResponseProto) -> Vec<(ContainerId, i32)> {
    response
        .completed_container_statuses
        .iter()
        .map(|c| {
            (
                ContainerId::try_from(c.container_id.as_ref().unwrap()).unwrap(),
                c.exit_status(),
            )
        })
        .collect()
}

fn forgotten(response: &NodeHeartbeatResponseProto) -> Vec<ContainerId> {
    response
        .containers_to_be_removed_from_nm
        .iter()
        .map(|c| ContainerId::try_from(c).unwrap())
        .collect()
}

#[test]
fn a_node_forgets_a_completion_only_after_the_am_has_it_so_a_restart_cannot_lose_it() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    let node = rm.add_node("n1", vec![]);
    rm.submit("acks");
    rm.settle();
    let (attempt, _) = rm.launches[0].clone();
    rm.core.am_launched(attempt, Ok(()), rm.now);
    rm.register(attempt).unwrap();
    let r = rm.allocate(attempt, 0, vec![ask(2)]).unwrap();
    let executors: Vec<ContainerId> = r.allocated_containers.iter().map(cid).collect();

    // Executor 0 exits: the RM has it, the AM not yet, so the node keeps it.
    assert!(forgotten(&rm.heartbeat_with(&node, vec![completed(executors[0], 3)])).is_empty());
    let r = rm.allocate(attempt, 1, vec![]).unwrap();
    assert_eq!(r.completed_container_statuses.len(), 1);
    // The response could still be lost: only the AM's next call proves it arrived.
    assert!(forgotten(&rm.heartbeat(&node)).is_empty());
    rm.allocate(attempt, 2, vec![]).unwrap();
    assert_eq!(forgotten(&rm.heartbeat(&node)), vec![executors[0]]);

    // Executor 1 exits and the RM hears of it, then crashes before the AM pulls it.
    assert!(forgotten(&rm.heartbeat_with(&node, vec![completed(executors[1], 5)])).is_empty());
    drop(rm);
    let mut rm = Rm::start(&store, TS + 50_000);
    // The node still has it and reports it at re-registration; the AM gets it after resyncing.
    rm.add_node(
        "n1",
        vec![report(executors[1], ContainerStateProto::CComplete, 5)],
    );
    rm.register(attempt).unwrap();
    let r = rm.allocate(attempt, 0, vec![]).unwrap();
    let got = completions(&r);
    assert_eq!(got, vec![(executors[1], 5)]);
}

#[test]
fn a_restarted_nm_keeps_the_containers_it_reports_and_loses_the_others() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    let node = rm.add_node("n1", vec![]);
    rm.submit("nm restart");
    rm.settle();
    let (attempt, am) = rm.launches[0].clone();
    rm.core.am_launched(attempt, Ok(()), rm.now);
    rm.register(attempt).unwrap();
    let r = rm.allocate(attempt, 0, vec![ask(3)]).unwrap();
    let executors: Vec<ContainerId> = r.allocated_containers.iter().map(cid).collect();
    // The NM restarts with recovery: it still runs the AM and executor 0, executor 1 ended with
    // 9 while it was down, executor 2 is gone.
    rm.add_node(
        "n1",
        vec![
            report(cid(&am), ContainerStateProto::CRunning, -1000),
            report(executors[0], ContainerStateProto::CRunning, -1000),
            report(executors[1], ContainerStateProto::CComplete, 9),
        ],
    );
    rm.settle();
    let r = rm.allocate(attempt, 1, vec![]).unwrap();
    let mut got = completions(&r);
    got.sort();
    assert_eq!(
        got,
        vec![
            (executors[1], 9),
            (executors[2], spindle_types::exit_status::ABORTED)
        ]
    );
    let n = rm.core.nodes().next().unwrap().clone();
    assert_eq!(n.num_containers, 2, "the AM and executor 0 still run");
    assert_eq!(
        rm.state(attempt.application_id),
        YarnApplicationState::Running
    );
    assert_eq!(
        rm.heartbeat(&node).node_action,
        Some(NodeActionProto::Normal as i32)
    );
}

/// A finished application's aggregate usage, launch time and final tracking URL are in its
/// attempt's stored record: a restarted RM reports the same figures.
#[test]
fn a_restarted_rm_reports_the_same_usage_of_a_finished_application() {
    let store = MemoryStore::new();
    let mut rm = Rm::start(&store, TS);
    let node = rm.add_node("n1", vec![]);
    let app = rm.submit("measured");
    rm.settle();
    let (attempt, am) = rm.launches[0].clone();
    rm.core.am_launched(attempt, Ok(()), rm.now);
    rm.settle();
    rm.register(attempt).unwrap();
    let r = rm.allocate(attempt, 0, vec![ask(1)]).unwrap();
    let executor = cid(&r.allocated_containers[0]);
    rm.advance(10_000);
    let done = |id: ContainerId| ContainerStatusProto {
        container_id: Some(id.into()),
        state: Some(ContainerStateProto::CComplete as i32),
        exit_status: Some(0),
        ..Default::default()
    };
    rm.heartbeat_with(&node, vec![done(executor)]);
    rm.advance(10_000);
    rm.core
        .finish_application_master(
            attempt,
            &FinishApplicationMasterRequestProto {
                final_application_status: Some(FinalApplicationStatusProto::AppSucceeded as i32),
                tracking_url: Some("http://history:19888/measured".into()),
                ..Default::default()
            },
            rm.now,
        )
        .unwrap();
    rm.heartbeat_with(&node, vec![done(cid(&am))]);
    rm.settle();
    let before = rm
        .core
        .application_report(rm.core.application(app).unwrap(), rm.now);
    let usage = before.app_resource_usage.clone().unwrap();
    // The executor's 10 s and the AM's 20 s, 1024 MB and 1 vcore each.
    assert_eq!(
        (usage.memory_seconds(), usage.vcore_seconds()),
        (30_720, 30)
    );

    let rm2 = Rm::start(&store, TS + 100_000);
    let after = rm2
        .core
        .application_report(rm2.core.application(app).unwrap(), rm2.now);
    let recovered = after.app_resource_usage.clone().unwrap();
    assert_eq!(
        (recovered.memory_seconds(), recovered.vcore_seconds()),
        (30_720, 30)
    );
    assert_eq!(
        recovered.application_resource_usage_map,
        usage.application_resource_usage_map
    );
    assert_eq!(recovered.num_used_containers(), -1);
    assert_eq!(
        after.original_tracking_url(),
        "http://history:19888/measured"
    );
    assert_eq!(after.launch_time(), TS);
    assert_eq!(after.finish_time(), before.finish_time());
}
