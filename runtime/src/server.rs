//! The Docker authz protocol over HTTP on the Unix socket (axum): decode,
//! build the envelope, ask dockerd what the built-in rule needs resolved,
//! run the chain, answer. The chain runs on the thread that read the
//! request: a guest call never waits (see `sandbox`), so handing it to
//! another thread would only add two context switches. Lookups are awaited
//! before it, never inside it, so a thread waiting for dockerd serves other
//! calls meanwhile, among them the lookup's own authz calls, which carry a
//! mark (`lookup_mark`) and are answered here without the chain. The other
//! place where Portcullis fails closed: a request it cannot decode is
//! answered with Docker's `Err` (non-200), which refuses the call.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use portcullis_envelope::mounts::HostRoot;
use portcullis_envelope::{ActivateResponse, AuthzAnswer, AuthzRequest, Envelope, Phase};

use crate::chain::Decide;
use crate::decision_log::DecisionLog;
use crate::docker_lookup::{Answers, DockerLookup};
use crate::lookup_mark;
use crate::metrics::Metrics;
use crate::socket::BoundSocket;

/// Rounds of lookups one call may need: its references, then what a
/// started container's stored `HostConfig` names.
const LOOKUP_ROUNDS: usize = 3;

/// Largest AuthZ request accepted: Docker forwards bodies under 1 MiB
/// (newer daemons up to 4 MiB), base64-encoded, twice in the response phase.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// What every handler shares: who decides, and who records decisions.
#[derive(Clone)]
pub struct AppState {
    /// The chain (or, in benchmarks, its native twin).
    pub decider: Arc<dyn Decide>,
    /// One line per decision.
    pub log: Arc<DecisionLog>,
    /// Decisions counted and timed.
    pub metrics: Arc<Metrics>,
    /// Where bind-mount sources are resolved (`[plugin] host_root`).
    pub host_root: HostRoot,
    /// The daemon the built-in rule asks (`[docker]`); `None`: ask none,
    /// and calls that need an answer are refused.
    pub docker: Option<Arc<DockerLookup>>,
}

/// The plugin's HTTP routes (usable without a socket, e.g. in tests).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/Plugin.Activate", post(activate))
        .route("/AuthZPlugin.AuthZReq", post(authz_request))
        .route("/AuthZPlugin.AuthZRes", post(authz_response))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

/// Serves `state` on `socket` until `shutdown` resolves, then removes the socket.
pub async fn serve(
    socket: BoundSocket,
    listener: tokio::net::UnixListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let result = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    socket.remove();
    result
}

async fn activate() -> Response {
    axum::Json(ActivateResponse::authz()).into_response()
}

async fn authz_request(State(state): State<AppState>, body: Bytes) -> Response {
    authorize(state, body, Phase::Request).await
}

async fn authz_response(State(state): State<AppState>, body: Bytes) -> Response {
    authorize(state, body, Phase::Response).await
}

/// Resolves on SIGTERM or SIGINT (never, if the handlers cannot be
/// installed: stop with SIGKILL then).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

/// Docker's `Err`: a non-200 answer, so the daemon refuses the call. The
/// refusal is counted and logged, with what of the request could be read.
fn plugin_error(state: &AppState, phase: Phase, body: &[u8], msg: String) -> Response {
    state.metrics.refused();
    let request = serde_json::from_slice::<AuthzRequest>(body).ok();
    state
        .log
        .record_refusal(phase, request.as_ref(), &msg, &state.decider.version());
    tracing::warn!(
        target: "portcullis::audit",
        "refusing undecodable request: {}",
        crate::log_escape::printable(&msg)
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(AuthzAnswer::error(msg)),
    )
        .into_response()
}

async fn authorize(state: AppState, body: Bytes, phase: Phase) -> Response {
    let decoded = serde_json::from_slice::<AuthzRequest>(&body)
        .map_err(|e| e.to_string())
        .and_then(|request| Envelope::from_authz(request, phase).map_err(|e| e.to_string()));
    let mut envelope = match decoded {
        Ok(envelope) => envelope,
        Err(e) => {
            return plugin_error(
                &state,
                phase,
                &body,
                format!("portcullis: cannot decode the authz request: {e}"),
            );
        }
    };
    if let Some(docker) = &state.docker
        && docker
            .marks()
            .admit(phase, &envelope.method, &envelope.uri, &envelope.headers)
    {
        // Portcullis' own lookup: not a client's call, no policy judges it.
        tracing::debug!(target: "portcullis::lookup", phase = ?phase, uri = %envelope.uri, "own lookup allowed");
        return axum::Json(AuthzAnswer::allow()).into_response();
    }
    lookup_mark::strip(&mut envelope.headers);
    let envelope = Arc::new(envelope.with_host_root(state.host_root.clone()));
    let started = Instant::now();
    let answers = match &state.docker {
        Some(docker) => ask_dockerd(&*state.decider, &envelope, docker).await,
        None => Answers::default(),
    };
    // The chain fails closed by itself; should it ever panic, the request
    // is refused all the same, and the thread goes on serving.
    let decide = || state.decider.decide_with(&envelope, &answers);
    let decision = match catch_unwind(AssertUnwindSafe(decide)) {
        Ok(decision) => decision,
        Err(_) => {
            return plugin_error(
                &state,
                phase,
                &body,
                "portcullis: policy evaluation failed".to_owned(),
            );
        }
    };
    let elapsed = started.elapsed();
    state.metrics.decided(phase, &decision, elapsed);
    state.log.record(&envelope, &decision, elapsed);
    let answer = if decision.allow {
        AuthzAnswer::allow()
    } else {
        AuthzAnswer::deny(decision.msg)
    };
    axum::Json(answer).into_response()
}

/// dockerd's answers to what the built-in rule asks about `envelope`,
/// round after round, all before one deadline (`[docker]
/// lookup_timeout_ms`). Most calls ask nothing and return at once.
async fn ask_dockerd(decider: &dyn Decide, envelope: &Envelope, docker: &DockerLookup) -> Answers {
    let mut answers = Answers::default();
    let deadline = Instant::now() + docker.timeout();
    for _ in 0..LOOKUP_ROUNDS {
        let questions =
            match catch_unwind(AssertUnwindSafe(|| decider.questions(envelope, &answers))) {
                Ok(questions) => questions,
                // Unanswered, the call is refused by the chain.
                Err(_) => break,
            };
        if questions.is_empty() {
            break;
        }
        docker.ask(&questions, deadline, &mut answers).await;
    }
    answers
}
