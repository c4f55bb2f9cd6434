//! Sets of container ids: the live containers of an application ([`ContainerSet`], hashed:
//! an application may hold thousands) and of a node ([`NodeContainers`], a short vector: a node
//! holds tens, and a linear scan of them beats hashing). Iteration order is unspecified;
//! `sorted` gives id order where an order is observable (reports, completions when a node or
//! application goes, preemption's choice).

use spindle_types::ContainerId;

use crate::fast_hash::FastSet;

#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerSet {
    containers: FastSet<ContainerId>,
}

impl ContainerSet {
    pub(crate) fn insert(&mut self, container: ContainerId) -> bool {
        self.containers.insert(container)
    }

    pub(crate) fn remove(&mut self, container: &ContainerId) -> bool {
        self.containers.remove(container)
    }

    pub(crate) fn len(&self) -> usize {
        self.containers.len()
    }

    /// The containers in no particular order (for sums and checks).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &ContainerId> {
        self.containers.iter()
    }

    /// The containers in id order (oldest of an attempt first).
    pub(crate) fn sorted(&self) -> Vec<ContainerId> {
        let mut containers: Vec<ContainerId> = self.containers.iter().copied().collect();
        containers.sort_unstable();
        containers
    }
}

/// The containers of one node.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeContainers {
    containers: Vec<ContainerId>,
}

impl NodeContainers {
    /// Adds a container the node does not hold yet.
    pub(crate) fn insert(&mut self, container: ContainerId) {
        debug_assert!(!self.containers.contains(&container), "{container} twice");
        self.containers.push(container);
    }

    pub(crate) fn remove(&mut self, container: &ContainerId) -> bool {
        match self.containers.iter().position(|held| held == container) {
            Some(position) => {
                self.containers.swap_remove(position);
                true
            }
            None => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.containers.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    /// The containers in id order.
    pub(crate) fn sorted(&self) -> Vec<ContainerId> {
        let mut containers = self.containers.clone();
        containers.sort_unstable();
        containers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    #[test]
    fn sorted_lists_in_id_order_whatever_the_insertion_order() {
        let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);
        let mut set = ContainerSet::default();
        for sequence in [5, 1, 9, 3] {
            assert!(set.insert(ContainerId::new(attempt, 0, sequence)));
        }
        assert!(
            !set.insert(ContainerId::new(attempt, 0, 9)),
            "already there"
        );
        assert!(set.remove(&ContainerId::new(attempt, 0, 1)));
        let sequences: Vec<i64> = set.sorted().iter().map(|c| c.sequence()).collect();
        assert_eq!(sequences, vec![3, 5, 9]);
        assert_eq!(set.len(), 3);
        let mut node = NodeContainers::default();
        for sequence in [5, 1, 9, 3] {
            node.insert(ContainerId::new(attempt, 0, sequence));
        }
        assert!(node.remove(&ContainerId::new(attempt, 0, 1)));
        assert!(!node.remove(&ContainerId::new(attempt, 0, 1)));
        let sequences: Vec<i64> = node.sorted().iter().map(|c| c.sequence()).collect();
        assert_eq!(sequences, vec![3, 5, 9]);
        assert_eq!(node.len(), 3);
    }
}
