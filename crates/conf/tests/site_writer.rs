//! The site-file writer: output that Hadoop-style readers (ours) read back exactly.

use proptest::prelude::*;
use spindle_conf::{
    parse_configuration_xml, site_xml_string, write_site_xml, ConfError, Configuration,
};

#[test]
fn round_trip_through_the_parser() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("yarn-site.xml");
    let properties = [
        ("yarn.resourcemanager.address", "127.0.0.1:8032"),
        ("escaping", "<a href=\"x\">&amp; 'quoted'</a>"),
        ("spaces", "  padded  "),
        ("multi.line", "line1\nline2\r\nline3\ttabbed"),
        ("unicode", "Spindle 방추 ✓"),
        ("variable", "${yarn.resourcemanager.address}/x"),
    ];
    write_site_xml(&path, &properties).unwrap();
    let mut configuration = Configuration::new();
    configuration.add_resource_file(&path).unwrap();
    for (key, value) in &properties[..5] {
        assert_eq!(configuration.get(key), Some(*value), "{key}");
    }
    // `${...}` stays as text in the file and is expanded on reading, as Hadoop does.
    assert_eq!(
        configuration.get_raw("variable"),
        Some("${yarn.resourcemanager.address}/x")
    );
    assert_eq!(configuration.get("variable"), Some("127.0.0.1:8032/x"));
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
}

#[test]
fn output_is_a_hadoop_site_file() {
    let text = site_xml_string(&[("a", "1")]).unwrap();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{text}"
    );
    assert!(
        text.contains("<configuration>")
            && text.contains("<name>a</name>")
            && text.contains("<value>1</value>")
    );
    let empty: [(&str, &str); 0] = [];
    assert!(
        parse_configuration_xml("empty", &site_xml_string(&empty).unwrap())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn unwritable_properties_are_refused() {
    for (key, value) in [
        ("", "v"),
        (" padded", "v"),
        ("k", ""),
        ("k", "bell\u{7}"),
        ("k\u{1}", "v"),
    ] {
        let error = site_xml_string(&[(key, value)]).unwrap_err();
        assert!(
            matches!(error, ConfError::Unwritable { .. }),
            "{key:?}={value:?}: {error}"
        );
    }
}

#[test]
fn write_errors_name_the_path() {
    let error = write_site_xml(
        std::path::Path::new("/nonexistent-dir/yarn-site.xml"),
        &[("a", "1")],
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent-dir/yarn-site.xml"),
        "{error}"
    );
}

proptest! {
    #[test]
    fn any_writable_value_reads_back_unchanged(
        key in "[a-z][a-z0-9.\\-_]{0,30}",
        value in "[\\t\\n\\r -\u{d7ff}\u{e000}-\u{fffd}]{1,40}",
    ) {
        let text = site_xml_string(&[(key.as_str(), value.as_str())]).unwrap();
        let parsed = parse_configuration_xml("generated", &text).unwrap();
        prop_assert_eq!(parsed.len(), 1);
        prop_assert_eq!(&parsed[0].name, &key);
        prop_assert_eq!(parsed[0].value.as_deref(), Some(value.as_str()));
    }
}
