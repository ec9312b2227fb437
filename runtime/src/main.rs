//! The `portcullis` command line: serve the chain to dockerd, or check one request offline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use portcullis::chain::Chain;
use portcullis::config::Config;
use portcullis::envelope::Phase;
use portcullis::reload::{LiveChain, reload_on_sighup};
use portcullis::sandbox::Sandbox;
use portcullis::server::shutdown_signal;
use portcullis::socket::BoundSocket;

/// Docker authorization plugin running a chain of sandboxed WebAssembly policies.
#[derive(Parser)]
#[command(name = "portcullis", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the chain on the plugin socket until SIGTERM or SIGINT.
    ///
    /// Start it before dockerd, then run dockerd with
    /// --authorization-plugin=NAME (NAME from [plugin] name). On SIGHUP it
    /// re-reads the config and swaps in the new chain without dropping a
    /// request; a config that does not load leaves the old chain serving.
    Serve {
        /// The plugin configuration.
        #[arg(long, short, default_value = "plugin.toml")]
        config: PathBuf,
        /// Listen here instead of the socket named in the configuration.
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Evaluate one AuthZReq JSON (or a captured fixture) offline and print
    /// the decision and each module's outcome, fuel and time.
    ///
    /// Exit status: 0 allow, 1 deny, 2 error.
    Check {
        /// The plugin configuration.
        #[arg(long, short, default_value = "plugin.toml")]
        config: PathBuf,
        /// Evaluate the response phase (AuthZRes) instead of the request phase.
        #[arg(long)]
        response: bool,
        /// The request: an AuthZReq body, or a capture with req/res phases.
        request: PathBuf,
    },
}

fn main() -> ExitCode {
    let _log = portcullis::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config, socket } => serve(config, socket).map(|()| ExitCode::SUCCESS),
        Command::Check {
            config,
            response,
            request,
        } => check(config, request, response),
    };
    result.unwrap_or_else(|err| {
        eprintln!("portcullis: {err:#}");
        ExitCode::from(2)
    })
}

/// Compiles the chain of `config_path`, for one thread.
fn load_chain(config_path: &std::path::Path) -> anyhow::Result<(Config, Chain)> {
    let config = Config::load(config_path)?;
    let sandbox =
        Sandbox::for_chain(1, config.modules.len()).context("cannot create the wasm engine")?;
    let chain = Chain::build(&sandbox, &config)?;
    Ok((config, chain))
}

fn serve(config_path: PathBuf, socket: Option<PathBuf>) -> anyhow::Result<()> {
    let (live, config) = LiveChain::start(&config_path)?;
    let live = Arc::new(live);
    let socket_path = socket.unwrap_or_else(|| config.socket.clone());
    // Each serving thread evaluates the requests it reads (see server.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(live.workers())
        .thread_name("portcullis-serve")
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (bound, listener) = BoundSocket::bind(&socket_path)?;
        let chain = live.current();
        let modules: Vec<&str> = chain.module_names().collect();
        // dockerd finds a plugin socket in /run/docker/plugins by its file stem.
        let docker_name = socket_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        tracing::info!(
            plugin = %config.plugin_name,
            socket = %socket_path.display(),
            chain = %modules.join(" -> "),
            "serving; start dockerd with --authorization-plugin={}",
            docker_name.as_deref().unwrap_or(&config.plugin_name)
        );
        tokio::spawn(reload_on_sighup(live.clone()));
        portcullis::server::serve(bound, listener, live, shutdown_signal()).await?;
        tracing::info!("stopped; socket removed");
        Ok(())
    })
}

fn check(config_path: PathBuf, request_path: PathBuf, response: bool) -> anyhow::Result<ExitCode> {
    let (_config, chain) = load_chain(&config_path)?;
    let phase = if response {
        Phase::Response
    } else {
        Phase::Request
    };
    let bytes = std::fs::read(&request_path)
        .with_context(|| format!("cannot read {}", request_path.display()))?;
    let request = portcullis::check::read_request(&bytes, phase)
        .with_context(|| format!("{} is not an AuthZ request", request_path.display()))?;
    let outcome = portcullis::check::check(&chain, request, phase)?;
    print!("{}", outcome.render(&chain));
    Ok(if outcome.decision.allow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
