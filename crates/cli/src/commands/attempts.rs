//! `spindle applicationattempt -list <appId> | -status <attemptId>` and `spindle container -list
//! <attemptId> | -status <containerId>`, with `yarn applicationattempt`'s and `yarn container`'s
//! arguments and output. Containers are the live ones the RM knows (as YARN's RM answers; finished
//! containers are in the logs).

use std::path::Path;

use spindle_proto::yarn::{
    ApplicationAttemptReportProto, ContainerReportProto, ContainerStateProto,
    YarnApplicationAttemptStateProto,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId};

use super::application::{connect, option_name, parse_or_refuse, ArgumentError, EXIT_FAILURE};

const ATTEMPT_USAGE: &str = "\
usage: applicationattempt
 -help                    Displays help for all commands.
 -list <Application ID>   List application attempts for an application.
 -status <Attempt ID>     Prints the status of the application attempt.";

const CONTAINER_USAGE: &str = "\
usage: container
 -help                            Displays help for all commands.
 -list <Application Attempt ID>   List containers for an application attempt.
 -status <Container ID>           Prints the status of the container.";

/// `-list X` or `-status Y` (or `-help`), the one shape both commands take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOrStatus {
    List(String),
    Status(String),
    Help,
}

/// Parses `-list X`, `-status Y` or `-help`.
pub fn parse_list_or_status(args: &[String]) -> Result<ListOrStatus, ArgumentError> {
    let usage = |message: String| ArgumentError {
        message,
        usage: true,
    };
    let mut found = None;
    let mut help = false;
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        match option_name(arg) {
            Some(name @ ("list" | "status")) => {
                index += 1;
                let value = args
                    .get(index)
                    .filter(|value| option_name(value).is_none())
                    .ok_or_else(|| usage(format!("Missing argument for option: {name}")))?
                    .clone();
                if found.is_some() {
                    return Err(usage("Choose one of -list and -status".into()));
                }
                found = Some(if name == "list" {
                    ListOrStatus::List(value)
                } else {
                    ListOrStatus::Status(value)
                });
            }
            Some("help") => help = true,
            Some(other) => return Err(usage(format!("Unrecognized option: -{other}"))),
            None => return Err(usage(format!("Unexpected argument: {arg}"))),
        }
        index += 1;
    }
    match (found, help) {
        (Some(command), _) => Ok(command),
        (None, true) => Ok(ListOrStatus::Help),
        (None, false) => Err(usage("Invalid Command Usage : ".into())),
    }
}

fn attempt_state(report: &ApplicationAttemptReportProto) -> &'static str {
    match report.yarn_application_attempt_state() {
        YarnApplicationAttemptStateProto::AppAttemptNew => "NEW",
        YarnApplicationAttemptStateProto::AppAttemptSubmitted => "SUBMITTED",
        YarnApplicationAttemptStateProto::AppAttemptScheduled => "SCHEDULED",
        YarnApplicationAttemptStateProto::AppAttemptAllocatedSaving => "ALLOCATED_SAVING",
        YarnApplicationAttemptStateProto::AppAttemptAllocated => "ALLOCATED",
        YarnApplicationAttemptStateProto::AppAttemptLaunched => "LAUNCHED",
        YarnApplicationAttemptStateProto::AppAttemptFailed => "FAILED",
        YarnApplicationAttemptStateProto::AppAttemptRunning => "RUNNING",
        YarnApplicationAttemptStateProto::AppAttemptFinishing => "FINISHING",
        YarnApplicationAttemptStateProto::AppAttemptFinished => "FINISHED",
        YarnApplicationAttemptStateProto::AppAttemptKilled => "KILLED",
    }
}

fn id_text<T, P>(proto: Option<&P>) -> String
where
    T: TryFrom<P> + std::fmt::Display,
    P: Clone,
{
    proto
        .cloned()
        .and_then(|p| T::try_from(p).ok())
        .map(|id| id.to_string())
        .unwrap_or_else(|| "N/A".into())
}

fn attempt_id_text(report: &ApplicationAttemptReportProto) -> String {
    id_text::<ApplicationAttemptId, _>(report.application_attempt_id.as_ref())
}

fn am_container_text(report: &ApplicationAttemptReportProto) -> String {
    id_text::<ContainerId, _>(report.am_container_id.as_ref())
}

/// `applicationattempt -list`.
pub fn format_attempt_list(reports: &[ApplicationAttemptReportProto]) -> String {
    let mut out = format!("Total number of application attempts :{}\n", reports.len());
    let row = |c: [&str; 4]| format!("{:>30}\t{:>20}\t{:>35}\t{:>35}\n", c[0], c[1], c[2], c[3]);
    out.push_str(&row([
        "ApplicationAttempt-Id",
        "State",
        "AM-Container-Id",
        "Tracking-URL",
    ]));
    for report in reports {
        out.push_str(&row([
            &attempt_id_text(report),
            attempt_state(report),
            &am_container_text(report),
            report.tracking_url(),
        ]));
    }
    out
}

/// `applicationattempt -status`.
pub fn format_attempt_status(report: &ApplicationAttemptReportProto) -> String {
    format!(
        "Application Attempt Report : \n\tApplicationAttempt-Id : {}\n\tState : {}\n\tAMContainer : {}\n\tTracking-URL : {}\n\tRPC Port : {}\n\tAM Host : {}\n\tDiagnostics : {}\n",
        attempt_id_text(report),
        attempt_state(report),
        am_container_text(report),
        report.tracking_url(),
        report.rpc_port(),
        report.host(),
        report.diagnostics(),
    )
}

fn container_state(report: &ContainerReportProto) -> &'static str {
    match report.container_state() {
        ContainerStateProto::CNew => "NEW",
        ContainerStateProto::CRunning => "RUNNING",
        ContainerStateProto::CComplete => "COMPLETE",
    }
}

fn time_text(ms: i64) -> String {
    if ms <= 0 {
        "N/A".into()
    } else {
        ms.to_string()
    }
}

fn container_host(report: &ContainerReportProto) -> String {
    report
        .node_id
        .as_ref()
        .map(|n| format!("{}:{}", n.host(), n.port()))
        .unwrap_or_else(|| "N/A".into())
}

/// `container -list`.
pub fn format_container_list(reports: &[ContainerReportProto]) -> String {
    let mut out = format!("Total number of containers :{}\n", reports.len());
    let row = |c: [&str; 7]| {
        format!(
            "{:>30}\t{:>20}\t{:>20}\t{:>20}\t{:>20}\t{:>20}\t{:>35}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6]
        )
    };
    out.push_str(&row([
        "Container-Id",
        "Start Time",
        "Finish Time",
        "State",
        "Host",
        "Node Http Address",
        "LOG-URL",
    ]));
    for report in reports {
        out.push_str(&row([
            &id_text::<ContainerId, _>(report.container_id.as_ref()),
            &time_text(report.creation_time()),
            &time_text(report.finish_time()),
            container_state(report),
            &container_host(report),
            report.node_http_address(),
            report.log_url(),
        ]));
    }
    out
}

/// `container -status`.
pub fn format_container_status(report: &ContainerReportProto) -> String {
    format!(
        "Container Report : \n\tContainer-Id : {}\n\tStart-Time : {}\n\tFinish-Time : {}\n\tState : {}\n\tExecution-Type : GUARANTEED\n\tLOG-URL : {}\n\tHost : {}\n\tNodeHttpAddress : {}\n\tDiagnostics : {}\n",
        id_text::<ContainerId, _>(report.container_id.as_ref()),
        report.creation_time(),
        report.finish_time(),
        container_state(report),
        report.log_url(),
        container_host(report),
        report.node_http_address(),
        report.diagnostics_info(),
    )
}

fn parse_id<T: std::str::FromStr>(text: &str, kind: &str) -> Result<T, ArgumentError> {
    text.parse().map_err(|_| ArgumentError {
        message: format!("Invalid {kind}: {text}"),
        usage: false,
    })
}

/// Which of the two commands runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    ApplicationAttempt,
    Container,
}

pub async fn run(
    subject: Subject,
    conf_dir: Option<&Path>,
    args: &[String],
) -> anyhow::Result<i32> {
    let usage = match subject {
        Subject::ApplicationAttempt => ATTEMPT_USAGE,
        Subject::Container => CONTAINER_USAGE,
    };
    let (inner_conf_dir, command) = match parse_or_refuse(args, usage, parse_list_or_status) {
        Ok(parsed) => parsed,
        Err(status) => return Ok(status),
    };
    if command == ListOrStatus::Help {
        println!("{usage}");
        return Ok(0);
    }
    // Ids are checked before connecting: a typo is not a network error.
    enum Call {
        Attempts(ApplicationId),
        Attempt(ApplicationAttemptId),
        Containers(ApplicationAttemptId),
        Container(ContainerId),
    }
    let call = match (subject, &command) {
        (Subject::ApplicationAttempt, ListOrStatus::List(id)) => {
            parse_id(id, "ApplicationId").map(Call::Attempts)
        }
        (Subject::ApplicationAttempt, ListOrStatus::Status(id)) => {
            parse_id(id, "AppAttemptId").map(Call::Attempt)
        }
        (Subject::Container, ListOrStatus::List(id)) => {
            parse_id(id, "AppAttemptId").map(Call::Containers)
        }
        (Subject::Container, ListOrStatus::Status(id)) => {
            parse_id(id, "ContainerId").map(Call::Container)
        }
        (_, ListOrStatus::Help) => unreachable!("handled above"),
    };
    let call = match call {
        Ok(call) => call,
        Err(error) => {
            eprintln!("{}", error.message);
            return Ok(EXIT_FAILURE);
        }
    };
    let client = connect(inner_conf_dir.as_deref().or(conf_dir)).await?;
    let printed = match call {
        Call::Attempts(id) => client
            .get_application_attempts(id)
            .await
            .map(|reports| format_attempt_list(&reports)),
        Call::Attempt(id) => client
            .get_application_attempt_report(id)
            .await
            .map(|report| format_attempt_status(&report)),
        Call::Containers(id) => client
            .get_containers(id)
            .await
            .map(|reports| format_container_list(&reports)),
        Call::Container(id) => client
            .get_container_report(id)
            .await
            .map(|report| format_container_status(&report)),
    };
    match printed {
        Ok(text) => {
            print!("{text}");
            Ok(0)
        }
        Err(error) => {
            eprintln!("{error}");
            Ok(EXIT_FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn list_or_status_as_yarn_takes_them() {
        assert_eq!(
            parse_list_or_status(&args("-list application_1_0001")).unwrap(),
            ListOrStatus::List("application_1_0001".into())
        );
        assert_eq!(
            parse_list_or_status(&args("-status appattempt_1_0001_000001")).unwrap(),
            ListOrStatus::Status("appattempt_1_0001_000001".into())
        );
        for bad in ["", "-list", "-list a -status b", "-bogus", "x"] {
            assert!(parse_list_or_status(&args(bad)).is_err(), "{bad}");
        }
    }
}
