//! `spindle application`: `-list [-appStates S,..|ALL] [-appTypes T,..]`, `-status ID`, `-kill ID`,
//! with `yarn application`'s arguments, output and exit codes (-1, i.e. 255, for errors).

use std::path::{Path, PathBuf};

use spindle_client::{ApplicationFilter, ApplicationReport, YarnClient};
use spindle_conf::Configuration;
use spindle_types::states::YarnApplicationState;
use spindle_types::ApplicationId;

/// Exit code of a failed `yarn` command (`-1` as a process status).
pub(crate) const EXIT_FAILURE: i32 = 255;

const USAGE: &str = "\
usage: application
 -appStates <States>             Works with -list to filter applications
                                 based on input comma-separated list of
                                 application states. The valid application
                                 state can be one of the following:
                                 ALL,NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING,
                                 FINISHED,FAILED,KILLED
 -appTags <Tags>                 Works with -list to filter applications
                                 based on input comma-separated list of
                                 application tags.
 -appTypes <Types>               Works with -list to filter applications
                                 based on input comma-separated list of
                                 application types.
 -help                           Displays help for all commands.
 -kill <Application ID>          Kills the application.
 -json                           Works with -list: a JSON array for scripts.
 -list                           List applications. Supports optional use
                                 of -appTypes to filter applications based
                                 on application type, and -appStates to
                                 filter applications based on application
                                 state.
 -status <Application ID>        Prints the status of the application.";

/// The states `-list` shows without `-appStates`, as `yarn application -list` does.
pub const DEFAULT_LIST_STATES: [YarnApplicationState; 3] = [
    YarnApplicationState::Submitted,
    YarnApplicationState::Accepted,
    YarnApplicationState::Running,
];

/// One `spindle application` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationCommand {
    /// `-list`: states in YARN's order, upper-case types in the order given.
    List {
        states: Vec<YarnApplicationState>,
        application_types: Vec<String>,
        /// `-appTags`: applications carrying any of these (lower case, as YARN stores tags).
        application_tags: Vec<String>,
    },
    Status(ApplicationId),
    Kill(ApplicationId),
    Help,
}

/// Why the arguments were refused: the message for stderr (usage follows unless `usage` is false).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentError {
    pub message: String,
    pub usage: bool,
}

impl ArgumentError {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            usage: true,
        }
    }
}

/// `args` without `--json` (or `-json`), and whether it was there: listings print a JSON array
/// for scripts instead of `yarn`'s table.
pub(crate) fn take_json_flag(args: &[String]) -> (bool, Vec<String>) {
    let json = args.iter().any(|a| a == "--json" || a == "-json");
    let rest = args
        .iter()
        .filter(|a| *a != "--json" && *a != "-json")
        .cloned()
        .collect();
    (json, rest)
}

/// One application of `application -list --json`.
fn application_json(report: &ApplicationReport) -> serde_json::Value {
    serde_json::json!({
        "id": report.application_id.to_string(),
        "name": report.name,
        "applicationType": report.application_type,
        "user": report.user,
        "queue": report.queue,
        "state": report.state.name(),
        "finalStatus": report.final_status.name(),
        "progress": report.progress,
        "trackingUrl": report.tracking_url,
        "startTime": report.start_time,
        "finishTime": report.finish_time,
        "tags": report.tags,
        "usedContainers": report.used_containers,
        "memorySeconds": report.memory_seconds,
        "vcoreSeconds": report.vcore_seconds,
    })
}

/// `items` as a JSON array, one line.
pub(crate) fn json_array(items: Vec<serde_json::Value>) -> String {
    format!("{}\n", serde_json::Value::Array(items))
}

/// `args` parsed by `parse` after an optional `--conf-dir DIR`; a refusal is printed (its
/// message, then `usage` when it calls for it) and becomes the exit status to return.
pub(crate) fn parse_or_refuse<T>(
    args: &[String],
    usage: &str,
    parse: impl FnOnce(&[String]) -> Result<T, ArgumentError>,
) -> Result<(Option<PathBuf>, T), i32> {
    take_conf_dir(args)
        .and_then(|(dir, rest)| Ok((dir, parse(&rest)?)))
        .map_err(|error| {
            if !error.message.is_empty() {
                eprintln!("{}", error.message);
            }
            if error.usage {
                eprintln!("{usage}");
            }
            EXIT_FAILURE
        })
}

/// Splits `args` into an optional `--conf-dir DIR` (which may come after the subcommand) and the rest.
pub(crate) fn take_conf_dir(
    args: &[String],
) -> Result<(Option<PathBuf>, Vec<String>), ArgumentError> {
    let mut conf_dir = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--conf-dir" {
            let value = iter
                .next()
                .ok_or_else(|| ArgumentError::usage("Missing argument for option: conf-dir"))?;
            conf_dir = Some(PathBuf::from(value));
        } else if let Some(value) = arg.strip_prefix("--conf-dir=") {
            conf_dir = Some(PathBuf::from(value));
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((conf_dir, rest))
}

/// The option name of `arg` (`-list`, `--list` -> `list`), or None for a value.
pub(crate) fn option_name(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// The comma-separated values following an option, across one or more arguments, as
/// commons-cli collects an option with unlimited values.
pub(crate) fn option_values(args: &[String], index: &mut usize) -> Vec<String> {
    let mut values = Vec::new();
    while let Some(next) = args.get(*index + 1) {
        if option_name(next).is_some() {
            break;
        }
        values.extend(
            next.split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        );
        *index += 1;
    }
    values
}

fn parse_application_id(text: &str) -> Result<ApplicationId, ArgumentError> {
    text.parse().map_err(|error| ArgumentError {
        message: format!("Invalid ApplicationId: {error}"),
        usage: false,
    })
}

fn all_valid_states_message() -> String {
    let names: Vec<&str> = YarnApplicationState::ALL.iter().map(|s| s.name()).collect();
    format!(
        "The valid application state can be one of the following: ALL,{}",
        names.join(",")
    )
}

/// Parses `yarn application` arguments (without the word `application`).
pub fn parse_application_args(args: &[String]) -> Result<ApplicationCommand, ArgumentError> {
    let mut list = false;
    let mut status = None;
    let mut kill = None;
    let mut help = false;
    let mut state_values: Option<Vec<String>> = None;
    let mut type_values: Vec<String> = Vec::new();
    let mut tag_values: Vec<String> = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        let Some(name) = option_name(arg) else {
            return Err(ArgumentError::usage(format!("Unexpected argument: {arg}")));
        };
        let mut single_value = |option: &str| -> Result<String, ArgumentError> {
            index += 1;
            args.get(index)
                .filter(|value| option_name(value).is_none())
                .cloned()
                .ok_or_else(|| {
                    ArgumentError::usage(format!("Missing argument for option: {option}"))
                })
        };
        match name {
            "list" => list = true,
            "status" => status = Some(single_value("status")?),
            "kill" => kill = Some(single_value("kill")?),
            "help" => help = true,
            "appStates" => {
                state_values
                    .get_or_insert_with(Vec::new)
                    .extend(option_values(args, &mut index));
            }
            "appTypes" => type_values.extend(option_values(args, &mut index)),
            "appTags" => tag_values.extend(option_values(args, &mut index)),
            other => {
                return Err(ArgumentError::usage(format!(
                    "Unrecognized option: -{other}"
                )))
            }
        }
        index += 1;
    }
    let chosen = [list, status.is_some(), kill.is_some()]
        .iter()
        .filter(|c| **c)
        .count();
    if chosen > 1 {
        return Err(ArgumentError::usage(
            "Choose one of -list, -status and -kill",
        ));
    }
    if let Some(id) = status {
        return Ok(ApplicationCommand::Status(parse_application_id(&id)?));
    }
    if let Some(id) = kill {
        return Ok(ApplicationCommand::Kill(parse_application_id(&id)?));
    }
    if list {
        let mut states: Vec<YarnApplicationState> = Vec::new();
        for value in state_values.unwrap_or_default() {
            if value.eq_ignore_ascii_case("ALL") {
                states = YarnApplicationState::ALL.to_vec();
                break;
            }
            let state = YarnApplicationState::from_name(&value).ok_or_else(|| ArgumentError {
                message: format!(
                    "The application state {value} is invalid.\n{}",
                    all_valid_states_message()
                ),
                usage: false,
            })?;
            states.push(state);
        }
        if states.is_empty() {
            states = DEFAULT_LIST_STATES.to_vec();
        }
        states.sort();
        states.dedup();
        let mut application_types: Vec<String> = Vec::new();
        for value in type_values {
            let upper = value.to_uppercase();
            if !application_types.contains(&upper) {
                application_types.push(upper);
            }
        }
        let mut application_tags: Vec<String> = Vec::new();
        for value in tag_values.iter().flat_map(|v| v.split(',')) {
            let tag = value.trim().to_lowercase();
            if !tag.is_empty() && !application_tags.contains(&tag) {
                application_tags.push(tag);
            }
        }
        return Ok(ApplicationCommand::List {
            states,
            application_types,
            application_tags,
        });
    }
    if help {
        return Ok(ApplicationCommand::Help);
    }
    Err(ArgumentError::usage("Invalid Command Usage : "))
}

/// `DecimalFormat("###.##%")`: 0.5 -> `50%`, 0.12345 -> `12.35%`, 1 -> `100%`.
pub fn format_progress(progress: f32) -> String {
    let percent = format!("{:.2}", f64::from(progress) * 100.0);
    let trimmed = percent.trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}%")
}

fn bracketed<T: AsRef<str>>(items: &[T]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", items.join(", "))
}

/// One row of `yarn application -list`.
fn application_row(columns: [&str; 9]) -> String {
    format!(
        "{:>30}\t{:>20}\t{:>20}\t{:>10}\t{:>10}\t{:>18}\t{:>18}\t{:>15}\t{:>35}\n",
        columns[0],
        columns[1],
        columns[2],
        columns[3],
        columns[4],
        columns[5],
        columns[6],
        columns[7],
        columns[8]
    )
}

/// The output of `-list`: the header line, the column titles, one row per application.
pub fn format_application_list(
    application_types: &[String],
    states: &[YarnApplicationState],
    reports: &[ApplicationReport],
) -> String {
    let state_names: Vec<&str> = states.iter().map(|s| s.name()).collect();
    let mut out = format!(
        "Total number of applications (application-types: {} and states: {}):{}\n",
        bracketed(application_types),
        bracketed(&state_names),
        reports.len()
    );
    out.push_str(&application_row([
        "Application-Id",
        "Application-Name",
        "Application-Type",
        "User",
        "Queue",
        "State",
        "Final-State",
        "Progress",
        "Tracking-URL",
    ]));
    for report in reports {
        out.push_str(&application_row([
            &report.application_id.to_string(),
            &report.name,
            &report.application_type,
            &report.user,
            &report.queue,
            report.state.name(),
            report.final_status.name(),
            &format_progress(report.progress),
            &report.original_tracking_url,
        ]));
    }
    out
}

/// The output of `-status`: YARN's "Application Report" block.
pub fn format_application_report(report: &ApplicationReport) -> String {
    let lines: Vec<(&str, String)> = vec![
        ("Application-Id", report.application_id.to_string()),
        ("Application-Name", report.name.clone()),
        ("Application-Type", report.application_type.clone()),
        ("User", report.user.clone()),
        ("Queue", report.queue.clone()),
        ("Application Priority", report.priority.to_string()),
        ("Start-Time", report.start_time.to_string()),
        ("Finish-Time", report.finish_time.to_string()),
        ("Progress", format_progress(report.progress)),
        ("State", report.state.name().to_string()),
        ("Final-State", report.final_status.name().to_string()),
        ("Tracking-URL", report.original_tracking_url.clone()),
        ("RPC Port", report.rpc_port.to_string()),
        ("AM Host", report.host.clone()),
        (
            "Aggregate Resource Allocation",
            resource_seconds_text(
                report.memory_seconds,
                report.vcore_seconds,
                &report.resource_seconds,
            ),
        ),
        (
            "Aggregate Resource Preempted",
            resource_seconds_text(
                report.preempted_memory_seconds,
                report.preempted_vcore_seconds,
                &report.preempted_resource_seconds,
            ),
        ),
        (
            "Log Aggregation Status",
            report.log_aggregation_status.name().to_string(),
        ),
        ("Diagnostics", report.diagnostics.clone()),
    ];
    let mut out = String::from("Application Report : \n");
    for (label, value) in lines {
        out.push_str(&format!("\t{label} : {value}\n"));
    }
    out
}

/// Resource-seconds as `yarn application -status` prints them: MB-seconds and vcore-seconds, then
/// each other resource type as "N <name>-seconds" (the types Spindle knows have no units).
fn resource_seconds_text(
    memory_seconds: i64,
    vcore_seconds: i64,
    per_type: &[(String, i64)],
) -> String {
    let mut parts = vec![
        format!("{memory_seconds} MB-seconds"),
        format!("{vcore_seconds} vcore-seconds"),
    ];
    for (name, value) in per_type {
        if name != "memory-mb" && name != "vcores" {
            parts.push(format!("{value} {name}-seconds"));
        }
    }
    parts.join(", ")
}

/// The message for an application the RM does not know.
pub fn not_found_message(application_id: ApplicationId) -> String {
    format!("Application with id '{application_id}' doesn't exist in RM.")
}

/// The configuration directory to read: `--conf-dir`, else `$YARN_CONF_DIR` (yarn's own
/// override), else whatever the configuration crate finds through `$HADOOP_CONF_DIR`.
pub(crate) fn load_configuration(conf_dir: Option<&Path>) -> anyhow::Result<Configuration> {
    let from_environment = std::env::var_os("YARN_CONF_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    let directory = conf_dir.map(Path::to_path_buf).or(from_environment);
    if let Some(dir) = directory.as_deref().filter(|dir| !dir.is_dir()) {
        anyhow::bail!("Cannot find configuration directory: {}", dir.display());
    }
    Ok(Configuration::load_default_files(directory.as_deref())?)
}

/// A YarnClient for the RM named by the configuration (every rm-id's, with failover, in RM HA).
pub(crate) async fn connect(conf_dir: Option<&Path>) -> anyhow::Result<YarnClient> {
    let configuration = load_configuration(conf_dir)?;
    let resource_managers = spindle_client::RmEndpoints::from_configuration(
        &configuration,
        spindle_conf::RmService::Client,
    )?;
    YarnClient::from_configuration(&configuration)
        .await
        .map_err(|error| {
            anyhow::anyhow!("cannot reach the ResourceManager at {resource_managers}: {error}")
        })
}

pub async fn run(conf_dir: Option<&Path>, args: &[String]) -> anyhow::Result<i32> {
    let (json, args) = take_json_flag(args);
    let (inner_conf_dir, command) = match parse_or_refuse(&args, USAGE, parse_application_args) {
        Ok(parsed) => parsed,
        Err(status) => return Ok(status),
    };
    if command == ApplicationCommand::Help {
        println!("{USAGE}");
        return Ok(0);
    }
    let client = connect(inner_conf_dir.as_deref().or(conf_dir)).await?;
    match command {
        ApplicationCommand::Help => unreachable!("handled above"),
        ApplicationCommand::List {
            states,
            application_types,
            application_tags,
        } => {
            let filter = ApplicationFilter {
                states: states.clone(),
                application_types: application_types.clone(),
                tags: application_tags,
                ..Default::default()
            };
            let mut reports = client.get_applications(&filter).await?;
            reports.sort_by_key(|report| report.application_id);
            if json {
                print!(
                    "{}",
                    json_array(reports.iter().map(application_json).collect())
                );
                return Ok(0);
            }
            print!(
                "{}",
                format_application_list(&application_types, &states, &reports)
            );
            Ok(0)
        }
        ApplicationCommand::Status(application_id) => {
            match client.get_application_report(application_id).await {
                Ok(report) => {
                    print!("{}", format_application_report(&report));
                    Ok(0)
                }
                Err(error) if error.is_application_not_found() => {
                    eprintln!("{}", not_found_message(application_id));
                    Ok(EXIT_FAILURE)
                }
                Err(error) => Err(error.into()),
            }
        }
        ApplicationCommand::Kill(application_id) => {
            let report = match client.get_application_report(application_id).await {
                Ok(report) => report,
                Err(error) if error.is_application_not_found() => {
                    eprintln!("{}", not_found_message(application_id));
                    return Ok(EXIT_FAILURE);
                }
                Err(error) => return Err(error.into()),
            };
            if report.state.is_final() {
                println!("Application {application_id} has already finished");
                return Ok(0);
            }
            println!("Killing application {application_id}");
            client.kill_application(application_id, None).await?;
            println!("Killed application {application_id}");
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::states::FinalApplicationStatus;
    use spindle_types::Resource;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn parse(text: &str) -> Result<ApplicationCommand, ArgumentError> {
        parse_application_args(&args(text))
    }

    fn report(id: i32, state: YarnApplicationState, progress: f32) -> ApplicationReport {
        ApplicationReport {
            application_id: ApplicationId::new(1700000000000, id),
            current_attempt_id: None,
            name: "DistributedShell".into(),
            application_type: "YARN".into(),
            user: "alice".into(),
            queue: "default".into(),
            priority: 0,
            state,
            final_status: FinalApplicationStatus::Undefined,
            progress,
            tracking_url: "N/A".into(),
            original_tracking_url: "N/A".into(),
            host: "N/A".into(),
            rpc_port: -1,
            start_time: 1700000000123,
            launch_time: 0,
            finish_time: 0,
            diagnostics: "".into(),
            tags: Vec::new(),
            used_containers: 0,
            used_resources: Resource::ZERO,
            memory_seconds: 10,
            vcore_seconds: 2,
            resource_seconds: vec![],
            preempted_memory_seconds: 0,
            preempted_vcore_seconds: 0,
            preempted_resource_seconds: vec![],
            log_aggregation_status: spindle_types::states::LogAggregationStatus::Disabled,
        }
    }

    #[test]
    fn list_defaults_to_the_live_states() {
        assert_eq!(
            parse("-list").unwrap(),
            ApplicationCommand::List {
                states: DEFAULT_LIST_STATES.to_vec(),
                application_types: vec![],
                application_tags: vec![],
            }
        );
    }

    #[test]
    fn list_filters_take_comma_lists_in_one_or_more_arguments() {
        assert_eq!(
            parse("-list -appStates running,FINISHED -appTypes spark,yarn -appTags Nightly,etl")
                .unwrap(),
            ApplicationCommand::List {
                states: vec![
                    YarnApplicationState::Running,
                    YarnApplicationState::Finished
                ],
                application_types: vec!["SPARK".into(), "YARN".into()],
                application_tags: vec!["nightly".into(), "etl".into()],
            }
        );
        assert_eq!(
            parse("-appStates KILLED ACCEPTED -list").unwrap(),
            ApplicationCommand::List {
                states: vec![YarnApplicationState::Accepted, YarnApplicationState::Killed],
                application_types: vec![],
                application_tags: vec![],
            }
        );
        assert_eq!(
            parse("--list --appStates ALL").unwrap(),
            ApplicationCommand::List {
                states: YarnApplicationState::ALL.to_vec(),
                application_types: vec![],
                application_tags: vec![],
            }
        );
    }

    #[test]
    fn status_and_kill_take_an_application_id() {
        let id = ApplicationId::new(1700000000000, 7);
        assert_eq!(
            parse("-status application_1700000000000_0007").unwrap(),
            ApplicationCommand::Status(id)
        );
        assert_eq!(
            parse("-kill application_1700000000000_0007").unwrap(),
            ApplicationCommand::Kill(id)
        );
        assert_eq!(parse("-help").unwrap(), ApplicationCommand::Help);
    }

    #[test]
    fn bad_arguments_are_refused_with_usage() {
        for text in [
            "",
            "-status",
            "-kill -list",
            "-list -status application_1_0001",
            "-frobnicate",
            "stray",
            "-list extra",
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.usage, "{text}: {error:?}");
        }
        let error = parse("-status app_1").unwrap_err();
        assert!(!error.usage);
        assert!(
            error.message.starts_with("Invalid ApplicationId"),
            "{}",
            error.message
        );
        let error = parse("-list -appStates RUNNING,SLEEPING").unwrap_err();
        assert_eq!(
            error.message,
            "The application state SLEEPING is invalid.\nThe valid application state can be one of the following: ALL,NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING,FINISHED,FAILED,KILLED"
        );
    }

    #[test]
    fn conf_dir_may_follow_the_subcommand() {
        let (dir, rest) = take_conf_dir(&args("-list --conf-dir /etc/hadoop -appTypes X")).unwrap();
        assert_eq!(dir, Some(PathBuf::from("/etc/hadoop")));
        assert_eq!(rest, args("-list -appTypes X"));
        let (dir, _) = take_conf_dir(&args("--conf-dir=/c -list")).unwrap();
        assert_eq!(dir, Some(PathBuf::from("/c")));
        assert!(take_conf_dir(&args("-list --conf-dir")).is_err());
    }

    #[test]
    fn progress_reads_like_java_decimal_format() {
        assert_eq!(format_progress(0.0), "0%");
        assert_eq!(format_progress(0.5), "50%");
        assert_eq!(format_progress(1.0), "100%");
        assert_eq!(format_progress(0.1), "10%");
        assert_eq!(format_progress(1.0 / 3.0), "33.33%");
        assert_eq!(format_progress(0.125), "12.5%");
    }

    #[test]
    fn list_output_matches_yarn() {
        let out = format_application_list(
            &[],
            &DEFAULT_LIST_STATES,
            &[report(1, YarnApplicationState::Accepted, 0.0)],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "Total number of applications (application-types: [] and states: [SUBMITTED, ACCEPTED, RUNNING]):1"
        );
        let titles: Vec<&str> = lines[1].split('\t').map(str::trim).collect();
        assert_eq!(
            titles,
            [
                "Application-Id",
                "Application-Name",
                "Application-Type",
                "User",
                "Queue",
                "State",
                "Final-State",
                "Progress",
                "Tracking-URL"
            ]
        );
        assert!(lines[1].starts_with(&format!("{:>30}", "Application-Id")));
        let row: Vec<&str> = lines[2].split('\t').map(str::trim).collect();
        assert_eq!(
            row,
            [
                "application_1700000000000_0001",
                "DistributedShell",
                "YARN",
                "alice",
                "default",
                "ACCEPTED",
                "UNDEFINED",
                "0%",
                "N/A"
            ]
        );
        assert_eq!(lines.len(), 3);
        let typed = format_application_list(
            &["SPARK".into(), "YARN".into()],
            &[YarnApplicationState::Finished],
            &[],
        );
        assert!(typed.starts_with(
            "Total number of applications (application-types: [SPARK, YARN] and states: [FINISHED]):0\n"
        ));
    }

    #[test]
    fn status_output_matches_yarn() {
        let mut finished = report(2, YarnApplicationState::Finished, 1.0);
        finished.final_status = FinalApplicationStatus::Failed;
        finished.diagnostics = "Diagnostics., total=2, completed=2, allocated=2, failed=1".into();
        finished.resource_seconds = vec![
            ("memory-mb".into(), 10),
            ("vcores".into(), 2),
            ("yarn.io/gpu".into(), 4),
        ];
        finished.preempted_memory_seconds = 3;
        finished.preempted_vcore_seconds = 1;
        let out = format_application_report(&finished);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Application Report : ");
        for expected in [
            "\tApplication-Id : application_1700000000000_0002",
            "\tApplication-Name : DistributedShell",
            "\tApplication-Type : YARN",
            "\tUser : alice",
            "\tQueue : default",
            "\tStart-Time : 1700000000123",
            "\tFinish-Time : 0",
            "\tProgress : 100%",
            "\tState : FINISHED",
            "\tFinal-State : FAILED",
            "\tTracking-URL : N/A",
            "\tRPC Port : -1",
            "\tAM Host : N/A",
            "\tAggregate Resource Allocation : 10 MB-seconds, 2 vcore-seconds, 4 yarn.io/gpu-seconds",
            "\tAggregate Resource Preempted : 3 MB-seconds, 1 vcore-seconds",
            "\tLog Aggregation Status : DISABLED",
            "\tDiagnostics : Diagnostics., total=2, completed=2, allocated=2, failed=1",
        ] {
            assert!(lines.contains(&expected), "missing {expected:?} in\n{out}");
        }
        let order: Vec<usize> = [
            "Application-Id",
            "User",
            "Start-Time",
            "Progress",
            "State",
            "AM Host",
            "Aggregate Resource Allocation",
            "Aggregate Resource Preempted",
            "Log Aggregation Status",
            "Diagnostics",
        ]
        .iter()
        .map(|label| {
            lines
                .iter()
                .position(|l| l.starts_with(&format!("\t{label} :")))
                .unwrap()
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }

    #[test]
    fn not_found_reads_like_yarn() {
        assert_eq!(
            not_found_message(ApplicationId::new(1, 3)),
            "Application with id 'application_1_0003' doesn't exist in RM."
        );
    }
}
