//! What the core makes durable and when (YARN's state-store events), and the core rebuilt from a
//! store after a restart.
//!
//! With a store (`RmSettings::durable`), three steps wait for their write: a new application
//! stays NEW until its record is stored (YARN's NEW_SAVING; the client polls its report), an
//! attempt's AM container is launched only once the attempt is stored (ALLOCATED_SAVING), and an
//! unregistering AM hears `isUnregistered` only once the final state is stored (FINAL_SAVING; the
//! client asks again). The shell commits the [`Effect::Persist`] writes in order and calls
//! [`RmCore::persisted`] for each write the core waits on. Without a store the same steps run at
//! once, through the same calls.

use prost::Message;
use spindle_proto::yarn::{
    ApplicationAttemptStateDataProto, ApplicationStateDataProto, ContainerProto, PriorityProto,
    RmAppAttemptStateProto, RmAppStateProto, StringLongMapProto,
};
use spindle_types::resource::{MEMORY_MB, VCORES};
use spindle_types::states::FinalApplicationStatus;
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use super::allocate_reply::AllocatedContainer;
use super::exceptions as ex;
use super::usage::ResourceSeconds;
use super::{Effect, RmApp, RmAttempt, RmCore, RmError};
use crate::lifecycle::app::AppState;
use crate::lifecycle::attempt::AttemptState;
use crate::retry;
use crate::store::records::MAX_RECORD_BYTES;
use crate::store::{StoreWrite, StoredApp, StoredState};

/// A store write the core waits for before it goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persisted {
    /// A new application's record: it may now be accepted (NEW_SAVING → SUBMITTED).
    App(ApplicationId),
    /// An attempt with its AM container: the AM may now be launched (ALLOCATED_SAVING).
    Attempt(ApplicationAttemptId),
    /// An application's final state: its AM's unregistration is now confirmed (FINAL_SAVING).
    AppFinal(ApplicationId),
}

/// What a recovery found, for the RM's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverySummary {
    pub finished: usize,
    /// Applications whose attempt was running: their AMs re-register.
    pub running: usize,
    /// Applications that get a new attempt (none was stored, or the last one had ended).
    pub restarted: usize,
}

fn app_state_proto(state: AppState) -> Option<RmAppStateProto> {
    match state {
        AppState::Finished => Some(RmAppStateProto::RmappFinished),
        AppState::Failed => Some(RmAppStateProto::RmappFailed),
        AppState::Killed => Some(RmAppStateProto::RmappKilled),
        _ => None,
    }
}

fn app_state_from(proto: RmAppStateProto) -> Option<AppState> {
    match proto {
        RmAppStateProto::RmappFinished => Some(AppState::Finished),
        RmAppStateProto::RmappFailed => Some(AppState::Failed),
        RmAppStateProto::RmappKilled => Some(AppState::Killed),
        _ => None,
    }
}

fn attempt_state_proto(state: AttemptState) -> RmAppAttemptStateProto {
    match state {
        AttemptState::Scheduled => RmAppAttemptStateProto::RmattemptScheduled,
        AttemptState::Allocated => RmAppAttemptStateProto::RmattemptAllocated,
        AttemptState::Launched => RmAppAttemptStateProto::RmattemptLaunched,
        AttemptState::Running => RmAppAttemptStateProto::RmattemptRunning,
        AttemptState::Finished => RmAppAttemptStateProto::RmattemptFinished,
        AttemptState::Failed => RmAppAttemptStateProto::RmattemptFailed,
        AttemptState::Killed => RmAppAttemptStateProto::RmattemptKilled,
    }
}

/// The final state a stored attempt ended in, None while it ran.
fn attempt_final_from(proto: RmAppAttemptStateProto) -> Option<AttemptState> {
    match proto {
        RmAppAttemptStateProto::RmattemptFinished => Some(AttemptState::Finished),
        RmAppAttemptStateProto::RmattemptFailed => Some(AttemptState::Failed),
        RmAppAttemptStateProto::RmattemptKilled => Some(AttemptState::Killed),
        _ => None,
    }
}

fn final_status_proto(status: FinalApplicationStatus) -> i32 {
    status as i32
}

fn final_status_from(value: Option<i32>) -> FinalApplicationStatus {
    value
        .and_then(FinalApplicationStatus::from_wire)
        .unwrap_or(FinalApplicationStatus::Undefined)
}

/// Resource-seconds as an attempt record keeps them: the per-type map when there is one (records
/// of an RM that knew of it), else the MB-seconds and vcore-seconds alone.
fn stored_seconds(
    map: &[StringLongMapProto],
    memory_seconds: i64,
    vcore_seconds: i64,
) -> ResourceSeconds {
    if map.is_empty() {
        ResourceSeconds::from_entries([(MEMORY_MB, memory_seconds), (VCORES, vcore_seconds)])
    } else {
        ResourceSeconds::from_entries(map.iter().map(|e| (e.key.as_str(), e.value)))
    }
}

/// The record of `app`.
pub(crate) fn app_record(app: &RmApp) -> ApplicationStateDataProto {
    let state = if app.state.is_final() {
        app_state_proto(app.state)
    } else {
        None
    };
    ApplicationStateDataProto {
        submit_time: Some(app.submit_time),
        application_submission_context: Some(app.submission.clone()),
        user: Some(app.user.clone()),
        start_time: Some(app.start_time),
        application_state: state.map(|s| s as i32),
        diagnostics: Some(app.diagnostics.clone()),
        finish_time: Some(app.finish_time),
        placed_queue: app.placed_queue.clone(),
        final_application_status: Some(final_status_proto(app.final_status)),
        counted_failures: Some(app.counted_failures),
        launch_time: Some(app.launch_time),
    }
}

impl RmCore {
    /// Stores `app`'s record; `then` runs once it is durable (at once without a store).
    pub(crate) fn save_app(&mut self, id: ApplicationId, then: Option<Persisted>, now_ms: i64) {
        if self.settings.durable {
            if let Some(app) = self.apps.get(&id) {
                let record = app_record(app).encode_to_vec();
                self.push_effect(Effect::Persist {
                    write: StoreWrite::App { id, record },
                    then,
                });
            }
        } else if let Some(then) = then {
            self.persisted(then, now_ms);
        }
    }

    /// Stores `attempt`'s record; `then` runs once it is durable (at once without a store).
    pub(crate) fn save_attempt(
        &mut self,
        id: ApplicationAttemptId,
        then: Option<Persisted>,
        now_ms: i64,
    ) {
        if self.settings.durable {
            if let Some(record) = self.attempt_record(id) {
                self.push_effect(Effect::Persist {
                    write: StoreWrite::Attempt {
                        id,
                        record: record.encode_to_vec(),
                    },
                    then,
                });
            }
        } else if let Some(then) = then {
            self.persisted(then, now_ms);
        }
    }

    /// Forgets a retired application in the store.
    pub(crate) fn unsave_app(&mut self, id: ApplicationId, attempts: Vec<ApplicationAttemptId>) {
        if self.settings.durable {
            self.push_effect(Effect::Persist {
                write: StoreWrite::RemoveApp { id, attempts },
                then: None,
            });
        }
    }

    /// Refuses a submission whose record would not fit in the store (YARN's StoreLimitException).
    pub(crate) fn check_record_size(&self, app: &RmApp) -> Result<(), RmError> {
        if !self.settings.durable {
            return Ok(());
        }
        let size = app_record(app).encoded_len();
        if size > MAX_RECORD_BYTES {
            return Err(RmError::new(
                ex::YARN,
                format!(
                    "Application {} exceeds the maximum allowed size for the state store: {size} bytes is more than {MAX_RECORD_BYTES}",
                    app.id
                ),
            ));
        }
        Ok(())
    }

    fn attempt_record(&self, id: ApplicationAttemptId) -> Option<ApplicationAttemptStateDataProto> {
        let attempt = self.attempts.get(&id)?;
        let master_container = attempt.am_container.map(|c| {
            let record = self.containers.get(&c);
            ContainerProto {
                id: Some(c.into()),
                node_id: attempt.am_node.as_ref().map(Into::into),
                resource: record.map(|r| (&r.resource).into()),
                priority: record.map(|r| PriorityProto {
                    priority: Some(r.priority),
                }),
                ..Default::default()
            }
        });
        let (metrics, types) = (&attempt.metrics, &self.settings.resource_types);
        Some(ApplicationAttemptStateDataProto {
            attempt_id: Some(id.into()),
            master_container,
            app_attempt_state: Some(attempt_state_proto(attempt.state) as i32),
            final_tracking_url: Some(attempt.tracking_url.clone()),
            diagnostics: Some(attempt.diagnostics.clone()),
            start_time: Some(attempt.start_time),
            final_application_status: Some(final_status_proto(attempt.final_status)),
            am_container_exit_status: attempt.am_exit_status,
            finish_time: Some(attempt.finish_time),
            memory_seconds: Some(metrics.finished.memory_mb_seconds()),
            vcore_seconds: Some(metrics.finished.vcore_seconds()),
            preempted_memory_seconds: Some(metrics.preempted.memory_mb_seconds()),
            preempted_vcore_seconds: Some(metrics.preempted.vcore_seconds()),
            application_resource_usage_map: metrics.finished.to_map(types),
            preempted_resource_usage_map: metrics.preempted.to_map(types),
            host: Some(attempt.host.clone()),
            rpc_port: Some(attempt.rpc_port),
        })
    }

    /// The shell committed a write the core waited for.
    pub fn persisted(&mut self, what: Persisted, now_ms: i64) {
        match what {
            Persisted::App(id) => self.accept_saved_application(id, now_ms),
            Persisted::Attempt(id) => self.launch_saved_attempt(id),
            Persisted::AppFinal(id) => {
                if let Some(app) = self.apps.get_mut(&id) {
                    app.final_saved = true;
                }
            }
        }
    }

    /// Starts the AM container of a stored attempt, if it still waits for that.
    fn launch_saved_attempt(&mut self, id: ApplicationAttemptId) {
        let Some(attempt) = self.attempts.get(&id) else {
            return;
        };
        if attempt.state != AttemptState::Allocated {
            return;
        }
        let (Some(am), Some(node)) = (attempt.am_container, attempt.am_node.clone()) else {
            return;
        };
        let Some(record) = self.containers.get(&am) else {
            return;
        };
        let allocated = AllocatedContainer {
            id: am,
            http_port: self.nodes.get(&node).map(|n| n.http_port),
            node,
            resource: record.resource.clone(),
            priority: record.priority,
            allocation_request_id: record.allocation_request_id,
            is_am: true,
            creation_time: record.creation_time,
        };
        let Some(app) = self.apps.get(&id.application_id) else {
            return;
        };
        let container = allocated.to_proto(&self.keys, &app.user, self.settings.cluster_timestamp);
        let launch_context = self.am_launch_context(id);
        self.push_effect(Effect::LaunchAm {
            attempt: id,
            container: Box::new(container),
            launch_context: Box::new(launch_context),
        });
    }

    /// Rebuilds the applications a store kept (before the RM serves anyone). Finished ones come
    /// back for reports; an application whose attempt was running gets that attempt back,
    /// waiting for its AM to re-register and its NMs to report its containers; the others get
    /// their next attempt.
    pub fn recover(&mut self, stored: StoredState, now_ms: i64) -> RecoverySummary {
        let mut summary = RecoverySummary::default();
        self.apps_changed();
        for app in stored.apps {
            match self.recover_app(app, now_ms) {
                RecoveredAs::Finished => summary.finished += 1,
                RecoveredAs::Running => summary.running += 1,
                RecoveredAs::Restarted => summary.restarted += 1,
            }
        }
        // Usage is rebuilt from what the NMs report as they re-register: nothing is placed
        // (or preempted) on a partial picture meanwhile.
        let wait = self.settings.recovery_scheduling_wait_ms;
        if wait > 0 && summary.running + summary.restarted > 0 {
            let decisions = self.scheduler.recovery_wait(now_ms + wait);
            self.apply_decisions(decisions, now_ms);
        }
        summary
    }

    fn recover_app(&mut self, stored: StoredApp, now_ms: i64) -> RecoveredAs {
        let StoredApp { id, data, attempts } = stored;
        let submission = data
            .application_submission_context
            .clone()
            .unwrap_or_default();
        let final_state = data
            .application_state
            .and_then(|s| RmAppStateProto::try_from(s).ok())
            .and_then(app_state_from);
        let am_resource = self
            .validate_am_resource(id, &submission)
            .unwrap_or_else(|_| self.settings.minimum_allocation.clone());
        let mut app = RmApp::from_submission(
            id,
            data.user(),
            submission,
            am_resource.clone(),
            self.settings.max_attempts,
            data.submit_time(),
        );
        app.placed_queue = data.placed_queue.clone();
        app.state = final_state.unwrap_or(AppState::New);
        app.final_status = final_status_from(data.final_application_status);
        app.diagnostics = data.diagnostics.clone().unwrap_or_default();
        app.start_time = data.start_time();
        app.launch_time = data.launch_time();
        app.finish_time = data.finish_time();
        app.attempts = attempts.iter().map(|(a, _)| *a).collect();
        app.counted_failures = data.counted_failures();
        app.cleaned_up = final_state.is_some();
        app.final_saved = final_state.is_some();
        let mut running_attempt = None;
        let mut failure_times = Vec::new();
        for (attempt_id, record) in &attempts {
            let mut attempt = RmAttempt::new(*attempt_id, record.start_time());
            let ended = record
                .app_attempt_state
                .and_then(|s| RmAppAttemptStateProto::try_from(s).ok())
                .and_then(attempt_final_from);
            attempt.state = match ended {
                Some(state) => state,
                // An attempt of a finished application that was not stored as ended.
                None if final_state.is_some() => AttemptState::Killed,
                None => {
                    running_attempt = Some(*attempt_id);
                    AttemptState::Launched
                }
            };
            if let Some(master) = &record.master_container {
                attempt.am_container = master
                    .id
                    .as_ref()
                    .and_then(|c| ContainerId::try_from(c).ok());
                attempt.am_node = master
                    .node_id
                    .as_ref()
                    .and_then(|n| NodeId::try_from(n).ok());
            }
            attempt.host = record.host.clone().unwrap_or_else(|| "N/A".into());
            attempt.rpc_port = record.rpc_port.unwrap_or(-1);
            attempt.tracking_url = record.final_tracking_url().to_string();
            attempt.diagnostics = record.diagnostics.clone().unwrap_or_default();
            attempt.final_status = final_status_from(record.final_application_status);
            attempt.am_exit_status = record.am_container_exit_status;
            attempt.finish_time = record.finish_time();
            attempt.metrics.finished = stored_seconds(
                &record.application_resource_usage_map,
                record.memory_seconds(),
                record.vcore_seconds(),
            );
            attempt.metrics.preempted = stored_seconds(
                &record.preempted_resource_usage_map,
                record.preempted_memory_seconds(),
                record.preempted_vcore_seconds(),
            );
            if attempt.state == AttemptState::Failed
                && retry::counts_as_failure(
                    attempt
                        .am_exit_status
                        .unwrap_or(spindle_types::exit_status::INVALID),
                )
            {
                failure_times.push(attempt.finish_time);
            }
            self.attempts.insert(*attempt_id, attempt);
        }
        let interval = app.submission.attempt_failures_validity_interval();
        if interval > 0 {
            app.counted_failures = retry::failures_within(&mut failure_times, interval, now_ms);
        }
        app.failure_times = failure_times;
        if final_state.is_some() {
            self.apps.insert(id, app);
            return RecoveredAs::Finished;
        }
        let queue = app
            .placed_queue
            .clone()
            .unwrap_or_else(|| app.queue.clone());
        let placement = self
            .scheduler
            .add_application(id, &queue, &app.user, app.priority);
        let user = app.user.clone();
        self.apps.insert(id, app);
        match placement {
            Err(reason) => {
                tracing::warn!("{id} (user {user}) cannot return to queue {queue}: {reason}");
                if let Some(attempt) = running_attempt {
                    self.attempt_event(
                        attempt,
                        crate::lifecycle::attempt::AttemptEvent::Kill,
                        now_ms,
                    );
                }
                let app = self.apps.get_mut(&id).expect("inserted");
                app.state = AppState::Failed;
                app.final_status = FinalApplicationStatus::Failed;
                app.diagnostics = format!("Application could not be recovered: {reason}");
                self.save_app(id, None, now_ms);
                self.finish_app(id, now_ms);
                RecoveredAs::Finished
            }
            Ok(placed) => {
                let app = self.apps.get_mut(&id).expect("inserted");
                app.placed_queue = Some(placed);
                app.state = AppState::Accepted;
                match running_attempt {
                    Some(attempt) => {
                        self.recover_running_attempt(attempt, am_resource, now_ms);
                        RecoveredAs::Running
                    }
                    None => {
                        self.start_attempt(id, now_ms);
                        RecoveredAs::Restarted
                    }
                }
            }
        }
    }

    /// A stored attempt that was running: the scheduler takes it back without asking for an AM
    /// container, the AM must re-register (allocate answers ApplicationMasterNotRegistered until
    /// it does) within the AM expiry, and its containers return as their NMs report them.
    fn recover_running_attempt(
        &mut self,
        id: ApplicationAttemptId,
        am_resource: Resource,
        now_ms: i64,
    ) {
        if let Some(attempt) = self.attempts.get_mut(&id) {
            attempt.last_response_id = None;
        }
        let decisions = self.scheduler.recover_attempt(id, am_resource, now_ms);
        self.apply_decisions(decisions, now_ms);
        self.am_liveness.touch(&id, self.monotonic(now_ms));
    }
}

enum RecoveredAs {
    Finished,
    Running,
    Restarted,
}
