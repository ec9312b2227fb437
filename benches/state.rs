//! What module state costs per request: the same trivial module with no
//! state, with one state read, and with one state write (committed
//! durably, fsync included, before the decision returns), each as a
//! one-module chain deciding `docker version`; and the real `hello-first`
//! guest on its common path (one read: the user has said hello).
//!
//! The modules are tests/guests/{allow-reusable,state-read,state-write}.wat
//! (reusable, so warm instances, as SDK guests get) and the built
//! `hello_first.wasm`; state lives in a temporary directory on the disk
//! `TMPDIR` points at (the disk matters for writes: say which one when
//! quoting numbers). A summary of medians and ratios to the no-state
//! module is printed at the end.
//!
//! `cargo bench -p portcullis-bench --bench state [-- <criterion args>]`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use portcullis::chain::Chain;
use portcullis::config::Config;
use portcullis::sandbox::Sandbox;
use portcullis_bench::guests;
use portcullis_envelope::{AuthzRequest, Envelope, Phase};

/// The criterion group.
const GROUP: &str = "state";

fn main() {
    let started = std::time::SystemTime::now();
    let wasm_dir = guests::build().expect("the wasm guests must build");
    let dir = tempfile::tempdir().expect("temporary state directory");
    let sandbox = Sandbox::for_chain(1, 1)
        .expect("the sandbox must start")
        .with_state_dir(dir.path().join("state"));
    let tests_guests = portcullis_bench::repo_root().join("tests/guests");
    let wat = |name: &str| tests_guests.join(format!("{name}.wat"));
    let version = envelope(
        r#"{"RequestMethod":"GET","RequestUri":"/v1.41/version","User":"alice","UserAuthNMethod":"TLS"}"#,
    );
    let hello = envelope(&format!(
        r#"{{"RequestMethod":"POST","RequestUri":"/v1.41/containers/create","User":"alice","UserAuthNMethod":"TLS","RequestHeaders":{{"Content-Type":"application/json"}},"RequestBody":"{}"}}"#,
        base64_of(r#"{"Image":"hello-world"}"#)
    ));

    // The key the reader reads, written by the writer under the reader's name.
    let seed = chain(&sandbox, dir.path(), "reader", &wat("state-write"));
    assert_allows(&seed, &version);
    let hello_first = chain(
        &sandbox,
        dir.path(),
        "hello-first",
        &wasm_dir.join("hello_first.wasm"),
    );
    assert_allows(&hello_first, &hello);

    let subjects = [
        (
            "no_state",
            chain(&sandbox, dir.path(), "plain", &wat("allow-reusable")),
        ),
        (
            "one_read",
            chain(&sandbox, dir.path(), "reader", &wat("state-read")),
        ),
        (
            "one_write",
            chain(&sandbox, dir.path(), "writer", &wat("state-write")),
        ),
        ("hello_first_said_hello", hello_first),
    ];
    for (_, chain) in &subjects {
        assert_allows(chain, &version);
    }

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    for (label, chain) in &subjects {
        group.bench_function(*label, |b| b.iter(|| chain.decide(black_box(&version))));
    }
    group.finish();
    criterion.final_summary();
    print_summary(&subjects.map(|(label, _)| label), started);
}

/// A one-module chain running `module` as `name`.
fn chain(sandbox: &Sandbox, dir: &Path, name: &str, module: &Path) -> Chain {
    let config_path = dir.join(format!("{name}.toml"));
    let text = format!(
        "[plugin]\nname = \"bench\"\n[[module]]\nname = \"{name}\"\npath = \"{}\"\n",
        module.display()
    );
    std::fs::write(&config_path, text).expect("write the chain config");
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{name}: {e}"));
    Chain::build(sandbox, &config).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn envelope(authz_request: &str) -> Arc<Envelope> {
    let request: AuthzRequest = serde_json::from_str(authz_request).expect("an AuthZReq body");
    Arc::new(Envelope::from_authz(request, Phase::Request).expect("an envelope"))
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn assert_allows(chain: &Chain, envelope: &Arc<Envelope>) {
    let decision = chain.decide(envelope);
    assert!(decision.allow, "{:?}", decision.reports);
}

/// Medians from criterion's estimates of this run (files older than
/// `started` are earlier runs'), and ratios to `no_state`.
fn print_summary(labels: &[&str], started: std::time::SystemTime) {
    let estimates = portcullis_bench::estimates::Estimates::since(started);
    let median = |label: &str| estimates.median_us(GROUP, label);
    let Some(base) = median(labels[0]) else {
        return; // `--test` mode, or a filter left the baseline out
    };
    println!("\n| module (one-module chain, `docker version`) | median | vs no_state |");
    println!("|---|---|---|");
    for label in labels {
        if let Some(us) = median(label) {
            println!("| {label} | {us:.1} µs | {:.2}× |", us / base);
        }
    }
}
