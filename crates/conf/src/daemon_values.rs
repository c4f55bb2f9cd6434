//! Helpers shared by `RmConfig` and `NmConfig`: required typed values, checks, and the
//! authentication method.

use std::fmt;
use std::time::Duration;

use crate::configuration::{Configuration, YARN_DEFAULTS_SOURCE};
use crate::error::ConfError;
use crate::keys;

/// `hadoop.security.authentication`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationMethod {
    Simple,
    Kerberos,
}

impl fmt::Display for AuthenticationMethod {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            AuthenticationMethod::Simple => "simple",
            AuthenticationMethod::Kerberos => "kerberos",
        })
    }
}

/// `configuration` with YARN's defaults filled in under whatever it already has.
pub(crate) fn with_yarn_defaults(
    configuration: &Configuration,
) -> Result<Configuration, ConfError> {
    let mut configuration = configuration.clone();
    configuration.add_defaults(YARN_DEFAULTS_SOURCE, keys::YARN_DEFAULTS)?;
    Ok(configuration)
}

pub(crate) fn required_i64(configuration: &Configuration, key: &str) -> Result<i64, ConfError> {
    configuration.get_i64(key)?.ok_or_else(|| missing(key))
}

pub(crate) fn required_u64(configuration: &Configuration, key: &str) -> Result<u64, ConfError> {
    configuration.get_u64(key)?.ok_or_else(|| missing(key))
}

pub(crate) fn required_bool(configuration: &Configuration, key: &str) -> Result<bool, ConfError> {
    configuration.get_bool(key)?.ok_or_else(|| missing(key))
}

/// A duration in milliseconds (Hadoop unit suffixes allowed).
pub(crate) fn required_duration_ms(
    configuration: &Configuration,
    key: &str,
) -> Result<Duration, ConfError> {
    configuration
        .get_duration_ms(key)?
        .map(Duration::from_millis)
        .ok_or_else(|| missing(key))
}

pub(crate) fn required_string(
    configuration: &Configuration,
    key: &str,
) -> Result<String, ConfError> {
    configuration
        .get_trimmed(key)
        .map(str::to_string)
        .ok_or_else(|| missing(key))
}

pub(crate) fn authentication_method(
    configuration: &Configuration,
) -> Result<AuthenticationMethod, ConfError> {
    let key = keys::HADOOP_SECURITY_AUTHENTICATION;
    let value = required_string(configuration, key)?;
    if value.eq_ignore_ascii_case("simple") {
        Ok(AuthenticationMethod::Simple)
    } else if value.eq_ignore_ascii_case("kerberos") {
        Ok(AuthenticationMethod::Kerberos)
    } else {
        Err(invalid(key, value, "simple or kerberos"))
    }
}

/// An error unless `duration` is above zero.
pub(crate) fn check_positive_duration(key: &str, duration: Duration) -> Result<(), ConfError> {
    if duration.is_zero() {
        return Err(invalid(
            key,
            duration.as_millis().to_string(),
            "a positive number of milliseconds",
        ));
    }
    Ok(())
}

/// An error unless `smaller <= larger`.
pub(crate) fn check_order<T: PartialOrd + fmt::Display>(
    smaller_key: &str,
    smaller: T,
    larger_key: &str,
    larger: T,
) -> Result<(), ConfError> {
    if smaller > larger {
        return Err(ConfError::OutOfOrder {
            smaller_key: smaller_key.to_string(),
            smaller_value: smaller.to_string(),
            larger_key: larger_key.to_string(),
            larger_value: larger.to_string(),
        });
    }
    Ok(())
}

pub(crate) fn invalid(key: &str, value: impl Into<String>, expected: &str) -> ConfError {
    ConfError::InvalidValue {
        key: key.to_string(),
        value: value.into(),
        expected: expected.to_string(),
    }
}

fn missing(key: &str) -> ConfError {
    ConfError::Missing {
        key: key.to_string(),
    }
}
