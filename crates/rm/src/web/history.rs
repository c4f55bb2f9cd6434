//! Per-queue usage over time for the web UI's charts: every [`SAMPLE_INTERVAL`] the RM records
//! each queue's used memory and vcores (and its guarantee), keeping the last [`SAMPLES`] samples
//! (an hour). Bounded: a fixed number of samples per queue, and a queue that no longer exists is
//! dropped at the next sample.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// How often queues are sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// Samples kept per queue (one hour at the interval above).
pub const SAMPLES: usize = 360;

/// One queue's usage at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) at_ms: i64,
    pub(crate) used_mb: i64,
    pub(crate) used_vcores: i64,
    pub(crate) guaranteed_mb: i64,
}

/// The samples of every queue.
#[derive(Debug, Default)]
pub(crate) struct UsageHistory {
    queues: Mutex<BTreeMap<String, VecDeque<Point>>>,
}

impl UsageHistory {
    /// Records one sample: `(queue path, used MB, used vcores, guaranteed MB)` for every queue
    /// that exists now.
    pub(crate) fn record(&self, at_ms: i64, queues: Vec<(String, i64, i64, i64)>) {
        let mut history = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let present: std::collections::HashSet<&str> =
            queues.iter().map(|(path, ..)| path.as_str()).collect();
        history.retain(|path, _| present.contains(path.as_str()));
        for (path, used_mb, used_vcores, guaranteed_mb) in queues {
            let points = history.entry(path).or_default();
            if points.len() == SAMPLES {
                points.pop_front();
            }
            points.push_back(Point {
                at_ms,
                used_mb,
                used_vcores,
                guaranteed_mb,
            });
        }
    }

    /// The samples of `queue`, oldest first.
    pub(crate) fn of(&self, queue: &str) -> Vec<Point> {
        self.queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(queue)
            .map(|points| points.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// An SVG line chart of used memory (and the guarantee, dashed) against time, `width`×`height`
/// pixels; `total_mb` is the top of the scale.
pub(crate) fn svg_chart(points: &[Point], total_mb: i64, width: u32, height: u32) -> String {
    let mut svg = format!(
        r##"<svg class="usage" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><rect width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>"##
    );
    if points.len() >= 2 && total_mb > 0 {
        let first = points[0].at_ms;
        let span = (points[points.len() - 1].at_ms - first).max(1) as f64;
        let x = |at: i64| (at - first) as f64 / span * f64::from(width);
        let y = |mb: i64| {
            f64::from(height) - (mb.clamp(0, total_mb) as f64 / total_mb as f64) * f64::from(height)
        };
        let line = |value: &dyn Fn(&Point) -> i64| {
            points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.at_ms), y(value(p))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        svg.push_str(&format!(
            r##"<polyline fill="none" stroke="#999" stroke-dasharray="4 3" points="{}"/>"##,
            line(&|p| p.guaranteed_mb)
        ));
        svg.push_str(&format!(
            r##"<polyline fill="none" stroke="#2a6fdb" stroke-width="2" points="{}"/>"##,
            line(&|p| p.used_mb)
        ));
    } else {
        svg.push_str(&format!(
            r##"<text x="8" y="{}" fill="#777" font-size="12">collecting samples (one every {} s)</text>"##,
            height / 2,
            SAMPLE_INTERVAL.as_secs()
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_bounded_and_gone_queues_forgotten() {
        let history = UsageHistory::default();
        for i in 0..(SAMPLES as i64 + 10) {
            history.record(
                i * 10_000,
                vec![("root.a".into(), i, 1, 100), ("root.b".into(), 0, 0, 0)],
            );
        }
        let a = history.of("root.a");
        assert_eq!(a.len(), SAMPLES);
        assert_eq!(a[0].used_mb, 10, "the oldest samples went first");
        history.record(0, vec![("root.a".into(), 1, 1, 1)]);
        assert!(history.of("root.b").is_empty());
    }

    #[test]
    fn chart_draws_used_and_guaranteed_lines() {
        let points: Vec<Point> = (0..3)
            .map(|i| Point {
                at_ms: i * 10_000,
                used_mb: i * 512,
                used_vcores: i,
                guaranteed_mb: 512,
            })
            .collect();
        let svg = svg_chart(&points, 1024, 300, 100);
        assert_eq!(svg.matches("<polyline").count(), 2);
        // The last point is at the right edge, at the top of the scale.
        assert!(svg.contains("300.0,0.0"), "{svg}");
        assert!(svg_chart(&points[..1], 1024, 300, 100).contains("collecting samples"));
    }
}
