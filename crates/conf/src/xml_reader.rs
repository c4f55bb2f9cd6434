//! Reader for Hadoop configuration XML: a `<configuration>` root holding `<property>` elements.
//!
//! Accepted shape (as Hadoop's `Configuration` parser accepts it): each `<property>` carries
//! `<name>`, `<value>`, `<final>`, and optionally `<description>`, `<source>`, `<tag>`; the short
//! form `<property name=".." value=".." final=".."/>` works too. As in Hadoop, names are trimmed,
//! values are kept as written, an empty `<value/>` sets nothing, and unknown elements or
//! attributes of a `<property>` are skipped. Anything else (another root, another element under
//! `<configuration>` or inside a field, text between elements, an unknown entity, a truncated
//! file) is an error naming the source, line and column.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use crate::error::ConfError;

/// One `<property>` as written in a resource, before merging into a [`crate::Configuration`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedProperty {
    /// The trimmed `<name>`.
    pub name: String,
    /// The `<value>` exactly as written; `None` when absent or empty (Hadoop then sets nothing).
    pub value: Option<String>,
    /// `<final>true</final>`: later resources cannot override this key.
    pub is_final: bool,
    /// 1-based line of the `<property>` start tag.
    pub line: usize,
}

/// Parses the text of one configuration resource. `source_name` (usually the file path) only
/// appears in error messages.
pub fn parse_configuration_xml(
    source_name: &str,
    text: &str,
) -> Result<Vec<ParsedProperty>, ConfError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    ConfigurationXmlReader::new(source_name, text).read_all()
}

/// Which field of a `<property>` a text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropertyField {
    Name,
    Value,
    Final,
    /// `<source>` and `<tag>`: Hadoop bookkeeping, read and dropped.
    Ignored,
}

impl PropertyField {
    fn from_element_name(name: &str) -> Option<PropertyField> {
        match name {
            "name" => Some(PropertyField::Name),
            "value" => Some(PropertyField::Value),
            "final" => Some(PropertyField::Final),
            "source" | "tag" => Some(PropertyField::Ignored),
            _ => None,
        }
    }
}

/// A `<property>` being read.
#[derive(Debug, Default)]
struct PropertyBuilder {
    name: Option<String>,
    value: Option<String>,
    final_text: Option<String>,
    start_offset: u64,
}

impl PropertyBuilder {
    fn display_name(&self) -> Option<String> {
        self.name.as_ref().map(|name| name.trim().to_string())
    }
}

/// Where in the document the reader is.
#[derive(Debug)]
enum Place {
    BeforeRoot,
    InConfiguration,
    InProperty(PropertyBuilder),
    InField {
        property: PropertyBuilder,
        field: PropertyField,
        element: String,
        text: String,
    },
    /// Inside `<description>` or another element of `<property>` that is skipped; `depth` counts
    /// the open elements, whose content is ignored.
    InIgnoredElement {
        property: PropertyBuilder,
        depth: usize,
    },
    AfterRoot,
}

struct ConfigurationXmlReader<'a> {
    source_name: &'a str,
    text: &'a str,
    reader: Reader<&'a [u8]>,
    properties: Vec<ParsedProperty>,
    /// Byte offset where the event being handled starts.
    event_offset: u64,
    /// Byte offsets where each line starts, so positions cost a binary search, not a rescan.
    line_starts: Vec<usize>,
}

impl<'a> ConfigurationXmlReader<'a> {
    fn new(source_name: &'a str, text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.trim_text(false);
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        Self {
            source_name,
            text,
            reader,
            properties: Vec::new(),
            event_offset: 0,
            line_starts: std::iter::once(0)
                .chain(
                    text.bytes()
                        .enumerate()
                        .filter(|(_, b)| *b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect(),
        }
    }

    fn read_all(mut self) -> Result<Vec<ParsedProperty>, ConfError> {
        let mut place = Place::BeforeRoot;
        loop {
            self.event_offset = self.reader.buffer_position();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(error) => {
                    let offset = self.reader.error_position();
                    return Err(self.malformed_at(
                        offset,
                        property_name(&place),
                        format!("malformed XML: {error}"),
                    ));
                }
            };
            place = match event {
                Event::Eof => return self.finish(place),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => place,
                Event::DocType(_) => match place {
                    Place::BeforeRoot => place,
                    _ => {
                        return Err(self
                            .malformed(None, "a DOCTYPE is only allowed before <configuration>"))
                    }
                },
                Event::Start(element) => self.open_element(place, &element, false)?,
                Event::Empty(element) => self.open_element(place, &element, true)?,
                Event::End(element) => {
                    let name = self.element_name(element.name().as_ref(), &place)?;
                    self.close_element(place, &name)?
                }
                Event::Text(text) => {
                    let content = text.xml10_content().map_err(|error| {
                        self.malformed(property_name(&place), format!("undecodable text: {error}"))
                    })?;
                    self.add_text(place, &content)?
                }
                Event::CData(cdata) => {
                    let content = cdata.xml10_content().map_err(|error| {
                        self.malformed(property_name(&place), format!("undecodable CDATA: {error}"))
                    })?;
                    self.add_cdata(place, &content)?
                }
                Event::GeneralRef(reference) => {
                    let character = self.resolve_reference(&reference, &place)?;
                    self.add_cdata(place, &character.to_string())?
                }
            };
        }
    }

    fn open_element(
        &mut self,
        place: Place,
        element: &BytesStart<'_>,
        is_empty: bool,
    ) -> Result<Place, ConfError> {
        let name = self.element_name(element.name().as_ref(), &place)?;
        match place {
            Place::BeforeRoot if name == "configuration" => {
                if is_empty {
                    Ok(Place::AfterRoot)
                } else {
                    Ok(Place::InConfiguration)
                }
            }
            Place::BeforeRoot => {
                Err(self.malformed(None, format!("the root element is <{name}>, expected <configuration>")))
            }
            Place::InConfiguration if name == "property" => {
                let property = self.property_from_attributes(element)?;
                if is_empty {
                    self.finish_property(property)?;
                    Ok(Place::InConfiguration)
                } else {
                    Ok(Place::InProperty(property))
                }
            }
            Place::InConfiguration if name.ends_with("include") => Err(self.malformed(
                None,
                format!("<{name}> is not supported: XInclude is not implemented, list every property in the file"),
            )),
            Place::InConfiguration => Err(self.malformed(
                None,
                format!("unexpected element <{name}> in <configuration>: only <property> elements are allowed"),
            )),
            Place::InProperty(property) if name == "property" || name == "configuration" => Err(self.malformed(
                property.display_name(),
                format!("<{name}> inside <property> (is a </property> missing?)"),
            )),
            Place::InProperty(property) => {
                let Some(field) = PropertyField::from_element_name(&name) else {
                    // <description>, and anything else Hadoop skips (its own core-default.xml has a
                    // <decription> typo): ignored together with its content.
                    if name != "description" {
                        tracing::debug!(
                            "{}: ignoring unknown element <{name}> in property {:?}",
                            self.source_name,
                            property.display_name()
                        );
                    }
                    return Ok(if is_empty {
                        Place::InProperty(property)
                    } else {
                        Place::InIgnoredElement { property, depth: 1 }
                    });
                };
                let already_set = match field {
                    PropertyField::Name => property.name.is_some(),
                    PropertyField::Value => property.value.is_some(),
                    PropertyField::Final => property.final_text.is_some(),
                    PropertyField::Ignored => false,
                };
                if already_set {
                    return Err(self.malformed(property.display_name(), format!("more than one <{name}> in <property>")));
                }
                if is_empty {
                    self.store_field(property, field, String::new())
                } else {
                    Ok(Place::InField { property, field, element: name, text: String::new() })
                }
            }
            Place::InField { property, element, .. } => Err(self.malformed(
                property.display_name(),
                format!("unexpected element <{name}> inside <{element}>: a field holds text only"),
            )),
            Place::InIgnoredElement { property, depth } => Ok(Place::InIgnoredElement {
                property,
                depth: if is_empty { depth } else { depth + 1 },
            }),
            Place::AfterRoot => Err(self.malformed(None, format!("unexpected element <{name}> after </configuration>"))),
        }
    }

    /// Handles an end tag. quick-xml has already checked that it matches the open element.
    fn close_element(&mut self, place: Place, name: &str) -> Result<Place, ConfError> {
        match place {
            Place::InConfiguration => Ok(Place::AfterRoot),
            Place::InProperty(property) => {
                self.finish_property(property)?;
                Ok(Place::InConfiguration)
            }
            Place::InField {
                property,
                field,
                text,
                ..
            } => self.store_field(property, field, text),
            Place::InIgnoredElement { property, depth: 1 } => Ok(Place::InProperty(property)),
            Place::InIgnoredElement { property, depth } => Ok(Place::InIgnoredElement {
                property,
                depth: depth - 1,
            }),
            Place::BeforeRoot | Place::AfterRoot => Err(self.malformed(
                None,
                format!("unexpected end tag </{name}> outside <configuration>"),
            )),
        }
    }

    fn add_text(&self, place: Place, content: &str) -> Result<Place, ConfError> {
        match place {
            Place::InField {
                property,
                field,
                element,
                mut text,
            } => {
                text.push_str(content);
                Ok(Place::InField {
                    property,
                    field,
                    element,
                    text,
                })
            }
            Place::InIgnoredElement { .. } => Ok(place),
            _ if content.trim().is_empty() => Ok(place),
            _ => {
                let shown: String = content.trim().chars().take(40).collect();
                let message = match &place {
                    Place::BeforeRoot | Place::AfterRoot => format!("unexpected text '{shown}' outside <configuration>"),
                    Place::InConfiguration => format!("unexpected text '{shown}' in <configuration>"),
                    _ => format!("unexpected text '{shown}' in <property>: text belongs inside <name> or <value>"),
                };
                Err(self.malformed(property_name(&place), message))
            }
        }
    }

    /// CDATA and entity references: part of a field's text, ignored in a description, an error elsewhere.
    fn add_cdata(&self, place: Place, content: &str) -> Result<Place, ConfError> {
        match place {
            Place::InField {
                property,
                field,
                element,
                mut text,
            } => {
                text.push_str(content);
                Ok(Place::InField {
                    property,
                    field,
                    element,
                    text,
                })
            }
            Place::InIgnoredElement { .. } => Ok(place),
            _ => Err(self.malformed(
                property_name(&place),
                format!("unexpected text '{content}': text belongs inside <name> or <value>"),
            )),
        }
    }

    fn store_field(
        &self,
        mut property: PropertyBuilder,
        field: PropertyField,
        text: String,
    ) -> Result<Place, ConfError> {
        match field {
            PropertyField::Name => property.name = Some(text),
            PropertyField::Value => property.value = Some(text),
            PropertyField::Final => property.final_text = Some(text),
            PropertyField::Ignored => {}
        }
        Ok(Place::InProperty(property))
    }

    fn property_from_attributes(
        &self,
        element: &BytesStart<'_>,
    ) -> Result<PropertyBuilder, ConfError> {
        let mut property = PropertyBuilder {
            start_offset: self.event_offset,
            ..PropertyBuilder::default()
        };
        for attribute in element.attributes() {
            let attribute = attribute
                .map_err(|error| self.malformed(None, format!("malformed attribute: {error}")))?;
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value = attribute
                .unescape_value()
                .map_err(|error| {
                    self.malformed(None, format!("malformed value of attribute {key}: {error}"))
                })?
                .into_owned();
            match key.as_str() {
                "name" => property.name = Some(value),
                "value" => property.value = Some(value),
                "final" => property.final_text = Some(value),
                // Hadoop ignores other attributes (`source`, `tag`, ...), and so does Spindle.
                _ => {}
            }
        }
        Ok(property)
    }

    fn finish_property(&mut self, property: PropertyBuilder) -> Result<(), ConfError> {
        let (line, column) = self.position(property.start_offset);
        let name = property.name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() {
            let message = match &property.value {
                Some(value) => format!("a <property> has no <name> (its value is '{value}')"),
                None => "a <property> has no <name>".to_string(),
            };
            return Err(self.malformed_at_position(line, column, None, message));
        }
        let is_final = match property.final_text.as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(self.malformed_at_position(
                    line,
                    column,
                    Some(name.to_string()),
                    format!("invalid <final> value '{other}': expected true or false"),
                ))
            }
        };
        let value = property.value.filter(|value| !value.is_empty());
        self.properties.push(ParsedProperty {
            name: name.to_string(),
            value,
            is_final,
            line,
        });
        Ok(())
    }

    fn finish(self, place: Place) -> Result<Vec<ParsedProperty>, ConfError> {
        let open = match &place {
            Place::AfterRoot => return Ok(self.properties),
            Place::BeforeRoot => {
                return Err(self.malformed(
                    None,
                    "no <configuration> element: the file is empty or not XML",
                ))
            }
            Place::InConfiguration => "configuration".to_string(),
            Place::InProperty(_) | Place::InIgnoredElement { .. } => "property".to_string(),
            Place::InField { element, .. } => element.clone(),
        };
        Err(self.malformed(
            property_name(&place),
            format!("unexpected end of file: <{open}> is not closed (truncated file?)"),
        ))
    }

    fn resolve_reference(
        &self,
        reference: &BytesRef<'_>,
        place: &Place,
    ) -> Result<char, ConfError> {
        let character = match reference.resolve_char_ref() {
            Ok(Some(character)) => character,
            Ok(None) => {
                let name = reference
                    .decode()
                    .map(|name| name.into_owned())
                    .unwrap_or_default();
                match name.as_str() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        return Err(self.malformed(
                            property_name(place),
                            format!("unknown entity &{name}; (only &amp; &lt; &gt; &quot; &apos; and &#N; are defined)"),
                        ))
                    }
                }
            }
            Err(error) => return Err(self.malformed(property_name(place), error.to_string())),
        };
        if is_legal_xml_char(character) {
            Ok(character)
        } else {
            Err(self.malformed(
                property_name(place),
                format!(
                    "character reference to U+{:04X} is not allowed in XML 1.0",
                    character as u32
                ),
            ))
        }
    }

    fn element_name(&self, raw: &[u8], place: &Place) -> Result<String, ConfError> {
        std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| self.malformed(property_name(place), "element name is not valid UTF-8"))
    }

    fn malformed(&self, property: Option<String>, message: impl Into<String>) -> ConfError {
        self.malformed_at(self.event_offset, property, message.into())
    }

    fn malformed_at(&self, offset: u64, property: Option<String>, message: String) -> ConfError {
        let (line, column) = line_and_column(self.text, offset);
        self.malformed_at_position(line, column, property, message)
    }

    fn malformed_at_position(
        &self,
        line: usize,
        column: usize,
        property: Option<String>,
        message: String,
    ) -> ConfError {
        ConfError::Malformed {
            source_name: self.source_name.to_string(),
            line,
            column,
            property,
            message,
        }
    }
}

/// The name of the property being read at `place`, for error messages.
fn property_name(place: &Place) -> Option<String> {
    match place {
        Place::InProperty(property)
        | Place::InField { property, .. }
        | Place::InIgnoredElement { property, .. } => {
            property.display_name().filter(|name| !name.is_empty())
        }
        _ => None,
    }
}

/// Characters XML 1.0 allows in a document (production `Char`).
fn is_legal_xml_char(character: char) -> bool {
    matches!(character, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

impl ConfigurationXmlReader<'_> {
    /// 1-based line and column (in characters) of a byte offset, from the line index.
    fn position(&self, offset: u64) -> (usize, usize) {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = String::from_utf8_lossy(&self.text.as_bytes()[line_start..offset])
            .chars()
            .count()
            + 1;
        (line, column)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_and_column(text: &str, offset: u64) -> (usize, usize) {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |position| position + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}
