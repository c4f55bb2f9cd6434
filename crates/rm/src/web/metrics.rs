//! `GET /prom`: the RM's metrics in Prometheus' text format with Hadoop's names, read from the
//! core at scrape time: ClusterMetrics (NodeManagers by state), QueueMetrics per queue and per
//! queue and user (applications by state, allocated, pending and available resources, active
//! users and applications), RpcActivity and RpcDetailedActivity per port (calls, queue and
//! processing time per method, calls refused as too busy), and Spindle's own latency of the
//! core: how long calls wait for it and hold it (`spindle_rm_core_*_seconds`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use spindle_types::states::YarnApplicationState;
use spindle_types::Resource;
use spindle_web::prom::{hadoop_name, PromText};
use spindle_web::WebError;

use super::{views, RmWeb};
use crate::core::RmCore;

/// Applications and resources of one queue, or of one user in one queue.
#[derive(Debug, Default, Clone)]
struct Usage {
    submitted: u64,
    running: u64,
    pending: u64,
    completed: u64,
    failed: u64,
    killed: u64,
    allocated: Resource,
    containers: u64,
}

fn count_app(usage: &mut Usage, state: YarnApplicationState) {
    usage.submitted += 1;
    match state {
        YarnApplicationState::Running => usage.running += 1,
        YarnApplicationState::Finished => usage.completed += 1,
        YarnApplicationState::Failed => usage.failed += 1,
        YarnApplicationState::Killed => usage.killed += 1,
        _ => usage.pending += 1,
    }
}

fn queue_samples(text: &mut PromText, labels: &[(&str, &str)], usage: &Usage) {
    let name = |attribute: &str| hadoop_name("QueueMetrics", attribute);
    for (attribute, value) in [
        ("AppsSubmitted", usage.submitted),
        ("AppsRunning", usage.running),
        ("AppsPending", usage.pending),
        ("AppsCompleted", usage.completed),
        ("AppsFailed", usage.failed),
        ("AppsKilled", usage.killed),
        ("AllocatedContainers", usage.containers),
    ] {
        text.gauge(&name(attribute), labels, value as f64);
    }
    text.gauge(
        &name("AllocatedMB"),
        labels,
        usage.allocated.memory_mb as f64,
    );
    text.gauge(
        &name("AllocatedVCores"),
        labels,
        usage.allocated.vcores as f64,
    );
}

/// The samples read from the core.
fn core_samples(core: &RmCore, text: &mut PromText) {
    let cluster = views::cluster_metrics(core);
    for (attribute, value) in [
        ("NumActiveNMs", cluster.active_nodes),
        ("NumDecommissioningNMs", cluster.decommissioning_nodes),
        ("NumDecommissionedNMs", cluster.decommissioned_nodes),
        ("NumLostNMs", cluster.lost_nodes),
        ("NumUnhealthyNMs", cluster.unhealthy_nodes),
        ("NumRebootedNMs", cluster.rebooted_nodes),
        ("NumShutdownNMs", cluster.shutdown_nodes),
    ] {
        text.gauge(&hadoop_name("ClusterMetrics", attribute), &[], value as f64);
    }
    let scheduler = core.scheduler.scheduler();
    let totals = scheduler.cluster_metrics();
    // Applications, and live containers' resources, by leaf queue and by (leaf, user).
    let mut by_queue: BTreeMap<String, Usage> = BTreeMap::new();
    let mut by_user: BTreeMap<(String, String), Usage> = BTreeMap::new();
    // Reports name a Capacity queue by its leaf name (`default`), metrics by path.
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for app in core.apps.values() {
        let reported = app.reported_queue();
        let queue = paths
            .entry(reported.to_string())
            .or_insert_with(|| {
                scheduler
                    .queue_info(reported)
                    .map(|info| info.path)
                    .unwrap_or_else(|| reported.to_string())
            })
            .clone();
        let state = app.state.yarn_state();
        count_app(by_queue.entry(queue.clone()).or_default(), state);
        let user = by_user
            .entry((queue.clone(), app.user.clone()))
            .or_default();
        count_app(user, state);
        if let Some(usage) = scheduler.application_usage(app.id) {
            for usage_of in [
                by_queue.get_mut(&queue).expect("just added"),
                by_user
                    .get_mut(&(queue.clone(), app.user.clone()))
                    .expect("just added"),
            ] {
                usage_of.allocated.add_assign(&usage.allocated);
                usage_of.containers += usage.containers.len() as u64;
            }
        }
    }
    for queue in scheduler.queue_infos() {
        // A parent's figures are its leaves' (an application's queue is a leaf).
        let prefix = format!("{}.", queue.path);
        let mut usage = Usage::default();
        for (leaf, leaf_usage) in &by_queue {
            if *leaf == queue.path || leaf.starts_with(&prefix) || queue.path == "root" {
                usage.submitted += leaf_usage.submitted;
                usage.running += leaf_usage.running;
                usage.pending += leaf_usage.pending;
                usage.completed += leaf_usage.completed;
                usage.failed += leaf_usage.failed;
                usage.killed += leaf_usage.killed;
                usage.containers += leaf_usage.containers;
            }
        }
        // Allocation as the scheduler counts it for the queue (kept containers included).
        usage.allocated = queue.used.clone();
        let labels = [("queue", queue.path.as_str())];
        queue_samples(text, &labels, &usage);
        let name = |attribute: &str| hadoop_name("QueueMetrics", attribute);
        let limit = queue
            .maximum
            .clone()
            .unwrap_or_else(|| totals.total.clone());
        let available = limit.sub(&queue.used);
        text.gauge(
            &name("AvailableMB"),
            &labels,
            available.memory_mb.max(0) as f64,
        );
        text.gauge(
            &name("AvailableVCores"),
            &labels,
            available.vcores.max(0) as f64,
        );
        text.gauge(&name("PendingMB"), &labels, queue.pending.memory_mb as f64);
        text.gauge(&name("PendingVCores"), &labels, queue.pending.vcores as f64);
        text.gauge(&name("ActiveUsers"), &labels, queue.active_users as f64);
        text.gauge(
            &name("ActiveApplications"),
            &labels,
            queue.num_runnable as f64,
        );
    }
    for ((queue, user), usage) in &by_user {
        queue_samples(text, &[("queue", queue), ("user", user)], usage);
    }
}

pub(super) async fn prometheus(State(web): State<Arc<RmWeb>>) -> Result<Response, WebError> {
    if !web.setup.prometheus {
        return Err(WebError::not_found(
            "the metrics endpoint is disabled (hadoop.prometheus.endpoint.enabled=false)",
        ));
    }
    let shared = web.core()?;
    let mut text = PromText::default();
    shared.read(|core| core_samples(core, &mut text));
    let telemetry = &shared.telemetry;
    text.histogram("spindle_rm_core_wait_seconds", &[], &telemetry.core_wait);
    text.histogram("spindle_rm_core_hold_seconds", &[], &telemetry.core_hold);
    for (port, metrics) in telemetry.rpc.get().into_iter().flatten() {
        spindle_web::prom::rpc_samples(&mut text, port, metrics);
    }
    Ok((
        [(header::CONTENT_TYPE, spindle_web::prom::CONTENT_TYPE)],
        text.finish(),
    )
        .into_response())
}
