//! Where aggregated logs live, in YARN 3.3+'s layout:
//! `<remote-app-log-dir>/<user>/bucket-<suffix>-tfile/<NNNN>/<appId>/<host>_<port>`, NNNN being
//! the application's sequence number modulo 10000, zero-padded to four digits. Writers write
//! `<host>_<port>.tmp` and rename it when complete, so a reader never takes a partial file.

use std::path::{Path, PathBuf};

use spindle_types::ApplicationId;

/// What an upload in progress is called until it is renamed.
pub const IN_PROGRESS_SUFFIX: &str = ".tmp";

/// `bucket-<suffix>-tfile`: the directory under a user's that holds the buckets.
pub fn bucket_root_name(suffix: &str) -> String {
    format!("bucket-{suffix}-tfile")
}

/// The application's bucket: its sequence number modulo 10000, four digits.
pub fn bucket(application: ApplicationId) -> String {
    format!("{:04}", application.id.rem_euclid(10_000))
}

/// `<root>/<user>/bucket-<suffix>-tfile/<NNNN>/<appId>`.
pub fn application_dir(
    root: &Path,
    user: &str,
    suffix: &str,
    application: ApplicationId,
) -> PathBuf {
    root.join(user)
        .join(bucket_root_name(suffix))
        .join(bucket(application))
        .join(application.to_string())
}

/// A node's file name: its NodeId with `:` as `_` (`host_port`).
pub fn node_file_name(host: &str, port: u16) -> String {
    format!("{host}_{port}")
}

/// Whether `user` can name a directory under the root: one plain path component.
pub fn is_valid_user(user: &str) -> bool {
    !user.is_empty() && user != "." && user != ".." && !user.contains(['/', '\\', '\0'])
}

/// Every aggregated directory of `application` under `root`, whoever owns it and whatever the
/// suffix: `<root>/*/bucket-*/<NNNN>/<appId>`, as `yarn logs` looks when the RM does not know the
/// application. Each with its owner, in owner order. Symbolic links are not followed.
pub fn find_application_dirs(root: &Path, application: ApplicationId) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(users) = std::fs::read_dir(root) else {
        return found;
    };
    for user in users.flatten() {
        let Some(user_name) = user.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_real_dir(&user.path()) {
            continue;
        }
        let Ok(buckets) = std::fs::read_dir(user.path()) else {
            continue;
        };
        for bucket_root in buckets.flatten() {
            let is_bucket = bucket_root
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with("bucket-"));
            let dir = bucket_root
                .path()
                .join(bucket(application))
                .join(application.to_string());
            if is_bucket && is_real_dir(&dir) {
                found.push((user_name.clone(), dir));
            }
        }
    }
    found.sort();
    found
}

/// A directory reached without a symbolic link at its last step.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// The complete node files of an application directory (not uploads in progress), by name.
pub fn node_files(application_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(application_dir)?
            .flatten()
            .filter(|entry| {
                entry.file_name().to_str().is_some_and(|name| {
                    !name.ends_with(IN_PROGRESS_SUFFIX) && !name.starts_with('.')
                }) && entry.file_type().is_ok_and(|t| t.is_file())
            })
            .map(|entry| entry.path())
            .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_yarns_bucketed_layout() {
        let app = ApplicationId::new(1_718_000_000_000, 3);
        assert_eq!(
            application_dir(Path::new("/tmp/logs"), "alice", "logs", app),
            Path::new("/tmp/logs/alice/bucket-logs-tfile/0003/application_1718000000000_0003")
        );
        assert_eq!(bucket(ApplicationId::new(1, 12_345)), "2345");
        assert_eq!(bucket(ApplicationId::new(1, 10_000)), "0000");
        assert_eq!(bucket(ApplicationId::new(1, 9_999)), "9999");
        assert_eq!(node_file_name("nm2.example", 45454), "nm2.example_45454");
    }

    #[test]
    fn users_are_one_path_component() {
        for bad in ["", ".", "..", "a/b", "/", "a\0b", "..\\x"] {
            assert!(!is_valid_user(bad), "{bad:?}");
        }
        for good in ["alice", "svc-spark", "user.name", "x..y"] {
            assert!(is_valid_user(good), "{good:?}");
        }
    }

    #[test]
    fn application_dirs_are_found_under_any_user_and_suffix() {
        let root = tempfile::tempdir().unwrap();
        let app = ApplicationId::new(5, 10_007);
        let other = ApplicationId::new(5, 7);
        for (user, suffix, id) in [
            ("bob", "logs", app),
            ("alice", "other", app),
            ("carol", "logs", other),
        ] {
            std::fs::create_dir_all(application_dir(root.path(), user, suffix, id)).unwrap();
        }
        // Not a bucket root: ignored.
        std::fs::create_dir_all(root.path().join("dave/logs/0007").join(app.to_string())).unwrap();
        let found = find_application_dirs(root.path(), app);
        let users: Vec<&str> = found.iter().map(|(user, _)| user.as_str()).collect();
        assert_eq!(users, ["alice", "bob"]);
        assert_eq!(
            found[1].1,
            root.path()
                .join("bob/bucket-logs-tfile/0007")
                .join(app.to_string())
        );
        assert!(find_application_dirs(&root.path().join("missing"), app).is_empty());
    }

    #[test]
    fn uploads_in_progress_are_not_node_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b_2", "a_1", "c_3.tmp"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("d_4")).unwrap();
        let names: Vec<String> = node_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a_1", "b_2"]);
    }
}
