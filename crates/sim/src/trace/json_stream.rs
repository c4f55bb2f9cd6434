//! Reading SLS's JSON files: a stream of JSON objects one after another (what Jackson's
//! `readValues` accepts), or a JSON list of them, each remembered with the line it starts on.

use serde_json::{Map, Value};

use super::error::{describe_value, TraceError};

/// One top-level object of a file and the line it starts on (1-based).
#[derive(Debug)]
pub(crate) struct JsonObject {
    pub(crate) fields: Map<String, Value>,
    pub(crate) line: usize,
}

/// Every top-level object of `text`, in order. `label` names an object for a syntax error that
/// follows it ("after job \"job_1\"").
pub(crate) fn read_objects(
    source_name: &str,
    text: &str,
    label: impl Fn(&Map<String, Value>, usize) -> String,
) -> Result<Vec<JsonObject>, TraceError> {
    let mut objects = Vec::new();
    let mut lines = LineCounter::new(text);
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = skip_whitespace(text, stream.byte_offset());
        let line = lines.line_at(start);
        match stream.next() {
            None => break,
            Some(Ok(Value::Object(fields))) => objects.push(JsonObject { fields, line }),
            Some(Ok(Value::Array(items))) => {
                for item in items {
                    match item {
                        Value::Object(fields) => objects.push(JsonObject { fields, line }),
                        other => {
                            return Err(TraceError::NotAnObject {
                                source_name: source_name.to_string(),
                                line,
                                found: describe_value(&other),
                            })
                        }
                    }
                }
            }
            Some(Ok(other)) => {
                return Err(TraceError::NotAnObject {
                    source_name: source_name.to_string(),
                    line,
                    found: describe_value(&other),
                })
            }
            Some(Err(error)) => {
                let after = objects
                    .last()
                    .map(|last| format!(" after {}", label(&last.fields, objects.len() - 1)))
                    .unwrap_or_default();
                return Err(TraceError::Syntax {
                    source_name: source_name.to_string(),
                    line: error.line(),
                    column: error.column(),
                    after,
                    message: syntax_message(&error),
                });
            }
        }
    }
    Ok(objects)
}

/// serde_json's message without its trailing " at line L column C" (the error says where).
fn syntax_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn skip_whitespace(text: &str, offset: usize) -> usize {
    let rest = &text.as_bytes()[offset.min(text.len())..];
    offset + rest.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// Line numbers of byte offsets visited in increasing order, without rescanning the text.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset > self.offset {
            self.line += self.text[self.offset..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.offset = offset;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(_: &Map<String, Value>, index: usize) -> String {
        format!("object #{}", index + 1)
    }

    #[test]
    fn a_stream_of_objects_and_a_list_read_alike() {
        let stream = "{\"a\": 1}\n\n{\"a\": 2}\n";
        let objects = read_objects("s.json", stream, label).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].line, 1);
        assert_eq!(objects[1].line, 3);

        let list = "[{\"a\": 1}, {\"a\": 2}]";
        assert_eq!(read_objects("l.json", list, label).unwrap().len(), 2);
        assert!(read_objects("e.json", "  \n", label).unwrap().is_empty());
    }

    #[test]
    fn a_syntax_error_names_the_line_and_the_object_before_it() {
        let text = "{\"a\": 1}\n{\"a\": 2,\n \"b\" 3}\n";
        let error = read_objects("t.json", text, label).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("t.json line 3 column"), "{message}");
        assert!(message.contains("after object #1"), "{message}");
    }

    #[test]
    fn a_top_level_value_that_is_not_an_object_is_refused() {
        let error = read_objects("n.json", "{\"a\": 1}\n42\n", label).unwrap_err();
        assert_eq!(
            error.to_string(),
            "n.json line 2: expected a JSON object, found the number 42"
        );
        let error = read_objects("m.json", "[{\"a\": 1}, \"x\"]", label).unwrap_err();
        assert!(error.to_string().contains("found the string \"x\""));
    }
}
