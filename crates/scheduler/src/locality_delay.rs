//! Delay scheduling: a request that names hosts or racks passes up scheduling opportunities on
//! other nodes before it accepts a worse locality, as the Capacity Scheduler counts them
//! (node-locality-delay, rack-locality-additional-delay) and as the Fair Scheduler does
//! (locality.threshold.node/.rack, fractions of the cluster's nodes).
//!
//! A scheduling opportunity is one offer of a node's room to the request (a NodeManager
//! heartbeat, or room freed on the node); offers made while placing new asks are not counted.

use crate::action::Locality;
use crate::asks::LocalityWait;
use crate::config::SchedulingPolicy;

/// How long requests wait for locality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LocalityDelay {
    /// Any locality at once (FIFO).
    None,
    Capacity {
        /// Missed opportunities before rack-local (-1: none), capped at the cluster size.
        node_locality_delay: i64,
        /// Further missed opportunities before off-switch; -1 derives the wait from the request.
        rack_locality_additional_delay: i64,
    },
    Fair {
        /// Fractions of the cluster's node count; negative disables delay scheduling.
        node_threshold: f64,
        rack_threshold: f64,
    },
}

/// What the delay decision needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestShape {
    /// The request names hosts or racks it still wants.
    pub(crate) has_location_asks: bool,
    /// Containers still wanted.
    pub(crate) outstanding: i32,
    /// Host and rack entries plus `"*"`.
    pub(crate) location_entries: usize,
}

impl LocalityDelay {
    pub(crate) fn for_policy(policy: &SchedulingPolicy) -> Self {
        match policy {
            SchedulingPolicy::Fifo => Self::None,
            SchedulingPolicy::Capacity(config) => Self::Capacity {
                node_locality_delay: config.node_locality_delay,
                rack_locality_additional_delay: config.rack_locality_additional_delay,
            },
            SchedulingPolicy::Fair(config) => Self::Fair {
                node_threshold: config.site.locality_threshold_node.min(1.0),
                rack_threshold: config.site.locality_threshold_rack.min(1.0),
            },
        }
    }

    /// Whether the request has to count opportunities at all.
    pub(crate) fn applies_to(&self, shape: RequestShape) -> bool {
        shape.has_location_asks
            && match self {
                Self::None => false,
                Self::Capacity { .. } => true,
                Self::Fair {
                    node_threshold,
                    rack_threshold,
                } => *node_threshold >= 0.0 && *rack_threshold >= 0.0,
            }
    }

    /// Whether the request may take a container of `locality` now.
    pub(crate) fn allows(
        &self,
        locality: Locality,
        wait: LocalityWait,
        shape: RequestShape,
        nodes: usize,
    ) -> bool {
        if locality == Locality::NodeLocal || !self.applies_to(shape) {
            return true;
        }
        let missed = wait.missed_opportunities as f64;
        let nodes_f = nodes as f64;
        match *self {
            Self::None => true,
            Self::Capacity {
                node_locality_delay,
                rack_locality_additional_delay,
            } => match locality {
                Locality::NodeLocal => true,
                Locality::RackLocal => missed > (node_locality_delay as f64).min(nodes_f),
                Locality::OffSwitch => {
                    if nodes == 0 {
                        return false;
                    }
                    if rack_locality_additional_delay > -1 {
                        missed
                            > ((node_locality_delay + rack_locality_additional_delay) as f64)
                                .min(nodes_f)
                    } else {
                        let unique = shape.location_entries.saturating_sub(1) as f64;
                        let wait_factor = (unique / nodes_f).min(1.0);
                        missed > nodes_f.min(shape.outstanding as f64 * wait_factor)
                    }
                }
            },
            Self::Fair { .. } => locality <= wait.allowed,
        }
    }

    /// The wait after the request passed up one more opportunity on `nodes` nodes (the Fair
    /// policy relaxes its allowed locality once the count exceeds its threshold).
    pub(crate) fn missed(&self, wait: LocalityWait, nodes: usize) -> LocalityWait {
        let mut wait = LocalityWait {
            missed_opportunities: wait.missed_opportunities + 1,
            ..wait
        };
        if let Self::Fair {
            node_threshold,
            rack_threshold,
        } = *self
        {
            let threshold = match wait.allowed {
                Locality::NodeLocal => node_threshold,
                Locality::RackLocal => rack_threshold,
                Locality::OffSwitch => return wait,
            };
            if wait.missed_opportunities as f64 > threshold * nodes as f64 {
                wait.allowed = match wait.allowed {
                    Locality::NodeLocal => Locality::RackLocal,
                    _ => Locality::OffSwitch,
                };
                wait.missed_opportunities = 0;
            }
        }
        wait
    }

    /// The wait after a container of `locality` went to the request.
    pub(crate) fn allocated(&self, wait: LocalityWait, locality: Locality) -> LocalityWait {
        match self {
            Self::None => wait,
            // YARN resets the count after node- and rack-local containers only.
            Self::Capacity { .. } => match locality {
                Locality::NodeLocal | Locality::RackLocal => LocalityWait::default(),
                Locality::OffSwitch => wait,
            },
            Self::Fair { .. } => LocalityWait {
                missed_opportunities: 0,
                allowed: locality,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: RequestShape = RequestShape {
        has_location_asks: true,
        outstanding: 4,
        location_entries: 3,
    };

    fn after(delay: LocalityDelay, opportunities: u64, nodes: usize) -> LocalityWait {
        (0..opportunities).fold(LocalityWait::default(), |wait, _| delay.missed(wait, nodes))
    }

    #[test]
    fn capacity_counts_up_to_node_locality_delay_capped_by_cluster_size() {
        let delay = LocalityDelay::Capacity {
            node_locality_delay: 40,
            rack_locality_additional_delay: 5,
        };
        let rack =
            |n, nodes| delay.allows(Locality::RackLocal, after(delay, n, nodes), SHAPE, nodes);
        assert!(!rack(40, 100) && rack(41, 100));
        assert!(
            !rack(10, 10) && rack(11, 10),
            "capped at the number of nodes"
        );
        let off =
            |n, nodes| delay.allows(Locality::OffSwitch, after(delay, n, nodes), SHAPE, nodes);
        assert!(!off(45, 100) && off(46, 100));
        assert!(delay.allows(Locality::NodeLocal, LocalityWait::default(), SHAPE, 100));
    }

    #[test]
    fn capacity_derives_the_off_switch_wait_from_the_request() {
        let delay = LocalityDelay::Capacity {
            node_locality_delay: 40,
            rack_locality_additional_delay: -1,
        };
        // 4 containers x min(1, (3 - 1) / 10 nodes) = 0.8 opportunities.
        let off = |n| delay.allows(Locality::OffSwitch, after(delay, n, 10), SHAPE, 10);
        assert!(!off(0) && off(1));
    }

    #[test]
    fn requests_without_hosts_or_racks_never_wait() {
        let delay = LocalityDelay::Capacity {
            node_locality_delay: 40,
            rack_locality_additional_delay: -1,
        };
        let anywhere = RequestShape {
            has_location_asks: false,
            ..SHAPE
        };
        assert!(delay.allows(Locality::OffSwitch, LocalityWait::default(), anywhere, 10));
        assert!(LocalityDelay::None.allows(
            Locality::OffSwitch,
            LocalityWait::default(),
            SHAPE,
            10
        ));
    }

    #[test]
    fn fair_relaxes_one_level_at_a_time_and_resets_on_allocation() {
        let delay = LocalityDelay::Fair {
            node_threshold: 0.5,
            rack_threshold: 0.2,
        };
        // 10 nodes: more than 5 opportunities for rack-local, then more than 2 for off-switch.
        let wait = after(delay, 5, 10);
        assert!(!delay.allows(Locality::RackLocal, wait, SHAPE, 10));
        let wait = delay.missed(wait, 10);
        assert!(delay.allows(Locality::RackLocal, wait, SHAPE, 10));
        assert!(!delay.allows(Locality::OffSwitch, wait, SHAPE, 10));
        let wait = (0..3).fold(wait, |w, _| delay.missed(w, 10));
        assert!(delay.allows(Locality::OffSwitch, wait, SHAPE, 10));
        let wait = delay.allocated(wait, Locality::NodeLocal);
        assert!(!delay.allows(Locality::RackLocal, wait, SHAPE, 10));
        let disabled = LocalityDelay::Fair {
            node_threshold: -1.0,
            rack_threshold: 0.5,
        };
        assert!(disabled.allows(Locality::OffSwitch, LocalityWait::default(), SHAPE, 10));
    }
}
