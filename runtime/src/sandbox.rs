//! The wasmtime boundary: the engine, loading a policy module against ABI v1,
//! and one guest call under fuel, memory and wall-clock limits.
//!
//! Nothing outside this module touches wasmtime. Its rooms: the engine, the
//! instance pool and loading (here), the ABI checks at load (`abi.rs`),
//! one call and what it hands back (`call.rs`), the host side of a call's
//! store (`guest.rs`: WASI, limits, the `portcullis` imports), the warm
//! instances (`warm.rs`), and the on-disk cache of compiled modules
//! (`cache.rs`).
//!
//! A module that does not declare itself reusable gets a fresh instance in
//! a fresh store for every call, discarded once the evaluation is over: no
//! state leaks from one request (or one user) to the next, and a trap or
//! exhausted fuel can never leave a half-updated instance behind. A module
//! that declares `portcullis_reusable` (every SDK policy) promises its
//! answer depends only on its input; each serving thread then keeps one
//! warm instance of it, thrown away after any failure, after it prints,
//! after `MAX_CALLS_PER_INSTANCE` calls and on reload.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use wasmtime::{
    Caller, Config as EngineConfig, Engine, InstanceAllocationStrategy, InstancePre, Linker,
    Module, PoolingAllocationConfig, Store, Trap,
};

use portcullis_envelope::Envelope;
use portcullis_envelope::envelope::{ConfigPrefix, SerializedEnvelope};

use crate::config::{Limits, ModuleSpec};
use crate::state::{StagedWrites, StateQuota, StateStore};

mod abi;
mod cache;
mod call;
mod guest;
mod warm;

use abi::check_abi;
use cache::CompileCache;
use call::{CallError, Entry, Exports, call_entry, complete, deadline_ticks};
use guest::{
    GuestState, ModuleState, host_log, host_state_delete, host_state_get, host_state_put,
    host_state_scan, host_view, host_view_copy,
};

/// Resolution of the wall-clock deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Largest decision a guest may return.
pub(crate) const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// What a guest may write to stdout and stderr (each) in one call; more traps.
pub(crate) const MAX_STDIO_BYTES: usize = 64 * 1024;
/// What a guest may log through `portcullis.log` in one call; more is dropped.
pub(crate) const MAX_LOG_BYTES: usize = 16 * 1024;
/// Import namespaces a module may use.
pub(crate) const ALLOWED_IMPORT_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "portcullis"];

/// Why a module cannot be loaded: the chain is refused, naming module and file.
#[derive(Debug, thiserror::Error)]
#[error("module \"{module}\" ({}): {reason}", path.display())]
pub struct LoadError {
    /// What went wrong, for callers that branch on it.
    pub kind: LoadErrorKind,
    /// The module's name in plugin.toml.
    pub module: String,
    /// Its file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// The kinds of [`LoadError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// The file cannot be read.
    Unreadable,
    /// It is not a valid module (or `.wat` text).
    Compile,
    /// Its imports or exports break ABI v1.
    Abi,
    /// An import the host does not provide.
    Link,
    /// Its `portcullis_validate_config` refused the config.
    ConfigRejected,
    /// The config check itself failed (trap, fuel, bad answer).
    ConfigCheck,
    /// It uses host state, and the state database cannot be opened.
    State,
}

/// Why a guest call produced no decision. Each one denies the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestFailure {
    /// Fuel ran out (instantiation included).
    #[error("out of fuel (limit {limit})")]
    OutOfFuel {
        /// The module's fuel limit.
        limit: u64,
    },
    /// The wall-clock deadline passed.
    #[error("deadline exceeded (timeout {timeout_ms} ms)")]
    Deadline {
        /// The module's deadline.
        timeout_ms: u64,
    },
    /// The module tried to grow its memory past the cap.
    #[error("memory limit exceeded (limit {limit_mib} MiB)")]
    MemoryLimit {
        /// The module's memory cap.
        limit_mib: u32,
    },
    /// Any other trap: panic, `unreachable`, stack overflow, out-of-bounds access, exit.
    #[error("trap: {0}")]
    Trap(String),
    /// The module answered, but not with a decision.
    #[error("bad output: {0}")]
    BadOutput(String),
    /// The module answered, but its state writes could not be committed
    /// (they are discarded, and the call denied).
    #[error("state not saved: {0}")]
    State(String),
}

/// A guest's decision, as it gave it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GuestDecision {
    /// Whether the guest allows the call.
    pub allow: bool,
    /// Its reason, for a deny.
    #[serde(default)]
    pub msg: Option<String>,
}

/// What one guest call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestCall {
    /// The decision, or why there is none.
    pub outcome: Result<GuestDecision, GuestFailure>,
    /// Fuel consumed, instantiation included.
    pub fuel_used: u64,
    /// Wall time, instantiation included.
    pub elapsed: Duration,
    /// It ran in this thread's warm instance (no instantiation).
    pub warm: bool,
}

/// The engine shared by every module (and every reloaded chain), with the
/// thread that advances its epoch for wall-clock deadlines.
///
/// Invariant: the ticker runs as long as any clone of the engine lives
/// (modules hold one), so deadlines keep firing even if the `Sandbox`
/// itself is dropped before the chain.
pub struct Sandbox {
    engine: Engine,
    linker: Arc<Linker<GuestState>>,
    /// Compiled modules by their exact file contents, so that a reload
    /// compiles only the modules that changed.
    compiled: Mutex<HashMap<Arc<[u8]>, Module>>,
    /// Where compiled modules are kept across restarts (`None`: nowhere),
    /// and that cache once opened on first compile (`None` inside: it was
    /// refused, and modules are compiled every time).
    cache_dir: Option<PathBuf>,
    disk_cache: OnceLock<Option<CompileCache>>,
    /// Instances the pool holds at once (see [`slots_needed`]).
    slots: u32,
    /// Where host state lives, and the database once a module needs it.
    state_dir: PathBuf,
    state: Mutex<Option<Arc<StateStore>>>,
}

impl Sandbox {
    /// Creates the engine (fuel and epoch interruption on) with a pool of
    /// `slots` instances (at least [`MIN_SLOTS`]) and starts its ticker.
    pub fn new(slots: u32) -> anyhow::Result<Sandbox> {
        let slots = slots.max(MIN_SLOTS);
        let mut config = EngineConfig::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        // Guests are short policies: a small stack makes runaway recursion trap fast.
        config.max_wasm_stack(512 * 1024);
        // Calls run on a fiber, driven to completion on the thread that read
        // the request (see `complete`): WASI's async shims never block, so
        // no request is handed to another thread.
        config.async_stack_size(1024 * 1024);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(slots)));
        let engine = Engine::new(&config)?;

        let mut linker: Linker<GuestState> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state| &mut state.wasi)?;
        linker.func_wrap("portcullis", "log", host_log)?;
        linker.func_wrap("portcullis", "view", host_view)?;
        linker.func_wrap("portcullis", "view_copy", host_view_copy)?;
        linker.func_wrap("portcullis", "state_get", host_state_get)?;
        linker.func_wrap("portcullis", "state_put", host_state_put)?;
        linker.func_wrap("portcullis", "state_delete", host_state_delete)?;
        linker.func_wrap("portcullis", "state_scan", host_state_scan)?;
        // The epoch deadline interrupts wasm code only: a module blocked in
        // a host call would outlive it. The one WASI call that blocks is
        // poll_oneoff (sleeping, waiting on clocks); a policy has no use
        // for it, so it traps.
        linker.allow_shadowing(true);
        linker.func_wrap(
            "wasi_snapshot_preview1",
            "poll_oneoff",
            |_: Caller<'_, GuestState>, _: i32, _: i32, _: i32, _: i32| -> wasmtime::Result<i32> {
                wasmtime::bail!("poll_oneoff: a policy may not sleep or wait")
            },
        )?;
        linker.allow_shadowing(false);

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("portcullis-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(Sandbox {
            engine,
            linker: Arc::new(linker),
            compiled: Mutex::new(HashMap::new()),
            cache_dir: None,
            disk_cache: OnceLock::new(),
            slots,
            state_dir: PathBuf::from(crate::config::DEFAULT_STATE_DIR),
            state: Mutex::new(None),
        })
    }

    /// Keeps host state in `dir` (opened when a module first needs it).
    pub fn with_state_dir(mut self, dir: PathBuf) -> Sandbox {
        self.state_dir = dir;
        self
    }

    /// Keeps compiled modules in `dir` across restarts (`None`, the default:
    /// compiles every module at start). The directory is opened on the
    /// first compile; if it is refused, a warning says why and modules are
    /// compiled as without it.
    pub fn with_cache_dir(mut self, dir: Option<PathBuf>) -> Sandbox {
        self.cache_dir = dir;
        self.disk_cache = OnceLock::new();
        self
    }

    /// The on-disk cache, opened on first use; `None` if there is none.
    fn disk_cache(&self) -> Option<&CompileCache> {
        self.disk_cache
            .get_or_init(|| {
                let dir = self.cache_dir.as_deref()?;
                CompileCache::open(dir)
                    .inspect_err(|err| {
                        tracing::warn!(
                            target: "portcullis::cache",
                            "compiling without the module cache: {err}"
                        );
                    })
                    .ok()
            })
            .as_ref()
    }

    /// The state database, opened on first use.
    fn state_store(&self) -> Result<Arc<StateStore>, String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = state.as_ref() {
            return Ok(store.clone());
        }
        let store = Arc::new(StateStore::open(&self.state_dir).map_err(|e| e.to_string())?);
        *state = Some(store.clone());
        Ok(store)
    }

    /// A sandbox whose pool fits `modules` evaluated by `workers` threads,
    /// with room for reloads that double the chain.
    pub fn for_chain(workers: usize, modules: usize) -> anyhow::Result<Sandbox> {
        Sandbox::new(slots_needed(workers, modules.saturating_mul(2)))
    }

    /// Whether a chain of `modules` evaluated by `workers` threads fits the
    /// pool; the reason it does not, for the refusal of a reload.
    pub fn check_fits(&self, workers: usize, modules: usize) -> Result<(), String> {
        let needed = slots_needed(workers, modules);
        if needed <= self.slots {
            return Ok(());
        }
        Err(format!(
            "{modules} modules with {workers} workers need {needed} instance slots, and the \
             engine was sized for {} when Portcullis started: restart it to load this chain",
            self.slots
        ))
    }

    /// The module of `source` (whose SHA-256 is `digest`), cheapest first:
    /// compiled earlier in this process from the same bytes, deserialized
    /// from the disk cache, or compiled now (and then cached on disk).
    fn compile(
        &self,
        source: &Arc<[u8]>,
        digest: &str,
    ) -> wasmtime::Result<(Module, CompiledFrom)> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(module) = compiled.get(source) {
            return Ok((module.clone(), CompiledFrom::Memory));
        }
        let cache = self.disk_cache();
        let (module, from) = match cache.and_then(|cache| cache.load(&self.engine, digest)) {
            Some(module) => (module, CompiledFrom::DiskCache),
            None => {
                let module = Module::new(&self.engine, source);
                if let (Ok(module), Some(cache)) = (&module, cache) {
                    cache.store(digest, module);
                }
                // After `store`: serializing allocates a copy of the code.
                release_compiler_memory();
                (module?, CompiledFrom::Compiler)
            }
        };
        compiled.insert(source.clone(), module.clone());
        Ok((module, from))
    }

    /// Drops compiled modules whose bytes no module of `keep` was loaded
    /// from (called once a new chain is serving).
    pub fn forget_modules_except<'a>(&self, keep: impl IntoIterator<Item = &'a PolicyModule>) {
        let keep: Vec<&[u8]> = keep.into_iter().map(|m| &*m.source).collect();
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        compiled.retain(|bytes, _| keep.contains(&&**bytes));
        drop(compiled);
        release_compiler_memory();
    }

    /// Compiles the module of `spec` (`.wasm`, or `.wat` text), checks it
    /// against ABI v1, and, if it exports `portcullis_validate_config`, has
    /// it check its config.
    pub fn load(&self, spec: &ModuleSpec) -> Result<PolicyModule, LoadError> {
        let (name, path, limits, config) = (&spec.name, &spec.path, spec.limits, &spec.config);
        let fail = |kind: LoadErrorKind| {
            move |reason: String| LoadError {
                kind,
                module: name.to_owned(),
                path: path.to_owned(),
                reason,
            }
        };
        let source: Arc<[u8]> = std::fs::read(path)
            .map_err(|e| fail(LoadErrorKind::Unreadable)(format!("cannot read: {e}")))?
            .into();
        let digest = sha256_hex(&source);
        let (module, compiled_from) = self
            .compile(&source, &digest)
            .map_err(|e| fail(LoadErrorKind::Compile)(format!("does not compile: {e:#}")))?;
        check_abi(&module).map_err(fail(LoadErrorKind::Abi))?;
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| fail(LoadErrorKind::Link)(format!("cannot link: {e:#}")))?;
        let has_export = |export: &str| module.get_export(export).is_some();
        let uses_state = module
            .imports()
            .any(|i| i.module() == "portcullis" && i.name().starts_with("state_"));
        let state = if uses_state {
            Some(self.state_store().map_err(fail(LoadErrorKind::State))?)
        } else {
            None
        };
        let policy = PolicyModule {
            name: name.to_owned(),
            digest,
            limits,
            has_initialize: has_export("_initialize"),
            has_validate_config: has_export("portcullis_validate_config"),
            reuse: spec.reuse_instances != Some(false) && has_export("portcullis_reusable"),
            views: has_export("portcullis_views_v1"),
            response_phase: spec
                .response_phase
                .unwrap_or_else(|| has_export("portcullis_response_v1")),
            state,
            pre,
            engine: self.engine.clone(),
            source,
            compiled_from,
            token: Arc::new(warm::Token::new()),
        };
        if policy.has_validate_config {
            let config_json = serde_json::to_vec(config)
                .map_err(|e| fail(LoadErrorKind::ConfigCheck)(e.to_string()))?;
            let call = policy.invoke_fresh(Entry::ValidateConfig, [&config_json, &[]], None);
            match call.outcome {
                Ok(GuestDecision { allow: true, .. }) => {}
                Ok(GuestDecision { allow: false, msg }) => {
                    return Err(fail(LoadErrorKind::ConfigRejected)(format!(
                        "rejects its config: {}",
                        msg.unwrap_or_default()
                    )));
                }
                Err(failure) => {
                    return Err(fail(LoadErrorKind::ConfigCheck)(format!(
                        "config check failed: {failure}"
                    )));
                }
            }
        }
        Ok(policy)
    }
}

/// Hands back to the system what compiling a module left free in the
/// allocator's per-thread arenas (MiBs per module, compiled on several
/// threads), which glibc would otherwise keep resident for good: without
/// it, a ten-module chain holds ~12 MiB more.
fn release_compiler_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator to the system.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Instance slots a chain of `modules` evaluated by `workers` threads can
/// hold at once: each worker's warm instance of each module, twice over
/// (a reload's new instances are taken before the replaced chain's are
/// dropped), one fresh instance per worker (non-reusable modules, a first
/// call), and one config check at a time during a reload. A call finding
/// no free slot fails, and so denies.
pub(crate) fn slots_needed(workers: usize, modules: usize) -> u32 {
    let (workers, modules) = (workers.max(1), modules.max(1));
    let needed = 2 * workers * modules + workers + 1;
    u32::try_from(needed).unwrap_or(u32::MAX)
}

/// Fewest slots a pool is given: small chains keep room to grow on reload.
pub(crate) const MIN_SLOTS: u32 = 64;

/// Pre-reserved instances, memories and tables: instantiation takes a warm
/// slot and resets it from the module's copy-on-write image instead of
/// mapping and unmapping fresh memory for every call.
fn pooling_config(slots: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_stacks(slots)
        // Any wasm32 memory fits a slot; the per-module cap is the limiter's job.
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 * 1024);
    pool
}

/// Bytes of a freed linear memory reset with memset rather than madvise:
/// enough for the pages a short call dirties, small enough that idle slots
/// do not hold much memory (measured: 0, 128 KiB and 1 MiB within noise).
const KEEP_RESIDENT: usize = 128 * 1024;

/// Calls one warm instance serves before it is replaced, bounding what a
/// long-lived instance can accumulate (heap fragmentation, caches).
pub(crate) const MAX_CALLS_PER_INSTANCE: u32 = 10_000;

/// Where loading a module got its compiled code from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompiledFrom {
    /// An earlier load in this process compiled the same bytes.
    Memory,
    /// Deserialized from the cache directory, where an earlier process
    /// (or load) stored it.
    DiskCache,
    /// Compiled now.
    Compiler,
}

impl CompiledFrom {
    /// Its name in logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            CompiledFrom::Memory => "memory",
            CompiledFrom::DiskCache => "disk_cache",
            CompiledFrom::Compiler => "compiler",
        }
    }
}

/// A compiled module, checked against ABI v1, ready to be instantiated per call.
///
/// Invariant: its exports and imports passed [`check_abi`] and linking.
pub struct PolicyModule {
    name: String,
    limits: Limits,
    has_initialize: bool,
    has_validate_config: bool,
    reuse: bool,
    /// Exports `portcullis_views_v1`: gets the small envelope and fetches
    /// the rest with `portcullis.view`.
    views: bool,
    /// Judges the response phase too: exports `portcullis_response_v1`,
    /// or plugin.toml says `response_phase = true`.
    response_phase: bool,
    /// Its host state, if it imports the state functions.
    state: Option<Arc<StateStore>>,
    pre: InstancePre<GuestState>,
    engine: Engine,
    source: Arc<[u8]>,
    /// SHA-256 of `source`, hex.
    digest: String,
    /// Where its compiled code came from.
    compiled_from: CompiledFrom,
    /// Names this module's warm instances; they go when it goes.
    token: Arc<warm::Token>,
}

impl PolicyModule {
    /// Whether it judges the response phase (`portcullis_response_v1` or
    /// `response_phase = true`); the chain skips it there otherwise.
    pub fn judges_responses(&self) -> bool {
        self.response_phase
    }

    /// Whether loading it reused a module compiled earlier in this process
    /// from the same bytes ([`CompiledFrom::Memory`]).
    pub fn was_reused(&self) -> bool {
        self.compiled_from == CompiledFrom::Memory
    }

    /// Where loading it got its compiled code from.
    pub fn compiled_from(&self) -> CompiledFrom {
        self.compiled_from
    }

    /// The module's name in plugin.toml.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the module file, hex: what is running, for status and
    /// the chain version.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Its sandbox limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether each serving thread keeps a warm instance of it.
    pub fn reuses_instances(&self) -> bool {
        self.reuse
    }

    /// Runs `portcullis_authorize` on `envelope` with the module's `config`
    /// spliced in: the small envelope for a module that fetches views (they
    /// are answered from `envelope` during the call), the full one otherwise.
    ///
    /// A reusable module runs in this thread's warm instance when it has
    /// one; any other module, and any call after a failure, gets a fresh one.
    pub fn authorize(&self, envelope: &Arc<Envelope>, config: &ConfigPrefix) -> GuestCall {
        let json: &SerializedEnvelope = if self.views {
            envelope.core_json()
        } else {
            envelope.full_json()
        };
        let input = json.parts_with(config);
        if self.reuse {
            self.invoke_warm(input, envelope)
        } else {
            self.invoke_fresh(Entry::Authorize, input, Some(envelope))
        }
    }

    /// One call in a fresh store and instance, discarded afterwards.
    fn invoke_fresh(
        &self,
        entry: Entry,
        input: [&[u8]; 2],
        envelope: Option<&Arc<Envelope>>,
    ) -> GuestCall {
        let started = Instant::now();
        let mut store = self.new_store();
        self.begin_call(&mut store, envelope);
        let outcome = self
            .instantiate(&mut store)
            .and_then(|exports| call_entry(&mut store, &exports, entry, input));
        self.finish_call(&mut store, outcome, started, false).0
    }

    /// One call in this thread's warm instance of the module (instantiated
    /// on first use). The instance is kept only after a clean call that
    /// printed nothing, and for at most [`MAX_CALLS_PER_INSTANCE`] calls.
    fn invoke_warm(&self, input: [&[u8]; 2], envelope: &Arc<Envelope>) -> GuestCall {
        let started = Instant::now();
        let (mut store, exports, calls, warm) = match warm::take(self.token.id()) {
            Some(warm) => {
                let mut store = warm.store;
                self.begin_call(&mut store, Some(envelope));
                (store, Ok(warm.exports), warm.calls, true)
            }
            None => {
                let mut store = self.new_store();
                self.begin_call(&mut store, Some(envelope));
                let exports = self.instantiate(&mut store);
                (store, exports, 0, false)
            }
        };
        let outcome = exports.and_then(|exports| {
            call_entry(&mut store, &exports, Entry::Authorize, input).map(|d| (d, exports))
        });
        let (outcome, exports) = match outcome {
            Ok((decision, exports)) => (Ok(decision), Some(exports)),
            Err(err) => (Err(err), None),
        };
        let (call, printed) = self.finish_call(&mut store, outcome, started, warm);
        if let Some(exports) = exports.filter(|_| !printed && calls + 1 < MAX_CALLS_PER_INSTANCE) {
            warm::put_back(
                &self.token,
                warm::WarmInstance {
                    store,
                    exports,
                    calls: calls + 1,
                },
            );
        }
        call
    }

    fn new_store(&self) -> Store<GuestState> {
        let mut store = Store::new(&self.engine, GuestState::new(self.limits));
        store.limiter(|state| &mut state.limiter);
        store
    }

    /// Gives the store this call's budgets (full fuel, a fresh deadline)
    /// and the envelope its views are answered from.
    fn begin_call(&self, store: &mut Store<GuestState>, envelope: Option<&Arc<Envelope>>) {
        // Setting fuel cannot fail: fuel consumption is enabled on the engine.
        store.set_fuel(self.limits.fuel).unwrap_or_default();
        store.set_epoch_deadline(deadline_ticks(self.limits.timeout_ms));
        store.epoch_deadline_trap();
        let quota = StateQuota {
            keys: self.limits.state_keys,
            bytes: self.limits.state_mib.saturating_mul(1024 * 1024),
        };
        let state = store.data_mut();
        state.envelope = envelope.cloned();
        state.readied = None;
        state.state = self.state.as_ref().map(|store| ModuleState {
            store: store.clone(),
            module: Arc::from(self.name.as_str()),
            quota,
            staged: StagedWrites::default(),
        });
    }

    /// Classifies the outcome, accounts fuel and time, and logs what the
    /// guest printed. Also returns whether it printed anything.
    fn finish_call(
        &self,
        store: &mut Store<GuestState>,
        outcome: Result<GuestDecision, CallError>,
        started: Instant,
        warm: bool,
    ) -> (GuestCall, bool) {
        let outcome = outcome.map_err(|err| self.classify(err, store.data()));
        let fuel_used = self
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data_mut();
        // A warm instance must not keep the request it served, nor its writes.
        state.envelope = None;
        state.readied = None;
        let module_state = state.state.take();
        // An answer commits the call's writes before anyone hears it; a
        // failed call commits nothing.
        let outcome = match (outcome, module_state) {
            (Ok(decision), Some(module_state)) => module_state
                .store
                .commit(
                    &module_state.module,
                    &module_state.staged.writes,
                    module_state.quota,
                )
                .map(|()| decision)
                .map_err(|err| GuestFailure::State(err.to_string())),
            (outcome, _) => outcome,
        };
        let printed = state.emit_guest_output(&self.name);
        let call = GuestCall {
            outcome,
            fuel_used,
            elapsed: started.elapsed(),
            warm,
        };
        (call, printed)
    }

    /// Instantiates the module in `store` (start function and `_initialize`
    /// included, under the store's budgets) and looks up its ABI exports.
    fn instantiate(&self, store: &mut Store<GuestState>) -> Result<Exports, CallError> {
        let instance = complete(self.pre.instantiate_async(&mut *store))?;
        if self.has_initialize {
            let initialize = instance.get_typed_func::<(), ()>(&mut *store, "_initialize")?;
            complete(initialize.call_async(&mut *store, ()))?;
        }
        let memory = instance
            .get_memory(&mut *store, "memory")
            .ok_or_else(|| CallError::Output("no memory export".into()))?;
        let entry = |store: &mut Store<GuestState>, name| {
            instance.get_typed_func::<(i32, i32), i64>(store, name)
        };
        Ok(Exports {
            memory,
            alloc: instance.get_typed_func::<i32, i32>(&mut *store, "portcullis_alloc")?,
            authorize: entry(&mut *store, "portcullis_authorize")?,
            validate_config: if self.has_validate_config {
                Some(entry(&mut *store, "portcullis_validate_config")?)
            } else {
                None
            },
        })
    }

    /// Names the failure of a call, most specific first.
    fn classify(&self, err: CallError, state: &GuestState) -> GuestFailure {
        let err = match err {
            CallError::Output(msg) => return GuestFailure::BadOutput(msg),
            CallError::Wasm(err) => err,
        };
        if state.limiter.exceeded {
            return GuestFailure::MemoryLimit {
                limit_mib: self.limits.memory_mib,
            };
        }
        if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return GuestFailure::Trap(format!("module exited with code {}", exit.0));
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => GuestFailure::OutOfFuel {
                limit: self.limits.fuel,
            },
            Some(Trap::Interrupt) => GuestFailure::Deadline {
                timeout_ms: self.limits.timeout_ms,
            },
            Some(trap) => {
                let text = trap.to_string();
                GuestFailure::Trap(text.strip_prefix("wasm trap: ").unwrap_or(&text).to_owned())
            }
            None => GuestFailure::Trap(err.root_cause().to_string()),
        }
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(file: &str) -> ModuleSpec {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/guests")
            .join(file);
        ModuleSpec {
            name: "m".into(),
            path,
            limits: crate::config::Limits {
                fuel: 1_000_000,
                memory_mib: 16,
                timeout_ms: 100,
                state_keys: 10,
                state_mib: 1,
            },
            reuse_instances: None,
            response_phase: None,
            mode: crate::config::Mode::Enforce,
            config: serde_json::json!({}),
            line: 1,
        }
    }

    fn load_kind(file: &str) -> Option<LoadErrorKind> {
        Sandbox::new(MIN_SLOTS)
            .unwrap()
            .load(&spec(file))
            .err()
            .map(|e| e.kind)
    }

    #[test]
    fn second_process_loads_compiled_module_from_disk_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let cache_dir = Some(tmp.path().join("cache"));
        let spec = spec("allow.wat");
        let from = |sandbox: &Sandbox| sandbox.load(&spec).unwrap().compiled_from();

        let first = Sandbox::new(MIN_SLOTS)
            .unwrap()
            .with_cache_dir(cache_dir.clone());
        assert_eq!(from(&first), CompiledFrom::Compiler);
        assert_eq!(from(&first), CompiledFrom::Memory);
        assert!(first.load(&spec).unwrap().was_reused());

        let second = Sandbox::new(MIN_SLOTS).unwrap().with_cache_dir(cache_dir);
        let module = second.load(&spec).unwrap();
        assert_eq!(module.compiled_from(), CompiledFrom::DiskCache);
        assert!(!module.was_reused());
        assert_eq!(
            module.digest(),
            sha256_hex(&std::fs::read(&spec.path).unwrap())
        );

        let uncached = Sandbox::new(MIN_SLOTS).unwrap();
        assert_eq!(from(&uncached), CompiledFrom::Compiler);
    }

    #[test]
    fn refused_cache_dir_only_costs_compile_time() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let sandbox = Sandbox::new(MIN_SLOTS)
            .unwrap()
            .with_cache_dir(Some(dir.clone()));
        let module = sandbox.load(&spec("allow.wat")).unwrap();
        assert_eq!(module.compiled_from(), CompiledFrom::Compiler);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn compiled_from_labels() {
        assert_eq!(CompiledFrom::Memory.label(), "memory");
        assert_eq!(CompiledFrom::DiskCache.label(), "disk_cache");
        assert_eq!(CompiledFrom::Compiler.label(), "compiler");
    }

    #[test]
    fn load_errors_say_what_kind_they_are() {
        assert_eq!(load_kind("allow.wat"), None);
        assert_eq!(load_kind("no-such.wat"), Some(LoadErrorKind::Unreadable));
        assert_eq!(load_kind("no-abi-marker.wat"), Some(LoadErrorKind::Abi));
        assert_eq!(load_kind("wrong-signature.wat"), Some(LoadErrorKind::Abi));
        assert_eq!(load_kind("forbidden-import.wat"), Some(LoadErrorKind::Abi));
    }

    #[test]
    fn deadline_rounds_up_to_whole_ticks() {
        assert_eq!(deadline_ticks(1), 1);
        assert_eq!(deadline_ticks(100), 100);
    }
}
