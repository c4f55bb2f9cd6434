//! HTML escaping for the daemons' server-rendered pages: every value a page shows (names,
//! diagnostics, log bytes) goes through here, so nothing a user or a container wrote can add
//! markup or script.

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for HTML text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    escape_bytes_into(text.as_bytes(), &mut out);
    // Only ASCII bytes were replaced, by ASCII: the UTF-8 of `text` is intact.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `bytes` to `out` with the same five characters escaped. Works on raw bytes (a log
/// file's, cut anywhere): the escaped characters are ASCII, and no byte of a multi-byte UTF-8
/// sequence is ASCII, so escaping chunk by chunk gives the same result as escaping the whole.
pub fn escape_bytes_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &byte in bytes {
        match byte {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            other => out.push(other),
        }
    }
}

/// `text` percent-encoded for one URL path segment (everything but unreserved characters).
pub fn encode_path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_other_text_kept() {
        assert_eq!(
            escape(r#"<script>alert('x') && "y"</script> é"#),
            "&lt;script&gt;alert(&#39;x&#39;) &amp;&amp; &quot;y&quot;&lt;/script&gt; é"
        );
    }

    #[test]
    fn bytes_escape_the_same_in_any_chunks() {
        let text = "a<b>é&ü\"'".as_bytes();
        let mut whole = Vec::new();
        escape_bytes_into(text, &mut whole);
        for cut in 0..text.len() {
            let mut chunked = Vec::new();
            escape_bytes_into(&text[..cut], &mut chunked);
            escape_bytes_into(&text[cut..], &mut chunked);
            assert_eq!(chunked, whole, "cut at {cut}");
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_path_segment("std out/../x"), "std%20out%2F..%2Fx");
        assert_eq!(encode_path_segment("stdout"), "stdout");
    }
}
