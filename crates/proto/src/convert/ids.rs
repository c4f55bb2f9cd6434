//! Id conversions: ApplicationId, ApplicationAttemptId, ContainerId and NodeId.
//!
//! ContainerIdProto is written the way the Java client writes it, with app_attempt_id (2) and id (3)
//! only; on reading, the application comes from the attempt, and a redundant app_id (1) must agree.

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId};

use super::{require, ConvertError};
use crate::yarn::{ApplicationAttemptIdProto, ApplicationIdProto, ContainerIdProto, NodeIdProto};

/// `impl TryFrom<Proto> for Domain` in terms of `impl TryFrom<&Proto> for Domain`.
macro_rules! try_from_owned {
    ($proto:ty => $domain:ty) => {
        impl TryFrom<$proto> for $domain {
            type Error = ConvertError;
            fn try_from(proto: $proto) -> Result<Self, ConvertError> {
                <$domain>::try_from(&proto)
            }
        }
    };
}

// --- ApplicationId -------------------------------------------------------------------------------

impl From<&ApplicationId> for ApplicationIdProto {
    fn from(id: &ApplicationId) -> Self {
        ApplicationIdProto {
            id: Some(id.id),
            cluster_timestamp: Some(id.cluster_timestamp),
        }
    }
}

impl From<ApplicationId> for ApplicationIdProto {
    fn from(id: ApplicationId) -> Self {
        (&id).into()
    }
}

impl TryFrom<&ApplicationIdProto> for ApplicationId {
    type Error = ConvertError;
    fn try_from(proto: &ApplicationIdProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ApplicationIdProto";
        let id = *require(&proto.id, MESSAGE, "id")?;
        let cluster_timestamp = *require(&proto.cluster_timestamp, MESSAGE, "cluster_timestamp")?;
        Ok(ApplicationId::new(cluster_timestamp, id))
    }
}
try_from_owned!(ApplicationIdProto => ApplicationId);

// --- ApplicationAttemptId ------------------------------------------------------------------------

impl From<&ApplicationAttemptId> for ApplicationAttemptIdProto {
    fn from(id: &ApplicationAttemptId) -> Self {
        ApplicationAttemptIdProto {
            application_id: Some(id.application_id.into()),
            attempt_id: Some(id.attempt_id),
        }
    }
}

impl From<ApplicationAttemptId> for ApplicationAttemptIdProto {
    fn from(id: ApplicationAttemptId) -> Self {
        (&id).into()
    }
}

impl TryFrom<&ApplicationAttemptIdProto> for ApplicationAttemptId {
    type Error = ConvertError;
    fn try_from(proto: &ApplicationAttemptIdProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ApplicationAttemptIdProto";
        let application_id =
            ApplicationId::try_from(require(&proto.application_id, MESSAGE, "application_id")?)?;
        let attempt_id = *require(&proto.attempt_id, MESSAGE, "attempt_id")?;
        Ok(ApplicationAttemptId::new(application_id, attempt_id))
    }
}
try_from_owned!(ApplicationAttemptIdProto => ApplicationAttemptId);

// --- ContainerId ---------------------------------------------------------------------------------

impl From<&ContainerId> for ContainerIdProto {
    fn from(id: &ContainerId) -> Self {
        ContainerIdProto {
            app_id: None,
            app_attempt_id: Some(id.attempt_id.into()),
            id: Some(id.id),
        }
    }
}

impl From<ContainerId> for ContainerIdProto {
    fn from(id: ContainerId) -> Self {
        (&id).into()
    }
}

impl TryFrom<&ContainerIdProto> for ContainerId {
    type Error = ConvertError;
    fn try_from(proto: &ContainerIdProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ContainerIdProto";
        let attempt_id = ApplicationAttemptId::try_from(require(
            &proto.app_attempt_id,
            MESSAGE,
            "app_attempt_id",
        )?)?;
        let id = *require(&proto.id, MESSAGE, "id")?;
        if let Some(app_id) = &proto.app_id {
            let app_id = ApplicationId::try_from(app_id)?;
            if app_id != attempt_id.application_id {
                return Err(ConvertError::InvalidField {
                    message: MESSAGE,
                    field: "app_id",
                    reason: format!("{app_id} disagrees with app_attempt_id {attempt_id}"),
                });
            }
        }
        Ok(ContainerId::from_raw(attempt_id, id))
    }
}
try_from_owned!(ContainerIdProto => ContainerId);

// --- NodeId --------------------------------------------------------------------------------------

impl From<&NodeId> for NodeIdProto {
    fn from(id: &NodeId) -> Self {
        NodeIdProto {
            host: Some(id.host.to_string()),
            port: Some(id.port),
        }
    }
}

impl From<NodeId> for NodeIdProto {
    fn from(id: NodeId) -> Self {
        NodeIdProto {
            host: Some(id.host.to_string()),
            port: Some(id.port),
        }
    }
}

impl TryFrom<&NodeIdProto> for NodeId {
    type Error = ConvertError;
    fn try_from(proto: &NodeIdProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "NodeIdProto";
        let host = require(&proto.host, MESSAGE, "host")?;
        if host.is_empty() {
            return Err(ConvertError::InvalidField {
                message: MESSAGE,
                field: "host",
                reason: "empty host".into(),
            });
        }
        let port = *require(&proto.port, MESSAGE, "port")?;
        Ok(NodeId::new(host.as_str(), port))
    }
}
try_from_owned!(NodeIdProto => NodeId);

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    const CLUSTER_TIMESTAMP: i64 = 1_700_000_000_000;

    fn attempt() -> ApplicationAttemptId {
        ApplicationAttemptId::new(ApplicationId::new(CLUSTER_TIMESTAMP, 1), 1)
    }

    // Byte captures produced by Hadoop 3.5.0's own PBImpl classes (ApplicationIdPBImpl, ContainerIdPBImpl).
    const JAVA_APPLICATION_ID: &str = "08011080d095ffbc31";
    const JAVA_CONTAINER_ID_E03_SEQ5: &str = "120d0a0908011080d095ffbc31100118858080808060";

    #[test]
    fn ids_encode_exactly_like_the_java_client() {
        let app = ApplicationIdProto::from(ApplicationId::new(CLUSTER_TIMESTAMP, 1));
        assert_eq!(hex::encode(app.encode_to_vec()), JAVA_APPLICATION_ID);
        let container = ContainerIdProto::from(ContainerId::new(attempt(), 3, 5));
        assert_eq!(
            hex::encode(container.encode_to_vec()),
            JAVA_CONTAINER_ID_E03_SEQ5
        );
    }

    #[test]
    fn java_container_id_without_app_id_reads_its_application_from_the_attempt() {
        let proto =
            ContainerIdProto::decode(hex::decode(JAVA_CONTAINER_ID_E03_SEQ5).unwrap().as_slice())
                .unwrap();
        assert!(proto.app_id.is_none());
        let id = ContainerId::try_from(&proto).unwrap();
        assert_eq!(id.to_string(), "container_e03_1700000000000_0001_01_000005");
        assert_eq!(
            id.application_id(),
            ApplicationId::new(CLUSTER_TIMESTAMP, 1)
        );
    }

    #[test]
    fn container_id_with_matching_app_id_is_accepted_and_conflicting_one_rejected() {
        let mut proto = ContainerIdProto::from(ContainerId::new(attempt(), 0, 7));
        proto.app_id = Some(ApplicationId::new(CLUSTER_TIMESTAMP, 1).into());
        assert_eq!(ContainerId::try_from(&proto).unwrap().sequence(), 7);
        proto.app_id = Some(ApplicationId::new(CLUSTER_TIMESTAMP, 2).into());
        let error = ContainerId::try_from(&proto).unwrap_err();
        assert!(
            matches!(
                error,
                ConvertError::InvalidField {
                    field: "app_id",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn missing_parts_name_the_field() {
        let error = ContainerId::try_from(ContainerIdProto {
            id: Some(1),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            error,
            ConvertError::MissingField {
                message: "ContainerIdProto",
                field: "app_attempt_id"
            }
        );
        assert_eq!(
            error.to_string(),
            "ContainerIdProto.app_attempt_id is missing"
        );

        let mut proto = ContainerIdProto::from(ContainerId::new(attempt(), 0, 1));
        proto.id = None;
        assert_eq!(
            ContainerId::try_from(&proto).unwrap_err(),
            ConvertError::MissingField {
                message: "ContainerIdProto",
                field: "id"
            }
        );

        let no_timestamp = ApplicationIdProto {
            id: Some(1),
            cluster_timestamp: None,
        };
        assert_eq!(
            ApplicationId::try_from(no_timestamp).unwrap_err(),
            ConvertError::MissingField {
                message: "ApplicationIdProto",
                field: "cluster_timestamp"
            }
        );
        let no_app = ApplicationAttemptIdProto {
            application_id: None,
            attempt_id: Some(1),
        };
        assert_eq!(
            ApplicationAttemptId::try_from(no_app).unwrap_err(),
            ConvertError::MissingField {
                message: "ApplicationAttemptIdProto",
                field: "application_id"
            }
        );
        assert_eq!(
            NodeId::try_from(NodeIdProto {
                host: Some("h".into()),
                port: None
            })
            .unwrap_err(),
            ConvertError::MissingField {
                message: "NodeIdProto",
                field: "port"
            }
        );
        assert!(matches!(
            NodeId::try_from(NodeIdProto {
                host: Some(String::new()),
                port: Some(1)
            }),
            Err(ConvertError::InvalidField { field: "host", .. })
        ));
    }

    #[test]
    fn node_id_round_trips() {
        let node = NodeId::new("worker-3.example", 45454);
        let bytes = NodeIdProto::from(&node).encode_to_vec();
        assert_eq!(
            NodeId::try_from(NodeIdProto::decode(bytes.as_slice()).unwrap()).unwrap(),
            node
        );
    }
}
