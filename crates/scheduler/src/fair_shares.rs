//! Weighted fair division with minimum and maximum shares (YARN's ComputeFairShares): find the
//! weight-to-resource ratio R such that each entry gets clamp(weight x R, min, max) and the shares
//! add up to the total (or to the sum of the maximums, when that is smaller).

/// One participant of a division.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ShareEntry {
    pub(crate) weight: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

fn share_at(entry: &ShareEntry, ratio: f64) -> f64 {
    (entry.weight * ratio).max(entry.min).min(entry.max)
}

/// The shares of `entries` in `total`. Minimums are honoured first even when they add up to
/// more than the total (as YARN does); entries of weight 0 get only their minimum.
pub(crate) fn distribute(total: f64, entries: &[ShareEntry]) -> Vec<f64> {
    if entries.is_empty() {
        return Vec::new();
    }
    let total_max: f64 = entries.iter().map(|entry| entry.max).sum();
    let target = total.min(total_max).max(0.0);
    // Weights alone (no minimum, no maximum that binds): a plain proportional division.
    let total_weight: f64 = entries.iter().map(|entry| entry.weight).sum();
    if total_weight > 0.0 && entries.iter().all(|entry| entry.min <= 0.0) {
        let ratio = target / total_weight;
        if entries
            .iter()
            .all(|entry| entry.weight * ratio <= entry.max)
        {
            return entries.iter().map(|entry| entry.weight * ratio).collect();
        }
    }
    let ratio = crossing_ratio(target, entries);
    entries.iter().map(|entry| share_at(entry, ratio)).collect()
}

/// The smallest ratio at which the shares add up to `target` (or the ratio from which none
/// grows any more): used(r) = sum of clamp(weight x r, min, max) is piecewise linear, so a sweep
/// over the points where an entry starts or stops growing finds it in O(n log n).
fn crossing_ratio(target: f64, entries: &[ShareEntry]) -> f64 {
    // (ratio, change of slope) where an entry starts (+weight) or stops (-weight) growing.
    let mut events: Vec<(f64, f64)> = Vec::with_capacity(entries.len() * 2);
    let mut used = 0.0;
    let mut slope = 0.0;
    for entry in entries {
        used += share_at(entry, 0.0);
        if entry.weight <= 0.0 || entry.min >= entry.max {
            continue;
        }
        let start = entry.min.max(0.0) / entry.weight;
        let stop = entry.max / entry.weight;
        if start <= 0.0 {
            slope += entry.weight;
        } else {
            events.push((start, entry.weight));
        }
        if stop.is_finite() {
            events.push((stop, -entry.weight));
        }
    }
    if used >= target {
        return 0.0;
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ratio = 0.0;
    for (point, change) in events {
        let at_point = used + slope * (point - ratio);
        if at_point >= target && slope > 0.0 {
            return ratio + (target - used) / slope;
        }
        used = at_point;
        ratio = point;
        slope += change;
    }
    if slope > 0.0 {
        ratio + (target - used) / slope
    } else {
        ratio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(weight: f64, min: f64, max: f64) -> ShareEntry {
        ShareEntry { weight, min, max }
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn weights_divide_the_total() {
        let shares = distribute(
            100.0,
            &[entry(40.0, 0.0, f64::MAX), entry(60.0, 0.0, f64::MAX)],
        );
        assert!(close(&shares, &[40.0, 60.0]), "{shares:?}");
    }

    #[test]
    fn minimums_and_maximums_bend_the_division() {
        let shares = distribute(
            100.0,
            &[
                entry(1.0, 50.0, f64::MAX),
                entry(1.0, 0.0, 10.0),
                entry(1.0, 0.0, f64::MAX),
            ],
        );
        assert!(close(&shares, &[50.0, 10.0, 40.0]), "{shares:?}");
        // Everyone capped: the total is not reached.
        let shares = distribute(100.0, &[entry(1.0, 0.0, 20.0), entry(1.0, 0.0, 30.0)]);
        assert!(close(&shares, &[20.0, 30.0]), "{shares:?}");
        // Weight zero gets its minimum only.
        let shares = distribute(
            100.0,
            &[entry(0.0, 5.0, f64::MAX), entry(1.0, 0.0, f64::MAX)],
        );
        assert!(close(&shares, &[5.0, 95.0]), "{shares:?}");
        assert!(distribute(10.0, &[]).is_empty());
    }

    #[test]
    fn the_shares_add_up_to_the_total_whatever_the_bounds() {
        // A small deterministic generator: weights, minimums and maximums of every kind.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound) as f64
        };
        for _ in 0..2_000 {
            let count = 1 + next(12) as usize;
            let entries: Vec<ShareEntry> = (0..count)
                .map(|_| {
                    let min = if next(3) == 0.0 { next(50) } else { 0.0 };
                    let max = if next(4) == 0.0 {
                        f64::MAX
                    } else {
                        min + next(200)
                    };
                    entry(next(5), min, max)
                })
                .collect();
            let total = next(1_000);
            let shares = distribute(total, &entries);
            let sum: f64 = shares.iter().sum();
            let mins: f64 = entries.iter().map(|e| e.min.min(e.max)).sum();
            // Entries of weight 0 never grow past their minimum.
            let maxes: f64 = entries
                .iter()
                .map(|e| {
                    if e.weight > 0.0 {
                        e.max
                    } else {
                        e.min.min(e.max)
                    }
                })
                .sum();
            let growable = entries.iter().any(|e| e.weight > 0.0 && e.max > e.min);
            let expected = total.min(maxes).max(mins);
            if growable || mins >= total {
                assert!(
                    (sum - expected).abs() < 1e-6 * expected.max(1.0)
                        || (!growable && sum <= expected),
                    "{entries:?} in {total}: {shares:?} add up to {sum}, not {expected}"
                );
            }
            for (share, entry) in shares.iter().zip(&entries) {
                assert!(*share <= entry.max && *share >= entry.min.min(entry.max) - 1e-9);
            }
        }
    }
}
