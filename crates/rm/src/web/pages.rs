//! The RM's web UI: server-rendered pages, no script, every value escaped.
//!
//! - `/cluster`: resources used and free, applications and nodes by state, the top-level
//!   queues' usage over the last hour;
//! - `/cluster/apps[/<STATE>]?queue=&user=&page=`: applications, newest first, filtered and
//!   paged on the server (a page builds only its own rows, so 10,000 applications cost what 100
//!   do);
//! - `/cluster/app/<id>`: one application: attempts, live containers, diagnostics and the
//!   scheduler's explanation of why it waits, its logs and its tracking URL;
//! - `/cluster/scheduler`: the queue tree with guaranteed, maximum, used and fair share as bars;
//! - `/cluster/queue/<path>`: one queue, with its usage over time;
//! - `/cluster/nodes[/<STATE>]`: NodeManagers.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use spindle_scheduler::QueueInfo;
use spindle_types::states::{NodeState, YarnApplicationState};
use spindle_types::Resource;
use spindle_web::html::escape;
use spindle_web::WebError;

use super::history::svg_chart;
use super::{views, RmWeb};
use crate::core::RmCore;

/// Applications per page of `/cluster/apps`.
pub const APPS_PER_PAGE: usize = 100;

type Web = State<Arc<RmWeb>>;

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:0;color:#222}\
header{background:#1f3b5c;color:#fff;padding:.6em 1.2em}header a{color:#fff;margin-right:1.2em;text-decoration:none}\
main{padding:1em 1.5em}table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:14px}th{background:#f3f5f8}\
.bar{position:relative;width:240px;height:14px;background:#eef1f5;border:1px solid #c9d1db}\
.bar span{position:absolute;top:0;bottom:0;left:0}\
.used{background:#2a6fdb}.guaranteed{border-right:2px solid #222}.fair{border-right:2px dashed #d55}\
.max{background:#dfe6ef}.muted{color:#777}.cards span{display:inline-block;margin-right:2em}";

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title} - Spindle</title>\
<style>{STYLE}</style></head><body>\
<header><b>Spindle ResourceManager</b> &nbsp; <a href=\"/cluster\">Cluster</a>\
<a href=\"/cluster/apps\">Applications</a><a href=\"/cluster/scheduler\">Scheduler</a>\
<a href=\"/cluster/nodes\">Nodes</a><a href=\"/ws/v1/cluster\">REST</a></header>\
<main><h1>{title}</h1>\n{body}</main></body></html>\n",
        title = escape(title)
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// A bar of `width` px: used (filled), guaranteed (solid mark), fair share (dashed mark),
/// maximum (shaded), each a fraction of the cluster.
fn bar(used: f64, guaranteed: f64, fair: Option<f64>, maximum: f64) -> String {
    let pct = |f: f64| (f.clamp(0.0, 1.0) * 100.0).round();
    let mut html = format!(
        "<div class=\"bar\" title=\"used {:.1}% · guaranteed {:.1}% · max {:.1}%\">\
<span class=\"max\" style=\"width:{}%\"></span><span class=\"used\" style=\"width:{}%\"></span>\
<span class=\"guaranteed\" style=\"width:{}%\"></span>",
        used * 100.0,
        guaranteed * 100.0,
        maximum * 100.0,
        pct(maximum),
        pct(used),
        pct(guaranteed)
    );
    if let Some(fair) = fair {
        html.push_str(&format!(
            "<span class=\"fair\" style=\"width:{}%\"></span>",
            pct(fair)
        ));
    }
    html.push_str("</div>");
    html
}

fn fraction(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn query_value(query: &Option<String>, key: &str) -> Option<String> {
    query.as_deref().unwrap_or("").split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key)
            .then(|| spindle_web::auth::percent_decode(v))
            .filter(|v| !v.is_empty())
    })
}

pub(super) async fn root() -> Redirect {
    Redirect::to("/cluster")
}

/// Records every queue's usage every [`super::history::SAMPLE_INTERVAL`] while this RM is
/// active, until the web server (which holds `web`) is gone.
pub(super) fn start_sampling(web: &Arc<RmWeb>) {
    let weak = Arc::downgrade(web);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(super::history::SAMPLE_INTERVAL);
        loop {
            interval.tick().await;
            let Some(web) = weak.upgrade() else { return };
            let Ok(core) = web.core() else { continue };
            let queues = core.read(|c| {
                c.scheduler
                    .scheduler()
                    .queue_infos()
                    .into_iter()
                    .map(|q| {
                        (
                            q.path,
                            q.used.memory_mb,
                            q.used.vcores,
                            q.guaranteed.memory_mb,
                        )
                    })
                    .collect()
            });
            web.history.record(crate::service::now_ms(), queues);
        }
    });
}

pub(super) async fn overview(State(web): Web) -> Result<Response, WebError> {
    let core = web.core()?;
    let (metrics, states, top_queues, total) = core.read(|c| {
        let metrics = views::cluster_metrics(c);
        let mut states = [0usize; 8];
        for app in c.apps.values() {
            let state = app.state.yarn_state();
            if let Some(i) = YarnApplicationState::ALL.iter().position(|s| *s == state) {
                states[i] += 1;
            }
        }
        let scheduler = c.scheduler.scheduler();
        let total = scheduler.cluster_metrics().total;
        let root_children: Vec<String> = scheduler
            .queue_info("root")
            .map(|root| root.children)
            .unwrap_or_default();
        (metrics, states, root_children, total)
    });
    let mut body = String::from("<h2>Resources</h2><div class=\"cards\">");
    body.push_str(&format!(
        "<span id=\"memory\">Memory: <b>{}</b> MB used of {} MB ({} MB free)</span>",
        metrics.allocated_mb, metrics.total_mb, metrics.available_mb
    ));
    body.push_str(&format!(
        "<span id=\"vcores\">VCores: <b>{}</b> used of {}</span>",
        metrics.allocated_virtual_cores, metrics.total_virtual_cores
    ));
    body.push_str(&format!(
        "</div>{}",
        bar(
            fraction(metrics.allocated_mb, metrics.total_mb),
            1.0,
            None,
            1.0
        )
    ));
    body.push_str("<h2>Applications</h2><table id=\"apps-by-state\"><tr>");
    for state in YarnApplicationState::ALL {
        body.push_str(&format!(
            "<th><a href=\"/cluster/apps/{0}\">{0}</a></th>",
            state.name()
        ));
    }
    body.push_str("</tr><tr>");
    for count in states {
        body.push_str(&format!("<td>{count}</td>"));
    }
    body.push_str("</tr></table><h2>Nodes</h2><table id=\"nodes-by-state\"><tr>");
    for (name, count) in [
        ("RUNNING", metrics.active_nodes),
        ("UNHEALTHY", metrics.unhealthy_nodes),
        ("LOST", metrics.lost_nodes),
        ("DECOMMISSIONED", metrics.decommissioned_nodes),
        ("SHUTDOWN", metrics.shutdown_nodes),
    ] {
        body.push_str(&format!(
            "<th><a href=\"/cluster/nodes/{name}\">{name}</a></th><td>{count}</td>"
        ));
    }
    body.push_str("</tr></table><h2>Queues over the last hour</h2>");
    for queue in top_queues.iter().take(20) {
        let points = web.history.of(queue);
        body.push_str(&format!(
            "<div><a href=\"/cluster/queue/{0}\">{0}</a><br>{1}</div>",
            escape(queue),
            svg_chart(&points, total.memory_mb, 480, 80)
        ));
    }
    if top_queues.len() > 20 {
        body.push_str(&format!(
            "<p class=\"muted\">{} more queues on the <a href=\"/cluster/scheduler\">scheduler page</a>.</p>",
            top_queues.len() - 20
        ));
    }
    Ok(page("Cluster overview", &body))
}

/// One row of the applications table.
fn app_row(info: &super::dao::AppInfo) -> String {
    format!(
        "<tr><td><a href=\"/cluster/app/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td><td>{}</td></tr>\n",
        escape(&info.user),
        escape(&info.name),
        escape(&info.application_type),
        escape(&info.queue),
        info.state,
        info.progress,
        info.allocated_mb.max(0),
        escape(&info.diagnostics),
        id = escape(&info.id),
    )
}

async fn apps_page(
    web: Arc<RmWeb>,
    state: Option<String>,
    query: Option<String>,
) -> Result<Response, WebError> {
    let state =
        match state {
            None => None,
            Some(name) => Some(YarnApplicationState::from_name(&name).ok_or_else(|| {
                WebError::bad_request(format!("Invalid application state {name}"))
            })?),
        };
    let queue = query_value(&query, "queue");
    let user = query_value(&query, "user");
    let page_number: usize = query_value(&query, "page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let now = crate::service::now_ms();
    let (rows, matching) = web.core()?.read(|c| {
        let matching: Vec<&crate::core::RmApp> = c
            .apps
            .values()
            .rev()
            .filter(|a| state.is_none_or(|s| a.state.yarn_state() == s))
            .filter(|a| {
                queue.as_ref().is_none_or(|q| {
                    a.reported_queue() == q || a.reported_queue().rsplit('.').next() == Some(q)
                })
            })
            .filter(|a| user.as_ref().is_none_or(|u| a.user == *u))
            .collect();
        let mut basis = crate::core::UsageBasis::default();
        let rows: String = matching
            .iter()
            .skip((page_number - 1) * APPS_PER_PAGE)
            .take(APPS_PER_PAGE)
            .map(|app| app_row(&views::app_info_with(c, app, now, &mut basis)))
            .collect();
        (rows, matching.len())
    });
    let pages = matching.div_ceil(APPS_PER_PAGE).max(1);
    let title = match state {
        Some(state) => format!("{} applications", state.name()),
        None => "Applications".to_string(),
    };
    let mut body = format!(
        "<form method=\"get\">Queue <input name=\"queue\" value=\"{}\"> User <input name=\"user\" value=\"{}\"> <button>Filter</button></form>\
<p id=\"count\">{matching} applications, page {page_number} of {pages}</p>\
<table id=\"apps\"><tr><th>ID</th><th>User</th><th>Name</th><th>Type</th><th>Queue</th><th>State</th><th>Progress</th><th>Memory MB</th><th>Diagnostics</th></tr>\n{rows}</table>",
        escape(queue.as_deref().unwrap_or("")),
        escape(user.as_deref().unwrap_or("")),
    );
    let link = |n: usize| {
        let mut q = format!("?page={n}");
        if let Some(queue) = &queue {
            q.push_str(&format!("&queue={}", escape(queue)));
        }
        if let Some(user) = &user {
            q.push_str(&format!("&user={}", escape(user)));
        }
        q
    };
    if page_number > 1 {
        body.push_str(&format!(
            "<a href=\"{}\">&larr; newer</a> ",
            link(page_number - 1)
        ));
    }
    if page_number < pages {
        body.push_str(&format!(
            "<a href=\"{}\">older &rarr;</a>",
            link(page_number + 1)
        ));
    }
    Ok(page(&title, &body))
}

pub(super) async fn apps(State(web): Web, RawQuery(query): RawQuery) -> Result<Response, WebError> {
    apps_page(web, None, query).await
}

pub(super) async fn apps_in_state(
    State(web): Web,
    Path(state): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    apps_page(web, Some(state), query).await
}

pub(super) async fn app(State(web): Web, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = super::handlers::parse_app_id(&id)?;
    let now = crate::service::now_ms();
    let found = web.core()?.read(|c| {
        c.apps.get(&id).map(|app| {
            let info = views::app_info(c, app, now);
            let attempts = views::attempt_infos(c, app);
            let containers = app
                .current_attempt()
                .map(|attempt| views::container_infos(c, app, attempt, now))
                .unwrap_or_default();
            (info, attempts, containers)
        })
    });
    let (info, attempts, containers) =
        found.ok_or_else(|| WebError::not_found(format!("app with id: {id} not found")))?;
    let mut body = String::from("<table id=\"app\">");
    let link = |url: &Option<String>| match url {
        Some(url) => format!("<a href=\"{0}\">{0}</a>", escape(url)),
        None => "<span class=\"muted\">none yet</span>".to_string(),
    };
    for (name, value) in [
        ("User", escape(&info.user)),
        ("Name", escape(&info.name)),
        ("Application type", escape(&info.application_type)),
        ("Tags", escape(&info.application_tags)),
        (
            "Queue",
            format!(
                "<a href=\"/cluster/queue/{0}\">{0}</a>",
                escape(&info.queue)
            ),
        ),
        ("State", info.state.to_string()),
        ("Final status", info.final_status.to_string()),
        ("Progress", format!("{:.0}%", info.progress)),
        ("Started", info.started_time.to_string()),
        ("Elapsed", format!("{} s", info.elapsed_time / 1000)),
        ("Tracking URL", link(&info.tracking_url)),
        ("AM logs", link(&info.am_container_logs)),
        (
            "Resources",
            format!(
                "{} MB, {} vcores, {} containers; {} MB-seconds, {} vcore-seconds",
                info.allocated_mb.max(0),
                info.allocated_v_cores.max(0),
                info.running_containers.max(0),
                info.memory_seconds,
                info.vcore_seconds
            ),
        ),
        ("Diagnostics", escape(&info.diagnostics)),
    ] {
        body.push_str(&format!("<tr><th>{name}</th><td>{value}</td></tr>\n"));
    }
    body.push_str("</table><h2>Attempts</h2><table id=\"attempts\"><tr><th>Attempt</th><th>State</th><th>AM container</th><th>Node</th><th>Logs</th></tr>");
    for attempt in &attempts {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&attempt.app_attempt_id),
            attempt.app_attempt_state,
            escape(&attempt.container_id),
            escape(&attempt.node_id),
            if attempt.logs_link.is_empty() {
                String::new()
            } else {
                format!("<a href=\"{0}\">logs</a>", escape(&attempt.logs_link))
            }
        ));
    }
    body.push_str("</table><h2>Running containers</h2><table id=\"containers\"><tr><th>Container</th><th>Node</th><th>Memory MB</th><th>VCores</th><th>Logs</th></tr>");
    for container in &containers {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}\">logs</a></td></tr>",
            escape(&container.container_id),
            escape(&container.assigned_node_id),
            container.allocated_mb,
            container.allocated_v_cores,
            escape(&container.log_url)
        ));
    }
    body.push_str("</table>");
    Ok(page(&format!("Application {}", info.id), &body))
}

/// The queue tree, parents before their children, with each queue's depth.
fn tree(queues: &[QueueInfo]) -> Vec<(usize, &QueueInfo)> {
    let by_path: std::collections::HashMap<&str, &QueueInfo> =
        queues.iter().map(|q| (q.path.as_str(), q)).collect();
    let mut out = Vec::with_capacity(queues.len());
    let mut stack: Vec<(usize, &str)> = vec![(0, "root")];
    while let Some((depth, path)) = stack.pop() {
        let Some(queue) = by_path.get(path) else {
            continue;
        };
        out.push((depth, *queue));
        for child in queue.children.iter().rev() {
            stack.push((depth + 1, child));
        }
    }
    out
}

fn queue_row(depth: usize, queue: &QueueInfo, total: &Resource) -> String {
    let maximum = queue.maximum.as_ref().unwrap_or(total);
    format!(
        "<tr><td style=\"padding-left:{}em\"><a href=\"/cluster/queue/{path}\">{name}</a></td><td>{}</td><td>{} MB</td><td>{} MB</td><td>{} MB</td><td>{} MB</td><td>{}</td></tr>\n",
        0.6 + depth as f64 * 1.2,
        bar(
            fraction(queue.used.memory_mb, total.memory_mb),
            fraction(queue.guaranteed.memory_mb, total.memory_mb),
            Some(fraction(queue.fair_share.memory_mb, total.memory_mb)),
            fraction(maximum.memory_mb, total.memory_mb),
        ),
        queue.used.memory_mb,
        queue.guaranteed.memory_mb,
        queue.fair_share.memory_mb,
        maximum.memory_mb,
        queue.num_applications,
        path = escape(&queue.path),
        name = escape(&queue.name),
    )
}

fn scheduler_view(c: &RmCore) -> (String, Vec<QueueInfo>, Resource) {
    let scheduler = c.scheduler.scheduler();
    let kind = match &scheduler.config().policy {
        spindle_scheduler::SchedulingPolicy::Fifo => "FIFO Scheduler",
        spindle_scheduler::SchedulingPolicy::Capacity(_) => "Capacity Scheduler",
        spindle_scheduler::SchedulingPolicy::Fair(_) => "Fair Scheduler",
    };
    (
        kind.to_string(),
        scheduler.queue_infos(),
        scheduler.cluster_metrics().total,
    )
}

pub(super) async fn scheduler(State(web): Web) -> Result<Response, WebError> {
    let (kind, queues, total) = web.core()?.read(scheduler_view);
    let mut body = format!(
        "<p id=\"scheduler-kind\">{kind} · {} queues · bars: used (blue), guaranteed (solid mark), fair share (dashed mark), maximum (shaded)</p>\
<table id=\"queues\"><tr><th>Queue</th><th>Share of the cluster</th><th>Used</th><th>Guaranteed</th><th>Fair share</th><th>Maximum</th><th>Applications</th></tr>\n",
        queues.len()
    );
    for (depth, queue) in tree(&queues) {
        body.push_str(&queue_row(depth, queue, &total));
    }
    body.push_str("</table>");
    Ok(page("Scheduler", &body))
}

pub(super) async fn queue(State(web): Web, Path(path): Path<String>) -> Result<Response, WebError> {
    let (info, total) = web.core()?.read(|c| {
        let scheduler = c.scheduler.scheduler();
        (
            scheduler.queue_info(&path),
            scheduler.cluster_metrics().total,
        )
    });
    let info = info.ok_or_else(|| WebError::not_found(format!("queue {path} not found")))?;
    let points = web.history.of(&info.path);
    let mut body = format!(
        "<table id=\"queue\"><tr><th>Path</th><td>{}</td></tr><tr><th>State</th><td>{:?}</td></tr>\
<tr><th>Used</th><td>{} MB, {} vcores</td></tr><tr><th>Guaranteed</th><td>{} MB</td></tr>\
<tr><th>Fair share</th><td>{} MB</td></tr><tr><th>Maximum</th><td>{}</td></tr>\
<tr><th>Pending</th><td>{} MB</td></tr><tr><th>Applications</th><td>{} ({} runnable)</td></tr>\
<tr><th>Active users</th><td>{}</td></tr><tr><th>Ordering</th><td>{}</td></tr></table>",
        escape(&info.path),
        info.state,
        info.used.memory_mb,
        info.used.vcores,
        info.guaranteed.memory_mb,
        info.fair_share.memory_mb,
        info.maximum
            .as_ref()
            .map(|m| format!("{} MB", m.memory_mb))
            .unwrap_or_else(|| "the cluster".into()),
        info.pending.memory_mb,
        info.num_applications,
        info.num_runnable,
        info.active_users,
        info.ordering_policy,
    );
    body.push_str(&format!(
        "<h2>Used memory over the last hour</h2><p class=\"muted\">solid: used; dashed: guaranteed; top: the cluster ({} MB)</p>{}",
        total.memory_mb,
        svg_chart(&points, total.memory_mb, 640, 160)
    ));
    if !info.children.is_empty() {
        body.push_str("<h2>Children</h2><ul>");
        for child in &info.children {
            body.push_str(&format!(
                "<li><a href=\"/cluster/queue/{0}\">{0}</a></li>",
                escape(child)
            ));
        }
        body.push_str("</ul>");
    } else {
        body.push_str(&format!(
            "<p><a href=\"/cluster/apps?queue={}\">Applications in this queue</a></p>",
            escape(&info.path)
        ));
    }
    Ok(page(&format!("Queue {}", info.path), &body))
}

async fn nodes_page(web: Arc<RmWeb>, state: Option<String>) -> Result<Response, WebError> {
    let state = match state {
        None => None,
        Some(name) => Some(
            NodeState::from_name(&name)
                .ok_or_else(|| WebError::bad_request(format!("Invalid node state {name}")))?,
        ),
    };
    let nodes = web.core()?.read(|c| {
        c.nodes
            .sorted()
            .into_iter()
            .filter(|n| state.is_none_or(|s| n.state == s))
            .map(views::node_info)
            .collect::<Vec<_>>()
    });
    let mut body = format!(
        "<p id=\"count\">{} nodes</p><table id=\"nodes\"><tr><th>Node</th><th>Rack</th><th>State</th><th>Containers</th><th>Memory used</th><th>Memory free</th><th>VCores used</th><th>Health</th></tr>\n",
        nodes.len()
    );
    for node in nodes.iter().take(2_000) {
        let name = if node.node_http_address.is_empty() {
            escape(&node.id)
        } else {
            format!(
                "<a href=\"http://{}/node\">{}</a>",
                escape(&node.node_http_address),
                escape(&node.id)
            )
        };
        body.push_str(&format!(
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{} MB</td><td>{} MB</td><td>{}</td><td>{}</td></tr>\n",
            escape(&node.rack),
            node.state,
            node.num_containers,
            node.used_memory_mb,
            node.avail_memory_mb,
            node.used_virtual_cores,
            escape(&node.health_report)
        ));
    }
    body.push_str("</table>");
    if nodes.len() > 2_000 {
        body.push_str(
            "<p class=\"muted\">The first 2,000 nodes; filter by state, or use the REST API.</p>",
        );
    }
    Ok(page("Nodes", &body))
}

pub(super) async fn nodes(State(web): Web) -> Result<Response, WebError> {
    nodes_page(web, None).await
}

pub(super) async fn nodes_in_state(
    State(web): Web,
    Path(state): Path<String>,
) -> Result<Response, WebError> {
    nodes_page(web, Some(state)).await
}
