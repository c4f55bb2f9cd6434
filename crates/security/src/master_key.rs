//! Master keys and token passwords: password = HMAC-SHA1(master key, identifier bytes).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

/// A token as Hadoop carries it: identifier and password bytes, kind and service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Token {
    pub identifier: Vec<u8>,
    pub password: Vec<u8>,
    pub kind: String,
    pub service: String,
}

/// A secret key with the id that token identifiers name (`keyId` / `masterKeyId`).
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    pub key_id: i32,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.debug_struct("MasterKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Length of generated keys; Hadoop's default HmacSHA1 key is 64 bytes.
const KEY_LEN: usize = 64;

impl MasterKey {
    /// A fresh random key.
    pub fn generate(key_id: i32) -> Self {
        let mut bytes = vec![0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self { key_id, bytes }
    }

    /// The password of a token whose identifier is `identifier`.
    pub fn password(&self, identifier: &[u8]) -> Vec<u8> {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.bytes).expect("HMAC accepts any key length");
        mac.update(identifier);
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `password` is the password of `identifier` under this key (constant time).
    pub fn verify(&self, identifier: &[u8], password: &[u8]) -> bool {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.bytes).expect("HMAC accepts any key length");
        mac.update(identifier);
        mac.verify_slice(password).is_ok()
    }

    /// A token of `kind` for `identifier`, signed with this key.
    pub fn sign(&self, identifier: Vec<u8>, kind: &str, service: String) -> Token {
        let password = self.password(&identifier);
        Token {
            identifier,
            password,
            kind: kind.to_string(),
            service,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_forgeries_do_not() {
        let key = MasterKey::generate(7);
        let token = key.sign(b"ident".to_vec(), "NMToken", "h:1".into());
        assert!(key.verify(&token.identifier, &token.password));
        assert!(!key.verify(b"other", &token.password));
        assert!(!MasterKey::generate(7).verify(&token.identifier, &token.password));
        assert_eq!(token.password.len(), 20);
        assert!(!format!("{key:?}").contains(&format!("{:?}", key.bytes)));
    }

    #[test]
    fn hmac_sha1_matches_rfc2202() {
        let key = MasterKey {
            key_id: 1,
            bytes: b"Jefe".to_vec(),
        };
        let p = key.password(b"what do ya want for nothing?");
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }
}
