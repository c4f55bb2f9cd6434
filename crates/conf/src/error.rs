//! The one error type of spindle-conf: every message names the file, key or value at fault.

use std::path::PathBuf;

/// Everything that can go wrong while reading, resolving, interpreting or writing configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// A configuration file exists but could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The XML of a configuration resource is broken or not shaped like a Hadoop configuration.
    /// `property` is the name of the property being read when the problem was found, if known.
    #[error(
        "{source_name}:{line}:{column}: {}{message}",
        property_context(property)
    )]
    Malformed {
        source_name: String,
        line: usize,
        column: usize,
        property: Option<String>,
        message: String,
    },

    /// `${var}` substitution in the value of `key` did not come to an end: a loop, or a chain
    /// longer than [`crate::MAX_SUBSTITUTION_DEPTH`]. `variables` lists the substituted names in order.
    #[error(
        "variable substitution loop in the value of {key} ('{value}'): {} (Hadoop allows at most {} substitutions)",
        substitution_chain(variables),
        crate::MAX_SUBSTITUTION_DEPTH
    )]
    SubstitutionLoop {
        key: String,
        value: String,
        variables: Vec<String>,
    },

    /// A value does not have the form its key requires.
    #[error("invalid value '{value}' for {key}: expected {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: String,
    },

    /// A key that must have a value has none (and no default).
    #[error("{key} is not set")]
    Missing { key: String },

    /// An RM of an HA configuration has no address for a service: neither its per-id address key
    /// nor its per-id host name is set (Hadoop's `HAUtil` message).
    #[error("{hostname_key} or {address_key} needs to be set in an HA configuration (RM id '{rm_id}' of yarn.resourcemanager.ha.rm-ids)")]
    MissingRmAddress {
        rm_id: String,
        address_key: String,
        hostname_key: String,
    },

    /// Two keys whose values must be ordered are not, e.g. a minimum allocation above the maximum.
    #[error(
        "{smaller_key} ({smaller_value}) must not be greater than {larger_key} ({larger_value})"
    )]
    OutOfOrder {
        smaller_key: String,
        smaller_value: String,
        larger_key: String,
        larger_value: String,
    },

    /// A host:port value could not be resolved to a socket address.
    #[error("cannot resolve address '{value}' of {key}: {source}")]
    Resolve {
        key: String,
        value: String,
        source: std::io::Error,
    },

    /// A property cannot be expressed in a Hadoop site file (see [`crate::write_site_xml`]).
    #[error("cannot write property '{key}' to a site file: {reason}")]
    Unwritable { key: String, reason: String },

    /// Writing a site file failed.
    #[error("cannot write configuration file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn property_context(property: &Option<String>) -> String {
    match property {
        Some(name) => format!("in property '{name}': "),
        None => String::new(),
    }
}

fn substitution_chain(variables: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut parts: Vec<String> = variables
        .iter()
        .take(SHOWN)
        .map(|name| format!("${{{name}}}"))
        .collect();
    if variables.len() > SHOWN {
        parts.push("...".to_string());
    }
    parts.join(" -> ")
}
