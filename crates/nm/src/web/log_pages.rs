//! The NM's HTML pages: `/node` (the node and its containers) and the container log pages that
//! the RM's `amContainerLogs`, attempt log links and Spark's executor links open:
//! `/node/containerlogs/<container>/<owner>` lists the container's log files, and
//! `/node/containerlogs/<container>/<owner>/<file>?start=<n>[&end=<n>]` shows bytes of one
//! (negative values count from the end; by default the last 4 KB), HTML-escaped.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use spindle_web::html::{encode_path_segment, escape};
use spindle_web::WebError;

use super::log_files::{self, ContainerLogDirectory, Encoding, LogFileError};
use super::rest::{blocking, parse_container_id, query_value};
use super::NmWeb;

type Web = State<Arc<NmWeb>>;

const HTML: &str = "text/html; charset=utf-8";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif}} pre{{white-space:pre-wrap}} \
         td,th{{padding:2px 8px;text-align:left}}</style></head>\n<body>\n{body}</body></html>\n",
        title = escape(title)
    )
}

fn html(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, HTML)], text).into_response()
}

/// A page's error: the status with a short HTML page saying why.
fn error_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        page(
            "NodeManager",
            &format!("<h1>{}</h1>\n<p>{}</p>\n", status, escape(message)),
        ),
    )
}

fn log_error_page(error: &LogFileError) -> Response {
    let status = match error {
        LogFileError::InvalidName(_) => StatusCode::BAD_REQUEST,
        LogFileError::NoLogDirectory(_) | LogFileError::NotFound(_) => StatusCode::NOT_FOUND,
        LogFileError::NotRegular(_) => StatusCode::FORBIDDEN,
        LogFileError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match error {
        LogFileError::NoLogDirectory(id) => format!(
            "No logs of {id} on this node: the container never ran here, has not started yet, \
             or its logs were deleted."
        ),
        other => other.to_string(),
    };
    error_page(status, &message)
}

/// `/node/containerlogs/<container>/<owner>`, the path of the page of one container's logs.
fn logs_path(container: &str, owner: &str) -> String {
    format!(
        "/node/containerlogs/{}/{}",
        encode_path_segment(container),
        encode_path_segment(owner)
    )
}

pub(super) async fn root() -> Redirect {
    Redirect::to("/node")
}

/// The node and the containers it tracks, each linking to its logs.
pub(super) async fn node_page(State(web): Web) -> Response {
    let mut rows = String::new();
    for detail in web.manager.details() {
        let status = &detail.status;
        let id = status.container_id.to_string();
        rows.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{} MB, {} vcores</td></tr>\n",
            escape(&logs_path(&id, &detail.user)),
            escape(&id),
            escape(&detail.user),
            status.state.name(),
            status.exit_status,
            status.resource.memory_mb,
            status.resource.vcores,
        ));
    }
    let body = format!(
        "<h1>NodeManager {node}</h1>\n<p>Offers {memory} MB and {vcores} vcores to containers. \
         REST: <a href=\"/ws/v1/node\">/ws/v1/node</a></p>\n<table>\n<tr><th>Container</th>\
         <th>User</th><th>State</th><th>Exit code</th><th>Resource</th></tr>\n{rows}</table>\n",
        node = escape(&web.node_id.to_string()),
        memory = web.resource.memory_mb,
        vcores = web.resource.vcores,
    );
    html(
        StatusCode::OK,
        page(&format!("NodeManager {}", web.node_id), &body),
    )
}

/// The log files of a container, each linking to its last 4 KB.
pub(super) async fn log_list(
    State(web): Web,
    Path((container, owner)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = match parse_container_id(&container) {
        Ok(id) => id,
        Err(_) => {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                &format!("Invalid container id {container}"),
            ))
        }
    };
    let listed = blocking({
        let web = web.clone();
        move || ContainerLogDirectory::find(&web.log_roots(id), id).and_then(|logs| logs.list())
    })
    .await?;
    let files = match listed {
        Ok(files) => files,
        Err(error) => return Ok(log_error_page(&error)),
    };
    let base = logs_path(&container, &owner);
    let state = match web.manager.container_details(id) {
        Some(detail) => format!("State: {}.", detail.status.state.name()),
        None => "The NodeManager no longer tracks this container.".to_string(),
    };
    let mut items = String::new();
    for file in &files {
        let link = format!(
            "{base}/{}?start=-{}",
            encode_path_segment(&file.name),
            log_files::DEFAULT_PAGE_BYTES
        );
        items.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({} bytes)</li>\n",
            escape(&link),
            escape(&file.name),
            file.size
        ));
    }
    if files.is_empty() {
        items.push_str("<li>No log files yet.</li>\n");
    }
    let body = format!(
        "<h1>Logs of {id}</h1>\n<p>Application owner {owner}. {state}</p>\n<ul>\n{items}</ul>\n",
        owner = escape(&owner),
        state = escape(&state),
    );
    Ok(html(StatusCode::OK, page(&format!("Logs of {id}"), &body)))
}

/// Bytes of one log file: `start` and `end` as YARN's log page takes them.
pub(super) async fn log_page(
    State(web): Web,
    Path((container, owner, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let id = match parse_container_id(&container) {
        Ok(id) => id,
        Err(_) => {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                &format!("Invalid container id {container}"),
            ))
        }
    };
    let offsets = log_files::parse_offset("start", query_value(&query, "start").as_deref())
        .and_then(|start| {
            log_files::parse_offset("end", query_value(&query, "end").as_deref())
                .map(|end| (start, end))
        });
    let (start, end) = match offsets {
        Ok(offsets) => offsets,
        Err(error) => return Ok(error_page(StatusCode::BAD_REQUEST, &error.to_string())),
    };
    let opened = blocking({
        let (web, file) = (web.clone(), file.clone());
        move || {
            if !log_files::is_plain_file_name(&file) {
                return Err(LogFileError::InvalidName(file));
            }
            ContainerLogDirectory::find(&web.log_roots(id), id)?.open_file(&file)
        }
    })
    .await?;
    let (handle, info) = match opened {
        Ok(opened) => opened,
        Err(error) => return Ok(log_error_page(&error)),
    };
    let range = match log_files::page_range(start, end, info.size) {
        Ok(range) => range,
        Err(error) => return Ok(error_page(StatusCode::BAD_REQUEST, &error.to_string())),
    };
    let list = logs_path(&container, &owner);
    let file_path = format!("{list}/{}", encode_path_segment(&file));
    let whole = if range.start > 0 || range.end < info.size {
        format!(
            " <a href=\"{}\">Show the whole file</a>.",
            escape(&format!("{file_path}?start=0"))
        )
    } else {
        String::new()
    };
    let title = format!("{file} of {id}");
    let head = page(&title, "");
    let head = head.trim_end_matches("</body></html>\n");
    let prefix = format!(
        "{head}<h1>{title}</h1>\n<p>Bytes {start} to {end} of {length}.{whole} \
         <a href=\"{list}\">All logs of the container</a>.</p>\n<pre>",
        title = escape(&title),
        start = range.start,
        end = range.end,
        length = info.size,
        list = escape(&list),
    );
    let body = log_files::body(
        handle,
        range,
        Encoding::Html,
        prefix.into_bytes(),
        b"</pre>\n</body></html>\n".to_vec(),
        false,
    );
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HTML)], body).into_response())
}
