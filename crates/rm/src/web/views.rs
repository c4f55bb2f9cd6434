//! Fills the REST objects of `dao.rs` from the RM's core, under its lock. The figures are the
//! ones the RPC reports carry (`RmCore::application_report`), so `yarn application -status` and
//! `/ws/v1/cluster/apps/{id}` never disagree.

use spindle_types::states::{NodeState, YarnApplicationState};
use spindle_types::{ApplicationId, Resource};
use spindle_web::json::{EntryMap, JsonList};

use super::dao::*;
use crate::core::{RmApp, RmCore, RmNode, UsageBasis};
use crate::lifecycle::attempt::AttemptState;

/// What the views need besides the core: where this RM's web server is.
#[derive(Debug, Clone)]
pub(crate) struct WebContext {
    /// `host:port` of this RM's web server as others reach it (the proxy's redirects to its pages).
    pub(crate) web_address: String,
}

fn resource_of(proto: Option<&spindle_proto::yarn::ResourceProto>) -> (i64, i64) {
    proto
        .map(|r| (r.memory(), r.virtual_cores() as i64))
        .unwrap_or((0, 0))
}

fn entry_map(entries: &[spindle_proto::yarn::StringLongMapProto]) -> EntryMap {
    EntryMap(
        entries
            .iter()
            .map(|e| (e.key.clone(), e.value.to_string()))
            .collect(),
    )
}

/// The NM web page listing a container's logs.
pub(crate) fn container_logs_url(node_http: &str, container: &str, user: &str) -> String {
    format!("http://{node_http}/node/containerlogs/{container}/{user}")
}

/// `url` with `http://` in front unless it names its scheme (an AM may register `host:port`).
pub(crate) fn with_scheme(url: &str) -> std::borrow::Cow<'_, str> {
    if url.contains("://") {
        url.into()
    } else {
        format!("http://{url}").into()
    }
}

/// One application as `/apps/{id}` shows it.
pub(crate) fn app_info(core: &RmCore, app: &RmApp, now_ms: i64) -> AppInfo {
    app_info_with(core, app, now_ms, &mut UsageBasis::default())
}

/// [`app_info`] for one of many applications: what usage percentages divide by is worked out
/// once per queue for all of them.
pub(crate) fn app_info_with(
    core: &RmCore,
    app: &RmApp,
    now_ms: i64,
    basis: &mut UsageBasis,
) -> AppInfo {
    let report = core.application_report_on(app, now_ms, basis);
    let metrics = core.application_metrics(app, now_ms);
    let state = app.state.yarn_state();
    let attempt = app.current_attempt().and_then(|id| core.attempts.get(&id));
    let usage = report.app_resource_usage.clone().unwrap_or_default();
    let (allocated_mb, allocated_vcores) = resource_of(usage.used_resources.as_ref());
    let (reserved_mb, reserved_vcores) = resource_of(usage.reserved_resources.as_ref());
    // YARN's AppInfo: UNASSIGNED and no URL until the application runs, then the tracking URL
    // the RPC report carries (the proxy's), so that `/apps/{id}` and `getApplicationReport`
    // never disagree.
    let reported_url = report
        .tracking_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty() && *u != crate::core::UNAVAILABLE);
    let not_ready = reported_url.is_none()
        || matches!(
            state,
            YarnApplicationState::New
                | YarnApplicationState::NewSaving
                | YarnApplicationState::Submitted
                | YarnApplicationState::Accepted
        );
    let tracking_ui = if not_ready {
        "UNASSIGNED"
    } else if state.is_final() {
        "History"
    } else {
        "ApplicationMaster"
    };
    let tracking_url = reported_url
        .filter(|_| !not_ready)
        .map(|url| with_scheme(url).into_owned());
    let am_node = attempt.and_then(|a| a.am_node.as_ref().map(|n| (a, n)));
    let am_http = am_node.and_then(|(_, node)| core.nodes.get(node).map(RmNode::http_address));
    let am_logs = am_node.and_then(|(a, _)| {
        let container = a.am_container?;
        let http = am_http.clone()?;
        Some(container_logs_url(&http, &container.to_string(), &app.user))
    });
    let finished = if state.is_final() { app.finish_time } else { 0 };
    let elapsed = if app.start_time <= 0 {
        0
    } else if finished > 0 {
        finished - app.start_time
    } else {
        (now_ms - app.start_time).max(0)
    };
    AppInfo {
        id: app.id.to_string(),
        user: app.user.clone(),
        name: app.name.clone(),
        queue: app.reported_queue().to_string(),
        state: state.name(),
        final_status: app.final_status.name(),
        progress: report.progress.unwrap_or(0.0) * 100.0,
        tracking_ui,
        tracking_url,
        diagnostics: report.diagnostics.clone().unwrap_or_default(),
        cluster_id: core.settings.cluster_timestamp,
        application_type: app.application_type.clone(),
        application_tags: app.tags.join(","),
        priority: app.priority,
        started_time: app.start_time,
        launch_time: app.launch_time,
        finished_time: finished,
        elapsed_time: elapsed,
        am_container_logs: am_logs,
        am_host_http_address: am_http,
        am_rpc_address: attempt
            .filter(|a| a.rpc_port > 0 && a.host != "N/A")
            .map(|a| format!("{}:{}", a.host, a.rpc_port)),
        master_node_id: am_node.map(|(_, node)| node.to_string()),
        allocated_mb,
        allocated_v_cores: allocated_vcores,
        reserved_mb,
        reserved_v_cores: reserved_vcores,
        running_containers: usage.num_used_containers.unwrap_or(0),
        memory_seconds: usage.memory_seconds.unwrap_or(0),
        vcore_seconds: usage.vcore_seconds.unwrap_or(0),
        queue_usage_percentage: usage.queue_usage_percentage.unwrap_or(0.0),
        cluster_usage_percentage: usage.cluster_usage_percentage.unwrap_or(0.0),
        resource_seconds_map: entry_map(&usage.application_resource_usage_map),
        preempted_resource_mb: metrics.preempted_resource.memory_mb,
        preempted_resource_v_cores: metrics.preempted_resource.vcores,
        num_non_am_container_preempted: metrics.preempted_non_am_containers,
        num_am_container_preempted: metrics.preempted_am_containers,
        preempted_memory_seconds: usage.preempted_memory_seconds.unwrap_or(0),
        preempted_vcore_seconds: usage.preempted_vcore_seconds.unwrap_or(0),
        preempted_resource_seconds_map: entry_map(&usage.application_preempted_resource_usage_map),
        log_aggregation_status: core.log_aggregation_status(app, now_ms).name(),
        unmanaged_application: app.submission.unmanaged_am(),
        app_node_label_expression: String::new(),
        am_node_label_expression: String::new(),
        timeouts: JsonList::new(
            "timeout",
            vec![Timeout {
                kind: "LIFETIME",
                expiry_time: "UNLIMITED",
                remaining_time_in_seconds: -1,
            }],
        ),
    }
}

/// The attempts of an application, oldest first.
pub(crate) fn attempt_infos(core: &RmCore, app: &RmApp) -> Vec<AppAttemptInfo> {
    app.attempts
        .iter()
        .filter_map(|id| core.attempts.get(id))
        .map(|a| {
            let node = a.am_node.as_ref();
            let http = node
                .and_then(|n| core.nodes.get(n))
                .map(RmNode::http_address)
                .unwrap_or_default();
            let container = a.am_container.map(|c| c.to_string()).unwrap_or_default();
            AppAttemptInfo {
                id: a.id.attempt_id,
                start_time: a.start_time,
                finished_time: a.finish_time,
                logs_link: if http.is_empty() || container.is_empty() {
                    String::new()
                } else {
                    container_logs_url(&http, &container, &app.user)
                },
                container_id: container,
                node_http_address: http,
                node_id: node.map(|n| n.to_string()).unwrap_or_default(),
                blacklisted_nodes: String::new(),
                nodes_blacklisted_by_system: String::new(),
                app_attempt_id: a.id.to_string(),
                app_attempt_state: attempt_state_name(a.state),
            }
        })
        .collect()
}

pub(crate) fn attempt_state_name(state: AttemptState) -> &'static str {
    match state {
        AttemptState::Scheduled => "SCHEDULED",
        AttemptState::Allocated => "ALLOCATED",
        AttemptState::Launched => "LAUNCHED",
        AttemptState::Running => "RUNNING",
        AttemptState::Finished => "FINISHED",
        AttemptState::Failed => "FAILED",
        AttemptState::Killed => "KILLED",
    }
}

/// The live containers of one attempt.
pub(crate) fn container_infos(
    core: &RmCore,
    app: &RmApp,
    attempt: spindle_types::ApplicationAttemptId,
    now_ms: i64,
) -> Vec<ContainerInfo> {
    let Some(record) = core.attempts.get(&attempt) else {
        return Vec::new();
    };
    record
        .live_containers
        .iter()
        .filter_map(|id| core.containers.get(id).map(|c| (id, c)))
        .map(|(id, c)| {
            let http = core
                .nodes
                .get(&c.node)
                .map(RmNode::http_address)
                .unwrap_or_default();
            ContainerInfo {
                container_id: id.to_string(),
                allocated_mb: c.resource.memory_mb,
                allocated_v_cores: c.resource.vcores,
                assigned_node_id: c.node.to_string(),
                priority: c.priority,
                started_time: c.creation_time,
                finished_time: 0,
                elapsed_time: (now_ms - c.creation_time).max(0),
                diagnostics_info: String::new(),
                log_url: container_logs_url(&http, &id.to_string(), &app.user),
                container_exit_status: 0,
                container_state: "RUNNING",
                node_http_address: if http.is_empty() {
                    String::new()
                } else {
                    format!("http://{http}")
                },
            }
        })
        .collect()
}

pub(crate) fn node_info(node: &RmNode) -> NodeInfo {
    let available = node.capability.sub(&node.used);
    let active = matches!(
        node.state,
        NodeState::Running | NodeState::Unhealthy | NodeState::New | NodeState::Decommissioning
    );
    NodeInfo {
        rack: node.rack.to_string(),
        state: node.state.name(),
        id: node.id.to_string(),
        node_host_name: node.id.host.to_string(),
        node_http_address: if active {
            node.http_address()
        } else {
            String::new()
        },
        last_health_update: node.last_health_report_time,
        version: node.nm_version.to_string(),
        health_report: node.health_report().to_string(),
        num_containers: node.num_containers,
        used_memory_mb: node.used.memory_mb,
        avail_memory_mb: available.memory_mb,
        used_virtual_cores: node.used.vcores,
        available_virtual_cores: available.vcores,
        used_resource: (&node.used).into(),
        available_resource: (&available).into(),
        total_resource: (&node.capability).into(),
    }
}

/// `/metrics`: applications by state, resources and nodes by state.
pub(crate) fn cluster_metrics(core: &RmCore) -> ClusterMetricsInfo {
    let mut m = ClusterMetricsInfo::default();
    for app in core.apps.values() {
        m.apps_submitted += 1;
        match app.state.yarn_state() {
            YarnApplicationState::Running => m.apps_running += 1,
            YarnApplicationState::Finished => m.apps_completed += 1,
            YarnApplicationState::Failed => {
                m.apps_completed += 1;
                m.apps_failed += 1
            }
            YarnApplicationState::Killed => {
                m.apps_completed += 1;
                m.apps_killed += 1
            }
            _ => m.apps_pending += 1,
        }
    }
    let scheduler = core.scheduler.scheduler().cluster_metrics();
    let reserved: &Resource = &scheduler.reserved;
    m.reserved_mb = reserved.memory_mb;
    m.reserved_virtual_cores = reserved.vcores;
    m.available_mb = scheduler.available.memory_mb.max(0);
    m.available_virtual_cores = scheduler.available.vcores.max(0);
    m.allocated_mb = scheduler.allocated.memory_mb;
    m.allocated_virtual_cores = scheduler.allocated.vcores;
    m.total_mb = scheduler.total.memory_mb;
    m.total_virtual_cores = scheduler.total.vcores;
    m.containers_allocated = scheduler.num_containers as i64;
    for node in core.nodes.values() {
        m.total_nodes += 1;
        match node.state {
            NodeState::Running | NodeState::New => m.active_nodes += 1,
            NodeState::Lost => m.lost_nodes += 1,
            NodeState::Unhealthy => m.unhealthy_nodes += 1,
            NodeState::Decommissioning => m.decommissioning_nodes += 1,
            NodeState::Decommissioned => m.decommissioned_nodes += 1,
            NodeState::Rebooted => m.rebooted_nodes += 1,
            NodeState::Shutdown => m.shutdown_nodes += 1,
        }
    }
    m
}

/// The internal state `GET /apps/{id}/state` answers (YARN's RMAppState names).
pub(crate) fn app_state_name(core: &RmCore, id: ApplicationId) -> Option<&'static str> {
    let app = core.apps.get(&id)?;
    Some(app.state.yarn_state().name())
}
