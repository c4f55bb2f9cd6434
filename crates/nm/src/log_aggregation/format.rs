//! Spindle's aggregated log file: one file per node and application holding every log file of the
//! application's containers on that node, in YARN's AggregatedLogFormat record encoding (a record
//! per container, keyed by its id; per log file its name, its length in decimal, its bytes) inside
//! a simple container of Spindle's own instead of a Hadoop TFile.
//!
//! ```text
//! file      = magic version owner container* end
//! magic     = "SPNDLAGG"                      8 bytes
//! record    = key value-length value          value-length: u64, big-endian
//! key       = u16 length (at least 1), UTF-8  big-endian length
//! version   = record "VERSION", value: i32 1
//! owner     = record "APPLICATION_OWNER", value: string
//! container = record <container id>, value: entry*, exactly filling the value
//! entry     = string <file name>, string <length in decimal>, <length> bytes
//! string    = u16 length, UTF-8
//! end       = u16 0, u32 number of container records; then the file ends
//! ```
//!
//! The file is outside input to its readers: [`AggregatedLogFile::open`] checks the whole
//! structure against the file's length before anything is shown (a cut-short or corrupt file is an
//! error naming the file and the byte, never a panic or an allocation the file asked for), and
//! reads log bytes only when asked, so a large log is never held in memory.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use spindle_types::ContainerId;

/// The first bytes of every aggregated log file.
pub const MAGIC: &[u8; 8] = b"SPNDLAGG";
/// The one version of the format.
pub const VERSION: i32 = 1;
const VERSION_KEY: &str = "VERSION";
const OWNER_KEY: &str = "APPLICATION_OWNER";
/// The most log files one aggregated file may list (a bound on the index a reader builds).
pub const MAX_LOG_FILES: usize = 1_000_000;
/// The most digits a file length may have (u64::MAX has 20; no log is that large).
const MAX_LENGTH_DIGITS: usize = 19;

/// One log file to write: its name, its length, and a reader of exactly that many bytes.
pub struct LogFileSource<R> {
    pub name: String,
    pub length: u64,
    pub content: R,
}

/// Writes an aggregated log file: [`AggregatedLogWriter::new`], one
/// [`AggregatedLogWriter::add_container`] per container, then [`AggregatedLogWriter::finish`].
pub struct AggregatedLogWriter<W: Write> {
    out: W,
    containers: u32,
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn write_string(out: &mut impl Write, text: &str) -> io::Result<()> {
    let length = u16::try_from(text.len())
        .map_err(|_| invalid_input(format!("{text:.40}... is longer than 65535 bytes")))?;
    out.write_all(&length.to_be_bytes())?;
    out.write_all(text.as_bytes())
}

fn write_record_head(out: &mut impl Write, key: &str, value_length: u64) -> io::Result<()> {
    write_string(out, key)?;
    out.write_all(&value_length.to_be_bytes())
}

impl<W: Write> AggregatedLogWriter<W> {
    /// Starts a file of `owner`'s logs: the magic, the version and the owner records.
    pub fn new(mut out: W, owner: &str) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        write_record_head(&mut out, VERSION_KEY, 4)?;
        out.write_all(&VERSION.to_be_bytes())?;
        write_record_head(&mut out, OWNER_KEY, 2 + owner.len() as u64)?;
        write_string(&mut out, owner)?;
        Ok(Self { out, containers: 0 })
    }

    /// Appends one container's log files, in the order given. Each source must yield exactly
    /// its `length` bytes: more are not read, fewer fail the write (a file that shrank).
    pub fn add_container<R: Read>(
        &mut self,
        container_id: ContainerId,
        files: Vec<LogFileSource<R>>,
    ) -> io::Result<()> {
        let mut value_length = 0u64;
        for file in &files {
            if file.name.is_empty() {
                return Err(invalid_input(format!(
                    "a log file of {container_id} has no name"
                )));
            }
            value_length += 2 + file.name.len() as u64;
            value_length += 2 + file.length.to_string().len() as u64;
            value_length += file.length;
        }
        write_record_head(&mut self.out, &container_id.to_string(), value_length)?;
        for file in files {
            write_string(&mut self.out, &file.name)?;
            write_string(&mut self.out, &file.length.to_string())?;
            let copied = io::copy(&mut file.content.take(file.length), &mut self.out)?;
            if copied != file.length {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "log file {} of {container_id} shrank while being written: {copied} of {} bytes",
                        file.name, file.length
                    ),
                ));
            }
        }
        self.containers += 1;
        Ok(())
    }

    /// Writes the end record and hands back the output (to flush and sync).
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&0u16.to_be_bytes())?;
        self.out.write_all(&self.containers.to_be_bytes())?;
        Ok(self.out)
    }
}

/// What is wrong with a file that is not a valid aggregated log file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformation {
    #[error("it ends early ({needed} more bytes expected): an upload cut short?")]
    Truncated { needed: u64 },
    #[error(
        "it does not start with Spindle's aggregated log magic {:?}",
        String::from_utf8_lossy(MAGIC)
    )]
    BadMagic,
    #[error("expected the {expected} record, found {found:?}")]
    MissingRecord {
        expected: &'static str,
        found: String,
    },
    #[error("format version {0} is not supported (only {VERSION})")]
    UnsupportedVersion(i32),
    #[error("the {record} record's value is {length} bytes, expected {expected}")]
    BadRecordLength {
        record: &'static str,
        length: u64,
        expected: u64,
    },
    #[error("a name or key is not UTF-8")]
    NotUtf8,
    #[error("the record key {0:?} is not a container id")]
    NotAContainer(String),
    #[error("container {0} appears twice")]
    DuplicateContainer(ContainerId),
    #[error("log file {name:?} has an empty name")]
    EmptyName { name: String },
    #[error("the length of log file {name:?} is not a decimal number: {length:?}")]
    BadFileLength { name: String, length: String },
    #[error("log file {name:?} ({length} bytes) runs past the end of its container's record")]
    FilePastRecord { name: String, length: u64 },
    #[error("it lists more than {MAX_LOG_FILES} log files")]
    TooManyFiles,
    #[error("the end record counts {counted} containers, the file holds {found}")]
    CountMismatch { counted: u32, found: u32 },
    #[error("{0} bytes follow the end record")]
    TrailingBytes(u64),
}

/// Why an aggregated log file cannot be read. Both name the file.
#[derive(Debug, thiserror::Error)]
pub enum AggregatedLogError {
    #[error("cannot read aggregated log file {}: {source}", file.display())]
    Io { file: PathBuf, source: io::Error },
    #[error("{} is not a valid aggregated log file (at byte {offset}): {problem}", file.display())]
    Malformed {
        file: PathBuf,
        offset: u64,
        problem: Malformation,
    },
}

/// One log file inside an aggregated file: where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub name: String,
    pub length: u64,
    /// Where its first byte is in the aggregated file.
    pub offset: u64,
}

/// One container's log files, in the order they were written (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLogs {
    pub container_id: ContainerId,
    pub files: Vec<LogEntry>,
}

/// What an aggregated file holds, checked from end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogIndex {
    pub owner: String,
    pub containers: Vec<ContainerLogs>,
}

/// A failure while indexing: an I/O error, or a malformation at a byte offset.
#[derive(Debug)]
pub enum IndexError {
    Io(io::Error),
    Malformed { offset: u64, problem: Malformation },
}

/// Reads the structure of `input` (`length` bytes) without reading the log bytes themselves.
pub fn index<R: Read + Seek>(input: R, length: u64) -> Result<LogIndex, IndexError> {
    let mut scanner = Scanner {
        input,
        position: 0,
        length,
    };
    scanner.index()
}

struct Scanner<R> {
    input: R,
    position: u64,
    length: u64,
}

impl<R: Read + Seek> Scanner<R> {
    fn malformed(&self, offset: u64, problem: Malformation) -> IndexError {
        IndexError::Malformed { offset, problem }
    }

    /// Fails unless `count` more bytes are in the file.
    fn require(&self, count: u64) -> Result<(), IndexError> {
        let left = self.length - self.position;
        if count > left {
            return Err(self.malformed(
                self.position,
                Malformation::Truncated {
                    needed: count - left,
                },
            ));
        }
        Ok(())
    }

    fn bytes(&mut self, count: u64) -> Result<Vec<u8>, IndexError> {
        self.require(count)?;
        let mut buffer = vec![0; count as usize];
        match self.input.read_exact(&mut buffer) {
            Ok(()) => {}
            // The file shrank under the reader.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.malformed(self.position, Malformation::Truncated { needed: count }))
            }
            Err(e) => return Err(IndexError::Io(e)),
        }
        self.position += count;
        Ok(buffer)
    }

    fn skip(&mut self, count: u64) -> Result<(), IndexError> {
        self.require(count)?;
        self.input
            .seek(SeekFrom::Current(count as i64))
            .map_err(IndexError::Io)?;
        self.position += count;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], IndexError> {
        let bytes = self.bytes(N as u64)?;
        Ok(bytes.try_into().expect("N bytes read"))
    }

    fn string(&mut self) -> Result<String, IndexError> {
        let at = self.position;
        let length = u16::from_be_bytes(self.array()?);
        let bytes = self.bytes(u64::from(length))?;
        String::from_utf8(bytes).map_err(|_| self.malformed(at, Malformation::NotUtf8))
    }

    fn index(&mut self) -> Result<LogIndex, IndexError> {
        if self.array::<8>().ok().as_ref() != Some(MAGIC) {
            return Err(self.malformed(0, Malformation::BadMagic));
        }
        let (_, version_length) = self.expect_record(VERSION_KEY)?;
        if version_length != 4 {
            return Err(self.malformed(
                self.position,
                Malformation::BadRecordLength {
                    record: VERSION_KEY,
                    length: version_length,
                    expected: 4,
                },
            ));
        }
        let at = self.position;
        let version = i32::from_be_bytes(self.array()?);
        if version != VERSION {
            return Err(self.malformed(at, Malformation::UnsupportedVersion(version)));
        }
        let (_, owner_length) = self.expect_record(OWNER_KEY)?;
        let at = self.position;
        let owner = self.string()?;
        if owner_length != 2 + owner.len() as u64 {
            return Err(self.malformed(
                at,
                Malformation::BadRecordLength {
                    record: OWNER_KEY,
                    length: owner_length,
                    expected: 2 + owner.len() as u64,
                },
            ));
        }
        let mut containers: Vec<ContainerLogs> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut files = 0usize;
        loop {
            let at = self.position;
            let key = self.string()?;
            if key.is_empty() {
                let counted = u32::from_be_bytes(self.array()?);
                let found = containers.len() as u32;
                if counted != found {
                    return Err(self.malformed(at, Malformation::CountMismatch { counted, found }));
                }
                if self.position != self.length {
                    return Err(self.malformed(
                        self.position,
                        Malformation::TrailingBytes(self.length - self.position),
                    ));
                }
                return Ok(LogIndex { owner, containers });
            }
            let container_id: ContainerId = key
                .parse()
                .map_err(|_| self.malformed(at, Malformation::NotAContainer(key.clone())))?;
            if !seen.insert(container_id) {
                return Err(self.malformed(at, Malformation::DuplicateContainer(container_id)));
            }
            let value_length = u64::from_be_bytes(self.array()?);
            self.require(value_length)?;
            let value_end = self.position + value_length;
            let mut entries = Vec::new();
            while self.position < value_end {
                files += 1;
                if files > MAX_LOG_FILES {
                    return Err(self.malformed(self.position, Malformation::TooManyFiles));
                }
                let entry = self.entry(value_end)?;
                entries.push(entry);
            }
            containers.push(ContainerLogs {
                container_id,
                files: entries,
            });
        }
    }

    /// A record with `key`, returning where it started and its value's length.
    fn expect_record(&mut self, key: &'static str) -> Result<(u64, u64), IndexError> {
        let at = self.position;
        let found = self.string()?;
        if found != key {
            return Err(self.malformed(
                at,
                Malformation::MissingRecord {
                    expected: key,
                    found,
                },
            ));
        }
        let value_length = u64::from_be_bytes(self.array()?);
        self.require(value_length)?;
        Ok((at, value_length))
    }

    /// One log file of a container record that ends at `value_end`.
    fn entry(&mut self, value_end: u64) -> Result<LogEntry, IndexError> {
        let at = self.position;
        let name = self.within(value_end, |scanner| scanner.string())?;
        if name.is_empty() {
            return Err(self.malformed(at, Malformation::EmptyName { name }));
        }
        let at = self.position;
        let digits = self.within(value_end, |scanner| scanner.string())?;
        let length = (!digits.is_empty()
            && digits.len() <= MAX_LENGTH_DIGITS
            && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| {
            self.malformed(
                at,
                Malformation::BadFileLength {
                    name: name.clone(),
                    length: digits.clone(),
                },
            )
        })?;
        let offset = self.position;
        if length > value_end - offset {
            return Err(self.malformed(offset, Malformation::FilePastRecord { name, length }));
        }
        self.skip(length)?;
        Ok(LogEntry {
            name,
            length,
            offset,
        })
    }

    /// Runs `read` and fails if it read past `end` (the end of the current record).
    fn within<T>(
        &mut self,
        end: u64,
        read: impl FnOnce(&mut Self) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let at = self.position;
        let value = read(self)?;
        if self.position > end {
            return Err(self.malformed(
                at,
                Malformation::FilePastRecord {
                    name: String::new(),
                    length: self.position - at,
                },
            ));
        }
        Ok(value)
    }
}

/// An aggregated log file opened for reading: its index checked, its log bytes read on demand.
pub struct AggregatedLogFile {
    path: PathBuf,
    file: File,
    index: LogIndex,
    /// When the file was last modified (ms since the epoch): when its upload finished.
    modified_ms: i64,
}

impl AggregatedLogFile {
    /// Opens and checks `path`.
    pub fn open(path: &Path) -> Result<Self, AggregatedLogError> {
        let io_error = |source| AggregatedLogError::Io {
            file: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            return Err(io_error(io::Error::other("not a regular file")));
        }
        let modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let index = index(BufReader::new(&file), metadata.len()).map_err(|e| match e {
            IndexError::Io(source) => io_error(source),
            IndexError::Malformed { offset, problem } => AggregatedLogError::Malformed {
                file: path.to_path_buf(),
                offset,
                problem,
            },
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            index,
            modified_ms,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn owner(&self) -> &str {
        &self.index.owner
    }

    pub fn containers(&self) -> &[ContainerLogs] {
        &self.index.containers
    }

    pub fn modified_ms(&self) -> i64 {
        self.modified_ms
    }

    /// Copies the bytes `range` (relative to the log file, clamped to it) of `entry` to `out`,
    /// in chunks.
    pub fn copy_to(
        &self,
        entry: &LogEntry,
        range: Range<u64>,
        out: &mut impl Write,
    ) -> Result<(), AggregatedLogError> {
        const CHUNK: u64 = 64 * 1024;
        let end = range.end.min(entry.length);
        let mut at = range.start.min(end);
        let mut buffer = vec![0; CHUNK.min(end - at) as usize];
        while at < end {
            let count = CHUNK.min(end - at) as usize;
            self.file
                .read_exact_at(&mut buffer[..count], entry.offset + at)
                .map_err(|source| AggregatedLogError::Io {
                    file: self.path.clone(),
                    source,
                })?;
            out.write_all(&buffer[..count])
                .map_err(|source| AggregatedLogError::Io {
                    file: self.path.clone(),
                    source,
                })?;
            at += count as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
