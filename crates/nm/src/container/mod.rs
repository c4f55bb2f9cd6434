//! Containers on this node: the launch script and environment YARN containers expect, the
//! process group each runs in, its lifecycle and exit status, stop, and the memory monitor.
//!
//! Start with `ContainerManager` (manager.rs); `state.rs` holds the lifecycle table,
//! `launch_script.rs` and `environment.rs` what the container sees, `runtime.rs` stop and exit,
//! `recovery.rs` and `reacquire.rs` how a restarted NM takes back processes it did not start.
//!
//! Invariant: the NM's own environment never reaches a container except through the whitelist;
//! a process group is signalled only while its leader is unreaped (its id cannot be reused).

mod config;
mod diagnostics;
mod environment;
mod error;
mod executor_script;
mod launch_context;
mod launch_script;
mod launcher;
mod manager;
mod monitor;
mod process;
mod process_tree;
mod reacquire;
mod recovery;
mod runtime;
mod spec;
mod state;

pub use config::{
    NmContainerConfig, DEFAULT_ENV_WHITELIST, ENV_WHITELIST_KEY, MONITOR_INTERVAL_KEY,
    PMEM_CHECK_KEY, SIGKILL_DELAY_KEY, STDERR_TAIL_BYTES_KEY, USER_HOME_DIR_KEY,
    VMEM_PMEM_RATIO_KEY,
};
pub use diagnostics::kill_reason;
pub use environment::{build_launch_environment, expand_markers, LaunchEnvironment};
pub use error::{ManagerSetupError, StartError, StopError};
pub use executor_script::executor_script;
pub use launch_context::{launch_context_proto, launch_spec, local_resource, local_resource_proto};
pub use launch_script::{launch_script, ResourceLink};
pub use launcher::EMPTY_CREDENTIALS;
pub use manager::{ContainerDetails, ContainerManager};
pub use reacquire::is_alive;
pub use runtime::{ContainerStatusReport, EXIT_CODE_LAUNCH_FAILED, EXIT_CODE_LOST};
pub use spec::{
    ContainerLaunchSpec, ContainerPaths, EXECUTOR_SCRIPT_NAME, LAUNCH_SCRIPT_NAME, TOKENS_FILE_NAME,
};
pub use state::{ContainerEvent, ContainerLifecycleState};
