//! The RM's secrets and the tokens it issues: AMRMTokens for attempts, NMTokens for the nodes an
//! AM gets containers on, and a container token for every container, signed for its NM.

use prost::Message;
use spindle_proto::common::TokenProto;
use spindle_proto::yarn::{
    AmrmTokenIdentifierProto, ContainerTokenIdentifierProto, ContainerTypeProto, MasterKeyProto,
    NmTokenIdentifierProto, PriorityProto,
};
use spindle_security::{MasterKey, Token, AMRM_TOKEN_KIND, CONTAINER_TOKEN_KIND, NM_TOKEN_KIND};
use spindle_types::{ApplicationAttemptId, ContainerId, NodeId, Resource};

/// The RM's three master keys. Container and NM-token keys are shared with every NM.
pub struct RmKeys {
    pub container: MasterKey,
    pub nm_token: MasterKey,
    pub amrm: MasterKey,
}

fn token_proto(token: Token) -> TokenProto {
    TokenProto {
        identifier: token.identifier,
        password: token.password,
        kind: token.kind,
        service: token.service,
    }
}

fn key_proto(key: &MasterKey) -> MasterKeyProto {
    MasterKeyProto {
        key_id: Some(key.key_id),
        bytes: Some(key.bytes.clone()),
    }
}

/// What a container token says about its container.
pub struct ContainerGrant<'a> {
    pub container: ContainerId,
    pub node: &'a NodeId,
    pub user: &'a str,
    pub resource: &'a Resource,
    pub priority: i32,
    pub is_am: bool,
    pub allocation_request_id: i64,
    pub rm_identifier: i64,
    pub now_ms: i64,
    pub expiry_ms: i64,
}

impl RmKeys {
    pub fn generate() -> Self {
        Self {
            container: MasterKey::generate(1),
            nm_token: MasterKey::generate(1),
            amrm: MasterKey::generate(1),
        }
    }

    pub fn container_key_proto(&self) -> MasterKeyProto {
        key_proto(&self.container)
    }

    pub fn nm_token_key_proto(&self) -> MasterKeyProto {
        key_proto(&self.nm_token)
    }

    /// The AMRMToken of an attempt; its service names the scheduler address.
    pub fn amrm_token(&self, attempt: ApplicationAttemptId, service: String) -> Token {
        let identifier = AmrmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            key_id: Some(self.amrm.key_id),
        };
        self.amrm
            .sign(identifier.encode_to_vec(), AMRM_TOKEN_KIND, service)
    }

    /// Decodes and verifies an AMRMToken identifier presented by a caller.
    pub fn verify_amrm_identifier(&self, identifier: &[u8]) -> Option<ApplicationAttemptId> {
        let proto = AmrmTokenIdentifierProto::decode(identifier).ok()?;
        if proto.key_id() != self.amrm.key_id {
            return None;
        }
        ApplicationAttemptId::try_from(proto.app_attempt_id.as_ref()?).ok()
    }

    /// The password of an AMRMToken identifier (for SASL DIGEST-MD5), if it names our key.
    pub fn amrm_password(&self, identifier: &[u8]) -> Option<Vec<u8>> {
        self.verify_amrm_identifier(identifier)?;
        Some(self.amrm.password(identifier))
    }

    /// The NMToken an AM needs to talk to `node`.
    pub fn nm_token(&self, attempt: ApplicationAttemptId, node: &NodeId, user: &str) -> TokenProto {
        let identifier = NmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            node_id: Some(node.into()),
            app_submitter: Some(user.to_string()),
            key_id: Some(self.nm_token.key_id),
        };
        token_proto(
            self.nm_token
                .sign(identifier.encode_to_vec(), NM_TOKEN_KIND, node.to_string()),
        )
    }

    /// The container token that lets the container's NM start it.
    pub fn container_token(&self, grant: &ContainerGrant<'_>) -> TokenProto {
        let identifier = ContainerTokenIdentifierProto {
            container_id: Some(grant.container.into()),
            nm_host_addr: Some(grant.node.to_string()),
            app_submitter: Some(grant.user.to_string()),
            resource: Some(grant.resource.into()),
            expiry_time_stamp: Some(grant.now_ms + grant.expiry_ms),
            master_key_id: Some(self.container.key_id),
            rm_identifier: Some(grant.rm_identifier),
            priority: Some(PriorityProto {
                priority: Some(grant.priority),
            }),
            creation_time: Some(grant.now_ms),
            container_type: Some(if grant.is_am {
                ContainerTypeProto::ApplicationMaster
            } else {
                ContainerTypeProto::Task
            } as i32),
            allocation_request_id: Some(grant.allocation_request_id),
            ..Default::default()
        };
        token_proto(self.container.sign(
            identifier.encode_to_vec(),
            CONTAINER_TOKEN_KIND,
            grant.node.to_string(),
        ))
    }
}
