//! `Configuration`: the merged, `${var}`-expanded view of Hadoop configuration resources.
//!
//! Resources are layered in the order they are added: a later resource overrides an earlier one,
//! except for keys an earlier resource marked `<final>true</final>`. [`Configuration::set`]
//! overrides everything, final keys included (as Hadoop's `set` does). Every value is expanded
//! when the configuration changes, so that [`Configuration::get`] is a plain lookup and a
//! substitution loop is reported by the call that introduced it, leaving the configuration unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::ConfError;
use crate::keys;
use crate::substitution::{substitute_variables, Environment, RawValues, VariableSources};
use crate::xml_reader::{line_and_column, parse_configuration_xml, ParsedProperty};

/// Environment variables naming configuration directories, in the order they are searched.
pub const CONF_DIR_VARIABLES: [&str; 2] = ["HADOOP_CONF_DIR", "YARN_CONF_DIR"];

/// Site files read by [`Configuration::load_default_files`], in loading order: YARN's resource
/// types (`resource-types.xml`) and a node's resources (`node-resources.xml`) come after yarn-site.
pub const SITE_FILE_NAMES: [&str; 4] = [
    "core-site.xml",
    "yarn-site.xml",
    "resource-types.xml",
    "node-resources.xml",
];

/// Source name of the built-in YARN defaults (see [`Configuration::source_of`]).
pub const YARN_DEFAULTS_SOURCE: &str = "yarn-default";

#[derive(Debug, Clone)]
struct StoredProperty {
    raw: String,
    expanded: String,
    source: String,
}

impl RawValues for BTreeMap<String, StoredProperty> {
    fn raw_value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|property| property.raw.as_str())
    }
}

/// Hadoop configuration: keys and values, where each value has had its `${var}`s expanded.
///
/// Unknown keys are kept (and ignored by Spindle's typed configs).
#[derive(Debug, Clone)]
pub struct Configuration {
    properties: BTreeMap<String, StoredProperty>,
    final_keys: BTreeSet<String>,
    system_properties: BTreeMap<String, String>,
    environment: Environment,
    loaded_sources: Vec<String>,
}

impl Default for Configuration {
    fn default() -> Self {
        Self::new()
    }
}

impl Configuration {
    /// An empty configuration; `${env.*}` reads this process's environment and the system
    /// properties describe this process (`user.name`, `user.home`, `java.io.tmpdir`, and
    /// `yarn.log.dir`/`hadoop.log.dir` when YARN_LOG_DIR/HADOOP_LOG_DIR are set).
    pub fn new() -> Self {
        Self::with_environment(Environment::Process)
    }

    /// An empty configuration whose `${env.*}` variables come from `environment`.
    pub fn with_environment(environment: Environment) -> Self {
        let system_properties = default_system_properties(&environment);
        Self {
            properties: BTreeMap::new(),
            final_keys: BTreeSet::new(),
            system_properties,
            environment,
            loaded_sources: Vec::new(),
        }
    }

    /// A configuration holding YARN's defaults ([`keys::YARN_DEFAULTS`]), like Hadoop's
    /// `YarnConfiguration` before any site file.
    pub fn with_yarn_defaults() -> Result<Self, ConfError> {
        let mut configuration = Self::new();
        configuration.add_defaults(YARN_DEFAULTS_SOURCE, keys::YARN_DEFAULTS)?;
        Ok(configuration)
    }

    /// YARN's defaults, then `core-site.xml` and `yarn-site.xml` from `conf_dir`, or else from
    /// `$HADOOP_CONF_DIR` / `$YARN_CONF_DIR` (for each file the first directory that has it).
    /// Missing files are skipped.
    pub fn load_default_files(conf_dir: Option<&Path>) -> Result<Self, ConfError> {
        let mut configuration = Self::with_yarn_defaults()?;
        for path in site_file_paths(conf_dir, &Environment::Process) {
            configuration.add_resource_file(&path)?;
        }
        Ok(configuration)
    }

    /// Reads one configuration file and layers it over what is there.
    pub fn add_resource_file(&mut self, path: &Path) -> Result<(), ConfError> {
        let bytes = std::fs::read(path).map_err(|source| ConfError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let source_name = path.display().to_string();
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let valid_up_to = error.utf8_error().valid_up_to();
                let valid = String::from_utf8_lossy(&error.as_bytes()[..valid_up_to]).into_owned();
                let (line, column) = line_and_column(&valid, valid_up_to as u64);
                return Err(ConfError::Malformed {
                    source_name,
                    line,
                    column,
                    property: None,
                    message: "the file is not valid UTF-8".to_string(),
                });
            }
        };
        self.add_resource_xml(&source_name, &text)
    }

    /// Parses configuration XML text and layers it over what is there. `source_name` names the
    /// resource in error messages and in [`Configuration::source_of`].
    pub fn add_resource_xml(&mut self, source_name: &str, xml: &str) -> Result<(), ConfError> {
        let parsed = parse_configuration_xml(source_name, xml)?;
        self.change(|properties, final_keys| {
            merge_resource(properties, final_keys, source_name, parsed)
        })?;
        self.loaded_sources.push(source_name.to_string());
        Ok(())
    }

    /// Sets each key that has no value yet (a lowest layer: later resources still override it).
    pub fn add_defaults(
        &mut self,
        source_name: &str,
        defaults: &[(&str, &str)],
    ) -> Result<(), ConfError> {
        self.change(|properties, _| {
            for (key, value) in defaults {
                properties
                    .entry(key.to_string())
                    .or_insert_with(|| StoredProperty {
                        raw: value.to_string(),
                        expanded: String::new(),
                        source: source_name.to_string(),
                    });
            }
        })
    }

    /// Sets `key` to `value` (expanded like any value), overriding resources and final marks.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfError> {
        let key = key.trim().to_string();
        self.change(|properties, _| {
            properties.insert(
                key,
                StoredProperty {
                    raw: value.to_string(),
                    expanded: String::new(),
                    source: "programmatically".to_string(),
                },
            );
        })
    }

    /// Removes `key`. Values that referred to it keep the `${key}` text.
    pub fn unset(&mut self, key: &str) {
        let key = key.trim().to_string();
        // Removing a key can only turn an expansion into literal text, never into a loop.
        let _ = self.change(|properties, _| {
            properties.remove(&key);
        });
    }

    /// Sets a system property (what Java's `-Dname=value` would), which `${name}` prefers over keys.
    pub fn set_system_property(&mut self, name: &str, value: &str) -> Result<(), ConfError> {
        let previous = self
            .system_properties
            .insert(name.to_string(), value.to_string());
        let result = self.change(|_, _| {});
        if result.is_err() {
            match previous {
                Some(previous) => self.system_properties.insert(name.to_string(), previous),
                None => self.system_properties.remove(name),
            };
        }
        result
    }

    /// The expanded value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties
            .get(key.trim())
            .map(|property| property.expanded.as_str())
    }

    /// The value of `key` as written, before `${var}` expansion.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.properties
            .get(key.trim())
            .map(|property| property.raw.as_str())
    }

    /// Where the value of `key` came from: a file path, a source name given to
    /// [`Configuration::add_resource_xml`], [`YARN_DEFAULTS_SOURCE`], or "programmatically".
    pub fn source_of(&self, key: &str) -> Option<&str> {
        self.properties
            .get(key.trim())
            .map(|property| property.source.as_str())
    }

    /// Whether a resource marked `key` final.
    pub fn is_final(&self, key: &str) -> bool {
        self.final_keys.contains(key.trim())
    }

    /// Every key with its expanded value, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(key, property)| (key.as_str(), property.expanded.as_str()))
    }

    pub fn len(&self) -> usize {
        self.properties.len()
    }

    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// The resources added so far (file paths or source names), in order.
    pub fn loaded_sources(&self) -> &[String] {
        &self.loaded_sources
    }

    pub fn system_properties(&self) -> &BTreeMap<String, String> {
        &self.system_properties
    }

    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// Expands the `${var}`s of `expression` against this configuration, as if it were the value
    /// of `key` (which only appears in errors).
    pub fn expand(&self, key: &str, expression: &str) -> Result<String, ConfError> {
        let sources = VariableSources {
            system_properties: &self.system_properties,
            environment: &self.environment,
            raw_values: &self.properties,
        };
        substitute_variables(key, expression, &sources)
    }

    /// Applies `edit` to a copy of the properties, expands every value, and keeps the result only
    /// if every expansion succeeded.
    fn change(
        &mut self,
        edit: impl FnOnce(&mut BTreeMap<String, StoredProperty>, &mut BTreeSet<String>),
    ) -> Result<(), ConfError> {
        let mut properties = self.properties.clone();
        let mut final_keys = self.final_keys.clone();
        edit(&mut properties, &mut final_keys);
        let expanded_values = {
            let sources = VariableSources {
                system_properties: &self.system_properties,
                environment: &self.environment,
                raw_values: &properties,
            };
            properties
                .iter()
                .map(|(key, property)| substitute_variables(key, &property.raw, &sources))
                .collect::<Result<Vec<String>, ConfError>>()?
        };
        for (property, expanded) in properties.values_mut().zip(expanded_values) {
            property.expanded = expanded;
        }
        self.properties = properties;
        self.final_keys = final_keys;
        Ok(())
    }
}

/// Layers the properties of one resource, honouring final keys of earlier resources.
fn merge_resource(
    properties: &mut BTreeMap<String, StoredProperty>,
    final_keys: &mut BTreeSet<String>,
    source_name: &str,
    parsed: Vec<ParsedProperty>,
) {
    for property in parsed {
        if final_keys.contains(&property.name) {
            let unchanged =
                properties.get(&property.name).map(|stored| &stored.raw) == property.value.as_ref();
            if property.value.is_some() && !unchanged {
                tracing::warn!(
                    "{source_name}:{}: ignoring a new value for {}: it is final in an earlier resource",
                    property.line,
                    property.name
                );
            }
        } else if let Some(value) = property.value {
            properties.insert(
                property.name.clone(),
                StoredProperty {
                    raw: value,
                    expanded: String::new(),
                    source: source_name.to_string(),
                },
            );
        }
        if property.is_final {
            final_keys.insert(property.name);
        }
    }
}

/// The site files [`Configuration::load_default_files`] reads: for each of [`SITE_FILE_NAMES`],
/// the first existing one in `conf_dir`, or else in the directories named by
/// [`CONF_DIR_VARIABLES`] in `environment`.
pub fn site_file_paths(conf_dir: Option<&Path>, environment: &Environment) -> Vec<PathBuf> {
    let directories: Vec<PathBuf> = match conf_dir {
        Some(directory) => vec![directory.to_path_buf()],
        None => CONF_DIR_VARIABLES
            .iter()
            .filter_map(|variable| environment.get(variable))
            .filter(|directory| !directory.is_empty())
            .map(PathBuf::from)
            .collect(),
    };
    SITE_FILE_NAMES
        .iter()
        .filter_map(|file_name| {
            directories
                .iter()
                .map(|directory| directory.join(file_name))
                .find(|path| path.is_file())
        })
        .collect()
}

/// The Java system properties Hadoop's defaults refer to, as this process would have them.
fn default_system_properties(environment: &Environment) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let account = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten();
    let user_name = account
        .as_ref()
        .map(|user| user.name.clone())
        .or_else(|| environment.get("USER"))
        .unwrap_or_else(|| "unknown".to_string());
    properties.insert("user.name".to_string(), user_name);
    if let Some(home) = account
        .map(|user| user.dir.display().to_string())
        .or_else(|| environment.get("HOME"))
    {
        properties.insert("user.home".to_string(), home);
    }
    properties.insert("java.io.tmpdir".to_string(), "/tmp".to_string());
    for (property, variable) in [
        ("yarn.log.dir", "YARN_LOG_DIR"),
        ("hadoop.log.dir", "HADOOP_LOG_DIR"),
    ] {
        if let Some(directory) = environment
            .get(variable)
            .filter(|directory| !directory.is_empty())
        {
            properties.insert(property.to_string(), directory);
        }
    }
    if !properties.contains_key("yarn.log.dir") {
        if let Some(directory) = properties.get("hadoop.log.dir").cloned() {
            properties.insert("yarn.log.dir".to_string(), directory);
        }
    }
    properties
}
