//! Building the queue tree from a policy's configuration, adding the Fair policy's dynamic
//! queues, and resolving every queue's absolute guarantee, maximum and steady fair share for the
//! current cluster.

use spindle_types::Resource;

use crate::calculator::{scale_down, unbounded};
use crate::capacity::config::{CapacityQueueConfig, CapacitySchedulerConfig, CapacityValue};
use crate::config::SchedulingPolicy;
use crate::fair::config::{FairQueueConfig, FairSchedulerConfig, MaxResources};
use crate::fair_shares::{distribute, ShareEntry};
use crate::queues::settings::QueueSettings;
use crate::queues::{QueueIndex, QueueTree, DEFAULT_QUEUE, ROOT};

impl QueueTree {
    /// `root` and its single leaf `root.default`, each with the whole cluster.
    pub(crate) fn single_default_queue() -> Self {
        let mut tree = Self::with_root(QueueSettings::unlimited());
        tree.add(ROOT, DEFAULT_QUEUE, true, false, QueueSettings::unlimited());
        tree
    }

    pub(crate) fn for_policy(policy: &SchedulingPolicy) -> Self {
        match policy {
            SchedulingPolicy::Fifo => Self::single_default_queue(),
            SchedulingPolicy::Capacity(config) => Self::capacity(config),
            SchedulingPolicy::Fair(config) => Self::fair(config),
        }
    }

    fn capacity(config: &CapacitySchedulerConfig) -> Self {
        let mut tree = Self::with_root(QueueSettings::capacity(&config.root, config, 1.0));
        fn add_children(
            tree: &mut QueueTree,
            parent: QueueIndex,
            queue: &CapacityQueueConfig,
            config: &CapacitySchedulerConfig,
            parent_fraction: f64,
        ) {
            for child in &queue.children {
                let fraction = match child.capacity {
                    CapacityValue::Percent(percent) => parent_fraction * percent / 100.0,
                    CapacityValue::Absolute(_) => 1.0,
                };
                let settings = QueueSettings::capacity(child, config, fraction);
                let index = tree.add(parent, &child.name, child.is_leaf(), false, settings);
                add_children(tree, index, child, config, fraction);
            }
        }
        add_children(&mut tree, ROOT, &config.root, config, 1.0);
        tree
    }

    fn fair(config: &FairSchedulerConfig) -> Self {
        let root_settings = QueueSettings::fair(Some(&config.root), config, None, false);
        let mut tree = Self::with_root(root_settings);
        fn add_children(
            tree: &mut QueueTree,
            parent: QueueIndex,
            queue: &FairQueueConfig,
            config: &FairSchedulerConfig,
        ) {
            for child in &queue.children {
                let settings = QueueSettings::fair(
                    Some(child),
                    config,
                    Some(&tree.get(parent).settings),
                    !child.is_parent(),
                );
                let index = tree.add(parent, &child.name, !child.is_parent(), false, settings);
                add_children(tree, index, child, config);
            }
        }
        add_children(&mut tree, ROOT, &config.root, config);
        tree
    }

    /// Whether [`Self::add_dynamic_leaf`] would succeed for `path`.
    pub(crate) fn can_create_leaf(&self, path: &str) -> bool {
        if let Some(index) = self.find_path(path) {
            return self.get(index).is_leaf;
        }
        let Some(rest) = path.strip_prefix("root.") else {
            return false;
        };
        let names: Vec<&str> = rest.split('.').collect();
        if names.iter().any(|name| name.is_empty()) {
            return false;
        }
        let mut current = crate::queues::ROOT;
        for name in names {
            match self.find_path(&format!("{}.{name}", self.get(current).path)) {
                Some(child) => current = child,
                None => return current == crate::queues::ROOT || !self.get(current).is_leaf,
            }
        }
        false
    }

    /// Fair policy: the leaf at `path` (`root.a.b`), creating it and any missing parent as
    /// dynamic queues. None when a prefix is a leaf or the path itself is a parent.
    pub(crate) fn add_dynamic_leaf(
        &mut self,
        path: &str,
        config: &FairSchedulerConfig,
    ) -> Option<QueueIndex> {
        if let Some(index) = self.find_path(path) {
            return self.get(index).is_leaf.then_some(index);
        }
        let mut parts = path.split('.');
        if parts.next() != Some(crate::queues::ROOT_QUEUE) {
            return None;
        }
        let names: Vec<&str> = parts.collect();
        if names.is_empty() || names.iter().any(|name| name.is_empty()) {
            return None;
        }
        // Check first, so that a refused path creates nothing.
        let mut current = ROOT;
        let mut existing = 0;
        for name in &names {
            let child_path = format!("{}.{name}", self.get(current).path);
            match self.find_path(&child_path) {
                Some(child) => {
                    current = child;
                    existing += 1;
                }
                None => break,
            }
        }
        if self.get(current).is_leaf && current != ROOT {
            return None;
        }
        for (position, name) in names.iter().enumerate().skip(existing) {
            let is_leaf = position == names.len() - 1;
            let configured = config
                .root
                .find(&format!("{}.{name}", self.get(current).path));
            let settings = QueueSettings::fair(
                configured,
                config,
                Some(&self.get(current).settings),
                is_leaf,
            );
            current = self.add(current, name, is_leaf, true, settings);
        }
        Some(current)
    }

    /// Recomputes every queue's guarantee, maximum and (Fair) steady fair share for `cluster`.
    pub(crate) fn resolve_limits(&mut self, cluster: &Resource, policy: &SchedulingPolicy) {
        let order = self.depth_first().to_vec();
        for &index in &order {
            let (guaranteed, maximum) = match (policy, self.get(index).parent) {
                (_, None) => (cluster.clone(), cluster.clone()),
                (SchedulingPolicy::Fifo, Some(_)) => (cluster.clone(), unbounded()),
                (SchedulingPolicy::Capacity(_), Some(parent)) => {
                    let parent = self.get(parent);
                    let settings = &self.get(index).settings;
                    (
                        capacity_of(&settings.capacity, &parent.guaranteed),
                        capacity_of(&settings.maximum_capacity, &parent.maximum),
                    )
                }
                (SchedulingPolicy::Fair(_), Some(_)) => {
                    let settings = &self.get(index).settings;
                    let maximum = match &settings.max_resources {
                        None => unbounded(),
                        Some(MaxResources::Absolute(resource)) => resource.clone(),
                        Some(MaxResources::Percent { memory, vcores }) => Resource::new(
                            scale_down(&Resource::new(cluster.memory_mb, 0), memory / 100.0)
                                .memory_mb,
                            scale_down(&Resource::new(0, cluster.vcores), vcores / 100.0).vcores,
                        ),
                    };
                    (settings.min_resources.clone(), maximum)
                }
            };
            let queue = self.get_mut(index);
            queue.guaranteed = guaranteed;
            queue.maximum = maximum;
        }
        if matches!(policy, SchedulingPolicy::Fair(_)) {
            self.resolve_steady_fair_shares(cluster);
        }
    }

    /// YARN's steady fair share: each parent's share divided among all its children by weight,
    /// within their min and max resources, per resource type.
    fn resolve_steady_fair_shares(&mut self, cluster: &Resource) {
        self.get_mut(ROOT).steady_fair_share = cluster.clone();
        for index in self.depth_first().to_vec() {
            let children = self.get(index).children.clone();
            if children.is_empty() {
                continue;
            }
            let shares = self.divide_among(index, &children, |_| true);
            for (child, share) in children.into_iter().zip(shares) {
                self.get_mut(child).steady_fair_share = share;
            }
        }
    }

    /// Divides `parent`'s steady share (or `total`, see [`Self::divide_total`]) among
    /// `children` that pass `include`, memory and vcores separately; others get nothing.
    fn divide_among(
        &self,
        parent: QueueIndex,
        children: &[QueueIndex],
        include: impl Fn(QueueIndex) -> bool,
    ) -> Vec<Resource> {
        self.divide_total(&self.get(parent).steady_fair_share, children, include)
    }

    /// Divides `total` among the `children` that pass `include`, by weight, within their
    /// guarantees and maximums (memory and vcores separately).
    pub(crate) fn divide_total(
        &self,
        total: &Resource,
        children: &[QueueIndex],
        include: impl Fn(QueueIndex) -> bool,
    ) -> Vec<Resource> {
        let included: Vec<QueueIndex> = children.iter().copied().filter(|&c| include(c)).collect();
        let per_type = |value: fn(&Resource) -> i64| -> Vec<f64> {
            let entries: Vec<ShareEntry> = included
                .iter()
                .map(|&child| {
                    let queue = self.get(child);
                    ShareEntry {
                        weight: queue.settings.weight,
                        min: value(&queue.guaranteed) as f64,
                        max: value(&queue.maximum) as f64,
                    }
                })
                .collect();
            distribute(value(total) as f64, &entries)
        };
        let memory = per_type(|r| r.memory_mb);
        let vcores = per_type(|r| r.vcores);
        // `included` is `children` filtered in order: walk both at once.
        let mut next = 0;
        children
            .iter()
            .map(|child| {
                if included.get(next) == Some(child) {
                    next += 1;
                    Resource::new(
                        memory[next - 1].round() as i64,
                        vcores[next - 1].round() as i64,
                    )
                } else {
                    Resource::ZERO
                }
            })
            .collect()
    }
}

/// A Capacity Scheduler capacity resolved against the parent's resources.
fn capacity_of(value: &CapacityValue, parent: &Resource) -> Resource {
    match value {
        CapacityValue::Percent(percent) => scale_down(parent, percent / 100.0),
        CapacityValue::Absolute(resource) => resource.clone(),
    }
}
