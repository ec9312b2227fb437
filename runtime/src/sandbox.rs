//! The wasmtime boundary: the engine, loading a policy module against ABI v1,
//! and one guest call under fuel, memory and wall-clock limits.
//!
//! Nothing outside this file touches wasmtime. Every call gets a fresh
//! instance in a fresh store, discarded once the evaluation is over. This
//! ensures: no state leaks from one request (or one user) to the next, a
//! trap or exhausted fuel can never leave a half-updated instance behind,
//! and a module's memory is returned as soon as it has answered.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use wasmtime::{
    Caller, Config as EngineConfig, Engine, ExternType, FuncType, InstanceAllocationStrategy,
    InstancePre, Linker, Memory, Module, PoolingAllocationConfig, ResourceLimiter, Store, Trap,
    TypedFunc, ValType,
};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use portcullis_envelope::Envelope;
use portcullis_envelope::envelope::{ConfigPrefix, SerializedEnvelope};
use portcullis_envelope::views::{VIEW_ABSENT, VIEW_UNKNOWN, ViewKind};

use crate::config::{Limits, ModuleSpec};

mod warm;

/// Resolution of the wall-clock deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Largest decision a guest may return.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// What a guest may write to stdout and stderr (each) in one call; more traps.
pub const MAX_STDIO_BYTES: usize = 64 * 1024;
/// What a guest may log through `portcullis.log` in one call; more is dropped.
pub const MAX_LOG_BYTES: usize = 16 * 1024;
/// Import namespaces a module may use.
pub const ALLOWED_IMPORT_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "portcullis"];

/// Why a module cannot be loaded: the chain is refused, naming module and file.
#[derive(Debug, thiserror::Error)]
#[error("module \"{module}\" ({}): {reason}", path.display())]
pub struct LoadError {
    /// The module's name in plugin.toml.
    pub module: String,
    /// Its file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
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
    /// Instances the pool holds at once (see [`slots_needed`]).
    slots: u32,
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
            slots,
        })
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

    /// Compiles `source`, or reuses the module compiled earlier from the
    /// same bytes. Returns the module and whether it was reused.
    fn compile(&self, source: &Arc<[u8]>) -> wasmtime::Result<(Module, bool)> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(module) = compiled.get(source) {
            return Ok((module.clone(), true));
        }
        let module = Module::new(&self.engine, source)?;
        compiled.insert(source.clone(), module.clone());
        Ok((module, false))
    }

    /// Drops compiled modules whose bytes no module of `keep` was loaded
    /// from (called once a new chain is serving).
    pub fn forget_modules_except<'a>(&self, keep: impl IntoIterator<Item = &'a PolicyModule>) {
        let keep: Vec<&[u8]> = keep.into_iter().map(|m| &*m.source).collect();
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        compiled.retain(|bytes, _| keep.contains(&&**bytes));
    }

    /// Compiles the module of `spec` (`.wasm`, or `.wat` text), checks it
    /// against ABI v1, and, if it exports `portcullis_validate_config`, has
    /// it check its config.
    pub fn load(&self, spec: &ModuleSpec) -> Result<PolicyModule, LoadError> {
        let (name, path, limits, config) = (&spec.name, &spec.path, spec.limits, &spec.config);
        let fail = |reason: String| LoadError {
            module: name.to_owned(),
            path: path.to_owned(),
            reason,
        };
        let source: Arc<[u8]> = std::fs::read(path)
            .map_err(|e| fail(format!("cannot read: {e}")))?
            .into();
        let (module, reused) = self
            .compile(&source)
            .map_err(|e| fail(format!("does not compile: {e:#}")))?;
        check_abi(&module).map_err(fail)?;
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| fail(format!("cannot link: {e:#}")))?;
        let has_export = |export: &str| module.get_export(export).is_some();
        let policy = PolicyModule {
            name: name.to_owned(),
            limits,
            has_initialize: has_export("_initialize"),
            has_validate_config: has_export("portcullis_validate_config"),
            reuse: spec.reuse_instances != Some(false) && has_export("portcullis_reusable"),
            views: has_export("portcullis_views_v1"),
            pre,
            engine: self.engine.clone(),
            source,
            reused,
            token: Arc::new(warm::Token::new()),
        };
        if policy.has_validate_config {
            let config_json = serde_json::to_vec(config).map_err(|e| fail(e.to_string()))?;
            let call = policy.invoke_fresh(Entry::ValidateConfig, [&config_json, &[]], None);
            match call.outcome {
                Ok(GuestDecision { allow: true, .. }) => {}
                Ok(GuestDecision { allow: false, msg }) => {
                    return Err(fail(format!(
                        "rejects its config: {}",
                        msg.unwrap_or_default()
                    )));
                }
                Err(failure) => return Err(fail(format!("config check failed: {failure}"))),
            }
        }
        Ok(policy)
    }
}

/// Instance slots a chain of `modules` evaluated by `workers` threads can
/// hold at once: each worker's warm instance of each module, twice over
/// (a reload's new instances are taken before the replaced chain's are
/// dropped), one fresh instance per worker (non-reusable modules, a first
/// call), and one config check at a time during a reload. A call finding
/// no free slot fails, and so denies.
pub fn slots_needed(workers: usize, modules: usize) -> u32 {
    let (workers, modules) = (workers.max(1), modules.max(1));
    let needed = 2 * workers * modules + workers + 1;
    u32::try_from(needed).unwrap_or(u32::MAX)
}

/// Fewest slots a pool is given: small chains keep room to grow on reload.
pub const MIN_SLOTS: u32 = 64;

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
pub const MAX_CALLS_PER_INSTANCE: u32 = 10_000;

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
    pre: InstancePre<GuestState>,
    engine: Engine,
    source: Arc<[u8]>,
    reused: bool,
    /// Names this module's warm instances; they go when it goes.
    token: Arc<warm::Token>,
}

impl PolicyModule {
    /// Whether loading it reused a module compiled earlier from the same bytes.
    pub fn was_reused(&self) -> bool {
        self.reused
    }

    /// The module's name in plugin.toml.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its limits.
    pub fn limits(&self) -> Limits {
        self.limits
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

    /// Whether the module fetches views instead of receiving the full envelope.
    pub fn fetches_views(&self) -> bool {
        self.views
    }

    /// Whether calls may reuse instances (the module declares it and
    /// plugin.toml does not forbid it).
    pub fn reuses_instances(&self) -> bool {
        self.reuse
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
        self.finish_call(&mut store, outcome, started).0
    }

    /// One call in this thread's warm instance of the module (instantiated
    /// on first use). The instance is kept only after a clean call that
    /// printed nothing, and for at most [`MAX_CALLS_PER_INSTANCE`] calls.
    fn invoke_warm(&self, input: [&[u8]; 2], envelope: &Arc<Envelope>) -> GuestCall {
        let started = Instant::now();
        let (mut store, exports, calls) = match warm::take(self.token.id()) {
            Some(warm) => {
                let mut store = warm.store;
                self.begin_call(&mut store, Some(envelope));
                (store, Ok(warm.exports), warm.calls)
            }
            None => {
                let mut store = self.new_store();
                self.begin_call(&mut store, Some(envelope));
                let exports = self.instantiate(&mut store);
                (store, exports, 0)
            }
        };
        let outcome = exports.and_then(|exports| {
            call_entry(&mut store, &exports, Entry::Authorize, input).map(|d| (d, exports))
        });
        let (outcome, exports) = match outcome {
            Ok((decision, exports)) => (Ok(decision), Some(exports)),
            Err(err) => (Err(err), None),
        };
        let (call, printed) = self.finish_call(&mut store, outcome, started);
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
        let state = store.data_mut();
        state.envelope = envelope.cloned();
        state.readied = None;
    }

    /// Classifies the outcome, accounts fuel and time, and logs what the
    /// guest printed. Also returns whether it printed anything.
    fn finish_call(
        &self,
        store: &mut Store<GuestState>,
        outcome: Result<GuestDecision, CallError>,
        started: Instant,
    ) -> (GuestCall, bool) {
        let outcome = outcome.map_err(|err| self.classify(err, store.data()));
        let fuel_used = self
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data_mut();
        // A warm instance must not keep the request it served.
        state.envelope = None;
        state.readied = None;
        let printed = state.emit_guest_output(&self.name);
        let call = GuestCall {
            outcome,
            fuel_used,
            elapsed: started.elapsed(),
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

/// Which call entry point to run.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Authorize,
    ValidateConfig,
}

/// A live instance's ABI v1 exports.
struct Exports {
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    authorize: TypedFunc<(i32, i32), i64>,
    validate_config: Option<TypedFunc<(i32, i32), i64>>,
}

/// Copies `input` into a buffer from `portcullis_alloc`, calls `entry` on
/// it and reads back the decision, checking every pointer the guest returns.
fn call_entry(
    store: &mut Store<GuestState>,
    exports: &Exports,
    entry: Entry,
    input: [&[u8]; 2],
) -> Result<GuestDecision, CallError> {
    let function = match entry {
        Entry::Authorize => &exports.authorize,
        Entry::ValidateConfig => exports
            .validate_config
            .as_ref()
            .ok_or_else(|| CallError::Output("no portcullis_validate_config export".into()))?,
    };
    let len = input[0].len() + input[1].len();
    let len_i32 = i32::try_from(len).map_err(|_| CallError::Output("input too large".into()))?;
    let ptr = complete(exports.alloc.call_async(&mut *store, len_i32))? as u32 as usize;
    let data = exports.memory.data_mut(&mut *store);
    let buffer = ptr
        .checked_add(len)
        .and_then(|end| data.get_mut(ptr..end))
        .ok_or_else(|| {
            CallError::Output(format!(
                "portcullis_alloc({len}) returned {ptr:#x}, outside memory"
            ))
        })?;
    buffer[..input[0].len()].copy_from_slice(input[0]);
    buffer[input[0].len()..].copy_from_slice(input[1]);

    let packed = complete(function.call_async(&mut *store, (ptr as i32, len_i32)))? as u64;
    let (out_ptr, out_len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    if out_len > MAX_OUTPUT_BYTES {
        return Err(CallError::Output(format!(
            "{out_len}-byte answer exceeds {MAX_OUTPUT_BYTES} bytes"
        )));
    }
    let data = exports.memory.data(&*store);
    let answer = out_ptr
        .checked_add(out_len)
        .and_then(|end| data.get(out_ptr..end))
        .ok_or_else(|| {
            CallError::Output(format!(
                "answer at {out_ptr:#x}+{out_len} lies outside the module's {}-byte memory",
                data.len()
            ))
        })?;
    serde_json::from_slice::<GuestDecision>(answer).map_err(|e| {
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(80)]).into_owned();
        CallError::Output(format!(
            "expected {{\"allow\": bool, \"msg\"?: string}}, got {shown:?} ({e})"
        ))
    })
}

/// Errors inside one call, before classification.
enum CallError {
    Wasm(wasmtime::Error),
    Output(String),
}

impl From<wasmtime::Error> for CallError {
    fn from(err: wasmtime::Error) -> Self {
        CallError::Wasm(err)
    }
}

/// Drives one guest call (on its fiber) to completion on this thread.
///
/// Nothing a guest can reach waits: its deadline and fuel trap instead of
/// yielding, the WASI shims it may call (stdout and stderr into memory,
/// clocks, randomness) finish at once, and `poll_oneoff`, the one that
/// would wait, traps. So the future is ready on its first poll, and a call
/// needs no executor and no other thread. Should a future host call ever
/// wait, the call fails (and denies) instead of blocking the thread.
fn complete<T>(future: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => {
            wasmtime::bail!("the module waited on the host, which a policy may not do")
        }
    }
}

/// Epoch ticks for a timeout, rounded up; at least one.
fn deadline_ticks(timeout_ms: u64) -> u64 {
    let tick_ms = EPOCH_TICK.as_millis().max(1) as u64;
    timeout_ms.div_ceil(tick_ms).max(1)
}

/// Checks imports and exports against ABI v1 (DESIGN.md).
fn check_abi(module: &Module) -> Result<(), String> {
    for import in module.imports() {
        if !ALLOWED_IMPORT_MODULES.contains(&import.module()) {
            return Err(format!(
                "imports \"{}\".\"{}\"; modules may only import from {}",
                import.module(),
                import.name(),
                ALLOWED_IMPORT_MODULES.join(" and ")
            ));
        }
    }
    let func = |params: &[ValType], results: &[ValType]| {
        FuncType::new(
            module.engine(),
            params.iter().cloned(),
            results.iter().cloned(),
        )
    };
    let required = [
        ("portcullis_abi_v1", func(&[], &[])),
        ("portcullis_alloc", func(&[ValType::I32], &[ValType::I32])),
        (
            "portcullis_authorize",
            func(&[ValType::I32, ValType::I32], &[ValType::I64]),
        ),
    ];
    let optional = [
        ("_initialize", func(&[], &[])),
        ("portcullis_reusable", func(&[], &[])),
        ("portcullis_views_v1", func(&[], &[])),
        (
            "portcullis_validate_config",
            func(&[ValType::I32, ValType::I32], &[ValType::I64]),
        ),
    ];
    if module.get_export("portcullis_abi_v1").is_none() {
        return Err("no export portcullis_abi_v1: not a Portcullis ABI v1 module".into());
    }
    for (name, expected) in &required {
        match module.get_export(name) {
            None => return Err(format!("missing required export {name}")),
            Some(actual) => check_func(name, &actual, expected)?,
        }
    }
    for (name, expected) in &optional {
        if let Some(actual) = module.get_export(name) {
            check_func(name, &actual, expected)?;
        }
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(memory)) if memory.is_64() => {
            Err("memory is 64-bit; ABI v1 is wasm32".into())
        }
        Some(ExternType::Memory(memory)) if memory.is_shared() => {
            Err("memory is shared; ABI v1 needs a private memory".into())
        }
        Some(ExternType::Memory(_)) => Ok(()),
        _ => Err("missing required export memory".into()),
    }
}

fn check_func(name: &str, actual: &ExternType, expected: &FuncType) -> Result<(), String> {
    match actual {
        ExternType::Func(ty) if FuncType::eq(ty, expected) => Ok(()),
        other => Err(format!(
            "export {name} has type {other:?}, ABI v1 requires {expected}"
        )),
    }
}

/// Host state of one call's store.
struct GuestState {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    logs: Vec<(i32, String)>,
    log_bytes: usize,
    /// The request being decided (its views), during a call only.
    envelope: Option<Arc<Envelope>>,
    /// The view `portcullis.view` readied last, for `portcullis.view_copy`.
    readied: Option<ViewKind>,
}

impl GuestState {
    /// WASI with nothing granted: no preopened directories, no environment,
    /// no arguments, no sockets; stdout and stderr captured, bounded.
    fn new(limits: Limits) -> GuestState {
        let stdout = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let stderr = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build_p1();
        GuestState {
            wasi,
            limiter: MemoryLimiter {
                max_bytes: limits.memory_mib as usize * 1024 * 1024,
                exceeded: false,
            },
            stdout,
            stderr,
            logs: Vec::new(),
            log_bytes: 0,
            envelope: None,
            readied: None,
        }
    }

    /// Sends what the guest printed or logged during this call to the
    /// host's log and clears it; returns whether it printed to stdout or
    /// stderr (whose buffers cannot be cleared, so such an instance is not reused).
    fn emit_guest_output(&mut self, module: &str) -> bool {
        let mut printed = false;
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            printed |= !bytes.is_empty();
            for line in String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                tracing::info!(target: "portcullis::guest", module, stream, "{line}");
            }
        }
        for (level, line) in self.logs.drain(..) {
            match level {
                0 => tracing::debug!(target: "portcullis::guest", module, "{line}"),
                1 => tracing::info!(target: "portcullis::guest", module, "{line}"),
                2 => tracing::warn!(target: "portcullis::guest", module, "{line}"),
                _ => tracing::error!(target: "portcullis::guest", module, "{line}"),
            }
        }
        self.log_bytes = 0;
        printed
    }
}

/// Caps linear memory; growing past the cap traps instead of returning -1,
/// so a module cannot ignore the failure and carry on.
struct MemoryLimiter {
    max_bytes: usize,
    exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.max_bytes);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// `portcullis.log(level, ptr, len)`: one line into the host's log, bounded.
fn host_log(
    mut caller: Caller<'_, GuestState>,
    level: i32,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        wasmtime::bail!("portcullis.log called by a module without memory");
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
        wasmtime::bail!("portcullis.log: message at {start:#x}+{len} lies outside memory");
    };
    let room = MAX_LOG_BYTES.saturating_sub(state.log_bytes);
    if room > 0 {
        let line = String::from_utf8_lossy(&bytes[..bytes.len().min(room)]).into_owned();
        state.log_bytes += line.len();
        state.logs.push((level, line));
    }
    Ok(())
}

/// `portcullis.view(kind) -> (status << 32) | len`: readies view `kind` of
/// the call being decided (built by the host on first demand, then shared
/// by the chain) for `portcullis.view_copy`.
fn host_view(mut caller: Caller<'_, GuestState>, kind: i32) -> i64 {
    let state = caller.data_mut();
    let Some(kind) = u32::try_from(kind).ok().and_then(ViewKind::from_number) else {
        return i64::from(VIEW_UNKNOWN) << 32;
    };
    let Some(envelope) = &state.envelope else {
        // No request (a config check): nothing to view.
        return i64::from(VIEW_ABSENT) << 32;
    };
    let (status, bytes) = envelope.view(kind).wire();
    let packed = (i64::from(status) << 32) | bytes.len() as i64;
    state.readied = Some(kind);
    packed
}

/// `portcullis.view_copy(ptr)`: copies the view readied last into the
/// module's memory at `ptr`; a range outside memory traps.
fn host_view_copy(mut caller: Caller<'_, GuestState>, ptr: i32) -> wasmtime::Result<()> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        wasmtime::bail!("portcullis.view_copy called by a module without memory");
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let (Some(kind), Some(envelope)) = (state.readied, &state.envelope) else {
        wasmtime::bail!("portcullis.view_copy without a view readied by portcullis.view");
    };
    let (_, bytes) = envelope.view(kind).wire();
    let start = ptr as u32 as usize;
    let Some(target) = start
        .checked_add(bytes.len())
        .and_then(|end| data.get_mut(start..end))
    else {
        wasmtime::bail!(
            "portcullis.view_copy: {} bytes at {start:#x} lie outside memory",
            bytes.len()
        );
    };
    target.copy_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_rounds_up_to_whole_ticks() {
        assert_eq!(deadline_ticks(1), 1);
        assert_eq!(deadline_ticks(100), 100);
    }
}
