//! `RpcError`, the Java exception a handler sends back, and the server's own startup errors.

use std::fmt;

use spindle_proto::common::rpc_response_header_proto::RpcErrorCodeProto;

/// Java exception class names the IPC layer itself emits.
pub mod java_class {
    /// Unknown method on a known protocol.
    pub const NO_SUCH_METHOD: &str = "org.apache.hadoop.ipc.RpcNoSuchMethodException";
    /// Unknown protocol.
    pub const NO_SUCH_PROTOCOL: &str = "org.apache.hadoop.ipc.RpcNoSuchProtocolException";
    /// Wrong preamble magic or IPC version.
    pub const VERSION_MISMATCH: &str = "org.apache.hadoop.ipc.RPC$VersionMismatch";
    /// Unknown auth protocol byte.
    pub const IPC_EXCEPTION: &str = "org.apache.hadoop.ipc.IpcException";
    /// Malformed frames and headers.
    pub const RPC_SERVER_EXCEPTION: &str = "org.apache.hadoop.ipc.RpcServerException";
    /// Authentication refused.
    pub const ACCESS_CONTROL: &str = "org.apache.hadoop.security.AccessControlException";
    /// A SASL exchange that failed.
    pub const SASL_EXCEPTION: &str = "javax.security.sasl.SaslException";
    /// A token the server does not know or that expired.
    pub const INVALID_TOKEN: &str = "org.apache.hadoop.security.token.SecretManager$InvalidToken";
    /// Generic I/O failure (note: YARN's RM proxies retry IOExceptions for a long time).
    pub const IO_EXCEPTION: &str = "java.io.IOException";
    /// Ask again later: the server was too busy to take the call (Hadoop's clients retry it).
    pub const RETRIABLE: &str = "org.apache.hadoop.ipc.RetriableException";
    /// Bad argument: a RuntimeException, so clients do not retry it.
    pub const ILLEGAL_ARGUMENT: &str = "java.lang.IllegalArgumentException";
}

/// An error a method call returns to the remote caller, who rethrows it as `class_name`.
///
/// Sent as an ERROR reply; `errorDetail` is derived from the class: `ERROR_NO_SUCH_METHOD` and
/// `ERROR_NO_SUCH_PROTOCOL` for the two IPC classes, `ERROR_APPLICATION` for everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// Fully qualified Java exception class, e.g. `org.apache.hadoop.yarn.exceptions.YarnException`.
    pub class_name: String,
    /// Exception message as the Java caller will see it.
    pub message: String,
}

impl RpcError {
    /// An error of any Java exception class.
    pub fn new(class_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            class_name: class_name.into(),
            message: message.into(),
        }
    }

    /// `RpcNoSuchMethodException` for a method the protocol does not have.
    pub fn no_such_method(protocol: &str, method: &str) -> Self {
        Self::new(
            java_class::NO_SUCH_METHOD,
            format!("Unknown method {method} called on {protocol} protocol."),
        )
    }

    /// `RpcNoSuchProtocolException` for a protocol this server does not serve.
    pub fn no_such_protocol(protocol: &str) -> Self {
        Self::new(
            java_class::NO_SUCH_PROTOCOL,
            format!("Unknown protocol: {protocol}"),
        )
    }

    /// `java.io.IOException` (beware: YARN clients retry IOExceptions).
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(java_class::IO_EXCEPTION, message)
    }

    /// `java.lang.IllegalArgumentException`: a request the caller should not retry.
    pub fn illegal_argument(message: impl Into<String>) -> Self {
        Self::new(java_class::ILLEGAL_ARGUMENT, message)
    }

    /// `AccessControlException`: the caller may not do this.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(java_class::ACCESS_CONTROL, message)
    }

    /// The request message did not decode as `message_type` (sent as IllegalArgumentException).
    pub fn undecodable_request(message_type: &str, error: &prost::DecodeError) -> Self {
        Self::illegal_argument(format!("request is not a valid {message_type}: {error}"))
    }

    /// The `errorDetail` code sent with this error.
    pub fn error_code(&self) -> RpcErrorCodeProto {
        match self.class_name.as_str() {
            java_class::NO_SUCH_METHOD => RpcErrorCodeProto::ErrorNoSuchMethod,
            java_class::NO_SUCH_PROTOCOL => RpcErrorCodeProto::ErrorNoSuchProtocol,
            _ => RpcErrorCodeProto::ErrorApplication,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.class_name, self.message)
    }
}

impl std::error::Error for RpcError {}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum IpcServerError {
    /// Binding the listening socket failed.
    #[error("cannot bind the IPC server to {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Two services claim the same protocol name.
    #[error("protocol {protocol} is registered twice")]
    DuplicateProtocol {
        /// The protocol name.
        protocol: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_follow_the_class() {
        assert_eq!(
            RpcError::no_such_method("p", "m").error_code(),
            RpcErrorCodeProto::ErrorNoSuchMethod
        );
        assert_eq!(
            RpcError::no_such_protocol("p").error_code(),
            RpcErrorCodeProto::ErrorNoSuchProtocol
        );
        assert_eq!(
            RpcError::new("org.apache.hadoop.yarn.exceptions.YarnException", "x").error_code(),
            RpcErrorCodeProto::ErrorApplication
        );
        assert_eq!(RpcError::io("x").to_string(), "java.io.IOException: x");
    }
}
