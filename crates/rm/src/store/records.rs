//! The store's records and the strict reading of them: a store's contents are outside input (a
//! disk may be corrupt, a file may come from elsewhere), so every record is size-checked, decoded
//! as the message its table holds, and checked against its key before the RM trusts it.

use std::collections::BTreeMap;

use prost::Message;
use spindle_proto::yarn::{
    ApplicationAttemptStateDataProto, ApplicationStateDataProto, EpochProto,
    RmMasterKeysStateProto, RmStateVersionProto,
};
use spindle_types::{ApplicationAttemptId, ApplicationId};

use super::{RawState, StoreError, StoreWrite};

/// The largest record the store writes or reads: YARN's default znode limit
/// (`yarn.resourcemanager.zk-max-znode-size.bytes`), so a store's records also fit ZooKeeper.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The version this RM writes; it reads stores of the same major version.
pub const VERSION: (i32, i32) = (1, 0);

/// Metadata record names.
pub mod meta {
    pub const VERSION: &str = "version";
    pub const EPOCH: &str = "epoch";
    pub const MASTER_KEYS: &str = "master-keys";
}

/// One stored application with its attempts in attempt order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredApp {
    pub id: ApplicationId,
    pub data: ApplicationStateDataProto,
    pub attempts: Vec<(ApplicationAttemptId, ApplicationAttemptStateDataProto)>,
}

/// What a store held, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredState {
    /// The epoch stored by the last start (this start's epoch), None on a fresh store.
    pub epoch: Option<i64>,
    pub keys: Option<RmMasterKeysStateProto>,
    /// Applications in id order.
    pub apps: Vec<StoredApp>,
}

impl StoredState {
    pub fn is_empty(&self) -> bool {
        self.epoch.is_none() && self.keys.is_none() && self.apps.is_empty()
    }
}

fn bad(key: &str, message: impl Into<String>) -> StoreError {
    StoreError::BadRecord {
        key: key.to_string(),
        message: message.into(),
    }
}

fn decode_record<M: Message + Default>(key: &str, bytes: &[u8]) -> Result<M, StoreError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(bad(
            key,
            format!(
                "{} bytes is more than the {MAX_RECORD_BYTES}-byte record limit",
                bytes.len()
            ),
        ));
    }
    M::decode(bytes).map_err(|e| bad(key, format!("not a valid record: {e}")))
}

/// Checks and reads everything a store returned.
pub fn decode(raw: RawState) -> Result<StoredState, StoreError> {
    let mut state = StoredState::default();
    let mut version = None;
    for (name, bytes) in &raw.meta {
        let key = format!("meta/{name}");
        match name.as_str() {
            meta::VERSION => {
                let v: RmStateVersionProto = decode_record(&key, bytes)?;
                version = Some((v.major_version(), v.minor_version()));
            }
            meta::EPOCH => {
                let e: EpochProto = decode_record(&key, bytes)?;
                let epoch = e.epoch.ok_or_else(|| bad(&key, "the epoch is missing"))?;
                if !(0..(1 << 24)).contains(&epoch) {
                    return Err(bad(&key, format!("epoch {epoch} is outside 0..2^24")));
                }
                state.epoch = Some(epoch);
            }
            meta::MASTER_KEYS => {
                let k: RmMasterKeysStateProto = decode_record(&key, bytes)?;
                for (what, master) in [
                    ("amrm_current_master_key", &k.amrm_current_master_key),
                    ("container_master_key", &k.container_master_key),
                    ("nm_token_master_key", &k.nm_token_master_key),
                ] {
                    let usable = master
                        .as_ref()
                        .is_some_and(|m| m.key_id.is_some() && m.bytes().len() >= 16);
                    if !usable {
                        return Err(bad(&key, format!("{what} is missing or too short")));
                    }
                }
                state.keys = Some(k);
            }
            other => return Err(bad(&key, format!("unknown metadata record {other:?}"))),
        }
    }
    let has_records = !raw.meta.is_empty() || !raw.apps.is_empty() || !raw.attempts.is_empty();
    match version {
        Some((major, minor)) if major != VERSION.0 => {
            return Err(StoreError::Version {
                found: format!("{major}.{minor}"),
                expected: format!("{}.{}", VERSION.0, VERSION.1),
            })
        }
        None if has_records => {
            return Err(bad(
                "meta/version",
                "missing, although the store holds records (not a Spindle state store?)",
            ))
        }
        _ => {}
    }

    let mut apps: BTreeMap<ApplicationId, StoredApp> = BTreeMap::new();
    for (key_text, bytes) in &raw.apps {
        let key = format!("apps/{key_text}");
        let id: ApplicationId = key_text
            .parse()
            .map_err(|e| bad(&key, format!("the key is not an application id: {e}")))?;
        let data: ApplicationStateDataProto = decode_record(&key, bytes)?;
        let submission = data
            .application_submission_context
            .as_ref()
            .ok_or_else(|| bad(&key, "the submission context is missing"))?;
        let inner = submission
            .application_id
            .as_ref()
            .and_then(|p| ApplicationId::try_from(p).ok());
        if inner != Some(id) {
            return Err(bad(
                &key,
                format!("the record is for application {inner:?}, not {id}"),
            ));
        }
        if data.user.is_none() || data.submit_time.is_none() {
            return Err(bad(&key, "the user or submit time is missing"));
        }
        apps.insert(
            id,
            StoredApp {
                id,
                data,
                attempts: Vec::new(),
            },
        );
    }
    for (key_text, bytes) in &raw.attempts {
        let key = format!("attempts/{key_text}");
        let id: ApplicationAttemptId = key_text
            .parse()
            .map_err(|e| bad(&key, format!("the key is not an attempt id: {e}")))?;
        let data: ApplicationAttemptStateDataProto = decode_record(&key, bytes)?;
        let inner = data
            .attempt_id
            .as_ref()
            .and_then(|p| ApplicationAttemptId::try_from(p).ok());
        if inner != Some(id) {
            return Err(bad(
                &key,
                format!("the record is for attempt {inner:?}, not {id}"),
            ));
        }
        let app = apps
            .get_mut(&id.application_id)
            .ok_or_else(|| bad(&key, "its application has no record"))?;
        app.attempts.push((id, data));
    }
    for app in apps.values_mut() {
        app.attempts.sort_by_key(|(id, _)| id.attempt_id);
        for (position, (id, _)) in app.attempts.iter().enumerate() {
            if id.attempt_id != position as i32 + 1 {
                return Err(bad(
                    &format!("attempts/{id}"),
                    format!("attempts of {} are not numbered 1..n", app.id),
                ));
            }
        }
    }
    state.apps = apps.into_values().collect();
    Ok(state)
}

/// A metadata write.
pub fn meta_write(name: &'static str, message: &impl Message) -> StoreWrite {
    StoreWrite::Meta {
        name,
        record: message.encode_to_vec(),
    }
}

/// The version record this RM writes.
pub fn version_write() -> StoreWrite {
    meta_write(
        meta::VERSION,
        &RmStateVersionProto {
            major_version: Some(VERSION.0),
            minor_version: Some(VERSION.1),
        },
    )
}

/// The epoch record.
pub fn epoch_write(epoch: i64) -> StoreWrite {
    meta_write(meta::EPOCH, &EpochProto { epoch: Some(epoch) })
}
