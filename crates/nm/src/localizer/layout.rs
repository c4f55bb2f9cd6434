//! The NM's directory layout under each local dir and log dir, named as YARN names it
//! (`ContainerLocalizer.USERCACHE`, `APPCACHE`, `FILECACHE`).

use std::path::{Path, PathBuf};

use spindle_types::{ApplicationId, ContainerId};

pub const USERCACHE: &str = "usercache";
pub const APPCACHE: &str = "appcache";
pub const FILECACHE: &str = "filecache";
/// The NM's own files (`ResourceLocalizationService.NM_PRIVATE_DIR`): pid and exit-code files.
pub const NM_PRIVATE: &str = "nmPrivate";

/// `<local-dir>/filecache`: PUBLIC resources.
pub fn public_file_cache(local_dir: &Path) -> PathBuf {
    local_dir.join(FILECACHE)
}

/// `<local-dir>/usercache/<user>`: one entry of `LOCAL_USER_DIRS`.
pub fn user_dir(local_dir: &Path, user: &str) -> PathBuf {
    local_dir.join(USERCACHE).join(user)
}

/// `<local-dir>/usercache/<user>/filecache`: PRIVATE resources.
pub fn user_file_cache(local_dir: &Path, user: &str) -> PathBuf {
    user_dir(local_dir, user).join(FILECACHE)
}

/// `<local-dir>/usercache/<user>/appcache/<app>`: one entry of `LOCAL_DIRS`.
pub fn application_dir(local_dir: &Path, user: &str, application_id: ApplicationId) -> PathBuf {
    user_dir(local_dir, user)
        .join(APPCACHE)
        .join(application_id.to_string())
}

/// `<local-dir>/usercache/<user>/appcache/<app>/filecache`: APPLICATION resources.
pub fn application_file_cache(
    local_dir: &Path,
    user: &str,
    application_id: ApplicationId,
) -> PathBuf {
    application_dir(local_dir, user, application_id).join(FILECACHE)
}

/// `<local-dir>/usercache/<user>/appcache/<app>/<container>`: the container's work dir (PWD).
pub fn container_work_dir(local_dir: &Path, user: &str, container_id: ContainerId) -> PathBuf {
    application_dir(local_dir, user, container_id.application_id()).join(container_id.to_string())
}

/// `<log-dir>/<app>/<container>`: the container's log dir (`<LOG_DIR>`, one entry of `LOG_DIRS`).
pub fn container_log_dir(log_dir: &Path, container_id: ContainerId) -> PathBuf {
    log_dir
        .join(container_id.application_id().to_string())
        .join(container_id.to_string())
}

/// `<local-dir>/nmPrivate/<app>`: the NM's private files of an application's containers.
pub fn application_private_dir(local_dir: &Path, application_id: ApplicationId) -> PathBuf {
    local_dir.join(NM_PRIVATE).join(application_id.to_string())
}

/// `<local-dir>/nmPrivate/<app>/<container>`: the container's pid and exit-code files and the
/// script that writes them, out of the container's work dir.
pub fn container_private_dir(local_dir: &Path, container_id: ContainerId) -> PathBuf {
    application_private_dir(local_dir, container_id.application_id()).join(container_id.to_string())
}

/// Whether `user` is safe as a directory name under `usercache/` (no `/`, not `.` or `..`).
pub fn is_valid_user_name(user: &str) -> bool {
    !user.is_empty()
        && user != "."
        && user != ".."
        && !user.contains(['/', '\0'])
        && !user.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::ApplicationAttemptId;

    #[test]
    fn paths_follow_yarn_layout() {
        let app = ApplicationId::new(1700000000000, 7);
        let container = ContainerId::new(ApplicationAttemptId::new(app, 1), 0, 2);
        let local = Path::new("/data/nm-local");
        assert_eq!(
            public_file_cache(local),
            Path::new("/data/nm-local/filecache")
        );
        assert_eq!(
            user_file_cache(local, "alice"),
            Path::new("/data/nm-local/usercache/alice/filecache")
        );
        assert_eq!(
            application_file_cache(local, "alice", app),
            Path::new(
                "/data/nm-local/usercache/alice/appcache/application_1700000000000_0007/filecache"
            )
        );
        assert_eq!(
            container_work_dir(local, "alice", container),
            Path::new("/data/nm-local/usercache/alice/appcache/application_1700000000000_0007/container_1700000000000_0007_01_000002")
        );
        assert_eq!(
            container_private_dir(local, container),
            Path::new("/data/nm-local/nmPrivate/application_1700000000000_0007/container_1700000000000_0007_01_000002")
        );
        assert_eq!(
            container_log_dir(Path::new("/logs"), container),
            Path::new(
                "/logs/application_1700000000000_0007/container_1700000000000_0007_01_000002"
            )
        );
    }

    #[test]
    fn user_names_that_would_escape_are_invalid() {
        assert!(is_valid_user_name("alice"));
        assert!(is_valid_user_name("svc.spark-1"));
        for bad in ["", ".", "..", "a/b", "../root", "a\0", "-rf"] {
            assert!(!is_valid_user_name(bad), "{bad:?}");
        }
    }
}
