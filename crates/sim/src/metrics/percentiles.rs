//! Distribution summaries (count, mean, nearest-rank percentiles, maximum) of millisecond values.

use serde::Serialize;

/// A distribution of milliseconds. Percentiles are nearest-rank values of the sample, so they
/// never decrease from p50 to max.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub mean: f64,
    pub min: i64,
    pub p50: i64,
    pub p90: i64,
    pub p95: i64,
    pub p99: i64,
    pub p999: i64,
    pub max: i64,
}

impl Percentiles {
    /// The summary of `values` (all zero for an empty sample).
    pub fn of(values: &[i64]) -> Self {
        if values.is_empty() {
            return Self {
                count: 0,
                mean: 0.0,
                min: 0,
                p50: 0,
                p90: 0,
                p95: 0,
                p99: 0,
                p999: 0,
                max: 0,
            };
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let rank = |quantile: f64| {
            let position = (quantile * sorted.len() as f64).ceil() as usize;
            sorted[position.clamp(1, sorted.len()) - 1]
        };
        let sum: i128 = sorted.iter().map(|&value| value as i128).sum();
        Self {
            count: sorted.len(),
            mean: round3(sum as f64 / sorted.len() as f64),
            min: sorted[0],
            p50: rank(0.50),
            p90: rank(0.90),
            p95: rank(0.95),
            p99: rank(0.99),
            p999: rank(0.999),
            max: sorted[sorted.len() - 1],
        }
    }

    /// The percentile points in order, with their labels, for tables and plots.
    pub fn points(&self) -> [(&'static str, i64); 6] {
        [
            ("p50", self.p50),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
            ("p99.9", self.p999),
            ("max", self.max),
        ]
    }
}

/// Rounds to 3 decimals so reports print the same digits everywhere.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<i64> = (1..=100).rev().collect();
        let summary = Percentiles::of(&values);
        assert_eq!(summary.count, 100);
        assert_eq!(summary.mean, 50.5);
        assert_eq!((summary.min, summary.p50, summary.p90), (1, 50, 90));
        assert_eq!((summary.p99, summary.p999, summary.max), (99, 100, 100));
        assert_eq!(Percentiles::of(&[7]).p50, 7);
        assert_eq!(Percentiles::of(&[]).count, 0);
    }
}
