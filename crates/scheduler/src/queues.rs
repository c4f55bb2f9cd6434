//! The queue tree: paths, configured shares, and usage charged up the chain of parents.
//!
//! The FIFO policy has `root` with one leaf, `root.default`; the Capacity and Fair policies will
//! build deeper trees from their configuration.

use spindle_types::Resource;

/// A queue's position in the [`QueueTree`].
pub(crate) type QueueIndex = usize;

#[derive(Debug, Clone)]
pub(crate) struct SchedulerQueue {
    /// Full dotted path, `root.default`.
    pub(crate) path: String,
    /// Last path element, `default`.
    pub(crate) name: String,
    pub(crate) parent: Option<QueueIndex>,
    pub(crate) children: Vec<QueueIndex>,
    /// Configured share of the parent, 0.0 to 1.0.
    pub(crate) capacity: f32,
    pub(crate) maximum_capacity: f32,
    pub(crate) used: Resource,
    pub(crate) num_applications: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct QueueTree {
    queues: Vec<SchedulerQueue>,
}

pub(crate) const ROOT_QUEUE: &str = "root";
pub(crate) const DEFAULT_QUEUE: &str = "default";

impl QueueTree {
    /// `root` and its single leaf `root.default`, each with the whole cluster.
    pub(crate) fn single_default_queue() -> Self {
        let queue = |path: String, name: &str, parent, children| SchedulerQueue {
            path,
            name: name.to_string(),
            parent,
            children,
            capacity: 1.0,
            maximum_capacity: 1.0,
            used: Resource::ZERO,
            num_applications: 0,
        };
        Self {
            queues: vec![
                queue(ROOT_QUEUE.to_string(), ROOT_QUEUE, None, vec![1]),
                queue(
                    format!("{ROOT_QUEUE}.{DEFAULT_QUEUE}"),
                    DEFAULT_QUEUE,
                    Some(0),
                    vec![],
                ),
            ],
        }
    }

    pub(crate) fn get(&self, index: QueueIndex) -> &SchedulerQueue {
        &self.queues[index]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (QueueIndex, &SchedulerQueue)> {
        self.queues.iter().enumerate()
    }

    /// A queue by full path, or by its last element when that names exactly one queue.
    pub(crate) fn find(&self, path_or_name: &str) -> Option<QueueIndex> {
        if let Some(index) = self.queues.iter().position(|q| q.path == path_or_name) {
            return Some(index);
        }
        let mut by_name = self
            .queues
            .iter()
            .enumerate()
            .filter(|(_, q)| q.name == path_or_name);
        match (by_name.next(), by_name.next()) {
            (Some((index, _)), None) => Some(index),
            _ => None,
        }
    }

    /// The leaf queue an application submitted to `path_or_name` goes to (empty means `default`).
    pub(crate) fn resolve_leaf(&self, path_or_name: &str) -> Option<QueueIndex> {
        let wanted = if path_or_name.is_empty() {
            DEFAULT_QUEUE
        } else {
            path_or_name
        };
        self.find(wanted)
            .filter(|&index| self.queues[index].children.is_empty())
    }

    fn chain(&self, leaf: QueueIndex) -> impl Iterator<Item = QueueIndex> + '_ {
        std::iter::successors(Some(leaf), |&index| self.queues[index].parent)
    }

    pub(crate) fn charge(&mut self, leaf: QueueIndex, resource: &Resource) {
        for index in self.chain(leaf).collect::<Vec<_>>() {
            self.queues[index].used.add_assign(resource);
        }
    }

    pub(crate) fn refund(&mut self, leaf: QueueIndex, resource: &Resource) {
        for index in self.chain(leaf).collect::<Vec<_>>() {
            self.queues[index].used.sub_assign(resource);
        }
    }

    pub(crate) fn application_added(&mut self, leaf: QueueIndex) {
        for index in self.chain(leaf).collect::<Vec<_>>() {
            self.queues[index].num_applications += 1;
        }
    }

    pub(crate) fn application_removed(&mut self, leaf: QueueIndex) {
        for index in self.chain(leaf).collect::<Vec<_>>() {
            self.queues[index].num_applications -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(tree.find("root"), Some(0));
    }

    #[test]
    fn usage_is_charged_to_every_ancestor() {
        let mut tree = QueueTree::single_default_queue();
        tree.charge(1, &Resource::new(1024, 1));
        tree.charge(1, &Resource::new(2048, 1));
        tree.refund(1, &Resource::new(1024, 1));
        assert_eq!(tree.get(0).used, Resource::new(2048, 1));
        assert_eq!(tree.get(1).used, Resource::new(2048, 1));
    }
}
