//! Typed reading of single configuration values (numbers, booleans, resources) shared by the
//! Capacity and Fair configuration parsers. Errors say what was expected; callers add the file,
//! queue and key.

use spindle_types::resource::{MEMORY_MB, VCORES};
use spindle_types::Resource;

use crate::config_error::ConfigProblem;

pub(crate) fn invalid(value: &str, expected: &str) -> ConfigProblem {
    ConfigProblem::InvalidValue {
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

pub(crate) fn parse_f64(value: &str, expected: &str) -> Result<f64, ConfigProblem> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
        .ok_or_else(|| invalid(value, expected))
}

pub(crate) fn parse_f64_in(value: &str, low: f64, high: f64) -> Result<f64, ConfigProblem> {
    let expected = format!("a number from {low} to {high}");
    let number = parse_f64(value, &expected)?;
    if number < low || number > high {
        return Err(invalid(value, &expected));
    }
    Ok(number)
}

pub(crate) fn parse_i64(value: &str, expected: &str) -> Result<i64, ConfigProblem> {
    value.trim().parse().map_err(|_| invalid(value, expected))
}

pub(crate) fn parse_count(value: &str) -> Result<usize, ConfigProblem> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(value, "a whole number, 0 or more"))
}

/// `true` or `false`, in any case (Hadoop's spelling); anything else is refused.
pub(crate) fn parse_bool(value: &str) -> Result<bool, ConfigProblem> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(value, "true or false")),
    }
}

/// A resource type name: `memory`/`memory-mb`, `vcores`, or an extra type such as `yarn.io/gpu`.
fn canonical_type(name: &str) -> &str {
    match name {
        "memory" | "memory-mb" | "mb" => MEMORY_MB,
        "vcores" | "cpu" | "vcore" => VCORES,
        other => other,
    }
}

/// A memory amount in MB, with an optional unit (`1024`, `1024m`, `4g`, `4Gi`, `1t`).
pub(crate) fn parse_memory_mb(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mi" => 1,
        "g" | "gb" | "gi" => 1024,
        "t" | "tb" | "ti" => 1024 * 1024,
        _ => return None,
    };
    amount.checked_mul(factor)
}

/// `name=value` pairs (`memory=10240,vcores=10,yarn.io/gpu=2`), as in `[memory=..,vcores=..]`
/// and the Fair Scheduler's `memory-mb=..., vcores=...`. Types not named are 0.
pub(crate) fn parse_resource_pairs(text: &str, expected: &str) -> Result<Resource, ConfigProblem> {
    let mut resource = Resource::ZERO;
    let mut seen = Vec::new();
    for pair in text.split(',').map(str::trim) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(invalid(text, expected));
        };
        let name = canonical_type(name.trim());
        if seen.contains(&name.to_string()) {
            return Err(invalid(text, expected));
        }
        seen.push(name.to_string());
        let amount = if name == MEMORY_MB {
            parse_memory_mb(value)
        } else {
            value.trim().parse::<i64>().ok()
        };
        match amount {
            Some(amount) if amount >= 0 => resource.set(name, amount),
            _ => return Err(invalid(text, expected)),
        }
    }
    Ok(resource)
}

/// YARN's absolute capacity syntax: `[memory=10240,vcores=10]`.
pub(crate) fn parse_bracketed_resource(text: &str) -> Option<Result<Resource, ConfigProblem>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    Some(parse_resource_pairs(
        inner,
        "resources like [memory=10240,vcores=10]",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::resource::GPU;

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(parse_f64_in("12.5", 0.0, 100.0), Ok(12.5));
        assert!(parse_f64_in("101", 0.0, 100.0).is_err());
        assert!(parse_f64("NaN", "x").is_err());
        assert_eq!(parse_bool(" TRUE "), Ok(true));
        assert_eq!(parse_bool("yes"), Err(invalid("yes", "true or false")));
        assert!(parse_count("-1").is_err());
        assert_eq!(parse_i64("-1", "n"), Ok(-1));
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory_mb("1024"), Some(1024));
        assert_eq!(parse_memory_mb("4g"), Some(4096));
        assert_eq!(parse_memory_mb("1Ti"), Some(1024 * 1024));
        assert_eq!(parse_memory_mb("4 x"), None);
        assert_eq!(parse_memory_mb(""), None);
    }

    #[test]
    fn bracketed_resources() {
        let parsed = parse_bracketed_resource("[memory=10240, vcores=10, yarn.io/gpu=2]")
            .unwrap()
            .unwrap();
        assert_eq!(parsed, Resource::new(10240, 10).with(GPU, 2));
        assert!(parse_bracketed_resource("50").is_none());
        for bad in [
            "[memory]",
            "[memory=x]",
            "[memory=1,memory=2]",
            "[vcores=-1]",
        ] {
            assert!(
                parse_bracketed_resource(bad).unwrap().is_err(),
                "{bad} accepted"
            );
        }
    }
}
