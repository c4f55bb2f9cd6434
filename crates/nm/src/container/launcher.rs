//! Taking an accepted container from LOCALIZING to RUNNING: application and log directories,
//! localization of every resource, the work dir with `tmp/`, `container_tokens` and
//! `launch_container.sh` (with recovery on, also the private dir with the executor script that
//! records pid and exit code), then the process and a thread waiting for it.

use std::fs;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::task::JoinSet;

use super::config::NmContainerConfig;
use super::diagnostics;
use super::environment::{build_launch_environment, expand_markers};
use super::executor_script::executor_script;
use super::launch_script::{launch_script, resolve_links};
use super::process::{signal_process_group, spawn_in_new_session, wait_for_exit_keeping_zombie};
use super::runtime::ContainerRuntime;
use crate::localizer::{layout, LocalizationOutcome, ResourceLocalizer};

/// An empty Hadoop credentials file (`HDTS`, WRITABLE format, no tokens, no secrets).
pub const EMPTY_CREDENTIALS: &[u8] = b"HDTS\x00\x00\x00";

/// Localizes, prepares and launches `runtime`'s container; every outcome ends in the runtime.
pub(crate) async fn localize_and_launch(
    config: Arc<NmContainerConfig>,
    localizer: Arc<ResourceLocalizer>,
    runtime: Arc<ContainerRuntime>,
) {
    let started = Instant::now();
    let directories = {
        let (config, runtime) = (config.clone(), runtime.clone());
        tokio::task::spawn_blocking(move || create_application_directories(&config, &runtime)).await
    };
    if let Err(error) = directories.unwrap_or_else(|join_error| Err(io::Error::other(join_error))) {
        runtime.localization_failed(&format!(
            "Failed to create application directories: {error}"
        ));
        return;
    }

    let mut localizations = JoinSet::new();
    for (link_name, resource) in runtime.spec.local_resources.clone() {
        let (localizer, user, application_id) = (
            localizer.clone(),
            runtime.spec.user.clone(),
            runtime.spec.container_id.application_id(),
        );
        localizations.spawn(async move {
            (
                link_name,
                localizer.localize(&resource, &user, application_id).await,
            )
        });
    }
    let mut localized: Vec<(String, PathBuf)> = Vec::new();
    let mut leases = Vec::new();
    let mut counters = LocalizationCounters::default();
    let mut first_error = None;
    while let Some(joined) = localizations.join_next().await {
        match joined {
            Ok((link_name, Ok(outcome))) => {
                counters.add(&outcome);
                localized.push((link_name, outcome.resource.path));
                leases.push(outcome.lease);
            }
            Ok((_, Err(error))) => {
                first_error.get_or_insert(error.to_string());
            }
            Err(join_error) => {
                first_error.get_or_insert(format!("localization task failed: {join_error}"));
            }
        }
    }
    if let Some(error) = first_error {
        runtime.localization_failed(&error);
        return;
    }
    localized.sort();
    runtime.hold_resources(leases);
    counters.millis = started.elapsed().as_millis() as u64;
    if !runtime.localized() {
        return;
    }

    let prepared = {
        let (config, runtime) = (config.clone(), runtime.clone());
        tokio::task::spawn_blocking(move || {
            prepare_work_dir(&config, &runtime, &localized, &counters.to_string())
        })
        .await
    };
    let environment = match prepared.unwrap_or_else(|join_error| Err(io::Error::other(join_error)))
    {
        Ok(environment) => environment,
        Err(error) => {
            runtime.launch_failed(&format!("Failed to prepare the container launch: {error}"));
            return;
        }
    };
    let paths = runtime.paths.clone();
    let script = if runtime.is_recorded() {
        &paths.executor_script
    } else {
        &paths.launch_script
    };
    if let Some(leader) =
        runtime.launch(|| spawn_in_new_session(script, &paths.work_dir, &environment))
    {
        watch_process(runtime, leader, config.stderr_tail_bytes);
    }
}

/// Waits for the leader on a dedicated thread; kills what is left of its process group while the
/// zombie still reserves the group id, then reports the exit to the runtime.
fn watch_process(runtime: Arc<ContainerRuntime>, leader: Pid, stderr_tail_bytes: u64) {
    let thread_runtime = runtime.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("wait-{}", runtime.container_id()))
        .spawn(move || {
            let runtime = thread_runtime;
            match wait_for_exit_keeping_zombie(leader) {
                Ok(exit) => {
                    signal_process_group(leader, Signal::SIGKILL);
                    let log_dir = runtime.paths.log_dir.clone();
                    let container_id = runtime.container_id();
                    runtime.process_exited(leader, exit, || {
                        let code = exit.exit_code();
                        vec![
                            diagnostics::container_launch_exception(container_id, code),
                            diagnostics::exit_with_failure(code, &log_dir, stderr_tail_bytes),
                        ]
                    });
                }
                Err(error) => runtime.process_lost(&format!(
                    "Lost track of the container process {leader}: {error}"
                )),
            }
        });
    if let Err(error) = spawned {
        // Without a waiter nobody would reap the process: kill it and report it lost.
        signal_process_group(leader, Signal::SIGKILL);
        runtime.process_lost(&format!(
            "Cannot start a thread to wait for the container: {error}"
        ));
    }
}

/// `LOCALIZATION_COUNTERS`: bytes missed, bytes hit, files missed, files hit, milliseconds.
#[derive(Debug, Default, Clone, Copy)]
struct LocalizationCounters {
    bytes_missed: u64,
    bytes_hit: u64,
    files_missed: u64,
    files_hit: u64,
    millis: u64,
}

impl LocalizationCounters {
    fn add(&mut self, outcome: &LocalizationOutcome) {
        if outcome.cache_hit {
            self.bytes_hit += outcome.resource.size_bytes;
            self.files_hit += 1;
        } else {
            self.bytes_missed += outcome.resource.size_bytes;
            self.files_missed += 1;
        }
    }
}

impl std::fmt::Display for LocalizationCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{},{},{},{},{}",
            self.bytes_missed, self.bytes_hit, self.files_missed, self.files_hit, self.millis
        )
    }
}

/// The application dirs on every local dir (`LOCAL_DIRS`) and the container log dir on every
/// log dir (`LOG_DIRS`), as `DefaultContainerExecutor` creates them.
fn create_application_directories(
    config: &NmContainerConfig,
    runtime: &ContainerRuntime,
) -> io::Result<()> {
    let spec = &runtime.spec;
    for local_dir in &config.local_dirs {
        fs::create_dir_all(layout::application_dir(
            local_dir,
            &spec.user,
            spec.container_id.application_id(),
        ))?;
        fs::create_dir_all(layout::user_file_cache(local_dir, &spec.user))?;
    }
    for log_dir in &config.log_dirs {
        let container_log_dir = layout::container_log_dir(log_dir, spec.container_id);
        fs::create_dir_all(&container_log_dir)?;
        fs::set_permissions(&container_log_dir, fs::Permissions::from_mode(0o710))?;
    }
    Ok(())
}

/// Creates the work dir with `tmp/`, writes `container_tokens` and `launch_container.sh`;
/// returns the environment to start the script with.
fn prepare_work_dir(
    config: &NmContainerConfig,
    runtime: &ContainerRuntime,
    localized: &[(String, PathBuf)],
    localization_counters: &str,
) -> io::Result<Vec<(String, String)>> {
    let (spec, paths) = (&runtime.spec, &runtime.paths);
    fs::create_dir_all(paths.work_dir.join("tmp"))?;
    fs::set_permissions(&paths.work_dir, fs::Permissions::from_mode(0o710))?;
    let credentials = spec
        .credentials
        .as_deref()
        .filter(|bytes| !bytes.is_empty())
        .unwrap_or(EMPTY_CREDENTIALS);
    write_private_file(&paths.tokens_file, credentials, 0o600)?;
    let environment = build_launch_environment(config, spec, paths, localization_counters);
    let links = resolve_links(localized)?;
    let commands: Vec<String> = spec
        .commands
        .iter()
        .map(|command| expand_markers(command, &paths.log_dir))
        .collect();
    let script = launch_script(&environment, &links, &commands, &paths.log_dir);
    write_private_file(&paths.launch_script, script.as_bytes(), 0o700)?;
    if runtime.is_recorded() {
        create_private_dir(&paths.private_dir)?;
        for stale in [&paths.pid_file, &paths.exit_code_file] {
            let _ = fs::remove_file(stale);
        }
        let executor =
            executor_script(&paths.launch_script, &paths.pid_file, &paths.exit_code_file);
        write_private_file(&paths.executor_script, executor.as_bytes(), 0o700)?;
    }
    Ok(environment.process_environment())
}

/// `<local-dir>/nmPrivate/<app>/<container>`, every level only the NM's user can enter.
fn create_private_dir(private_dir: &std::path::Path) -> io::Result<()> {
    fs::create_dir_all(private_dir)?;
    for directory in private_dir.ancestors().take(3) {
        fs::set_permissions(directory, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn write_private_file(path: &std::path::Path, contents: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write as _;
    let _ = fs::remove_file(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
