//! Scaling curves of the scheduling core: the core benchmark ([`crate::bench`]) repeated over
//! four one-parameter sweeps around a base point (nodes, queues, running applications, pending
//! containers per application), so that a cost that grows with one of them shows as a bend.
//! [`run_scaling`] measures; `files.rs` writes scaling.json, scaling.csv and scaling.html.

mod files;

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spindle_types::Resource;

use crate::bench::{
    machine_description, run_core_benchmark, BenchError, BenchPolicy, CoreBenchmarkResult,
    CoreBenchmarkSpec,
};

pub use files::{scaling_csv, scaling_html, scaling_json, scaling_markdown, write_scaling_report};

/// The parameter one sweep varies, the others staying at the base point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepParameter {
    Nodes,
    Queues,
    Applications,
    /// Containers each application keeps asking for beyond what it runs.
    Pending,
}

impl SweepParameter {
    pub const ALL: [Self; 4] = [Self::Nodes, Self::Queues, Self::Applications, Self::Pending];

    /// The name in files and on the command line (`--nodes`, `--pending`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Nodes => "nodes",
            Self::Queues => "queues",
            Self::Applications => "applications",
            Self::Pending => "pending",
        }
    }

    /// The base point's value on the command line (`--base-nodes`, ...).
    pub fn base_name(self) -> &'static str {
        match self {
            Self::Nodes => "base-nodes",
            Self::Queues => "base-queues",
            Self::Applications => "base-applications",
            Self::Pending => "base-pending",
        }
    }

    /// What the x axis counts.
    pub fn axis_label(self) -> &'static str {
        match self {
            Self::Nodes => "nodes",
            Self::Queues => "leaf queues",
            Self::Applications => "running applications",
            Self::Pending => "pending containers per application",
        }
    }
}

/// One point of the parameter space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScalingPoint {
    pub nodes: usize,
    pub queues: usize,
    pub applications: usize,
    pub pending_per_application: usize,
}

impl ScalingPoint {
    pub fn value(&self, parameter: SweepParameter) -> usize {
        match parameter {
            SweepParameter::Nodes => self.nodes,
            SweepParameter::Queues => self.queues,
            SweepParameter::Applications => self.applications,
            SweepParameter::Pending => self.pending_per_application,
        }
    }

    fn with(mut self, parameter: SweepParameter, value: usize) -> Self {
        match parameter {
            SweepParameter::Nodes => self.nodes = value,
            SweepParameter::Queues => self.queues = value,
            SweepParameter::Applications => self.applications = value,
            SweepParameter::Pending => self.pending_per_application = value,
        }
        self
    }
}

/// What [`run_scaling`] measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalingSpec {
    pub policies: Vec<BenchPolicy>,
    /// Every sweep varies one parameter of this point (FIFO always has one queue).
    pub base: ScalingPoint,
    /// The values of each sweep, in [`SweepParameter::ALL`] order.
    pub sweeps: [Vec<usize>; 4],
    /// Container finishes timed at each point.
    pub churn_finishes: usize,
    pub node_capability: Resource,
}

impl ScalingSpec {
    /// The full sweeps: 1k to 50k nodes, 1 to 1,000 queues, 10 to 10k applications and 1 to
    /// 1,000 pending containers per application around 10k nodes, 100 queues, 1,000
    /// applications, 10 pending each; 200,000 timed finishes a point.
    pub fn full(policies: Vec<BenchPolicy>) -> Self {
        Self {
            policies,
            base: ScalingPoint {
                nodes: 10_000,
                queues: 100,
                applications: 1_000,
                pending_per_application: 10,
            },
            sweeps: [
                vec![1_000, 2_000, 5_000, 10_000, 20_000, 50_000],
                vec![1, 10, 100, 1_000],
                vec![10, 100, 1_000, 10_000],
                vec![1, 10, 100, 1_000],
            ],
            churn_finishes: 200_000,
            node_capability: Resource::new(64 * 1024, 32),
        }
    }

    /// Small sweeps of a few points and 200 finishes each: seconds in a debug build.
    pub fn quick(policies: Vec<BenchPolicy>) -> Self {
        Self {
            policies,
            base: ScalingPoint {
                nodes: 100,
                queues: 4,
                applications: 20,
                pending_per_application: 2,
            },
            sweeps: [
                vec![50, 100, 200],
                vec![1, 4, 16],
                vec![5, 20],
                vec![1, 2, 8],
            ],
            churn_finishes: 200,
            node_capability: Resource::new(64 * 1024, 32),
        }
    }

    pub fn sweep(&self, parameter: SweepParameter) -> &[usize] {
        &self.sweeps[parameter as usize]
    }

    /// Refuses points the benchmark cannot measure, naming the parameter.
    pub fn validate(&self) -> Result<(), ScalingError> {
        let invalid = |parameter: &'static str, message: String| {
            Err(ScalingError::Invalid { parameter, message })
        };
        if self.policies.is_empty() {
            return invalid("policy", "no scheduler policy to measure".to_string());
        }
        if self.churn_finishes == 0 {
            return invalid(
                "churn",
                "0 finishes measure nothing; give at least 1".to_string(),
            );
        }
        for parameter in SweepParameter::ALL {
            let name = parameter.name();
            if self.sweep(parameter).is_empty() {
                return invalid(name, "the sweep has no values".to_string());
            }
            let values = self.sweep(parameter).iter().map(|&value| (name, value));
            let base = (parameter.base_name(), self.base.value(parameter));
            for (name, value) in values.chain([base]) {
                if value == 0 {
                    let what = parameter.axis_label();
                    return invalid(
                        name,
                        format!("0 {what} cannot be measured; every value must be at least 1"),
                    );
                }
                if parameter == SweepParameter::Pending && value > i32::MAX as usize {
                    return invalid(name, format!("{value} is more than an ask can hold"));
                }
            }
        }
        Ok(())
    }

    /// The points of each policy's sweeps, in order: (sweep, policy, point).
    pub fn planned_points(&self) -> Vec<(SweepParameter, BenchPolicy, ScalingPoint)> {
        let mut planned = Vec::new();
        for parameter in SweepParameter::ALL {
            for &policy in &self.policies {
                if policy == BenchPolicy::Fifo && parameter == SweepParameter::Queues {
                    continue;
                }
                for &value in self.sweep(parameter) {
                    let mut point = self.base.with(parameter, value);
                    if policy == BenchPolicy::Fifo {
                        point.queues = 1;
                    }
                    planned.push((parameter, policy, point));
                }
            }
        }
        planned
    }

    fn benchmark_spec(&self, policy: BenchPolicy, point: ScalingPoint) -> CoreBenchmarkSpec {
        CoreBenchmarkSpec {
            nodes: point.nodes,
            applications: point.applications,
            queues: point.queues,
            policy,
            node_capability: self.node_capability.clone(),
            container: Resource::new(1024, 1),
            churn_finishes: self.churn_finishes,
            pending_per_application: Some(point.pending_per_application as u32),
            ..Default::default()
        }
    }
}

/// One measured point of one sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingMeasurement {
    pub sweep: SweepParameter,
    /// The swept parameter's value at this point.
    pub value: usize,
    pub policy: String,
    pub point: ScalingPoint,
    pub churn_finishes: u64,
    pub churn_allocations: u64,
    /// Steady-state allocations per second of the benchmark thread's CPU time.
    pub allocations_per_cpu_second: f64,
    pub allocations_per_wall_second: f64,
    /// Per `ContainerFinished` call (a completion and an allocation), nanoseconds.
    pub call_p50_ns: u64,
    pub call_p99_ns: u64,
    pub call_max_ns: u64,
    /// Registering the nodes and filling the cluster, for scale.
    pub setup_seconds: f64,
    pub fill_seconds: f64,
}

impl ScalingMeasurement {
    fn new(
        sweep: SweepParameter,
        policy: BenchPolicy,
        point: ScalingPoint,
        result: &CoreBenchmarkResult,
    ) -> Self {
        Self {
            sweep,
            value: point.value(sweep),
            policy: policy.name().to_string(),
            point,
            churn_finishes: result.churn_finishes,
            churn_allocations: result.churn_allocations,
            allocations_per_cpu_second: result.churn_allocations_per_cpu_second,
            allocations_per_wall_second: result.churn_allocations_per_second,
            call_p50_ns: result.churn_call_nanoseconds.p50,
            call_p99_ns: result.churn_call_nanoseconds.p99,
            call_max_ns: result.churn_call_nanoseconds.max,
            setup_seconds: result.setup_seconds,
            fill_seconds: result.fill_seconds,
        }
    }
}

/// Everything the scaling files hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingReport {
    /// The command line that produced the report.
    pub command: String,
    pub machine: String,
    pub base: ScalingPoint,
    pub churn_finishes: usize,
    pub node_memory_mb: i64,
    pub node_vcores: i64,
    pub measurements: Vec<ScalingMeasurement>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScalingError {
    #[error("--{parameter}: {message}")]
    Invalid {
        parameter: &'static str,
        message: String,
    },
    #[error("the {policy} scheduler at {nodes} nodes, {queues} queues, {applications} applications: {source}")]
    Benchmark {
        policy: &'static str,
        nodes: usize,
        queues: usize,
        applications: usize,
        source: Box<BenchError>,
    },
}

/// Measures every planned point (each distinct point once: the base point is shared by the
/// sweeps), calling `progress` before each run.
pub fn run_scaling(
    spec: &ScalingSpec,
    command: &str,
    mut progress: impl FnMut(BenchPolicy, &ScalingPoint),
) -> Result<ScalingReport, ScalingError> {
    spec.validate()?;
    let mut measured: BTreeMap<(&'static str, ScalingPoint), CoreBenchmarkResult> = BTreeMap::new();
    let mut measurements = Vec::new();
    for (sweep, policy, point) in spec.planned_points() {
        let result = match measured.entry((policy.name(), point)) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                progress(policy, &point);
                let result =
                    run_core_benchmark(&spec.benchmark_spec(policy, point)).map_err(|source| {
                        ScalingError::Benchmark {
                            policy: policy.name(),
                            nodes: point.nodes,
                            queues: point.queues,
                            applications: point.applications,
                            source: Box::new(source),
                        }
                    })?;
                entry.insert(result)
            }
        };
        measurements.push(ScalingMeasurement::new(sweep, policy, point, result));
    }
    Ok(ScalingReport {
        command: command.to_string(),
        machine: machine_description(),
        base: spec.base,
        churn_finishes: spec.churn_finishes,
        node_memory_mb: spec.node_capability.memory_mb,
        node_vcores: spec.node_capability.vcores,
        measurements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_skips_the_queue_sweep_and_runs_with_one_queue() {
        let spec = ScalingSpec::quick(vec![BenchPolicy::Fifo, BenchPolicy::Capacity]);
        let planned = spec.planned_points();
        assert!(planned
            .iter()
            .all(|(sweep, policy, point)| *policy != BenchPolicy::Fifo
                || (*sweep != SweepParameter::Queues && point.queues == 1)));
        let queue_points = planned
            .iter()
            .filter(|(sweep, _, _)| *sweep == SweepParameter::Queues)
            .count();
        assert_eq!(queue_points, spec.sweep(SweepParameter::Queues).len());
    }

    #[test]
    fn invalid_values_name_their_parameter() {
        let mut spec = ScalingSpec::quick(vec![BenchPolicy::Fair]);
        spec.sweeps[SweepParameter::Nodes as usize] = vec![100, 0];
        let error = spec.validate().unwrap_err().to_string();
        assert!(error.starts_with("--nodes: 0 nodes"), "{error}");

        let mut spec = ScalingSpec::quick(vec![BenchPolicy::Fair]);
        spec.base.pending_per_application = 0;
        let error = spec.validate().unwrap_err().to_string();
        assert!(error.starts_with("--base-pending: 0 pending"), "{error}");

        let spec = ScalingSpec::quick(Vec::new());
        assert!(spec
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("--policy: "));
    }
}
