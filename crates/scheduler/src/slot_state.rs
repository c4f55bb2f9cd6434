//! What the scheduler keeps per request besides its counts: its delay-scheduling wait, the
//! state derived from it, and the views of a request that node passes and delay scheduling read.

use spindle_types::Resource;

use crate::action::Locality;

/// Delay scheduling state of one request: the scheduler's opportunity count when its wait
/// began, and (Fair policy) the locality it has been allowed to relax to at that count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalityWait {
    pub(crate) since: u64,
    pub(crate) allowed: Locality,
    /// Delay scheduling applied when the state was last evaluated (the request named hosts or
    /// racks); a wait starts when it begins to apply.
    pub(crate) waiting: bool,
}

impl Default for LocalityWait {
    fn default() -> Self {
        Self {
            since: 0,
            allowed: Locality::NodeLocal,
            waiting: false,
        }
    }
}

/// A pending slot as a node offer sees it (see `AskTable::offer`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotOffer<'a> {
    pub(crate) locality: Option<Locality>,
    pub(crate) state: SlotState,
    pub(crate) capability: &'a Resource,
    pub(crate) pending_count: i32,
}

/// One slot as delay scheduling sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotView {
    pub(crate) shape: crate::locality_delay::RequestShape,
    pub(crate) wait: LocalityWait,
    pub(crate) state: SlotState,
    /// Its `"*"` entry relaxes locality: any node may take it once delay scheduling allows.
    pub(crate) relaxes_to_any: bool,
    /// Pending, and not held back behind a pending AM container.
    pub(crate) placeable: bool,
}

/// What the scheduler derived from a request's wait, and where it lists the request; kept by
/// the scheduler (`locality_index.rs`) whenever the wait, the request or the cluster changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SlotState {
    pub(crate) rack_local_allowed: bool,
    pub(crate) off_switch_allowed: bool,
    /// The opportunity count at which the delay state changes next (listed by the scheduler).
    pub(crate) deadline: Option<u64>,
    /// Placeable now, off-switch allowed and its `"*"` entry relaxes: any node that fits may
    /// take it, so its application is offered every node's room in policy order.
    pub(crate) open: bool,
    /// Listed in the scheduler's index of waiting requests by location name.
    pub(crate) host_indexed: bool,
    /// Listed in the index of waiting requests allowed rack-local containers.
    pub(crate) rack_indexed: bool,
    /// How many of its location names the indexes list it under.
    pub(crate) names_indexed: usize,
}

impl SlotState {
    /// Whether delay scheduling lets the request take a container of `locality` now.
    pub(crate) fn allows(&self, locality: Locality) -> bool {
        match locality {
            Locality::NodeLocal => true,
            Locality::RackLocal => self.rack_local_allowed,
            Locality::OffSwitch => self.off_switch_allowed,
        }
    }
}
