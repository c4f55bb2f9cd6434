//! What the scheduler keeps per request besides its counts: its delay-scheduling wait, the
//! state derived from it, and the views of a request that node passes and delay scheduling read.

use spindle_types::Resource;

use crate::action::Locality;

/// Delay scheduling state of one request: the scheduling opportunities it has been offered (its
/// own clock, as YARN counts them per application and request), the count when its wait began,
/// and (Fair policy) the locality it has been allowed to relax to at that count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalityWait {
    /// Node passes that reached the request and that it passed up for locality.
    pub(crate) offered: u64,
    pub(crate) since: u64,
    pub(crate) allowed: Locality,
    /// Delay scheduling applied when the state was last evaluated (the request named hosts or
    /// racks); a wait starts when it begins to apply.
    pub(crate) waiting: bool,
}

impl Default for LocalityWait {
    fn default() -> Self {
        Self {
            offered: 0,
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
    /// Pending, and not held back behind a pending AM container.
    pub(crate) placeable: bool,
}

/// What the scheduler derived from a request's wait; kept by the scheduler
/// (`locality_state.rs`) whenever the wait, the request or the cluster changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SlotState {
    pub(crate) rack_local_allowed: bool,
    pub(crate) off_switch_allowed: bool,
    /// The request's own opportunity count ([`LocalityWait::offered`]) at which its delay
    /// state changes next.
    pub(crate) deadline: Option<u64>,
    /// Placeable now: node passes walk its application.
    pub(crate) open: bool,
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
