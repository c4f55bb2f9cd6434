//! What one IPC server counts for its metrics (Hadoop's RpcActivity and RpcDetailedActivity):
//! calls, failures, time waiting for a reply slot and admission (queue time) and time running
//! (processing time), per protocol and method, and calls refused as too busy. Method names come
//! from callers, so at most [`MAX_METHODS`] are kept apart; any further name counts as `other`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Distinct (protocol, method) pairs kept apart.
pub const MAX_METHODS: usize = 256;

/// Totals of one method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodTotals {
    pub calls: u64,
    pub failures: u64,
    pub queue_micros: u64,
    pub processing_micros: u64,
}

/// The counters of one server, shared by its connections.
#[derive(Debug, Default)]
pub struct RpcMetrics {
    methods: Mutex<BTreeMap<(String, String), MethodTotals>>,
    too_busy: AtomicU64,
}

impl RpcMetrics {
    /// Records one call that ran.
    pub fn record(
        &self,
        protocol: &str,
        method: &str,
        queued: Duration,
        processing: Duration,
        failed: bool,
    ) {
        let short = protocol.rsplit('.').next().unwrap_or(protocol);
        let mut methods = self.methods.lock().unwrap_or_else(|p| p.into_inner());
        let key = (short.to_string(), method.to_string());
        let key = if methods.contains_key(&key) || methods.len() < MAX_METHODS {
            key
        } else {
            (short.to_string(), "other".to_string())
        };
        let totals = methods.entry(key).or_default();
        totals.calls += 1;
        totals.failures += u64::from(failed);
        totals.queue_micros += queued.as_micros() as u64;
        totals.processing_micros += processing.as_micros() as u64;
    }

    /// Records a call refused with "Server too busy".
    pub fn record_too_busy(&self) {
        self.too_busy.fetch_add(1, Ordering::Relaxed);
    }

    /// Every (protocol, method) with its totals, in order.
    pub fn snapshot(&self) -> Vec<((String, String), MethodTotals)> {
        self.methods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Calls refused as too busy since the server started.
    pub fn too_busy(&self) -> u64 {
        self.too_busy.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_per_method_and_caller_chosen_names_are_bounded() {
        let metrics = RpcMetrics::default();
        let ms = Duration::from_millis;
        metrics.record("a.b.ClientPB", "getApplications", ms(1), ms(3), false);
        metrics.record("a.b.ClientPB", "getApplications", ms(1), ms(5), true);
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot[0],
            (
                ("ClientPB".into(), "getApplications".into()),
                MethodTotals {
                    calls: 2,
                    failures: 1,
                    queue_micros: 2_000,
                    processing_micros: 8_000
                }
            )
        );
        for i in 0..1_000 {
            metrics.record("p", &format!("junk{i}"), ms(0), ms(0), true);
        }
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.len(), MAX_METHODS + 1);
        let other = snapshot
            .iter()
            .find(|((_, m), _)| m == "other")
            .expect("names past the bound count as other");
        assert_eq!(other.1.calls as usize, 1_000 - (MAX_METHODS - 1));
    }
}
