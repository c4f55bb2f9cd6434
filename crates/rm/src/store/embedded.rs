//! The default state store: one transactional redb file in the RM's state directory. Every batch
//! of writes is one transaction committed with fsync before the RM acts on it; a crash leaves the
//! file at the last committed transaction. A failed write (a full disk) leaves redb refusing
//! every later transaction until the file is opened again; the store does that on its next call,
//! so the RM's retries succeed once the disk has room, without a restart.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{RawState, StateStore, StoreError, StoreWrite};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
const ATTEMPTS: TableDefinition<&str, &[u8]> = TableDefinition::new("attempts");

/// redb's page cache for the store.
const CACHE_BYTES: usize = 16 << 20;

/// The file name inside the state directory.
pub const FILE_NAME: &str = "rmstore.redb";

/// The embedded store at `<dir>/rmstore.redb`.
pub struct EmbeddedStore {
    /// None after a failed transaction: opened again on the next call.
    db: Option<Database>,
    path: PathBuf,
    class_name: &'static str,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`; fails if another process has it open.
    pub fn open(dir: &Path, class_name: &'static str) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        let backend = |message: String| StoreError::Backend {
            path: path.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let mut store = Self {
            db: None,
            path,
            class_name,
        };
        store.database()?;
        // Create the tables, so that a fresh store reads back empty.
        store.write(|_| Ok(()))?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open database, opening the file (again) if needed.
    fn database(&mut self) -> Result<&Database, StoreError> {
        if self.db.is_none() {
            // redb caches up to 1 GiB by default; the store is written far more than read (it is
            // read once, at start), so a small cache keeps the RM's memory flat as it grows.
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&self.path)
                .map_err(|e| match e {
                    redb::DatabaseError::DatabaseAlreadyOpen => {
                        self.backend("another ResourceManager has this state store open")
                    }
                    other => self.backend(other),
                })?;
            self.db = Some(db);
        }
        Ok(self.db.as_ref().expect("just opened"))
    }

    /// An error of the open database: the next call opens the file again (redb refuses every
    /// transaction after an I/O error until then).
    fn failed(&mut self, e: impl std::fmt::Display) -> StoreError {
        self.db = None;
        tracing::warn!(
            "state store {}: {e}; opening it again on the next write",
            self.path.display()
        );
        self.backend(e)
    }

    fn backend(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Backend {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn write(
        &mut self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), StoreError> {
        let txn = match self.database()?.begin_write() {
            Ok(txn) => txn,
            Err(e) => return Err(self.failed(e)),
        };
        let result = (|| -> Result<(), redb::Error> {
            txn.open_table(META)?;
            txn.open_table(APPS)?;
            txn.open_table(ATTEMPTS)?;
            f(&txn)
        })();
        let result = match result {
            Ok(()) => txn.commit().map_err(redb::Error::from),
            Err(e) => {
                let _ = txn.abort();
                Err(e)
            }
        };
        result.map_err(|e| self.failed(e))
    }
}

impl StateStore for EmbeddedStore {
    fn load(&mut self) -> Result<RawState, StoreError> {
        let txn = match self.database()?.begin_read() {
            Ok(txn) => txn,
            Err(e) => return Err(self.failed(e)),
        };
        let read =
            |def: TableDefinition<&str, &[u8]>| -> Result<Vec<(String, Vec<u8>)>, redb::Error> {
                let table = txn.open_table(def)?;
                let mut rows = Vec::new();
                for row in table.iter()? {
                    let (key, value) = row?;
                    rows.push((key.value().to_string(), value.value().to_vec()));
                }
                Ok(rows)
            };
        let state = (|| -> Result<RawState, redb::Error> {
            Ok(RawState {
                meta: read(META)?,
                apps: read(APPS)?,
                attempts: read(ATTEMPTS)?,
            })
        })();
        drop(txn);
        state.map_err(|e| self.failed(e))
    }

    fn apply(&mut self, writes: &[StoreWrite]) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut meta = txn.open_table(META)?;
            let mut apps = txn.open_table(APPS)?;
            let mut attempts = txn.open_table(ATTEMPTS)?;
            for write in writes {
                match write {
                    StoreWrite::App { id, record } => {
                        apps.insert(id.to_string().as_str(), record.as_slice())?;
                    }
                    StoreWrite::Attempt { id, record } => {
                        attempts.insert(id.to_string().as_str(), record.as_slice())?;
                    }
                    StoreWrite::RemoveApp { id, attempts: ids } => {
                        apps.remove(id.to_string().as_str())?;
                        for attempt in ids {
                            attempts.remove(attempt.to_string().as_str())?;
                        }
                    }
                    StoreWrite::Meta { name, record } => {
                        meta.insert(*name, record.as_slice())?;
                    }
                }
            }
            Ok(())
        })
    }

    fn class_name(&self) -> &'static str {
        self.class_name
    }
}
