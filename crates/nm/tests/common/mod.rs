//! Shared helpers for the container and localization tests: an NM config over a tempdir, specs,
//! archive builders (including malicious ones) and /proc inspection.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use spindle_nm::container::{ContainerLaunchSpec, ContainerManager, NmContainerConfig};
use spindle_nm::localizer::{LocalResource, LocalResourceType, LocalResourceVisibility};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

pub struct Node {
    pub temp: tempfile::TempDir,
    pub manager: ContainerManager,
}

impl Node {
    pub fn local_dir(&self) -> PathBuf {
        self.temp.path().join("local")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.temp.path().join("logs")
    }
    pub fn source_dir(&self) -> PathBuf {
        let dir = self.temp.path().join("staging");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

pub fn config(root: &Path) -> NmContainerConfig {
    let mut config = NmContainerConfig::new(
        vec![root.join("local")],
        vec![root.join("logs")],
        "node1.example",
        8041,
        8042,
    );
    config.sigkill_delay = Duration::from_millis(250);
    config.monitor_interval = Duration::from_millis(100);
    config
}

pub fn node() -> Node {
    node_with(|_| {})
}

pub fn node_with(adjust: impl FnOnce(&mut NmContainerConfig)) -> Node {
    let temp = tempfile::tempdir().unwrap();
    let mut config = config(temp.path());
    adjust(&mut config);
    let manager = ContainerManager::new(config).unwrap();
    Node { temp, manager }
}

pub fn application(id: i32) -> ApplicationId {
    ApplicationId::new(1700000000000, id)
}

pub fn container_id(app: i32, sequence: i64) -> ContainerId {
    ContainerId::new(ApplicationAttemptId::new(application(app), 1), 0, sequence)
}

pub fn spec(id: ContainerId, commands: &[&str]) -> ContainerLaunchSpec {
    ContainerLaunchSpec {
        container_id: id,
        user: "alice".to_string(),
        resource: Resource::new(1024, 1),
        local_resources: BTreeMap::new(),
        environment: Vec::new(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        credentials: None,
        gpu_devices: Vec::new(),
    }
}

pub fn resource(path: &Path, resource_type: LocalResourceType) -> LocalResource {
    LocalResource::from_local_path(path, resource_type, LocalResourceVisibility::Application)
        .unwrap()
}

/// A zip with the given (name, contents) files.
pub fn write_zip(path: &Path, files: &[(&str, &[u8])]) {
    let mut writer = zip::ZipWriter::new(File::create(path).unwrap());
    for (name, contents) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(contents).unwrap();
    }
    writer.finish().unwrap();
}

/// A zip holding one symbolic link.
pub fn write_zip_with_symlink(path: &Path, link: &str, target: &str) {
    let mut writer = zip::ZipWriter::new(File::create(path).unwrap());
    writer
        .add_symlink(link, target, zip::write::SimpleFileOptions::default())
        .unwrap();
    writer
        .start_file("after-link/file", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(b"x").unwrap();
    writer.finish().unwrap();
}

/// One raw tar entry: its name, type, link name and contents, written without the tar crate's
/// own path checks so that malicious archives can be built.
pub struct RawTarEntry<'a> {
    pub name: &'a [u8],
    pub entry_type: tar::EntryType,
    pub link_name: &'a [u8],
    pub contents: &'a [u8],
}

pub fn file_entry<'a>(name: &'a str, contents: &'a [u8]) -> RawTarEntry<'a> {
    RawTarEntry {
        name: name.as_bytes(),
        entry_type: tar::EntryType::Regular,
        link_name: b"",
        contents,
    }
}

pub fn link_entry<'a>(
    name: &'a str,
    entry_type: tar::EntryType,
    target: &'a str,
) -> RawTarEntry<'a> {
    RawTarEntry {
        name: name.as_bytes(),
        entry_type,
        link_name: target.as_bytes(),
        contents: b"",
    }
}

/// A gzipped tar of raw entries.
pub fn write_tar_gz(path: &Path, entries: &[RawTarEntry]) {
    let encoder =
        flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for entry in entries {
        let mut header = tar::Header::new_old();
        {
            let old = header.as_old_mut();
            old.name[..entry.name.len()].copy_from_slice(entry.name);
            old.linkname[..entry.link_name.len()].copy_from_slice(entry.link_name);
        }
        header.set_entry_type(entry.entry_type);
        header.set_mode(if entry.entry_type == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_size(entry.contents.len() as u64);
        header.set_cksum();
        builder.append(&header, entry.contents).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// Live (non-zombie) processes whose session is `session`.
pub fn live_session_members(session: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.len() > 3 && fields[3] == session.to_string() && fields[0] != "Z" {
            members.push(pid);
        }
    }
    members
}

/// Waits up to two seconds for the session to have no live process (a signalled process dies
/// asynchronously); returns the processes still alive.
pub async fn wait_until_session_is_empty(session: i32) -> Vec<i32> {
    for _ in 0..200 {
        if live_session_members(session).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    live_session_members(session)
}

/// Reads a file the container writes, waiting up to five seconds for it to appear non-empty.
pub async fn wait_for_file(path: &Path) -> String {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} never appeared", path.display());
}

/// The real python3 executable (not a shim), for memory tests.
pub fn python3() -> String {
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}
