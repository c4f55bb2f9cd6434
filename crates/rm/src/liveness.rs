//! Liveness monitors with injected time: NMs and AMs that stop heartbeating expire.

use std::collections::HashMap;
use std::hash::Hash;

/// Tracks when each member was last heard from; `expired(now)` names those silent past the expiry.
#[derive(Debug)]
pub struct LivenessMonitor<K> {
    expiry_ms: i64,
    last_seen: HashMap<K, i64>,
}

impl<K: Clone + Eq + Hash + Ord> LivenessMonitor<K> {
    pub fn new(expiry_ms: i64) -> Self {
        Self {
            expiry_ms,
            last_seen: HashMap::new(),
        }
    }

    pub fn expiry_ms(&self) -> i64 {
        self.expiry_ms
    }

    /// Records a sign of life (registration or heartbeat) at `now_ms`.
    pub fn touch(&mut self, key: &K, now_ms: i64) {
        // Heartbeats touch known members: update in place rather than clone the key.
        match self.last_seen.get_mut(key) {
            Some(seen) => *seen = now_ms,
            None => {
                self.last_seen.insert(key.clone(), now_ms);
            }
        }
    }

    pub fn remove(&mut self, key: &K) {
        self.last_seen.remove(key);
    }

    /// Removes and returns, in a stable order, every member not heard from for longer than the expiry.
    pub fn take_expired(&mut self, now_ms: i64) -> Vec<K> {
        let mut expired: Vec<K> = self
            .last_seen
            .iter()
            .filter(|(_, &seen)| now_ms - seen > self.expiry_ms)
            .map(|(k, _)| k.clone())
            .collect();
        expired.sort();
        for k in &expired {
            self.last_seen.remove(k);
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_only_after_the_interval_and_only_once() {
        let mut m = LivenessMonitor::new(1000);
        m.touch(&"a", 0);
        m.touch(&"b", 500);
        assert!(m.take_expired(1000).is_empty());
        assert_eq!(m.take_expired(1001), vec!["a"]);
        assert!(m.take_expired(1200).is_empty());
        m.touch(&"b", 1400);
        assert!(m.take_expired(2000).is_empty());
        assert_eq!(m.take_expired(2401), vec!["b"]);
        m.touch(&"c", 0);
        m.remove(&"c");
        assert!(m.take_expired(10_000).is_empty());
    }
}
