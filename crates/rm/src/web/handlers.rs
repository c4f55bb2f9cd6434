//! The RM's REST reads and the kill (`PUT /apps/{id}/state`), each answering from the core under
//! its lock. Query parameters are checked as YARN checks them: a bad value is a 400 naming it.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use spindle_types::states::{FinalApplicationStatus, NodeState, YarnApplicationState};
use spindle_types::{ApplicationAttemptId, ApplicationId, NodeId};
use spindle_web::json::{enveloped, response, Envelope, JsonList};
use spindle_web::{Caller, WebError};

use super::dao::{ClusterInfo, StatItem};
use super::{views, RmWeb};
use crate::access::{check_modify_access, AppOperation};
use crate::core::RmApp;

type Web = State<Arc<RmWeb>>;

/// Applications whose answers are built per hold of the core's lock.
const APPS_PER_HOLD: usize = 256;

/// The pairs of a query string, decoded; a key may repeat.
fn query_pairs(query: &Option<String>) -> Vec<(String, String)> {
    query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                spindle_web::auth::percent_decode(k),
                spindle_web::auth::percent_decode(v),
            )
        })
        .collect()
}

/// The values of `key` (comma lists split, repeats joined, blanks dropped).
fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn single(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub(super) fn parse_app_id(text: &str) -> Result<ApplicationId, WebError> {
    text.parse()
        .map_err(|_| WebError::bad_request(format!("Invalid ApplicationId: {text}")))
}

fn app_not_found(id: ApplicationId) -> WebError {
    WebError::not_found(format!("app with id: {id} not found"))
}

pub(super) async fn not_found() -> WebError {
    WebError::not_found("no such path on this ResourceManager")
}

pub(super) async fn cluster_info(State(web): Web) -> Result<Response, WebError> {
    let version = env!("CARGO_PKG_VERSION");
    let cluster_id = match web.core() {
        Ok(core) => core.read(|c| c.settings.cluster_timestamp),
        Err(_) => web.started_on,
    };
    let active = web.is_active();
    Ok(enveloped(
        "clusterInfo",
        ClusterInfo {
            id: cluster_id,
            started_on: web.started_on,
            state: "STARTED",
            ha_state: if active { "ACTIVE" } else { "STANDBY" },
            rm_state_store_name: web.setup.store_name.clone(),
            resource_manager_version: "3.3.6",
            resource_manager_build_version: format!("3.3.6 from spindle {version}"),
            resource_manager_version_built_on: "2026-01-01T00:00Z",
            hadoop_version: "3.3.6",
            hadoop_build_version: format!("3.3.6 from spindle {version}"),
            hadoop_version_built_on: "2026-01-01T00:00Z",
            ha_zoo_keeper_connection_state: if web.setup.ha_enabled {
                "CONNECTED".into()
            } else {
                "ResourceManager HA is not enabled.".into()
            },
        },
    ))
}

pub(super) async fn cluster_metrics(State(web): Web) -> Result<Response, WebError> {
    let metrics = web.core()?.read(views::cluster_metrics);
    Ok(enveloped("clusterMetrics", metrics))
}

pub(super) async fn scheduler(State(web): Web) -> Result<Response, WebError> {
    let info = web.core()?.read(super::scheduler_info::scheduler_info);
    Ok(response(
        StatusCode::OK,
        &json!({"scheduler": {"schedulerInfo": info}}),
    ))
}

/// The `/apps` filter, from YARN's query parameters.
struct AppFilter {
    states: Vec<YarnApplicationState>,
    final_status: Option<FinalApplicationStatus>,
    user: Option<String>,
    queue: Option<String>,
    limit: usize,
    started: (i64, i64),
    finished: (i64, i64),
    types: Vec<String>,
    tags: Vec<String>,
    name: Option<String>,
}

fn parse_states(
    pairs: &[(String, String)],
    keys: &[&str],
) -> Result<Vec<YarnApplicationState>, WebError> {
    let mut states = Vec::new();
    for key in keys {
        for value in values(pairs, key) {
            let state = YarnApplicationState::from_name(&value).ok_or_else(|| {
                WebError::bad_request(format!(
                    "Invalid application-state {value} specified. It should be one of NEW, NEW_SAVING, SUBMITTED, ACCEPTED, RUNNING, FINISHED, FAILED, KILLED"
                ))
            })?;
            states.push(state);
        }
    }
    Ok(states)
}

fn time_range(pairs: &[(String, String)], begin: &str, end: &str) -> Result<(i64, i64), WebError> {
    let parse = |key: &str, default: i64| -> Result<i64, WebError> {
        match single(pairs, key) {
            None => Ok(default),
            Some(v) => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| WebError::bad_request(format!("{key} must be a number: {v}")))?;
                if n < 0 {
                    return Err(WebError::bad_request(format!(
                        "{key} must be greater than 0"
                    )));
                }
                Ok(n)
            }
        }
    };
    let (b, e) = (parse(begin, 0)?, parse(end, i64::MAX)?);
    if b > e {
        return Err(WebError::bad_request(format!(
            "{begin} must be less than or equal to {end}"
        )));
    }
    Ok((b, e))
}

impl AppFilter {
    fn of(pairs: &[(String, String)]) -> Result<Self, WebError> {
        let final_status = match single(pairs, "finalStatus") {
            None => None,
            Some(v) => Some(
                [
                    FinalApplicationStatus::Undefined,
                    FinalApplicationStatus::Succeeded,
                    FinalApplicationStatus::Failed,
                    FinalApplicationStatus::Killed,
                ]
                .into_iter()
                .find(|s| s.name().eq_ignore_ascii_case(&v))
                .ok_or_else(|| {
                    WebError::bad_request(format!(
                        "Invalid finalStatus {v}: it should be one of UNDEFINED, SUCCEEDED, FAILED, KILLED"
                    ))
                })?,
            ),
        };
        let limit = match single(pairs, "limit") {
            None => usize::MAX,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n > 0 => n as usize,
                _ => {
                    return Err(WebError::bad_request(format!(
                        "limit value must be greater then 0: {v}"
                    )))
                }
            },
        };
        for deselect in values(pairs, "deSelects") {
            if ![
                "resourceRequests",
                "timeouts",
                "appNodeLabelExpression",
                "amNodeLabelExpression",
                "resourceInfo",
            ]
            .contains(&deselect.as_str())
            {
                return Err(WebError::bad_request(format!(
                    "Invalid deSelects string {deselect}"
                )));
            }
        }
        Ok(Self {
            states: parse_states(pairs, &["state", "states"])?,
            final_status,
            user: single(pairs, "user"),
            queue: single(pairs, "queue"),
            limit,
            started: time_range(pairs, "startedTimeBegin", "startedTimeEnd")?,
            finished: time_range(pairs, "finishedTimeBegin", "finishedTimeEnd")?,
            types: values(pairs, "applicationTypes")
                .into_iter()
                .map(|t| t.to_lowercase())
                .collect(),
            tags: values(pairs, "applicationTags")
                .into_iter()
                .map(|t| t.to_lowercase())
                .collect(),
            name: single(pairs, "name"),
        })
    }

    fn accepts(&self, app: &RmApp) -> bool {
        let state = app.state.yarn_state();
        (self.states.is_empty() || self.states.contains(&state))
            && self.final_status.is_none_or(|s| s == app.final_status)
            && self.user.as_ref().is_none_or(|u| *u == app.user)
            && self.queue.as_ref().is_none_or(|q| {
                *q == app.queue
                    || *q == app.reported_queue()
                    || app.reported_queue().rsplit('.').next() == Some(q.as_str())
            })
            && (self.started.0..=self.started.1).contains(&app.start_time)
            && (self.finished.0 == 0 && self.finished.1 == i64::MAX
                || (state.is_final()
                    && (self.finished.0..=self.finished.1).contains(&app.finish_time)))
            && (self.types.is_empty() || self.types.contains(&app.application_type.to_lowercase()))
            && (self.tags.is_empty()
                || app
                    .tags
                    .iter()
                    .any(|t| self.tags.contains(&t.to_lowercase())))
            && self.name.as_ref().is_none_or(|n| *n == app.name)
    }
}

pub(super) async fn apps(State(web): Web, RawQuery(query): RawQuery) -> Result<Response, WebError> {
    let pairs = query_pairs(&query);
    let filter = AppFilter::of(&pairs)?;
    let core = web.core()?;
    let now = crate::service::now_ms();
    // The matching ids under one short hold of the core, then their answers in chunks, each
    // under its own hold: a list of 10,000 applications never stalls the scheduling path for
    // the whole list.
    let ids: Vec<ApplicationId> = core.read(|c| {
        c.apps
            .values()
            .filter(|app| filter.accepts(app))
            .take(filter.limit)
            .map(|app| app.id)
            .collect()
    });
    let mut apps = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(APPS_PER_HOLD) {
        core.read(|c| {
            let mut basis = crate::core::UsageBasis::default();
            apps.extend(
                chunk
                    .iter()
                    .filter_map(|id| c.apps.get(id))
                    .map(|app| views::app_info_with(c, app, now, &mut basis)),
            );
        });
    }
    // Serialized straight from the structs (not through a JSON value): the resource-seconds
    // maps repeat their `entry` key, as YARN's do.
    Ok(response(
        StatusCode::OK,
        &Envelope {
            key: "apps",
            value: JsonList::new("app", apps),
        },
    ))
}

pub(super) async fn app_statistics(
    State(web): Web,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let pairs = query_pairs(&query);
    let mut states = parse_states(&pairs, &["states"])?;
    if states.is_empty() {
        states = YarnApplicationState::ALL.to_vec();
    }
    let types = values(&pairs, "applicationTypes");
    if types.len() > 1 {
        return Err(WebError::bad_request(
            "# of applicationTypes = 2, we temporarily support at most one applicationType",
        ));
    }
    let kind = types.first().map(|t| t.to_lowercase());
    let counts = web.core()?.read(|c| {
        states
            .iter()
            .map(|state| {
                let count = c
                    .apps
                    .values()
                    .filter(|a| a.state.yarn_state() == *state)
                    .filter(|a| {
                        kind.as_ref()
                            .is_none_or(|k| a.application_type.to_lowercase() == *k)
                    })
                    .count() as i64;
                StatItem {
                    state: state.name().to_lowercase(),
                    kind: kind.clone().unwrap_or_else(|| "*".into()),
                    count,
                }
            })
            .collect::<Vec<_>>()
    });
    Ok(response(
        StatusCode::OK,
        &json!({"appStatInfo": {"statItem": counts}}),
    ))
}

pub(super) async fn app(State(web): Web, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let now = crate::service::now_ms();
    let info = web
        .core()?
        .read(|c| c.apps.get(&id).map(|app| views::app_info(c, app, now)));
    Ok(enveloped("app", info.ok_or_else(|| app_not_found(id))?))
}

pub(super) async fn app_state(
    State(web): Web,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let state = web
        .core()?
        .read(|c| views::app_state_name(c, id))
        .ok_or_else(|| app_not_found(id))?;
    Ok(response(StatusCode::OK, &json!({ "state": state })))
}

#[derive(Deserialize)]
pub(super) struct TargetState {
    state: String,
    #[serde(default)]
    diagnostics: Option<String>,
}

/// `PUT /apps/{id}/state {"state":"KILLED"}`: kills the application for its owner (or, with
/// ACLs, an administrator). 200 when the kill is done, 202 with the current state while it is
/// under way; any other target state is a 400; a denial a plain-text 403, as in YARN.
pub(super) async fn put_app_state(
    State(web): Web,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    uri: axum::http::Uri,
    body: Result<Json<TargetState>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let Json(target) = body.map_err(|e| WebError::bad_request(e.body_text()))?;
    if !target.state.eq_ignore_ascii_case("KILLED") {
        return Err(WebError::bad_request(
            "Only 'KILLED' is allowed as a target state.",
        ));
    }
    let user = caller.user()?.to_string();
    let outcome = web.core()?.with(|c, now| {
        let state = c
            .apps
            .get(&id)
            .map(|a| a.state.yarn_state())
            .ok_or_else(|| app_not_found(id))?;
        if state.is_final() {
            return Ok((true, state));
        }
        check_modify_access(c, id, &user, AppOperation::Kill).map_err(|_| {
            WebError::forbidden_plain(format!(
                "Unauthorized attempt to kill appid {id} by remote user {user}"
            ))
        })?;
        if let Some(diagnostics) = &target.diagnostics {
            tracing::info!("{user} kills {id} over REST: {diagnostics}");
        }
        let done = c
            .kill_application(id, now)
            .map_err(|e| WebError::from_java(e.class, e.message))?;
        let state = c
            .apps
            .get(&id)
            .map(|a| a.state.yarn_state())
            .unwrap_or(state);
        Ok::<_, WebError>((done, state))
    })?;
    let (done, state) = outcome;
    let body = json!({ "state": state.name() });
    if done {
        Ok(response(StatusCode::OK, &body))
    } else {
        let mut accepted = response(StatusCode::ACCEPTED, &body);
        if let Ok(location) = uri.to_string().parse() {
            accepted.headers_mut().insert(header::LOCATION, location);
        }
        Ok(accepted)
    }
}

pub(super) async fn app_queue(
    State(web): Web,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let queue = web
        .core()?
        .read(|c| c.apps.get(&id).map(|a| a.reported_queue().to_string()))
        .ok_or_else(|| app_not_found(id))?;
    Ok(response(StatusCode::OK, &json!({ "queue": queue })))
}

pub(super) async fn app_priority(
    State(web): Web,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let priority = web
        .core()?
        .read(|c| c.apps.get(&id).map(|a| a.priority))
        .ok_or_else(|| app_not_found(id))?;
    Ok(response(StatusCode::OK, &json!({ "priority": priority })))
}

pub(super) async fn attempts(
    State(web): Web,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let attempts = web
        .core()?
        .read(|c| c.apps.get(&id).map(|app| views::attempt_infos(c, app)))
        .ok_or_else(|| app_not_found(id))?;
    Ok(response(
        StatusCode::OK,
        &json!({"appAttempts": {"appAttempt": attempts}}),
    ))
}

/// The attempt named in a path: `appattempt_…` or its number.
fn parse_attempt(app: ApplicationId, text: &str) -> Result<ApplicationAttemptId, WebError> {
    if let Ok(number) = text.parse::<i32>() {
        return Ok(ApplicationAttemptId::new(app, number));
    }
    let attempt: ApplicationAttemptId = text
        .parse()
        .map_err(|_| WebError::bad_request(format!("Invalid AppAttemptId: {text}")))?;
    if attempt.application_id != app {
        return Err(WebError::bad_request(format!(
            "{text} is not an attempt of {app}"
        )));
    }
    Ok(attempt)
}

pub(super) async fn attempt(
    State(web): Web,
    Path((id, attempt)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let attempt = parse_attempt(id, &attempt)?;
    let info = web.core()?.read(|c| {
        c.apps.get(&id).and_then(|app| {
            views::attempt_infos(c, app)
                .into_iter()
                .find(|a| a.id == attempt.attempt_id)
        })
    });
    let info = info
        .ok_or_else(|| WebError::not_found(format!("appattempt with id: {attempt} not found")))?;
    Ok(enveloped("appAttempt", info))
}

pub(super) async fn attempt_containers(
    State(web): Web,
    Path((id, attempt)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = parse_app_id(&id)?;
    let attempt = parse_attempt(id, &attempt)?;
    let now = crate::service::now_ms();
    let containers = web.core()?.read(|c| {
        let app = c.apps.get(&id)?;
        c.attempts
            .contains_key(&attempt)
            .then(|| views::container_infos(c, app, attempt, now))
    });
    let containers = containers
        .ok_or_else(|| WebError::not_found(format!("appattempt with id: {attempt} not found")))?;
    Ok(response(
        StatusCode::OK,
        &json!({"containers": JsonList::new("container", containers)}),
    ))
}

pub(super) async fn nodes(
    State(web): Web,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let pairs = query_pairs(&query);
    let mut states = Vec::new();
    for value in values(&pairs, "states") {
        let state = NodeState::from_name(&value)
            .ok_or_else(|| WebError::bad_request(format!("Invalid node state {value}")))?;
        states.push(state);
    }
    let nodes = web.core()?.read(|c| {
        c.nodes
            .sorted()
            .into_iter()
            .filter(|n| states.is_empty() || states.contains(&n.state))
            .map(views::node_info)
            .collect::<Vec<_>>()
    });
    Ok(response(
        StatusCode::OK,
        &json!({"nodes": JsonList::new("node", nodes)}),
    ))
}

pub(super) async fn node(State(web): Web, Path(id): Path<String>) -> Result<Response, WebError> {
    let node_id: NodeId = id
        .parse()
        .map_err(|_| WebError::bad_request(format!("Invalid NodeId [{id}]. Expected host:port")))?;
    let info = web
        .core()?
        .read(|c| c.nodes.get(&node_id).map(views::node_info))
        .ok_or_else(|| WebError::not_found(format!("nodeId, {id}, is not found")))?;
    Ok(enveloped("node", info))
}

impl IntoResponse for super::dao::NewApplication {
    fn into_response(self) -> Response {
        response(StatusCode::OK, &self)
    }
}
