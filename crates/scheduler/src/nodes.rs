//! The cluster's nodes and the indexes placement searches: by id, by host, by rack, by free resources.
//!
//! Placement never scans every node: candidates come from a host's node list, or from a rack's
//! (or the cluster's) nodes ordered by available memory, largest first, where the search stops at
//! the first node with too little memory.
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
    /// The node's key in the free-resource indexes (as of the last flush).
    indexed: FreeKey,
    /// Its room changed since the last flush.
    dirty: bool,
    pub(crate) capability: Resource,
    pub(crate) allocated: Resource,
    /// `capability - allocated`; negative only on a node whose capability was lowered below its use.
    pub(crate) available: Resource,
    pub(crate) containers: NodeContainers,
    /// Order of registration; breaks ties between equally free nodes.
    pub(crate) ordinal: u64,
    /// A request this node is held for: its room goes to nobody else until it fits.
    pub(crate) reservation: Option<Reservation>,
}

/// Sort key of a node in a free-resource index: most available memory, then vcores, first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FreeKey {
    memory: Reverse<i64>,
    vcores: Reverse<i64>,
    ordinal: u64,
    pub(crate) index: NodeIndex,
}

impl FreeKey {
    fn of(node: &SchedulerNode, index: NodeIndex) -> Self {
        Self {
            memory: Reverse(node.available.memory_mb),
            vcores: Reverse(node.available.vcores),
            ordinal: node.ordinal,
            index,
        }
    }
}

/// A rack: its nodes by available resources.
#[derive(Debug, Default)]
struct Rack {
    name: Arc<str>,
    by_free: BTreeSet<FreeKey>,
    nodes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct NodeTable {
    /// Boxed: a vacant or spare slot (the `Vec` doubles as the cluster grows) costs a pointer,
    /// not a whole node record.
    slots: Vec<Option<Box<SchedulerNode>>>,
    vacant: Vec<NodeIndex>,
    by_id: FastMap<NodeId, NodeIndex>,
    /// Keyed by the node id's own (shared) host string.
    by_host: FastMap<std::sync::Arc<str>, Vec<NodeIndex>>,
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
    next_ordinal: u64,
    count: usize,
}

impl NodeTable {
    pub(crate) fn lookup(&self, id: &NodeId) -> Option<NodeIndex> {
        self.by_id.get(id).copied()
    }

    /// The node in `index`. Panics on a vacant slot: indexes come from this table's own lookups.
    pub(crate) fn get(&self, index: NodeIndex) -> &SchedulerNode {
        self.slots[index as usize]
            .as_ref()
            .expect("node index refers to a registered node")
    }

    pub(crate) fn is_live(&self, index: NodeIndex) -> bool {
        self.slots.get(index as usize).is_some_and(Option::is_some)
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
        let node = self.slots[index as usize]
            .as_mut()
            .expect("reserving a registered node");
        let old = std::mem::replace(&mut node.reservation, reservation);
        if let Some(old) = &old {
            self.reserved.sub_assign(&old.capability);
        }
        old
    }

    /// Registered nodes in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeIndex, &SchedulerNode)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.as_deref().map(|node| (i as NodeIndex, node)))
    }

    /// Nodes whose NodeManager runs on `host` (several NMs may share a host), in registration order.
    pub(crate) fn on_host(&self, host: &str) -> &[NodeIndex] {
        self.by_host.get(host).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The nodes of `rack`, most available memory first (as of the last flush); None for a
    /// rack with no node.
    pub(crate) fn rack_by_free(&self, rack: &str) -> Option<&BTreeSet<FreeKey>> {
        debug_assert!(self.dirty.is_empty(), "searching an index not flushed");
        let id = *self.rack_ids.get(rack)?;
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
        for index in std::mem::take(&mut self.dirty) {
            let Some(node) = self.slots[index as usize].as_mut() else {
                continue;
            };
            node.dirty = false;
            let key = FreeKey::of(node, index);
            let old = std::mem::replace(&mut node.indexed, key);
            if old == key {
                continue;
            }
            let rack = &mut self.racks[node.rack_id as usize].by_free;
            self.by_free.remove(&old);
            rack.remove(&old);
            self.by_free.insert(key);
            rack.insert(key);
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

    pub(crate) fn add(&mut self, id: NodeId, rack: String, capability: Resource) -> NodeIndex {
        debug_assert!(!self.by_id.contains_key(&id));
        let index = match self.vacant.pop() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as NodeIndex
            }
        };
        let rack_id = match self.rack_ids.get(rack.as_str()) {
            Some(&id) => id,
            None => {
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
                self.rack_ids.insert(rack.clone(), id);
                id
            }
        };
        self.racks[rack_id as usize].nodes += 1;
        let mut node = SchedulerNode {
            id: id.clone(),
            rack: self.racks[rack_id as usize].name.clone(),
            rack_id,
            indexed: FreeKey {
                memory: Reverse(0),
                vcores: Reverse(0),
                ordinal: 0,
                index,
            },
            dirty: false,
            available: capability.clone(),
            allocated: Resource::ZERO,
            capability,
            containers: NodeContainers::default(),
            ordinal: self.next_ordinal,
            reservation: None,
        };
        self.next_ordinal += 1;
        node.indexed = FreeKey::of(&node, index);
        self.total.add_assign(&node.capability);
        self.capability_memory.insert(node.capability.memory_mb);
        self.capability_vcores.insert(node.capability.vcores);
        self.by_host.entry(id.host.clone()).or_default().push(index);
        self.by_id.insert(id, index);
        self.by_free.insert(node.indexed);
        self.racks[rack_id as usize].by_free.insert(node.indexed);
        self.free_vcores.insert(node.indexed.vcores.0);
        self.slots[index as usize] = Some(Box::new(node));
        self.count += 1;
        index
    }

    /// Removes a node that holds no container.
    pub(crate) fn remove(&mut self, index: NodeIndex) -> SchedulerNode {
        let node = *self.slots[index as usize]
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
        }
        if node.dirty {
            self.dirty.retain(|&dirty| dirty != index);
        }
        self.total.sub_assign(&node.capability);
        self.allocated.sub_assign(&node.allocated);
        self.capability_memory.remove(node.capability.memory_mb);
        self.capability_vcores.remove(node.capability.vcores);
        self.by_id.remove(&node.id);
        if let Some(on_host) = self.by_host.get_mut(&*node.id.host) {
            on_host.retain(|&other| other != index);
            if on_host.is_empty() {
                self.by_host.remove(&*node.id.host);
            }
        }
        self.vacant.push(index);
        self.count -= 1;
        node
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
        let node = self.slots[index as usize]
            .as_mut()
            .expect("updating a registered node");
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
            free.insert(key);
            racks.entry(node.rack.to_string()).or_default().insert(key);
            if self.by_id.get(&node.id) != Some(&index) {
                return Err(format!("node {} is missing from the id index", node.id));
            }
            if !self.on_host(&node.id.host).contains(&index) {
                return Err(format!("node {} is missing from the host index", node.id));
            }
        }
        let live = self.iter().count();
        if self.by_id.len() != live || self.count != live {
            return Err(format!(
                "{} ids indexed and count {} for {live} nodes",
                self.by_id.len(),
                self.count
            ));
        }
        if self.by_host.values().map(Vec::len).sum::<usize>() != live {
            return Err("the host index holds removed nodes".into());
        }
        let indexed_racks: BTreeMap<String, BTreeSet<FreeKey>> = self
            .rack_ids
            .iter()
            .map(|(name, &id)| (name.clone(), self.racks[id as usize].by_free.clone()))
            .collect();
        let rack_counts_agree = self.rack_ids.iter().all(|(name, &id)| {
            let rack = &self.racks[id as usize];
            *rack.name == **name && rack.nodes == racks.get(name).map_or(0, BTreeSet::len)
        });
        if free != self.by_free || racks != indexed_racks || !rack_counts_agree {
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
