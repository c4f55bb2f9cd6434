//! The web application proxy, served by the RM at `/proxy/*` as YARN's RM serves its
//! WebAppProxyServlet when `yarn.web-proxy.address` is unset: `/proxy/<appId>/<rest>?<query>`
//! shows the page `<rest>` of the application master's own web UI (Spark's UI), fetched by the
//! RM. The AM side trusts the proxy by source address (Hadoop's AmIpFilter, which Spark installs
//! in front of its UI, compares the caller's IP with the proxy host's), so the proxy connects
//! from the address of the host its URL names, and tells the AM who is looking with a
//! `proxy-user` cookie.
//!
//! The rules, in YARN's order: only GET (HEAD) and PUT are forwarded (anything else is 405); a
//! `/proxy/redirect/<appId>/..` request is the AM filter bouncing a caller it did not trust, and
//! when it comes from the proxy's own address the AM bounced the proxy itself (it resolves the
//! proxy's host to another address): 302 to `/cluster/failure/<appId>` instead of looping; an
//! application the RM does not know is 404; one whose AM gave no URL is sent to its RM page; a
//! finished one is sent (302) to the URL its AM gave at the end (a history server). Otherwise
//! the page is fetched with only [`PASS_THROUGH_HEADERS`] (browser cookies stay behind),
//! upstream redirects are followed here, and status, headers (less hop-by-hop ones) and body
//! are streamed back. Every upstream call has a deadline ([`UPSTREAM_DEADLINE`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use spindle_types::states::YarnApplicationState;
use spindle_types::ApplicationId;
use spindle_web::{Caller, WebError};

use super::RmWeb;
use crate::core::RmCore;
use spindle_web::html::escape;

/// The request headers passed on to the AM (YARN's list); all others, cookies and credentials
/// first, stay behind.
pub const PASS_THROUGH_HEADERS: [&str; 9] = [
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "content-type",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
];

/// Response headers about one connection rather than the page: not copied back.
const HOP_BY_HOP_HEADERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The cookie naming the user to the AM (Hadoop's AmIpFilter reads it).
pub const PROXY_USER_COOKIE: &str = "proxy-user";

/// The longest one proxied call may take, body included: below the web server's own deadline,
/// so that a stuck AM gets its own answer (504).
pub const UPSTREAM_DEADLINE: Duration = Duration::from_secs(50);
/// The longest connecting to the AM may take.
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);
/// Upstream redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// The proxy's HTTP client and where its requests come from.
pub(crate) struct WebProxy {
    client: reqwest::Client,
    /// The address outgoing requests are bound to: the proxy host's (what the AM filter
    /// compares). None: the system picks (the host could not be resolved to a local address).
    source: Option<IpAddr>,
}

impl WebProxy {
    /// A proxy whose URL names `public_address` (`host:port`): requests go out from the
    /// address that host resolves to, as YARN's proxy binds its client to the proxy host.
    pub(crate) async fn new(public_address: &str) -> anyhow::Result<Self> {
        let source = source_address(public_address).await;
        if source.is_none() {
            tracing::warn!(
                "the web proxy at {public_address} has no local address to send from; \
                 application masters' filters may bounce its requests"
            );
        }
        let client = reqwest::Client::builder()
            // Never through an HTTP proxy from the environment: the AM checks the source address.
            .no_proxy()
            .local_address(source)
            .connect_timeout(CONNECT_DEADLINE)
            .timeout(UPSTREAM_DEADLINE)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()?;
        Ok(Self { client, source })
    }

    /// Whether a request from `peer` may be one the proxy sent: its own source address, or
    /// (when it has none) any address of this host, as YARN counts any local address. A
    /// `/proxy/redirect/` request from it is the proxy's own request bounced back.
    fn is_own_request(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        match self.source {
            Some(source) => peer == source,
            None => peer.is_loopback() || is_local_address(peer),
        }
    }

    /// Fetches `target` for the caller and streams the AM's answer back.
    async fn fetch(
        &self,
        method: Method,
        target: Url,
        incoming: &HeaderMap,
        user: &str,
        body: Option<Bytes>,
    ) -> Result<Response, WebError> {
        let mut outgoing = HeaderMap::new();
        for name in PASS_THROUGH_HEADERS {
            for value in incoming.get_all(name) {
                outgoing.append(name, value.clone());
            }
        }
        let cookie = format!("{PROXY_USER_COOKIE}={}", url_encode(user));
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            outgoing.insert(header::COOKIE, value);
        }
        // HEAD is fetched as GET (the server sends no body back), as the servlet does.
        let method = if method == Method::PUT {
            Method::PUT
        } else {
            Method::GET
        };
        let mut call = self
            .client
            .request(method, target.clone())
            .headers(outgoing);
        if let Some(body) = body {
            call = call.body(body);
        }
        let upstream = call.send().await.map_err(|e| upstream_error(&target, e))?;
        let mut response = Response::builder().status(upstream.status());
        if let Some(headers) = response.headers_mut() {
            for (name, value) in upstream.headers() {
                if !HOP_BY_HOP_HEADERS.contains(&name.as_str()) {
                    headers.append(name, value.clone());
                }
            }
        }
        // Streamed, never buffered whole: the client's deadline bounds how long it may last.
        let chunks = futures::stream::unfold(Some(upstream), |upstream| async move {
            let mut upstream = upstream?;
            match upstream.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(upstream))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        response
            .body(Body::from_stream(chunks))
            .map_err(|e| WebError::internal(format!("proxying {target}: {e}")))
    }
}

/// The address `host:port`'s host resolves to (IPv4 first, as Java's resolver), if it is one
/// this machine can send from.
async fn source_address(public_address: &str) -> Option<IpAddr> {
    let (host, port) = public_address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let candidates: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port.parse::<u16>().ok()?))
            .await
            .ok()?
            .map(|a| a.ip())
            .collect(),
    };
    let ordered = candidates
        .iter()
        .filter(|ip| ip.is_ipv4())
        .chain(candidates.iter().filter(|ip| ip.is_ipv6()));
    ordered
        .copied()
        .find(|ip| !ip.is_unspecified() && is_local_address(*ip))
}

/// Whether `ip` belongs to this machine: a socket can be bound to it.
fn is_local_address(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// `user` as Java's URLEncoder writes it (user names are already plain, see
/// `spindle_web::auth::valid_user_name`; `@` and `$` are encoded).
fn url_encode(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for byte in user.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn upstream_error(target: &Url, e: reqwest::Error) -> WebError {
    if e.is_timeout() {
        WebError::plain(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the application master's web UI at {target} did not answer within {} s",
                UPSTREAM_DEADLINE.as_secs()
            ),
        )
    } else if e.is_redirect() {
        WebError::plain(
            StatusCode::BAD_GATEWAY,
            format!("the application master's web UI at {target} redirected more than {MAX_REDIRECTS} times"),
        )
    } else {
        WebError::plain(
            StatusCode::BAD_GATEWAY,
            format!("could not reach the application master's web UI at {target}: {e}"),
        )
    }
}

/// A request path under `/proxy/`, split as YARN splits it (nothing decoded).
#[derive(Debug, PartialEq, Eq)]
struct ProxyPath<'a> {
    /// `/proxy/redirect/..`: the AM filter sent the caller back.
    redirect: bool,
    app: &'a str,
    /// The AM page, relative to its URL ("" for the URL itself).
    rest: &'a str,
}

impl<'a> ProxyPath<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        let path = path.strip_prefix("/proxy/")?;
        let (redirect, path) = match path.strip_prefix("redirect/") {
            Some(rest) => (true, rest),
            None => (false, path),
        };
        let (app, rest) = path.split_once('/').unwrap_or((path, ""));
        (!app.is_empty()).then_some(Self {
            redirect,
            app,
            rest,
        })
    }
}

/// The AM page a proxied request asks for: the AM's URL (`http://` added if it names no
/// scheme) with `rest` appended to its path and the request's query added to its own.
fn target_url(original: &str, rest: &str, query: Option<&str>) -> Result<Url, String> {
    let mut url = Url::parse(&super::views::with_scheme(original)).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {} is not HTTP", url.scheme()));
    }
    if !rest.is_empty() {
        let base = url.path().trim_end_matches('/');
        let path = format!("{base}/{}", rest.trim_start_matches('/'));
        url.set_path(&path);
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        let joined = match url.query().filter(|q| !q.is_empty()) {
            Some(own) => format!("{own}&{query}"),
            None => query.to_string(),
        };
        url.set_query(Some(&joined));
    }
    Ok(url)
}

/// What the proxy needs to know of one application, read under the core's lock.
struct ProxiedApp {
    state: YarnApplicationState,
    /// The URL its current attempt's AM gave (at registration, or at the end).
    original: Option<String>,
}

fn proxied_app(core: &RmCore, id: ApplicationId) -> Option<ProxiedApp> {
    let app = core.application(id).ok()?;
    let original = app
        .current_attempt()
        .and_then(|attempt| core.attempt(attempt))
        .and_then(|attempt| core.original_tracking_url(attempt))
        .map(str::to_string);
    Some(ProxiedApp {
        state: app.state.yarn_state(),
        original,
    })
}

/// A 302 to `location` with a short page linking there (YARN's proxy answers so).
fn found(location: &str) -> Response {
    let page = format!(
        "<html><head><title>Moved</title></head><body><h1>Moved</h1>\
         <div>Content has moved <a href=\"{0}\">here</a></div></body></html>",
        escape(location)
    );
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, value),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
            ],
            page,
        )
            .into_response(),
        Err(_) => WebError::internal(format!("cannot redirect to {location:?}")).into_response(),
    }
}

/// `/cluster/failure/<appId>`: where the proxy sends a caller when the AM's web UI sent the
/// proxy's own request back to the proxy.
pub(super) async fn failure_page(Path(id): Path<String>) -> Result<Response, WebError> {
    let id = super::handlers::parse_app_id(&id)?;
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <title>Application {id}: proxy failure</title></head><body>\n\
         <h1>Failed while trying to reach the web UI of {id}</h1>\n\
         <p>The application master's web UI sent the web proxy's request back to the proxy. Its \
         filter trusts only requests from the proxy's host, and it resolves that host \
         (yarn.web-proxy.address, else yarn.resourcemanager.webapp.address in the \
         application's configuration) to an address other than the one the proxy sends from. \
         Check host name resolution on the node the application master runs on.</p>\n\
         <p><a href=\"/cluster/app/{id}\">Application {id}</a></p>\n</body></html>\n"
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// Every request under `/proxy/`.
pub(super) async fn proxy(State(web): State<Arc<RmWeb>>, request: Request) -> Response {
    match forward(&web, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn forward(web: &RmWeb, request: Request) -> Result<Response, WebError> {
    let method = request.method().clone();
    if !matches!(method, Method::GET | Method::HEAD | Method::PUT) {
        return Err(WebError::method_not_allowed(format!(
            "{method} is not supported by the web proxy (GET and PUT are)"
        )));
    }
    let uri = request.uri().clone();
    let path = ProxyPath::parse(uri.path())
        .ok_or_else(|| WebError::not_found("Your path appears to be formatted incorrectly."))?;
    let id: ApplicationId = path.app.parse().map_err(|_| {
        WebError::not_found(format!("{} appears to be formatted incorrectly.", path.app))
    })?;
    let rm_page = |page: &str| format!("http://{}/cluster/{page}/{id}", web.context.web_address);
    if path.redirect {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        if peer.is_some_and(|ip| web.proxy.is_own_request(ip)) {
            tracing::error!(
                "the web UI of {id}'s application master sent the proxy's own request back to \
                 the proxy: the AM resolves the proxy's host ({}) to an address other than the \
                 one the proxy sends from; check host name resolution on the AM's node",
                web.context.web_address
            );
            return Ok(found(&rm_page("failure")));
        }
    }
    let app = web.core()?.read(|core| proxied_app(core, id));
    let app = app.ok_or_else(|| {
        WebError::not_found(format!(
            "Application {id} could not be found in RM or history server"
        ))
    })?;
    let Some(original) = app.original else {
        return Ok(found(&rm_page("app")));
    };
    let target = target_url(&original, path.rest, uri.query()).map_err(|e| {
        WebError::plain(
            StatusCode::BAD_GATEWAY,
            format!("the tracking URL {original:?} of {id} is not usable: {e}"),
        )
    })?;
    if app.state.is_final() {
        return Ok(found(target.as_str()));
    }
    let user = match request.extensions().get::<Caller>() {
        Some(Caller::User(user)) => user.clone(),
        // An anonymous caller is the static web user, as Hadoop's StaticUserWebFilter makes it.
        _ => web.setup.auth.static_user().to_string(),
    };
    let headers = request.headers().clone();
    let body = if method == Method::PUT {
        let bytes = axum::body::to_bytes(request.into_body(), spindle_web::server::MAX_BODY_BYTES)
            .await
            .map_err(|e| WebError::bad_request(format!("reading the request body: {e}")))?;
        Some(bytes)
    } else {
        None
    };
    tracing::debug!("{user} is accessing {target}, the web UI of {id}'s application master");
    web.proxy.fetch(method, target, &headers, &user, body).await
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rules {
    use super::*;

    #[test]
    fn paths_split_as_yarn_splits_them() {
        let parse = ProxyPath::parse;
        assert_eq!(
            parse("/proxy/application_1_0001/jobs/job/"),
            Some(ProxyPath {
                redirect: false,
                app: "application_1_0001",
                rest: "jobs/job/"
            })
        );
        assert_eq!(
            parse("/proxy/application_1_0001"),
            Some(ProxyPath {
                redirect: false,
                app: "application_1_0001",
                rest: ""
            })
        );
        assert_eq!(
            parse("/proxy/redirect/application_1_0001/stages/"),
            Some(ProxyPath {
                redirect: true,
                app: "application_1_0001",
                rest: "stages/"
            })
        );
        assert_eq!(parse("/proxy/"), None);
        assert_eq!(parse("/proxy/redirect/"), None);
        assert_eq!(parse("/cluster"), None);
    }

    #[test]
    fn the_target_is_the_ams_url_with_the_page_and_query() {
        let target = |original, rest, query| target_url(original, rest, query).unwrap().to_string();
        assert_eq!(target("127.0.0.1:4040", "", None), "http://127.0.0.1:4040/");
        assert_eq!(
            target("http://am:4040", "jobs/", Some("id=1&x=%2F")),
            "http://am:4040/jobs/?id=1&x=%2F"
        );
        assert_eq!(
            target(
                "http://am:8088/ui/?token=t",
                "static/a%20b.css",
                Some("v=2")
            ),
            "http://am:8088/ui/static/a%20b.css?token=t&v=2"
        );
        assert_eq!(
            target("https://history:18080/history/app_1/1", "jobs/", None),
            "https://history:18080/history/app_1/1/jobs/"
        );
        assert!(target_url("ftp://am/", "", None).is_err());
        assert!(target_url("http://", "", None).is_err());
    }

    #[test]
    fn the_user_is_encoded_as_java_encodes_it() {
        assert_eq!(url_encode("alice"), "alice");
        assert_eq!(url_encode("svc$x@EXAMPLE.COM"), "svc%24x%40EXAMPLE.COM");
    }

    #[test]
    fn only_addresses_of_this_host_are_local() {
        assert!(is_local_address(IpAddr::from([127, 0, 0, 1])));
        // TEST-NET-3 (RFC 5737) is never assigned to a host.
        assert!(!is_local_address(IpAddr::from([203, 0, 113, 7])));
    }
}
