//! `hello-first`: seed 000's "say hello first" plugin, reproduced with
//! durable host state.
//!
//! Every call is refused with the seed's message until a
//! `containers/create` of the `hello-world` image is seen; that call is
//! allowed and remembered, and from then on everything is allowed. The
//! seed remembered it in a Python global, for everyone, until the process
//! restarted; here it is remembered per user by default (`scope = "user"`:
//! each TLS user says hello once; callers without a certificate count as
//! one anonymous user) or for everyone (`scope = "global"`, the seed's
//! behaviour), and it survives reloads, restarts and `kill -9`.
//!
//! One difference from the seed's letter, kept to keep its spirit: the
//! API's ping (`/_ping`) is allowed before the hello. Docker's CLI pings
//! the daemon before every command since 17.x and gives up when the ping
//! is refused, so with a refused ping no CLI could ever say hello (the seed
//! ran Docker 1.12, whose CLI did not ping). `allow_ping = false` refuses it
//! too, as the seed's code did.
//!
//! The image is matched as the daemon names it: `hello-world`,
//! `hello-world:latest`, `docker.io/library/hello-world@sha256:…` are the
//! same repository; `evil/hello-world` or `hello-world-ish` are not.

use portcullis_sdk::docker::ImageReference;
use portcullis_sdk::{Decision, Error, Phase, Request, export_policy, state};
use serde::{Deserialize, Serialize};

/// The seed's deny message, word for word.
pub const MESSAGE: &str = "The request authorization failed. You must say hello first.";

/// `[module.config]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who a hello counts for.
    #[serde(default)]
    pub scope: Scope,
    /// The image whose creation says hello (the seed's: `hello-world`).
    #[serde(default = "default_image")]
    pub image: String,
    /// Whether `/_ping` is allowed before the hello (Docker's CLI needs it).
    #[serde(default = "yes")]
    pub allow_ping: bool,
}

fn default_image() -> String {
    "hello-world".to_owned()
}

fn yes() -> bool {
    true
}

/// Who a hello counts for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each user says hello for themselves (the default).
    #[default]
    User,
    /// One hello, from anyone, opens the daemon to everyone (seed 000).
    Global,
}

/// What is stored when someone says hello: who, and with which image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The user who said it (`None`: no client certificate).
    pub user: Option<String>,
    /// The image reference they created, as they wrote it.
    pub image: String,
}

/// The state key a hello is kept under.
fn key(config: &Config, user: Option<&str>) -> String {
    match (config.scope, user) {
        (Scope::Global, _) => "hello".to_owned(),
        (Scope::User, Some(user)) => format!("hello/user/{user}"),
        (Scope::User, None) => "hello/anonymous".to_owned(),
    }
}

/// Whether `reference` names the same repository as `expected`.
fn same_repository(reference: &str, expected: &str) -> bool {
    let (a, b) = (
        ImageReference::parse(reference),
        ImageReference::parse(expected),
    );
    a.registry == b.registry && a.repository == b.repository
}

/// The policy.
pub fn authorize(req: &Request, config: &Config) -> Result<Decision, Error> {
    if req.phase() == Phase::Response {
        return Ok(Decision::allow()); // never asked: request phase only
    }
    if config.allow_ping && req.action() == "docker_ping" {
        return Ok(Decision::allow());
    }
    let key = key(config, req.user());
    if state::get::<Hello>(&key)?.is_some() {
        return Ok(Decision::allow());
    }
    if req.action() == "container_create" {
        let image = req.container_create()?.config.image;
        if same_repository(&image, &config.image) {
            let hello = Hello {
                user: req.user().map(str::to_owned),
                image,
            };
            state::put(&key, &hello)?;
            return Ok(Decision::allow());
        }
    }
    Ok(Decision::deny(MESSAGE))
}

export_policy!(authorize, Config);

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing::{self, RequestBuilder, fixture};
    use portcullis_sdk::{assert_allowed, assert_denied};

    use super::*;

    fn config(scope: Scope) -> Config {
        Config {
            scope,
            image: default_image(),
            allow_ping: true,
        }
    }

    fn create(user: Option<&str>, image: &str) -> Request {
        let body = serde_json::json!({ "Image": image }).to_string();
        let builder = RequestBuilder::post_json("/v1.41/containers/create", &body);
        match user {
            Some(user) => builder.user(user).build(),
            None => builder.build(),
        }
    }

    fn version(user: Option<&str>) -> Request {
        let builder = RequestBuilder::get("/v1.41/version");
        match user {
            Some(user) => builder.user(user).build(),
            None => builder.build(),
        }
    }

    #[test]
    fn the_seed_session_denies_then_hello_world_opens_everything() {
        testing::state::clear();
        let config = config(Scope::Global);
        // `docker run alpine …` before hello: refused with the seed's words.
        assert_denied!(authorize(&create(None, "alpine"), &config), MESSAGE);
        assert_denied!(
            authorize(&version(None), &config),
            "You must say hello first"
        );
        // The CLI's ping gets through, or no CLI could say hello at all.
        assert_allowed!(authorize(&fixture("run_it__01_HEAD_ping.json"), &config));
        let letter = Config {
            allow_ping: false,
            ..config.clone()
        };
        assert_denied!(
            authorize(&fixture("run_it__01_HEAD_ping.json"), &letter),
            MESSAGE
        );
        // `docker run hello-world`: the create is allowed and remembered.
        assert_allowed!(authorize(&create(None, "hello-world"), &config));
        // `docker run alpine …` again: allowed, as is everything else.
        assert_allowed!(authorize(&create(None, "alpine"), &config));
        assert_allowed!(authorize(&version(Some("bob")), &config));
        assert_allowed!(authorize(
            &fixture("rm_force__02_DELETE_containers-att.json"),
            &config
        ));
    }

    #[test]
    fn per_user_scope_makes_each_user_say_hello() {
        testing::state::clear();
        let config = config(Scope::User);
        assert_allowed!(authorize(&create(Some("alice"), "hello-world"), &config));
        assert_allowed!(authorize(&version(Some("alice")), &config));
        assert_denied!(authorize(&version(Some("bob")), &config), MESSAGE);
        assert_denied!(authorize(&version(None), &config), MESSAGE);
        assert_eq!(
            testing::state::entries().keys().collect::<Vec<_>>(),
            ["hello/user/alice"]
        );
        assert_eq!(
            state::get::<Hello>("hello/user/alice").unwrap(),
            Some(Hello {
                user: Some("alice".into()),
                image: "hello-world".into()
            })
        );
    }

    #[test]
    fn per_user_is_the_default_scope() {
        let config: Config = portcullis_sdk::abi::parse_config(None).unwrap();
        assert_eq!(config.scope, Scope::User);
        assert_eq!(config.image, "hello-world");
        let global: Config =
            portcullis_sdk::abi::parse_config(Some(r#"{"scope":"global"}"#)).unwrap();
        assert_eq!(global.scope, Scope::Global);
        assert!(portcullis_sdk::abi::parse_config::<Config>(Some(r#"{"scope":"team"}"#)).is_err());
        assert!(portcullis_sdk::abi::parse_config::<Config>(Some(r#"{"scop":"user"}"#)).is_err());
    }

    #[test]
    fn only_the_hello_world_repository_says_hello() {
        for image in [
            "hello-world",
            "hello-world:latest",
            "library/hello-world:linux",
            "docker.io/library/hello-world",
            "index.docker.io/library/hello-world@sha256:0123",
        ] {
            testing::state::clear();
            assert_allowed!(authorize(&create(None, image), &config(Scope::Global)));
        }
        for image in [
            "evil/hello-world",
            "hello-world-ish",
            "registry.example.com/hello-world",
            "busybox",
        ] {
            testing::state::clear();
            assert_denied!(
                authorize(&create(None, image), &config(Scope::Global)),
                MESSAGE
            );
            assert!(testing::state::entries().is_empty(), "{image} said hello");
        }
    }

    #[test]
    fn a_create_that_cannot_be_read_is_not_a_hello() {
        testing::state::clear();
        let unreadable = RequestBuilder::new("POST", "/v1.41/containers/create")
            .unforwarded_body(4096)
            .build();
        assert_denied!(
            authorize(&unreadable, &config(Scope::Global)),
            "not forwarded"
        );
        assert!(testing::state::entries().is_empty());
    }

    #[test]
    fn a_state_failure_denies_with_its_reason() {
        testing::state::clear();
        testing::state::set_key_quota(0);
        assert_denied!(
            authorize(&create(Some("alice"), "hello-world"), &config(Scope::User)),
            "state quota exceeded"
        );
    }
}
