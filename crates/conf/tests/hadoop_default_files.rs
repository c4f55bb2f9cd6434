//! Cross-check against Hadoop itself: the yarn-default.xml and core-default.xml inside pyspark's
//! hadoop-client-api jar must parse and expand, and Spindle's defaults must equal theirs.
//!
//! Needs the jar installed by `scripts/ensure-pyspark` (or SPINDLE_PYSPARK_DIR); without it the
//! test says so and checks nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use spindle_conf::{keys, parse_configuration_xml, Configuration};

fn hadoop_client_api_jar() -> Option<PathBuf> {
    let pyspark_dirs: Vec<PathBuf> = match std::env::var_os("SPINDLE_PYSPARK_DIR") {
        Some(directory) => vec![PathBuf::from(directory)],
        None => {
            let venv_lib =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/pyspark-venv/lib");
            std::fs::read_dir(venv_lib)
                .ok()?
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("site-packages/pyspark"))
                .collect()
        }
    };
    pyspark_dirs
        .iter()
        .filter_map(|directory| std::fs::read_dir(directory.join("jars")).ok())
        .flatten()
        .find_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            (name.starts_with("hadoop-client-api-") && name.ends_with(".jar")).then_some(path)
        })
}

fn read_jar_entry(jar: &PathBuf, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(jar).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn hadoop_default_files_parse_and_match_spindle_defaults() {
    let Some(jar) = hadoop_client_api_jar() else {
        eprintln!("hadoop-client-api jar not found (run scripts/ensure-pyspark); nothing checked");
        return;
    };
    let mut hadoop_defaults = BTreeMap::new();
    let mut configuration = Configuration::new();
    for file in ["core-default.xml", "yarn-default.xml"] {
        let text = read_jar_entry(&jar, file);
        let properties = parse_configuration_xml(file, &text).unwrap();
        assert!(
            properties.len() > 400,
            "{file}: only {} properties",
            properties.len()
        );
        for property in properties {
            if let Some(value) = property.value {
                hadoop_defaults.insert(property.name, value);
            }
        }
        // Every value expands without a loop.
        configuration.add_resource_xml(file, &text).unwrap();
    }
    for (key, value) in keys::YARN_DEFAULTS {
        assert_eq!(
            hadoop_defaults.get(*key).map(String::as_str),
            Some(*value),
            "default of {key}"
        );
    }
    assert_eq!(
        hadoop_defaults.get(keys::NM_CONTAINER_MONITOR_INTERVAL_MS),
        None
    );
    assert_eq!(configuration.get(keys::RM_ADDRESS), Some("0.0.0.0:8032"));
}
