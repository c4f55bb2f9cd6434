//! The RM's node records ([`RmNodes`]): stored inline in fixed-size chunks and found by id
//! through a hash table of slot numbers, so that a node costs its record and a few bytes of
//! index (no allocation per node, no copy of its id as a map key, no capacity doubling).
//!
//! A lost or shut-down node keeps its record for reports until the RM forgets it
//! ([`RmNodes::remove`] moves the last record into its slot); a node that registers again
//! replaces its record in place. Iteration is in slot order; reports that the RM answers in id
//! order use [`RmNodes::sorted`].

use std::hash::BuildHasher;

use spindle_types::NodeId;

use super::RmNode;

/// Records per chunk: 128 records of ~150 B are one ~19 KB allocation.
const CHUNK: usize = 128;

#[derive(Debug, Default)]
pub(crate) struct RmNodes {
    chunks: Vec<Box<[Option<RmNode>]>>,
    len: usize,
    by_id: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl RmNodes {
    fn slot(&self, slot: u32) -> &RmNode {
        let slot = slot as usize;
        self.chunks[slot / CHUNK][slot % CHUNK]
            .as_ref()
            .expect("slots below len hold a node")
    }

    fn slot_mut(&mut self, slot: u32) -> &mut RmNode {
        let slot = slot as usize;
        self.chunks[slot / CHUNK][slot % CHUNK]
            .as_mut()
            .expect("slots below len hold a node")
    }

    fn find(&self, id: &NodeId) -> Option<u32> {
        self.by_id
            .find(self.hasher.hash_one(id), |&slot| self.slot(slot).id == *id)
            .copied()
    }

    pub(crate) fn contains_key(&self, id: &NodeId) -> bool {
        self.find(id).is_some()
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<&RmNode> {
        self.find(id).map(|slot| self.slot(slot))
    }

    pub(crate) fn get_mut(&mut self, id: &NodeId) -> Option<&mut RmNode> {
        self.find(id).map(|slot| self.slot_mut(slot))
    }

    /// Adds `node`, or replaces the record of the node with its id.
    pub(crate) fn insert(&mut self, node: RmNode) {
        if let Some(slot) = self.find(&node.id) {
            *self.slot_mut(slot) = node;
            return;
        }
        if self.len == self.chunks.len() * CHUNK {
            self.chunks.push(
                (0..CHUNK)
                    .map(|_| None)
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
        }
        let slot = u32::try_from(self.len).expect("fewer than 2^32 nodes");
        let hash = self.hasher.hash_one(&node.id);
        self.chunks[self.len / CHUNK][self.len % CHUNK] = Some(node);
        self.len += 1;
        let Self {
            chunks,
            by_id,
            hasher,
            ..
        } = self;
        by_id.insert_unique(hash, slot, |&slot| {
            let slot = slot as usize;
            let node = chunks[slot / CHUNK][slot % CHUNK].as_ref();
            hasher.hash_one(&node.expect("slots below len hold a node").id)
        });
    }

    /// Forgets the record of `id` (the last record takes its slot); returns it.
    pub(crate) fn remove(&mut self, id: &NodeId) -> Option<RmNode> {
        let slot = self.find(id)?;
        let hash = self.hasher.hash_one(id);
        if let Ok(entry) = self.by_id.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        let last = u32::try_from(self.len - 1).expect("fewer than 2^32 nodes");
        let last_index = last as usize;
        let moved = self.chunks[last_index / CHUNK][last_index % CHUNK].take();
        self.len -= 1;
        if slot == last {
            return moved;
        }
        let moved = moved.expect("slots below len hold a node");
        let moved_hash = self.hasher.hash_one(&moved.id);
        if let Some(index) = self.by_id.find_mut(moved_hash, |&s| s == last) {
            *index = slot;
        }
        let index = slot as usize;
        self.chunks[index / CHUNK][index % CHUNK].replace(moved)
    }

    /// Every record, in slot order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &RmNode> + Clone {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter())
            .take(self.len)
            .flatten()
    }

    /// Every record, in slot order, mutably.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut RmNode> {
        self.chunks
            .iter_mut()
            .flat_map(|chunk| chunk.iter_mut())
            .take(self.len)
            .flatten()
    }

    /// Every record, in id order.
    pub(crate) fn sorted(&self) -> Vec<&RmNode> {
        let mut nodes: Vec<&RmNode> = self.values().collect();
        nodes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        nodes
    }

    /// Checks the id index against the records (for `check_invariants`).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.values().count() != self.len || self.by_id.len() != self.len {
            return Err(format!(
                "{} node records, {} indexed by id",
                self.len,
                self.by_id.len()
            ));
        }
        for node in self.values() {
            match self.find(&node.id) {
                Some(slot) if std::ptr::eq(self.slot(slot), node) => {}
                _ => return Err(format!("node {} is missing from the id index", node.id)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use spindle_types::states::NodeState;
    use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

    use super::*;

    fn node(host: &str, port: i32, memory_mb: i64) -> RmNode {
        let shared: Arc<str> = Arc::from("/default-rack");
        RmNode::new(
            NodeId::new(host, port),
            8042,
            shared.clone(),
            Resource::new(memory_mb, 1),
            NodeState::Running,
            shared,
            (0, 0),
        )
    }

    #[test]
    fn finds_replaces_and_sorts_records_across_chunks() {
        let mut nodes = RmNodes::default();
        for number in (0..300).rev() {
            nodes.insert(node(&format!("h{number:03}"), 1, 8));
        }
        nodes.insert(node("h007", 1, 16));
        nodes.insert(node("h007", 2, 32));
        nodes.check().unwrap();
        assert_eq!(nodes.values().count(), 301);
        let h007 = NodeId::new("h007", 1);
        assert_eq!(nodes.get_mut(&h007).unwrap().capability.memory_mb, 16);
        assert!(nodes.contains_key(&NodeId::new("h007", 2)));
        assert!(!nodes.contains_key(&NodeId::new("h007", 3)));
        let sorted: Vec<NodeId> = nodes.sorted().iter().map(|n| n.id.clone()).collect();
        assert!(sorted.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(sorted[0], NodeId::new("h000", 1));
    }

    #[test]
    fn removed_records_are_forgotten_and_the_others_still_found() {
        let mut nodes = RmNodes::default();
        for number in 0..300 {
            nodes.insert(node(&format!("h{number:03}"), 1, 8));
        }
        // The last, one in another chunk, the first, one not there.
        for host in ["h299", "h007", "h000", "h150"] {
            let gone = nodes.remove(&NodeId::new(host, 1)).unwrap();
            assert_eq!(gone.id, NodeId::new(host, 1));
            assert!(!nodes.contains_key(&NodeId::new(host, 1)));
            nodes.check().unwrap();
        }
        assert!(nodes.remove(&NodeId::new("h007", 1)).is_none());
        assert_eq!(nodes.values().count(), 296);
        for number in [1, 8, 149, 151, 298] {
            let id = NodeId::new(format!("h{number:03}").as_str(), 1);
            assert_eq!(nodes.get(&id).unwrap().id, id);
        }
        // A node that comes back gets a record again.
        nodes.insert(node("h007", 1, 16));
        nodes.check().unwrap();
        assert_eq!(nodes.values().count(), 297);
    }

    #[test]
    fn cleanup_and_health_report_live_out_of_line_only_while_set() {
        let mut n = node("h", 1, 8);
        let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);
        let container = ContainerId::new(attempt, 0, 1);
        assert_eq!(n.take_cleanup(), (vec![], vec![], vec![]));
        n.cleanup_container(container);
        n.cleanup_container(container);
        n.cleanup_application(attempt.application_id);
        n.remove_completed(container);
        n.remove_completed(container);
        assert_eq!(n.containers_to_cleanup(), &[container]);
        assert_eq!(
            n.take_cleanup(),
            (
                vec![container],
                vec![attempt.application_id],
                vec![container]
            )
        );
        assert!(n.messages.is_none());
        n.set_health_report("disk full");
        n.cleanup_container(container);
        n.clear_container_cleanup();
        assert_eq!(n.health_report(), "disk full");
        assert!(n.containers_to_cleanup().is_empty());
        n.set_health_report("");
        assert!(n.messages.is_none());
    }
}
