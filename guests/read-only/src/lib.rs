//! `read-only`: the users named in its config may only look, never touch.
//!
//! A listed user gets `GET` and `HEAD` calls only, minus the few `GET`s that
//! write (attaching a websocket to a container's stdin). Identity is the
//! TLS-authenticated user Docker reports; other users are not this module's
//! business.

use portcullis_sdk::{Decision, Request, export_policy};
use serde::Deserialize;

/// `[module.config]` of `read-only`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Users restricted to read-only calls.
    pub users: Vec<String>,
    /// Also restrict calls with no authenticated user (a plain Unix socket).
    #[serde(default)]
    pub anonymous: bool,
}

/// The policy.
pub fn authorize(req: &Request, config: &Config) -> Decision {
    let restricted = match req.user() {
        Some(user) => config.users.iter().any(|u| u == user),
        None => config.anonymous,
    };
    if !restricted || req.is_read_only() {
        return Decision::allow();
    }
    let who = req.user().unwrap_or("anonymous users");
    Decision::deny(format!(
        "{who} is read-only: {} {} is not allowed",
        req.method(),
        req.path()
    ))
}

export_policy!(authorize, Config);

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing::{RequestBuilder, fixture};
    use portcullis_sdk::{assert_allowed, assert_denied};

    use super::*;

    fn config() -> Config {
        Config {
            users: vec!["alice".into()],
            anonymous: false,
        }
    }

    #[test]
    fn a_listed_user_may_read() {
        let ping = RequestBuilder::new("HEAD", "/_ping").user("alice").build();
        assert_allowed!(authorize(&ping, &config()));
        let ps = RequestBuilder::get("/v1.41/containers/json")
            .user("alice")
            .build();
        assert_allowed!(authorize(&ps, &config()));
    }

    #[test]
    fn a_listed_user_may_not_write() {
        let create = RequestBuilder::post_json("/v1.41/containers/create", "{}")
            .user("alice")
            .build();
        assert_denied!(
            authorize(&create, &config()),
            "alice is read-only: POST /containers/create"
        );
    }

    #[test]
    fn a_listed_user_may_not_attach_through_a_websocket_get() {
        let ws = RequestBuilder::get("/v1.41/containers/bg/attach/ws?stdin=1")
            .user("alice")
            .build();
        assert_denied!(authorize(&ws, &config()), "read-only");
    }

    #[test]
    fn other_users_and_anonymous_calls_are_not_restricted_by_default() {
        let bob = RequestBuilder::post_json("/v1.41/containers/create", "{}")
            .user("bob")
            .build();
        assert_allowed!(authorize(&bob, &config()));
        assert_allowed!(authorize(
            &fixture("create_bg__02_POST_containers-create.json"),
            &config()
        ));
    }

    #[test]
    fn anonymous_calls_can_be_restricted() {
        let config = Config {
            users: vec![],
            anonymous: true,
        };
        assert_denied!(
            authorize(
                &fixture("create_bg__02_POST_containers-create.json"),
                &config
            ),
            "anonymous"
        );
        assert_allowed!(authorize(
            &fixture("ps__02_GET_containers-json.json"),
            &config
        ));
    }

    #[test]
    fn the_tls_user_from_a_captured_request_is_recognised() {
        let config = Config {
            users: vec!["alice".into()],
            anonymous: false,
        };
        assert_allowed!(authorize(
            &fixture("tls_version_plugin1__02_GET_version.json"),
            &config
        ));
    }

    #[test]
    fn config_is_checked_at_load() {
        assert_eq!(
            portcullis_entry::validate_config(br#"{"users":["a"]}"#),
            br#"{"allow":true}"#
        );
        assert!(portcullis_entry::validate_config(br#"{}"#).starts_with(br#"{"allow":false"#));
        assert!(
            portcullis_entry::validate_config(br#"{"users":[],"admins":[]}"#)
                .starts_with(br#"{"allow":false"#)
        );
    }
}
