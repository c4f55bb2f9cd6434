//! One container's mutable life: its lifecycle state, process group leader, exit status and
//! diagnostics, changed only through the transition table, plus stop (SIGTERM to the process
//! group, SIGKILL after a delay) and exit handling.

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
}

/// A container known to this NM.
pub(crate) struct ContainerRuntime {
    pub spec: ContainerLaunchSpec,
    pub paths: ContainerPaths,
    state: Mutex<RuntimeState>,
    lifecycle_watch: watch::Sender<ContainerLifecycleState>,
    completions: mpsc::UnboundedSender<ContainerId>,
}

impl ContainerRuntime {
    pub fn new(
        spec: ContainerLaunchSpec,
        paths: ContainerPaths,
        completions: mpsc::UnboundedSender<ContainerId>,
    ) -> Arc<Self> {
        Arc::new(Self {
            spec,
            paths,
            state: Mutex::new(RuntimeState {
                lifecycle: ContainerLifecycleState::New,
                exit_status: exit_status::INVALID,
                diagnostics: String::new(),
                leader: None,
                kill_exit_status: None,
            }),
            lifecycle_watch: watch::channel(ContainerLifecycleState::New).0,
            completions,
        })
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
                if sigkill_delay.is_zero() {
                    signal_process_group(leader, Signal::SIGKILL);
                } else {
                    signal_process_group(leader, Signal::SIGTERM);
                    let runtime = Arc::clone(self);
                    tokio::spawn(async move {
                        tokio::time::sleep(sigkill_delay).await;
                        // The leader is unreaped while `leader` is set, so the group id is still ours.
                        if let Some(leader) = runtime.lock().leader {
                            signal_process_group(leader, Signal::SIGKILL);
                        }
                    });
                }
            }
            // KILLING while localizing: the localization task ends the container.
            _ => {}
        }
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
        let code = exit.exit_code();
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
            self.apply(&mut state, event);
            self.finish(&mut state, kill_exit_status);
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
        self.apply(&mut state, event);
        self.apply(&mut state, ContainerEvent::ResourcesCleanedUp);
        self.finish(&mut state, code);
    }

    /// The waiter lost the process (it was reaped elsewhere): reported as LOST (154).
    pub fn process_lost(&self, diagnostic: &str) {
        let mut state = self.lock();
        state.leader = None;
        append_diagnostic(&mut state.diagnostics, diagnostic);
        let status = state.kill_exit_status.unwrap_or(EXIT_CODE_LOST);
        self.apply(&mut state, ContainerEvent::ExitedWithFailure);
        self.apply(&mut state, ContainerEvent::ResourcesCleanedUp);
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
        tracing::info!(container = %self.spec.container_id, exit_status = final_exit_status, "container completed");
        let _ = self.completions.send(self.spec.container_id);
    }
}
