//! Errors as YARN's web services return them: a `RemoteException` JSON body whose status code
//! follows the exception (404 not found, 400 bad request, 401 not authenticated, 403 forbidden,
//! 500 anything else), or for the write paths that Hadoop answers in plain text, plain text.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Hadoop's web exception classes (simple name, Java class).
pub mod classes {
    pub const NOT_FOUND: (&str, &str) = (
        "NotFoundException",
        "org.apache.hadoop.yarn.webapp.NotFoundException",
    );
    pub const BAD_REQUEST: (&str, &str) = (
        "BadRequestException",
        "org.apache.hadoop.yarn.webapp.BadRequestException",
    );
    pub const FORBIDDEN: (&str, &str) = (
        "ForbiddenException",
        "org.apache.hadoop.yarn.webapp.ForbiddenException",
    );
    pub const AUTHORIZATION: (&str, &str) = (
        "AuthorizationException",
        "org.apache.hadoop.security.authorize.AuthorizationException",
    );
    pub const INTERNAL: (&str, &str) = (
        "WebApplicationException",
        "javax.ws.rs.WebApplicationException",
    );
    pub const NOT_ALLOWED: (&str, &str) = (
        "UnsupportedOperationException",
        "java.lang.UnsupportedOperationException",
    );
}

/// One failed web call, for that caller only.
#[derive(Debug, Clone, PartialEq)]
pub struct WebError {
    pub status: StatusCode,
    body: Body,
    /// A `Location` header (redirects, accepted requests).
    location: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    Remote {
        exception: String,
        java_class: String,
        message: String,
    },
    Plain(String),
}

impl WebError {
    fn remote(status: StatusCode, class: (&str, &str), message: impl Into<String>) -> Self {
        Self {
            status,
            body: Body::Remote {
                exception: class.0.to_string(),
                java_class: class.1.to_string(),
                message: message.into(),
            },
            location: None,
        }
    }

    /// 404, e.g. "app with id: application_1_0001 not found".
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::remote(
            StatusCode::NOT_FOUND,
            classes::NOT_FOUND,
            format!("java.lang.Exception: {}", message.into()),
        )
    }

    /// 400, e.g. "Invalid ApplicationId: foo".
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::remote(
            StatusCode::BAD_REQUEST,
            classes::BAD_REQUEST,
            format!("java.lang.IllegalArgumentException: {}", message.into()),
        )
    }

    /// 401: the call needs a user and has none.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::remote(
            StatusCode::UNAUTHORIZED,
            classes::AUTHORIZATION,
            message.into(),
        )
    }

    /// 403 with a RemoteException body.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::remote(StatusCode::FORBIDDEN, classes::FORBIDDEN, message.into())
    }

    /// 403 in plain text, as Hadoop answers an ACL denial on kill, move and priority.
    pub fn forbidden_plain(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            body: Body::Plain(message.into()),
            location: None,
        }
    }

    /// A plain-text answer with any status (Hadoop's write paths answer some errors so).
    pub fn plain(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Body::Plain(message.into()),
            location: None,
        }
    }

    /// A standby RM's answer: 307 to the active one, with the sentence yarn-api-client looks for.
    pub fn standby_redirect(location: String) -> Self {
        Self {
            status: StatusCode::TEMPORARY_REDIRECT,
            body: Body::Plain(format!(
                "This is standby RM. The redirect url is: {location}"
            )),
            location: Some(location),
        }
    }

    /// 405: a method the path does not take.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::remote(
            StatusCode::METHOD_NOT_ALLOWED,
            classes::NOT_ALLOWED,
            message.into(),
        )
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::remote(
            StatusCode::INTERNAL_SERVER_ERROR,
            classes::INTERNAL,
            message.into(),
        )
    }

    /// An error the daemon's core raised with a Java exception class (as its RPC errors carry),
    /// with the status Hadoop's web layer gives that class.
    pub fn from_java(class: &str, message: impl Into<String>) -> Self {
        let simple = class.rsplit('.').next().unwrap_or(class);
        let status = match simple {
            "AccessControlException" | "AuthorizationException" | "SecurityException" => {
                StatusCode::UNAUTHORIZED
            }
            "ForbiddenException" => StatusCode::FORBIDDEN,
            "IllegalArgumentException"
            | "NumberFormatException"
            | "UnsupportedOperationException"
            | "BadRequestException"
            | "InvalidResourceRequestException" => StatusCode::BAD_REQUEST,
            s if s.starts_with("ApplicationNotFound")
                || s.starts_with("ApplicationAttemptNotFound")
                || s.starts_with("ContainerNotFound")
                || s == "NotFoundException"
                || s == "FileNotFoundException" =>
            {
                StatusCode::NOT_FOUND
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::remote(status, (simple, class), message.into())
    }

    /// The message (either form), for logs and tests.
    pub fn message(&self) -> &str {
        match &self.body {
            Body::Remote { message, .. } | Body::Plain(message) => message,
        }
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message())
    }
}

#[derive(Serialize)]
struct RemoteExceptionBody<'a> {
    #[serde(rename = "RemoteException")]
    remote: RemoteException<'a>,
}

#[derive(Serialize)]
struct RemoteException<'a> {
    exception: &'a str,
    message: &'a str,
    #[serde(rename = "javaClassName")]
    java_class_name: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut response = match &self.body {
            Body::Remote {
                exception,
                java_class,
                message,
            } => crate::json::response(
                self.status,
                &RemoteExceptionBody {
                    remote: RemoteException {
                        exception,
                        message,
                        java_class_name: java_class,
                    },
                },
            ),
            Body::Plain(text) => (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                text.clone(),
            )
                .into_response(),
        };
        if let Some(location) = self
            .location
            .as_deref()
            .and_then(|l| axum::http::HeaderValue::from_str(l).ok())
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_classes_get_hadoops_status_codes() {
        let cases = [
            (
                "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException",
                404,
            ),
            ("java.lang.IllegalArgumentException", 400),
            (
                "org.apache.hadoop.security.authorize.AuthorizationException",
                401,
            ),
            ("org.apache.hadoop.yarn.webapp.ForbiddenException", 403),
            ("org.apache.hadoop.yarn.exceptions.YarnException", 500),
        ];
        for (class, status) in cases {
            assert_eq!(
                WebError::from_java(class, "m").status.as_u16(),
                status,
                "{class}"
            );
        }
    }

    #[tokio::test]
    async fn remote_exception_body_names_class_and_message() {
        let response =
            WebError::not_found("app with id: application_1_0001 not found").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["RemoteException"]["exception"], "NotFoundException");
        assert_eq!(
            json["RemoteException"]["javaClassName"],
            "org.apache.hadoop.yarn.webapp.NotFoundException"
        );
        assert_eq!(
            json["RemoteException"]["message"],
            "java.lang.Exception: app with id: application_1_0001 not found"
        );
    }
}
