//! Sort keys: the order in which a parent offers room to its children and a leaf to its
//! applications. Keys are plain integers so that each parent keeps its schedulable children in a
//! `BTreeSet` and picks the first in O(log n); a key is recomputed when its inputs change.

use std::cmp::Reverse;

use spindle_types::{ApplicationId, Resource};

use crate::calculator::ResourceCalculator;
use crate::queues::settings::{ApplicationOrdering, ChildOrdering};
use crate::queues::QueueIndex;

/// A queue's place among its parent's schedulable children (smallest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct QueueSortKey {
    class: u8,
    value: u64,
    pub(crate) index: QueueIndex,
}

/// An application's place among its leaf's schedulable applications (smallest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct AppSortKey {
    value: u64,
    priority: Reverse<i32>,
    pub(crate) application: ApplicationId,
}

/// A non-negative float as an order-preserving integer (NaN and negatives as 0).
fn ordered(value: f64) -> u64 {
    if value.is_nan() || value <= 0.0 {
        0
    } else {
        value.to_bits()
    }
}

/// The inputs of a queue's key.
pub(crate) struct QueueOrderInputs<'a> {
    pub(crate) index: QueueIndex,
    pub(crate) used: &'a Resource,
    pub(crate) demand: &'a Resource,
    pub(crate) guaranteed: &'a Resource,
    pub(crate) min_share: &'a Resource,
    pub(crate) weight: f64,
}

/// `calculator` is the Capacity Scheduler's (utilization ordering); the Fair policies use
/// memory (`fair`) or dominant shares (`drf`) whatever it is.
pub(crate) fn queue_key(
    ordering: ChildOrdering,
    inputs: &QueueOrderInputs<'_>,
    cluster: &Resource,
    calculator: ResourceCalculator,
) -> QueueSortKey {
    let (class, value) = match ordering {
        ChildOrdering::Utilization => {
            // Queues are compared relative to their guarantee; those with none come last.
            let guaranteed = calculator.share(inputs.guaranteed, cluster);
            let used = calculator.share(inputs.used, cluster);
            if guaranteed <= 0.0 {
                (1, used)
            } else {
                (0, used / guaranteed)
            }
        }
        ChildOrdering::Fair => {
            let min_share = inputs.min_share.memory_mb.min(inputs.demand.memory_mb);
            let used = inputs.used.memory_mb;
            if used < min_share {
                (0, used as f64 / min_share.max(1) as f64)
            } else {
                (1, per_weight(used as f64, inputs.weight))
            }
        }
        ChildOrdering::Drf if inputs.min_share.is_zero() => (
            1,
            per_weight(
                ResourceCalculator::Dominant.share(inputs.used, cluster),
                inputs.weight,
            ),
        ),
        ChildOrdering::Drf => {
            let calculator = ResourceCalculator::Dominant;
            let min_share = inputs.min_share.min(inputs.demand);
            let used = calculator.share(inputs.used, cluster);
            let needed = calculator.share(&min_share, cluster);
            if used < needed {
                (0, used / needed)
            } else {
                (1, per_weight(used, inputs.weight))
            }
        }
    };
    QueueSortKey {
        class,
        value: ordered(value),
        index: inputs.index,
    }
}

fn per_weight(value: f64, weight: f64) -> f64 {
    if weight <= 0.0 {
        if value > 0.0 {
            f64::INFINITY
        } else {
            f64::MAX
        }
    } else {
        value / weight
    }
}

/// The inputs of an application's key.
pub(crate) struct AppOrderInputs<'a> {
    pub(crate) application: ApplicationId,
    pub(crate) priority: i32,
    pub(crate) allocated: &'a Resource,
    pub(crate) demand: &'a Resource,
}

pub(crate) fn app_key(
    ordering: ApplicationOrdering,
    inputs: &AppOrderInputs<'_>,
    cluster: &Resource,
) -> AppSortKey {
    let value = match ordering {
        ApplicationOrdering::Fifo => 0.0,
        ApplicationOrdering::Fair { size_based } => {
            let weight = if size_based {
                (inputs.demand.memory_mb.max(0) as f64).ln_1p() / std::f64::consts::LN_2
            } else {
                1.0
            };
            per_weight(inputs.allocated.memory_mb as f64, weight)
        }
        ApplicationOrdering::Drf => ResourceCalculator::Dominant.share(inputs.allocated, cluster),
    };
    AppSortKey {
        value: ordered(value),
        priority: Reverse(inputs.priority),
        application: inputs.application,
    }
}

/// Whether keys of this ordering change when the application's usage changes.
pub(crate) fn app_key_depends_on_usage(ordering: ApplicationOrdering) -> bool {
    !matches!(ordering, ApplicationOrdering::Fifo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(
        index: QueueIndex,
        used: &'a Resource,
        demand: &'a Resource,
        guaranteed: &'a Resource,
        min_share: &'a Resource,
        weight: f64,
    ) -> QueueOrderInputs<'a> {
        QueueOrderInputs {
            index,
            used,
            demand,
            guaranteed,
            min_share,
            weight,
        }
    }

    #[test]
    fn utilization_puts_the_least_used_relative_to_its_guarantee_first() {
        let cluster = Resource::new(100, 100);
        let zero = Resource::ZERO;
        let (a_used, a_guaranteed) = (Resource::new(30, 3), Resource::new(60, 60));
        let (b_used, b_guaranteed) = (Resource::new(30, 3), Resource::new(40, 40));
        let a = queue_key(
            ChildOrdering::Utilization,
            &inputs(1, &a_used, &zero, &a_guaranteed, &zero, 1.0),
            &cluster,
            ResourceCalculator::Default,
        );
        let b = queue_key(
            ChildOrdering::Utilization,
            &inputs(2, &b_used, &zero, &b_guaranteed, &zero, 1.0),
            &cluster,
            ResourceCalculator::Default,
        );
        let no_guarantee = queue_key(
            ChildOrdering::Utilization,
            &inputs(3, &zero, &zero, &zero, &zero, 1.0),
            &cluster,
            ResourceCalculator::Default,
        );
        assert!(a < b && b < no_guarantee);
    }

    #[test]
    fn fair_serves_queues_below_min_share_first_then_by_weight() {
        let cluster = Resource::new(100, 100);
        let zero = Resource::ZERO;
        let demand = Resource::new(100, 1);
        let min = Resource::new(20, 1);
        let (used_10, used_30, used_40) = (
            Resource::new(10, 1),
            Resource::new(30, 1),
            Resource::new(40, 1),
        );
        let needy = queue_key(
            ChildOrdering::Fair,
            &inputs(1, &used_10, &demand, &zero, &min, 1.0),
            &cluster,
            ResourceCalculator::Default,
        );
        let light = queue_key(
            ChildOrdering::Fair,
            &inputs(2, &used_30, &demand, &zero, &zero, 1.0),
            &cluster,
            ResourceCalculator::Default,
        );
        let heavy_weighted = queue_key(
            ChildOrdering::Fair,
            &inputs(3, &used_40, &demand, &zero, &zero, 2.0),
            &cluster,
            ResourceCalculator::Default,
        );
        assert!(needy < heavy_weighted && heavy_weighted < light);
        // A min share above the demand does not make a queue needy.
        let small_demand = Resource::new(10, 1);
        let satisfied = queue_key(
            ChildOrdering::Fair,
            &inputs(4, &used_10, &small_demand, &zero, &min, 1.0),
            &cluster,
            ResourceCalculator::Default,
        );
        assert!(satisfied > needy);
    }

    #[test]
    fn application_keys() {
        let cluster = Resource::new(100, 100);
        let app = |id, priority, memory| AppOrderInputs {
            application: ApplicationId::new(1, id),
            priority,
            allocated: Box::leak(Box::new(Resource::new(memory, 1))),
            demand: Box::leak(Box::new(Resource::new(memory, 1))),
        };
        let fifo = |a: &AppOrderInputs<'_>| app_key(ApplicationOrdering::Fifo, a, &cluster);
        assert!(fifo(&app(2, 5, 50)) < fifo(&app(1, 0, 0)), "priority first");
        assert!(
            fifo(&app(1, 0, 50)) < fifo(&app(2, 0, 0)),
            "then submission"
        );
        let fair = |a: &AppOrderInputs<'_>| {
            app_key(ApplicationOrdering::Fair { size_based: false }, a, &cluster)
        };
        assert!(
            fair(&app(2, 0, 10)) < fair(&app(1, 0, 50)),
            "least used first"
        );
        assert!(app_key_depends_on_usage(ApplicationOrdering::Drf));
    }
}
