//! An attempt's outstanding requests (YARN's AppSchedulingInfo): absolute counts per scheduler key
//! and location, which locality a node offers a key, and YARN's decrement when a container is placed.
//!
//! Rules, as YARN's locality placement: a key is pending while its `"*"` count is positive. On a
//! node, a key may place NODE_LOCAL if the node's host and rack entries both have a positive
//! count; otherwise RACK_LOCAL if the rack entry has a positive count and relaxes locality;
//! otherwise OFF_SWITCH if the `"*"` entry relaxes locality. Placing decrements `"*"`, plus the
//! rack entry (rack- and node-local) and the host entry (node-local).

use std::collections::BTreeMap;

use spindle_types::Resource;

use crate::action::Locality;
use crate::counted_values::CountedValues;
use crate::event::{ResourceRequest, ANY};
use crate::resource_ops::InlineArithmetic;
pub(crate) use crate::slot_state::{LocalityWait, SlotOffer, SlotState, SlotView};

/// Priority and allocation_request_id: the requests of one kind within an attempt.
/// Ordered as YARN orders them: lower priority number first, then lower allocation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchedulerKey {
    pub priority: i32,
    pub allocation_request_id: i64,
}

/// The AM container's request: priority 0, id -1, anywhere; placed before any other key.
pub(crate) const AM_PRIORITY: i32 = 0;
pub(crate) const AM_ALLOCATION_REQUEST_ID: i64 = -1;

/// One request of an attempt: its AM container, or a key of its asks. The AM comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RequestSlot {
    ApplicationMaster,
    Key(SchedulerKey),
}

impl RequestSlot {
    pub(crate) fn priority(self) -> i32 {
        match self {
            Self::ApplicationMaster => AM_PRIORITY,
            Self::Key(key) => key.priority,
        }
    }

    pub(crate) fn allocation_request_id(self) -> i64 {
        match self {
            Self::ApplicationMaster => AM_ALLOCATION_REQUEST_ID,
            Self::Key(key) => key.allocation_request_id,
        }
    }
}

/// The smallest memory and vcores among all pending requests of all attempts: a node with less
/// available than either cannot take any of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PendingCapabilities {
    memory: CountedValues,
    vcores: CountedValues,
}

impl PendingCapabilities {
    fn insert(&mut self, capability: &Resource) {
        self.memory.insert(capability.memory_mb);
        self.vcores.insert(capability.vcores);
    }

    fn remove(&mut self, capability: &Resource) {
        self.memory.remove(capability.memory_mb);
        self.vcores.remove(capability.vcores);
    }

    /// False when no pending request could fit in `available`.
    pub(crate) fn may_fit(&self, available: &Resource) -> bool {
        match (self.memory.smallest(), self.vcores.smallest()) {
            (Some(memory), Some(vcores)) => {
                memory <= available.memory_mb && vcores <= available.vcores
            }
            _ => false,
        }
    }

    pub(crate) fn from_capabilities<'a>(
        capabilities: impl IntoIterator<Item = &'a Resource>,
    ) -> Self {
        let mut set = Self::default();
        for capability in capabilities {
            set.insert(capability);
        }
        set
    }
}

#[derive(Debug, Clone)]
struct AnyAsk {
    count: i32,
    relax_locality: bool,
    capability: Resource,
}

#[derive(Debug, Clone, Copy)]
struct LocationAsk {
    count: i32,
    relax_locality: bool,
}

/// The entries of one key: `"*"` and any host or rack names. Entries placement used up stay with
/// a zero count (their relax_locality matters if a lost container's request is restored); the
/// key goes when the AM's own update leaves every count at zero.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyAsks {
    any: Option<AnyAsk>,
    locations: BTreeMap<String, LocationAsk>,
    wait: LocalityWait,
    state: SlotState,
}

impl KeyAsks {
    fn for_application_master(capability: Resource) -> Self {
        Self {
            any: Some(AnyAsk {
                count: 1,
                relax_locality: true,
                capability,
            }),
            locations: BTreeMap::new(),
            wait: LocalityWait::default(),
            state: SlotState::default(),
        }
    }

    /// The capability each container gets, while the key is pending.
    fn pending_capability(&self) -> Option<&Resource> {
        self.any
            .as_ref()
            .filter(|any| any.count > 0)
            .map(|any| &any.capability)
    }

    fn is_cancelled(&self) -> bool {
        self.pending_capability().is_none() && self.locations.values().all(|ask| ask.count <= 0)
    }

    fn location_count(&self, name: &str) -> i32 {
        self.locations.get(name).map_or(0, |ask| ask.count)
    }

    fn locality_on(&self, host: &str, rack: &str) -> Option<Locality> {
        let any = self.any.as_ref().filter(|any| any.count > 0)?;
        if let Some(rack_ask) = self.locations.get(rack).filter(|ask| ask.count > 0) {
            if self.location_count(host) > 0 {
                return Some(Locality::NodeLocal);
            }
            if rack_ask.relax_locality {
                return Some(Locality::RackLocal);
            }
        }
        any.relax_locality.then_some(Locality::OffSwitch)
    }

    fn decrement(&mut self, name: &str) {
        if let Some(ask) = self.locations.get_mut(name) {
            ask.count = (ask.count - 1).max(0);
        }
    }

    fn increment(&mut self, name: &str) {
        self.locations
            .entry(name.to_string())
            .or_insert(LocationAsk {
                count: 0,
                relax_locality: true,
            })
            .count += 1;
    }

    fn pending_resource(&self) -> Resource {
        match &self.any {
            Some(any) if any.count > 0 => any.capability.multiply(any.count as i64),
            _ => Resource::ZERO,
        }
    }
}

/// All outstanding requests of one attempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct AskTable {
    application_master: Option<KeyAsks>,
    keys: BTreeMap<SchedulerKey, KeyAsks>,
    /// Requests (AM and keys) with a positive `"*"` count.
    pending: usize,
    /// Sum over requests of count x capability.
    pending_total: Resource,
    /// Changes whenever a host or rack name may have started being wanted (placements only
    /// ever stop names being wanted, and leave it).
    location_version: u64,
}

impl AskTable {
    pub(crate) fn new(
        am_resource: Option<Resource>,
        pending_capabilities: &mut PendingCapabilities,
    ) -> Self {
        let mut table = Self::default();
        if let Some(capability) = am_resource {
            pending_capabilities.insert(&capability);
            table.pending_total = capability.clone();
            table.application_master = Some(KeyAsks::for_application_master(capability));
            table.pending = 1;
        }
        table
    }

    fn slot(&self, slot: RequestSlot) -> Option<&KeyAsks> {
        match slot {
            RequestSlot::ApplicationMaster => self.application_master.as_ref(),
            RequestSlot::Key(key) => self.keys.get(&key),
        }
    }

    /// Applies `change` to a slot (created empty if missing) and keeps the pending bookkeeping:
    /// the count of pending slots and the global pending capabilities. A key left without any
    /// positive count is removed if `drop_cancelled_key`; the AM slot always is.
    fn change_slot(
        &mut self,
        slot: RequestSlot,
        drop_cancelled_key: bool,
        pending_capabilities: &mut PendingCapabilities,
        change: impl FnOnce(&mut KeyAsks),
    ) {
        let asks = match slot {
            RequestSlot::ApplicationMaster => {
                self.application_master.get_or_insert_with(KeyAsks::default)
            }
            RequestSlot::Key(key) => self.keys.entry(key).or_default(),
        };
        let before = asks.pending_capability().cloned();
        let before_total = asks.pending_resource();
        change(asks);
        let after_total = asks.pending_resource();
        if before_total != after_total {
            self.pending_total.sub_assign(&before_total);
            self.pending_total.add_assign(&after_total);
        }
        let after = asks.pending_capability();
        if before.as_ref() != after {
            if let Some(capability) = &before {
                pending_capabilities.remove(capability);
                self.pending -= 1;
            }
            if let Some(capability) = after {
                pending_capabilities.insert(capability);
                self.pending += 1;
            }
        }
        if asks.is_cancelled() {
            match slot {
                RequestSlot::ApplicationMaster => self.application_master = None,
                RequestSlot::Key(key) if drop_cancelled_key => {
                    self.keys.remove(&key);
                }
                RequestSlot::Key(_) => {}
            }
        }
    }

    /// Replaces the entry for the request's key and name (YARN's absolute ask semantics). The
    /// request must already be normalized.
    pub(crate) fn update(
        &mut self,
        request: &ResourceRequest,
        pending_capabilities: &mut PendingCapabilities,
    ) {
        let key = SchedulerKey {
            priority: request.priority,
            allocation_request_id: request.allocation_request_id,
        };
        if request.resource_name != ANY
            && request.num_containers > 0
            && self
                .slot(RequestSlot::Key(key))
                .is_none_or(|asks| asks.location_count(&request.resource_name) <= 0)
        {
            // A name starts being wanted (fewer containers at a wanted name change nothing).
            self.location_version += 1;
        }
        self.change_slot(RequestSlot::Key(key), true, pending_capabilities, |asks| {
            let count = request.num_containers.max(0);
            if request.resource_name == ANY {
                asks.any = Some(AnyAsk {
                    count,
                    relax_locality: request.relax_locality,
                    capability: request.capability.clone(),
                });
            } else {
                asks.locations.insert(
                    request.resource_name.clone(),
                    LocationAsk {
                        count,
                        relax_locality: request.relax_locality,
                    },
                );
            }
        });
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.pending > 0
    }

    /// The first placeable request after `after` (from the start if None): the AM container
    /// while it is pending (and nothing else, since the attempt's other requests need their AM),
    /// then keys in priority order.
    pub(crate) fn next_pending_slot(&self, after: Option<RequestSlot>) -> Option<RequestSlot> {
        use std::ops::Bound::{Excluded, Unbounded};
        if self.application_master_pending() {
            return after.is_none().then_some(RequestSlot::ApplicationMaster);
        }
        let start = match after {
            None | Some(RequestSlot::ApplicationMaster) => Unbounded,
            Some(RequestSlot::Key(key)) => Excluded(key),
        };
        self.keys
            .range((start, Unbounded))
            .find(|(_, asks)| asks.pending_capability().is_some())
            .map(|(key, _)| RequestSlot::Key(*key))
    }

    /// The size of the slot's containers, while it is pending.
    pub(crate) fn pending_capability(&self, slot: RequestSlot) -> Option<&Resource> {
        self.slot(slot)?.pending_capability()
    }

    pub(crate) fn locality_on(
        &self,
        slot: RequestSlot,
        host: &str,
        rack: &str,
    ) -> Option<Locality> {
        self.slot(slot)?.locality_on(host, rack)
    }

    /// Whether the slot may go to any node (its `"*"` entry relaxes locality).
    pub(crate) fn relaxes_to_any(&self, slot: RequestSlot) -> bool {
        self.slot(slot)
            .and_then(|asks| asks.any.as_ref())
            .is_some_and(|any| any.relax_locality)
    }

    /// Host and rack names of the slot with a positive count, in name order.
    pub(crate) fn wanted_location_names(
        &self,
        slot: RequestSlot,
    ) -> impl Iterator<Item = &str> + '_ {
        self.slot(slot).into_iter().flat_map(|asks| {
            asks.locations
                .iter()
                .filter(|(_, ask)| ask.count > 0)
                .map(|(name, _)| name.as_str())
        })
    }

    /// Host and rack names of the slot with a positive count, in name order.
    #[cfg(test)]
    pub(crate) fn wanted_locations(&self, slot: RequestSlot) -> Vec<String> {
        self.slot(slot)
            .map(|asks| {
                asks.locations
                    .iter()
                    .filter(|(_, ask)| ask.count > 0)
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// YARN's decrement after placing one container of `slot` with `locality` on `host`/`rack`.
    pub(crate) fn allocated(
        &mut self,
        slot: RequestSlot,
        locality: Locality,
        host: &str,
        rack: &str,
        pending_capabilities: &mut PendingCapabilities,
    ) {
        // The request stays pending with the same size: only counts and the total move.
        let asks = match slot {
            RequestSlot::ApplicationMaster => self.application_master.as_mut(),
            RequestSlot::Key(key) => self.keys.get_mut(&key),
        };
        if let Some(asks) = asks {
            if let Some(any) = asks.any.as_mut().filter(|any| any.count > 1) {
                any.count -= 1;
                self.pending_total.sub_inline(&any.capability);
                if matches!(locality, Locality::NodeLocal | Locality::RackLocal) {
                    asks.decrement(rack);
                }
                if locality == Locality::NodeLocal {
                    asks.decrement(host);
                }
                return;
            }
        }
        self.change_slot(slot, false, pending_capabilities, |asks| {
            if let Some(any) = asks.any.as_mut() {
                any.count = (any.count - 1).max(0);
            }
            if matches!(locality, Locality::NodeLocal | Locality::RackLocal) {
                asks.decrement(rack);
            }
            if locality == Locality::NodeLocal {
                asks.decrement(host);
            }
        });
    }

    /// Changes whenever a host or rack name may have started being wanted.
    pub(crate) fn location_version(&self) -> u64 {
        self.location_version
    }

    /// Puts back what [`Self::allocated`] took, for a container lost before its AM saw it.
    pub(crate) fn recover(
        &mut self,
        key: SchedulerKey,
        locality: Locality,
        host: &str,
        rack: &str,
        capability: &Resource,
        pending_capabilities: &mut PendingCapabilities,
    ) {
        self.location_version += 1;
        self.change_slot(RequestSlot::Key(key), false, pending_capabilities, |asks| {
            match asks.any.as_mut() {
                Some(any) => any.count += 1,
                None => {
                    asks.any = Some(AnyAsk {
                        count: 1,
                        relax_locality: true,
                        capability: capability.clone(),
                    })
                }
            }
            if matches!(locality, Locality::NodeLocal | Locality::RackLocal) {
                asks.increment(rack);
            }
            if locality == Locality::NodeLocal {
                asks.increment(host);
            }
        });
    }

    /// Drops every request (the attempt ended).
    pub(crate) fn clear(&mut self, pending_capabilities: &mut PendingCapabilities) {
        for capability in self.pending_capabilities() {
            pending_capabilities.remove(capability);
        }
        let location_version = self.location_version + 1;
        *self = Self {
            location_version,
            ..Self::default()
        };
    }

    /// Capabilities of the pending requests, one per pending slot.
    pub(crate) fn pending_capabilities(&self) -> impl Iterator<Item = &Resource> {
        self.application_master
            .iter()
            .chain(self.keys.values())
            .filter_map(KeyAsks::pending_capability)
    }

    /// Sum over pending requests of count x capability.
    pub(crate) fn pending_resource(&self) -> &Resource {
        &self.pending_total
    }

    /// The slot's delay scheduling state.
    pub(crate) fn locality_wait(&self, slot: RequestSlot) -> LocalityWait {
        self.slot(slot).map(|asks| asks.wait).unwrap_or_default()
    }

    pub(crate) fn set_locality_wait(&mut self, slot: RequestSlot, wait: LocalityWait) {
        if let Some(asks) = self.slot_mut(slot) {
            asks.wait = wait;
        }
    }

    /// What the scheduler derived from the slot's wait (default for a missing slot).
    pub(crate) fn slot_state(&self, slot: RequestSlot) -> SlotState {
        self.slot(slot).map(|asks| asks.state).unwrap_or_default()
    }

    pub(crate) fn set_slot_state(&mut self, slot: RequestSlot, state: SlotState) {
        if let Some(asks) = self.slot_mut(slot) {
            asks.state = state;
        }
    }

    fn slot_mut(&mut self, slot: RequestSlot) -> Option<&mut KeyAsks> {
        match slot {
            RequestSlot::ApplicationMaster => self.application_master.as_mut(),
            RequestSlot::Key(key) => self.keys.get_mut(&key),
        }
    }

    /// What offering a node to the pending `slot` needs, in one lookup: the best locality the
    /// node gives it (None: it cannot use the node), its delay state, its container size and
    /// how many it still wants.
    pub(crate) fn offer(&self, slot: RequestSlot, host: &str, rack: &str) -> Option<SlotOffer<'_>> {
        let asks = self.slot(slot)?;
        let capability = asks.pending_capability()?;
        Some(SlotOffer {
            locality: asks.locality_on(host, rack),
            state: asks.state,
            capability,
            pending_count: asks.any.as_ref().map_or(0, |any| any.count.max(0)),
        })
    }

    /// What delay scheduling needs to know about one slot, in one lookup.
    pub(crate) fn slot_view(&self, slot: RequestSlot) -> Option<SlotView> {
        let asks = self.slot(slot)?;
        let pending = asks.pending_capability().is_some();
        let placeable = pending
            && match slot {
                RequestSlot::ApplicationMaster => true,
                RequestSlot::Key(_) => !self.application_master_pending(),
            };
        Some(SlotView {
            shape: crate::locality_delay::RequestShape {
                has_location_asks: asks.locations.values().any(|ask| ask.count > 0),
                outstanding: asks.any.as_ref().map_or(0, |any| any.count.max(0)),
                location_entries: asks.locations.len() + 1,
            },
            wait: asks.wait,
            placeable,
        })
    }

    /// Whether the AM container is still wanted (the other requests wait for it).
    pub(crate) fn application_master_pending(&self) -> bool {
        self.application_master
            .as_ref()
            .is_some_and(|am| am.pending_capability().is_some())
    }

    /// Every slot in the table, placeable or not, with the state the scheduler keeps for it.
    pub(crate) fn slots_with_state(&self) -> impl Iterator<Item = (RequestSlot, SlotState)> + '_ {
        self.application_master
            .iter()
            .map(|asks| (RequestSlot::ApplicationMaster, asks.state))
            .chain(
                self.keys
                    .iter()
                    .map(|(key, asks)| (RequestSlot::Key(*key), asks.state)),
            )
    }

    /// Whether any request still wants containers at `name` (a host or rack).
    pub(crate) fn wants_location(&self, name: &str) -> bool {
        self.application_master
            .iter()
            .chain(self.keys.values())
            .any(|asks| asks.location_count(name) > 0)
    }

    /// Whether the slot names hosts or racks it still wants (delay scheduling applies).
    pub(crate) fn has_location_asks(&self, slot: RequestSlot) -> bool {
        self.slot(slot)
            .is_some_and(|asks| asks.locations.values().any(|ask| ask.count > 0))
    }

    /// Containers the slot still wants (its `"*"` count).
    pub(crate) fn pending_count(&self, slot: RequestSlot) -> i32 {
        self.slot(slot)
            .and_then(|asks| asks.any.as_ref())
            .map_or(0, |any| any.count.max(0))
    }

    /// Placeable slots, in placement order (for invariant checks).
    pub(crate) fn pending_slots(&self) -> Vec<RequestSlot> {
        let mut slots = Vec::new();
        let mut after = None;
        while let Some(slot) = self.next_pending_slot(after) {
            slots.push(slot);
            after = Some(slot);
        }
        slots
    }

    /// Checks the pending count and that no count is negative (for `check_invariants`).
    pub(crate) fn check(&self) -> Result<(), String> {
        let counted = self.pending_capabilities().count();
        if counted != self.pending {
            return Err(format!(
                "{counted} pending requests but the table counts {}",
                self.pending
            ));
        }
        let mut total = Resource::ZERO;
        for asks in self.application_master.iter().chain(self.keys.values()) {
            total.add_assign(&asks.pending_resource());
        }
        if total != self.pending_total {
            return Err(format!(
                "pending requests add up to {total} but the table holds {}",
                self.pending_total
            ));
        }
        for asks in self.application_master.iter().chain(self.keys.values()) {
            let negative_any = asks
                .any
                .as_ref()
                .is_some_and(|any| any.count < 0 || any.capability.any_negative());
            if negative_any || asks.locations.values().any(|ask| ask.count < 0) {
                return Err("a request has a negative count or capability".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, count: i32, relax_locality: bool) -> ResourceRequest {
        ResourceRequest {
            priority: 1,
            resource_name: name.into(),
            capability: Resource::new(1024, 1),
            num_containers: count,
            relax_locality,
            allocation_request_id: 0,
        }
    }

    fn table(requests: &[ResourceRequest]) -> (AskTable, PendingCapabilities) {
        let mut pending = PendingCapabilities::default();
        let mut table = AskTable::new(None, &mut pending);
        for r in requests {
            table.update(r, &mut pending);
        }
        (table, pending)
    }

    const KEY: RequestSlot = RequestSlot::Key(SchedulerKey {
        priority: 1,
        allocation_request_id: 0,
    });

    #[test]
    fn locality_follows_counts_and_relax_flags() {
        let (t, _) = table(&[
            request("h1", 1, true),
            request("/r1", 1, true),
            request(ANY, 1, true),
        ]);
        assert_eq!(t.locality_on(KEY, "h1", "/r1"), Some(Locality::NodeLocal));
        assert_eq!(t.locality_on(KEY, "h2", "/r1"), Some(Locality::RackLocal));
        assert_eq!(t.locality_on(KEY, "h3", "/r2"), Some(Locality::OffSwitch));
        // Strict node locality as AMRMClient sends it: rack and "*" do not relax.
        let (t, _) = table(&[
            request("h1", 1, true),
            request("/r1", 1, false),
            request(ANY, 1, false),
        ]);
        assert_eq!(t.locality_on(KEY, "h1", "/r1"), Some(Locality::NodeLocal));
        assert_eq!(t.locality_on(KEY, "h2", "/r1"), None);
        assert_eq!(t.locality_on(KEY, "h3", "/r2"), None);
        // A host entry without its rack entry is not node-local (YARN requires both).
        let (t, _) = table(&[request("h1", 1, true), request(ANY, 1, false)]);
        assert_eq!(t.locality_on(KEY, "h1", "/r1"), None);
        // Nothing without a "*" entry.
        let (t, _) = table(&[request("h1", 1, true), request("/r1", 1, true)]);
        assert_eq!(t.locality_on(KEY, "h1", "/r1"), None);
        assert!(!t.has_pending());
    }

    #[test]
    fn node_local_placement_decrements_host_rack_and_any() {
        let (mut t, mut pending) = table(&[
            request("h1", 1, true),
            request("/r1", 2, true),
            request(ANY, 2, true),
        ]);
        t.allocated(KEY, Locality::NodeLocal, "h1", "/r1", &mut pending);
        assert_eq!(t.wanted_locations(KEY), vec!["/r1".to_string()]);
        assert_eq!(t.locality_on(KEY, "h1", "/r1"), Some(Locality::RackLocal));
        t.allocated(KEY, Locality::RackLocal, "h2", "/r1", &mut pending);
        assert!(!t.has_pending());
        assert!(!pending.may_fit(&Resource::new(100_000, 100)));
        assert_eq!(t.next_pending_slot(None), None);
        t.check().unwrap();
    }

    #[test]
    fn absolute_counts_replace_and_zero_cancels() {
        let (mut t, mut pending) = table(&[request(ANY, 5, true)]);
        assert_eq!(t.pending_resource(), &Resource::new(5 * 1024, 5));
        t.update(&request(ANY, 2, true), &mut pending);
        assert_eq!(t.pending_resource(), &Resource::new(2 * 1024, 2));
        t.update(&request(ANY, 0, true), &mut pending);
        assert!(!t.has_pending());
        assert_eq!(pending, PendingCapabilities::default());
        t.check().unwrap();
    }

    #[test]
    fn recovery_restores_every_entry_the_placement_took() {
        let (mut t, mut pending) = table(&[
            request("h1", 1, false),
            request("/r1", 1, false),
            request(ANY, 1, false),
        ]);
        t.allocated(KEY, Locality::NodeLocal, "h1", "/r1", &mut pending);
        assert!(!t.has_pending());
        let key = SchedulerKey {
            priority: 1,
            allocation_request_id: 0,
        };
        t.recover(
            key,
            Locality::NodeLocal,
            "h1",
            "/r1",
            &Resource::new(1024, 1),
            &mut pending,
        );
        assert_eq!(t.locality_on(KEY, "h1", "/r1"), Some(Locality::NodeLocal));
        assert_eq!(t.locality_on(KEY, "h2", "/r1"), None, "relax flags survive");
        t.check().unwrap();
    }

    #[test]
    fn application_master_comes_first_then_priority_order() {
        let mut pending = PendingCapabilities::default();
        let mut t = AskTable::new(Some(Resource::new(512, 1)), &mut pending);
        let mut low = request(ANY, 1, true);
        low.priority = 5;
        let mut high = request(ANY, 1, true);
        high.priority = 2;
        t.update(&low, &mut pending);
        t.update(&high, &mut pending);
        assert_eq!(
            t.pending_slots(),
            vec![RequestSlot::ApplicationMaster],
            "asks wait for the AM container"
        );
        assert_eq!(t.pending_resource(), &Resource::new(512 + 2048, 3));
        t.allocated(
            RequestSlot::ApplicationMaster,
            Locality::OffSwitch,
            "h1",
            "/r1",
            &mut pending,
        );
        let slots = t.pending_slots();
        assert_eq!(
            slots.iter().map(|slot| slot.priority()).collect::<Vec<_>>(),
            vec![2, 5]
        );
        assert!(pending.may_fit(&Resource::new(1024, 1)));
        t.clear(&mut pending);
        assert_eq!(pending, PendingCapabilities::default());
    }
}
