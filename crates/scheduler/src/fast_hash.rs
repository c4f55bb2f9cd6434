//! A fast, deterministic hasher for the scheduler's maps keyed by ids (applications,
//! containers, nodes, hosts): the multiply-rotate scheme of rustc's FxHasher.
//!
//! The keys come from the RM itself (ids it issued, hosts of registered NodeManagers), not from
//! anyone who could choose them to collide, so SipHash's protection against flooding buys
//! nothing here and costs a large part of every lookup on the allocation path. The hasher has no
//! random state: the same keys inserted in the same order iterate in the same order.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u16(&mut self, value: u16) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the high bits best mixed; hashbrown takes its bucket from the low
        // bits and its tag from the top seven.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of(value: impl Hash) -> u64 {
        BuildHasherDefault::<FastHasher>::default().hash_one(value)
    }

    #[test]
    fn equal_keys_hash_equally_and_neighbours_differ() {
        assert_eq!(hash_of(("host1", 7)), hash_of(("host1", 7)));
        let hashes: HashSet<u64> = (0..10_000i64).map(hash_of).collect();
        assert_eq!(hashes.len(), 10_000);
        assert_ne!(hash_of("host0001"), hash_of("host0002"));
        assert_ne!(hash_of("ab"), hash_of("ab\0"));
    }

    #[test]
    fn sequential_ids_spread_over_buckets() {
        // The low bits pick the bucket: consecutive ids must not share them.
        let buckets: HashSet<u64> = (0..1024i32).map(|id| hash_of(id) & 1023).collect();
        assert!(buckets.len() > 600, "{} distinct buckets", buckets.len());
    }
}
