//! The `portcullis` command line: serve the chain to dockerd, or check one request offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use portcullis::chain::Chain;
use portcullis::config::Config;
use portcullis::decision_log::DecisionLog;
use portcullis::envelope::Phase;
use portcullis::metrics::Metrics;
use portcullis::reload::{LiveChain, Overrides, reload_on_sighup};
use portcullis::sandbox::Sandbox;
use portcullis::server::{AppState, shutdown_signal};
use portcullis::socket::BoundSocket;

/// Docker authorization plugin running a chain of sandboxed WebAssembly policies.
#[derive(Parser)]
#[command(
    name = "portcullis",
    version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("PORTCULLIS_GIT_REVISION"), ")"),
    about
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the chain on the plugin socket until SIGTERM or SIGINT.
    ///
    /// Start it before dockerd, then run dockerd with
    /// --authorization-plugin=NAME (NAME from [plugin] name). It reloads on
    /// SIGHUP, on `portcullis reload`, and when plugin.toml or a module file
    /// changes (unless --no-watch or [plugin] watch = false): the new chain
    /// is swapped in without dropping a request, and a config that does not
    /// load leaves the old chain serving. The admin socket ([admin] socket,
    /// mode 0600) answers `portcullis status`, `reload` and GET /metrics.
    /// SIGUSR1 reopens the decision log's file. Under systemd
    /// (Type=notify) it reports ready once its sockets answer.
    Serve {
        /// The plugin configuration.
        #[arg(long, short, default_value = "plugin.toml")]
        config: PathBuf,
        /// Listen here instead of the socket named in the configuration.
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Keep module state here instead of the configuration's state_dir.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Cache compiled modules here instead of the configuration's cache_dir.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Listen for `portcullis status`/`reload` here instead of [admin] socket.
        #[arg(long)]
        admin_socket: Option<PathBuf>,
        /// Do not reload when plugin.toml or a module file changes
        /// (overrides [plugin] watch).
        #[arg(long)]
        no_watch: bool,
    },
    /// Show the running chain: its version, each module's digest, limits,
    /// mode and counts so far, and the last reload (from the admin socket).
    ///
    /// Exit status: 0 shown, 2 error (e.g. serve not running).
    Status {
        /// The plugin configuration, for its [admin] socket.
        #[arg(long, short, default_value = "plugin.toml")]
        config: PathBuf,
        /// The admin socket (instead of the configuration's).
        #[arg(long)]
        admin_socket: Option<PathBuf>,
        /// Print the admin socket's JSON as it is.
        #[arg(long)]
        json: bool,
    },
    /// Reload the running chain now and print the result: the new chain
    /// serves, or the old one keeps serving and the reason is printed.
    ///
    /// Exit status: 0 reloaded, 1 refused (old chain serving), 2 error.
    Reload {
        /// The plugin configuration, for its [admin] socket.
        #[arg(long, short, default_value = "plugin.toml")]
        config: PathBuf,
        /// The admin socket (instead of the configuration's).
        #[arg(long)]
        admin_socket: Option<PathBuf>,
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
    /// Check a configuration as a reload would (parse, module files,
    /// compilation, ABI, each module's config check) without serving.
    ///
    /// Exit status: 0 valid, 1 invalid (the reason is printed), 2 error.
    Validate {
        /// The plugin configuration.
        #[arg(long, short, default_value = "plugin.toml")]
        config: PathBuf,
    },
    /// Write the man pages (portcullis.1 and one per subcommand) into a
    /// directory, generated from this --help.
    Man {
        /// Where to write them (created if missing).
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Read or remove the modules' durable state, with `serve` stopped.
    ///
    /// The state lives in [plugin] state_dir (default /var/lib/portcullis),
    /// one namespace per module name.
    State {
        /// The plugin configuration, for its state_dir.
        #[arg(long, short, default_value = "plugin.toml", global = true)]
        config: PathBuf,
        /// Use this state directory instead of the configuration's.
        #[arg(long, global = true)]
        state_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: StateAction,
    },
}

#[derive(Subcommand)]
enum StateAction {
    /// Each module with state: name, keys, bytes (tab-separated).
    List,
    /// A module's entries, one JSON object per line: {"key": …, "value": …}.
    Dump {
        /// The module's name in plugin.toml.
        module: String,
        /// Only keys starting with this.
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// Delete a module's entries: all of them, or those under --prefix.
    Delete {
        /// The module's name (a module renamed in plugin.toml keeps its
        /// old state under the old name until it is deleted here).
        module: String,
        /// Only keys starting with this.
        #[arg(long, default_value = "")]
        prefix: String,
    },
}

fn main() -> ExitCode {
    let _log = portcullis::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            socket,
            state_dir,
            cache_dir,
            admin_socket,
            no_watch,
        } => serve(
            config,
            ServeFlags {
                socket,
                admin_socket,
                no_watch,
                overrides: Overrides {
                    state_dir,
                    cache_dir,
                },
            },
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Status {
            config,
            admin_socket,
            json,
        } => status(&config, admin_socket, json),
        Command::Reload {
            config,
            admin_socket,
        } => reload(&config, admin_socket),
        Command::Check {
            config,
            response,
            request,
        } => check(config, request, response),
        Command::Validate { config } => validate(&config),
        Command::Man { out_dir } => man(&out_dir),
        Command::State {
            config,
            state_dir,
            action,
        } => state(config, state_dir, action),
    };
    result.unwrap_or_else(|err| {
        eprintln!("portcullis: {err:#}");
        ExitCode::from(2)
    })
}

/// Writes `portcullis.1` and `portcullis-<subcommand>.1` into `dir`.
fn man(dir: &Path) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory as _;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Compiles the chain of `config_path`, for one thread, with module state kept in `state_dir`.
fn load_chain(config_path: &Path, state_dir: &Path) -> anyhow::Result<(Config, Chain)> {
    let config = Config::load(config_path)?;
    let sandbox = Sandbox::for_chain(1, config.modules.len())
        .context("cannot create the wasm engine")?
        .with_state_dir(state_dir.to_owned());
    let chain = Chain::build(&sandbox, &config)?;
    Ok((config, chain))
}

/// `serve`'s command-line settings.
struct ServeFlags {
    socket: Option<PathBuf>,
    admin_socket: Option<PathBuf>,
    no_watch: bool,
    overrides: Overrides,
}

fn serve(config_path: PathBuf, flags: ServeFlags) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let (live, config) = LiveChain::start(&config_path, flags.overrides, metrics.clone())?;
    let live = Arc::new(live);
    let host_root = portcullis::host_root::checked(&config.host_root);
    let socket_path = flags.socket.unwrap_or_else(|| config.socket.clone());
    let admin_path = flags
        .admin_socket
        .unwrap_or_else(|| config.admin.socket.clone());
    let (log, _log_writer) =
        DecisionLog::start(&config.log, &metrics).context("cannot open the decision log")?;
    let log = Arc::new(log);
    // Each serving thread evaluates the requests it reads (see server.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(live.workers())
        .thread_name("portcullis-serve")
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (bound, listener) = BoundSocket::bind(&socket_path)?;
        let (admin_bound, admin_listener) = BoundSocket::bind(&admin_path)?;
        let chain = live.current();
        let chain_guards_containers = chain.guards_containers();
        let modules: Vec<&str> = chain.module_names().collect();
        // dockerd finds a plugin socket in /run/docker/plugins by its file stem.
        let docker_name = socket_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        tracing::info!(
            plugin = %config.plugin_name,
            socket = %socket_path.display(),
            admin = %admin_path.display(),
            chain = %modules.join(" -> "),
            version = %chain.version(),
            "serving; start dockerd with --authorization-plugin={}",
            docker_name.as_deref().unwrap_or(&config.plugin_name)
        );
        drop(chain);
        portcullis::systemd::notify_ready();

        // One shutdown signal, seen by every listener.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        tokio::spawn(reload_on_sighup(live.clone()));
        tokio::spawn(reopen_on_sigusr1(log.clone()));
        if config.watch && !flags.no_watch {
            portcullis::watch::spawn(live.clone()).context("cannot watch the config")?;
        }
        let admin = tokio::spawn(portcullis::admin::serve(
            admin_bound,
            admin_listener,
            live.clone(),
            until_stopped(),
        ));
        if let Some(address) = config.admin.metrics_address {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen for metrics on {address}"))?;
            tracing::info!(target: "portcullis::admin", "metrics on http://{address}/metrics");
            tokio::spawn(portcullis::admin::serve_metrics(
                listener,
                metrics.clone(),
                until_stopped(),
            ));
        }
        let docker = Arc::new(portcullis::docker_lookup::DockerLookup::new(
            &config.docker,
            host_root.clone(),
        ));
        if chain_guards_containers {
            tracing::info!(
                target: "portcullis::protect",
                "protected containers are resolved by asking dockerd at {} (lookup_timeout_ms = {})",
                config.docker.socket.display(),
                config.docker.lookup_timeout.as_millis()
            );
        }
        let state = AppState {
            decider: live,
            log,
            metrics,
            host_root,
            docker: Some(docker),
        };
        let plugin = portcullis::server::serve(bound, listener, state, until_stopped());
        let signal = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        let (served, ()) = tokio::join!(plugin, signal);
        served?;
        admin.await??;
        tracing::info!("stopped; sockets removed");
        anyhow::Ok(())
    })
}

/// Reopens the decision log's file on every SIGUSR1 (after logrotate).
async fn reopen_on_sigusr1(log: Arc<DecisionLog>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        tracing::error!("cannot install the SIGUSR1 handler; the decision log is never reopened");
        return;
    };
    while usr1.recv().await.is_some() {
        log.reopen();
    }
}

/// The admin socket to talk to: `--admin-socket`, else the config's.
fn admin_socket(config: &Path, flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match flag {
        Some(socket) => Ok(socket),
        None => Ok(portcullis::config::admin_socket_of(config)?),
    }
}

/// Runs one admin request on a small runtime of its own.
fn admin_request(
    socket: &Path,
    method: &str,
    path: &str,
) -> anyhow::Result<portcullis::admin_client::AdminAnswer> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(portcullis::admin_client::request(socket, method, path))
}

fn status(config: &Path, flag: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let socket = admin_socket(config, flag)?;
    let answer = admin_request(&socket, "GET", "/status")?;
    anyhow::ensure!(
        answer.status == 200,
        "the admin socket answered {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    if json {
        println!("{}", String::from_utf8_lossy(&answer.body));
        return Ok(ExitCode::SUCCESS);
    }
    let status: portcullis::admin::Status =
        serde_json::from_slice(&answer.body).context("the admin socket's status is not JSON")?;
    print!("{}", portcullis::admin::render_status(&status));
    Ok(ExitCode::SUCCESS)
}

fn reload(config: &Path, flag: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let socket = admin_socket(config, flag)?;
    let answer = admin_request(&socket, "POST", "/reload")?;
    let reloaded: portcullis::admin::ReloadAnswer = serde_json::from_slice(&answer.body)
        .with_context(|| {
            format!(
                "the admin socket answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )
        })?;
    if reloaded.ok {
        println!(
            "reloaded: chain {} serving, {}",
            reloaded.version, reloaded.message
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "reload failed, still serving chain {} (generation {}): {}",
            reloaded.version, reloaded.generation, reloaded.message
        );
        Ok(ExitCode::from(1))
    }
}

fn check(config_path: PathBuf, request_path: PathBuf, response: bool) -> anyhow::Result<ExitCode> {
    with_scratch_state(|scratch| check_with_state(&config_path, &request_path, response, scratch))
}

/// Runs `f` with a scratch state directory, removed afterwards: `check` and
/// `validate` must not touch the state of a running server (whose database
/// is locked anyway), so stateful modules start from an empty store.
fn with_scratch_state<T>(f: impl FnOnce(&Path) -> T) -> T {
    let scratch = std::env::temp_dir().join(format!("portcullis-scratch-{}", std::process::id()));
    let result = f(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn validate(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = match Config::load(config_path) {
        Ok(config) => config,
        Err(err) => {
            println!("invalid: {err}");
            return Ok(ExitCode::from(1));
        }
    };
    let sandbox =
        Sandbox::for_chain(1, config.modules.len()).context("cannot create the wasm engine")?;
    let built = with_scratch_state(|scratch| {
        Chain::build(&sandbox.with_state_dir(scratch.to_owned()), &config)
            .map(|chain| chain.module_names().map(str::to_owned).collect::<Vec<_>>())
    });
    Ok(match built {
        Ok(modules) => {
            println!(
                "valid: {} ({} modules: {})",
                config_path.display(),
                modules.len(),
                modules.join(" -> ")
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("invalid: {err}");
            ExitCode::from(1)
        }
    })
}

fn check_with_state(
    config_path: &Path,
    request_path: &Path,
    response: bool,
    state_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let (config, chain) = load_chain(config_path, state_dir)?;
    let phase = if response {
        Phase::Response
    } else {
        Phase::Request
    };
    let bytes = std::fs::read(request_path)
        .with_context(|| format!("cannot read {}", request_path.display()))?;
    let request = portcullis::check::read_request(&bytes, phase)
        .with_context(|| format!("{} is not an AuthZ request", request_path.display()))?;
    let outcome = portcullis::check::check(
        &chain,
        request,
        phase,
        &portcullis::host_root::checked(&config.host_root),
    )?;
    print!("{}", outcome.render(&chain));
    Ok(if outcome.decision.allow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn state(
    config_path: PathBuf,
    state_dir: Option<PathBuf>,
    action: StateAction,
) -> anyhow::Result<ExitCode> {
    let dir = match state_dir {
        Some(dir) => dir,
        None => Config::load(&config_path)?.state_dir,
    };
    anyhow::ensure!(
        dir.join("state.redb").is_file(),
        "no module state in {} (no stateful module has run with this state_dir)",
        dir.display()
    );
    let store = portcullis::state::StateStore::open(&dir)?;
    let mut out = std::io::stdout().lock();
    match action {
        StateAction::List => portcullis::state_admin::list(&store, &mut out)?,
        StateAction::Dump { module, prefix } => {
            portcullis::state_admin::dump(&store, &module, prefix.as_bytes(), &mut out)?
        }
        StateAction::Delete { module, prefix } => {
            let deleted = portcullis::state_admin::delete(&store, &module, prefix.as_bytes())?;
            println!("deleted {deleted} keys of {module}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
