//! `api-allowlist`: only the Docker API calls the administrator listed get
//! through — the Go "authobot" seed's whitelist, done on Portcullis's stable
//! action names instead of unanchored regexes on the raw URI.
//!
//! ```toml
//! [[module]]
//! name = "api-allowlist"
//! path = "target/wasm32-wasip1/release/api_allowlist.wasm"
//! [module.config]
//! allow = [
//!     "docker_ping",                                       # an action name
//!     "docker_version",
//!     "container_create",
//!     "container_start",
//!     "image_*",                                           # an anchored glob
//!     { action = "container_*", methods = ["GET", "HEAD"] }, # restricted to methods
//! ]
//! ```
//!
//! # Entries
//!
//! Each entry of `allow` is either a string or an inline table
//! `{ action = "…", methods = ["…"] }` (TOML 1.0 arrays may mix both).
//!
//! - `action` is an action name from the host's route table
//!   (`runtime/envelope/src/routes.rs`: `container_create`, `image_list`,
//!   `docker_ping`, …) or a glob on those names in which `*` stands for any
//!   run of characters, empty included. A glob is **anchored at both ends**:
//!   `container_*` matches `container_create` but not `xcontainer_create`,
//!   `*_create` matches `volume_create` but not `volume_create_x`. `*` is the
//!   only wildcard: no `?`, no classes, no regexes, and no paths — an entry
//!   may only contain lower-case letters, digits, `_` and `*`, so a regex or
//!   a URI pasted from another plugin's config is refused at load instead of
//!   silently matching nothing.
//! - `methods` (optional) limits the entry to those HTTP methods (any case
//!   in the config, compared upper-case, as Docker routes them). Most actions
//!   already imply one method; `methods` matters with globs:
//!   `{ action = "*", methods = ["GET", "HEAD"] }` is every known `GET` and
//!   `HEAD` route (mind `container_attach_websocket`, a `GET` that writes to
//!   a container's stdin).
//!
//! # Unknown routes
//!
//! Calls that match no Engine API route have the action `unknown`. **No
//! glob ever matches `unknown`**, not even `*`: a call Portcullis cannot
//! name is not one the administrator can have meant to allow with a
//! wildcard. Only the literal entry `"unknown"` (optionally with `methods`)
//! lets such calls through.
//!
//! # Decisions
//!
//! - Request phase: allow when some entry matches the call's action (and
//!   method), otherwise deny with `<METHOD> <path> (<action>) is not in the
//!   allowlist`, e.g. `GET /containers/json (container_list) is not in the
//!   allowlist`. The path is the one Docker routes on (decoded, cleaned, no
//!   `/vX.Y`, no query), so encodings and version prefixes change nothing.
//! - Response phase: allow (the call was judged when it was requested).
//!
//! # Checked at load
//!
//! The config is refused, and Portcullis does not start, when `allow` is
//! missing or **empty** (a module that denies every call is almost surely a
//! mistake; an administrator who really wants Docker shut is better served
//! by stopping dockerd), when an entry is empty or uses characters other
//! than `a-z`, `0-9`, `_`, `*`, when `methods` is empty or names a method
//! other than `GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `OPTIONS`, `PATCH`,
//! and on any unknown key (at the top or inside an entry). Entries are not
//! checked against the route table: an action name that exists in no route
//! simply never matches.

use std::fmt;

use portcullis_sdk::{Decision, Phase, Request, export_policy};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};

/// The action of calls that match no Engine API route.
use portcullis_sdk::actions::{self, UNKNOWN};

/// The HTTP methods an entry's `methods` may name.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// `[module.config]` of `api-allowlist`: the calls that may go through.
///
/// Invariant: at least one entry; every pattern is well formed and every
/// method list non-empty and upper-case (checked when it is deserialized).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    entries: Vec<Entry>,
}

impl Config {
    /// Whether a call with this HTTP `method` and route `action` is listed.
    pub fn allows(&self, method: &str, action: &str) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.matches(method, action))
    }
}

/// The policy: allow the listed calls, deny every other one.
pub fn authorize(req: &Request, config: &Config) -> Decision {
    if req.phase() == Phase::Response {
        return Decision::allow(); // judged in the request phase
    }
    if config.allows(req.method(), req.action()) {
        Decision::allow()
    } else {
        Decision::deny(format!(
            "{} {} ({}) is not in the allowlist",
            req.method(),
            req.path(),
            req.action()
        ))
    }
}

export_policy!(authorize, Config, judges_unknown_writes);

/// One checked entry of `allow`.
#[derive(Debug, Clone)]
struct Entry {
    pattern: Pattern,
    /// Upper-case methods the entry is limited to; `None`: any method.
    methods: Option<Vec<String>>,
}

impl Entry {
    fn matches(&self, method: &str, action: &str) -> bool {
        self.pattern.matches(action)
            && self
                .methods
                .as_ref()
                .is_none_or(|methods| methods.iter().any(|m| m == method))
    }
}

/// An action name, or a glob on action names.
#[derive(Debug, Clone)]
enum Pattern {
    /// Exactly this action (`unknown` only ever matches this way).
    Exact(String),
    /// A pattern with at least one `*`, split at the stars: the text must
    /// start with `prefix`, contain each of `middle` in order, and end with
    /// `suffix`, none of them overlapping.
    Glob {
        prefix: String,
        middle: Vec<String>,
        suffix: String,
    },
}

impl Pattern {
    /// Checks the syntax of one pattern.
    fn parse(text: &str) -> Result<Pattern, String> {
        if text.is_empty() {
            return Err("an empty action pattern matches nothing".to_owned());
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '*'))
        {
            return Err(format!(
                "{text:?} contains {bad:?}: an entry is an action name such as \
                 \"container_list\" (a-z, 0-9, _) with optional * wildcards, \
                 never a regex or a path"
            ));
        }
        let mut parts: Vec<String> = text.split('*').map(str::to_owned).collect();
        if parts.len() == 1 {
            return Ok(Pattern::Exact(text.to_owned()));
        }
        let suffix = parts.pop().unwrap_or_default();
        let prefix = parts.remove(0);
        let middle = parts.into_iter().filter(|p| !p.is_empty()).collect();
        Ok(Pattern::Glob {
            prefix,
            middle,
            suffix,
        })
    }

    fn matches(&self, action: &str) -> bool {
        match self {
            Pattern::Exact(name) => name == action,
            Pattern::Glob { .. } if action == UNKNOWN => false,
            Pattern::Glob {
                prefix,
                middle,
                suffix,
            } => {
                let Some(mut rest) = action.strip_prefix(prefix.as_str()) else {
                    return false;
                };
                for part in middle {
                    // Leftmost match is always safe with `*`-only globs.
                    match rest.find(part.as_str()) {
                        Some(at) => rest = &rest[at + part.len()..],
                        None => return false,
                    }
                }
                rest.ends_with(suffix.as_str())
            }
        }
    }
}

/// `[module.config]` as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    allow: Vec<RawEntry>,
}

/// One entry as written: `"name"` or `{ action = "name", methods = [...] }`.
enum RawEntry {
    Action(String),
    Table(RawTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    action: String,
    methods: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an action name or glob, or a table { action = \"…\", methods = [\"GET\", …] }",
                )
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawEntry, E> {
                Ok(RawEntry::Action(value.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEntry, A::Error> {
                RawTable::deserialize(MapAccessDeserializer::new(map)).map(RawEntry::Table)
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Config, String> {
        if raw.allow.is_empty() {
            return Err(
                "allow is empty: this module would deny every call; list the calls to allow"
                    .to_owned(),
            );
        }
        let entries = raw
            .allow
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                check_entry(entry).map_err(|reason| format!("allow[{index}]: {reason}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Config { entries })
    }
}

/// An entry must name an action of the route table (or `unknown`), or
/// be a glob that matches at least one: a typo must not silently allow
/// nothing.
fn check_known(text: &str, pattern: &Pattern) -> Result<(), String> {
    let known = match pattern {
        Pattern::Exact(name) => name == UNKNOWN || actions::is_action(name),
        Pattern::Glob { .. } => actions::all().any(|action| pattern.matches(action)),
    };
    if known {
        Ok(())
    } else {
        Err(format!(
            "{text:?} names no action of Docker's API (Portcullis's route table)"
        ))
    }
}

/// Checks one entry: its pattern and its methods.
fn check_entry(entry: RawEntry) -> Result<Entry, String> {
    let (action, methods) = match entry {
        RawEntry::Action(action) => (action, None),
        RawEntry::Table(table) => (table.action, table.methods),
    };
    let pattern = Pattern::parse(&action)?;
    check_known(&action, &pattern)?;
    let methods = match methods {
        None => None,
        Some(methods) if methods.is_empty() => {
            return Err(format!(
                "{action:?} has an empty methods list and would match nothing"
            ));
        }
        Some(methods) => Some(
            methods
                .iter()
                .map(|method| {
                    let upper = method.to_ascii_uppercase();
                    if METHODS.contains(&upper.as_str()) {
                        Ok(upper)
                    } else {
                        Err(format!(
                            "{action:?}: {method:?} is not an HTTP method Docker serves ({})",
                            METHODS.join(", ")
                        ))
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Entry { pattern, methods })
}

// The SDK's test helpers exist natively only, so a wasm32 `--all-targets`
// build (clippy) skips the tests instead of failing on them.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use portcullis_sdk::testing::{RequestBuilder, fixture, fixture_response};
    use portcullis_sdk::{assert_allowed, assert_denied};
    use serde_json::json;

    use super::*;

    fn config(json: serde_json::Value) -> Config {
        serde_json::from_value(json).expect("valid config")
    }

    fn config_error(json: serde_json::Value) -> String {
        serde_json::from_value::<Config>(json)
            .expect_err("the config should be refused")
            .to_string()
    }

    /// The authobot seed's whitelist, as recommended for examples/authobot.
    fn authobot() -> Config {
        config(json!({"allow": [
            "docker_ping", "docker_version",
            "container_create", "container_start", "container_stop", "container_kill",
            "container_inspect", "container_exec_create", "container_attach",
            "container_wait", "container_resize",
            "container_exec_start", "container_exec_inspect",
            "image_build", "image_create", "image_inspect", "image_push", "image_tag",
            "image_delete",
        ]}))
    }

    #[test]
    fn allows_every_call_of_the_captured_docker_run_sessions() {
        for name in [
            "create_bg__01_HEAD_ping.json",
            "create_bg__02_POST_containers-create.json",
            "create_bg__03_POST_containers-ID-wait.json",
            "create_bg__04_POST_containers-ID-start.json",
            "run_it__03_POST_containers-ID-attach.json",
            "attach_short__07_GET_containers-att-json.json",
            "exec__02_GET_containers-bg-json.json",
            "exec__03_POST_containers-bg-exec.json",
            "exec__04_POST_exec-ID-start.json",
            "exec__05_GET_exec-ID-json.json",
            "version__02_GET_version.json",
            "pull_fail__02_POST_images-create.json",
        ] {
            assert_allowed!(authorize(&fixture(name), &authobot()));
        }
    }

    #[test]
    fn denies_docker_ps_as_the_seed_did() {
        assert_denied!(
            authorize(&fixture("ps__02_GET_containers-json.json"), &authobot()),
            "GET /containers/json (container_list) is not in the allowlist"
        );
    }

    #[test]
    fn denies_unlisted_captured_calls() {
        for name in [
            "rm_force__02_DELETE_containers-att.json",
            "volume_create__02_POST_volumes-create.json",
            "import__04_GET_images-json.json",
            "cp_to__03_PUT_containers-bg-archive.json",
        ] {
            assert_denied!(
                authorize(&fixture(name), &authobot()),
                "is not in the allowlist"
            );
        }
    }

    #[test]
    fn names_the_route_not_the_uri_so_encodings_change_nothing() {
        for uri in [
            "/v1.41/containers/json",
            "/containers%2Fjson",
            "//v1.41/containers/./json/",
        ] {
            assert_denied!(
                authorize(&RequestBuilder::get(uri).build(), &authobot()),
                "GET /containers/json (container_list)"
            );
        }
    }

    #[test]
    fn closes_the_seeds_unanchored_regex_bypass() {
        // The seed's `/v.*/containers/.+/start` matched this URI, but Docker
        // routes it to plugin_enable (a plugin named "evil/containers/x/start").
        let req =
            RequestBuilder::new("POST", "/v1.41/plugins/evil/containers/x/start/enable").build();
        assert_denied!(authorize(&req, &authobot()), "(plugin_enable)");
    }

    /// A pattern's matcher alone (any text, not only the table's names).
    fn glob(pattern: &str) -> impl Fn(&str) -> bool {
        let pattern = Pattern::parse(pattern).unwrap();
        move |text| pattern.matches(text)
    }

    #[test]
    fn globs_are_anchored_at_both_ends() {
        let containers = glob("container_*");
        assert!(containers("container_create"));
        assert!(containers("container_list"));
        assert!(!containers("xcontainer_create"));
        let creates = glob("*_create");
        assert!(creates("volume_create"));
        assert!(!creates("volume_create_x"));
        let inspects = glob("image*inspect");
        assert!(inspects("image_inspect"));
        assert!(inspects("imageinspect"));
        assert!(!inspects("image_inspect_x"));
        assert!(!inspects("ximage_inspect"));
        assert!(!inspects("image_list"));
        let exact = glob("container_create");
        assert!(!exact("container_create_x"));
        assert!(!exact("container_creat"));
    }

    #[test]
    fn glob_parts_never_overlap() {
        assert!(glob("a*a")("aa"));
        assert!(!glob("a*a")("a"));
        assert!(glob("ab*b*ba")("abbba"));
        assert!(!glob("ab*b*ba")("abba"));
        assert!(!glob("ab*b*ba")("aba"));
        assert!(glob("a**b")("ab"));
    }

    #[test]
    fn entries_must_name_actions_of_the_route_table() {
        for entry in ["container_creat", "containers_*", "docker_pong"] {
            let json = serde_json::to_vec(&json!({ "allow": [entry] })).unwrap();
            let answer = portcullis_entry::validate_config(&json);
            assert!(
                String::from_utf8_lossy(&answer).contains("names no action of Docker's API"),
                "{entry}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        config(json!({ "allow": ["unknown", "container_*", "docker_ping"] }));
    }

    #[test]
    fn a_star_allows_every_known_route_but_never_unknown_ones() {
        let star = config(json!({"allow": ["*"]}));
        assert_allowed!(authorize(
            &fixture("ps__02_GET_containers-json.json"),
            &star
        ));
        let unknown = RequestBuilder::get("/v1.41/no/such/route").build();
        assert_eq!(unknown.action(), "unknown");
        assert_denied!(
            authorize(&unknown, &star),
            "GET /no/such/route (unknown) is not in the allowlist"
        );
        // Globs never match it, not even those that match no action at all.
        for pattern in ["unknown*", "*unknown", "unk*wn", "*n*"] {
            assert!(!Pattern::parse(pattern).unwrap().matches("unknown"));
        }
    }

    #[test]
    fn unknown_routes_pass_only_when_listed_literally() {
        let unknown = RequestBuilder::get("/v1.41/no/such/route").build();
        assert_allowed!(authorize(&unknown, &config(json!({"allow": ["unknown"]}))));
        let only_get = config(json!({"allow": [{"action": "unknown", "methods": ["GET"]}]}));
        assert_allowed!(authorize(&unknown, &only_get));
        let post = RequestBuilder::new("POST", "/v1.41/no/such/route").build();
        assert_denied!(authorize(&post, &only_get), "(unknown)");
    }

    #[test]
    fn methods_restrict_an_entry() {
        let reads = config(json!({"allow": [
            "docker_ping",
            {"action": "container_*", "methods": ["get", "HEAD"]},
        ]}));
        assert_allowed!(authorize(
            &fixture("ps__02_GET_containers-json.json"),
            &reads
        ));
        assert_allowed!(authorize(
            &fixture("exec__02_GET_containers-bg-json.json"),
            &reads
        ));
        assert_denied!(
            authorize(
                &fixture("create_bg__02_POST_containers-create.json"),
                &reads
            ),
            "POST /containers/create (container_create) is not in the allowlist"
        );
        // A table without methods is the same as the bare string.
        let plain = config(json!({"allow": [{"action": "container_create"}]}));
        assert!(plain.allows("POST", "container_create"));
    }

    #[test]
    fn response_phase_is_not_rejudged() {
        assert_allowed!(authorize(
            &fixture_response("ps__02_GET_containers-json.json"),
            &authobot()
        ));
    }

    #[test]
    fn config_mistakes_are_refused_at_load() {
        for (json, needle) in [
            (json!({}), "missing field `allow`"),
            (json!({"allow": []}), "allow is empty"),
            (json!({"allow": ["docker_ping", ""]}), "allow[1]: an empty"),
            (
                json!({"allow": ["/v.*/containers/create"]}),
                "never a regex or a path",
            ),
            (json!({"allow": ["Container_create"]}), "contains 'C'"),
            (json!({"allow": ["container_?"]}), "contains '?'"),
            (
                json!({"allow": [{"action": "docker_ping", "methods": []}]}),
                "empty methods",
            ),
            (
                json!({"allow": [{"action": "docker_ping", "methods": ["FETCH"]}]}),
                "\"FETCH\" is not an HTTP method",
            ),
            (
                json!({"allow": [{"action": "docker_ping", "method": ["GET"]}]}),
                "unknown field `method`",
            ),
            (
                json!({"allow": [{"methods": ["GET"]}]}),
                "missing field `action`",
            ),
            (json!({"allow": [42]}), "an action name or glob"),
            (
                json!({"allow": ["x"], "deny": ["y"]}),
                "unknown field `deny`",
            ),
        ] {
            let error = config_error(json.clone());
            assert!(error.contains(needle), "{json}: {error}");
        }
    }

    #[test]
    fn entry_point_speaks_abi_v1() {
        let envelope = RequestBuilder::get("/v1.41/containers/json")
            .config(json!({"allow": ["docker_ping"]}))
            .envelope();
        let answer: serde_json::Value =
            serde_json::from_slice(&portcullis_entry::authorize(&envelope)).unwrap();
        assert_eq!(answer["allow"], false);
        assert_eq!(
            answer["msg"],
            "GET /containers/json (container_list) is not in the allowlist"
        );
        assert_eq!(
            portcullis_entry::validate_config(br#"{"allow":["image_*"]}"#),
            br#"{"allow":true}"#
        );
        for refused in [&b"{}"[..], br#"{"allow":[]}"#, br#"{"allow":["a.b"]}"#] {
            assert!(
                portcullis_entry::validate_config(refused).starts_with(br#"{"allow":false"#),
                "{}",
                String::from_utf8_lossy(refused)
            );
        }
    }
}
