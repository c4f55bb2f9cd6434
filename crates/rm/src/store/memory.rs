//! A state store kept in memory (YARN's `MemoryRMStateStore`): the same transactions as the
//! embedded store, lost with the process; tests hand one store to several cores to restart them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{RawState, StateStore, StoreError, StoreWrite};

#[derive(Default)]
struct Tables {
    meta: BTreeMap<String, Vec<u8>>,
    apps: BTreeMap<String, Vec<u8>>,
    attempts: BTreeMap<String, Vec<u8>>,
}

/// A memory store; clones share the same records (one "disk" for successive RM cores in a test).
#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    /// When set, every write fails with this message (a full disk, in tests).
    failing: Arc<Mutex<Option<String>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later write fail with `message` (None: writes succeed again).
    pub fn fail_writes(&self, message: Option<&str>) {
        *self.failing.lock().expect("memory store") = message.map(str::to_string);
    }

    /// Replaces a record as if the bytes on disk had changed (tests of corrupt stores).
    pub fn put_raw(&self, table: &str, key: &str, bytes: Vec<u8>) {
        let mut tables = self.tables.lock().expect("memory store");
        let table = match table {
            "meta" => &mut tables.meta,
            "apps" => &mut tables.apps,
            _ => &mut tables.attempts,
        };
        table.insert(key.to_string(), bytes);
    }
}

impl StateStore for MemoryStore {
    fn load(&mut self) -> Result<RawState, StoreError> {
        let tables = self.tables.lock().expect("memory store");
        let all =
            |t: &BTreeMap<String, Vec<u8>>| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(RawState {
            meta: all(&tables.meta),
            apps: all(&tables.apps),
            attempts: all(&tables.attempts),
        })
    }

    fn apply(&mut self, writes: &[StoreWrite]) -> Result<(), StoreError> {
        if let Some(message) = self.failing.lock().expect("memory store").clone() {
            return Err(StoreError::Backend {
                path: "memory".into(),
                message,
            });
        }
        let mut tables = self.tables.lock().expect("memory store");
        for write in writes {
            match write {
                StoreWrite::App { id, record } => {
                    tables.apps.insert(id.to_string(), record.clone());
                }
                StoreWrite::Attempt { id, record } => {
                    tables.attempts.insert(id.to_string(), record.clone());
                }
                StoreWrite::RemoveApp { id, attempts } => {
                    tables.apps.remove(&id.to_string());
                    for attempt in attempts {
                        tables.attempts.remove(&attempt.to_string());
                    }
                }
                StoreWrite::Meta { name, record } => {
                    tables.meta.insert(name.to_string(), record.clone());
                }
            }
        }
        Ok(())
    }

    fn class_name(&self) -> &'static str {
        super::classes::MEMORY
    }
}
