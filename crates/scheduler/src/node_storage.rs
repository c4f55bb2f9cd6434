//! Where the [`NodeTable`](crate::nodes::NodeTable) keeps its nodes: records in fixed-size
//! chunks ([`NodeSlots`]), and one hash table from a host to its nodes ([`HostIndex`]).
//!
//! Both are about memory per node. Chunks hold the records inline (no allocation per node, no
//! capacity doubling: at most one partly used chunk is spare). The host index stores only
//! node indexes, hashed by the node's own host string; the nodes of one host are chained
//! through [`SchedulerNode::next_on_host`] in registration order, and a lookup by id walks that
//! chain comparing ports (a host runs one NodeManager, rarely a few).

use std::hash::BuildHasher;

use crate::fast_hash::FastHasher;
use crate::nodes::{NodeIndex, SchedulerNode};

/// The end of a host's chain of nodes.
pub(crate) const NO_NODE: NodeIndex = NodeIndex::MAX;

/// Records per chunk: 128 records of ~200 B are one ~24 KB allocation.
const CHUNK: usize = 128;

/// Node records by [`NodeIndex`], in chunks of [`CHUNK`] slots.
#[derive(Debug, Default)]
pub(crate) struct NodeSlots {
    chunks: Vec<Box<[Option<SchedulerNode>]>>,
    /// Slots handed out (occupied or vacant); the rest of the last chunk is spare.
    len: usize,
}

impl NodeSlots {
    /// A new vacant slot at the end.
    pub(crate) fn push_vacant(&mut self) -> NodeIndex {
        if self.len == self.chunks.len() * CHUNK {
            self.chunks.push(
                (0..CHUNK)
                    .map(|_| None)
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
        }
        self.len += 1;
        NodeIndex::try_from(self.len - 1).expect("fewer than 2^32 - 1 node slots")
    }

    pub(crate) fn slot_mut(&mut self, index: NodeIndex) -> &mut Option<SchedulerNode> {
        let index = index as usize;
        assert!(index < self.len, "node slot {index} out of range");
        &mut self.chunks[index / CHUNK][index % CHUNK]
    }

    pub(crate) fn get(&self, index: NodeIndex) -> Option<&SchedulerNode> {
        let index = index as usize;
        if index >= self.len {
            return None;
        }
        self.chunks[index / CHUNK][index % CHUNK].as_ref()
    }

    pub(crate) fn get_mut(&mut self, index: NodeIndex) -> Option<&mut SchedulerNode> {
        let index = index as usize;
        if index >= self.len {
            return None;
        }
        self.chunks[index / CHUNK][index % CHUNK].as_mut()
    }

    /// The node in `index`. Panics on a vacant slot.
    pub(crate) fn node(&self, index: NodeIndex) -> &SchedulerNode {
        self.get(index)
            .expect("node index refers to a registered node")
    }

    pub(crate) fn node_mut(&mut self, index: NodeIndex) -> &mut SchedulerNode {
        self.get_mut(index)
            .expect("node index refers to a registered node")
    }

    /// Occupied slots in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeIndex, &SchedulerNode)> {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter())
            .take(self.len)
            .enumerate()
            .filter_map(|(i, slot)| slot.as_ref().map(|node| (i as NodeIndex, node)))
    }
}

fn hash(host: &str) -> u64 {
    std::hash::BuildHasherDefault::<FastHasher>::default().hash_one(host)
}

/// Hosts to the first of their nodes (the rest follow [`SchedulerNode::next_on_host`]).
#[derive(Debug, Default)]
pub(crate) struct HostIndex {
    heads: hashbrown::HashTable<NodeIndex>,
}

impl HostIndex {
    /// The first node registered on `host`.
    pub(crate) fn first(&self, slots: &NodeSlots, host: &str) -> Option<NodeIndex> {
        self.heads
            .find(hash(host), |&head| *slots.node(head).id.host == *host)
            .copied()
    }

    /// The nodes on `host` in registration order.
    pub(crate) fn on_host<'a>(
        &self,
        slots: &'a NodeSlots,
        host: &str,
    ) -> impl Iterator<Item = NodeIndex> + 'a {
        std::iter::successors(self.first(slots, host), move |&index| {
            Some(slots.node(index).next_on_host).filter(|&next| next != NO_NODE)
        })
    }

    /// Adds the (stored) node in `index` at the end of its host's chain.
    pub(crate) fn link(&mut self, slots: &mut NodeSlots, index: NodeIndex) {
        slots.node_mut(index).next_on_host = NO_NODE;
        let host = slots.node(index).id.host.clone();
        let hash = hash(&host);
        match self
            .heads
            .find(hash, |&head| slots.node(head).id.host == host)
        {
            Some(&head) => {
                let mut last = head;
                while slots.node(last).next_on_host != NO_NODE {
                    last = slots.node(last).next_on_host;
                }
                slots.node_mut(last).next_on_host = index;
            }
            None => {
                self.heads
                    .insert_unique(hash, index, |&head| self::hash(&slots.node(head).id.host));
            }
        }
    }

    /// Takes the (still stored) node in `index` out of its host's chain.
    pub(crate) fn unlink(&mut self, slots: &mut NodeSlots, index: NodeIndex) {
        let next = slots.node(index).next_on_host;
        let host = slots.node(index).id.host.clone();
        let Ok(entry) = self
            .heads
            .find_entry(hash(&host), |&head| slots.node(head).id.host == host)
        else {
            debug_assert!(false, "unlinking a node whose host is not indexed");
            return;
        };
        if *entry.get() == index {
            if next == NO_NODE {
                entry.remove();
            } else {
                *entry.into_mut() = next;
            }
            return;
        }
        let mut previous = *entry.get();
        while slots.node(previous).next_on_host != index {
            previous = slots.node(previous).next_on_host;
            assert_ne!(
                previous, NO_NODE,
                "unlinking a node missing from its host's chain"
            );
        }
        slots.node_mut(previous).next_on_host = next;
    }

    /// Hosts indexed.
    pub(crate) fn hosts(&self) -> usize {
        self.heads.len()
    }

    /// Every host's chain, for `check_indexes`: (first node, nodes on the chain).
    pub(crate) fn chains<'a>(
        &'a self,
        slots: &'a NodeSlots,
    ) -> impl Iterator<Item = Vec<NodeIndex>> + 'a {
        self.heads.iter().map(move |&head| {
            std::iter::successors(Some(head), |&index| {
                Some(slots.node(index).next_on_host).filter(|&next| next != NO_NODE)
            })
            .collect()
        })
    }
}
