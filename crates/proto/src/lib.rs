//! Protobuf messages wire-compatible with Hadoop IPC v9 and YARN 3.x, written in-house.
//!
//! `common` holds the `hadoop.common` package (IPC headers, SASL, tokens); `yarn` holds the
//! `hadoop.yarn` package (records, service requests, security identifiers, RM<->NM messages);
//! `convert` maps `yarn` messages to and from the domain types of `spindle_types`.

/// The `hadoop.common` protobuf package.
#[allow(clippy::all, missing_docs)]
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/hadoop.common.rs"));
}

/// The `hadoop.yarn` protobuf package: YARN records (`yarn_protos.proto`), the request/response
/// messages of ApplicationClientProtocol, ApplicationMasterProtocol and ContainerManagementProtocol
/// (`yarn_service_protos.proto`, method table in `yarn_protocols.proto`), token identifiers
/// (`yarn_security_token.proto`) and the RM<->NM ResourceTracker messages
/// (`yarn_server_common_protos.proto`).
#[allow(clippy::all, missing_docs)]
pub mod yarn {
    include!(concat!(env!("OUT_DIR"), "/hadoop.yarn.rs"));
}

pub mod convert;

pub use convert::ConvertError;
pub use prost::Message;
