//! `ContainerManager`: the API the NM services call to start, stop, inspect and clean up
//! containers, with a channel announcing completed containers for immediate heartbeats; with
//! recovery on, it records them and, after a restart, takes them back (`recover`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use spindle_types::{exit_status, ApplicationId, ContainerId};
use tokio::sync::mpsc;

use super::config::NmContainerConfig;
use super::diagnostics::kill_reason;
use super::error::{ManagerSetupError, StartError, StopError};
use super::launcher::localize_and_launch;
use super::monitor::run_memory_monitor;
use super::recovery::{kill_unrecoverable, reacquire, ReacquireSettings};
use super::runtime::{ContainerRuntime, ContainerStatusReport};
use super::spec::{ContainerLaunchSpec, ContainerPaths};
use super::state::ContainerLifecycleState;
use crate::localizer::{layout, remove_tree, ResourceLocalizer};
use crate::log_aggregation::{LogAggregationReport, LogAggregator};
use crate::recovery::{
    ApplicationRecord, NmStateStore, RecordedStatus, RecoveredState, StoppedContainer, Table,
};

/// Shared state of the manager; the memory monitor holds it weakly.
pub(crate) struct ManagerInner {
    pub config: Arc<NmContainerConfig>,
    localizer: Arc<ResourceLocalizer>,
    containers: Mutex<HashMap<ContainerId, Arc<ContainerRuntime>>>,
    /// Users that ran containers of each application, for deleting appcache dirs at cleanup.
    application_users: Mutex<HashMap<ApplicationId, BTreeSet<String>>>,
    completions: mpsc::UnboundedSender<ContainerId>,
    completions_receiver: Mutex<Option<mpsc::UnboundedReceiver<ContainerId>>>,
    /// Containers forgotten after their completion was reported, for as long as their tokens
    /// could still be presented (`NmContainerConfig::stopped_container_retention`, at most
    /// `RECENTLY_STOPPED_LIMIT` ids): a token can never start its container twice.
    recently_stopped: Mutex<RecentlyStopped>,
    /// The recovery store, when recovery is on.
    store: Option<Arc<NmStateStore>>,
    /// Uploads finished applications' logs, when log aggregation is on.
    log_aggregator: Option<LogAggregator>,
}

/// The most forgotten ids remembered at once (the oldest go first beyond it).
pub const RECENTLY_STOPPED_LIMIT: usize = 100_000;

/// Ids of forgotten containers, oldest first, each kept for `retention`.
struct RecentlyStopped {
    retention: std::time::Duration,
    order: std::collections::VecDeque<(std::time::Instant, ContainerId)>,
    ids: std::collections::HashSet<ContainerId>,
}

impl RecentlyStopped {
    fn remember(&mut self, container_id: ContainerId, now: std::time::Instant) {
        self.prune(now);
        if self.ids.insert(container_id) {
            self.order.push_back((now, container_id));
        }
        while self.order.len() > RECENTLY_STOPPED_LIMIT {
            if let Some((_, oldest)) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
    }

    fn prune(&mut self, now: std::time::Instant) {
        while let Some(&(at, oldest)) = self.order.front() {
            if now.duration_since(at) < self.retention {
                break;
            }
            self.order.pop_front();
            self.ids.remove(&oldest);
        }
    }

    fn contains(&mut self, container_id: ContainerId, now: std::time::Instant) -> bool {
        self.prune(now);
        self.ids.contains(&container_id)
    }
}

impl ManagerInner {
    fn recently_stopped(&self) -> MutexGuard<'_, RecentlyStopped> {
        self.recently_stopped
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn containers(&self) -> MutexGuard<'_, HashMap<ContainerId, Arc<ContainerRuntime>>> {
        self.containers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn application_users(&self) -> MutexGuard<'_, HashMap<ApplicationId, BTreeSet<String>>> {
        self.application_users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn running_containers(&self) -> Vec<Arc<ContainerRuntime>> {
        self.containers()
            .values()
            .filter(|runtime| runtime.lifecycle() == ContainerLifecycleState::Running)
            .cloned()
            .collect()
    }

    pub(crate) fn kill(
        &self,
        container_id: ContainerId,
        kill_exit_status: i32,
        reason: &str,
    ) -> bool {
        let runtime = self.containers().get(&container_id).cloned();
        match runtime {
            Some(runtime) => {
                runtime.kill(kill_exit_status, reason, self.config.sigkill_delay);
                true
            }
            None => false,
        }
    }
}

/// What the NM's web pages show of one container: its status, user and log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDetails {
    pub status: ContainerStatusReport,
    /// The application submitter it runs for (from its container token).
    pub user: String,
    /// `<log-dir>/<app>/<container>`.
    pub log_dir: std::path::PathBuf,
}

impl ContainerDetails {
    fn of(runtime: &ContainerRuntime) -> Self {
        Self {
            status: runtime.report(),
            user: runtime.spec.user.clone(),
            log_dir: runtime.paths.log_dir.clone(),
        }
    }
}

/// The containers of this NodeManager.
///
/// Create it inside a tokio runtime (it starts the memory monitor task). Dropping it stops the
/// monitor but not the containers: call `stop_all` first on shutdown.
pub struct ContainerManager {
    inner: Arc<ManagerInner>,
}

impl ContainerManager {
    /// Creates the local and log dirs (with `filecache/` and `usercache/`) and starts the memory
    /// monitor when `pmem_check` is on.
    pub fn new(config: NmContainerConfig) -> Result<Self, ManagerSetupError> {
        let localizer = ResourceLocalizer::new(config.local_dirs.clone());
        Self::build(config, localizer, None)
    }

    /// Like `new`, recording every container in `store`, and first taking back what it recorded
    /// before a restart (`state`, as `NmStateStore::load` read it):
    ///
    /// * a container recorded COMPLETED is DONE with its exit status and diagnostics, reported
    ///   until the RM says its AM has it;
    /// * a container recorded LAUNCHED is RUNNING again if its process is alive (then watched
    ///   until it ends), else DONE with the exit code its executor script wrote (LOST, 154, when
    ///   there is no pid file or no exit code); a stop asked for before the restart is carried out;
    /// * a container recorded REQUESTED was never started: it is localized and launched now (or
    ///   DONE with its stop's exit status if a stop was asked for);
    /// * a bad record is logged and deleted, and its container's process, if alive, killed.
    ///
    /// Returns once every launched container's process is known running or ended.
    pub async fn recover(
        config: NmContainerConfig,
        store: Arc<NmStateStore>,
        state: RecoveredState,
    ) -> Result<Self, ManagerSetupError> {
        let mut discarded: Vec<(Table, String)> = Vec::new();
        for bad in &state.bad {
            tracing::warn!(
                "NodeManager recovery: dropping the unreadable record {bad} in {}",
                store.path().display()
            );
            if bad.table == Table::Containers {
                if let Ok(container_id) = bad.key.parse::<ContainerId>() {
                    kill_unrecoverable(&config.local_dirs, container_id);
                }
            }
            discarded.push((bad.table, bad.key.clone()));
        }
        let (localizer, stale) =
            ResourceLocalizer::recovered(config.local_dirs.clone(), store.clone(), state.localized);
        discarded.extend(stale.into_iter().map(|key| (Table::Localized, key)));
        if let Err(error) = store.discard(&discarded) {
            tracing::warn!("NodeManager recovery: {error}");
        }
        let manager = Self::build(config, localizer, Some(store.clone()))?;
        let inner = &manager.inner;

        let now_ms = crate::service::now_ms();
        let retention_ms = inner.config.stopped_container_retention.as_millis() as i64;
        {
            let mut recently_stopped = inner.recently_stopped();
            let now = std::time::Instant::now();
            for stopped in &state.stopped {
                let age = now_ms.saturating_sub(stopped.forgotten_ms);
                if (0..retention_ms).contains(&age) {
                    let at = now
                        .checked_sub(std::time::Duration::from_millis(age as u64))
                        .unwrap_or(now);
                    recently_stopped.remember(stopped.container_id, at);
                }
            }
        }
        if let Err(error) = store.prune_stopped(now_ms - retention_ms) {
            tracing::warn!("NodeManager recovery: {error}");
        }
        {
            let mut users = inner.application_users();
            for application in state.applications {
                users
                    .entry(application.application_id)
                    .or_default()
                    .extend(application.users);
            }
        }

        let settings = ReacquireSettings {
            local_dirs: inner.config.local_dirs.clone(),
            sigkill_delay: inner.config.sigkill_delay,
            stderr_tail_bytes: inner.config.stderr_tail_bytes,
        };
        let mut reacquisitions = Vec::new();
        let mut launched = Vec::new();
        let (mut completed, mut relaunched) = (0, 0);
        for record in state.containers {
            let container_id = record.container_id();
            let (status, kill_exit_status) = (record.status, record.kill_exit_status);
            inner
                .application_users()
                .entry(container_id.application_id())
                .or_default()
                .insert(record.spec.user.clone());
            let paths = manager.container_paths(&record.spec);
            let runtime = ContainerRuntime::recovered(
                record,
                paths,
                inner.completions.clone(),
                Some(store.clone()),
            );
            inner.containers().insert(container_id, runtime.clone());
            if !matches!(status, RecordedStatus::Completed { .. }) {
                // What it uses stays on disk while it runs.
                let leases = runtime
                    .spec
                    .local_resources
                    .values()
                    .filter_map(|resource| {
                        inner.localizer.lease_cached(
                            resource,
                            &runtime.spec.user,
                            container_id.application_id(),
                        )
                    })
                    .collect();
                runtime.hold_resources(leases);
            }
            match status {
                RecordedStatus::Completed { exit_status } => {
                    completed += 1;
                    tracing::info!("Recovered container {container_id}: completed with exit status {exit_status}");
                }
                RecordedStatus::Launched => {
                    launched.push((runtime.clone(), kill_exit_status));
                    reacquisitions.push(reacquire(runtime, settings.clone()));
                }
                RecordedStatus::Requested => match kill_exit_status {
                    Some(kill_exit_status) => {
                        completed += 1;
                        runtime.kill(
                            kill_exit_status,
                            "Container recovered as killed.",
                            inner.config.sigkill_delay,
                        );
                    }
                    None => {
                        relaunched += 1;
                        tracing::info!("Recovered container {container_id}: it was never started; localizing and launching it");
                        runtime.init();
                        tokio::spawn(localize_and_launch(
                            inner.config.clone(),
                            inner.localizer.clone(),
                            runtime,
                        ));
                    }
                },
            }
        }
        futures::future::join_all(reacquisitions).await;
        let mut running = 0;
        for (runtime, kill_exit_status) in launched {
            match (runtime.lifecycle(), kill_exit_status) {
                (ContainerLifecycleState::Done, _) => completed += 1,
                (_, Some(kill_exit_status)) => {
                    completed += 1;
                    runtime.kill(
                        kill_exit_status,
                        "Container recovered as killed.",
                        inner.config.sigkill_delay,
                    );
                }
                _ => running += 1,
            }
        }
        tracing::info!(
            "NodeManager recovered {} containers from {}: {running} running, {completed} completed, {relaunched} launched again, {} records dropped",
            running + completed + relaunched,
            store.path().display(),
            state.bad.len()
        );
        Ok(manager)
    }

    fn build(
        config: NmContainerConfig,
        localizer: ResourceLocalizer,
        store: Option<Arc<NmStateStore>>,
    ) -> Result<Self, ManagerSetupError> {
        if config.local_dirs.is_empty() || config.log_dirs.is_empty() {
            return Err(ManagerSetupError::NoDirectories);
        }
        let mut directories: Vec<_> = config.log_dirs.clone();
        for local_dir in &config.local_dirs {
            directories.push(layout::public_file_cache(local_dir));
            directories.push(local_dir.join(layout::USERCACHE));
        }
        for path in directories {
            std::fs::create_dir_all(&path).map_err(|source| ManagerSetupError::Directory {
                path: path.clone(),
                source: Arc::new(source),
            })?;
        }
        let (completions, completions_receiver) = mpsc::unbounded_channel();
        let stopped_container_retention = config.stopped_container_retention;
        let log_aggregator = config.log_aggregation.enabled.then(|| {
            LogAggregator::new(
                config.log_aggregation.clone(),
                &config.nm_host,
                config.nm_port,
            )
        });
        let inner = Arc::new(ManagerInner {
            localizer: Arc::new(localizer),
            config: Arc::new(config),
            containers: Mutex::new(HashMap::new()),
            application_users: Mutex::new(HashMap::new()),
            completions,
            completions_receiver: Mutex::new(Some(completions_receiver)),
            recently_stopped: Mutex::new(RecentlyStopped {
                retention: stopped_container_retention,
                order: Default::default(),
                ids: Default::default(),
            }),
            store,
            log_aggregator,
        });
        if inner.config.pmem_check {
            tokio::spawn(run_memory_monitor(Arc::downgrade(&inner)));
        }
        Ok(Self { inner })
    }

    pub fn config(&self) -> &NmContainerConfig {
        &self.inner.config
    }

    pub fn localizer(&self) -> &ResourceLocalizer {
        &self.inner.localizer
    }

    /// The localizer, shared (for work off the async workers).
    pub fn localizer_handle(&self) -> Arc<ResourceLocalizer> {
        self.inner.localizer.clone()
    }

    /// The receiver of the ids of containers reaching DONE, in order; `Some` only the first time.
    pub fn take_completed_containers(&self) -> Option<mpsc::UnboundedReceiver<ContainerId>> {
        self.inner
            .completions_receiver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Accepts a container and returns at once; localization and launch continue in the
    /// background (follow them with `status`, `wait_for_completion` or the completion channel).
    ///
    /// With recovery on, the container is recorded before this returns; a container that cannot
    /// be recorded is refused.
    pub fn start(&self, spec: ContainerLaunchSpec) -> Result<(), StartError> {
        spec.validate()?;
        let paths = self.container_paths(&spec);
        let runtime = {
            let mut containers = self.inner.containers();
            if containers.contains_key(&spec.container_id) {
                return Err(StartError::ContainerAlreadyExists(spec.container_id));
            }
            if self
                .inner
                .recently_stopped()
                .contains(spec.container_id, std::time::Instant::now())
            {
                return Err(StartError::ContainerRecentlyStopped(spec.container_id));
            }
            let runtime = ContainerRuntime::new(
                spec,
                paths,
                self.inner.completions.clone(),
                self.inner.store.clone(),
            );
            containers.insert(runtime.container_id(), runtime.clone());
            runtime
        };
        let container_id = runtime.container_id();
        if let Err(error) = runtime.persist_requested() {
            self.inner.containers().remove(&container_id);
            return Err(StartError::NotRecorded {
                container_id,
                reason: error.to_string(),
            });
        }
        let application_id = container_id.application_id();
        let new_user = {
            let mut users = self.inner.application_users();
            let users = users.entry(application_id).or_default();
            users
                .insert(runtime.spec.user.clone())
                .then(|| users.clone())
        };
        if let (Some(users), Some(store)) = (new_user, &self.inner.store) {
            let record = ApplicationRecord {
                application_id,
                users,
            };
            if let Err(error) = store.store_application(&record) {
                tracing::warn!("cannot record {application_id} for recovery: {error}");
            }
        }
        runtime.init();
        tokio::spawn(localize_and_launch(
            self.inner.config.clone(),
            self.inner.localizer.clone(),
            runtime,
        ));
        Ok(())
    }

    /// Stops a container with the exit status to report (e.g. `KILLED_BY_APPMASTER`), using
    /// YARN's wording for that status as the diagnostic.
    pub fn stop(
        &self,
        container_id: ContainerId,
        exit_status_if_killed: i32,
    ) -> Result<(), StopError> {
        self.stop_with_diagnostics(
            container_id,
            exit_status_if_killed,
            &kill_reason(exit_status_if_killed),
        )
    }

    /// Like `stop`, with the caller's diagnostic. Stopping a finished container changes nothing.
    pub fn stop_with_diagnostics(
        &self,
        container_id: ContainerId,
        exit_status_if_killed: i32,
        diagnostics: &str,
    ) -> Result<(), StopError> {
        if self
            .inner
            .kill(container_id, exit_status_if_killed, diagnostics)
        {
            Ok(())
        } else {
            Err(StopError::UnknownContainer(container_id))
        }
    }

    pub fn status(&self, container_id: ContainerId) -> Option<ContainerStatusReport> {
        self.runtime(container_id).map(|runtime| runtime.report())
    }

    /// The applications this NM holds (a container started, not yet cleaned up), in id order:
    /// what it reports as running when it registers.
    pub fn applications(&self) -> Vec<ApplicationId> {
        let mut ids: Vec<ApplicationId> = self.inner.application_users().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Every container this NM still tracks (for heartbeats), ordered by id.
    pub fn list(&self) -> Vec<ContainerStatusReport> {
        let mut reports: Vec<_> = self
            .inner
            .containers()
            .values()
            .map(|runtime| runtime.report())
            .collect();
        reports.sort_by_key(|report| report.container_id);
        reports
    }

    /// Every container this NM still tracks with its user and log directory, ordered by id
    /// (what the NM's web pages show).
    pub fn details(&self) -> Vec<ContainerDetails> {
        let mut details: Vec<_> = self
            .inner
            .containers()
            .values()
            .map(|runtime| ContainerDetails::of(runtime))
            .collect();
        details.sort_by_key(|detail| detail.status.container_id);
        details
    }

    /// One container's [`ContainerDetails`]; `None` when this NM does not track it.
    pub fn container_details(&self, container_id: ContainerId) -> Option<ContainerDetails> {
        self.runtime(container_id)
            .map(|runtime| ContainerDetails::of(&runtime))
    }

    /// The applications this NM holds, each with the users that ran its containers, in id order.
    pub fn application_users(&self) -> Vec<(ApplicationId, BTreeSet<String>)> {
        let mut applications: Vec<_> = self
            .inner
            .application_users()
            .iter()
            .map(|(id, users)| (*id, users.clone()))
            .collect();
        applications.sort_unstable_by_key(|(id, _)| *id);
        applications
    }

    pub fn paths(&self, container_id: ContainerId) -> Option<ContainerPaths> {
        self.runtime(container_id)
            .map(|runtime| runtime.paths.clone())
    }

    /// Waits until the container is DONE; `None` for an unknown container.
    pub async fn wait_for_completion(
        &self,
        container_id: ContainerId,
    ) -> Option<ContainerStatusReport> {
        let runtime = self.runtime(container_id)?;
        let mut lifecycle = runtime.subscribe();
        let _ = lifecycle
            .wait_for(|state| *state == ContainerLifecycleState::Done)
            .await;
        Some(runtime.report())
    }

    /// Forgets a DONE container (after the RM has seen its completion); false if it is not DONE.
    /// Its id is remembered for `stopped_container_retention`, so its token cannot start it
    /// again.
    pub fn forget(&self, container_id: ContainerId) -> bool {
        {
            let mut containers = self.inner.containers();
            match containers.get(&container_id) {
                Some(runtime) if runtime.lifecycle() == ContainerLifecycleState::Done => {
                    containers.remove(&container_id);
                    self.inner
                        .recently_stopped()
                        .remember(container_id, std::time::Instant::now());
                }
                _ => return false,
            }
        }
        if let Some(store) = &self.inner.store {
            let now_ms = crate::service::now_ms();
            let stopped = StoppedContainer {
                container_id,
                forgotten_ms: now_ms,
            };
            let retain_from_ms =
                now_ms - self.inner.config.stopped_container_retention.as_millis() as i64;
            if let Err(error) = store.forget_container(stopped, retain_from_ms) {
                tracing::warn!("cannot forget {container_id} in the recovery store: {error}");
            }
        }
        true
    }

    /// Application cleanup: stops its containers (KILLED_AFTER_APP_COMPLETION), waits for them,
    /// forgets its APPLICATION resources and deletes its appcache dirs on every local dir.
    /// Completed containers stay listed until `forget`. Its logs are then, with log aggregation
    /// on, uploaded and deleted (YARN's LogAggregationService; a failed upload leaves them for
    /// `log_retain`), else deleted `log_retain` later (YARN's NonAggregatingLogHandler). A
    /// daemon that stops before then leaves them for `sweep_old_logs`.
    pub async fn finish_application(&self, application_id: ApplicationId) {
        let runtimes: Vec<Arc<ContainerRuntime>> = self
            .inner
            .containers()
            .values()
            .filter(|r| r.container_id().application_id() == application_id)
            .cloned()
            .collect();
        for runtime in &runtimes {
            runtime.kill(
                exit_status::KILLED_AFTER_APP_COMPLETION,
                &kill_reason(exit_status::KILLED_AFTER_APP_COMPLETION),
                self.inner.config.sigkill_delay,
            );
        }
        for runtime in &runtimes {
            let _ = runtime
                .subscribe()
                .wait_for(|state| *state == ContainerLifecycleState::Done)
                .await;
        }
        self.inner.localizer.release_application(application_id);
        let users = self
            .inner
            .application_users()
            .remove(&application_id)
            .unwrap_or_default();
        let directories: Vec<_> = self
            .inner
            .config
            .local_dirs
            .iter()
            .flat_map(|local_dir| {
                users
                    .iter()
                    .map(move |user| layout::application_dir(local_dir, user, application_id))
                    .chain([layout::application_private_dir(local_dir, application_id)])
            })
            .collect();
        remove_directories(directories).await;
        if let Some(store) = &self.inner.store {
            if let Err(error) = store.remove_application(application_id) {
                tracing::warn!("cannot forget {application_id} in the recovery store: {error}");
            }
        }
        let logs: Vec<_> = self
            .inner
            .config
            .log_dirs
            .iter()
            .map(|log_dir| log_dir.join(application_id.to_string()))
            .collect();
        // An application that never ran here (the RM tells every node) has nothing to upload.
        if let (Some(aggregator), false) = (&self.inner.log_aggregator, users.is_empty()) {
            let owner = users.first().cloned();
            let log_dirs = self.inner.config.log_dirs.clone();
            match aggregator.aggregate(application_id, owner, log_dirs).await {
                Ok(summary) => {
                    if let Some(path) = &summary.path {
                        tracing::info!(
                            "uploaded {} log files of {} containers of {application_id} to {}",
                            summary.files,
                            summary.containers,
                            path.display()
                        );
                    }
                    remove_directories(logs).await;
                    return;
                }
                Err(error) => tracing::warn!(
                    "cannot upload the logs of {application_id}: {error}; they stay on this node for {} s",
                    self.inner.config.log_retain.as_secs()
                ),
            }
        }
        let retain = self.inner.config.log_retain;
        tokio::spawn(async move {
            tokio::time::sleep(retain).await;
            remove_directories(logs).await;
        });
    }

    /// Log aggregation reports the RM has not had yet (none when aggregation is off); the
    /// caller hands back those it could not send with `restore_log_aggregation_reports`.
    pub fn take_log_aggregation_reports(&self) -> Vec<LogAggregationReport> {
        self.inner
            .log_aggregator
            .as_ref()
            .map(LogAggregator::take_reports)
            .unwrap_or_default()
    }

    pub fn restore_log_aggregation_reports(&self, reports: Vec<LogAggregationReport>) {
        if let Some(aggregator) = &self.inner.log_aggregator {
            aggregator.restore_reports(reports);
        }
    }

    /// Deletes aggregated logs past `yarn.log-aggregation.retain-seconds` (nothing when
    /// aggregation is off or keeps them for ever); how many application directories went.
    pub async fn sweep_expired_aggregated_logs(&self) -> usize {
        match &self.inner.log_aggregator {
            Some(aggregator) => aggregator.sweep_expired().await,
            None => 0,
        }
    }

    /// Deletes application log directories nothing will delete otherwise: those of applications
    /// with no container on this NM and not held by it, untouched for `log_retain`. An NM that stopped before an
    /// application's logs were due leaves them behind; its successor's sweeps (at start and on
    /// every cache cleanup) remove them. Returns how many directories it deleted.
    pub async fn sweep_old_logs(&self) -> usize {
        // Applications with a container here, or not cleaned up yet (a long-running one whose
        // containers were all forgotten still gets its logs aggregated at its end).
        let mut present: BTreeSet<ApplicationId> = self
            .inner
            .containers()
            .keys()
            .map(|id| id.application_id())
            .collect();
        present.extend(self.inner.application_users().keys().copied());
        let log_dirs = self.inner.config.log_dirs.clone();
        let retain = self.inner.config.log_retain;
        tokio::task::spawn_blocking(move || {
            let now = std::time::SystemTime::now();
            let mut deleted = 0;
            for log_dir in &log_dirs {
                let Ok(entries) = std::fs::read_dir(log_dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(application) =
                        name.to_str().and_then(|n| n.parse::<ApplicationId>().ok())
                    else {
                        continue;
                    };
                    if present.contains(&application) {
                        continue;
                    }
                    let path = entry.path();
                    let idle = newest_change(&path, 3)
                        .and_then(|newest| now.duration_since(newest).ok())
                        .unwrap_or_default();
                    if idle < retain {
                        continue;
                    }
                    match remove_tree(&path) {
                        Ok(()) => {
                            tracing::info!(
                                "deleted the logs of {application} ({} untouched for {} s)",
                                path.display(),
                                idle.as_secs()
                            );
                            deleted += 1;
                        }
                        Err(error) => tracing::warn!("cannot delete {}: {error}", path.display()),
                    }
                }
            }
            deleted
        })
        .await
        .unwrap_or(0)
    }

    /// Stops every container with `exit_status_if_killed` and waits until all are DONE.
    pub async fn stop_all(&self, exit_status_if_killed: i32) {
        let runtimes: Vec<_> = self.inner.containers().values().cloned().collect();
        for runtime in &runtimes {
            runtime.kill(
                exit_status_if_killed,
                &kill_reason(exit_status_if_killed),
                self.inner.config.sigkill_delay,
            );
        }
        for runtime in &runtimes {
            let _ = runtime
                .subscribe()
                .wait_for(|state| *state == ContainerLifecycleState::Done)
                .await;
        }
    }

    /// The GPU devices held by containers not yet DONE (after a recovery: what they held before).
    pub fn held_gpu_devices(&self) -> Vec<(ContainerId, Vec<u32>)> {
        self.inner
            .containers()
            .values()
            .filter(|r| {
                r.lifecycle() != ContainerLifecycleState::Done && !r.spec.gpu_devices.is_empty()
            })
            .map(|r| (r.container_id(), r.spec.gpu_devices.clone()))
            .collect()
    }

    /// Where a container's files go: its work dir and private dir on local dir number
    /// `sequence % n`, its logs on log dir number `sequence % m`.
    fn container_paths(&self, spec: &ContainerLaunchSpec) -> ContainerPaths {
        let config = &self.inner.config;
        let slot = spec.container_id.sequence() as usize;
        ContainerPaths::new(
            &config.local_dirs[slot % config.local_dirs.len()],
            &config.log_dirs[slot % config.log_dirs.len()],
            &spec.user,
            spec.container_id,
        )
    }

    fn runtime(&self, container_id: ContainerId) -> Option<Arc<ContainerRuntime>> {
        self.inner.containers().get(&container_id).cloned()
    }
}

/// The latest modification time of `path` and what lies under it, `depth` levels down
/// (application dir, container dirs, log files). Symbolic links are not followed.
fn newest_change(path: &std::path::Path, depth: usize) -> Option<std::time::SystemTime> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    let mut newest = metadata.modified().ok()?;
    if depth > 0 && metadata.is_dir() {
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            if let Some(changed) = newest_change(&entry.path(), depth - 1) {
                newest = newest.max(changed);
            }
        }
    }
    Some(newest)
}

/// Deletes each directory tree, off the async workers; a failure is logged.
async fn remove_directories(directories: Vec<std::path::PathBuf>) {
    let removal = tokio::task::spawn_blocking(move || {
        for directory in directories {
            if directory.exists() {
                if let Err(error) = remove_tree(&directory) {
                    tracing::warn!("cannot delete {}: {error}", directory.display());
                }
            }
        }
    });
    let _ = removal.await;
}
