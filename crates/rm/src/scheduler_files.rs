//! Reads the scheduler's configuration as YARN does: `yarn.resourcemanager.scheduler.class` from
//! yarn-site.xml, then capacity-scheduler.xml or the Fair Scheduler's allocation file
//! (`yarn.scheduler.fair.allocation.file`) from the configuration directory. This is the one
//! place the RM reads those files: at start and on every `rmadmin -refreshQueues`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use spindle_conf::Configuration;
use spindle_scheduler::{
    scheduler_config_from_files, AllocationLimits, SchedulerConfig, SchedulerFile, SchedulerKind,
    SCHEDULER_CLASS_KEY,
};

use crate::service::SchedulerConfigLoader;
use crate::settings::RmSettings;

/// The configuration directory `load` reads: the given one, else the first of $YARN_CONF_DIR,
/// $HADOOP_CONF_DIR that is set.
pub fn configuration_directory(conf_dir: Option<&Path>) -> Option<PathBuf> {
    conf_dir.map(Path::to_path_buf).or_else(|| {
        ["YARN_CONF_DIR", "HADOOP_CONF_DIR"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Reads the site files and the scheduler's file from `conf_dir` and builds the scheduler's
/// configuration; errors name the file, line, queue and key.
pub fn load(
    conf_dir: Option<&Path>,
    epoch: i64,
    limits: &AllocationLimits,
) -> Result<SchedulerConfig, String> {
    let configuration = Configuration::load_default_files(conf_dir).map_err(|e| e.to_string())?;
    let site: BTreeMap<String, String> = configuration
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let class = site.get(SCHEDULER_CLASS_KEY).cloned().unwrap_or_default();
    let kind = SchedulerKind::from_class_name(&class).map_err(|e| e.to_string())?;
    let file = match kind.scheduler_file_name(&site) {
        None => None,
        Some(name) => {
            let path = if Path::new(&name).is_absolute() {
                PathBuf::from(&name)
            } else {
                match conf_dir {
                    Some(dir) => dir.join(&name),
                    None => PathBuf::from(&name),
                }
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => Some((path.display().to_string(), text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
    };
    let file = file
        .as_ref()
        .map(|(source_name, text)| SchedulerFile { source_name, text });
    scheduler_config_from_files(&class, &site, file, epoch, limits.clone())
        .map_err(|e| e.to_string())
}

/// A loader for `ResourceManager::start_with`: re-reads the files each time it is called.
pub fn loader(conf_dir: Option<PathBuf>, settings: &RmSettings) -> SchedulerConfigLoader {
    let limits = AllocationLimits {
        minimum: settings.minimum_allocation.clone(),
        maximum: settings.maximum_allocation.clone(),
        increment: settings.minimum_allocation.clone(),
    };
    let epoch = settings.epoch;
    Arc::new(move || load(conf_dir.as_deref(), epoch, &limits))
}
