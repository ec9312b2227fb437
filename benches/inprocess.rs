//! The in-process benchmark: from the raw AuthZReq bytes to a decision, for
//! each fixture, with no socket in the way:
//!
//! - `wasm`: decode, envelope, and the three-module chain of
//!   `benches/chains/three.toml` in wasmtime, as `portcullis serve` decides;
//! - `native`: the same steps with the same policies compiled into the host;
//! - `regorus`: the same rules in Rego (`benches/policy/docker.rego`) on the
//!   input document opa-docker-authz builds from the same bytes;
//! - `envelope`: decode and envelope only, the host's share of the first two;
//! - `regorus_eval`: the Rego evaluation alone, on a prebuilt input;
//!
//! and each module of the chain alone on `containers_create` (envelope
//! prebuilt), with the fuel it used. Before measuring, every implementation
//! (and the Cedar rival, `benches/policy/docker.cedar`, which loadgen
//! measures end to end) must allow every fixture and deny a set of dangerous
//! variants, so that no number comes from a deny path or a stub. Afterwards a markdown summary,
//! read from criterion's estimates of this run, is printed.
//!
//! `cargo bench -p portcullis-bench --bench inprocess [-- <criterion args>]`

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use std::sync::Arc;

use criterion::{BatchSize, Criterion};
use portcullis::chain::{Chain, ChainDecision, Decide};
use portcullis::config::Config;
use portcullis::sandbox::Sandbox;
use portcullis_bench::cedar::CedarPolicy;
use portcullis_bench::estimates::Estimates;
use portcullis_bench::fixtures::{self, Fixture, VARIANTS};
use portcullis_bench::guests;
use portcullis_bench::native::NativeChain;
use portcullis_bench::rego::{self, RegoPolicy};
use portcullis_bench::rival::Verdict;
use portcullis_envelope::{AuthzRequest, Envelope, Phase};

/// The benchmarked chain, under `benches/chains/`.
const CHAIN: &str = "three";

/// The fixture each module is measured on alone.
const MODULE_FIXTURE: &str = "containers_create";

/// The criterion group of the single-module measurements.
const MODULE_GROUP: &str = "module";

fn main() {
    let started = SystemTime::now();
    let subjects = Subjects::build();
    check_decisions(&subjects);
    let module_request = subjects.fixture(MODULE_FIXTURE).body.clone();
    let fuel = module_fuel(&subjects, &module_request);

    // 23 benchmarks of 1 s warm-up and 3 s measurement, plus analysis (60
    // samples rather than 100: enough for a median, quicker to analyse):
    // about two minutes on 2 cores.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .configure_from_args();
    for fixture in &subjects.fixtures {
        bench_fixture(&mut criterion, &subjects, fixture);
    }
    bench_modules(&mut criterion, &subjects, &module_request);
    criterion.final_summary();

    print_summary(&subjects, &Estimates::since(started), &fuel);
}

/// Everything measured, built once, before measuring.
struct Subjects {
    fixtures: Vec<Fixture>,
    wasm: Chain,
    native: NativeChain,
    rego: RegoPolicy,
    /// Checked, not measured.
    cedar: CedarPolicy,
    /// Each module of the chain alone, in chain order: (name, chain).
    modules: Vec<(String, Chain)>,
    /// The engine and epoch ticker the chains run on, kept alive with them.
    _sandbox: Sandbox,
}

impl Subjects {
    fn build() -> Subjects {
        guests::build().expect("the wasm guests must build");
        let path = guests::chain_config(CHAIN);
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let sandbox = Sandbox::for_chain(1, 8).expect("the sandbox must start");
        let modules = config
            .modules
            .iter()
            .map(|spec| {
                let alone = Config {
                    modules: vec![spec.clone()],
                    ..config.clone()
                };
                let chain = Chain::build(&sandbox, &alone).expect("each module must load alone");
                (spec.name.clone(), chain)
            })
            .collect();
        Subjects {
            fixtures: fixtures::all().expect("benches/fixtures/ must load"),
            wasm: Chain::build(&sandbox, &config).expect("the chain must load"),
            native: NativeChain::build(&config).expect("every module must have a native build"),
            rego: RegoPolicy::load().expect("benches/policy/docker.rego must compile"),
            cedar: CedarPolicy::load().expect("benches/policy/docker.cedar must parse"),
            modules,
            _sandbox: sandbox,
        }
    }

    fn fixture(&self, name: &str) -> &Fixture {
        self.fixtures
            .iter()
            .find(|fixture| fixture.name == name)
            .unwrap_or_else(|| panic!("no fixture {name}"))
    }
}

/// Decode and envelope: the host's work before any policy runs (what the
/// modules ask for on top, views and the full JSON, is built on demand
/// during the chain and counted there).
fn envelope(authz_request: &[u8]) -> Arc<Envelope> {
    let request: AuthzRequest =
        serde_json::from_slice(authz_request).expect("a fixture is an AuthZReq body");
    Arc::new(Envelope::from_authz(request, Phase::Request).expect("a fixture makes an envelope"))
}

/// One request through a chain, from the bytes Docker sends.
fn decide(chain: &impl Decide, authz_request: &[u8]) -> ChainDecision {
    chain.decide(&envelope(authz_request))
}

// ---------------------------------------------------------------------------
// Sanity checks: what is measured must be the allow path of real policies.

/// Panics unless wasm, native, Rego and Cedar allow every fixture and deny
/// every [`VARIANTS`] entry: a time measured on a deny path, or against a
/// policy that checks nothing, would mean nothing. (Cedar is not measured
/// here, only checked, as loadgen measures it end to end.)
fn check_decisions(subjects: &Subjects) {
    let mut wrong = Vec::new();
    for fixture in &subjects.fixtures {
        for (implementation, verdict) in verdicts(subjects, &fixture.body) {
            if let Err(why) = verdict {
                wrong.push(format!("{implementation} denies {}: {why}", fixture.name));
            }
        }
    }
    for variant in &VARIANTS {
        let body = variant
            .apply(&subjects.fixture(variant.fixture).body)
            .expect("a variant applies to its fixture");
        for (implementation, verdict) in verdicts(subjects, &body) {
            if verdict.is_ok() {
                wrong.push(format!(
                    "{implementation} allows {} with {}",
                    variant.fixture, variant.what
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the benchmark would measure the wrong thing:\n  {}",
        wrong.join("\n  ")
    );
    println!(
        "checked: wasm, native, regorus and cedar allow all {} fixtures and deny all {} variants",
        subjects.fixtures.len(),
        VARIANTS.len()
    );
}

/// Each implementation's verdict on one AuthZReq body: `Ok` allows, `Err`
/// denies with its message.
fn verdicts(subjects: &Subjects, body: &[u8]) -> [(&'static str, Result<(), String>); 4] {
    let chain = |decision: ChainDecision| decision.allow.then_some(()).ok_or(decision.msg);
    [
        ("wasm", chain(decide(&subjects.wasm, body))),
        ("native", chain(decide(&subjects.native, body))),
        ("regorus", rego_verdict(&subjects.rego, body)),
        ("cedar", cedar_verdict(&subjects.cedar, body)),
    ]
}

fn cedar_verdict(policy: &CedarPolicy, body: &[u8]) -> Result<(), String> {
    match policy
        .decide(body)
        .expect("a fixture makes a Cedar request")
    {
        Verdict::Allow => Ok(()),
        Verdict::Deny(msg) => Err(msg),
    }
}

fn rego_verdict(policy: &RegoPolicy, body: &[u8]) -> Result<(), String> {
    let input = rego::input(body).expect("a fixture makes a Rego input");
    if policy.allows(input.clone()).expect("docker.rego evaluates") {
        return Ok(());
    }
    let denials = policy.denials(input).expect("docker.rego's deny evaluates");
    Err(if denials.is_empty() {
        "no valid user role".to_owned()
    } else {
        denials.join("; ")
    })
}

/// The fuel each module alone uses on `envelope` (deterministic), checking
/// that each allows.
fn module_fuel(subjects: &Subjects, authz_request: &[u8]) -> Vec<u64> {
    subjects
        .modules
        .iter()
        .map(|(name, chain)| {
            let decision = chain.decide(&envelope(authz_request));
            assert!(decision.allow, "{name} alone denies: {}", decision.msg);
            decision.reports.iter().map(|report| report.fuel_used).sum()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Measurements.

/// How a fixture is measured; `name` is the criterion function name.
#[derive(Debug, Clone, Copy)]
enum Bench {
    Wasm,
    Native,
    Regorus,
    Envelope,
    RegorusEval,
}

impl Bench {
    const ALL: [Bench; 5] = [
        Bench::Wasm,
        Bench::Native,
        Bench::Regorus,
        Bench::Envelope,
        Bench::RegorusEval,
    ];

    fn name(self) -> &'static str {
        match self {
            Bench::Wasm => "wasm",
            Bench::Native => "native",
            Bench::Regorus => "regorus",
            Bench::Envelope => "envelope",
            Bench::RegorusEval => "regorus_eval",
        }
    }
}

fn bench_fixture(criterion: &mut Criterion, subjects: &Subjects, fixture: &Fixture) {
    let body = fixture.body.as_slice();
    let input = rego::input(body).expect("a fixture makes a Rego input");
    let rego = &subjects.rego;
    let mut group = criterion.benchmark_group(fixture.name);
    for bench in Bench::ALL {
        group.bench_function(bench.name(), |b| match bench {
            Bench::Wasm => b.iter(|| decide(&subjects.wasm, black_box(body))),
            Bench::Native => b.iter(|| decide(&subjects.native, black_box(body))),
            Bench::Regorus => b.iter(|| rego.decide(black_box(body))),
            Bench::Envelope => b.iter(|| envelope(black_box(body))),
            // A regorus Value clone is a reference-count increment.
            Bench::RegorusEval => b.iter(|| rego.allows(black_box(input.clone()))),
        });
    }
    group.finish();
}

/// Each module alone on a fresh envelope (built untimed): its call and
/// the views it asks the host for, as if it ran first in the chain.
fn bench_modules(criterion: &mut Criterion, subjects: &Subjects, authz_request: &[u8]) {
    let mut group = criterion.benchmark_group(MODULE_GROUP);
    for (name, chain) in &subjects.modules {
        group.bench_function(name, |b| {
            b.iter_batched(
                || envelope(authz_request),
                |envelope| chain.decide(black_box(&envelope)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// Summary.

fn print_summary(subjects: &Subjects, estimates: &Estimates, fuel: &[u64]) {
    let measured = subjects
        .fixtures
        .iter()
        .any(|f| estimates.median_us(f.name, Bench::ALL[0].name()).is_some());
    if !measured {
        // `cargo test --benches` (criterion's test mode): each benchmark ran
        // once, after the checks; there is nothing to tabulate.
        println!(
            "\ninprocess: checks passed, each benchmark ran once (test mode); `cargo bench` measures"
        );
        return;
    }
    println!("\n## In-process decision time (criterion median, µs per request, this run)\n");
    println!(
        "| fixture | wasm | native | regorus | envelope | regorus eval only | wasm ÷ native | regorus ÷ native | regorus ÷ wasm |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for fixture in &subjects.fixtures {
        let [wasm, native, regorus, envelope, eval] =
            Bench::ALL.map(|bench| estimates.median_us(fixture.name, bench.name()));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            fixture.name,
            micros(wasm),
            micros(native),
            micros(regorus),
            micros(envelope),
            micros(eval),
            ratio(wasm, native),
            ratio(regorus, native),
            ratio(regorus, wasm),
        );
    }
    println!("\nwasm and native include `envelope`; regorus includes building its input.");
    if library_backtraces() {
        println!(
            "\n> Library backtraces are on (RUST_BACKTRACE or RUST_LIB_BACKTRACE): regorus \
             creates and discards anyhow errors while it evaluates, each capturing a \
             backtrace, so its times are inflated. RUST_LIB_BACKTRACE=0 measures what a \
             server without backtraces pays."
        );
    }
    println!(
        "\n## Each module alone on {MODULE_FIXTURE} (a fresh envelope, built untimed; the views the module asks for included; criterion median)\n"
    );
    println!("| module | µs per call | fuel |");
    println!("|---|--:|--:|");
    let mut total = estimates.median_us(MODULE_FIXTURE, Bench::Envelope.name());
    for ((name, _), fuel) in subjects.modules.iter().zip(fuel) {
        let time = estimates.median_us(MODULE_GROUP, name);
        println!("| {name} | {} | {fuel} |", micros(time));
        total = total.zip(time).map(|(total, time)| total + time);
    }
    println!(
        "\nenvelope + each module alone: {} µs; the chain, measured whole (wasm): {} µs.",
        micros(total),
        micros(estimates.median_us(MODULE_FIXTURE, Bench::Wasm.name()))
    );
}

/// Whether `anyhow` errors capture a backtrace in this process, as std
/// decides: `RUST_LIB_BACKTRACE` if set, else `RUST_BACKTRACE`, "0" meaning off.
fn library_backtraces() -> bool {
    let enabled = |name| std::env::var_os(name).map(|value| value != "0");
    enabled("RUST_LIB_BACKTRACE")
        .or_else(|| enabled("RUST_BACKTRACE"))
        .unwrap_or(false)
}

fn micros(time: Option<f64>) -> String {
    time.map_or_else(|| "–".to_owned(), |t| format!("{t:.1}"))
}

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> String {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => format!("{:.1}×", n / d),
        _ => "–".to_owned(),
    }
}
