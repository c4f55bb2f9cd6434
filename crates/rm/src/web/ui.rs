//! The RM's first web page, `/cluster` (and `/` sending browsers there): an overview of
//! resources, nodes and applications, server-rendered HTML with every value escaped. Tools also
//! probe it: yarn-api-client takes an RM as active when `/cluster` answers 200.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use spindle_web::WebError;

use super::{views, RmWeb};

/// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) async fn root() -> Redirect {
    Redirect::to("/cluster")
}

pub(super) async fn cluster(State(web): State<Arc<RmWeb>>) -> Result<Response, WebError> {
    let now = crate::service::now_ms();
    let (metrics, apps) = web.core()?.read(|c| {
        let metrics = views::cluster_metrics(c);
        let apps: Vec<_> = c
            .apps
            .values()
            .rev()
            .take(500)
            .map(|app| views::app_info(c, app, now))
            .collect();
        (metrics, apps)
    });
    let mut rows = String::new();
    for app in &apps {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&app.id),
            escape(&app.user),
            escape(&app.name),
            escape(&app.queue),
            app.state,
            app.final_status,
            app.allocated_mb.max(0),
            escape(&app.diagnostics),
        ));
    }
    let page = format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Spindle ResourceManager</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}</style>
</head><body>
<h1>Spindle ResourceManager</h1>
<h2>Cluster</h2>
<table id="metrics">
<tr><th>Memory used</th><td>{allocated} MB of {total} MB</td></tr>
<tr><th>VCores used</th><td>{allocated_vcores} of {total_vcores}</td></tr>
<tr><th>Applications</th><td>{pending} pending, {running} running, {completed} completed</td></tr>
<tr><th>Nodes</th><td>{active} active, {lost} lost, {unhealthy} unhealthy</td></tr>
</table>
<h2>Applications</h2>
<table id="apps"><tr><th>ID</th><th>User</th><th>Name</th><th>Queue</th><th>State</th><th>Final status</th><th>Memory MB</th><th>Diagnostics</th></tr>
{rows}</table>
<p>REST API: <a href="/ws/v1/cluster">/ws/v1/cluster</a></p>
</body></html>
"#,
        allocated = metrics.allocated_mb,
        total = metrics.total_mb,
        allocated_vcores = metrics.allocated_virtual_cores,
        total_vcores = metrics.total_virtual_cores,
        pending = metrics.apps_pending,
        running = metrics.apps_running,
        completed = metrics.apps_completed,
        active = metrics.active_nodes,
        lost = metrics.lost_nodes,
        unhealthy = metrics.unhealthy_nodes,
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            super::escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
