//! A container's `LocalResource` request as the NM sees it: where the source lives, what it is
//! (FILE, ARCHIVE, PATTERN), who may share the localized copy (PUBLIC, PRIVATE, APPLICATION),
//! and the size and timestamp the client observed.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::LocalizationError;

/// `LocalResourceType` (wire numbers of `LocalResourceTypeProto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalResourceType {
    /// Unpacked into a directory named like the archive (`.jar`, `.zip`, `.tar`, `.tar.gz`, `.tgz`).
    Archive = 1,
    /// Copied as is (a directory source is copied recursively).
    File = 2,
    /// A jar of which YARN unpacks the entries matching a pattern; Spindle unpacks the whole jar.
    Pattern = 3,
}

impl LocalResourceType {
    pub fn from_wire(number: i32) -> Option<Self> {
        match number {
            1 => Some(Self::Archive),
            2 => Some(Self::File),
            3 => Some(Self::Pattern),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Archive => "ARCHIVE",
            Self::File => "FILE",
            Self::Pattern => "PATTERN",
        }
    }
}

/// `LocalResourceVisibility`: how widely a localized copy is shared on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalResourceVisibility {
    /// Shared by every application on the node (`<local-dir>/filecache/`).
    Public = 1,
    /// Shared by the applications of one user (`<local-dir>/usercache/<user>/filecache/`).
    Private = 2,
    /// Private to one application (`<local-dir>/usercache/<user>/appcache/<app>/filecache/`).
    Application = 3,
}

impl LocalResourceVisibility {
    pub fn from_wire(number: i32) -> Option<Self> {
        match number {
            1 => Some(Self::Public),
            2 => Some(Self::Private),
            3 => Some(Self::Application),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "PUBLIC",
            Self::Private => "PRIVATE",
            Self::Application => "APPLICATION",
        }
    }
}

/// The fields of YARN's `URL` record (`URLProto`): scheme, user info, host, port and file.
///
/// Spark sends local paths as `scheme = "file"`, `port = -1`, no host, `file` = the absolute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceUrl {
    pub scheme: String,
    pub user_info: String,
    pub host: String,
    pub port: i32,
    pub file: String,
}

impl ResourceUrl {
    /// The URL Hadoop's `URL.fromPath` builds for a local absolute path.
    pub fn local_file(path: impl AsRef<Path>) -> Self {
        Self {
            scheme: "file".to_string(),
            user_info: String::new(),
            host: String::new(),
            port: -1,
            file: path.as_ref().to_string_lossy().into_owned(),
        }
    }

    /// Parses `file:///abs/path`, `file:/abs/path`, `file://localhost/abs/path` or a plain absolute
    /// path; `%XX` escapes in URLs are decoded. Other schemes parse but cannot be localized.
    pub fn parse(text: &str) -> Result<Self, LocalizationError> {
        let invalid = |reason: &str| LocalizationError::InvalidUrl {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        if text.starts_with('/') {
            return Ok(Self::local_file(text));
        }
        let (scheme, rest) = text
            .split_once(':')
            .ok_or_else(|| invalid("not an absolute path or URL"))?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(invalid("bad scheme"));
        }
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => match after.find('/') {
                Some(slash) => (&after[..slash], &after[slash..]),
                None => (after, ""),
            },
            None => ("", rest),
        };
        if !path.starts_with('/') {
            return Err(invalid("the path must be absolute"));
        }
        let (user_info, host_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (user, host),
            None => ("", authority),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<i32>().map_err(|_| invalid("bad port"))?),
            None => (host_port, -1),
        };
        Ok(Self {
            scheme: scheme.to_string(),
            user_info: user_info.to_string(),
            host: host.to_string(),
            port,
            file: percent_decode(path).ok_or_else(|| invalid("bad %-escape"))?,
        })
    }

    /// The local path this URL names, or why the NM cannot read it from the local filesystem.
    pub fn to_local_path(&self) -> Result<PathBuf, LocalizationError> {
        let scheme_is_local = self.scheme.is_empty() || self.scheme.eq_ignore_ascii_case("file");
        if !scheme_is_local {
            return Err(LocalizationError::UnsupportedFileSystem {
                scheme: self.scheme.clone(),
                url: self.to_string(),
            });
        }
        if !(self.host.is_empty() || self.host.eq_ignore_ascii_case("localhost")) {
            return Err(LocalizationError::InvalidUrl {
                url: self.to_string(),
                reason: format!("file URL names a remote host '{}'", self.host),
            });
        }
        if !self.file.starts_with('/') || self.file.contains('\0') {
            return Err(LocalizationError::InvalidUrl {
                url: self.to_string(),
                reason: "the path must be absolute".to_string(),
            });
        }
        Ok(PathBuf::from(&self.file))
    }
}

impl fmt::Display for ResourceUrl {
    /// Hadoop's `Path.toString` of the URL: `file:/abs/path` for local files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.scheme.is_empty() {
            write!(f, "{}:", self.scheme)?;
        }
        if !self.host.is_empty() {
            f.write_str("//")?;
            if !self.user_info.is_empty() {
                write!(f, "{}@", self.user_info)?;
            }
            f.write_str(&self.host)?;
            if self.port >= 0 {
                write!(f, ":{}", self.port)?;
            }
        }
        f.write_str(&self.file)
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One resource a container asks for (`LocalResourceProto`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalResource {
    pub url: ResourceUrl,
    /// Size in bytes the client saw; checked against a regular source file when positive.
    pub size: i64,
    /// Modification time in milliseconds the client saw; must equal the source's.
    pub timestamp: i64,
    pub resource_type: LocalResourceType,
    pub visibility: LocalResourceVisibility,
    /// PATTERN's regular expression; kept for the cache key only.
    pub pattern: Option<String>,
}

impl LocalResource {
    /// A request for an existing local file with its current size and timestamp, as a client
    /// such as Spark builds it from a `FileStatus`.
    pub fn from_local_path(
        path: impl AsRef<Path>,
        resource_type: LocalResourceType,
        visibility: LocalResourceVisibility,
    ) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path.as_ref())?;
        Ok(Self {
            url: ResourceUrl::local_file(path),
            size: metadata.len() as i64,
            timestamp: modification_time_millis(&metadata),
            resource_type,
            visibility,
            pattern: None,
        })
    }
}

/// A file's modification time in milliseconds since the epoch, truncated like Java's
/// `File.lastModified`.
pub fn modification_time_millis(metadata: &std::fs::Metadata) -> i64 {
    metadata.mtime() * 1000 + metadata.mtime_nsec() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_url_shapes_clients_send() {
        let url = ResourceUrl::parse("file:///tmp/staging/__spark_conf__.zip").unwrap();
        assert_eq!(
            url.to_local_path().unwrap(),
            PathBuf::from("/tmp/staging/__spark_conf__.zip")
        );
        assert_eq!(url.to_string(), "file:/tmp/staging/__spark_conf__.zip");
        assert_eq!(
            ResourceUrl::parse("file:/a/b")
                .unwrap()
                .to_local_path()
                .unwrap(),
            PathBuf::from("/a/b")
        );
        assert_eq!(
            ResourceUrl::parse("/a/b c")
                .unwrap()
                .to_local_path()
                .unwrap(),
            PathBuf::from("/a/b c")
        );
        assert_eq!(
            ResourceUrl::parse("file:///a/b%20c").unwrap().file,
            "/a/b c"
        );
        assert_eq!(
            ResourceUrl::parse("file://localhost/a")
                .unwrap()
                .to_local_path()
                .unwrap(),
            PathBuf::from("/a")
        );
        let hdfs = ResourceUrl::parse("hdfs://nn:8020/user/x.jar").unwrap();
        assert_eq!(
            (hdfs.host.as_str(), hdfs.port, hdfs.file.as_str()),
            ("nn", 8020, "/user/x.jar")
        );
    }

    #[test]
    fn malformed_or_remote_urls_are_rejected() {
        for text in [
            "",
            "relative/path",
            "file:relative",
            "file://",
            "://x",
            "file:///a%zz",
            "file:///a%2",
            "x y:/a",
            "file://h:notaport/a",
        ] {
            assert!(ResourceUrl::parse(text).is_err(), "{text}");
        }
        let error = ResourceUrl::parse("hdfs://nn/x")
            .unwrap()
            .to_local_path()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("No FileSystem for scheme \"hdfs\""),
            "{error}"
        );
        assert!(ResourceUrl::parse("file://otherhost/x")
            .unwrap()
            .to_local_path()
            .is_err());
        let mut url = ResourceUrl::local_file("/a");
        url.file = "a".into();
        assert!(url.to_local_path().is_err());
    }

    #[test]
    fn wire_numbers_round_trip() {
        for t in [
            LocalResourceType::Archive,
            LocalResourceType::File,
            LocalResourceType::Pattern,
        ] {
            assert_eq!(LocalResourceType::from_wire(t as i32), Some(t));
        }
        for v in [
            LocalResourceVisibility::Public,
            LocalResourceVisibility::Private,
            LocalResourceVisibility::Application,
        ] {
            assert_eq!(LocalResourceVisibility::from_wire(v as i32), Some(v));
        }
        assert_eq!(LocalResourceType::from_wire(0), None);
        assert_eq!(LocalResourceVisibility::from_wire(4), None);
    }
}
