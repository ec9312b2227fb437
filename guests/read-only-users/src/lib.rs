//! `read-only-users`: the OPA Docker tutorial's user access control (steps
//! 12–16) as a Portcullis guest. Only the users listed in the config may use
//! Docker at all; those marked read-only may only look.
//!
//! ```toml
//! [[module]]
//! name = "read-only-users"
//! path = "target/wasm32-wasip1/release/read_only_users.wasm"
//! [module.config.users]                 # the tutorial's users.json
//! alice = { read_only = false }         # may do anything (other modules permitting)
//! bob = { readOnly = true }             # the tutorial's spelling works too
//! ```
//!
//! # Who is calling
//!
//! By default the identity is the user Docker authenticated: the CN of the
//! TLS client certificate ([`Request::user`]), the only identity a client
//! cannot forge. A call without one (a plain Unix socket) is denied.
//!
//! The tutorial identifies users by an HTTP header instead (`Authz-User`,
//! set in `~/.docker/config.json`'s `HttpHeaders`). That has to be asked for:
//!
//! ```toml
//! [module.config]
//! identity_header = "Authz-User"
//! ```
//!
//! **Warning: a header is chosen by the client.** Anyone who can reach the
//! Docker socket can send `Authz-User: alice` and become alice; with a header
//! identity this module restricts honest users, it does not stop a hostile
//! one. Use it only where every client is trusted (a local demo, the
//! tutorial), or behind a proxy that authenticates clients and sets the
//! header itself, stripping any the client sent.
//!
//! With `identity_header` set:
//!
//! - a call Docker authenticated with TLS is still judged as its **TLS user**
//!   and the header is ignored: a forgeable claim never overrides an
//!   authenticated identity, so a certificate holder cannot become someone
//!   else by adding a header (and a read-only user cannot escape with one);
//! - a call without a TLS user is judged as the user the header names
//!   (matched by name case-insensitively, value exactly);
//! - a call with neither is denied: `no Authz-User header`.
//!
//! # Decisions (request phase)
//!
//! - The identity is not a key of `users`: deny (`unknown user "carol"`),
//!   as the tutorial's policy leaves `allow_request` undefined.
//! - A read-only user: `GET` and `HEAD` only, and not
//!   `container_attach_websocket` (a `GET` that writes to a container's
//!   stdin, as in the `read-only` guest). The tutorial allowed only `GET`;
//!   `HEAD` is a read too and the Docker CLI pings with it.
//! - Any other listed user: allow. This module only decides who may write;
//!   what may be written is other modules' business (`hardening`, …).
//!
//! The response phase is always allowed: the call was judged when it was
//! requested.
//!
//! # Checked at load
//!
//! An empty or missing `users` table (every call would be denied), an empty
//! user name, a user without `read_only`, an `identity_header` that is not a
//! valid header name, and any unknown key are refused.

use std::collections::BTreeMap;

use portcullis_sdk::{Decision, Phase, Request, export_policy};
use serde::Deserialize;

/// `[module.config]` of `read-only-users`.
///
/// Invariant: `users` is not empty, no user name is empty, and
/// `identity_header` (if any) is a valid HTTP header name (checked when it
/// is deserialized).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    users: BTreeMap<String, User>,
    identity_header: Option<String>,
}

/// What the config says about one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Restricted to reads (`readOnly` in the tutorial's users.json).
    #[serde(alias = "readOnly")]
    pub read_only: bool,
}

impl Config {
    /// The listed user `name`, if any.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// The header that names the user on calls without a TLS user, if opted into.
    pub fn identity_header(&self) -> Option<&str> {
        self.identity_header.as_deref()
    }
}

/// Who a call is from, and how that was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity<'a> {
    /// The TLS user Docker authenticated.
    Tls(&'a str),
    /// The value of the configured identity header (client-chosen).
    Header(&'a str),
}

impl Identity<'_> {
    /// The user name.
    pub fn name(&self) -> &str {
        match self {
            Identity::Tls(name) | Identity::Header(name) => name,
        }
    }
}

/// The identity this module judges `req` as, or the deny message when there
/// is none: the TLS user if Docker reports one, else the configured header.
pub fn identity<'r>(req: &'r Request, config: &Config) -> Result<Identity<'r>, String> {
    if let Some(user) = req.user().filter(|u| !u.is_empty()) {
        return Ok(Identity::Tls(user));
    }
    match config.identity_header() {
        None => Err("no authenticated user: Docker reported no TLS client certificate".to_owned()),
        Some(header) => match req.header(header).filter(|v| !v.is_empty()) {
            Some(name) => Ok(Identity::Header(name)),
            None => Err(format!("no {header} header")),
        },
    }
}

/// The policy: unknown users are denied, read-only users may only read.
pub fn authorize(req: &Request, config: &Config) -> Decision {
    if req.phase() == Phase::Response {
        return Decision::allow(); // judged in the request phase
    }
    let who = match identity(req, config) {
        Ok(who) => who,
        Err(msg) => return Decision::deny(msg),
    };
    let Some(user) = config.user(who.name()) else {
        return Decision::deny(format!("unknown user {:?}", who.name()));
    };
    if !user.read_only || req.is_read_only() {
        return Decision::allow();
    }
    Decision::deny(format!(
        "{} is read-only: {} {} is not allowed",
        who.name(),
        req.method(),
        req.path()
    ))
}

export_policy!(authorize, Config);

/// `[module.config]` as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    users: BTreeMap<String, User>,
    #[serde(default)]
    identity_header: Option<String>,
}

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Config, String> {
        if raw.users.is_empty() {
            return Err("users is empty: this module would deny every call".to_owned());
        }
        if raw.users.contains_key("") {
            return Err("users: a user name may not be empty".to_owned());
        }
        if let Some(header) = &raw.identity_header {
            // RFC 9110 token characters.
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if header.is_empty() || !header.chars().all(token) {
                return Err(format!(
                    "identity_header {header:?} is not an HTTP header name"
                ));
            }
        }
        Ok(Config {
            users: raw.users,
            identity_header: raw.identity_header,
        })
    }
}

// The SDK's test helpers exist natively only, so a wasm32 `--all-targets`
// build (clippy) skips the tests instead of failing on them.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use portcullis_sdk::testing::{RequestBuilder, fixture, fixture_response};
    use portcullis_sdk::{assert_allowed, assert_denied};
    use serde_json::json;

    use super::*;

    /// The tutorial's users.json (alice writes, bob reads), header identity.
    fn tutorial() -> Config {
        serde_json::from_value(json!({
            "identity_header": "Authz-User",
            "users": {"alice": {"readOnly": false}, "bob": {"readOnly": true}},
        }))
        .unwrap()
    }

    /// The same users, identified by TLS only.
    fn tls_only() -> Config {
        serde_json::from_value(json!({
            "users": {"alice": {"read_only": false}, "bob": {"read_only": true}},
        }))
        .unwrap()
    }

    fn run_as(header_user: &str) -> RequestBuilder {
        RequestBuilder::post_json("/v1.41/containers/create", r#"{"Image":"hello-world"}"#)
            .header("Authz-User", header_user)
    }

    #[test]
    fn step_15_bob_may_not_run_a_container() {
        assert_denied!(
            authorize(&run_as("bob").build(), &tutorial()),
            "bob is read-only: POST /containers/create is not allowed"
        );
    }

    #[test]
    fn step_16_alice_may_run_a_container() {
        assert_allowed!(authorize(&run_as("alice").build(), &tutorial()));
    }

    #[test]
    fn bob_may_read() {
        for (method, uri) in [
            ("GET", "/v1.41/containers/json"),
            ("HEAD", "/_ping"),
            ("GET", "/v1.41/images/json"),
        ] {
            let req = RequestBuilder::new(method, uri)
                .header("Authz-User", "bob")
                .build();
            assert_allowed!(authorize(&req, &tutorial()));
        }
    }

    #[test]
    fn bob_may_not_attach_through_a_websocket_get() {
        let ws = RequestBuilder::get("/v1.41/containers/bg/attach/ws?stdin=1")
            .header("Authz-User", "bob")
            .build();
        assert_denied!(authorize(&ws, &tutorial()), "bob is read-only");
    }

    #[test]
    fn unknown_users_are_denied_even_for_reads() {
        let req = RequestBuilder::get("/v1.41/containers/json")
            .header("Authz-User", "carol")
            .build();
        assert_denied!(authorize(&req, &tutorial()), "unknown user \"carol\"");
    }

    #[test]
    fn user_names_are_exact_but_the_header_name_is_not() {
        let req = RequestBuilder::get("/v1.41/containers/json")
            .header("Authz-User", "Alice")
            .build();
        assert_denied!(authorize(&req, &tutorial()), "unknown user \"Alice\"");
        // Header names are case-insensitive in HTTP; any spelling is found.
        let lower = RequestBuilder::post_json("/v1.41/containers/create", "{}")
            .header("authz-user", "alice")
            .build();
        assert_allowed!(authorize(&lower, &tutorial()));
    }

    #[test]
    fn a_missing_or_empty_header_is_denied() {
        for req in [
            fixture("ps__02_GET_containers-json.json"),
            RequestBuilder::get("/v1.41/containers/json")
                .header("Authz-User", "")
                .build(),
        ] {
            assert_denied!(authorize(&req, &tutorial()), "no Authz-User header");
        }
    }

    #[test]
    fn the_tls_user_wins_over_the_header() {
        // bob cannot become alice by adding a header…
        let req = run_as("alice").user("bob").build();
        assert_denied!(authorize(&req, &tutorial()), "bob is read-only");
        // …and a TLS user is identified without any header.
        let req = RequestBuilder::post_json("/v1.41/containers/create", "{}")
            .user("alice")
            .build();
        assert_allowed!(authorize(&req, &tutorial()));
        // An unlisted TLS user stays unknown whatever the header says.
        let req = run_as("alice").user("mallory").build();
        assert_denied!(authorize(&req, &tutorial()), "unknown user \"mallory\"");
    }

    #[test]
    fn without_opt_in_the_header_is_ignored() {
        let req = run_as("alice").build();
        assert_denied!(authorize(&req, &tls_only()), "no authenticated user");
        let req = run_as("alice").user("bob").build();
        assert_denied!(authorize(&req, &tls_only()), "bob is read-only");
    }

    #[test]
    fn tls_users_from_captured_requests() {
        // tls_version_plugin1: GET /version with a client certificate for "alice".
        let req = fixture("tls_version_plugin1__02_GET_version.json");
        assert_eq!(req.user(), Some("alice"));
        assert_allowed!(authorize(&req, &tls_only()));
        let readers: Config =
            serde_json::from_value(json!({"users": {"alice": {"read_only": true}}})).unwrap();
        assert_allowed!(authorize(&req, &readers));
    }

    #[test]
    fn captured_anonymous_calls_are_denied_by_default() {
        assert_denied!(
            authorize(
                &fixture("create_bg__02_POST_containers-create.json"),
                &tls_only()
            ),
            "no authenticated user"
        );
    }

    #[test]
    fn response_phase_is_not_rejudged() {
        assert_allowed!(authorize(
            &fixture_response("create_bg__02_POST_containers-create.json"),
            &tutorial()
        ));
    }

    #[test]
    fn both_spellings_of_read_only_are_accepted() {
        let config = tutorial();
        assert_eq!(config.user("bob"), Some(&User { read_only: true }));
        assert_eq!(config.user("alice"), Some(&User { read_only: false }));
        assert_eq!(tls_only().user("bob"), Some(&User { read_only: true }));
    }

    #[test]
    fn config_mistakes_are_refused_at_load() {
        for (json, needle) in [
            (json!({}), "missing field `users`"),
            (json!({"users": {}}), "users is empty"),
            (
                json!({"users": {"": {"read_only": true}}}),
                "may not be empty",
            ),
            (json!({"users": {"bob": {}}}), "missing field `read_only`"),
            (
                json!({"users": {"bob": {"read_only": true, "readOnly": true}}}),
                "duplicate field",
            ),
            (
                json!({"users": {"bob": {"readonly": true}}}),
                "unknown field `readonly`",
            ),
            (
                json!({"users": {"bob": {"read_only": "yes"}}}),
                "expected a boolean",
            ),
            (
                json!({"users": {"bob": {"read_only": true}}, "identity_header": "Authz User"}),
                "not an HTTP header name",
            ),
            (
                json!({"users": {"bob": {"read_only": true}}, "identity_header": ""}),
                "not an HTTP header name",
            ),
            (
                json!({"users": {"bob": {"read_only": true}}, "header": "Authz-User"}),
                "unknown field `header`",
            ),
        ] {
            let error = serde_json::from_value::<Config>(json.clone())
                .expect_err("the config should be refused")
                .to_string();
            assert!(error.contains(needle), "{json}: {error}");
        }
    }

    #[test]
    fn entry_point_speaks_abi_v1() {
        let envelope = run_as("bob")
            .config(json!({
                "identity_header": "Authz-User",
                "users": {"bob": {"readOnly": true}},
            }))
            .envelope();
        let answer: serde_json::Value =
            serde_json::from_slice(&portcullis_entry::authorize(&envelope)).unwrap();
        assert_eq!(answer["allow"], false);
        assert_eq!(
            answer["msg"],
            "bob is read-only: POST /containers/create is not allowed"
        );
        assert_eq!(
            portcullis_entry::validate_config(br#"{"users":{"bob":{"readOnly":true}}}"#),
            br#"{"allow":true}"#
        );
        assert!(portcullis_entry::validate_config(b"{}").starts_with(br#"{"allow":false"#));
    }
}
