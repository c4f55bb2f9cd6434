//! RmConfig and NmConfig: YARN's defaults, overrides, and validation errors naming the keys.

use std::path::PathBuf;
use std::time::Duration;

use spindle_conf::{
    keys, AuthenticationMethod, ConfError, Configuration, HostPort, NmConfig, RmAddress, RmConfig,
};
use spindle_types::Resource;

fn configuration(pairs: &[(&str, &str)]) -> Configuration {
    let mut configuration = Configuration::new();
    // NmConfig's default log dir needs yarn.log.dir, which the yarn scripts pass as a system property.
    configuration
        .set_system_property("yarn.log.dir", "/var/log/yarn")
        .unwrap();
    configuration
        .set_system_property("user.name", "tester")
        .unwrap();
    for (key, value) in pairs {
        configuration.set(key, value).unwrap();
    }
    configuration
}

#[test]
fn rm_defaults_are_yarns() {
    let rm = RmConfig::from_configuration(&configuration(&[])).unwrap();
    assert_eq!(rm.hostname, "0.0.0.0");
    assert_eq!(rm.client_address, HostPort::new("0.0.0.0", 8032));
    assert_eq!(rm.scheduler_address, HostPort::new("0.0.0.0", 8030));
    assert_eq!(rm.resource_tracker_address, HostPort::new("0.0.0.0", 8031));
    assert_eq!(rm.admin_address, HostPort::new("0.0.0.0", 8033));
    assert_eq!(rm.webapp_address, HostPort::new("0.0.0.0", 8088));
    assert_eq!(rm.cluster_id, None);
    assert_eq!(
        rm.nodemanager_heartbeat_interval,
        Duration::from_millis(1000)
    );
    assert_eq!(
        rm.nodemanager_expiry_interval,
        Duration::from_millis(600_000)
    );
    assert_eq!(
        rm.application_master_expiry_interval,
        Duration::from_millis(900_000)
    );
    assert_eq!(rm.application_master_max_attempts, 2);
    assert_eq!(rm.minimum_allocation, Resource::new(1024, 1));
    assert_eq!(rm.maximum_allocation, Resource::new(8192, 4));
    assert_eq!(rm.max_completed_applications, 1000);
    assert!(!rm.acl_enable);
    assert_eq!(rm.admin_acl, "*");
    assert_eq!(rm.authentication, AuthenticationMethod::Simple);
    assert_eq!(rm.default_fs, "file:///");
    assert!(rm.scheduler_class.ends_with("CapacityScheduler"));
}

#[test]
fn rm_reads_overrides() {
    let rm = RmConfig::from_configuration(&configuration(&[
        ("yarn.resourcemanager.hostname", "127.0.0.1"),
        ("yarn.resourcemanager.scheduler.address", "127.0.0.1:18030"),
        ("yarn.resourcemanager.am.max-attempts", "1"),
        ("yarn.am.liveness-monitor.expiry-interval-ms", "60s"),
        ("yarn.resourcemanager.cluster-id", "spindle-test"),
        ("yarn.scheduler.maximum-allocation-mb", "16384"),
    ]))
    .unwrap();
    assert_eq!(rm.client_address, HostPort::new("127.0.0.1", 8032));
    assert_eq!(rm.scheduler_address, HostPort::new("127.0.0.1", 18030));
    assert_eq!(rm.application_master_max_attempts, 1);
    assert_eq!(
        rm.application_master_expiry_interval,
        Duration::from_secs(60)
    );
    assert_eq!(rm.cluster_id.as_deref(), Some("spindle-test"));
    assert_eq!(rm.maximum_allocation.memory_mb, 16384);
}

fn rm_error(pairs: &[(&str, &str)]) -> String {
    RmConfig::from_configuration(&configuration(pairs))
        .unwrap_err()
        .to_string()
}

#[test]
fn rm_validation_errors_name_the_keys() {
    assert_eq!(
        rm_error(&[("yarn.scheduler.minimum-allocation-mb", "4096"), ("yarn.scheduler.maximum-allocation-mb", "2048")]),
        "yarn.scheduler.minimum-allocation-mb (4096) must not be greater than yarn.scheduler.maximum-allocation-mb (2048)"
    );
    assert_eq!(
        rm_error(&[("yarn.scheduler.minimum-allocation-vcores", "8")]),
        "yarn.scheduler.minimum-allocation-vcores (8) must not be greater than yarn.scheduler.maximum-allocation-vcores (4)"
    );
    assert_eq!(
        rm_error(&[("yarn.resourcemanager.am.max-attempts", "0")]),
        "invalid value '0' for yarn.resourcemanager.am.max-attempts: expected a positive integer"
    );
    assert!(rm_error(&[("yarn.resourcemanager.am.max-attempts", "-3")]).contains("'-3'"));
    assert!(rm_error(&[("yarn.resourcemanager.am.max-attempts", "two")])
        .contains("expected an integer"));
    assert!(rm_error(&[("yarn.scheduler.minimum-allocation-mb", "-1")]).contains("non-negative"));
    assert!(
        rm_error(&[("yarn.scheduler.maximum-allocation-vcores", "0")])
            .contains("maximum-allocation-vcores")
    );
    assert_eq!(
        rm_error(&[("yarn.resourcemanager.nodemanagers.heartbeat-interval-ms", "20m")]),
        "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms (1200000) must not be greater than yarn.nm.liveness-monitor.expiry-interval-ms (600000)"
    );
    assert!(rm_error(&[(
        "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
        "0"
    )])
    .contains("positive"));
    assert!(rm_error(&[("yarn.resourcemanager.address", "no-port")])
        .contains("yarn.resourcemanager.address"));
    assert!(rm_error(&[("yarn.acl.enable", "maybe")]).contains("yarn.acl.enable"));
    assert_eq!(
        rm_error(&[("hadoop.security.authentication", "ldap")]),
        "invalid value 'ldap' for hadoop.security.authentication: expected simple or kerberos"
    );
}

#[test]
fn nm_defaults_are_yarns() {
    let nm = NmConfig::from_configuration(&configuration(&[])).unwrap();
    assert_eq!(nm.hostname, "0.0.0.0");
    assert_eq!(nm.address, HostPort::new("0.0.0.0", 0));
    assert_eq!(nm.localizer_address, HostPort::new("0.0.0.0", 8040));
    assert_eq!(nm.webapp_address, HostPort::new("0.0.0.0", 8042));
    assert_eq!(nm.resource_tracker_address, HostPort::new("0.0.0.0", 8031));
    assert_eq!(nm.resource, Resource::new(8192, 8));
    assert_eq!(
        nm.local_dirs,
        vec![PathBuf::from("/tmp/hadoop-tester/nm-local-dir")]
    );
    assert_eq!(nm.log_dirs, vec![PathBuf::from("/var/log/yarn/userlogs")]);
    assert_eq!(
        nm.env_whitelist.first().map(String::as_str),
        Some("JAVA_HOME")
    );
    assert!(nm.env_whitelist.contains(&"PATH".to_string()));
    assert_eq!(nm.sleep_delay_before_sigkill, Duration::from_millis(250));
    assert_eq!(nm.container_monitor_interval, Duration::from_millis(3000));
    assert!(nm.pmem_check_enabled && nm.vmem_check_enabled);
    assert_eq!(nm.vmem_pmem_ratio, 2.1);
    assert_eq!(nm.delete_debug_delay, Duration::ZERO);
    assert!(nm.aux_services.is_empty());
    assert_eq!(nm.heartbeat_interval, Duration::from_secs(1));
}

#[test]
fn nm_reads_overrides() {
    let nm = NmConfig::from_configuration(&configuration(&[
        ("yarn.nodemanager.hostname", "127.0.0.1"),
        ("yarn.resourcemanager.hostname", "rm.local"),
        ("yarn.nodemanager.resource.memory-mb", "2048"),
        ("yarn.nodemanager.resource.cpu-vcores", "2"),
        (
            "yarn.nodemanager.local-dirs",
            "/data/1/yarn, file:///data/2/yarn",
        ),
        ("yarn.nodemanager.log-dirs", "/logs"),
        ("yarn.nodemanager.container-monitor.interval-ms", "1s"),
        ("yarn.nodemanager.vmem-check-enabled", "false"),
    ]))
    .unwrap();
    assert_eq!(nm.address, HostPort::new("127.0.0.1", 0));
    assert_eq!(nm.resource_tracker_address, HostPort::new("rm.local", 8031));
    assert_eq!(nm.resource, Resource::new(2048, 2));
    assert_eq!(
        nm.local_dirs,
        vec![PathBuf::from("/data/1/yarn"), PathBuf::from("/data/2/yarn")]
    );
    assert_eq!(nm.container_monitor_interval, Duration::from_secs(1));
    assert!(!nm.vmem_check_enabled);
}

#[test]
fn nm_lists_every_rm_tracker_in_ha() {
    let nm = NmConfig::from_configuration(&configuration(&[(
        "yarn.resourcemanager.hostname",
        "rm.local",
    )]))
    .unwrap();
    assert_eq!(
        nm.resource_trackers,
        [RmAddress {
            rm_id: None,
            address: HostPort::new("rm.local", 8031)
        }]
    );
    let nm = NmConfig::from_configuration(&configuration(&[
        ("yarn.resourcemanager.ha.enabled", "true"),
        ("yarn.resourcemanager.ha.rm-ids", "rm1,rm2"),
        ("yarn.resourcemanager.hostname.rm1", "rm1.local"),
        (
            "yarn.resourcemanager.resource-tracker.address.rm2",
            "rm2.local:9031",
        ),
    ]))
    .unwrap();
    let trackers: Vec<String> = nm.resource_trackers.iter().map(|a| a.to_string()).collect();
    assert_eq!(trackers, ["rm1 (rm1.local:8031)", "rm2 (rm2.local:9031)"]);
    let error = nm_error(&[
        ("yarn.resourcemanager.ha.enabled", "true"),
        ("yarn.resourcemanager.ha.rm-ids", "rm1,rm2"),
        ("yarn.resourcemanager.hostname.rm1", "rm1.local"),
    ]);
    assert!(
        error.contains("yarn.resourcemanager.resource-tracker.address.rm2"),
        "{error}"
    );
}

fn nm_error(pairs: &[(&str, &str)]) -> String {
    NmConfig::from_configuration(&configuration(pairs))
        .unwrap_err()
        .to_string()
}

#[test]
fn nm_validation_errors_name_the_keys() {
    assert_eq!(
        nm_error(&[("yarn.nodemanager.resource.memory-mb", "abc")]),
        "invalid value 'abc' for yarn.nodemanager.resource.memory-mb: expected an integer"
    );
    assert!(
        nm_error(&[("yarn.nodemanager.resource.memory-mb", "0")]).contains("-1 for the default")
    );
    assert!(nm_error(&[("yarn.nodemanager.resource.cpu-vcores", "-2")]).contains("cpu-vcores"));
    assert!(nm_error(&[("yarn.nodemanager.local-dirs", "relative/dir")]).contains("absolute"));
    assert!(
        nm_error(&[("yarn.nodemanager.local-dirs", "hdfs://nn/dir")])
            .contains("yarn.nodemanager.local-dirs")
    );
    assert!(nm_error(&[("yarn.nodemanager.local-dirs", " , ")]).contains("at least one directory"));
    assert!(nm_error(&[("yarn.nodemanager.vmem-pmem-ratio", "0.5")]).contains("at least 1.0"));
    assert!(
        nm_error(&[("yarn.nodemanager.sleep-delay-before-sigkill.ms", "soon")]).contains("sigkill")
    );
}

#[test]
fn nm_log_dirs_without_yarn_log_dir_explain_what_to_set() {
    let mut configuration =
        Configuration::with_environment(spindle_conf::Environment::Fixed(Default::default()));
    configuration
        .set_system_property("user.name", "tester")
        .unwrap();
    let error = NmConfig::from_configuration(&configuration).unwrap_err();
    assert!(
        matches!(&error, ConfError::InvalidValue { key, .. } if key == keys::NM_LOG_DIRS),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("${yarn.log.dir} is not set: set yarn.nodemanager.log-dirs or YARN_LOG_DIR"),
        "{error}"
    );
}

#[test]
fn hand_built_configs_can_be_validated() {
    let mut rm = RmConfig::from_configuration(&configuration(&[])).unwrap();
    rm.minimum_allocation = Resource::new(9000, 1);
    assert!(matches!(rm.validate(), Err(ConfError::OutOfOrder { .. })));
    let mut nm = NmConfig::from_configuration(&configuration(&[])).unwrap();
    nm.log_dirs.clear();
    assert!(nm
        .validate()
        .unwrap_err()
        .to_string()
        .contains(keys::NM_LOG_DIRS));
}
