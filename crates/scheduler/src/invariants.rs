//! Conservation invariants as code: tests call `check_invariants` after every event.

use std::collections::{BTreeSet, HashMap};

use spindle_types::{ApplicationId, Resource};

use crate::asks::PendingCapabilities;
use crate::scheduler::Scheduler;

/// A broken invariant: which one, and the offending state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheduler invariant '{invariant}' broken: {detail}")]
pub struct InvariantViolation {
    pub invariant: &'static str,
    pub detail: String,
}

fn violation(invariant: &'static str, detail: impl Into<String>) -> Result<(), InvariantViolation> {
    Err(InvariantViolation {
        invariant,
        detail: detail.into(),
    })
}

impl Scheduler {
    /// Checks, in O(state) time:
    /// - node capacity = allocated + available, allocated = sum of its containers, no negative
    ///   allocation (available is negative only where capacity was lowered below allocated);
    /// - every live container is on exactly one node and in exactly one application, whose
    ///   current or last attempt owns it;
    /// - application usage = sum of its containers; queue usage = sum of its applications
    ///   (leaves) or children (parents); application counts likewise;
    /// - the indexes (free resources, hosts, racks, pending applications and capabilities)
    ///   match the records;
    /// - no pending request fits on a node its locality allows (placement is never left undone).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.check_nodes()?;
        self.check_applications()?;
        self.check_queues()?;
        self.check_pending_indexes()?;
        self.check_nothing_placeable()
    }

    fn check_nodes(&self) -> Result<(), InvariantViolation> {
        if let Err(detail) = self.nodes.check_indexes() {
            return violation("node indexes match nodes", detail);
        }
        let mut containers_on_nodes = 0;
        for (index, node) in self.nodes.iter() {
            if node.capability != node.allocated.add(&node.available) {
                return violation(
                    "node capacity = allocated + available",
                    format!(
                        "{}: {} != {} + {}",
                        node.id, node.capability, node.allocated, node.available
                    ),
                );
            }
            if node.allocated.any_negative() || node.capability.any_negative() {
                return violation(
                    "no negative resource",
                    format!("node {} allocated {}", node.id, node.allocated),
                );
            }
            let mut sum = Resource::ZERO;
            for container in &node.containers {
                match self.containers.get(container) {
                    Some(record) if record.node == index => sum.add_assign(&record.resource),
                    _ => {
                        return violation(
                            "every live container on exactly one node",
                            format!(
                                "{container} listed on {} but recorded elsewhere or not live",
                                node.id
                            ),
                        )
                    }
                }
            }
            containers_on_nodes += node.containers.len();
            if sum != node.allocated {
                return violation(
                    "node allocated = sum of its containers",
                    format!("{}: {} != {sum}", node.id, node.allocated),
                );
            }
        }
        if containers_on_nodes != self.containers.len() {
            return violation(
                "every live container on exactly one node",
                format!(
                    "{} containers on nodes, {} live",
                    containers_on_nodes,
                    self.containers.len()
                ),
            );
        }
        Ok(())
    }

    fn check_applications(&self) -> Result<(), InvariantViolation> {
        let mut containers_in_applications = 0;
        for (id, app) in &self.applications {
            let mut sum = Resource::ZERO;
            for container in &app.containers {
                let Some(record) = self.containers.get(container) else {
                    return violation(
                        "application containers are live",
                        format!("{id} lists {container}"),
                    );
                };
                if container.application_id() != *id {
                    return violation(
                        "container in its own application",
                        format!("{container} in {id}"),
                    );
                }
                let owner_is_current = app
                    .attempt
                    .as_ref()
                    .is_some_and(|attempt| attempt.id == record.owner);
                if !owner_is_current && app.last_attempt != Some(record.owner) {
                    return violation(
                        "every live container on exactly one attempt",
                        format!(
                            "{container} owned by {}, not a current or last attempt of {id}",
                            record.owner
                        ),
                    );
                }
                if record.resource.any_negative() {
                    return violation(
                        "no negative resource",
                        format!("{container} has {}", record.resource),
                    );
                }
                sum.add_assign(&record.resource);
            }
            containers_in_applications += app.containers.len();
            if sum != app.allocated {
                return violation(
                    "application usage = sum of its containers",
                    format!("{id}: {} != {sum}", app.allocated),
                );
            }
            if let Some(attempt) = &app.attempt {
                if let Err(detail) = attempt.asks.check() {
                    return violation("ask table consistent", format!("{}: {detail}", attempt.id));
                }
                let too_new = app.containers.iter().find(|container| {
                    container.attempt_id == attempt.id
                        && container.sequence() >= attempt.next_sequence
                });
                if let Some(container) = too_new {
                    return violation(
                        "container ids are issued once",
                        format!("{container} not below the next sequence"),
                    );
                }
            }
        }
        if containers_in_applications != self.containers.len() {
            return violation(
                "every live container in exactly one application",
                format!(
                    "{containers_in_applications} in applications, {} live",
                    self.containers.len()
                ),
            );
        }
        Ok(())
    }

    fn check_queues(&self) -> Result<(), InvariantViolation> {
        let mut used: HashMap<usize, Resource> = HashMap::new();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for app in self.applications.values() {
            used.entry(app.queue)
                .or_default()
                .add_assign(&app.allocated);
            *counts.entry(app.queue).or_default() += 1;
        }
        for (index, queue) in self.queues.iter() {
            let (expected_used, expected_count) = if queue.children.is_empty() {
                (
                    used.get(&index).cloned().unwrap_or_default(),
                    counts.get(&index).copied().unwrap_or(0),
                )
            } else {
                let mut sum = Resource::ZERO;
                let mut count = 0;
                for &child in &queue.children {
                    sum.add_assign(&self.queues.get(child).used);
                    count += self.queues.get(child).num_applications;
                }
                (sum, count)
            };
            if queue.used != expected_used || queue.used.any_negative() {
                return violation(
                    "queue usage = sum of its applications or children",
                    format!("{}: {} != {expected_used}", queue.path, queue.used),
                );
            }
            if queue.num_applications != expected_count {
                return violation(
                    "queue application count",
                    format!(
                        "{}: {} != {expected_count}",
                        queue.path, queue.num_applications
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_pending_indexes(&self) -> Result<(), InvariantViolation> {
        let expected: BTreeSet<_> = self
            .applications
            .values()
            .filter(|app| app.has_pending())
            .map(|app| app.fifo_key())
            .collect();
        if expected != self.pending_applications {
            return violation(
                "pending applications index",
                format!(
                    "indexed {:?}, pending {:?}",
                    self.pending_applications, expected
                ),
            );
        }
        let capabilities = PendingCapabilities::from_capabilities(
            self.applications
                .values()
                .filter_map(|app| app.attempt.as_ref())
                .flat_map(|attempt| attempt.asks.pending_capabilities()),
        );
        if capabilities != self.pending_capabilities {
            return violation(
                "pending capabilities index",
                "does not match the ask tables",
            );
        }
        Ok(())
    }

    fn check_nothing_placeable(&self) -> Result<(), InvariantViolation> {
        let mut ids: Vec<&ApplicationId> = self.applications.keys().collect();
        ids.sort();
        for id in ids {
            let Some(attempt) = &self.applications[id].attempt else {
                continue;
            };
            for slot in attempt.asks.pending_slots() {
                let capability = attempt.asks.pending_capability(slot).expect("pending slot");
                for (_, node) in self.nodes.iter() {
                    let allowed = attempt.asks.locality_on(slot, &node.id.host, &node.rack);
                    if let Some(locality) = allowed.filter(|_| node.available.fits(capability)) {
                        return violation(
                            "no pending request fits where its locality allows",
                            format!(
                                "{} priority {} ({capability}) fits {} {} with {} available",
                                attempt.id,
                                slot.priority(),
                                locality.name(),
                                node.id,
                                node.available
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}
