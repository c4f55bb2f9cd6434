//! The RM's secrets and the tokens it issues: AMRMTokens for attempts, NMTokens for the nodes an
//! AM gets containers on, and a container token for every container, signed for its NM.

use hmac::{Hmac, Mac};
use prost::Message;
use sha1::Sha1;
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
    /// HMAC-SHA1 already keyed with `container` and `nm_token`: a token per container is signed
    /// from a copy, without hashing the key again each time.
    container_mac: Hmac<Sha1>,
    nm_token_mac: Hmac<Sha1>,
}

fn keyed_mac(key: &MasterKey) -> Hmac<Sha1> {
    Hmac::<Sha1>::new_from_slice(&key.bytes).expect("HMAC accepts any key length")
}

/// A token signed with a pre-keyed HMAC; the same password as `MasterKey::sign`.
fn sign_with(mac: &Hmac<Sha1>, identifier: Vec<u8>, kind: &str, service: String) -> TokenProto {
    let mut mac = mac.clone();
    mac.update(&identifier);
    TokenProto {
        password: mac.finalize().into_bytes().to_vec(),
        identifier,
        kind: kind.to_string(),
        service,
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
    /// The NM's `host:port`.
    pub node_address: &'a str,
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
        Self::from_keys(
            MasterKey::generate(1),
            MasterKey::generate(1),
            MasterKey::generate(1),
        )
    }

    /// The RM's keys as a state store kept them (tokens issued before a restart stay valid).
    pub fn from_keys(container: MasterKey, nm_token: MasterKey, amrm: MasterKey) -> Self {
        Self {
            container_mac: keyed_mac(&container),
            nm_token_mac: keyed_mac(&nm_token),
            container,
            nm_token,
            amrm,
        }
    }

    /// The keys as the state store records them.
    pub fn to_stored(&self) -> spindle_proto::yarn::RmMasterKeysStateProto {
        spindle_proto::yarn::RmMasterKeysStateProto {
            amrm_current_master_key: Some(key_proto(&self.amrm)),
            amrm_next_master_key: None,
            container_master_key: Some(key_proto(&self.container)),
            nm_token_master_key: Some(key_proto(&self.nm_token)),
        }
    }

    /// Keys from the state store's record ([`crate::store::records::decode`] checked them).
    pub fn from_stored(stored: &spindle_proto::yarn::RmMasterKeysStateProto) -> Option<Self> {
        let key = |k: &Option<MasterKeyProto>| {
            k.as_ref().map(|k| MasterKey {
                key_id: k.key_id(),
                bytes: k.bytes().to_vec(),
            })
        };
        Some(Self::from_keys(
            key(&stored.container_master_key)?,
            key(&stored.nm_token_master_key)?,
            key(&stored.amrm_current_master_key)?,
        ))
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
        sign_with(
            &self.nm_token_mac,
            identifier.encode_to_vec(),
            NM_TOKEN_KIND,
            super::allocate_reply::node_address(node),
        )
    }

    /// The container token that lets the container's NM start it.
    pub fn container_token(&self, grant: &ContainerGrant<'_>) -> TokenProto {
        let identifier = ContainerTokenIdentifierProto {
            container_id: Some(grant.container.into()),
            nm_host_addr: Some(grant.node_address.to_string()),
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
        sign_with(
            &self.container_mac,
            identifier.encode_to_vec(),
            CONTAINER_TOKEN_KIND,
            grant.node_address.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::ApplicationId;

    #[test]
    fn tokens_signed_with_the_prekeyed_mac_verify_against_their_master_keys() {
        let keys = RmKeys::generate();
        let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);
        let node = NodeId::new("host", 45454);
        let nm_token = keys.nm_token(attempt, &node, "alice");
        assert!(keys
            .nm_token
            .verify(&nm_token.identifier, &nm_token.password));
        assert_eq!(nm_token.service, "host:45454");
        let resource = Resource::new(1024, 1);
        let container_token = keys.container_token(&ContainerGrant {
            container: ContainerId::new(attempt, 0, 2),
            node_address: "host:45454",
            user: "alice",
            resource: &resource,
            priority: 1,
            is_am: false,
            allocation_request_id: 0,
            rm_identifier: 1,
            now_ms: 5,
            expiry_ms: 10,
        });
        assert!(keys
            .container
            .verify(&container_token.identifier, &container_token.password));
        assert!(!keys
            .nm_token
            .verify(&container_token.identifier, &container_token.password));
    }
}
