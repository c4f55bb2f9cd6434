//! Writes a workload back in SLS's formats, so a synthetic workload can be replayed by
//! `spindle sim` again or by Hadoop's own `slsrun.sh` for a side-by-side comparison.

use serde_json::{json, Map, Value};
use spindle_types::Resource;

use crate::workload::{NodeSpec, Workload};

/// The jobs as an SLS trace: one job object per line.
pub fn sls_trace_text(workload: &Workload) -> String {
    let mut text = String::new();
    for job in &workload.jobs {
        let tasks: Vec<Value> = job
            .tasks
            .iter()
            .map(|task| {
                let mut fields = Map::new();
                if let Some(host) = &task.host {
                    fields.insert("container.host".into(), json!(host.to_sls()));
                }
                fields.insert("duration.ms".into(), json!(task.duration_ms));
                fields.insert("container.priority".into(), json!(task.priority));
                fields.insert("container.type".into(), json!(task.task_type));
                insert_resource(&mut fields, "container.", &task.resource);
                Value::Object(fields)
            })
            .collect();
        let mut fields = Map::new();
        fields.insert("am.type".into(), json!(job.am_type));
        fields.insert("job.start.ms".into(), json!(job.submit_ms));
        if let Some(end) = job.trace_end_ms {
            fields.insert("job.end.ms".into(), json!(end));
        }
        fields.insert("job.queue.name".into(), json!(job.queue));
        fields.insert("job.id".into(), json!(job.job_id));
        fields.insert("job.user".into(), json!(job.user));
        insert_resource(&mut fields, "am.", &job.am_resource);
        fields.insert("job.tasks".into(), Value::Array(tasks));
        text.push_str(&Value::Object(fields).to_string());
        text.push('\n');
    }
    text
}

/// The nodes as an SLS nodes file: one rack object per line, racks in first-seen order.
pub fn sls_nodes_text(nodes: &[NodeSpec]) -> String {
    let mut racks: Vec<(&str, Vec<Value>)> = Vec::new();
    for node in nodes {
        let mut fields = Map::new();
        fields.insert("node".into(), json!(node.host));
        insert_resource(&mut fields, "", &node.capability);
        let entry = Value::Object(fields);
        match racks.iter_mut().find(|(rack, _)| *rack == node.rack) {
            Some((_, entries)) => entries.push(entry),
            None => racks.push((&node.rack, vec![entry])),
        }
    }
    let mut text = String::new();
    for (rack, entries) in racks {
        let rack = rack.strip_prefix('/').unwrap_or(rack);
        text.push_str(&json!({ "rack": rack, "nodes": entries }).to_string());
        text.push('\n');
    }
    text
}

fn insert_resource(fields: &mut Map<String, Value>, prefix: &str, resource: &Resource) {
    fields.insert(format!("{prefix}memory-mb"), json!(resource.memory_mb));
    fields.insert(format!("{prefix}vcores"), json!(resource.vcores));
    for (name, value) in resource.others() {
        fields.insert(format!("{prefix}{name}"), json!(value));
    }
}
