//! The admin socket: what operators (and `portcullis status`/`reload`) use
//! on a running Portcullis. `GET /status`, `POST /reload`, `GET /metrics`.
//!
//! It is a second Unix socket, mode 0600 like the plugin socket, so only
//! its owner (and root) can connect; each connection's peer credentials are
//! checked as well, so a socket whose mode was loosened still admits nobody
//! else. Nothing that changes behaviour is reachable any other way except
//! SIGHUP (the same user, or root) and the file watch (whoever may write
//! plugin.toml or a module file: `watch` warns about files others may
//! write). The optional TCP
//! listener (`[admin] metrics_address`) serves `GET /metrics` and nothing
//! else.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::net::{UnixListener, UnixStream};

use crate::chain::ModuleStatus;
use crate::metrics::Metrics;
use crate::reload::{LastReload, LiveChain};
use crate::socket::BoundSocket;

/// The content type of the Prometheus text format `prometheus-client` writes.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct Admin {
    live: Arc<LiveChain>,
    started: SystemTime,
}

/// What `GET /status` answers (and `portcullis status` prints).
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Status {
    /// Portcullis' version.
    pub portcullis: String,
    /// The process id.
    pub pid: u32,
    /// When it started (RFC 3339).
    pub started: String,
    /// The config file reloads read.
    pub config: String,
    /// The chain serving now.
    pub chain: ChainStatus,
    /// The last reload (all `null` before the first).
    pub last_reload: serde_json::Value,
}

/// The serving chain in [`Status`].
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ChainStatus {
    /// Its version (see `Chain::version`).
    pub version: String,
    /// Reloads since start that took effect (0: the chain it started with).
    pub generation: u64,
    /// Its modules, in order.
    pub modules: Vec<serde_json::Value>,
}

/// The admin routes around `live`.
fn routes(live: Arc<LiveChain>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/reload", post(reload))
        .route("/metrics", get(metrics))
        .with_state(Admin {
            live,
            started: SystemTime::now(),
        })
}

/// Serves the admin routes on `socket` until `shutdown`, then removes it.
pub async fn serve(
    socket: BoundSocket,
    listener: UnixListener,
    live: Arc<LiveChain>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    // This process created the socket: its owner is our effective uid.
    let owner = std::fs::metadata(socket.path())?.uid();
    let listener = OwnerOnly { listener, owner };
    let result = axum::serve(listener, routes(live))
        .with_graceful_shutdown(shutdown)
        .await;
    socket.remove();
    result
}

/// Serves `GET /metrics` alone on a TCP listener.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { metrics_response(&metrics) }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn status(State(admin): State<Admin>) -> Response {
    let chain = admin.live.current();
    let modules: Vec<ModuleStatus> = chain.status();
    let status = Status {
        portcullis: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        started: humantime::format_rfc3339_seconds(admin.started).to_string(),
        config: admin.live.config_path().display().to_string(),
        chain: ChainStatus {
            version: chain.version().to_string(),
            generation: admin.live.generation(),
            modules: modules
                .iter()
                .map(|m| serde_json::to_value(m).unwrap_or_default())
                .collect(),
        },
        last_reload: serde_json::to_value(admin.live.last_reload()).unwrap_or_default(),
    };
    axum::Json(status).into_response()
}

/// What `POST /reload` answers: the reload's result, once it is known.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ReloadAnswer {
    /// Whether the new chain serves.
    pub ok: bool,
    /// The generation serving after the call.
    pub generation: u64,
    /// The version serving after the call.
    pub version: String,
    /// What it did, or why it failed (the old chain still serves then).
    pub message: String,
}

async fn reload(State(admin): State<Admin>) -> Response {
    let live = admin.live.clone();
    // Compiling blocks: off the async threads, and one reload at a time
    // (LiveChain serializes them).
    let outcome = tokio::task::spawn_blocking(move || live.reload_and_log()).await;
    let LastReload { ok, message, .. } = match outcome {
        Ok(last) => last,
        Err(err) => LastReload {
            at: None,
            ok: Some(false),
            message: Some(format!("reload failed: {err}")),
        },
    };
    let ok = ok.unwrap_or(false);
    let answer = ReloadAnswer {
        ok,
        generation: admin.live.generation(),
        version: admin.live.current().version().to_string(),
        message: message.unwrap_or_default(),
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (code, axum::Json(answer)).into_response()
}

async fn metrics(State(admin): State<Admin>) -> Response {
    metrics_response(admin.live.metrics())
}

fn metrics_response(metrics: &Metrics) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        metrics.encode(),
    )
        .into_response()
}

/// A Unix listener that drops connections from any user but its own (and
/// root): the socket's mode already says so; this holds even if it is
/// changed.
struct OwnerOnly {
    listener: UnixListener,
    owner: u32,
}

impl axum::serve::Listener for OwnerOnly {
    type Io = UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(target: "portcullis::admin", "accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == self.owner || cred.uid() == 0 => return (stream, addr),
                Ok(cred) => tracing::warn!(
                    target: "portcullis::admin",
                    "refusing an admin connection from uid {} (pid {:?})",
                    cred.uid(),
                    cred.pid()
                ),
                Err(err) => {
                    tracing::warn!(target: "portcullis::admin", "refusing an admin connection: no peer credentials: {err}")
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// `portcullis status` for people: the chain, then one line per module.
pub fn render_status(status: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "portcullis {} (pid {}, started {})\nconfig   {}\nchain    {} (generation {})",
        status.portcullis,
        status.pid,
        status.started,
        status.config,
        status.chain.version,
        status.chain.generation
    );
    let last = &status.last_reload;
    match (last["at"].as_str(), last["ok"].as_bool()) {
        (Some(at), Some(ok)) => {
            let _ = writeln!(
                out,
                "reload   {at}: {} {}",
                if ok { "ok," } else { "FAILED, old chain kept:" },
                last["message"].as_str().unwrap_or("")
            );
        }
        _ => {
            let _ = writeln!(out, "reload   none since start");
        }
    }
    let _ = writeln!(
        out,
        "\n{:<20} {:<8} {:<12} {:>10} {:>7} {:>8} {:<5} {:<4} {:<10} {:>9} {:>8} {:>7} {:>9} {:>12}",
        "MODULE",
        "MODE",
        "DIGEST",
        "FUEL",
        "MEM_MIB",
        "TIMEOUT",
        "REUSE",
        "RESP",
        "CODE",
        "CALLS",
        "DENIED",
        "FAILED",
        "AVG_US",
        "FUEL_USED"
    );
    for m in &status.chain.modules {
        let calls = m["calls"].as_u64().unwrap_or(0);
        let avg_us = if calls == 0 {
            0.0
        } else {
            m["seconds"].as_f64().unwrap_or(0.0) * 1e6 / calls as f64
        };
        let yes_no = |v: &serde_json::Value| {
            if v.as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            }
        };
        let number = |key: &str| m[key].as_u64().unwrap_or(0);
        let text = |key: &str| m[key].as_str().unwrap_or("?").to_owned();
        let _ = writeln!(
            out,
            "{:<20} {:<8} {:<12} {:>10} {:>7} {:>6}ms {:<5} {:<4} {:<10} {:>9} {:>8} {:>7} {:>9.1} {:>12}",
            text("name"),
            text("mode"),
            text("digest").get(..12).unwrap_or("?"),
            number("fuel"),
            number("memory_mib"),
            number("timeout_ms"),
            yes_no(&m["reuse_instances"]),
            yes_no(&m["response_phase"]),
            text("compiled_from"),
            calls,
            number("denied"),
            number("failed"),
            avg_us,
            number("fuel_used"),
        );
    }
    out
}
