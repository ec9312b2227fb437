//! Every `examples/<seed>/plugin.toml` served for real (the guests built
//! for wasm32-wasip1, the real socket) and held to its `checks.toml`: the
//! seed systems, reproduced and checked call by call.
//!
//! `checks.toml` holds `[[check]]` entries. A check starts from a captured
//! `fixture` (request phase, or `phase = "response"`) or from nothing, then
//! sets any of `method`, `uri`, `user`, `certificate` (a name in
//! tests/fixtures/certs), `headers` (table) and `body` (JSON text, sent as
//! Docker forwards `application/json`), and in the response phase `status`
//! and `response_body` (JSON text, the daemon's answer). Checks run in
//! order on one plugin, so a stateful example's checks build on each other.
//! It expects `allow`, and for a deny a
//! `message` the deny must contain; or, for a call the host refuses to
//! decode, `error`: text Docker's `Err` (a non-200 answer) must contain.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::util::{Plugin, fixture_path, guest_wasm, repo_root};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Checks {
    check: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    name: String,
    fixture: Option<String>,
    phase: Option<String>,
    method: Option<String>,
    uri: Option<String>,
    user: Option<String>,
    certificate: Option<String>,
    headers: Option<toml::Table>,
    body: Option<String>,
    status: Option<u16>,
    response_body: Option<String>,
    allow: Option<bool>,
    message: Option<String>,
    error: Option<String>,
}

impl Check {
    fn is_response(&self) -> bool {
        self.phase.as_deref() == Some("response")
    }

    /// The AuthZ body Docker would send for this check.
    fn authz_body(&self) -> Value {
        let mut wire = match &self.fixture {
            Some(name) => {
                let capture: Value =
                    serde_json::from_slice(&std::fs::read(fixture_path(name)).unwrap()).unwrap();
                capture[if self.is_response() { "res" } else { "req" }]["body"].clone()
            }
            None => json!({"RequestHeaders": {}}),
        };
        if let Some(method) = &self.method {
            wire["RequestMethod"] = json!(method);
        }
        if let Some(uri) = &self.uri {
            wire["RequestUri"] = json!(uri);
        }
        if let Some(user) = &self.user {
            wire["User"] = json!(user);
            wire["UserAuthNMethod"] = json!("TLS");
        }
        if let Some(name) = &self.certificate {
            let pem = std::fs::read(
                repo_root()
                    .join("tests/fixtures/certs")
                    .join(format!("{name}.pem")),
            )
            .unwrap();
            let encoded = BASE64.encode(pem);
            // Docker reports the certificate's CN as the user.
            let cert = portcullis_envelope::identity::peer_certificate(&encoded)
                .expect("a test certificate");
            wire["User"] = json!(cert.common_name);
            wire["RequestPeerCertificates"] = json!([encoded]);
            wire["UserAuthNMethod"] = json!("TLS");
        }
        if let Some(headers) = &self.headers {
            for (key, value) in headers {
                wire["RequestHeaders"][key] =
                    json!(value.as_str().expect("header values are strings"));
            }
        }
        if let Some(body) = &self.body {
            wire["RequestBody"] = json!(BASE64.encode(body));
            wire["RequestHeaders"]["Content-Type"] = json!("application/json");
            wire["RequestHeaders"]["Content-Length"] = json!(body.len().to_string());
        }
        if let Some(status) = self.status {
            wire["ResponseStatusCode"] = json!(status);
        }
        if let Some(body) = &self.response_body {
            wire["ResponseBody"] = json!(BASE64.encode(body));
            wire["ResponseHeaders"] = json!({"Content-Type": "application/json"});
        }
        wire
    }
}

fn example_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

async fn run_example(dir: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(dir.join("checks.toml")).expect("every example has checks.toml");
    let checks: Checks = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("plugin.sock");
    let plugin = Plugin::serve(&dir.join("plugin.toml"), socket, tmp)
        .unwrap_or_else(|log| panic!("{} does not start:\n{log}", dir.display()));
    let mut client = plugin.connect().await;
    let mut failures = Vec::new();
    for check in &checks.check {
        let endpoint = if check.is_response() {
            "/AuthZPlugin.AuthZRes"
        } else {
            "/AuthZPlugin.AuthZReq"
        };
        let answer = client
            .post(endpoint, serde_json::to_vec(&check.authz_body()).unwrap())
            .await;
        let ok = match (&check.error, check.allow) {
            (Some(error), None) => {
                answer.status != 200
                    && answer.json["Err"]
                        .as_str()
                        .is_some_and(|e| e.contains(error.as_str()))
            }
            (None, Some(allow)) => {
                answer.status == 200
                    && answer.json["Allow"] == json!(allow)
                    && check
                        .message
                        .as_deref()
                        .is_none_or(|m| answer.msg().contains(m))
            }
            _ => panic!(
                "{}: a check sets exactly one of allow and error",
                check.name
            ),
        };
        if !ok {
            failures.push(format!(
                "{}: {}: expected allow={:?} {:?} error={:?}, got {} {}",
                dir.file_name().unwrap().to_string_lossy(),
                check.name,
                check.allow,
                check.message,
                check.error,
                answer.status,
                answer.json
            ));
        }
    }
    assert!(!checks.check.is_empty(), "{}: no checks", dir.display());
    failures
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_chain_passes_its_checks() {
    guest_wasm("no_privileged"); // builds every guest
    let dirs = example_dirs();
    assert!(!dirs.is_empty(), "no examples found");
    let mut failures = Vec::new();
    for dir in &dirs {
        failures.extend(run_example(dir).await);
    }
    assert!(
        failures.is_empty(),
        "{} example checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
