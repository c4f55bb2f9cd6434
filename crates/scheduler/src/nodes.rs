//! The cluster's nodes and the indexes placement searches: by id, by host, by rack, by free resources.
//!
//! Placement never scans every node: candidates come from a host's node list, or from a rack's
//! (or the cluster's) nodes ordered by available memory, largest first, where the search stops at
//! the first node with too little memory.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use spindle_types::{ContainerId, NodeId, Resource};

use crate::counted_values::CountedValues;
use crate::reservations::Reservation;

/// A node's slot in the [`NodeTable`]; reused after the node is removed.
pub(crate) type NodeIndex = u32;

#[derive(Debug, Clone)]
pub(crate) struct SchedulerNode {
    pub(crate) id: NodeId,
    pub(crate) rack: String,
    pub(crate) capability: Resource,
    pub(crate) allocated: Resource,
    /// `capability - allocated`; negative only on a node whose capability was lowered below its use.
    pub(crate) available: Resource,
    pub(crate) containers: BTreeSet<ContainerId>,
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

#[derive(Debug, Default)]
pub(crate) struct NodeTable {
    slots: Vec<Option<SchedulerNode>>,
    vacant: Vec<NodeIndex>,
    by_id: HashMap<NodeId, NodeIndex>,
    by_host: HashMap<String, Vec<NodeIndex>>,
    by_rack: BTreeMap<String, BTreeSet<FreeKey>>,
    by_free: BTreeSet<FreeKey>,
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
            .filter_map(|(i, slot)| slot.as_ref().map(|node| (i as NodeIndex, node)))
    }

    /// Nodes whose NodeManager runs on `host` (several NMs may share a host), in registration order.
    pub(crate) fn on_host(&self, host: &str) -> &[NodeIndex] {
        self.by_host.get(host).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The nodes of `rack`, most available memory first; None for a rack with no node.
    pub(crate) fn rack_by_free(&self, rack: &str) -> Option<&BTreeSet<FreeKey>> {
        self.by_rack.get(rack)
    }

    /// All nodes, most available memory first.
    pub(crate) fn cluster_by_free(&self) -> &BTreeSet<FreeKey> {
        &self.by_free
    }

    /// Per component, the largest node capability (None without nodes).
    pub(crate) fn largest_capability(&self) -> Option<(i64, i64)> {
        Some((
            self.capability_memory.largest()?,
            self.capability_vcores.largest()?,
        ))
    }

    pub(crate) fn add(&mut self, id: NodeId, rack: String, capability: Resource) -> NodeIndex {
        debug_assert!(!self.by_id.contains_key(&id));
        let node = SchedulerNode {
            id: id.clone(),
            rack: rack.clone(),
            available: capability.clone(),
            allocated: Resource::ZERO,
            capability,
            containers: BTreeSet::new(),
            ordinal: self.next_ordinal,
            reservation: None,
        };
        self.next_ordinal += 1;
        let index = match self.vacant.pop() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as NodeIndex
            }
        };
        self.total.add_assign(&node.capability);
        self.capability_memory.insert(node.capability.memory_mb);
        self.capability_vcores.insert(node.capability.vcores);
        self.by_host.entry(id.host.clone()).or_default().push(index);
        self.by_id.insert(id, index);
        self.insert_free_keys(&node, index);
        self.slots[index as usize] = Some(node);
        self.count += 1;
        index
    }

    /// Removes a node that holds no container.
    pub(crate) fn remove(&mut self, index: NodeIndex) -> SchedulerNode {
        let node = self.slots[index as usize]
            .take()
            .expect("removing a registered node");
        debug_assert!(
            node.containers.is_empty(),
            "containers must complete before their node goes"
        );
        if let Some(reservation) = &node.reservation {
            self.reserved.sub_assign(&reservation.capability);
        }
        self.remove_free_keys(&node, index);
        self.total.sub_assign(&node.capability);
        self.allocated.sub_assign(&node.allocated);
        self.capability_memory.remove(node.capability.memory_mb);
        self.capability_vcores.remove(node.capability.vcores);
        self.by_id.remove(&node.id);
        if let Some(on_host) = self.by_host.get_mut(&node.id.host) {
            on_host.retain(|&other| other != index);
            if on_host.is_empty() {
                self.by_host.remove(&node.id.host);
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
        self.allocated.add_assign(resource);
        self.update(index, |node| {
            node.allocated.add_assign(resource);
            node.available.sub_assign(resource);
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
        self.allocated.sub_assign(resource);
        self.update(index, |node| {
            node.allocated.sub_assign(resource);
            node.available.add_assign(resource);
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
            if node.available.fits(capability) && accept(node, key.index) {
                return Some(key.index);
            }
        }
        None
    }

    fn update(&mut self, index: NodeIndex, change: impl FnOnce(&mut SchedulerNode)) {
        let mut node = self.slots[index as usize]
            .take()
            .expect("updating a registered node");
        self.remove_free_keys(&node, index);
        change(&mut node);
        self.insert_free_keys(&node, index);
        self.slots[index as usize] = Some(node);
    }

    fn insert_free_keys(&mut self, node: &SchedulerNode, index: NodeIndex) {
        let key = FreeKey::of(node, index);
        self.by_free.insert(key);
        self.by_rack
            .entry(node.rack.clone())
            .or_default()
            .insert(key);
        self.free_vcores.insert(node.available.vcores);
    }

    fn remove_free_keys(&mut self, node: &SchedulerNode, index: NodeIndex) {
        let key = FreeKey::of(node, index);
        self.by_free.remove(&key);
        if let Some(rack) = self.by_rack.get_mut(&node.rack) {
            rack.remove(&key);
            if rack.is_empty() {
                self.by_rack.remove(&node.rack);
            }
        }
        self.free_vcores.remove(node.available.vcores);
    }

    /// Checks every index against the nodes themselves (for `check_invariants`).
    pub(crate) fn check_indexes(&self) -> Result<(), String> {
        let mut total = Resource::ZERO;
        let mut allocated = Resource::ZERO;
        let mut reserved = Resource::ZERO;
        let mut free = BTreeSet::new();
        let mut racks: BTreeMap<String, BTreeSet<FreeKey>> = BTreeMap::new();
        for (index, node) in self.iter() {
            total.add_assign(&node.capability);
            allocated.add_assign(&node.allocated);
            if let Some(reservation) = &node.reservation {
                reserved.add_assign(&reservation.capability);
            }
            let key = FreeKey::of(node, index);
            free.insert(key);
            racks.entry(node.rack.clone()).or_default().insert(key);
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
        if free != self.by_free || racks != self.by_rack {
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
