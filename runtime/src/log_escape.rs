//! Text an outsider controls (request-targets, decoded paths, user names,
//! guest messages that quote them, request bodies), made safe for a log
//! line: nothing in it may end the line, start a forged one, or drive the
//! terminal that shows it. Every log writer goes through here.
//!
//! What counts as unsafe is what Rust's `Debug` escapes: control
//! characters (C0, DEL, C1: newlines, ANSI escapes), and invisible or
//! reordering format characters (bidi overrides, zero-width spaces).

use std::borrow::Cow;
use std::io;

/// Whether `c` must not appear as itself in a log line.
fn unsafe_char(c: char) -> bool {
    !matches!(c, '"' | '\'' | '\\') && c.escape_debug().len() > 1
}

/// A logfmt value: bare when it is printable ASCII without spaces, quotes
/// or backslashes (what a reader splits on), quoted with Rust's escapes
/// otherwise (and when empty).
pub(crate) fn value(text: &str) -> Cow<'_, str> {
    let bare = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if bare {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(quoted(text))
    }
}

/// Always quoted, with Rust's escapes: for free text (messages, reasons).
pub(crate) fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// For diagnostics: unsafe characters escaped (`\n`, `\u{1b}`), the rest
/// as written, so a guest's log line stays readable and stays one line.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `value` as one line of JSON: serde_json escapes C0 controls; this also
/// escapes DEL, C1 and format characters inside strings (as `\uXXXX`),
/// and writes raw values (request bodies, kept verbatim elsewhere) without
/// the whitespace, newlines included, that may sit between their tokens.
pub(crate) fn json_line<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut bytes = Vec::with_capacity(512);
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, SafeJson);
    value.serialize(&mut serializer)?;
    // The serializer writes only valid UTF-8.
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

/// serde_json's compact output, with the escapes of [`json_line`].
struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_escaped(writer, fragment)
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // `fragment` is valid JSON (a `RawValue`): outside strings only
        // whitespace can be dropped; inside, escapes are kept as written.
        let mut in_string = false;
        let mut escaped = false;
        let mut run = String::new();
        for c in fragment.chars() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
                run.push(c);
            } else if c == '"' {
                in_string = true;
                run.push(c);
            } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
                run.push(c);
            }
        }
        write_escaped(writer, &run)
    }
}

/// Writes `text` with every unsafe character as a JSON `\uXXXX` escape
/// (characters outside the BMP as a surrogate pair). Only ever called on
/// text serde_json has already escaped for JSON, or on raw JSON, so `"`,
/// `\` and C0 controls do not reach it unescaped inside strings.
fn write_escaped<W: ?Sized + io::Write>(writer: &mut W, text: &str) -> io::Result<()> {
    let mut start = 0;
    for (at, c) in text.char_indices() {
        // Below DEL, serde_json has escaped what needs it.
        if u32::from(c) >= 0x7f && unsafe_char(c) {
            writer.write_all(&text.as_bytes()[start..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = at + c.len_utf8();
        }
    }
    writer.write_all(&text.as_bytes()[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_bare_and_the_rest_is_quoted() {
        assert_eq!(value("/containers/json"), "/containers/json");
        assert_eq!(value("POST"), "POST");
        assert_eq!(value(""), "\"\"");
        assert_eq!(value("a b"), "\"a b\"");
        assert_eq!(value("/x\n2026 INFO"), "\"/x\\n2026 INFO\"");
        assert_eq!(value("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(value("é"), "\"é\"");
    }

    #[test]
    fn printable_escapes_what_moves_lines_or_terminals_only() {
        assert_eq!(printable("plain \"text\" \\ ok"), "plain \"text\" \\ ok");
        assert_eq!(printable("a\nb\rc"), "a\\nb\\rc");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("x\u{202e}y\u{9b}z"), "x\\u{202e}y\\u{9b}z");
        assert_eq!(printable("café"), "café");
    }

    /// Reads back what `{:?}` wrote for a `str` (the escapes it uses).
    fn unquote(quoted: &str) -> String {
        let inner = &quoted[1..quoted.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('0') => out.push('\0'),
                Some('u') => {
                    let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some(other) => out.push(other),
                None => panic!("dangling escape in {quoted}"),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_text_becomes_one_safe_field_that_reads_back(text in proptest::prelude::any::<String>()) {
            let field = value(&text);
            proptest::prop_assert!(!field.chars().any(unsafe_char));
            proptest::prop_assert!(!field.contains(' ') || field.starts_with('"'));
            let back = if field.starts_with('"') { unquote(&field) } else { field.to_string() };
            proptest::prop_assert_eq!(back, text.clone());
            let shown = printable(&text);
            proptest::prop_assert!(!shown.chars().any(unsafe_char));
            let line = json_line(&serde_json::json!({ "v": text })).unwrap();
            proptest::prop_assert!(!line.chars().any(unsafe_char));
            let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
            proptest::prop_assert_eq!(parsed["v"].as_str(), Some(text.as_str()));
        }
    }

    #[test]
    fn json_lines_escape_beyond_serde_and_flatten_raw_values() {
        let raw: Box<serde_json::value::RawValue> =
            serde_json::from_str("{\"a\" :\n [1,\t\"x\\ny \u{202e}\"]\r\n}").unwrap();
        let line = json_line(&serde_json::json!({
            "uri": "/p\u{1b}[2J\u{7f}\u{9b}\u{202e}\u{1F600}",
            "body": raw,
        }))
        .unwrap();
        assert!(!line.contains('\n') && !line.contains('\r'));
        assert!(!line.chars().any(unsafe_char), "{line}");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["uri"], "/p\u{1b}[2J\u{7f}\u{9b}\u{202e}\u{1F600}");
        assert_eq!(back["body"], serde_json::json!({"a": [1, "x\ny \u{202e}"]}));
    }
}
