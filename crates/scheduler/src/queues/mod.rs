//! The queue tree: paths, resolved settings, absolute limits, usage charged up the chain of
//! parents, per-user accounting in leaves, and the ordered sets of schedulable children and
//! applications each queue offers room to.
//!
//! FIFO has `root` with one leaf, `root.default`; the Capacity and Fair policies build their trees
//! from configuration (`build.rs`), and the Fair policy adds leaves at placement time.

mod build;
pub(crate) mod settings;

use std::collections::{BTreeMap, BTreeSet};

use spindle_types::Resource;

use crate::charge_set::ChargeSet;
use crate::fast_hash::FastMap;
use crate::ordering::{AppSortKey, QueueSortKey};
use crate::resource_ops::InlineArithmetic;
use settings::QueueSettings;

/// A queue's slot in the [`QueueTree`]; reused after a dynamic queue is removed.
pub(crate) type QueueIndex = usize;

/// The root queue is always slot 0.
pub(crate) const ROOT: QueueIndex = 0;
pub(crate) const ROOT_QUEUE: &str = "root";
pub(crate) const DEFAULT_QUEUE: &str = "default";

/// One user's share of a leaf queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueueUser {
    pub(crate) used: Resource,
    pub(crate) am_used: Resource,
    pub(crate) applications: usize,
    pub(crate) runnable_applications: usize,
    /// Applications with requests the scheduler may serve; a user with any is "active".
    pub(crate) schedulable_applications: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct SchedulerQueue {
    /// Full dotted path, `root.default`.
    pub(crate) path: String,
    /// Last path element, `default`.
    pub(crate) name: String,
    pub(crate) parent: Option<QueueIndex>,
    pub(crate) children: Vec<QueueIndex>,
    /// Leaves take applications; a parent declared without children is not a leaf.
    pub(crate) is_leaf: bool,
    /// Created by placement rather than configuration (Fair policy); removed when empty.
    pub(crate) dynamic: bool,
    pub(crate) settings: QueueSettings,
    /// Guaranteed resources for the current cluster (Capacity: capacity; Fair: minResources).
    pub(crate) guaranteed: Resource,
    /// Resources the queue may never exceed for the current cluster.
    pub(crate) maximum: Resource,
    /// Fair policy: the share by weight over all queues (YARN's steady fair share).
    pub(crate) steady_fair_share: Resource,
    pub(crate) used: Resource,
    pub(crate) am_used: Resource,
    /// Outstanding requests of the subtree's applications (count x capability).
    pub(crate) pending: Resource,
    pub(crate) num_applications: usize,
    pub(crate) num_runnable: usize,
    /// Parents: children with a schedulable application below them, in offer order.
    pub(crate) schedulable_children: BTreeSet<QueueSortKey>,
    /// Parents: the entries of `schedulable_children` (same keys) whose queue is open to a walk
    /// within shares (`Scheduler::queue_closed_to_shares`): what such a walk visits.
    pub(crate) open_children: BTreeSet<QueueSortKey>,
    /// Leaves: applications with a placeable request, in offer order (the walk).
    pub(crate) schedulable_applications: BTreeSet<AppSortKey>,
    /// Leaves: schedulable applications none of whose requests is placeable yet, in the same
    /// order; not walked.
    pub(crate) waiting_applications: BTreeSet<AppSortKey>,
    /// Parents: children whose every walked application waits for locality elsewhere, charged
    /// their missed opportunities without being visited (`delayed_walk.rs`).
    pub(crate) delayed_children: ChargeSet<QueueSortKey>,
    /// Leaves: walked applications whose every placeable request waits for locality
    /// elsewhere (`delayed_walk.rs`), in the same order as the walk.
    pub(crate) delayed_applications: ChargeSet<AppSortKey>,
    /// The key its parent's `schedulable_children` lists it under, while it is there (behind
    /// `order_key` while it is moved).
    pub(crate) key_in_parent: Option<QueueSortKey>,
    /// The key its parent's `delayed_children` lists it under, while it is there (always its
    /// current key).
    pub(crate) delayed_in_parent: Option<QueueSortKey>,
    /// `Scheduler::charge_rounds` when the charges owed to it were last pushed down.
    pub(crate) opened_at: u64,
    /// Its key changed since it was listed (see `order_keys.rs`).
    pub(crate) moved: bool,
    /// This queue's current key in its parent's order, in the walk or not (None for the root
    /// and until first computed).
    pub(crate) order_key: Option<QueueSortKey>,
    /// Leaves: users with applications here.
    pub(crate) users: BTreeMap<String, QueueUser>,
    pub(crate) active_users: usize,
    /// Leaves: the sum of `used` over the active users (the Capacity user limit shares it).
    pub(crate) active_used: Resource,
    /// Capacity leaves: what the user limit never falls below (see `user_limit_floor`).
    pub(crate) user_limit_floor: Option<Resource>,
    /// What the subtree may hold with immediate grants (`entitlements/`).
    pub(crate) entitlement: crate::entitlements::Entitlement,
    /// Fair policy: since when the queue has been below its min share with demand.
    pub(crate) min_share_starved_since: Option<i64>,
    /// Fair policy: since when the queue has been below its fair share threshold.
    pub(crate) fair_share_starved_since: Option<i64>,
}

impl SchedulerQueue {
    fn new(
        path: String,
        parent: Option<QueueIndex>,
        is_leaf: bool,
        dynamic: bool,
        settings: QueueSettings,
    ) -> Self {
        let name = path.rsplit('.').next().unwrap_or(&path).to_string();
        Self {
            path,
            name,
            parent,
            children: Vec::new(),
            is_leaf,
            dynamic,
            settings,
            guaranteed: Resource::ZERO,
            maximum: crate::calculator::unbounded(),
            steady_fair_share: Resource::ZERO,
            used: Resource::ZERO,
            am_used: Resource::ZERO,
            pending: Resource::ZERO,
            num_applications: 0,
            num_runnable: 0,
            schedulable_children: BTreeSet::new(),
            open_children: BTreeSet::new(),
            schedulable_applications: BTreeSet::new(),
            waiting_applications: BTreeSet::new(),
            delayed_children: ChargeSet::default(),
            delayed_applications: ChargeSet::default(),
            key_in_parent: None,
            delayed_in_parent: None,
            opened_at: 0,
            moved: false,
            order_key: None,
            users: BTreeMap::new(),
            active_users: 0,
            entitlement: crate::entitlements::Entitlement::ZERO,
            active_used: Resource::ZERO,
            user_limit_floor: None,
            min_share_starved_since: None,
            fair_share_starved_since: None,
        }
    }

    /// Whether anything below this queue is walked by node passes (it is in one of its
    /// parent's sets).
    pub(crate) fn is_schedulable(&self) -> bool {
        self.has_walked_members() || self.has_delayed_members()
    }

    /// Whether something below this queue is visited by every node pass that reaches it.
    pub(crate) fn has_walked_members(&self) -> bool {
        !self.schedulable_children.is_empty() || !self.schedulable_applications.is_empty()
    }

    /// Whether something below this queue waits for locality elsewhere.
    pub(crate) fn has_delayed_members(&self) -> bool {
        !self.delayed_children.is_empty() || !self.delayed_applications.is_empty()
    }

    /// The least slack below this queue (see `charge_set.rs`).
    pub(crate) fn least_delayed_slack(&self) -> i64 {
        self.delayed_children
            .least_slack()
            .min(self.delayed_applications.least_slack())
    }

    /// used + pending.
    pub(crate) fn demand(&self) -> Resource {
        self.used.add(&self.pending)
    }

    /// The user's account in this leaf, created empty (without allocating when it exists).
    pub(crate) fn user_account(&mut self, user: &str) -> &mut QueueUser {
        if !self.users.contains_key(user) {
            self.users.insert(user.to_string(), QueueUser::default());
        }
        self.users.get_mut(user).expect("inserted above")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct QueueTree {
    slots: Vec<Option<SchedulerQueue>>,
    vacant: Vec<QueueIndex>,
    by_path: FastMap<String, QueueIndex>,
    /// Live queues depth first from the root (children in creation order), kept with the tree.
    order: Vec<QueueIndex>,
    /// By queue index, its parent and `delayed_in_parent` while it is listed there: a compact
    /// copy node passes read for every candidate without touching the queue records.
    delayed_places: Vec<Option<(QueueIndex, QueueSortKey)>>,
}

impl QueueTree {
    fn with_root(settings: QueueSettings) -> Self {
        let root = SchedulerQueue::new(ROOT_QUEUE.to_string(), None, false, false, settings);
        Self {
            slots: vec![Some(root)],
            vacant: Vec::new(),
            by_path: FastMap::from_iter([(ROOT_QUEUE.to_string(), ROOT)]),
            order: vec![ROOT],
            delayed_places: Vec::new(),
        }
    }

    fn refresh_order(&mut self) {
        let mut order = Vec::with_capacity(self.by_path.len());
        let mut stack = vec![ROOT];
        while let Some(index) = stack.pop() {
            order.push(index);
            stack.extend(self.get(index).children.iter().rev());
        }
        self.order = order;
    }

    /// Adds a queue under `parent` (which becomes a parent if it was a leaf without apps).
    pub(crate) fn add(
        &mut self,
        parent: QueueIndex,
        name: &str,
        is_leaf: bool,
        dynamic: bool,
        settings: QueueSettings,
    ) -> QueueIndex {
        let path = format!("{}.{name}", self.get(parent).path);
        debug_assert!(!self.by_path.contains_key(&path), "{path} added twice");
        let queue = SchedulerQueue::new(path.clone(), Some(parent), is_leaf, dynamic, settings);
        let index = match self.vacant.pop() {
            Some(index) => {
                self.slots[index] = Some(queue);
                index
            }
            None => {
                self.slots.push(Some(queue));
                self.slots.len() - 1
            }
        };
        self.by_path.insert(path, index);
        let parent_queue = self.get_mut(parent);
        parent_queue.children.push(index);
        parent_queue.is_leaf = false;
        self.refresh_order();
        index
    }

    /// Removes a queue that holds no application and no child.
    pub(crate) fn remove(&mut self, index: QueueIndex) {
        let queue = self.slots[index].take().expect("removing a live queue");
        if let Some(place) = self.delayed_places.get_mut(index) {
            *place = None;
        }
        debug_assert!(queue.children.is_empty() && queue.num_applications == 0);
        self.by_path.remove(&queue.path);
        if let Some(parent) = queue.parent {
            self.get_mut(parent)
                .children
                .retain(|&child| child != index);
        }
        self.vacant.push(index);
        self.refresh_order();
    }

    /// Lists the queue among its parent's delayed children under `key` (or not, with None);
    /// returns the key it was listed under.
    pub(crate) fn set_delayed_in_parent(
        &mut self,
        index: QueueIndex,
        key: Option<QueueSortKey>,
    ) -> Option<QueueSortKey> {
        let queue = self.get_mut(index);
        let old = std::mem::replace(&mut queue.delayed_in_parent, key);
        let place = queue.parent.zip(key);
        if self.delayed_places.len() <= index {
            self.delayed_places.resize(index + 1, None);
        }
        self.delayed_places[index] = place;
        old
    }

    /// The queue's parent and its key among the parent's delayed children, while it is listed
    /// there.
    pub(crate) fn delayed_place(&self, index: QueueIndex) -> Option<(QueueIndex, QueueSortKey)> {
        self.delayed_places.get(index).copied().flatten()
    }

    pub(crate) fn get(&self, index: QueueIndex) -> &SchedulerQueue {
        self.slots[index]
            .as_ref()
            .expect("queue index refers to a live queue")
    }

    pub(crate) fn get_mut(&mut self, index: QueueIndex) -> &mut SchedulerQueue {
        self.slots[index]
            .as_mut()
            .expect("queue index refers to a live queue")
    }

    /// Queue slots, live or vacant (indexes are below this).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn is_live(&self, index: QueueIndex) -> bool {
        self.slots.get(index).is_some_and(Option::is_some)
    }

    /// Live queues, parents before children.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (QueueIndex, &SchedulerQueue)> {
        self.order.iter().map(|&index| (index, self.get(index)))
    }

    /// Every live queue, depth first from the root, children in creation order.
    pub(crate) fn depth_first(&self) -> &[QueueIndex] {
        &self.order
    }

    /// A queue by full path, by path below root (`dev.eng`), or by its last element when that
    /// names exactly one queue.
    pub(crate) fn find(&self, path_or_name: &str) -> Option<QueueIndex> {
        if let Some(&index) = self.by_path.get(path_or_name) {
            return Some(index);
        }
        if let Some(&index) = self.by_path.get(&format!("{ROOT_QUEUE}.{path_or_name}")) {
            return Some(index);
        }
        let mut by_name = self
            .iter()
            .filter(|(_, queue)| queue.name == path_or_name)
            .map(|(index, _)| index);
        match (by_name.next(), by_name.next()) {
            (Some(index), None) => Some(index),
            _ => None,
        }
    }

    /// The queue at exactly this full path.
    pub(crate) fn find_path(&self, path: &str) -> Option<QueueIndex> {
        self.by_path.get(path).copied()
    }

    /// The leaf queue an application submitted to `path_or_name` goes to (empty means `default`).
    pub(crate) fn resolve_leaf(&self, path_or_name: &str) -> Option<QueueIndex> {
        let wanted = if path_or_name.is_empty() {
            DEFAULT_QUEUE
        } else {
            path_or_name
        };
        self.find(wanted).filter(|&index| self.get(index).is_leaf)
    }

    /// The queue and its ancestors, leaf first.
    pub(crate) fn chain(&self, queue: QueueIndex) -> impl Iterator<Item = QueueIndex> + '_ {
        std::iter::successors(Some(queue), |&index| self.get(index).parent)
    }

    /// The chain as a vector (for loops that mutate the tree).
    pub(crate) fn chain_vec(&self, queue: QueueIndex) -> Vec<QueueIndex> {
        self.chain(queue).collect()
    }

    /// Leaves below `queue` (itself if a leaf).
    pub(crate) fn leaves_under(&self, queue: QueueIndex) -> Vec<QueueIndex> {
        let mut leaves = Vec::new();
        let mut stack = vec![queue];
        while let Some(index) = stack.pop() {
            let q = self.get(index);
            if q.is_leaf {
                leaves.push(index);
            }
            stack.extend(q.children.iter().rev());
        }
        leaves
    }

    /// Applies `change` to the queue and each of its ancestors, leaf first.
    fn for_chain(&mut self, leaf: QueueIndex, mut change: impl FnMut(&mut SchedulerQueue)) {
        let mut next = Some(leaf);
        while let Some(index) = next {
            let queue = self.get_mut(index);
            change(queue);
            next = queue.parent;
        }
    }

    pub(crate) fn charge(
        &mut self,
        leaf: QueueIndex,
        user: &str,
        resource: &Resource,
        is_am: bool,
    ) {
        self.for_chain(leaf, |queue| {
            queue.used.add_inline(resource);
            if is_am {
                queue.am_used.add_inline(resource);
            }
        });
        let queue = self.get_mut(leaf);
        let account = queue.user_account(user);
        account.used.add_inline(resource);
        if is_am {
            account.am_used.add_inline(resource);
        }
        if account.schedulable_applications > 0 {
            queue.active_used.add_inline(resource);
        }
    }

    pub(crate) fn refund(
        &mut self,
        leaf: QueueIndex,
        user: &str,
        resource: &Resource,
        is_am: bool,
    ) {
        self.for_chain(leaf, |queue| {
            queue.used.sub_inline(resource);
            if is_am {
                queue.am_used.sub_inline(resource);
            }
        });
        let queue = self.get_mut(leaf);
        if let Some(account) = queue.users.get_mut(user) {
            account.used.sub_inline(resource);
            if is_am {
                account.am_used.sub_inline(resource);
            }
            if account.schedulable_applications > 0 {
                queue.active_used.sub_inline(resource);
            }
        }
    }

    /// Adds `delta` (which may be negative) to the pending resources of the chain.
    pub(crate) fn add_pending(&mut self, leaf: QueueIndex, delta: &Resource) {
        self.for_chain(leaf, |queue| queue.pending.add_inline(delta));
    }

    pub(crate) fn application_added(&mut self, leaf: QueueIndex, user: &str) {
        for index in self.chain_vec(leaf) {
            self.get_mut(index).num_applications += 1;
        }
        self.get_mut(leaf).user_account(user).applications += 1;
    }

    pub(crate) fn application_removed(&mut self, leaf: QueueIndex, user: &str) {
        for index in self.chain_vec(leaf) {
            self.get_mut(index).num_applications -= 1;
        }
        let queue = self.get_mut(leaf);
        if let Some(account) = queue.users.get_mut(user) {
            account.applications -= 1;
            if account.applications == 0 && account.used.is_zero() {
                queue.users.remove(user);
            }
        }
    }

    pub(crate) fn set_runnable(&mut self, leaf: QueueIndex, user: &str, runnable: bool) {
        for index in self.chain_vec(leaf) {
            let queue = self.get_mut(index);
            if runnable {
                queue.num_runnable += 1;
            } else {
                queue.num_runnable -= 1;
            }
        }
        if let Some(account) = self.get_mut(leaf).users.get_mut(user) {
            if runnable {
                account.runnable_applications += 1;
            } else {
                account.runnable_applications -= 1;
            }
        }
    }

    /// Dynamic queues without applications or children, deepest first, up from `leaf`.
    pub(crate) fn removable_dynamic_chain(&self, leaf: QueueIndex) -> Vec<QueueIndex> {
        let mut removable = Vec::new();
        for index in self.chain(leaf) {
            let queue = self.get(index);
            let children_left = queue
                .children
                .iter()
                .filter(|child| !removable.contains(*child))
                .count();
            if !queue.dynamic || queue.num_applications > 0 || children_left > 0 {
                break;
            }
            removable.push(index);
        }
        removable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fair::config::FairSchedulerConfig;

    #[test]
    fn default_queue_resolves_by_name_path_or_empty() {
        let tree = QueueTree::single_default_queue();
        for name in ["default", "root.default", ""] {
            assert_eq!(tree.resolve_leaf(name), Some(1), "{name:?}");
        }
        assert_eq!(
            tree.resolve_leaf("root"),
            None,
            "a parent queue takes no application"
        );
        assert_eq!(tree.resolve_leaf("prod"), None);
        assert_eq!(tree.find("root"), Some(ROOT));
    }

    #[test]
    fn usage_is_charged_to_every_ancestor_and_the_user() {
        let mut tree = QueueTree::single_default_queue();
        tree.charge(1, "alice", &Resource::new(1024, 1), true);
        tree.charge(1, "alice", &Resource::new(2048, 1), false);
        tree.refund(1, "alice", &Resource::new(1024, 1), true);
        for index in [ROOT, 1] {
            assert_eq!(tree.get(index).used, Resource::new(2048, 1));
            assert_eq!(tree.get(index).am_used, Resource::ZERO);
        }
        assert_eq!(tree.get(1).users["alice"].used, Resource::new(2048, 1));
    }

    #[test]
    fn dynamic_queues_come_and_go_with_their_parents() {
        let config = FairSchedulerConfig::default();
        let mut tree =
            QueueTree::for_policy(&crate::config::SchedulingPolicy::Fair(config.clone()));
        assert!(tree.can_create_leaf("root.team.alice"));
        assert!(
            !tree.can_create_leaf("root.default.alice"),
            "default is a leaf"
        );
        assert!(!tree.can_create_leaf("other.alice"));
        let leaf = tree.add_dynamic_leaf("root.team.alice", &config).unwrap();
        assert_eq!(tree.find("team.alice"), Some(leaf));
        assert_eq!(tree.depth_first().len(), 4);
        assert_eq!(
            tree.add_dynamic_leaf("root.team", &config),
            None,
            "now a parent"
        );
        tree.application_added(leaf, "alice");
        assert!(
            tree.removable_dynamic_chain(leaf).is_empty(),
            "it holds an application"
        );
        tree.application_removed(leaf, "alice");
        let removable = tree.removable_dynamic_chain(leaf);
        assert_eq!(removable.len(), 2, "the leaf and its dynamic parent");
        for index in removable {
            tree.remove(index);
        }
        assert_eq!(tree.find("team"), None);
        assert_eq!(tree.depth_first(), &[ROOT, 1]);
    }
}
