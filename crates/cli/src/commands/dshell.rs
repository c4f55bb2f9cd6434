//! `spindle dshell`: YARN's distributed shell. The client submits an application whose AM is this
//! very binary (`spindle dshell-am`, localized from `current_exe()`), then follows it until it
//! ends; the AM ([`am`]) runs the shell command in N containers.

mod am;
mod tracker;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use spindle_client::launch_context::{
    environment_entry, escape_for_shell, local_file_resource, local_resource_entry,
    LOG_DIR_EXPANSION,
};
use spindle_client::{ApplicationReport, RmEndpoints, YarnClient};
use spindle_conf::{Configuration, HostPort, RmService};
use spindle_proto::yarn::{
    ApplicationSubmissionContextProto, ContainerLaunchContextProto, LocalResourceTypeProto,
    LocalResourceVisibilityProto, PriorityProto,
};
use spindle_types::states::{FinalApplicationStatus, YarnApplicationState};
use spindle_types::{ApplicationId, Resource};

use super::application::{format_progress, load_configuration};

/// Exit code of a distributed shell that did not succeed (Hadoop's client exits 2).
pub const EXIT_APPLICATION_FAILED: i32 = 2;
/// Link name of the localized spindle binary in the AM container.
pub const AM_BINARY_LINK: &str = "spindle";
/// How often the client asks the RM for the application's report.
const MONITOR_INTERVAL: Duration = Duration::from_millis(250);

/// `spindle dshell` arguments (Hadoop's `-num_containers` style is accepted as `--num_containers`).
#[derive(clap::Args, Debug, Clone)]
pub struct DshellArgs {
    /// How many containers run the shell command.
    #[arg(long = "num-containers", alias = "num_containers", default_value_t = 1)]
    pub num_containers: u32,
    /// Memory of each shell container, in MB.
    #[arg(
        long = "container-memory",
        alias = "container_memory",
        default_value_t = 256
    )]
    pub container_memory: i64,
    /// Virtual cores of each shell container.
    #[arg(
        long = "container-vcores",
        alias = "container_vcores",
        default_value_t = 1
    )]
    pub container_vcores: i64,
    /// The shell command to run.
    #[arg(long = "shell-command", alias = "shell_command")]
    pub shell_command: String,
    /// Arguments appended to the shell command.
    #[arg(long = "shell-args", alias = "shell_args", num_args = 1.., action = clap::ArgAction::Append)]
    pub shell_args: Vec<String>,
    /// Environment for the shell command, KEY=VALUE (repeatable).
    #[arg(long = "shell-env", alias = "shell_env", value_name = "KEY=VALUE")]
    pub shell_env: Vec<String>,
    /// Memory of the ApplicationMaster container, in MB.
    #[arg(long = "master-memory", alias = "master_memory", default_value_t = 256)]
    pub master_memory: i64,
    /// Virtual cores of the ApplicationMaster container.
    #[arg(long = "master-vcores", alias = "master_vcores", default_value_t = 1)]
    pub master_vcores: i64,
    /// Queue to submit to.
    #[arg(long, default_value = "default")]
    pub queue: String,
    /// Application name.
    #[arg(long, default_value = "DistributedShell")]
    pub appname: String,
    /// Application type, as `-list -appTypes` filters it.
    #[arg(long = "app-type", alias = "app_type", default_value = "YARN")]
    pub app_type: String,
    /// Application priority.
    #[arg(long, default_value_t = 0)]
    pub priority: i32,
    /// Priority of the shell containers' requests.
    #[arg(
        long = "shell-cmd-priority",
        alias = "shell_cmd_priority",
        default_value_t = 0
    )]
    pub shell_cmd_priority: i32,
    /// Milliseconds after which the client kills the application.
    #[arg(long, default_value_t = 600_000)]
    pub timeout: u64,
}

/// `spindle dshell-am` arguments, written by the client into the AM's command.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct DshellAmArgs {
    #[arg(long = "num-containers")]
    pub num_containers: u32,
    #[arg(long = "container-memory")]
    pub container_memory: i64,
    #[arg(long = "container-vcores")]
    pub container_vcores: i64,
    /// Priority of the container requests.
    #[arg(long, default_value_t = 0)]
    pub priority: i32,
    /// The shell command line, base64 (so no quoting can break it).
    #[arg(long = "shell-command-base64")]
    pub shell_command_base64: String,
    /// One KEY=VALUE of the shell's environment, base64 (repeatable).
    #[arg(long = "shell-env-base64")]
    pub shell_env_base64: Vec<String>,
    /// The RM scheduler address from the client's configuration, used if the AMRMToken's
    /// service names a wildcard address.
    #[arg(long = "scheduler-address")]
    pub scheduler_address: Option<String>,
    /// One KEY=VALUE of the client's configuration the AM needs with RM HA (repeatable): the
    /// `yarn.resourcemanager.ha.*` keys, every rm-id's scheduler address and the
    /// `yarn.client.failover-*` numbers. YARN ships the submitter's configuration to its AMs;
    /// this is the part that tells the AM where every RM is.
    #[arg(long = "rm-conf", value_name = "KEY=VALUE")]
    pub rm_conf: Vec<String>,
}

fn encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// The shell command line the containers run: the command and its arguments, space-joined.
pub fn shell_command_line(command: &str, args: &[String]) -> String {
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The AM's launch command (one string, as YARN's distributed shell sends it).
pub fn am_command(am_args: &DshellAmArgs) -> String {
    let mut words = vec![
        format!("./{AM_BINARY_LINK}"),
        "dshell-am".into(),
        format!("--num-containers {}", am_args.num_containers),
        format!("--container-memory {}", am_args.container_memory),
        format!("--container-vcores {}", am_args.container_vcores),
        format!("--priority {}", am_args.priority),
        format!("--shell-command-base64 {}", am_args.shell_command_base64),
    ];
    for entry in &am_args.shell_env_base64 {
        words.push(format!("--shell-env-base64 {entry}"));
    }
    if let Some(address) = &am_args.scheduler_address {
        words.push(format!("--scheduler-address {}", escape_for_shell(address)));
    }
    for entry in &am_args.rm_conf {
        words.push(format!("--rm-conf {}", escape_for_shell(entry)));
    }
    words.push(format!("1>{LOG_DIR_EXPANSION}/AppMaster.stdout"));
    words.push(format!("2>{LOG_DIR_EXPANSION}/AppMaster.stderr"));
    words.join(" ")
}

/// The scheduler address to hand the AM: the client's configured one, unless it is a wildcard
/// or port 0 (then the AM uses its AMRMToken's service).
fn configured_scheduler_address(configuration: &Configuration) -> Option<String> {
    let address = spindle_client::addresses::scheduler_address(configuration).ok()?;
    (!address.is_wildcard() && address.port() != 0).then(|| address.to_string())
}

/// The `--rm-conf` entries for the AM: with RM HA, what it needs to reach every RM's scheduler
/// and fail over as this client would; without HA none.
fn rm_configuration_for_am(configuration: &Configuration) -> anyhow::Result<Vec<String>> {
    Ok(
        spindle_client::addresses::scheduler_failover_properties(configuration)?
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect(),
    )
}

/// One line describing where the application is, printed when it changes.
pub fn describe_report(report: &ApplicationReport) -> String {
    let mut line = format!(
        "{} {} (progress {})",
        report.application_id,
        report.state.name(),
        format_progress(report.progress)
    );
    if report.state == YarnApplicationState::Running
        && report.host != "N/A"
        && !report.host.is_empty()
    {
        line.push_str(&format!(", ApplicationMaster on {}", report.host));
    }
    if report.state.is_final() {
        line.push_str(&format!(", final status {}", report.final_status.name()));
    }
    line
}

fn validate(args: &DshellArgs) -> anyhow::Result<()> {
    if args.num_containers < 1 {
        anyhow::bail!(
            "Invalid no. of containers specified, exiting. Specified numContainer={}",
            args.num_containers
        );
    }
    if args.container_memory < 1 || args.container_vcores < 1 {
        anyhow::bail!(
            "Invalid no. of container memory/vcores specified, exiting. Specified containerMemory={}, containerVirtualCores={}",
            args.container_memory,
            args.container_vcores
        );
    }
    if args.master_memory < 1 || args.master_vcores < 1 {
        anyhow::bail!(
            "Invalid memory/vcores specified for application master, exiting. Specified memory={}, vcores={}",
            args.master_memory,
            args.master_vcores
        );
    }
    if args.shell_command.trim().is_empty() {
        anyhow::bail!("No shell command specified to be executed by application master");
    }
    for entry in &args.shell_env {
        if !entry.contains('=') || entry.starts_with('=') {
            anyhow::bail!("--shell-env expects KEY=VALUE, got '{entry}'");
        }
    }
    Ok(())
}

/// `resource` bounded by `maximum`, with a warning naming `what` when it had to shrink.
fn within_maximum(what: &str, resource: Resource, maximum: &Resource) -> Resource {
    let bounded = resource.min(maximum);
    if bounded != resource {
        eprintln!("{what} {resource} is above the cluster's maximum {maximum}; using {bounded}");
    }
    bounded
}

fn launch_context(am_args: &DshellAmArgs) -> anyhow::Result<ContainerLaunchContextProto> {
    let binary = std::env::current_exe()?;
    let resource = local_file_resource(
        &binary,
        LocalResourceTypeProto::File,
        LocalResourceVisibilityProto::Application,
    )
    .map_err(|error| anyhow::anyhow!("cannot localize {}: {error}", binary.display()))?;
    let mut environment = Vec::new();
    if let Ok(filter) = std::env::var("SPINDLE_LOG") {
        environment.push(environment_entry("SPINDLE_LOG", &filter));
    }
    Ok(ContainerLaunchContextProto {
        local_resources: vec![local_resource_entry(AM_BINARY_LINK, resource)],
        environment,
        command: vec![am_command(am_args)],
        ..Default::default()
    })
}

pub(crate) async fn submit(
    client: &YarnClient,
    configuration: &Configuration,
    args: &DshellArgs,
) -> anyhow::Result<ApplicationId> {
    let metrics = client.get_cluster_metrics().await?;
    println!(
        "Got Cluster metric info from ResourceManager, numNodeManagers={}",
        metrics.num_node_managers()
    );
    let new_application = client.get_new_application().await?;
    let maximum = &new_application.maximum_capability;
    let master = within_maximum(
        "ApplicationMaster resource",
        Resource::new(args.master_memory, args.master_vcores),
        maximum,
    );
    let container = within_maximum(
        "Container resource",
        Resource::new(args.container_memory, args.container_vcores),
        maximum,
    );
    let am_args = DshellAmArgs {
        num_containers: args.num_containers,
        container_memory: container.memory_mb,
        container_vcores: container.vcores,
        priority: args.shell_cmd_priority,
        shell_command_base64: encode(&shell_command_line(&args.shell_command, &args.shell_args)),
        shell_env_base64: args.shell_env.iter().map(|entry| encode(entry)).collect(),
        scheduler_address: configured_scheduler_address(configuration),
        rm_conf: rm_configuration_for_am(configuration)?,
    };
    let application_id = new_application.application_id;
    let submission = ApplicationSubmissionContextProto {
        application_id: Some(application_id.into()),
        application_name: Some(args.appname.clone()),
        queue: Some(args.queue.clone()),
        priority: Some(PriorityProto {
            priority: Some(args.priority),
        }),
        am_container_spec: Some(launch_context(&am_args)?),
        resource: Some((&master).into()),
        application_type: Some(args.app_type.clone()),
        ..Default::default()
    };
    client.submit_application(submission).await?;
    println!("Submitted application {application_id}");
    Ok(application_id)
}

/// Follows the application until it ends or `timeout` passes; returns the exit code.
async fn monitor(
    client: &YarnClient,
    application_id: ApplicationId,
    timeout: Duration,
) -> anyhow::Result<i32> {
    let started = Instant::now();
    let mut last_line = String::new();
    loop {
        let report = match client.get_application_report(application_id).await {
            Ok(report) => report,
            // The RM went away mid-call (a restart): ask again; re-connecting waits for it.
            Err(spindle_client::ClientError::Ipc(error)) if started.elapsed() < timeout => {
                eprintln!("Lost the ResourceManager ({error}); asking again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let line = describe_report(&report);
        if line != last_line {
            println!("{line}");
            last_line = line;
        }
        if report.state.is_final() {
            if report.state == YarnApplicationState::Finished
                && report.final_status == FinalApplicationStatus::Succeeded
            {
                println!("Application {application_id} completed successfully");
                return Ok(0);
            }
            eprintln!(
                "Application {application_id} did not finish successfully. YarnState={}, DSFinalStatus={}. Diagnostics: {}",
                report.state.name(),
                report.final_status.name(),
                report.diagnostics
            );
            return Ok(EXIT_APPLICATION_FAILED);
        }
        if started.elapsed() > timeout {
            eprintln!("Reached client specified timeout for application. Killing application {application_id}");
            client
                .kill_application(
                    application_id,
                    Some("Killed by the distributed shell client: timeout"),
                )
                .await?;
            return Ok(EXIT_APPLICATION_FAILED);
        }
        tokio::time::sleep(MONITOR_INTERVAL).await;
    }
}

pub async fn run(conf_dir: Option<&Path>, args: DshellArgs) -> anyhow::Result<i32> {
    validate(&args)?;
    let configuration = load_configuration(conf_dir)?;
    let resource_managers = RmEndpoints::from_configuration(&configuration, RmService::Client)?;
    let client = YarnClient::from_configuration(&configuration)
        .await
        .map_err(|error| {
            anyhow::anyhow!("cannot reach the ResourceManager at {resource_managers}: {error}")
        })?;
    let application_id = submit(&client, &configuration, &args).await?;
    monitor(&client, application_id, Duration::from_millis(args.timeout)).await
}

pub async fn run_am(args: DshellAmArgs) -> anyhow::Result<i32> {
    am::run(args).await
}

/// Whether `address` (`host:port`) names a wildcard host such as `0.0.0.0`.
pub(crate) fn is_wildcard_address(address: &str) -> bool {
    HostPort::parse(address, None)
        .map(|a| a.is_wildcard())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use spindle_conf::keys;

    #[derive(Parser)]
    struct ClientCommand {
        #[command(flatten)]
        args: DshellArgs,
    }

    #[derive(Parser)]
    struct AmCommand {
        #[command(flatten)]
        args: DshellAmArgs,
    }

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn client_arguments_accept_both_spellings() {
        let parsed = ClientCommand::try_parse_from(words(
            "dshell --num-containers 3 --container_memory 512 --shell-command echo --shell-args hello world --queue q --timeout 5000",
        ))
        .unwrap()
        .args;
        assert_eq!(parsed.num_containers, 3);
        assert_eq!(parsed.container_memory, 512);
        assert_eq!(parsed.shell_args, ["hello", "world"]);
        assert_eq!(parsed.queue, "q");
        assert_eq!(parsed.timeout, 5000);
        assert_eq!(parsed.appname, "DistributedShell");
        assert!(validate(&parsed).is_ok());
        assert!(
            ClientCommand::try_parse_from(words("dshell --num-containers 2")).is_err(),
            "the command is required"
        );
        assert!(ClientCommand::try_parse_from(words(
            "dshell --shell-command ls --num-containers x"
        ))
        .is_err());
    }

    #[test]
    fn invalid_sizes_are_refused_before_submitting() {
        let mut args = ClientCommand::try_parse_from(words("dshell --shell-command ls"))
            .unwrap()
            .args;
        args.num_containers = 0;
        assert!(validate(&args)
            .unwrap_err()
            .to_string()
            .contains("numContainer=0"));
        args.num_containers = 1;
        args.container_memory = 0;
        assert!(validate(&args).is_err());
        args.container_memory = 128;
        args.shell_env = vec!["NOEQUALS".into()];
        assert!(validate(&args).is_err());
    }

    #[test]
    fn the_am_command_round_trips_through_its_parser() {
        let am_args = DshellAmArgs {
            num_containers: 2,
            container_memory: 1024,
            container_vcores: 1,
            priority: 3,
            shell_command_base64: encode("echo 'quoted $HOME' \"x\""),
            shell_env_base64: vec![encode("GREETING=hi there")],
            scheduler_address: Some("rm.example.com:8030".into()),
            rm_conf: vec![
                "yarn.resourcemanager.ha.rm-ids=rm1,rm2".into(),
                "yarn.resourcemanager.scheduler.address.rm1=rm1.example.com:8030".into(),
            ],
        };
        let command = am_command(&am_args);
        assert!(
            command.starts_with("./spindle dshell-am --num-containers 2 "),
            "{command}"
        );
        assert!(
            command.ends_with(" 1><LOG_DIR>/AppMaster.stdout 2><LOG_DIR>/AppMaster.stderr"),
            "{command}"
        );
        let without_redirects: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .filter(|w| !w.contains("<LOG_DIR>"))
            .map(|w| w.trim_matches('\'').to_string())
            .collect();
        let parsed = AmCommand::try_parse_from(&without_redirects).unwrap().args;
        assert_eq!(parsed, am_args);
    }

    #[test]
    fn shell_command_lines_join_arguments() {
        assert_eq!(shell_command_line("ls", &[]), "ls");
        assert_eq!(
            shell_command_line("echo", &["a".into(), "b c".into()]),
            "echo a b c"
        );
    }

    #[test]
    fn reports_are_described_with_state_and_progress() {
        let report = ApplicationReport {
            application_id: ApplicationId::new(5, 1),
            current_attempt_id: None,
            name: "n".into(),
            application_type: "YARN".into(),
            user: "u".into(),
            queue: "default".into(),
            priority: 0,
            state: YarnApplicationState::Running,
            final_status: FinalApplicationStatus::Undefined,
            progress: 0.5,
            tracking_url: "N/A".into(),
            original_tracking_url: "N/A".into(),
            host: "node1".into(),
            rpc_port: -1,
            start_time: 0,
            launch_time: 0,
            finish_time: 0,
            diagnostics: String::new(),
            tags: vec![],
            used_containers: 2,
            used_resources: Resource::ZERO,
            memory_seconds: 0,
            vcore_seconds: 0,
            resource_seconds: vec![],
            preempted_memory_seconds: 0,
            preempted_vcore_seconds: 0,
            preempted_resource_seconds: vec![],
            log_aggregation_status: spindle_types::states::LogAggregationStatus::Disabled,
        };
        assert_eq!(
            describe_report(&report),
            "application_5_0001 RUNNING (progress 50%), ApplicationMaster on node1"
        );
        let finished = ApplicationReport {
            state: YarnApplicationState::Finished,
            final_status: FinalApplicationStatus::Succeeded,
            progress: 1.0,
            ..report
        };
        assert_eq!(
            describe_report(&finished),
            "application_5_0001 FINISHED (progress 100%), final status SUCCEEDED"
        );
    }

    #[test]
    fn the_am_gets_every_rm_ids_scheduler_address_with_ha() {
        let mut configuration = Configuration::with_yarn_defaults().unwrap();
        assert!(rm_configuration_for_am(&configuration).unwrap().is_empty());
        for (key, value) in [
            (keys::RM_HA_ENABLED, "true"),
            (keys::RM_HA_IDS, "rm1,rm2"),
            ("yarn.resourcemanager.hostname.rm1", "host1"),
            ("yarn.resourcemanager.scheduler.address.rm2", "host2:9030"),
            (keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "4"),
        ] {
            configuration.set(key, value).unwrap();
        }
        assert_eq!(
            rm_configuration_for_am(&configuration).unwrap(),
            [
                "yarn.resourcemanager.ha.enabled=true",
                "yarn.resourcemanager.ha.rm-ids=rm1,rm2",
                "yarn.resourcemanager.scheduler.address.rm1=host1:8030",
                "yarn.resourcemanager.scheduler.address.rm2=host2:9030",
                "yarn.client.failover-sleep-base-ms=30000",
                "yarn.client.failover-sleep-max-ms=30000",
                "yarn.client.failover-max-attempts=4",
            ]
        );
        configuration.unset("yarn.resourcemanager.hostname.rm1");
        let error = rm_configuration_for_am(&configuration).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("yarn.resourcemanager.scheduler.address.rm1"),
            "{error}"
        );
    }

    #[test]
    fn wildcard_scheduler_addresses_are_not_handed_to_the_am() {
        let mut configuration = Configuration::with_yarn_defaults().unwrap();
        assert_eq!(
            configured_scheduler_address(&configuration),
            None,
            "default 0.0.0.0:8030"
        );
        configuration.set(keys::RM_HOSTNAME, "rm1").unwrap();
        assert_eq!(
            configured_scheduler_address(&configuration).as_deref(),
            Some("rm1:8030")
        );
        configuration
            .set(keys::RM_SCHEDULER_ADDRESS, "rm1:0")
            .unwrap();
        assert_eq!(configured_scheduler_address(&configuration), None);
        assert!(is_wildcard_address("0.0.0.0:8030"));
        assert!(!is_wildcard_address("127.0.0.1:8030"));
    }
}
