//! What a restarted NM does with each launched container its store recorded: find its process
//! by the pid file, and either watch it (RUNNING, liveness checked every second) or learn how it
//! ended from its exit-code file; and what it does with the process of a container whose record
//! was unreadable (killed: nobody could report it).
//!
//! Outcomes, as Hadoop's `RecoveredContainerLaunch`: no pid file within 2 s, an unreadable pid
//! file, or no exit-code file within 2 s of the process's end complete the container as LOST
//! (154) with the reason in its diagnostics (or with the exit status of a stop asked for).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use spindle_types::ContainerId;

use super::diagnostics;
use super::process::signal_process_group;
use super::reacquire::{
    exit_code_file, group_has_members, is_alive, locate_pid_file, read_exit_code_file,
    read_pid_file, wait_for, LIVENESS_INTERVAL,
};
use super::runtime::ContainerRuntime;

/// How a recovered container's process is watched.
#[derive(Debug, Clone)]
pub(crate) struct ReacquireSettings {
    pub local_dirs: Vec<PathBuf>,
    pub sigkill_delay: Duration,
    pub stderr_tail_bytes: u64,
}

/// Finds the process of a container recorded as launched. Returns once it is known: RUNNING
/// with its leader set (a task then watches it until it ends), or DONE.
pub(crate) async fn reacquire(runtime: Arc<ContainerRuntime>, settings: ReacquireSettings) {
    let container_id = runtime.container_id();
    let pid_file = wait_for(|| locate_pid_file(&settings.local_dirs, container_id)).await;
    let Some(pid_file) = pid_file else {
        tracing::warn!("Unable to locate pid file for container {container_id}");
        runtime.process_lost(&format!(
            "Unable to locate pid file for container {container_id}: the NodeManager restarted before its process started"
        ));
        return;
    };
    let pid = match read_pid_file(&pid_file) {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            runtime.process_lost(&format!(
                "Unable to recover container {container_id}: {} vanished",
                pid_file.display()
            ));
            return;
        }
        Err(error) => {
            tracing::warn!("Unable to recover container {container_id}: {error}");
            runtime.process_lost(&format!(
                "Unable to recover container {container_id}: {error}"
            ));
            return;
        }
    };
    if is_alive(pid) {
        tracing::info!(
            "Recovered container {container_id}: its process {pid} is still running; watching it"
        );
        runtime.reacquired(pid, settings.sigkill_delay);
        tokio::spawn(watch(runtime, pid, pid_file, settings.stderr_tail_bytes));
    } else {
        tracing::info!(
            "Recovered container {container_id}: its process {pid} ended while the NodeManager was down"
        );
        finish(&runtime, pid, &pid_file, settings.stderr_tail_bytes).await;
    }
}

/// Checks the process every second until it is gone, then completes the container.
async fn watch(
    runtime: Arc<ContainerRuntime>,
    pid: Pid,
    pid_file: PathBuf,
    stderr_tail_bytes: u64,
) {
    while is_alive(pid) {
        tokio::time::sleep(LIVENESS_INTERVAL).await;
    }
    finish(&runtime, pid, &pid_file, stderr_tail_bytes).await;
}

/// The process `pid` is gone: what is left of its group is killed, as when a leader this NM
/// started exits, and the container completes with the exit code its executor script wrote.
async fn finish(
    runtime: &ContainerRuntime,
    pid: Pid,
    pid_file: &std::path::Path,
    stderr_tail_bytes: u64,
) {
    let container_id = runtime.container_id();
    if group_has_members(pid) {
        signal_process_group(pid, Signal::SIGKILL);
    }
    runtime.release_leader();
    let exit_code_file = exit_code_file(pid_file);
    let read = || read_exit_code_file(&exit_code_file).transpose();
    // A stopped container reports the stop's exit status: no need to wait for its code.
    let exit_code = if runtime.is_being_killed() {
        read()
    } else {
        wait_for(read).await
    };
    match exit_code {
        Some(Ok(code)) => {
            let log_dir = runtime.paths.log_dir.clone();
            runtime.recovered_process_exited(code, || {
                vec![
                    diagnostics::container_launch_exception(container_id, code),
                    diagnostics::exit_with_failure(code, &log_dir, stderr_tail_bytes),
                ]
            });
        }
        Some(Err(error)) => {
            tracing::warn!("Unable to recover container {container_id}: {error}");
            runtime.process_lost(&format!("Error parsing exit code from pid {pid}: {error}"));
        }
        None => {
            tracing::warn!("Timeout while waiting for exit code from {container_id}");
            runtime.process_lost(&format!(
                "Timeout while waiting for exit code from {container_id}: its process {pid} ended without recording one"
            ));
        }
    }
}

/// The container's record could not be read: its process, if it still runs, is killed (no one
/// could report or stop it otherwise). The RM completes the container as ABORTED when this NM
/// registers without it.
pub(crate) fn kill_unrecoverable(local_dirs: &[PathBuf], container_id: ContainerId) {
    let Some(pid_file) = locate_pid_file(local_dirs, container_id) else {
        return;
    };
    if let Ok(Some(pid)) = read_pid_file(&pid_file) {
        if is_alive(pid) {
            tracing::warn!(
                "Killing process group {pid} of container {container_id}: its record cannot be recovered"
            );
            signal_process_group(pid, Signal::SIGKILL);
        }
    }
}
