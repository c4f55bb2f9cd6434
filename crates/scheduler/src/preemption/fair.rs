//! Fair Scheduler preemption: instantaneous fair shares (each parent's share divided by weight
//! among the children with runnable applications), starvation clocks, and the choice of
//! containers to take from queues above their fair share for a queue starved past its
//! minSharePreemptionTimeout or fairSharePreemptionTimeout.

use std::collections::HashMap;

use spindle_types::{ContainerId, Resource};

use crate::bookkeeping::is_below;
use crate::config::SchedulingPolicy;
use crate::fast_hash::FastMap;
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

/// Instantaneous fair share of every queue, by queue slot (nothing for vacant slots).
pub(crate) type FairShares = Vec<Resource>;

impl Scheduler {
    /// Each queue's instantaneous fair share: queues without runnable applications get none.
    pub(crate) fn instantaneous_fair_shares(&self) -> FairShares {
        let mut shares: FairShares = vec![Resource::ZERO; self.queues.slot_count()];
        shares[ROOT] = self.nodes.total().clone();
        for &parent in self.queues.depth_first() {
            let children = self.queues.get(parent).children.clone();
            if children.is_empty() {
                continue;
            }
            let divided = self
                .queues
                .divide_total(&shares[parent], &children, |child| {
                    self.queues.get(child).num_runnable > 0
                });
            for (child, share) in children.into_iter().zip(divided) {
                shares[child] = share;
            }
        }
        shares
    }

    /// Starts or stops each leaf's fair-share starvation clock (below threshold x fair share
    /// with demand left); returns the instantaneous fair shares it measured with.
    pub(crate) fn update_fair_share_starvation(&mut self) -> FairShares {
        let shares = self.instantaneous_fair_shares();
        let now = self.now_ms;
        for leaf in self.queues.depth_first().to_vec() {
            if !self.queues.get(leaf).is_leaf {
                continue;
            }
            self.note_min_share_starvation(leaf);
            let queue = self.queues.get(leaf);
            let threshold_share = crate::calculator::scale_down(
                &shares[leaf],
                queue.settings.fair_share_preemption_threshold,
            );
            let starved = !queue.pending.is_zero()
                && is_below(
                    queue.settings.application_ordering,
                    &queue.used,
                    &threshold_share,
                );
            let queue = self.queues.get_mut(leaf);
            match (starved, queue.fair_share_starved_since) {
                (true, None) => queue.fair_share_starved_since = Some(now),
                (false, Some(_)) => queue.fair_share_starved_since = None,
                _ => {}
            }
        }
        shares
    }

    /// How much a starved leaf needs back now (zero when it is not starved past a timeout).
    pub(crate) fn fair_starvation(
        &self,
        leaf: QueueIndex,
        shares: &FairShares,
        unstated: &crate::fast_hash::FastSet<QueueIndex>,
    ) -> Resource {
        let queue = self.queues.get(leaf);
        let settings = &queue.settings;
        let now = self.now_ms;
        // An application whose attempt has not called allocate yet (its AM waits for the room
        // being taken back) counts as wanting its whole share, as for entitlements: one round
        // takes back room for its tasks too, not only for its AM.
        let demand = if unstated.contains(&leaf) {
            crate::calculator::unbounded()
        } else {
            queue.demand()
        };
        let timed_out = |since: Option<i64>, timeout: Option<i64>| match (since, timeout) {
            (Some(since), Some(timeout)) => now - since >= timeout,
            _ => false,
        };
        let mut need = Resource::ZERO;
        if timed_out(
            queue.min_share_starved_since,
            settings.min_share_preemption_timeout_ms,
        ) {
            need = settings
                .min_resources
                .min(&demand)
                .sub(&queue.used)
                .max(&Resource::ZERO);
        }
        if timed_out(
            queue.fair_share_starved_since,
            settings.fair_share_preemption_timeout_ms,
        ) {
            let fair_need = shares[leaf]
                .min(&demand)
                .sub(&queue.used)
                .max(&Resource::ZERO);
            need = need.max(&fair_need);
        }
        need
    }

    pub(crate) fn fair_preemption_candidates(
        &self,
        shares: &FairShares,
    ) -> Vec<(ContainerId, Option<QueueIndex>)> {
        let SchedulingPolicy::Fair(config) = &self.config.policy else {
            return Vec::new();
        };
        let cluster = self.nodes.total();
        let allocated = self.nodes.allocated();
        let utilization = share(allocated.memory_mb, cluster.memory_mb)
            .max(share(allocated.vcores, cluster.vcores));
        if utilization <= config.site.preemption_cluster_utilization_threshold {
            return Vec::new();
        }
        let any_starved = self.queues.iter().any(|(_, queue)| {
            queue.min_share_starved_since.is_some() || queue.fair_share_starved_since.is_some()
        });
        if !any_starved {
            return Vec::new();
        }
        let mut in_flight: HashMap<QueueIndex, Resource> = HashMap::new();
        for (container, mark) in &self.preemption.marked {
            if let (Some(queue), Some(record)) = (mark.for_queue, self.containers.get(container)) {
                in_flight
                    .entry(queue)
                    .or_default()
                    .add_assign(&record.resource);
            }
        }
        let leaves: Vec<QueueIndex> = self
            .queues
            .depth_first()
            .iter()
            .copied()
            .filter(|&index| self.queues.get(index).is_leaf)
            .collect();
        // Queues above their fair share, the furthest above first.
        let mut victims: Vec<(u64, QueueIndex)> = leaves
            .iter()
            .filter(|&&leaf| {
                let queue = self.queues.get(leaf);
                queue.settings.preemptable
                    && is_below(
                        queue.settings.application_ordering,
                        &shares[leaf],
                        &queue.used,
                    )
            })
            .map(|&leaf| {
                let queue = self.queues.get(leaf);
                let ratio = share(queue.used.memory_mb, shares[leaf].memory_mb.max(1));
                (u64::MAX - ratio.to_bits(), leaf)
            })
            .collect();
        victims.sort_unstable();
        let mut chosen = Vec::new();
        let mut order = None;
        // Each victim's preemptable containers, listed once per round and gone through once: a
        // container too large to take now (it would put the victim below its share) stays too
        // large as the victim gives more.
        let mut victim_lists: FastMap<QueueIndex, VictimList> = FastMap::default();
        let unstated = self.queues_with_unstated_demand();
        for &leaf in &leaves {
            let starved_ordering = self.queues.get(leaf).settings.application_ordering;
            let mut need = self.fair_starvation(leaf, shares, &unstated);
            if let Some(flight) = in_flight.get(&leaf) {
                need = need.sub(flight);
            }
            if !is_below(starved_ordering, &Resource::ZERO, &need) {
                continue;
            }
            for &(_, victim) in &victims {
                if !is_below(starved_ordering, &Resource::ZERO, &need) {
                    break;
                }
                if victim == leaf {
                    continue;
                }
                let queue = self.queues.get(victim);
                let order = order.get_or_insert_with(|| self.preemption_order());
                let list = victim_lists.entry(victim).or_insert_with(|| VictimList {
                    containers: self.preemptable_containers(victim, order),
                    next: 0,
                    left: queue.used.clone(),
                });
                while let Some(&container) = list.containers.get(list.next) {
                    if !is_below(starved_ordering, &Resource::ZERO, &need) {
                        break;
                    }
                    list.next += 1;
                    let resource = &self.containers[&container].resource;
                    let after = list.left.sub(resource);
                    if is_below(queue.settings.application_ordering, &after, &shares[victim]) {
                        continue;
                    }
                    list.left = after;
                    need.sub_assign(resource);
                    chosen.push((container, Some(leaf)));
                }
            }
        }
        chosen
    }
}

/// A victim queue's containers in the order they are taken, how far a round went through them,
/// and what the victim keeps.
struct VictimList {
    containers: Vec<ContainerId>,
    next: usize,
    left: Resource,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
