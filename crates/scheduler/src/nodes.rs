//! The cluster's nodes and the indexes placement searches: by id, by host, by rack, by free resources.
//!
//! Placement never scans every node: candidates come from a host's node list, or from a rack's
//! (or the cluster's) nodes ordered by available memory, largest first, where the search stops at
//! the first node with too little memory.
//!
//! A cluster with a single rack (every cluster without a topology script) keeps one
//! free-resource index: the rack's is the cluster's. Per-rack indexes exist from the second rack.
//!
//! The free-resource indexes are brought up to date lazily: a node whose room changed is only
//! marked, and [`NodeTable::flush_free_index`] moves it before the next search (and at the end
//! of every event). A container that finishes and is replaced on the same node within one event,
//! the steady state of a busy cluster, then costs no index update at all.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use spindle_types::{ContainerId, NodeId, Resource};

use crate::container_set::NodeContainers;
use crate::counted_values::CountedValues;
use crate::fast_hash::FastMap;
use crate::node_storage::{HostIndex, NodeSlots, NO_NODE};
use crate::reservations::Reservation;
use crate::resource_ops::InlineArithmetic;

/// A node's slot in the [`NodeTable`]; reused after the node is removed.
pub(crate) type NodeIndex = u32;

#[derive(Debug, Clone)]
pub(crate) struct SchedulerNode {
    pub(crate) id: NodeId,
    /// Shared with its [`Rack`] entry (one string per rack, not per node).
    pub(crate) rack: Arc<str>,
    /// The rack's slot in the table's rack list.
    rack_id: u32,
    /// The next node on the same host ([`NO_NODE`] for the last).
    pub(crate) next_on_host: NodeIndex,
    /// The node's key in the free-resource indexes (as of the last flush); its ordinal is the
    /// node's order of registration, which breaks ties between equally free nodes.
    indexed: FreeKey,
    /// Its room changed since the last flush.
    dirty: bool,
    pub(crate) capability: Resource,
    pub(crate) allocated: Resource,
    /// `capability - allocated`; negative only on a node whose capability was lowered below its use.
    pub(crate) available: Resource,
    pub(crate) containers: NodeContainers,
    /// A request this node is held for: its room goes to nobody else until it fits. Boxed: few
    /// nodes are held at any time.
    pub(crate) reservation: Option<Box<Reservation>>,
    /// The RM stopped hearing from it ([`crate::SchedulerEvent::NodeReachability`]): no new
    /// container goes there until it is heard from again; what runs there stays.
    pub(crate) unreachable: bool,
}

/// Sort key of a node in a free-resource index: most available memory, then vcores, first,
/// then the earliest registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FreeKey {
    memory: Reverse<i64>,
    vcores: Reverse<i64>,
    /// Order of registration (renumbered, order kept, when the counter runs out).
    ordinal: u32,
    pub(crate) index: NodeIndex,
}

impl FreeKey {
    fn of(node: &SchedulerNode, index: NodeIndex) -> Self {
        Self {
            memory: Reverse(node.available.memory_mb),
            vcores: Reverse(node.available.vcores),
            ordinal: node.indexed.ordinal,
            index,
        }
    }
}

/// A rack: its nodes by available resources.
#[derive(Debug, Default)]
struct Rack {
    name: Arc<str>,
    /// Empty while the cluster has one rack (the cluster's index serves it).
    by_free: BTreeSet<FreeKey>,
    nodes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct NodeTable {
    slots: NodeSlots,
    vacant: Vec<NodeIndex>,
    /// By host; by id through the host's chain.
    hosts: HostIndex,
    racks: Vec<Rack>,
    rack_ids: FastMap<String, u32>,
    vacant_racks: Vec<u32>,
    by_free: BTreeSet<FreeKey>,
    /// Nodes whose room changed since the last flush.
    dirty: Vec<NodeIndex>,
    free_vcores: CountedValues,
    capability_memory: CountedValues,
    capability_vcores: CountedValues,
    total: Resource,
    allocated: Resource,
    reserved: Resource,
    next_ordinal: u32,
    count: usize,
}

impl NodeTable {
    pub(crate) fn lookup(&self, id: &NodeId) -> Option<NodeIndex> {
        self.hosts
            .on_host(&self.slots, &id.host)
            .find(|&index| self.slots.node(index).id.port == id.port)
    }

    /// The node in `index`. Panics on a vacant slot: indexes come from this table's own lookups.
    pub(crate) fn get(&self, index: NodeIndex) -> &SchedulerNode {
        self.slots.node(index)
    }

    pub(crate) fn is_live(&self, index: NodeIndex) -> bool {
        self.slots.get(index).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn total(&self) -> &Resource {
        &self.total
    }

    pub(crate) fn allocated(&self) -> &Resource {
        &self.allocated
    }

    /// Sum of the capabilities of the requests nodes are reserved for.
    pub(crate) fn reserved(&self) -> &Resource {
        &self.reserved
    }

    /// Holds the node for a request (None releases it); returns what it was held for.
    pub(crate) fn set_reservation(
        &mut self,
        index: NodeIndex,
        reservation: Option<Reservation>,
    ) -> Option<Reservation> {
        if let Some(new) = &reservation {
            self.reserved.add_assign(&new.capability);
        }
        let node = self.slots.node_mut(index);
        let old = std::mem::replace(&mut node.reservation, reservation.map(Box::new));
        if let Some(old) = &old {
            self.reserved.sub_assign(&old.capability);
        }
        old.map(|old| *old)
    }

    /// Registered nodes in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeIndex, &SchedulerNode)> {
        self.slots.iter()
    }

    /// Nodes whose NodeManager runs on `host` (several NMs may share a host), in registration order.
    pub(crate) fn on_host<'a>(&'a self, host: &str) -> impl Iterator<Item = NodeIndex> + 'a {
        self.hosts.on_host(&self.slots, host)
    }

    /// True while one rack holds every node: its index is the cluster's.
    fn single_rack(&self) -> bool {
        self.rack_ids.len() <= 1
    }

    /// The nodes of `rack`, most available memory first (as of the last flush); None for a
    /// rack with no node.
    pub(crate) fn rack_by_free(&self, rack: &str) -> Option<&BTreeSet<FreeKey>> {
        debug_assert!(self.dirty.is_empty(), "searching an index not flushed");
        let id = *self.rack_ids.get(rack)?;
        if self.single_rack() {
            return Some(&self.by_free);
        }
        Some(&self.racks[id as usize].by_free)
    }

    /// Whether `name` is a rack some node registered in.
    pub(crate) fn is_rack(&self, name: &str) -> bool {
        self.rack_ids.contains_key(name)
    }

    /// All nodes, most available memory first (as of the last flush).
    pub(crate) fn cluster_by_free(&self) -> &BTreeSet<FreeKey> {
        debug_assert!(self.dirty.is_empty(), "searching an index not flushed");
        &self.by_free
    }

    /// False when no node has the memory or the vcores for `capability` (as of the last flush):
    /// a search of a full cluster ends here.
    pub(crate) fn any_may_fit(&self, capability: &Resource) -> bool {
        debug_assert!(self.dirty.is_empty(), "searching an index not flushed");
        self.by_free
            .first()
            .is_some_and(|freest| freest.memory.0 >= capability.memory_mb)
            && self
                .free_vcores
                .largest()
                .is_some_and(|largest| largest >= capability.vcores)
    }

    /// Moves every node whose room changed to its place in the free-resource indexes.
    pub(crate) fn flush_free_index(&mut self) {
        let per_rack = !self.single_rack();
        for index in std::mem::take(&mut self.dirty) {
            let Some(node) = self.slots.get_mut(index) else {
                continue;
            };
            node.dirty = false;
            let key = FreeKey::of(node, index);
            let old = std::mem::replace(&mut node.indexed, key);
            if old == key {
                continue;
            }
            self.by_free.remove(&old);
            self.by_free.insert(key);
            if per_rack {
                let rack = &mut self.racks[node.rack_id as usize].by_free;
                rack.remove(&old);
                rack.insert(key);
            }
            if old.vcores != key.vcores {
                self.free_vcores.remove(old.vcores.0);
                self.free_vcores.insert(key.vcores.0);
            }
        }
    }

    /// Per component, the largest node capability (None without nodes).
    pub(crate) fn largest_capability(&self) -> Option<(i64, i64)> {
        Some((
            self.capability_memory.largest()?,
            self.capability_vcores.largest()?,
        ))
    }

    /// Per component, the smallest node capability (None without nodes).
    pub(crate) fn smallest_capability(&self) -> Option<(i64, i64)> {
        Some((
            self.capability_memory.smallest()?,
            self.capability_vcores.smallest()?,
        ))
    }

    /// The next registration's ordinal. When the counter runs out, the live nodes are
    /// renumbered in their order (ties between equally free nodes break as before).
    fn take_ordinal(&mut self) -> u32 {
        if self.next_ordinal == u32::MAX {
            self.renumber_ordinals();
        }
        self.next_ordinal += 1;
        self.next_ordinal - 1
    }

    fn renumber_ordinals(&mut self) {
        let mut order: Vec<(u32, NodeIndex)> = self
            .slots
            .iter()
            .map(|(index, node)| (node.indexed.ordinal, index))
            .collect();
        order.sort_unstable();
        for (ordinal, (_, index)) in order.into_iter().enumerate() {
            self.slots.node_mut(index).indexed.ordinal = ordinal as u32;
        }
        self.next_ordinal = self.count as u32;
        self.by_free = self.slots.iter().map(|(_, node)| node.indexed).collect();
        let per_rack = !self.single_rack();
        for rack in &mut self.racks {
            rack.by_free.clear();
        }
        if per_rack {
            for (_, node) in self.slots.iter() {
                self.racks[node.rack_id as usize]
                    .by_free
                    .insert(node.indexed);
            }
        }
    }

    /// The rack's slot, added if new.
    fn rack_slot(&mut self, rack: String) -> u32 {
        if let Some(&id) = self.rack_ids.get(rack.as_str()) {
            return id;
        }
        let entry = Rack {
            name: Arc::from(rack.as_str()),
            ..Rack::default()
        };
        let id = match self.vacant_racks.pop() {
            Some(id) => {
                self.racks[id as usize] = entry;
                id
            }
            None => {
                self.racks.push(entry);
                (self.racks.len() - 1) as u32
            }
        };
        if self.rack_ids.len() == 1 {
            // The second rack: the first gets an index of its own (it holds every node).
            let first = *self.rack_ids.values().next().expect("one rack");
            self.racks[first as usize].by_free = self.by_free.clone();
        }
        self.rack_ids.insert(rack, id);
        id
    }

    pub(crate) fn add(&mut self, id: NodeId, rack: String, capability: Resource) -> NodeIndex {
        debug_assert!(self.lookup(&id).is_none());
        let index = match self.vacant.pop() {
            Some(index) => index,
            None => self.slots.push_vacant(),
        };
        let rack_id = self.rack_slot(rack);
        self.racks[rack_id as usize].nodes += 1;
        let ordinal = self.take_ordinal();
        let mut node = SchedulerNode {
            id,
            rack: self.racks[rack_id as usize].name.clone(),
            rack_id,
            next_on_host: NO_NODE,
            indexed: FreeKey {
                memory: Reverse(0),
                vcores: Reverse(0),
                ordinal,
                index,
            },
            dirty: false,
            available: capability.clone(),
            allocated: Resource::ZERO,
            capability,
            containers: NodeContainers::default(),
            reservation: None,
            unreachable: false,
        };
        node.indexed = FreeKey::of(&node, index);
        self.total.add_assign(&node.capability);
        self.capability_memory.insert(node.capability.memory_mb);
        self.capability_vcores.insert(node.capability.vcores);
        self.by_free.insert(node.indexed);
        if !self.single_rack() {
            self.racks[rack_id as usize].by_free.insert(node.indexed);
        }
        self.free_vcores.insert(node.indexed.vcores.0);
        *self.slots.slot_mut(index) = Some(node);
        self.hosts.link(&mut self.slots, index);
        self.count += 1;
        index
    }

    /// Removes a node that holds no container.
    pub(crate) fn remove(&mut self, index: NodeIndex) -> SchedulerNode {
        self.hosts.unlink(&mut self.slots, index);
        let node = self
            .slots
            .slot_mut(index)
            .take()
            .expect("removing a registered node");
        debug_assert!(
            node.containers.is_empty(),
            "containers must complete before their node goes"
        );
        if let Some(reservation) = &node.reservation {
            self.reserved.sub_assign(&reservation.capability);
        }
        self.by_free.remove(&node.indexed);
        self.free_vcores.remove(node.indexed.vcores.0);
        let rack = &mut self.racks[node.rack_id as usize];
        rack.by_free.remove(&node.indexed);
        rack.nodes -= 1;
        if rack.nodes == 0 {
            self.rack_ids.remove(&*rack.name);
            *rack = Rack::default();
            self.vacant_racks.push(node.rack_id);
            if self.rack_ids.len() == 1 {
                // One rack left: the cluster's index serves it.
                let last = *self.rack_ids.values().next().expect("one rack");
                self.racks[last as usize].by_free = BTreeSet::new();
            }
        }
        if node.dirty {
            self.dirty.retain(|&dirty| dirty != index);
        }
        self.total.sub_assign(&node.capability);
        self.allocated.sub_assign(&node.allocated);
        self.capability_memory.remove(node.capability.memory_mb);
        self.capability_vcores.remove(node.capability.vcores);
        self.vacant.push(index);
        self.count -= 1;
        node
    }

    /// Marks the node reachable or not (no index depends on it).
    pub(crate) fn set_unreachable(&mut self, index: NodeIndex, unreachable: bool) {
        self.slots.node_mut(index).unreachable = unreachable;
    }

    pub(crate) fn set_capability(&mut self, index: NodeIndex, capability: Resource) {
        let (old_memory, old_vcores) = {
            let node = self.get(index);
            (node.capability.memory_mb, node.capability.vcores)
        };
        self.capability_memory.remove(old_memory);
        self.capability_vcores.remove(old_vcores);
        self.capability_memory.insert(capability.memory_mb);
        self.capability_vcores.insert(capability.vcores);
        let mut total = std::mem::take(&mut self.total);
        self.update(index, |node| {
            total.sub_assign(&node.capability);
            total.add_assign(&capability);
            node.available = capability.sub(&node.allocated);
            node.capability = capability;
        });
        self.total = total;
    }

    /// Records a container on the node; returns the node.
    pub(crate) fn allocate(
        &mut self,
        index: NodeIndex,
        resource: &Resource,
        container: ContainerId,
    ) -> &SchedulerNode {
        self.allocated.add_inline(resource);
        self.update(index, |node| {
            node.allocated.add_inline(resource);
            node.available.sub_inline(resource);
            node.containers.insert(container);
        });
        self.get(index)
    }

    /// Forgets a container of the node; returns the node.
    pub(crate) fn release(
        &mut self,
        index: NodeIndex,
        resource: &Resource,
        container: ContainerId,
    ) -> &SchedulerNode {
        self.allocated.sub_inline(resource);
        self.update(index, |node| {
            node.allocated.sub_inline(resource);
            node.available.add_inline(resource);
            node.containers.remove(&container);
        });
        self.get(index)
    }

    /// The first node of `candidates` (a free-resource index) whose available resources fit
    /// `capability` and that `accept`s. Stops at the first node with too little memory.
    pub(crate) fn find_fit(
        &self,
        candidates: &BTreeSet<FreeKey>,
        capability: &Resource,
        mut accept: impl FnMut(&SchedulerNode, NodeIndex) -> bool,
    ) -> Option<NodeIndex> {
        if self
            .free_vcores
            .largest()
            .is_none_or(|largest| largest < capability.vcores)
        {
            return None;
        }
        for key in candidates {
            if key.memory.0 < capability.memory_mb {
                return None;
            }
            let node = self.get(key.index);
            if node.available.fits_inline(capability) && accept(node, key.index) {
                return Some(key.index);
            }
        }
        None
    }

    fn update(&mut self, index: NodeIndex, change: impl FnOnce(&mut SchedulerNode)) {
        let node = self.slots.node_mut(index);
        change(node);
        if !node.dirty {
            node.dirty = true;
            self.dirty.push(index);
        }
    }

    /// Checks every index against the nodes themselves (for `check_invariants`).
    pub(crate) fn check_indexes(&self) -> Result<(), String> {
        let mut total = Resource::ZERO;
        let mut allocated = Resource::ZERO;
        let mut reserved = Resource::ZERO;
        if !self.dirty.is_empty() {
            return Err(format!(
                "{} nodes not flushed to the free index",
                self.dirty.len()
            ));
        }
        let mut free = BTreeSet::new();
        let mut racks: BTreeMap<String, BTreeSet<FreeKey>> = BTreeMap::new();
        let mut ordinals = BTreeSet::new();
        for (index, node) in self.iter() {
            total.add_assign(&node.capability);
            allocated.add_assign(&node.allocated);
            if let Some(reservation) = &node.reservation {
                reserved.add_assign(&reservation.capability);
            }
            let key = FreeKey::of(node, index);
            if key != node.indexed {
                return Err(format!(
                    "node {} is indexed with old free resources",
                    node.id
                ));
            }
            if node.indexed.ordinal >= self.next_ordinal || !ordinals.insert(node.indexed.ordinal) {
                return Err(format!("node {} has a reused ordinal", node.id));
            }
            free.insert(key);
            racks.entry(node.rack.to_string()).or_default().insert(key);
            if self.lookup(&node.id) != Some(index) {
                return Err(format!("node {} is missing from the id index", node.id));
            }
        }
        let live = self.iter().count();
        if self.count != live {
            return Err(format!("count {} for {live} nodes", self.count));
        }
        let mut chained = 0;
        for chain in self.hosts.chains(&self.slots) {
            let host = &self.get(chain[0]).id.host;
            let in_order = chain
                .windows(2)
                .all(|pair| self.get(pair[0]).indexed.ordinal < self.get(pair[1]).indexed.ordinal);
            if chain.iter().any(|&index| self.get(index).id.host != *host) || !in_order {
                return Err(format!(
                    "the host index's chain of {host} holds other hosts or is out of order"
                ));
            }
            chained += chain.len();
        }
        if chained != live || self.hosts.hosts() > live {
            return Err(format!("the host index chains {chained} of {live} nodes"));
        }
        let indexed_racks: BTreeMap<String, BTreeSet<FreeKey>> = self
            .rack_ids
            .keys()
            .map(|name| {
                let set = self.rack_by_free(name).expect("an indexed rack");
                (name.clone(), set.clone())
            })
            .collect();
        let rack_counts_agree = self.rack_ids.iter().all(|(name, &id)| {
            let rack = &self.racks[id as usize];
            *rack.name == **name && rack.nodes == racks.get(name).map_or(0, BTreeSet::len)
        });
        let shared_when_single =
            !self.single_rack() || self.racks.iter().all(|rack| rack.by_free.is_empty());
        if free != self.by_free
            || racks != indexed_racks
            || !rack_counts_agree
            || !shared_when_single
        {
            return Err(
                "the free-resource index does not match the nodes' available resources".into(),
            );
        }
        if reserved != self.reserved {
            return Err(format!(
                "reserved total {} differs from the sum over nodes {reserved}",
                self.reserved
            ));
        }
        if total != self.total || allocated != self.allocated {
            return Err(format!(
                "cluster totals {} / {} differ from the sum over nodes {total} / {allocated}",
                self.total, self.allocated
            ));
        }
        let nodes = || self.iter().map(|(_, node)| node);
        if CountedValues::from_values(nodes().map(|n| n.available.vcores)) != self.free_vcores
            || CountedValues::from_values(nodes().map(|n| n.capability.memory_mb))
                != self.capability_memory
            || CountedValues::from_values(nodes().map(|n| n.capability.vcores))
                != self.capability_vcores
        {
            return Err("the vcore and capability multisets do not match the nodes".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    fn node(host: &str, port: i32) -> NodeId {
        NodeId::new(host, port)
    }

    fn order(table: &NodeTable) -> Vec<NodeIndex> {
        table
            .cluster_by_free()
            .iter()
            .map(|key| key.index)
            .collect()
    }

    #[test]
    fn hosts_chain_their_nodes_in_registration_order_and_ids_find_them() {
        let mut table = NodeTable::default();
        let a = table.add(node("h1", 1), "/r".into(), Resource::new(8, 8));
        let b = table.add(node("h2", 1), "/r".into(), Resource::new(8, 8));
        let c = table.add(node("h1", 2), "/r".into(), Resource::new(8, 8));
        let d = table.add(node("h1", 3), "/r".into(), Resource::new(8, 8));
        assert_eq!(table.on_host("h1").collect::<Vec<_>>(), vec![a, c, d]);
        assert_eq!(table.lookup(&node("h1", 2)), Some(c));
        assert_eq!(table.lookup(&node("h1", 4)), None);
        assert_eq!(table.lookup(&node("h3", 1)), None);
        table.remove(c);
        assert_eq!(table.on_host("h1").collect::<Vec<_>>(), vec![a, d]);
        table.remove(a);
        assert_eq!(table.on_host("h1").collect::<Vec<_>>(), vec![d]);
        let e = table.add(node("h1", 5), "/r".into(), Resource::new(8, 8));
        assert_eq!(table.on_host("h1").collect::<Vec<_>>(), vec![d, e]);
        table.remove(d);
        table.remove(e);
        assert_eq!(table.on_host("h1").count(), 0);
        assert_eq!(table.lookup(&node("h2", 1)), Some(b));
        table.check_indexes().unwrap();
    }

    #[test]
    fn racks_get_an_index_of_their_own_from_the_second_rack_on() {
        let mut table = NodeTable::default();
        let a = table.add(node("a", 1), "/r1".into(), Resource::new(8, 8));
        let b = table.add(node("b", 1), "/r1".into(), Resource::new(16, 8));
        table.check_indexes().unwrap();
        let c = table.add(node("c", 1), "/r2".into(), Resource::new(32, 8));
        table.check_indexes().unwrap();
        let rack = |table: &NodeTable, name| -> Vec<NodeIndex> {
            table
                .rack_by_free(name)
                .unwrap()
                .iter()
                .map(|key| key.index)
                .collect()
        };
        assert_eq!(rack(&table, "/r1"), vec![b, a]);
        assert_eq!(rack(&table, "/r2"), vec![c]);
        let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);
        let container = ContainerId::new(attempt, 0, 1);
        table.allocate(b, &Resource::new(12, 1), container);
        table.flush_free_index();
        assert_eq!(rack(&table, "/r1"), vec![a, b]);
        table.release(b, &Resource::new(12, 1), container);
        table.flush_free_index();
        table.remove(c);
        table.check_indexes().unwrap();
        assert_eq!(rack(&table, "/r1"), vec![b, a]);
        assert!(table.rack_by_free("/r2").is_none());
        table.remove(b);
        table.remove(a);
        table.check_indexes().unwrap();
        assert!(table.rack_by_free("/r1").is_none());
    }

    #[test]
    fn running_out_of_ordinals_renumbers_in_registration_order() {
        let mut table = NodeTable {
            next_ordinal: u32::MAX - 2,
            ..NodeTable::default()
        };
        let nodes: Vec<NodeIndex> = (0..6)
            .map(|i| table.add(node(&format!("h{i}"), 1), "/r".into(), Resource::new(8, 8)))
            .collect();
        table.check_indexes().unwrap();
        assert_eq!(order(&table), nodes);
        assert!(table.next_ordinal < 10);
    }
}
