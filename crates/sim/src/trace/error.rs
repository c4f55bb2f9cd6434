//! Why an input file was refused: the file, the line, the job or node, the field, and what is wrong.

use std::path::PathBuf;

/// What is wrong with one field of a job, task or node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("is missing")]
    Missing,
    #[error("must be {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("must be {expected}, found {value}")]
    OutOfRange { expected: &'static str, value: i64 },
    #[error("must not be empty")]
    Empty,
    #[error("is {end}, before the start {start}")]
    EndBeforeStart { start: i64, end: i64 },
    #[error(
        "is missing: a task needs container.duration.ms, duration.ms, or both container.start.ms and container.end.ms"
    )]
    NoDuration,
    #[error("must be a positive number of milliseconds, found {value}")]
    NonPositiveDuration { value: i64 },
    #[error("{value:?} is used twice")]
    Duplicate { value: String },
    #[error("must be GUARANTEED or OPPORTUNISTIC, found {value:?}")]
    UnknownExecutionType { value: String },
}

/// A trace or nodes file the simulator refuses. Nothing runs when parsing fails.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name} line {line} column {column}: malformed JSON{after}: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        column: usize,
        /// ` after job "job_1"` or empty.
        after: String,
        message: String,
    },
    #[error("{source_name} line {line}: {item}: field {field} {problem}")]
    InvalidField {
        source_name: String,
        line: usize,
        /// `job "job_3"`, `job #4 (no job.id)`, `rack "rack1" node #2`.
        item: String,
        /// The field's name as the file spells it, with the task index when inside a job
        /// (`job.tasks[2].container.end.ms`).
        field: String,
        problem: FieldProblem,
    },
    #[error("{source_name} line {line}: expected a JSON object, found {found}")]
    NotAnObject {
        source_name: String,
        line: usize,
        found: String,
    },
    #[error("{source_name}: {what}")]
    Empty {
        source_name: String,
        what: &'static str,
    },
}

/// A short rendering of a JSON value for error messages.
pub(crate) fn describe_value(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => return "null".to_string(),
        serde_json::Value::Bool(_) => format!("the boolean {value}"),
        serde_json::Value::Number(_) => format!("the number {value}"),
        serde_json::Value::String(_) => format!("the string {value}"),
        serde_json::Value::Array(items) => return format!("a list of {} items", items.len()),
        serde_json::Value::Object(_) => return "an object".to_string(),
    };
    const LIMIT: usize = 60;
    if text.chars().count() > LIMIT {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}...")
    } else {
        text
    }
}
