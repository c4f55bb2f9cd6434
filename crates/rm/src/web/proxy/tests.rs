//! The proxy against a running RM web server and a fake AM web UI (a small server on loopback
//! that records every request reaching it): what is forwarded and what is not, the `proxy-user`
//! cookie, redirects, finished and unknown applications, loops, methods. The RM's core is
//! played directly (a node registers, the AM launches and registers with the fake UI's URL).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use spindle_proto::yarn::*;
use spindle_types::states::YarnApplicationState;
use spindle_types::{ApplicationAttemptId, ApplicationId, NodeId, Resource};
use spindle_web::WebServer;

use crate::core::Effect;
use crate::service::{ResourceManager, RmBindAddresses, SchedulerSetup};
use crate::settings::RmSettings;
use crate::web::RmWebSetup;

/// One request as the fake AM saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query.
    target: String,
    headers: HeaderMap,
    body: Bytes,
    peer: SocketAddr,
}

#[derive(Clone)]
struct FakeAmState {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Where `/bounce` sends callers (the proxy's `/proxy/redirect/..` form, as Hadoop's AM
    /// filter sends a caller it does not trust).
    bounce_to: Arc<Mutex<String>>,
}

/// A fake AM web UI: `/moved` redirects to `/landing`, `/bounce` to `bounce_to`, every other
/// page answers 200 with a header, a cookie and a body naming the page.
struct FakeAm {
    address: SocketAddr,
    state: FakeAmState,
    _server: WebServer,
}

impl FakeAm {
    async fn start() -> Self {
        let state = FakeAmState {
            seen: Default::default(),
            bounce_to: Default::default(),
        };
        let router = axum::Router::new()
            .fallback(fake_am_page)
            .with_state(state.clone());
        let server = WebServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), router)
            .await
            .unwrap();
        Self {
            address: server.local_addr(),
            state,
            _server: server,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    fn last(&self) -> Seen {
        self.seen()
            .last()
            .cloned()
            .expect("a request reached the AM")
    }
}

async fn fake_am_page(
    State(state): State<FakeAmState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let method = request.method().to_string();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = request.headers().clone();
    let path = request.uri().path().to_string();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap();
    state.seen.lock().unwrap().push(Seen {
        method,
        target,
        headers,
        body,
        peer,
    });
    match path.as_str() {
        "/moved" => (StatusCode::FOUND, [(header::LOCATION, "/landing")]).into_response(),
        "/bounce" => {
            let to = state.bounce_to.lock().unwrap().clone();
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
        "/missing" => (StatusCode::NOT_FOUND, "no such page").into_response(),
        page => (
            StatusCode::OK,
            [
                ("x-am", "fake"),
                ("set-cookie", "am-session=1; Path=/"),
                ("connection", "keep-alive"),
            ],
            format!("page {page}"),
        )
            .into_response(),
    }
}

/// An RM with a web server on loopback, its core played by the test.
async fn resource_manager() -> ResourceManager {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    ResourceManager::start_with(
        RmSettings {
            cluster_timestamp: 1_700_000_000_000,
            ..Default::default()
        },
        RmBindAddresses {
            client: loopback,
            scheduler: loopback,
            tracker: loopback,
            admin: loopback,
        },
        SchedulerSetup {
            web: Some(RmWebSetup::loopback()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// A node joins, `user` submits an application, its AM container launches; the AM's launch
/// context is returned with its attempt.
fn launched_application(
    rm: &ResourceManager,
    user: &str,
) -> (ApplicationAttemptId, ContainerLaunchContextProto) {
    rm.with_core(|core, now| {
        let node = NodeId::new("n1", 8041);
        if core.nodes.get(&node).is_none() {
            core.register_node(
                &RegisterNodeManagerRequestProto {
                    node_id: Some((&node).into()),
                    http_port: Some(8042),
                    resource: Some((&Resource::new(8192, 8)).into()),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        }
        let (id, _) = core.new_application();
        core.submit_application(
            user,
            ApplicationSubmissionContextProto {
                application_id: Some(id.into()),
                application_name: Some("proxied".into()),
                queue: Some("default".into()),
                am_container_spec: Some(ContainerLaunchContextProto {
                    command: vec!["sleep 100".into()],
                    ..Default::default()
                }),
                resource: Some((&Resource::new(1024, 1)).into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        // The launch is played here: no NM runs.
        let (attempt, context) = core
            .take_effects()
            .into_iter()
            .find_map(|effect| match effect {
                Effect::LaunchAm {
                    attempt,
                    launch_context,
                    ..
                } => Some((attempt, *launch_context)),
                Effect::Persist { .. } => None,
            })
            .expect("the AM container was placed");
        core.am_launched(attempt, Ok(()), now);
        (attempt, context)
    })
}

fn register(rm: &ResourceManager, attempt: ApplicationAttemptId, tracking_url: &str) {
    rm.with_core(|core, now| {
        core.register_application_master(
            attempt,
            &RegisterApplicationMasterRequestProto {
                host: Some("127.0.0.1".into()),
                rpc_port: Some(1),
                tracking_url: Some(tracking_url.into()),
            },
            now,
        )
        .unwrap();
    });
}

fn finish(rm: &ResourceManager, attempt: ApplicationAttemptId, final_url: &str) {
    rm.with_core(|core, now| {
        core.finish_application_master(
            attempt,
            &FinishApplicationMasterRequestProto {
                final_application_status: Some(FinalApplicationStatusProto::AppSucceeded as i32),
                tracking_url: Some(final_url.into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    });
}

fn report(rm: &ResourceManager, id: ApplicationId) -> ApplicationReportProto {
    rm.with_core(|core, now| {
        let app = core.application(id).unwrap();
        core.application_report(app, now)
    })
}

/// An HTTP client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn web(rm: &ResourceManager) -> String {
    format!("http://{}", rm.web_address().unwrap())
}

#[tokio::test]
async fn the_am_learns_its_proxy_base_and_reports_publish_the_proxy_url() {
    let rm = resource_manager().await;
    let (attempt, context) = launched_application(&rm, "alice");
    let id = attempt.application_id;
    let base = context
        .environment
        .iter()
        .find(|e| e.key() == "APPLICATION_WEB_PROXY_BASE")
        .map(|e| e.value().to_string());
    assert_eq!(base, Some(format!("/proxy/{id}")));

    // From the attempt's start on, as YARN: the proxy's URL, the AM's own still unknown.
    let proxied = format!("{}/proxy/{id}/", web(&rm));
    let before = report(&rm, id);
    assert_eq!(before.tracking_url(), proxied);
    assert_eq!(before.original_tracking_url(), "N/A");

    register(&rm, attempt, "127.0.0.1:4040");
    let running = report(&rm, id);
    assert_eq!(running.tracking_url(), proxied);
    assert_eq!(running.original_tracking_url(), "127.0.0.1:4040");
    let attempt_report = rm.with_core(|core, _| core.attempt_report(attempt).unwrap());
    assert_eq!(attempt_report.tracking_url(), proxied);
    assert_eq!(attempt_report.original_tracking_url(), "127.0.0.1:4040");
    // REST publishes the same URL.
    let app: serde_json::Value = browser()
        .get(format!("{}/ws/v1/cluster/apps/{id}", web(&rm)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(app["app"]["trackingUrl"], proxied);
    assert_eq!(app["app"]["trackingUI"], "ApplicationMaster");

    // The URL the AM gives at the end replaces its own; the public one stays the proxy's.
    finish(&rm, attempt, "http://history:18080/history/app");
    let finished = report(&rm, id);
    assert_eq!(finished.tracking_url(), proxied);
    assert_eq!(
        finished.original_tracking_url(),
        "http://history:18080/history/app"
    );
    rm.shutdown().await;
}

#[tokio::test]
async fn pages_are_fetched_with_only_the_allowed_headers_and_the_callers_name() {
    let rm = resource_manager().await;
    let am = FakeAm::start().await;
    let (attempt, _) = launched_application(&rm, "alice");
    let id = attempt.application_id;
    // Registered without a scheme, as AMs may.
    register(&rm, attempt, &am.address.to_string());

    let response = browser()
        .get(format!(
            "{}/proxy/{id}/jobs/job/?id=3&user.name=alice",
            web(&rm)
        ))
        .header("user-agent", "test-browser")
        .header("accept", "text/html")
        .header("accept-language", "en")
        .header("cookie", "JSESSIONID=browser-secret")
        .header("authorization", "Basic c2VjcmV0")
        .header("x-forwarded-for", "10.9.9.9")
        .header("x-custom", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The AM's headers come back, less those about the connection.
    assert_eq!(response.headers()["x-am"], "fake");
    assert!(response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("am-session=1")));
    assert!(response.headers().get("connection").is_none());
    assert_eq!(response.text().await.unwrap(), "page /jobs/job/");

    let seen = am.last();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, "/jobs/job/?id=3&user.name=alice");
    // From the proxy host's address: what Hadoop's AmIpFilter compares.
    assert_eq!(seen.peer.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
    assert_eq!(seen.headers["user-agent"], "test-browser");
    assert_eq!(seen.headers["accept"], "text/html");
    assert_eq!(seen.headers["accept-language"], "en");
    // The browser's cookies and credentials stay behind; the AM learns who is looking.
    let cookies: Vec<_> = seen.headers.get_all("cookie").iter().collect();
    assert_eq!(cookies, ["proxy-user=alice"]);
    for absent in ["authorization", "x-forwarded-for", "x-custom"] {
        assert!(seen.headers.get(absent).is_none(), "{absent} was forwarded");
    }

    // An anonymous caller is the static web user, as Hadoop's StaticUserWebFilter makes it.
    browser()
        .get(format!("{}/proxy/{id}", web(&rm)))
        .send()
        .await
        .unwrap();
    let seen = am.last();
    assert_eq!(seen.target, "/");
    assert_eq!(seen.headers["cookie"], "proxy-user=dr.who");

    // The AM's own errors come back as they are.
    let missing = browser()
        .get(format!("{}/proxy/{id}/missing", web(&rm)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.text().await.unwrap(), "no such page");
    rm.shutdown().await;
}

#[tokio::test]
async fn redirects_are_followed_by_the_proxy_and_puts_carry_their_body() {
    let rm = resource_manager().await;
    let am = FakeAm::start().await;
    let (attempt, _) = launched_application(&rm, "alice");
    let id = attempt.application_id;
    register(&rm, attempt, &format!("http://{}", am.address));

    let moved = browser()
        .get(format!("{}/proxy/{id}/moved", web(&rm)))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(moved.text().await.unwrap(), "page /landing");

    let put = browser()
        .put(format!("{}/proxy/{id}/api/kill?force=true", web(&rm)))
        .header("content-type", "application/json")
        .body("{\"stage\":3}")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let seen = am.last();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.target, "/api/kill?force=true");
    assert_eq!(seen.headers["content-type"], "application/json");
    assert_eq!(&seen.body[..], b"{\"stage\":3}");

    // Only GET and PUT are proxied.
    let before = am.seen().len();
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let refused = browser()
            .request(method.clone(), format!("{}/proxy/{id}/", web(&rm)))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    assert_eq!(am.seen().len(), before, "nothing reached the AM");
    rm.shutdown().await;
}

#[tokio::test]
async fn unknown_unregistered_and_finished_applications_are_not_proxied() {
    let rm = resource_manager().await;
    let am = FakeAm::start().await;
    let base = web(&rm);

    let unknown = browser()
        .get(format!("{base}/proxy/application_1700000000000_0099/"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["RemoteException"]["exception"], "NotFoundException");
    assert!(body["RemoteException"]["message"]
        .as_str()
        .unwrap()
        .contains("application_1700000000000_0099 could not be found"));
    let malformed = browser()
        .get(format!("{base}/proxy/not-an-app/"))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::NOT_FOUND);

    // An AM that has not registered (or gave no URL): the application's RM page.
    let (attempt, _) = launched_application(&rm, "alice");
    let id = attempt.application_id;
    let waiting = browser()
        .get(format!("{base}/proxy/{id}/jobs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(waiting.status(), StatusCode::FOUND);
    assert_eq!(
        waiting.headers()["location"],
        format!("{base}/cluster/app/{id}").as_str()
    );

    // Finished: straight to the URL its AM gave at the end, with the page asked for.
    register(&rm, attempt, &am.address.to_string());
    finish(&rm, attempt, "http://history:18080/history/app_1/1");
    assert_eq!(
        rm.with_core(|core, _| core.application(id).unwrap().state.yarn_state()),
        YarnApplicationState::Finished
    );
    let finished = browser()
        .get(format!("{base}/proxy/{id}/jobs/?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::FOUND);
    assert_eq!(
        finished.headers()["location"],
        "http://history:18080/history/app_1/1/jobs/?x=1"
    );

    // Finished without a final URL (Spark without a history server): the RM's page.
    let (attempt, _) = launched_application(&rm, "alice");
    register(&rm, attempt, &am.address.to_string());
    finish(&rm, attempt, "");
    let done = browser()
        .get(format!("{base}/proxy/{}/", attempt.application_id))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(
        done.headers()["location"],
        format!("{base}/cluster/app/{}", attempt.application_id).as_str()
    );
    assert!(am.seen().is_empty(), "no request reached the AM");
    rm.shutdown().await;
}

#[tokio::test]
async fn an_am_sending_the_proxy_back_to_itself_ends_on_the_failure_page() {
    let rm = resource_manager().await;
    let am = FakeAm::start().await;
    let (attempt, _) = launched_application(&rm, "alice");
    let id = attempt.application_id;
    register(&rm, attempt, &am.address.to_string());
    let base = web(&rm);

    // A redirected request from this host is the proxy's own: no loop.
    let direct = browser()
        .get(format!("{base}/proxy/redirect/{id}/jobs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::FOUND);
    assert_eq!(
        direct.headers()["location"],
        format!("{base}/cluster/failure/{id}").as_str()
    );

    // An AM filter that does not trust the proxy bounces it to `/proxy/redirect/..`; the
    // proxy follows, finds its own request and ends on the failure page.
    *am.state.bounce_to.lock().unwrap() = format!("{base}/proxy/redirect/{id}/bounce");
    let bounced = browser()
        .get(format!("{base}/proxy/{id}/bounce"))
        .send()
        .await
        .unwrap();
    assert_eq!(bounced.status(), StatusCode::OK);
    let text = bounced.text().await.unwrap();
    assert!(text.contains("sent the web proxy's request back"), "{text}");
    assert_eq!(am.seen().len(), 1, "the AM was asked once");
    rm.shutdown().await;
}
