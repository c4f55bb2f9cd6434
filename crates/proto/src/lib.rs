//! Protobuf messages wire-compatible with Hadoop IPC v9 and YARN 3.x, written in-house.
//!
//! `common` holds the `hadoop.common` package (IPC headers, SASL, tokens); `yarn` holds the
//! `hadoop.yarn` package (records, service requests, security identifiers, RM<->NM messages).
#![allow(clippy::all, missing_docs)]

/// The `hadoop.common` protobuf package.
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/hadoop.common.rs"));
}

pub use prost::Message;
