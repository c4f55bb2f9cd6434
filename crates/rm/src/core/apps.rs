//! Applications: new ids, submission, kill, attempts starting and failing, and the end of an app.

use spindle_proto::yarn::ApplicationSubmissionContextProto;
use spindle_types::states::FinalApplicationStatus;
use spindle_types::{ApplicationAttemptId, ApplicationId, Resource};

use super::exceptions as ex;
use super::{RmApp, RmAttempt, RmCore, RmError};
use crate::lifecycle::app::{self, AppEvent, AppState};
use crate::lifecycle::attempt::{self as attempt_lc, AttemptEvent};
use crate::retry;

impl RmCore {
    /// `getNewApplication`: a fresh id and the largest container the cluster can give.
    pub fn new_application(&mut self) -> (ApplicationId, Resource) {
        (self.allocate_app_id(), self.maximum_allocation())
    }

    /// `submitApplication`. A repeated submission of a known id succeeds without effect, as in YARN
    /// (YarnClient re-submits when a report says the application is not found).
    pub fn submit_application(
        &mut self,
        user: &str,
        submission: ApplicationSubmissionContextProto,
        now_ms: i64,
    ) -> Result<ApplicationId, RmError> {
        let id_proto = submission.application_id.as_ref().ok_or_else(|| {
            RmError::new(ex::YARN, "submitApplication: application_id is missing")
        })?;
        let id = ApplicationId::try_from(id_proto)
            .map_err(|e| RmError::new(ex::YARN, format!("submitApplication: {e}")))?;
        if self.apps.contains_key(&id) {
            return Ok(id);
        }
        if id.id <= 0 || id.cluster_timestamp <= 0 {
            return Err(RmError::new(
                ex::YARN,
                format!(
                    "submitApplication: application id {} / cluster timestamp {} must be positive",
                    id.id, id.cluster_timestamp
                ),
            ));
        }
        // An id another RM issued is accepted, as YARN does: a client that got its id from the
        // active before a failover or restart submits it to the RM that answers now (the
        // cluster timestamps differ, so it never collides with this RM's own ids).
        if submission.unmanaged_am() {
            return Err(RmError::new(
                ex::YARN,
                format!("Application {id}: unmanaged ApplicationMasters are not supported"),
            ));
        }
        let launch = submission.am_container_spec.as_ref().ok_or_else(|| {
            RmError::new(
                ex::YARN,
                format!("Application {id}: am_container_spec is missing"),
            )
        })?;
        if launch.command.is_empty() {
            return Err(RmError::new(
                ex::YARN,
                format!("Application {id}: the AM launch context has no command"),
            ));
        }
        let am_resource = self.validate_am_resource(id, &submission)?;
        let app = RmApp::from_submission(
            id,
            user,
            submission,
            am_resource,
            self.settings.max_attempts,
            now_ms,
        );
        self.check_record_size(&app)?;
        self.apps.insert(id, app);
        self.apps_changed();
        // Accepted once the record is stored (YARN's NEW_SAVING; at once without a store).
        self.save_app(id, Some(super::durability::Persisted::App(id)), now_ms);
        Ok(id)
    }

    /// A new application's record is stored: the scheduler places it and its first attempt
    /// starts, or it fails with the scheduler's reason.
    pub(crate) fn accept_saved_application(&mut self, id: ApplicationId, now_ms: i64) {
        let Some(app) = self.apps.get_mut(&id) else {
            return;
        };
        if app.state != AppState::New {
            // Killed while its record was being stored.
            return;
        }
        app.state = app::transition(app.state, AppEvent::Submitted).expect("NEW accepts SUBMITTED");
        let (queue, user, priority) = (app.queue.clone(), app.user.clone(), app.priority);
        let placement = self.scheduler.add_application(id, &queue, &user, priority);
        if let Err(reason) = placement {
            self.app_event(id, AppEvent::Rejected);
            let app = self.apps.get_mut(&id).expect("present");
            app.final_status = FinalApplicationStatus::Failed;
            app.diagnostics = reason;
            self.finish_app(id, now_ms);
            return;
        }
        let app = self.apps.get_mut(&id).expect("present");
        app.placed_queue = placement.ok();
        self.app_event(id, AppEvent::Accepted);
        // The placed queue survives a restart.
        self.save_app(id, None, now_ms);
        self.start_attempt(id, now_ms);
    }

    pub(crate) fn validate_am_resource(
        &self,
        id: ApplicationId,
        submission: &ApplicationSubmissionContextProto,
    ) -> Result<Resource, RmError> {
        let proto = submission
            .am_container_resource_request
            .first()
            .and_then(|r| r.capability.clone())
            .or_else(|| submission.resource.clone())
            .ok_or_else(|| {
                RmError::new(
                    ex::INVALID_RESOURCE_REQUEST,
                    format!("Application {id}: no AM resource was requested"),
                )
            })?;
        let requested = Resource::try_from(&proto).map_err(|e| {
            RmError::new(
                ex::INVALID_RESOURCE_REQUEST,
                format!("Application {id}: {e}"),
            )
        })?;
        self.normalize(&requested)
            .map_err(|e| RmError::new(ex::INVALID_RESOURCE_REQUEST, e))
    }

    /// YARN's normalization: reject negative or over-maximum asks, round up to the minimum's multiples.
    pub(crate) fn normalize(&self, requested: &Resource) -> Result<Resource, String> {
        if let Some((name, _)) = requested
            .others()
            .iter()
            .find(|(n, _)| !self.settings.resource_types.contains(n))
        {
            return Err(format!(
                "Invalid resource request! Requested resource type=[{name}] is not known to the ResourceManager (yarn.resource-types = {:?}). Requested resource={requested}",
                self.settings.resource_types
            ));
        }
        if requested.any_negative() {
            return Err(format!("Invalid resource request! Cannot allocate containers as requested resource is less than 0! Requested resource={requested}"));
        }
        let max = self.maximum_allocation();
        if !max.fits(requested) {
            return Err(format!(
                "Invalid resource request! Cannot allocate containers as requested resource is greater than maximum allowed allocation. Requested resource={requested}, maximum allowed allocation={max}, please note that maximum allowed allocation is calculated by scheduler based on maximum resource of registered NodeManagers, which might be less than configured maximum allocation={}",
                self.settings.maximum_allocation
            ));
        }
        let min = &self.settings.minimum_allocation;
        let round = |v: i64, step: i64| {
            if step <= 0 {
                v
            } else {
                (v.max(step) + step - 1) / step * step
            }
        };
        let mut normalized = requested.clone();
        normalized.memory_mb = round(requested.memory_mb, min.memory_mb).min(max.memory_mb);
        normalized.vcores = round(requested.vcores, min.vcores).min(max.vcores);
        Ok(normalized)
    }

    /// `forceKillApplication`: true once the application is in a final state.
    pub fn kill_application(&mut self, id: ApplicationId, now_ms: i64) -> Result<bool, RmError> {
        let app = self.apps.get(&id).ok_or_else(|| not_found(id))?;
        if app.state.is_final() {
            return Ok(true);
        }
        if let Some(attempt) = app.current_attempt() {
            self.attempt_event(attempt, AttemptEvent::Kill, now_ms);
            self.end_attempt(attempt, now_ms);
        }
        self.app_event(id, AppEvent::Kill);
        let app = self.apps.get_mut(&id).expect("present");
        app.final_status = FinalApplicationStatus::Killed;
        app.diagnostics = "Application killed by user.".into();
        self.finish_app(id, now_ms);
        Ok(true)
    }

    /// Creates the next attempt of `app` and asks the scheduler for its AM container.
    pub(crate) fn start_attempt(&mut self, app_id: ApplicationId, now_ms: i64) {
        let app = self
            .apps
            .get_mut(&app_id)
            .expect("start_attempt of a known app");
        let attempt_id = ApplicationAttemptId::new(app_id, app.attempts.len() as i32 + 1);
        app.attempts.push(attempt_id);
        let am_resource = app.am_resource.clone();
        let kept = std::mem::take(&mut app.kept_containers);
        let mut attempt = RmAttempt::new(attempt_id, now_ms);
        for id in &kept {
            if let Some(c) = self.containers.get_mut(id) {
                c.attempt = attempt_id;
            }
        }
        attempt.live_containers = kept;
        self.attempts.insert(attempt_id, attempt);
        let decisions = self.scheduler.add_attempt(attempt_id, am_resource, now_ms);
        self.apply_decisions(decisions, now_ms);
    }

    /// An attempt failed (AM exit, launch failure, expiry): retry or fail the application.
    pub(crate) fn attempt_failed(
        &mut self,
        attempt_id: ApplicationAttemptId,
        exit_status: i32,
        now_ms: i64,
    ) {
        let app_id = attempt_id.application_id;
        // Count first: whether another attempt follows decides whether containers are kept.
        let mut keep = false;
        if let Some(app) = self.apps.get_mut(&app_id).filter(|a| !a.state.is_final()) {
            if retry::counts_as_failure(exit_status) {
                app.failure_times.push(now_ms);
            }
            // attemptFailuresValidityInterval: only failures within the window count.
            let counted = retry::failures_within(
                &mut app.failure_times,
                app.submission.attempt_failures_validity_interval(),
                now_ms,
            );
            keep = counted < app.max_attempts
                && app.submission.keep_containers_across_application_attempts();
            if counted != app.counted_failures {
                app.counted_failures = counted;
                self.save_app(app_id, None, now_ms);
            }
        }
        self.end_attempt_keeping(attempt_id, keep, now_ms);
        let Some(app) = self.apps.get(&app_id) else {
            return;
        };
        if app.state.is_final() {
            return;
        }
        let attempt_diagnostics = self
            .attempts
            .get(&attempt_id)
            .map(|a| a.diagnostics.clone())
            .unwrap_or_default();
        let app = self.apps.get_mut(&app_id).expect("present");
        if app.counted_failures >= app.max_attempts {
            app.final_status = FinalApplicationStatus::Failed;
            app.diagnostics = format!(
                "Application {app_id} failed {} times (global limit ={}; local limit is ={}) due to {attempt_diagnostics}. Failing the application.",
                app.counted_failures, self.settings.max_attempts, app.max_attempts
            );
            self.app_event(app_id, AppEvent::AttemptFailedFinal);
            self.finish_app(app_id, now_ms);
        } else {
            app.diagnostics = attempt_diagnostics;
            self.app_event(app_id, AppEvent::AttemptFailedWillRetry);
            self.start_attempt(app_id, now_ms);
        }
    }

    /// Releases everything an attempt holds (its containers are killed on their nodes).
    pub(crate) fn end_attempt(&mut self, attempt_id: ApplicationAttemptId, now_ms: i64) {
        self.end_attempt_keeping(attempt_id, false, now_ms);
    }

    /// Ends an attempt; with `keep` (keepContainersAcrossApplicationAttempts, another attempt
    /// follows) its containers other than the AM's keep running and pass to the next attempt.
    fn end_attempt_keeping(&mut self, attempt_id: ApplicationAttemptId, keep: bool, now_ms: i64) {
        self.am_liveness.remove(&attempt_id);
        self.forget_all_completions(attempt_id);
        if let Some(attempt) = self.attempts.get_mut(&attempt_id) {
            if attempt.finish_time == 0 {
                attempt.finish_time = now_ms;
            }
        }
        let decisions = self.scheduler.remove_attempt(attempt_id, keep, now_ms);
        self.apply_decisions(decisions, now_ms);
        if keep {
            let kept = self
                .attempts
                .get_mut(&attempt_id)
                .map(|a| std::mem::take(&mut a.live_containers))
                .unwrap_or_default();
            if let Some(app) = self.apps.get_mut(&attempt_id.application_id) {
                app.kept_containers = kept;
            }
        }
    }

    /// The application reached a final state: tell NMs to clean up, drop it from the scheduler,
    /// and forget the oldest finished applications beyond the retention limit.
    pub(crate) fn finish_app(&mut self, app_id: ApplicationId, now_ms: i64) {
        let Some(app) = self.apps.get_mut(&app_id) else {
            return;
        };
        if app.finish_time == 0 {
            app.finish_time = now_ms;
        }
        if app.cleaned_up {
            return;
        }
        // An AM that unregistered gets a grace period for its container to exit by itself;
        // the cleanup happens when it does (or when the grace period ends).
        let waiting_for_am = app
            .current_attempt()
            .and_then(|id| self.attempts.get(&id))
            .is_some_and(|a| {
                a.unregistered_at.is_some()
                    && a.am_container
                        .is_some_and(|c| a.live_containers.contains(&c))
            });
        if waiting_for_am {
            return;
        }
        let attempts = app.attempts.clone();
        app.cleaned_up = true;
        for attempt in attempts {
            if self
                .attempts
                .get(&attempt)
                .is_some_and(|a| !a.live_containers.is_empty())
            {
                self.end_attempt(attempt, now_ms);
            }
        }
        for node in self.nodes.values_mut() {
            node.cleanup_application(app_id);
        }
        self.scheduler.remove_application(app_id, now_ms);
        self.retire_finished_apps();
    }

    fn retire_finished_apps(&mut self) {
        let finished: Vec<ApplicationId> = self
            .apps
            .values()
            .filter(|a| a.state.is_final() && a.cleaned_up)
            .map(|a| a.id)
            .collect();
        let excess = finished
            .len()
            .saturating_sub(self.settings.max_completed_applications);
        for id in finished.into_iter().take(excess) {
            if let Some(app) = self.apps.remove(&id) {
                self.apps_changed();
                for attempt in &app.attempts {
                    self.attempts.remove(attempt);
                }
                self.unsave_app(id, app.attempts);
            }
        }
    }

    /// Applies an application event; a final state is stored (with its diagnostics and final
    /// status, which callers set before or right after: the record is encoded when the shell
    /// runs the effects, see [`RmCore::take_effects`]).
    pub(crate) fn app_event(&mut self, id: ApplicationId, event: AppEvent) {
        let Some(app) = self.apps.get_mut(&id) else {
            return;
        };
        match app::transition(app.state, event) {
            Ok(next) => {
                let became_final = next.is_final() && !app.state.is_final();
                app.state = next;
                self.app_generation += 1;
                if became_final {
                    if self.settings.durable {
                        self.final_pending.push(id);
                    } else {
                        app.final_saved = true;
                    }
                }
            }
            Err(e) => tracing::warn!("{id}: {e}"),
        }
    }

    /// Applies an attempt event; returns whether it was accepted.
    pub(crate) fn attempt_event(
        &mut self,
        id: ApplicationAttemptId,
        event: AttemptEvent,
        now_ms: i64,
    ) -> bool {
        let Some(attempt) = self.attempts.get_mut(&id) else {
            return false;
        };
        match attempt_lc::transition(attempt.state, event) {
            Ok(next) => {
                let became_final = next.is_final() && !attempt.state.is_final();
                attempt.state = next;
                self.app_generation += 1;
                if next.is_final() && attempt.finish_time == 0 {
                    attempt.finish_time = now_ms;
                }
                if became_final {
                    self.save_attempt(id, None, now_ms);
                }
                true
            }
            Err(e) => {
                tracing::warn!("{id}: {e}");
                false
            }
        }
    }

    /// A number that moves with every change an application list shows, other than progress,
    /// resource usage and waiting reasons (applications added, forgotten, or changing state).
    pub fn app_generation(&self) -> u64 {
        self.app_generation
    }

    pub(crate) fn apps_changed(&mut self) {
        self.app_generation += 1;
    }

    pub fn application(&self, id: ApplicationId) -> Result<&RmApp, RmError> {
        self.apps.get(&id).ok_or_else(|| not_found(id))
    }

    pub fn applications(&self) -> impl Iterator<Item = &RmApp> {
        self.apps.values()
    }

    pub fn attempt(&self, id: ApplicationAttemptId) -> Option<&RmAttempt> {
        self.attempts.get(&id)
    }
}

pub(crate) fn not_found(id: ApplicationId) -> RmError {
    RmError::new(ex::APPLICATION_NOT_FOUND, format!("Application with id '{id}' doesn't exist in RM. Please check that the job submission was successful."))
}
