//! Errors of the container API: refused starts, stops of unknown containers, NM setup failures.

use std::path::PathBuf;
use std::sync::Arc;

use spindle_types::ContainerId;

/// Why `ContainerManager::start` refused a container (nothing was started).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    #[error("Container {0} already is running on this node!!")]
    ContainerAlreadyExists(ContainerId),
    /// The container ran here and finished recently: its token cannot start it again.
    #[error("Container {0} was recently stopped on node manager.")]
    ContainerRecentlyStopped(ContainerId),
    #[error("Invalid user name '{0}' for a container")]
    InvalidUser(String),
    #[error("Invalid local resource link name '{link_name}': {reason}")]
    InvalidLinkName {
        link_name: String,
        reason: &'static str,
    },
    #[error("Invalid environment variable name '{0}'")]
    InvalidEnvironmentName(String),
    #[error("Environment variable {0} has a value with a NUL byte")]
    InvalidEnvironmentValue(String),
    #[error("Container command {index} contains a NUL byte")]
    InvalidCommand { index: usize },
    /// Recovery is on and the container could not be recorded (a restart could not take it back).
    #[error("Container {container_id} cannot be recorded for NodeManager recovery: {reason}")]
    NotRecorded {
        container_id: ContainerId,
        reason: String,
    },
}

/// Why `ContainerManager::stop` could not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopError {
    #[error("Container {0} is not handled by this NodeManager")]
    UnknownContainer(ContainerId),
}

/// Why `ContainerManager::new` could not prepare the node's directories.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ManagerSetupError {
    #[error("the NodeManager needs at least one local dir and one log dir")]
    NoDirectories,
    #[error("cannot create NodeManager directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
}
