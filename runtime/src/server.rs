//! The Docker authz protocol over HTTP on the Unix socket (axum): decode,
//! build the envelope, run the chain, answer. The chain runs on the thread
//! that read the request: a guest call never waits (see `sandbox`), so
//! handing it to another thread would only add two context switches. The
//! other place where Portcullis fails closed: a request it cannot decode is
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
use crate::metrics::Metrics;
use crate::socket::BoundSocket;

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
    let envelope = match decoded {
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
    let envelope = Arc::new(envelope.with_host_root(state.host_root.clone()));
    // The chain fails closed by itself; should it ever panic, the request
    // is refused all the same, and the thread goes on serving.
    let started = Instant::now();
    let decision = match catch_unwind(AssertUnwindSafe(|| state.decider.decide(&envelope))) {
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
