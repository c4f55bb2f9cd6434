//! `ClientError`: every way a YarnClient, AmRmClient or NmClient call can fail, keeping the Java
//! exception class of remote errors so callers can match `ApplicationNotFoundException` and friends.

use std::path::PathBuf;

use spindle_ipc::IpcClientError;
use spindle_proto::ConvertError;

/// Java exception classes callers commonly match on.
pub mod exception_classes {
    pub const APPLICATION_NOT_FOUND: &str =
        "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException";
    pub const APPLICATION_ATTEMPT_NOT_FOUND: &str =
        "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException";
    pub const APPLICATION_MASTER_NOT_REGISTERED: &str =
        "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException";
    pub const INVALID_APPLICATION_MASTER_REQUEST: &str =
        "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException";
    pub const INVALID_TOKEN: &str = "org.apache.hadoop.security.token.SecretManager$InvalidToken";
    /// What a standby RM answers (if it answers at all): the client fails over.
    pub const STANDBY: &str = "org.apache.hadoop.ipc.StandbyException";
    /// The server asks to be asked again later.
    pub const RETRIABLE: &str = "org.apache.hadoop.ipc.RetriableException";
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a Java exception (class name as the server sent it).
    #[error("{class_name}: {message}")]
    Remote {
        /// Fully qualified Java exception class, e.g. `...ApplicationNotFoundException`.
        class_name: String,
        /// The exception message.
        message: String,
    },
    /// The IPC connection failed (connect, authentication, broken connection, bad frames).
    #[error(transparent)]
    Ipc(IpcClientError),
    /// A reply lacked a field or held a value the SDK cannot use.
    #[error("unusable {method} response: {source}")]
    InvalidResponse {
        /// The RPC method whose reply was unusable.
        method: &'static str,
        /// What was wrong with it.
        #[source]
        source: ConvertError,
    },
    /// The configuration could not be read or holds a bad address.
    #[error(transparent)]
    Configuration(#[from] spindle_conf::ConfError),
    /// A host name did not resolve.
    #[error("cannot resolve {address}: {source}")]
    Resolve {
        /// The `host:port` that failed.
        address: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// An environment variable an ApplicationMaster needs is missing or malformed.
    #[error("environment variable {variable}: {problem}")]
    Environment {
        /// The variable, e.g. `CONTAINER_ID`.
        variable: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The credentials file could not be read.
    #[error("cannot read credentials file {}: {source}", path.display())]
    CredentialsFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The credentials file is not a Hadoop token storage file.
    #[error("credentials file {}: {source}", path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// The format error.
        #[source]
        source: spindle_security::CredentialsError,
    },
    /// The credentials hold no token of the needed kind.
    #[error("no {kind} token in {}", path.display())]
    MissingToken {
        /// The token kind looked for.
        kind: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// No NMToken has been received for the node (Java: `SecretManager.InvalidToken`).
    #[error("No NMToken sent for {node}")]
    NoNmToken {
        /// The node, `host:port`.
        node: String,
    },
    /// The NodeManager refused one container of a request.
    #[error("{operation} of {container} on {node} failed: {class_name}: {message}")]
    ContainerRequestFailed {
        /// `startContainers`, `stopContainers` or `getContainerStatuses`.
        operation: &'static str,
        /// The container id.
        container: String,
        /// The node, `host:port`.
        node: String,
        /// The Java exception class the NM reported.
        class_name: String,
        /// Its message.
        message: String,
    },
    /// With RM HA, a call gave up on a failure that fails over (unreachable RM, standby RM,
    /// broken connection): too many failovers, or the method is not safe to repeat.
    #[error("{method} failed after {failovers} failover(s) between ResourceManagers {resource_managers}: {reason}; last error: {last_error}")]
    Failover {
        /// The RPC method (`connect` for opening the first connection).
        method: String,
        /// How many failovers the call made.
        failovers: u32,
        /// The RMs tried, e.g. `rm1 (host1:8032), rm2 (host2:8032)`.
        resource_managers: String,
        /// Why the policy gave up, e.g. "failovers (3) exceeded maximum allowed (3)".
        reason: String,
        /// The failure of the last attempt.
        last_error: Box<ClientError>,
    },
    /// A call was used in a way the SDK does not allow (e.g. allocate before register).
    #[error("{0}")]
    Usage(String),
    /// A polling loop (submit, kill, unregister) did not see the RM finish in time.
    #[error("{0}")]
    TimedOut(String),
}

impl From<IpcClientError> for ClientError {
    fn from(error: IpcClientError) -> Self {
        match error {
            IpcClientError::Remote {
                class_name,
                message,
            } => ClientError::Remote {
                class_name,
                message,
            },
            other => ClientError::Ipc(other),
        }
    }
}

impl ClientError {
    /// The Java exception class of a remote error (or of a container refused by an NM).
    pub fn remote_class(&self) -> Option<&str> {
        match self {
            ClientError::Remote { class_name, .. }
            | ClientError::ContainerRequestFailed { class_name, .. } => Some(class_name),
            _ => None,
        }
    }

    /// Whether this is a remote error of `class`, given fully qualified or as the simple name
    /// (`ApplicationNotFoundException`).
    pub fn is_remote(&self, class: &str) -> bool {
        self.remote_class().is_some_and(|remote| {
            remote == class || remote.rsplit(['.', '$']).next() == Some(class)
        })
    }

    /// Whether the RM does not know the application.
    pub fn is_application_not_found(&self) -> bool {
        self.is_remote(exception_classes::APPLICATION_NOT_FOUND)
    }

    pub(crate) fn invalid_response(method: &'static str, source: ConvertError) -> Self {
        ClientError::InvalidResponse { method, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ipc_errors_keep_their_java_class() {
        let error: ClientError = IpcClientError::Remote {
            class_name: exception_classes::APPLICATION_NOT_FOUND.into(),
            message: "Application with id 'application_1_0001' doesn't exist in RM.".into(),
        }
        .into();
        assert!(error.is_application_not_found());
        assert!(error.is_remote("ApplicationNotFoundException"));
        assert!(!error.is_remote("NotFoundException"));
        assert_eq!(
            error.to_string(),
            "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException: Application with id 'application_1_0001' doesn't exist in RM."
        );
    }

    #[test]
    fn transport_errors_are_not_remote() {
        let error: ClientError = IpcClientError::ConnectionClosed {
            reason: "server closed the connection".into(),
        }
        .into();
        assert!(matches!(error, ClientError::Ipc(_)));
        assert_eq!(error.remote_class(), None);
        assert!(!error.is_application_not_found());
    }

    #[test]
    fn nested_class_names_match_by_simple_name() {
        let error = ClientError::Remote {
            class_name: exception_classes::INVALID_TOKEN.into(),
            message: "x".into(),
        };
        assert!(error.is_remote("InvalidToken"));
    }
}
