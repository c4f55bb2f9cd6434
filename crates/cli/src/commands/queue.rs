//! `spindle queue -status <queue>`, with `yarn queue`'s arguments and output: the queue's state
//! and capacities as the RM's scheduler reports them (Capacity: configured shares; Fair: the
//! steady fair share; FIFO: the one queue).

use std::path::Path;

use spindle_proto::yarn::{QueueInfoProto, QueueStateProto};

use super::application::{connect, option_name, parse_or_refuse, ArgumentError, EXIT_FAILURE};

const USAGE: &str = "\
usage: queue
 -help                  Displays help for all commands.
 -status <Queue Name>   Prints the status of the queue: its state, capacity, current capacity
                        and maximum capacity.";

/// One `spindle queue` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueCommand {
    Status(String),
    Help,
}

/// Parses `yarn queue` arguments (without the word `queue`).
pub fn parse_queue_args(args: &[String]) -> Result<QueueCommand, ArgumentError> {
    let usage = |message: String| ArgumentError {
        message,
        usage: true,
    };
    let mut status = None;
    let mut help = false;
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        match option_name(arg) {
            Some("status") => {
                index += 1;
                let value = args
                    .get(index)
                    .filter(|value| option_name(value).is_none())
                    .ok_or_else(|| usage("Missing argument for option: status".into()))?;
                status = Some(value.clone());
            }
            Some("help") => help = true,
            Some(other) => return Err(usage(format!("Unrecognized option: -{other}"))),
            None => return Err(usage(format!("Unexpected argument: {arg}"))),
        }
        index += 1;
    }
    match (status, help) {
        (Some(queue), _) => Ok(QueueCommand::Status(queue)),
        (None, true) => Ok(QueueCommand::Help),
        (None, false) => Err(usage("Invalid Command Usage : ".into())),
    }
}

/// The output of `-status`, as `yarn queue -status` prints it.
pub fn format_queue_status(info: &QueueInfoProto) -> String {
    let state = match info.state() {
        QueueStateProto::QRunning => "RUNNING",
        QueueStateProto::QStopped => "STOPPED",
        QueueStateProto::QDraining => "DRAINING",
    };
    let percent = |fraction: f32| format!("{:.2}%", fraction * 100.0);
    let mut out = String::from("Queue Information : \n");
    out.push_str(&format!("Queue Name : {}\n", info.queue_name()));
    out.push_str(&format!("Queue Path : {}\n", info.queue_path()));
    out.push_str(&format!("\tState : {state}\n"));
    out.push_str(&format!("\tCapacity : {}\n", percent(info.capacity())));
    out.push_str(&format!(
        "\tCurrent Capacity : {}\n",
        percent(info.current_capacity())
    ));
    out.push_str(&format!(
        "\tMaximum Capacity : {}\n",
        percent(info.maximum_capacity())
    ));
    if info.scheduler_type() == "FairScheduler" {
        out.push_str(&format!(
            "\tSteady Fair Share : <memory:{}, vCores:{}>\n",
            info.steady_fair_share_memory(),
            info.steady_fair_share_v_core()
        ));
        if let (Some(memory), Some(vcores)) = (info.max_resource_memory, info.max_resource_v_core) {
            out.push_str(&format!(
                "\tMaximum Resources : <memory:{memory}, vCores:{vcores}>\n"
            ));
        }
    }
    out.push_str("\tDefault Node Label expression : <DEFAULT_PARTITION>\n");
    out.push_str("\tAccessible Node Labels : *\n");
    out
}

pub async fn run(conf_dir: Option<&Path>, args: &[String]) -> anyhow::Result<i32> {
    let (inner_conf_dir, command) = match parse_or_refuse(args, USAGE, parse_queue_args) {
        Ok(parsed) => parsed,
        Err(status) => return Ok(status),
    };
    let queue = match command {
        QueueCommand::Help => {
            println!("{USAGE}");
            return Ok(0);
        }
        QueueCommand::Status(queue) => queue,
    };
    let client = connect(inner_conf_dir.as_deref().or(conf_dir)).await?;
    match client.get_queue_info(&queue).await {
        Ok(info) => {
            print!("{}", format_queue_status(&info));
            Ok(0)
        }
        Err(error) if error.to_string().contains("Unknown queue") => {
            eprintln!("Cannot get queue from RM by queueName = {queue}, please check.");
            Ok(EXIT_FAILURE)
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn arguments_as_yarn_takes_them() {
        assert_eq!(
            parse_queue_args(&args("-status default")).unwrap(),
            QueueCommand::Status("default".into())
        );
        assert_eq!(
            parse_queue_args(&args("-help")).unwrap(),
            QueueCommand::Help
        );
        for bad in ["", "-status", "-status -help", "-bogus", "default"] {
            assert!(parse_queue_args(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_shows_state_and_capacities() {
        let info = QueueInfoProto {
            queue_name: Some("eng".into()),
            queue_path: Some("root.dev.eng".into()),
            capacity: Some(0.3),
            current_capacity: Some(0.125),
            maximum_capacity: Some(1.0),
            state: Some(QueueStateProto::QRunning as i32),
            scheduler_type: Some("CapacityScheduler".into()),
            ..Default::default()
        };
        let text = format_queue_status(&info);
        assert!(
            text.contains("Queue Name : eng\nQueue Path : root.dev.eng\n"),
            "{text}"
        );
        assert!(text.contains("\tState : RUNNING\n\tCapacity : 30.00%\n\tCurrent Capacity : 12.50%\n\tMaximum Capacity : 100.00%\n"), "{text}");
    }
}
