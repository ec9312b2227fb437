//! The Docker authz protocol over the real socket, with captured payloads.

use base64::Engine as _;
use serde_json::json;

use crate::util::{Plugin, guest_wasm, module};

fn example_chain() -> String {
    module("no-privileged", &guest_wasm("no_privileged"), "")
        + &module(
            "read-only",
            &guest_wasm("read_only"),
            "[module.config]\nusers = [\"alice\"]",
        )
}

#[tokio::test]
async fn activate_announces_authz() {
    let plugin = Plugin::start(&example_chain());
    let answer = plugin
        .connect()
        .await
        .post("/Plugin.Activate", Vec::new())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json, json!({"Implements": ["authz"]}));
}

#[tokio::test]
async fn captured_privileged_run_is_denied_with_the_module_message() {
    let plugin = Plugin::start(&example_chain());
    let answer = plugin
        .connect()
        .await
        .authz_req("run_priv__02_POST_containers-create.json")
        .await;
    assert!(!answer.allowed());
    assert_eq!(
        answer.msg(),
        "no-privileged: privileged containers are not allowed"
    );
}

#[tokio::test]
async fn captured_plain_session_is_allowed_in_both_phases_on_one_connection() {
    let plugin = Plugin::start(&example_chain());
    let mut client = plugin.connect().await;
    for fixture in [
        "create_bg__01_HEAD_ping.json",
        "create_bg__02_POST_containers-create.json",
        "create_bg__03_POST_containers-ID-wait.json",
        "create_bg__04_POST_containers-ID-start.json",
        "create_100kb_label__01_POST_containers-create.json",
    ] {
        assert!(
            client.authz_req(fixture).await.allowed(),
            "{fixture} request phase"
        );
        assert!(
            client.authz_res(fixture).await.allowed(),
            "{fixture} response phase"
        );
    }
}

#[tokio::test]
async fn tls_user_from_the_capture_is_held_to_read_only() {
    let plugin = Plugin::start(&example_chain());
    let mut client = plugin.connect().await;
    // The capture's client certificate is CN=alice; alice is read-only here.
    assert!(
        client
            .authz_req("tls_version_plugin1__02_GET_version.json")
            .await
            .allowed()
    );
    let mut write = serde_json::from_slice::<serde_json::Value>(&crate::util::fixture_body(
        "tls_version_plugin1__02_GET_version.json",
        "req",
    ))
    .unwrap();
    write["RequestMethod"] = json!("POST");
    write["RequestUri"] = json!("/v1.41/containers/bg/kill");
    let answer = client
        .post("/AuthZPlugin.AuthZReq", serde_json::to_vec(&write).unwrap())
        .await;
    assert!(!answer.allowed());
    assert_eq!(
        answer.msg(),
        "read-only: alice is read-only: POST /containers/bg/kill is not allowed"
    );
}

#[tokio::test]
async fn lowercase_field_names_do_not_bypass_the_policy() {
    let plugin = Plugin::start(&example_chain());
    let body = base64::engine::general_purpose::STANDARD
        .encode(r#"{"Image":"x","hostconfig":{"privileged":true}}"#);
    let request = json!({
        "RequestMethod": "POST",
        "RequestUri": "/v1.41/containers%2Fcreate",
        "RequestBody": body,
        "RequestHeaders": {"Content-Type": "application/json"},
    });
    let answer = plugin
        .connect()
        .await
        .post(
            "/AuthZPlugin.AuthZReq",
            serde_json::to_vec(&request).unwrap(),
        )
        .await;
    assert!(!answer.allowed());
    assert!(answer.msg().contains("privileged"), "{answer:?}");
}

#[tokio::test]
async fn undecodable_requests_get_docker_err_and_the_next_request_is_served() {
    let plugin = Plugin::start(&example_chain());
    let mut client = plugin.connect().await;
    let cases: [(&str, Vec<u8>); 5] = [
        ("not JSON", b"this is not json".to_vec()),
        ("empty body", Vec::new()),
        (
            "wrong type",
            br#"{"RequestMethod": 7, "RequestUri": "/info"}"#.to_vec(),
        ),
        ("no RequestUri", br#"{"RequestMethod": "GET"}"#.to_vec()),
        (
            "bad base64",
            br#"{"RequestMethod":"POST","RequestUri":"/containers/create","RequestBody":"***"}"#
                .to_vec(),
        ),
    ];
    for (case, body) in cases {
        let answer = client.post("/AuthZPlugin.AuthZReq", body).await;
        assert_eq!(answer.status, 500, "{case}: {answer:?}");
        assert_eq!(answer.json["Allow"], json!(false), "{case}");
        let err = answer.json["Err"].as_str().unwrap_or_default();
        assert!(
            err.starts_with("portcullis: cannot decode the authz request"),
            "{case}: {err}"
        );
        // The same keep-alive connection still gets real decisions.
        assert!(
            client
                .authz_req("ps__02_GET_containers-json.json")
                .await
                .allowed(),
            "after {case}"
        );
    }
}

#[tokio::test]
async fn concurrent_connections_are_all_answered() {
    let plugin = Plugin::start(&example_chain());
    let mut tasks = Vec::new();
    for i in 0..16 {
        let mut client = plugin.connect().await;
        tasks.push(tokio::spawn(async move {
            let fixture = if i % 2 == 0 {
                "run_priv__02_POST_containers-create.json"
            } else {
                "ps__02_GET_containers-json.json"
            };
            (i, client.authz_req(fixture).await.allowed())
        }));
    }
    for task in tasks {
        let (i, allowed) = task.await.unwrap();
        assert_eq!(allowed, i % 2 == 1, "request {i}");
    }
}

#[tokio::test]
async fn sigterm_removes_the_socket() {
    let plugin = Plugin::start(&example_chain());
    let socket = plugin.socket.clone();
    let log_path = plugin.dir.path().join("plugin.log");
    assert!(socket.exists());
    let (status, log) = plugin.terminate_keeping_log(&log_path);
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "socket left behind");
    assert!(log.contains("SIGTERM: shutting down"), "{log}");
}

#[test]
fn a_second_instance_refuses_a_live_socket_and_the_first_keeps_it() {
    let first = Plugin::start(&example_chain());
    let second = crate::util::portcullis()
        .args(["serve", "--config"])
        .arg(first.dir.path().join("plugin.toml"))
        .arg("--cache-dir")
        .arg(first.dir.path().join("cache"))
        .arg("--admin-socket")
        .arg(first.dir.path().join("admin2.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another process is listening on this socket"),
        "{stderr}"
    );
    assert!(
        std::os::unix::net::UnixStream::connect(&first.socket).is_ok(),
        "first instance lost its socket"
    );
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("plugin.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let plugin =
        Plugin::start_with(dir, socket.clone(), "portcullis-test", &example_chain()).unwrap();
    assert!(std::os::unix::net::UnixStream::connect(&plugin.socket).is_ok());
}

/// The response phase runs only the modules that ask for it: `deny.wat`
/// (no `portcullis_response_v1`) is skipped there unless plugin.toml says
/// `response_phase = true`; the request phase runs it either way.
#[tokio::test]
async fn only_modules_that_ask_judge_the_response_phase() {
    let fixture = "version__02_GET_version.json";
    let skipped = Plugin::start(&module("deny", &crate::util::wat("deny"), ""));
    let mut client = skipped.connect().await;
    assert!(!client.authz_req(fixture).await.allowed());
    let answer = client.authz_res(fixture).await;
    assert!(
        answer.allowed(),
        "request-only module ran in the response phase: {answer:?}"
    );

    let asked = Plugin::start(&module(
        "deny",
        &crate::util::wat("deny"),
        "response_phase = true",
    ));
    let mut client = asked.connect().await;
    let answer = client.authz_res(fixture).await;
    assert!(!answer.allowed());
    assert!(answer.msg().starts_with("deny: "), "{}", answer.msg());
}

/// `mode = "monitor"`: the module runs, its deny or failure is logged, and
/// the call goes on to the next module, whose deny still counts.
#[tokio::test]
async fn monitor_mode_logs_and_allows() {
    let wat = crate::util::wat;
    let chain = module("new-rule", &wat("deny"), "mode = \"monitor\"")
        + &module("shaky", &wat("unreachable"), "mode = \"monitor\"")
        + &module("allow", &wat("allow"), "");
    let plugin = Plugin::start(&chain);
    let mut client = plugin.connect().await;
    let answer = client.authz_req("version__02_GET_version.json").await;
    assert!(answer.allowed(), "{answer:?}");
    plugin.wait_for_log("would deny: new-rule: ", 1);
    plugin.wait_for_log("would deny: portcullis: module \"shaky\" failed: trap", 1);
    plugin.wait_for_log("new-rule=deny[monitor]", 1);

    let enforced = module("new-rule", &wat("deny"), "mode = \"monitor\"")
        + &module("old-rule", &wat("deny"), "");
    let plugin = Plugin::start(&enforced);
    let answer = plugin
        .connect()
        .await
        .authz_req("version__02_GET_version.json")
        .await;
    assert!(!answer.allowed());
    assert!(answer.msg().starts_with("old-rule: "), "{}", answer.msg());
}
