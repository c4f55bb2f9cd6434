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

fn used_at(entries: &[ShareEntry], ratio: f64) -> f64 {
    entries.iter().map(|entry| share_at(entry, ratio)).sum()
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
    let mut high = 1.0;
    let mut rounds = 0;
    while used_at(entries, high) < target && rounds < 1100 {
        high *= 2.0;
        rounds += 1;
    }
    let mut low = 0.0;
    for _ in 0..64 {
        let middle = (low + high) / 2.0;
        if used_at(entries, middle) < target {
            low = middle;
        } else {
            high = middle;
        }
    }
    entries.iter().map(|entry| share_at(entry, high)).collect()
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
}
