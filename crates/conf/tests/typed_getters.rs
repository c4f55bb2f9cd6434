//! Typed getters: what they accept, and errors that name the key and the value.

use std::time::Duration;

use spindle_conf::{ConfError, Configuration, DurationUnit, HostPort};

fn configuration(pairs: &[(&str, &str)]) -> Configuration {
    let mut configuration = Configuration::new();
    for (key, value) in pairs {
        configuration.set(key, value).unwrap();
    }
    configuration
}

#[test]
fn integers() {
    let configuration = configuration(&[
        ("yarn.nodemanager.resource.memory-mb", " 4096 "),
        ("hex", "0x20"),
        ("negative", "-1"),
        ("bad", "abc"),
    ]);
    assert_eq!(
        configuration
            .get_i64("yarn.nodemanager.resource.memory-mb")
            .unwrap(),
        Some(4096)
    );
    assert_eq!(configuration.get_u64("hex").unwrap(), Some(32));
    assert_eq!(configuration.get_i64("negative").unwrap(), Some(-1));
    assert_eq!(configuration.get_i64("unset").unwrap(), None);
    let error = configuration.get_u64("negative").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value '-1' for negative: expected a non-negative integer"
    );

    let configuration = configuration_with_memory("abc");
    let error = configuration
        .get_i64("yarn.nodemanager.resource.memory-mb")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value 'abc' for yarn.nodemanager.resource.memory-mb: expected an integer"
    );
    assert!(matches!(error, ConfError::InvalidValue { .. }));
}

fn configuration_with_memory(value: &str) -> Configuration {
    configuration(&[("yarn.nodemanager.resource.memory-mb", value)])
}

#[test]
fn booleans() {
    let configuration = configuration(&[("a", "TRUE"), ("b", " false "), ("c", "yes")]);
    assert_eq!(configuration.get_bool("a").unwrap(), Some(true));
    assert_eq!(configuration.get_bool("b").unwrap(), Some(false));
    assert_eq!(configuration.get_bool("unset").unwrap(), None);
    assert_eq!(
        configuration.get_bool("c").unwrap_err().to_string(),
        "invalid value 'yes' for c: expected true or false"
    );
}

#[test]
fn durations_with_units() {
    let configuration = configuration(&[
        ("plain", "1500"),
        ("seconds", "30s"),
        ("minutes", "5m"),
        ("hours", "2H"),
        ("days", "1d"),
        ("micro", "2500us"),
        ("bad", "10 minutes"),
        ("negative", "-5s"),
    ]);
    assert_eq!(configuration.get_duration_ms("plain").unwrap(), Some(1500));
    assert_eq!(
        configuration.get_duration_ms("seconds").unwrap(),
        Some(30_000)
    );
    assert_eq!(
        configuration.get_duration_ms("minutes").unwrap(),
        Some(300_000)
    );
    assert_eq!(
        configuration.get_duration_ms("hours").unwrap(),
        Some(7_200_000)
    );
    assert_eq!(
        configuration.get_duration_ms("days").unwrap(),
        Some(86_400_000)
    );
    assert_eq!(configuration.get_duration_ms("micro").unwrap(), Some(2));
    assert_eq!(
        configuration
            .get_duration("plain", DurationUnit::Seconds)
            .unwrap(),
        Some(Duration::from_secs(1500))
    );
    let error = configuration.get_duration_ms("bad").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid value '10 minutes' for bad: expected a duration"),
        "{error}"
    );
    assert!(configuration.get_duration_ms("negative").is_err());
}

#[test]
fn floats_and_string_lists() {
    let configuration = configuration(&[
        ("ratio", "2.1"),
        ("nan", "NaN"),
        ("list", " JAVA_HOME, PATH ,,LANG "),
    ]);
    assert_eq!(configuration.get_f64("ratio").unwrap(), Some(2.1));
    assert!(configuration.get_f64("nan").is_err());
    assert_eq!(
        configuration.get_strings("list"),
        vec!["JAVA_HOME", "PATH", "LANG"]
    );
    assert!(configuration.get_strings("unset").is_empty());
}

#[test]
fn addresses() {
    let configuration = configuration(&[
        ("yarn.resourcemanager.hostname", "127.0.0.1"),
        ("given", "localhost:9000"),
        ("no.port", "localhost"),
        ("bad.port", "localhost:99999"),
    ]);
    assert_eq!(
        configuration.get_host_port("given", "x:1").unwrap(),
        HostPort::new("localhost", 9000)
    );
    assert_eq!(
        configuration
            .get_host_port("unset", "${yarn.resourcemanager.hostname}:8032")
            .unwrap(),
        HostPort::new("127.0.0.1", 8032)
    );
    assert_eq!(
        configuration
            .get_socket_addr("unset", "${yarn.resourcemanager.hostname}:8032")
            .unwrap()
            .to_string(),
        "127.0.0.1:8032"
    );
    assert_eq!(
        configuration
            .get_host_port("no.port", "x:1")
            .unwrap_err()
            .to_string(),
        "invalid value 'localhost' for no.port: expected host:port"
    );
    assert!(configuration.get_host_port("bad.port", "x:1").is_err());
    let error = configuration
        .get_socket_addr("unset", "no-such-host.invalid:1")
        .unwrap_err();
    assert!(matches!(error, ConfError::Resolve { .. }), "{error}");
}

#[test]
fn required_values() {
    let configuration = configuration(&[("present", "v")]);
    assert_eq!(configuration.get_required("present").unwrap(), "v");
    assert_eq!(
        configuration
            .get_required("absent")
            .unwrap_err()
            .to_string(),
        "absent is not set"
    );
}
