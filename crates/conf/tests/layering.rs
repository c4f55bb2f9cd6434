//! Configuration layering: later resources override earlier ones, final keys stick, `${var}`
//! expansion (keys, environment, system properties) and its loop errors, default file loading.

use std::collections::BTreeMap;

use spindle_conf::{site_file_paths, ConfError, Configuration, Environment};

fn configuration_with_environment(variables: &[(&str, &str)]) -> Configuration {
    Configuration::with_environment(Environment::Fixed(
        variables
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
    ))
}

fn xml(properties: &[(&str, &str, bool)]) -> String {
    let mut text = String::from("<configuration>\n");
    for (name, value, is_final) in properties {
        text.push_str(&format!(
            "<property><name>{name}</name><value>{value}</value><final>{is_final}</final></property>\n"
        ));
    }
    text + "</configuration>\n"
}

#[test]
fn later_resources_override_earlier_ones() {
    let mut configuration = Configuration::new();
    configuration
        .add_resource_xml(
            "core-site.xml",
            &xml(&[("a", "1", false), ("b", "1", false)]),
        )
        .unwrap();
    configuration
        .add_resource_xml(
            "yarn-site.xml",
            &xml(&[("b", "2", false), ("c", "2", false)]),
        )
        .unwrap();
    assert_eq!(configuration.get("a"), Some("1"));
    assert_eq!(configuration.get("b"), Some("2"));
    assert_eq!(configuration.get("c"), Some("2"));
    assert_eq!(configuration.source_of("b"), Some("yarn-site.xml"));
    assert_eq!(
        configuration.loaded_sources(),
        ["core-site.xml", "yarn-site.xml"]
    );
    assert_eq!(configuration.get("missing"), None);
}

#[test]
fn final_keys_cannot_be_overridden_by_later_resources() {
    let mut configuration = Configuration::new();
    configuration
        .add_resource_xml(
            "first.xml",
            &xml(&[("locked", "first", true), ("locked", "same-file", false)]),
        )
        .unwrap();
    configuration
        .add_resource_xml("second.xml", &xml(&[("locked", "second", false)]))
        .unwrap();
    assert_eq!(configuration.get("locked"), Some("first"));
    assert!(configuration.is_final("locked"));
    assert_eq!(configuration.source_of("locked"), Some("first.xml"));
    // A later resource can mark a key final too; from then on it sticks.
    configuration
        .add_resource_xml("third.xml", &xml(&[("late", "3", true)]))
        .unwrap();
    configuration
        .add_resource_xml("fourth.xml", &xml(&[("late", "4", false)]))
        .unwrap();
    assert_eq!(configuration.get("late"), Some("3"));
    // set() overrides even final keys, as Hadoop's Configuration.set does.
    configuration.set("locked", "programmatic").unwrap();
    assert_eq!(configuration.get("locked"), Some("programmatic"));
}

#[test]
fn empty_values_do_not_override() {
    let mut configuration = Configuration::new();
    configuration
        .add_resource_xml("a.xml", &xml(&[("k", "kept", false)]))
        .unwrap();
    configuration
        .add_resource_xml(
            "b.xml",
            "<configuration><property><name>k</name><value></value></property></configuration>",
        )
        .unwrap();
    assert_eq!(configuration.get("k"), Some("kept"));
}

#[test]
fn unknown_keys_are_kept() {
    let mut configuration = Configuration::new();
    configuration
        .add_resource_xml("a.xml", &xml(&[("some.future.key", "x", false)]))
        .unwrap();
    assert_eq!(configuration.get("some.future.key"), Some("x"));
    assert_eq!(
        configuration.iter().collect::<Vec<_>>(),
        [("some.future.key", "x")]
    );
}

#[test]
fn substitution_uses_keys_environment_and_system_properties() {
    let mut configuration = configuration_with_environment(&[("LOG_ROOT", "/var/log")]);
    configuration
        .set_system_property("user.name", "alice")
        .unwrap();
    configuration
        .add_resource_xml(
            "yarn-site.xml",
            &xml(&[
                ("yarn.resourcemanager.hostname", "rm.example.com", false),
                (
                    "yarn.resourcemanager.address",
                    "${yarn.resourcemanager.hostname}:8032",
                    false,
                ),
                ("hadoop.tmp.dir", "/tmp/hadoop-${user.name}", false),
                (
                    "yarn.nodemanager.log-dirs",
                    "${env.LOG_ROOT}/userlogs",
                    false,
                ),
                ("with.fallback", "${env.NOT_SET:-/fallback}", false),
                ("unbound", "${no.such.key}/x", false),
            ]),
        )
        .unwrap();
    assert_eq!(
        configuration.get("yarn.resourcemanager.address"),
        Some("rm.example.com:8032")
    );
    assert_eq!(
        configuration.get_raw("yarn.resourcemanager.address"),
        Some("${yarn.resourcemanager.hostname}:8032")
    );
    assert_eq!(
        configuration.get("hadoop.tmp.dir"),
        Some("/tmp/hadoop-alice")
    );
    assert_eq!(
        configuration.get("yarn.nodemanager.log-dirs"),
        Some("/var/log/userlogs")
    );
    assert_eq!(configuration.get("with.fallback"), Some("/fallback"));
    assert_eq!(configuration.get("unbound"), Some("${no.such.key}/x"));
    // Changing a referenced key changes the values that refer to it.
    configuration
        .set("yarn.resourcemanager.hostname", "other")
        .unwrap();
    assert_eq!(
        configuration.get("yarn.resourcemanager.address"),
        Some("other:8032")
    );
    // A key defined later in another resource is seen by earlier values.
    configuration.set("late.ref", "${defined.later}").unwrap();
    configuration
        .add_resource_xml("later.xml", &xml(&[("defined.later", "now", false)]))
        .unwrap();
    assert_eq!(configuration.get("late.ref"), Some("now"));
}

#[test]
fn substitution_loops_are_errors_that_leave_the_configuration_unchanged() {
    let mut configuration = Configuration::new();
    configuration
        .add_resource_xml("a.xml", &xml(&[("loop.a", "${loop.b}", false)]))
        .unwrap();
    let error = configuration
        .add_resource_xml("b.xml", &xml(&[("loop.b", "x${loop.a}", false)]))
        .unwrap_err();
    assert!(
        matches!(error, ConfError::SubstitutionLoop { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("loop.a") && message.contains("loop.b") && message.contains("20"),
        "{message}"
    );
    assert_eq!(configuration.get("loop.b"), None);
    assert_eq!(configuration.loaded_sources(), ["a.xml"]);

    let error = configuration.set("self", "prefix-${self}").unwrap_err();
    assert!(error.to_string().contains("${self} -> ${self}"), "{error}");
    assert_eq!(configuration.get("self"), None);
    assert_eq!(configuration.get("loop.a"), Some("${loop.b}"));
}

#[test]
fn set_system_property_is_undone_when_it_creates_a_loop() {
    let mut configuration = Configuration::new();
    configuration.set("k", "${p}").unwrap();
    assert!(configuration.set_system_property("p", "${p}").is_err());
    assert_eq!(configuration.system_properties().get("p"), None);
    configuration.set_system_property("p", "v").unwrap();
    assert_eq!(configuration.get("k"), Some("v"));
}

#[test]
fn unset_removes_a_key() {
    let mut configuration = Configuration::new();
    configuration.set("a", "1").unwrap();
    configuration.set("b", "${a}").unwrap();
    configuration.unset("a");
    assert_eq!(configuration.get("a"), None);
    assert_eq!(configuration.get("b"), Some("${a}"));
}

#[test]
fn yarn_defaults_are_a_lowest_layer() {
    let mut configuration = Configuration::with_yarn_defaults().unwrap();
    assert_eq!(
        configuration.get("yarn.resourcemanager.address"),
        Some("0.0.0.0:8032")
    );
    assert_eq!(
        configuration.source_of("yarn.resourcemanager.address"),
        Some("yarn-default")
    );
    configuration
        .add_resource_xml(
            "yarn-site.xml",
            &xml(&[("yarn.resourcemanager.hostname", "10.0.0.5", false)]),
        )
        .unwrap();
    assert_eq!(
        configuration.get("yarn.resourcemanager.scheduler.address"),
        Some("10.0.0.5:8030")
    );
    let user = configuration.system_properties()["user.name"].clone();
    assert_eq!(
        configuration.get("hadoop.tmp.dir"),
        Some(format!("/tmp/hadoop-{user}").as_str())
    );
}

#[test]
fn load_default_files_reads_core_then_yarn_site_and_skips_missing_ones() {
    let directory = tempfile::tempdir().unwrap();
    let loaded = Configuration::load_default_files(Some(directory.path())).unwrap();
    assert_eq!(loaded.loaded_sources().len(), 0);
    assert_eq!(loaded.get("fs.defaultFS"), Some("file:///"));

    std::fs::write(
        directory.path().join("core-site.xml"),
        xml(&[("shared", "core", false), ("core.only", "c", false)]),
    )
    .unwrap();
    std::fs::write(
        directory.path().join("yarn-site.xml"),
        xml(&[("shared", "yarn", false)]),
    )
    .unwrap();
    let loaded = Configuration::load_default_files(Some(directory.path())).unwrap();
    assert_eq!(loaded.get("shared"), Some("yarn"));
    assert_eq!(loaded.get("core.only"), Some("c"));
    assert_eq!(loaded.loaded_sources().len(), 2);
    assert!(loaded.loaded_sources()[0].ends_with("core-site.xml"));
}

#[test]
fn malformed_files_are_named_in_errors() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("yarn-site.xml");
    std::fs::write(&path, "<configuration>\n<property><name>a</name>\n").unwrap();
    let error = Configuration::load_default_files(Some(directory.path())).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:", path.display())) && message.contains("'a'"),
        "{message}"
    );

    std::fs::write(
        &path,
        b"<configuration><property><name>a</name><value>\xff</value></property></configuration>",
    )
    .unwrap();
    let error = Configuration::load_default_files(Some(directory.path())).unwrap_err();
    assert!(
        error.to_string().contains("UTF-8") && error.to_string().contains(":1:"),
        "{error}"
    );

    let mut configuration = Configuration::new();
    let error = configuration
        .add_resource_file(&directory.path().join("absent.xml"))
        .unwrap_err();
    assert!(
        matches!(error, ConfError::Read { .. }) && error.to_string().contains("absent.xml"),
        "{error}"
    );
}

#[test]
fn conf_dirs_come_from_hadoop_conf_dir_then_yarn_conf_dir() {
    let hadoop = tempfile::tempdir().unwrap();
    let yarn = tempfile::tempdir().unwrap();
    std::fs::write(hadoop.path().join("core-site.xml"), xml(&[])).unwrap();
    std::fs::write(yarn.path().join("core-site.xml"), xml(&[])).unwrap();
    std::fs::write(yarn.path().join("yarn-site.xml"), xml(&[])).unwrap();
    let environment = Environment::Fixed(BTreeMap::from([
        (
            "HADOOP_CONF_DIR".to_string(),
            hadoop.path().display().to_string(),
        ),
        (
            "YARN_CONF_DIR".to_string(),
            yarn.path().display().to_string(),
        ),
    ]));
    assert_eq!(
        site_file_paths(None, &environment),
        vec![
            hadoop.path().join("core-site.xml"),
            yarn.path().join("yarn-site.xml")
        ]
    );
    assert!(site_file_paths(None, &Environment::Fixed(BTreeMap::new())).is_empty());
    assert_eq!(
        site_file_paths(Some(hadoop.path()), &environment),
        vec![hadoop.path().join("core-site.xml")]
    );
}
