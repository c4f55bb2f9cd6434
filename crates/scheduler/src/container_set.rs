//! A set of container ids with constant-time insert and remove: the live containers of a node
//! or an application. Iteration order is unspecified; [`ContainerSet::sorted`] gives id order
//! where an order is observable (reports, completions when a node or application goes,
//! preemption's choice).

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

    pub(crate) fn is_empty(&self) -> bool {
        self.containers.is_empty()
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
    }
}
