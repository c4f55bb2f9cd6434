//! `spindle bench scaling`: the scheduling core's cost per allocation over four one-parameter
//! sweeps (nodes, queues, applications, pending requests), written as scaling.json,
//! scaling.csv and a scaling.html with one plot per sweep.

use std::path::PathBuf;

use anyhow::{bail, Context};
use spindle_sim::bench::{machine_description, BenchPolicy};
use spindle_sim::scaling::{
    run_scaling, scaling_markdown, write_scaling_report, ScalingSpec, SweepParameter,
};

#[derive(clap::Args, Debug)]
#[command(
    long_about = "Runs the scheduling-core benchmark (`bench scheduler`) over four sweeps around a \
base point, varying one parameter at a time: nodes, leaf queues, running applications and pending \
containers per application (each application keeps that many asked for beyond what it runs). Each \
point fills the cluster, then times --churn container finishes at steady state. Writes \
scaling.json, scaling.csv and scaling.html (one log-scale plot per sweep, p50 and p99 cost per \
allocation) to --out and prints the figures as a markdown table.\n\n\
Defaults: base 10,000 nodes, 100 queues, 1,000 applications, 10 pending each; nodes \
1k,2k,5k,10k,20k,50k; queues 1,10,100,1000; applications 10,100,1000,10000; pending \
1,10,100,1000; 200,000 finishes per point.\n\n\
Examples:\n  spindle bench scaling --policy capacity,fair --out scaling\n  \
spindle bench scaling --quick --out /tmp/scaling          # a few seconds, small points"
)]
pub struct ScalingBenchArgs {
    /// Directory for scaling.json, scaling.csv and scaling.html (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Schedulers to measure: fifo, capacity, fair (FIFO has no queue sweep).
    #[arg(long, value_delimiter = ',', default_values_t = ["capacity".to_string(), "fair".to_string()])]
    pub policy: Vec<String>,
    /// Container finishes timed at each point [default: 200000; 200 with --quick].
    #[arg(long)]
    pub churn: Option<usize>,
    /// Small sweeps of a few points around 100 nodes: seconds, even in a debug build.
    #[arg(long)]
    pub quick: bool,
    /// The nodes sweep.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub nodes: Option<Vec<usize>>,
    /// The leaf queues sweep (capacity and fair).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub queues: Option<Vec<usize>>,
    /// The running applications sweep.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub applications: Option<Vec<usize>>,
    /// The pending containers per application sweep.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub pending: Option<Vec<usize>>,
    /// The base point's nodes.
    #[arg(long, value_name = "N")]
    pub base_nodes: Option<usize>,
    #[arg(long, value_name = "N")]
    pub base_queues: Option<usize>,
    #[arg(long, value_name = "N")]
    pub base_applications: Option<usize>,
    #[arg(long, value_name = "N")]
    pub base_pending: Option<usize>,
}

impl ScalingBenchArgs {
    /// The sweeps these arguments ask for; unknown policies are refused here, bad values by
    /// [`ScalingSpec::validate`].
    pub fn spec(&self) -> anyhow::Result<ScalingSpec> {
        let mut policies = Vec::new();
        for name in &self.policy {
            match BenchPolicy::parse(name) {
                Some(policy) if !policies.contains(&policy) => policies.push(policy),
                Some(_) => {}
                None => {
                    bail!("--policy: unknown scheduler {name:?}; expected fifo, capacity or fair")
                }
            }
        }
        let mut spec = if self.quick {
            ScalingSpec::quick(policies)
        } else {
            ScalingSpec::full(policies)
        };
        if let Some(churn) = self.churn {
            spec.churn_finishes = churn;
        }
        let overrides = [
            (SweepParameter::Nodes, &self.nodes, self.base_nodes),
            (SweepParameter::Queues, &self.queues, self.base_queues),
            (
                SweepParameter::Applications,
                &self.applications,
                self.base_applications,
            ),
            (SweepParameter::Pending, &self.pending, self.base_pending),
        ];
        for (parameter, values, base) in overrides {
            if let Some(values) = values {
                spec.sweeps[parameter as usize] = values.clone();
            }
            if let Some(base) = base {
                match parameter {
                    SweepParameter::Nodes => spec.base.nodes = base,
                    SweepParameter::Queues => spec.base.queues = base,
                    SweepParameter::Applications => spec.base.applications = base,
                    SweepParameter::Pending => spec.base.pending_per_application = base,
                }
            }
        }
        spec.validate()?;
        Ok(spec)
    }
}

/// `spindle bench scaling`.
pub fn run(args: ScalingBenchArgs) -> anyhow::Result<i32> {
    let spec = args.spec()?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    println!("machine: {}", machine_description());
    println!("command: {command}");
    let report = run_scaling(&spec, &command, |policy, point| {
        eprintln!(
            "running: {} scheduler, {} nodes, {} queues, {} applications, {} pending each",
            policy.name(),
            point.nodes,
            point.queues,
            point.applications,
            point.pending_per_application
        );
    })?;
    let written = write_scaling_report(&report, &args.out)
        .with_context(|| format!("writing the scaling report to {}", args.out.display()))?;
    println!();
    print!("{}", scaling_markdown(&report));
    println!();
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ScalingBenchArgs,
    }

    fn spec(line: &[&str]) -> anyhow::Result<ScalingSpec> {
        let mut argv = vec!["scaling", "--out", "/tmp/unused"];
        argv.extend_from_slice(line);
        Cli::try_parse_from(argv).unwrap().args.spec()
    }

    #[test]
    fn options_override_the_preset() {
        let spec = spec(&[
            "--quick",
            "--nodes",
            "10,30",
            "--base-pending",
            "5",
            "--churn",
            "7",
        ])
        .unwrap();
        assert_eq!(spec.sweep(SweepParameter::Nodes), &[10, 30]);
        assert_eq!(spec.base.pending_per_application, 5);
        assert_eq!(spec.churn_finishes, 7);
        assert_eq!(
            spec.policies,
            vec![BenchPolicy::Capacity, BenchPolicy::Fair]
        );
        let full = self::spec(&["--policy", "fifo"]).unwrap();
        assert_eq!(full.sweep(SweepParameter::Nodes).last(), Some(&50_000));
    }

    #[test]
    fn bad_values_name_their_option() {
        let error = spec(&["--policy", "capacity,lottery"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--policy") && error.contains("lottery"),
            "{error}"
        );
        let error = spec(&["--quick", "--nodes", "0"]).unwrap_err().to_string();
        assert!(error.starts_with("--nodes: 0 nodes"), "{error}");
        let error = spec(&["--quick", "--base-queues", "0"])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--base-queues: "), "{error}");
    }
}
