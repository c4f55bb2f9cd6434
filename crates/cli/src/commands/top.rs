//! `spindle top`: a live terminal view of the cluster, like `yarn top`: nodes and applications
//! by state, the queue tree with each queue's capacity and current use, and the applications
//! holding the most memory; redrawn every `--interval-ms` (the screen is cleared only on a
//! terminal), or printed once with `--once`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use spindle_client::{ApplicationFilter, ApplicationReport};
use spindle_proto::yarn::{QueueInfoProto, YarnClusterMetricsProto};
use spindle_types::states::YarnApplicationState;

use super::application::connect;

#[derive(clap::Args, Debug)]
pub struct TopArgs {
    /// Time between two views.
    #[arg(long, default_value_t = 2000)]
    pub interval_ms: u64,
    /// Print one view and exit.
    #[arg(long)]
    pub once: bool,
    /// Applications shown (those holding the most memory first).
    #[arg(long, default_value_t = 20)]
    pub applications: usize,
}

fn queue_lines(queue: &QueueInfoProto, depth: usize, out: &mut String) {
    out.push_str(&format!(
        "{:indent$}{:<width$} {:>7.1}% {:>8.1}% {:>8.1}%\n",
        "",
        queue.queue_name(),
        queue.capacity() * 100.0,
        queue.maximum_capacity() * 100.0,
        queue.current_capacity() * 100.0,
        indent = depth * 2,
        width = 28usize.saturating_sub(depth * 2),
    ));
    for child in &queue.child_queues {
        queue_lines(child, depth + 1, out);
    }
}

/// One view of the cluster.
pub fn format_view(
    metrics: &YarnClusterMetricsProto,
    root: &QueueInfoProto,
    apps: &[ApplicationReport],
    shown: usize,
) -> String {
    let count = |state: YarnApplicationState| apps.iter().filter(|a| a.state == state).count();
    let mut out = format!(
        "Spindle top - nodes: {} active, {} lost, {} unhealthy - applications: {} running, {} accepted\n\n",
        metrics.num_active_nms(),
        metrics.num_lost_nms(),
        metrics.num_unhealthy_nms(),
        count(YarnApplicationState::Running),
        count(YarnApplicationState::Accepted),
    );
    out.push_str(&format!(
        "{:<28} {:>8} {:>9} {:>9}\n",
        "QUEUE", "CAPACITY", "MAXIMUM", "USED"
    ));
    queue_lines(root, 0, &mut out);
    out.push_str(&format!(
        "\n{:<32} {:<10} {:<16} {:<9} {:>6} {:>10} {:>9}  NAME\n",
        "APPLICATION", "USER", "QUEUE", "STATE", "PROG", "CONTAINERS", "MEMORY"
    ));
    let mut apps: Vec<&ApplicationReport> = apps.iter().collect();
    apps.sort_by_key(|a| std::cmp::Reverse(a.used_resources.memory_mb));
    for app in apps.into_iter().take(shown) {
        out.push_str(&format!(
            "{:<32} {:<10} {:<16} {:<9} {:>5.0}% {:>10} {:>7}MB  {}\n",
            app.application_id.to_string(),
            app.user,
            app.queue,
            app.state.name(),
            app.progress * 100.0,
            app.used_containers.max(0),
            app.used_resources.memory_mb.max(0),
            app.name,
        ));
    }
    out
}

pub async fn run(conf_dir: Option<&Path>, args: TopArgs) -> anyhow::Result<i32> {
    let client = connect(conf_dir).await?;
    let terminal = std::io::stdout().is_terminal();
    loop {
        let metrics = client.get_cluster_metrics().await?;
        let root = client.get_queue_tree().await?;
        let apps = client
            .get_applications(&ApplicationFilter {
                states: vec![
                    YarnApplicationState::Submitted,
                    YarnApplicationState::Accepted,
                    YarnApplicationState::Running,
                ],
                ..Default::default()
            })
            .await?;
        let view = format_view(&metrics, &root, &apps, args.applications);
        if terminal && !args.once {
            print!("\x1b[2J\x1b[H");
        }
        print!("{view}");
        if args.once {
            return Ok(0);
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms.max(100))).await;
    }
}
