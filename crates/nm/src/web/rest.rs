//! The NM's REST API under `/ws/v1/node`: node info, applications and containers with YARN's
//! fields and states, a container's log files (metadata as JSON, one file as text with YARN's
//! footer), errors as YARN gives them (400 "invalid container id, X", 404 "container with id,
//! X, not found").

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use spindle_types::{ApplicationId, ContainerId};
use spindle_web::json::{enveloped, JsonList};
use spindle_web::WebError;

use super::dao::{
    java_date, AppInfo, ContainerInfo, ContainerLogFileInfo, ContainerLogsInfo, NodeInfo,
    APPLICATION_STATES,
};
use super::log_files::{self, ContainerLogDirectory, Encoding, LogFileError};
use super::NmWeb;
use crate::container::{ContainerDetails, ContainerLifecycleState};

type Web = State<Arc<NmWeb>>;

/// The decoded value of `key` in a query string (the first, if repeated).
pub(super) fn query_value(query: &Option<String>, key: &str) -> Option<String> {
    query.as_deref()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (spindle_web::auth::percent_decode(k) == key).then(|| spindle_web::auth::percent_decode(v))
    })
}

/// A container id from a path, or YARN's 400.
pub(super) fn parse_container_id(text: &str) -> Result<ContainerId, WebError> {
    text.parse().map_err(|_| {
        WebError::from_java(
            "org.apache.hadoop.yarn.webapp.BadRequestException",
            format!("invalid container id, {text}"),
        )
    })
}

fn container_not_found(text: &str) -> WebError {
    WebError::not_found(format!("container with id, {text}, not found"))
}

/// A log file error as a REST answer.
pub(super) fn log_error(error: LogFileError) -> WebError {
    match &error {
        LogFileError::InvalidName(_) => WebError::bad_request(error.to_string()),
        LogFileError::NoLogDirectory(_) | LogFileError::NotFound(_) => {
            WebError::not_found(error.to_string())
        }
        LogFileError::NotRegular(_) => WebError::forbidden(error.to_string()),
        LogFileError::Io { .. } => WebError::internal(error.to_string()),
    }
}

/// Runs blocking file work off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebError::internal(format!("reading logs failed: {e}")))
}

pub(super) async fn not_found() -> WebError {
    WebError::not_found("no such path on this NodeManager")
}

pub(super) async fn node_info(State(web): Web) -> Response {
    let config = web.manager.config();
    let build = format!(
        "{} from spindle {}",
        super::HADOOP_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    enveloped(
        "nodeInfo",
        NodeInfo {
            id: web.node_id.to_string(),
            node_host_name: web.node_id.host.to_string(),
            total_pmem_allocated_containers_mb: web.resource.memory_mb,
            total_vmem_allocated_containers_mb: (web.resource.memory_mb as f64
                * f64::from(config.vmem_pmem_ratio))
                as i64,
            total_vcores_allocated_containers: web.resource.vcores,
            // Spindle enforces physical memory only.
            vmem_check_enabled: false,
            pmem_check_enabled: config.pmem_check,
            // The NM reports itself healthy with every heartbeat.
            last_node_update_time: crate::service::now_ms(),
            nm_startup_time: web.started_on,
            node_healthy: true,
            health_report: String::new(),
            node_manager_version: super::HADOOP_VERSION,
            node_manager_build_version: build.clone(),
            node_manager_version_built_on: super::VERSION_BUILT_ON,
            hadoop_version: super::HADOOP_VERSION,
            hadoop_build_version: build,
            hadoop_version_built_on: super::VERSION_BUILT_ON,
        },
    )
}

/// The applications this NM has: RUNNING while it holds the application (from its first
/// container until the RM has it cleaned up), FINISHED while only completed containers of it
/// remain listed.
fn app_infos(web: &NmWeb) -> Vec<AppInfo> {
    let mut apps: BTreeMap<ApplicationId, AppInfo> = web
        .manager
        .application_users()
        .into_iter()
        .map(|(id, users)| {
            let info = AppInfo {
                id: id.to_string(),
                state: "RUNNING",
                user: users.into_iter().next().unwrap_or_default(),
                container_ids: Vec::new(),
            };
            (id, info)
        })
        .collect();
    for detail in web.manager.details() {
        let id = detail.status.container_id;
        let app = apps.entry(id.application_id()).or_insert_with(|| AppInfo {
            id: id.application_id().to_string(),
            state: "FINISHED",
            user: detail.user.clone(),
            container_ids: Vec::new(),
        });
        if app.user.is_empty() {
            app.user = detail.user.clone();
        }
        if detail.status.state != ContainerLifecycleState::Done {
            app.container_ids.push(id.to_string());
        }
    }
    apps.into_values().collect()
}

pub(super) async fn apps(State(web): Web, RawQuery(query): RawQuery) -> Result<Response, WebError> {
    let state = query_value(&query, "state").filter(|s| !s.trim().is_empty());
    let state = match state {
        None => None,
        Some(state) => Some(
            APPLICATION_STATES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(state.trim()))
                .ok_or_else(|| {
                    WebError::bad_request(format!(
                        "Invalid application state {state}: it should be one of {}",
                        APPLICATION_STATES.join(", ")
                    ))
                })?,
        ),
    };
    let user = query_value(&query, "user").filter(|u| !u.is_empty());
    let apps: Vec<AppInfo> = app_infos(&web)
        .into_iter()
        .filter(|app| state.is_none_or(|state| app.state == *state))
        .filter(|app| user.as_ref().is_none_or(|user| app.user == *user))
        .collect();
    Ok(enveloped("apps", JsonList::new("app", apps)))
}

pub(super) async fn app(State(web): Web, Path(text): Path<String>) -> Result<Response, WebError> {
    let id: ApplicationId = text
        .parse()
        .map_err(|_| WebError::bad_request(format!("Invalid ApplicationId: {text}")))?;
    let wanted = id.to_string();
    app_infos(&web)
        .into_iter()
        .find(|app| app.id == wanted)
        .map(|app| enveloped("app", app))
        .ok_or_else(|| WebError::not_found(format!("app with id {text} not found")))
}

/// The names of a container's log files (none when it has no log directory yet).
fn log_file_names(web: &NmWeb, container_id: ContainerId) -> Vec<String> {
    ContainerLogDirectory::find(&web.log_roots(container_id), container_id)
        .and_then(|logs| logs.list())
        .map(|files| files.into_iter().map(|f| f.name).collect())
        .unwrap_or_default()
}

fn container_info(web: &NmWeb, detail: ContainerDetails, log_files: Vec<String>) -> ContainerInfo {
    let status = detail.status;
    let id = status.container_id.to_string();
    ContainerInfo {
        container_logs_link: web.container_logs_link(&id, &detail.user),
        id,
        state: status.state.name(),
        exit_code: status.exit_status,
        diagnostics: status.diagnostics,
        user: detail.user,
        total_memory_needed_mb: status.resource.memory_mb,
        total_v_cores_needed: status.resource.vcores,
        execution_type: "GUARANTEED",
        node_id: web.node_id.to_string(),
        container_log_files: log_files,
    }
}

pub(super) async fn containers(State(web): Web) -> Result<Response, WebError> {
    let containers = blocking(move || {
        web.manager
            .details()
            .into_iter()
            .map(|detail| {
                let files = log_file_names(&web, detail.status.container_id);
                container_info(&web, detail, files)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(enveloped(
        "containers",
        JsonList::new("container", containers),
    ))
}

pub(super) async fn container(
    State(web): Web,
    Path(text): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_container_id(&text)?;
    let detail = web
        .manager
        .container_details(id)
        .ok_or_else(|| container_not_found(&text))?;
    let info = blocking(move || {
        let files = log_file_names(&web, id);
        container_info(&web, detail, files)
    })
    .await?;
    Ok(enveloped("container", info))
}

/// A container's log files as YARN's `containerLogsInfo` (one LOCAL entry). Logs stay readable
/// while they are on this node, also after the NM has forgotten the container.
pub(super) async fn container_logs(
    State(web): Web,
    Path(text): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_container_id(&text)?;
    let files = blocking({
        let web = web.clone();
        move || ContainerLogDirectory::find(&web.log_roots(id), id).and_then(|logs| logs.list())
    })
    .await?
    .map_err(|error| match error {
        LogFileError::NoLogDirectory(_) => container_not_found(&text),
        other => log_error(other),
    })?;
    let info = ContainerLogsInfo {
        files: files
            .into_iter()
            .map(|file| ContainerLogFileInfo {
                file_name: file.name,
                file_size: file.size.to_string(),
                last_modified_time: java_date(file.modified_ms),
            })
            .collect(),
        log_aggregation_type: "LOCAL",
        container_id: id.to_string(),
        node_id: web.node_id.to_string(),
    };
    Ok(enveloped("containerLogsInfo", [info]))
}

/// One log file as text (`format=text`, the default) or bytes (`format=octet-stream`), all of
/// it or `size` bytes (negative: the last ones), ending with YARN's `End of LogType:<file>`
/// footer.
pub(super) async fn container_log_file(
    State(web): Web,
    Path((text, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let id = parse_container_id(&text)?;
    let content_type = match query_value(&query, "format").as_deref().map(str::trim) {
        None | Some("") | Some("text") => "text/plain; charset=utf-8",
        Some("octet-stream") => "application/octet-stream",
        Some(other) => {
            return Err(WebError::bad_request(format!(
                "format={other}: the valid formats are text and octet-stream"
            )))
        }
    };
    let size = log_files::parse_offset("size", query_value(&query, "size").as_deref())
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    let (handle, info) = blocking({
        let (web, file) = (web.clone(), file.clone());
        move || {
            if !log_files::is_plain_file_name(&file) {
                return Err(LogFileError::InvalidName(file));
            }
            ContainerLogDirectory::find(&web.log_roots(id), id)?.open_file(&file)
        }
    })
    .await?
    .map_err(log_error)?;
    let running = web
        .manager
        .container_details(id)
        .is_some_and(|d| d.status.state != ContainerLifecycleState::Done);
    let end_of_file = format!("End of LogType:{file}");
    let note = if running {
        format!(" Container {id} is still running: this log may be incomplete.")
    } else {
        String::new()
    };
    let footer = format!(
        "{end_of_file}.{note}\n{}\n\n",
        "*".repeat(end_of_file.len() + 50)
    );
    let range = log_files::rest_range(size, info.size);
    let body = log_files::body(
        handle,
        range,
        Encoding::Raw,
        Vec::new(),
        footer.into_bytes(),
        true,
    );
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        let query = Some("user.name=bob&state=RUNNING&user=a%40b".to_string());
        assert_eq!(query_value(&query, "state").as_deref(), Some("RUNNING"));
        assert_eq!(query_value(&query, "user").as_deref(), Some("a@b"));
        assert_eq!(query_value(&query, "size"), None);
        assert_eq!(query_value(&None, "size"), None);
    }

    #[test]
    fn bad_container_ids_are_yarns_400() {
        let error = parse_container_id("container_x").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.message(), "invalid container id, container_x");
        assert!(parse_container_id("container_1700000000000_0001_01_000001").is_ok());
        assert!(parse_container_id("../../etc").is_err());
    }
}
