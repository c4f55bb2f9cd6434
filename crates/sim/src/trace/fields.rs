//! Typed reads of one JSON object's fields, with errors that name the file, line, item and field.

use serde_json::{Map, Value};

use super::error::{describe_value, FieldProblem, TraceError};

/// Where the fields being read sit: `job "job_1"` at line 12, inside `job.tasks[3]`.
#[derive(Debug, Clone)]
pub(crate) struct FieldContext<'a> {
    pub(crate) source_name: &'a str,
    pub(crate) line: usize,
    pub(crate) item: String,
    /// Prepended to field names in errors (`job.tasks[3].`), empty at top level.
    pub(crate) prefix: String,
}

impl<'a> FieldContext<'a> {
    pub(crate) fn new(source_name: &'a str, line: usize, item: String) -> Self {
        Self {
            source_name,
            line,
            item,
            prefix: String::new(),
        }
    }

    /// The same item, for fields of a nested object (`job.tasks[3].`).
    pub(crate) fn nested(&self, prefix: String) -> Self {
        Self {
            prefix,
            ..self.clone()
        }
    }

    pub(crate) fn error(&self, field: &str, problem: FieldProblem) -> TraceError {
        TraceError::InvalidField {
            source_name: self.source_name.to_string(),
            line: self.line,
            item: self.item.clone(),
            field: format!("{}{field}", self.prefix),
            problem,
        }
    }

    /// A whole number, written as a JSON integer or as a string holding one (SLS parses the
    /// text of either). `None` when the field is absent or null.
    pub(crate) fn integer(
        &self,
        fields: &Map<String, Value>,
        name: &str,
    ) -> Result<Option<i64>, TraceError> {
        let Some(value) = present(fields, name) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse::<i64>().ok(),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            self.error(
                name,
                FieldProblem::WrongType {
                    expected: "a whole number",
                    found: describe_value(value),
                },
            )
        })
    }

    /// A whole number no smaller than `minimum`.
    pub(crate) fn integer_at_least(
        &self,
        fields: &Map<String, Value>,
        name: &str,
        minimum: i64,
        expected: &'static str,
    ) -> Result<Option<i64>, TraceError> {
        match self.integer(fields, name)? {
            Some(value) if value < minimum => {
                Err(self.error(name, FieldProblem::OutOfRange { expected, value }))
            }
            other => Ok(other),
        }
    }

    /// A number that fits YARN's 32-bit fields (priorities, counts).
    pub(crate) fn int32(
        &self,
        fields: &Map<String, Value>,
        name: &str,
    ) -> Result<Option<i32>, TraceError> {
        match self.integer(fields, name)? {
            Some(value) => i32::try_from(value).map(Some).map_err(|_| {
                self.error(
                    name,
                    FieldProblem::OutOfRange {
                        expected: "a 32-bit number",
                        value,
                    },
                )
            }),
            None => Ok(None),
        }
    }

    /// Text; a number is taken as its decimal text (SLS calls `toString` on names and queues).
    pub(crate) fn text(
        &self,
        fields: &Map<String, Value>,
        name: &str,
    ) -> Result<Option<String>, TraceError> {
        match present(fields, name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(other) => Err(self.error(
                name,
                FieldProblem::WrongType {
                    expected: "text",
                    found: describe_value(other),
                },
            )),
        }
    }

    /// Text that must not be blank when present.
    pub(crate) fn non_blank_text(
        &self,
        fields: &Map<String, Value>,
        name: &str,
    ) -> Result<Option<String>, TraceError> {
        match self.text(fields, name)? {
            Some(text) if text.trim().is_empty() => Err(self.error(name, FieldProblem::Empty)),
            Some(text) => Ok(Some(text.trim().to_string())),
            None => Ok(None),
        }
    }

    pub(crate) fn list<'m>(
        &self,
        fields: &'m Map<String, Value>,
        name: &str,
    ) -> Result<Option<&'m Vec<Value>>, TraceError> {
        match present(fields, name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.error(
                name,
                FieldProblem::WrongType {
                    expected: "a list",
                    found: describe_value(other),
                },
            )),
        }
    }

    /// An element of a list that must be an object.
    pub(crate) fn object<'m>(
        &self,
        value: &'m Value,
        name: &str,
    ) -> Result<&'m Map<String, Value>, TraceError> {
        match value {
            Value::Object(fields) => Ok(fields),
            other => Err(self.error(
                name,
                FieldProblem::WrongType {
                    expected: "an object",
                    found: describe_value(other),
                },
            )),
        }
    }
}

/// The field's value unless it is absent or null (Jackson maps treat both as unset).
fn present<'m>(fields: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    fields.get(name).filter(|value| !value.is_null())
}

/// Whether a field name after its `container.`, `am.` prefix (or a node's field) names a
/// resource type other than memory and vcores: YARN's extra types are qualified
/// (`yarn.io/gpu`, `example.com/fpga`).
pub(crate) fn is_extra_resource_type(name: &str) -> bool {
    name.contains('/')
}
