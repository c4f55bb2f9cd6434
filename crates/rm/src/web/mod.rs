//! The ResourceManager's REST API (`yarn.resourcemanager.webapp.address`, 8088) at YARN's paths
//! under `/ws/v1/cluster`, with YARN's JSON and error shapes (see `../../../web/`).
//!
//! Map: [`ROUTES`] is the one route table: every path with the access it needs, checked by
//! `spindle_web::auth::authorize` before any handler runs; `handlers.rs` answers reads and
//! kills, `submit.rs` REST submission, `views.rs` and `scheduler_info.rs` build the answers from
//! the core under its lock, `dao.rs` holds the wire shapes, `proxy.rs` is the web application
//! proxy (`/proxy/<appId>/..`: AMs' web UIs through the RM), `pages.rs` the UI under
//! `/cluster` with `history.rs` its usage charts, `metrics.rs` `/prom`. The server serves
//! whatever core the RM's active slot holds: without HA always the RM's; with HA a standby
//! answers 307 to the active RM's address at the same path, as YARN's RMWebAppFilter does.

mod dao;
mod handlers;
mod history;
mod metrics;
mod pages;
mod proxy;
mod scheduler_info;
mod submit;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use spindle_web::auth::{Access, Gate, Route, Verb};
use spindle_web::{WebAuth, WebError, WebServer};

use crate::service::{ActiveSlot, SharedCore};

/// `yarn.webapp.enable-rest-app-submissions`: REST submission (POST `/apps/new-application` and
/// `/apps`) is off unless set to true, a deliberate difference from YARN, whose open REST
/// submission is abused to run miners on exposed clusters.
pub const REST_SUBMISSIONS_KEY: &str = "yarn.webapp.enable-rest-app-submissions";

/// `hadoop.prometheus.endpoint.enabled`.
pub const PROMETHEUS_KEY: &str = "hadoop.prometheus.endpoint.enabled";

const CLUSTER: &str = "/ws/v1/cluster";

/// Every route the RM's web server answers, with what its caller needs. A route not listed is
/// refused by the authorization layer even if a handler exists.
pub const ROUTES: &[Route] = &[
    route(Verb::Get, "/", Access::Read),
    route(Verb::Get, "/cluster", Access::Read),
    route(Verb::Get, "/cluster/apps", Access::Read),
    route(Verb::Get, "/cluster/apps/{state}", Access::Read),
    route(Verb::Get, "/cluster/app/{appid}", Access::Read),
    route(Verb::Get, "/cluster/scheduler", Access::Read),
    route(Verb::Get, "/cluster/queue/{queue}", Access::Read),
    route(Verb::Get, "/cluster/nodes", Access::Read),
    route(Verb::Get, "/cluster/nodes/{state}", Access::Read),
    route(Verb::Get, "/cluster/failure/{appid}", Access::Read),
    // The web application proxy (`proxy.rs`): `/proxy/<appId>/..` and `/proxy/redirect/..`.
    route(Verb::Get, "/proxy/{*path}", Access::Read),
    route(Verb::Put, "/proxy/{*path}", Access::Read),
    route(Verb::Get, "/prom", Access::Read),
    route(Verb::Get, "/ws/v1/cluster", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/info", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/metrics", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/scheduler", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/apps", Access::Read),
    route(Verb::Post, "/ws/v1/cluster/apps", Access::Submit),
    route(
        Verb::Post,
        "/ws/v1/cluster/apps/new-application",
        Access::Submit,
    ),
    route(Verb::Get, "/ws/v1/cluster/appstatistics", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/apps/{appid}", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/apps/{appid}/state", Access::Read),
    route(Verb::Put, "/ws/v1/cluster/apps/{appid}/state", Access::User),
    route(Verb::Get, "/ws/v1/cluster/apps/{appid}/queue", Access::Read),
    route(
        Verb::Get,
        "/ws/v1/cluster/apps/{appid}/priority",
        Access::Read,
    ),
    route(
        Verb::Get,
        "/ws/v1/cluster/apps/{appid}/appattempts",
        Access::Read,
    ),
    route(
        Verb::Get,
        "/ws/v1/cluster/apps/{appid}/appattempts/{attemptid}",
        Access::Read,
    ),
    route(
        Verb::Get,
        "/ws/v1/cluster/apps/{appid}/appattempts/{attemptid}/containers",
        Access::Read,
    ),
    route(Verb::Get, "/ws/v1/cluster/nodes", Access::Read),
    route(Verb::Get, "/ws/v1/cluster/nodes/{nodeid}", Access::Read),
];

const fn route(method: Verb, path: &'static str, access: Access) -> Route {
    Route {
        method,
        path,
        access,
    }
}

/// How the RM's web server is set up.
#[derive(Debug, Clone)]
pub struct RmWebSetup {
    /// Where to listen (`yarn.resourcemanager.webapp.address`).
    pub bind: SocketAddr,
    /// `host:port` others use to reach it (tracking URLs, the proxy's redirects); empty: the
    /// bound address, with this machine's name for a wildcard IP.
    pub public_address: String,
    pub auth: WebAuth,
    /// [`REST_SUBMISSIONS_KEY`].
    pub rest_submissions: bool,
    /// With HA, where a standby sends callers (the other RMs' web addresses, `host:port`).
    pub other_rms: Vec<String>,
    /// The state store's class name (`clusterInfo.rmStateStoreName`).
    pub store_name: String,
    /// Whether RM HA is enabled (`clusterInfo.haState`, redirects).
    pub ha_enabled: bool,
    /// `hadoop.prometheus.endpoint.enabled`: whether `/prom` answers. On unless set to false
    /// (Hadoop's default is off; Spindle's metrics cost nothing until scraped).
    pub prometheus: bool,
}

impl RmWebSetup {
    /// From the RM's configuration: the web address, Hadoop's web authentication keys and
    /// [`REST_SUBMISSIONS_KEY`].
    pub fn from_configuration(
        conf: &spindle_conf::Configuration,
        bind: SocketAddr,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            bind,
            public_address: String::new(),
            auth: WebAuth::from_configuration(conf)?,
            rest_submissions: conf
                .get_bool(REST_SUBMISSIONS_KEY)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .unwrap_or(false),
            other_rms: Vec::new(),
            store_name: "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore"
                .into(),
            ha_enabled: false,
            prometheus: conf
                .get_bool(PROMETHEUS_KEY)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .unwrap_or(true),
        })
    }

    /// Binds on `127.0.0.1:0` with the defaults (tests, the minicluster).
    pub fn loopback() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_address: String::new(),
            auth: WebAuth::default(),
            rest_submissions: false,
            other_rms: Vec::new(),
            store_name: "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore"
                .into(),
            ha_enabled: false,
            prometheus: true,
        }
    }
}

/// What every handler reads.
pub(crate) struct RmWeb {
    slot: ActiveSlot,
    setup: RmWebSetup,
    context: views::WebContext,
    started_on: i64,
    proxy: proxy::WebProxy,
    /// Per-queue usage over the last hour (the UI's charts).
    history: history::UsageHistory,
}

impl RmWeb {
    /// The active core, or (standby) a 307 to another RM.
    fn core(&self) -> Result<SharedCore, WebError> {
        if let Some(core) = self.slot.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(core.clone());
        }
        match self.setup.other_rms.first() {
            Some(other) => Err(WebError::standby_redirect(format!(
                "http://{other}{CLUSTER}"
            ))),
            None => Err(WebError::plain(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "This ResourceManager is not active",
            )),
        }
    }

    fn is_active(&self) -> bool {
        self.slot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

/// The RM's web server's socket, bound before the RM's core is built: the core publishes its
/// address in tracking URLs (`RmSettings::web_proxy`).
pub(crate) struct BoundWeb {
    listener: tokio::net::TcpListener,
    setup: RmWebSetup,
    public: String,
}

impl BoundWeb {
    /// `host:port` others reach the web server (and its proxy) at: the configured public
    /// address, else the bound one with a wildcard IP replaced by this machine's name, as YARN
    /// resolves 0.0.0.0.
    pub(crate) fn public_address(&self) -> &str {
        &self.public
    }
}

/// Binds `yarn.resourcemanager.webapp.address`.
pub(crate) async fn bind(setup: RmWebSetup) -> anyhow::Result<BoundWeb> {
    let listener = tokio::net::TcpListener::bind(setup.bind)
        .await
        .map_err(|e| anyhow::anyhow!("yarn.resourcemanager.webapp.address {}: {e}", setup.bind))?;
    let bound = listener.local_addr()?;
    let public = if !setup.public_address.is_empty() {
        setup.public_address.clone()
    } else if bound.ip().is_unspecified() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        format!("{host}:{}", bound.port())
    } else {
        bound.to_string()
    };
    Ok(BoundWeb {
        listener,
        setup,
        public,
    })
}

/// Serves the RM's web server on `bound` over `slot`.
pub(crate) async fn serve(
    bound: BoundWeb,
    slot: ActiveSlot,
    started_on: i64,
) -> anyhow::Result<WebServer> {
    let BoundWeb {
        listener,
        setup,
        public,
    } = bound;
    let gate = Arc::new(Gate {
        routes: ROUTES,
        auth: setup.auth.clone(),
        submissions_enabled: setup.rest_submissions,
        submissions_key: REST_SUBMISSIONS_KEY,
    });
    let web = Arc::new(RmWeb {
        slot,
        proxy: proxy::WebProxy::new(&public).await?,
        context: views::WebContext {
            web_address: public,
        },
        setup,
        started_on,
        history: Default::default(),
    });
    pages::start_sampling(&web);
    let router = router(web, gate);
    let address = listener.local_addr()?;
    tracing::info!("ResourceManager web services at http://{address}{CLUSTER}");
    Ok(WebServer::serve(listener, router)?)
}

/// Paths a standby answers itself (its own state, its metrics); everything else goes to the
/// active RM.
const ANSWERED_IN_STANDBY: &[&str] = &["/ws/v1/cluster/info", "/prom"];

/// A standby RM answers every other call with 307 to another RM at the same path and query, with
/// the sentence yarn-api-client looks for, as YARN's RMWebAppFilter does.
async fn standby_redirect(
    axum::extract::State(web): axum::extract::State<Arc<RmWeb>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    if web.is_active() || ANSWERED_IN_STANDBY.contains(&path) {
        return next.run(request).await;
    }
    match web.setup.other_rms.first() {
        Some(other) => {
            let target = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            WebError::standby_redirect(format!("http://{other}{target}")).into_response()
        }
        None => next.run(request).await,
    }
}

fn router(web: Arc<RmWeb>, gate: Arc<Gate>) -> Router {
    use handlers::*;
    Router::new()
        .route("/", get(pages::root))
        .route("/cluster", get(pages::overview))
        .route("/cluster/apps", get(pages::apps))
        .route("/cluster/apps/{state}", get(pages::apps_in_state))
        .route("/cluster/app/{appid}", get(pages::app))
        .route("/cluster/scheduler", get(pages::scheduler))
        .route("/cluster/queue/{queue}", get(pages::queue))
        .route("/cluster/nodes", get(pages::nodes))
        .route("/cluster/nodes/{state}", get(pages::nodes_in_state))
        .route("/cluster/failure/{appid}", get(proxy::failure_page))
        .route("/proxy/{*path}", get(proxy::proxy).put(proxy::proxy))
        .route("/prom", get(metrics::prometheus))
        .route("/ws/v1/cluster", get(cluster_info))
        .route("/ws/v1/cluster/info", get(cluster_info))
        .route("/ws/v1/cluster/metrics", get(cluster_metrics))
        .route("/ws/v1/cluster/scheduler", get(scheduler))
        .route("/ws/v1/cluster/apps", get(apps).post(submit::submit))
        .route(
            "/ws/v1/cluster/apps/new-application",
            axum::routing::post(submit::new_application),
        )
        .route("/ws/v1/cluster/appstatistics", get(app_statistics))
        .route("/ws/v1/cluster/apps/{appid}", get(app))
        .route(
            "/ws/v1/cluster/apps/{appid}/state",
            get(app_state).put(put_app_state),
        )
        .route("/ws/v1/cluster/apps/{appid}/queue", get(app_queue))
        .route("/ws/v1/cluster/apps/{appid}/priority", get(app_priority))
        .route("/ws/v1/cluster/apps/{appid}/appattempts", get(attempts))
        .route(
            "/ws/v1/cluster/apps/{appid}/appattempts/{attemptid}",
            get(attempt),
        )
        .route(
            "/ws/v1/cluster/apps/{appid}/appattempts/{attemptid}/containers",
            get(attempt_containers),
        )
        .route("/ws/v1/cluster/nodes", get(nodes))
        .route("/ws/v1/cluster/nodes/{nodeid}", get(node))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            gate,
            spindle_web::auth::authorize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            standby_redirect,
        ))
        .with_state(web)
}
