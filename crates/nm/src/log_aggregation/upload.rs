//! One application's upload from this node (blocking; run it off the async workers): every log
//! file of its containers under the NM's log dirs, into
//! `<root>/<owner>/bucket-<suffix>-tfile/<NNNN>/<appId>/<host>_<port>`, written as `.tmp`, synced
//! and renamed. Directories Spindle creates get YARN's modes (the root 1777, the others 0770),
//! the file 0640. Below the root, an existing entry that is not a real directory (a link someone
//! planted in the world-writable root) fails the upload rather than being followed.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, BufWriter};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use spindle_types::{ApplicationId, ContainerId};

use super::format::{AggregatedLogWriter, LogFileSource};
use super::layout;
use super::LogAggregationSettings;
use crate::web::log_files::{ContainerLogDirectory, LogFileError};

/// The root's mode when Spindle creates it: everyone may create their directory, nobody may
/// delete another's (YARN's 1777).
const ROOT_MODE: u32 = 0o1777;
/// User, bucket and application directories.
const DIRECTORY_MODE: u32 = 0o770;
const FILE_MODE: u32 = 0o640;

/// What an upload wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadSummary {
    pub containers: usize,
    pub files: usize,
    pub bytes: u64,
    /// The node file written; None when the application left no logs on this node.
    pub path: Option<PathBuf>,
}

/// Why an upload failed; the text is the diagnostics the RM shows.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UploadError {
    #[error("the application's owner is not known on this node")]
    NoOwner,
    #[error("the application's owner {0:?} cannot name a directory")]
    BadOwner(String),
    #[error("cannot create {}: {source}", path.display())]
    CreateDirectory { path: PathBuf, source: io::Error },
    #[error("{} exists and is not a directory (a symbolic link?): not followed", path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read the logs of {container_id}: {source}")]
    ReadLogs {
        container_id: ContainerId,
        source: LogFileError,
    },
    #[error("the upload stopped: {0}")]
    Task(String),
}

/// One container's log directory found on this node.
struct ContainerLogs {
    container_id: ContainerId,
    directory: ContainerLogDirectory,
}

/// Every container log directory of `application` under `log_dirs`, by container id (the first
/// found when two log dirs hold one).
fn find_containers(log_dirs: &[PathBuf], application: ApplicationId) -> Vec<ContainerLogs> {
    let mut ids: Vec<(ContainerId, &PathBuf)> = Vec::new();
    for log_dir in log_dirs {
        let Ok(entries) = std::fs::read_dir(log_dir.join(application.to_string())) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<ContainerId>().ok())
                .filter(|id| id.application_id() == application)
            {
                ids.push((id, log_dir));
            }
        }
    }
    ids.sort_by_key(|(id, _)| *id);
    ids.dedup_by_key(|(id, _)| *id);
    ids.into_iter()
        .filter_map(|(container_id, log_dir)| {
            // Not a real directory (a link): left out.
            let directory = ContainerLogDirectory::open(log_dir, container_id).ok()?;
            Some(ContainerLogs {
                container_id,
                directory,
            })
        })
        .collect()
}

/// Creates `path` with `mode` unless it exists; an existing entry must be a real directory.
fn ensure_directory(path: &Path, mode: u32) -> Result<(), UploadError> {
    let create_error = |source| UploadError::CreateDirectory {
        path: path.to_path_buf(),
        source,
    };
    match DirBuilder::new().mode(mode).create(path) {
        // The umask may have taken bits away (and the sticky bit needs chmod anyway).
        Ok(()) => {
            std::fs::set_permissions(path, Permissions::from_mode(mode)).map_err(create_error)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            match std::fs::symlink_metadata(path) {
                Ok(metadata) if metadata.is_dir() => Ok(()),
                _ => Err(UploadError::NotADirectory {
                    path: path.to_path_buf(),
                }),
            }
        }
        Err(e) => Err(create_error(e)),
    }
}

/// The application directory, created level by level below the root.
fn prepare_directories(
    settings: &LogAggregationSettings,
    owner: &str,
    application: ApplicationId,
) -> Result<PathBuf, UploadError> {
    let root = &settings.remote_root;
    if !root.is_dir() {
        if let Some(parent) = root.parent() {
            std::fs::create_dir_all(parent).map_err(|source| UploadError::CreateDirectory {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        ensure_directory(root, ROOT_MODE)?;
    }
    let mut directory = root.join(owner);
    ensure_directory(&directory, DIRECTORY_MODE)?;
    for level in [
        layout::bucket_root_name(&settings.suffix),
        layout::bucket(application),
        application.to_string(),
    ] {
        directory.push(level);
        ensure_directory(&directory, DIRECTORY_MODE)?;
    }
    Ok(directory)
}

/// Uploads the logs of `application` from `log_dirs` as `node_file`.
pub(crate) fn upload(
    settings: &LogAggregationSettings,
    node_file: &str,
    application: ApplicationId,
    owner: &str,
    log_dirs: &[PathBuf],
) -> Result<UploadSummary, UploadError> {
    if !layout::is_valid_user(owner) {
        return Err(UploadError::BadOwner(owner.to_string()));
    }
    let containers = find_containers(log_dirs, application);
    let mut summary = UploadSummary {
        containers: containers.len(),
        files: 0,
        bytes: 0,
        path: None,
    };
    if containers.is_empty() {
        return Ok(summary);
    }
    let directory = prepare_directories(settings, owner, application)?;
    let path = directory.join(node_file);
    let temporary = directory.join(format!("{node_file}{}", layout::IN_PROGRESS_SUFFIX));
    let written = write_file(&temporary, owner, &containers, &mut summary).and_then(|()| {
        std::fs::rename(&temporary, &path).map_err(|source| UploadError::Write {
            path: path.clone(),
            source,
        })
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    // The rename is durable once the directory is.
    if let Ok(directory) = File::open(&directory) {
        let _ = directory.sync_all();
    }
    summary.path = Some(path);
    Ok(summary)
}

/// Writes every container's files to `path` and syncs it.
fn write_file(
    path: &Path,
    owner: &str,
    containers: &[ContainerLogs],
    summary: &mut UploadSummary,
) -> Result<(), UploadError> {
    let write_error = |source| UploadError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(write_error)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))
        .map_err(write_error)?;
    let mut writer = AggregatedLogWriter::new(BufWriter::new(file), owner).map_err(write_error)?;
    for container in containers {
        let read_error = |source| UploadError::ReadLogs {
            container_id: container.container_id,
            source,
        };
        let mut sources = Vec::new();
        for listed in container.directory.list().map_err(read_error)? {
            let (file, now) = match container.directory.open_file(&listed.name) {
                Ok(opened) => opened,
                // Gone or replaced since the listing: not a log file to keep.
                Err(LogFileError::NotFound(_) | LogFileError::NotRegular(_)) => continue,
                Err(error) => return Err(read_error(error)),
            };
            summary.files += 1;
            summary.bytes += now.size;
            sources.push(LogFileSource {
                name: listed.name,
                length: now.size,
                content: file,
            });
        }
        writer
            .add_container(container.container_id, sources)
            .map_err(write_error)?;
    }
    let file = writer
        .finish()
        .map_err(write_error)?
        .into_inner()
        .map_err(|e| write_error(e.into_error()))?;
    file.sync_all().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_aggregation::format::AggregatedLogFile;
    use std::os::unix::fs::MetadataExt;

    fn container(application: ApplicationId, sequence: i64) -> ContainerId {
        ContainerId::new(
            spindle_types::ApplicationAttemptId::new(application, 1),
            0,
            sequence,
        )
    }

    fn write_log(log_dir: &Path, id: ContainerId, name: &str, text: &str) {
        let dir = log_dir
            .join(id.application_id().to_string())
            .join(id.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn every_containers_files_land_in_one_node_file() {
        let work = tempfile::tempdir().unwrap();
        let log_dirs = vec![work.path().join("logs-a"), work.path().join("logs-b")];
        let app = ApplicationId::new(1_700_000_000_000, 12_345);
        write_log(&log_dirs[0], container(app, 2), "stdout", "two\n");
        write_log(&log_dirs[1], container(app, 1), "stdout", "one\n");
        write_log(&log_dirs[1], container(app, 1), "stderr", "");
        // Another application's logs, and a link in a log directory: not uploaded.
        write_log(
            &log_dirs[0],
            container(ApplicationId::new(1, 1), 1),
            "stdout",
            "no",
        );
        let secret = work.path().join("secret");
        std::fs::write(&secret, "private").unwrap();
        let container_dir = log_dirs[0]
            .join(app.to_string())
            .join(container(app, 2).to_string());
        std::os::unix::fs::symlink(&secret, container_dir.join("syslog")).unwrap();

        let settings = LogAggregationSettings::enabled_at(work.path().join("remote/logs"));
        let summary = upload(&settings, "node_1", app, "alice", &log_dirs).unwrap();
        assert_eq!(
            (summary.containers, summary.files, summary.bytes),
            (2, 3, 8)
        );
        let path = summary.path.unwrap();
        assert_eq!(
            path,
            work.path()
                .join("remote/logs/alice/bucket-logs-tfile/2345")
                .join(app.to_string())
                .join("node_1")
        );
        let file = AggregatedLogFile::open(&path).unwrap();
        assert_eq!(file.owner(), "alice");
        let listed: Vec<(ContainerId, Vec<&str>)> = file
            .containers()
            .iter()
            .map(|c| {
                (
                    c.container_id,
                    c.files.iter().map(|f| f.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                (container(app, 1), vec!["stderr", "stdout"]),
                (container(app, 2), vec!["stdout"]),
            ]
        );
        let mut text = Vec::new();
        let stdout = &file.containers()[1].files[0];
        file.copy_to(stdout, 0..u64::MAX, &mut text).unwrap();
        assert_eq!(text, b"two\n");

        // YARN's modes, whatever the umask.
        assert_eq!(mode(&work.path().join("remote/logs")), 0o1777);
        for dir in [
            "alice",
            "alice/bucket-logs-tfile",
            "alice/bucket-logs-tfile/2345",
        ] {
            assert_eq!(
                mode(&work.path().join("remote/logs").join(dir)),
                0o770,
                "{dir}"
            );
        }
        assert_eq!(mode(path.parent().unwrap()), 0o770);
        assert_eq!(mode(&path), 0o640);
        assert!(!path.with_file_name("node_1.tmp").exists());
    }

    #[test]
    fn nothing_is_written_for_an_application_without_logs_here() {
        let work = tempfile::tempdir().unwrap();
        let settings = LogAggregationSettings::enabled_at(work.path().join("remote"));
        let summary = upload(
            &settings,
            "node_1",
            ApplicationId::new(1, 1),
            "alice",
            &[work.path().join("logs")],
        )
        .unwrap();
        assert_eq!(summary.path, None);
        assert!(!work.path().join("remote").exists());
    }

    #[test]
    fn owners_and_planted_links_fail_the_upload() {
        let work = tempfile::tempdir().unwrap();
        let log_dirs = vec![work.path().join("logs")];
        let app = ApplicationId::new(1, 2);
        write_log(&log_dirs[0], container(app, 1), "stdout", "x");
        let settings = LogAggregationSettings::enabled_at(work.path().join("remote"));
        for owner in ["..", "a/b", ""] {
            let error = upload(&settings, "n_1", app, owner, &log_dirs).unwrap_err();
            assert!(
                matches!(error, UploadError::BadOwner(_)),
                "{owner}: {error}"
            );
        }
        // Someone made the owner's directory a link to elsewhere in the world-writable root.
        std::fs::create_dir_all(work.path().join("remote")).unwrap();
        std::fs::create_dir_all(work.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(
            work.path().join("elsewhere"),
            work.path().join("remote/bob"),
        )
        .unwrap();
        let error = upload(&settings, "n_1", app, "bob", &log_dirs).unwrap_err();
        assert!(
            matches!(error, UploadError::NotADirectory { .. }),
            "{error}"
        );
        assert!(std::fs::read_dir(work.path().join("elsewhere"))
            .unwrap()
            .next()
            .is_none());
    }
}
