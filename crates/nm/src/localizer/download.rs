//! Localizing one resource into a fresh cache directory, as YARN's `FSDownload` does: check the
//! source against the request, copy or unpack into `<n>_tmp`, fix permissions, rename to `<n>`.
//!
//! Blocking code: callers run it on tokio's blocking pool.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::LocalizationError;
use super::resource::{
    modification_time_millis, LocalResource, LocalResourceType, LocalResourceVisibility,
};
use super::unpack::{unpack_archive, ArchiveFormat};

/// Directory depth at which copying a directory source gives up (guards against link loops).
const MAX_COPY_DEPTH: usize = 64;

/// Where a resource ended up and how many bytes were written for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedResource {
    /// `<cache root>/<n>/<source file name>`: a file, or a directory for unpacked archives.
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// Localizes `resource` (read from `source`) into `destination` = `<cache root>/<n>`, which must
/// not exist yet. On failure nothing is left behind.
pub(crate) fn localize_into(
    source: &Path,
    resource: &LocalResource,
    destination: &Path,
) -> Result<LocalizedResource, LocalizationError> {
    let url = format!("file:{}", source.display());
    let io_error = |error: io::Error| LocalizationError::Io {
        url: url.clone(),
        source: Arc::new(error),
    };
    let metadata = match fs::metadata(source) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(LocalizationError::SourceNotFound { url });
        }
        Err(error) => return Err(io_error(error)),
    };
    let actual_timestamp = modification_time_millis(&metadata);
    if actual_timestamp != resource.timestamp {
        return Err(LocalizationError::TimestampChanged {
            url,
            expected: resource.timestamp,
            actual: actual_timestamp,
        });
    }
    if metadata.is_file() && resource.size > 0 && metadata.len() as i64 != resource.size {
        return Err(LocalizationError::SizeChanged {
            url,
            expected: resource.size,
            actual: metadata.len() as i64,
        });
    }
    if resource.visibility == LocalResourceVisibility::Public
        && !is_publicly_accessible(source).map_err(io_error)?
    {
        return Err(LocalizationError::NotPubliclyAccessible { url });
    }
    let file_name = source
        .file_name()
        .ok_or_else(|| LocalizationError::InvalidUrl {
            url: url.clone(),
            reason: "the path has no file name".to_string(),
        })?;

    let mut work_dir = destination.as_os_str().to_os_string();
    work_dir.push("_tmp");
    let work_dir = PathBuf::from(work_dir);
    let result = (|| {
        if work_dir.exists() {
            remove_tree(&work_dir).map_err(io_error)?;
        }
        fs::create_dir_all(&work_dir).map_err(io_error)?;
        let work_path = work_dir.join(file_name);
        let archive_format = match resource.resource_type {
            LocalResourceType::File => None,
            LocalResourceType::Archive | LocalResourceType::Pattern => {
                ArchiveFormat::from_file_name(&file_name.to_string_lossy())
                    .filter(|_| metadata.is_file())
            }
        };
        let size_bytes = match archive_format {
            Some(format) => unpack_archive(source, format, &work_path).map_err(|error| {
                LocalizationError::Unpack {
                    archive: source.to_path_buf(),
                    source: error,
                }
            })?,
            None => {
                if resource.resource_type != LocalResourceType::File && metadata.is_file() {
                    tracing::warn!(
                        "Cannot unpack {url}: unknown archive type, copying it as a file"
                    );
                }
                copy_recursively(source, &work_path, 0).map_err(io_error)?
            }
        };
        set_cache_permissions(&work_path, resource.visibility).map_err(io_error)?;
        fs::rename(&work_dir, destination).map_err(io_error)?;
        Ok(LocalizedResource {
            path: destination.join(file_name),
            size_bytes,
        })
    })();
    if result.is_err() {
        let _ = remove_tree(&work_dir);
    }
    result
}

/// YARN's public-cache rule: the source is world-readable (directories also world-executable,
/// recursively) and every ancestor directory is world-executable.
fn is_publicly_accessible(source: &Path) -> io::Result<bool> {
    for ancestor in source.ancestors().skip(1) {
        if fs::metadata(ancestor)?.permissions().mode() & 0o001 == 0 {
            return Ok(false);
        }
    }
    tree_is_world_readable(source, 0)
}

fn tree_is_world_readable(path: &Path, depth: usize) -> io::Result<bool> {
    let metadata = fs::metadata(path)?;
    let mode = metadata.permissions().mode();
    if !metadata.is_dir() {
        return Ok(mode & 0o004 != 0);
    }
    if mode & 0o005 != 0o005 || depth > MAX_COPY_DEPTH {
        return Ok(false);
    }
    for entry in fs::read_dir(path)? {
        if !tree_is_world_readable(&entry?.path(), depth + 1)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Copies a file, or a directory tree following links, returning the bytes copied.
fn copy_recursively(source: &Path, destination: &Path, depth: usize) -> io::Result<u64> {
    if depth > MAX_COPY_DEPTH {
        return Err(io::Error::other(format!(
            "directory tree too deep at {}",
            source.display()
        )));
    }
    let metadata = fs::metadata(source)?;
    if metadata.is_dir() {
        fs::create_dir(destination)?;
        let mut total = 0;
        for entry in fs::read_dir(source)? {
            let entry = entry?;
            total += copy_recursively(
                &entry.path(),
                &destination.join(entry.file_name()),
                depth + 1,
            )?;
        }
        Ok(total)
    } else if metadata.is_file() {
        fs::copy(source, destination)
    } else {
        Ok(0) // sockets, FIFOs and devices are not copied
    }
}

/// `FSDownload.changePermissions`: files 0555 (PUBLIC) or 0500, directories 0755 or 0700;
/// links are left alone.
fn set_cache_permissions(path: &Path, visibility: LocalResourceVisibility) -> io::Result<()> {
    let (file_mode, directory_mode) = match visibility {
        LocalResourceVisibility::Public => (0o555, 0o755),
        LocalResourceVisibility::Private | LocalResourceVisibility::Application => (0o500, 0o700),
    };
    let metadata = fs::symlink_metadata(path)?;
    if metadata.file_type().is_symlink() {
        return Ok(());
    }
    if metadata.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode(directory_mode))?;
        for entry in fs::read_dir(path)? {
            set_cache_permissions(&entry?.path(), visibility)?;
        }
        Ok(())
    } else {
        fs::set_permissions(path, fs::Permissions::from_mode(file_mode))
    }
}

/// Removes a directory tree even where the container or the cache made directories read-only.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_directories_writable(path);
            fs::remove_dir_all(path)
        }
    }
}

fn make_directories_writable(path: &Path) {
    let Ok(metadata) = fs::symlink_metadata(path) else {
        return;
    };
    if metadata.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                make_directories_writable(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localizer::resource::ResourceUrl;

    fn request(
        path: &Path,
        resource_type: LocalResourceType,
        visibility: LocalResourceVisibility,
    ) -> LocalResource {
        LocalResource::from_local_path(path, resource_type, visibility).unwrap()
    }

    #[test]
    fn file_is_copied_read_only_and_directories_recursively() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("job.conf");
        fs::write(&source, b"k=v").unwrap();
        let file = request(
            &source,
            LocalResourceType::File,
            LocalResourceVisibility::Private,
        );
        let localized = localize_into(&source, &file, &temp.path().join("cache/10")).unwrap();
        assert_eq!(localized.path, temp.path().join("cache/10/job.conf"));
        assert_eq!(fs::read(&localized.path).unwrap(), b"k=v");
        assert_eq!(
            fs::metadata(&localized.path).unwrap().permissions().mode() & 0o777,
            0o500
        );
        assert!(!temp.path().join("cache/10_tmp").exists());

        let tree = temp.path().join("tree");
        fs::create_dir_all(tree.join("sub")).unwrap();
        fs::write(tree.join("sub/a"), b"aa").unwrap();
        let directory = request(
            &tree,
            LocalResourceType::File,
            LocalResourceVisibility::Application,
        );
        let localized = localize_into(&tree, &directory, &temp.path().join("cache/11")).unwrap();
        assert_eq!(fs::read(localized.path.join("sub/a")).unwrap(), b"aa");
        assert_eq!(localized.size_bytes, 2);
    }

    #[test]
    fn changed_or_missing_sources_are_rejected_like_yarn() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("app.jar");
        fs::write(&source, b"jar").unwrap();
        let mut stale = request(
            &source,
            LocalResourceType::File,
            LocalResourceVisibility::Private,
        );
        stale.timestamp -= 1000;
        let error = localize_into(&source, &stale, &temp.path().join("c/1")).unwrap_err();
        let expected = format!(
            "Resource file:{} changed on src filesystem (expected {}, was {})",
            source.display(),
            stale.timestamp,
            stale.timestamp + 1000
        );
        assert_eq!(error.to_string(), expected);
        assert!(!temp.path().join("c/1").exists() && !temp.path().join("c/1_tmp").exists());

        let mut resized = request(
            &source,
            LocalResourceType::File,
            LocalResourceVisibility::Private,
        );
        resized.size = 99;
        assert!(matches!(
            localize_into(&source, &resized, &temp.path().join("c/2")),
            Err(LocalizationError::SizeChanged { .. })
        ));

        let mut missing = stale.clone();
        missing.url = ResourceUrl::local_file(temp.path().join("gone.jar"));
        let error = localize_into(
            &temp.path().join("gone.jar"),
            &missing,
            &temp.path().join("c/3"),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "File file:{}/gone.jar does not exist",
                temp.path().display()
            )
        );
    }

    #[test]
    fn public_resources_must_be_world_readable() {
        let temp = tempfile::tempdir().unwrap();
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let source = temp.path().join("lib.jar");
        fs::write(&source, b"x").unwrap();
        fs::set_permissions(&source, fs::Permissions::from_mode(0o600)).unwrap();
        let public = request(
            &source,
            LocalResourceType::File,
            LocalResourceVisibility::Public,
        );
        let error = localize_into(&source, &public, &temp.path().join("c/1")).unwrap_err();
        assert!(
            error.to_string().ends_with(
                "is not publicly accessible and as such cannot be part of the public cache."
            ),
            "{error}"
        );
        fs::set_permissions(&source, fs::Permissions::from_mode(0o644)).unwrap();
        let localized = localize_into(&source, &public, &temp.path().join("c/2")).unwrap();
        assert_eq!(
            fs::metadata(&localized.path).unwrap().permissions().mode() & 0o777,
            0o555
        );
    }

    #[test]
    fn archive_with_unknown_extension_is_copied_as_a_file() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("data.bin");
        fs::write(&source, b"raw").unwrap();
        let archive = request(
            &source,
            LocalResourceType::Archive,
            LocalResourceVisibility::Private,
        );
        let localized = localize_into(&source, &archive, &temp.path().join("c/1")).unwrap();
        assert_eq!(fs::read(&localized.path).unwrap(), b"raw");
    }

    #[test]
    fn read_only_trees_are_removed() {
        let temp = tempfile::tempdir().unwrap();
        let tree = temp.path().join("t");
        fs::create_dir_all(tree.join("locked/inner")).unwrap();
        fs::write(tree.join("locked/inner/f"), b"x").unwrap();
        fs::set_permissions(tree.join("locked/inner"), fs::Permissions::from_mode(0o500)).unwrap();
        fs::set_permissions(tree.join("locked"), fs::Permissions::from_mode(0o500)).unwrap();
        remove_tree(&tree).unwrap();
        assert!(!tree.exists());
        remove_tree(&tree).unwrap();
    }
}
