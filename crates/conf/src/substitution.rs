//! Hadoop's `${var}` expansion: system properties, then `${env.NAME}`, then other keys.
//!
//! Rules (those of Hadoop's `Configuration.substituteVars`):
//! * a variable is `${name}` where `name` is non-empty and holds no `}`, `$` or space;
//! * `${env.NAME}` is the environment variable NAME; `${env.NAME:-fallback}` uses `fallback` when
//!   NAME is unset or empty, `${env.NAME-fallback}` only when it is unset;
//! * any other name is first looked up among the system properties (`user.name`, `java.io.tmpdir`, ...)
//!   and then among the configuration's keys (their raw values, expanded in turn);
//! * expansion stops, leaving the text as it is, at the first variable that has no value;
//! * at most [`MAX_SUBSTITUTION_DEPTH`] substitutions; a value that refers back to itself is an
//!   error (Hadoop silently keeps such a value unexpanded; Spindle reports it).

use std::collections::BTreeMap;

use crate::error::ConfError;

/// Hadoop's bound on the number of `${var}` substitutions in one value.
pub const MAX_SUBSTITUTION_DEPTH: usize = 20;

/// Where `${env.NAME}` looks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Environment {
    /// The environment of this process, read at each expansion.
    #[default]
    Process,
    /// A fixed set of variables (tests, or a child's prepared environment).
    Fixed(BTreeMap<String, String>),
}

impl Environment {
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            Environment::Process => std::env::var(name).ok(),
            Environment::Fixed(variables) => variables.get(name).cloned(),
        }
    }
}

/// Raw (unexpanded) values of configuration keys.
pub(crate) trait RawValues {
    fn raw_value(&self, key: &str) -> Option<&str>;
}

impl RawValues for BTreeMap<String, String> {
    fn raw_value(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// The values a `${name}` can refer to.
pub(crate) struct VariableSources<'a> {
    pub system_properties: &'a BTreeMap<String, String>,
    pub environment: &'a Environment,
    pub raw_values: &'a dyn RawValues,
}

impl VariableSources<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        let from_environment_or_system =
            match name.strip_prefix("env.").filter(|rest| !rest.is_empty()) {
                Some(specification) => self.environment_value(specification),
                None => self.system_properties.get(name).cloned(),
            };
        from_environment_or_system.or_else(|| self.raw_values.raw_value(name).map(str::to_string))
    }

    /// `NAME`, `NAME:-fallback` or `NAME-fallback`, whichever separator comes first.
    fn environment_value(&self, specification: &str) -> Option<String> {
        let bytes = specification.as_bytes();
        for (index, &byte) in bytes.iter().enumerate() {
            if byte == b':' && bytes.get(index + 1) == Some(&b'-') {
                let value = self.environment.get(&specification[..index]);
                return match value {
                    Some(value) if !value.is_empty() => Some(value),
                    _ => Some(specification[index + 2..].to_string()),
                };
            }
            if byte == b'-' {
                let value = self.environment.get(&specification[..index]);
                return value.or_else(|| Some(specification[index + 1..].to_string()));
            }
        }
        self.environment.get(specification)
    }
}

/// Expands the variables in `expression`, the raw value of `key`.
pub(crate) fn substitute_variables(
    key: &str,
    expression: &str,
    sources: &VariableSources<'_>,
) -> Result<String, ConfError> {
    let mut evaluated = expression.to_string();
    let mut substituted_names: Vec<String> = Vec::new();
    let loop_error = |names: Vec<String>| ConfError::SubstitutionLoop {
        key: key.to_string(),
        value: expression.to_string(),
        variables: names,
    };
    loop {
        let Some((name_start, name_end)) = find_variable(&evaluated) else {
            return Ok(evaluated);
        };
        if substituted_names.len() == MAX_SUBSTITUTION_DEPTH {
            substituted_names.push(evaluated[name_start..name_end].to_string());
            return Err(loop_error(substituted_names));
        }
        let name = &evaluated[name_start..name_end];
        let Some(value) = sources.lookup(name) else {
            return Ok(evaluated);
        };
        let reference = &evaluated[name_start - 2..name_end + 1];
        substituted_names.push(name.to_string());
        if value.contains(reference) {
            substituted_names.push(name.to_string());
            return Err(loop_error(substituted_names));
        }
        evaluated = format!(
            "{}{}{}",
            &evaluated[..name_start - 2],
            value,
            &evaluated[name_end + 1..]
        );
    }
}

/// The byte range of the name in the first `${name}` of `text`.
fn find_variable(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut search_from = 0;
    'search: while let Some(relative) = text[search_from..].find("${") {
        let name_start = search_from + relative + 2;
        for (offset, &byte) in bytes[name_start..].iter().enumerate() {
            match byte {
                b'}' if offset > 0 => return Some((name_start, name_start + offset)),
                // A `$` may itself start the next variable.
                b'$' => {
                    search_from = name_start + offset;
                    continue 'search;
                }
                b'}' | b' ' => {
                    search_from = name_start + offset + 1;
                    continue 'search;
                }
                _ => {}
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(
        expression: &str,
        properties: &[(&str, &str)],
        environment: &[(&str, &str)],
    ) -> Result<String, ConfError> {
        let properties: BTreeMap<String, String> = properties
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let environment = Environment::Fixed(
            environment
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        );
        let system_properties = BTreeMap::from([("user.name".to_string(), "alice".to_string())]);
        let sources = VariableSources {
            system_properties: &system_properties,
            environment: &environment,
            raw_values: &properties,
        };
        substitute_variables("the.key", expression, &sources)
    }

    #[test]
    fn variable_names_follow_hadoop_rules() {
        assert_eq!(find_variable("a ${b} c"), Some((4, 5)));
        assert_eq!(find_variable("${}x${b}"), Some((6, 7)));
        assert_eq!(find_variable("${ b}"), None);
        assert_eq!(find_variable("${a${b}"), Some((5, 6)));
        assert_eq!(find_variable("${unclosed"), None);
        assert_eq!(find_variable("no variables"), None);
        assert_eq!(find_variable("$${x}"), Some((3, 4)));
    }

    #[test]
    fn keys_system_properties_and_environment_are_substituted() {
        assert_eq!(
            expand("${a}/${b}", &[("a", "1"), ("b", "${a}2")], &[]).unwrap(),
            "1/12"
        );
        assert_eq!(
            expand("/tmp/hadoop-${user.name}", &[], &[]).unwrap(),
            "/tmp/hadoop-alice"
        );
        // System properties win over keys of the same name, as in Hadoop.
        assert_eq!(
            expand("${user.name}", &[("user.name", "bob")], &[]).unwrap(),
            "alice"
        );
        assert_eq!(
            expand("${env.HOME}/x", &[], &[("HOME", "/home/a")]).unwrap(),
            "/home/a/x"
        );
    }

    #[test]
    fn environment_fallbacks() {
        let environment = [("EMPTY", ""), ("SET", "value")];
        assert_eq!(
            expand("${env.UNSET:-dflt}", &[], &environment).unwrap(),
            "dflt"
        );
        assert_eq!(
            expand("${env.EMPTY:-dflt}", &[], &environment).unwrap(),
            "dflt"
        );
        assert_eq!(
            expand("${env.SET:-dflt}", &[], &environment).unwrap(),
            "value"
        );
        assert_eq!(
            expand("${env.UNSET-dflt}", &[], &environment).unwrap(),
            "dflt"
        );
        assert_eq!(expand("${env.EMPTY-dflt}", &[], &environment).unwrap(), "");
        // An unset variable without fallback falls back to a key named like it, then stays literal.
        assert_eq!(
            expand("${env.UNSET}", &[("env.UNSET", "key")], &environment).unwrap(),
            "key"
        );
        assert_eq!(
            expand("${env.UNSET}", &[], &environment).unwrap(),
            "${env.UNSET}"
        );
    }

    #[test]
    fn expansion_stops_at_the_first_unbound_variable() {
        assert_eq!(
            expand("${nope}/${a}", &[("a", "1")], &[]).unwrap(),
            "${nope}/${a}"
        );
        assert_eq!(
            expand("${a}/${nope}", &[("a", "1")], &[]).unwrap(),
            "1/${nope}"
        );
    }

    #[test]
    fn self_reference_is_a_loop_error() {
        let error = expand("x${self}y", &[("self", "x${self}y")], &[]).unwrap_err();
        assert!(
            matches!(&error, ConfError::SubstitutionLoop { variables, .. } if variables == &["self", "self"])
        );
        let message = error.to_string();
        assert!(
            message.contains("the.key") && message.contains("${self} -> ${self}"),
            "{message}"
        );
    }

    #[test]
    fn two_key_loop_is_an_error_after_the_depth_bound() {
        let error = expand("${a}", &[("a", "${b}"), ("b", "${a}")], &[]).unwrap_err();
        let ConfError::SubstitutionLoop { variables, .. } = &error else {
            panic!("{error}")
        };
        assert_eq!(variables.len(), MAX_SUBSTITUTION_DEPTH + 1);
        assert!(
            error.to_string().contains("${a} -> ${b} -> ${a}"),
            "{error}"
        );
    }

    #[test]
    fn chains_up_to_the_bound_expand() {
        let mut properties: Vec<(String, String)> = (0..MAX_SUBSTITUTION_DEPTH - 1)
            .map(|index| (format!("k{index}"), format!("${{k{}}}", index + 1)))
            .collect();
        properties.push((
            format!("k{}", MAX_SUBSTITUTION_DEPTH - 1),
            "end".to_string(),
        ));
        let borrowed: Vec<(&str, &str)> = properties
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        assert_eq!(expand("${k0}", &borrowed, &[]).unwrap(), "end");
        assert!(expand("${k0}${k0}", &borrowed, &[]).is_err());
    }
}
