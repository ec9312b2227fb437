//! The rival plugins' server: Docker's authz protocol over HTTP, on the
//! stack of `bench-server floor` and `portcullis serve` (axum, the same body
//! limit; `bench-server` adds the same socket code and shutdown), around a
//! policy engine Portcullis is compared with: regorus on docker.rego (what
//! opa-docker-authz does, without OPA's HTTP hop) and Cedar on docker.cedar.
//!
//! Lean on purpose: no audit log line (Portcullis writes one per decision;
//! these write nothing per request), no panic guard. Each request is decided
//! on the thread that read it, as Portcullis decides.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use portcullis::server::MAX_REQUEST_BYTES;
use portcullis_envelope::{ActivateResponse, AuthzAnswer, AuthzRequest, Phase};

use crate::cedar::CedarPolicy;
use crate::rego::RegoPolicy;

/// The message of a denial (opa-docker-authz's, which reads only the allow
/// rule); Cedar appends the reasons its response carries anyway.
pub const DENIED: &str = "policy denied";

/// A decision on a request Docker asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The call may proceed.
    Allow,
    /// The call is refused, with this message.
    Deny(String),
}

/// A policy engine answering AuthZReq.
pub trait Rival: Send + Sync {
    /// Its name, in error messages.
    fn name(&self) -> &'static str;

    /// The decision on an AuthZReq body; an error if it cannot be read.
    fn verdict(&self, authz_request: &[u8]) -> anyhow::Result<Verdict>;
}

impl Rival for RegoPolicy {
    fn name(&self) -> &'static str {
        "regorus"
    }

    /// `data.docker.authz.allow` only, as opa-docker-authz evaluates it.
    fn verdict(&self, authz_request: &[u8]) -> anyhow::Result<Verdict> {
        Ok(if self.decide(authz_request)? {
            Verdict::Allow
        } else {
            Verdict::Deny(DENIED.to_owned())
        })
    }
}

impl Rival for CedarPolicy {
    fn name(&self) -> &'static str {
        "cedar"
    }

    fn verdict(&self, authz_request: &[u8]) -> anyhow::Result<Verdict> {
        self.decide(authz_request)
    }
}

/// The plugin's routes around `rival`.
pub fn app(rival: Arc<dyn Rival>) -> Router {
    Router::new()
        .route("/Plugin.Activate", post(activate))
        .route("/AuthZPlugin.AuthZReq", post(authz_request))
        .route("/AuthZPlugin.AuthZRes", post(authz_response))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(rival)
}

async fn activate() -> Response {
    axum::Json(ActivateResponse::authz()).into_response()
}

async fn authz_request(State(rival): State<Arc<dyn Rival>>, body: Bytes) -> Response {
    answer(&*rival, Phase::Request, &body).into_response()
}

async fn authz_response(State(rival): State<Arc<dyn Rival>>, body: Bytes) -> Response {
    answer(&*rival, Phase::Response, &body).into_response()
}

/// The answer to one AuthZReq (`Phase::Request`) or AuthZRes body: the
/// rival's decision; in the response phase an allow, as opa-docker-authz
/// answers; for a body it cannot read, HTTP 500 with Docker's `Err`.
pub fn answer(
    rival: &dyn Rival,
    phase: Phase,
    body: &[u8],
) -> (StatusCode, axum::Json<AuthzAnswer>) {
    let verdict = match phase {
        Phase::Request => rival.verdict(body),
        Phase::Response => serde_json::from_slice::<AuthzRequest>(body)
            .map(|_| Verdict::Allow)
            .context("AuthZRes is not JSON"),
    };
    let (status, answer) = match verdict {
        Ok(Verdict::Allow) => (StatusCode::OK, AuthzAnswer::allow()),
        Ok(Verdict::Deny(msg)) => (StatusCode::OK, AuthzAnswer::deny(msg)),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            AuthzAnswer::error(format!("{}: {err:#}", rival.name())),
        ),
    };
    (status, axum::Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, VARIANTS};

    /// The server path of `rival` on the fixtures, the bypass variants and
    /// unreadable bodies.
    fn check(rival: &dyn Rival) {
        let name = rival.name();
        let all = fixtures::all().expect("fixtures load");
        for fixture in &all {
            for phase in [Phase::Request, Phase::Response] {
                let (status, answer) = answer(rival, phase, &fixture.body);
                assert_eq!(status, StatusCode::OK, "{name}: {}", fixture.name);
                assert_eq!(
                    answer.0,
                    AuthzAnswer::allow(),
                    "{name}: {} ({phase:?})",
                    fixture.name
                );
            }
        }
        for variant in &VARIANTS {
            let base = all
                .iter()
                .find(|f| f.name == variant.fixture)
                .expect("fixture");
            let body = variant.apply(&base.body).expect("variant applies");
            let (status, answer) = answer(rival, Phase::Request, &body);
            assert_eq!(status, StatusCode::OK, "{name}: {}", variant.what);
            assert!(
                !answer.0.allow && answer.0.msg.starts_with(DENIED),
                "{name} allows {} with {}: {:?}",
                variant.fixture,
                variant.what,
                answer.0
            );
        }
        let bad_base64 = br#"{"RequestMethod":"POST","RequestUri":"/containers/create","RequestHeaders":{"Content-Type":"application/json"},"RequestBody":"!!"}"#;
        for (phase, body) in [
            (Phase::Request, &b"not json"[..]),
            (Phase::Request, &bad_base64[..]),
            (Phase::Response, &b"{"[..]),
        ] {
            let (status, answer) = answer(rival, phase, body);
            assert_eq!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{name}: {phase:?}"
            );
            assert!(
                !answer.0.allow && !answer.0.err.is_empty(),
                "{name}: {:?}",
                answer.0
            );
        }
    }

    #[test]
    fn regorus_server_allows_the_fixtures_and_denies_the_variants() {
        check(&RegoPolicy::load().expect("docker.rego compiles"));
    }

    #[test]
    fn cedar_server_allows_the_fixtures_and_denies_the_variants() {
        check(&CedarPolicy::load().expect("docker.cedar loads"));
    }
}
