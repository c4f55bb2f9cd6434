//! Prometheus text exposition for the daemons' `/prom` endpoints, with Hadoop's metric names
//! (record name + attribute, split before capitals, `_`-joined, lower case: `ClusterMetrics` +
//! `NumActiveNMs` = `cluster_metrics_num_active_n_ms`) so that dashboards built for Hadoop 3.3's
//! endpoint keep working. Values are read from the daemon's state at scrape time; the one
//! measured distribution (a latency histogram) is kept in atomics.

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `record` and `attribute` named as Hadoop's Prometheus sink names them.
pub fn hadoop_name(record: &str, attribute: &str) -> String {
    format!("{}_{}", snake(record), snake(attribute))
}

fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// A scrape's text, family by family.
#[derive(Debug, Default)]
pub struct PromText {
    out: String,
    typed: HashSet<String>,
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl PromText {
    /// One sample; the family's `# TYPE` line is written before its first sample.
    pub fn sample(&mut self, kind: Kind, name: &str, labels: &[(&str, &str)], value: f64) {
        if self.typed.insert(name.to_string()) {
            let kind = match kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
            };
            let _ = writeln!(self.out, "# TYPE {name} {kind}");
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    pub fn gauge(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(Kind::Gauge, name, labels, value);
    }

    pub fn counter(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(Kind::Counter, name, labels, value);
    }

    /// A histogram family (`_bucket`, `_sum`, `_count`).
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], histogram: &Histogram) {
        if self.typed.insert(name.to_string()) {
            let _ = writeln!(self.out, "# TYPE {name} histogram");
        }
        let mut cumulative = 0;
        let label_text = |extra: Option<String>| {
            let mut parts: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            parts.extend(extra);
            if parts.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", parts.join(","))
            }
        };
        for (i, bound) in BUCKETS_SECONDS.iter().enumerate() {
            cumulative += histogram.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                self.out,
                "{name}_bucket{} {cumulative}",
                label_text(Some(format!("le=\"{bound}\"")))
            );
        }
        let count = histogram.count.load(Ordering::Relaxed);
        let _ = writeln!(
            self.out,
            "{name}_bucket{} {count}",
            label_text(Some("le=\"+Inf\"".into()))
        );
        let sum = histogram.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(self.out, "{name}_sum{} {sum}", label_text(None));
        let _ = writeln!(self.out, "{name}_count{} {count}", label_text(None));
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// One IPC port's RpcActivity (calls, queue and processing time) and RpcDetailedActivity (per
/// method) samples, labelled with `port`.
pub fn rpc_samples(text: &mut PromText, port: &str, metrics: &spindle_ipc::RpcMetrics) {
    let mut ops = 0u64;
    let mut queue_micros = 0u64;
    let mut processing_micros = 0u64;
    for ((protocol, method), totals) in metrics.snapshot() {
        ops += totals.calls;
        queue_micros += totals.queue_micros;
        processing_micros += totals.processing_micros;
        let labels = [("port", port), ("protocol", protocol.as_str())];
        // Method names come from callers: only letters and digits reach a metric name.
        let method: String = method
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let detailed =
            |suffix: &str| hadoop_name("RpcDetailedActivity", &format!("{method}{suffix}"));
        text.counter(&detailed("NumOps"), &labels, totals.calls as f64);
        text.gauge(
            &detailed("AvgTime"),
            &labels,
            average_ms(totals.processing_micros, totals.calls),
        );
        text.counter(&detailed("Failures"), &labels, totals.failures as f64);
    }
    let labels = [("port", port)];
    let name = |attribute: &str| hadoop_name("RpcActivity", attribute);
    text.counter(&name("RpcQueueTimeNumOps"), &labels, ops as f64);
    text.gauge(
        &name("RpcQueueTimeAvgTime"),
        &labels,
        average_ms(queue_micros, ops),
    );
    text.counter(&name("RpcProcessingTimeNumOps"), &labels, ops as f64);
    text.gauge(
        &name("RpcProcessingTimeAvgTime"),
        &labels,
        average_ms(processing_micros, ops),
    );
    text.counter(
        &name("RpcServerTooBusy"),
        &labels,
        metrics.too_busy() as f64,
    );
}

fn average_ms(total_micros: u64, ops: u64) -> f64 {
    if ops == 0 {
        0.0
    } else {
        total_micros as f64 / ops as f64 / 1000.0
    }
}

/// Upper bounds of the latency histogram's buckets, in seconds.
pub const BUCKETS_SECONDS: [f64; 10] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0,
];

/// A latency distribution updated without locks.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_SECONDS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS_SECONDS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_hadoops_rule() {
        assert_eq!(
            hadoop_name("ClusterMetrics", "NumActiveNMs"),
            "cluster_metrics_num_active_n_ms"
        );
        assert_eq!(
            hadoop_name("QueueMetrics", "AllocatedMB"),
            "queue_metrics_allocated_mb"
        );
        assert_eq!(
            hadoop_name("QueueMetrics", "AllocatedVCores"),
            "queue_metrics_allocated_v_cores"
        );
        assert_eq!(
            hadoop_name("QueueMetrics", "AppsSubmitted"),
            "queue_metrics_apps_submitted"
        );
        assert_eq!(
            hadoop_name("RpcActivity", "RpcQueueTimeNumOps"),
            "rpc_activity_rpc_queue_time_num_ops"
        );
    }

    #[test]
    fn text_has_one_type_line_per_family_and_escaped_labels() {
        let mut text = PromText::default();
        text.gauge("queue_metrics_allocated_mb", &[("queue", "root.a")], 1024.0);
        text.gauge(
            "queue_metrics_allocated_mb",
            &[("queue", "root.\"b\"")],
            0.0,
        );
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(20));
        histogram.observe(Duration::from_secs(2));
        text.histogram("spindle_rm_core_call_seconds", &[], &histogram);
        let out = text.finish();
        assert_eq!(
            out.matches("# TYPE queue_metrics_allocated_mb gauge")
                .count(),
            1
        );
        assert!(
            out.contains("queue_metrics_allocated_mb{queue=\"root.a\"} 1024"),
            "{out}"
        );
        assert!(out.contains("queue=\"root.\\\"b\\\"\""), "{out}");
        assert!(
            out.contains("spindle_rm_core_call_seconds_bucket{le=\"0.00005\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("spindle_rm_core_call_seconds_bucket{le=\"+Inf\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("spindle_rm_core_call_seconds_count 2"),
            "{out}"
        );
    }
}
