//! Keeping derived state in step: pending totals up the queue chain, which applications and
//! queues are schedulable and their sort keys, active users, runnable applications (the Fair
//! Scheduler's maxRunningApps), min-share starvation clocks, and dynamic queues that emptied.

use spindle_types::{ApplicationId, Resource};

use crate::config::SchedulingPolicy;
use crate::ordering::{
    app_key, app_key_depends_on_usage, queue_key, AppOrderInputs, QueueOrderInputs,
};
use crate::queues::settings::ApplicationOrdering;
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

impl Scheduler {
    /// Brings an application's derived state in step after its asks, attempt or runnable flag
    /// changed.
    pub(crate) fn refresh_application(&mut self, application: ApplicationId) {
        let Some(app) = self.applications.get_mut(&application) else {
            return;
        };
        let leaf = app.queue;
        let pending_now = app
            .attempt
            .as_ref()
            .map(|attempt| attempt.asks.pending_resource().clone())
            .unwrap_or_default();
        if pending_now != app.pending {
            let delta = pending_now.sub(&app.pending);
            app.pending = pending_now;
            self.queues.add_pending(leaf, &delta);
        }
        let was_schedulable = app.sort_key.is_some();
        self.reposition_application(application);
        let app = &self.applications[&application];
        let schedulable = app.sort_key.is_some();
        if was_schedulable != schedulable {
            let user = app.user.clone();
            self.user_activity_changed(leaf, &user, schedulable);
        }
        self.reposition_chain(leaf);
        self.note_min_share_starvation(leaf);
    }

    /// One of the application's containers was freed: keys move, limits loosen.
    pub(crate) fn container_freed(
        &mut self,
        application: ApplicationId,
        leaf: QueueIndex,
        is_am: bool,
    ) {
        if app_key_depends_on_usage(self.queues.get(leaf).settings.application_ordering) {
            self.reposition_application(application);
        }
        self.reposition_chain(leaf);
        self.loosen_after_refund(leaf, application, is_am);
        self.loosen_user_limits(leaf);
        self.note_min_share_starvation(leaf);
    }

    fn user_activity_changed(&mut self, leaf: QueueIndex, user: &str, active: bool) {
        let queue = self.queues.get_mut(leaf);
        let account = queue.user_account(user);
        if active {
            account.schedulable_applications += 1;
            if account.schedulable_applications == 1 {
                queue.active_users += 1;
            }
        } else {
            account.schedulable_applications -= 1;
            if account.schedulable_applications == 0 {
                queue.active_users -= 1;
            }
        }
        self.loosen_user_limits(leaf);
    }

    /// Puts the application in (or takes it out of) its leaf's schedulable set with a fresh key.
    pub(crate) fn reposition_application(&mut self, application: ApplicationId) {
        let cluster = self.nodes.total();
        let app = &self.applications[&application];
        let leaf = app.queue;
        let ordering = self.queues.get(leaf).settings.application_ordering;
        let demand = app.demand();
        let new_key = app.is_schedulable().then(|| {
            app_key(
                ordering,
                &AppOrderInputs {
                    application,
                    priority: app.priority,
                    allocated: &app.allocated,
                    demand: &demand,
                },
                cluster,
            )
        });
        let old_key = app.sort_key;
        if new_key == old_key {
            return;
        }
        let queue = self.queues.get_mut(leaf);
        if let Some(old) = old_key {
            queue.schedulable_applications.remove(&old);
        }
        if let Some(new) = new_key {
            queue.schedulable_applications.insert(new);
        }
        self.applications
            .get_mut(&application)
            .expect("repositioning a known application")
            .sort_key = new_key;
    }

    /// Recomputes the keys of `leaf` and its ancestors in their parents' schedulable sets.
    pub(crate) fn reposition_chain(&mut self, leaf: QueueIndex) {
        let mut index = leaf;
        while let Some(parent) = self.queues.get(index).parent {
            let new_key = self.queue_key_of(index, parent);
            let queue = self.queues.get(index);
            if new_key != queue.key_in_parent {
                let old_key = queue.key_in_parent;
                let parent_queue = self.queues.get_mut(parent);
                if let Some(old) = old_key {
                    parent_queue.schedulable_children.remove(&old);
                }
                if let Some(new) = new_key {
                    parent_queue.schedulable_children.insert(new);
                }
                self.queues.get_mut(index).key_in_parent = new_key;
            }
            index = parent;
        }
    }

    fn queue_key_of(
        &self,
        index: QueueIndex,
        parent: QueueIndex,
    ) -> Option<crate::ordering::QueueSortKey> {
        let queue = self.queues.get(index);
        if !queue.is_schedulable() {
            return None;
        }
        let demand = queue.demand();
        Some(queue_key(
            self.queues.get(parent).settings.child_ordering,
            &QueueOrderInputs {
                index,
                used: &queue.used,
                demand: &demand,
                guaranteed: &queue.guaranteed,
                min_share: &queue.settings.min_resources,
                weight: queue.settings.weight,
            },
            self.nodes.total(),
            self.calculator,
        ))
    }

    /// Recomputes every sort key (the cluster's size or the configuration changed).
    pub(crate) fn rebuild_keys(&mut self) {
        self.keys_stale = false;
        let order = self.queues.depth_first().to_vec();
        let mut schedulable = Vec::new();
        for &index in &order {
            let queue = self.queues.get_mut(index);
            schedulable.extend(
                queue
                    .schedulable_applications
                    .iter()
                    .map(|key| key.application),
            );
            queue.schedulable_applications.clear();
            queue.schedulable_children.clear();
            queue.key_in_parent = None;
        }
        for application in schedulable {
            if let Some(app) = self.applications.get_mut(&application) {
                app.sort_key = None;
            }
            self.reposition_application(application);
        }
        for &index in order.iter().rev() {
            if let Some(parent) = self.queues.get(index).parent {
                let key = self.queue_key_of(index, parent);
                if let Some(key) = key {
                    self.queues.get_mut(parent).schedulable_children.insert(key);
                }
                self.queues.get_mut(index).key_in_parent = key;
            }
        }
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
