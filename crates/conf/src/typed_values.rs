//! Typed getters on `Configuration` (integers, booleans, durations, lists, addresses), read the
//! way Hadoop's `getLong`/`getBoolean`/`getTimeDuration`/`getTrimmedStrings`/`getSocketAddr` read them.
//!
//! Every getter returns `Ok(None)` for an unset key and an error naming the key and the value
//! when the value does not parse.

use std::net::SocketAddr;
use std::time::Duration;

use crate::configuration::Configuration;
use crate::error::ConfError;
use crate::host_port::HostPort;

/// Unit of a duration value written without a suffix (Hadoop's `getTimeDuration(key, default, unit)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    /// Suffixes in the order Hadoop tries them (so that `ms` wins over `s`).
    const SUFFIXES: [(&'static str, DurationUnit); 7] = [
        ("ns", DurationUnit::Nanoseconds),
        ("us", DurationUnit::Microseconds),
        ("ms", DurationUnit::Milliseconds),
        ("s", DurationUnit::Seconds),
        ("m", DurationUnit::Minutes),
        ("h", DurationUnit::Hours),
        ("d", DurationUnit::Days),
    ];

    fn nanoseconds(self) -> u128 {
        match self {
            DurationUnit::Nanoseconds => 1,
            DurationUnit::Microseconds => 1_000,
            DurationUnit::Milliseconds => 1_000_000,
            DurationUnit::Seconds => 1_000_000_000,
            DurationUnit::Minutes => 60 * 1_000_000_000,
            DurationUnit::Hours => 3_600 * 1_000_000_000,
            DurationUnit::Days => 86_400 * 1_000_000_000,
        }
    }
}

const EXPECTED_INTEGER: &str = "an integer";
const EXPECTED_NON_NEGATIVE_INTEGER: &str = "a non-negative integer";
const EXPECTED_BOOLEAN: &str = "true or false";
const EXPECTED_NUMBER: &str = "a number";
const EXPECTED_DURATION: &str = "a duration such as 500, 500ms, 30s, 5m, 2h or 1d";

/// Parses an integer as Hadoop's `getLong` does: trimmed, decimal or `0x`/`-0x` hexadecimal.
pub fn parse_i64(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if hex.is_empty() || hex.starts_with(['+', '-']) {
            return None;
        }
        let magnitude = i128::from(u64::from_str_radix(hex, 16).ok()?);
        return i64::try_from(if negative { -magnitude } else { magnitude }).ok();
    }
    text.parse::<i64>().ok()
}

/// Parses a boolean as Hadoop's `getBoolean` does (trimmed, any case), but refuses anything else
/// instead of silently using the default.
pub fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses a duration as Hadoop's `getTimeDuration` does: trimmed, case-insensitive suffix
/// `ns|us|ms|s|m|h|d`, `unit_when_absent` without a suffix. Negative values are refused.
pub fn parse_duration(text: &str, unit_when_absent: DurationUnit) -> Option<Duration> {
    let text = text.trim().to_ascii_lowercase();
    let (number, unit) = DurationUnit::SUFFIXES
        .iter()
        .find_map(|(suffix, unit)| text.strip_suffix(suffix).map(|number| (number, *unit)))
        .unwrap_or((text.as_str(), unit_when_absent));
    let count: u64 = number.parse().ok()?;
    let nanoseconds = u128::from(count).checked_mul(unit.nanoseconds())?;
    let seconds = u64::try_from(nanoseconds / 1_000_000_000).ok()?;
    Some(Duration::new(seconds, (nanoseconds % 1_000_000_000) as u32))
}

/// Splits a comma list, trimming items and dropping empty ones.
pub fn parse_strings(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

impl Configuration {
    /// The expanded value with surrounding whitespace removed.
    pub fn get_trimmed(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim)
    }

    /// A required value: [`ConfError::Missing`] when unset.
    pub fn get_required(&self, key: &str) -> Result<&str, ConfError> {
        self.get(key).ok_or_else(|| ConfError::Missing {
            key: key.to_string(),
        })
    }

    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, ConfError> {
        self.parse_with(key, EXPECTED_INTEGER, parse_i64)
    }

    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, ConfError> {
        self.parse_with(key, EXPECTED_NON_NEGATIVE_INTEGER, |text| {
            parse_i64(text).and_then(|value| u64::try_from(value).ok())
        })
    }

    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfError> {
        self.parse_with(key, EXPECTED_BOOLEAN, parse_bool)
    }

    /// A finite floating-point number (e.g. `yarn.nodemanager.vmem-pmem-ratio`).
    pub fn get_f64(&self, key: &str) -> Result<Option<f64>, ConfError> {
        self.parse_with(key, EXPECTED_NUMBER, |text| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
        })
    }

    /// A duration; a value without a unit suffix is in `unit_when_absent`.
    pub fn get_duration(
        &self,
        key: &str,
        unit_when_absent: DurationUnit,
    ) -> Result<Option<Duration>, ConfError> {
        self.parse_with(key, EXPECTED_DURATION, |text| {
            parse_duration(text, unit_when_absent)
        })
    }

    /// A duration in whole milliseconds (sub-millisecond parts are dropped, as Hadoop's
    /// `TimeUnit.convert` does); a value without a unit suffix is in milliseconds.
    pub fn get_duration_ms(&self, key: &str) -> Result<Option<u64>, ConfError> {
        self.parse_with(key, EXPECTED_DURATION, |text| {
            parse_duration(text, DurationUnit::Milliseconds)
                .and_then(|duration| u64::try_from(duration.as_millis()).ok())
        })
    }

    /// A comma list, items trimmed, empty items dropped; empty when the key is unset.
    pub fn get_strings(&self, key: &str) -> Vec<String> {
        self.get(key).map(parse_strings).unwrap_or_default()
    }

    /// A `host:port`; when `key` is unset, `default` (expanded, e.g. `${yarn.resourcemanager.hostname}:8032`).
    pub fn get_host_port(&self, key: &str, default: &str) -> Result<HostPort, ConfError> {
        let text = match self.get(key) {
            Some(value) => value.to_string(),
            None => self.expand(key, default)?,
        };
        HostPort::parse(&text, None).map_err(|_| ConfError::InvalidValue {
            key: key.to_string(),
            value: text.clone(),
            expected: "host:port".to_string(),
        })
    }

    /// Like [`Configuration::get_host_port`], then resolves the host (DNS for names).
    pub fn get_socket_addr(&self, key: &str, default: &str) -> Result<SocketAddr, ConfError> {
        let host_port = self.get_host_port(key, default)?;
        host_port.resolve().map_err(|source| ConfError::Resolve {
            key: key.to_string(),
            value: host_port.to_string(),
            source,
        })
    }

    fn parse_with<T>(
        &self,
        key: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        parse(value)
            .map(Some)
            .ok_or_else(|| ConfError::InvalidValue {
                key: key.trim().to_string(),
                value: value.to_string(),
                expected: expected.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_accept_decimal_hex_and_whitespace() {
        assert_eq!(parse_i64(" 42 "), Some(42));
        assert_eq!(parse_i64("-7"), Some(-7));
        assert_eq!(parse_i64("+7"), Some(7));
        assert_eq!(parse_i64("0x10"), Some(16));
        assert_eq!(parse_i64("-0X10"), Some(-16));
        assert_eq!(parse_i64("-0x8000000000000000"), Some(i64::MIN));
        for bad in [
            "",
            "abc",
            "1.5",
            "0x",
            "0x-1",
            "12abc",
            "99999999999999999999",
            "0x8000000000000000",
            "1 2",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn booleans_are_case_insensitive_and_strict() {
        assert_eq!(parse_bool(" TRUE "), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        for bad in ["yes", "1", "", "t"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_take_hadoop_suffixes() {
        let ms = |text| {
            parse_duration(text, DurationUnit::Milliseconds).map(|duration| duration.as_millis())
        };
        assert_eq!(ms("1500"), Some(1500));
        assert_eq!(ms("10S"), Some(10_000));
        assert_eq!(ms(" 3m "), Some(180_000));
        assert_eq!(ms("2h"), Some(7_200_000));
        assert_eq!(ms("1d"), Some(86_400_000));
        assert_eq!(ms("250ms"), Some(250));
        assert_eq!(ms("1500us"), Some(1));
        assert_eq!(ms("5000000ns"), Some(5));
        assert_eq!(
            parse_duration("30", DurationUnit::Seconds),
            Some(Duration::from_secs(30))
        );
        for bad in [
            "",
            "s",
            "10 s",
            "-5",
            "1.5s",
            "10 seconds",
            "10w",
            "99999999999999999999d",
        ] {
            assert_eq!(
                parse_duration(bad, DurationUnit::Milliseconds),
                None,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn string_lists_are_trimmed() {
        assert_eq!(parse_strings(" a , ,b,"), vec!["a", "b"]);
        assert!(parse_strings("").is_empty());
    }
}
