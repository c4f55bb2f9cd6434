//! A small element tree read from XML text with quick-xml, each element knowing its line, for
//! the allocation file reader. Malformed XML is an error naming the line.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use crate::config_error::{ConfigProblem, SchedulerConfigError};

/// An XML element: its name, attributes, trimmed text and child elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attributes: Vec<(String, String)>,
    /// The text, trimmed.
    pub(crate) text: String,
    /// The text as written (ACLs give leading blanks a meaning).
    pub(crate) raw_text: String,
    pub(crate) children: Vec<Element>,
    /// 1-based line of the start tag.
    pub(crate) line: usize,
}

impl Element {
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

fn line_of(text: &str, offset: u64) -> usize {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// Reads the document's root element.
pub(crate) fn read_document(
    source_name: &str,
    text: &str,
) -> Result<Element, SchedulerConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let malformed = |offset: u64, message: String| {
        SchedulerConfigError::new(source_name, ConfigProblem::MalformedXml(message))
            .at_line(Some(line_of(text, offset)))
    };
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let offset = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|error| malformed(reader.error_position(), error.to_string()))?;
        match event {
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Start(start) => {
                let element = open(&start, line_of(text, offset))
                    .map_err(|message| malformed(offset, message))?;
                if root.is_some() {
                    return Err(malformed(offset, "a second root element".into()));
                }
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = open(&start, line_of(text, offset))
                    .map_err(|message| malformed(offset, message))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err(malformed(offset, "a second root element".into())),
                }
            }
            Event::End(_) => {
                let mut element = stack.pop().expect("quick-xml checks end tags");
                element.raw_text = element.text.clone();
                element.text = element.text.trim().to_string();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(content) => {
                let content = content
                    .xml10_content()
                    .map_err(|error| malformed(offset, format!("undecodable text: {error}")))?;
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(malformed(offset, "text outside the root element".into())),
                }
            }
            Event::CData(cdata) => {
                let content = cdata
                    .xml10_content()
                    .map_err(|error| malformed(offset, format!("undecodable CDATA: {error}")))?;
                if let Some(element) = stack.last_mut() {
                    element.text.push_str(&content);
                }
            }
            Event::GeneralRef(reference) => {
                let character =
                    resolve_reference(&reference).map_err(|message| malformed(offset, message))?;
                if let Some(element) = stack.last_mut() {
                    element.text.push(character);
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(
            text.len() as u64,
            format!("<{}> is never closed", open.name),
        ));
    }
    root.ok_or_else(|| malformed(0, "the file holds no element".into()))
}

fn open(start: &BytesStart<'_>, line: usize) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| format!("bad attribute in <{name}>: {error}"))?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute
            .unescape_value()
            .map_err(|error| format!("bad value of attribute {key} in <{name}>: {error}"))?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        text: String::new(),
        raw_text: String::new(),
        children: Vec::new(),
        line,
    })
}

fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, String> {
    match reference.resolve_char_ref() {
        Ok(Some(character)) => Ok(character),
        Ok(None) => {
            let name = reference
                .decode()
                .map(|name| name.into_owned())
                .unwrap_or_default();
            match name.as_str() {
                "amp" => Ok('&'),
                "lt" => Ok('<'),
                "gt" => Ok('>'),
                "quot" => Ok('"'),
                "apos" => Ok('\''),
                _ => Err(format!("unknown entity &{name};")),
            }
        }
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_know_their_lines_text_and_attributes() {
        let root = read_document(
            "f.xml",
            "<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1 &amp; 2\">  hi &lt;3 </b>\n  <c/>\n</a>\n",
        )
        .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.line, 2);
        assert_eq!(root.children[0].text, "hi <3");
        assert_eq!(root.children[0].attribute("x"), Some("1 & 2"));
        assert_eq!(
            (root.children[1].name.as_str(), root.children[1].line),
            ("c", 4)
        );
    }

    #[test]
    fn malformed_documents_name_the_line() {
        for (text, line, needle) in [
            ("<a>\n<b>\n</a>", 3, ""),
            ("<a>\n<b>", 2, "never closed"),
            ("", 1, "no element"),
            ("<a/>\n<b/>", 2, "second root"),
            ("<a>&nbsp;</a>", 1, "unknown entity"),
        ] {
            let error = read_document("f.xml", text).unwrap_err();
            assert_eq!(error.line(), Some(line), "{text:?}: {error}");
            assert!(error.to_string().contains(needle), "{error}");
            assert!(error.to_string().starts_with("f.xml:"), "{error}");
        }
    }
}
