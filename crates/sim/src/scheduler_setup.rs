//! The scheduler configuration a simulation runs with, built the way the RM builds it: YARN's
//! defaults, then yarn-site.xml from the configuration directory, the scheduler chosen by
//! `yarn.resourcemanager.scheduler.class`, and its capacity-scheduler.xml or Fair Scheduler
//! allocation file. This module is the only place a simulation's scheduler is configured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spindle_conf::{keys, ConfError, Configuration, RmConfig};
use spindle_scheduler::{
    scheduler_config_from_files, AllocationLimits, SchedulerConfig, SchedulerConfigError,
    SchedulerFile, SchedulerKind,
};

/// The site files read from the configuration directory, in order (later ones win).
const SITE_FILES: [&str; 2] = ["core-site.xml", "yarn-site.xml"];

/// The scheduler configuration and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerSetup {
    pub config: SchedulerConfig,
    /// `yarn.resourcemanager.scheduler.class`.
    pub class_name: String,
    /// The files that were read, in order; empty for YARN's defaults alone.
    pub files_read: Vec<PathBuf>,
}

impl SchedulerSetup {
    /// `fifo`, `capacity` or `fair`.
    pub fn policy_name(&self) -> &'static str {
        self.config.policy.kind()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerSetupError {
    #[error(transparent)]
    Configuration(#[from] ConfError),
    #[error("cannot read the scheduler file {path}: {source}")]
    ReadSchedulerFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Scheduler(Box<SchedulerConfigError>),
}

/// Builds the scheduler configuration from `conf_dir` (its `core-site.xml`, `yarn-site.xml`
/// and scheduler file, each optional) over YARN's defaults; without a directory, YARN's
/// defaults alone (the environment's `HADOOP_CONF_DIR` is deliberately not consulted, so a
/// simulation is reproducible).
pub fn scheduler_setup(conf_dir: Option<&Path>) -> Result<SchedulerSetup, SchedulerSetupError> {
    let mut configuration = Configuration::with_yarn_defaults()?;
    let mut files_read = Vec::new();
    if let Some(dir) = conf_dir {
        for name in SITE_FILES {
            let path = dir.join(name);
            if path.is_file() {
                configuration.add_resource_file(&path)?;
                files_read.push(path);
            }
        }
    }
    let rm_config = RmConfig::from_configuration(&configuration)?;
    let site: BTreeMap<String, String> = configuration
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    let class_name = configuration
        .get(keys::RM_SCHEDULER_CLASS)
        .unwrap_or_default()
        .trim()
        .to_string();
    let kind = SchedulerKind::from_class_name(&class_name).map_err(scheduler_error)?;
    let scheduler_file = match (conf_dir, kind.scheduler_file_name(&site)) {
        (Some(dir), Some(name)) => {
            let path = dir.join(name);
            if path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(|source| {
                    SchedulerSetupError::ReadSchedulerFile {
                        path: path.clone(),
                        source,
                    }
                })?;
                Some((path, text))
            } else {
                None
            }
        }
        _ => None,
    };
    let source_name = scheduler_file
        .as_ref()
        .map(|(path, _)| path.display().to_string());
    let file = scheduler_file
        .as_ref()
        .zip(source_name.as_deref())
        .map(|((_, text), source_name)| SchedulerFile { source_name, text });
    let limits = AllocationLimits {
        minimum: rm_config.minimum_allocation.clone(),
        maximum: rm_config.maximum_allocation.clone(),
        increment: rm_config.minimum_allocation.clone(),
    };
    let config = scheduler_config_from_files(&class_name, &site, file, 0, limits)
        .map_err(scheduler_error)?;
    if let Some((path, _)) = scheduler_file {
        files_read.push(path);
    }
    Ok(SchedulerSetup {
        config,
        class_name,
        files_read,
    })
}

fn scheduler_error(error: SchedulerConfigError) -> SchedulerSetupError {
    SchedulerSetupError::Scheduler(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_directory_the_scheduler_is_yarns_default() {
        let setup = scheduler_setup(None).unwrap();
        assert_eq!(
            setup.class_name,
            spindle_scheduler::CAPACITY_SCHEDULER_CLASS,
            "YARN's default scheduler class"
        );
        assert_eq!(setup.config.limits.maximum.memory_mb, 8192);
        assert!(setup.files_read.is_empty());
    }

    #[test]
    fn yarn_site_chooses_the_scheduler_and_its_limits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("yarn-site.xml"),
            format!(
                "<configuration>\
                 <property><name>yarn.resourcemanager.scheduler.class</name><value>{}</value></property>\
                 <property><name>yarn.scheduler.maximum-allocation-mb</name><value>16384</value></property>\
                 </configuration>",
                spindle_scheduler::FIFO_SCHEDULER_CLASS
            ),
        )
        .unwrap();
        let setup = scheduler_setup(Some(dir.path())).unwrap();
        assert_eq!(setup.policy_name(), "fifo");
        assert_eq!(setup.config.limits.maximum.memory_mb, 16384);
        assert_eq!(setup.files_read, vec![dir.path().join("yarn-site.xml")]);
    }

    #[test]
    fn a_broken_site_file_or_unknown_class_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("yarn-site.xml"),
            "<configuration><property>",
        )
        .unwrap();
        assert!(matches!(
            scheduler_setup(Some(dir.path())),
            Err(SchedulerSetupError::Configuration(_))
        ));
        std::fs::write(
            dir.path().join("yarn-site.xml"),
            "<configuration><property><name>yarn.resourcemanager.scheduler.class</name>\
             <value>org.example.NoSuchScheduler</value></property></configuration>",
        )
        .unwrap();
        let error = scheduler_setup(Some(dir.path())).unwrap_err().to_string();
        assert!(error.contains("org.example.NoSuchScheduler"), "{error}");
    }
}
