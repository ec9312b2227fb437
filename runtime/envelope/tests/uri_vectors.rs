//! Request-targets sent raw over the unix socket to real daemons without
//! any authorization plugin, with what they answered, next to what
//! `uri::parse` makes of them. dockerd 20.10.24+dfsg1 (Debian 12, go1.19.8)
//! and 26.1.5+dfsg1 (Debian 13, go1.24.4) answered every vector alike, and
//! both still read a query of 10 001 pairs (see `TooManyQueryParams`).
//! The daemon's answer is checked for consistency with the parse (a routed
//! call must parse to an uncleaned path; a call Go refused must be an error),
//! the parse against the value read in the Go source.

use std::collections::BTreeMap;

use portcullis_envelope::uri::{self, ParsedUri, UriError};

/// What dockerd (20.10.24 and 26.1.5 alike) did with the request-target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dockerd {
    /// Routed; the handler answered this 2xx (`POST /volumes/create`
    /// vectors were confirmed by the volume then listed in `GET /volumes`).
    Ran(u16),
    /// Routed; the handler itself refused with this status (its own message:
    /// "client version . is too old", "no such volume", "invalid semicolon…").
    HandlerRefused(u16),
    /// gorilla/mux answered 301 to the cleaned path: never routed.
    Redirected,
    /// mux found no route: 404 "page not found".
    NoRoute,
    /// Go's `net/http` refused the request line: 400 before any handler.
    GoRefused,
}
use Dockerd::*;

struct Vector {
    name: &'static str,
    target: &'static str,
    dockerd: Dockerd,
    want: Result<Want, UriError>,
}

struct Want {
    path: &'static str,
    version: Option<&'static str>,
    cleaned: bool,
    query: &'static [(&'static str, &'static str)],
}

fn routed(path: &'static str, version: Option<&'static str>) -> Result<Want, UriError> {
    Ok(Want {
        path,
        version,
        cleaned: false,
        query: &[],
    })
}

fn redirected(path: &'static str, version: Option<&'static str>) -> Result<Want, UriError> {
    Ok(Want {
        path,
        version,
        cleaned: true,
        query: &[],
    })
}

fn with_query(
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
) -> Result<Want, UriError> {
    Ok(Want {
        path,
        version: Some("1.41"),
        cleaned: false,
        query,
    })
}

const V: Option<&str> = Some("1.41");
const FILTER_A: &str = r#"{"name":["pc-a"]}"#;
const FILTER_B: &str = r#"{"name":["pc-b"]}"#;

#[rustfmt::skip]
fn vectors() -> Vec<Vector> {
    let v = |name, target, dockerd, want| Vector {
        name,
        target,
        dockerd,
        want,
    };
    vec![
        // The bypass: a scheme with a single slash is an ordinary route.
        v("scheme_single_slash_routes_version", "http:/v1.41/version", Ran(200), routed("/version", V)),
        v("scheme_single_slash_routes_volume_create", "http:/v1.41/volumes/create", Ran(201), routed("/volumes/create", V)),
        v("uppercase_scheme_routes", "HTTP:/v1.41/version", Ran(200), routed("/version", V)),
        v("any_scheme_routes", "h+t-t.p:/v1.41/version", Ran(200), routed("/version", V)),
        v("scheme_starting_with_digit_is_no_scheme", "1http:/v1.41/version", GoRefused, Err(UriError::NotAbsolute)),
        v("leading_colon_is_missing_scheme", ":/v1.41/version", GoRefused, Err(UriError::MissingScheme)),
        v("opaque_scheme_form", "http:v1.41/version", Redirected, Err(UriError::Opaque)),
        v("scheme_alone", "http:", Redirected, Err(UriError::Opaque)),
        v("scheme_then_query_only", "http:?x", Redirected, Err(UriError::Opaque)),
        // Absolute-form: the authority is checked and dropped.
        v("absolute_form_with_host", "http://docker/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_volume_create", "http://docker/v1.41/volumes/create", Ran(201), routed("/volumes/create", V)),
        v("absolute_form_with_userinfo_and_port", "http://user:pw@docker:99/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_ipv6_host", "http://[::1]:2375/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_ipv6_zone", "http://[fe80::1%25en0]:80/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_escaped_non_ascii_host", "http://h%C3%A9/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_raw_non_ascii_host", "http://héllo/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_angle_bracket_host", "http://do<cker/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_empty_userinfo", "http://@docker/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_at_in_userinfo", "http://u@@docker/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_empty_port", "http://docker:/v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_empty_authority", "http:///v1.41/version", Ran(200), routed("/version", V)),
        v("absolute_form_non_digit_port", "http://docker:x/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_bad_escape_in_userinfo", "http://us%zzer@docker/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_angle_in_userinfo", "http://us<er@docker/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_escaped_ascii_in_host", "http://h%41/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_escaped_space_in_host", "http://do%20cker/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_caret_in_host", "http://do^cker/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_unclosed_ipv6", "http://[::1/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_junk_after_ipv6", "http://[fe80::1]x/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_nul_in_zone", "http://[fe80::1%25%00]/v1.41/version", GoRefused, Err(UriError::BadAuthority)),
        v("absolute_form_without_path", "http://docker", Redirected, redirected("/", None)),
        v("absolute_form_without_path_with_query", "http://docker?x=1", Redirected, Ok(Want { path: "/", version: None, cleaned: true, query: &[("x", "1")] })),
        v("scheme_root_with_query", "http:/?x", NoRoute, Ok(Want { path: "/", version: None, cleaned: false, query: &[("x", "")] })),
        v("absolute_form_path_starting_with_double_slash", "http:////v1.41/version", Redirected, redirected("/version", V)),
        // Without a scheme, `//` is part of the path: mux redirects.
        v("double_slash_prefix", "//v1.41/version", Redirected, redirected("/version", V)),
        v("double_slash_prefix_volume_create", "//v1.41/volumes/create", Redirected, redirected("/volumes/create", V)),
        v("double_slash_host_lookalike", "//docker/v1.41/version", Redirected, redirected("/docker/v1.41/version", None)),
        v("triple_slash_prefix", "///v1.41/version", Redirected, redirected("/version", V)),
        v("double_slash_inside", "/v1.41//version", Redirected, redirected("/version", V)),
        v("relative_path", "v1.41/version", GoRefused, Err(UriError::NotAbsolute)),
        v("asterisk", "*", Redirected, Err(UriError::Asterisk)),
        // `#` is no delimiter in a request-target.
        v("hash_in_path_is_kept", "/v1.41/version#frag", NoRoute, routed("/version#frag", V)),
        v("hash_in_path_volume_create", "/v1.41/volumes/create#frag", NoRoute, routed("/volumes/create#frag", V)),
        v("hash_in_path_is_part_of_a_name", "/v1.41/volumes/a#b", HandlerRefused(404), routed("/volumes/a#b", V)),
        v("hash_before_query_is_path", "/v1.41/volumes#?filters=%7B%22name%22%3A%5B%22pc-a%22%5D%7D", NoRoute, with_query("/volumes#", &[("filters", FILTER_A)])),
        // Percent-decoding as `unescape(…, encodePath)`.
        v("escaped_slash", "/v1.41/containers%2Fjson", Ran(200), routed("/containers/json", V)),
        v("escaped_slash_lowercase", "/v1.41/containers%2fjson", Ran(200), routed("/containers/json", V)),
        v("escaped_slash_volume_create", "/v1.41/volumes%2Fcreate", Ran(201), routed("/volumes/create", V)),
        v("escaped_slash_after_version", "/v1.41%2Fcontainers%2Fjson", Ran(200), routed("/containers/json", V)),
        v("escaped_letter", "/v1.41/%63ontainers/json", Ran(200), routed("/containers/json", V)),
        v("escaped_version_v", "/%761.41/version", Ran(200), routed("/version", V)),
        v("plus_stays_plus_in_path", "/v1.41/volumes/a+b", HandlerRefused(404), routed("/volumes/a+b", V)),
        v("escaped_plus_in_path", "/v1.41/volumes/a%2Bb", HandlerRefused(404), routed("/volumes/a+b", V)),
        v("escaped_nul_in_path", "/v1.41/version%00", NoRoute, routed("/version\0", V)),
        v("escaped_non_utf8_in_path_is_refused", "/v1.41/volumes/a%FFb", HandlerRefused(404), Err(UriError::NotUtf8)),
        v("bad_escape_in_path", "/v1.41/ver%zzsion", GoRefused, Err(UriError::BadPercentEncoding)),
        v("percent_at_end_of_path", "/v1.41/version%", GoRefused, Err(UriError::BadPercentEncoding)),
        v("truncated_escape_in_path", "/v1.41/version%4", GoRefused, Err(UriError::BadPercentEncoding)),
        v("del_byte", "/v1.41/ver\x7fsion", GoRefused, Err(UriError::ControlCharacter)),
        v("control_byte", "/v1.41/ver\x01sion", GoRefused, Err(UriError::ControlCharacter)),
        // Dot segments: mux redirects; we judge the redirect target.
        v("dotdot", "/v1.41/x/../version", Redirected, redirected("/version", V)),
        v("dotdot_volume_create", "/v1.41/x/../volumes/create", Redirected, redirected("/volumes/create", V)),
        v("escaped_dotdot", "/v1.41/x/%2E%2E/version", Redirected, redirected("/version", V)),
        v("escaped_dotdot_over_version", "/v1.41/%2E%2E/version", Redirected, redirected("/version", None)),
        v("dot", "/v1.41/./version", Redirected, redirected("/version", V)),
        v("dot_at_end", "/v1.41/version/.", Redirected, redirected("/version", V)),
        v("dotdot_at_end", "/v1.41/version/..", Redirected, redirected("/v1.41", None)),
        // A trailing slash is routed by mux (and matches no fixed route).
        v("trailing_slash", "/v1.41/version/", NoRoute, routed("/version", V)),
        v("trailing_slash_on_info", "/v1.41/info/", NoRoute, routed("/info", V)),
        v("version_and_slash_only", "/v1.41/", NoRoute, routed("/", V)),
        // `/v{version:[0-9.]+}`, once.
        v("without_version", "/version", Ran(200), routed("/version", None)),
        v("ping_with_version", "/v1.41/_ping", Ran(200), routed("/_ping", V)),
        v("version_twice", "/v1.41/v1.41/version", NoRoute, routed("/v1.41/version", V)),
        v("version_twice_volume_create", "/v1.41/v1.41/volumes/create", NoRoute, routed("/v1.41/volumes/create", V)),
        v("version_without_slash", "/v1.41", NoRoute, routed("/v1.41", None)),
        v("empty_version", "/v/version", NoRoute, routed("/v/version", None)),
        v("uppercase_v", "/V1.41/version", NoRoute, routed("/V1.41/version", None)),
        v("version_dot", "/v./version", HandlerRefused(400), routed("/version", Some("."))),
        v("version_two_dots", "/v../version", HandlerRefused(400), routed("/version", Some(".."))),
        v("version_double_dot_inside", "/v1..41/version", HandlerRefused(400), routed("/version", Some("1..41"))),
        v("version_trailing_dot_is_1_41", "/v1.41./version", Ran(200), routed("/version", Some("1.41."))),
        v("version_leading_zero_is_1_41", "/v01.41/version", Ran(200), routed("/version", Some("01.41"))),
        // Query: Go's ParseQuery, first value wins.
        v("empty_query_is_force_query", "/v1.41/version?", Ran(200), routed("/version", V)),
        v("empty_query_after_scheme", "http:/v1.41/version?", Ran(200), routed("/version", V)),
        v("two_question_marks", "/v1.41/version??", Ran(200), with_query("/version", &[("?", "")])),
        v("question_mark_inside_query", "/v1.41/version?a=1?b=2", Ran(200), with_query("/version", &[("a", "1?b=2")])),
        v("hash_right_after_question_mark", "/v1.41/info?#", Ran(200), with_query("/info", &[("#", "")])),
        v("repeated_key_first_wins_a", "/v1.41/volumes?filters=%7B%22name%22%3A%5B%22pc-a%22%5D%7D&filters=%7B%22name%22%3A%5B%22pc-b%22%5D%7D", Ran(200), with_query("/volumes", &[("filters", FILTER_A)])),
        v("repeated_key_first_wins_b", "/v1.41/volumes?filters=%7B%22name%22%3A%5B%22pc-b%22%5D%7D&filters=%7B%22name%22%3A%5B%22pc-a%22%5D%7D", Ran(200), with_query("/volumes", &[("filters", FILTER_B)])),
        v("hash_in_query_hides_nothing", "/v1.41/volumes?#&filters=%7B%22name%22%3A%5B%22pc-a%22%5D%7D", Ran(200), with_query("/volumes", &[("#", ""), ("filters", FILTER_A)])),
        v("plus_in_query_is_space", "/v1.41/volumes?filters=%7B%22name%22%3A+%5B%22pc-a%22%5D%7D", Ran(200), with_query("/volumes", &[("filters", r#"{"name": ["pc-a"]}"#)])),
        v("unescaped_json_in_query", r#"/v1.41/volumes?filters={"name":["pc-b"]}"#, Ran(200), with_query("/volumes", &[("filters", FILTER_B)])),
        v("escaped_key", "/v1.41/volumes?fil%74ers=%7B%22name%22%3A%5B%22pc-b%22%5D%7D", Ran(200), with_query("/volumes", &[("filters", FILTER_B)])),
        v("semicolon_pair_is_skipped", "/v1.41/volumes?filters=%7B%22name%22%3A%5B%22pc-a%22%5D%7D;x=1", HandlerRefused(400), with_query("/volumes", &[])),
        v("semicolon_pair_skipped_others_kept", "/v1.41/volumes?x;y&filters=%7B%22name%22%3A%5B%22pc-a%22%5D%7D", HandlerRefused(400), with_query("/volumes", &[("filters", FILTER_A)])),
        v("semicolon_on_a_route_without_form", "/v1.41/version?a;b", Ran(200), with_query("/version", &[])),
        v("semicolon_on_containers_json", "/v1.41/containers/json?all=1;limit=1", HandlerRefused(400), with_query("/containers/json", &[])),
        v("bad_escape_in_query_skips_pair", "/v1.41/containers/json?all=%zz", HandlerRefused(400), with_query("/containers/json", &[])),
        // Docker withholds the body from plugins when RequestUri ends in `/auth`.
        v("auth_suffix_in_query", "/v1.41/volumes/create?x=/auth", Ran(201), with_query("/volumes/create", &[("x", "/auth")])),
        v("non_utf8_query_value_is_refused", "/v1.41/volumes?filters=%7B%22name%22%3A%5B%22pc-%FF%22%5D%7D", Ran(200), Err(UriError::NotUtf8)),
    ]
}

/// Whether what dockerd did is consistent with the parse.
fn consistent(dockerd: Dockerd, parsed: &Result<ParsedUri, UriError>) -> bool {
    match (dockerd, parsed) {
        // Go refused it: so must we.
        (GoRefused, parsed) => parsed.is_err(),
        // mux redirected: we refuse, or we say so.
        (Redirected, Ok(p)) => p.cleaned,
        (Redirected, Err(_)) => true,
        // Routed to a handler: the path is Go's, uncleaned; refusing is only
        // allowed for bytes a String cannot carry.
        (Ran(_) | HandlerRefused(_), Ok(p)) => !p.cleaned,
        (Ran(_) | HandlerRefused(_), Err(e)) => *e == UriError::NotUtf8,
        (NoRoute, Ok(p)) => !p.cleaned,
        (NoRoute, Err(_)) => true,
    }
}

#[test]
fn request_targets_parse_as_dockerd_routed_them() {
    for vector in vectors() {
        let Vector {
            name,
            target,
            dockerd,
            want,
        } = vector;
        let parsed = uri::parse(target);
        assert!(
            consistent(dockerd, &parsed),
            "{name}: dockerd {dockerd:?} but parsed {parsed:?}"
        );
        let want = want.map(|w| ParsedUri {
            path: w.path.to_owned(),
            api_version: w.version.map(str::to_owned),
            query: w
                .query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            cleaned: w.cleaned,
        });
        assert_eq!(parsed, want, "{name}: {target:?}");
    }
}

#[test]
fn targets_no_daemon_can_receive_are_refused() {
    // A space ends the request-target in Go's request line; an empty target
    // never parses. Docker's JSON turns raw invalid UTF-8 into U+FFFD.
    assert_eq!(uri::parse(""), Err(UriError::Empty));
    assert_eq!(uri::parse("/v1.41/a b"), Err(UriError::Space));
    assert_eq!(
        uri::parse("/v1.41/volumes/a\u{FFFD}b"),
        Err(UriError::NotUtf8)
    );
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        UriError::Opaque.to_string(),
        "RequestUri has a scheme but no absolute path"
    );
}
