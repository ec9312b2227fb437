//! Differential test: Portcullis's SDK decodes `containers/create` and
//! pre-1.24 `containers/{id}/start` bodies exactly as real dockerd does,
//! on Debian 12's dockerd 20.10, Debian 13's 26.1 and sid's 28.5.
//!
//! One difference between the daemons is named rather than compared away:
//! 28.5 ignores `HostConfig` fields written at the top level of a create
//! body, which 20.10 and 26.1 apply. The SDK cannot know which daemon asks,
//! so it reports them as the older daemons apply them; on 28.5 such a case
//! counts as "ignored at the top level" when the daemon recorded exactly a
//! plain container's value, and as a disagreement otherwise.
//!
//! The real plugin (`portcullis serve`, allow-all chain) sits behind a
//! recording proxy (proxy.rs) where dockerd discovers plugins. Every corpus
//! request (corpus.rs) goes to the daemon as raw bytes; the AuthZReq the
//! daemon sent for it is decoded with the SDK exactly as a policy sees it
//! (the host's envelope code, then `portcullis_sdk::Request`), and when the
//! daemon accepted the request its `HostConfig` (inspect) is compared with
//! the SDK's view (compare.rs). A difference fails the test, naming the
//! case, the daemon, the field and both values.
//!
//! Option strings are proven by what the daemon does with them
//! (options.rs): `local` volumes are mounted by a running container and
//! the host's mount table read; containers with security and tmpfs
//! options are started and their process read (`/proc/PID`). A control
//! decoder that trims and case-folds option strings must disagree with the
//! daemon there too.
//!
//! Needs root, busybox-static, the system dockerd 20.10, `.ci/docker26`'s
//! dockerd 26.1 and `.ci/docker28`'s 28.5. A daemon whose prerequisites are missing is skipped with a
//! printed reason, except under `CI=true`, where that is a failure.
//!
//! Run: `cargo test -p portcullis --test integration differential -- --nocapture`.

mod compare;
mod corpus;
mod options;
pub(crate) mod proxy;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portcullis_envelope::Envelope;
use portcullis_envelope::envelope::ConfigPrefix;
use portcullis_sdk::Request;
use serde_json::Value;

use crate::dockerd::http::{self, Framing};
use crate::dockerd::{self as daemon, Dockerd, Version};
use crate::util::{Plugin, module, wat};
use compare::{Ctx, Defaults, Mismatch};
use corpus::{Case, Endpoint};
use proxy::Proxy;

#[test]
fn sdk_decodes_container_bodies_as_dockerd_20_10_26_1_and_28_5_do() {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let mut versions = Vec::new();
    for version in Version::ALL {
        match version.missing_prerequisite() {
            None => versions.push(version),
            Some(reason) => {
                assert!(
                    !ci,
                    "CI=true but cannot run the differential test against dockerd {}: {reason}",
                    version.label()
                );
                eprintln!(
                    "skipping the differential test against dockerd {}: {reason}",
                    version.label()
                );
            }
        }
    }
    if versions.is_empty() {
        return;
    }

    // Portcullis on a private socket: dockerd reaches it only through a proxy.
    let dir = tempfile::tempdir().expect("tempdir");
    let upstream = dir.path().join("portcullis.sock");
    let plugin = Plugin::start_with(
        dir,
        upstream.clone(),
        "portcullis-diff",
        &module("allow", &wat("allow"), ""),
    )
    .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));

    let reports: Vec<Report> = std::thread::scope(|scope| {
        let runs: Vec<_> = versions
            .iter()
            .map(|&version| {
                let upstream = &upstream;
                scope.spawn(move || run(version, upstream))
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });

    eprintln!("{}", summary(&reports));
    let mut failures = String::new();
    for report in &reports {
        for problem in &report.problems {
            let _ = writeln!(failures, "dockerd {}: {problem}", report.version.label());
        }
        for d in &report.disagreements {
            let _ = writeln!(
                failures,
                "DISAGREEMENT case {:?} on dockerd {}: {}\n  SDK:    {}\n  daemon: {}\n  request: POST {}\n  body:    {}",
                d.case,
                report.version.label(),
                d.field,
                d.sdk,
                d.daemon,
                d.target,
                d.body
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}\n(portcullis log tail)\n{}",
        tail(&plugin.log(), 20)
    );
}

/// One difference between the SDK and a daemon.
#[derive(Debug, Clone)]
struct Disagreement {
    case: String,
    field: String,
    sdk: String,
    daemon: String,
    target: String,
    body: String,
}

/// What one daemon made of the corpus.
#[derive(Debug)]
struct Report {
    version: Version,
    server: String,
    cases: usize,
    skipped: Vec<(String, String)>,
    accepted: usize,
    live: usize,
    naive_caught: usize,
    /// Fields a 28.5 daemon ignored at the body's top level while the SDK
    /// reports them as 20.10 and 26.1 apply them (stricter, never looser).
    ignored_top_level: usize,
    /// Option-string cases in which the trimming, case-folding control decoder disagrees.
    naive_options: usize,
    refused: Vec<(String, u16, String)>,
    compared: usize,
    disagreements: Vec<Disagreement>,
    problems: Vec<String>,
    elapsed: Duration,
}

/// Everything against one daemon: proxy, dockerd, image, fixtures, corpus.
fn run(version: Version, upstream: &Path) -> Report {
    let started = Instant::now();
    let name = format!(
        "portcullis-diff-{}-{}",
        std::process::id(),
        version.label().replace('.', "")
    );
    let proxy = Proxy::start(
        &PathBuf::from(format!("/run/docker/plugins/{name}.sock")),
        upstream,
    );
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();
    let server = dockerd.get_json("/version")["Version"]
        .as_str()
        .unwrap_or("?")
        .to_owned();

    let mut report = Report {
        version,
        server,
        cases: 0,
        skipped: Vec::new(),
        accepted: 0,
        live: 0,
        naive_caught: 0,
        ignored_top_level: 0,
        naive_options: 0,
        refused: Vec::new(),
        compared: 0,
        disagreements: Vec::new(),
        problems: Vec::new(),
        elapsed: Duration::ZERO,
    };

    // Which API versions the daemon serves (it is asked once per version).
    let mut refused_versions = Vec::new();
    for &api in version.api_versions() {
        let target = if api.is_empty() {
            "/version".to_owned()
        } else {
            format!("/v{api}/version")
        };
        let answer = dockerd.request("GET", &target, None).expect("GET version");
        if answer.status() != 200 {
            refused_versions.push((api, format!("{} {}", answer.status(), answer.text().trim())));
        }
    }

    // The daemon's own defaults, and a container to point modes and VolumesFrom at.
    let plain = format!(
        r#"{{"Image":"{}","Cmd":["true"],"HostConfig":{{}}}}"#,
        daemon::IMAGE
    );
    let (id, inspect) = create(&dockerd, "/containers/create?name=diff-defaults", &plain)
        .unwrap_or_else(|e| panic!("plain create on {}: {e}", version.label()));
    let defaults = Defaults::from_inspect(&inspect["HostConfig"]);
    remove(&dockerd, &id);
    let donor_body = format!(
        r#"{{"Image":"{}","Cmd":["true"],"HostConfig":{{"NetworkMode":"none","IpcMode":"shareable"}}}}"#,
        daemon::IMAGE
    );
    let (donor, _) = create(&dockerd, "/containers/create?name=diff-donor", &donor_body)
        .unwrap_or_else(|e| panic!("donor create on {}: {e}", version.label()));

    for case in corpus::corpus(version) {
        report.cases += 1;
        if let Some((_, why)) = refused_versions.iter().find(|(api, _)| *api == case.api) {
            report.skipped.push((case.name.clone(), why.clone()));
            continue;
        }
        let outcome = match case.endpoint {
            Endpoint::Create => run_create(
                &dockerd,
                &proxy,
                &case,
                &donor,
                &defaults,
                &inspect["HostConfig"],
            ),
            Endpoint::Start => run_start(&dockerd, &proxy, &case, &donor, &defaults),
            Endpoint::Volume => options::run_volume(&dockerd, &proxy, &case),
            Endpoint::Run => options::run_container(&dockerd, &proxy, &case),
        };
        match outcome {
            Outcome::Compared {
                fields,
                mismatches,
                target,
                body,
                recorded,
                live,
                naive_caught,
                ignored_top_level,
            } => {
                report.accepted += 1;
                report.ignored_top_level += ignored_top_level;
                report.naive_caught += usize::from(naive_caught);
                if matches!(case.endpoint, Endpoint::Volume | Endpoint::Run) {
                    report.naive_options += usize::from(naive_caught);
                }
                report.compared += fields;
                report.live += usize::from(live);
                log_case(
                    version,
                    &case,
                    &format!(
                        "compared live={live} recorded={}",
                        recorded.unwrap_or_default()
                    ),
                );
                report
                    .disagreements
                    .extend(mismatches.into_iter().map(|m| Disagreement {
                        case: case.name.clone(),
                        field: m.field,
                        sdk: m.sdk,
                        daemon: m.daemon,
                        target: target.clone(),
                        body: body.clone(),
                    }));
            }
            Outcome::Refused(status, message) => {
                log_case(version, &case, &format!("refused {status} {message}"));
                report.refused.push((case.name.clone(), status, message));
            }
            Outcome::Problem(problem) => report
                .problems
                .push(format!("case {:?}: {problem}", case.name)),
        }
    }
    report
        .problems
        .extend(proxy.errors().into_iter().map(|e| format!("proxy: {e}")));
    assert!(proxy.recorded() > 0, "the proxy saw no AuthZReq");
    if report.naive_options == 0 {
        report.problems.push(
            "the option cases do not catch a decoder that trims and case-folds option strings: they cannot catch anything"
                .into(),
        );
    }
    if report.naive_caught == 0 {
        report.problems.push(
            "the corpus does not catch even the naive control decoder: it cannot catch anything"
                .into(),
        );
    }
    drop(dockerd); // stop the daemon before its plugin
    report.elapsed = started.elapsed();
    report
}

/// What became of one case.
enum Outcome {
    /// The daemon accepted it; `fields` were compared.
    Compared {
        fields: usize,
        mismatches: Vec<Mismatch>,
        target: String,
        body: String,
        /// The daemon's value of the case's field.
        recorded: Option<Value>,
        /// Whether that differs from a plain container's: the mutation reached the daemon.
        live: bool,
        /// Whether the naive control decoder disagrees with the daemon here.
        naive_caught: bool,
        /// Fields the daemon ignored at the top level (see [`Report`]).
        ignored_top_level: usize,
    },
    /// The daemon refused it (status, message): nothing to compare.
    Refused(u16, String),
    /// The harness could not do its part.
    Problem(String),
}

/// `POST target` with `body`; the new container's ID and inspect output on 201.
fn create(dockerd: &Dockerd, target: &str, body: &str) -> Result<(String, Value), String> {
    let answer = dockerd
        .request("POST", target, Some(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    if answer.status() != 201 {
        return Err(format!("{} {}", answer.status(), answer.text().trim()));
    }
    let created: Value = serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
    let id = created["Id"].as_str().ok_or("no Id")?.to_owned();
    let inspect = dockerd.get_json(&format!("/containers/{id}/json"));
    Ok((id, inspect))
}

fn remove(dockerd: &Dockerd, id: &str) {
    let _ = dockerd.request("DELETE", &format!("/containers/{id}?force=1&v=1"), None);
}

/// The request as a policy sees it: the AuthZReq body through the host's
/// envelope code and the SDK's `Request`.
fn sdk_request(proxy: &Proxy, method: &str, target: &str) -> Result<Request, String> {
    let recorded = proxy
        .find(method, target)
        .ok_or_else(|| format!("the plugin never saw {method} {target}"))?;
    let wire = portcullis_sdk::testing::authz_request_from_capture(
        &recorded.body,
        portcullis_sdk::Phase::Request,
    )?;
    let envelope = Envelope::from_authz(wire, portcullis_envelope::Phase::Request)
        .map_err(|e| format!("the host refuses the AuthZReq: {e}"))?;
    let bytes = envelope
        .to_json()
        .with_config(&ConfigPrefix::new(&serde_json::json!({})));
    Request::from_envelope(&bytes).map_err(|e| format!("the SDK cannot read the envelope: {e}"))
}

fn run_create(
    dockerd: &Dockerd,
    proxy: &Proxy,
    case: &Case,
    donor: &str,
    defaults: &Defaults,
    plain: &Value,
) -> Outcome {
    let target = format!("{}/containers/create?name=diff-{}", case.prefix(), case.n);
    let body = case.body_for(donor);
    let raw = http::request_bytes("POST", &target, Some(body.as_bytes()), case.framing);
    let answer = match dockerd.send(&raw) {
        Ok(answer) => answer,
        Err(e) => return Outcome::Problem(format!("sending to dockerd: {e}")),
    };
    if answer.status() != 201 {
        return Outcome::Refused(answer.status(), answer.text().trim().to_owned());
    }
    let id = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["Id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let inspect = dockerd.get_json(&format!("/containers/{id}/json"));
    let volumes = volume_options(dockerd, &inspect);
    remove(dockerd, &id);

    let ctx = Ctx {
        version: dockerd.version,
        api: case.api,
        endpoint: Endpoint::Create,
        defaults,
    };
    let (fields, mut mismatches) = match sdk_request(proxy, "POST", &target) {
        Err(problem) => return Outcome::Problem(problem),
        Ok(req) => compare_create(&req, &inspect, &volumes, &ctx),
    };
    let mut ignored_top_level = 0;
    if !dockerd.version.applies_top_level_host_config() && case.sets_top_level_host_config() {
        let before = mismatches.len();
        mismatches.retain(|m| !ignored_like_a_plain_container(m, &inspect, plain));
        ignored_top_level = before - mismatches.len();
    }
    let recorded = compare::recorded(case.field, &inspect["HostConfig"]);
    let live = recorded.is_some() && recorded != compare::recorded(case.field, plain);
    let naive_caught =
        !compare::host_config(&naive_host_config(&body), &inspect["HostConfig"], &ctx)
            .1
            .is_empty();
    Outcome::Compared {
        fields,
        mismatches,
        target,
        body,
        recorded,
        live,
        naive_caught,
        ignored_top_level,
    }
}

/// Whether a difference is only the daemon ignoring a top-level field: it
/// recorded exactly what it records for a plain container (no mounts, the
/// default value). The SDK, which cannot know the daemon's version, reads
/// the field as 20.10 and 26.1 apply it; the same body is compared with
/// those daemons, where the SDK's reading must agree.
fn ignored_like_a_plain_container(mismatch: &Mismatch, inspect: &Value, plain: &Value) -> bool {
    match mismatch.field.strip_prefix("HostConfig.") {
        // Mismatches hold the daemon's value as JSON text.
        Some(go) => compare::recorded(go, plain).is_some_and(|default| {
            let shown = default.to_string();
            shown == mismatch.daemon
        }),
        None => {
            mismatch.field == "mounts()" && inspect["Mounts"].as_array().is_some_and(Vec::is_empty)
        }
    }
}

/// The control: what a decoder that is not Docker's would report. It reads
/// only a nested `HostConfig`, matches keys case-sensitively and lets the
/// last of a repeated key win (what `serde_json` does with a plain struct).
/// The corpus must catch it, or it could not catch a real difference either.
fn naive_host_config(body: &str) -> portcullis_sdk::docker::HostConfig {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut host_config = match parsed.get("HostConfig") {
        Some(Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    host_config.retain(|key, _| compare::recorded(key, &Value::Null).is_some());
    let text = serde_json::json!({ "HostConfig": host_config }).to_string();
    serde_json::from_str::<portcullis_sdk::docker::ContainerCreate>(&text)
        .map(|create| create.host_config)
        .unwrap_or_default()
}

/// The SDK's create view against the daemon's record of it.
fn compare_create(
    req: &Request,
    inspect: &Value,
    volumes: &BTreeMap<String, Value>,
    ctx: &Ctx<'_>,
) -> (usize, Vec<Mismatch>) {
    let mut mismatches = Vec::new();
    if req.action() != "container_create" {
        mismatches.push(Mismatch {
            field: "action()".into(),
            sdk: req.action().into(),
            daemon: "container_create (it created a container)".into(),
        });
    }
    let create = match req.container_create() {
        Ok(create) => create,
        Err(e) => {
            mismatches.push(Mismatch {
                field: "container_create()".into(),
                sdk: format!("error: {e}"),
                daemon: "decoded and created it".into(),
            });
            return (1, mismatches);
        }
    };
    let (fields, found) = compare::host_config(&create.host_config, &inspect["HostConfig"], ctx);
    mismatches.extend(found);
    match req.mounts() {
        Ok(mounts) => mismatches.extend(compare::mount_points(mounts, inspect, volumes)),
        Err(e) => mismatches.push(Mismatch {
            field: "mounts()".into(),
            sdk: format!("error: {e}"),
            daemon: "decoded and created it".into(),
        }),
    }
    (fields + 1, mismatches)
}

/// The `Options` the daemon recorded for every volume `inspect` mounts.
fn volume_options(dockerd: &Dockerd, inspect: &Value) -> BTreeMap<String, Value> {
    inspect["Mounts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| m["Type"] == "volume")
        .filter_map(|m| m["Name"].as_str())
        .map(|name| {
            let volume = dockerd.get_json(&format!("/volumes/{name}"));
            (name.to_owned(), volume["Options"].clone())
        })
        .collect()
}

fn run_start(
    dockerd: &Dockerd,
    proxy: &Proxy,
    case: &Case,
    donor: &str,
    defaults: &Defaults,
) -> Outcome {
    let prefix = case.prefix();
    let plain = format!(
        r#"{{"Image":"{}","Cmd":["true"],"HostConfig":{{"NetworkMode":"none"}}}}"#,
        daemon::IMAGE
    );
    let (id, before) = match create(
        dockerd,
        &format!("{prefix}/containers/create?name=diff-{}", case.n),
        &plain,
    ) {
        Ok(created) => created,
        Err(e) => return Outcome::Refused(0, format!("creating the container to start: {e}")),
    };
    let target = format!("{prefix}/containers/{id}/start");
    let body = case.body_for(donor);
    let raw = http::request_bytes("POST", &target, Some(body.as_bytes()), case.framing);
    let answer = dockerd.send(&raw);
    let after = dockerd.get_json(&format!("/containers/{id}/json"));
    let volumes = volume_options(dockerd, &after);
    remove(dockerd, &id);
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return Outcome::Problem(format!("sending to dockerd: {e}")),
    };
    // The body was applied when the start succeeded, or when only the OCI
    // runtime refused to run the result on this machine (privileged
    // containers cannot start inside this sandbox): the daemon had already
    // replaced the HostConfig.
    let message = answer.text().trim().to_owned();
    let applied = answer.status() == 204
        || (answer.status() == 500 && message.contains("OCI runtime create failed"));
    if !applied {
        return Outcome::Refused(answer.status(), message);
    }
    let req = match sdk_request(proxy, "POST", &target) {
        Ok(req) => req,
        Err(problem) => return Outcome::Problem(problem),
    };
    let mut mismatches = Vec::new();
    if req.action() != "container_start" {
        mismatches.push(Mismatch {
            field: "action()".into(),
            sdk: req.action().into(),
            daemon: "container_start (it started the container)".into(),
        });
    }
    let ctx = Ctx {
        version: dockerd.version,
        api: case.api,
        endpoint: Endpoint::Start,
        defaults,
    };
    let fields = match req.container_start() {
        Err(e) => {
            mismatches.push(Mismatch {
                field: "container_start()".into(),
                sdk: format!("error: {e}"),
                daemon: "decoded and applied it".into(),
            });
            1
        }
        Ok(None) => {
            let (fields, found) = compare::unchanged(&before["HostConfig"], &after["HostConfig"]);
            mismatches.extend(found);
            fields
        }
        Ok(Some(host_config)) => {
            let (fields, found) = compare::host_config(&host_config, &after["HostConfig"], &ctx);
            mismatches.extend(found);
            match req.mounts() {
                Ok(mounts) => mismatches.extend(compare::mount_points(mounts, &after, &volumes)),
                Err(e) => mismatches.push(Mismatch {
                    field: "mounts()".into(),
                    sdk: format!("error: {e}"),
                    daemon: "decoded and applied it".into(),
                }),
            }
            fields + 1
        }
    };
    let recorded = compare::recorded(case.field, &after["HostConfig"]);
    let live =
        recorded.is_some() && recorded != compare::recorded(case.field, &before["HostConfig"]);
    Outcome::Compared {
        fields,
        mismatches,
        target,
        recorded,
        live,
        naive_caught: false,
        // Start bodies go to API < 1.24, which only 20.10 serves.
        ignored_top_level: 0,
        body: if case.framing == Framing::Chunked {
            format!("{body} (chunked)")
        } else {
            body
        },
    }
}

/// The table printed at the end, and what was refused.
fn summary(reports: &[Report]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ndifferential: SDK vs dockerd ({} HostConfig fields + mounts() per accepted case)",
        compare::field_count()
    );
    let _ = writeln!(
        out,
        "(live: accepted cases in which the daemon recorded the field under test differently from a plain container;\n naive: accepted creates in which a control decoder (nested HostConfig only, exact keys, last key wins) disagrees with the daemon)"
    );
    let _ = writeln!(
        out,
        "{:<8} {:<16} {:>6} {:>8} {:>9} {:>5} {:>6} {:>8} {:>9} {:>14} {:>7}",
        "daemon",
        "server",
        "cases",
        "skipped",
        "accepted",
        "live",
        "naive",
        "refused",
        "compared",
        "disagreements",
        "time"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "{:<8} {:<16} {:>6} {:>8} {:>9} {:>5} {:>6} {:>8} {:>9} {:>14} {:>6.1}s",
            r.version.label(),
            r.server,
            r.cases,
            r.skipped.len(),
            r.accepted,
            r.live,
            r.naive_caught,
            r.refused.len(),
            r.compared,
            r.disagreements.len(),
            r.elapsed.as_secs_f64()
        );
    }
    for r in reports {
        if r.ignored_top_level > 0 {
            let _ = writeln!(
                out,
                "dockerd {}: {} fields written at the body's top level were ignored by the daemon (plain container's value recorded); the SDK reports them as 20.10 and 26.1 apply them: stricter, not a disagreement",
                r.version.label(),
                r.ignored_top_level
            );
        }
        let _ = writeln!(
            out,
            "dockerd {}: option strings: the trimming, case-folding control decoder disagrees with the daemon in {} cases",
            r.version.label(),
            r.naive_options
        );
    }
    for r in reports {
        if !r.skipped.is_empty() {
            let mut reasons: Vec<&str> = r.skipped.iter().map(|(_, why)| why.as_str()).collect();
            reasons.sort_unstable();
            reasons.dedup();
            let _ = writeln!(
                out,
                "dockerd {}: {} cases skipped, API version refused: {}",
                r.version.label(),
                r.skipped.len(),
                reasons.join(" | ")
            );
        }
        for (case, status, message) in &r.refused {
            let _ = writeln!(
                out,
                "dockerd {}: refused {case}: {status} {}",
                r.version.label(),
                message.chars().take(140).collect::<String>()
            );
        }
    }
    out
}

/// With `PORTCULLIS_DIFFERENTIAL_LOG=<file>`, one line per case is appended there.
fn log_case(version: Version, case: &Case, outcome: &str) {
    use std::io::Write as _;
    let Some(path) = std::env::var_os("PORTCULLIS_DIFFERENTIAL_LOG") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(
            file,
            "{}\t{}\t{} {}\t{}\t{}",
            version.label(),
            case.name,
            match case.endpoint {
                Endpoint::Start => "start",
                Endpoint::Create => "create",
                Endpoint::Volume => "volume",
                Endpoint::Run => "run",
            },
            case.prefix(),
            case.body,
            outcome
        );
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
