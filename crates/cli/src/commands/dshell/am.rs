//! `spindle dshell-am`: the distributed shell's ApplicationMaster. Registers with its AMRMToken,
//! asks for N containers, starts the shell command in each, replaces lost ones, and unregisters
//! with SUCCEEDED or FAILED. Progress lines go to stdout (AppMaster.stdout), logs to stderr.
//! It finds the RM through its AMRMToken's service (or `--scheduler-address`), or with RM HA
//! through the client's configuration passed as `--rm-conf` (every rm-id's scheduler address and
//! the failover numbers), failing over between the RMs like the client.

use std::time::Duration;

use base64::Engine;
use spindle_client::launch_context::{environment_entry, escape_for_shell, LOG_DIR_EXPANSION};
use spindle_client::{
    AmRmClient, ApplicationMasterEnvironment, ClientError, ContainerRequest, NmClient, NmTokenCache,
};
use spindle_conf::Configuration;
use spindle_proto::yarn::{AmCommandProto, ContainerLaunchContextProto, ContainerProto};
use spindle_types::states::FinalApplicationStatus;
use spindle_types::{ContainerId, NodeId, Resource};

use super::tracker::{AllocationDecision, CompletionOutcome, ShellContainerTracker};
use super::{is_wildcard_address, DshellAmArgs, EXIT_APPLICATION_FAILED};

/// Heartbeat while containers are still to be allocated (the RM allocates at once).
const ALLOCATION_HEARTBEAT: Duration = Duration::from_millis(100);
/// Heartbeat while waiting for running containers to complete.
const RUNNING_HEARTBEAT: Duration = Duration::from_millis(200);
/// Consecutive connection failures tolerated before the AM gives up.
const MAX_CONSECUTIVE_CONNECTION_ERRORS: u32 = 10;

fn decode(what: &str, text: &str) -> anyhow::Result<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|error| anyhow::anyhow!("{what} is not valid base64: {error}"))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{what} is not UTF-8"))
}

/// The shell container's command: the command line run by bash, output to the container's logs.
pub fn shell_container_command(command_line: &str) -> String {
    format!(
        "/bin/bash -c {} 1>{LOG_DIR_EXPANSION}/stdout 2>{LOG_DIR_EXPANSION}/stderr",
        escape_for_shell(command_line)
    )
}

/// The launch context of every shell container.
pub fn shell_launch_context(
    command_line: &str,
    environment: &[(String, String)],
) -> ContainerLaunchContextProto {
    ContainerLaunchContextProto {
        environment: environment
            .iter()
            .map(|(key, value)| environment_entry(key, value))
            .collect(),
        command: vec![shell_container_command(command_line)],
        ..Default::default()
    }
}

/// The scheduler address to use: the token's service, unless it names a wildcard host and the
/// client passed a usable address.
fn scheduler_address(token_service: &str, from_client: Option<&str>) -> Option<String> {
    match from_client {
        Some(address) if token_service.is_empty() || is_wildcard_address(token_service) => {
            Some(address.to_string())
        }
        _ => None,
    }
}

/// The AM's view of the client's configuration: the `--rm-conf` KEY=VALUE entries.
fn rm_configuration(entries: &[String]) -> anyhow::Result<Configuration> {
    let mut configuration = Configuration::new();
    for entry in entries {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--rm-conf entry '{entry}' is not KEY=VALUE"))?;
        configuration.set(key.trim(), value.trim())?;
    }
    Ok(configuration)
}

fn container_id_of(container: &ContainerProto) -> Option<ContainerId> {
    container
        .id
        .as_ref()
        .and_then(|id| ContainerId::try_from(id).ok())
}

fn node_of(container: &ContainerProto) -> String {
    container
        .node_id
        .as_ref()
        .and_then(|node| NodeId::try_from(node).ok())
        .map(|node| node.to_string())
        .unwrap_or_else(|| "an unknown node".into())
}

pub async fn run(args: DshellAmArgs) -> anyhow::Result<i32> {
    let command_line = decode("--shell-command-base64", &args.shell_command_base64)?;
    let mut shell_environment = Vec::new();
    for entry in &args.shell_env_base64 {
        let entry = decode("--shell-env-base64", entry)?;
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("shell environment entry '{entry}' is not KEY=VALUE"))?;
        shell_environment.push((key.to_string(), value.to_string()));
    }
    let environment = ApplicationMasterEnvironment::from_process_environment()?;
    println!(
        "DistributedShell ApplicationMaster for {} in {}: running '{command_line}' in {} containers",
        environment.attempt_id(),
        environment.container_id,
        args.num_containers
    );
    let nm_token_cache = NmTokenCache::new();
    let mut am = if args.rm_conf.is_empty() {
        let token_service = environment.amrm_token()?.service.clone();
        let override_address = scheduler_address(&token_service, args.scheduler_address.as_deref());
        AmRmClient::from_environment(
            &environment,
            override_address.as_deref(),
            nm_token_cache.clone(),
        )
        .await?
    } else {
        // RM HA: every RM's scheduler, from the client's configuration.
        AmRmClient::from_environment_and_configuration(
            &environment,
            &rm_configuration(&args.rm_conf)?,
            nm_token_cache.clone(),
        )
        .await?
    };
    let host = environment
        .nm_host
        .clone()
        .unwrap_or_else(|| "localhost".into());
    let registration = am.register(&host, -1, "").await?;
    println!(
        "Registered with the ResourceManager at {}",
        am.server_address()
    );

    let mut capability = Resource::new(args.container_memory, args.container_vcores);
    if let Some(maximum) = registration
        .maximum_capability
        .as_ref()
        .and_then(|m| Resource::try_from(m).ok())
    {
        if !maximum.fits(&capability) {
            let bounded = capability.min(&maximum);
            println!("Container resource {capability} exceeds the cluster maximum {maximum}; asking for {bounded}");
            capability = bounded;
        }
    }
    let request = ContainerRequest::anywhere(capability, args.priority);
    let launch_context = shell_launch_context(&command_line, &shell_environment);
    let nm_client = NmClient::new(nm_token_cache);
    let mut tracker = ShellContainerTracker::new(args.num_containers);
    let mut connection_errors = 0;

    while !tracker.is_done() {
        for _ in 0..tracker.containers_to_request() {
            am.add_container_request(&request);
        }
        let response = match am.allocate(tracker.progress()).await {
            Ok(response) => {
                connection_errors = 0;
                response
            }
            Err(ClientError::Ipc(error))
                if connection_errors < MAX_CONSECUTIVE_CONNECTION_ERRORS =>
            {
                connection_errors += 1;
                tracing::warn!("allocate failed ({error}); retrying");
                tokio::time::sleep(RUNNING_HEARTBEAT).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        if response.a_m_command == Some(AmCommandProto::AmShutdown as i32) {
            println!("The ResourceManager asked the ApplicationMaster to shut down");
            return Ok(EXIT_APPLICATION_FAILED);
        }
        for container in &response.allocated_containers {
            let Some(container_id) = container_id_of(container) else {
                continue;
            };
            am.remove_container_request(&request);
            let node = node_of(container);
            match tracker.on_allocated(container_id) {
                AllocationDecision::Release => {
                    println!("Releasing surplus container {container_id} on {node}");
                    am.release_assigned_container(container_id);
                }
                AllocationDecision::Launch => {
                    println!("Launching shell command in container {container_id} on node {node}");
                    if let Err(error) = nm_client
                        .start_container(container, launch_context.clone())
                        .await
                    {
                        println!(
                            "Container {container_id} on {node} could not be started: {error}"
                        );
                        tracker.on_launch_failed(container_id, &error.to_string());
                        am.release_assigned_container(container_id);
                    }
                }
            }
        }
        for status in &response.completed_container_statuses {
            let Some(container_id) = status
                .container_id
                .as_ref()
                .and_then(|id| ContainerId::try_from(id).ok())
            else {
                continue;
            };
            let exit = status.exit_status();
            match tracker.on_completed(container_id, exit) {
                CompletionOutcome::Succeeded => {
                    println!("Container {container_id} completed successfully")
                }
                CompletionOutcome::Failed => {
                    println!(
                        "Container {container_id} failed with exit status {exit}: {}",
                        status.diagnostics()
                    )
                }
                CompletionOutcome::Lost => {
                    println!(
                        "Container {container_id} was lost ({}); requesting a replacement",
                        status.diagnostics()
                    )
                }
                CompletionOutcome::Ignored => {}
            }
        }
        if !tracker.is_done() {
            let pause = if tracker.is_waiting_for_allocation() {
                ALLOCATION_HEARTBEAT
            } else {
                RUNNING_HEARTBEAT
            };
            tokio::time::sleep(pause).await;
        }
    }

    let (final_status, diagnostics) = tracker.final_status();
    am.unregister(final_status, &diagnostics, "").await?;
    println!(
        "Unregistered with final status {}{}",
        final_status.name(),
        if diagnostics.is_empty() {
            String::new()
        } else {
            format!(": {diagnostics}")
        }
    );
    Ok(if final_status == FinalApplicationStatus::Succeeded {
        0
    } else {
        EXIT_APPLICATION_FAILED
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `command` as the NM would (`bash -c "<command>"`, `<LOG_DIR>` expanded) and returns
    /// the container's stdout file.
    fn run_like_the_nm(command: &str, environment: &[(&str, &str)]) -> String {
        let log_dir = tempfile::tempdir().unwrap();
        let expanded = command.replace(LOG_DIR_EXPANSION, log_dir.path().to_str().unwrap());
        let status = Command::new("/bin/bash")
            .arg("-c")
            .arg(format!("exec /bin/bash -c \"{expanded}\""))
            .envs(environment.iter().copied())
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read_to_string(log_dir.path().join("stdout")).unwrap()
    }

    #[test]
    fn rm_conf_entries_become_the_ams_configuration() {
        let configuration = rm_configuration(&[
            "yarn.resourcemanager.ha.enabled=true".into(),
            "yarn.resourcemanager.ha.rm-ids=rm1,rm2".into(),
        ])
        .unwrap();
        assert_eq!(
            configuration.get("yarn.resourcemanager.ha.rm-ids"),
            Some("rm1,rm2")
        );
        let error = rm_configuration(&["no-equals-sign".into()]).unwrap_err();
        assert!(error.to_string().contains("no-equals-sign"), "{error}");
    }

    #[test]
    fn the_shell_command_runs_with_its_arguments_and_environment() {
        let command = shell_container_command("echo \"$GREETING\" 'it''s' `echo nested` $((1+2))");
        assert_eq!(
            run_like_the_nm(&command, &[("GREETING", "hi there")]),
            "hi there its nested 3\n"
        );
        let context = shell_launch_context("ls", &[("A".into(), "1".into())]);
        assert_eq!(context.environment[0].key(), "A");
        assert_eq!(context.command.len(), 1);
    }

    #[test]
    fn the_token_service_wins_unless_it_is_a_wildcard() {
        assert_eq!(scheduler_address("127.0.0.1:8030", Some("rm:8030")), None);
        assert_eq!(
            scheduler_address("0.0.0.0:8030", Some("rm:8030")).as_deref(),
            Some("rm:8030")
        );
        assert_eq!(
            scheduler_address("", Some("rm:8030")).as_deref(),
            Some("rm:8030")
        );
        assert_eq!(scheduler_address("0.0.0.0:8030", None), None);
    }

    #[test]
    fn malformed_encoded_arguments_are_refused() {
        assert!(decode("x", "!!!").is_err());
        assert!(decode(
            "x",
            &base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe])
        )
        .is_err());
        assert_eq!(decode("x", "aGk=").unwrap(), "hi");
    }
}
