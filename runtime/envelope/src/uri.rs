//! The request-target Docker forwards (`RequestUri`, Go's `r.RequestURI`),
//! taken apart into what dockerd acts on: the path its router matches, the
//! `/vX.Y` version and the query its handlers read.
//!
//! Policies match on this path, never on the raw URI. It is a port of the Go
//! that runs before any dockerd handler (Go 1.19 for Debian 12's 20.10,
//! Go ≥ 1.22 for Debian 13's 26.1; this code is the same in both unless said):
//! - `net/http` `readRequest`/`parseRequestLine`: the target holds no space;
//!   `net/url` `ParseRequestURI` (`parse` with `viaRequest`, `getScheme`,
//!   `parseAuthority`, `setPath`, `unescape`). Any scheme is accepted and
//!   `scheme://authority` dropped, so `http:/v1.41/containers/create` is
//!   `/v1.41/containers/create`; without a scheme a leading `//` stays in the
//!   path; `#` is no delimiter (it stays in the path or the query).
//! - gorilla/mux `Router.ServeHTTP`: a path not equal to its `cleanPath` is
//!   answered `301` to the cleaned path and is never routed, authorized or
//!   run. We return that cleaned path anyway (with [`ParsedUri::cleaned`]):
//!   policies judge what the redirect target would do, which is conservative.
//!   mux keeps a trailing slash (and routes it: only routes ending in a
//!   `{name:.*}` variable can match, with the slash in the variable); we drop
//!   it so that `/images/x/` is judged as `/images/x`.
//! - moby `createMux`: `/v{version:[0-9.]+}` before each route's own path.
//! - `url.ParseQuery` as `r.Form.Get` reads it: pairs on `&`, first value
//!   wins. A pair holding `;` is skipped since Go 1.17 (older Go split on it).
//!   Go 1.19 and 1.24.4 read any number of pairs; Go with the later
//!   `urlmaxqueryparams` guard (default 10 000, subject to GODEBUG) reads
//!   none past it: such a query is refused, so no daemon disagrees.
//!
//! What Go refuses, or mux never routes, is an error here, which the host
//! answers with Docker's `Err`: refusing those calls costs nothing.

use std::collections::BTreeMap;
use std::fmt;

/// A request-target split into the parts dockerd acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUri {
    /// Go's percent-decoded `URL.Path`, cleaned as mux cleans it, without a
    /// trailing slash and without the `/vX.Y` prefix; always starts with `/`.
    pub path: String,
    /// The `X.Y` of a `/vX.Y/` prefix, exactly as mux's `[0-9.]+` matched it
    /// (so possibly `.` or `01.41.`: compare versions numerically).
    pub api_version: Option<String>,
    /// Query parameters, first value per key (what Docker's handlers read).
    pub query: BTreeMap<String, String>,
    /// mux would answer `301` instead of routing: Go's `URL.Path` holds `//`,
    /// `.` or `..` segments (or is empty). Such a call never reaches a
    /// handler; `path` is where the redirect points. A trailing slash alone
    /// does not set this (mux routes it as is).
    pub cleaned: bool,
}

/// Why a request-target is not one dockerd would route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriError {
    /// Empty: Go's "empty url".
    Empty,
    /// A control byte or DEL: Go's `stringContainsCTLByte`.
    ControlCharacter,
    /// A space: Go's request line splits on it, so no daemon saw this target.
    Space,
    /// Starts with `:`: Go's "missing protocol scheme".
    MissingScheme,
    /// `*`: only `OPTIONS *`, which Go's server answers itself.
    Asterisk,
    /// `scheme:rest` with `rest` not starting with `/` (Go's opaque URL,
    /// which mux redirects and never routes).
    Opaque,
    /// Neither a scheme nor a leading `/`: Go's "invalid URI for request".
    NotAbsolute,
    /// The `//authority` after a scheme is one Go's `parseAuthority` refuses.
    BadAuthority,
    /// A `%` in the path not followed by two hex digits.
    BadPercentEncoding,
    /// The path or a query parameter does not decode to UTF-8 (dockerd would
    /// act on bytes a `String` cannot carry).
    NotUtf8,
    /// More query pairs than Go's `urlmaxqueryparams` default (10 000).
    TooManyQueryParams,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UriError::Empty => "RequestUri is empty",
            UriError::ControlCharacter => "RequestUri contains a control character",
            UriError::Space => "RequestUri contains a space",
            UriError::MissingScheme => "RequestUri starts with ':' (missing scheme)",
            UriError::Asterisk => "RequestUri is '*', which names no API route",
            UriError::Opaque => "RequestUri has a scheme but no absolute path",
            UriError::NotAbsolute => "RequestUri is neither an absolute path nor an absolute URI",
            UriError::BadAuthority => "RequestUri has a malformed host or userinfo",
            UriError::BadPercentEncoding => "malformed percent-encoding in RequestUri",
            UriError::NotUtf8 => "RequestUri does not decode to UTF-8",
            UriError::TooManyQueryParams => "RequestUri has more than 10000 query parameters",
        })
    }
}

impl std::error::Error for UriError {}

/// Go's default `urlmaxqueryparams`: past it, newer Go reads no parameter.
const GO_MAX_QUERY_PARAMS: usize = 10_000;

/// Splits a raw request-target such as `/v1.41/containers/create?name=bg`.
pub fn parse(raw: &str) -> Result<ParsedUri, UriError> {
    let (go_path, raw_query) = parse_request_uri(raw)?;
    let go_path = String::from_utf8(go_path).map_err(|_| UriError::NotUtf8)?;
    let routed = mux_clean_path(&go_path);
    let (api_version, unversioned) = split_version(&routed);
    let path = match unversioned.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => unversioned,
    };
    Ok(ParsedUri {
        path: path.to_owned(),
        api_version: api_version.map(str::to_owned),
        query: parse_query(raw_query)?,
        cleaned: routed != go_path,
    })
}

/// Go's `url.ParseRequestURI`, reduced to the decoded `URL.Path` (bytes: a
/// Go string need not be UTF-8) and the raw `URL.RawQuery`.
fn parse_request_uri(raw: &str) -> Result<(Vec<u8>, &str), UriError> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err(UriError::ControlCharacter);
    }
    if raw.contains(' ') {
        return Err(UriError::Space);
    }
    // Docker JSON-encodes RequestUri, which turns raw invalid UTF-8 into
    // U+FFFD: the daemon then acted on bytes other than the ones we see.
    if raw.contains('\u{FFFD}') {
        return Err(UriError::NotUtf8);
    }
    if raw.is_empty() {
        return Err(UriError::Empty);
    }
    if raw == "*" {
        return Err(UriError::Asterisk);
    }
    // Go lower-cases the scheme; its value matters to nothing downstream.
    let (has_scheme, rest) = match get_scheme(raw)? {
        Some((_scheme, rest)) => (true, rest),
        None => (false, raw),
    };
    let (rest, raw_query) = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        (&rest[..rest.len() - 1], "") // Go's ForceQuery
    } else {
        rest.split_once('?').unwrap_or((rest, ""))
    };
    if !rest.starts_with('/') {
        return Err(if has_scheme {
            UriError::Opaque
        } else {
            UriError::NotAbsolute
        });
    }
    let escaped_path = match rest.strip_prefix("//") {
        Some(authority_and_path) if has_scheme => {
            let split = authority_and_path
                .find('/')
                .unwrap_or(authority_and_path.len());
            let (authority, path) = authority_and_path.split_at(split);
            check_authority(authority).ok_or(UriError::BadAuthority)?;
            path
        }
        _ => rest,
    };
    let path = unescape(escaped_path.as_bytes(), Mode::Path).ok_or(UriError::BadPercentEncoding)?;
    Ok((path, raw_query))
}

/// Go's `getScheme`: `[a-zA-Z][a-zA-Z0-9+.-]*` up to the first `:`.
fn get_scheme(raw: &str) -> Result<Option<(&str, &str)>, UriError> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(UriError::MissingScheme),
            b':' => return Ok(Some((&raw[..i], &raw[i + 1..]))),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Go 1.19's `parseAuthority` as a check: `userinfo@host[:port]`. Newer Go
/// refuses more hosts (bracket and colon rules); the path is the same.
fn check_authority(authority: &str) -> Option<()> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    check_host(host)?;
    if let Some(userinfo) = userinfo {
        let valid = |c: char| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c);
        if !userinfo.chars().all(valid) {
            return None;
        }
        // Go unescapes user and password apart; an escape never spans `:`.
        unescape(userinfo.as_bytes(), Mode::UserPassword)?;
    }
    Some(())
}

/// Go's `parseHost`: an IP literal with an optional zone, or a reg-name,
/// then an optional all-digits port.
fn check_host(host: &str) -> Option<()> {
    let bytes = host.as_bytes();
    if host.starts_with('[') {
        let close = host.rfind(']')?;
        valid_optional_port(&host[close + 1..])?;
        if let Some(zone) = host[..close].find("%25") {
            unescape(&bytes[..zone], Mode::Host)?;
            unescape(&bytes[zone..close], Mode::Zone)?;
            return unescape(&bytes[close..], Mode::Host).map(drop);
        }
    } else if let Some(colon) = host.rfind(':') {
        valid_optional_port(&host[colon..])?;
    }
    unescape(bytes, Mode::Host).map(drop)
}

/// Go's `validOptionalPort`: empty, or `:` and digits.
fn valid_optional_port(port: &str) -> Option<()> {
    (port.is_empty() || port.strip_prefix(':')?.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

/// The component being unescaped: Go's `encoding` values that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    QueryComponent,
    UserPassword,
    Host,
    Zone,
}

/// Go's `unescape`: `%XX` to a byte, `+` to a space only in a query
/// component, and the host rules (no escaped ASCII but `%25`, no ASCII that
/// a host must escape). `None` is Go's error.
fn unescape(input: &[u8], mode: Mode) -> Option<Vec<u8>> {
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16)).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let (hi, lo) = (hex(input.get(i + 1))?, hex(input.get(i + 2))?);
                let byte = hi << 4 | lo;
                let is_pct25 = &input[i..i + 3] == b"%25";
                if mode == Mode::Host && hi < 8 && !is_pct25 {
                    return None;
                }
                if mode == Mode::Zone && !is_pct25 && byte != b' ' && host_must_escape(byte) {
                    return None;
                }
                out.push(byte);
                i += 3;
                continue;
            }
            b'+' if mode == Mode::QueryComponent => out.push(b' '),
            b if matches!(mode, Mode::Host | Mode::Zone) && b < 0x80 && host_must_escape(b) => {
                return None;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// Go's `shouldEscape(c, encodeHost)`: every byte but ASCII letters, digits
/// and `!$&'()*+,;=:[]<>"-_.~`.
fn host_must_escape(b: u8) -> bool {
    !(b.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&b))
}

/// gorilla/mux's `cleanPath`: Go's `path.Clean`, then the trailing slash put
/// back. mux redirects when this differs from `URL.Path`.
fn mux_clean_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    // `path.Clean` on a rooted path (ParseRequestURI only yields rooted ones).
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
    let mut out = String::with_capacity(path.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

/// moby's `/v{version:[0-9.]+}` prefix: `v`, one or more digits or dots,
/// then the route's own `/…`.
fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('/') {
            return (Some(&rest[..end]), &rest[end..]);
        }
    }
    (None, path)
}

/// Go's `url.ParseQuery` (since Go 1.17), first value per key as
/// `r.Form.Get` reads it.
fn parse_query(raw: &str) -> Result<BTreeMap<String, String>, UriError> {
    let mut query = BTreeMap::new();
    for (key, value) in query_pairs(raw)? {
        query.entry(key).or_insert(value);
    }
    Ok(query)
}

/// Every value of `key` in the request-target `raw`, in order: what a
/// handler reading `r.Form[key]` acts on (`docker build -t a -t b` sends
/// `t` twice, and the daemon tags both).
pub fn query_values(raw: &str, key: &str) -> Result<Vec<String>, UriError> {
    let (_, raw_query) = parse_request_uri(raw)?;
    Ok(query_pairs(raw_query)?
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, value)| value)
        .collect())
}

/// The decoded pairs of a raw query, in order, as Go's `ParseQuery` keeps them.
fn query_pairs(raw: &str) -> Result<Vec<(String, String)>, UriError> {
    if raw.matches('&').count() + 1 > GO_MAX_QUERY_PARAMS {
        return Err(UriError::TooManyQueryParams);
    }
    let mut pairs = Vec::new();
    for pair in raw.split('&') {
        // Go skips these pairs and reports an error, which handlers calling
        // `httputils.ParseForm` answer 400 and `r.FormValue` ignores: either
        // way no handler reads such a pair.
        if pair.is_empty() || pair.contains(';') {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(key), Some(value)) = (
            unescape(key.as_bytes(), Mode::QueryComponent),
            unescape(value.as_bytes(), Mode::QueryComponent),
        ) else {
            continue;
        };
        // Not UTF-8 is refused, not skipped or replaced: Go keeps the bytes
        // and the handler acts on them, so the policy must not see less.
        let key = String::from_utf8(key).map_err(|_| UriError::NotUtf8)?;
        let value = String::from_utf8(value).map_err(|_| UriError::NotUtf8)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(raw: &str) -> String {
        parse(raw).unwrap().path
    }

    #[test]
    fn every_value_of_a_repeated_key_is_kept_in_order() {
        let target = "/v1.41/build?t=a%3A1&q=1&t=docker.io%2Flibrary%2Falpine&t=";
        assert_eq!(
            query_values(target, "t").unwrap(),
            ["a:1", "docker.io/library/alpine", ""]
        );
        assert_eq!(parse(target).unwrap().query["t"], "a:1");
        assert!(query_values("/build", "t").unwrap().is_empty());
    }

    #[test]
    fn strips_version_and_query() {
        let parsed = parse("/v1.41/containers/create?name=bg").unwrap();
        assert_eq!(parsed.path, "/containers/create");
        assert_eq!(parsed.api_version.as_deref(), Some("1.41"));
        assert_eq!(parsed.query.get("name").map(String::as_str), Some("bg"));
        assert!(!parsed.cleaned);
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

    /// (case name, input, Go's result)
    type Case<I, O> = (&'static str, I, O);
    type Scheme = Option<(&'static str, &'static str)>;
    type Escaped = (&'static str, Mode);

    #[test]
    #[rustfmt::skip]
    fn get_scheme_follows_go() {
        let cases: &[Case<&str, Result<Scheme, UriError>>] = &[
            ("letters_only", "http:/x", Ok(Some(("http", "/x")))),
            ("digits_plus_dash_dot_after_first", "a1+-.:/x", Ok(Some(("a1+-.", "/x")))),
            ("leading_digit_is_no_scheme", "1a:/x", Ok(None)),
            ("leading_colon_is_an_error", ":/x", Err(UriError::MissingScheme)),
            ("slash_before_colon_is_no_scheme", "/a:b", Ok(None)),
            ("underscore_is_no_scheme", "cache_object:/x", Ok(None)),
            ("no_colon_at_all", "abc", Ok(None)),
        ];
        for (name, raw, want) in cases {
            assert_eq!(&get_scheme(raw), want, "{name}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn unescape_modes_follow_go() {
        let cases: &[Case<Escaped, Option<&[u8]>>] = &[
            ("path_keeps_plus", ("a+b%2F", Mode::Path), Some(b"a+b/")),
            ("query_plus_is_space", ("a+b%2B", Mode::QueryComponent), Some(b"a b+")),
            ("truncated_escape", ("a%4", Mode::Path), None),
            ("percent_at_end", ("a%", Mode::Path), None),
            ("non_hex_escape", ("%g0", Mode::QueryComponent), None),
            ("lowercase_hex", ("%2f", Mode::Path), Some(b"/")),
            ("non_utf8_bytes_kept", ("%ff", Mode::Path), Some(b"\xff")),
            ("host_refuses_escaped_ascii", ("h%41", Mode::Host), None),
            ("host_accepts_escaped_non_ascii", ("h%C3%A9", Mode::Host), Some("h\u{e9}".as_bytes())),
            ("host_accepts_pct25", ("a%25", Mode::Host), Some(b"a%")),
            ("host_accepts_sub_delims_and_angles", ("a!$&'()*+,;=:[]<>\"", Mode::Host), Some(b"a!$&'()*+,;=:[]<>\"")),
            ("host_refuses_caret", ("a^b", Mode::Host), None),
            ("host_keeps_plus", ("a+b", Mode::Host), Some(b"a+b")),
            ("zone_accepts_escaped_space", ("%25en%200", Mode::Zone), Some(b"%en 0")),
            ("zone_refuses_escaped_nul", ("%25%00", Mode::Zone), None),
            ("user_password_any_escape", ("u%3Ap", Mode::UserPassword), Some(b"u:p")),
        ];
        for (name, (input, mode), want) in cases {
            assert_eq!(unescape(input.as_bytes(), *mode).as_deref(), *want, "{name}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn authority_checks_follow_go_1_19_parse_authority() {
        let cases: &[Case<&str, bool>] = &[
            ("plain_host", "docker", true),
            ("empty_authority", "", true),
            ("host_and_port", "docker:2375", true),
            ("empty_port", "docker:", true),
            ("huge_port_is_only_digits", "docker:99999999", true),
            ("non_digit_port", "docker:x", false),
            ("ipv6_literal_and_port", "[::1]:2375", true),
            ("ipv6_zone", "[fe80::1%25en0]", true),
            ("ipv6_missing_bracket", "[::1", false),
            ("junk_after_ipv6_bracket", "[::1]x", false),
            ("ipv6_zone_with_escaped_nul", "[fe80::1%25%00]", false),
            ("userinfo_with_password", "u:p@docker", true),
            ("empty_userinfo", "@docker", true),
            ("at_sign_in_userinfo", "u@@docker", true),
            ("bad_escape_in_userinfo", "us%zzer@docker", false),
            ("angle_in_userinfo", "us<er@docker", false),
            ("angle_in_host", "do<cker", true),
            ("escaped_space_in_host", "do%20cker", false),
            ("caret_in_host", "do^cker", false),
            ("raw_non_ascii_host", "h\u{e9}llo", true),
        ];
        for (name, authority, ok) in cases {
            assert_eq!(check_authority(authority).is_some(), *ok, "{name}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn mux_clean_path_keeps_the_trailing_slash() {
        let cases: &[Case<&str, &str>] = &[
            ("empty_becomes_root", "", "/"),
            ("root", "/", "/"),
            ("clean_path_unchanged", "/v1.41/version", "/v1.41/version"),
            ("trailing_slash_kept", "/v1.41/version/", "/v1.41/version/"),
            ("double_slash_collapsed", "//v1.41//version", "/v1.41/version"),
            ("dot_removed", "/v1.41/./version", "/v1.41/version"),
            ("dot_at_end_drops_the_slash", "/v1.41/.", "/v1.41"),
            ("dotdot_resolved", "/v1.41/x/../version", "/v1.41/version"),
            ("dotdot_never_above_root", "/../../version", "/version"),
            ("dotdot_at_end", "/v1.41/..", "/"),
            ("dots_inside_a_name_are_plain", "/v../x..y/.z", "/v../x..y/.z"),
        ];
        for (name, path, want) in cases {
            assert_eq!(&mux_clean_path(path), want, "{name}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn version_prefix_is_mux_digits_and_dots_then_a_slash() {
        let cases: &[Case<&str, (Option<&str>, &str)>] = &[
            ("usual", "/v1.41/version", (Some("1.41"), "/version")),
            ("dot_only", "/v./version", (Some("."), "/version")),
            ("two_dots", "/v../version", (Some(".."), "/version")),
            ("double_dot_inside", "/v1..2/version", (Some("1..2"), "/version")),
            ("trailing_dot", "/v1.41./version", (Some("1.41."), "/version")),
            ("leading_zero", "/v01.41/version", (Some("01.41"), "/version")),
            ("empty_version", "/v/version", (None, "/v/version")),
            ("uppercase_v", "/V1.41/version", (None, "/V1.41/version")),
            ("letter_in_version", "/v1.4a/version", (None, "/v1.4a/version")),
            ("no_slash_after_version", "/v1.41", (None, "/v1.41")),
            ("version_then_root", "/v1.41/", (Some("1.41"), "/")),
        ];
        for (name, path, want) in cases {
            assert_eq!(&split_version(path), want, "{name}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn query_follows_go_parse_query() {
        let cases: &[Case<&str, &[(&str, &str)]>] = &[
            ("first_value_wins", "a=1&a=2", &[("a", "1")]),
            ("key_without_equals_is_empty", "a&b=", &[("a", ""), ("b", "")]),
            ("empty_pairs_skipped", "&&a=1&", &[("a", "1")]),
            ("semicolon_pair_skipped_not_split", "a=1;b=2&c=3", &[("c", "3")]),
            ("semicolon_pair_skipped_even_first", "x;a=1&a=2", &[("a", "2")]),
            ("escaped_semicolon_is_data", "a=1%3Bb", &[("a", "1;b")]),
            ("bad_escape_pair_skipped", "a=%zz&a=2&b=%4", &[("a", "2")]),
            ("bad_escape_in_key_skips_pair", "%zz=1&k=2", &[("k", "2")]),
            ("plus_is_space", "a=x+y&b+c=1", &[("a", "x y"), ("b c", "1")]),
            ("escaped_key_decoded", "fil%74ers=1", &[("filters", "1")]),
            ("hash_is_data", "#&a=b#c", &[("#", ""), ("a", "b#c")]),
            ("second_question_mark_is_data", "a=1?b=2", &[("a", "1?b=2")]),
            ("only_first_equals_splits", "a==b=c", &[("a", "=b=c")]),
            ("empty_key", "=v", &[("", "v")]),
        ];
        for (name, raw, want) in cases {
            let want: BTreeMap<String, String> = want
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(parse_query(raw), Ok(want), "{name}");
        }
    }

    #[test]
    fn query_not_utf8_is_refused_but_a_skipped_pair_is_not_decoded() {
        assert_eq!(parse_query("a=%FF"), Err(UriError::NotUtf8));
        assert_eq!(parse_query("%FF=1"), Err(UriError::NotUtf8));
        assert_eq!(parse_query("a=%FF;b&c=1").map(|q| q.len()), Ok(1));
    }

    #[test]
    fn query_past_go_max_params_is_refused_where_go_versions_disagree() {
        let at_limit = format!("{}a=1", "&".repeat(GO_MAX_QUERY_PARAMS - 1));
        assert_eq!(
            parse_query(&at_limit).map(|q| q["a"].clone()),
            Ok("1".into())
        );
        let past_limit = format!("{}a=1", "&".repeat(GO_MAX_QUERY_PARAMS));
        assert_eq!(parse_query(&past_limit), Err(UriError::TooManyQueryParams));
    }
}
