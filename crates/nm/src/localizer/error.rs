//! Why a resource could not be localized, phrased as YARN phrases it in container diagnostics.

use std::path::PathBuf;
use std::sync::Arc;

/// A localization failure. Cloneable: every container waiting for the same resource gets it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LocalizationError {
    #[error("Resource {url} changed on src filesystem (expected {expected}, was {actual})")]
    TimestampChanged {
        url: String,
        expected: i64,
        actual: i64,
    },
    #[error("Resource {url} changed on src filesystem (expected size {expected}, was {actual})")]
    SizeChanged {
        url: String,
        expected: i64,
        actual: i64,
    },
    #[error("File {url} does not exist")]
    SourceNotFound { url: String },
    #[error(
        "Resource {url} is not publicly accessible and as such cannot be part of the public cache."
    )]
    NotPubliclyAccessible { url: String },
    #[error("No FileSystem for scheme \"{scheme}\" (resource {url})")]
    UnsupportedFileSystem { scheme: String, url: String },
    #[error("Invalid resource URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("Cannot unpack {archive}: {source}")]
    Unpack {
        archive: PathBuf,
        source: UnpackError,
    },
    #[error("Failed to localize {url}: {source}")]
    Io {
        url: String,
        source: Arc<std::io::Error>,
    },
}

/// An archive that cannot be unpacked safely (CVE-2018-8009 and friends) or is malformed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UnpackError {
    #[error("archive entry '{entry}' has an absolute path")]
    AbsolutePath { entry: String },
    #[error("archive entry '{entry}' leaves the target directory through '..'")]
    ParentTraversal { entry: String },
    #[error("archive entry '{entry}' has an empty or invalid name")]
    InvalidName { entry: String },
    #[error("symbolic link '{entry}' -> '{target}' points outside the target directory")]
    EscapingSymlink { entry: String, target: String },
    #[error(
        "hard link '{entry}' -> '{target}' points outside the target directory or to a non-file"
    )]
    EscapingHardLink { entry: String, target: String },
    #[error(
        "archive entry '{entry}' would be written through a link that leaves the target directory"
    )]
    EscapingParent { entry: String },
    #[error("archive entry '{entry}' conflicts with an existing directory or file")]
    Conflict { entry: String },
    #[error("malformed archive: {reason}")]
    Malformed { reason: String },
    #[error("I/O error on archive entry '{entry}': {source}")]
    Io {
        entry: String,
        source: Arc<std::io::Error>,
    },
}

impl UnpackError {
    pub(crate) fn io(entry: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            entry: entry.into(),
            source: Arc::new(source),
        }
    }
}
