//! The request-target Docker forwards, taken apart the way Docker's router
//! sees it: the percent-decoded path, cleaned, without the `/vX.Y` prefix.
//!
//! Policies match on this path, never on the raw URI, so that
//! `/v1.41/containers%2Fcreate`, `//containers/create/` and
//! `/v1.41/x/../containers/create` are all `containers/create`, exactly as
//! the daemon routes them.

use std::collections::BTreeMap;
use std::fmt;

/// A request-target split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUri {
    /// Percent-decoded, cleaned path without version prefix; always starts with `/`.
    pub path: String,
    /// The `X.Y` of a `/vX.Y` prefix, if present.
    pub api_version: Option<String>,
    /// Query parameters, first value per key (what Docker's handlers read).
    pub query: BTreeMap<String, String>,
}

/// Why a request-target could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriError {
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
    /// The decoded path or query is not UTF-8.
    NotUtf8,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::BadPercentEncoding => f.write_str("malformed percent-encoding in RequestUri"),
            UriError::NotUtf8 => f.write_str("RequestUri does not decode to UTF-8"),
        }
    }
}

impl std::error::Error for UriError {}

/// Splits and normalises a raw request-target such as `/v1.41/containers/create?name=bg`.
pub fn parse(raw: &str) -> Result<ParsedUri, UriError> {
    // An absolute-form target (`http://host/path`) is reduced to its path.
    let target = match raw.find("://") {
        Some(scheme_end) if !raw[..scheme_end].contains('/') => {
            let rest = &raw[scheme_end + 3..];
            rest.find(['/', '?']).map_or("/", |i| &rest[i..])
        }
        _ => raw,
    };
    let target = target.split('#').next().unwrap_or_default();
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));

    let decoded = percent_decode(raw_path.as_bytes(), false)?;
    let cleaned = clean_path(&decoded);
    let (api_version, path) = strip_version(&cleaned);

    Ok(ParsedUri {
        path,
        api_version,
        query: parse_query(raw_query)?,
    })
}

/// Removes one leading `/vX.Y` (digits and dots, as Docker's router accepts).
fn strip_version(path: &str) -> (Option<String>, String) {
    let rest = &path[1..];
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    match first.strip_prefix('v') {
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            (Some(v.to_owned()), format!("/{tail}"))
        }
        _ => (None, path.to_owned()),
    }
}

/// Lexically cleans a path: collapses `//`, resolves `.` and `..` (never
/// above the root) and drops a trailing slash.
fn clean_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Parses `a=1&b=x+y` the way Go's `url.ParseQuery` does; the first value of a key wins.
fn parse_query(raw: &str) -> Result<BTreeMap<String, String>, UriError> {
    let mut query = BTreeMap::new();
    for pair in raw.split(['&', ';']).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key.as_bytes(), true)?;
        let value = percent_decode(value.as_bytes(), true)?;
        query.entry(key).or_insert(value);
    }
    Ok(query)
}

/// Decodes `%XX` escapes (and `+` as space in a query component).
fn percent_decode(input: &[u8], plus_is_space: bool) -> Result<String, UriError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hex = input
                    .get(i + 1..i + 3)
                    .ok_or(UriError::BadPercentEncoding)?;
                let digit = |b: u8| (b as char).to_digit(16).ok_or(UriError::BadPercentEncoding);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| UriError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(raw: &str) -> String {
        parse(raw).unwrap().path
    }

    #[test]
    fn strips_version_and_query() {
        let parsed = parse("/v1.41/containers/create?name=bg").unwrap();
        assert_eq!(parsed.path, "/containers/create");
        assert_eq!(parsed.api_version.as_deref(), Some("1.41"));
        assert_eq!(parsed.query.get("name").map(String::as_str), Some("bg"));
    }

    #[test]
    fn path_without_version_prefix_is_kept() {
        let parsed = parse("/_ping").unwrap();
        assert_eq!(parsed.path, "/_ping");
        assert_eq!(parsed.api_version, None);
    }

    #[test]
    fn percent_encoded_variants_decode_to_the_routed_path() {
        assert_eq!(path_of("/v1.41/containers%2Fcreate"), "/containers/create");
        assert_eq!(path_of("/v1.41/%63ontainers/create"), "/containers/create");
        assert_eq!(path_of("/%761.41/containers/create"), "/containers/create");
    }

    #[test]
    fn unclean_variants_collapse_to_the_canonical_path() {
        assert_eq!(
            path_of("//v1.41//containers///create/"),
            "/containers/create"
        );
        assert_eq!(
            path_of("/v1.41/./containers/x/../create"),
            "/containers/create"
        );
        assert_eq!(path_of("/../../containers/create"), "/containers/create");
        assert_eq!(path_of("/v1.41/"), "/");
    }

    #[test]
    fn a_name_that_looks_like_a_version_is_only_stripped_once() {
        assert_eq!(path_of("/v1.41/v2/containers"), "/v2/containers");
        assert_eq!(path_of("/vx/containers"), "/vx/containers");
    }

    #[test]
    fn query_keeps_the_first_value_and_decodes_plus() {
        let parsed = parse("/images/create?fromImage=a+b&fromImage=evil&tag=%6Catest").unwrap();
        assert_eq!(parsed.query["fromImage"], "a b");
        assert_eq!(parsed.query["tag"], "latest");
    }

    #[test]
    fn absolute_form_is_reduced_to_its_path() {
        assert_eq!(path_of("http://docker/v1.41/info?x=1"), "/info");
    }

    #[test]
    fn malformed_escapes_are_errors_not_guesses() {
        assert_eq!(parse("/containers/%zz"), Err(UriError::BadPercentEncoding));
        assert_eq!(parse("/containers/%4"), Err(UriError::BadPercentEncoding));
        assert_eq!(parse("/containers/%ff"), Err(UriError::NotUtf8));
    }
}
