//! Unpacking ARCHIVE resources: zip and jar with the `zip` crate, tar, tar.gz and tgz with `tar`
//! and `flate2`, every entry placed through `UnpackTarget`'s escape checks.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::archive_paths::{sanitize_entry_name, UnpackTarget};
use super::error::UnpackError;

/// How an archive is read, chosen like YARN's `FSDownload.unpack` by the lower-cased file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArchiveFormat {
    /// `.zip` and `.jar`.
    Zip,
    /// `.tar`.
    Tar,
    /// `.tar.gz` and `.tgz`.
    TarGz,
}

impl ArchiveFormat {
    pub(crate) fn from_file_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".zip") || name.ends_with(".jar") {
            Some(Self::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if name.ends_with(".tar") {
            Some(Self::Tar)
        } else {
            None
        }
    }
}

/// Unpacks `archive` into the directory `destination` (created if missing); returns the number of
/// file bytes written. On error the caller removes the partly unpacked directory.
pub(crate) fn unpack_archive(
    archive: &Path,
    format: ArchiveFormat,
    destination: &Path,
) -> Result<u64, UnpackError> {
    let target = UnpackTarget::create(destination)
        .map_err(|error| UnpackError::io(destination.display().to_string(), error))?;
    let file = File::open(archive)
        .map_err(|error| UnpackError::io(archive.display().to_string(), error))?;
    let written = match format {
        ArchiveFormat::Zip => unpack_zip(BufReader::new(file), &target)?,
        ArchiveFormat::Tar => unpack_tar(BufReader::new(file), &target)?,
        ArchiveFormat::TarGz => unpack_tar(
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
            &target,
        )?,
    };
    target.verify_all_links()?;
    Ok(written)
}

fn malformed(reason: impl ToString) -> UnpackError {
    UnpackError::Malformed {
        reason: reason.to_string(),
    }
}

fn copy_entry(
    reader: &mut impl Read,
    target: &UnpackTarget,
    relative: &Path,
    entry: &str,
) -> Result<u64, UnpackError> {
    let mut file = target.create_file(relative, entry)?;
    io::copy(reader, &mut file).map_err(|error| UnpackError::io(entry, error))
}

fn unpack_zip(reader: BufReader<File>, target: &UnpackTarget) -> Result<u64, UnpackError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(malformed)?;
    let mut written = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(malformed)?;
        let raw_name = entry.name_raw().to_vec();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let Some(relative) = sanitize_entry_name(&raw_name)? else {
            continue;
        };
        if entry.is_dir() {
            target.create_directory(&relative, &name)?;
        } else if entry.is_symlink() {
            let mut link_target = Vec::new();
            entry
                .read_to_end(&mut link_target)
                .map_err(|error| UnpackError::io(&name, error))?;
            target.create_symlink(&relative, &link_target, &name)?;
        } else {
            written += copy_entry(&mut entry, target, &relative, &name)?;
        }
    }
    Ok(written)
}

fn unpack_tar(reader: impl Read, target: &UnpackTarget) -> Result<u64, UnpackError> {
    let mut archive = tar::Archive::new(reader);
    let mut written = 0;
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let Some(relative) = sanitize_entry_name(&raw_name)? else {
            continue;
        };
        let entry_type = entry.header().entry_type();
        if entry_type.is_dir() || (entry_type.is_file() && raw_name.ends_with(b"/")) {
            target.create_directory(&relative, &name)?;
        } else if entry_type.is_symlink() {
            let link_target = entry
                .link_name_bytes()
                .ok_or_else(|| malformed(format!("symbolic link '{name}' without a target")))?;
            target.create_symlink(&relative, &link_target, &name)?;
        } else if entry_type.is_hard_link() {
            let link_target = entry
                .link_name_bytes()
                .ok_or_else(|| malformed(format!("hard link '{name}' without a target")))?;
            target.create_hard_link(&relative, &link_target, &name)?;
        } else if entry_type.is_file() || entry_type.is_contiguous() || entry_type.is_gnu_sparse() {
            written += copy_entry(&mut entry, target, &relative, &name)?;
        }
        // Devices, FIFOs and unknown entry types are skipped, as Hadoop's unTar does.
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_lower_cased_name() {
        assert_eq!(
            ArchiveFormat::from_file_name("__spark_conf__.zip"),
            Some(ArchiveFormat::Zip)
        );
        assert_eq!(
            ArchiveFormat::from_file_name("app.JAR"),
            Some(ArchiveFormat::Zip)
        );
        assert_eq!(
            ArchiveFormat::from_file_name("env.tar.gz"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_file_name("env.TGZ"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_file_name("env.tar"),
            Some(ArchiveFormat::Tar)
        );
        assert_eq!(ArchiveFormat::from_file_name("data.gz"), None);
        assert_eq!(ArchiveFormat::from_file_name("notes.txt"), None);
    }

    #[test]
    fn garbage_is_reported_as_malformed() {
        let temp = tempfile::tempdir().unwrap();
        let bogus = temp.path().join("bogus.zip");
        std::fs::write(&bogus, b"this is not a zip file at all").unwrap();
        for format in [ArchiveFormat::Zip, ArchiveFormat::TarGz] {
            let error = unpack_archive(&bogus, format, &temp.path().join("out")).unwrap_err();
            assert!(
                matches!(error, UnpackError::Malformed { .. }),
                "{format:?}: {error}"
            );
        }
        // A tar header with a broken checksum.
        std::fs::write(&bogus, [b'x'; 1024]).unwrap();
        let error =
            unpack_archive(&bogus, ArchiveFormat::Tar, &temp.path().join("out2")).unwrap_err();
        assert!(matches!(error, UnpackError::Malformed { .. }), "{error}");
        // A truncated gzip stream.
        std::fs::write(&bogus, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).unwrap();
        assert!(unpack_archive(&bogus, ArchiveFormat::TarGz, &temp.path().join("out3")).is_err());
    }
}
