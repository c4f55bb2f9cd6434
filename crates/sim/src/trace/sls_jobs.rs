//! The SLS JSON job trace (`slsrun.sh --tracetype=SLS`): a stream of job objects with
//! `job.start.ms`, `job.queue.name`, `job.tasks` and friends, and optionally a cluster-size
//! object (`num.nodes`, `num.racks`).

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};
use spindle_types::Resource;

use super::error::{FieldProblem, TraceError};
use super::fields::{is_extra_resource_type, FieldContext};
use super::json_stream::read_objects;
use crate::workload::{
    HostPreference, JobSpec, ResourceDefaults, TaskSpec, TaskStage, MAP_PRIORITY,
};

/// The cluster an SLS trace asks for when no nodes file is given (`num.nodes`, `num.racks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterSize {
    pub nodes: usize,
    pub racks: usize,
}

/// A parsed trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlsTrace {
    /// By submission time; jobs submitted at the same time keep their order in the file.
    pub jobs: Vec<JobSpec>,
    pub cluster_size: Option<ClusterSize>,
    /// Fields the simulator does not use (node labels, request delays, unknown keys), by name.
    pub ignored_fields: BTreeSet<String>,
}

const JOB_ID: &str = "job.id";
const JOB_START_MS: &str = "job.start.ms";
const JOB_END_MS: &str = "job.end.ms";
const JOB_QUEUE_NAME: &str = "job.queue.name";
const JOB_USER: &str = "job.user";
const JOB_COUNT: &str = "job.count";
const JOB_TASKS: &str = "job.tasks";
const AM_TYPE: &str = "am.type";
const AM_PREFIX: &str = "am.";
const NUM_NODES: &str = "num.nodes";
const NUM_RACKS: &str = "num.racks";

const COUNT: &str = "count";
const TASK_PREFIX: &str = "container.";
const TASK_HOST: &str = "container.host";
const TASK_START_MS: &str = "container.start.ms";
const TASK_END_MS: &str = "container.end.ms";
const TASK_DURATION_MS: &str = "container.duration.ms";
const LEGACY_DURATION_MS: &str = "duration.ms";
const TASK_PRIORITY: &str = "container.priority";
const TASK_TYPE: &str = "container.type";
const TASK_EXECUTION_TYPE: &str = "container.execution.type";

const DEFAULT_QUEUE: &str = "default";
const DEFAULT_USER: &str = "default";
const DEFAULT_AM_TYPE: &str = "mapreduce";
const DEFAULT_TASK_TYPE: &str = "map";

/// Parses a whole trace. Any malformed job refuses the whole file: no partial run.
pub fn parse_sls_trace(
    source_name: &str,
    text: &str,
    defaults: &ResourceDefaults,
) -> Result<SlsTrace, TraceError> {
    let objects = read_objects(source_name, text, job_label)?;
    let mut trace = SlsTrace {
        jobs: Vec::new(),
        cluster_size: None,
        ignored_fields: BTreeSet::new(),
    };
    let mut seen_ids = HashSet::new();
    for (index, object) in objects.iter().enumerate() {
        let context = FieldContext::new(source_name, object.line, job_label(&object.fields, index));
        if object.fields.contains_key(NUM_NODES) && !object.fields.contains_key(JOB_TASKS) {
            trace.cluster_size = Some(parse_cluster_size(&context, &object.fields)?);
            continue;
        }
        let parsed = parse_job(
            &context,
            &object.fields,
            defaults,
            &mut trace.ignored_fields,
        )?;
        for _ in 0..parsed.count {
            // As SLS: without a job.id, or for the copies of `job.count`, the job's zero-based
            // position among the trace's jobs.
            let job_id = match (&parsed.job_id, parsed.count) {
                (Some(id), 1) => id.clone(),
                _ => trace.jobs.len().to_string(),
            };
            if !seen_ids.insert(job_id.clone()) {
                return Err(context.error(JOB_ID, FieldProblem::Duplicate { value: job_id }));
            }
            trace.jobs.push(JobSpec {
                job_id,
                ..parsed.job.clone()
            });
        }
    }
    if trace.jobs.is_empty() {
        return Err(TraceError::Empty {
            source_name: source_name.to_string(),
            what: "the trace holds no jobs",
        });
    }
    trace.jobs.sort_by_key(|job| job.submit_ms);
    Ok(trace)
}

/// How errors name a job: by its `job.id`, or by its place in the file.
fn job_label(fields: &Map<String, Value>, index: usize) -> String {
    match fields.get(JOB_ID) {
        Some(Value::String(id)) => format!("job {id:?}"),
        Some(Value::Number(id)) => format!("job \"{id}\""),
        _ if fields.contains_key(NUM_NODES) && !fields.contains_key(JOB_TASKS) => {
            format!("cluster size object #{}", index + 1)
        }
        _ => format!("job #{} (no job.id)", index + 1),
    }
}

fn parse_cluster_size(
    context: &FieldContext<'_>,
    fields: &Map<String, Value>,
) -> Result<ClusterSize, TraceError> {
    let nodes = context
        .integer_at_least(fields, NUM_NODES, 1, "at least 1")?
        .ok_or_else(|| context.error(NUM_NODES, FieldProblem::Missing))?;
    let racks = context
        .integer_at_least(fields, NUM_RACKS, 1, "at least 1")?
        .unwrap_or(1);
    Ok(ClusterSize {
        nodes: nodes as usize,
        racks: racks as usize,
    })
}

/// One job object before `job.count` copies and id assignment.
struct ParsedJob {
    job_id: Option<String>,
    count: usize,
    job: JobSpec,
}

fn parse_job(
    context: &FieldContext<'_>,
    fields: &Map<String, Value>,
    defaults: &ResourceDefaults,
    ignored: &mut BTreeSet<String>,
) -> Result<ParsedJob, TraceError> {
    let submit_ms = context
        .integer_at_least(
            fields,
            JOB_START_MS,
            0,
            "a time in milliseconds, not negative",
        )?
        .ok_or_else(|| context.error(JOB_START_MS, FieldProblem::Missing))?;
    let trace_end_ms = context.integer(fields, JOB_END_MS)?;
    if let Some(end) = trace_end_ms {
        if end < submit_ms {
            return Err(context.error(
                JOB_END_MS,
                FieldProblem::EndBeforeStart {
                    start: submit_ms,
                    end,
                },
            ));
        }
    }
    let count = context
        .integer_at_least(fields, JOB_COUNT, 1, "at least 1")?
        .unwrap_or(1) as usize;
    let tasks_field = context
        .list(fields, JOB_TASKS)?
        .ok_or_else(|| context.error(JOB_TASKS, FieldProblem::Missing))?;
    if tasks_field.is_empty() {
        return Err(context.error(JOB_TASKS, FieldProblem::Empty));
    }
    let mut tasks = Vec::new();
    for (index, task) in tasks_field.iter().enumerate() {
        let name = format!("{JOB_TASKS}[{index}]");
        let task_fields = context.object(task, &name)?;
        let task_context = context.nested(format!("{name}."));
        parse_task(&task_context, task_fields, defaults, ignored, &mut tasks)?;
    }
    let mut am_resource = defaults.am_container.clone();
    for (key, _) in fields {
        match key.as_str() {
            JOB_ID | JOB_START_MS | JOB_END_MS | JOB_QUEUE_NAME | JOB_USER | JOB_COUNT
            | JOB_TASKS | AM_TYPE => {}
            _ => match key.strip_prefix(AM_PREFIX) {
                Some(resource @ ("memory-mb" | "vcores")) => {
                    set_resource(context, fields, key, resource, &mut am_resource)?
                }
                Some(resource) if is_extra_resource_type(resource) => {
                    set_resource(context, fields, key, resource, &mut am_resource)?
                }
                _ => {
                    ignored.insert(key.clone());
                }
            },
        }
    }
    Ok(ParsedJob {
        job_id: context.non_blank_text(fields, JOB_ID)?,
        count,
        job: JobSpec {
            job_id: String::new(),
            user: context
                .non_blank_text(fields, JOB_USER)?
                .unwrap_or_else(|| DEFAULT_USER.to_string()),
            queue: context
                .non_blank_text(fields, JOB_QUEUE_NAME)?
                .unwrap_or_else(|| DEFAULT_QUEUE.to_string()),
            am_type: context
                .non_blank_text(fields, AM_TYPE)?
                .unwrap_or_else(|| DEFAULT_AM_TYPE.to_string()),
            submit_ms,
            trace_end_ms,
            am_resource,
            tasks,
        },
    })
}

/// Parses one `job.tasks` entry and appends its `count` copies.
fn parse_task(
    context: &FieldContext<'_>,
    fields: &Map<String, Value>,
    defaults: &ResourceDefaults,
    ignored: &mut BTreeSet<String>,
    tasks: &mut Vec<TaskSpec>,
) -> Result<(), TraceError> {
    let count = context
        .integer_at_least(fields, COUNT, 1, "at least 1")?
        .unwrap_or(1) as usize;
    let duration_ms = task_duration(context, fields)?;
    let priority = context
        .int32(fields, TASK_PRIORITY)?
        .unwrap_or(MAP_PRIORITY);
    let task_type = context
        .non_blank_text(fields, TASK_TYPE)?
        .unwrap_or_else(|| DEFAULT_TASK_TYPE.to_string());
    if let Some(execution_type) = context.text(fields, TASK_EXECUTION_TYPE)? {
        if !matches!(execution_type.trim(), "GUARANTEED" | "OPPORTUNISTIC") {
            return Err(context.error(
                TASK_EXECUTION_TYPE,
                FieldProblem::UnknownExecutionType {
                    value: execution_type,
                },
            ));
        }
    }
    let host = context
        .text(fields, TASK_HOST)?
        .and_then(|text| HostPreference::parse(&text));
    let mut resource = defaults.container.clone();
    for (key, _) in fields {
        match key.as_str() {
            COUNT | TASK_HOST | TASK_START_MS | TASK_END_MS | TASK_DURATION_MS
            | LEGACY_DURATION_MS | TASK_PRIORITY | TASK_TYPE | TASK_EXECUTION_TYPE => {}
            _ => match key.strip_prefix(TASK_PREFIX) {
                Some(resource_name @ ("memory-mb" | "vcores")) => {
                    set_resource(context, fields, key, resource_name, &mut resource)?
                }
                // The brief spelling some trace writers use for memory.
                Some("memory") if !fields.contains_key("container.memory-mb") => {
                    set_resource(context, fields, key, "memory-mb", &mut resource)?
                }
                Some(resource_name) if is_extra_resource_type(resource_name) => {
                    set_resource(context, fields, key, resource_name, &mut resource)?
                }
                _ => {
                    ignored.insert(format!("{JOB_TASKS}[].{key}"));
                }
            },
        }
    }
    let stage = if task_type == "reduce" {
        TaskStage::Reduce
    } else {
        TaskStage::First
    };
    let task = TaskSpec {
        stage,
        task_type,
        host,
        duration_ms,
        priority,
        resource,
    };
    tasks.extend(std::iter::repeat_n(task, count));
    Ok(())
}

/// SLS's rule: `container.duration.ms`, else `duration.ms`, else end minus start; it must be
/// positive.
fn task_duration(
    context: &FieldContext<'_>,
    fields: &Map<String, Value>,
) -> Result<i64, TraceError> {
    let explicit = match context.integer(fields, TASK_DURATION_MS)? {
        Some(duration) => Some((TASK_DURATION_MS, duration)),
        None => context
            .integer(fields, LEGACY_DURATION_MS)?
            .map(|duration| (LEGACY_DURATION_MS, duration)),
    };
    let (field, duration) = match explicit {
        Some(found) => found,
        None => {
            let start = context.integer(fields, TASK_START_MS)?;
            let end = context.integer(fields, TASK_END_MS)?;
            match (start, end) {
                (Some(start), Some(end)) if end < start => {
                    return Err(
                        context.error(TASK_END_MS, FieldProblem::EndBeforeStart { start, end })
                    )
                }
                (Some(start), Some(end)) => (TASK_END_MS, end - start),
                (Some(_), None) => return Err(context.error(TASK_END_MS, FieldProblem::Missing)),
                (None, Some(_)) => return Err(context.error(TASK_START_MS, FieldProblem::Missing)),
                (None, None) => {
                    return Err(context.error(TASK_DURATION_MS, FieldProblem::NoDuration))
                }
            }
        }
    };
    if duration <= 0 {
        return Err(context.error(field, FieldProblem::NonPositiveDuration { value: duration }));
    }
    Ok(duration)
}

fn set_resource(
    context: &FieldContext<'_>,
    fields: &Map<String, Value>,
    key: &str,
    resource_name: &str,
    resource: &mut Resource,
) -> Result<(), TraceError> {
    if let Some(value) = context.integer_at_least(fields, key, 0, "not negative")? {
        resource.set(resource_name, value);
    }
    Ok(())
}
