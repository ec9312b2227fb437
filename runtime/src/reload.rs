//! Hot reload: the chain `serve` runs, replaced atomically when plugin.toml
//! (or a module it names) changes, without dropping a request.
//!
//! A reload builds the whole new chain off the request path (compiling only
//! modules whose bytes changed, and running every module's config check),
//! then swaps it in with one atomic pointer store. A request in flight
//! finishes on the chain it started with; the next one sees the new chain.
//! A reload that fails at any step changes nothing: the old chain keeps
//! serving and the failure is logged with its cause.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use portcullis_envelope::Envelope;

use crate::chain::{Chain, ChainDecision, Decide};
use crate::config::Config;
use crate::sandbox::Sandbox;

/// The serving chain, swappable while requests run through it.
pub struct LiveChain {
    sandbox: Sandbox,
    config_path: PathBuf,
    /// `serve --state-dir`, which outranks the config's, on reloads too.
    state_dir_override: Option<PathBuf>,
    /// The settings a reload cannot change (the socket is already bound).
    fixed: FixedSettings,
    current: ArcSwap<Chain>,
    generation: AtomicU64,
    /// Serializes reloads: two at once would race to swap.
    reloading: std::sync::Mutex<()>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FixedSettings {
    plugin_name: String,
    socket: PathBuf,
    workers: usize,
    state_dir: PathBuf,
}

impl FixedSettings {
    fn of(config: &Config, state_dir_override: Option<&Path>) -> FixedSettings {
        FixedSettings {
            plugin_name: config.plugin_name.clone(),
            socket: config.socket.clone(),
            workers: config.worker_threads(),
            state_dir: state_dir_override.map_or_else(|| config.state_dir.clone(), Path::to_owned),
        }
    }
}

/// What a successful reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The generation now serving (the chain `serve` started with is 0).
    pub generation: u64,
    /// Modules in the new chain.
    pub modules: usize,
    /// Of those, how many were compiled anew (the rest reused unchanged bytes).
    pub compiled: usize,
    /// From the start of the reload to the new chain serving.
    pub elapsed: Duration,
}

impl LiveChain {
    /// Loads `config_path` and builds generation 0 of its chain, in an
    /// engine whose instance pool is sized for its workers and modules,
    /// keeping module state in `state_dir` if given (else the config's).
    pub fn start(
        config_path: &Path,
        state_dir: Option<&Path>,
    ) -> anyhow::Result<(LiveChain, Config)> {
        let config = Config::load(config_path)?;
        let fixed = FixedSettings::of(&config, state_dir);
        let sandbox = Sandbox::for_chain(fixed.workers, config.modules.len())
            .context("cannot create the wasm engine")?
            .with_state_dir(fixed.state_dir.clone());
        let chain = Chain::build(&sandbox, &config)?;
        let live = LiveChain {
            sandbox,
            config_path: config_path.to_owned(),
            state_dir_override: state_dir.map(Path::to_owned),
            fixed,
            current: ArcSwap::from_pointee(chain),
            generation: AtomicU64::new(0),
            reloading: std::sync::Mutex::new(()),
        };
        Ok((live, config))
    }

    /// Serving threads to start (fixed until restart).
    pub fn workers(&self) -> usize {
        self.fixed.workers
    }

    /// The chain serving now.
    pub fn current(&self) -> Arc<Chain> {
        self.current.load_full()
    }

    /// The generation serving now (0 until the first reload).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Re-reads the config, builds the new chain and swaps it in. On error
    /// the serving chain is untouched. Blocking (compiles): call it off the
    /// async threads.
    pub fn reload(&self) -> anyhow::Result<Reloaded> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let config = Config::load(&self.config_path)?;
        let fixed = FixedSettings::of(&config, self.state_dir_override.as_deref());
        if fixed != self.fixed {
            tracing::warn!(
                target: "portcullis::reload",
                "[plugin] name, socket, workers and state_dir take effect only on restart; still serving {} on {} with {} workers",
                self.fixed.plugin_name,
                self.fixed.socket.display(),
                self.fixed.workers
            );
        }
        if let Err(why) = self
            .sandbox
            .check_fits(self.fixed.workers, config.modules.len())
        {
            anyhow::bail!(why);
        }
        let chain = Chain::build(&self.sandbox, &config)?;
        let modules = chain.modules().count();
        let compiled = chain.modules().filter(|m| !m.was_reused()).count();
        self.current.store(Arc::new(chain));
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let reloaded = Reloaded {
            generation,
            modules,
            compiled,
            elapsed: started.elapsed(),
        };
        self.sandbox.forget_modules_except(self.current().modules());
        Ok(reloaded)
    }

    /// [`reload`](Self::reload), logging the outcome: `chain reloaded
    /// generation=N …` once the new chain serves, `reload failed …` otherwise.
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(done) => tracing::info!(
                target: "portcullis::reload",
                generation = done.generation,
                modules = done.modules,
                compiled = done.compiled,
                elapsed_ms = done.elapsed.as_secs_f64() * 1e3,
                chain = %self.current().module_names().collect::<Vec<_>>().join(" -> "),
                "chain reloaded"
            ),
            Err(err) => tracing::error!(
                target: "portcullis::reload",
                generation = self.generation(),
                "reload failed, still serving the previous chain: {err:#}"
            ),
        }
    }
}

/// Reloads `live` on every SIGHUP, one reload at a time, off the async threads.
pub async fn reload_on_sighup(live: Arc<LiveChain>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::error!("cannot install the SIGHUP handler; reload by restarting");
        return;
    };
    while hangup.recv().await.is_some() {
        tracing::info!(target: "portcullis::reload", "SIGHUP: reloading the chain");
        let live = live.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || live.reload_and_log()).await {
            tracing::error!(target: "portcullis::reload", "reload failed: {err}");
        }
    }
}

impl Decide for LiveChain {
    fn decide(&self, envelope: &Arc<Envelope>) -> ChainDecision {
        self.current.load_full().decide(envelope)
    }
}
