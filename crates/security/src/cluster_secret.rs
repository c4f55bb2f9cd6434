//! The cluster secret: a file shared by the RM and its NMs whose holders may register as nodes.
//!
//! YARN's resource tracker, under simple authentication, lets any host register and hands it the
//! container-token and NMToken master keys. With a cluster secret configured
//! (`spindle.node-registration.secret-file`), Spindle's RM instead requires TOKEN authentication
//! (SASL DIGEST-MD5) on that port: an NM presents an identifier naming its host and proves, with
//! the password HMAC-SHA1(secret, identifier), that it holds the secret. The secret never crosses
//! the network; DIGEST-MD5's nonces keep an eavesdropper from replaying the exchange.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Token kind an NM presents to the resource tracker.
pub const NODE_REGISTRATION_TOKEN_KIND: &str = "SPINDLE_NODE_REGISTRATION";

/// Fewest secret bytes accepted: shorter secrets could be guessed.
pub const MIN_SECRET_LEN: usize = 16;
/// Most secret bytes read: a secret is a key, not a document.
pub const MAX_SECRET_LEN: usize = 4096;
/// Longest identifier the RM accepts from a connecting node.
pub const MAX_IDENTIFIER_LEN: usize = 512;

const IDENTIFIER_PREFIX: &str = "nm:";

/// Why a cluster secret file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterSecretError {
    #[error("cannot read the cluster secret file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the cluster secret file {path} may be read by other users (mode {mode:o}); \
         allow only its owner (chmod 600)"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "the cluster secret file {path} holds {len} bytes after trimming; \
         it needs {MIN_SECRET_LEN} to {MAX_SECRET_LEN}"
    )]
    Length { path: PathBuf, len: usize },
}

/// The shared secret that admits NMs.
#[derive(Clone)]
pub struct ClusterSecret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.debug_struct("ClusterSecret").finish_non_exhaustive()
    }
}

impl ClusterSecret {
    /// Reads the secret from `path`: a file only its owner may read or write, holding
    /// [`MIN_SECRET_LEN`] to [`MAX_SECRET_LEN`] bytes (surrounding white space, such as the
    /// newline an editor adds, is not part of the secret).
    pub fn load(path: &Path) -> Result<Self, ClusterSecretError> {
        let read = |source| ClusterSecretError::Read {
            path: path.to_path_buf(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(read)?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ClusterSecretError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
        if metadata.len() > (MAX_SECRET_LEN * 2) as u64 {
            return Err(ClusterSecretError::Length {
                path: path.to_path_buf(),
                len: metadata.len() as usize,
            });
        }
        let raw = std::fs::read(path).map_err(read)?;
        let bytes = raw.trim_ascii().to_vec();
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            return Err(ClusterSecretError::Length {
                path: path.to_path_buf(),
                len: bytes.len(),
            });
        }
        Ok(Self { bytes })
    }

    /// Writes a new random secret (hex, 64 characters) to `path`, readable only by its owner.
    pub fn generate(path: &Path) -> std::io::Result<Self> {
        use rand::RngCore;
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        Ok(Self {
            bytes: text.into_bytes(),
        })
    }

    /// The secret in `path`, or a new one written there if there is no file yet.
    pub fn load_or_generate(path: &Path) -> Result<Self, ClusterSecretError> {
        match Self::generate(path) {
            Ok(secret) => Ok(secret),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(source) => Err(ClusterSecretError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The identifier an NM on `host` presents.
    pub fn identifier(host: &str) -> Vec<u8> {
        format!("{IDENTIFIER_PREFIX}{host}").into_bytes()
    }

    /// The host an identifier names, if it is one an NM would present.
    pub fn host_of(identifier: &[u8]) -> Option<&str> {
        if identifier.len() > MAX_IDENTIFIER_LEN {
            return None;
        }
        let text = std::str::from_utf8(identifier).ok()?;
        let host = text.strip_prefix(IDENTIFIER_PREFIX)?;
        (!host.is_empty() && !host.chars().any(char::is_control)).then_some(host)
    }

    /// The password proving that the presenter of `identifier` holds the secret.
    pub fn password(&self, identifier: &[u8]) -> Vec<u8> {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.bytes).expect("HMAC accepts any key length");
        mac.update(identifier);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, contents: &[u8], mode: u32) -> PathBuf {
        let path = dir.join("secret");
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_generated_secret_loads_back_and_signs_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let made = ClusterSecret::generate(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let loaded = ClusterSecret::load(&path).unwrap();
        let id = ClusterSecret::identifier("node1.example");
        assert_eq!(made.password(&id), loaded.password(&id));
        assert_ne!(
            loaded.password(&id),
            loaded.password(&ClusterSecret::identifier("node2.example"))
        );
        // A second generate never overwrites an existing secret.
        assert!(ClusterSecret::generate(&path).is_err());
    }

    #[test]
    fn different_secrets_give_different_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let a = ClusterSecret::generate(&dir.path().join("a")).unwrap();
        let b = ClusterSecret::generate(&dir.path().join("b")).unwrap();
        let id = ClusterSecret::identifier("h");
        assert_ne!(a.password(&id), b.password(&id));
    }

    #[test]
    fn a_file_others_may_read_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = write(dir.path(), b"0123456789abcdef0123", mode);
            let error = ClusterSecret::load(&path).unwrap_err().to_string();
            assert!(error.contains(&path.display().to_string()), "{error}");
            assert!(error.contains("chmod 600"), "{error}");
        }
        let path = write(dir.path(), b"0123456789abcdef0123", 0o400);
        assert!(ClusterSecret::load(&path).is_ok());
    }

    #[test]
    fn short_empty_huge_and_missing_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for contents in [&b""[..], b"   \n", b"short\n", &[b'x'; MAX_SECRET_LEN + 1]] {
            let path = write(dir.path(), contents, 0o600);
            let error = ClusterSecret::load(&path).unwrap_err();
            assert!(
                matches!(error, ClusterSecretError::Length { .. }),
                "{error}"
            );
        }
        let path = write(dir.path(), &vec![b'x'; 10 * MAX_SECRET_LEN], 0o600);
        assert!(ClusterSecret::load(&path).is_err());
        let missing = dir.path().join("missing");
        let error = ClusterSecret::load(&missing).unwrap_err().to_string();
        assert!(error.contains("missing"), "{error}");
    }

    #[test]
    fn surrounding_white_space_is_not_part_of_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let a = ClusterSecret::load(&write(dir.path(), b"0123456789abcdef\n", 0o600)).unwrap();
        let b = ClusterSecret::load(&write(dir.path(), b"  0123456789abcdef", 0o600)).unwrap();
        let id = ClusterSecret::identifier("h");
        assert_eq!(a.password(&id), b.password(&id));
    }

    #[test]
    fn only_identifiers_an_nm_presents_name_a_host() {
        assert_eq!(
            ClusterSecret::host_of(&ClusterSecret::identifier("n1")),
            Some("n1")
        );
        assert_eq!(ClusterSecret::host_of(b"nm:"), None);
        assert_eq!(ClusterSecret::host_of(b"am:n1"), None);
        assert_eq!(ClusterSecret::host_of(b"nm:a\nb"), None);
        assert_eq!(ClusterSecret::host_of(&[0xff, 0xfe]), None);
        let long = ClusterSecret::identifier(&"h".repeat(MAX_IDENTIFIER_LEN));
        assert_eq!(ClusterSecret::host_of(&long), None);
    }
}
