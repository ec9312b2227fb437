//! Docker Engine API route table: (method, normalised path) → stable action name.
//!
//! The table holds every route the daemon registers in moby v20.10.24 and in
//! moby master (`tests/fixtures/docker-api-routes*.tsv`), one line per route,
//! in the order of those files. Action names are Twistlock's
//! (`twistlock/authz`, `core/route_parser.go`) wherever Twistlock names the
//! route; the remaining routes are named in the same `<resource>_<verb>` style.
//!
//! # Pattern syntax
//!
//! Patterns use the gorilla/mux syntax Docker registers them with, one
//! placeholder per segment:
//!
//! * a literal segment matches itself exactly;
//! * `{x}` matches one non-empty segment (mux's default `[^/]+`);
//! * `{x:.*}` / `{x:.+}` match any text including slashes (empty allowed
//!   only for `.*`), so `/images/{name:.*}/json` matches
//!   `/images/library/busybox/json` with `name = "library/busybox"`. Only
//!   literal segments may follow such a placeholder, which fixes the capture
//!   exactly (this is all Docker uses; a unit test checks the table).
//!
//! The whole path must match (anchored at both ends) and the method must be
//! equal, byte for byte: `HEAD` is not implied by `GET`, exactly as in mux.
//!
//! # Precedence
//!
//! When several routes match the same request, the route with the **most
//! literal segments** wins; among equally literal routes the earlier table
//! entry wins. For Docker's table this gives the same answer as mux's
//! registration order: the only overlapping pairs are
//! `DELETE /containers/{name:.*}` vs `DELETE /containers/{name}/checkpoints/{checkpoint}`
//! (Docker registers the checkpoint router first so the latter wins) and
//! `GET /debug/pprof/{name}` vs the literal `/debug/pprof/cmdline`, … (the
//! literals are registered first). Routes such as `/images/json` and
//! `/images/{name:.*}/json` never overlap, because a `{x:.*}` placeholder
//! followed by `/json` needs the `/` of its suffix.
//!
//! # Trailing slashes
//!
//! Paths arrive cleaned ([`crate::uri`] drops a trailing slash), so a pattern
//! that ends in `/` (`/networks/`, `/debug/pprof/`) also matches the path
//! without it. Apart from that, matching is exact.

/// The outcome of matching one request against the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Stable action name (`container_create`, …), `"unknown"` when no route matches.
    pub action: &'static str,
    /// Path parameters of the matched route, in pattern order (`("name", "bg")`).
    pub params: Vec<(&'static str, String)>,
}

/// Action reported when no route matches.
pub const UNKNOWN: &str = "unknown";

/// Every action name of the table, each once, in table order (never
/// [`UNKNOWN`]): the one list policies check their configuration against.
pub fn actions() -> impl Iterator<Item = &'static str> {
    ROUTES
        .iter()
        .enumerate()
        .filter(|(i, route)| !ROUTES[..*i].iter().any(|r| r.action == route.action))
        .map(|(_, route)| route.action)
}

/// Whether `action` is the name of some route (not [`UNKNOWN`]).
pub fn is_action(action: &str) -> bool {
    ROUTES.iter().any(|route| route.action == action)
}

/// Most path parameters any pattern may declare (Docker's maximum is 2).
const MAX_PARAMS: usize = 4;

/// One route of the Docker Engine API.
#[derive(Debug, Clone, Copy)]
struct Route {
    /// HTTP method, upper case.
    method: &'static str,
    /// gorilla/mux path pattern, as Docker registers it (without `/vX.Y`).
    pattern: &'static str,
    /// Stable action name.
    action: &'static str,
}

/// One table line: `route!(METHOD, "/pattern", "action")`.
macro_rules! route {
    ($method:ident, $pattern:literal, $action:literal) => {
        Route {
            method: stringify!($method),
            pattern: $pattern,
            action: $action,
        }
    };
}

/// Every route of moby v20.10.24 and moby master, in the fixtures' order.
/// Routes present in only one of them are marked.
#[rustfmt::skip]
const ROUTES: &[Route] = &[
    // build
    route!(POST,    "/build",                                       "image_build"),
    route!(POST,    "/build/cancel",                                "build_cancel"),
    route!(POST,    "/build/prune",                                 "build_prune"),
    // checkpoint
    route!(GET,     "/containers/{name:.*}/checkpoints",            "container_checkpoint_list"),
    route!(POST,    "/containers/{name:.*}/checkpoints",            "container_checkpoint_create"),
    route!(DELETE,  "/containers/{name}/checkpoints/{checkpoint}",  "container_checkpoint_delete"),
    // container
    route!(POST,    "/commit",                                      "container_commit"),
    route!(POST,    "/containers/create",                           "container_create"),
    route!(GET,     "/containers/json",                             "container_list"),
    route!(POST,    "/containers/prune",                            "container_prune"),
    route!(DELETE,  "/containers/{name:.*}",                        "container_delete"),
    route!(GET,     "/containers/{name:.*}/archive",                "container_archive"),
    route!(HEAD,    "/containers/{name:.*}/archive",                "container_archive_info"),
    route!(PUT,     "/containers/{name:.*}/archive",                "container_archive_extract"),
    route!(POST,    "/containers/{name:.*}/attach",                 "container_attach"),
    route!(GET,     "/containers/{name:.*}/attach/ws",              "container_attach_websocket"),
    route!(GET,     "/containers/{name:.*}/changes",                "container_changes"),
    route!(POST,    "/containers/{name:.*}/copy",                   "container_copyfiles"), // v20.10 only
    route!(POST,    "/containers/{name:.*}/exec",                   "container_exec_create"),
    route!(GET,     "/containers/{name:.*}/export",                 "container_export"),
    route!(GET,     "/containers/{name:.*}/json",                   "container_inspect"),
    route!(POST,    "/containers/{name:.*}/kill",                   "container_kill"),
    route!(GET,     "/containers/{name:.*}/logs",                   "container_logs"),
    route!(POST,    "/containers/{name:.*}/pause",                  "container_pause"),
    route!(POST,    "/containers/{name:.*}/rename",                 "container_rename"),
    route!(POST,    "/containers/{name:.*}/resize",                 "container_resize"),
    route!(POST,    "/containers/{name:.*}/restart",                "container_restart"),
    route!(POST,    "/containers/{name:.*}/start",                  "container_start"),
    route!(GET,     "/containers/{name:.*}/stats",                  "container_stats"),
    route!(POST,    "/containers/{name:.*}/stop",                   "container_stop"),
    route!(GET,     "/containers/{name:.*}/top",                    "container_top"),
    route!(POST,    "/containers/{name:.*}/unpause",                "container_unpause"),
    route!(POST,    "/containers/{name:.*}/update",                 "container_update"),
    route!(POST,    "/containers/{name:.*}/wait",                   "container_wait"),
    route!(GET,     "/exec/{id:.*}/json",                           "container_exec_inspect"),
    route!(POST,    "/exec/{name:.*}/resize",                       "container_exec_resize"),
    route!(POST,    "/exec/{name:.*}/start",                        "container_exec_start"),
    // debug
    route!(GET,     "/debug/pprof/",                                "debug_pprof_index"),
    route!(GET,     "/debug/pprof/cmdline",                         "debug_pprof_cmdline"),
    route!(GET,     "/debug/pprof/profile",                         "debug_pprof_profile"),
    route!(GET,     "/debug/pprof/symbol",                          "debug_pprof_symbol"),
    route!(GET,     "/debug/pprof/trace",                           "debug_pprof_trace"),
    route!(GET,     "/debug/pprof/{name}",                          "debug_pprof_lookup"),
    route!(GET,     "/debug/vars",                                  "debug_vars"),
    // distribution
    route!(GET,     "/distribution/{name:.*}/json",                 "distribution_inspect"),
    // grpc
    route!(POST,    "/grpc",                                        "grpc"),
    // image
    route!(POST,    "/images/create",                               "image_create"),
    route!(GET,     "/images/get",                                  "images_archive_multiple"),
    route!(GET,     "/images/json",                                 "image_list"),
    route!(POST,    "/images/load",                                 "images_load"),
    route!(POST,    "/images/prune",                                "image_prune"),
    route!(GET,     "/images/search",                               "images_search"),
    route!(DELETE,  "/images/{name:.*}",                            "image_delete"),
    route!(GET,     "/images/{name:.*}/attestations",               "image_attestations"), // master only
    route!(GET,     "/images/{name:.*}/get",                        "images_archive"),
    route!(GET,     "/images/{name:.*}/history",                    "image_history"),
    route!(GET,     "/images/{name:.*}/json",                       "image_inspect"),
    route!(POST,    "/images/{name:.*}/push",                       "image_push"),
    route!(POST,    "/images/{name:.*}/tag",                        "image_tag"),
    // network
    route!(GET,     "/networks",                                    "network_list"),
    route!(GET,     "/networks/",                                   "network_list"),
    route!(POST,    "/networks/create",                             "network_create"),
    route!(POST,    "/networks/prune",                              "network_prune"),
    route!(DELETE,  "/networks/{id:.*}",                            "network_remove"),
    route!(POST,    "/networks/{id:.*}/connect",                    "network_connect"),
    route!(POST,    "/networks/{id:.*}/disconnect",                 "network_disconnect"),
    route!(GET,     "/networks/{id:.+}",                            "network_inspect"),
    // plugin
    route!(GET,     "/plugins",                                     "plugin_list"),
    route!(POST,    "/plugins/create",                              "plugin_create"),
    route!(GET,     "/plugins/privileges",                          "plugin_privileges"),
    route!(POST,    "/plugins/pull",                                "plugin_install"),
    route!(DELETE,  "/plugins/{name:.*}",                           "plugin_remove"),
    route!(POST,    "/plugins/{name:.*}/disable",                   "plugin_disable"),
    route!(POST,    "/plugins/{name:.*}/enable",                    "plugin_enable"),
    route!(GET,     "/plugins/{name:.*}/json",                      "plugin_inspect"),
    route!(POST,    "/plugins/{name:.*}/push",                      "plugin_push"),
    route!(POST,    "/plugins/{name:.*}/set",                       "plugin_set"),
    route!(POST,    "/plugins/{name:.*}/upgrade",                   "plugin_upgrade"),
    // session
    route!(POST,    "/session",                                     "session"),
    // swarm
    route!(GET,     "/configs",                                     "config_list"),
    route!(POST,    "/configs/create",                              "config_create"),
    route!(DELETE,  "/configs/{id}",                                "config_delete"),
    route!(GET,     "/configs/{id}",                                "config_inspect"),
    route!(POST,    "/configs/{id}/update",                         "config_update"),
    route!(GET,     "/nodes",                                       "node_list"),
    route!(DELETE,  "/nodes/{id}",                                  "node_delete"),
    route!(GET,     "/nodes/{id}",                                  "node_inspect"),
    route!(POST,    "/nodes/{id}/update",                           "node_update"),
    route!(GET,     "/secrets",                                     "secret_list"),
    route!(POST,    "/secrets/create",                              "secret_create"),
    route!(DELETE,  "/secrets/{id}",                                "secret_delete"),
    route!(GET,     "/secrets/{id}",                                "secret_inspect"),
    route!(POST,    "/secrets/{id}/update",                         "secret_update"),
    route!(GET,     "/services",                                    "service_list"),
    route!(POST,    "/services/create",                             "service_create"),
    route!(DELETE,  "/services/{id}",                               "service_delete"),
    route!(GET,     "/services/{id}",                               "service_inspect"),
    route!(GET,     "/services/{id}/logs",                          "service_logs"),
    route!(POST,    "/services/{id}/update",                        "service_update"),
    route!(GET,     "/swarm",                                       "swarm_inspect"),
    route!(POST,    "/swarm/init",                                  "swarm_init"),
    route!(POST,    "/swarm/join",                                  "swarm_join"),
    route!(POST,    "/swarm/leave",                                 "swarm_leave"),
    route!(POST,    "/swarm/unlock",                                "swarm_unlock"),
    route!(GET,     "/swarm/unlockkey",                             "swarm_unlock_key"),
    route!(POST,    "/swarm/update",                                "swarm_update"),
    route!(GET,     "/tasks",                                       "task_list"),
    route!(GET,     "/tasks/{id}",                                  "task_inspect"),
    route!(GET,     "/tasks/{id}/logs",                             "task_logs"),
    // system
    route!(GET,     "/_ping",                                       "docker_ping"),
    route!(HEAD,    "/_ping",                                       "docker_ping"),
    route!(POST,    "/auth",                                        "docker_auth"),
    route!(GET,     "/events",                                      "docker_events"),
    route!(GET,     "/info",                                        "docker_info"),
    route!(GET,     "/system/df",                                   "system_df"),
    route!(GET,     "/version",                                     "docker_version"),
    route!(OPTIONS, "/{anyroute:.*}",                               "docker_options"),
    // volume
    route!(GET,     "/volumes",                                     "volume_list"),
    route!(POST,    "/volumes/create",                              "volume_create"),
    route!(POST,    "/volumes/prune",                               "volume_prune"),
    route!(DELETE,  "/volumes/{name:.*}",                           "volume_remove"),
    route!(GET,     "/volumes/{name:.*}",                           "volume_inspect"),
    route!(PUT,     "/volumes/{name:.*}",                           "volume_update"), // master only
];

/// Matches a request against the route table.
///
/// `path` must already be percent-decoded, cleaned (no `//`, `.`, `..`, no
/// trailing slash), start with `/`, and be stripped of the `/vX.Y` prefix and
/// the query (see [`crate::uri`]). `method` is compared exactly (`GET`, not
/// `get`; `HEAD` does not fall back to `GET`). See the module documentation
/// for the precedence rule when several routes match.
pub fn match_route(method: &str, path: &str) -> RouteMatch {
    let mut best: Option<(usize, &'static str, Captures<'_>)> = None;
    for route in ROUTES {
        if route.method != method {
            continue;
        }
        let Some((literals, captures)) = match_pattern(route.pattern, path) else {
            continue;
        };
        // Strictly more literals wins; on a tie the earlier route stays.
        if best
            .as_ref()
            .is_none_or(|(best_literals, _, _)| literals > *best_literals)
        {
            best = Some((literals, route.action, captures));
        }
    }
    match best {
        Some((_, action, captures)) => RouteMatch {
            action,
            params: captures.items[..captures.len]
                .iter()
                .map(|&(name, value)| (name, value.to_owned()))
                .collect(),
        },
        None => RouteMatch {
            action: UNKNOWN,
            params: Vec::new(),
        },
    }
}

/// Path parameters captured while matching one pattern, without allocating.
#[derive(Debug, Clone, Copy)]
struct Captures<'p> {
    /// `(parameter name, value)`; only the first `len` entries are set.
    items: [(&'static str, &'p str); MAX_PARAMS],
    /// Number of captured parameters.
    len: usize,
}

impl<'p> Captures<'p> {
    /// Records one parameter; `None` if the pattern declares too many.
    fn push(&mut self, name: &'static str, value: &'p str) -> Option<()> {
        *self.items.get_mut(self.len)? = (name, value);
        self.len += 1;
        Some(())
    }
}

/// One segment of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Matches exactly this text.
    Literal(&'static str),
    /// `{name}`: one non-empty segment.
    One(&'static str),
    /// `{name:.*}` (`allow_empty`) or `{name:.+}`: any text, slashes included.
    Many {
        name: &'static str,
        allow_empty: bool,
    },
    /// A placeholder with a regex this matcher does not implement; never matches.
    Unsupported,
}

/// Classifies one `/`-free pattern segment.
fn parse_segment(segment: &'static str) -> Segment {
    let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
        return Segment::Literal(segment);
    };
    match inner.split_once(':') {
        None if !inner.is_empty() => Segment::One(inner),
        Some((name, ".*")) if !name.is_empty() => Segment::Many {
            name,
            allow_empty: true,
        },
        Some((name, ".+")) if !name.is_empty() => Segment::Many {
            name,
            allow_empty: false,
        },
        _ => Segment::Unsupported,
    }
}

/// Matches `path` against one pattern; on success returns the number of
/// literal segments of the pattern (its specificity) and the captures.
fn match_pattern<'p>(pattern: &'static str, path: &'p str) -> Option<(usize, Captures<'p>)> {
    let mut pattern_rest = pattern.strip_prefix('/')?;
    let mut rest = path.strip_prefix('/')?;
    let mut literals = 0;
    let mut captures = Captures {
        items: [("", ""); MAX_PARAMS],
        len: 0,
    };
    let mut first = true;
    loop {
        // Take the next pattern segment; `after` keeps its leading `/`.
        let (segment, after) = match pattern_rest.find('/') {
            Some(i) => (&pattern_rest[..i], &pattern_rest[i..]),
            None => (pattern_rest, ""),
        };
        if !first {
            match rest.strip_prefix('/') {
                Some(r) => rest = r,
                // A pattern's trailing slash also matches the cleaned path without it.
                None if segment.is_empty() && after.is_empty() && rest.is_empty() => {
                    return Some((literals, captures));
                }
                None => return None,
            }
        }
        first = false;
        match parse_segment(segment) {
            Segment::Literal(literal) => {
                let (value, remainder) = split_segment(rest);
                if value != literal {
                    return None;
                }
                if !literal.is_empty() {
                    literals += 1;
                }
                rest = remainder;
            }
            Segment::One(name) => {
                let (value, remainder) = split_segment(rest);
                if value.is_empty() {
                    return None;
                }
                captures.push(name, value)?;
                rest = remainder;
            }
            Segment::Many { name, allow_empty } => {
                // Only literals may follow: the suffix then fixes the capture.
                if after.contains('{') {
                    return None;
                }
                let value = rest.strip_suffix(after)?;
                if value.is_empty() && !allow_empty {
                    return None;
                }
                captures.push(name, value)?;
                literals += after.split('/').filter(|s| !s.is_empty()).count();
                return Some((literals, captures));
            }
            Segment::Unsupported => return None,
        }
        if after.is_empty() {
            return rest.is_empty().then_some((literals, captures));
        }
        pattern_rest = &after[1..];
    }
}

/// Splits `rest` into its first segment and the remainder (which starts with `/` or is empty).
fn split_segment(rest: &str) -> (&str, &str) {
    match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    const MOBY_20_10: &str = include_str!("../../../tests/fixtures/docker-api-routes.tsv");
    const MOBY_MASTER: &str =
        include_str!("../../../tests/fixtures/docker-api-routes-moby-master.tsv");
    const TWISTLOCK: &str = include_str!("../../../tests/fixtures/twistlock-actions.tsv");

    /// Actions deliberately shared by several routes: each is one operation
    /// registered twice by Docker (same handler).
    const ALLOWED_ALIASES: &[(&str, &[&str])] = &[
        ("docker_ping", &["GET /_ping", "HEAD /_ping"]),
        ("network_list", &["GET /networks", "GET /networks/"]),
    ];

    /// `(method, pattern)` rows of a fixture table (header and comments skipped).
    fn fixture_rows(tsv: &'static str) -> Vec<(&'static str, &'static str)> {
        tsv.lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .skip(1)
            .map(|line| {
                let mut columns = line.split('\t');
                (columns.next().unwrap(), columns.next().unwrap())
            })
            .collect()
    }

    /// Turns a pattern into a concrete path and the params it must yield:
    /// `{x}` → `abc`, `{x:.*}` / `{x:.+}` → `some/name`.
    fn instantiate(pattern: &str) -> (String, Vec<(String, String)>) {
        let mut params = Vec::new();
        let segments: Vec<String> = pattern
            .split('/')
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(inner) => {
                        let (name, value) = match inner.split_once(':') {
                            Some((name, _)) => (name, "some/name"),
                            None => (inner, "abc"),
                        };
                        params.push((name.to_owned(), value.to_owned()));
                        value.to_owned()
                    }
                    None => segment.to_owned(),
                },
            )
            .collect();
        (segments.join("/"), params)
    }

    fn table_action(method: &str, pattern: &str) -> Option<&'static str> {
        ROUTES
            .iter()
            .find(|r| r.method == method && r.pattern == pattern)
            .map(|r| r.action)
    }

    fn owned(m: &RouteMatch) -> Vec<(String, String)> {
        m.params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn every_fixture_route_matches_its_own_action_and_params() {
        for (file, tsv) in [("v20.10.24", MOBY_20_10), ("master", MOBY_MASTER)] {
            let rows = fixture_rows(tsv);
            assert!(
                rows.len() > 100,
                "{file}: only {} routes parsed",
                rows.len()
            );
            for (method, pattern) in rows {
                let expected = table_action(method, pattern)
                    .unwrap_or_else(|| panic!("{file}: {method} {pattern} missing from ROUTES"));
                let (path, params) = instantiate(pattern);
                // As sent, and as `uri::parse` cleans it (trailing slash dropped).
                let cleaned = match path.strip_suffix('/') {
                    Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
                    _ => path.clone(),
                };
                for candidate in [&path, &cleaned] {
                    let got = match_route(method, candidate);
                    assert_ne!(
                        got.action, UNKNOWN,
                        "{file}: {method} {candidate} ({pattern})"
                    );
                    assert_eq!(
                        got.action, expected,
                        "{file}: {method} {candidate} ({pattern})"
                    );
                    assert_eq!(
                        owned(&got),
                        params,
                        "{file}: {method} {candidate} ({pattern})"
                    );
                }
            }
        }
    }

    #[test]
    fn most_literal_route_wins_regardless_of_table_order() {
        // The overlapping pairs, scored directly (table order plays no part).
        let literals = |pattern, path| match_pattern(pattern, path).map(|(n, _)| n);
        let path = "/containers/bg/checkpoints/cp1";
        assert_eq!(literals("/containers/{name:.*}", path), Some(1));
        assert_eq!(
            literals("/containers/{name}/checkpoints/{checkpoint}", path),
            Some(2)
        );
        assert_eq!(
            literals("/debug/pprof/{name}", "/debug/pprof/trace"),
            Some(2)
        );
        assert_eq!(
            literals("/debug/pprof/trace", "/debug/pprof/trace"),
            Some(3)
        );
        assert_eq!(literals("/images/{name:.*}/json", "/images/json"), None);

        // For every concrete route path, the most literal match is unique, so
        // reordering the table could never change the answer.
        for route in ROUTES {
            let (path, _) = instantiate(route.pattern);
            let matching: Vec<(usize, &str)> = ROUTES
                .iter()
                .filter(|r| r.method == route.method)
                .filter_map(|r| match_pattern(r.pattern, &path).map(|(n, _)| (n, r.action)))
                .collect();
            let best = matching.iter().map(|&(n, _)| n).max().unwrap();
            let winners: BTreeSet<&str> = matching
                .iter()
                .filter(|&&(n, _)| n == best)
                .map(|&(_, a)| a)
                .collect();
            assert_eq!(
                winners,
                BTreeSet::from([route.action]),
                "{} {path}: {matching:?}",
                route.method
            );
        }
    }

    #[test]
    fn route_table_contains_only_fixture_routes() {
        let known: BTreeSet<_> = fixture_rows(MOBY_20_10)
            .into_iter()
            .chain(fixture_rows(MOBY_MASTER))
            .collect();
        let mut seen = BTreeSet::new();
        for route in ROUTES {
            assert!(
                known.contains(&(route.method, route.pattern)),
                "{} {} is in no fixture",
                route.method,
                route.pattern
            );
            assert!(
                seen.insert((route.method, route.pattern)),
                "duplicate {}",
                route.pattern
            );
        }
    }

    #[test]
    fn no_two_distinct_routes_share_an_action_except_documented_aliases() {
        let mut by_action: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for route in ROUTES {
            by_action
                .entry(route.action)
                .or_default()
                .push(format!("{} {}", route.method, route.pattern));
        }
        for (action, routes) in by_action {
            if routes.len() == 1 {
                continue;
            }
            let allowed = ALLOWED_ALIASES.iter().find(|(a, _)| *a == action);
            match allowed {
                Some((_, expected)) => assert_eq!(routes, *expected, "alias {action}"),
                None => panic!("{action} shared by {routes:?}"),
            }
        }
    }

    #[test]
    fn actions_are_well_formed_and_never_unknown() {
        for route in ROUTES {
            assert!(!route.action.is_empty());
            assert_ne!(route.action, UNKNOWN);
            assert!(
                route
                    .action
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                route.action
            );
        }
    }

    #[test]
    fn every_twistlock_action_name_is_used() {
        let ours: BTreeSet<&str> = ROUTES.iter().map(|r| r.action).collect();
        for line in TWISTLOCK.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let action = line.split('\t').nth(2).unwrap();
            assert!(ours.contains(action), "Twistlock action {action} unused");
        }
    }

    #[test]
    fn every_pattern_is_supported_by_the_matcher() {
        for route in ROUTES {
            let segments: Vec<Segment> = route.pattern[1..].split('/').map(parse_segment).collect();
            assert!(
                !segments.contains(&Segment::Unsupported),
                "{}",
                route.pattern
            );
            let params = segments
                .iter()
                .filter(|s| !matches!(s, Segment::Literal(_)))
                .count();
            assert!(params <= MAX_PARAMS, "{}", route.pattern);
            if let Some(i) = segments
                .iter()
                .position(|s| matches!(s, Segment::Many { .. }))
            {
                assert!(
                    segments[i + 1..]
                        .iter()
                        .all(|s| matches!(s, Segment::Literal(_))),
                    "only literals may follow a multi-segment placeholder: {}",
                    route.pattern
                );
            }
        }
    }

    /// `(method, path, expected action, expected params)`.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );

    #[test]
    fn hand_checked_cases_cover_precedence_names_and_unknowns() {
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Literal routes are not captured by the parameterised ones.
            ("POST", "/containers/create", "container_create", &[]),
            ("GET", "/containers/json", "container_list", &[]),
            ("POST", "/containers/prune", "container_prune", &[]),
            ("GET", "/containers/bg/json", "container_inspect", &[("name", "bg")]),
            ("GET", "/containers/json/json", "container_inspect", &[("name", "json")]),
            ("POST", "/containers/create/start", "container_start", &[("name", "create")]),
            ("DELETE", "/containers/bg", "container_delete", &[("name", "bg")]),
            ("DELETE", "/containers/a/b", "container_delete", &[("name", "a/b")]),
            // The checkpoint route beats the greedy container delete.
            ("DELETE", "/containers/bg/checkpoints/cp1", "container_checkpoint_delete",
                &[("name", "bg"), ("checkpoint", "cp1")]),
            ("GET", "/containers/bg/checkpoints", "container_checkpoint_list", &[("name", "bg")]),
            // Images: names with slashes, literal siblings.
            ("GET", "/images/json", "image_list", &[]),
            ("GET", "/images/a/b/json", "image_inspect", &[("name", "a/b")]),
            ("GET", "/images/library/busybox/json", "image_inspect", &[("name", "library/busybox")]),
            ("GET", "/images/get", "images_archive_multiple", &[]),
            ("GET", "/images/get/json", "image_inspect", &[("name", "get")]),
            ("GET", "/images/library/busybox:1.36/get", "images_archive",
                &[("name", "library/busybox:1.36")]),
            ("GET", "/images/search", "images_search", &[]),
            ("POST", "/images/create", "image_create", &[]),
            ("POST", "/images/load", "images_load", &[]),
            ("DELETE", "/images/registry:5000/team/app:v1", "image_delete",
                &[("name", "registry:5000/team/app:v1")]),
            ("POST", "/images/library/busybox/tag", "image_tag", &[("name", "library/busybox")]),
            ("POST", "/build", "image_build", &[]),
            // Archive: one name per method; HEAD is not GET.
            ("GET", "/containers/bg/archive", "container_archive", &[("name", "bg")]),
            ("HEAD", "/containers/bg/archive", "container_archive_info", &[("name", "bg")]),
            ("PUT", "/containers/bg/archive", "container_archive_extract", &[("name", "bg")]),
            ("HEAD", "/containers/json", UNKNOWN, &[]),
            ("GET", "/containers/bg/attach/ws", "container_attach_websocket", &[("name", "bg")]),
            // Exec.
            ("POST", "/containers/bg/exec", "container_exec_create", &[("name", "bg")]),
            ("POST", "/exec/e1/start", "container_exec_start", &[("name", "e1")]),
            ("POST", "/exec/e1/resize", "container_exec_resize", &[("name", "e1")]),
            ("GET", "/exec/e1/json", "container_exec_inspect", &[("id", "e1")]),
            // System.
            ("GET", "/_ping", "docker_ping", &[]),
            ("HEAD", "/_ping", "docker_ping", &[]),
            ("GET", "/version", "docker_version", &[]),
            ("GET", "/info", "docker_info", &[]),
            ("POST", "/auth", "docker_auth", &[]),
            ("GET", "/events", "docker_events", &[]),
            ("POST", "/events", UNKNOWN, &[]),
            ("GET", "/system/df", "system_df", &[]),
            ("OPTIONS", "/", "docker_options", &[("anyroute", "")]),
            ("OPTIONS", "/containers/json", "docker_options", &[("anyroute", "containers/json")]),
            // Networks: `.+` takes slashes, trailing-slash alias.
            ("GET", "/networks", "network_list", &[]),
            ("GET", "/networks/", "network_list", &[]),
            ("GET", "/networks/a/b", "network_inspect", &[("id", "a/b")]),
            ("POST", "/networks/n1/connect", "network_connect", &[("id", "n1")]),
            // Debug: literals beat `{name}`; cleaned index path.
            ("GET", "/debug/pprof/cmdline", "debug_pprof_cmdline", &[]),
            ("GET", "/debug/pprof/heap", "debug_pprof_lookup", &[("name", "heap")]),
            ("GET", "/debug/pprof", "debug_pprof_index", &[]),
            // Plugins, swarm, volumes.
            ("GET", "/plugins/privileges", "plugin_privileges", &[]),
            ("POST", "/plugins/pull", "plugin_install", &[]),
            ("GET", "/plugins/vieux/sshfs:latest/json", "plugin_inspect",
                &[("name", "vieux/sshfs:latest")]),
            ("GET", "/services/s1/logs", "service_logs", &[("id", "s1")]),
            ("GET", "/services/a/b", UNKNOWN, &[]),
            ("GET", "/tasks/t1/logs", "task_logs", &[("id", "t1")]),
            ("GET", "/swarm/unlockkey", "swarm_unlock_key", &[]),
            ("GET", "/volumes/create", "volume_inspect", &[("name", "create")]),
            ("PUT", "/volumes/v1", "volume_update", &[("name", "v1")]),
            ("GET", "/distribution/library/busybox/json", "distribution_inspect",
                &[("name", "library/busybox")]),
            // Unknowns.
            ("GET", "/containers/create", UNKNOWN, &[]),
            ("POST", "/nope", UNKNOWN, &[]),
            ("PATCH", "/containers/json", UNKNOWN, &[]),
            ("GET", "/", UNKNOWN, &[]),
            ("get", "/containers/json", UNKNOWN, &[]),
            ("GET", "containers/json", UNKNOWN, &[]),
            ("GET", "", UNKNOWN, &[]),
            ("GET", "/containers/json/extra", UNKNOWN, &[]),
            ("POST", "/containers//start", "container_start", &[("name", "")]),
        ];
        for &(method, path, action, params) in cases {
            let got = match_route(method, path);
            let expected = RouteMatch {
                action,
                params: params.iter().map(|&(k, v)| (k, v.to_owned())).collect(),
            };
            assert_eq!(got, expected, "{method} {path}");
        }
    }
}
