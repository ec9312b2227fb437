//! The chain: modules in plugin.toml order, the first deny wins, every
//! failure of a module is a deny that names it. One of the two places
//! where Portcullis fails closed (the other is the server's `Err`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use portcullis_envelope::Envelope;
use portcullis_envelope::envelope::ConfigPrefix;

use crate::config::{Config, Mode, ModuleSpec, ProtectSettings};
use crate::docker_lookup::Answers;
use crate::metrics::{Metrics, ModuleMeter, ModuleTotals};
use crate::sandbox::{GuestDecision, GuestFailure, LoadError, PolicyModule, Sandbox};
use crate::self_protection::SelfProtection;

/// The name the built-in self-protection rule reports under.
pub const SELF_PROTECTION: &str = "self-protection";

/// What the server asks for every request: a decision on one envelope. Implemented by [`Chain`], by the reloadable chain that `serve`
/// runs, and (in the benchmarks) by the same policies compiled natively.
///
/// Implementations must fail closed: anything that goes wrong is a deny
/// whose message names its cause; they never panic.
pub trait Decide: Send + Sync + 'static {
    /// Decides on one envelope.
    fn decide(&self, envelope: &Arc<Envelope>) -> ChainDecision;

    /// The version of what decides now (see [`Chain::version`]), for the
    /// log line of a call refused before the chain ran.
    fn version(&self) -> Arc<str> {
        Arc::from("")
    }

    /// The container references the built-in rule needs dockerd to
    /// resolve before it can decide on `envelope`, given the `answers`
    /// gathered so far; empty when it needs nothing (more). Cheap: no
    /// module runs.
    fn questions(&self, _envelope: &Envelope, _answers: &Answers) -> Vec<String> {
        Vec::new()
    }

    /// [`decide`](Self::decide), knowing dockerd's `answers`.
    fn decide_with(&self, envelope: &Arc<Envelope>, _answers: &Answers) -> ChainDecision {
        self.decide(envelope)
    }
}

/// An ordered, compiled chain of policy modules.
///
/// Invariant: non-empty; every module compiled, ABI-checked and its config
/// accepted before the chain exists, so nothing is compiled on the request path.
pub struct Chain {
    /// Judged before any module; no module can remove it.
    protection: SelfProtection,
    modules: Vec<ChainModule>,
    /// See [`Chain::version`].
    version: Arc<str>,
}

struct ChainModule {
    module: PolicyModule,
    config_prefix: ConfigPrefix,
    mode: Mode,
    meter: ModuleMeter,
}

/// What the chain decided, and what each module that ran did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainDecision {
    /// Whether every module allowed.
    pub allow: bool,
    /// The deny message for Docker (empty on allow).
    pub msg: String,
    /// The version of the chain that decided (see [`Chain::version`]).
    pub version: Arc<str>,
    /// One report per module that ran, in order; modules after a deny do not run.
    pub reports: Vec<ModuleReport>,
}

/// One module's part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleReport {
    /// The module's name.
    pub module: String,
    /// What it answered.
    pub verdict: Verdict,
    /// Fuel it used.
    pub fuel_used: u64,
    /// Wall time it took, instantiation included.
    pub elapsed: Duration,
    /// It runs in monitor mode: its deny or failure was logged, not enforced.
    pub monitor: bool,
    /// The thread's warm instance served it (no instantiation).
    pub warm: bool,
}

/// A module's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It allowed.
    Allow,
    /// It denied, with its own message.
    Deny(String),
    /// It failed: a deny.
    Failed(GuestFailure),
}

impl Verdict {
    /// Its one-word name in the log and in `portcullis check`: `allow`,
    /// `deny`, or `FAILED` (a failure stands out).
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny(_) => "deny",
            Verdict::Failed(_) => "FAILED",
        }
    }

    /// The verdict of a call's outcome: a failure is a deny of its own kind.
    pub fn of(outcome: Result<GuestDecision, GuestFailure>) -> Verdict {
        match outcome {
            Ok(GuestDecision { allow: true, .. }) => Verdict::Allow,
            Ok(GuestDecision { allow: false, msg }) => Verdict::Deny(msg.unwrap_or_default()),
            Err(failure) => Verdict::Failed(failure),
        }
    }
}

impl ModuleReport {
    /// The message Docker shows when this module stops the chain (`None` if it allowed).
    pub fn denial(&self) -> Option<String> {
        let name = &self.module;
        match &self.verdict {
            Verdict::Allow => None,
            Verdict::Deny(msg) if msg.is_empty() => Some(format!("{name}: denied")),
            Verdict::Deny(msg) => Some(format!("{name}: {msg}")),
            Verdict::Failed(failure) => {
                Some(format!("portcullis: module \"{name}\" failed: {failure}"))
            }
        }
    }
}

/// What `portcullis status` shows of one module.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModuleStatus {
    /// Its name.
    pub name: String,
    /// SHA-256 of its file.
    pub digest: String,
    /// Its limits.
    pub fuel: u64,
    /// Linear-memory cap, MiB.
    pub memory_mib: u32,
    /// Deadline per call, ms.
    pub timeout_ms: u64,
    /// `enforce` or `monitor`.
    pub mode: &'static str,
    /// Whether threads keep warm instances of it.
    pub reuse_instances: bool,
    /// Whether it judges the response phase.
    pub response_phase: bool,
    /// Where its compiled code came from when the chain was built.
    pub compiled_from: &'static str,
    /// Its calls since Portcullis started (across reloads, by name).
    #[serde(flatten)]
    pub totals: ModuleTotals,
}

impl Chain {
    /// Compiles and checks every module of `config`, in order; its calls
    /// are counted, but exported nowhere.
    pub fn build(sandbox: &Sandbox, config: &Config) -> Result<Chain, LoadError> {
        Chain::build_metered(sandbox, config, None)
    }

    /// [`build`](Self::build), counting each module's calls (and its load)
    /// in `metrics`.
    pub fn build_metered(
        sandbox: &Sandbox,
        config: &Config,
        metrics: Option<&Metrics>,
    ) -> Result<Chain, LoadError> {
        let modules = config
            .modules
            .iter()
            .map(|spec| {
                let module = sandbox.load(spec)?;
                let meter = match metrics {
                    Some(metrics) => {
                        metrics.module_loaded(spec.name.as_str(), module.compiled_from().label());
                        metrics.module_meter(&spec.name, spec.mode)
                    }
                    None => ModuleMeter::default(),
                };
                Ok(ChainModule {
                    module,
                    config_prefix: ConfigPrefix::new(&spec.config),
                    mode: spec.mode,
                    meter,
                })
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        let version = chain_version(config.modules.iter().zip(&modules), &config.protect);
        Ok(Chain {
            protection: SelfProtection::new(&config.protect, &config.host_root),
            modules,
            version,
        })
    }

    /// A short hash of everything that decides: each module's name, file
    /// digest, limits, mode, options and config, in order, and the
    /// self-protection settings. Two chains with
    /// the same version decide alike; it is in status, metrics and every
    /// decision-log line.
    pub fn version(&self) -> &Arc<str> {
        &self.version
    }

    /// Each module as `portcullis status` shows it.
    pub fn status(&self) -> Vec<ModuleStatus> {
        self.modules
            .iter()
            .map(|m| {
                let limits = m.module.limits();
                ModuleStatus {
                    name: m.module.name().to_owned(),
                    digest: m.module.digest().to_owned(),
                    fuel: limits.fuel,
                    memory_mib: limits.memory_mib,
                    timeout_ms: limits.timeout_ms,
                    mode: match m.mode {
                        Mode::Enforce => "enforce",
                        Mode::Monitor => "monitor",
                    },
                    reuse_instances: m.module.reuses_instances(),
                    response_phase: m.module.judges_responses(),
                    compiled_from: m.module.compiled_from().label(),
                    totals: m.meter.totals(),
                }
            })
            .collect()
    }

    /// Module names, in order.
    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.iter().map(|m| m.module.name())
    }

    /// The loaded modules, in order.
    pub fn modules(&self) -> impl Iterator<Item = &PolicyModule> {
        self.modules.iter().map(|m| &m.module)
    }

    /// Runs the chain on one envelope, without asking dockerd anything: a
    /// call the built-in rule could judge only with the daemon's answers is
    /// refused (see [`Decide::decide_with`]).
    pub fn decide(&self, envelope: &Arc<Envelope>) -> ChainDecision {
        self.run(envelope, &Answers::default())
    }

    /// Whether the built-in rule protects any container (so that container
    /// calls ask dockerd what they name).
    pub fn guards_containers(&self) -> bool {
        self.protection.guards_containers()
    }

    fn run(&self, envelope: &Arc<Envelope>, answers: &Answers) -> ChainDecision {
        if let Some(refusal) = self.protection.check(envelope, answers) {
            let report = ModuleReport {
                module: SELF_PROTECTION.to_owned(),
                verdict: Verdict::Deny(refusal),
                fuel_used: 0,
                elapsed: Duration::ZERO,
                monitor: false,
                warm: false,
            };
            return ChainDecision {
                allow: false,
                msg: report.denial().unwrap_or_default(),
                version: self.version.clone(),
                reports: vec![report],
            };
        }
        let mut reports = Vec::with_capacity(self.modules.len());
        let response = envelope.phase == crate::envelope::Phase::Response;
        for ChainModule {
            module,
            config_prefix,
            mode,
            meter,
        } in &self.modules
        {
            // Request-only modules cost nothing in the response phase.
            if response && !module.judges_responses() {
                continue;
            }
            let name = module.name();
            let call = catch_unwind(AssertUnwindSafe(|| {
                module.authorize(envelope, config_prefix)
            }));
            let monitor = *mode == Mode::Monitor;
            let report = match call {
                Ok(call) => ModuleReport {
                    module: name.to_owned(),
                    verdict: Verdict::of(call.outcome),
                    fuel_used: call.fuel_used,
                    elapsed: call.elapsed,
                    monitor,
                    warm: call.warm,
                },
                // The sandbox does not panic; if it ever did, the request is still denied.
                Err(_) => ModuleReport {
                    module: name.to_owned(),
                    verdict: Verdict::Failed(GuestFailure::Trap(
                        "internal error in the sandbox".into(),
                    )),
                    fuel_used: 0,
                    elapsed: Duration::ZERO,
                    monitor,
                    warm: false,
                },
            };
            meter.observe(&report);
            let denial = report.denial();
            reports.push(report);
            if let Some(msg) = denial {
                if monitor {
                    // Logged and counted, never enforced: the chain goes on.
                    tracing::warn!(
                        target: "portcullis::monitor",
                        "would deny: {}",
                        crate::log_escape::printable(&msg)
                    );
                    continue;
                }
                return ChainDecision {
                    allow: false,
                    msg,
                    version: self.version.clone(),
                    reports,
                };
            }
        }
        ChainDecision {
            allow: true,
            msg: String::new(),
            version: self.version.clone(),
            reports,
        }
    }
}

/// See [`Chain::version`]: the first 16 hex digits of a SHA-256 over a
/// canonical JSON of the chain.
fn chain_version<'a>(
    modules: impl Iterator<Item = (&'a ModuleSpec, &'a ChainModule)>,
    protect: &ProtectSettings,
) -> Arc<str> {
    let mut canonical: Vec<serde_json::Value> = modules
        .map(|(spec, loaded)| {
            let limits = spec.limits;
            serde_json::json!({
                "name": spec.name,
                "digest": loaded.module.digest(),
                "fuel": limits.fuel,
                "memory_mib": limits.memory_mib,
                "timeout_ms": limits.timeout_ms,
                "state_keys": limits.state_keys,
                "state_mib": limits.state_mib,
                "mode": format!("{:?}", spec.mode),
                "reuse_instances": spec.reuse_instances,
                "response_phase": spec.response_phase,
                "config": spec.config,
            })
        })
        .collect();
    // The built-in rule decides too.
    canonical.push(serde_json::json!({
        "protect_plugins": protect.plugins,
        "protect_containers": protect.containers,
        "break_glass_users": protect.break_glass_users,
    }));
    let text = serde_json::Value::Array(canonical).to_string();
    Arc::from(&crate::sandbox::sha256_hex(text.as_bytes())[..16])
}

impl Decide for Chain {
    fn decide(&self, envelope: &Arc<Envelope>) -> ChainDecision {
        self.run(envelope, &Answers::default())
    }

    fn version(&self) -> Arc<str> {
        self.version.clone()
    }

    fn questions(&self, envelope: &Envelope, answers: &Answers) -> Vec<String> {
        self.protection.questions(envelope, answers)
    }

    fn decide_with(&self, envelope: &Arc<Envelope>, answers: &Answers) -> ChainDecision {
        self.run(envelope, answers)
    }
}
