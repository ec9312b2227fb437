//! The servers `loadgen` compares `portcullis serve` with, on the same
//! stack (tokio, axum, hyper, the same socket code):
//!
//! - `floor`: a constant `{"Allow":true}` to every POST. Nothing can answer
//!   dockerd faster over this stack; every other server is measured
//!   against it.
//! - `native`: `portcullis::server::serve`, the real server code path
//!   (decoding, envelope, audit log), with the policies compiled natively
//!   instead of sandboxed: what is left between it and `portcullis` is the
//!   cost of wasm.
//! - `regorus` and `cedar`: the rivals, lean plugins around another policy
//!   engine with the chain's rules ([`portcullis_bench::rival`]):
//!   `benches/policy/docker.rego` evaluated by regorus per request, as
//!   opa-docker-authz does (without OPA's HTTP hop), and
//!   `benches/policy/docker.cedar` by the `cedar-policy` crate.
//!
//! All log like `portcullis serve` (stderr, `RUST_LOG`, default `info`), but
//! only `native` writes an audit line per decision (as `portcullis serve`
//! does); all stop on SIGTERM or SIGINT, removing their socket.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::post;
use clap::{Parser, Subcommand};
use portcullis::config::Config;
use portcullis::server::MAX_REQUEST_BYTES;
use portcullis::socket::BoundSocket;
use portcullis_bench::cedar::CedarPolicy;
use portcullis_bench::native::NativeChain;
use portcullis_bench::rego::RegoPolicy;
use portcullis_bench::rival::{self, Rival};

/// Baseline servers for the end-to-end benchmark.
#[derive(Parser)]
#[command(name = "bench-server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer `{"Allow":true}` to every POST, deciding nothing.
    Floor {
        /// Where to listen.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Serve the chain of a plugin.toml through Portcullis's server, with
    /// the policies compiled natively.
    Native {
        /// The plugin configuration (every module must be a guest of this repository).
        #[arg(long, short)]
        config: PathBuf,
        /// Where to listen.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Decide with `benches/policy/docker.rego`, evaluated by regorus on
    /// opa-docker-authz's input document: the OPA rival. Writes no audit
    /// line; the response phase is allowed, as by opa-docker-authz.
    Regorus {
        /// Where to listen.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Decide with `benches/policy/docker.cedar`, evaluated by cedar-policy:
    /// the Cedar rival. Writes no audit line; the response phase is allowed.
    Cedar {
        /// Where to listen.
        #[arg(long)]
        socket: PathBuf,
    },
}

fn main() -> ExitCode {
    // The same diagnostics log as `portcullis serve`.
    let _log = portcullis::logging::init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                match Cli::parse().command {
                    Command::Floor { socket } => floor(&socket).await,
                    Command::Native { config, socket } => native(&config, &socket).await,
                    Command::Regorus { socket } => {
                        let policy = RegoPolicy::load()?;
                        serve_rival(Arc::new(policy), &socket).await
                    }
                    Command::Cedar { socket } => {
                        let policy = CedarPolicy::load()?;
                        serve_rival(Arc::new(policy), &socket).await
                    }
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench-server: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Serves the constant allow on `socket` until SIGTERM or SIGINT.
async fn floor(socket: &Path) -> anyhow::Result<()> {
    let (bound, listener) = BoundSocket::bind(socket)?;
    let app = Router::new()
        // dockerd refuses to start with a plugin that does not say it implements authz.
        .route("/Plugin.Activate", post(activate))
        .route("/{*path}", post(allow))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    bound.remove();
    served.context("serving the floor failed")
}

/// The handshake dockerd performs once, at its start.
async fn activate() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        r#"{"Implements":["authz"]}"#,
    )
}

/// Reads the body, as every real handler must, and allows.
async fn allow(_body: Bytes) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], r#"{"Allow":true}"#)
}

/// Serves `config`'s chain, compiled natively, on `socket` until SIGTERM or SIGINT.
async fn native(config: &Path, socket: &Path) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let chain = NativeChain::build(&config)?;
    let (bound, listener) = BoundSocket::bind(socket)?;
    // The same decision log and metrics as `portcullis serve`, so that both pay the same.
    let metrics = Arc::new(portcullis::metrics::Metrics::new());
    let (log, _writer) = portcullis::decision_log::DecisionLog::start(&config.log, &metrics)?;
    let state = portcullis::server::AppState {
        decider: Arc::new(chain),
        log: Arc::new(log),
        metrics,
        host_root: config.host_root.clone(),
        docker: None,
    };
    portcullis::server::serve(bound, listener, state, shutdown_signal())
        .await
        .context("serving the native chain failed")
}

/// Serves a rival's decisions on `socket` until SIGTERM or SIGINT: the
/// floor's stack (socket code, body limit, shutdown), no audit line.
async fn serve_rival(rival: Arc<dyn Rival>, socket: &Path) -> anyhow::Result<()> {
    let name = rival.name();
    let (bound, listener) = BoundSocket::bind(socket)?;
    let served = axum::serve(listener, rival::app(rival))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    bound.remove();
    served.with_context(|| format!("serving {name} failed"))
}

/// Resolves on SIGTERM or SIGINT (never, if the handlers cannot be installed).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("bench-server: cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
