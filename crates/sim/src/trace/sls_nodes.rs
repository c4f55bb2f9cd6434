//! The SLS nodes (topology) file (`slsrun.sh --nodes`): a stream of rack objects,
//! `{"rack": "rack1", "nodes": [{"node": "node1", "memory-mb": 2048, "vcores": 6}, ...]}`,
//! and the clusters SLS derives when no nodes file is given.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};
use spindle_types::Resource;

use super::error::{FieldProblem, TraceError};
use super::fields::{is_extra_resource_type, FieldContext};
use super::json_stream::read_objects;
use super::sls_jobs::ClusterSize;
use crate::workload::{rack_path, JobSpec, NodeSpec};

const RACK: &str = "rack";
const NODES: &str = "nodes";
const NODE: &str = "node";
const LABELS: &str = "labels";

/// Parses a whole nodes file; nodes without `memory-mb`/`vcores` get `default_capability`.
/// Any malformed rack or node refuses the whole file.
pub fn parse_sls_nodes(
    source_name: &str,
    text: &str,
    default_capability: &Resource,
) -> Result<Vec<NodeSpec>, TraceError> {
    let objects = read_objects(source_name, text, rack_label)?;
    let mut nodes = Vec::new();
    let mut seen_hosts = HashSet::new();
    for (index, object) in objects.iter().enumerate() {
        let context =
            FieldContext::new(source_name, object.line, rack_label(&object.fields, index));
        let rack = context
            .non_blank_text(&object.fields, RACK)?
            .ok_or_else(|| context.error(RACK, FieldProblem::Missing))?;
        let rack = rack_path(&rack);
        let entries = context
            .list(&object.fields, NODES)?
            .ok_or_else(|| context.error(NODES, FieldProblem::Missing))?;
        for (position, entry) in entries.iter().enumerate() {
            let name = format!("{NODES}[{position}]");
            let fields = context.object(entry, &name)?;
            let node_context = context.nested(format!("{name}."));
            let host = node_context
                .non_blank_text(fields, NODE)?
                .ok_or_else(|| node_context.error(NODE, FieldProblem::Missing))?;
            if !seen_hosts.insert(host.clone()) {
                return Err(node_context.error(NODE, FieldProblem::Duplicate { value: host }));
            }
            let capability = node_capability(&node_context, fields, default_capability)?;
            nodes.push(NodeSpec {
                host,
                rack: rack.clone(),
                capability,
            });
        }
    }
    if nodes.is_empty() {
        return Err(TraceError::Empty {
            source_name: source_name.to_string(),
            what: "the nodes file lists no nodes",
        });
    }
    Ok(nodes)
}

fn rack_label(fields: &Map<String, Value>, index: usize) -> String {
    match fields.get(RACK) {
        Some(Value::String(rack)) => format!("rack {rack:?}"),
        _ => format!("rack #{} (no rack name)", index + 1),
    }
}

fn node_capability(
    context: &FieldContext<'_>,
    fields: &Map<String, Value>,
    default_capability: &Resource,
) -> Result<Resource, TraceError> {
    let mut capability = default_capability.clone();
    for key in fields.keys() {
        let resource_name = match key.as_str() {
            NODE | LABELS => continue,
            "memory-mb" | "vcores" => key.as_str(),
            other if is_extra_resource_type(other) => other,
            // SLS ignores what it does not know; so do we.
            _ => continue,
        };
        if let Some(value) = context.integer_at_least(fields, key, 0, "not negative")? {
            capability.set(resource_name, value);
        }
    }
    Ok(capability)
}

/// SLS's cluster for a trace's `num.nodes`/`num.racks`: `node1..nodeN` spread evenly over
/// `/rack1..rackR`.
pub fn nodes_from_cluster_size(size: ClusterSize, capability: &Resource) -> Vec<NodeSpec> {
    let racks = size.racks.clamp(1, size.nodes.max(1));
    let per_rack = size.nodes.div_ceil(racks);
    (0..size.nodes)
        .map(|index| NodeSpec {
            host: format!("node{}", index + 1),
            rack: format!("/rack{}", index / per_rack + 1),
            capability: capability.clone(),
        })
        .collect()
}

/// SLS's cluster when neither a nodes file nor a cluster size is given: one node per host the
/// trace's tasks name (in `/default-rack` when the trace names no rack), sorted by host.
pub fn nodes_from_trace_hosts(jobs: &[JobSpec], capability: &Resource) -> Vec<NodeSpec> {
    let mut racks_by_host: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for task in jobs.iter().flat_map(|job| &job.tasks) {
        if let Some(preference) = &task.host {
            let rack = racks_by_host.entry(&preference.host).or_insert(None);
            if rack.is_none() {
                *rack = preference.rack.as_deref();
            }
        }
    }
    racks_by_host
        .into_iter()
        .map(|(host, rack)| NodeSpec {
            host: host.to_string(),
            rack: rack.unwrap_or(spindle_scheduler::DEFAULT_RACK).to_string(),
            capability: capability.clone(),
        })
        .collect()
}
