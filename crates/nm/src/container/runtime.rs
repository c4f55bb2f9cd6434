//! One container's mutable life: its lifecycle state, process group leader, exit status and
//! diagnostics, changed only through the transition table, plus stop (SIGTERM to the process
//! group, SIGKILL after a delay) and exit handling. With recovery on, every step that a restarted
//! NM must know (accepted, launched, stop asked, completed) is recorded before it takes effect.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use spindle_types::{exit_status, ContainerId, Resource};
use tokio::sync::{mpsc, watch};

use super::diagnostics::append_diagnostic;
use super::process::{reap, signal_process_group, ProcessExit};
use super::spec::{ContainerLaunchSpec, ContainerPaths};
use super::state::{ContainerEvent, ContainerLifecycleState};
use crate::recovery::{ContainerRecord, NmStateStore, RecordedStatus, RecoveryError};

/// `ContainerExecutor.ExitCode.LOST`: the NM lost track of the process.
pub const EXIT_CODE_LOST: i32 = 154;
/// Exit status of a container whose launch script could not be written or started.
pub const EXIT_CODE_LAUNCH_FAILED: i32 = -1;

/// What `ContainerManager::status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatusReport {
    pub container_id: ContainerId,
    pub state: ContainerLifecycleState,
    /// `exit_status::INVALID` (-1000) until the container is DONE; then the process exit code,
    /// the exit status its stop asked for, or INVALID when localization failed.
    pub exit_status: i32,
    /// `[timestamp]message` entries, newline-terminated.
    pub diagnostics: String,
    pub resource: Resource,
}

struct RuntimeState {
    lifecycle: ContainerLifecycleState,
    exit_status: i32,
    diagnostics: String,
    /// The process group leader while it is not yet reaped (its pid is the group id).
    leader: Option<Pid>,
    /// The exit status a stop asked for; reported instead of the process exit code.
    kill_exit_status: Option<i32>,
    /// The process was started (by this NM, or by the run before a restart).
    launched: bool,
}

/// A container known to this NM.
pub(crate) struct ContainerRuntime {
    pub spec: ContainerLaunchSpec,
    pub paths: ContainerPaths,
    /// When the NM accepted it (ms since the epoch).
    pub start_time_ms: i64,
    state: Mutex<RuntimeState>,
    lifecycle_watch: watch::Sender<ContainerLifecycleState>,
    completions: mpsc::UnboundedSender<ContainerId>,
    /// The recovery store, when recovery is on.
    recorder: Option<Arc<NmStateStore>>,
    /// Its holds on the localized resources it uses, given back when it is done.
    leases: Mutex<Vec<crate::localizer::ResourceLease>>,
}

impl ContainerRuntime {
    /// Keeps `leases` until the container is done (at once if it already is).
    pub fn hold_resources(&self, leases: Vec<crate::localizer::ResourceLease>) {
        if self.lifecycle() == ContainerLifecycleState::Done {
            return;
        }
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(leases);
    }

    pub fn new(
        spec: ContainerLaunchSpec,
        paths: ContainerPaths,
        completions: mpsc::UnboundedSender<ContainerId>,
        recorder: Option<Arc<NmStateStore>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            spec,
            paths,
            start_time_ms: crate::service::now_ms(),
            state: Mutex::new(RuntimeState {
                lifecycle: ContainerLifecycleState::New,
                exit_status: exit_status::INVALID,
                diagnostics: String::new(),
                leader: None,
                kill_exit_status: None,
                launched: false,
            }),
            lifecycle_watch: watch::channel(ContainerLifecycleState::New).0,
            completions,
            recorder,
            leases: Mutex::new(Vec::new()),
        })
    }

    /// A container a restarted NM read from its store: DONE if it completed, RUNNING (without a
    /// leader until its process is found) if it was launched, NEW if it never was.
    pub fn recovered(
        record: ContainerRecord,
        paths: ContainerPaths,
        completions: mpsc::UnboundedSender<ContainerId>,
        recorder: Option<Arc<NmStateStore>>,
    ) -> Arc<Self> {
        let runtime = Arc::new(Self {
            spec: record.spec,
            paths,
            start_time_ms: record.start_time_ms,
            state: Mutex::new(RuntimeState {
                lifecycle: ContainerLifecycleState::New,
                exit_status: exit_status::INVALID,
                diagnostics: record.diagnostics,
                leader: None,
                kill_exit_status: record.kill_exit_status,
                launched: record.status != RecordedStatus::Requested,
            }),
            lifecycle_watch: watch::channel(ContainerLifecycleState::New).0,
            completions,
            recorder,
            leases: Mutex::new(Vec::new()),
        });
        {
            let mut state = runtime.lock();
            match record.status {
                RecordedStatus::Completed { exit_status } => {
                    runtime.apply(&mut state, ContainerEvent::RecoveredAsCompleted);
                    state.exit_status = exit_status;
                }
                RecordedStatus::Launched => {
                    runtime.apply(&mut state, ContainerEvent::RecoveredAsLaunched);
                }
                RecordedStatus::Requested => {}
            }
        }
        runtime
    }

    /// What the recovery store keeps of this container now.
    fn record(&self, state: &RuntimeState) -> ContainerRecord {
        let status = if state.lifecycle == ContainerLifecycleState::Done {
            RecordedStatus::Completed {
                exit_status: state.exit_status,
            }
        } else if state.launched {
            RecordedStatus::Launched
        } else {
            RecordedStatus::Requested
        };
        ContainerRecord {
            spec: self.spec.clone(),
            status,
            start_time_ms: self.start_time_ms,
            kill_exit_status: state.kill_exit_status,
            diagnostics: state.diagnostics.clone(),
        }
    }

    /// Records the container as it is now (nothing without recovery).
    fn persist(&self, state: &RuntimeState) -> Result<(), RecoveryError> {
        match &self.recorder {
            Some(store) => store.store_container(&self.record(state)),
            None => Ok(()),
        }
    }

    /// Like `persist`, logging a failure: the step stands, a restart may not know it.
    fn persist_or_warn(&self, state: &RuntimeState) {
        if let Err(error) = self.persist(state) {
            tracing::warn!(container = %self.spec.container_id, "cannot record the container for recovery: {error}");
        }
    }

    /// Records a just-accepted container (before the start is acknowledged).
    pub fn persist_requested(&self) -> Result<(), RecoveryError> {
        self.persist(&self.lock())
    }

    /// Whether the container is recorded for recovery (its process then runs under the executor
    /// script, which writes its pid and exit code).
    pub fn is_recorded(&self) -> bool {
        self.recorder.is_some()
    }

    /// Whether a stop was asked for (its exit status is what the container reports).
    pub fn is_being_killed(&self) -> bool {
        self.lock().kill_exit_status.is_some()
    }

    pub fn container_id(&self) -> ContainerId {
        self.spec.container_id
    }

    pub fn report(&self) -> ContainerStatusReport {
        let state = self.lock();
        ContainerStatusReport {
            container_id: self.spec.container_id,
            state: state.lifecycle,
            exit_status: state.exit_status,
            diagnostics: state.diagnostics.clone(),
            resource: self.spec.resource.clone(),
        }
    }

    pub fn lifecycle(&self) -> ContainerLifecycleState {
        self.lock().lifecycle
    }

    /// The running leader's pid, for the memory monitor.
    pub fn running_leader(&self) -> Option<Pid> {
        let state = self.lock();
        (state.lifecycle == ContainerLifecycleState::Running)
            .then_some(state.leader)
            .flatten()
    }

    pub fn subscribe(&self) -> watch::Receiver<ContainerLifecycleState> {
        self.lifecycle_watch.subscribe()
    }

    /// NEW -> LOCALIZING.
    pub fn init(&self) {
        let mut state = self.lock();
        self.apply(&mut state, ContainerEvent::InitContainer);
    }

    /// Stops the container: records `reason`, SIGTERMs the process group and SIGKILLs it after
    /// `sigkill_delay` (at once when zero). Must be called inside a tokio runtime.
    pub fn kill(self: &Arc<Self>, kill_exit_status: i32, reason: &str, sigkill_delay: Duration) {
        let mut state = self.lock();
        let before = state.lifecycle;
        if !self.apply(&mut state, ContainerEvent::Kill) || state.lifecycle == before {
            return; // already finished or already being killed
        }
        state.kill_exit_status = Some(kill_exit_status);
        append_diagnostic(&mut state.diagnostics, reason);
        match (state.lifecycle, state.leader) {
            (ContainerLifecycleState::Done, _) => self.finish(&mut state, kill_exit_status),
            (ContainerLifecycleState::Killing, Some(leader)) => {
                self.persist_or_warn(&state);
                self.signal_stop(leader, sigkill_delay);
            }
            // KILLING while localizing: the localization task ends the container; KILLING of a
            // recovered container whose process is not found yet: its re-acquisition does.
            _ => self.persist_or_warn(&state),
        }
    }

    /// SIGTERM to the process group, SIGKILL after `sigkill_delay` (at once when zero).
    fn signal_stop(self: &Arc<Self>, leader: Pid, sigkill_delay: Duration) {
        if sigkill_delay.is_zero() {
            signal_process_group(leader, Signal::SIGKILL);
        } else {
            signal_process_group(leader, Signal::SIGTERM);
            let runtime = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(sigkill_delay).await;
                // While `leader` is set the group id is still ours: the leader is unreaped (or, for
                // a re-acquired process, was alive at the last look).
                if let Some(leader) = runtime.lock().leader {
                    signal_process_group(leader, Signal::SIGKILL);
                }
            });
        }
    }

    /// A recovered container's process was found alive: it is watched from now on, and stopped
    /// at once if a stop was asked for (before the restart, or since).
    pub fn reacquired(self: &Arc<Self>, leader: Pid, sigkill_delay: Duration) {
        let mut state = self.lock();
        state.leader = Some(leader);
        if state.lifecycle == ContainerLifecycleState::Killing {
            self.signal_stop(leader, sigkill_delay);
        }
    }

    /// A re-acquired process is gone: it is no longer signalled.
    pub fn release_leader(&self) {
        self.lock().leader = None;
    }

    /// A resource failed to localize: LOCALIZATION_FAILED -> DONE with exit status INVALID.
    pub fn localization_failed(&self, diagnostic: &str) {
        let mut state = self.lock();
        if !self.apply(&mut state, ContainerEvent::ResourceFailed) {
            return;
        }
        if state.lifecycle == ContainerLifecycleState::Done {
            let status = state.kill_exit_status.unwrap_or(exit_status::INVALID);
            self.finish(&mut state, status);
            return;
        }
        append_diagnostic(&mut state.diagnostics, diagnostic);
        self.apply(&mut state, ContainerEvent::ResourcesCleanedUp);
        self.finish(&mut state, exit_status::INVALID);
    }

    /// Every resource is localized; true when the container should now be launched (false when
    /// a stop arrived meanwhile and the container is DONE).
    pub fn localized(&self) -> bool {
        let mut state = self.lock();
        if !self.apply(&mut state, ContainerEvent::ResourcesLocalized) {
            return false;
        }
        if state.lifecycle == ContainerLifecycleState::Done {
            let status = state.kill_exit_status.unwrap_or(exit_status::INVALID);
            self.finish(&mut state, status);
            return false;
        }
        true
    }

    /// Starts the process with `spawn` unless a stop came first; LOCALIZED -> RUNNING.
    /// A spawn error ends the container (EXITED_WITH_FAILURE -> DONE).
    pub fn launch(&self, spawn: impl FnOnce() -> std::io::Result<Pid>) -> Option<Pid> {
        let mut state = self.lock();
        if state.lifecycle != ContainerLifecycleState::Localized {
            return None;
        }
        // Recorded first: a restart must never start a second copy of a launched container.
        state.launched = true;
        if let Err(error) = self.persist(&state) {
            state.launched = false;
            drop(state);
            self.launch_failed(&format!(
                "Failed to record the container launch for recovery: {error}"
            ));
            return None;
        }
        match spawn() {
            Ok(leader) => {
                state.leader = Some(leader);
                self.apply(&mut state, ContainerEvent::ContainerLaunched);
                Some(leader)
            }
            Err(error) => {
                drop(state);
                self.launch_failed(&format!("Failed to launch container: {error}"));
                None
            }
        }
    }

    /// The launch script could not be prepared or started.
    pub fn launch_failed(&self, diagnostic: &str) {
        let mut state = self.lock();
        if state.lifecycle != ContainerLifecycleState::Localized {
            return;
        }
        append_diagnostic(&mut state.diagnostics, diagnostic);
        self.apply(&mut state, ContainerEvent::ExitedWithFailure);
        self.apply(&mut state, ContainerEvent::ResourcesCleanedUp);
        self.finish(&mut state, EXIT_CODE_LAUNCH_FAILED);
    }

    /// The leader exited (still a zombie; its remaining group was already SIGKILLed): reaps it and
    /// moves to DONE. `failure_diagnostics` describe a non-zero exit not requested by a stop.
    pub fn process_exited(
        &self,
        leader: Pid,
        exit: ProcessExit,
        failure_diagnostics: impl FnOnce() -> Vec<String>,
    ) {
        let mut state = self.lock();
        reap(leader);
        state.leader = None;
        self.exited(&mut state, exit.exit_code(), failure_diagnostics);
    }

    /// A re-acquired process ended with `code` (read from its exit-code file).
    pub fn recovered_process_exited(
        &self,
        code: i32,
        failure_diagnostics: impl FnOnce() -> Vec<String>,
    ) {
        let mut state = self.lock();
        state.leader = None;
        self.exited(&mut state, code, failure_diagnostics);
    }

    fn exited(
        &self,
        state: &mut RuntimeState,
        code: i32,
        failure_diagnostics: impl FnOnce() -> Vec<String>,
    ) {
        if state.lifecycle == ContainerLifecycleState::Done {
            return;
        }
        let event = if code == 0 {
            ContainerEvent::ExitedWithSuccess
        } else {
            ContainerEvent::ExitedWithFailure
        };
        if let Some(kill_exit_status) = state.kill_exit_status {
            append_diagnostic(
                &mut state.diagnostics,
                &format!("Container killed on request. Exit code is {code}"),
            );
            if code != 0 {
                append_diagnostic(
                    &mut state.diagnostics,
                    &format!("Container exited with a non-zero exit code {code}. "),
                );
            }
            self.apply(state, event);
            self.finish(state, kill_exit_status);
            return;
        }
        if code == 143 || code == 137 {
            append_diagnostic(
                &mut state.diagnostics,
                &format!("Container killed on request. Exit code is {code}"),
            );
            append_diagnostic(
                &mut state.diagnostics,
                &format!(
                    "Container exited with a non-zero exit code {code}. Killed by external signal"
                ),
            );
        } else if code != 0 {
            for diagnostic in failure_diagnostics() {
                append_diagnostic(&mut state.diagnostics, &diagnostic);
            }
        }
        self.apply(state, event);
        self.apply(state, ContainerEvent::ResourcesCleanedUp);
        self.finish(state, code);
    }

    /// The waiter lost the process (it was reaped elsewhere), or a restarted NM could not learn
    /// how it ended: reported as LOST (154), or as the exit status a stop asked for.
    pub fn process_lost(&self, diagnostic: &str) {
        let mut state = self.lock();
        state.leader = None;
        if state.lifecycle == ContainerLifecycleState::Done {
            return;
        }
        append_diagnostic(&mut state.diagnostics, diagnostic);
        let status = state.kill_exit_status.unwrap_or(EXIT_CODE_LOST);
        self.apply(&mut state, ContainerEvent::ExitedWithFailure);
        if state.lifecycle != ContainerLifecycleState::Done {
            self.apply(&mut state, ContainerEvent::ResourcesCleanedUp);
        }
        self.finish(&mut state, status);
    }

    fn lock(&self) -> MutexGuard<'_, RuntimeState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies one event through the transition table; false (and no change) when refused.
    fn apply(&self, state: &mut RuntimeState, event: ContainerEvent) -> bool {
        match state.lifecycle.transition(event) {
            Some(next) => {
                if next != state.lifecycle {
                    tracing::debug!(container = %self.spec.container_id, from = state.lifecycle.name(), to = next.name(), ?event, "container transition");
                    state.lifecycle = next;
                    self.lifecycle_watch.send_replace(next);
                }
                true
            }
            None => {
                tracing::warn!(container = %self.spec.container_id, state = state.lifecycle.name(), ?event, "event ignored in this state");
                false
            }
        }
    }

    /// Records the final exit status of a container that just reached DONE and announces it.
    fn finish(&self, state: &mut RuntimeState, final_exit_status: i32) {
        debug_assert_eq!(state.lifecycle, ContainerLifecycleState::Done);
        state.exit_status = final_exit_status;
        self.persist_or_warn(state);
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        tracing::info!(container = %self.spec.container_id, exit_status = final_exit_status, "container completed");
        let _ = self.completions.send(self.spec.container_id);
    }
}
