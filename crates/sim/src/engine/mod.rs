//! The simulation: the real scheduling core driven by simulated NodeManagers and
//! ApplicationMasters on a virtual clock, one discrete event at a time.
//!
//! NodeManagers register at time 0 and report each container complete when its task's
//! duration has passed. Each job's ApplicationMaster is submitted at its trace time (the
//! scheduler places its AM container), registers once that container starts, asks for the
//! job's tasks with YARN's absolute host/rack/`*` counts, takes the containers it was given at
//! its next heartbeat (or in the response to its own allocate call), runs a task in each, asks
//! for reduces once the maps are done, and unregisters when every task is done. Time only moves
//! between events and is passed to the scheduler as `TimeAdvanced`; nothing sleeps and nothing
//! runs concurrently, so the same inputs give the same run.

mod actions;
mod application_master;
mod applications;
mod event_queue;
mod report_builder;

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use spindle_scheduler::{Scheduler, SchedulerAction, SchedulerError, SchedulerEvent};
use spindle_types::{ApplicationId, ContainerId, NodeId, Resource};

use crate::metrics::recorder::{ApplicationSample, QueueSample, Recorder};
use crate::metrics::{ClusterSample, SimulationReport};
use crate::scheduler_setup::SchedulerSetup;
use crate::workload::{Workload, SIMULATED_NODE_PORT};
use application_master::TaskBook;
use applications::{ApplicationPhase, LiveContainer, SimulatedApplication};
use event_queue::EventQueue;

/// The cluster timestamp of every simulated application id (`application_1_0001`).
const CLUSTER_TIMESTAMP: i64 = 1;

/// How the simulated NMs and AMs behave, and how the run is measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimulationSettings {
    /// An AM's allocate interval (SLS's `yarn.sls.am.heartbeat.interval.ms`, 1 s). Containers
    /// allocated between heartbeats reach it at the next one; an AM with nothing to say or
    /// learn does not call.
    pub am_heartbeat_interval_ms: i64,
    /// From the AM container's allocation to the AM's registration.
    pub am_launch_delay_ms: i64,
    /// From a task container's acquisition to its task starting.
    pub container_launch_delay_ms: i64,
    /// How often every NodeManager heartbeats while work remains (all at once, in node order),
    /// telling the scheduler the time: delay scheduling counts these opportunities, room beyond
    /// applications' shares goes out on them, preemption runs on the time. A node also
    /// heartbeats when a container on it completes (as Spindle's NM does). 0: only when events
    /// happen.
    pub scheduler_tick_interval_ms: i64,
    /// The time series' resolution.
    pub sample_interval_ms: i64,
    /// An application whose AM container is lost this often fails.
    pub max_am_attempts: i32,
    /// Stop at this virtual time (from the first submission), whatever is still running.
    pub end_after_ms: Option<i64>,
    /// Stop when nothing is running or scheduled to happen and no container was allocated or
    /// completed for this long: the remaining jobs can never be placed.
    pub stall_timeout_ms: i64,
    /// Check the scheduler's conservation invariants after every event (slow; for tests).
    pub check_invariants: bool,
}

impl Default for SimulationSettings {
    fn default() -> Self {
        Self {
            am_heartbeat_interval_ms: 1000,
            am_launch_delay_ms: 0,
            container_launch_delay_ms: 0,
            scheduler_tick_interval_ms: 1000,
            sample_interval_ms: 1000,
            max_am_attempts: 10,
            end_after_ms: None,
            stall_timeout_ms: 600_000,
            check_invariants: false,
        }
    }
}

impl SimulationSettings {
    /// A sample interval that keeps a long trace's time series to about 20,000 samples over
    /// its submissions: 1 s, or a whole number of seconds for traces spanning over 5.5 hours.
    pub fn sample_interval_for(workload: &Workload) -> i64 {
        let first = workload
            .jobs
            .iter()
            .map(|job| job.submit_ms)
            .min()
            .unwrap_or(0);
        let last = workload
            .jobs
            .iter()
            .map(|job| job.submit_ms)
            .max()
            .unwrap_or(0);
        let seconds = ((last - first).max(0) / 1000) as u64;
        (seconds.div_ceil(20_000).max(1) * 1000) as i64
    }
}

/// Why a simulation could not run (the workload itself is valid by construction).
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("the scheduler refused its configuration: {0}")]
    Configuration(SchedulerError),
    #[error("the scheduler refused node {node}: {error}")]
    NodeRefused { node: String, error: SchedulerError },
    #[error("the workload has no nodes")]
    NoNodes,
    #[error("the scheduler broke an invariant at {time_ms} ms after {event}: {violation}")]
    InvariantBroken {
        time_ms: i64,
        event: String,
        violation: String,
    },
}

/// Runs `workload` against a scheduler configured by `setup` and reports what happened.
pub fn run_simulation(
    workload: &Workload,
    setup: &SchedulerSetup,
    settings: &SimulationSettings,
) -> Result<SimulationReport, SimulationError> {
    let scheduler = Scheduler::new(setup.config.clone()).map_err(SimulationError::Configuration)?;
    let mut engine = Engine::new(workload, settings, scheduler);
    engine.register_nodes()?;
    engine.run()?;
    Ok(engine.into_report(setup))
}

#[derive(Debug, Clone)]
enum SimEvent {
    Submit { job: usize },
    AmLaunched { job: usize, attempt_number: i32 },
    AmHeartbeat { job: usize },
    TaskDone { container: ContainerId },
    SchedulerTick,
}

/// Work that must wait until the actions being applied are all applied.
#[derive(Debug, Clone, Copy)]
enum FollowUp {
    /// The AM container of the job's current attempt is gone: start a new attempt.
    RestartAttempt { job: usize },
}

struct Engine<'a> {
    workload: &'a Workload,
    settings: &'a SimulationSettings,
    scheduler: Scheduler,
    events: EventQueue<SimEvent>,
    /// Queued events other than scheduler ticks: while there are any, the run can progress.
    progress_events_queued: usize,
    now_ms: i64,
    origin_ms: i64,
    applications: Vec<SimulatedApplication>,
    job_of_application: HashMap<ApplicationId, usize>,
    live: HashMap<ContainerId, LiveContainer>,
    rack_of_host: HashMap<String, String>,
    next_application_number: i32,
    unsubmitted_jobs: usize,
    /// Submitted jobs not yet ended, in job order.
    active_jobs: BTreeSet<usize>,
    heartbeat_in_progress: Option<usize>,
    tick_scheduled: bool,
    /// The simulated NodeManagers' ids, in the workload's order (their heartbeats' order).
    node_ids: Vec<NodeId>,
    last_progress_ms: i64,
    stalled: bool,
    cluster_total: Resource,
    cluster_allocated: Resource,
    scheduler_events: u64,
    follow_ups: Vec<FollowUp>,
    recorder: Recorder,
}

impl<'a> Engine<'a> {
    fn new(workload: &'a Workload, settings: &'a SimulationSettings, scheduler: Scheduler) -> Self {
        let rack_of_host: HashMap<String, String> = workload
            .nodes
            .iter()
            .map(|node| (node.host.clone(), node.rack.clone()))
            .collect();
        let applications = workload
            .jobs
            .iter()
            .map(|job| SimulatedApplication::new(TaskBook::new(job, &rack_of_host)))
            .collect();
        Self {
            workload,
            settings,
            scheduler,
            events: EventQueue::new(),
            progress_events_queued: 0,
            now_ms: 0,
            origin_ms: workload
                .jobs
                .iter()
                .map(|job| job.submit_ms)
                .min()
                .unwrap_or(0),
            applications,
            job_of_application: HashMap::new(),
            live: HashMap::new(),
            rack_of_host,
            next_application_number: 1,
            unsubmitted_jobs: workload.jobs.len(),
            active_jobs: BTreeSet::new(),
            heartbeat_in_progress: None,
            tick_scheduled: false,
            node_ids: Vec::new(),
            last_progress_ms: 0,
            stalled: false,
            cluster_total: Resource::ZERO,
            cluster_allocated: Resource::ZERO,
            scheduler_events: 0,
            follow_ups: Vec::new(),
            recorder: Recorder::new(settings.sample_interval_ms),
        }
    }

    fn register_nodes(&mut self) -> Result<(), SimulationError> {
        if self.workload.nodes.is_empty() {
            return Err(SimulationError::NoNodes);
        }
        for node in &self.workload.nodes {
            let id = NodeId::new(node.host.clone(), SIMULATED_NODE_PORT);
            self.node_ids.push(id.clone());
            let event = SchedulerEvent::NodeAdded {
                node: id,
                rack: node.rack.clone(),
                capability: node.capability.clone(),
            };
            match self.handle(event)? {
                Ok(actions) => self.apply(actions),
                Err(error) => {
                    return Err(SimulationError::NodeRefused {
                        node: node.host.clone(),
                        error,
                    })
                }
            }
            self.cluster_total.add_assign(&node.capability);
        }
        Ok(())
    }

    fn schedule(&mut self, time_ms: i64, event: SimEvent) {
        if !matches!(event, SimEvent::SchedulerTick) {
            self.progress_events_queued += 1;
        }
        self.events.schedule(time_ms, event);
    }

    fn run(&mut self) -> Result<(), SimulationError> {
        for (job, spec) in self.workload.jobs.iter().enumerate() {
            self.schedule(spec.submit_ms - self.origin_ms, SimEvent::Submit { job });
        }
        while let Some((time_ms, event)) = self.events.pop() {
            if !matches!(event, SimEvent::SchedulerTick) {
                self.progress_events_queued -= 1;
            }
            if self.settings.end_after_ms.is_some_and(|end| time_ms > end) {
                break;
            }
            self.take_samples_before(time_ms);
            self.advance_clock(time_ms)?;
            match event {
                SimEvent::Submit { job } => self.submit(job)?,
                SimEvent::AmLaunched {
                    job,
                    attempt_number,
                } => self.am_launched(job, attempt_number)?,
                SimEvent::AmHeartbeat { job } => {
                    self.applications[job].heartbeat_scheduled = false;
                    self.heartbeat(job)?;
                }
                SimEvent::TaskDone { container } => self.task_done(container)?,
                SimEvent::SchedulerTick => self.tick()?,
            }
            self.run_follow_ups()?;
            if self.unsubmitted_jobs == 0 && self.active_jobs.is_empty() {
                break;
            }
            if self.stalled {
                break;
            }
        }
        // Every sample up to the end, and one past it showing where everything came to rest.
        self.take_samples_before(self.now_ms + 1);
        let resting = self.recorder.next_sample_ms();
        self.take_samples_before(resting + 1);
        Ok(())
    }

    /// Sends `event` to the scheduler. The outer error is the simulation's own (a broken
    /// invariant); the inner one is the scheduler refusing the event.
    fn handle(
        &mut self,
        event: SchedulerEvent,
    ) -> Result<Result<Vec<SchedulerAction>, SchedulerError>, SimulationError> {
        self.scheduler_events += 1;
        let description = self.settings.check_invariants.then(|| format!("{event:?}"));
        let result = self.scheduler.handle(event);
        if let Some(event) = description {
            if let Err(violation) = self.scheduler.check_invariants() {
                return Err(SimulationError::InvariantBroken {
                    time_ms: self.now_ms,
                    event,
                    violation: violation.to_string(),
                });
            }
        }
        Ok(result)
    }

    fn advance_clock(&mut self, time_ms: i64) -> Result<(), SimulationError> {
        if time_ms <= self.now_ms {
            return Ok(());
        }
        self.now_ms = time_ms;
        if let Ok(actions) = self.handle(SchedulerEvent::TimeAdvanced { now_ms: time_ms })? {
            self.apply(actions);
        }
        Ok(())
    }

    /// Ticks run while applications are active (not through idle stretches of a trace).
    fn ensure_ticking(&mut self) {
        let interval = self.settings.scheduler_tick_interval_ms;
        if interval > 0 && !self.tick_scheduled {
            self.tick_scheduled = true;
            self.schedule(self.now_ms + interval, SimEvent::SchedulerTick);
        }
    }

    fn tick(&mut self) -> Result<(), SimulationError> {
        self.tick_scheduled = false;
        let nothing_can_happen = self.progress_events_queued == 0
            && self.now_ms - self.last_progress_ms >= self.settings.stall_timeout_ms;
        if nothing_can_happen && !self.active_jobs.is_empty() {
            self.stalled = true;
            return Ok(());
        }
        if !self.active_jobs.is_empty() {
            for index in 0..self.node_ids.len() {
                // A heartbeat of a node no pending request fits on changes nothing: skipped.
                if self
                    .scheduler
                    .node_may_take_a_request(&self.node_ids[index])
                {
                    self.node_heartbeat(self.node_ids[index].clone())?;
                }
            }
            self.ensure_ticking();
        }
        Ok(())
    }

    /// A NodeManager heartbeat: a scheduling opportunity on the node.
    fn node_heartbeat(&mut self, node: NodeId) -> Result<(), SimulationError> {
        if let Ok(actions) = self.handle(SchedulerEvent::NodeHeartbeat { node })? {
            self.apply(actions);
        }
        Ok(())
    }

    fn submit(&mut self, job: usize) -> Result<(), SimulationError> {
        let spec = &self.workload.jobs[job];
        let application = ApplicationId::new(CLUSTER_TIMESTAMP, self.next_application_number);
        self.next_application_number += 1;
        self.job_of_application.insert(application, job);
        self.unsubmitted_jobs -= 1;
        self.active_jobs.insert(job);
        self.last_progress_ms = self.now_ms;
        self.ensure_ticking();
        let app = &mut self.applications[job];
        app.application = Some(application);
        app.submitted_ms = self.now_ms;
        app.phase = ApplicationPhase::WaitingForAm;
        let event = SchedulerEvent::ApplicationAdded {
            application,
            queue: spec.queue.clone(),
            user: spec.user.clone(),
            priority: 0,
        };
        match self.handle(event)? {
            Ok(actions) => self.apply(actions),
            Err(error) => {
                self.end_job(job, ApplicationPhase::Rejected, error.to_string());
                return Ok(());
            }
        }
        self.applications[job].queue_path = self
            .scheduler
            .application_usage(application)
            .map(|usage| usage.queue);
        self.add_attempt(job)
    }

    fn add_attempt(&mut self, job: usize) -> Result<(), SimulationError> {
        let app = &mut self.applications[job];
        app.attempt_number += 1;
        if app.attempt_number > self.settings.max_am_attempts {
            let diagnostics = format!(
                "the AM container was lost {} times",
                self.settings.max_am_attempts
            );
            self.fail_job(job, diagnostics)?;
            return Ok(());
        }
        app.phase = ApplicationPhase::WaitingForAm;
        app.attempt_added_ms = self.now_ms;
        app.am_container = None;
        let attempt = app.current_attempt().expect("the application was added");
        let event = SchedulerEvent::AttemptAdded {
            attempt,
            am_resource: Some(self.workload.jobs[job].am_resource.clone()),
        };
        match self.handle(event)? {
            Ok(actions) => {
                self.apply(actions);
                Ok(())
            }
            Err(error) => self.fail_job(job, error.to_string()),
        }
    }

    fn am_launched(&mut self, job: usize, attempt_number: i32) -> Result<(), SimulationError> {
        let app = &mut self.applications[job];
        if app.phase != ApplicationPhase::WaitingForAm || app.attempt_number != attempt_number {
            return Ok(());
        }
        let Some(am_container) = app.am_container else {
            return Ok(());
        };
        app.phase = ApplicationPhase::Running;
        app.registered_ms = self.now_ms;
        app.book.start_stage(self.now_ms);
        if let Some(live) = self.live.get(&am_container) {
            self.recorder.containers[live.record].started_ms = Some(self.now_ms);
        }
        if let Ok(actions) = self.handle(SchedulerEvent::ContainersAcquired {
            containers: vec![am_container],
        })? {
            self.apply(actions);
        }
        self.heartbeat(job)
    }

    /// One allocate call of the job's AM: take the containers given since the last call, move
    /// to the next stage or unregister when the current one is done, send changed asks and
    /// surplus releases, and take what that call allocated.
    fn heartbeat(&mut self, job: usize) -> Result<(), SimulationError> {
        if self.applications[job].phase != ApplicationPhase::Running {
            return Ok(());
        }
        self.acquire(job)?;
        let now_ms = self.now_ms;
        let app = &mut self.applications[job];
        while app.book.stage_complete() {
            if !app.book.advance_stage(now_ms) {
                return self.finish_job(job);
            }
        }
        let attempt = app
            .current_attempt()
            .expect("a running application has an attempt");
        let asks = app.book.take_asks();
        let releases = std::mem::take(&mut app.releases);
        if !asks.is_empty() || !releases.is_empty() {
            self.heartbeat_in_progress = Some(job);
            let result = self.handle(SchedulerEvent::Asks {
                attempt,
                asks,
                releases,
            })?;
            self.heartbeat_in_progress = None;
            match result {
                Ok(actions) => self.apply(actions),
                Err(error) => return self.fail_job(job, format!("allocate refused: {error}")),
            }
            self.acquire(job)?;
        }
        let app = &self.applications[job];
        if app.phase == ApplicationPhase::Running
            && (app.book.has_asks_to_send() || !app.releases.is_empty())
        {
            self.ensure_heartbeat(job);
        }
        Ok(())
    }

    /// The AM takes every container allocated to it and not yet taken: each runs a pending
    /// task (or is surplus and released at the next call).
    fn acquire(&mut self, job: usize) -> Result<(), SimulationError> {
        let unacquired = std::mem::take(&mut self.applications[job].unacquired);
        if unacquired.is_empty() {
            return Ok(());
        }
        let start_ms = self.now_ms + self.settings.container_launch_delay_ms;
        let mut acquired = Vec::with_capacity(unacquired.len());
        for container in unacquired {
            acquired.push(container.container);
            let app = &mut self.applications[job];
            let task = app.book.assign(
                container.allocation_request_id,
                &container.host,
                &container.rack,
            );
            match task {
                Some(task) => {
                    let live = self
                        .live
                        .get_mut(&container.container)
                        .expect("an unacquired container is live");
                    live.task = Some(task);
                    self.recorder.containers[live.record].started_ms = Some(start_ms);
                    let duration = self.workload.jobs[job].tasks[task].duration_ms;
                    self.schedule(
                        start_ms + duration,
                        SimEvent::TaskDone {
                            container: container.container,
                        },
                    );
                }
                None => app.releases.push(container.container),
            }
        }
        if let Ok(actions) = self.handle(SchedulerEvent::ContainersAcquired {
            containers: acquired,
        })? {
            self.apply(actions);
        }
        if !self.applications[job].releases.is_empty() {
            self.ensure_heartbeat(job);
        }
        Ok(())
    }

    /// The NM reports the task's container complete.
    fn task_done(&mut self, container: ContainerId) -> Result<(), SimulationError> {
        let Some(live) = self.live.get(&container) else {
            return Ok(());
        };
        let node = live.node.clone();
        if let Ok(actions) = self.handle(SchedulerEvent::ContainerFinished {
            container,
            exit_status: spindle_types::exit_status::SUCCESS,
        })? {
            self.apply(actions);
        }
        // The NodeManager reports the completion in a heartbeat of its own.
        self.node_heartbeat(node)
    }

    /// Schedules the job's next heartbeat, on its AM's heartbeat grid, unless one is pending.
    fn ensure_heartbeat(&mut self, job: usize) {
        if self.heartbeat_in_progress == Some(job) {
            return;
        }
        let interval = self.settings.am_heartbeat_interval_ms;
        let app = &mut self.applications[job];
        if app.phase != ApplicationPhase::Running || app.heartbeat_scheduled {
            return;
        }
        app.heartbeat_scheduled = true;
        let due = if interval <= 0 {
            self.now_ms
        } else {
            let elapsed = self.now_ms - app.registered_ms;
            app.registered_ms + (elapsed / interval + 1) * interval
        };
        self.schedule(due, SimEvent::AmHeartbeat { job });
    }

    /// Every task is done: the AM unregisters and the application ends.
    fn finish_job(&mut self, job: usize) -> Result<(), SimulationError> {
        self.end_job(job, ApplicationPhase::Finished, String::new());
        self.remove_from_scheduler(job)
    }

    fn fail_job(&mut self, job: usize, diagnostics: String) -> Result<(), SimulationError> {
        self.end_job(job, ApplicationPhase::Failed, diagnostics);
        self.remove_from_scheduler(job)
    }

    fn end_job(&mut self, job: usize, phase: ApplicationPhase, diagnostics: String) {
        let app = &mut self.applications[job];
        self.active_jobs.remove(&job);
        app.phase = phase;
        app.finished_ms = Some(self.now_ms);
        app.diagnostics = diagnostics;
        self.last_progress_ms = self.now_ms;
    }

    fn remove_from_scheduler(&mut self, job: usize) -> Result<(), SimulationError> {
        let app = &self.applications[job];
        let (Some(application), attempt) = (app.application, app.current_attempt()) else {
            return Ok(());
        };
        if let Some(attempt) = attempt {
            if let Ok(actions) = self.handle(SchedulerEvent::AttemptRemoved {
                attempt,
                keep_containers: false,
            })? {
                self.apply(actions);
            }
        }
        if let Ok(actions) = self.handle(SchedulerEvent::ApplicationRemoved { application })? {
            self.apply(actions);
        }
        Ok(())
    }

    fn run_follow_ups(&mut self) -> Result<(), SimulationError> {
        while let Some(follow_up) = self.follow_ups.pop() {
            match follow_up {
                FollowUp::RestartAttempt { job } => self.restart_attempt(job)?,
            }
        }
        Ok(())
    }

    /// The AM container was taken away: the attempt ends with its containers, finished tasks
    /// are kept, and a new attempt asks for a new AM.
    fn restart_attempt(&mut self, job: usize) -> Result<(), SimulationError> {
        let app = &mut self.applications[job];
        if !app.phase.is_active() {
            return Ok(());
        }
        let attempt = app
            .current_attempt()
            .expect("an active application has an attempt");
        // Not Running any more: completions of the old attempt's tasks are not the new AM's.
        app.phase = ApplicationPhase::WaitingForAm;
        app.unacquired.clear();
        app.releases.clear();
        if let Ok(actions) = self.handle(SchedulerEvent::AttemptRemoved {
            attempt,
            keep_containers: false,
        })? {
            self.apply(actions);
        }
        self.applications[job].book.reset_for_new_attempt();
        self.add_attempt(job)
    }

    fn take_samples_before(&mut self, time_ms: i64) {
        while self.recorder.sample_due_before(time_ms).is_some() {
            let cluster = ClusterSample {
                time_ms: 0,
                total_memory_mb: self.cluster_total.memory_mb,
                total_vcores: self.cluster_total.vcores,
                allocated_memory_mb: self.cluster_allocated.memory_mb,
                allocated_vcores: self.cluster_allocated.vcores,
                memory_utilization_percent: 0.0,
                vcores_utilization_percent: 0.0,
                running_containers: self.live.len(),
                running_applications: self.active_jobs.len(),
                pending_containers: self
                    .active_jobs
                    .iter()
                    .map(|&job| &self.applications[job])
                    .map(|app| {
                        app.book.pending_containers() + usize::from(app.am_container.is_none())
                    })
                    .sum(),
            };
            let queues = self
                .scheduler
                .queue_infos()
                .into_iter()
                .map(|queue| QueueSample {
                    path: queue.path,
                    used_memory_mb: queue.used.memory_mb,
                    used_vcores: queue.used.vcores,
                    fair_share_memory_mb: queue.fair_share.memory_mb,
                    pending_memory_mb: queue.pending.memory_mb,
                })
                .collect();
            let applications = self
                .active_jobs
                .iter()
                .map(|&job| (job, &self.applications[job]))
                .map(|(job, app)| ApplicationSample {
                    job,
                    memory_mb: app.allocated.memory_mb,
                    vcores: app.allocated.vcores,
                    containers: app.live_containers,
                })
                .collect();
            let names = |job: usize| {
                let app = &self.applications[job];
                (
                    app.application.map(|id| id.to_string()).unwrap_or_default(),
                    self.workload.jobs[job].job_id.clone(),
                    app.queue_path.clone().unwrap_or_default(),
                )
            };
            self.recorder
                .record_sample(cluster, queues, applications, names);
        }
    }
}
