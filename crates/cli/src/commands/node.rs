//! `spindle node`: `-list [-all] [-states S,..]` and `-status NODE_ID`, with `yarn node`'s
//! arguments and output.

use std::path::Path;

use spindle_client::reports::{node_state_from_name, ALL_NODE_STATES};
use spindle_client::NodeReport;
use spindle_types::states::NodeState;
use spindle_types::NodeId;

use super::application::{
    connect, option_name, option_values, parse_or_refuse, ArgumentError, EXIT_FAILURE,
};

const USAGE: &str = "\
usage: node
 -all                 Works with -list to list all nodes.
 -help                Displays help for all commands.
 -json                Works with -list: a JSON array for scripts.
 -showDetails         Works with -list to show each node's resources.
 -list                List all running nodes. Supports optional use of
                      -states to filter nodes based on node state, all -all
                      to list all nodes.
 -states <States>     Works with -list to filter nodes based on input
                      comma-separated list of node states. The valid node
                      state can be one of the following:
                      NEW,RUNNING,UNHEALTHY,DECOMMISSIONED,LOST,REBOOTED,
                      DECOMMISSIONING,SHUTDOWN.
 -status <NodeId>     Prints the status report of the node.";

/// One `spindle node` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCommand {
    /// `-list`: the node states to show, in YARN's order.
    List(Vec<NodeState>),
    Status(NodeId),
    Help,
}

fn state_index(state: NodeState) -> usize {
    ALL_NODE_STATES
        .iter()
        .position(|s| *s == state)
        .unwrap_or(usize::MAX)
}

/// Parses `yarn node` arguments (without the word `node`).
pub fn parse_node_args(args: &[String]) -> Result<NodeCommand, ArgumentError> {
    let usage = |message: String| ArgumentError {
        message,
        usage: true,
    };
    let mut list = false;
    let mut all = false;
    let mut help = false;
    let mut status = None;
    let mut state_values = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        let Some(name) = option_name(arg) else {
            return Err(usage(format!("Unexpected argument: {arg}")));
        };
        match name {
            "list" => list = true,
            "all" => all = true,
            "help" => help = true,
            "states" => state_values.extend(option_values(args, &mut index)),
            "status" => {
                index += 1;
                let value = args
                    .get(index)
                    .filter(|value| option_name(value).is_none())
                    .ok_or_else(|| usage("Missing argument for option: status".into()))?;
                status = Some(value.clone());
            }
            other => return Err(usage(format!("Unrecognized option: -{other}"))),
        }
        index += 1;
    }
    if list && status.is_some() {
        return Err(usage("Choose one of -list and -status".into()));
    }
    if let Some(text) = status {
        let node_id = text.parse::<NodeId>().map_err(|error| ArgumentError {
            message: format!("Invalid NodeId: {error}"),
            usage: false,
        })?;
        return Ok(NodeCommand::Status(node_id));
    }
    if list {
        let mut states: Vec<NodeState> = if all {
            ALL_NODE_STATES.to_vec()
        } else if state_values.is_empty() {
            vec![NodeState::Running]
        } else {
            let mut states = Vec::new();
            for value in &state_values {
                let state = node_state_from_name(value).ok_or_else(|| ArgumentError {
                    message: format!(
                        "The node state {value} is invalid.\nThe valid node state can be one of the following: {}",
                        ALL_NODE_STATES.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
                    ),
                    usage: false,
                })?;
                states.push(state);
            }
            states
        };
        states.sort_by_key(|state| state_index(*state));
        states.dedup();
        return Ok(NodeCommand::List(states));
    }
    if help {
        return Ok(NodeCommand::Help);
    }
    Err(usage("Invalid Command Usage : ".into()))
}

fn node_row(columns: [&str; 4]) -> String {
    format!(
        "{:>16}\t{:>15}\t{:>17}\t{:>28}\n",
        columns[0], columns[1], columns[2], columns[3]
    )
}

/// `-list -showDetails`: each node's row followed by its resources, as `yarn node` prints them.
pub fn format_node_list_with_details(reports: &[NodeReport]) -> String {
    let mut lines = format_node_list(reports)
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let mut out = String::new();
    // The first two lines are the total and the header; then one row per report.
    for line in lines.drain(..2.min(lines.len())) {
        out.push_str(&line);
        out.push('\n');
    }
    for (row, report) in lines.iter().zip(reports) {
        out.push_str(row);
        out.push('\n');
        out.push_str(&format!(
            "Detailed Node Information :\n\tConfigured Resources : <memory:{}, vCores:{}>\n\tAllocated Resources : <memory:{}, vCores:{}>\n\tNode-Labels : {}\n",
            report.capability.memory_mb,
            report.capability.vcores,
            report.used.memory_mb,
            report.used.vcores,
            report.node_labels.join(",")
        ));
    }
    out
}

/// The output of `-list`.
pub fn format_node_list(reports: &[NodeReport]) -> String {
    let mut out = format!("Total Nodes:{}\n", reports.len());
    out.push_str(&node_row([
        "Node-Id",
        "Node-State",
        "Node-Http-Address",
        "Number-of-Running-Containers",
    ]));
    for report in reports {
        out.push_str(&node_row([
            &report.node_id.to_string(),
            report.state.name(),
            &report.http_address,
            &report.num_containers.to_string(),
        ]));
    }
    out
}

/// `E dd/MMM/yy hh:mm:ss:SSzz` (the pattern `yarn node -status` uses), in UTC.
pub fn format_health_time(epoch_ms: i64) -> String {
    use spindle_types::calendar::{civil_from_days, MONTHS, WEEKDAYS_FROM_THURSDAY as DAYS};
    let days = epoch_ms.div_euclid(86_400_000);
    let ms_of_day = epoch_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let hour = ms_of_day / 3_600_000;
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    format!(
        "{} {:02}/{}/{:02} {:02}:{:02}:{:02}:{:02}UTC",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year.rem_euclid(100),
        hour12,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

/// The output of `-status`.
pub fn format_node_report(report: &NodeReport) -> String {
    let lines = [
        ("Node-Id", report.node_id.to_string()),
        ("Rack", report.rack_name.clone()),
        ("Node-State", report.state.name().to_string()),
        ("Node-Http-Address", report.http_address.clone()),
        (
            "Last-Health-Update",
            format_health_time(report.last_health_report_time),
        ),
        ("Health-Report", report.health_report.clone()),
        ("Containers", report.num_containers.to_string()),
        ("Memory-Used", format!("{}MB", report.used.memory_mb)),
        (
            "Memory-Capacity",
            format!("{}MB", report.capability.memory_mb),
        ),
        ("CPU-Used", format!("{} vcores", report.used.vcores)),
        (
            "CPU-Capacity",
            format!("{} vcores", report.capability.vcores),
        ),
        ("Node-Labels", report.node_labels.join(",")),
    ];
    let mut out = String::from("Node Report : \n");
    for (label, value) in lines {
        out.push_str(&format!("\t{label} : {value}\n"));
    }
    out
}

pub async fn run(conf_dir: Option<&Path>, args: &[String]) -> anyhow::Result<i32> {
    let (json, args) = super::application::take_json_flag(args);
    let show_details = args
        .iter()
        .any(|a| a == "-showDetails" || a == "--showDetails");
    let args: Vec<String> = args
        .into_iter()
        .filter(|a| a != "-showDetails" && a != "--showDetails")
        .collect();
    let (inner_conf_dir, command) = match parse_or_refuse(&args, USAGE, parse_node_args) {
        Ok(parsed) => parsed,
        Err(status) => return Ok(status),
    };
    if command == NodeCommand::Help {
        println!("{USAGE}");
        return Ok(0);
    }
    let client = connect(inner_conf_dir.as_deref().or(conf_dir)).await?;
    match command {
        NodeCommand::Help => unreachable!("handled above"),
        NodeCommand::List(states) => {
            let mut reports = client.get_node_reports(&states).await?;
            reports.sort_by(|a, b| a.node_id.cmp(&b.node_id));
            if json {
                let items = reports
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.node_id.to_string(),
                            "state": r.state.name(),
                            "httpAddress": r.http_address,
                            "rack": r.rack_name,
                            "numContainers": r.num_containers,
                            "usedMemoryMB": r.used.memory_mb,
                            "usedVirtualCores": r.used.vcores,
                            "totalMemoryMB": r.capability.memory_mb,
                            "totalVirtualCores": r.capability.vcores,
                            "healthReport": r.health_report,
                        })
                    })
                    .collect();
                print!("{}", super::application::json_array(items));
                return Ok(0);
            }
            if show_details {
                print!("{}", format_node_list_with_details(&reports));
            } else {
                print!("{}", format_node_list(&reports));
            }
            Ok(0)
        }
        NodeCommand::Status(node_id) => {
            let reports = client.get_node_reports(&ALL_NODE_STATES).await?;
            match reports.iter().find(|report| report.node_id == node_id) {
                Some(report) => {
                    print!("{}", format_node_report(report));
                    Ok(0)
                }
                None => {
                    eprintln!("Could not find the node report for node id : {node_id}");
                    Ok(EXIT_FAILURE)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::Resource;

    fn parse(text: &str) -> Result<NodeCommand, ArgumentError> {
        let args: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        parse_node_args(&args)
    }

    fn report(host: &str, state: NodeState, containers: i32) -> NodeReport {
        NodeReport {
            node_id: NodeId::new(host, 45454),
            state,
            http_address: format!("{host}:8042"),
            rack_name: "/default-rack".into(),
            num_containers: containers,
            used: Resource::new(2048, 2),
            capability: Resource::new(8192, 8),
            health_report: String::new(),
            last_health_report_time: 0,
            node_labels: Vec::new(),
        }
    }

    #[test]
    fn list_shows_running_nodes_unless_told_otherwise() {
        assert_eq!(
            parse("-list").unwrap(),
            NodeCommand::List(vec![NodeState::Running])
        );
        assert_eq!(
            parse("-list -all").unwrap(),
            NodeCommand::List(ALL_NODE_STATES.to_vec())
        );
        assert_eq!(
            parse("-list -states lost,RUNNING unhealthy").unwrap(),
            NodeCommand::List(vec![
                NodeState::Running,
                NodeState::Unhealthy,
                NodeState::Lost
            ])
        );
        assert_eq!(
            parse("-status host1:45454").unwrap(),
            NodeCommand::Status(NodeId::new("host1", 45454))
        );
    }

    #[test]
    fn bad_node_arguments_are_refused() {
        for text in ["", "-status", "-list -status h:1", "-bogus", "h:1"] {
            assert!(parse(text).unwrap_err().usage, "{text}");
        }
        let error = parse("-status host-without-port").unwrap_err();
        assert!(
            error.message.starts_with("Invalid NodeId"),
            "{}",
            error.message
        );
        let error = parse("-list -states FLYING").unwrap_err();
        assert!(
            error
                .message
                .starts_with("The node state FLYING is invalid."),
            "{}",
            error.message
        );
    }

    #[test]
    fn list_output_matches_yarn() {
        let out = format_node_list(&[report("host1", NodeState::Running, 3)]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Total Nodes:1");
        assert_eq!(
            lines[1].split('\t').map(str::trim).collect::<Vec<_>>(),
            [
                "Node-Id",
                "Node-State",
                "Node-Http-Address",
                "Number-of-Running-Containers"
            ]
        );
        assert_eq!(
            lines[2].split('\t').map(str::trim).collect::<Vec<_>>(),
            ["host1:45454", "RUNNING", "host1:8042", "3"]
        );
        assert_eq!(
            format_node_list(&[]),
            format!(
                "Total Nodes:0\n{}",
                node_row([
                    "Node-Id",
                    "Node-State",
                    "Node-Http-Address",
                    "Number-of-Running-Containers"
                ])
            )
        );
    }

    #[test]
    fn status_output_matches_yarn() {
        let mut node = report("host2", NodeState::Unhealthy, 1);
        node.health_report = "disk full".into();
        node.last_health_report_time = 1_700_000_000_123;
        let out = format_node_report(&node);
        for expected in [
            "Node Report : ",
            "\tNode-Id : host2:45454",
            "\tRack : /default-rack",
            "\tNode-State : UNHEALTHY",
            "\tNode-Http-Address : host2:8042",
            "\tLast-Health-Update : Tue 14/Nov/23 10:13:20:123UTC",
            "\tHealth-Report : disk full",
            "\tContainers : 1",
            "\tMemory-Used : 2048MB",
            "\tMemory-Capacity : 8192MB",
            "\tCPU-Used : 2 vcores",
            "\tCPU-Capacity : 8 vcores",
        ] {
            assert!(
                out.lines().any(|l| l == expected),
                "missing {expected:?} in\n{out}"
            );
        }
    }

    #[test]
    fn health_times_format_in_utc() {
        assert_eq!(format_health_time(0), "Thu 01/Jan/70 12:00:00:00UTC");
        assert_eq!(
            format_health_time(951_782_400_000 + 13 * 3_600_000 + 5),
            "Tue 29/Feb/00 01:00:00:05UTC"
        );
    }
}
