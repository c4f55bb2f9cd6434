//! Who is calling: Hadoop's pseudo ("simple") web authentication, on by default. A caller names
//! itself with `user.name=<user>` and gets a signed `hadoop.auth` cookie that later calls replay
//! (yarn-api-client's SimpleAuth reads that cookie and fails without it); a caller without
//! either, or naming the static web user (`hadoop.http.staticuser.user`, dr.who), is anonymous.
//!
//! Then what it may do: every route is listed once in a [`Route`] table with its [`Access`], and
//! one layer ([`authorize`]) checks the table before any handler runs. A route missing from the
//! table is refused, so a handler can never be reached without a rule. Ownership and ACL checks
//! that need the daemon's records (who owns an application) stay in the handlers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};

use crate::WebError;

/// `hadoop.http.authentication.type`.
pub const AUTH_TYPE_KEY: &str = "hadoop.http.authentication.type";
/// `hadoop.http.authentication.simple.anonymous.allowed`.
pub const ANONYMOUS_ALLOWED_KEY: &str = "hadoop.http.authentication.simple.anonymous.allowed";
/// `hadoop.http.authentication.token.validity` (seconds).
pub const TOKEN_VALIDITY_KEY: &str = "hadoop.http.authentication.token.validity";
/// `hadoop.http.authentication.signature.secret.file`.
pub const SECRET_FILE_KEY: &str = "hadoop.http.authentication.signature.secret.file";
/// `hadoop.http.staticuser.user`.
pub const STATIC_USER_KEY: &str = "hadoop.http.staticuser.user";
/// The cookie Hadoop's AuthenticationFilter sets.
pub const COOKIE: &str = "hadoop.auth";

/// Who made a web call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials, or the static web user: may read, never change anything.
    Anonymous,
    /// A user named by `user.name` or a valid `hadoop.auth` cookie.
    User(String),
}

impl Caller {
    /// The user, or a 401 naming the action refused (Hadoop's "Unable to obtain user name,
    /// user not authenticated").
    pub fn user(&self) -> Result<&str, WebError> {
        match self {
            Caller::User(user) => Ok(user),
            Caller::Anonymous => Err(WebError::unauthorized(
                "Unable to obtain user name, user not authenticated",
            )),
        }
    }
}

/// A bad web authentication setting, named.
#[derive(Debug, thiserror::Error)]
pub enum WebAuthError {
    #[error("{AUTH_TYPE_KEY}={0}: Spindle supports only simple (pseudo) web authentication")]
    Unsupported(String),
    #[error("{key}: {message}")]
    Value { key: &'static str, message: String },
    #[error("{SECRET_FILE_KEY}={path}: {message}")]
    SecretFile { path: String, message: String },
}

/// The web authentication settings and the cookie-signing secret.
#[derive(Clone)]
pub struct WebAuth {
    anonymous_allowed: bool,
    static_user: String,
    validity: Duration,
    secret: Arc<Vec<u8>>,
}

impl std::fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAuth")
            .field("anonymous_allowed", &self.anonymous_allowed)
            .field("static_user", &self.static_user)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl Default for WebAuth {
    /// Hadoop's defaults: anonymous reads allowed, dr.who, 10 h cookies, a random secret.
    fn default() -> Self {
        Self {
            anonymous_allowed: true,
            static_user: "dr.who".into(),
            validity: Duration::from_secs(36_000),
            secret: Arc::new(random_secret()),
        }
    }
}

fn random_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret
}

impl WebAuth {
    /// From Hadoop's `hadoop.http.*` keys. Without a secret file each daemon signs with a random
    /// secret of its own (cookies then hold for that daemon only, as in Hadoop).
    pub fn from_configuration(conf: &spindle_conf::Configuration) -> Result<Self, WebAuthError> {
        let mut auth = Self::default();
        if let Some(kind) = conf.get(AUTH_TYPE_KEY).map(str::trim) {
            if !kind.is_empty() && kind != "simple" {
                return Err(WebAuthError::Unsupported(kind.to_string()));
            }
        }
        let value = |key: &'static str, message: String| WebAuthError::Value { key, message };
        if let Some(allowed) = conf
            .get_bool(ANONYMOUS_ALLOWED_KEY)
            .map_err(|e| value(ANONYMOUS_ALLOWED_KEY, e.to_string()))?
        {
            auth.anonymous_allowed = allowed;
        }
        if let Some(seconds) = conf
            .get_i64(TOKEN_VALIDITY_KEY)
            .map_err(|e| value(TOKEN_VALIDITY_KEY, e.to_string()))?
        {
            if seconds <= 0 {
                return Err(value(
                    TOKEN_VALIDITY_KEY,
                    format!("{seconds} is not positive"),
                ));
            }
            auth.validity = Duration::from_secs(seconds as u64);
        }
        if let Some(user) = conf.get(STATIC_USER_KEY).map(str::trim) {
            if !user.is_empty() {
                auth.static_user = user.to_string();
            }
        }
        if let Some(path) = conf.get(SECRET_FILE_KEY).map(str::trim) {
            if !path.is_empty() {
                let secret = std::fs::read(path).map_err(|e| WebAuthError::SecretFile {
                    path: path.to_string(),
                    message: e.to_string(),
                })?;
                if secret.is_empty() {
                    return Err(WebAuthError::SecretFile {
                        path: path.to_string(),
                        message: "the file is empty".into(),
                    });
                }
                auth.secret = Arc::new(secret);
            }
        }
        Ok(auth)
    }

    /// Refuses anonymous callers (`…simple.anonymous.allowed=false`).
    pub fn with_anonymous_allowed(mut self, allowed: bool) -> Self {
        self.anonymous_allowed = allowed;
        self
    }

    /// The static web user (dr.who unless configured).
    pub fn static_user(&self) -> &str {
        &self.static_user
    }

    fn sign(&self, payload: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(payload.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// A cookie value for `user`, valid until `now + validity`.
    pub fn cookie_for(&self, user: &str, now_ms: i64) -> String {
        let expiry = now_ms + self.validity.as_millis() as i64;
        let payload = format!("u={user}&p={user}&t=simple&e={expiry}");
        let signature = self.sign(&payload);
        format!("{payload}&s={signature}")
    }

    /// The user a cookie value names, if it is ours, unexpired and unaltered.
    pub fn user_of_cookie(&self, value: &str, now_ms: i64) -> Option<String> {
        let value = value.trim().trim_matches('"');
        let (payload, signature) = value.rsplit_once("&s=")?;
        let expected = self.sign(payload);
        // Constant-time comparison of the signatures.
        if expected.len() != signature.len()
            || expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return None;
        }
        let mut user = None;
        let mut expiry = None;
        for part in payload.split('&') {
            match part.split_once('=') {
                Some(("u", u)) => user = Some(u.to_string()),
                Some(("e", e)) => expiry = e.parse::<i64>().ok(),
                _ => {}
            }
        }
        match (user, expiry) {
            (Some(user), Some(expiry)) if expiry > now_ms && valid_user_name(&user) => Some(user),
            _ => None,
        }
    }

    /// Who is calling, and the cookie to set when the caller named itself with `user.name`.
    pub fn caller_of(
        &self,
        headers: &axum::http::HeaderMap,
        query: Option<&str>,
        now_ms: i64,
    ) -> Result<(Caller, Option<String>), WebError> {
        let named = query.and_then(|q| {
            q.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                (key == "user.name").then(|| percent_decode(value))
            })
        });
        if let Some(user) = named {
            let user = user.trim().to_string();
            if !valid_user_name(&user) {
                return Err(WebError::unauthorized(format!(
                    "Invalid user.name {user:?}: a user name is 1-256 letters, digits and . _ - @ $"
                )));
            }
            if user == self.static_user {
                return Ok((Caller::Anonymous, None));
            }
            let cookie = self.cookie_for(&user, now_ms);
            return Ok((Caller::User(user), Some(cookie)));
        }
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((name, value)) = pair.trim().split_once('=') {
                    if name == COOKIE {
                        if let Some(user) = self.user_of_cookie(value, now_ms) {
                            if user != self.static_user {
                                return Ok((Caller::User(user), None));
                            }
                        }
                    }
                }
            }
        }
        if self.anonymous_allowed {
            Ok((Caller::Anonymous, None))
        } else {
            Err(WebError::unauthorized(
                "Anonymous requests are disallowed (hadoop.http.authentication.simple.anonymous.allowed=false): add user.name=<user>",
            ))
        }
    }
}

/// Hadoop accepts almost any user name; Spindle takes the characters user names use, so that a
/// name can never break the cookie or a log line.
pub fn valid_user_name(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 256
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '$'))
}

/// `%XX` and `+` decoding of one query value.
pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone the authentication allows (anonymous too, unless anonymous calls are refused).
    Read,
    /// A named user; the handler then checks ownership or ACLs.
    User,
    /// A named user, and only when the daemon enables it (REST submission).
    Submit,
}

/// An HTTP method a route takes (HEAD is served as GET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Put,
    Post,
    Delete,
}

impl Verb {
    pub fn of(method: &Method) -> Option<Self> {
        match *method {
            Method::GET | Method::HEAD => Some(Verb::Get),
            Method::PUT => Some(Verb::Put),
            Method::POST => Some(Verb::Post),
            Method::DELETE => Some(Verb::Delete),
            _ => None,
        }
    }

    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Put => Method::PUT,
            Verb::Post => Method::POST,
            Verb::Delete => Method::DELETE,
        }
    }
}

/// One row of a daemon's route table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Verb,
    /// The path as the router matches it (`/ws/v1/cluster/apps/{appid}`).
    pub path: &'static str,
    pub access: Access,
}

/// What [`authorize`] needs: the route table, the authentication, and whether `Submit` routes
/// are open.
#[derive(Clone)]
pub struct Gate {
    pub routes: &'static [Route],
    pub auth: WebAuth,
    pub submissions_enabled: bool,
    /// The key that enables `Submit` routes, named in the refusal.
    pub submissions_key: &'static str,
}

/// The one authentication and authorization layer: resolves the caller (a [`Caller`] in the
/// request's extensions for the handlers), checks the route's [`Access`], sets the
/// `hadoop.auth` cookie when the caller named itself.
pub async fn authorize(
    State(gate): State<Arc<Gate>>,
    mut request: Request,
    next: Next,
) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let (caller, cookie) =
        match gate
            .auth
            .caller_of(request.headers(), request.uri().query(), now_ms())
        {
            Ok(found) => found,
            Err(e) => return e.into_response(),
        };
    if let Some(path) = matched {
        let method = request.method().clone();
        let verb = Verb::of(&method);
        let Some(route) = gate
            .routes
            .iter()
            .find(|r| r.path == path && Some(r.method) == verb)
        else {
            let known = gate.routes.iter().any(|r| r.path == path);
            return if known {
                WebError::method_not_allowed(format!("{method} is not supported on {path}"))
                    .into_response()
            } else {
                WebError::internal(format!("no access rule for {method} {path}")).into_response()
            };
        };
        match route.access {
            Access::Read => {}
            Access::User => {
                if let Err(e) = caller.user() {
                    return e.into_response();
                }
            }
            Access::Submit => {
                if !gate.submissions_enabled {
                    return WebError::forbidden(format!(
                        "Submitting applications over REST is disabled; set {}=true (with web authentication) to allow it",
                        gate.submissions_key
                    ))
                    .into_response();
                }
                if let Err(e) = caller.user() {
                    return e.into_response();
                }
            }
        }
    }
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    if let Some(cookie) = cookie {
        if let Ok(value) =
            HeaderValue::from_str(&format!("{COOKIE}=\"{cookie}\"; Path=/; HttpOnly"))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn user_name_gives_a_cookie_that_names_the_user_later() {
        let auth = WebAuth::default();
        let (caller, cookie) = auth
            .caller_of(
                &HeaderMap::new(),
                Some("user.name=alice&states=RUNNING"),
                1_000,
            )
            .unwrap();
        assert_eq!(caller, Caller::User("alice".into()));
        let cookie = cookie.unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("other=1; {COOKIE}=\"{cookie}\"").parse().unwrap(),
        );
        let (later, none) = auth.caller_of(&headers, None, 2_000).unwrap();
        assert_eq!(later, Caller::User("alice".into()));
        assert!(none.is_none());
    }

    #[test]
    fn forged_expired_and_foreign_cookies_are_anonymous() {
        let auth = WebAuth::default();
        let cookie = auth.cookie_for("alice", 0);
        let forged = cookie.replace("u=alice&p=alice", "u=admin&p=admin");
        let other_daemon = WebAuth::default().cookie_for("alice", 0);
        for (value, now) in [
            (forged.as_str(), 1),
            (cookie.as_str(), 36_000_001),
            (other_daemon.as_str(), 1),
            ("garbage", 1),
            ("", 1),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, format!("{COOKIE}={value}").parse().unwrap());
            assert_eq!(
                auth.caller_of(&headers, None, now).unwrap().0,
                Caller::Anonymous,
                "{value}"
            );
        }
    }

    #[test]
    fn static_user_and_nobody_are_anonymous_and_bad_names_refused() {
        let auth = WebAuth::default();
        let (caller, cookie) = auth
            .caller_of(&HeaderMap::new(), Some("user.name=dr.who"), 1)
            .unwrap();
        assert_eq!((caller, cookie), (Caller::Anonymous, None));
        assert_eq!(
            auth.caller_of(&HeaderMap::new(), None, 1).unwrap().0,
            Caller::Anonymous
        );
        for bad in ["user.name=", "user.name=a%26u%3Dadmin", "user.name=a%0Ab"] {
            let e = auth.caller_of(&HeaderMap::new(), Some(bad), 1).unwrap_err();
            assert_eq!(e.status.as_u16(), 401, "{bad}");
        }
        let strict = WebAuth::default().with_anonymous_allowed(false);
        assert_eq!(
            strict
                .caller_of(&HeaderMap::new(), None, 1)
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
    }

    #[test]
    fn settings_come_from_hadoops_keys_and_bad_ones_are_named() {
        let mut conf = spindle_conf::Configuration::new();
        conf.set(AUTH_TYPE_KEY, "kerberos").unwrap();
        let e = WebAuth::from_configuration(&conf).unwrap_err().to_string();
        assert!(e.contains(AUTH_TYPE_KEY) && e.contains("kerberos"), "{e}");
        let mut conf = spindle_conf::Configuration::new();
        conf.set(TOKEN_VALIDITY_KEY, "-5").unwrap();
        let e = WebAuth::from_configuration(&conf).unwrap_err().to_string();
        assert!(e.contains(TOKEN_VALIDITY_KEY), "{e}");
        let mut conf = spindle_conf::Configuration::new();
        conf.set(STATIC_USER_KEY, "nobody").unwrap();
        conf.set(SECRET_FILE_KEY, "/does/not/exist").unwrap();
        let e = WebAuth::from_configuration(&conf).unwrap_err().to_string();
        assert!(e.contains("/does/not/exist"), "{e}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
