//! The NMTokens an AM has received, by node `host:port` (YARN's `NMTokenCache`), shared between
//! the AmRmClient that fills it and the NmClients that use it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use spindle_proto::common::TokenProto;
use spindle_proto::yarn::NmTokenProto;

/// A cheap-to-clone handle on one shared cache.
#[derive(Debug, Clone, Default)]
pub struct NmTokenCache {
    tokens: Arc<Mutex<HashMap<String, TokenProto>>>,
}

impl NmTokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenProto>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores (or replaces) the token for `node` (`host:port`).
    pub fn insert(&self, node: &str, token: TokenProto) {
        self.lock().insert(node.to_string(), token);
    }

    /// Stores the tokens of an allocate or register response; entries without a node or a
    /// token are skipped. Returns how many were stored.
    pub fn insert_all(&self, tokens: &[NmTokenProto]) -> usize {
        let mut cache = self.lock();
        let mut stored = 0;
        for entry in tokens {
            let (Some(node), Some(token)) = (&entry.node_id, &entry.token) else {
                continue;
            };
            cache.insert(format!("{}:{}", node.host(), node.port()), token.clone());
            stored += 1;
        }
        stored
    }

    /// The token for `node` (`host:port`), if one was received.
    pub fn get(&self, node: &str) -> Option<TokenProto> {
        self.lock().get(node).cloned()
    }

    pub fn contains(&self, node: &str) -> bool {
        self.lock().contains_key(node)
    }

    pub fn remove(&self, node: &str) {
        self.lock().remove(node);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_proto::yarn::NodeIdProto;

    fn token(password: u8) -> TokenProto {
        TokenProto {
            identifier: vec![1],
            password: vec![password],
            kind: "NMToken".into(),
            service: String::new(),
        }
    }

    #[test]
    fn tokens_are_keyed_by_host_and_port_and_shared_between_clones() {
        let cache = NmTokenCache::new();
        let other_handle = cache.clone();
        let stored = cache.insert_all(&[
            NmTokenProto {
                node_id: Some(NodeIdProto {
                    host: Some("host1".into()),
                    port: Some(8041),
                }),
                token: Some(token(1)),
            },
            NmTokenProto {
                node_id: None,
                token: Some(token(2)),
            },
            NmTokenProto {
                node_id: Some(NodeIdProto {
                    host: Some("host2".into()),
                    port: Some(8041),
                }),
                token: None,
            },
        ]);
        assert_eq!(stored, 1);
        assert_eq!(other_handle.get("host1:8041").unwrap().password, [1]);
        assert!(other_handle.get("host1:8042").is_none());
        cache.insert("host1:8041", token(9));
        assert_eq!(other_handle.get("host1:8041").unwrap().password, [9]);
        assert_eq!(other_handle.len(), 1);
    }
}
