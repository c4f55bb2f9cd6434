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

/// Which scheduler a configuration directory selects and which file configures it: what the RM
/// logs, and the minicluster prints, each time it reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSource {
    /// `yarn.resourcemanager.scheduler.class`; YARN's default, the CapacityScheduler, when unset.
    pub class: String,
    /// capacity-scheduler.xml or the Fair allocation file (`yarn.scheduler.fair.allocation.file`,
    /// default fair-scheduler.xml) resolved against the configuration directory; None for FIFO.
    pub file: Option<PathBuf>,
    /// Whether that file exists. Without it the scheduler takes YARN's defaults (Capacity: one
    /// queue, root.default, at 100%; Fair: queues named after users).
    pub file_exists: bool,
}

impl std::fmt::Display for SchedulerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.class)?;
        match &self.file {
            None => write!(f, " (no scheduler file)"),
            Some(file) if self.file_exists => write!(f, " from {}", file.display()),
            Some(file) => write!(f, " with its defaults ({} does not exist)", file.display()),
        }
    }
}

/// The site's properties as strings (YARN's defaults under the site files in `conf_dir`).
fn site_properties(conf_dir: Option<&Path>) -> Result<BTreeMap<String, String>, String> {
    let configuration = Configuration::load_default_files(conf_dir).map_err(|e| e.to_string())?;
    Ok(configuration
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn source_of(
    conf_dir: Option<&Path>,
    site: &BTreeMap<String, String>,
) -> Result<SchedulerSource, String> {
    let class = site.get(SCHEDULER_CLASS_KEY).cloned().unwrap_or_default();
    let kind = SchedulerKind::from_class_name(&class).map_err(|e| e.to_string())?;
    let file = kind.scheduler_file_name(site).map(|name| {
        if Path::new(&name).is_absolute() {
            PathBuf::from(&name)
        } else {
            match conf_dir {
                Some(dir) => dir.join(&name),
                None => PathBuf::from(&name),
            }
        }
    });
    Ok(SchedulerSource {
        class: kind.class_name().to_string(),
        file_exists: file.as_deref().is_some_and(Path::is_file),
        file,
    })
}

/// Which scheduler and file the site files in `conf_dir` select, without reading the file.
pub fn source(conf_dir: Option<&Path>) -> Result<SchedulerSource, String> {
    source_of(conf_dir, &site_properties(conf_dir)?)
}

/// Reads the site files and the scheduler's file from `conf_dir` and builds the scheduler's
/// configuration; errors name the file, line, queue and key.
pub fn load(
    conf_dir: Option<&Path>,
    epoch: i64,
    limits: &AllocationLimits,
) -> Result<SchedulerConfig, String> {
    load_with_source(conf_dir, epoch, limits).map(|(config, _)| config)
}

/// [`load`], also answering which scheduler and file it used.
pub fn load_with_source(
    conf_dir: Option<&Path>,
    epoch: i64,
    limits: &AllocationLimits,
) -> Result<(SchedulerConfig, SchedulerSource), String> {
    let site = site_properties(conf_dir)?;
    let source = source_of(conf_dir, &site)?;
    let text = match &source.file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some((path.display().to_string(), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        },
    };
    let file = text
        .as_ref()
        .map(|(source_name, text)| SchedulerFile { source_name, text });
    let config = scheduler_config_from_files(&source.class, &site, file, epoch, limits.clone())
        .map_err(|e| e.to_string())?;
    Ok((config, source))
}

/// A loader for `ResourceManager::start_with`: re-reads the files each time it is called (at
/// start and on every `rmadmin -refreshQueues`) and logs which scheduler and file it used.
pub fn loader(conf_dir: Option<PathBuf>, settings: &RmSettings) -> SchedulerConfigLoader {
    let limits = AllocationLimits {
        minimum: settings.minimum_allocation.clone(),
        maximum: settings.maximum_allocation.clone(),
        increment: settings.minimum_allocation.clone(),
    };
    let epoch = settings.epoch;
    Arc::new(move || {
        let (config, source) = load_with_source(conf_dir.as_deref(), epoch, &limits)?;
        tracing::info!("scheduler configuration: {source}");
        Ok(config)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_scheduler::{CAPACITY_SCHEDULER_CLASS, FAIR_SCHEDULER_CLASS, FIFO_SCHEDULER_CLASS};

    fn directory_with_site(properties: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        spindle_conf::write_site_xml(&dir.path().join("yarn-site.xml"), properties).unwrap();
        dir
    }

    #[test]
    fn without_a_class_the_capacity_scheduler_reads_capacity_scheduler_xml() {
        let dir = tempfile::tempdir().unwrap();
        let source = source(Some(dir.path())).unwrap();
        assert_eq!(source.class, CAPACITY_SCHEDULER_CLASS);
        assert_eq!(
            source.file.as_deref(),
            Some(dir.path().join("capacity-scheduler.xml").as_path())
        );
        assert!(!source.file_exists);
        assert!(source.to_string().ends_with("does not exist)"), "{source}");
    }

    #[test]
    fn the_fair_allocation_file_is_found_under_its_default_or_configured_name() {
        let dir = directory_with_site(&[(SCHEDULER_CLASS_KEY, FAIR_SCHEDULER_CLASS)]);
        std::fs::write(dir.path().join("fair-scheduler.xml"), "<allocations/>").unwrap();
        let default_name = source(Some(dir.path())).unwrap();
        assert_eq!(
            default_name.to_string(),
            format!(
                "{FAIR_SCHEDULER_CLASS} from {}",
                dir.path().join("fair-scheduler.xml").display()
            )
        );

        let elsewhere = tempfile::tempdir().unwrap();
        let absolute = elsewhere.path().join("queues.xml");
        std::fs::write(&absolute, "<allocations/>").unwrap();
        let dir = directory_with_site(&[
            (SCHEDULER_CLASS_KEY, FAIR_SCHEDULER_CLASS),
            (
                "yarn.scheduler.fair.allocation.file",
                absolute.to_str().unwrap(),
            ),
        ]);
        let configured = source(Some(dir.path())).unwrap();
        assert_eq!(configured.file.as_deref(), Some(absolute.as_path()));
        assert!(configured.file_exists);
    }

    #[test]
    fn fifo_reads_no_file_and_an_unknown_class_is_refused() {
        let dir = directory_with_site(&[(SCHEDULER_CLASS_KEY, FIFO_SCHEDULER_CLASS)]);
        let fifo = source(Some(dir.path())).unwrap();
        assert_eq!(fifo.file, None);
        assert_eq!(
            fifo.to_string(),
            format!("{FIFO_SCHEDULER_CLASS} (no scheduler file)")
        );

        let dir = directory_with_site(&[(SCHEDULER_CLASS_KEY, "org.example.Nope")]);
        let error = source(Some(dir.path())).unwrap_err();
        assert!(error.contains("org.example.Nope"), "{error}");
    }
}
