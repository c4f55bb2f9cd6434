//! The RM's configuration directory: `rm-conf/` written from a [`MiniClusterConfig`]'s scheduler
//! fields, or a directory of the user's read as `spindle resourcemanager --conf-dir` reads its
//! own (the scheduler class and files through `spindle_rm::scheduler_files`, the RM keys of its
//! yarn-site.xml here).

use std::path::{Path, PathBuf};

use anyhow::Context;
use spindle_conf::{keys, Configuration, RmConfig, YARN_DEFAULTS_SOURCE};
use spindle_rm::scheduler_files;
use spindle_rm::service::SchedulerSetup;
use spindle_rm::settings::RmSettings;

use crate::MiniClusterConfig;

/// The RM's configuration directory, ready for the RM to start.
pub(crate) struct RmConfigurationDirectory {
    dir: PathBuf,
    /// The site files of a directory the configuration named (None for `rm-conf/`).
    given: Option<(Configuration, RmConfig)>,
}

impl RmConfigurationDirectory {
    /// Reads the directory `config` names, taking the RM keys it sets into `config`, or else
    /// writes `rm-conf/` under the base directory.
    pub(crate) fn prepare(config: &mut MiniClusterConfig) -> anyhow::Result<Self> {
        match config.rm_conf_dir.clone() {
            Some(dir) => {
                let given = read(&dir, config)?;
                Ok(Self {
                    dir,
                    given: Some(given),
                })
            }
            None => {
                let dir = config.base_dir.join("rm-conf");
                write(&dir, config)?;
                Ok(Self { dir, given: None })
            }
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The RM's web server on a free loopback port; a given directory's yarn-site.xml sets its
    /// authentication and REST submission keys, as the RM daemon's does.
    pub(crate) fn web_setup(&self) -> anyhow::Result<spindle_rm::web::RmWebSetup> {
        let loopback = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0));
        match &self.given {
            Some((conf, _)) => spindle_rm::web::RmWebSetup::from_configuration(conf, loopback),
            None => Ok(spindle_rm::web::RmWebSetup::loopback()),
        }
    }

    /// The scheduler setup of an RM with `settings`: the loader reads this directory (at start and
    /// on `rmadmin -refreshQueues`); a given directory's yarn-site.xml also decides the admin ACL
    /// and the rack topology, as the RM daemon's does.
    pub(crate) fn scheduler_setup(&self, settings: &RmSettings) -> anyhow::Result<SchedulerSetup> {
        match &self.given {
            Some((conf, rm)) => {
                SchedulerSetup::from_configuration(Some(&self.dir), conf, rm, settings)
            }
            None => Ok(SchedulerSetup {
                loader: Some(scheduler_files::loader(Some(self.dir.clone()), settings)),
                admins: vec!["*".into()],
                topology: Default::default(),
                registration_secret: None,
                ipc_server: None,
                web: None,
            }),
        }
    }
}

/// Writes `dir` from the configuration's scheduler fields: the scheduler class and keys in
/// yarn-site.xml, and the scheduler's files. Tests rewrite it and call `rmadmin -refreshQueues`.
fn write(dir: &Path, config: &MiniClusterConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut site = vec![(
        keys::RM_SCHEDULER_CLASS.to_string(),
        config.scheduler_class.clone(),
    )];
    site.extend(config.scheduler_site.iter().cloned());
    spindle_conf::write_site_xml(&dir.join("yarn-site.xml"), &site)?;
    for (name, text) in &config.scheduler_files {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// Reads the site files of an existing RM configuration directory. The RM keys its files set
/// replace the minicluster's own settings; the keys they leave unset keep the minicluster's
/// values (a 256 MB minimum allocation, the node size as maximum), not YARN's defaults. Ports are
/// always the minicluster's own (free loopback ports). Answers the configuration for the
/// scheduler setup.
fn read(dir: &Path, config: &mut MiniClusterConfig) -> anyhow::Result<(Configuration, RmConfig)> {
    if !dir.is_dir() {
        anyhow::bail!("Cannot find configuration directory: {}", dir.display());
    }
    let conf = Configuration::load_default_files(Some(dir))
        .with_context(|| format!("reading the configuration in {}", dir.display()))?;
    let rm = RmConfig::from_configuration(&conf)?;
    let is_set = |key: &str| {
        conf.source_of(key)
            .is_some_and(|s| s != YARN_DEFAULTS_SOURCE)
    };
    let ms = |d: std::time::Duration| d.as_millis() as i64;
    let settings = &mut config.rm;
    if is_set(keys::RM_AM_MAX_ATTEMPTS) {
        settings.max_attempts = rm.application_master_max_attempts.max(1) as i32;
    }
    if is_set(keys::RM_AM_EXPIRY_INTERVAL_MS) {
        settings.am_expiry_ms = ms(rm.application_master_expiry_interval);
    }
    if is_set(keys::RM_NM_EXPIRY_INTERVAL_MS) {
        settings.nm_expiry_ms = ms(rm.nodemanager_expiry_interval);
    }
    if is_set(keys::RM_NODE_REMOVAL_TIMEOUT_MS) {
        settings.node_removal_timeout_ms = ms(rm.node_removal_timeout);
    }
    if is_set(keys::RM_RECOVERY_SCHEDULING_WAIT_MS) {
        settings.recovery_scheduling_wait_ms = ms(rm.recovery_scheduling_wait);
    }
    if is_set(keys::RM_MAX_COMPLETED_APPLICATIONS) {
        settings.max_completed_applications = rm.max_completed_applications as usize;
    }
    if is_set(keys::RM_SCHEDULER_MINIMUM_ALLOCATION_MB) {
        settings.minimum_allocation.memory_mb = rm.minimum_allocation.memory_mb;
    }
    if is_set(keys::RM_SCHEDULER_MINIMUM_ALLOCATION_VCORES) {
        settings.minimum_allocation.vcores = rm.minimum_allocation.vcores;
    }
    if is_set(keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_MB) {
        settings.maximum_allocation.memory_mb = rm.maximum_allocation.memory_mb;
    }
    if is_set(keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_VCORES) {
        settings.maximum_allocation.vcores = rm.maximum_allocation.vcores;
    }
    for resource_type in conf.get_strings("yarn.resource-types") {
        if !settings.resource_types.contains(&resource_type) {
            settings.resource_types.push(resource_type);
        }
    }
    if is_set(keys::RM_NM_HEARTBEAT_INTERVAL_MS) {
        config.nm_heartbeat_interval = rm.nodemanager_heartbeat_interval;
    }
    Ok((conf, rm))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use spindle_types::Resource;

    use super::*;

    #[test]
    fn the_rm_keys_a_directory_sets_replace_the_miniclusters_and_the_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        spindle_conf::write_site_xml(
            &dir.path().join("yarn-site.xml"),
            &[
                (keys::RM_SCHEDULER_MINIMUM_ALLOCATION_MB, "512"),
                (keys::RM_AM_MAX_ATTEMPTS, "1"),
                (keys::RM_NM_HEARTBEAT_INTERVAL_MS, "300"),
                ("yarn.resourcemanager.address", "0.0.0.0:8032"),
            ],
        )
        .unwrap();
        let mut config = MiniClusterConfig::new(dir.path().join("base"));
        config.rm_conf_dir = Some(dir.path().to_path_buf());
        let prepared = RmConfigurationDirectory::prepare(&mut config).unwrap();
        assert_eq!(prepared.dir(), dir.path());
        assert_eq!(config.rm.minimum_allocation, Resource::new(512, 1));
        assert_eq!(
            config.rm.maximum_allocation,
            MiniClusterConfig::new("x").rm.maximum_allocation,
            "unset: the minicluster's own, not YARN's default"
        );
        assert_eq!(config.rm.max_attempts, 1);
        assert_eq!(config.nm_heartbeat_interval, Duration::from_millis(300));
        assert!(
            !dir.path().join("base/rm-conf").exists(),
            "a given directory is read, never written"
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_as_in_hadoop() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let mut config = MiniClusterConfig::new(dir.path());
        config.rm_conf_dir = Some(missing.clone());
        let error = RmConfigurationDirectory::prepare(&mut config)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            error,
            format!("Cannot find configuration directory: {}", missing.display())
        );
    }
}
