//! Resource calculators, as YARN's: how resources compare, divide and fit within limits, by memory
//! only ([`ResourceCalculator::Default`]) or by dominant share ([`ResourceCalculator::Dominant`], DRF).
//!
//! A node's room is never judged by a calculator: a container goes on a node only if every type
//! fits (see `SCHEDULERS.md`). Calculators judge queue limits, user limits, shares and orderings.

use std::cmp::Ordering;

use spindle_types::resource::{MEMORY_MB, VCORES};
use spindle_types::Resource;

/// YARN's class name of the memory-only calculator.
pub const DEFAULT_RESOURCE_CALCULATOR_CLASS: &str =
    "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator";
/// YARN's class name of the dominant-resource calculator.
pub const DOMINANT_RESOURCE_CALCULATOR_CLASS: &str =
    "org.apache.hadoop.yarn.util.resource.DominantResourceCalculator";

/// How the scheduler measures resources against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourceCalculator {
    /// Memory only: vcores and other types never limit a queue or a user (YARN's default).
    #[default]
    Default,
    /// Dominant Resource Fairness: a resource counts by its largest share of the reference over
    /// memory, vcores and every extra type (yarn.io/gpu, ...).
    Dominant,
}

impl ResourceCalculator {
    /// The calculator YARN names `class_name`; None for an unknown class.
    pub fn from_class_name(class_name: &str) -> Option<Self> {
        match class_name.trim() {
            DEFAULT_RESOURCE_CALCULATOR_CLASS => Some(Self::Default),
            DOMINANT_RESOURCE_CALCULATOR_CLASS => Some(Self::Dominant),
            _ => None,
        }
    }

    pub fn class_name(self) -> &'static str {
        match self {
            Self::Default => DEFAULT_RESOURCE_CALCULATOR_CLASS,
            Self::Dominant => DOMINANT_RESOURCE_CALCULATOR_CLASS,
        }
    }

    /// `resource`'s share of `total`, 0.0 and up: memory's share, or the largest share over all
    /// types. A type `total` lacks counts as an infinite share when `resource` has some of it.
    pub fn share(self, resource: &Resource, total: &Resource) -> f64 {
        match self {
            Self::Default => fraction(resource.memory_mb, total.memory_mb),
            Self::Dominant => {
                let mut largest = fraction(resource.memory_mb, total.memory_mb)
                    .max(fraction(resource.vcores, total.vcores));
                for (name, value) in resource.others() {
                    largest = largest.max(fraction(*value, total.get(name)));
                }
                largest
            }
        }
    }

    /// Orders `a` and `b` as YARN's calculators do relative to `cluster`: by memory, or by their
    /// shares of the cluster sorted largest first and compared in turn.
    pub fn compare(self, cluster: &Resource, a: &Resource, b: &Resource) -> Ordering {
        match self {
            Self::Default => a.memory_mb.cmp(&b.memory_mb),
            Self::Dominant if a.others().is_empty() && b.others().is_empty() => {
                // Memory and vcores only: two shares each, compared largest first.
                let pair = |resource: &Resource| {
                    let memory = fraction(resource.memory_mb, cluster.memory_mb);
                    let vcores = fraction(resource.vcores, cluster.vcores);
                    if memory.total_cmp(&vcores).is_ge() {
                        (memory, vcores)
                    } else {
                        (vcores, memory)
                    }
                };
                let ((a_first, a_second), (b_first, b_second)) = (pair(a), pair(b));
                a_first
                    .total_cmp(&b_first)
                    .then_with(|| a_second.total_cmp(&b_second))
            }
            Self::Dominant => {
                let shares_a = sorted_shares(a, cluster, b);
                let shares_b = sorted_shares(b, cluster, a);
                for (x, y) in shares_a.iter().zip(&shares_b) {
                    match x.total_cmp(y) {
                        Ordering::Equal => continue,
                        other => return other,
                    }
                }
                Ordering::Equal
            }
        }
    }

    pub fn greater_than(self, cluster: &Resource, a: &Resource, b: &Resource) -> bool {
        self.compare(cluster, a, b) == Ordering::Greater
    }

    /// The larger of the two as [`Self::compare`] orders them (`a` on a tie).
    pub fn max<'a>(self, cluster: &Resource, a: &'a Resource, b: &'a Resource) -> &'a Resource {
        if self.compare(cluster, b, a) == Ordering::Greater {
            b
        } else {
            a
        }
    }

    /// The smaller of the two as [`Self::compare`] orders them (`a` on a tie).
    pub fn min<'a>(self, cluster: &Resource, a: &'a Resource, b: &'a Resource) -> &'a Resource {
        if self.compare(cluster, b, a) == Ordering::Less {
            b
        } else {
            a
        }
    }

    /// Whether `used` stays within `limit`: memory only, or memory, vcores and every extra type
    /// the limit names (an extra type it does not name is not limited).
    pub fn fits_within(self, used: &Resource, limit: &Resource) -> bool {
        match self {
            Self::Default => used.memory_mb <= limit.memory_mb,
            Self::Dominant => {
                used.memory_mb <= limit.memory_mb
                    && used.vcores <= limit.vcores
                    && used.others().iter().all(|(name, value)| {
                        let allowed = limit.get(name);
                        allowed == 0 || *value <= allowed
                    })
            }
        }
    }

    /// The resource types this calculator looks at, in `resource` and `reference`.
    pub fn counted_types(self, resource: &Resource, reference: &Resource) -> Vec<String> {
        match self {
            Self::Default => vec![MEMORY_MB.to_string()],
            Self::Dominant => {
                let mut types = vec![MEMORY_MB.to_string(), VCORES.to_string()];
                for (name, _) in resource.others().iter().chain(reference.others()) {
                    if !types.contains(name) {
                        types.push(name.clone());
                    }
                }
                types
            }
        }
    }
}

/// `part / whole` as a share: 0 for nothing, infinite for something of nothing.
fn fraction(part: i64, whole: i64) -> f64 {
    if part <= 0 {
        0.0
    } else if whole <= 0 {
        f64::INFINITY
    } else {
        part as f64 / whole as f64
    }
}

/// Shares of every type in `resource` or `other`, largest first.
fn sorted_shares(resource: &Resource, cluster: &Resource, other: &Resource) -> Vec<f64> {
    let mut shares = vec![
        fraction(resource.memory_mb, cluster.memory_mb),
        fraction(resource.vcores, cluster.vcores),
    ];
    let mut names: Vec<&str> = resource
        .others()
        .iter()
        .chain(other.others())
        .map(|(name, _)| name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        shares.push(fraction(resource.get(name), cluster.get(name)));
    }
    shares.sort_by(|a, b| b.total_cmp(a));
    shares
}

/// Every type of `resource` scaled by `factor`, rounded down (YARN's `multiplyAndRoundDown`).
pub(crate) fn scale_down(resource: &Resource, factor: f64) -> Resource {
    scale_with(resource, factor, floor)
}

/// Every type of `resource` scaled by `factor`, rounded up.
pub(crate) fn scale_up(resource: &Resource, factor: f64) -> Resource {
    scale_with(resource, factor, ceil)
}

/// `f64::floor` without the library call the baseline x86-64 target makes of it (no SSE4.1):
/// exact for every value below 2^63 in magnitude, which are all a scaled resource can be.
fn floor(value: f64) -> f64 {
    if !value.is_finite() || value.abs() >= 9.0e15 {
        return value.floor();
    }
    let truncated = value as i64 as f64;
    if truncated > value {
        truncated - 1.0
    } else {
        truncated
    }
}

fn ceil(value: f64) -> f64 {
    if !value.is_finite() || value.abs() >= 9.0e15 {
        return value.ceil();
    }
    let truncated = value as i64 as f64;
    if truncated < value {
        truncated + 1.0
    } else {
        truncated
    }
}

fn scale_with(resource: &Resource, factor: f64, round: fn(f64) -> f64) -> Resource {
    let scale = |value: i64| -> i64 {
        let scaled = round(value as f64 * factor);
        if scaled >= i64::MAX as f64 {
            i64::MAX
        } else {
            scaled as i64
        }
    };
    if resource.others().is_empty() {
        return Resource::new(scale(resource.memory_mb), scale(resource.vcores));
    }
    let mut out = Resource::new(scale(resource.memory_mb), scale(resource.vcores));
    for (name, value) in resource.others() {
        out.set(name, scale(*value));
    }
    out
}

/// A resource no limit ever stops: YARN's `Resources.unbounded()` for memory and vcores.
pub(crate) fn unbounded() -> Resource {
    Resource::new(i64::MAX / 4, i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::resource::GPU;

    const GB: i64 = 1024;

    #[test]
    fn class_names_select_the_calculator() {
        assert_eq!(
            ResourceCalculator::from_class_name(
                "org.apache.hadoop.yarn.util.resource.DominantResourceCalculator"
            ),
            Some(ResourceCalculator::Dominant)
        );
        assert_eq!(
            ResourceCalculator::from_class_name(DEFAULT_RESOURCE_CALCULATOR_CLASS),
            Some(ResourceCalculator::Default)
        );
        assert_eq!(
            ResourceCalculator::from_class_name("DominantResourceCalculator"),
            None
        );
        assert_eq!(
            ResourceCalculator::Dominant.class_name(),
            DOMINANT_RESOURCE_CALCULATOR_CLASS
        );
    }

    #[test]
    fn the_document_drf_example_has_a_memory_heavy_and_a_cpu_heavy_user() {
        // 100 CPUs and 10 TB; A's container is 2 CPUs and 300 GB, B's 6 CPUs and 100 GB.
        let cluster = Resource::new(10 * 1024 * GB, 100);
        let a = Resource::new(300 * GB, 2);
        let b = Resource::new(100 * GB, 6);
        let drf = ResourceCalculator::Dominant;
        assert!(
            (drf.share(&a, &cluster) - 0.029296875).abs() < 1e-9,
            "memory dominates A"
        );
        assert!(
            (drf.share(&b, &cluster) - 0.06).abs() < 1e-9,
            "CPU dominates B"
        );
        assert_eq!(drf.compare(&cluster, &b, &a), Ordering::Greater);
        // By memory alone, A's container is the larger one.
        assert_eq!(
            ResourceCalculator::Default.compare(&cluster, &b, &a),
            Ordering::Less
        );
    }

    #[test]
    fn dominant_share_counts_extra_types() {
        let cluster = Resource::new(100 * GB, 100).with(GPU, 4);
        let gpu_job = Resource::new(GB, 1).with(GPU, 2);
        assert_eq!(ResourceCalculator::Dominant.share(&gpu_job, &cluster), 0.5);
        assert_eq!(ResourceCalculator::Default.share(&gpu_job, &cluster), 0.01);
        let no_gpus = Resource::new(100 * GB, 100);
        assert!(ResourceCalculator::Dominant
            .share(&gpu_job, &no_gpus)
            .is_infinite());
    }

    #[test]
    fn fitting_within_a_limit_depends_on_the_calculator() {
        let limit = Resource::new(8 * GB, 2);
        let cpu_heavy = Resource::new(GB, 4);
        assert!(ResourceCalculator::Default.fits_within(&cpu_heavy, &limit));
        assert!(!ResourceCalculator::Dominant.fits_within(&cpu_heavy, &limit));
        assert!(!ResourceCalculator::Default.fits_within(&Resource::new(9 * GB, 1), &limit));
        let gpus = Resource::new(GB, 1).with(GPU, 3);
        assert!(
            ResourceCalculator::Dominant.fits_within(&gpus, &limit),
            "GPUs not limited"
        );
        assert!(!ResourceCalculator::Dominant.fits_within(&gpus, &limit.clone().with(GPU, 2)));
    }

    #[test]
    fn dominant_compare_breaks_ties_on_the_next_largest_share() {
        let cluster = Resource::new(100, 100);
        let a = Resource::new(50, 10);
        let b = Resource::new(10, 50);
        let c = Resource::new(50, 20);
        let drf = ResourceCalculator::Dominant;
        assert_eq!(drf.compare(&cluster, &a, &b), Ordering::Equal);
        assert_eq!(drf.compare(&cluster, &c, &a), Ordering::Greater);
        assert_eq!(drf.max(&cluster, &a, &c), &c);
        assert_eq!(drf.min(&cluster, &a, &c), &a);
    }

    #[test]
    fn floor_and_ceil_agree_with_the_library() {
        for value in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.9999,
            -2.9999,
            1e15 + 0.5,
            -1e15 - 0.5,
            1e18,
            -1e18,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(floor(value), value.floor(), "floor {value}");
            assert_eq!(ceil(value), value.ceil(), "ceil {value}");
        }
        assert!(floor(f64::NAN).is_nan() && ceil(f64::NAN).is_nan());
    }

    #[test]
    fn scaling_rounds_as_asked() {
        let r = Resource::new(1000, 3).with(GPU, 3);
        assert_eq!(scale_down(&r, 0.5), Resource::new(500, 1).with(GPU, 1));
        assert_eq!(scale_up(&r, 0.5), Resource::new(500, 2).with(GPU, 2));
        assert!(unbounded().memory_mb > 1 << 60);
    }
}
