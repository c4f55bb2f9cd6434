//! What a container start asks for (the domain form of `ContainerLaunchContext` plus the
//! container token's id, user and resource), and the checks made before accepting it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spindle_types::{ContainerId, Resource};

use super::error::StartError;
use crate::localizer::{layout, LocalResource};

/// One container to launch.
#[derive(Debug, Clone)]
pub struct ContainerLaunchSpec {
    pub container_id: ContainerId,
    /// The application submitter (from the container token); exported as `USER` and `LOGNAME`.
    pub user: String,
    /// The allocated resource; `memory_mb` is the physical-memory limit.
    pub resource: Resource,
    /// Link name (relative to the work dir, may contain `/`, may end in `*`) -> resource.
    pub local_resources: BTreeMap<String, LocalResource>,
    /// The request's environment in request order; a later entry for a name replaces an earlier.
    /// Values may use `{{VAR}}`, `<CPS>` and `<LOG_DIR>`.
    pub environment: Vec<(String, String)>,
    /// Command strings, joined with spaces into `exec /bin/bash -c "..."`.
    pub commands: Vec<String>,
    /// The container's credentials bytes (`ContainerLaunchContext.tokens`), written verbatim to
    /// `container_tokens`; when absent an empty Hadoop credentials file is written.
    pub credentials: Option<Vec<u8>>,
    /// GPU device indices assigned to it (already exported in `environment`), kept so that a
    /// recovering NM knows which devices recovered containers hold.
    pub gpu_devices: Vec<u32>,
}

/// Where one container's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    /// `<local-dir>/usercache/<user>/appcache/<app>/<container>` (PWD).
    pub work_dir: PathBuf,
    /// `<log-dir>/<app>/<container>` (`<LOG_DIR>`; holds prelaunch.out/err, stdout, stderr).
    pub log_dir: PathBuf,
    /// `<work dir>/launch_container.sh`.
    pub launch_script: PathBuf,
    /// `<work dir>/container_tokens` (`HADOOP_TOKEN_FILE_LOCATION`).
    pub tokens_file: PathBuf,
    /// `<local-dir>/nmPrivate/<app>/<container>`: the NM's files of this container.
    pub private_dir: PathBuf,
    /// `<private dir>/default_container_executor.sh`: with recovery on, the script the NM starts,
    /// which records the pid and exit code of `launch_container.sh`.
    pub executor_script: PathBuf,
    /// `<private dir>/<container>.pid`: the pid of the container's process group leader.
    pub pid_file: PathBuf,
    /// `<private dir>/<container>.pid.exitcode`: its exit code once it ended.
    pub exit_code_file: PathBuf,
}

pub const LAUNCH_SCRIPT_NAME: &str = "launch_container.sh";
pub const TOKENS_FILE_NAME: &str = "container_tokens";
pub const EXECUTOR_SCRIPT_NAME: &str = "default_container_executor.sh";
/// Suffix of the exit-code file after the pid file's name (Hadoop's `ContainerLaunch.EXIT_CODE_FILE_SUFFIX`).
pub const EXIT_CODE_FILE_SUFFIX: &str = ".exitcode";

impl ContainerPaths {
    /// The paths for a container whose work dir is on `local_dir` and logs on `log_dir`.
    pub fn new(local_dir: &Path, log_dir: &Path, user: &str, container_id: ContainerId) -> Self {
        let work_dir = layout::container_work_dir(local_dir, user, container_id);
        let private_dir = layout::container_private_dir(local_dir, container_id);
        let pid_file = pid_file_in(&private_dir, container_id);
        Self {
            launch_script: work_dir.join(LAUNCH_SCRIPT_NAME),
            tokens_file: work_dir.join(TOKENS_FILE_NAME),
            log_dir: layout::container_log_dir(log_dir, container_id),
            work_dir,
            executor_script: private_dir.join(EXECUTOR_SCRIPT_NAME),
            exit_code_file: exit_code_file_of(&pid_file),
            pid_file,
            private_dir,
        }
    }
}

/// `<private dir>/<container>.pid`.
pub fn pid_file_in(private_dir: &Path, container_id: ContainerId) -> PathBuf {
    private_dir.join(format!("{container_id}.pid"))
}

/// `<pid file>.exitcode`.
pub fn exit_code_file_of(pid_file: &Path) -> PathBuf {
    let mut name = pid_file.as_os_str().to_os_string();
    name.push(EXIT_CODE_FILE_SUFFIX);
    PathBuf::from(name)
}

impl ContainerLaunchSpec {
    /// Refuses requests that would write outside the container's directories or produce a broken
    /// launch script.
    pub fn validate(&self) -> Result<(), StartError> {
        if !layout::is_valid_user_name(&self.user) {
            return Err(StartError::InvalidUser(self.user.clone()));
        }
        for link_name in self.local_resources.keys() {
            check_link_name(link_name)?;
        }
        for (name, value) in &self.environment {
            if !is_valid_variable_name(name) {
                return Err(StartError::InvalidEnvironmentName(name.clone()));
            }
            if value.contains('\0') {
                return Err(StartError::InvalidEnvironmentValue(name.clone()));
            }
        }
        if let Some(index) = self
            .commands
            .iter()
            .position(|command| command.contains('\0'))
        {
            return Err(StartError::InvalidCommand { index });
        }
        Ok(())
    }

    /// The environment with later duplicates replacing earlier entries, first-seen order kept.
    pub fn deduplicated_environment(&self) -> Vec<(String, String)> {
        let mut result: Vec<(String, String)> = Vec::with_capacity(self.environment.len());
        for (name, value) in &self.environment {
            match result.iter_mut().find(|(existing, _)| existing == name) {
                Some(entry) => entry.1 = value.clone(),
                None => result.push((name.clone(), value.clone())),
            }
        }
        result
    }
}

/// A shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_link_name(link_name: &str) -> Result<(), StartError> {
    let invalid = |reason| {
        Err(StartError::InvalidLinkName {
            link_name: link_name.to_string(),
            reason,
        })
    };
    if link_name.is_empty() {
        return invalid("empty");
    }
    if link_name.starts_with('/') {
        return invalid("Destination must be relative");
    }
    if link_name.contains(['"', '`', '$', '\\', '\n', '\r', '\0']) {
        return invalid("contains a character the launch script cannot quote");
    }
    let components: Vec<&str> = link_name.split('/').collect();
    if components
        .iter()
        .any(|component| *component == ".." || *component == "." || component.is_empty())
    {
        return invalid("contains '..', '.' or an empty path component");
    }
    if components[..components.len() - 1].contains(&"*") {
        return invalid("'*' may only be the last component");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    fn spec() -> ContainerLaunchSpec {
        let app = ApplicationId::new(1, 1);
        ContainerLaunchSpec {
            container_id: ContainerId::new(ApplicationAttemptId::new(app, 1), 0, 1),
            user: "alice".into(),
            resource: Resource::new(1024, 1),
            local_resources: BTreeMap::new(),
            environment: vec![],
            commands: vec!["true".into()],
            credentials: None,
            gpu_devices: vec![],
        }
    }

    #[test]
    fn link_names_that_escape_or_break_quoting_are_refused() {
        for good in [
            "__spark_conf__",
            "__spark_libs__/a.jar",
            "__pyfiles__/x.py",
            "*",
            "dir/*",
            "a b",
        ] {
            assert!(check_link_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\"b",
            "$(id)",
            "a`b`",
            "*/x",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_link_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn environment_and_user_are_checked() {
        let mut s = spec();
        s.environment = vec![
            ("CLASSPATH".into(), "{{PWD}}".into()),
            ("_X1".into(), "".into()),
        ];
        assert!(s.validate().is_ok());
        for bad in ["1X", "A-B", "", "A B", "A=B"] {
            let mut s = spec();
            s.environment = vec![(bad.into(), "v".into())];
            assert!(
                matches!(s.validate(), Err(StartError::InvalidEnvironmentName(_))),
                "{bad}"
            );
        }
        let mut s = spec();
        s.environment = vec![("A".into(), "x\0y".into())];
        assert!(s.validate().is_err());
        let mut s = spec();
        s.user = "../root".into();
        assert!(matches!(s.validate(), Err(StartError::InvalidUser(_))));
        let mut s = spec();
        s.commands = vec!["ok".into(), "bad\0".into()];
        assert!(matches!(
            s.validate(),
            Err(StartError::InvalidCommand { index: 1 })
        ));
    }

    #[test]
    fn later_environment_entries_win() {
        let mut s = spec();
        s.environment = vec![
            ("A".into(), "1".into()),
            ("B".into(), "2".into()),
            ("A".into(), "3".into()),
        ];
        assert_eq!(
            s.deduplicated_environment(),
            vec![("A".into(), "3".into()), ("B".into(), "2".into())]
        );
    }
}
