//! Keeping derived state in step: pending totals up the queue chain, active users, runnable
//! applications (the Fair Scheduler's maxRunningApps), min-share starvation clocks, and dynamic
//! queues that emptied. Sort keys and the sets they order are in `order_keys.rs`.

use spindle_types::{ApplicationId, Resource};

use crate::config::SchedulingPolicy;
use crate::ordering::app_key_depends_on_usage;
use crate::queues::settings::ApplicationOrdering;
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

impl Scheduler {
    /// Brings an application's derived state in step after its asks, attempt or runnable flag
    /// changed.
    pub(crate) fn refresh_application(&mut self, application: ApplicationId) {
        if self.update_pending(application).is_none() {
            return;
        }
        self.sync_locality(application);
        self.refresh_position(application);
    }

    /// Brings an application's pending totals, keys and activity in step after one request
    /// changed (its delay state already synced).
    pub(crate) fn refresh_position(&mut self, application: ApplicationId) {
        let Some(leaf) = self.update_pending(application) else {
            return;
        };
        self.reposition_application_before_chain(application);
        self.reposition_chain(leaf);
        self.note_min_share_starvation(leaf);
        self.sync_protection(application);
    }

    /// Adds the change of the application's pending resources to its queues; returns its leaf.
    fn update_pending(&mut self, application: ApplicationId) -> Option<QueueIndex> {
        let app = self.applications.get_mut(&application)?;
        let leaf = app.queue;
        static NOTHING: Resource = Resource::ZERO;
        let pending_now = app
            .attempt
            .as_ref()
            .map_or(&NOTHING, |attempt| attempt.asks.pending_resource());
        if *pending_now != app.pending {
            let delta = pending_now.sub(&app.pending);
            app.pending = pending_now.clone();
            self.queues.add_pending(leaf, &delta);
        }
        self.note_demand(application);
        Some(leaf)
    }

    /// One of the application's containers was freed: keys move, limits loosen.
    pub(crate) fn container_freed(
        &mut self,
        application: ApplicationId,
        leaf: QueueIndex,
        is_am: bool,
    ) {
        if app_key_depends_on_usage(self.queues.get(leaf).settings.application_ordering) {
            self.reposition_application_before_chain(application);
        }
        self.reposition_chain(leaf);
        self.loosen_after_refund(leaf, application, is_am);
        self.loosen_user_limits(leaf);
        self.note_min_share_starvation(leaf);
    }

    pub(crate) fn user_activity_changed(&mut self, leaf: QueueIndex, user: &str, active: bool) {
        let queue = self.queues.get_mut(leaf);
        let account = queue.user_account(user);
        if active {
            account.schedulable_applications += 1;
            if account.schedulable_applications == 1 {
                let used = account.used.clone();
                queue.active_users += 1;
                queue.active_used.add_assign(&used);
            }
        } else {
            account.schedulable_applications -= 1;
            if account.schedulable_applications == 0 {
                let used = account.used.clone();
                queue.active_users -= 1;
                queue.active_used.sub_assign(&used);
            }
        }
        self.loosen_user_limits(leaf);
    }

    /// Fair policy: whether the application fits its queues' and user's maxRunningApps.
    pub(crate) fn can_run(&self, application: ApplicationId) -> bool {
        let SchedulingPolicy::Fair(config) = &self.config.policy else {
            return true;
        };
        let app = &self.applications[&application];
        for index in self.queues.chain(app.queue) {
            let queue = self.queues.get(index);
            if queue
                .settings
                .max_running_apps
                .is_some_and(|limit| queue.num_runnable >= limit)
            {
                return false;
            }
        }
        let user_limit = config
            .user_max_apps
            .get(&app.user)
            .copied()
            .or(config.user_max_apps_default);
        match user_limit {
            Some(limit) => self.runnable_applications_of(&app.user) < limit,
            None => true,
        }
    }

    /// The user's runnable applications in every queue.
    pub(crate) fn runnable_applications_of(&self, user: &str) -> usize {
        self.queues
            .iter()
            .filter(|(_, queue)| queue.is_leaf)
            .filter_map(|(_, queue)| queue.users.get(user))
            .map(|account| account.runnable_applications)
            .sum()
    }

    pub(crate) fn make_runnable(&mut self, application: ApplicationId) {
        let app = self
            .applications
            .get_mut(&application)
            .expect("making a known application runnable");
        app.runnable = true;
        let (leaf, user) = (app.queue, app.user.clone());
        self.queues.set_runnable(leaf, &user, true);
        self.entitlements_changed();
        self.refresh_application(application);
        self.work.applications.push(application);
    }

    /// Fair policy: applications waiting for maxRunningApps that may run now, by submission.
    pub(crate) fn promote_runnable(&mut self) {
        let waiting: Vec<(u64, ApplicationId)> = self.non_runnable.iter().copied().collect();
        for (submission, application) in waiting {
            if self.can_run(application) {
                self.non_runnable.remove(&(submission, application));
                self.make_runnable(application);
            }
        }
    }

    /// Removes dynamic queues left without applications (Fair policy), up from `leaf`; the
    /// other queues' steady fair shares grow.
    pub(crate) fn remove_empty_dynamic_queues(&mut self, leaf: QueueIndex) {
        if self.discard_empty_dynamic_queues(leaf) {
            self.resolve_queue_limits();
        }
    }

    /// Removes dynamic queues left without applications, up from `leaf`, and nothing else
    /// (a placement that created them was refused). Returns whether any went.
    pub(crate) fn discard_empty_dynamic_queues(&mut self, leaf: QueueIndex) -> bool {
        let removable = self.queues.removable_dynamic_chain(leaf);
        for &index in &removable {
            self.blocked.forget_queue(index);
            self.queues.remove(index);
        }
        !removable.is_empty()
    }

    /// Fair policy: starts or stops the min-share starvation clock of a leaf.
    pub(crate) fn note_min_share_starvation(&mut self, leaf: QueueIndex) {
        if !matches!(self.config.policy, SchedulingPolicy::Fair(_)) || leaf == ROOT {
            return;
        }
        let queue = self.queues.get(leaf);
        if queue.settings.min_resources.is_zero() && queue.min_share_starved_since.is_none() {
            // No min share: never starved for it.
            return;
        }
        let starved = is_below(
            queue.settings.application_ordering,
            &queue.used,
            &queue.settings.min_resources.min(&queue.demand()),
        );
        let now = self.now_ms;
        let queue = self.queues.get_mut(leaf);
        match (starved, queue.min_share_starved_since) {
            (true, None) => queue.min_share_starved_since = Some(now),
            (false, Some(_)) => queue.min_share_starved_since = None,
            _ => {}
        }
    }
}

/// Whether `used` is below `share` as the queue's policy measures (memory for fair and fifo,
/// any type for drf).
pub(crate) fn is_below(ordering: ApplicationOrdering, used: &Resource, share: &Resource) -> bool {
    match ordering {
        ApplicationOrdering::Drf => {
            used.memory_mb < share.memory_mb
                || used.vcores < share.vcores
                || share
                    .others()
                    .iter()
                    .any(|(name, value)| used.get(name) < *value)
        }
        ApplicationOrdering::Fair { .. } | ApplicationOrdering::Fifo => {
            used.memory_mb < share.memory_mb
        }
    }
}
