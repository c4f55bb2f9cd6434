//! The Capacity Scheduler's preemption monitor (YARN's ProportionalCapacityPreemptionPolicy, in
//! short): each queue's ideal share is its guarantee up to its demand, plus a part of what its
//! siblings leave unused in proportion to guarantees, up to its maximum; a leaf above its ideal
//! by more than max_ignored_over_capacity gives back natural_termination_factor of the excess,
//! at most total_preemption_per_round of the cluster per round.

use std::collections::HashMap;

use spindle_types::{ContainerId, Resource};

use crate::calculator::scale_down;
use crate::capacity::config::CapacityPreemptionConfig;
use crate::fair_shares::{distribute, ShareEntry};
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

impl Scheduler {
    /// Each queue's ideal resources now (memory and vcores).
    pub(crate) fn capacity_ideal_assignment(&self) -> HashMap<QueueIndex, Resource> {
        let mut ideal = HashMap::new();
        ideal.insert(ROOT, self.nodes.total().clone());
        // A queue whose application has not said what it wants yet (its AM waits for room)
        // wants its share, as for entitlements: one round takes back room for its tasks too.
        let unstated = self.queues_with_unstated_demand();
        for &parent in self.queues.depth_first() {
            let children = self.queues.get(parent).children.clone();
            if children.is_empty() {
                continue;
            }
            let total = ideal[&parent].clone();
            let demands: Vec<Resource> = children
                .iter()
                .map(|&child| {
                    let queue = self.queues.get(child);
                    if unstated.contains(&child) {
                        queue.maximum.clone()
                    } else {
                        queue.demand().min(&queue.maximum)
                    }
                })
                .collect();
            let assigned: Vec<Resource> = children
                .iter()
                .zip(&demands)
                .map(|(&child, demand)| self.queues.get(child).guaranteed.min(demand))
                .collect();
            let mut left = total;
            for resource in &assigned {
                left.sub_assign(resource);
            }
            let extra = |value: fn(&Resource) -> i64| -> Vec<f64> {
                let all_zero = children
                    .iter()
                    .all(|&child| value(&self.queues.get(child).guaranteed) == 0);
                let entries: Vec<ShareEntry> = children
                    .iter()
                    .enumerate()
                    .map(|(position, &child)| ShareEntry {
                        weight: if all_zero {
                            1.0
                        } else {
                            value(&self.queues.get(child).guaranteed) as f64
                        },
                        min: 0.0,
                        max: (value(&demands[position]) - value(&assigned[position])).max(0) as f64,
                    })
                    .collect();
                distribute(value(&left).max(0) as f64, &entries)
            };
            let extra_memory = extra(|r| r.memory_mb);
            let extra_vcores = extra(|r| r.vcores);
            for (position, &child) in children.iter().enumerate() {
                let mut share = assigned[position].clone();
                share.memory_mb += extra_memory[position] as i64;
                share.vcores += extra_vcores[position] as i64;
                ideal.insert(child, share);
            }
        }
        ideal
    }

    pub(crate) fn capacity_preemption_candidates(
        &self,
        config: &CapacityPreemptionConfig,
    ) -> Vec<ContainerId> {
        let cluster = self.nodes.total();
        let calculator = self.calculator;
        let ideal = self.capacity_ideal_assignment();
        let mut budget = scale_down(cluster, config.total_preemption_per_round);
        let mut in_flight: HashMap<QueueIndex, Resource> = HashMap::new();
        for container in self.preemption.marked.keys() {
            if let Some(record) = self.containers.get(container) {
                let leaf = self.applications[&container.application_id()].queue;
                in_flight
                    .entry(leaf)
                    .or_default()
                    .add_assign(&record.resource);
            }
        }
        let mut chosen = Vec::new();
        let mut order = None;
        for &leaf in self.queues.depth_first() {
            let queue = self.queues.get(leaf);
            if !queue.is_leaf || !queue.settings.preemptable {
                continue;
            }
            let target = &ideal[&leaf];
            let tolerated = scale_down(target, 1.0 + config.max_ignored_over_capacity);
            if calculator.fits_within(&queue.used, &tolerated) {
                continue;
            }
            // What was asked back before stays asked back while the queue is over.
            chosen.extend(self.preemption.marked.keys().filter(|container| {
                self.applications
                    .get(&container.application_id())
                    .is_some_and(|app| app.queue == leaf)
            }));
            let over = queue.used.sub(target).max(&Resource::ZERO);
            let mut wanted = scale_down(&over, config.natural_termination_factor);
            if !calculator.greater_than(cluster, &wanted, &Resource::ZERO) {
                wanted = over;
            }
            if let Some(flight) = in_flight.get(&leaf) {
                wanted = wanted.sub(flight);
            }
            let order = order.get_or_insert_with(|| self.preemption_order());
            for container in self.preemptable_containers(leaf, order) {
                if !calculator.greater_than(cluster, &wanted, &Resource::ZERO)
                    || !calculator.greater_than(cluster, &budget, &Resource::ZERO)
                {
                    break;
                }
                let resource = &self.containers[&container].resource;
                wanted.sub_assign(resource);
                budget.sub_assign(resource);
                chosen.push(container);
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }
}
