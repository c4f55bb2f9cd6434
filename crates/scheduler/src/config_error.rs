//! Why a scheduler configuration file was refused, naming the file, line, queue and key.

use std::fmt;

/// A refused scheduler configuration (capacity-scheduler.xml, the Fair Scheduler allocation
/// file, or the scheduler keys of yarn-site.xml). The running configuration is not touched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SchedulerConfigError {
    location: Box<ConfigLocation>,
}

/// Where the problem is, and what it is.
#[derive(Debug, Clone, PartialEq)]
struct ConfigLocation {
    source_name: String,
    line: Option<usize>,
    queue: Option<String>,
    key: Option<String>,
    problem: ConfigProblem,
}

impl SchedulerConfigError {
    pub(crate) fn new(source_name: &str, problem: ConfigProblem) -> Self {
        Self {
            location: Box::new(ConfigLocation {
                source_name: source_name.to_string(),
                line: None,
                queue: None,
                key: None,
                problem,
            }),
        }
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> Self {
        self.location.line = line.or(self.location.line);
        self
    }

    pub(crate) fn in_queue(mut self, queue: &str) -> Self {
        self.location.queue = Some(queue.to_string());
        self
    }

    pub(crate) fn for_key(mut self, key: &str) -> Self {
        self.location.key = Some(key.to_string());
        self
    }

    /// The file (or `yarn-site.xml` for site keys) as the caller named it.
    pub fn source_name(&self) -> &str {
        &self.location.source_name
    }

    /// 1-based line in the file, when known.
    pub fn line(&self) -> Option<usize> {
        self.location.line
    }

    /// Full path of the queue at fault (`root.dev.eng`), when one is.
    pub fn queue(&self) -> Option<&str> {
        self.location.queue.as_deref()
    }

    /// The property key or XML element at fault.
    pub fn key(&self) -> Option<&str> {
        self.location.key.as_deref()
    }

    pub fn problem(&self) -> &ConfigProblem {
        &self.location.problem
    }
}

impl fmt::Display for SchedulerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = &self.location;
        f.write_str(&location.source_name)?;
        if let Some(line) = location.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(queue) = &location.queue {
            write!(f, "queue {queue}: ")?;
        }
        if let Some(key) = &location.key {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", location.problem)
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigProblem {
    #[error("malformed XML: {0}")]
    MalformedXml(String),
    #[error("invalid value '{value}': expected {expected}")]
    InvalidValue { value: String, expected: String },
    #[error("unknown element <{0}>")]
    UnknownElement(String),
    #[error("the queue is defined more than once")]
    DuplicateQueue,
    #[error("invalid queue name '{name}': {reason}")]
    InvalidQueueName { name: String, reason: String },
    #[error(
        "the capacities of the children of {parent} add up to {sum}%, they must add up to 100%"
    )]
    CapacitySum { parent: String, sum: f64 },
    #[error("the absolute capacities of the children of {parent} add up to {sum}, more than the parent's {parent_capacity}")]
    AbsoluteCapacitySum {
        parent: String,
        sum: String,
        parent_capacity: String,
    },
    #[error("maximum-capacity {maximum} is below capacity {capacity}")]
    MaximumBelowCapacity { capacity: String, maximum: String },
    #[error("the children of {parent} mix percentage and absolute capacities")]
    MixedCapacityModes { parent: String },
    #[error("{what} names queue '{queue}', which is not a leaf queue of this configuration")]
    NotALeafQueue { what: String, queue: String },
    #[error("{0}")]
    Placement(String),
    #[error(
        "unknown scheduler class '{0}'; Spindle runs org.apache.hadoop.yarn.server.resourcemanager.scheduler.fifo.FifoScheduler, ...capacity.CapacityScheduler and ...fair.FairScheduler"
    )]
    UnknownSchedulerClass(String),
    #[error("{0}")]
    Unsupported(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_file_line_queue_and_key() {
        let error = SchedulerConfigError::new(
            "/etc/hadoop/capacity-scheduler.xml",
            ConfigProblem::InvalidValue {
                value: "lots".into(),
                expected: "a percentage from 0 to 100".into(),
            },
        )
        .at_line(Some(12))
        .in_queue("root.a")
        .for_key("yarn.scheduler.capacity.root.a.capacity");
        assert_eq!(
            error.to_string(),
            "/etc/hadoop/capacity-scheduler.xml:12: queue root.a: \
             yarn.scheduler.capacity.root.a.capacity: invalid value 'lots': expected a \
             percentage from 0 to 100"
        );
        let bare = SchedulerConfigError::new("x.xml", ConfigProblem::DuplicateQueue);
        assert_eq!(
            bare.to_string(),
            "x.xml: the queue is defined more than once"
        );
    }
}
