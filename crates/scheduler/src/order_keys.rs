//! Sort keys in step with usage, and the sets they order: each parent's schedulable children and
//! each leaf's walked and waiting applications (see `ordering.rs` for the keys themselves).
//!
//! A key is recomputed whenever its inputs change, but a walked queue or application whose key
//! changed keeps its old place in its set (it is listed as *moved*) until the end of the event:
//! node passes iterate a set in the current order by merging the few moved entries in at their
//! new keys. Where a container finishes and the same queue takes the room at once (the steady
//! state of a busy Capacity Scheduler queue), the key is back where it is listed by then, and
//! nothing moves at all.

use spindle_types::{ApplicationId, Resource};

use crate::delayed_walk::QueueListing;
use crate::ordering::{
    app_key, queue_key, AppOrderInputs, AppSortKey, QueueOrderInputs, QueueSortKey,
};
use crate::queues::QueueIndex;
use crate::scheduler::Scheduler;

/// More moved entries than this are applied at once, so that passes merge only a few.
const MOVED_LIMIT: usize = 16;

/// Takes `item` out of a moved list (its order does not matter).
fn unlist<T: PartialEq>(list: &mut Vec<T>, item: &T) {
    if let Some(position) = list.iter().position(|listed| listed == item) {
        list.swap_remove(position);
    }
}

/// Queues and applications whose sets still list them under an older key.
#[derive(Debug, Clone, Default)]
pub(crate) struct MovedKeys {
    pub(crate) queues: Vec<QueueIndex>,
    pub(crate) applications: Vec<ApplicationId>,
}

impl MovedKeys {
    pub(crate) fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.applications.is_empty()
    }
}

impl Scheduler {
    /// Puts the application in (or takes it out of) its leaf's walk or waiting set with a fresh
    /// key; a leaf whose walk gains or loses its first application moves in its parents' sets.
    pub(crate) fn reposition_application(&mut self, application: ApplicationId) {
        if self.place_application_key(application, false) {
            let leaf = self.applications[&application].queue;
            self.reposition_chain(leaf);
        }
    }

    /// As [`Self::reposition_application`], for callers that reposition the leaf's chain
    /// themselves right after.
    pub(crate) fn reposition_application_before_chain(&mut self, application: ApplicationId) {
        self.place_application_key(application, false);
    }

    /// `rebuilding`: the leaf's sets were emptied and the application is not in them. Returns
    /// whether the leaf's chain must be repositioned (what its sets hold changed).
    fn place_application_key(&mut self, application: ApplicationId, rebuilding: bool) -> bool {
        if !rebuilding {
            // Charges owed to the leaf belong to those listed before this change: push them
            // down first. Its own counts must be whole before its delay state is read.
            let leaf = self.applications[&application].queue;
            self.open_chain(leaf);
            self.settle_application(application);
        }
        let cluster = self.nodes.total();
        let app = &self.applications[&application];
        let leaf = app.queue;
        let ordering = self.queues.get(leaf).settings.application_ordering;
        let new_key = app.is_schedulable().then(|| {
            // Only size-based fair ordering weighs applications by their demand.
            let demand = match ordering {
                crate::queues::settings::ApplicationOrdering::Fair { size_based: true } => {
                    app.demand()
                }
                _ => Resource::ZERO,
            };
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
        let walk = new_key.is_some() && app.is_walkable();
        let delayed_slack = if walk { self.delayed_slack(app) } else { None };
        let (old_key, listed, old_walk, old_delayed) = (
            app.sort_key,
            app.listed_key.filter(|_| !rebuilding),
            app.in_walk,
            app.delayed && !rebuilding,
        );
        let delayed = delayed_slack.is_some();
        if let (Some(listed_key), Some(key), true, false, false) =
            (listed, new_key, walk == old_walk, delayed, old_delayed)
        {
            // Same set, new key: a walked application only moves at the end of the event.
            if new_key != old_key {
                let app = self
                    .applications
                    .get_mut(&application)
                    .expect("repositioning a known application");
                app.sort_key = new_key;
                if walk {
                    let back = new_key == listed;
                    if back && app.moved {
                        // Back at its listed key: nothing to move any more.
                        app.moved = false;
                        unlist(&mut self.moved.applications, &application);
                    } else if !back && !app.moved {
                        app.moved = true;
                        self.moved.applications.push(application);
                        if self.moved.applications.len() > MOVED_LIMIT {
                            self.apply_moved_keys();
                        }
                    }
                } else {
                    let queue = self.queues.get_mut(leaf);
                    queue.waiting_applications.remove(&listed_key);
                    queue.waiting_applications.insert(key);
                    app.listed_key = new_key;
                }
            }
            return false;
        }
        if listed.is_none() && new_key.is_none() {
            return false;
        }
        let queue = self.queues.get_mut(leaf);
        let before = (
            queue.has_walked_members(),
            queue.has_delayed_members(),
            queue.least_delayed_slack(),
        );
        let in_place = old_delayed && delayed && listed == new_key;
        if let (true, Some(key), Some(slack)) = (in_place, new_key, delayed_slack) {
            // Settled above: only its slack changes.
            queue.delayed_applications.set_slack(&key, slack);
        } else if let Some(listed) = listed {
            if old_delayed {
                queue.delayed_applications.remove(&listed);
            } else if old_walk {
                queue.schedulable_applications.remove(&listed);
            } else {
                queue.waiting_applications.remove(&listed);
            }
        }
        if let (false, Some(new)) = (in_place, new_key) {
            if let Some(slack) = delayed_slack {
                queue.delayed_applications.insert(new, slack);
            } else if walk {
                queue.schedulable_applications.insert(new);
            } else {
                queue.waiting_applications.insert(new);
            }
        }
        let members_changed = before
            != (
                queue.has_walked_members(),
                queue.has_delayed_members(),
                queue.least_delayed_slack(),
            );
        let app = self
            .applications
            .get_mut(&application)
            .expect("repositioning a known application");
        app.sort_key = new_key;
        app.listed_key = new_key;
        app.in_walk = walk;
        app.delayed = delayed;
        if app.moved {
            // Listed afresh (or not at all): not moved any more.
            app.moved = false;
            unlist(&mut self.moved.applications, &application);
        }
        if old_key.is_some() != new_key.is_some() {
            let user = app.user.clone();
            self.user_activity_changed(leaf, &user, new_key.is_some());
        }
        if delayed || old_delayed || !self.applications[&application].indexed_locations.is_empty() {
            self.index_delayed_locations(application, delayed);
        }
        members_changed && !rebuilding
    }

    /// Recomputes the keys of `leaf` and its ancestors, and their places in their parents'
    /// sets: walked (a queue that stays in its parent's walk only moves at the end of the
    /// event) or delayed (see `delayed_walk.rs`).
    pub(crate) fn reposition_chain(&mut self, leaf: QueueIndex) {
        self.open_chain(leaf);
        let mut index = leaf;
        while let Some(parent) = self.queues.get(index).parent {
            let key = self.fresh_queue_key(index, parent);
            let listing = self.queue_listing(index);
            self.queues.get_mut(index).order_key = Some(key);
            let delayed_slack = match listing {
                QueueListing::Delayed { slack } => Some(slack),
                _ => None,
            };
            let old_delayed = self
                .queues
                .set_delayed_in_parent(index, delayed_slack.map(|_| key));
            let siblings = &mut self.queues.get_mut(parent).delayed_children;
            match (old_delayed, delayed_slack) {
                (Some(listed), Some(slack)) if listed == key => {
                    siblings.set_slack(&key, slack);
                }
                (old, new) => {
                    if let Some(listed) = old {
                        // Opened above: it owes nothing.
                        siblings.remove(&listed);
                    }
                    if let Some(slack) = new {
                        siblings.insert(key, slack);
                    }
                }
            }
            let open = !self.queue_closed_to_shares(index);
            let queue = self.queues.get_mut(index);
            let previous_listed = queue.key_in_parent;
            let new_key = (listing == QueueListing::Walked).then_some(key);
            match (queue.key_in_parent, new_key) {
                (Some(listed), Some(new)) => {
                    if listed == new && queue.moved {
                        // Back at its listed key: nothing to move any more.
                        queue.moved = false;
                        unlist(&mut self.moved.queues, &index);
                    } else if listed != new && !queue.moved {
                        queue.moved = true;
                        self.moved.queues.push(index);
                        if self.moved.queues.len() > MOVED_LIMIT {
                            self.apply_moved_keys();
                        }
                    }
                }
                (Some(listed), None) => {
                    queue.key_in_parent = None;
                    if queue.moved {
                        queue.moved = false;
                        unlist(&mut self.moved.queues, &index);
                    }
                    self.queues
                        .get_mut(parent)
                        .schedulable_children
                        .remove(&listed);
                }
                (None, Some(new)) => {
                    queue.key_in_parent = Some(new);
                    self.queues.get_mut(parent).schedulable_children.insert(new);
                }
                (None, None) => {}
            }
            let listed = self.queues.get(index).key_in_parent;
            let open_children = &mut self.queues.get_mut(parent).open_children;
            let was_open = previous_listed.is_some_and(|previous| open_children.remove(&previous));
            if let Some(listed) = listed.filter(|_| open) {
                open_children.insert(listed);
                if previous_listed.is_some() && !was_open {
                    // It held its share and walks within shares passed it by: what waits below
                    // it is tried again now that it holds less.
                    self.work.queues.push(index);
                }
            }
            index = parent;
        }
    }

    /// Moves every moved queue and application to its current key in its set.
    pub(crate) fn apply_moved_keys(&mut self) {
        if self.moved.is_empty() {
            return;
        }
        // Taken out and put back emptied, to keep their capacity.
        let mut queues = std::mem::take(&mut self.moved.queues);
        for &index in &queues {
            if !self.queues.is_live(index) {
                continue;
            }
            let queue = self.queues.get_mut(index);
            queue.moved = false;
            let (Some(listed), Some(key), Some(parent)) =
                (queue.key_in_parent, queue.order_key, queue.parent)
            else {
                continue;
            };
            if listed != key {
                queue.key_in_parent = Some(key);
                let parent = self.queues.get_mut(parent);
                parent.schedulable_children.remove(&listed);
                parent.schedulable_children.insert(key);
                if parent.open_children.remove(&listed) {
                    parent.open_children.insert(key);
                }
            }
        }
        queues.clear();
        self.moved.queues = queues;
        let mut applications = std::mem::take(&mut self.moved.applications);
        for application in &applications {
            let Some(app) = self.applications.get_mut(application) else {
                continue;
            };
            app.moved = false;
            let (Some(listed), Some(key)) = (app.listed_key, app.sort_key) else {
                continue;
            };
            if listed != key && app.in_walk {
                app.listed_key = Some(key);
                let set = &mut self.queues.get_mut(app.queue).schedulable_applications;
                set.remove(&listed);
                set.insert(key);
            }
        }
        applications.clear();
        self.moved.applications = applications;
    }

    /// The queue's key in its parent's order, computed now (whether or not it is in the walk).
    pub(crate) fn fresh_queue_key(&self, index: QueueIndex, parent: QueueIndex) -> QueueSortKey {
        let queue = self.queues.get(index);
        // The demand only matters against a min share (min(min share, demand)).
        let demand = if queue.settings.min_resources.is_zero() {
            Resource::ZERO
        } else {
            queue.demand()
        };
        queue_key(
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
        )
    }

    /// Recomputes every sort key (the cluster's size or the configuration changed).
    pub(crate) fn rebuild_keys(&mut self) {
        self.keys_stale = false;
        self.apply_moved_keys();
        self.settle_all();
        let order = self.queues.depth_first().to_vec();
        let mut schedulable = Vec::new();
        for &index in &order {
            let queue = self.queues.get_mut(index);
            schedulable.extend(
                queue
                    .schedulable_applications
                    .iter()
                    .chain(&queue.waiting_applications)
                    .map(|key| key.application),
            );
            schedulable.extend(
                queue
                    .delayed_applications
                    .members()
                    .into_iter()
                    .map(|(key, _, _)| key.application),
            );
            queue.schedulable_applications.clear();
            queue.waiting_applications.clear();
            queue.delayed_applications.clear();
            queue.schedulable_children.clear();
            queue.open_children.clear();
            queue.delayed_children.clear();
            queue.key_in_parent = None;
            self.queues.set_delayed_in_parent(index, None);
        }
        for application in schedulable {
            self.place_application_key(application, true);
        }
        for &index in order.iter().rev() {
            if let Some(parent) = self.queues.get(index).parent {
                let key = self.fresh_queue_key(index, parent);
                let listing = self.queue_listing(index);
                let open = !self.queue_closed_to_shares(index);
                let queue = self.queues.get_mut(index);
                queue.order_key = Some(key);
                match listing {
                    QueueListing::Walked => {
                        queue.key_in_parent = Some(key);
                        let parent = self.queues.get_mut(parent);
                        parent.schedulable_children.insert(key);
                        if open {
                            parent.open_children.insert(key);
                        }
                    }
                    QueueListing::Delayed { slack } => {
                        self.queues.set_delayed_in_parent(index, Some(key));
                        self.queues
                            .get_mut(parent)
                            .delayed_children
                            .insert(key, slack);
                    }
                    QueueListing::Unlisted => {}
                }
            }
        }
    }

    /// The next child of `parent` in the current order after the one keyed `after` (the first
    /// without), among those in its walk: listed children not moved, merged with moved ones at
    /// their current keys.
    pub(crate) fn next_walked_child(
        &self,
        parent: QueueIndex,
        after: Option<QueueSortKey>,
    ) -> Option<QueueSortKey> {
        self.next_child(parent, after, false)
    }

    /// As [`Self::next_walked_child`], among the children open to a walk within shares (those
    /// not holding their share, or with an AM container waiting below).
    pub(crate) fn next_open_child(
        &self,
        parent: QueueIndex,
        after: Option<QueueSortKey>,
    ) -> Option<QueueSortKey> {
        self.next_child(parent, after, true)
    }

    fn next_child(
        &self,
        parent: QueueIndex,
        after: Option<QueueSortKey>,
        open_only: bool,
    ) -> Option<QueueSortKey> {
        let next = self.merge_next_child_of(parent, after, open_only);
        debug_assert_eq!(
            next,
            self.queues
                .get(parent)
                .children
                .iter()
                .filter(|&&child| !open_only || !self.queue_closed_to_shares(child))
                .map(|&child| self.queues.get(child))
                .filter(|child| child.key_in_parent.is_some())
                .filter_map(|child| child.order_key)
                .filter(|key| after.is_none_or(|after| *key > after))
                .min(),
            "the walk follows the current keys"
        );
        next
    }

    fn merge_next_child_of(
        &self,
        parent: QueueIndex,
        after: Option<QueueSortKey>,
        open_only: bool,
    ) -> Option<QueueSortKey> {
        use std::ops::Bound::{Excluded, Unbounded};
        let queue = self.queues.get(parent);
        let children = if open_only {
            &queue.open_children
        } else {
            &queue.schedulable_children
        };
        let mut range = match after {
            None => children.range(..),
            Some(after) => children.range((Excluded(after), Unbounded)),
        };
        if self.moved.queues.is_empty() {
            return range.next().copied();
        }
        let listed = range.find(|key| !self.queues.get(key.index).moved).copied();
        let moved = self
            .moved
            .queues
            .iter()
            .filter(|&&index| self.queues.is_live(index))
            .filter(|&&index| !open_only || !self.queue_closed_to_shares(index))
            .map(|&index| self.queues.get(index))
            .filter(|queue| queue.parent == Some(parent) && queue.key_in_parent.is_some())
            .filter_map(|queue| queue.order_key)
            .filter(|key| after.is_none_or(|after| *key > after))
            .min();
        match (listed, moved) {
            (Some(listed), Some(moved)) => Some(listed.min(moved)),
            (listed, moved) => listed.or(moved),
        }
    }

    /// The next application of `leaf`'s walk in the current order after the one keyed `after`
    /// (the first without), merging moved applications in at their current keys.
    pub(crate) fn next_walked_application(
        &self,
        leaf: QueueIndex,
        after: Option<AppSortKey>,
    ) -> Option<AppSortKey> {
        let next = self.merge_next_application(leaf, after);
        debug_assert_eq!(
            next,
            self.queues
                .get(leaf)
                .schedulable_applications
                .iter()
                .filter_map(|listed| self.applications[&listed.application].sort_key)
                .filter(|key| after.is_none_or(|after| *key > after))
                .min(),
            "the walk follows the current keys"
        );
        next
    }

    fn merge_next_application(
        &self,
        leaf: QueueIndex,
        after: Option<AppSortKey>,
    ) -> Option<AppSortKey> {
        use std::ops::Bound::{Excluded, Unbounded};
        let set = &self.queues.get(leaf).schedulable_applications;
        let mut range = match after {
            None => set.range(..),
            Some(after) => set.range((Excluded(after), Unbounded)),
        };
        if self.moved.applications.is_empty() {
            return range.next().copied();
        }
        let listed = range
            .find(|key| !self.moved.applications.contains(&key.application))
            .copied();
        let moved = self
            .moved
            .applications
            .iter()
            .filter_map(|application| self.applications.get(application))
            .filter(|app| app.queue == leaf && app.in_walk)
            .filter_map(|app| app.sort_key)
            .filter(|key| after.is_none_or(|after| *key > after))
            .min();
        match (listed, moved) {
            (Some(listed), Some(moved)) => Some(listed.min(moved)),
            (listed, moved) => listed.or(moved),
        }
    }
}
