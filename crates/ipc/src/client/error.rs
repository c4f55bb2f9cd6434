//! Errors an `IpcClient` call can end with.

/// Why a call or a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum IpcClientError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address dialled.
        address: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server answered the call with an ERROR: the Java exception it would have thrown.
    #[error("remote {class_name}: {message}")]
    Remote {
        /// Fully qualified Java exception class.
        class_name: String,
        /// Exception message.
        message: String,
    },
    /// The server sent a FATAL reply and closed the connection.
    #[error("remote fatal {class_name}: {message}")]
    Fatal {
        /// Fully qualified Java exception class.
        class_name: String,
        /// Exception message.
        message: String,
    },
    /// The connection is gone (closed by either side, or broken); the call may or may not have run.
    #[error("IPC connection closed: {reason}")]
    ConnectionClosed {
        /// What happened.
        reason: String,
    },
    /// No reply within the call's deadline (`ipc.client.rpc-timeout.ms`); the connection is
    /// closed, and the call may or may not have run.
    #[error("call {method} got no reply within {after:?} (ipc.client.rpc-timeout.ms); connection closed")]
    Timeout {
        /// The method called.
        method: String,
        /// The deadline that passed.
        after: std::time::Duration,
    },
    /// SASL could not complete on the client side (no usable method, bad server proof).
    #[error("authentication failed: {message}")]
    Authentication {
        /// What went wrong.
        message: String,
    },
    /// The server sent bytes that are not a valid IPC response.
    #[error("malformed IPC response: {message}")]
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// The response message did not decode as the expected type.
    #[error("response is not a valid {message_type}: {source}")]
    Decode {
        /// The expected message type.
        message_type: &'static str,
        /// The protobuf error.
        #[source]
        source: prost::DecodeError,
    },
}
