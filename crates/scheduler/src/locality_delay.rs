//! Delay scheduling: a request that names hosts or racks passes up scheduling opportunities on
//! other nodes before it accepts a worse locality, as the Capacity Scheduler counts them
//! (node-locality-delay, rack-locality-additional-delay) and as the Fair Scheduler does
//! (locality.threshold.node/.rack, fractions of the cluster's nodes).
//!
//! A scheduling opportunity is, as in YARN, a node pass that reaches the request (its
//! application comes before the one the node's room goes to, in the policy's order) and that
//! the request passes up for locality; offers made while placing new asks are not counted.
//! Each request keeps its own count ([`LocalityWait::offered`]) and remembers the count at
//! which its wait began: what it passed up is the difference. The rules here are pure: they
//! take that count as an input.

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

    /// The request's delay state at opportunity count `now` on `nodes` nodes: what it may take
    /// and the count at which that changes next. Pure: the scheduler stores the result and
    /// evaluates again when the count reaches the deadline or the request's shape changes.
    pub(crate) fn evaluate(
        &self,
        wait: LocalityWait,
        shape: RequestShape,
        nodes: usize,
        now: u64,
    ) -> Evaluation {
        if !self.applies_to(shape) {
            return Evaluation {
                wait: LocalityWait {
                    waiting: false,
                    ..wait
                },
                rack_local_allowed: true,
                off_switch_allowed: true,
                deadline: None,
            };
        }
        let mut wait = wait;
        if !wait.waiting {
            // The wait starts now: opportunities before the request named hosts do not count.
            wait.waiting = true;
            wait.since = now;
        }
        let nodes_f = nodes as f64;
        match *self {
            Self::None => Evaluation {
                wait,
                rack_local_allowed: true,
                off_switch_allowed: true,
                deadline: None,
            },
            Self::Capacity {
                node_locality_delay,
                rack_locality_additional_delay,
            } => {
                let missed = now.saturating_sub(wait.since);
                let rack_after = opportunities_beyond((node_locality_delay as f64).min(nodes_f));
                let off_after = if nodes == 0 {
                    None
                } else if rack_locality_additional_delay > -1 {
                    Some(opportunities_beyond(
                        ((node_locality_delay + rack_locality_additional_delay) as f64)
                            .min(nodes_f),
                    ))
                } else {
                    let unique = shape.location_entries.saturating_sub(1) as f64;
                    let wait_factor = (unique / nodes_f).min(1.0);
                    Some(opportunities_beyond(
                        nodes_f.min(shape.outstanding as f64 * wait_factor),
                    ))
                };
                let rack_local_allowed = missed >= rack_after;
                let off_switch_allowed = off_after.is_some_and(|after| missed >= after);
                let deadline = [
                    (!rack_local_allowed).then_some(rack_after),
                    off_after.filter(|_| !off_switch_allowed),
                ]
                .into_iter()
                .flatten()
                .min()
                .map(|after| wait.since + after);
                Evaluation {
                    wait,
                    rack_local_allowed,
                    off_switch_allowed,
                    deadline,
                }
            }
            Self::Fair {
                node_threshold,
                rack_threshold,
            } => {
                // Relax one level each time the count passes the level's threshold; the count
                // starts again at each level.
                let deadline = loop {
                    let threshold = match wait.allowed {
                        Locality::NodeLocal => node_threshold,
                        Locality::RackLocal => rack_threshold,
                        Locality::OffSwitch => break None,
                    };
                    let after = opportunities_beyond(threshold * nodes_f);
                    if now.saturating_sub(wait.since) < after {
                        break Some(wait.since + after);
                    }
                    wait.since += after;
                    wait.allowed = match wait.allowed {
                        Locality::NodeLocal => Locality::RackLocal,
                        _ => Locality::OffSwitch,
                    };
                };
                Evaluation {
                    wait,
                    rack_local_allowed: wait.allowed >= Locality::RackLocal,
                    off_switch_allowed: wait.allowed == Locality::OffSwitch,
                    deadline,
                }
            }
        }
    }

    /// The wait after a container of `locality` went to the request at opportunity count `now`.
    pub(crate) fn allocated(
        &self,
        wait: LocalityWait,
        locality: Locality,
        now: u64,
    ) -> LocalityWait {
        match self {
            Self::None => wait,
            // YARN resets the count after node- and rack-local containers only.
            Self::Capacity { .. } => match locality {
                Locality::NodeLocal | Locality::RackLocal => LocalityWait { since: now, ..wait },
                Locality::OffSwitch => wait,
            },
            Self::Fair { .. } => LocalityWait {
                offered: wait.offered,
                since: now,
                allowed: locality,
                waiting: wait.waiting,
            },
        }
    }

    /// Opportunities to pass up before `next` is allowed (for explanations).
    pub(crate) fn required_opportunities(
        &self,
        next: Locality,
        wait: LocalityWait,
        shape: RequestShape,
        nodes: usize,
    ) -> u64 {
        let nodes_f = nodes as f64;
        match *self {
            Self::None => 0,
            Self::Capacity {
                node_locality_delay,
                rack_locality_additional_delay,
            } => match next {
                Locality::RackLocal | Locality::NodeLocal => {
                    opportunities_beyond((node_locality_delay as f64).min(nodes_f))
                }
                Locality::OffSwitch if rack_locality_additional_delay > -1 => opportunities_beyond(
                    ((node_locality_delay + rack_locality_additional_delay) as f64).min(nodes_f),
                ),
                Locality::OffSwitch => {
                    let unique = shape.location_entries.saturating_sub(1) as f64;
                    let factor = if nodes > 0 {
                        (unique / nodes_f).min(1.0)
                    } else {
                        0.0
                    };
                    opportunities_beyond(nodes_f.min(shape.outstanding as f64 * factor))
                }
            },
            Self::Fair {
                node_threshold,
                rack_threshold,
            } => {
                let threshold = if wait.allowed == Locality::NodeLocal {
                    node_threshold
                } else {
                    rack_threshold
                };
                opportunities_beyond(threshold * nodes_f)
            }
        }
    }
}

/// The request's delay state at one opportunity count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evaluation {
    pub(crate) wait: LocalityWait,
    pub(crate) rack_local_allowed: bool,
    pub(crate) off_switch_allowed: bool,
    /// The opportunity count at which the state changes next, if it can.
    pub(crate) deadline: Option<u64>,
}

#[cfg(test)]
impl Evaluation {
    pub(crate) fn allows(&self, locality: Locality) -> bool {
        match locality {
            Locality::NodeLocal => true,
            Locality::RackLocal => self.rack_local_allowed,
            Locality::OffSwitch => self.off_switch_allowed,
        }
    }
}

/// The least whole number of missed opportunities that is more than `threshold` (0 for a
/// negative threshold: no wait).
fn opportunities_beyond(threshold: f64) -> u64 {
    if threshold.is_nan() || threshold < 0.0 {
        0
    } else if threshold >= u64::MAX as f64 / 2.0 {
        u64::MAX / 2
    } else {
        threshold.floor() as u64 + 1
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

    /// The state after `opportunities` passes since the request began waiting at count 0.
    fn after(delay: LocalityDelay, opportunities: u64, nodes: usize) -> Evaluation {
        let started = delay.evaluate(LocalityWait::default(), SHAPE, nodes, 0);
        delay.evaluate(started.wait, SHAPE, nodes, opportunities)
    }

    #[test]
    fn capacity_counts_up_to_node_locality_delay_capped_by_cluster_size() {
        let delay = LocalityDelay::Capacity {
            node_locality_delay: 40,
            rack_locality_additional_delay: 5,
        };
        let rack = |n, nodes| after(delay, n, nodes).allows(Locality::RackLocal);
        assert!(!rack(40, 100) && rack(41, 100));
        assert!(
            !rack(10, 10) && rack(11, 10),
            "capped at the number of nodes"
        );
        let off = |n, nodes| after(delay, n, nodes).allows(Locality::OffSwitch);
        assert!(!off(45, 100) && off(46, 100));
        assert!(after(delay, 0, 100).allows(Locality::NodeLocal));
        assert_eq!(after(delay, 3, 100).deadline, Some(41), "rack-local next");
        assert_eq!(after(delay, 41, 100).deadline, Some(46), "then off-switch");
        assert_eq!(after(delay, 46, 100).deadline, None);
    }

    #[test]
    fn capacity_derives_the_off_switch_wait_from_the_request() {
        let delay = LocalityDelay::Capacity {
            node_locality_delay: 40,
            rack_locality_additional_delay: -1,
        };
        // 4 containers x min(1, (3 - 1) / 10 nodes) = 0.8 opportunities.
        let off = |n| after(delay, n, 10).allows(Locality::OffSwitch);
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
        let state = delay.evaluate(LocalityWait::default(), anywhere, 10, 7);
        assert!(state.allows(Locality::OffSwitch) && state.deadline.is_none());
        assert!(!state.wait.waiting);
        assert!(LocalityDelay::None
            .evaluate(LocalityWait::default(), SHAPE, 10, 0)
            .allows(Locality::OffSwitch));
    }

    #[test]
    fn the_wait_counts_from_when_the_request_names_a_host() {
        let delay = LocalityDelay::Capacity {
            node_locality_delay: 2,
            rack_locality_additional_delay: 0,
        };
        let anywhere = RequestShape {
            has_location_asks: false,
            ..SHAPE
        };
        // Opportunities passed while the request named no host do not count.
        let free = delay.evaluate(LocalityWait::default(), anywhere, 10, 100);
        let named = delay.evaluate(free.wait, SHAPE, 10, 101);
        assert!(!named.allows(Locality::RackLocal));
        assert_eq!(named.deadline, Some(104));
    }

    #[test]
    fn fair_relaxes_one_level_at_a_time_and_resets_on_allocation() {
        let delay = LocalityDelay::Fair {
            node_threshold: 0.5,
            rack_threshold: 0.2,
        };
        // 10 nodes: more than 5 opportunities for rack-local, then more than 2 for off-switch.
        assert!(!after(delay, 5, 10).allows(Locality::RackLocal));
        let relaxed = after(delay, 6, 10);
        assert!(relaxed.allows(Locality::RackLocal));
        assert!(!relaxed.allows(Locality::OffSwitch));
        assert_eq!(relaxed.deadline, Some(9));
        let anywhere = after(delay, 9, 10);
        assert!(anywhere.allows(Locality::OffSwitch));
        assert_eq!(anywhere.deadline, None);
        let reset = delay.allocated(anywhere.wait, Locality::NodeLocal, 9);
        assert!(!delay
            .evaluate(reset, SHAPE, 10, 9)
            .allows(Locality::RackLocal));
        let disabled = LocalityDelay::Fair {
            node_threshold: -1.0,
            rack_threshold: 0.5,
        };
        assert!(after(disabled, 0, 10).allows(Locality::OffSwitch));
    }
}
