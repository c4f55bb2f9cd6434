//! The NodeManager's web server (`yarn.nodemanager.webapp.address`, 8042): YARN's REST API
//! under `/ws/v1/node` and the container log pages under `/node/containerlogs` that the RM's
//! `amContainerLogs` and Spark's executor links point at.
//!
//! Map: [`ROUTES`] is the one route table (every route a GET anyone may read, checked by
//! `spindle_web::auth::authorize` before any handler runs); `rest.rs` answers `/ws/v1/node`,
//! `log_pages.rs` the HTML log pages and `/node`, `dao.rs` holds the JSON shapes, and all
//! reading of log files is in `log_files.rs` (which log aggregation's uploads read through too).
//!
//! Invariant: a page reads only regular files directly inside one container's log directory
//! (`<log-dir>/<app>/<container>` under the NM's configured log dirs), named by one plain file
//! name and reached without following symbolic links.

mod dao;
pub(crate) mod log_files;
mod log_pages;
mod metrics;
mod rest;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use spindle_types::{ContainerId, NodeId, Resource};
use spindle_web::auth::{Access, Gate, Route, Verb};
use spindle_web::{WebAuth, WebAuthError, WebServer};

use crate::container::ContainerManager;

pub use dao::java_date;

/// The key of the NM's web address.
pub const WEBAPP_ADDRESS_KEY: &str = "yarn.nodemanager.webapp.address";

/// The Hadoop release Spindle answers as, as the RM's `clusterInfo` does.
const HADOOP_VERSION: &str = "3.3.6";
const VERSION_BUILT_ON: &str = "2026-01-01T00:00Z";

/// Every route the NM's web server answers: all GET, all readable by anyone the web
/// authentication lets in. A route not listed is refused even if a handler exists.
pub const ROUTES: &[Route] = &[
    read("/"),
    read("/node"),
    read("/node/containerlogs/{containerid}/{owner}"),
    read("/node/containerlogs/{containerid}/{owner}/"),
    read("/node/containerlogs/{containerid}/{owner}/{file}"),
    read("/node/containerlogs/{containerid}/{owner}/{file}/"),
    read("/prom"),
    read("/ws/v1/node"),
    read("/ws/v1/node/info"),
    read("/ws/v1/node/apps"),
    read("/ws/v1/node/apps/{appid}"),
    read("/ws/v1/node/containers"),
    read("/ws/v1/node/containers/{containerid}"),
    read("/ws/v1/node/containers/{containerid}/logs"),
    read("/ws/v1/node/containers/{containerid}/logs/{file}"),
    read("/ws/v1/node/containerlogs/{containerid}/{file}"),
];

const fn read(path: &'static str) -> Route {
    Route {
        method: Verb::Get,
        path,
        access: Access::Read,
    }
}

/// How the NM's web server is set up.
#[derive(Debug, Clone)]
pub struct NmWebSetup {
    /// Where it listens ([`WEBAPP_ADDRESS_KEY`]); port 0 picks a free port, which is then the
    /// port the NM advertises (to the RM at registration, to containers as `NM_HTTP_PORT`).
    pub bind: SocketAddr,
    pub auth: WebAuth,
}

impl NmWebSetup {
    /// Listens on `bind` with Hadoop's web authentication keys (`hadoop.http.authentication.*`).
    pub fn from_configuration(
        conf: &spindle_conf::Configuration,
        bind: SocketAddr,
    ) -> Result<Self, WebAuthError> {
        Ok(Self {
            bind,
            auth: WebAuth::from_configuration(conf)?,
        })
    }

    /// `127.0.0.1:0` with Hadoop's default authentication (tests, the minicluster).
    pub fn loopback() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth: WebAuth::default(),
        }
    }
}

/// What every handler reads.
pub(crate) struct NmWeb {
    pub manager: Arc<ContainerManager>,
    pub node_id: NodeId,
    /// `host:port` that links to this server use (the NodeId host, the bound port).
    pub http_address: String,
    /// What the node offers containers.
    pub resource: Resource,
    pub started_on: i64,
    /// The container-management port's call counters (`/prom`).
    pub rpc: Arc<spindle_ipc::RpcMetrics>,
}

impl NmWeb {
    /// Where a container's log directory may be: the log dir it was given first (the one the
    /// NM's layout picks for it), then the others.
    fn log_roots(&self, container_id: ContainerId) -> Vec<PathBuf> {
        let log_dirs = &self.manager.config().log_dirs;
        let mut roots = Vec::with_capacity(log_dirs.len());
        if !log_dirs.is_empty() {
            let slot = container_id.sequence() as usize % log_dirs.len();
            roots.push(log_dirs[slot].clone());
            roots.extend(
                log_dirs
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| *index != slot)
                    .map(|(_, dir)| dir.clone()),
            );
        }
        roots
    }

    /// The HTML page listing a container's logs.
    fn container_logs_link(&self, container_id: &str, user: &str) -> String {
        format!(
            "http://{}/node/containerlogs/{container_id}/{user}",
            self.http_address
        )
    }
}

/// Serves the NM's pages on `listener` (bound by the caller, so that its port is known before
/// the NM registers).
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    auth: WebAuth,
    web: NmWeb,
) -> std::io::Result<WebServer> {
    let gate = Arc::new(Gate {
        routes: ROUTES,
        auth,
        submissions_enabled: false,
        submissions_key: "",
    });
    let bound = listener.local_addr()?;
    tracing::info!("NodeManager web services at http://{bound}/ws/v1/node");
    WebServer::serve(listener, router(Arc::new(web), gate))
}

fn router(web: Arc<NmWeb>, gate: Arc<Gate>) -> Router {
    use log_pages::*;
    use rest::*;
    Router::new()
        .route("/", get(root))
        .route("/node", get(node_page))
        .route("/node/containerlogs/{containerid}/{owner}", get(log_list))
        .route("/node/containerlogs/{containerid}/{owner}/", get(log_list))
        .route(
            "/node/containerlogs/{containerid}/{owner}/{file}",
            get(log_page),
        )
        .route(
            "/node/containerlogs/{containerid}/{owner}/{file}/",
            get(log_page),
        )
        .route("/prom", get(metrics::prometheus))
        .route("/ws/v1/node", get(node_info))
        .route("/ws/v1/node/info", get(node_info))
        .route("/ws/v1/node/apps", get(apps))
        .route("/ws/v1/node/apps/{appid}", get(app))
        .route("/ws/v1/node/containers", get(containers))
        .route("/ws/v1/node/containers/{containerid}", get(container))
        .route(
            "/ws/v1/node/containers/{containerid}/logs",
            get(container_logs),
        )
        .route(
            "/ws/v1/node/containers/{containerid}/logs/{file}",
            get(container_log_file),
        )
        .route(
            "/ws/v1/node/containerlogs/{containerid}/{file}",
            get(container_log_file),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            gate,
            spindle_web::auth::authorize,
        ))
        .with_state(web)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_a_read() {
        assert!(ROUTES
            .iter()
            .all(|r| r.method == Verb::Get && r.access == Access::Read));
        let mut paths: Vec<_> = ROUTES.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ROUTES.len(), "a route listed twice");
    }
}
