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
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use portcullis_envelope::Envelope;

use crate::chain::{Chain, ChainDecision, Decide};
use crate::config::Config;
use crate::docker_lookup::Answers;
use crate::metrics::Metrics;
use crate::sandbox::{CompiledFrom, Sandbox};

/// `serve`'s command-line settings, which outrank the config's, on
/// reloads too.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--cache-dir`.
    pub cache_dir: Option<PathBuf>,
}

/// The serving chain, swappable while requests run through it.
pub struct LiveChain {
    sandbox: Sandbox,
    config_path: PathBuf,
    overrides: Overrides,
    /// The settings a reload cannot change (the socket is already bound).
    fixed: FixedSettings,
    current: ArcSwap<Chain>,
    generation: AtomicU64,
    /// Serializes reloads: two at once would race to swap.
    reloading: std::sync::Mutex<()>,
    /// The last reload's record; locked only to read or replace it, so
    /// `status` never waits for a reload in progress.
    last: std::sync::Mutex<LastReload>,
    metrics: Arc<Metrics>,
}

/// The last reload's time and result, for `portcullis status`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LastReload {
    /// When it finished (RFC 3339); `None` before the first reload.
    pub at: Option<String>,
    /// Whether the new chain serves.
    pub ok: Option<bool>,
    /// What it did, or why it failed.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FixedSettings {
    plugin_name: String,
    socket: PathBuf,
    workers: usize,
    state_dir: PathBuf,
    cache_dir: Option<PathBuf>,
    host_root: portcullis_envelope::mounts::HostRoot,
    watch: bool,
    admin: crate::config::AdminSettings,
    log: crate::config::LogSettings,
    docker: crate::config::DockerSettings,
}

impl FixedSettings {
    fn of(config: &Config, overrides: &Overrides) -> FixedSettings {
        FixedSettings {
            plugin_name: config.plugin_name.clone(),
            socket: config.socket.clone(),
            workers: config.worker_threads(),
            state_dir: overrides
                .state_dir
                .clone()
                .unwrap_or_else(|| config.state_dir.clone()),
            cache_dir: overrides
                .cache_dir
                .clone()
                .or_else(|| config.cache_dir.clone()),
            host_root: config.host_root.clone(),
            watch: config.watch,
            admin: config.admin.clone(),
            log: config.log.clone(),
            docker: config.docker.clone(),
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
    /// Of those, how many were compiled anew (the rest reused code compiled
    /// earlier from the same bytes, in memory or in the on-disk cache).
    pub compiled: usize,
    /// The new chain's version.
    pub version: Arc<str>,
    /// From the start of the reload to the new chain serving.
    pub elapsed: Duration,
}

impl LiveChain {
    /// Loads `config_path` and builds generation 0 of its chain, in an
    /// engine whose instance pool is sized for its workers and modules,
    /// with `overrides` outranking the config, counting in `metrics`.
    pub fn start(
        config_path: &Path,
        overrides: Overrides,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<(LiveChain, Config)> {
        let config = Config::load(config_path)?;
        let fixed = FixedSettings::of(&config, &overrides);
        let sandbox = Sandbox::for_chain(fixed.workers, config.modules.len())
            .context("cannot create the wasm engine")?
            .with_state_dir(fixed.state_dir.clone())
            .with_cache_dir(fixed.cache_dir.clone());
        let chain = Chain::build_metered(&sandbox, &config, Some(&metrics))?;
        metrics.serving(chain.version(), 0);
        let live = LiveChain {
            sandbox,
            config_path: config_path.to_owned(),
            overrides,
            fixed,
            current: ArcSwap::from_pointee(chain),
            generation: AtomicU64::new(0),
            reloading: std::sync::Mutex::new(()),
            last: std::sync::Mutex::new(LastReload::default()),
            metrics,
        };
        Ok((live, config))
    }

    /// The config file it reloads from.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The metrics it counts in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The last reload's time and result (a reload in progress is not
    /// waited for).
    pub fn last_reload(&self) -> LastReload {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
        self.reload_recorded().0
    }

    /// [`reload`](Self::reload), and the record of this reload (also kept
    /// as [`last_reload`](Self::last_reload)).
    fn reload_recorded(&self) -> (anyhow::Result<Reloaded>, LastReload) {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.reload_now();
        self.metrics.reloaded(result.is_ok());
        let record = LastReload {
            at: Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
            ok: Some(result.is_ok()),
            message: Some(match &result {
                Ok(done) => format!(
                    "generation {} ({} modules, {} compiled) in {:.1} ms",
                    done.generation,
                    done.modules,
                    done.compiled,
                    done.elapsed.as_secs_f64() * 1e3
                ),
                Err(err) => format!("{err:#}"),
            }),
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = record.clone();
        (result, record)
    }

    fn reload_now(&self) -> anyhow::Result<Reloaded> {
        let started = Instant::now();
        let config = Config::load(&self.config_path)?;
        let fixed = FixedSettings::of(&config, &self.overrides);
        if fixed != self.fixed {
            tracing::warn!(
                target: "portcullis::reload",
                "[plugin] name, socket, workers, state_dir, cache_dir, host_root, watch, [admin], [log] and [docker] take effect only on restart; still serving {} on {} with {} workers",
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
        let chain = Chain::build_metered(&self.sandbox, &config, Some(&self.metrics))?;
        let modules = chain.modules().count();
        let compiled = chain
            .modules()
            .filter(|m| m.compiled_from() == CompiledFrom::Compiler)
            .count();
        let version = chain.version().clone();
        self.current.store(Arc::new(chain));
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.metrics.serving(&version, generation);
        let reloaded = Reloaded {
            generation,
            modules,
            compiled,
            elapsed: started.elapsed(),
            version,
        };
        self.sandbox.forget_modules_except(self.current().modules());
        Ok(reloaded)
    }

    /// [`reload`](Self::reload), logging the outcome: `chain reloaded
    /// generation=N …` once the new chain serves, `reload failed …`
    /// otherwise. Returns this reload's record.
    pub fn reload_and_log(&self) -> LastReload {
        let (result, record) = self.reload_recorded();
        match result {
            Ok(done) => tracing::info!(
                target: "portcullis::reload",
                generation = done.generation,
                modules = done.modules,
                compiled = done.compiled,
                version = %done.version,
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
        record
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
        if let Err(err) = tokio::task::spawn_blocking(move || drop(live.reload_and_log())).await {
            tracing::error!(target: "portcullis::reload", "reload failed: {err}");
        }
    }
}

impl Decide for LiveChain {
    fn decide(&self, envelope: &Arc<Envelope>) -> ChainDecision {
        self.current.load_full().decide(envelope)
    }

    fn version(&self) -> Arc<str> {
        self.current.load().version().clone()
    }

    fn questions(&self, envelope: &Envelope, answers: &Answers) -> Vec<String> {
        self.current.load().questions(envelope, answers)
    }

    fn decide_with(&self, envelope: &Arc<Envelope>, answers: &Answers) -> ChainDecision {
        self.current.load_full().decide_with(envelope, answers)
    }
}
