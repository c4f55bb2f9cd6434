//! Tests of the SLS trace and nodes parsers: the formats as Hadoop's docs and samples write
//! them, and malformed files refused with the file, line, job and field named.

use spindle_types::Resource;

use super::*;
use crate::workload::{HostPreference, TaskStage};

fn defaults() -> ResourceDefaults {
    ResourceDefaults::default()
}

fn trace_error(text: &str) -> String {
    parse_sls_trace("trace.json", text, &defaults())
        .unwrap_err()
        .to_string()
}

fn nodes_error(text: &str) -> String {
    parse_sls_nodes("nodes.json", text, &defaults().node)
        .unwrap_err()
        .to_string()
}

/// The shape of Hadoop's own SLS test input: a stream of job objects with start/end times.
const HADOOP_STYLE_TRACE: &str = r#"{
  "am.type": "mapreduce",
  "job.start.ms": 0,
  "job.end.ms": 95375,
  "job.queue.name": "sls_queue_1",
  "job.id": "job_1",
  "job.user": "default",
  "job.tasks": [
    {
      "container.host": "/default-rack/node1",
      "container.start.ms": 6664,
      "container.end.ms": 23707,
      "container.priority": 20,
      "container.type": "map",
      "container.execution.type": "GUARANTEED"
    },
    {
      "container.host": "/default-rack/node3",
      "container.start.ms": 6665,
      "container.end.ms": 21593,
      "container.priority": 20,
      "container.type": "map"
    }
  ]
}
{
  "job.start.ms": 105204,
  "job.end.ms": 197256,
  "job.queue.name": "sls_queue_2",
  "job.id": "job_2",
  "job.tasks": [
    {
      "container.host": "/default-rack/node2",
      "container.start.ms": 111788,
      "container.end.ms": 131377,
      "container.type": "reduce"
    }
  ]
}
"#;

#[test]
fn a_hadoop_style_trace_reads_with_slss_defaults() {
    let trace = parse_sls_trace("trace.json", HADOOP_STYLE_TRACE, &defaults()).unwrap();
    assert_eq!(trace.jobs.len(), 2);
    let first = &trace.jobs[0];
    assert_eq!(first.job_id, "job_1");
    assert_eq!(first.queue, "sls_queue_1");
    assert_eq!(first.user, "default");
    assert_eq!(first.trace_duration_ms(), Some(95375));
    assert_eq!(first.am_resource, Resource::new(1024, 1));
    assert_eq!(first.tasks.len(), 2);
    let task = &first.tasks[0];
    assert_eq!(task.duration_ms, 23707 - 6664);
    assert_eq!(task.priority, 20);
    assert_eq!(task.stage, TaskStage::First);
    assert_eq!(task.resource, Resource::new(1024, 1));
    assert_eq!(
        task.host,
        Some(HostPreference {
            host: "node1".into(),
            rack: Some("/default-rack".into())
        })
    );
    let second = &trace.jobs[1];
    assert_eq!(second.user, "default", "job.user defaults to default");
    assert_eq!(second.am_type, "mapreduce");
    assert_eq!(second.tasks[0].stage, TaskStage::Reduce);
    assert_eq!(
        second.tasks[0].priority, 20,
        "container.priority defaults to 20"
    );
}

#[test]
fn counts_durations_resources_and_the_cluster_size_object() {
    let text = r#"{"num.nodes": 6, "num.racks": 2}
[{"job.start.ms": 50, "job.count": 2, "am.memory-mb": 2048, "am.vcores": 2,
  "job.tasks": [{"count": 3, "duration.ms": 5000, "container.memory-mb": 3072,
                 "container.vcores": 2, "container.yarn.io/gpu": 1},
                {"container.duration.ms": "700", "duration.ms": 9, "container.host": "node4",
                 "container.memory": 512}]},
 {"job.start.ms": 10, "job.id": "early", "job.label.expression": "x",
  "job.tasks": [{"duration.ms": 1, "container.request.delay": 5}]}]
"#;
    let trace = parse_sls_trace("trace.json", text, &defaults()).unwrap();
    assert_eq!(trace.cluster_size, Some(ClusterSize { nodes: 6, racks: 2 }));
    let ids: Vec<&str> = trace.jobs.iter().map(|job| job.job_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["early", "0", "1"],
        "sorted by start; copies numbered"
    );
    let copy = &trace.jobs[1];
    assert_eq!(copy.am_resource, Resource::new(2048, 2));
    assert_eq!(copy.tasks.len(), 4, "count 3 plus one");
    assert_eq!(
        copy.tasks[0].resource,
        Resource::new(3072, 2).with("yarn.io/gpu", 1)
    );
    assert_eq!(copy.tasks[0].duration_ms, 5000);
    assert_eq!(
        copy.tasks[3].duration_ms, 700,
        "container.duration.ms wins over duration.ms, and may be written as text"
    );
    assert_eq!(copy.tasks[3].resource, Resource::new(512, 1));
    assert_eq!(copy.tasks[3].host.as_ref().unwrap().rack, None);
    assert!(trace.ignored_fields.contains("job.label.expression"));
    assert!(trace
        .ignored_fields
        .contains("job.tasks[].container.request.delay"));

    let nodes = nodes_from_cluster_size(ClusterSize { nodes: 6, racks: 2 }, &defaults().node);
    let racks: Vec<&str> = nodes.iter().map(|node| node.rack.as_str()).collect();
    assert_eq!(
        racks,
        vec!["/rack1", "/rack1", "/rack1", "/rack2", "/rack2", "/rack2"]
    );
}

#[test]
fn malformed_jobs_are_refused_naming_the_job_and_field() {
    let cases: [(&str, &str); 12] = [
        (
            r#"{"job.id": "a", "job.tasks": [{"duration.ms": 5}]}"#,
            r#"trace.json line 1: job "a": field job.start.ms is missing"#,
        ),
        (
            r#"{"job.id": "a", "job.start.ms": "soon", "job.tasks": [{"duration.ms": 5}]}"#,
            r#"trace.json line 1: job "a": field job.start.ms must be a whole number, found the string "soon""#,
        ),
        (
            r#"{"job.id": "a", "job.start.ms": -4, "job.tasks": [{"duration.ms": 5}]}"#,
            "field job.start.ms must be a time in milliseconds, not negative, found -4",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 10, "job.end.ms": 5, "job.tasks": [{"duration.ms": 5}]}"#,
            "field job.end.ms is 5, before the start 10",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": []}"#,
            "field job.tasks must not be empty",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0}"#,
            "field job.tasks is missing",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": [{"duration.ms": 5}, {"container.host": "n1"}]}"#,
            "field job.tasks[1].container.duration.ms is missing: a task needs",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": [{"container.start.ms": 9, "container.end.ms": 9}]}"#,
            "field job.tasks[0].container.end.ms must be a positive number of milliseconds, found 0",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": [{"container.start.ms": 9}]}"#,
            "field job.tasks[0].container.end.ms is missing",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": [{"duration.ms": 5, "container.execution.type": "SOMETIMES"}]}"#,
            r#"field job.tasks[0].container.execution.type must be GUARANTEED or OPPORTUNISTIC, found "SOMETIMES""#,
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": [{"duration.ms": 5, "container.memory-mb": 1.5}]}"#,
            "field job.tasks[0].container.memory-mb must be a whole number, found the number 1.5",
        ),
        (
            r#"{"job.id": "a", "job.start.ms": 0, "job.tasks": [{"duration.ms": 5, "count": 0}]}"#,
            "field job.tasks[0].count must be at least 1, found 0",
        ),
    ];
    for (text, expected) in cases {
        let message = trace_error(text);
        assert!(
            message.contains(expected),
            "{text}\n gave: {message}\n want: {expected}"
        );
    }
}

#[test]
fn errors_point_at_the_right_job_in_a_stream() {
    let text = "{\"job.id\": \"good\", \"job.start.ms\": 0, \"job.tasks\": [{\"duration.ms\": 5}]}\n\
                \n\
                {\"job.start.ms\": 0,\n \"job.tasks\": [{\"duration.ms\": 5, \"container.priority\": \"high\"}]}\n";
    assert_eq!(
        trace_error(text),
        "trace.json line 3: job #2 (no job.id): field job.tasks[0].container.priority must be a whole number, found the string \"high\""
    );
    let duplicate = "{\"job.id\": \"x\", \"job.start.ms\": 0, \"job.tasks\": [{\"duration.ms\": 5}]}\n\
                     {\"job.id\": \"x\", \"job.start.ms\": 1, \"job.tasks\": [{\"duration.ms\": 5}]}";
    assert_eq!(
        trace_error(duplicate),
        "trace.json line 2: job \"x\": field job.id \"x\" is used twice"
    );
    let truncated =
        "{\"job.id\": \"first\", \"job.start.ms\": 0, \"job.tasks\": [{\"duration.ms\": 5}]}\n\
                     {\"job.id\": \"second\", \"job.start.ms\": 0, \"job.tasks\": [";
    let message = trace_error(truncated);
    assert!(
        message.starts_with("trace.json line 2 column") && message.contains("after job \"first\""),
        "{message}"
    );
    assert_eq!(
        trace_error("[1, 2]"),
        "trace.json line 1: expected a JSON object, found the number 1"
    );
    assert_eq!(trace_error("  "), "trace.json: the trace holds no jobs");
    assert!(trace_error("{\"num.nodes\": 0}").contains("field num.nodes must be at least 1"));
}

#[test]
fn nodes_files_read_racks_nodes_and_capabilities() {
    let text = r#"{"rack": "rack1", "nodes": [{"node": "node1", "memory-mb": 2048, "vcores": 6},
                                             {"node": "node2", "labels": "x"}]}
{"rack": "/rack2", "nodes": [{"node": "node3", "yarn.io/gpu": 2, "comment": "ignored"}]}"#;
    let nodes = parse_sls_nodes("nodes.json", text, &Resource::new(10240, 10)).unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0].rack, "/rack1", "racks get YARN's leading slash");
    assert_eq!(nodes[0].capability, Resource::new(2048, 6));
    assert_eq!(nodes[1].capability, Resource::new(10240, 10));
    assert_eq!(nodes[2].rack, "/rack2");
    assert_eq!(
        nodes[2].capability,
        Resource::new(10240, 10).with("yarn.io/gpu", 2)
    );
}

#[test]
fn malformed_nodes_files_are_refused_naming_the_rack_and_field() {
    // Hadoop's own sample nodes.json ends its last rack with an empty node object.
    let empty_node = "{\"rack\": \"rack1\", \"nodes\": [{\"node\": \"node1\"}]}\n\
                      {\"rack\": \"rack5\",\n \"nodes\": [{\"node\": \"node19\"}, {}]}";
    assert_eq!(
        nodes_error(empty_node),
        "nodes.json line 2: rack \"rack5\": field nodes[1].node is missing"
    );
    assert!(nodes_error(r#"{"nodes": [{"node": "a"}]}"#)
        .contains("rack #1 (no rack name): field rack is missing"));
    assert!(nodes_error(r#"{"rack": "r", "nodes": {"node": "a"}}"#)
        .contains("field nodes must be a list, found an object"));
    assert!(nodes_error(
        r#"{"rack": "r", "nodes": [{"node": "a"}]} {"rack": "s", "nodes": [{"node": "a"}]}"#
    )
    .contains("field nodes[0].node \"a\" is used twice"));
    assert!(
        nodes_error(r#"{"rack": "r", "nodes": [{"node": "a", "memory-mb": -1}]}"#)
            .contains("field nodes[0].memory-mb must be not negative, found -1")
    );
    assert!(
        nodes_error(r#"{"rack": "r", "nodes": [{"node": "a", "vcores": "many"}]}"#)
            .contains("field nodes[0].vcores must be a whole number")
    );
    assert_eq!(
        nodes_error(r#"{"rack": "r", "nodes": []}"#),
        "nodes.json: the nodes file lists no nodes"
    );
    assert!(nodes_error("{\"rack\": \"r\",").starts_with("nodes.json line 1 column"));
}

#[test]
fn without_a_nodes_file_the_cluster_is_the_traces_hosts() {
    let trace = parse_sls_trace("trace.json", HADOOP_STYLE_TRACE, &defaults()).unwrap();
    let nodes = nodes_from_trace_hosts(&trace.jobs, &Resource::new(4096, 4));
    let hosts: Vec<(&str, &str)> = nodes
        .iter()
        .map(|node| (node.host.as_str(), node.rack.as_str()))
        .collect();
    assert_eq!(
        hosts,
        vec![
            ("node1", "/default-rack"),
            ("node2", "/default-rack"),
            ("node3", "/default-rack")
        ]
    );
}

#[test]
fn a_written_workload_reads_back_the_same() {
    let trace = parse_sls_trace("trace.json", HADOOP_STYLE_TRACE, &defaults()).unwrap();
    let nodes = nodes_from_trace_hosts(&trace.jobs, &Resource::new(4096, 4));
    let workload = Workload {
        description: String::new(),
        nodes,
        jobs: trace.jobs,
    };
    let reread = parse_sls_trace("again.json", &sls_trace_text(&workload), &defaults()).unwrap();
    assert_eq!(reread.jobs, workload.jobs);
    let renodes =
        parse_sls_nodes("n.json", &sls_nodes_text(&workload.nodes), &defaults().node).unwrap();
    assert_eq!(renodes, workload.nodes);
}
