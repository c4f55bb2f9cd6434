//! The aggregated log format: round trips, YARN's record encoding, and malformed files.

use super::*;
use std::io::Cursor;

fn container(sequence: i64) -> ContainerId {
    let attempt = spindle_types::ApplicationAttemptId::new(
        spindle_types::ApplicationId::new(1_700_000_000_000, 3),
        1,
    );
    ContainerId::new(attempt, 0, sequence)
}

fn source(name: &str, content: &str) -> LogFileSource<Cursor<Vec<u8>>> {
    LogFileSource {
        name: name.to_string(),
        length: content.len() as u64,
        content: Cursor::new(content.as_bytes().to_vec()),
    }
}

/// A file of two containers: one with stdout and stderr, one with an empty stdout.
fn sample() -> Vec<u8> {
    let mut writer = AggregatedLogWriter::new(Vec::new(), "alice").unwrap();
    writer
        .add_container(
            container(1),
            vec![source("stderr", "oops\n"), source("stdout", "hello\n")],
        )
        .unwrap();
    writer
        .add_container(container(2), vec![source("stdout", "")])
        .unwrap();
    writer.finish().unwrap()
}

fn index_of(bytes: &[u8]) -> Result<LogIndex, (u64, Malformation)> {
    index(Cursor::new(bytes), bytes.len() as u64).map_err(|e| match e {
        IndexError::Malformed { offset, problem } => (offset, problem),
        IndexError::Io(e) => panic!("{e}"),
    })
}

fn content(bytes: &[u8], entry: &LogEntry) -> String {
    let start = entry.offset as usize;
    String::from_utf8(bytes[start..start + entry.length as usize].to_vec()).unwrap()
}

#[test]
fn what_is_written_reads_back() {
    let bytes = sample();
    let index = index_of(&bytes).unwrap();
    assert_eq!(index.owner, "alice");
    let ids: Vec<ContainerId> = index.containers.iter().map(|c| c.container_id).collect();
    assert_eq!(ids, [container(1), container(2)]);
    let first = &index.containers[0].files;
    assert_eq!(
        first.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["stderr", "stdout"]
    );
    assert_eq!(content(&bytes, &first[0]), "oops\n");
    assert_eq!(content(&bytes, &first[1]), "hello\n");
    assert_eq!(index.containers[1].files[0].length, 0);
}

#[test]
fn the_record_encoding_is_yarns() {
    // Within a container record: name, length in decimal, then the bytes.
    let bytes = sample();
    let record = b"\x00\x06stdout\x00\x016hello\n";
    assert!(bytes.windows(record.len()).any(|w| w == record));
    let key = container(1).to_string();
    let mut head = (key.len() as u16).to_be_bytes().to_vec();
    head.extend_from_slice(key.as_bytes());
    assert!(bytes.windows(head.len()).any(|w| w == head));
    assert!(bytes.starts_with(MAGIC));
}

#[test]
fn a_file_with_no_container_is_valid() {
    let bytes = AggregatedLogWriter::new(Vec::new(), "bob")
        .unwrap()
        .finish()
        .unwrap();
    let index = index_of(&bytes).unwrap();
    assert_eq!((index.owner.as_str(), index.containers.len()), ("bob", 0));
}

#[test]
fn every_cut_short_file_is_an_error_never_a_panic() {
    let bytes = sample();
    for length in 0..bytes.len() {
        let (offset, problem) = index_of(&bytes[..length]).unwrap_err();
        assert!(offset <= length as u64, "{length}: {offset}");
        assert!(
            matches!(
                problem,
                Malformation::Truncated { .. } | Malformation::BadMagic
            ),
            "{length}: {problem}"
        );
    }
}

#[test]
fn every_corrupted_byte_is_an_error_or_an_intact_structure() {
    // Flipping any one byte either breaks the structure (an error) or changes only content
    // (the same structure); it never panics.
    let bytes = sample();
    let intact = index_of(&bytes).unwrap();
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= flip;
            if let Ok(index) = index_of(&corrupt) {
                assert_eq!(
                    index.containers.len(),
                    intact.containers.len(),
                    "byte {at} ^ {flip:#x}"
                );
            }
        }
    }
}

#[test]
fn malformed_files_say_what_is_wrong() {
    let bytes = sample();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        index_of(&trailing).unwrap_err().1,
        Malformation::TrailingBytes(1)
    );
    assert_eq!(
        index_of(b"PK\x03\x04 a zip").unwrap_err().1,
        Malformation::BadMagic
    );
    // The end record counts one container too many.
    let mut count = bytes.clone();
    let last = count.len() - 1;
    count[last] = 3;
    assert_eq!(
        index_of(&count).unwrap_err().1,
        Malformation::CountMismatch {
            counted: 3,
            found: 2
        }
    );
    // Version 2.
    let mut version = bytes.clone();
    let at = MAGIC.len() + 2 + VERSION_KEY.len() + 8 + 3;
    version[at] = 2;
    assert_eq!(
        index_of(&version).unwrap_err(),
        ((at - 3) as u64, Malformation::UnsupportedVersion(2))
    );
}

/// Builds a file by hand: the header, then `containers` raw records, then the end record.
fn handmade(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = AggregatedLogWriter::new(Vec::new(), "alice").unwrap().out;
    for (key, value) in records {
        write_record_head(&mut out, key, value.len() as u64).unwrap();
        out.extend_from_slice(value);
    }
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&(records.len() as u32).to_be_bytes());
    out
}

#[test]
fn bad_records_are_refused() {
    let id = container(1).to_string();
    let cases: Vec<(Vec<u8>, Malformation)> = vec![
        (
            handmade(&[("not_a_container", b"")]),
            Malformation::NotAContainer("not_a_container".into()),
        ),
        (
            handmade(&[(&id, b""), (&id, b"")]),
            Malformation::DuplicateContainer(container(1)),
        ),
        (
            handmade(&[(&id, b"\x00\x06stdout\x00\x02-1")]),
            Malformation::BadFileLength {
                name: "stdout".into(),
                length: "-1".into(),
            },
        ),
        (
            handmade(&[(&id, b"\x00\x06stdout\x00\x00")]),
            Malformation::BadFileLength {
                name: "stdout".into(),
                length: "".into(),
            },
        ),
        (
            handmade(&[(&id, b"\x00\x06stdout\x00\x1499999999999999999999")]),
            Malformation::BadFileLength {
                name: "stdout".into(),
                length: "99999999999999999999".into(),
            },
        ),
        (
            handmade(&[(&id, b"\x00\x06stdout\x00\x019ab")]),
            Malformation::FilePastRecord {
                name: "stdout".into(),
                length: 9,
            },
        ),
        (
            handmade(&[(&id, b"\x00\x00\x00\x010")]),
            Malformation::EmptyName {
                name: String::new(),
            },
        ),
        (
            handmade(&[(&id, b"\x00\x02\xff\xfe")]),
            Malformation::NotUtf8,
        ),
    ];
    for (bytes, expected) in cases {
        let problem = index_of(&bytes).unwrap_err().1;
        assert_eq!(problem, expected);
    }
    // A name whose length runs past its record: the record is 3 bytes, the name claims 6.
    let bytes = handmade(&[(&id, b"\x00\x06s"), (&container(2).to_string(), b"")]);
    assert!(matches!(
        index_of(&bytes).unwrap_err().1,
        Malformation::FilePastRecord { .. }
    ));
}

#[test]
fn a_huge_claimed_length_allocates_nothing() {
    // A record claiming u64::MAX bytes in a small file is cut short, not allocated.
    let id = container(1).to_string();
    let mut bytes = AggregatedLogWriter::new(Vec::new(), "alice").unwrap().out;
    write_record_head(&mut bytes, &id, u64::MAX).unwrap();
    assert!(matches!(
        index_of(&bytes).unwrap_err().1,
        Malformation::Truncated { .. }
    ));
}

#[test]
fn a_source_shorter_than_announced_fails_the_write() {
    let mut writer = AggregatedLogWriter::new(Vec::new(), "alice").unwrap();
    let short = LogFileSource {
        name: "stdout".to_string(),
        length: 10,
        content: Cursor::new(b"abc".to_vec()),
    };
    let error = writer.add_container(container(1), vec![short]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(error.to_string().contains("shrank"), "{error}");
}

#[test]
fn opened_files_name_themselves_in_errors_and_read_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host_1234");
    let bytes = sample();
    std::fs::write(&path, &bytes).unwrap();
    let file = AggregatedLogFile::open(&path).unwrap();
    assert_eq!(file.owner(), "alice");
    let stdout = &file.containers()[0].files[1];
    let mut out = Vec::new();
    file.copy_to(stdout, 1..4, &mut out).unwrap();
    assert_eq!(out, b"ell");
    out.clear();
    file.copy_to(stdout, 3..1000, &mut out).unwrap();
    assert_eq!(out, b"lo\n");

    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let error = AggregatedLogFile::open(&path).err().unwrap().to_string();
    assert!(
        error.contains(&path.display().to_string()) && error.contains("ends early"),
        "{error}"
    );
    let missing = AggregatedLogFile::open(&dir.path().join("gone"))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("gone"), "{missing}");
}
