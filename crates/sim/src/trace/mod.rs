//! Input files in YARN SLS's formats: the JSON job trace and the nodes file, read into a
//! [`Workload`]; and the writer that turns a workload back into those formats.

mod error;
mod fields;
mod json_stream;
mod sls_jobs;
mod sls_nodes;
mod sls_writer;

use std::collections::BTreeSet;
use std::path::Path;

pub use error::{FieldProblem, TraceError};
pub use sls_jobs::{parse_sls_trace, ClusterSize, SlsTrace};
pub use sls_nodes::{nodes_from_cluster_size, nodes_from_trace_hosts, parse_sls_nodes};
pub use sls_writer::{sls_nodes_text, sls_trace_text};

use crate::workload::{ResourceDefaults, Workload};

/// A workload read from SLS files, with the fields the simulator passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedTrace {
    pub workload: Workload,
    pub ignored_fields: BTreeSet<String>,
}

/// Reads an SLS trace and, when given, an SLS nodes file. Without a nodes file the cluster is
/// the trace's `num.nodes`/`num.racks`, or else one node per host the trace names (as SLS).
pub fn load_sls_workload(
    trace_path: &Path,
    nodes_path: Option<&Path>,
    defaults: &ResourceDefaults,
) -> Result<LoadedTrace, TraceError> {
    let trace_name = trace_path.display().to_string();
    let trace = parse_sls_trace(&trace_name, &read_text(trace_path)?, defaults)?;
    let (nodes, description) = match nodes_path {
        Some(path) => {
            let name = path.display().to_string();
            let nodes = parse_sls_nodes(&name, &read_text(path)?, &defaults.node)?;
            (nodes, format!("SLS trace {trace_name}, nodes {name}"))
        }
        None => match trace.cluster_size {
            Some(size) => (
                nodes_from_cluster_size(size, &defaults.node),
                format!("SLS trace {trace_name} (num.nodes {})", size.nodes),
            ),
            None => {
                let nodes = nodes_from_trace_hosts(&trace.jobs, &defaults.node);
                if nodes.is_empty() {
                    return Err(TraceError::Empty {
                        source_name: trace_name,
                        what: "without a nodes file the cluster comes from the tasks' container.host values, and the trace names none",
                    });
                }
                (
                    nodes,
                    format!("SLS trace {trace_name} (nodes from its hosts)"),
                )
            }
        },
    };
    Ok(LoadedTrace {
        workload: Workload {
            description,
            nodes,
            jobs: trace.jobs,
        },
        ignored_fields: trace.ignored_fields,
    })
}

fn read_text(path: &Path) -> Result<String, TraceError> {
    std::fs::read_to_string(path).map_err(|source| TraceError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
