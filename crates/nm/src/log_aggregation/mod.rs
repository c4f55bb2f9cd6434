//! Log aggregation (`yarn.log-aggregation-enable`): when an application ends on this node, its
//! containers' log files are uploaded to `yarn.nodemanager.remote-app-log-dir` in YARN's layout
//! (`layout.rs`), as one file per node in Spindle's aggregated log format (`format.rs`), and the
//! local copies are deleted; the RM hears how each upload went in the next heartbeat. Aggregated
//! logs older than `yarn.log-aggregation.retain-seconds` are deleted by every NM (`retention.rs`).
//!
//! Map: [`LogAggregationSettings`] reads the keys; [`LogAggregator`] runs uploads
//! (`upload.rs`, off the async workers) and keeps the reports not yet sent; `format.rs` and
//! `layout.rs` are public for `spindle logs`, which reads what the NMs wrote.
//!
//! Invariants: a node file appears under its final name only complete (written as `.tmp`,
//! synced, renamed); local logs are deleted only after their upload succeeded (a failed upload
//! leaves them for `yarn.nodemanager.log.retain-seconds`, as without aggregation); an upload reads
//! only regular files directly in a container's log directory, reached without following links.

pub mod format;
pub mod layout;
mod retention;
mod upload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use spindle_conf::{keys, ConfError, Configuration};
use spindle_types::states::LogAggregationStatus;
use spindle_types::ApplicationId;

pub(crate) use retention::sweep_expired;
pub(crate) use upload::{UploadError, UploadSummary};

/// What log aggregation does on this node (YARN's keys and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAggregationSettings {
    /// `yarn.log-aggregation-enable` (false).
    pub enabled: bool,
    /// `yarn.nodemanager.remote-app-log-dir` (`/tmp/logs`), as a local path.
    pub remote_root: PathBuf,
    /// `yarn.nodemanager.remote-app-log-dir-suffix` (`logs`).
    pub suffix: String,
    /// `yarn.log-aggregation.retain-seconds`: None (-1, the default) keeps aggregated logs for
    /// ever.
    pub retain: Option<Duration>,
    /// `yarn.log-aggregation.retain-check-interval-seconds`: how often expired logs are looked
    /// for (-1, the default: a tenth of the retention; at least a second).
    pub retain_check_interval: Duration,
}

/// A log aggregation setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LogAggregationSetupError {
    #[error(transparent)]
    Conf(#[from] ConfError),
    #[error("{key} = {value}: {reason}")]
    Unsupported {
        key: &'static str,
        value: String,
        reason: String,
    },
}

impl Default for LogAggregationSettings {
    /// Off, with YARN's defaults for the rest.
    fn default() -> Self {
        Self {
            enabled: false,
            remote_root: PathBuf::from("/tmp/logs"),
            suffix: "logs".to_string(),
            retain: None,
            retain_check_interval: Duration::from_secs(3600),
        }
    }
}

/// The value of `key`, else its YARN default.
fn value<'a>(conf: &'a Configuration, key: &'static str) -> &'a str {
    conf.get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .or_else(|| keys::default_value(key))
        .unwrap_or_default()
}

/// `yarn.nodemanager.remote-app-log-dir` as a local directory: an absolute path or a `file:`
/// URI. Other file systems (`hdfs://`, `s3a://`, ...) are refused: Spindle writes only to
/// local (or locally mounted) file systems.
pub fn remote_root(conf: &Configuration) -> Result<PathBuf, LogAggregationSetupError> {
    let key = keys::NM_REMOTE_APP_LOG_DIR;
    let value = value(conf, key);
    let unsupported = |reason: String| LogAggregationSetupError::Unsupported {
        key,
        value: value.to_string(),
        reason,
    };
    let path = match value.split_once(':') {
        Some(("file", rest)) => {
            // file:///p, file:/p; file://host/p names another host.
            match rest.strip_prefix("//") {
                Some(after) if after.starts_with('/') => after,
                Some(_) => {
                    return Err(unsupported(
                        "a file:// URI must name a local path (file:///dir)".to_string(),
                    ))
                }
                None => rest,
            }
        }
        Some((scheme, _)) if !scheme.contains('/') => {
            return Err(unsupported(format!(
                "only local directories (a path or a file:// URI) are supported, not {scheme}://"
            )))
        }
        _ => value,
    };
    if !path.starts_with('/') {
        return Err(unsupported(
            "an absolute directory path (or a file:// URI) is needed".to_string(),
        ));
    }
    Ok(PathBuf::from(path))
}

/// `yarn.nodemanager.remote-app-log-dir-suffix`: one path component.
pub fn suffix(conf: &Configuration) -> Result<String, LogAggregationSetupError> {
    let key = keys::NM_REMOTE_APP_LOG_DIR_SUFFIX;
    let suffix = value(conf, key);
    if !layout::is_valid_user(suffix) {
        return Err(LogAggregationSetupError::Unsupported {
            key,
            value: suffix.to_string(),
            reason: "the suffix must be one plain directory name".to_string(),
        });
    }
    Ok(suffix.to_string())
}

impl LogAggregationSettings {
    /// Reads the keys. With aggregation off nothing else is read (nor refused).
    pub fn from_configuration(conf: &Configuration) -> Result<Self, LogAggregationSetupError> {
        let enabled = conf
            .get_bool(keys::LOG_AGGREGATION_ENABLE)?
            .unwrap_or(false);
        if !enabled {
            return Ok(Self::default());
        }
        let retain_seconds = conf
            .get_i64(keys::LOG_AGGREGATION_RETAIN_SECONDS)?
            .unwrap_or(-1);
        let retain = (retain_seconds >= 0).then(|| Duration::from_secs(retain_seconds as u64));
        let interval_seconds = conf
            .get_i64(keys::LOG_AGGREGATION_RETAIN_CHECK_INTERVAL_SECONDS)?
            .unwrap_or(-1);
        Ok(Self {
            enabled,
            remote_root: remote_root(conf)?,
            suffix: suffix(conf)?,
            retain,
            retain_check_interval: check_interval(retain, interval_seconds),
        })
    }

    /// Aggregation on, writing under `remote_root`, with YARN's defaults otherwise.
    pub fn enabled_at(remote_root: impl Into<PathBuf>) -> Self {
        Self {
            enabled: true,
            remote_root: remote_root.into(),
            ..Self::default()
        }
    }

    /// `<root>/<user>/bucket-<suffix>-tfile/<NNNN>/<appId>`.
    pub fn application_dir(&self, user: &str, application: ApplicationId) -> PathBuf {
        layout::application_dir(&self.remote_root, user, &self.suffix, application)
    }
}

/// How often expired logs are looked for: the configured interval when positive, else a tenth
/// of the retention; never more often than once a second.
fn check_interval(retain: Option<Duration>, interval_seconds: i64) -> Duration {
    let interval = if interval_seconds > 0 {
        Duration::from_secs(interval_seconds as u64)
    } else {
        retain.map_or(Duration::from_secs(3600), |r| r / 10)
    };
    interval.max(Duration::from_secs(1))
}

/// How one application's upload from this node stands, as the RM hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAggregationReport {
    pub application_id: ApplicationId,
    /// RUNNING, SUCCEEDED or FAILED.
    pub status: LogAggregationStatus,
    pub diagnostics: String,
}

/// Runs this node's uploads and keeps the reports the RM has not had yet (one per application,
/// the newest).
pub(crate) struct LogAggregator {
    settings: LogAggregationSettings,
    /// `<host>_<port>`: this node's file in each application directory.
    node_file: String,
    pending: Mutex<BTreeMap<ApplicationId, LogAggregationReport>>,
}

impl LogAggregator {
    pub fn new(settings: LogAggregationSettings, host: &str, port: u16) -> Self {
        Self {
            settings,
            node_file: layout::node_file_name(host, port),
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<ApplicationId, LogAggregationReport>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn report(
        &self,
        application_id: ApplicationId,
        status: LogAggregationStatus,
        diagnostics: String,
    ) {
        self.pending().insert(
            application_id,
            LogAggregationReport {
                application_id,
                status,
                diagnostics,
            },
        );
    }

    /// Uploads the logs under `log_dirs` (the NM's log dirs) of `application`, owned by `owner`,
    /// off the async workers; reports RUNNING, then SUCCEEDED or FAILED with the reason.
    pub async fn aggregate(
        &self,
        application: ApplicationId,
        owner: Option<String>,
        log_dirs: Vec<PathBuf>,
    ) -> Result<UploadSummary, UploadError> {
        self.report(application, LogAggregationStatus::Running, String::new());
        let settings = self.settings.clone();
        let node_file = self.node_file.clone();
        let outcome = match owner {
            None => Err(UploadError::NoOwner),
            Some(owner) => tokio::task::spawn_blocking(move || {
                upload::upload(&settings, &node_file, application, &owner, &log_dirs)
            })
            .await
            .unwrap_or_else(|e| Err(UploadError::Task(e.to_string()))),
        };
        match &outcome {
            Ok(summary) => self.report(
                application,
                LogAggregationStatus::Succeeded,
                format!(
                    "{} log files of {} containers ({} bytes) uploaded",
                    summary.files, summary.containers, summary.bytes
                ),
            ),
            Err(error) => self.report(application, LogAggregationStatus::Failed, error.to_string()),
        }
        outcome
    }

    /// The reports not sent yet, oldest application first; they are no longer pending.
    pub fn take_reports(&self) -> Vec<LogAggregationReport> {
        std::mem::take(&mut *self.pending()).into_values().collect()
    }

    /// Puts back reports whose sending failed, unless a newer report of the same application
    /// came meanwhile.
    pub fn restore_reports(&self, reports: Vec<LogAggregationReport>) {
        let mut pending = self.pending();
        for report in reports {
            pending.entry(report.application_id).or_insert(report);
        }
    }

    /// Deletes aggregated application directories older than the retention, off the async
    /// workers; how many it deleted (0 when logs are kept for ever).
    pub async fn sweep_expired(&self) -> usize {
        let Some(retain) = self.settings.retain else {
            return 0;
        };
        let root = self.settings.remote_root.clone();
        let suffix = self.settings.suffix.clone();
        tokio::task::spawn_blocking(move || {
            sweep_expired(&root, &suffix, retain, std::time::SystemTime::now())
        })
        .await
        .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        let mut conf = Configuration::with_yarn_defaults().unwrap();
        for (key, value) in pairs {
            conf.set(key, value).unwrap();
        }
        conf
    }

    #[test]
    fn off_by_default_and_then_nothing_else_is_read() {
        let settings = LogAggregationSettings::from_configuration(&conf(&[(
            keys::NM_REMOTE_APP_LOG_DIR,
            "hdfs://nn/logs",
        )]))
        .unwrap();
        assert_eq!(settings, LogAggregationSettings::default());
        assert!(!settings.enabled);
    }

    #[test]
    fn yarns_defaults_when_on() {
        let settings = LogAggregationSettings::from_configuration(&conf(&[(
            keys::LOG_AGGREGATION_ENABLE,
            "true",
        )]))
        .unwrap();
        assert_eq!(
            settings,
            LogAggregationSettings {
                enabled: true,
                remote_root: "/tmp/logs".into(),
                suffix: "logs".into(),
                retain: None,
                retain_check_interval: Duration::from_secs(3600),
            }
        );
    }

    #[test]
    fn retention_and_its_check_interval() {
        let on = (keys::LOG_AGGREGATION_ENABLE, "true");
        let read = |pairs: &[(&str, &str)]| {
            let mut all = vec![on];
            all.extend_from_slice(pairs);
            LogAggregationSettings::from_configuration(&conf(&all)).unwrap()
        };
        let settings = read(&[(keys::LOG_AGGREGATION_RETAIN_SECONDS, "86400")]);
        assert_eq!(settings.retain, Some(Duration::from_secs(86_400)));
        assert_eq!(settings.retain_check_interval, Duration::from_secs(8_640));
        let settings = read(&[
            (keys::LOG_AGGREGATION_RETAIN_SECONDS, "5"),
            (keys::LOG_AGGREGATION_RETAIN_CHECK_INTERVAL_SECONDS, "-1"),
        ]);
        assert_eq!(settings.retain_check_interval, Duration::from_secs(1));
        let settings = read(&[
            (keys::LOG_AGGREGATION_RETAIN_SECONDS, "600"),
            (keys::LOG_AGGREGATION_RETAIN_CHECK_INTERVAL_SECONDS, "7"),
        ]);
        assert_eq!(settings.retain_check_interval, Duration::from_secs(7));
        let error = LogAggregationSettings::from_configuration(&conf(&[
            on,
            (keys::LOG_AGGREGATION_RETAIN_SECONDS, "a day"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(keys::LOG_AGGREGATION_RETAIN_SECONDS),
            "{error}"
        );
    }

    #[test]
    fn the_remote_dir_is_a_local_path_or_a_file_uri() {
        let root = |value: &str| remote_root(&conf(&[(keys::NM_REMOTE_APP_LOG_DIR, value)]));
        assert_eq!(root("/var/log/agg").unwrap(), Path::new("/var/log/agg"));
        assert_eq!(
            root("file:///var/log/agg").unwrap(),
            Path::new("/var/log/agg")
        );
        assert_eq!(
            root("file:/var/log/agg").unwrap(),
            Path::new("/var/log/agg")
        );
        for (bad, says) in [
            ("hdfs://nn:8020/logs", "not hdfs://"),
            ("s3a://bucket/logs", "not s3a://"),
            ("file://otherhost/logs", "local path"),
            ("relative/logs", "absolute"),
        ] {
            let error = root(bad).unwrap_err().to_string();
            assert!(
                error.contains(keys::NM_REMOTE_APP_LOG_DIR) && error.contains(says),
                "{bad}: {error}"
            );
        }
        let error = LogAggregationSettings::from_configuration(&conf(&[
            (keys::LOG_AGGREGATION_ENABLE, "true"),
            (keys::NM_REMOTE_APP_LOG_DIR, "hdfs://nn/logs"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(error.contains("not hdfs://"), "{error}");
        let error = suffix(&conf(&[(keys::NM_REMOTE_APP_LOG_DIR_SUFFIX, "a/b")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("one plain directory name"), "{error}");
    }

    #[test]
    fn newer_reports_win_over_restored_ones() {
        let aggregator = LogAggregator::new(LogAggregationSettings::default(), "h", 1);
        let app = ApplicationId::new(1, 1);
        aggregator.report(app, LogAggregationStatus::Running, String::new());
        let sent = aggregator.take_reports();
        assert_eq!(sent.len(), 1);
        assert!(aggregator.take_reports().is_empty(), "taken once");
        aggregator.report(app, LogAggregationStatus::Succeeded, "done".into());
        aggregator.restore_reports(sent);
        let pending = aggregator.take_reports();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].status, LogAggregationStatus::Succeeded);
        // A failed heartbeat puts its reports back.
        aggregator.restore_reports(pending.clone());
        assert_eq!(aggregator.take_reports(), pending);
    }
}
