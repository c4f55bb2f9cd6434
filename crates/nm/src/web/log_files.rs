//! Reading a container's log files for the web pages, and nothing else: a file is named by one
//! path component, opened relative to the container's log directory
//! (`<log-dir>/<app>/<container>`, reached from a configured log dir one directory at a time),
//! and no symbolic link is followed on the way, so neither a crafted name (`..`, `/`, an
//! absolute path) nor a link a container left in its log directory reaches another file. Only
//! regular files are read (a FIFO would block the reader). Also the byte ranges the pages and
//! the REST API take.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::ops::Range;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::{fstat, fstatat, Mode, SFlag};
use spindle_types::ContainerId;

/// The bytes a log page shows when it names no start (YARN's last 4 KB).
pub(crate) const DEFAULT_PAGE_BYTES: i64 = 4096;

/// Why a log file cannot be shown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum LogFileError {
    /// The name is not one plain file name (empty, `.`, `..`, a `/`, a NUL byte).
    #[error("invalid log file name {0:?}: a log file is named by one plain file name")]
    InvalidName(String),
    /// No log directory of this container on this node.
    #[error("no logs of {0} on this node")]
    NoLogDirectory(ContainerId),
    #[error("log file {0} not found")]
    NotFound(String),
    /// A symbolic link, directory, FIFO or device: never read.
    #[error("{0} is not a regular file in the container's log directory")]
    NotRegular(String),
    #[error("cannot read {name}: {message}")]
    Io { name: String, message: String },
}

/// Whether `name` names a file directly inside a directory: not empty, not `.` or `..`, without
/// `/`, `\` or NUL.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// One log file of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFile {
    pub name: String,
    pub size: u64,
    /// Last modification, ms since the epoch.
    pub modified_ms: i64,
}

/// A container's log directory, opened without following links.
pub(crate) struct ContainerLogDirectory {
    directory: OwnedFd,
}

const DIRECTORY: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_CLOEXEC);

impl ContainerLogDirectory {
    /// Opens `<log_root>/<app>/<container>`. The configured `log_root` is trusted as it is; the
    /// two directories below it must be real directories, not links.
    pub fn open(log_root: &Path, container_id: ContainerId) -> Result<Self, Errno> {
        let root = openat(AT_FDCWD, log_root, DIRECTORY, Mode::empty())?;
        let nofollow = DIRECTORY | OFlag::O_NOFOLLOW;
        let application = openat(
            root.as_fd(),
            container_id.application_id().to_string().as_str(),
            nofollow,
            Mode::empty(),
        )?;
        let directory = openat(
            application.as_fd(),
            container_id.to_string().as_str(),
            nofollow,
            Mode::empty(),
        )?;
        Ok(Self { directory })
    }

    /// The container's log directory on the first of `candidates` (log dirs, the likeliest
    /// first) that holds one.
    pub fn find(candidates: &[PathBuf], container_id: ContainerId) -> Result<Self, LogFileError> {
        candidates
            .iter()
            .find_map(|root| Self::open(root, container_id).ok())
            .ok_or(LogFileError::NoLogDirectory(container_id))
    }

    /// The regular files directly in the directory, by name. Links, directories and names
    /// that are not UTF-8 are left out.
    pub fn list(&self) -> Result<Vec<LogFile>, LogFileError> {
        let io = |e: Errno| LogFileError::Io {
            name: ".".into(),
            message: e.desc().to_string(),
        };
        // A fresh descriptor of its own: reading a directory moves its position.
        let fresh = openat(self.directory.as_fd(), ".", DIRECTORY, Mode::empty()).map_err(io)?;
        let mut directory = nix::dir::Dir::from_fd(fresh).map_err(io)?;
        let mut files = Vec::new();
        for entry in directory.iter() {
            let Ok(entry) = entry else { continue };
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if !is_plain_file_name(name) {
                continue;
            }
            let Ok(stat) = fstatat(
                self.directory.as_fd(),
                name,
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            ) else {
                continue;
            };
            if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
                continue;
            }
            files.push(LogFile {
                name: name.to_string(),
                size: stat.st_size.max(0) as u64,
                modified_ms: stat.st_mtime * 1000 + stat.st_mtime_nsec / 1_000_000,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Opens the log file `name` for reading, with its size now.
    pub fn open_file(&self, name: &str) -> Result<(File, LogFile), LogFileError> {
        if !is_plain_file_name(name) {
            return Err(LogFileError::InvalidName(name.to_string()));
        }
        // O_NONBLOCK: opening a FIFO a container made must not wait for a writer.
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = match openat(self.directory.as_fd(), name, flags, Mode::empty()) {
            Ok(file) => file,
            Err(Errno::ENOENT) => return Err(LogFileError::NotFound(name.to_string())),
            // O_NOFOLLOW on a link.
            Err(Errno::ELOOP) => return Err(LogFileError::NotRegular(name.to_string())),
            Err(e) => {
                return Err(LogFileError::Io {
                    name: name.to_string(),
                    message: e.desc().to_string(),
                })
            }
        };
        let stat = fstat(file.as_fd()).map_err(|e| LogFileError::Io {
            name: name.to_string(),
            message: e.desc().to_string(),
        })?;
        if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
            return Err(LogFileError::NotRegular(name.to_string()));
        }
        let info = LogFile {
            name: name.to_string(),
            size: stat.st_size.max(0) as u64,
            modified_ms: stat.st_mtime * 1000 + stat.st_mtime_nsec / 1_000_000,
        };
        Ok((File::from(file), info))
    }
}

/// A bad `start`, `end` or `size`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RangeError {
    #[error("{key}={value} is not a whole number of bytes")]
    NotANumber { key: &'static str, value: String },
    #[error("invalid start and end values: start {start} is after end {end}")]
    StartAfterEnd { start: u64, end: u64 },
}

pub(crate) fn parse_offset(
    key: &'static str,
    value: Option<&str>,
) -> Result<Option<i64>, RangeError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| RangeError::NotANumber {
                key,
                value: text.to_string(),
            }),
    }
}

/// The bytes a log page shows of a file of `length` bytes, as YARN's log page computes them:
/// `start` defaults to the last 4 KB, `end` to the end of the file; a negative value counts from
/// the end; a start before the beginning is the beginning, a negative end past the beginning
/// (or one past the end) the end of the file.
pub(crate) fn page_range(
    start: Option<i64>,
    end: Option<i64>,
    length: u64,
) -> Result<Range<u64>, RangeError> {
    let length_signed = i64::try_from(length).unwrap_or(i64::MAX);
    let start = start.unwrap_or(-DEFAULT_PAGE_BYTES);
    let start = if start < 0 {
        length_signed.saturating_add(start).max(0)
    } else {
        start
    };
    let end = match end {
        None => length_signed,
        Some(end) if end < 0 => {
            let from_end = length_signed.saturating_add(end);
            if from_end < 0 {
                length_signed
            } else {
                from_end
            }
        }
        Some(end) => end.min(length_signed),
    };
    let (start, end) = (start as u64, end as u64);
    if start > end {
        return Err(RangeError::StartAfterEnd { start, end });
    }
    Ok(start..end)
}

/// The bytes the REST API returns for `size` (YARN's `size` query parameter): all without it,
/// the first `size` bytes when positive, the last `-size` when negative.
pub(crate) fn rest_range(size: Option<i64>, length: u64) -> Range<u64> {
    match size {
        None => 0..length,
        Some(size) if size >= 0 => 0..length.min(size as u64),
        Some(size) => length.saturating_sub(size.unsigned_abs())..length,
    }
}

/// How the bytes of a file travel in a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Raw,
    /// HTML-escaped (inside a `<pre>` of a page).
    Html,
}

/// The bytes `range` of `file` between `prefix` and `suffix`, as a body read in chunks, so a
/// large log never sits in memory; with `suffix_on_own_line`, a newline goes before the suffix
/// when the bytes end without one. A file that shrank ends the body early; a read error ends it
/// with an error.
pub(crate) fn body(
    mut file: File,
    range: Range<u64>,
    encoding: Encoding,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    suffix_on_own_line: bool,
) -> axum::body::Body {
    const CHUNK: u64 = 64 * 1024;
    struct Reading {
        file: Option<tokio::fs::File>,
        remaining: u64,
        encoding: Encoding,
        prefix: Option<Bytes>,
        suffix: Option<Bytes>,
        suffix_on_own_line: bool,
        last_byte: Option<u8>,
    }
    let sought = file.seek(SeekFrom::Start(range.start));
    let state = Reading {
        file: sought.ok().map(|_| tokio::fs::File::from_std(file)),
        remaining: range.end.saturating_sub(range.start),
        encoding,
        prefix: Some(Bytes::from(prefix)),
        suffix: Some(Bytes::from(suffix)),
        suffix_on_own_line,
        last_byte: None,
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        use tokio::io::AsyncReadExt;
        if let Some(prefix) = state.prefix.take() {
            return Some((Ok::<Bytes, std::io::Error>(prefix), state));
        }
        if state.remaining > 0 {
            if let Some(file) = state.file.as_mut() {
                let mut buffer = vec![0u8; state.remaining.min(CHUNK) as usize];
                match file.read(&mut buffer).await {
                    Ok(0) => state.remaining = 0,
                    Ok(read) => {
                        buffer.truncate(read);
                        state.remaining -= read as u64;
                        state.last_byte = buffer.last().copied();
                        let chunk = match state.encoding {
                            Encoding::Raw => buffer,
                            Encoding::Html => {
                                let mut escaped = Vec::with_capacity(read + read / 8);
                                spindle_web::html::escape_bytes_into(&buffer, &mut escaped);
                                escaped
                            }
                        };
                        return Some((Ok(Bytes::from(chunk)), state));
                    }
                    Err(error) => {
                        state.remaining = 0;
                        state.suffix = None;
                        return Some((Err(error), state));
                    }
                }
            }
        }
        let suffix = state.suffix.take()?;
        let suffix = match state.last_byte {
            Some(last) if state.suffix_on_own_line && last != b'\n' => {
                let mut own_line = Vec::with_capacity(suffix.len() + 1);
                own_line.push(b'\n');
                own_line.extend_from_slice(&suffix);
                Bytes::from(own_line)
            }
            _ => suffix,
        };
        Some((Ok(suffix), state))
    });
    axum::body::Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    fn container() -> ContainerId {
        ContainerId::new(
            ApplicationAttemptId::new(ApplicationId::new(1_700_000_000_000, 3), 1),
            0,
            2,
        )
    }

    /// A log root with the container's log directory holding `stdout`.
    fn log_root() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let id = container();
        let dir = root
            .path()
            .join(id.application_id().to_string())
            .join(id.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stdout"), "hello\n").unwrap();
        (root, dir)
    }

    #[test]
    fn ranges_follow_yarns_log_page() {
        /// start, end, file length, the bytes shown (None: refused).
        type Case = (Option<i64>, Option<i64>, u64, Option<Range<u64>>);
        let cases: &[Case] = &[
            // Default: the last 4 KB, or all of a smaller file.
            (None, None, 10_000, Some(5904..10_000)),
            (None, None, 100, Some(0..100)),
            (Some(0), None, 100, Some(0..100)),
            (Some(10), Some(20), 100, Some(10..20)),
            (Some(-10), None, 100, Some(90..100)),
            (Some(-1000), None, 100, Some(0..100)),
            (Some(0), Some(-10), 100, Some(0..90)),
            // A negative end before the beginning means the end of the file.
            (Some(0), Some(-1000), 100, Some(0..100)),
            (Some(0), Some(1000), 100, Some(0..100)),
            (Some(50), Some(50), 100, Some(50..50)),
            (Some(60), Some(50), 100, None),
            (Some(200), None, 100, None),
            (None, None, 0, Some(0..0)),
            (Some(i64::MIN), Some(i64::MAX), 100, Some(0..100)),
        ];
        for (start, end, length, expected) in cases {
            let actual = page_range(*start, *end, *length).ok();
            assert_eq!(&actual, expected, "start {start:?} end {end:?} of {length}");
        }
    }

    #[test]
    fn rest_size_takes_the_head_or_the_tail() {
        assert_eq!(rest_range(None, 100), 0..100);
        assert_eq!(rest_range(Some(10), 100), 0..10);
        assert_eq!(rest_range(Some(1000), 100), 0..100);
        assert_eq!(rest_range(Some(-10), 100), 90..100);
        assert_eq!(rest_range(Some(-1000), 100), 0..100);
        assert_eq!(rest_range(Some(i64::MIN), 100), 0..100);
        assert_eq!(rest_range(Some(0), 100), 0..0);
    }

    #[test]
    fn offsets_must_be_numbers() {
        assert_eq!(parse_offset("start", None), Ok(None));
        assert_eq!(parse_offset("start", Some("")), Ok(None));
        assert_eq!(parse_offset("start", Some("-4096")), Ok(Some(-4096)));
        assert!(parse_offset("end", Some("1e3")).is_err());
        assert!(parse_offset("end", Some("../x")).is_err());
    }

    #[test]
    fn only_plain_file_names_are_taken() {
        for good in [
            "stdout",
            "stderr",
            "prelaunch.err",
            "gc.log.0",
            "..hidden",
            "a b",
        ] {
            assert!(is_plain_file_name(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "../../etc/passwd",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "a\0b",
        ] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn files_are_listed_and_read_only_inside_the_log_directory() {
        let (root, dir) = log_root();
        std::fs::write(dir.join("stderr"), "").unwrap();
        std::fs::create_dir(dir.join("subdir")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd-link")).unwrap();
        nix::unistd::mkfifo(&dir.join("fifo"), Mode::S_IRWXU).unwrap();
        let logs = ContainerLogDirectory::open(root.path(), container()).unwrap();
        let names: Vec<_> = logs.list().unwrap().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["stderr", "stdout"]);

        let (_, stdout) = logs.open_file("stdout").unwrap();
        assert_eq!(stdout.size, 6);
        for (name, expected) in [
            (
                "../../../etc/passwd",
                LogFileError::InvalidName("../../../etc/passwd".into()),
            ),
            (
                "/etc/passwd",
                LogFileError::InvalidName("/etc/passwd".into()),
            ),
            ("..", LogFileError::InvalidName("..".into())),
            (
                "passwd-link",
                LogFileError::NotRegular("passwd-link".into()),
            ),
            ("fifo", LogFileError::NotRegular("fifo".into())),
            ("subdir", LogFileError::NotRegular("subdir".into())),
            ("missing", LogFileError::NotFound("missing".into())),
        ] {
            assert_eq!(logs.open_file(name).err(), Some(expected), "{name}");
        }
    }

    #[test]
    fn a_log_directory_replaced_by_a_link_is_not_followed() {
        let (root, dir) = log_root();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("stdout"), "secret").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), &dir).unwrap();
        assert!(ContainerLogDirectory::open(root.path(), container()).is_err());
        assert!(matches!(
            ContainerLogDirectory::find(&[root.path().to_path_buf()], container()),
            Err(LogFileError::NoLogDirectory(_))
        ));
    }

    #[test]
    fn the_log_directory_is_found_on_any_log_dir() {
        let (root, _) = log_root();
        let empty = tempfile::tempdir().unwrap();
        let logs = ContainerLogDirectory::find(
            &[empty.path().to_path_buf(), root.path().to_path_buf()],
            container(),
        )
        .unwrap();
        assert_eq!(logs.list().unwrap().len(), 1);
        assert!(ContainerLogDirectory::find(&[empty.path().to_path_buf()], container()).is_err());
    }

    #[tokio::test]
    async fn bodies_carry_the_range_escaped_when_asked() {
        let (root, dir) = log_root();
        std::fs::write(dir.join("stdout"), "0123<b>6789").unwrap();
        let logs = ContainerLogDirectory::open(root.path(), container()).unwrap();
        let read = |range: Range<u64>, encoding| {
            let (file, _) = logs.open_file("stdout").unwrap();
            body(file, range, encoding, b"[".to_vec(), b"]".to_vec(), false)
        };
        let text = |body: axum::body::Body| async move {
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        assert_eq!(text(read(2..8, Encoding::Raw)).await, "[23<b>6]");
        assert_eq!(text(read(2..8, Encoding::Html)).await, "[23&lt;b&gt;6]");
        // A range past the end of a file that shrank stops at its end.
        assert_eq!(text(read(8..100, Encoding::Raw)).await, "[789]");
        // A footer goes on a line of its own.
        let footer = |range: Range<u64>| {
            let (file, _) = logs.open_file("stdout").unwrap();
            body(
                file,
                range,
                Encoding::Raw,
                Vec::new(),
                b"End\n".to_vec(),
                true,
            )
        };
        assert_eq!(text(footer(0..4)).await, "0123\nEnd\n");
        std::fs::write(dir.join("stdout"), "line\n").unwrap();
        assert_eq!(text(footer(0..5)).await, "line\nEnd\n");
        assert_eq!(text(footer(0..0)).await, "End\n");
    }
}
