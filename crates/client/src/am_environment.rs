//! What an ApplicationMaster learns from its container's environment: its container id (hence
//! its attempt), the NM it runs on, and the credentials file holding its AMRMToken.

use std::path::{Path, PathBuf};

use spindle_security::{Credentials, Token, AMRM_TOKEN_KIND};
use spindle_types::{ApplicationAttemptId, ContainerId};

use crate::error::ClientError;

/// `CONTAINER_ID`: set by the NM for every container.
pub const CONTAINER_ID_VARIABLE: &str = "CONTAINER_ID";
/// `HADOOP_TOKEN_FILE_LOCATION`: the container's credentials file.
pub const TOKEN_FILE_VARIABLE: &str = "HADOOP_TOKEN_FILE_LOCATION";
/// `NM_HOST`: the host of the NM running the container.
pub const NM_HOST_VARIABLE: &str = "NM_HOST";

/// An AM container's identity and credentials.
#[derive(Debug, Clone)]
pub struct ApplicationMasterEnvironment {
    pub container_id: ContainerId,
    /// Where the credentials were read from.
    pub credentials_path: PathBuf,
    pub credentials: Credentials,
    /// `NM_HOST`, when set.
    pub nm_host: Option<String>,
}

impl ApplicationMasterEnvironment {
    /// Reads this process's environment and credentials file.
    pub fn from_process_environment() -> Result<Self, ClientError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map) and the credentials file it names.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let required = |variable: &'static str| {
            lookup(variable)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| ClientError::Environment {
                    variable,
                    problem: "is not set (is this process running in a YARN container?)".into(),
                })
        };
        let container_text = required(CONTAINER_ID_VARIABLE)?;
        let container_id =
            container_text
                .parse::<ContainerId>()
                .map_err(|error| ClientError::Environment {
                    variable: CONTAINER_ID_VARIABLE,
                    problem: error.to_string(),
                })?;
        let credentials_path = PathBuf::from(required(TOKEN_FILE_VARIABLE)?);
        let credentials = read_credentials_file(&credentials_path)?;
        Ok(Self {
            container_id,
            credentials_path,
            credentials,
            nm_host: lookup(NM_HOST_VARIABLE).filter(|host| !host.is_empty()),
        })
    }

    /// The attempt this AM belongs to.
    pub fn attempt_id(&self) -> ApplicationAttemptId {
        self.container_id.attempt_id
    }

    /// The AMRMToken: the one stored under this attempt's id if any, else the first of its kind.
    pub fn amrm_token(&self) -> Result<&Token, ClientError> {
        let alias = self.attempt_id().to_string();
        self.credentials
            .tokens
            .iter()
            .find(|(token_alias, token)| *token_alias == alias && token.kind == AMRM_TOKEN_KIND)
            .map(|(_, token)| token)
            .or_else(|| self.credentials.find_kind(AMRM_TOKEN_KIND))
            .ok_or_else(|| ClientError::MissingToken {
                kind: AMRM_TOKEN_KIND,
                path: self.credentials_path.clone(),
            })
    }
}

/// Reads a Hadoop credentials (`HDTS`) file.
pub fn read_credentials_file(path: &Path) -> Result<Credentials, ClientError> {
    let bytes = std::fs::read(path).map_err(|source| ClientError::CredentialsFile {
        path: path.to_path_buf(),
        source,
    })?;
    Credentials::decode(&bytes).map_err(|source| ClientError::Credentials {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn token(kind: &str, password: u8) -> Token {
        Token {
            identifier: vec![7],
            password: vec![password],
            kind: kind.into(),
            service: "127.0.0.1:8030".into(),
        }
    }

    fn environment_with(
        variables: &[(&str, &str)],
    ) -> Result<ApplicationMasterEnvironment, ClientError> {
        let map: HashMap<String, String> = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ApplicationMasterEnvironment::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn reads_the_container_id_and_the_amrm_token_of_its_attempt() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("container_tokens");
        let mut credentials = Credentials::default();
        credentials.add_token("other", token("HDFS_DELEGATION_TOKEN", 1));
        credentials.add_token("", token(AMRM_TOKEN_KIND, 2));
        credentials.add_token(
            "appattempt_1700000000000_0001_000002",
            token(AMRM_TOKEN_KIND, 3),
        );
        std::fs::write(&path, credentials.encode()).unwrap();
        let environment = environment_with(&[
            ("CONTAINER_ID", "container_e02_1700000000000_0001_02_000001"),
            ("HADOOP_TOKEN_FILE_LOCATION", path.to_str().unwrap()),
            ("NM_HOST", "node7"),
        ])
        .unwrap();
        assert_eq!(
            environment.attempt_id().to_string(),
            "appattempt_1700000000000_0001_000002"
        );
        assert_eq!(environment.amrm_token().unwrap().password, [3]);
        assert_eq!(environment.nm_host.as_deref(), Some("node7"));
    }

    #[test]
    fn missing_or_malformed_environment_is_reported_by_name() {
        let error = environment_with(&[]).unwrap_err();
        assert!(error.to_string().contains("CONTAINER_ID"), "{error}");
        let error = environment_with(&[("CONTAINER_ID", "container_x")]).unwrap_err();
        assert!(error.to_string().contains("container_x"), "{error}");
        let error =
            environment_with(&[("CONTAINER_ID", "container_1_0001_01_000001")]).unwrap_err();
        assert!(
            error.to_string().contains("HADOOP_TOKEN_FILE_LOCATION"),
            "{error}"
        );
    }

    #[test]
    fn unreadable_or_foreign_credentials_files_are_errors() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("absent");
        let error = environment_with(&[
            ("CONTAINER_ID", "container_1_0001_01_000001"),
            ("HADOOP_TOKEN_FILE_LOCATION", missing.to_str().unwrap()),
        ])
        .unwrap_err();
        assert!(
            matches!(error, ClientError::CredentialsFile { .. }),
            "{error}"
        );

        let garbage = directory.path().join("garbage");
        std::fs::write(&garbage, b"not a token file").unwrap();
        let error = environment_with(&[
            ("CONTAINER_ID", "container_1_0001_01_000001"),
            ("HADOOP_TOKEN_FILE_LOCATION", garbage.to_str().unwrap()),
        ])
        .unwrap_err();
        assert!(matches!(error, ClientError::Credentials { .. }), "{error}");

        let empty = directory.path().join("empty");
        std::fs::write(&empty, Credentials::default().encode()).unwrap();
        let environment = environment_with(&[
            ("CONTAINER_ID", "container_1_0001_01_000001"),
            ("HADOOP_TOKEN_FILE_LOCATION", empty.to_str().unwrap()),
        ])
        .unwrap();
        assert!(matches!(
            environment.amrm_token(),
            Err(ClientError::MissingToken { .. })
        ));
    }
}
