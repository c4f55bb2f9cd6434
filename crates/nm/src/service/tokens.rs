//! The NM's view of the RM's secrets: NMTokens authenticate callers, container tokens authorize
//! each container start. Both keys arrive in the RM's registration response; with recovery on
//! they are recorded, so that a restarted NM serves AMs before it has registered again.

use std::sync::{Arc, RwLock};

use prost::Message;
use spindle_ipc::{InvalidToken, TokenSecretManager};
use spindle_proto::yarn::{
    ContainerTokenIdentifierProto, MasterKeyProto, NmMasterKeysProto, NmTokenIdentifierProto,
};
use spindle_security::{MasterKey, NM_TOKEN_KIND};

use crate::recovery::NmStateStore;

/// The container-token and NM-token master keys, once the RM has sent them.
#[derive(Clone, Default)]
pub(crate) struct NmKeys {
    inner: Arc<RwLock<Keys>>,
    store: Option<Arc<NmStateStore>>,
}

#[derive(Default)]
struct Keys {
    container: Option<MasterKey>,
    nm_token: Option<MasterKey>,
}

fn key(proto: &MasterKeyProto) -> MasterKey {
    MasterKey {
        key_id: proto.key_id(),
        bytes: proto.bytes().to_vec(),
    }
}

fn proto(key: &MasterKey) -> MasterKeyProto {
    MasterKeyProto {
        key_id: Some(key.key_id),
        bytes: Some(key.bytes.clone()),
    }
}

impl NmKeys {
    /// Keys recorded into `store` from now on, starting from those it held.
    pub(crate) fn recovered(
        store: Arc<NmStateStore>,
        recorded: Option<&NmMasterKeysProto>,
    ) -> Self {
        let keys = Self {
            inner: Arc::default(),
            store: Some(store),
        };
        if let Some(recorded) = recorded {
            let mut inner = keys.inner.write().unwrap_or_else(|p| p.into_inner());
            inner.container = recorded.container_token_master_key.as_ref().map(key);
            inner.nm_token = recorded.nm_token_master_key.as_ref().map(key);
        }
        keys
    }

    pub(crate) fn update(
        &self,
        container: Option<&MasterKeyProto>,
        nm_token: Option<&MasterKeyProto>,
    ) {
        let mut keys = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let mut changed = false;
        if let Some(k) = container.map(key) {
            changed |= keys.container.as_ref() != Some(&k);
            keys.container = Some(k);
        }
        if let Some(k) = nm_token.map(key) {
            changed |= keys.nm_token.as_ref() != Some(&k);
            keys.nm_token = Some(k);
        }
        if let (true, Some(store), Some(container), Some(nm_token)) =
            (changed, &self.store, &keys.container, &keys.nm_token)
        {
            let record = NmMasterKeysProto {
                container_token_master_key: Some(proto(container)),
                nm_token_master_key: Some(proto(nm_token)),
            };
            if let Err(error) = store.store_master_keys(&record) {
                tracing::warn!("cannot record the master keys for recovery: {error}");
            }
        }
    }

    /// Verifies a container token's password and decodes its identifier.
    pub(crate) fn verify_container_token(
        &self,
        identifier: &[u8],
        password: &[u8],
    ) -> Result<ContainerTokenIdentifierProto, String> {
        let keys = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let key = keys
            .container
            .as_ref()
            .ok_or("this NodeManager has not registered with the ResourceManager yet")?;
        let proto = ContainerTokenIdentifierProto::decode(identifier)
            .map_err(|e| format!("the container token identifier does not decode: {e}"))?;
        if proto.master_key_id() != key.key_id || !key.verify(identifier, password) {
            return Err(
                "Given Container token is not signed by the ResourceManager of this NodeManager"
                    .into(),
            );
        }
        Ok(proto)
    }
}

impl TokenSecretManager for NmKeys {
    fn token_kind(&self) -> &str {
        NM_TOKEN_KIND
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        let keys = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let key = keys
            .nm_token
            .as_ref()
            .ok_or_else(|| InvalidToken::new("NodeManager not yet registered"))?;
        let proto = NmTokenIdentifierProto::decode(identifier)
            .map_err(|e| InvalidToken::new(format!("NMToken identifier does not decode: {e}")))?;
        if proto.key_id() != key.key_id {
            return Err(InvalidToken::new(format!(
                "NMToken key {} is not the current key",
                proto.key_id()
            )));
        }
        Ok(key.password(identifier))
    }
}
