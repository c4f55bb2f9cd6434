//! Stepping over what waits for locality elsewhere: node passes charge the missed scheduling
//! opportunities of *delayed* applications and queues without visiting them.
//!
//! A walked application is *delayed* when every placeable request of it passes up any node it
//! does not name: it relaxes to any node only later (its `"*"` entry allows it, delay
//! scheduling does not yet), and its container fits every node. A node pass that reaches such
//! an application and does not match one of its hosts (or racks, once rack-local is allowed)
//! charges each of its requests one missed opportunity and moves on; that is all a visit would
//! do until a request's count reaches its deadline. So each leaf lists its delayed applications
//! apart from its walk, in a `ChargeSet` (`charge_set.rs`) ordered like the walk, and each
//! parent lists apart its *delayed children*: queues below their maximum whose walked
//! applications are all delayed. A pass merges the two orders and charges a whole run of
//! delayed entries between two visits at once. It still visits, in order, every delayed entry
//! that may take the node: those the node matches (found through an index of the names they
//! want) and those whose *slack* is down to `visit_at_slack` (64 by default; any value ≥ 1
//! gives the same decisions, since a visit comes before a charge reaches a deadline). The
//! result is the walk YARN does, decision for decision; the `skip_delayed` switch turns the
//! stepping off, and the property tests compare both.
//!
//! Charges to a queue are owed to everything below it until the queue is *opened* (they are
//! pushed into its own sets); anything that reads or changes an application's counts or a
//! queue's sets opens the chain above it first.

use spindle_types::ApplicationId;

use crate::applications::SchedulerApplication;
use crate::charge_set::NO_DEADLINE;
use crate::invariants::{violation, InvariantViolation};
use crate::locality_delay::LocalityDelay;
use crate::nodes::NodeIndex;
use crate::ordering::{AppSortKey, QueueSortKey};
use crate::queues::QueueIndex;
use crate::scheduler::Scheduler;

/// A delayed application a node pass may have to visit, with its leaf (see
/// `delayed_candidates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DelayedCandidate {
    pub(crate) leaf: QueueIndex,
    pub(crate) application: ApplicationId,
}

/// Where a queue belongs among its parent's sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueListing {
    /// In the walk: something below it is visited by every pass that reaches it (or it is at
    /// its maximum, which only a visit checks).
    Walked,
    /// Among the delayed children, with the least slack below it.
    Delayed { slack: i64 },
    /// Nothing below it is schedulable.
    Unlisted,
}

/// Slack at or below which an entry is visited rather than stepped over (the default of
/// `Scheduler::visit_at_slack`). Any value ≥ 1 gives the same decisions (a visit happens before
/// a charge reaches a deadline); a larger one keeps requests with short waits (Capacity's
/// node-locality-delay of 40) out of the delayed sets, whose bookkeeping costs more than
/// visiting them for their few missed opportunities.
pub(crate) const VISIT_AT_SLACK: i64 = 64;

impl Scheduler {
    /// How node passes treat applications that wait for other hosts: `Some(slack)` steps over
    /// runs of those with more than `slack` (≥ 1) missed opportunities left before their next
    /// deadline (the default is 64), `None` visits each one. Decisions are the same either
    /// way; tests and benchmarks compare them.
    #[doc(hidden)]
    pub fn set_step_over_delayed(&mut self, above_slack: Option<i64>) {
        self.settle_all();
        self.skip_delayed = above_slack.is_some();
        self.visit_at_slack = above_slack.unwrap_or(VISIT_AT_SLACK).max(1);
        self.rebuild_keys();
    }

    /// How many applications are listed as delayed now.
    #[doc(hidden)]
    pub fn delayed_application_count(&self) -> usize {
        self.queues
            .iter()
            .map(|(_, queue)| queue.delayed_applications.len())
            .sum()
    }

    /// Where the (non-root) queue belongs among its parent's sets, from what its own sets hold.
    pub(crate) fn queue_listing(&self, index: QueueIndex) -> QueueListing {
        let queue = self.queues.get(index);
        if queue.has_walked_members() {
            QueueListing::Walked
        } else if !queue.has_delayed_members() {
            QueueListing::Unlisted
        } else if self.skip_delayed && !self.queue_at_maximum(index) && !self.queue_at_share(index)
        {
            QueueListing::Delayed {
                slack: queue.least_delayed_slack(),
            }
        } else {
            QueueListing::Walked
        }
    }

    /// The application's slack if it is to be listed as delayed (None: it is walked): its
    /// requests all wait elsewhere, and for long enough.
    pub(crate) fn delayed_slack(&self, app: &SchedulerApplication) -> Option<i64> {
        self.waiting_slack(app)
            .filter(|&slack| slack > self.visit_at_slack)
    }

    /// The application's slack (counts settled) if every placeable request of it waits for
    /// other hosts and fits every node; None otherwise.
    fn waiting_slack(&self, app: &SchedulerApplication) -> Option<i64> {
        if !self.skip_delayed || matches!(self.delay, LocalityDelay::None) || !app.is_walkable() {
            return None;
        }
        let attempt = app.attempt.as_ref()?;
        let (smallest_memory, smallest_vcores) = self.nodes.smallest_capability()?;
        let mut slack = NO_DEADLINE;
        let mut open = false;
        for (slot, state) in attempt.asks.slots_with_state() {
            if !state.open {
                continue;
            }
            open = true;
            if state.off_switch_allowed || !attempt.asks.relaxes_to_any(slot) {
                return None;
            }
            let capability = attempt.asks.pending_capability(slot)?;
            if !capability.others().is_empty()
                || capability.memory_mb > smallest_memory
                || capability.vcores > smallest_vcores
            {
                return None;
            }
            if let Some(deadline) = state.deadline {
                let offered = attempt.asks.locality_wait(slot).offered;
                slack = slack.min(deadline as i64 - offered as i64);
            }
        }
        open.then_some(slack)
    }

    /// The names a node pass may match for a delayed application: the registered hosts its
    /// placeable requests want, and their registered racks once rack-local is allowed. (Other
    /// names match no node; a registration changes the signature and so lists them again.)
    fn delayed_location_names(&self, app: &SchedulerApplication) -> Vec<Box<str>> {
        let Some(attempt) = app.attempt.as_ref() else {
            return Vec::new();
        };
        let mut names: Vec<Box<str>> = Vec::new();
        for (slot, state) in attempt.asks.slots_with_state() {
            if !state.open {
                continue;
            }
            for name in attempt.asks.wanted_location_names(slot) {
                let host = self.nodes.on_host(name).next().is_some();
                if host || (state.rack_local_allowed && self.nodes.is_rack(name)) {
                    names.push(name.into());
                }
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// What the names of [`Self::delayed_location_names`] derive from: the attempt, the names
    /// it may have started wanting, which of its requests are placeable and allow rack-local,
    /// and which names are hosts or racks. Placements only stop names being wanted: the index
    /// keeps those (a superset) until something else changes.
    fn location_signature(&self, app: &SchedulerApplication) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        let attempt = app.attempt.as_ref()?;
        let mut hasher = crate::fast_hash::FastHasher::default();
        attempt.id.hash(&mut hasher);
        attempt.asks.location_version().hash(&mut hasher);
        self.node_changes.hash(&mut hasher);
        for (slot, state) in attempt.asks.slots_with_state() {
            if state.open {
                slot.hash(&mut hasher);
                state.rack_local_allowed.hash(&mut hasher);
            }
        }
        Some(hasher.finish())
    }

    /// Lists (or unlists) the application under the names a node pass may match.
    pub(crate) fn index_delayed_locations(&mut self, application: ApplicationId, listed: bool) {
        let Some(app) = self.applications.get(&application) else {
            return;
        };
        let (signature, listing) = match (listed, app.listed_key) {
            (true, Some(_)) => (
                self.location_signature(app),
                Some(DelayedCandidate {
                    leaf: app.queue,
                    application,
                }),
            ),
            _ => (None, None),
        };
        if signature.is_some() && signature == app.indexed_signature {
            if app.indexed_leaf != Some(app.queue) {
                // Same names, another leaf (a reconfiguration): the entries follow it.
                let leaf = app.queue;
                for name in &app.indexed_locations {
                    let entries = self
                        .delayed_locations
                        .get_mut(name)
                        .expect("indexed names are in the index");
                    if let Some(entry) = entries
                        .iter_mut()
                        .find(|entry| entry.application == application)
                    {
                        entry.leaf = leaf;
                    }
                }
                self.applications
                    .get_mut(&application)
                    .expect("checked")
                    .indexed_leaf = Some(leaf);
            }
            return;
        }
        let names = match listing {
            Some(_) => self.delayed_location_names(app),
            None => Vec::new(),
        };
        let app = self.applications.get_mut(&application).expect("checked");
        app.indexed_signature = signature;
        app.indexed_leaf = listing.map(|listing| listing.leaf);
        let old = std::mem::replace(&mut app.indexed_locations, names);
        for name in &old {
            self.unlist_location(name, application);
        }
        if let Some(listing) = listing {
            for name in &self.applications[&application].indexed_locations {
                self.delayed_locations
                    .entry(name.clone())
                    .or_default()
                    .push(listing);
            }
        }
    }

    /// After a container on `node` went to the application: takes the node's host and rack out
    /// of its index entries if no request wants them any more (so that passes on them stop
    /// visiting it; the index may hold more names than wanted, never fewer).
    pub(crate) fn unindex_satisfied(&mut self, application: ApplicationId, node: NodeIndex) {
        let Some(app) = self.applications.get(&application) else {
            return;
        };
        if app.indexed_locations.is_empty() {
            return;
        }
        let node = self.nodes.get(node);
        let names = [node.id.host.clone(), node.rack.clone()];
        for name in names {
            let app = &self.applications[&application];
            let Ok(position) = app
                .indexed_locations
                .binary_search_by(|n| (**n).cmp(&*name))
            else {
                continue;
            };
            if app
                .attempt
                .as_ref()
                .is_some_and(|attempt| attempt.asks.wants_location(&name))
            {
                continue;
            }
            self.applications
                .get_mut(&application)
                .expect("checked")
                .indexed_locations
                .remove(position);
            self.unlist_location(&name, application);
        }
    }

    /// Takes the application's entry out of the index under `name`.
    fn unlist_location(&mut self, name: &str, application: ApplicationId) {
        let Some(entries) = self.delayed_locations.get_mut(name) else {
            return;
        };
        if let Some(position) = entries
            .iter()
            .position(|entry| entry.application == application)
        {
            entries.swap_remove(position);
        }
        if entries.is_empty() {
            self.delayed_locations.remove(name);
        }
    }

    /// Delayed applications the node may serve (it is on a host or rack they want), with
    /// their leaves, into `out` (emptied first).
    pub(crate) fn delayed_candidates(&self, node: NodeIndex, out: &mut Vec<DelayedCandidate>) {
        out.clear();
        if self.delayed_locations.is_empty() {
            return;
        }
        let node = self.nodes.get(node);
        for name in [&*node.id.host, &*node.rack] {
            if let Some(entries) = self.delayed_locations.get(name) {
                out.extend_from_slice(entries);
            }
        }
    }

    /// One missed opportunity for each delayed application of `leaf` between two keys (a run
    /// the pass steps over).
    pub(crate) fn charge_delayed_applications(
        &mut self,
        leaf: QueueIndex,
        after: Option<&AppSortKey>,
        before: Option<&AppSortKey>,
    ) {
        if !self.counting_opportunities {
            return;
        }
        self.application_charge_rounds += 1;
        self.queues
            .get_mut(leaf)
            .delayed_applications
            .charge_between(after, before, 1);
    }

    /// One missed opportunity for everything below each delayed child of `parent` between two
    /// keys (owed to the children until they are opened).
    pub(crate) fn charge_delayed_children(
        &mut self,
        parent: QueueIndex,
        after: Option<&QueueSortKey>,
        before: Option<&QueueSortKey>,
    ) {
        if !self.counting_opportunities {
            return;
        }
        self.charge_rounds += 1;
        self.queues
            .get_mut(parent)
            .delayed_children
            .charge_between(after, before, 1);
    }

    /// Pushes the charges owed to `queue` and its ancestors into their own sets, from the top.
    pub(crate) fn open_chain(&mut self, queue: QueueIndex) {
        if self.queues.get(queue).opened_at == self.charge_rounds {
            // Opened since the last charge anywhere: nothing can be owed along the chain.
            return;
        }
        self.queues.get_mut(queue).opened_at = self.charge_rounds;
        let Some(parent) = self.queues.get(queue).parent else {
            return;
        };
        self.open_chain(parent);
        let Some(key) = self.queues.get(queue).delayed_in_parent else {
            return;
        };
        let owed = self
            .queues
            .get_mut(parent)
            .delayed_children
            .take_charges(&key);
        if owed > 0 {
            self.application_charge_rounds += 1;
            let queue = self.queues.get_mut(queue);
            queue.delayed_children.charge_all(owed);
            queue.delayed_applications.charge_all(owed);
        }
    }

    /// Adds the charges a delayed application received to its requests' counts, leaving it
    /// listed; anything that reads or changes its requests' delay state does this first.
    pub(crate) fn settle_application(&mut self, application: ApplicationId) {
        let Some(app) = self.applications.get(&application) else {
            return;
        };
        if !app.delayed {
            return;
        }
        let leaf = app.queue;
        let key = app.listed_key.expect("a delayed application is listed");
        self.open_chain(leaf);
        let app = self.applications.get_mut(&application).expect("checked");
        if app.settled_at == self.application_charge_rounds {
            // Nothing was charged to any application since it last settled.
            return;
        }
        app.settled_at = self.application_charge_rounds;
        let charges = self
            .queues
            .get_mut(leaf)
            .delayed_applications
            .take_charges(&key);
        if charges == 0 {
            return;
        }
        let asks = &mut self
            .applications
            .get_mut(&application)
            .and_then(|app| app.attempt.as_mut())
            .expect("a delayed application has an attempt")
            .asks;
        let open: Vec<_> = asks
            .slots_with_state()
            .filter(|(_, state)| state.open)
            .map(|(slot, _)| slot)
            .collect();
        for slot in open {
            let mut wait = asks.locality_wait(slot);
            wait.offered += charges;
            asks.set_locality_wait(slot, wait);
        }
    }

    /// Charges received and not yet added to the application's counts (read-only).
    pub(crate) fn unsettled_charges(&self, application: ApplicationId) -> u64 {
        let Some(app) = self.applications.get(&application) else {
            return 0;
        };
        let Some(key) = app.listed_key.filter(|_| app.delayed) else {
            return 0;
        };
        let mut charges = self
            .queues
            .get(app.queue)
            .delayed_applications
            .charges_of(&key)
            .unwrap_or(0);
        let mut queue = app.queue;
        while let Some(parent) = self.queues.get(queue).parent {
            if let Some(key) = self.queues.get(queue).delayed_in_parent {
                charges += self
                    .queues
                    .get(parent)
                    .delayed_children
                    .charges_of(&key)
                    .unwrap_or(0);
            }
            queue = parent;
        }
        charges
    }

    /// Settles every delayed application (before sets are rebuilt).
    pub(crate) fn settle_all(&mut self) {
        let mut delayed: Vec<ApplicationId> = self
            .applications
            .values()
            .filter(|app| app.delayed)
            .map(|app| app.id)
            .collect();
        delayed.sort_unstable();
        for application in delayed {
            self.settle_application(application);
        }
    }

    /// The next delayed application of `leaf` after `after` that the pass must visit: one the
    /// node may serve (among `matched`), or one the next charge brings to a deadline.
    pub(crate) fn next_delayed_application(
        &mut self,
        leaf: QueueIndex,
        after: Option<AppSortKey>,
        matched: &mut MatchedKeys<AppSortKey>,
    ) -> Option<AppSortKey> {
        let low = self
            .queues
            .get_mut(leaf)
            .delayed_applications
            .first_with_slack_at_most(after.as_ref(), self.visit_at_slack);
        earliest(low, matched.next_after(after))
    }

    /// The keys of the delayed applications of `leaf` among the candidates.
    pub(crate) fn matched_applications(
        &self,
        leaf: QueueIndex,
        candidates: &[DelayedCandidate],
    ) -> MatchedKeys<AppSortKey> {
        MatchedKeys::new(
            candidates
                .iter()
                .filter(|candidate| candidate.leaf == leaf)
                .filter_map(|candidate| self.applications.get(&candidate.application))
                .filter(|app| app.delayed)
                .filter_map(|app| app.listed_key)
                .collect(),
        )
    }

    /// The next delayed child of `parent` after `after` that the pass must visit: one with an
    /// application the node may serve (among `matched`), or one the next charge brings to a
    /// deadline.
    pub(crate) fn next_delayed_child(
        &mut self,
        parent: QueueIndex,
        after: Option<QueueSortKey>,
        matched: &mut MatchedKeys<QueueSortKey>,
    ) -> Option<QueueSortKey> {
        let low = self
            .queues
            .get_mut(parent)
            .delayed_children
            .first_with_slack_at_most(after.as_ref(), self.visit_at_slack);
        earliest(low, matched.next_after(after))
    }

    /// The keys of `parent`'s delayed children that hold one of the candidates.
    pub(crate) fn matched_children(
        &self,
        parent: QueueIndex,
        candidates: &[DelayedCandidate],
    ) -> MatchedKeys<QueueSortKey> {
        let mut keys = Vec::new();
        for candidate in candidates {
            match self.queues.delayed_place(candidate.leaf) {
                // The common case, read from the compact copy: the leaf is a delayed child.
                Some((leaf_parent, key)) if leaf_parent == parent => keys.push(key),
                _ => keys.extend(
                    self.child_toward(parent, candidate.leaf)
                        .and_then(|child| self.queues.get(child).delayed_in_parent),
                ),
            }
        }
        MatchedKeys::new(keys)
    }

    /// The child of `parent` on the way down to `queue` (None if `queue` is not below it).
    fn child_toward(&self, parent: QueueIndex, queue: QueueIndex) -> Option<QueueIndex> {
        let mut index = queue;
        loop {
            let up = self.queues.get(index).parent?;
            if up == parent {
                return Some(index);
            }
            index = up;
        }
    }
}

impl Scheduler {
    /// The listing of delayed applications and queues (part of `check_invariants`): exactly
    /// the walked applications whose requests all wait for locality elsewhere are delayed, and
    /// exactly the queues below their maximum with only delayed applications below them; each
    /// set records its members' slack net of the charges they received; no member was charged
    /// past a deadline (true slack ≥ 1); the names index lists every delayed application under
    /// the names a node pass may match.
    pub(crate) fn check_delayed_walk(&self) -> Result<(), InvariantViolation> {
        let mut ids: Vec<&ApplicationId> = self.applications.keys().collect();
        ids.sort();
        let mut indexed: Vec<(Box<str>, ApplicationId)> = Vec::new();
        for id in ids {
            let app = &self.applications[id];
            let unsettled = self.unsettled_charges(*id) as i64;
            let fresh = self.waiting_slack(app).map(|slack| slack - unsettled);
            // Listed with more slack than `visit_at_slack`, visited (and so no longer charged
            // in a run) once it is down to it.
            let listable = fresh.is_some_and(|slack| slack > self.visit_at_slack);
            let consistent = if app.delayed {
                app.in_walk && fresh.is_some_and(|slack| slack >= self.visit_at_slack)
            } else {
                !listable
            };
            if !consistent {
                return violation(
                    "applications whose requests all wait elsewhere long enough are delayed",
                    format!("{id}: delayed {}, slack {fresh:?}", app.delayed),
                );
            }
            let Some(fresh) = fresh.filter(|_| app.delayed) else {
                if !app.indexed_locations.is_empty() {
                    return violation("only delayed applications are indexed", id.to_string());
                }
                continue;
            };
            let key = app.listed_key.expect("a delayed application is listed");
            let leaf = self.queues.get(app.queue);
            let recorded = leaf
                .delayed_applications
                .members()
                .into_iter()
                .find(|(member, _, _)| *member == key)
                .map(|(_, slack, _)| slack);
            let owed_above =
                unsettled - leaf.delayed_applications.charges_of(&key).unwrap_or(0) as i64;
            if recorded.map(|slack| slack - owed_above) != Some(fresh) {
                return violation(
                    "delayed applications' slack is current and never spent",
                    format!("{id}: recorded {recorded:?} - {owed_above} owed, fresh {fresh}"),
                );
            }
            // Names placements stopped wanting may stay listed (a node pass then visits the
            // application for nothing); every name it wants must be listed.
            if !self
                .delayed_location_names(app)
                .iter()
                .all(|name| app.indexed_locations.binary_search(name).is_ok())
            {
                return violation("delayed applications are indexed", id.to_string());
            }
            indexed.extend(app.indexed_locations.iter().map(|name| (name.clone(), *id)));
        }
        let mut listed: Vec<(Box<str>, ApplicationId)> = Vec::new();
        for (name, entries) in &self.delayed_locations {
            for entry in entries {
                if self.applications[&entry.application].queue != entry.leaf {
                    return violation("the names index has current leaves", name.to_string());
                }
                listed.push((name.clone(), entry.application));
            }
        }
        listed.sort();
        indexed.sort();
        if listed != indexed {
            return violation("the names index lists exactly the delayed applications", "");
        }
        for (index, queue) in self.queues.iter() {
            let Some(parent) = queue.parent else {
                continue;
            };
            if self.queues.delayed_place(index) != Some(parent).zip(queue.delayed_in_parent) {
                return violation(
                    "the compact copy of delayed places is current",
                    queue.path.clone(),
                );
            }
            let delayed = matches!(self.queue_listing(index), QueueListing::Delayed { .. });
            if delayed != queue.delayed_in_parent.is_some() {
                return violation(
                    "queues with only delayed applications below them are delayed",
                    queue.path.clone(),
                );
            }
            let Some(key) = queue.delayed_in_parent else {
                continue;
            };
            let member = self
                .queues
                .get(parent)
                .delayed_children
                .members()
                .into_iter()
                .find(|(member, _, _)| *member == key);
            if member.is_none_or(|(_, slack, charged)| {
                slack != queue.least_delayed_slack() - charged as i64
            }) {
                return violation("delayed queues' slack is current", queue.path.clone());
            }
        }
        for (_, queue) in self.queues.iter() {
            let children: Vec<QueueSortKey> = queue
                .children
                .iter()
                .filter_map(|&child| self.queues.get(child).delayed_in_parent)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let members: Vec<QueueSortKey> = queue
                .delayed_children
                .members()
                .into_iter()
                .map(|(key, _, _)| key)
                .collect();
            if children != members {
                return violation(
                    "parent sets hold exactly the delayed children",
                    queue.path.clone(),
                );
            }
        }
        Ok(())
    }
}

/// The keys of the delayed entries of one queue that hold candidates, read once per pass through
/// the queue (nothing ahead of the pass changes while it runs): the first asked for with a
/// scan, any later one by binary search.
pub(crate) struct MatchedKeys<K> {
    keys: Vec<K>,
    sorted: bool,
}

impl<K: Ord + Copy> MatchedKeys<K> {
    fn new(keys: Vec<K>) -> Self {
        Self {
            keys,
            sorted: false,
        }
    }

    /// The first key after `after` (the least if None).
    fn next_after(&mut self, after: Option<K>) -> Option<K> {
        let Some(after) = after else {
            return self.keys.iter().min().copied();
        };
        if !self.sorted {
            self.keys.sort_unstable();
            self.sorted = true;
        }
        let position = self.keys.partition_point(|key| *key <= after);
        self.keys.get(position).copied()
    }
}

/// The smaller of two optional keys.
pub(crate) fn earliest<K: Ord>(a: Option<K>, b: Option<K>) -> Option<K> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
