//! What the decision log costs per request: the three-module chain of
//! benches/chains/three.toml deciding a `docker run` (container create,
//! with a body) alone, then with the decision log's text line, its JSON
//! line, and its JSON line with bodies, each written to a file by the log's
//! own thread as `portcullis serve` does. The request thread pays for the
//! formatting and the hand-off; the writer thread's work runs beside it
//! (on this 2-core machine, it competes). A summary of medians and ratios
//! to the chain alone is printed at the end, with the lines each log wrote
//! and dropped.
//!
//! `cargo bench -p portcullis-bench --bench decision_log [-- <criterion args>]`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use portcullis::chain::Chain;
use portcullis::config::{Config, LogDestination, LogFormat, LogSettings};
use portcullis::decision_log::{DecisionLog, LogWriterGuard};
use portcullis::metrics::Metrics;
use portcullis::sandbox::Sandbox;
use portcullis_bench::guests;
use portcullis_envelope::{AuthzRequest, Envelope, Phase};

/// The criterion group.
const GROUP: &str = "decision_log";

fn main() {
    let started = std::time::SystemTime::now();
    guests::build().expect("the wasm guests must build");
    let config = Config::load(&guests::chain_config("three")).expect("three.toml loads");
    let sandbox = Sandbox::for_chain(1, config.modules.len()).expect("the sandbox must start");
    let chain = Chain::build(&sandbox, &config).expect("the chain builds");
    let create = envelope();
    let decision = chain.decide(&create);
    assert!(decision.allow, "{:?}", decision.reports);
    assert_eq!(decision.reports.len(), 3, "every module runs");

    let dir = tempfile::tempdir().expect("temporary log directory");
    let logs: Vec<(&str, Option<Log>)> = vec![
        ("chain_alone", None),
        ("text_line", Some(Log::start(&dir, LogFormat::Text, false))),
        ("json_line", Some(Log::start(&dir, LogFormat::Json, false))),
        (
            "json_line_with_bodies",
            Some(Log::start(&dir, LogFormat::Json, true)),
        ),
    ];

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    for (label, log) in &logs {
        group.bench_function(*label, |b| {
            b.iter(|| {
                let started = Instant::now();
                let decision = chain.decide(black_box(&create));
                if let Some(log) = log {
                    log.log.record(&create, &decision, started.elapsed());
                }
                decision
            })
        });
    }
    group.finish();
    criterion.final_summary();
    print_summary(&logs, started);
}

/// A decision log writing to its own file, and its counters.
struct Log {
    log: DecisionLog,
    metrics: Metrics,
    _writer: LogWriterGuard,
}

impl Log {
    fn start(dir: &tempfile::TempDir, format: LogFormat, bodies: bool) -> Log {
        let metrics = Metrics::new();
        let settings = LogSettings {
            format,
            destination: LogDestination::File(dir.path().join(format!("{format:?}-{bodies}.log"))),
            denials_only: false,
            bodies,
            queue: portcullis::config::DEFAULT_LOG_QUEUE as usize,
        };
        let (log, writer) = DecisionLog::start(&settings, &metrics).expect("the log opens");
        Log {
            log,
            metrics,
            _writer: writer,
        }
    }
}

/// `docker run --rm -v /srv/data/web:/data -p 8080:80 nginx`'s create call.
fn envelope() -> Arc<Envelope> {
    use base64::Engine as _;
    let body = r#"{"Image":"nginx","Cmd":null,"Labels":{"team":"web"},"HostConfig":{"Binds":["/srv/data/web:/data"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"AutoRemove":true}}"#;
    let wire = serde_json::json!({
        "RequestMethod": "POST",
        "RequestUri": "/v1.41/containers/create?name=web",
        "User": "alice",
        "UserAuthNMethod": "TLS",
        "RequestHeaders": {"Content-Type": "application/json"},
        "RequestBody": base64::engine::general_purpose::STANDARD.encode(body),
    });
    let request: AuthzRequest = serde_json::from_value(wire).expect("an AuthZReq body");
    Arc::new(Envelope::from_authz(request, Phase::Request).expect("an envelope"))
}

/// Medians from criterion's estimates of this run (files older than
/// `started` are earlier runs'), ratios to `chain_alone`, and each log's
/// lines written and dropped.
fn print_summary(logs: &[(&str, Option<Log>)], started: std::time::SystemTime) {
    let estimates = portcullis_bench::estimates::Estimates::since(started);
    let median = |label: &str| estimates.median_us(GROUP, label);
    let Some(base) = median(logs[0].0) else {
        return; // `--test` mode, or a filter left the baseline out
    };
    println!(
        "\n| three-module chain, `docker run` create | median | vs chain alone | log cost | lines written / dropped |"
    );
    println!("|---|---|---|---|---|");
    for (label, log) in logs {
        let Some(us) = median(label) else { continue };
        let lines = log.as_ref().map_or_else(
            || "—".to_owned(),
            |log| {
                let (written, dropped) = log.metrics.log_counters();
                format!("{} / {}", written.get(), dropped.get())
            },
        );
        println!(
            "| {label} | {:.2} µs | {:.2}× | {:+.2} µs | {lines} |",
            us,
            us / base,
            us - base
        );
    }
}
