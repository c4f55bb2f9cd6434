//! The seeded synthetic workload generator: a cluster of racks and nodes, and MapReduce-style
//! jobs arriving as a Poisson process with log-normal sizes and durations, spread over queues
//! and users, with a chosen share of map tasks preferring a host. The same spec and seed
//! always give the same workload.

use spindle_types::Resource;

use crate::random::{LogNormal, SeededRandom};
use crate::workload::{
    HostPreference, JobSpec, NodeSpec, TaskSpec, TaskStage, Workload, MAP_PRIORITY, REDUCE_PRIORITY,
};

/// A queue jobs are submitted to, and its share of the jobs (relative weight).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedQueue {
    pub name: String,
    pub weight: f64,
}

/// Everything the generator draws from.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticWorkloadSpec {
    pub seed: u64,
    pub nodes: usize,
    pub nodes_per_rack: usize,
    pub node_capability: Resource,
    pub jobs: usize,
    /// Mean job submissions per second of virtual time.
    pub arrivals_per_second: f64,
    pub queues: Vec<WeightedQueue>,
    /// Jobs are spread evenly over `user1..userN`.
    pub users: usize,
    /// Map tasks per job (at least 1 is drawn).
    pub maps: LogNormal,
    /// Reduce tasks per job (0 allowed); asked once the job's maps are done.
    pub reduces: LogNormal,
    pub task_duration_ms: LogNormal,
    pub task_resource: Resource,
    pub am_resource: Resource,
    /// Share of map tasks (0 to 1) that prefer one host, as tasks reading a local HDFS block.
    pub locality: f64,
}

impl Default for SyntheticWorkloadSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            nodes: 100,
            nodes_per_rack: 40,
            node_capability: Resource::new(10240, 10),
            jobs: 100,
            arrivals_per_second: 1.0,
            queues: vec![WeightedQueue {
                name: "default".into(),
                weight: 1.0,
            }],
            users: 4,
            maps: LogNormal {
                mean: 20.0,
                stddev: 15.0,
            },
            reduces: LogNormal {
                mean: 2.0,
                stddev: 1.0,
            },
            task_duration_ms: LogNormal {
                mean: 30_000.0,
                stddev: 15_000.0,
            },
            task_resource: Resource::new(1024, 1),
            am_resource: Resource::new(1024, 1),
            locality: 0.8,
        }
    }
}

/// A spec the generator cannot use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyntheticSpecError {
    #[error("the synthetic workload needs at least one {what}")]
    NothingToGenerate { what: &'static str },
    #[error("{what} must be {expected}, got {value}")]
    OutOfRange {
        what: &'static str,
        expected: &'static str,
        value: f64,
    },
    #[error("queue list {text:?}: {problem}")]
    QueueList { text: String, problem: String },
}

/// Parses `--queues`: comma-separated names, each optionally `name:weight`
/// (`prod:3,dev,adhoc:0.5`).
pub fn parse_weighted_queues(text: &str) -> Result<Vec<WeightedQueue>, SyntheticSpecError> {
    let problem = |problem: String| SyntheticSpecError::QueueList {
        text: text.to_string(),
        problem,
    };
    let mut queues = Vec::new();
    for entry in text
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (name, weight) = match entry.split_once(':') {
            Some((name, weight)) => {
                let weight: f64 = weight.trim().parse().map_err(|_| {
                    problem(format!(
                        "weight {weight:?} of queue {name:?} is not a number"
                    ))
                })?;
                (name.trim(), weight)
            }
            None => (entry, 1.0),
        };
        if name.is_empty() {
            return Err(problem(format!("entry {entry:?} has no queue name")));
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(problem(format!(
                "queue {name:?} has weight {weight}; weights must not be negative"
            )));
        }
        queues.push(WeightedQueue {
            name: name.to_string(),
            weight,
        });
    }
    if queues.is_empty() {
        return Err(problem("it names no queue".into()));
    }
    if queues.iter().all(|queue| queue.weight == 0.0) {
        return Err(problem("every weight is 0".into()));
    }
    Ok(queues)
}

impl SyntheticWorkloadSpec {
    pub fn validate(&self) -> Result<(), SyntheticSpecError> {
        let nothing = |what| Err(SyntheticSpecError::NothingToGenerate { what });
        if self.nodes == 0 {
            return nothing("node");
        }
        if self.jobs == 0 {
            return nothing("job");
        }
        if self.users == 0 {
            return nothing("user");
        }
        if self.nodes_per_rack == 0 {
            return nothing("node per rack");
        }
        if self.queues.is_empty() || self.queues.iter().all(|queue| queue.weight <= 0.0) {
            return nothing("queue with a positive weight");
        }
        let range = |what, expected, value: f64, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(SyntheticSpecError::OutOfRange {
                    what,
                    expected,
                    value,
                })
            }
        };
        range(
            "the arrival rate",
            "a positive number of jobs per second",
            self.arrivals_per_second,
            self.arrivals_per_second.is_finite() && self.arrivals_per_second > 0.0,
        )?;
        range(
            "the locality share",
            "between 0 and 1",
            self.locality,
            (0.0..=1.0).contains(&self.locality),
        )?;
        range(
            "the mean task duration",
            "at least 1 ms",
            self.task_duration_ms.mean,
            self.task_duration_ms.mean >= 1.0,
        )?;
        for (what, distribution) in [
            ("the map count", self.maps),
            ("the reduce count", self.reduces),
            ("the task duration", self.task_duration_ms),
        ] {
            range(
                what,
                "a non-negative mean and deviation",
                distribution.mean.min(distribution.stddev),
                distribution.mean >= 0.0 && distribution.stddev >= 0.0,
            )?;
        }
        Ok(())
    }
}

/// Generates the workload `spec` describes.
pub fn generate_workload(spec: &SyntheticWorkloadSpec) -> Result<Workload, SyntheticSpecError> {
    spec.validate()?;
    let mut random = SeededRandom::new(spec.seed);
    let nodes: Vec<NodeSpec> = (0..spec.nodes)
        .map(|index| NodeSpec {
            host: format!("node{:05}", index + 1),
            rack: format!("/rack{:03}", index / spec.nodes_per_rack + 1),
            capability: spec.node_capability.clone(),
        })
        .collect();
    let queue_weights: Vec<f64> = spec.queues.iter().map(|queue| queue.weight).collect();
    let mean_interarrival_ms = 1000.0 / spec.arrivals_per_second;
    let mut submit_ms = 0.0f64;
    let mut jobs = Vec::with_capacity(spec.jobs);
    for index in 0..spec.jobs {
        if index > 0 {
            submit_ms += random.exponential(mean_interarrival_ms);
        }
        let queue = spec.queues[random.weighted(&queue_weights)].name.clone();
        let user = format!("user{}", random.below(spec.users) + 1);
        let maps = (random.log_normal(spec.maps).round() as usize).max(1);
        let reduces = random.log_normal(spec.reduces).round() as usize;
        let mut tasks = Vec::with_capacity(maps + reduces);
        for _ in 0..maps {
            let host = random.chance(spec.locality).then(|| {
                let node = &nodes[random.below(nodes.len())];
                HostPreference {
                    host: node.host.clone(),
                    rack: Some(node.rack.clone()),
                }
            });
            tasks.push(TaskSpec {
                stage: TaskStage::First,
                task_type: "map".into(),
                host,
                duration_ms: draw_duration(&mut random, spec.task_duration_ms),
                priority: MAP_PRIORITY,
                resource: spec.task_resource.clone(),
            });
        }
        for _ in 0..reduces {
            tasks.push(TaskSpec {
                stage: TaskStage::Reduce,
                task_type: "reduce".into(),
                host: None,
                duration_ms: draw_duration(&mut random, spec.task_duration_ms),
                priority: REDUCE_PRIORITY,
                resource: spec.task_resource.clone(),
            });
        }
        jobs.push(JobSpec {
            job_id: format!("job_{:05}", index + 1),
            user,
            queue,
            am_type: "mapreduce".into(),
            submit_ms: submit_ms.round() as i64,
            trace_end_ms: None,
            am_resource: spec.am_resource.clone(),
            tasks,
        });
    }
    Ok(Workload {
        description: format!(
            "synthetic: seed {}, {} nodes, {} jobs at {} per second",
            spec.seed, spec.nodes, spec.jobs, spec.arrivals_per_second
        ),
        nodes,
        jobs,
    })
}

fn draw_duration(random: &mut SeededRandom, distribution: LogNormal) -> i64 {
    (random.log_normal(distribution).round() as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_spec(seed: u64) -> SyntheticWorkloadSpec {
        SyntheticWorkloadSpec {
            seed,
            nodes: 10,
            nodes_per_rack: 4,
            jobs: 30,
            ..Default::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_workload() {
        let first = generate_workload(&small_spec(11)).unwrap();
        assert_eq!(first, generate_workload(&small_spec(11)).unwrap());
        assert_ne!(first, generate_workload(&small_spec(12)).unwrap());
    }

    #[test]
    fn the_workload_has_the_asked_shape() {
        let spec = SyntheticWorkloadSpec {
            queues: parse_weighted_queues("a:1,b:0").unwrap(),
            locality: 1.0,
            ..small_spec(5)
        };
        let workload = generate_workload(&spec).unwrap();
        assert_eq!(workload.nodes.len(), 10);
        assert_eq!(workload.rack_count(), 3);
        assert_eq!(workload.jobs.len(), 30);
        assert!(workload.jobs.iter().all(|job| job.queue == "a"));
        assert!(workload
            .jobs
            .windows(2)
            .all(|pair| pair[0].submit_ms <= pair[1].submit_ms));
        for job in &workload.jobs {
            assert!(job.tasks.iter().any(|task| task.stage == TaskStage::First));
            for task in &job.tasks {
                assert!(task.duration_ms >= 1);
                match task.stage {
                    TaskStage::First => assert!(task.host.is_some()),
                    TaskStage::Reduce => assert!(task.host.is_none()),
                }
            }
        }
    }

    #[test]
    fn queue_lists_parse_with_weights_and_refuse_nonsense() {
        let queues = parse_weighted_queues("prod:3, dev ,adhoc:0.5").unwrap();
        assert_eq!(
            queues
                .iter()
                .map(|queue| (queue.name.as_str(), queue.weight))
                .collect::<Vec<_>>(),
            vec![("prod", 3.0), ("dev", 1.0), ("adhoc", 0.5)]
        );
        for bad in ["", "a:x", ":2", "a:-1", "a:0,b:0"] {
            assert!(parse_weighted_queues(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn impossible_specs_are_refused() {
        let refused =
            |spec: SyntheticWorkloadSpec| generate_workload(&spec).unwrap_err().to_string();
        assert!(refused(SyntheticWorkloadSpec {
            nodes: 0,
            ..small_spec(1)
        })
        .contains("node"));
        assert!(refused(SyntheticWorkloadSpec {
            arrivals_per_second: 0.0,
            ..small_spec(1)
        })
        .contains("arrival rate"));
        assert!(refused(SyntheticWorkloadSpec {
            locality: 1.5,
            ..small_spec(1)
        })
        .contains("locality"));
    }
}
