//! YARN's token machinery: master keys shared between RM and NMs, token passwords (HMAC-SHA1 of
//! the identifier, as Hadoop's SecretManager computes them), and Hadoop credentials files.

pub mod cluster_secret;
pub mod credentials;
pub mod master_key;

pub use cluster_secret::{ClusterSecret, ClusterSecretError, NODE_REGISTRATION_TOKEN_KIND};
pub use credentials::{Credentials, CredentialsError};
pub use master_key::{MasterKey, Token};

/// Token kind of the AM-RM token (`AMRMTokenIdentifier.KIND_NAME`).
pub const AMRM_TOKEN_KIND: &str = "YARN_AM_RM_TOKEN";
/// Token kind of NM tokens.
pub const NM_TOKEN_KIND: &str = "NMToken";
/// Token kind of container tokens.
pub const CONTAINER_TOKEN_KIND: &str = "ContainerToken";
