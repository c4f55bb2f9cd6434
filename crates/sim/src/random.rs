//! A seeded random source whose sequence never changes across platforms or releases
//! (ChaCha8 plus distributions written out here), so a synthetic workload is reproducible.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mean and standard deviation of a positive quantity drawn log-normally (as SLS's synthetic
/// generator does: most values near the mean, a long tail of large ones, never negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    pub mean: f64,
    pub stddev: f64,
}

pub(crate) struct SeededRandom {
    generator: ChaCha8Rng,
}

impl SeededRandom {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            generator: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Uniform in [0, 1), 53 bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.generator.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..bound (`bound` > 0), without modulo bias worth noticing for small bounds.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        ((self.unit() * bound as f64) as usize).min(bound - 1)
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Exponentially distributed with the given mean (inter-arrival times of a Poisson process).
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// A standard normal draw (Box-Muller).
    fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A log-normal draw with the given mean and standard deviation; exactly the mean when
    /// the deviation is 0.
    pub(crate) fn log_normal(&mut self, distribution: LogNormal) -> f64 {
        let LogNormal { mean, stddev } = distribution;
        if mean <= 0.0 {
            return 0.0;
        }
        if stddev <= 0.0 {
            return mean;
        }
        let sigma_squared = (1.0 + (stddev * stddev) / (mean * mean)).ln();
        let mu = mean.ln() - sigma_squared / 2.0;
        (mu + sigma_squared.sqrt() * self.standard_normal()).exp()
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.unit() * total;
        for (index, weight) in weights.iter().enumerate() {
            if target < *weight {
                return index;
            }
            target -= weight;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_others_differ() {
        let draw = |seed| {
            let mut random = SeededRandom::new(seed);
            (0..5).map(|_| random.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn log_normal_draws_have_the_asked_mean_and_are_positive() {
        let mut random = SeededRandom::new(1);
        let distribution = LogNormal {
            mean: 100.0,
            stddev: 50.0,
        };
        let draws: Vec<f64> = (0..20_000)
            .map(|_| random.log_normal(distribution))
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 100.0).abs() < 3.0, "mean {mean}");
        assert!(draws.iter().all(|&value| value > 0.0));
    }

    #[test]
    fn weighted_choice_follows_the_weights() {
        let mut random = SeededRandom::new(3);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[random.weighted(&[1.0, 2.0, 0.0])] += 1;
        }
        assert_eq!(counts[2], 0);
        let ratio = counts[1] as f64 / counts[0] as f64;
        assert!((ratio - 2.0).abs() < 0.15, "ratio {ratio}");
    }
}
