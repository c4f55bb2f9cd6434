//! The records of the NM recovery store in their domain form, and their encoding: prost messages
//! of `yarn_server_nodemanager_recovery.proto`, size-checked both ways and decoded strictly (a
//! record must decode, carry every field its use needs, and match the key it is stored under).

use std::collections::BTreeSet;
use std::path::PathBuf;

use prost::Message;
use spindle_proto::yarn::{
    MasterKeyProto, NmApplicationRecordProto, NmContainerRecordProto, NmContainerRecordStatusProto,
    NmLocalizedResourceProto, NmMasterKeysProto, NmStoppedContainerProto,
};
use spindle_types::{ApplicationId, ContainerId, Resource};

use super::error::RecordError;
use crate::container::{launch_context_proto, launch_spec, local_resource, ContainerLaunchSpec};
use crate::localizer::{layout, LocalResource};

/// The largest record the store writes or takes back (as the RM's store).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// How far a container got when the NM last recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedStatus {
    /// Accepted; its process was never started.
    Requested,
    /// Its process was started (or about to be): its pid file names it.
    Launched,
    /// Finished with this exit status (its completion may not have reached the AM yet).
    Completed { exit_status: i32 },
}

/// One container as recorded.
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub spec: ContainerLaunchSpec,
    pub status: RecordedStatus,
    /// When the NM accepted it (ms since the epoch).
    pub start_time_ms: i64,
    /// Set once a stop was asked for: the exit status to report instead of the process's.
    pub kill_exit_status: Option<i32>,
    /// `[timestamp]message` entries so far.
    pub diagnostics: String,
}

/// The users that ran containers of an application here (its cleanup deletes their appcache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub application_id: ApplicationId,
    pub users: BTreeSet<String>,
}

/// One localized resource of a cache: PUBLIC (no user), PRIVATE (`user`) or APPLICATION (`user`
/// and `application_id`), as its request's visibility says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedRecord {
    pub resource: LocalResource,
    pub user: Option<String>,
    pub application_id: Option<ApplicationId>,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// A container forgotten at `forgotten_ms`, whose token must not start it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoppedContainer {
    pub container_id: ContainerId,
    pub forgotten_ms: i64,
}

fn invalid(message: impl Into<String>) -> RecordError {
    RecordError::Invalid(message.into())
}

/// Encodes `message`, refusing one over [`MAX_RECORD_BYTES`].
pub(crate) fn encode_record(message: &impl Message) -> Result<Vec<u8>, RecordError> {
    let bytes = message.encode_to_vec();
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge { bytes: bytes.len() });
    }
    Ok(bytes)
}

/// Decodes one stored record as `M`, refusing one over [`MAX_RECORD_BYTES`].
pub(crate) fn decode_record<M: Message + Default>(bytes: &[u8]) -> Result<M, RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge { bytes: bytes.len() });
    }
    M::decode(bytes).map_err(|error| RecordError::Decode(error.to_string()))
}

impl ContainerRecord {
    pub fn container_id(&self) -> ContainerId {
        self.spec.container_id
    }

    pub(crate) fn to_proto(&self) -> NmContainerRecordProto {
        let (status, exit_status) = match self.status {
            RecordedStatus::Requested => (NmContainerRecordStatusProto::NmContainerRequested, None),
            RecordedStatus::Launched => (NmContainerRecordStatusProto::NmContainerLaunched, None),
            RecordedStatus::Completed { exit_status } => (
                NmContainerRecordStatusProto::NmContainerCompleted,
                Some(exit_status),
            ),
        };
        NmContainerRecordProto {
            container_id: Some(self.spec.container_id.into()),
            user: Some(self.spec.user.clone()),
            resource: Some((&self.spec.resource).into()),
            launch_context: Some(launch_context_proto(&self.spec)),
            gpu_devices: self.spec.gpu_devices.clone(),
            status: Some(status as i32),
            start_time: Some(self.start_time_ms),
            kill_exit_status: self.kill_exit_status,
            exit_status,
            diagnostics: Some(self.diagnostics.clone()),
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, RecordError> {
        encode_record(&self.to_proto())
    }

    /// The record stored under `key`, checked: its id is the key, its user and launch context
    /// would be accepted by a start, its status is known.
    pub(crate) fn decode(key: &str, bytes: &[u8]) -> Result<Self, RecordError> {
        let proto: NmContainerRecordProto = decode_record(bytes)?;
        let container_id = proto
            .container_id
            .as_ref()
            .ok_or_else(|| invalid("the container id is missing"))
            .and_then(|id| {
                ContainerId::try_from(id).map_err(|e| invalid(format!("bad container id: {e}")))
            })?;
        if container_id.to_string() != key {
            return Err(invalid(format!(
                "it is the record of {container_id}, not of {key}"
            )));
        }
        let user = proto
            .user
            .clone()
            .ok_or_else(|| invalid("the user is missing"))?;
        let resource = proto
            .resource
            .as_ref()
            .ok_or_else(|| invalid("the resource is missing"))
            .and_then(|r| {
                Resource::try_from(r).map_err(|e| invalid(format!("bad resource: {e}")))
            })?;
        let context = proto
            .launch_context
            .clone()
            .ok_or_else(|| invalid("the launch context is missing"))?;
        let mut spec = launch_spec(container_id, user, resource, context).map_err(invalid)?;
        spec.validate()
            .map_err(|e| invalid(format!("the launch would be refused: {e}")))?;
        spec.gpu_devices = proto.gpu_devices.clone();
        let status = match proto
            .status
            .and_then(|n| NmContainerRecordStatusProto::try_from(n).ok())
        {
            Some(NmContainerRecordStatusProto::NmContainerRequested) => RecordedStatus::Requested,
            Some(NmContainerRecordStatusProto::NmContainerLaunched) => RecordedStatus::Launched,
            Some(NmContainerRecordStatusProto::NmContainerCompleted) => RecordedStatus::Completed {
                exit_status: proto
                    .exit_status
                    .ok_or_else(|| invalid("a completed container without its exit status"))?,
            },
            None => return Err(invalid(format!("unknown status {:?}", proto.status))),
        };
        Ok(Self {
            spec,
            status,
            start_time_ms: proto.start_time.unwrap_or(0),
            kill_exit_status: proto.kill_exit_status,
            diagnostics: proto.diagnostics.unwrap_or_default(),
        })
    }
}

impl ApplicationRecord {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, RecordError> {
        encode_record(&NmApplicationRecordProto {
            application_id: Some(self.application_id.into()),
            users: self.users.iter().cloned().collect(),
        })
    }

    pub(crate) fn decode(key: &str, bytes: &[u8]) -> Result<Self, RecordError> {
        let proto: NmApplicationRecordProto = decode_record(bytes)?;
        let application_id = proto
            .application_id
            .as_ref()
            .ok_or_else(|| invalid("the application id is missing"))
            .and_then(|id| {
                ApplicationId::try_from(id).map_err(|e| invalid(format!("bad application id: {e}")))
            })?;
        if application_id.to_string() != key {
            return Err(invalid(format!(
                "it is the record of {application_id}, not of {key}"
            )));
        }
        if let Some(user) = proto.users.iter().find(|u| !layout::is_valid_user_name(u)) {
            return Err(invalid(format!("invalid user name {user:?}")));
        }
        Ok(Self {
            application_id,
            users: proto.users.into_iter().collect(),
        })
    }
}

impl LocalizedRecord {
    /// The store key: the local path.
    pub fn key(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, RecordError> {
        encode_record(&NmLocalizedResourceProto {
            resource: Some(crate::container::local_resource_proto(&self.resource)),
            local_path: Some(self.key()),
            size: Some(self.size_bytes as i64),
            user: self.user.clone(),
            application_id: self.application_id.map(Into::into),
        })
    }

    /// Checks the fields; whether the path lies in its cache is the localizer's check.
    pub(crate) fn decode(key: &str, bytes: &[u8]) -> Result<Self, RecordError> {
        let proto: NmLocalizedResourceProto = decode_record(bytes)?;
        let path = proto
            .local_path
            .clone()
            .ok_or_else(|| invalid("the local path is missing"))?;
        if path != key {
            return Err(invalid(format!("it is the record of {path}, not of {key}")));
        }
        let resource = proto
            .resource
            .as_ref()
            .ok_or_else(|| invalid("the resource is missing"))
            .and_then(|r| local_resource(key, r).map_err(invalid))?;
        let size_bytes =
            u64::try_from(proto.size.unwrap_or(0)).map_err(|_| invalid("a negative size"))?;
        if let Some(user) = proto
            .user
            .as_ref()
            .filter(|u| !layout::is_valid_user_name(u))
        {
            return Err(invalid(format!("invalid user name {user:?}")));
        }
        let application_id = proto
            .application_id
            .as_ref()
            .map(|id| {
                ApplicationId::try_from(id).map_err(|e| invalid(format!("bad application id: {e}")))
            })
            .transpose()?;
        Ok(Self {
            resource,
            user: proto.user,
            application_id,
            path: PathBuf::from(path),
            size_bytes,
        })
    }
}

impl StoppedContainer {
    /// Keys sort by time: `<forgotten ms, 20 digits>/<container id>`.
    pub fn key(&self) -> String {
        format!("{:020}/{}", self.forgotten_ms.max(0), self.container_id)
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, RecordError> {
        encode_record(&NmStoppedContainerProto {
            container_id: Some(self.container_id.into()),
            forgotten_time: Some(self.forgotten_ms),
        })
    }

    pub(crate) fn decode(key: &str, bytes: &[u8]) -> Result<Self, RecordError> {
        let proto: NmStoppedContainerProto = decode_record(bytes)?;
        let container_id = proto
            .container_id
            .as_ref()
            .ok_or_else(|| invalid("the container id is missing"))
            .and_then(|id| {
                ContainerId::try_from(id).map_err(|e| invalid(format!("bad container id: {e}")))
            })?;
        let record = Self {
            container_id,
            forgotten_ms: proto
                .forgotten_time
                .ok_or_else(|| invalid("the time is missing"))?,
        };
        if record.key() != key {
            return Err(invalid(format!(
                "it is the record of {}, not of {key}",
                record.key()
            )));
        }
        Ok(record)
    }
}

/// The master keys, each present with a key id and at least 16 bytes, or an error.
pub(crate) fn decode_master_keys(bytes: &[u8]) -> Result<NmMasterKeysProto, RecordError> {
    let keys: NmMasterKeysProto = decode_record(bytes)?;
    let usable = |key: &Option<MasterKeyProto>| {
        key.as_ref()
            .is_some_and(|k| k.key_id.is_some() && k.bytes().len() >= 16)
    };
    if !usable(&keys.container_token_master_key) || !usable(&keys.nm_token_master_key) {
        return Err(invalid("a master key is missing or too short"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::ApplicationAttemptId;

    fn container(sequence: i64) -> ContainerId {
        ContainerId::new(
            ApplicationAttemptId::new(ApplicationId::new(1700000000000, 1), 1),
            0,
            sequence,
        )
    }

    fn record(status: RecordedStatus) -> ContainerRecord {
        ContainerRecord {
            spec: ContainerLaunchSpec {
                container_id: container(2),
                user: "alice".into(),
                resource: Resource::new(256, 1),
                local_resources: Default::default(),
                environment: vec![("A".into(), "1".into())],
                commands: vec!["sleep 10".into()],
                credentials: None,
                gpu_devices: vec![1],
            },
            status,
            start_time_ms: 1700000000456,
            kill_exit_status: Some(-105),
            diagnostics: "[t]stopped\n".into(),
        }
    }

    #[test]
    fn container_records_read_back_as_written() {
        for status in [
            RecordedStatus::Requested,
            RecordedStatus::Launched,
            RecordedStatus::Completed { exit_status: 7 },
        ] {
            let written = record(status);
            let key = written.container_id().to_string();
            let read = ContainerRecord::decode(&key, &written.encode().unwrap()).unwrap();
            assert_eq!(read.status, status);
            assert_eq!(read.start_time_ms, 1700000000456);
            assert_eq!(read.kill_exit_status, Some(-105));
            assert_eq!(read.diagnostics, "[t]stopped\n");
            assert_eq!(format!("{:?}", read.spec), format!("{:?}", written.spec));
        }
    }

    #[test]
    fn malformed_container_records_are_refused() {
        let good = record(RecordedStatus::Launched);
        let key = good.container_id().to_string();
        let bytes = good.encode().unwrap();

        // Not protobuf, truncated, under another key.
        assert!(matches!(
            ContainerRecord::decode(&key, b"\xff\xff\xff\xff"),
            Err(RecordError::Decode(_))
        ));
        assert!(ContainerRecord::decode(&key, &bytes[..bytes.len() - 3]).is_err());
        let other = container(3).to_string();
        let error = ContainerRecord::decode(&other, &bytes).unwrap_err();
        assert!(error.to_string().contains("not of"), "{error}");

        // Decodes, but misses what a recovery needs or would start what a start refuses.
        let mut proto = good.to_proto();
        proto.status = Some(9);
        assert!(ContainerRecord::decode(&key, &proto.encode_to_vec()).is_err());
        let mut proto = good.to_proto();
        proto.status = Some(NmContainerRecordStatusProto::NmContainerCompleted as i32);
        let error = ContainerRecord::decode(&key, &proto.encode_to_vec()).unwrap_err();
        assert!(error.to_string().contains("exit status"), "{error}");
        let mut proto = good.to_proto();
        proto.user = Some("../root".into());
        assert!(ContainerRecord::decode(&key, &proto.encode_to_vec()).is_err());
        let mut proto = good.to_proto();
        proto.launch_context = None;
        assert!(ContainerRecord::decode(&key, &proto.encode_to_vec()).is_err());
        assert!(ContainerRecord::decode(&key, &[]).is_err());
    }

    #[test]
    fn oversized_records_are_neither_written_nor_read() {
        let mut big = record(RecordedStatus::Requested);
        big.spec.credentials = Some(vec![0; MAX_RECORD_BYTES]);
        assert!(matches!(big.encode(), Err(RecordError::TooLarge { .. })));
        let key = big.container_id().to_string();
        let bytes = big.to_proto().encode_to_vec();
        assert!(matches!(
            ContainerRecord::decode(&key, &bytes),
            Err(RecordError::TooLarge { bytes: n }) if n == bytes.len()
        ));
    }

    #[test]
    fn other_records_check_their_keys() {
        let app = ApplicationRecord {
            application_id: ApplicationId::new(1700000000000, 1),
            users: BTreeSet::from(["alice".to_string()]),
        };
        let bytes = app.encode().unwrap();
        assert_eq!(
            ApplicationRecord::decode("application_1700000000000_0001", &bytes).unwrap(),
            app
        );
        assert!(ApplicationRecord::decode("application_1700000000000_0002", &bytes).is_err());

        let stopped = StoppedContainer {
            container_id: container(2),
            forgotten_ms: 1700000000000,
        };
        assert_eq!(
            stopped.key(),
            "00000001700000000000/container_1700000000000_0001_01_000002"
        );
        let bytes = stopped.encode().unwrap();
        assert_eq!(
            StoppedContainer::decode(&stopped.key(), &bytes).unwrap(),
            stopped
        );
        assert!(StoppedContainer::decode("1/x", &bytes).is_err());

        assert!(decode_master_keys(&NmMasterKeysProto::default().encode_to_vec()).is_err());
    }
}
