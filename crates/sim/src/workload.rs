//! The simulator's input model: the cluster's nodes and the jobs to replay, whatever format
//! (SLS trace, synthetic generator) they came from.

use spindle_types::Resource;

/// The port every simulated NodeManager reports (host names alone tell nodes apart).
pub const SIMULATED_NODE_PORT: i32 = 8041;

/// The priority SLS gives map tasks (and tasks whose trace names none).
pub const MAP_PRIORITY: i32 = 20;

/// The priority SLS gives reduce tasks.
pub const REDUCE_PRIORITY: i32 = 10;

/// One simulated NodeManager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub host: String,
    /// A rack path with its leading slash (`/default-rack`).
    pub rack: String,
    pub capability: Resource,
}

/// Which phase of its job a task belongs to. An MR-style ApplicationMaster asks for reduces
/// only once every other task of the job has finished (as SLS's MapReduce AM does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskStage {
    /// Maps and every task type other than `reduce`.
    First,
    /// Tasks of type `reduce`.
    Reduce,
}

/// Where a task would like to run (SLS's `container.host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPreference {
    pub host: String,
    /// The rack path, when the trace names one (`/default-rack/node1`); otherwise the simulator
    /// takes the rack of the cluster node with that host name, if any.
    pub rack: Option<String>,
}

impl HostPreference {
    /// Parses SLS's host notation: `/rack/host`, `/core/tor/host` (rack `/core/tor`) or a bare
    /// `host`. Blank text means no preference.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match text.rfind('/') {
            Some(slash) => {
                let host = &text[slash + 1..];
                if host.is_empty() {
                    return None;
                }
                let rack = &text[..slash];
                Some(Self {
                    host: host.to_string(),
                    rack: (!rack.is_empty()).then(|| rack_path(rack)),
                })
            }
            None => Some(Self {
                host: text.to_string(),
                rack: None,
            }),
        }
    }

    /// Back to SLS notation (`/rack/host`, or the bare host).
    pub fn to_sls(&self) -> String {
        match &self.rack {
            Some(rack) => format!("{rack}/{}", self.host),
            None => self.host.clone(),
        }
    }
}

/// `rack` with a leading slash, as YARN names racks.
pub fn rack_path(rack: &str) -> String {
    if rack.starts_with('/') {
        rack.to_string()
    } else {
        format!("/{rack}")
    }
}

/// One container a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    pub stage: TaskStage,
    /// The trace's `container.type` (`map`, `reduce`, or anything else).
    pub task_type: String,
    pub host: Option<HostPreference>,
    /// How long the container runs once started, in milliseconds (at least 1).
    pub duration_ms: i64,
    /// Lower number = more important inside the job.
    pub priority: i32,
    pub resource: Resource,
}

/// One application to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The trace's `job.id` (or a generated one); names the job in every output.
    pub job_id: String,
    pub user: String,
    /// The queue the job is submitted to, as the trace names it.
    pub queue: String,
    /// SLS's `am.type` (`mapreduce` by default); recorded, the simulated AM is always MR-style.
    pub am_type: String,
    /// Submission time in the trace's milliseconds.
    pub submit_ms: i64,
    /// The trace's `job.end.ms`, when given: the job's end in the traced cluster.
    pub trace_end_ms: Option<i64>,
    pub am_resource: Resource,
    pub tasks: Vec<TaskSpec>,
}

impl JobSpec {
    /// How long the job ran in the traced cluster, when the trace says.
    pub fn trace_duration_ms(&self) -> Option<i64> {
        self.trace_end_ms.map(|end| end - self.submit_ms)
    }
}

/// A cluster and the jobs to run on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Where it came from, for reports (`trace.json + nodes.json`, `synthetic seed 7`).
    pub description: String,
    pub nodes: Vec<NodeSpec>,
    /// In submission order (stable for equal times).
    pub jobs: Vec<JobSpec>,
}

impl Workload {
    pub fn task_count(&self) -> usize {
        self.jobs.iter().map(|job| job.tasks.len()).sum()
    }

    pub fn rack_count(&self) -> usize {
        let mut racks: Vec<&str> = self.nodes.iter().map(|node| node.rack.as_str()).collect();
        racks.sort_unstable();
        racks.dedup();
        racks.len()
    }

    pub fn total_capability(&self) -> Resource {
        let mut total = Resource::ZERO;
        for node in &self.nodes {
            total.add_assign(&node.capability);
        }
        total
    }
}

/// Sizes used where the input names none: SLS's `yarn.sls.nm.*`, `yarn.sls.container.*` and
/// `yarn.sls.am.container.*` defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDefaults {
    pub node: Resource,
    pub container: Resource,
    pub am_container: Resource,
}

impl Default for ResourceDefaults {
    /// SLS's defaults: NMs of 10240 MB and 10 vcores, containers and AMs of 1024 MB and 1 vcore.
    fn default() -> Self {
        Self {
            node: Resource::new(10240, 10),
            container: Resource::new(1024, 1),
            am_container: Resource::new(1024, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_notation_as_sls_writes_it() {
        let with_rack = HostPreference::parse("/default-rack/node1").unwrap();
        assert_eq!(with_rack.host, "node1");
        assert_eq!(with_rack.rack.as_deref(), Some("/default-rack"));
        assert_eq!(with_rack.to_sls(), "/default-rack/node1");

        let nested = HostPreference::parse("/core/tor7/host9").unwrap();
        assert_eq!(nested.rack.as_deref(), Some("/core/tor7"));
        assert_eq!(nested.host, "host9");

        let bare = HostPreference::parse("node4").unwrap();
        assert_eq!(bare.rack, None);
        assert_eq!(bare.host, "node4");

        assert_eq!(HostPreference::parse("  "), None);
        assert_eq!(HostPreference::parse("/rack/"), None);
        assert_eq!(HostPreference::parse("/node2").unwrap().rack, None);
    }
}
