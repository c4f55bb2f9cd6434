//! The NM recovery store: one redb file, `<yarn.nodemanager.recovery.dir>/nm-state.redb`, with a
//! table per kind of record. Every write is one transaction committed with fsync before the NM
//! acts on it, so a crash leaves the file at the last committed step.
//!
//! Tables (every value a prost record of `yarn_server_nodemanager_recovery.proto`):
//! `meta` (`version`, `master-keys`), `containers` (by container id), `applications` (by
//! application id), `localized` (by local path), `stopped` (by `<time>/<container id>`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use prost::Message;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use spindle_proto::yarn::{NmMasterKeysProto, NmStateVersionProto};
use spindle_types::{ApplicationId, ContainerId};

use super::error::{RecordError, RecoveryError};
use super::records::{
    decode_master_keys, decode_record, encode_record, ApplicationRecord, ContainerRecord,
    LocalizedRecord, StoppedContainer,
};

/// redb's page cache for the recovery store.
const CACHE_BYTES: usize = 4 << 20;

/// The store's file inside the recovery directory.
pub const STORE_FILE_NAME: &str = "nm-state.redb";

/// The version this NM writes; it reads stores of the same major version.
const VERSION: (i32, i32) = (1, 0);

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");
const APPLICATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("applications");
const LOCALIZED: TableDefinition<&str, &[u8]> = TableDefinition::new("localized");
const STOPPED: TableDefinition<&str, &[u8]> = TableDefinition::new("stopped");

const META_VERSION: &str = "version";
const META_MASTER_KEYS: &str = "master-keys";

/// The tables whose records can be bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Meta,
    Containers,
    Applications,
    Localized,
    Stopped,
}

impl Table {
    fn definition(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Table::Meta => META,
            Table::Containers => CONTAINERS,
            Table::Applications => APPLICATIONS,
            Table::Localized => LOCALIZED,
            Table::Stopped => STOPPED,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Containers => "containers",
            Table::Applications => "applications",
            Table::Localized => "localized",
            Table::Stopped => "stopped",
        }
    }
}

/// A record that could not be taken back, with its place and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub table: Table,
    pub key: String,
    pub error: RecordError,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}: {}", self.table.name(), self.key, self.error)
    }
}

/// Everything the store held, checked; bad records are set apart (the caller logs and discards
/// them).
#[derive(Debug, Default)]
pub struct RecoveredState {
    /// In container id order.
    pub containers: Vec<ContainerRecord>,
    pub applications: Vec<ApplicationRecord>,
    pub localized: Vec<LocalizedRecord>,
    pub master_keys: Option<NmMasterKeysProto>,
    /// Oldest first.
    pub stopped: Vec<StoppedContainer>,
    pub bad: Vec<BadRecord>,
}

/// The NM's recovery store.
pub struct NmStateStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for NmStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NmStateStore")
            .field("path", &self.path)
            .finish()
    }
}

impl NmStateStore {
    /// Opens (or creates) the store in `dir`, a directory only the NM's user can enter (it holds
    /// the RM's master keys); fails if another NM has it open or its version is not this NM's.
    pub fn open(dir: &Path) -> Result<Self, RecoveryError> {
        let path = dir.join(STORE_FILE_NAME);
        let failed = |message: String| RecoveryError::Store {
            path: path.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        // redb caches up to 1 GiB by default; the NM's records are small and read once, at
        // start: a small cache keeps the daemon's memory flat as the file grows.
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    failed("another NodeManager has this recovery store open".to_string())
                }
                other => failed(other.to_string()),
            })?;
        let store = Self { db, path };
        let version = store.read_version()?;
        match version {
            Some((major, minor)) if major != VERSION.0 => {
                return Err(RecoveryError::Version {
                    path: store.path.display().to_string(),
                    found: format!("{major}.{minor}"),
                    expected: format!("{}.{}", VERSION.0, VERSION.1),
                })
            }
            Some(_) => {}
            None => {
                let record = NmStateVersionProto {
                    major_version: Some(VERSION.0),
                    minor_version: Some(VERSION.1),
                }
                .encode_to_vec();
                store.write(|txn| {
                    txn.open_table(META)?
                        .insert(META_VERSION, record.as_slice())?;
                    Ok(())
                })?;
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, error: impl std::fmt::Display) -> RecoveryError {
        RecoveryError::Store {
            path: self.path.display().to_string(),
            message: error.to_string(),
        }
    }

    /// One transaction: every table exists inside it; committed (with fsync) when `f` succeeds.
    fn write(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), RecoveryError> {
        let txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        let result = (|| -> Result<(), redb::Error> {
            for table in [META, CONTAINERS, APPLICATIONS, LOCALIZED, STOPPED] {
                txn.open_table(table)?;
            }
            f(&txn)
        })();
        match result {
            Ok(()) => txn.commit().map_err(|e| self.failed(e)),
            Err(e) => {
                let _ = txn.abort();
                Err(self.failed(e))
            }
        }
    }

    fn read_version(&self) -> Result<Option<(i32, i32)>, RecoveryError> {
        let rows = self.rows(Table::Meta)?;
        let Some((_, bytes)) = rows.iter().find(|(key, _)| key == META_VERSION) else {
            return Ok(None);
        };
        let version: NmStateVersionProto = decode_record(bytes).map_err(|e| {
            self.failed(format!(
                "the version record cannot be read ({e}): move the directory away"
            ))
        })?;
        Ok(Some((version.major_version(), version.minor_version())))
    }

    /// Every row of `table`, as stored.
    fn rows(&self, table: Table) -> Result<Vec<(String, Vec<u8>)>, RecoveryError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let read = || -> Result<Vec<(String, Vec<u8>)>, redb::Error> {
            let table = match txn.open_table(table.definition()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let mut rows = Vec::new();
            for row in table.iter()? {
                let (key, value) = row?;
                rows.push((key.value().to_string(), value.value().to_vec()));
            }
            Ok(rows)
        };
        read().map_err(|e| self.failed(e))
    }

    /// Reads and checks every record.
    pub fn load(&self) -> Result<RecoveredState, RecoveryError> {
        let mut state = RecoveredState::default();
        let mut bad = |table, key: &str, error| {
            state.bad.push(BadRecord {
                table,
                key: key.to_string(),
                error,
            })
        };
        let mut containers = Vec::new();
        for (key, bytes) in self.rows(Table::Containers)? {
            match ContainerRecord::decode(&key, &bytes) {
                Ok(record) => containers.push(record),
                Err(error) => bad(Table::Containers, &key, error),
            }
        }
        let mut applications = Vec::new();
        for (key, bytes) in self.rows(Table::Applications)? {
            match ApplicationRecord::decode(&key, &bytes) {
                Ok(record) => applications.push(record),
                Err(error) => bad(Table::Applications, &key, error),
            }
        }
        let mut localized = Vec::new();
        for (key, bytes) in self.rows(Table::Localized)? {
            match LocalizedRecord::decode(&key, &bytes) {
                Ok(record) => localized.push(record),
                Err(error) => bad(Table::Localized, &key, error),
            }
        }
        let mut stopped = Vec::new();
        for (key, bytes) in self.rows(Table::Stopped)? {
            match StoppedContainer::decode(&key, &bytes) {
                Ok(record) => stopped.push(record),
                Err(error) => bad(Table::Stopped, &key, error),
            }
        }
        let mut master_keys = None;
        for (key, bytes) in self.rows(Table::Meta)? {
            match key.as_str() {
                META_VERSION => {}
                META_MASTER_KEYS => match decode_master_keys(&bytes) {
                    Ok(keys) => master_keys = Some(keys),
                    Err(error) => bad(Table::Meta, &key, error),
                },
                _ => bad(
                    Table::Meta,
                    &key,
                    RecordError::Invalid("unknown metadata record".into()),
                ),
            }
        }
        state.containers = containers;
        state.applications = applications;
        state.localized = localized;
        state.stopped = stopped;
        state.master_keys = master_keys;
        Ok(state)
    }

    /// Deletes records, bad ones or ones the NM no longer needs.
    pub fn discard(&self, records: &[(Table, String)]) -> Result<(), RecoveryError> {
        if records.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            for (table, key) in records {
                txn.open_table(table.definition())?.remove(key.as_str())?;
            }
            Ok(())
        })
    }

    /// Writes (or replaces) a container's record; an oversized record is refused.
    pub fn store_container(&self, record: &ContainerRecord) -> Result<(), RecoveryError> {
        let bytes = record.encode().map_err(|e| {
            self.failed(format!(
                "the record of {} cannot be written: {e}",
                record.container_id()
            ))
        })?;
        let key = record.container_id().to_string();
        self.write(|txn| {
            txn.open_table(CONTAINERS)?
                .insert(key.as_str(), bytes.as_slice())?;
            Ok(())
        })
    }

    /// Forgets a container (its completion reached the AM): its record goes, its id is kept in
    /// `stopped` until `retain_from_ms`-old entries are dropped, which this write also does.
    pub fn forget_container(
        &self,
        stopped: StoppedContainer,
        retain_from_ms: i64,
    ) -> Result<(), RecoveryError> {
        let bytes = stopped.encode().map_err(|e| self.failed(e))?;
        let key = stopped.key();
        let cutoff = format!("{:020}", retain_from_ms.max(0));
        self.write(|txn| {
            txn.open_table(CONTAINERS)?
                .remove(stopped.container_id.to_string().as_str())?;
            let mut table = txn.open_table(STOPPED)?;
            table.retain_in(..cutoff.as_str(), |_, _| false)?;
            table.insert(key.as_str(), bytes.as_slice())?;
            Ok(())
        })
    }

    /// Drops `stopped` entries older than `retain_from_ms`.
    pub fn prune_stopped(&self, retain_from_ms: i64) -> Result<(), RecoveryError> {
        let cutoff = format!("{:020}", retain_from_ms.max(0));
        self.write(|txn| {
            txn.open_table(STOPPED)?
                .retain_in(..cutoff.as_str(), |_, _| false)?;
            Ok(())
        })
    }

    pub fn store_application(&self, record: &ApplicationRecord) -> Result<(), RecoveryError> {
        let bytes = record.encode().map_err(|e| self.failed(e))?;
        let key = record.application_id.to_string();
        self.write(|txn| {
            txn.open_table(APPLICATIONS)?
                .insert(key.as_str(), bytes.as_slice())?;
            Ok(())
        })
    }

    pub fn remove_application(&self, application_id: ApplicationId) -> Result<(), RecoveryError> {
        self.discard(&[(Table::Applications, application_id.to_string())])
    }

    pub fn store_localized(&self, record: &LocalizedRecord) -> Result<(), RecoveryError> {
        let bytes = record.encode().map_err(|e| self.failed(e))?;
        let key = record.key();
        self.write(|txn| {
            txn.open_table(LOCALIZED)?
                .insert(key.as_str(), bytes.as_slice())?;
            Ok(())
        })
    }

    pub fn remove_localized(&self, paths: &[PathBuf]) -> Result<(), RecoveryError> {
        let records: Vec<(Table, String)> = paths
            .iter()
            .map(|p| (Table::Localized, p.to_string_lossy().into_owned()))
            .collect();
        self.discard(&records)
    }

    pub fn store_master_keys(&self, keys: &NmMasterKeysProto) -> Result<(), RecoveryError> {
        let bytes = encode_record(keys).map_err(|e| self.failed(e))?;
        self.write(|txn| {
            txn.open_table(META)?
                .insert(META_MASTER_KEYS, bytes.as_slice())?;
            Ok(())
        })
    }

    /// The raw bytes under `key` of `table` (for tests that damage records).
    #[doc(hidden)]
    pub fn put_raw(&self, table: Table, key: &str, bytes: &[u8]) -> Result<(), RecoveryError> {
        self.write(|txn| {
            txn.open_table(table.definition())?.insert(key, bytes)?;
            Ok(())
        })
    }

    /// The record stored for `container_id`, if any (unchecked beyond decoding).
    pub fn container(
        &self,
        container_id: ContainerId,
    ) -> Result<Option<ContainerRecord>, RecoveryError> {
        let key = container_id.to_string();
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let bytes = (|| -> Result<Option<Vec<u8>>, redb::Error> {
            let table = match txn.open_table(CONTAINERS) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let bytes = table.get(key.as_str())?.map(|value| value.value().to_vec());
            Ok(bytes)
        })()
        .map_err(|e| self.failed(e))?;
        bytes
            .map(|bytes| ContainerRecord::decode(&key, &bytes).map_err(|e| self.failed(e)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::ContainerLaunchSpec;
    use crate::recovery::RecordedStatus;
    use spindle_types::{ApplicationAttemptId, Resource};

    fn container(sequence: i64) -> ContainerId {
        ContainerId::new(
            ApplicationAttemptId::new(ApplicationId::new(1700000000000, 1), 1),
            0,
            sequence,
        )
    }

    fn record(sequence: i64, status: RecordedStatus) -> ContainerRecord {
        ContainerRecord {
            spec: ContainerLaunchSpec {
                container_id: container(sequence),
                user: "alice".into(),
                resource: Resource::new(256, 1),
                local_resources: Default::default(),
                environment: vec![],
                commands: vec!["true".into()],
                credentials: None,
                gpu_devices: vec![],
            },
            status,
            start_time_ms: 1,
            kill_exit_status: None,
            diagnostics: String::new(),
        }
    }

    #[test]
    fn records_survive_reopening_and_bad_ones_are_set_apart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = NmStateStore::open(dir.path()).unwrap();
            store
                .store_container(&record(2, RecordedStatus::Launched))
                .unwrap();
            store
                .store_container(&record(3, RecordedStatus::Completed { exit_status: 7 }))
                .unwrap();
            store
                .put_raw(Table::Containers, &container(4).to_string(), b"garbage")
                .unwrap();
            store
                .put_raw(
                    Table::Containers,
                    &container(5).to_string(),
                    &vec![0u8; MAX + 1],
                )
                .unwrap();
        }
        let store = NmStateStore::open(dir.path()).unwrap();
        let state = store.load().unwrap();
        let ids: Vec<_> = state.containers.iter().map(|r| r.container_id()).collect();
        assert_eq!(ids, [container(2), container(3)]);
        assert_eq!(
            state.containers[1].status,
            RecordedStatus::Completed { exit_status: 7 }
        );
        let bad: Vec<_> = state.bad.iter().map(|b| b.key.clone()).collect();
        assert_eq!(bad, [container(4).to_string(), container(5).to_string()]);
        assert!(matches!(state.bad[1].error, RecordError::TooLarge { .. }));
        store
            .discard(&[(Table::Containers, container(4).to_string())])
            .unwrap();
        assert_eq!(store.load().unwrap().bad.len(), 1);
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    const MAX: usize = crate::recovery::MAX_RECORD_BYTES;

    #[test]
    fn forgotten_containers_are_kept_for_the_retention_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = NmStateStore::open(dir.path()).unwrap();
        for (sequence, at) in [(2, 1_000), (3, 5_000)] {
            store
                .store_container(&record(
                    sequence,
                    RecordedStatus::Completed { exit_status: 0 },
                ))
                .unwrap();
            store
                .forget_container(
                    StoppedContainer {
                        container_id: container(sequence),
                        forgotten_ms: at,
                    },
                    at - 2_000,
                )
                .unwrap();
        }
        let state = store.load().unwrap();
        assert!(state.containers.is_empty());
        // The second forget dropped the first (older than 5 000 - 2 000).
        assert_eq!(
            state.stopped,
            [StoppedContainer {
                container_id: container(3),
                forgotten_ms: 5_000
            }]
        );
        store.prune_stopped(6_000).unwrap();
        assert!(store.load().unwrap().stopped.is_empty());
    }

    #[test]
    fn another_version_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = NmStateStore::open(dir.path()).unwrap();
            let version = NmStateVersionProto {
                major_version: Some(2),
                minor_version: Some(0),
            };
            store
                .put_raw(Table::Meta, META_VERSION, &version.encode_to_vec())
                .unwrap();
        }
        let error = NmStateStore::open(dir.path()).unwrap_err();
        assert!(matches!(error, RecoveryError::Version { .. }), "{error}");
    }
}
