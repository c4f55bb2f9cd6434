//! Writer of Hadoop site files (`core-site.xml`, `yarn-site.xml`), e.g. for a client configuration
//! directory that the Java clients and spark-submit read.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::error::ConfError;

/// The text of a Hadoop site file holding `properties` in the given order, values escaped.
///
/// Refused (with [`ConfError::Unwritable`]): an empty or whitespace-padded key (Hadoop trims
/// names), an empty value (Hadoop ignores `<value></value>`, so it would read back as unset),
/// and characters XML 1.0 cannot carry (control characters other than tab, newline, carriage return).
pub fn site_xml_string<K: AsRef<str>, V: AsRef<str>>(
    properties: &[(K, V)],
) -> Result<String, ConfError> {
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    text.push_str("<!-- Written by Spindle. -->\n<configuration>\n");
    for (key, value) in properties {
        let (key, value) = (key.as_ref(), value.as_ref());
        if key.is_empty() || key.trim() != key {
            return Err(unwritable(
                key,
                "the name is empty or has surrounding whitespace",
            ));
        }
        if value.is_empty() {
            return Err(unwritable(
                key,
                "an empty value reads back as unset in Hadoop",
            ));
        }
        let escaped_key = escape_text(key)
            .ok_or_else(|| unwritable(key, "the name holds a control character"))?;
        let escaped_value = escape_text(value)
            .ok_or_else(|| unwritable(key, "the value holds a control character"))?;
        let _ = writeln!(
            text,
            "  <property>\n    <name>{escaped_key}</name>\n    <value>{escaped_value}</value>\n  </property>"
        );
    }
    text.push_str("</configuration>\n");
    Ok(text)
}

/// Writes a Hadoop site file atomically (a temporary file in the same directory, then a rename).
pub fn write_site_xml<K: AsRef<str>, V: AsRef<str>>(
    path: &Path,
    properties: &[(K, V)],
) -> Result<(), ConfError> {
    let text = site_xml_string(properties)?;
    let write_error = |source| ConfError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary_path = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&temporary_path)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary_path, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary_path);
    }
    result.map_err(write_error)
}

/// Escapes text for element content so that an XML parser gives back exactly `text`
/// (`\r` is written as a character reference, since parsers normalize line ends).
/// `None` if `text` holds a character XML 1.0 cannot represent.
fn escape_text(text: &str) -> Option<String> {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\r' => escaped.push_str("&#13;"),
            '\t' | '\n' => escaped.push(character),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => return None,
            _ => escaped.push(character),
        }
    }
    Some(escaped)
}

fn unwritable(key: &str, reason: &str) -> ConfError {
    ConfError::Unwritable {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}
