//! Prometheus metrics (`prometheus-client`): what the chain decides, how
//! long and how much fuel each module takes, how modules fail, reloads,
//! and the decision log's dropped lines. Served as text by the admin socket
//! (and optionally a TCP address, see `admin`).
//!
//! The request path never looks a series up by label: each module's
//! counters are resolved once, when its chain is built ([`ModuleMeter`]),
//! and a call only increments atomics. A module keeps its series across
//! reloads by name, so counters stay monotonic for Prometheus' `rate()`.

use std::time::Duration;

use portcullis_envelope::Phase;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::chain::{ChainDecision, ModuleReport, Verdict};
use crate::config::Mode;
use crate::sandbox::GuestFailure;

/// Latency buckets, in seconds: 5 µs to about 0.33 s by factors of 4, which
/// spans a warm call of a small policy to a module at its deadline.
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(5e-6, 4.0, 9)
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn new_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// Every metric Portcullis exports, registered once per process.
pub struct Metrics {
    registry: Registry,
    module_calls: Family<ModuleOutcome, Counter>,
    module_failures: Family<ModuleFailure, Counter>,
    module_seconds: Histograms<ModuleLabel>,
    module_fuel: Family<ModuleLabel, Counter>,
    /// Wall time per module in µs, for `status` (the histogram's sum is
    /// not readable back); not exported.
    module_micros: Family<ModuleLabel, Counter>,
    module_instances: Family<ModuleInstance, Counter>,
    module_loads: Family<ModuleLoad, Counter>,
    chain_decisions: Family<ChainOutcome, Counter>,
    chain_seconds: Histograms<PhaseLabel>,
    /// `chain_decisions` and `chain_seconds` by phase (request, response),
    /// resolved once: a decision is counted without a lookup.
    by_phase: [PhaseMeter; 2],
    refused: Counter,
    reloads: Family<ReloadResult, Counter>,
    chain_info: Family<ChainInfo, Gauge>,
    log_lines: Counter,
    log_dropped: Counter,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleLabel {
    module: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleOutcome {
    module: String,
    /// `enforce` or `monitor`.
    mode: &'static str,
    /// `allow`, `deny` or `failed`.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleFailure {
    module: String,
    /// One of [`FAILURE_KINDS`].
    kind: &'static str,
}

/// The kinds of [`GuestFailure`], as label values, in [`failure_kind`]'s order.
const FAILURE_KINDS: [&str; 6] = ["trap", "fuel", "deadline", "memory", "bad_output", "state"];

/// Index of `failure`'s kind in [`FAILURE_KINDS`].
fn failure_kind(failure: &GuestFailure) -> usize {
    match failure {
        GuestFailure::Trap(_) => 0,
        GuestFailure::OutOfFuel { .. } => 1,
        GuestFailure::Deadline { .. } => 2,
        GuestFailure::MemoryLimit { .. } => 3,
        GuestFailure::BadOutput(_) => 4,
        GuestFailure::State(_) => 5,
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleInstance {
    module: String,
    /// `warm` (the thread's kept instance) or `fresh` (instantiated for the call).
    instance: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleLoad {
    module: String,
    /// `memory`, `disk_cache` or `compiler`.
    from: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainOutcome {
    phase: &'static str,
    /// `allow` or `deny`.
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    phase: &'static str,
}

fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Request => "request",
        Phase::Response => "response",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadResult {
    /// `success` or `failure`.
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainInfo {
    version: String,
    generation: String,
}

/// The whole chain's counters for one phase.
struct PhaseMeter {
    allow: Counter,
    deny: Counter,
    seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every Portcullis metric, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("portcullis");
        let chain_decisions: Family<ChainOutcome, Counter> = Family::default();
        let chain_seconds: Histograms<PhaseLabel> = Family::new_with_constructor(new_histogram);
        let by_phase = [Phase::Request, Phase::Response].map(|phase| {
            let phase = phase_label(phase);
            let decisions =
                |decision| chain_decisions.get_or_create_owned(&ChainOutcome { phase, decision });
            PhaseMeter {
                allow: decisions("allow"),
                deny: decisions("deny"),
                seconds: chain_seconds.get_or_create_owned(&PhaseLabel { phase }),
            }
        });
        let metrics = Metrics {
            module_calls: Family::default(),
            module_failures: Family::default(),
            module_seconds: Family::new_with_constructor(new_histogram),
            module_fuel: Family::default(),
            module_micros: Family::default(),
            module_instances: Family::default(),
            module_loads: Family::default(),
            chain_decisions,
            chain_seconds,
            by_phase,
            refused: Counter::default(),
            reloads: Family::default(),
            chain_info: Family::default(),
            log_lines: Counter::default(),
            log_dropped: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "module_calls",
            "Module calls by outcome (a monitor-mode deny counts as deny)",
            metrics.module_calls.clone(),
        );
        registry.register(
            "module_failures",
            "Module calls that failed, by kind (each is also a deny, unless monitored)",
            metrics.module_failures.clone(),
        );
        registry.register(
            "module_duration_seconds",
            "Wall time of one module call, instantiation included",
            metrics.module_seconds.clone(),
        );
        registry.register(
            "module_fuel",
            "Fuel used by a module's calls",
            metrics.module_fuel.clone(),
        );
        registry.register(
            "module_instances",
            "Module calls by instance: the thread's warm one, or a fresh one",
            metrics.module_instances.clone(),
        );
        registry.register(
            "module_loads",
            "Modules loaded into a chain, by where their compiled code came from",
            metrics.module_loads.clone(),
        );
        registry.register(
            "decisions",
            "Decisions of the whole chain by phase",
            metrics.chain_decisions.clone(),
        );
        registry.register(
            "decision_duration_seconds",
            "Wall time of the whole chain for one call",
            metrics.chain_seconds.clone(),
        );
        registry.register(
            "refused_requests",
            "AuthZ requests answered with an error (undecodable or refused before the chain)",
            metrics.refused.clone(),
        );
        registry.register(
            "reloads",
            "Chain reloads by result",
            metrics.reloads.clone(),
        );
        registry.register(
            "chain_info",
            "The chain serving now: its version and generation (value 1)",
            metrics.chain_info.clone(),
        );
        registry.register(
            "decision_log_lines",
            "Decision-log lines written",
            metrics.log_lines.clone(),
        );
        registry.register(
            "decision_log_dropped",
            "Decision-log lines dropped because the writer's queue was full",
            metrics.log_dropped.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The counters of module `name` (resolved once, when its chain is built).
    pub fn module_meter(&self, name: &str, mode: Mode) -> ModuleMeter {
        let mode = match mode {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        };
        let calls = |outcome| {
            self.module_calls.get_or_create_owned(&ModuleOutcome {
                module: name.to_owned(),
                mode,
                outcome,
            })
        };
        let instances = |instance| {
            self.module_instances.get_or_create_owned(&ModuleInstance {
                module: name.to_owned(),
                instance,
            })
        };
        let module = ModuleLabel {
            module: name.to_owned(),
        };
        ModuleMeter {
            allow: calls("allow"),
            deny: calls("deny"),
            failed: calls("failed"),
            failures: FAILURE_KINDS.map(|kind| {
                self.module_failures.get_or_create_owned(&ModuleFailure {
                    module: name.to_owned(),
                    kind,
                })
            }),
            seconds: self.module_seconds.get_or_create_owned(&module),
            fuel: self.module_fuel.get_or_create_owned(&module),
            micros: self.module_micros.get_or_create_owned(&module),
            warm: instances("warm"),
            fresh: instances("fresh"),
        }
    }

    /// Counts a module loaded into a chain, by where its code came from.
    pub fn module_loaded(&self, name: &str, from: &'static str) {
        self.module_loads
            .get_or_create(&ModuleLoad {
                module: name.to_owned(),
                from,
            })
            .inc();
    }

    /// Counts one decision of the whole chain and its time.
    pub fn decided(&self, phase: Phase, decision: &ChainDecision, elapsed: Duration) {
        let meter = match phase {
            Phase::Request => &self.by_phase[0],
            Phase::Response => &self.by_phase[1],
        };
        if decision.allow {
            meter.allow.inc();
        } else {
            meter.deny.inc();
        }
        meter.seconds.observe(elapsed.as_secs_f64());
    }

    /// Counts a request answered with Docker's `Err`.
    pub fn refused(&self) {
        self.refused.inc();
    }

    /// Counts a reload by its result.
    pub fn reloaded(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.reloads.get_or_create(&ReloadResult { result }).inc();
    }

    /// Marks the chain now serving (the only `chain_info` series).
    pub fn serving(&self, version: &str, generation: u64) {
        self.chain_info.clear();
        self.chain_info
            .get_or_create(&ChainInfo {
                version: version.to_owned(),
                generation: generation.to_string(),
            })
            .set(1);
    }

    /// The decision log's counters: lines written and lines dropped.
    pub fn log_counters(&self) -> (Counter, Counter) {
        (self.log_lines.clone(), self.log_dropped.clone())
    }

    /// Every metric, in the Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// One module's counters, resolved when its chain is built, so that a call
/// costs a few atomic increments and no lookup. The default is detached:
/// counted, never exported (`check`, `validate`).
#[derive(Clone)]
pub struct ModuleMeter {
    allow: Counter,
    deny: Counter,
    failed: Counter,
    failures: [Counter; 6],
    seconds: Histogram,
    fuel: Counter,
    micros: Counter,
    warm: Counter,
    fresh: Counter,
}

impl Default for ModuleMeter {
    fn default() -> ModuleMeter {
        ModuleMeter {
            allow: Counter::default(),
            deny: Counter::default(),
            failed: Counter::default(),
            failures: Default::default(),
            seconds: new_histogram(),
            fuel: Counter::default(),
            micros: Counter::default(),
            warm: Counter::default(),
            fresh: Counter::default(),
        }
    }
}

impl ModuleMeter {
    /// Counts one call of the module.
    pub fn observe(&self, report: &ModuleReport) {
        match &report.verdict {
            Verdict::Allow => self.allow.inc(),
            Verdict::Deny(_) => self.deny.inc(),
            Verdict::Failed(failure) => {
                self.failures[failure_kind(failure)].inc();
                self.failed.inc()
            }
        };
        self.seconds.observe(report.elapsed.as_secs_f64());
        self.fuel.inc_by(report.fuel_used);
        self.micros
            .inc_by(u64::try_from(report.elapsed.as_micros()).unwrap_or(u64::MAX));
        if report.warm {
            self.warm.inc();
        } else {
            self.fresh.inc();
        }
    }

    /// Calls so far (all outcomes), fuel used, and total wall time.
    pub fn totals(&self) -> ModuleTotals {
        ModuleTotals {
            calls: self.allow.get() + self.deny.get() + self.failed.get(),
            allowed: self.allow.get(),
            denied: self.deny.get(),
            failed: self.failed.get(),
            fuel_used: self.fuel.get(),
            seconds: self.micros.get() as f64 / 1e6,
            warm: self.warm.get(),
        }
    }
}

/// A module's counts since Portcullis started (across reloads, by name).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ModuleTotals {
    /// Calls, whatever their outcome.
    pub calls: u64,
    /// Calls it allowed.
    pub allowed: u64,
    /// Calls it denied (or would have, in monitor mode).
    pub denied: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Fuel used.
    pub fuel_used: u64,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Calls served by a warm instance.
    pub warm: u64,
}
