//! Operating a running Portcullis: the admin socket (status, reload,
//! metrics) and its permissions, `portcullis status`/`reload`, reloads
//! under load, the decision log's schema and secrets, the compile cache
//! across restarts, and the file watch.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::authz_request;
use crate::util::{Plugin, guest_wasm, module, portcullis, wat};

const PS: &str = "ps__02_GET_containers-json.json";
const PRIVILEGED: &str = "run_priv__02_POST_containers-create.json";

/// Starts a plugin whose config is `text` (written to plugin.toml in its
/// own directory), with the harness's flags plus `args`.
fn serve(text: &str, args: &[&str]) -> (Plugin, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("plugin.sock");
    let config = dir.path().join("plugin.toml");
    std::fs::write(&config, text).expect("write plugin.toml");
    let plugin = Plugin::serve_with_args(&config, socket, dir, args).expect("portcullis starts");
    (plugin, config)
}

/// One admin request from the test, as `portcullis status` makes it.
async fn admin(plugin: &Plugin, method: &str, path: &str) -> (u16, Vec<u8>) {
    let answer = portcullis::admin_client::request(&plugin.admin_socket(), method, path)
        .await
        .expect("admin request");
    (answer.status, answer.body)
}

async fn status(plugin: &Plugin) -> Value {
    let (code, body) = admin(plugin, "GET", "/status").await;
    assert_eq!(code, 200);
    serde_json::from_slice(&body).expect("status is JSON")
}

/// The metrics, parsed strictly as OpenMetrics text.
async fn metrics(plugin: &Plugin) -> MetricsExposition<OpenMetricsType, OpenMetricsValue> {
    let (code, body) = admin(plugin, "GET", "/metrics").await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body).expect("metrics are UTF-8");
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("metrics do not parse as OpenMetrics: {e:?}\n{text}"))
}

/// The value of the sample of `family` whose labels include `labels`
/// (counters and gauges), 0 if there is no such series.
fn sample(
    metrics: &MetricsExposition<OpenMetricsType, OpenMetricsValue>,
    family: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let family = metrics
        .families
        .get(family)
        .unwrap_or_else(|| panic!("no metric family {family}"));
    family
        .iter_samples()
        .filter(|s| has_labels(s, labels))
        .map(|s| match &s.value {
            OpenMetricsValue::Counter(c) => c.value.as_f64(),
            OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
            other => panic!("{other:?} is not a counter or gauge"),
        })
        .sum()
}

/// Whether `sample` carries every label of `labels`.
fn has_labels(
    sample: &openmetrics_parser::Sample<OpenMetricsValue>,
    labels: &[(&str, &str)],
) -> bool {
    let set = sample.get_labelset().expect("a sample of a family");
    labels
        .iter()
        .all(|(name, value)| set.get_label_value(name) == Some(value))
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn status_describes_the_chain_and_the_admin_socket_admits_only_its_owner() {
    let deny = wat("deny");
    let plugin = Plugin::start(&format!(
        "{}{}",
        module("first", &wat("allow-reusable"), "fuel = 1000000"),
        module(
            "second",
            &deny,
            "mode = \"monitor\"\nreuse_instances = false"
        )
    ));
    assert_eq!(mode_of(&plugin.admin_socket()), 0o600);
    let mut client = plugin.connect().await;
    for _ in 0..3 {
        assert!(client.authz_req(PS).await.allowed());
    }

    // `portcullis status --json` is the admin socket's answer.
    let out = portcullis()
        .args(["status", "--json", "--admin-socket"])
        .arg(plugin.admin_socket())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown: Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let chain = &shown["chain"];
    let version = chain["version"].as_str().unwrap();
    assert_eq!(version.len(), 16, "{shown}");
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()), "{shown}");
    assert_eq!(chain["generation"], 0);
    assert_eq!(shown["pid"], plugin.pid());
    let modules = chain["modules"].as_array().unwrap();
    assert_eq!(modules.len(), 2);
    let (first, second) = (&modules[0], &modules[1]);
    assert_eq!(first["name"], "first");
    assert_eq!(first["digest"], sha256_hex(&wat("allow-reusable")));
    assert_eq!(first["fuel"], 1_000_000);
    assert_eq!(first["mode"], "enforce");
    assert_eq!(first["reuse_instances"], true);
    assert_eq!(first["calls"], 3);
    assert_eq!(first["allowed"], 3);
    assert!(first["fuel_used"].as_u64().unwrap() > 0, "{first}");
    assert!(first["seconds"].as_f64().unwrap() > 0.0, "{first}");
    assert_eq!(second["name"], "second");
    assert_eq!(second["digest"], sha256_hex(&deny));
    assert_eq!(second["mode"], "monitor");
    assert_eq!(second["reuse_instances"], false);
    assert_eq!(second["denied"], 3, "monitor-mode denials are counted");
    assert_eq!(shown["last_reload"]["ok"], Value::Null);

    // The human form names the same chain.
    let out = portcullis()
        .args(["status", "--admin-socket"])
        .arg(plugin.admin_socket())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains(version), "{text}");
    assert!(text.contains("reload   none since start"), "{text}");

    // Another user cannot connect, even if the socket's mode is loosened:
    // the peer's credentials are checked too.
    if running_as_root() {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            plugin.admin_socket(),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_portcullis"))
            .args(["reload", "--admin-socket"])
            .arg(plugin.admin_socket())
            .output()
            .expect("setpriv (util-linux)");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(
            status(&plugin).await["chain"]["generation"],
            0,
            "no reload happened"
        );
        assert!(
            plugin
                .log()
                .contains("refusing an admin connection from uid 65534"),
            "{}",
            plugin.log()
        );
    } else {
        eprintln!("not root: the other-user half of this test needs root to switch users");
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[tokio::test]
async fn portcullis_reload_applies_a_new_chain_and_refuses_a_broken_one() {
    let text = |guest: &str| {
        format!(
            "[plugin]\nname = \"t\"\nworkers = 1\n\n{}",
            module("gate", &wat(guest), "")
        )
    };
    let (plugin, config) = serve(&text("allow"), &["--no-watch"]);
    let reload = || {
        portcullis()
            .args(["reload", "--admin-socket"])
            .arg(plugin.admin_socket())
            .output()
            .unwrap()
    };
    let mut client = plugin.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    let before = status(&plugin).await["chain"]["version"].clone();

    std::fs::write(&config, text("deny")).unwrap();
    let out = reload();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.starts_with("reloaded: chain "), "{stdout}");
    assert_eq!(client.authz_req(PS).await.msg(), "gate: not now");
    let after = status(&plugin).await;
    assert_ne!(after["chain"]["version"], before);
    assert_eq!(after["chain"]["generation"], 1);
    assert_eq!(after["last_reload"]["ok"], true);

    // A module that does not compile: exit 1, the reason, the old chain.
    let broken = plugin.dir.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm garbage").unwrap();
    std::fs::write(
        &config,
        format!(
            "[plugin]\nname = \"t\"\nworkers = 1\n\n{}",
            module("gate", &broken, "")
        ),
    )
    .unwrap();
    let out = reload();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout.starts_with("reload failed, still serving chain ") && stdout.contains("gate"),
        "{stdout}"
    );
    assert!(stdout.contains("broken.wasm"), "{stdout}");
    assert_eq!(
        client.authz_req(PS).await.msg(),
        "gate: not now",
        "the old chain serves"
    );
    let status = status(&plugin).await;
    assert_eq!(status["chain"]["version"], after["chain"]["version"]);
    assert_eq!(status["last_reload"]["ok"], false);

    let metrics = metrics(&plugin).await;
    assert_eq!(
        sample(&metrics, "portcullis_reloads", &[("result", "success")]),
        1.0
    );
    assert_eq!(
        sample(&metrics, "portcullis_reloads", &[("result", "failure")]),
        1.0
    );

    // A config that does not parse is refused the same way.
    std::fs::write(&config, "[[module]]\nname = \"x\"\n").unwrap();
    let out = reload();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("plugin.toml"),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_hundred_reloads_through_the_admin_socket_under_load_fail_no_request() {
    let text = |name: &str, guest: &str| {
        format!(
            "[plugin]\nname = \"t\"\nworkers = 2\n\n{}",
            module(name, &wat(guest), "")
        )
    };
    let (plugin, config) = serve(&text("open", "allow"), &["--no-watch"]);
    let plugin = Arc::new(plugin);
    let stop = Arc::new(AtomicBool::new(false));
    let (allowed, denied) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..3 {
        let (plugin, stop) = (plugin.clone(), stop.clone());
        let (allowed, denied) = (allowed.clone(), denied.clone());
        load.push(tokio::spawn(async move {
            let mut client = plugin.connect().await;
            while !stop.load(Ordering::Relaxed) {
                let answer = client.authz_req(PS).await;
                // Every answer is a well-formed decision of one of the two chains.
                assert_eq!(answer.status, 200, "{answer:?}");
                if answer.allowed() {
                    assert_eq!(answer.msg(), "", "{answer:?}");
                    allowed.fetch_add(1, Ordering::Relaxed);
                } else {
                    assert_eq!(answer.msg(), "shut: not now", "{answer:?}");
                    denied.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for flip in 1..=100u64 {
        let (name, guest) = if flip % 2 == 1 {
            ("shut", "deny")
        } else {
            ("open", "allow")
        };
        std::fs::write(&config, text(name, guest)).unwrap();
        let (code, body) = admin(&plugin, "POST", "/reload").await;
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((code, &answer["ok"]), (200, &json!(true)), "{answer}");
        assert_eq!(answer["generation"], flip, "{answer}");
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("a load task failed");
    }
    let (allowed, denied) = (
        allowed.load(Ordering::Relaxed),
        denied.load(Ordering::Relaxed),
    );
    assert!(
        allowed > 0 && denied > 0,
        "{allowed} allowed, {denied} denied"
    );
    let metrics = metrics(&plugin).await;
    assert_eq!(
        sample(&metrics, "portcullis_reloads", &[("result", "success")]),
        100.0
    );
    assert_eq!(
        sample(&metrics, "portcullis_chain_info", &[("generation", "100")]),
        1.0
    );
}

#[tokio::test]
async fn metrics_parse_as_openmetrics_and_count_decisions_failures_and_instances() {
    let plugin = Plugin::start(&format!(
        "{}{}{}",
        module("reusable", &wat("allow-reusable"), ""),
        module(
            "watcher",
            &wat("infinite-loop"),
            "mode = \"monitor\"\nfuel = 100000"
        ),
        module("no-privileged", &guest_wasm("no_privileged"), "")
    ));
    let mut client = plugin.connect().await;
    for _ in 0..4 {
        assert!(client.authz_req(PS).await.allowed());
    }
    assert!(!client.authz_req(PRIVILEGED).await.allowed());
    let undecodable = client.post("/AuthZPlugin.AuthZReq", b"{".to_vec()).await;
    assert_eq!(undecodable.status, 500);

    let m = metrics(&plugin).await;
    let decisions = |phase, decision| {
        sample(
            &m,
            "portcullis_decisions",
            &[("phase", phase), ("decision", decision)],
        )
    };
    assert_eq!(decisions("request", "allow"), 4.0);
    assert_eq!(decisions("request", "deny"), 1.0);
    assert_eq!(sample(&m, "portcullis_refused_requests", &[]), 1.0);
    let calls = |module, outcome| {
        sample(
            &m,
            "portcullis_module_calls",
            &[("module", module), ("outcome", outcome)],
        )
    };
    assert_eq!(calls("reusable", "allow"), 5.0);
    assert_eq!(calls("watcher", "failed"), 5.0, "monitored failures count");
    assert_eq!(calls("no-privileged", "deny"), 1.0);
    assert_eq!(
        sample(
            &m,
            "portcullis_module_failures",
            &[("module", "watcher"), ("kind", "fuel")]
        ),
        5.0
    );
    assert_eq!(
        sample(
            &m,
            "portcullis_module_failures",
            &[("module", "watcher"), ("kind", "trap")]
        ),
        0.0
    );
    // The reusable module is instantiated once per thread, then kept warm.
    let warm = sample(
        &m,
        "portcullis_module_instances",
        &[("module", "reusable"), ("instance", "warm")],
    );
    let fresh = sample(
        &m,
        "portcullis_module_instances",
        &[("module", "reusable"), ("instance", "fresh")],
    );
    assert_eq!(warm + fresh, 5.0);
    assert!(warm >= 3.0, "warm {warm}, fresh {fresh}");
    assert!(sample(&m, "portcullis_module_fuel", &[("module", "watcher")]) >= 500_000.0);

    // Latency histograms: one observation per call, per module and per chain.
    let histogram = |family: &str, labels: &[(&str, &str)]| {
        let family = m.families.get(family).expect(family);
        let sample = family
            .iter_samples()
            .find(|s| has_labels(s, labels))
            .expect("a series");
        match &sample.value {
            OpenMetricsValue::Histogram(h) => (h.count.unwrap_or(0), h.buckets.len()),
            other => panic!("{other:?} is not a histogram"),
        }
    };
    assert_eq!(
        histogram(
            "portcullis_module_duration_seconds",
            &[("module", "reusable")]
        )
        .0,
        5
    );
    let (count, buckets) = histogram(
        "portcullis_decision_duration_seconds",
        &[("phase", "request")],
    );
    assert_eq!(count, 5);
    assert!(buckets >= 9, "{buckets} buckets");

    // The chain version is an info-style gauge, equal to the status's.
    let version = status(&plugin).await["chain"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        sample(&m, "portcullis_chain_info", &[("version", &version)]),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "portcullis_module_loads",
            &[("module", "no-privileged"), ("from", "compiler")]
        ),
        1.0
    );
}

/// Schema v1 of a decision-log line, written from docs/decision-log.md
/// (not from the server's types): an unknown or missing field fails.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LogLine {
    pub schema: u32,
    pub time: String,
    pub id: String,
    pub phase: String,
    pub user: Option<String>,
    pub authn_method: Option<String>,
    pub method: String,
    pub uri: String,
    pub action: String,
    pub allow: bool,
    pub decided_by: Option<String>,
    pub msg: String,
    pub chain: String,
    pub duration_us: u64,
    pub modules: Vec<LogModule>,
    pub response_status: Option<i64>,
    pub request_body: Option<Value>,
    pub response_body: Option<Value>,
    pub refused: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LogModule {
    pub name: String,
    pub outcome: String,
    pub mode: String,
    pub msg: Option<String>,
    pub fuel: u64,
    pub duration_us: u64,
    pub warm: bool,
}

/// The decision log's lines once `count` are written, parsed against the schema.
pub fn log_lines(path: &Path, count: usize) -> Vec<LogLine> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= count {
            return text
                .lines()
                .map(|line| {
                    serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("not a schema v1 line: {e}\n{line}"))
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{count} log lines never came:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn json_log_chain(log: &str) -> String {
    format!(
        "[log]\nformat = \"json\"\ndestination = \"decisions.log\"\n{log}\n{}{}",
        module("monitored", &wat("deny"), "mode = \"monitor\""),
        module("no-privileged", &guest_wasm("no_privileged"), "")
    )
}

#[tokio::test]
async fn json_decision_log_lines_follow_the_schema() {
    let plugin = Plugin::start(&json_log_chain(""));
    let path = plugin.dir.path().join("decisions.log");
    let mut client = plugin.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    assert!(!client.authz_req(PRIVILEGED).await.allowed());
    assert!(
        client
            .authz_req("tls_version_plugin1__02_GET_version.json")
            .await
            .allowed()
    );
    assert!(client.authz_res(PS).await.allowed());
    let version = status(&plugin).await["chain"]["version"]
        .as_str()
        .unwrap()
        .to_owned();

    let lines = log_lines(&path, 4);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let ids: HashSet<&str> = lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), lines.len(), "request ids are unique");
    for line in &lines[..3] {
        assert_eq!(line.schema, 1);
        assert_eq!(line.chain, version);
        assert!(humantime::parse_rfc3339(&line.time).is_ok(), "{line:?}");
        assert!(line.request_body.is_none(), "bodies are off by default");
        assert_eq!(line.modules[0].name, "monitored");
        assert_eq!(line.modules[0].mode, "monitor");
        assert_eq!(line.modules[0].outcome, "deny");
        assert_eq!(line.modules[0].msg.as_deref(), Some("not now"));
    }
    let (allowed, denied) = (&lines[0], &lines[1]);
    assert!(allowed.allow && allowed.decided_by.is_none() && allowed.msg.is_empty());
    assert_eq!(allowed.phase, "request");
    assert_eq!(allowed.method, "GET");
    assert!(allowed.uri.contains("/containers/json"), "{allowed:?}");
    assert_eq!(allowed.action, "container_list");
    assert!(!denied.allow);
    assert_eq!(denied.decided_by.as_deref(), Some("no-privileged"));
    assert!(denied.msg.starts_with("no-privileged: "), "{denied:?}");
    assert_eq!(denied.modules.len(), 2);
    assert_eq!(denied.modules[1].outcome, "deny");
    assert!(denied.modules[1].fuel > 0);
    let tls_line = &lines[2];
    assert!(tls_line.user.is_some(), "{tls_line:?}");
    assert_eq!(tls_line.authn_method.as_deref(), Some("TLS"));
    // The response phase: no module here judges it, and the line says so.
    let response = &lines[3];
    assert_eq!(response.phase, "response");
    assert_eq!(response.chain, version);
    assert!(
        response.allow && response.modules.is_empty(),
        "{response:?}"
    );
    assert_eq!(response.response_status, Some(200));
}

#[tokio::test]
async fn calls_refused_before_the_chain_are_logged_too() {
    use base64::Engine as _;
    let plugin = Plugin::start(&json_log_chain("denials_only = true"));
    let mut client = plugin.connect().await;
    // A form-encoded body: Docker's handlers would read values the plugin never sees.
    let form = json!({
        "RequestMethod": "POST",
        "RequestUri": "/v1.41/volumes/prune",
        "User": "alice",
        "UserAuthNMethod": "TLS",
        "RequestHeaders": {"Content-Type": "application/x-www-form-urlencoded"},
        "RequestBody": base64::engine::general_purpose::STANDARD.encode("filters=%7B%7D"),
    });
    let answer = client
        .post("/AuthZPlugin.AuthZReq", serde_json::to_vec(&form).unwrap())
        .await;
    assert_eq!(answer.status, 500, "{answer:?}");
    let garbage = client.post("/AuthZPlugin.AuthZRes", b"{".to_vec()).await;
    assert_eq!(garbage.status, 500, "{garbage:?}");
    let version = status(&plugin).await["chain"]["version"]
        .as_str()
        .unwrap()
        .to_owned();

    let lines = log_lines(&plugin.dir.path().join("decisions.log"), 2);
    let (form, garbage) = (&lines[0], &lines[1]);
    assert_eq!(form.refused, Some(true));
    assert!(!form.allow && form.modules.is_empty() && form.decided_by.is_none());
    assert_eq!(
        (form.phase.as_str(), form.method.as_str(), form.uri.as_str()),
        ("request", "POST", "/v1.41/volumes/prune")
    );
    assert_eq!(form.user.as_deref(), Some("alice"));
    assert_eq!(form.chain, version);
    assert!(form.msg.contains("form-encoded body"), "{form:?}");
    assert_eq!(garbage.refused, Some(true));
    assert_eq!(garbage.phase, "response");
    assert_eq!(
        (garbage.method.as_str(), garbage.user.as_deref()),
        ("", None)
    );
    assert!(
        garbage.msg.starts_with("portcullis: cannot decode"),
        "{garbage:?}"
    );
}

#[tokio::test]
async fn only_denials_are_logged_when_asked() {
    let plugin = Plugin::start(&json_log_chain("denials_only = true"));
    let mut client = plugin.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    assert!(!client.authz_req(PRIVILEGED).await.allowed());
    assert!(client.authz_req(PS).await.allowed());
    assert!(!client.authz_req(PRIVILEGED).await.allowed());
    let lines = log_lines(&plugin.dir.path().join("decisions.log"), 2);
    std::thread::sleep(Duration::from_millis(200));
    let lines_now = log_lines(&plugin.dir.path().join("decisions.log"), 2);
    assert_eq!(lines_now.len(), 2, "{lines_now:?}");
    assert!(lines.iter().all(|l| !l.allow));
}

#[tokio::test]
async fn secrets_in_bodies_never_reach_the_decision_log() {
    let plugin = Plugin::start(&format!(
        "[log]\nformat = \"json\"\ndestination = \"decisions.log\"\nbodies = true\n{}",
        module("open", &wat("allow"), "")
    ));
    let mut client = plugin.connect().await;
    let secret = "c3VwZXJzZWNyZXQtcGF5bG9hZA==";
    let password = "hunter2-registry-password";
    let join_token = "SWMTKN-1-secret-join-token";
    let requests = [
        authz_request(
            "POST",
            "/v1.41/secrets/create",
            None,
            Some(&json!({"Name": "db", "Data": secret})),
        ),
        authz_request(
            "POST",
            "/v1.41/auth",
            None,
            Some(&json!({"username": "u", "password": password})),
        ),
        authz_request(
            "POST",
            "/v1.41/swarm/join",
            None,
            Some(&json!({"RemoteAddrs": ["10.0.0.1"], "JoinToken": join_token})),
        ),
        authz_request(
            "POST",
            "/v1.41/containers/create",
            None,
            Some(&json!({"Image": "alpine", "Labels": {"visible": "body-is-logged"}})),
        ),
    ];
    for request in requests {
        assert!(
            client
                .post("/AuthZPlugin.AuthZReq", request)
                .await
                .allowed()
        );
    }
    let lines = log_lines(&plugin.dir.path().join("decisions.log"), 4);
    let text = std::fs::read_to_string(plugin.dir.path().join("decisions.log")).unwrap();
    for leaked in [secret, password, join_token] {
        assert!(!text.contains(leaked), "{leaked} reached the log:\n{text}");
    }
    assert_eq!(
        lines[0].request_body.as_ref().unwrap()["Data"],
        "<redacted>"
    );
    assert!(
        lines[1].request_body.is_none(),
        "an auth body is dropped whole"
    );
    assert_eq!(
        lines[3].request_body.as_ref().unwrap()["Labels"]["visible"],
        "body-is-logged",
        "bodies = true does log bodies"
    );
    let actions: Vec<&str> = lines.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "secret_create",
            "docker_auth",
            "swarm_join",
            "container_create"
        ]
    );
}

#[tokio::test]
async fn the_decision_log_file_is_reopened_on_sigusr1() {
    let plugin = Plugin::start(&json_log_chain(""));
    let path = plugin.dir.path().join("decisions.log");
    let mut client = plugin.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    log_lines(&path, 1);
    assert_eq!(mode_of(&path), 0o640);
    let rotated = plugin.dir.path().join("decisions.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    assert!(client.authz_req(PS).await.allowed());
    log_lines(&rotated, 2);
    std::process::Command::new("kill")
        .args(["-USR1", &plugin.pid().to_string()])
        .status()
        .unwrap();
    plugin.wait_for_log("reopened", 1);
    assert!(!client.authz_req(PRIVILEGED).await.allowed());
    let fresh = log_lines(&path, 1);
    assert_eq!(fresh.len(), 1);
    assert!(!fresh[0].allow);
    assert_eq!(log_lines(&rotated, 2).len(), 2);
}

#[tokio::test]
async fn a_restart_with_the_compile_cache_compiles_nothing() {
    let modules = format!(
        "{}{}",
        module("no-privileged", &guest_wasm("no_privileged"), ""),
        module(
            "read-only",
            &guest_wasm("read_only"),
            "[module.config]\nusers = [\"auditor\"]"
        )
    );
    let plugin = Plugin::start(&modules);
    let from = |status: &Value| -> Vec<String> {
        status["chain"]["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["compiled_from"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(from(&status(&plugin).await), ["compiler", "compiler"]);
    let socket = plugin.socket.clone();
    let dir = plugin.kill_9();
    let config = dir.path().join("plugin.toml");
    let restarted = Plugin::serve(&config, socket, dir).expect("restart");
    assert_eq!(
        from(&status(&restarted).await),
        ["disk_cache", "disk_cache"]
    );
    let m = metrics(&restarted).await;
    assert_eq!(
        sample(&m, "portcullis_module_loads", &[("from", "compiler")]),
        0.0
    );
    assert_eq!(
        sample(&m, "portcullis_module_loads", &[("from", "disk_cache")]),
        2.0
    );
    // And what the cache gave decides as the compiler's code did.
    let mut client = restarted.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    assert!(!client.authz_req(PRIVILEGED).await.allowed());
}

/// A guest crate with no dependencies (so `cargo build` takes a second),
/// denying with `msg`.
fn write_guest_crate(dir: &Path, msg: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"watched\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n",
    )
    .unwrap();
    let answer = format!("{{\"allow\":false,\"msg\":\"{msg}\"}}");
    std::fs::write(
        dir.join("src/lib.rs"),
        format!(
            r#"//! ABI v1 by hand: deny everything with one message.
#[unsafe(no_mangle)]
pub extern "C" fn portcullis_abi_v1() {{}}

#[unsafe(no_mangle)]
pub extern "C" fn portcullis_alloc(len: i32) -> i32 {{
    Vec::<u8>::with_capacity(len as usize).leak().as_mut_ptr() as i32
}}

#[unsafe(no_mangle)]
pub extern "C" fn portcullis_authorize(_ptr: i32, _len: i32) -> i64 {{
    let answer: &'static [u8] = {answer:?}.as_bytes();
    ((answer.as_ptr() as i64) << 32) | answer.len() as i64
}}
"#
        ),
    )
    .unwrap();
}

fn cargo_build(dir: &Path) {
    let out =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(dir)
            .args(["build", "--release", "--target", "wasm32-wasip1"])
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_cargo_build_of_a_watched_guest_gives_exactly_one_reload() {
    let guest = tempfile::tempdir().unwrap();
    write_guest_crate(guest.path(), "v1");
    cargo_build(guest.path());
    let wasm = guest
        .path()
        .join("target/wasm32-wasip1/release/watched.wasm");
    // The watch is on: no --no-watch.
    let (plugin, _config) = serve(
        &format!("[plugin]\nname = \"t\"\n\n{}", module("watched", &wasm, "")),
        &[],
    );
    let mut client = plugin.connect().await;
    assert_eq!(client.authz_req(PS).await.msg(), "watched: v1");

    write_guest_crate(guest.path(), "v2");
    cargo_build(guest.path());
    plugin.wait_for_log("chain reloaded", 1);
    assert_eq!(client.authz_req(PS).await.msg(), "watched: v2");
    // Well past the settle time: still exactly one reload, none failed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = plugin.log();
    assert_eq!(log.matches("chain reloaded").count(), 1, "{log}");
    assert_eq!(log.matches("reload failed").count(), 0, "{log}");
    assert!(!log.contains("writable by group or others"), "{log}");
    assert_eq!(status(&plugin).await["chain"]["generation"], 1);
}

#[tokio::test]
async fn a_saved_config_is_reloaded_by_the_watch() {
    let text = |guest: &str| {
        format!(
            "[plugin]\nname = \"t\"\n\n{}",
            module("gate", &wat(guest), "")
        )
    };
    let (plugin, config) = serve(&text("allow"), &[]);
    let mut client = plugin.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    // An editor's save: a new file renamed over the old one.
    let tmp = config.with_extension("toml.swp");
    std::fs::write(&tmp, text("deny")).unwrap();
    std::fs::rename(&tmp, &config).unwrap();
    plugin.wait_for_log("chain reloaded", 1);
    assert_eq!(client.authz_req(PS).await.msg(), "gate: not now");
}

#[tokio::test]
async fn the_metrics_address_serves_metrics_and_nothing_else() {
    // A free port, released for the plugin to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plugin = Plugin::start(&format!(
        "[admin]\nmetrics_address = \"127.0.0.1:{port}\"\n{}",
        module("open", &wat("allow"), "")
    ));
    let mut client = plugin.connect().await;
    assert!(client.authz_req(PS).await.allowed());
    let get = |path: &str| {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        (
            head.lines().next().unwrap_or("").to_owned(),
            body.to_owned(),
        )
    };
    let (status, body) = get("/metrics");
    assert!(status.contains(" 200 "), "{status}");
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&body)
        .unwrap_or_else(|e| panic!("{e:?}\n{body}"));
    assert_eq!(
        sample(
            &parsed,
            "portcullis_decisions",
            &[("phase", "request"), ("decision", "allow")]
        ),
        1.0
    );
    for path in ["/status", "/reload"] {
        let (status, _) = get(path);
        assert!(status.contains(" 404 "), "{path}: {status}");
    }
}

#[test]
fn the_watch_warns_about_a_config_others_may_write() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("plugin.toml");
    std::fs::write(
        &config,
        format!(
            "[plugin]\nname = \"t\"\n\n{}",
            module("gate", &wat("allow"), "")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let socket = dir.path().join("plugin.sock");
    let plugin = Plugin::serve_with_args(&config, socket, dir, &[]).expect("starts");
    plugin.wait_for_log("plugin.toml is writable by group or others", 1);
}
