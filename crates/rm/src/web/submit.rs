//! REST submission: `POST /apps/new-application` and `POST /apps` with YARN's hyphenated JSON
//! body. Only reachable when [`super::REST_SUBMISSIONS_KEY`] is true and the caller is a named
//! user (the route table says so); the application then runs as that user, exactly as if it had
//! called `submitApplication` over RPC. Reading is lenient where published examples are
//! (numbers as strings, one `entry` object instead of a list, one command as a string) and
//! strict elsewhere: a malformed body is a 400 naming the member.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::Value;
use spindle_proto::yarn::*;
use spindle_types::ApplicationId;
use spindle_web::{Caller, WebError};

use super::dao::NewApplication;
use super::RmWeb;

pub(super) async fn new_application(
    State(web): State<Arc<RmWeb>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, WebError> {
    caller.user()?;
    let (id, maximum) = web.core()?.with(|c, _| c.new_application());
    Ok(NewApplication {
        application_id: id.to_string(),
        maximum_resource_capability: (&maximum).into(),
    }
    .into_response())
}

pub(super) async fn submit(
    State(web): State<Arc<RmWeb>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let user = caller.user()?.to_string();
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| WebError::bad_request(format!("the body is not JSON: {e}")))?;
    let submission = submission_context(&body)?;
    let id = ApplicationId::try_from(submission.application_id.as_ref().expect("set by parsing"))
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    web.core()?
        .with(|c, now| c.submit_application(&user, submission, now))
        .map_err(|e| WebError::plain(StatusCode::BAD_REQUEST, e.message))?;
    let location = format!("{}/{id}", uri.path().trim_end_matches('/'));
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)]).into_response())
}

fn bad(member: &str, what: &str) -> WebError {
    WebError::bad_request(format!("{member}: {what}"))
}

fn text<'a>(body: &'a Value, member: &str) -> Result<Option<&'a str>, WebError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(member, "must be a string")),
    }
}

/// A number, or a string holding one (published examples send both).
fn number(body: &Value, member: &str) -> Result<Option<i64>, WebError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(member, "must be an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(member, "must be an integer")),
        Some(_) => Err(bad(member, "must be an integer")),
    }
}

fn flag(body: &Value, member: &str) -> Result<Option<bool>, WebError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(bad(member, "must be true or false")),
    }
}

/// `{"entry":[..]}` or `{"entry":{..}}`: the entries of a JAXB map.
fn entries<'a>(body: &'a Value, member: &str) -> Result<Vec<&'a Value>, WebError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(map) => match map.get("entry") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.iter().collect()),
            Some(one @ Value::Object(_)) => Ok(vec![one]),
            Some(_) => Err(bad(member, "entry must be an object or a list of objects")),
        },
    }
}

fn url(member: &str, text: &str) -> Result<UrlProto, WebError> {
    let (scheme, rest) = text.split_once("://").ok_or_else(|| {
        bad(
            member,
            &format!("{text:?} is not a URL (scheme://host/path)"),
        )
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            Some(
                port.parse::<i32>()
                    .map_err(|_| bad(member, "bad port in URL"))?,
            ),
        ),
        None => (authority, None),
    };
    Ok(UrlProto {
        scheme: Some(scheme.to_string()),
        host: (!host.is_empty()).then(|| host.to_string()),
        port,
        file: Some(path.to_string()),
        user_info: None,
    })
}

fn local_resource(key: &str, value: &Value) -> Result<LocalResourceProto, WebError> {
    let member = format!("local-resources[{key}]");
    let resource = text(value, "resource")?.ok_or_else(|| bad(&member, "resource is missing"))?;
    let kind = match text(value, "type")?
        .unwrap_or("FILE")
        .to_ascii_uppercase()
        .as_str()
    {
        "FILE" => LocalResourceTypeProto::File,
        "ARCHIVE" => LocalResourceTypeProto::Archive,
        "PATTERN" => LocalResourceTypeProto::Pattern,
        other => return Err(bad(&member, &format!("unknown type {other}"))),
    };
    let visibility = match text(value, "visibility")?
        .unwrap_or("APPLICATION")
        .to_ascii_uppercase()
        .as_str()
    {
        "PUBLIC" => LocalResourceVisibilityProto::Public,
        "PRIVATE" => LocalResourceVisibilityProto::Private,
        "APPLICATION" => LocalResourceVisibilityProto::Application,
        other => return Err(bad(&member, &format!("unknown visibility {other}"))),
    };
    Ok(LocalResourceProto {
        resource: Some(url(&member, resource)?),
        size: number(value, "size")?,
        timestamp: number(value, "timestamp")?,
        r#type: Some(kind as i32),
        visibility: Some(visibility as i32),
        ..Default::default()
    })
}

fn launch_context(spec: &Value) -> Result<ContainerLaunchContextProto, WebError> {
    let mut context = ContainerLaunchContextProto::default();
    for entry in entries(spec, "local-resources")? {
        let key = text(entry, "key")?.ok_or_else(|| bad("local-resources", "key is missing"))?;
        let value = entry
            .get("value")
            .ok_or_else(|| bad("local-resources", "value is missing"))?;
        context.local_resources.push(StringLocalResourceMapProto {
            key: Some(key.to_string()),
            value: Some(local_resource(key, value)?),
        });
    }
    for entry in entries(spec, "environment")? {
        context.environment.push(StringStringMapProto {
            key: Some(
                text(entry, "key")?
                    .ok_or_else(|| bad("environment", "key is missing"))?
                    .to_string(),
            ),
            value: Some(text(entry, "value")?.unwrap_or("").to_string()),
        });
    }
    match spec.get("commands").and_then(|c| c.get("command")) {
        None | Some(Value::Null) => {}
        Some(Value::String(one)) => context.command.push(one.clone()),
        Some(Value::Array(many)) => {
            for command in many {
                let command = command
                    .as_str()
                    .ok_or_else(|| bad("commands", "each command must be a string"))?;
                context.command.push(command.to_string());
            }
        }
        Some(_) => {
            return Err(bad(
                "commands",
                "command must be a string or a list of strings",
            ))
        }
    }
    for entry in entries(spec, "application-acls")? {
        let access = match text(entry, "key")?
            .unwrap_or("")
            .to_ascii_uppercase()
            .as_str()
        {
            "VIEW_APP" => ApplicationAccessTypeProto::AppaccessViewApp,
            "MODIFY_APP" => ApplicationAccessTypeProto::AppaccessModifyApp,
            other => {
                return Err(bad(
                    "application-acls",
                    &format!("unknown access type {other:?}"),
                ))
            }
        };
        context.application_acls.push(ApplicationAclMapProto {
            access_type: Some(access as i32),
            acl: Some(text(entry, "value")?.unwrap_or(" ").to_string()),
        });
    }
    Ok(context)
}

/// The submission context a REST body describes.
pub(crate) fn submission_context(
    body: &Value,
) -> Result<ApplicationSubmissionContextProto, WebError> {
    let id_text =
        text(body, "application-id")?.ok_or_else(|| bad("application-id", "is missing"))?;
    let id: ApplicationId = id_text.parse().map_err(|_| {
        bad(
            "application-id",
            &format!("{id_text:?} is not an application id"),
        )
    })?;
    let spec = body
        .get("am-container-spec")
        .filter(|v| !v.is_null())
        .ok_or_else(|| bad("am-container-spec", "is missing"))?;
    let mut context = ApplicationSubmissionContextProto {
        application_id: Some(id.into()),
        am_container_spec: Some(launch_context(spec)?),
        ..Default::default()
    };
    if let Some(name) = text(body, "application-name")? {
        context.application_name = Some(name.to_string());
    }
    if let Some(queue) = text(body, "queue")? {
        context.queue = Some(queue.to_string());
    }
    if let Some(priority) = number(body, "priority")? {
        context.priority = Some(PriorityProto {
            priority: Some(priority as i32),
        });
    }
    context.unmanaged_am = flag(body, "unmanaged-AM")?;
    context.cancel_tokens_when_complete = flag(body, "cancel-tokens-when-complete")?;
    context.keep_containers_across_application_attempts =
        flag(body, "keep-containers-across-application-attempts")?;
    context.max_app_attempts = number(body, "max-app-attempts")?.map(|n| n as i32);
    context.attempt_failures_validity_interval =
        number(body, "attempt-failures-validity-interval")?;
    if let Some(kind) = text(body, "application-type")? {
        context.application_type = Some(kind.to_string());
    }
    if let Some(resource) = body.get("resource").filter(|v| !v.is_null()) {
        context.resource = Some(ResourceProto {
            memory: number(resource, "memory")?,
            virtual_cores: number(resource, "vCores")?.map(|n| n as i32),
            ..Default::default()
        });
    }
    match body.get("application-tags").and_then(|t| t.get("tag")) {
        None | Some(Value::Null) => {}
        Some(Value::String(one)) => context.application_tags.push(one.clone()),
        Some(Value::Array(many)) => {
            for tag in many {
                let tag = tag
                    .as_str()
                    .ok_or_else(|| bad("application-tags", "each tag must be a string"))?;
                context.application_tags.push(tag.to_string());
            }
        }
        Some(_) => return Err(bad("application-tags", "tag must be a string or a list")),
    }
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yarns_documented_body_becomes_a_submission() {
        let body: Value = serde_json::from_str(
            r#"{"application-id":"application_1718000000000_0004","application-name":"shell-demo","queue":"default",
 "am-container-spec":{"local-resources":{"entry":[{"key":"job.sh","value":{"resource":"hdfs://nn:8020/user/alice/job.sh",
   "type":"FILE","visibility":"APPLICATION","size":"812","timestamp":1718000000123}}]},
  "environment":{"entry":{"key":"MODE","value":"batch"}},
  "commands":{"command":"/bin/bash job.sh 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"}},
 "resource":{"memory":1024,"vCores":1},"max-app-attempts":2,"application-type":"YARN",
 "keep-containers-across-application-attempts":false,"application-tags":{"tag":["demo"]}}"#,
        )
        .unwrap();
        let context = submission_context(&body).unwrap();
        assert_eq!(context.application_name(), "shell-demo");
        let spec = context.am_container_spec.unwrap();
        let resource = spec.local_resources[0].value.as_ref().unwrap();
        assert_eq!(resource.size, Some(812));
        let url = resource.resource.as_ref().unwrap();
        assert_eq!(
            (url.host(), url.port(), url.file()),
            ("nn", 8020, "/user/alice/job.sh")
        );
        assert_eq!(spec.environment[0].value(), "batch");
        assert_eq!(spec.command.len(), 1);
        assert_eq!(context.resource.unwrap().memory, Some(1024));
        assert_eq!(context.max_app_attempts, Some(2));
        assert_eq!(context.application_tags, vec!["demo".to_string()]);
    }

    #[test]
    fn malformed_bodies_name_the_member() {
        for (body, member) in [
            (r#"{}"#, "application-id"),
            (
                r#"{"application-id":"nope","am-container-spec":{}}"#,
                "application-id",
            ),
            (
                r#"{"application-id":"application_1_0001"}"#,
                "am-container-spec",
            ),
            (
                r#"{"application-id":"application_1_0001","am-container-spec":{"commands":{"command":7}}}"#,
                "commands",
            ),
            (
                r#"{"application-id":"application_1_0001","am-container-spec":{},"resource":{"memory":"lots"}}"#,
                "memory",
            ),
            (
                r#"{"application-id":"application_1_0001","am-container-spec":{"local-resources":{"entry":{"key":"a","value":{"resource":"no-scheme"}}}}}"#,
                "local-resources[a]",
            ),
        ] {
            let e = submission_context(&serde_json::from_str(body).unwrap()).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.message().contains(member), "{body}: {}", e.message());
        }
    }
}
