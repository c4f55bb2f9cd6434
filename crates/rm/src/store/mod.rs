//! The RM state store: what must survive a ResourceManager restart (applications with their
//! submissions, attempts, the epoch, the master keys), written before the RM acts on it where
//! YARN requires it, and read back before the RM opens its ports.
//!
//! A [`StateStore`] is a dumb, transactional key-value backend: [`embedded::EmbeddedStore`] (one
//! redb file, the default) or [`memory::MemoryStore`]. What the records mean, and the strict
//! checks on reading them back, live in [`records`]; when the core writes what, in
//! `core/durability.rs`.

pub mod embedded;
pub mod memory;
pub mod records;
pub mod zookeeper;

use spindle_types::{ApplicationAttemptId, ApplicationId};

pub use records::{StoredApp, StoredState};

/// `yarn.resourcemanager.store.class` values Spindle accepts, and what each means here.
pub mod classes {
    /// YARN's default store; in Spindle the embedded database at the same path.
    pub const FILE_SYSTEM: &str =
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore";
    /// The embedded database, as YARN's LevelDB store.
    pub const LEVELDB: &str =
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.LeveldbRMStateStore";
    /// The ZooKeeper store (HA).
    pub const ZOOKEEPER: &str =
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore";
    /// Kept in memory: survives nothing (tests).
    pub const MEMORY: &str =
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.MemoryRMStateStore";
    /// No store: recovery off.
    pub const NULL: &str =
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore";
}

/// A state-store failure, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not read or write (disk full, I/O error, locked by another RM).
    #[error("state store {path}: {message}")]
    Backend { path: String, message: String },
    /// A record is not what Spindle writes (corrupt, truncated, too large, or from elsewhere).
    #[error("state store record {key}: {message}")]
    BadRecord { key: String, message: String },
    /// Another RM has claimed the store (ZooKeeper fencing): this one must stop acting as active.
    #[error("state store fenced: {message}")]
    Fenced { message: String },
    /// The store was written by an incompatible version of Spindle.
    #[error("state store version {found} cannot be read by this ResourceManager (it reads {expected}); move the store away or format it")]
    Version { found: String, expected: String },
}

/// One change to the store. Writes of one batch are applied in order, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreWrite {
    /// The application's record (an `ApplicationStateDataProto`), created or replaced.
    App { id: ApplicationId, record: Vec<u8> },
    /// An attempt's record (an `ApplicationAttemptStateDataProto`), created or replaced.
    Attempt {
        id: ApplicationAttemptId,
        record: Vec<u8>,
    },
    /// The application and the named attempts are forgotten (retention).
    RemoveApp {
        id: ApplicationId,
        attempts: Vec<ApplicationAttemptId>,
    },
    /// A metadata record (version, epoch, master keys) under its name.
    Meta { name: &'static str, record: Vec<u8> },
}

/// Everything a store holds, as raw records; [`records::decode`] checks and reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawState {
    /// Metadata records by name.
    pub meta: Vec<(String, Vec<u8>)>,
    /// Application records keyed by application id text.
    pub apps: Vec<(String, Vec<u8>)>,
    /// Attempt records keyed by attempt id text.
    pub attempts: Vec<(String, Vec<u8>)>,
}

/// A transactional backend for the RM's records.
pub trait StateStore: Send {
    /// Reads every record (once, at start).
    fn load(&mut self) -> Result<RawState, StoreError>;
    /// Applies `writes` in order as one transaction, durable when this returns.
    fn apply(&mut self, writes: &[StoreWrite]) -> Result<(), StoreError>;
    /// The class name reports show (`yarn.resourcemanager.store.class`).
    fn class_name(&self) -> &'static str;
}

/// The store `yarn.resourcemanager.recovery.enabled` and `yarn.resourcemanager.store.class`
/// select, None when recovery is off. YARN's file-system and LevelDB stores are the embedded
/// database at their configured path (`yarn.resourcemanager.fs.state-store.uri`, a local path
/// or `file://` URI; `yarn.resourcemanager.leveldb-state-store.path`).
pub fn from_configuration(
    conf: &spindle_conf::Configuration,
) -> Result<Option<Box<dyn StateStore>>, String> {
    use spindle_conf::keys;
    let enabled = conf
        .get_bool(keys::RM_RECOVERY_ENABLED)
        .map_err(|e| e.to_string())?
        .unwrap_or(false);
    if !enabled {
        return Ok(None);
    }
    let class = conf
        .get(keys::RM_STORE_CLASS)
        .unwrap_or(classes::FILE_SYSTEM)
        .trim();
    let path_of = |key: &str| -> Result<std::path::PathBuf, String> {
        let value = conf
            .get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{key} must name the state store's directory"))?;
        let path = match value.split_once("://") {
            None => value,
            Some(("file", rest)) => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "{key} = {value}: only local paths are supported, not {scheme}://"
                ))
            }
        };
        Ok(std::path::PathBuf::from(path))
    };
    let open = |key: &str, name: &'static str| -> Result<Option<Box<dyn StateStore>>, String> {
        let dir = path_of(key)?;
        let store = embedded::EmbeddedStore::open(&dir, name).map_err(|e| e.to_string())?;
        Ok(Some(Box::new(store)))
    };
    match class {
        classes::FILE_SYSTEM => open(keys::RM_FS_STATE_STORE_URI, classes::FILE_SYSTEM),
        classes::LEVELDB => open(keys::RM_LEVELDB_STATE_STORE_PATH, classes::LEVELDB),
        classes::MEMORY => Ok(Some(Box::new(memory::MemoryStore::new()))),
        classes::NULL => Ok(None),
        classes::ZOOKEEPER => {
            let store =
                zookeeper::ZkStore::open(zookeeper_settings(conf)?).map_err(|e| e.to_string())?;
            Ok(Some(Box::new(store)))
        }
        other => Err(format!(
            "{} = {other}: unknown state store (Spindle knows {}, {}, {} and {})",
            keys::RM_STORE_CLASS,
            classes::FILE_SYSTEM,
            classes::LEVELDB,
            classes::MEMORY,
            classes::NULL
        )),
    }
}

/// The ZooKeeper store's settings: `hadoop.zk.address` (or the deprecated
/// `yarn.resourcemanager.zk-address`), `yarn.resourcemanager.zk-state-store.parent-path`
/// (`/rmstore`), `hadoop.zk.timeout-ms` (or `yarn.resourcemanager.zk-timeout-ms`; 10 s), and this
/// RM's `yarn.resourcemanager.address` as the identity that claims the root.
pub fn zookeeper_settings(
    conf: &spindle_conf::Configuration,
) -> Result<zookeeper::ZkSettings, String> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| conf.get(n).map(str::trim).filter(|v| !v.is_empty()))
            .map(str::to_string)
    };
    let address = first(&["hadoop.zk.address", "yarn.resourcemanager.zk-address"]).ok_or(
        "hadoop.zk.address must name the ZooKeeper servers (host:port,...) for ZKRMStateStore",
    )?;
    let timeout_ms = match first(&["hadoop.zk.timeout-ms", "yarn.resourcemanager.zk-timeout-ms"]) {
        None => 10_000,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or(format!(
                "hadoop.zk.timeout-ms = {text}: not a positive number of milliseconds"
            ))?,
    };
    Ok(zookeeper::ZkSettings {
        address,
        parent_path: first(&["yarn.resourcemanager.zk-state-store.parent-path"])
            .unwrap_or_else(|| "/rmstore".into()),
        session_timeout: std::time::Duration::from_millis(timeout_ms),
        fencing_user: conf
            .get(spindle_conf::keys::RM_ADDRESS)
            .unwrap_or("resourcemanager")
            .to_string(),
    })
}
