//! Deleting aggregated logs after `yarn.log-aggregation.retain-seconds` (in YARN the MapReduce
//! JobHistory server does it; Spindle has none, so every NM with aggregation on sweeps the root
//! it writes to). An application directory goes once neither it nor any file in it changed for
//! the retention. Sweeps are idempotent: several NMs sharing a root may delete the same
//! directory; the one that finds it gone counts nothing. Links are never followed.

use std::path::Path;
use std::time::{Duration, SystemTime};

use spindle_types::ApplicationId;

use super::layout;

/// The newest modification of `dir` and the entries directly in it (not following links).
fn newest_change(dir: &Path) -> Option<SystemTime> {
    let mut newest = std::fs::symlink_metadata(dir).ok()?.modified().ok()?;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if let Ok(changed) = entry.metadata().and_then(|m| m.modified()) {
            newest = newest.max(changed);
        }
    }
    Some(newest)
}

/// The real directories directly in `dir` (no links), with their names.
fn subdirectories(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| Some((entry.file_name().to_str()?.to_string(), entry.path())))
        .collect()
}

/// Deletes `<root>/*/bucket-<suffix>-tfile/<NNNN>/<appId>` directories unchanged for `retain`
/// at `now`; returns how many this call deleted.
pub(crate) fn sweep_expired(root: &Path, suffix: &str, retain: Duration, now: SystemTime) -> usize {
    let bucket_root = layout::bucket_root_name(suffix);
    let mut deleted = 0;
    for (_, user_dir) in subdirectories(root) {
        let buckets = user_dir.join(&bucket_root);
        if !std::fs::symlink_metadata(&buckets).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        for (bucket, bucket_dir) in subdirectories(&buckets) {
            if bucket.len() != 4 || !bucket.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            for (name, application_dir) in subdirectories(&bucket_dir) {
                if name.parse::<ApplicationId>().is_err() {
                    continue;
                }
                let Some(newest) = newest_change(&application_dir) else {
                    continue;
                };
                let age = now.duration_since(newest).unwrap_or_default();
                if age < retain {
                    continue;
                }
                match std::fs::remove_dir_all(&application_dir) {
                    Ok(()) => {
                        tracing::info!(
                            "deleted the aggregated logs {} ({} s old, retention {} s)",
                            application_dir.display(),
                            age.as_secs(),
                            retain.as_secs()
                        );
                        deleted += 1;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(
                        "cannot delete the aggregated logs {}: {e}",
                        application_dir.display()
                    ),
                }
            }
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(root: &Path, user: &str, app: ApplicationId) -> std::path::PathBuf {
        let dir = layout::application_dir(root, user, "logs", app);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("host_1"), "logs").unwrap();
        dir
    }

    #[test]
    fn applications_unchanged_for_the_retention_go_and_others_stay() {
        let root = tempfile::tempdir().unwrap();
        let old = make(root.path(), "alice", ApplicationId::new(1, 1));
        let recent = make(root.path(), "bob", ApplicationId::new(1, 2));
        // Not an application directory, and another suffix's bucket: never touched.
        let stranger = root.path().join("alice/bucket-logs-tfile/0001/notes");
        std::fs::create_dir_all(&stranger).unwrap();
        let other_suffix =
            layout::application_dir(root.path(), "alice", "other", ApplicationId::new(1, 3));
        std::fs::create_dir_all(&other_suffix).unwrap();

        let day = Duration::from_secs(86_400);
        // Seen from two days on, with a file in `recent` written a day and a half later.
        let now = SystemTime::now() + 2 * day;
        std::fs::File::options()
            .write(true)
            .open(recent.join("host_1"))
            .unwrap()
            .set_modified(SystemTime::now() + day + day / 2)
            .unwrap();
        assert_eq!(sweep_expired(root.path(), "logs", day, now), 1);
        assert!(!old.exists());
        assert!(recent.exists(), "changed within the retention");
        assert!(stranger.exists() && other_suffix.exists());
        // A second sweep (another NM on a shared root) finds nothing more to do.
        assert_eq!(sweep_expired(root.path(), "logs", day, now), 0);
        assert_eq!(
            sweep_expired(&root.path().join("missing"), "logs", day, now),
            0
        );
    }

    #[test]
    fn a_linked_user_directory_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let target = make(elsewhere.path(), "alice", ApplicationId::new(1, 1));
        std::os::unix::fs::symlink(elsewhere.path().join("alice"), root.path().join("alice"))
            .unwrap();
        let later = SystemTime::now() + Duration::from_secs(100);
        assert_eq!(
            sweep_expired(root.path(), "logs", Duration::from_secs(1), later),
            0
        );
        assert!(target.exists());
    }
}
