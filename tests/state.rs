//! Durable module state through the real server and the real guests: the
//! hello flow, state that survives a reload, a restart and `kill -9`,
//! concurrent writers, quotas, failed calls, namespaces, and the
//! `portcullis state` administration commands.

use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::util::{Client, Plugin, guest_wasm, module, portcullis, wat};

/// The seed's deny message.
const HELLO_MESSAGE: &str = "The request authorization failed. You must say hello first.";

/// An AuthZReq body as dockerd sends it: `body` as forwarded JSON, `user`
/// as a TLS-authenticated user.
pub fn authz_request(method: &str, uri: &str, user: Option<&str>, body: Option<&Value>) -> Vec<u8> {
    let mut wire = json!({"RequestMethod": method, "RequestUri": uri, "RequestHeaders": {}});
    if let Some(user) = user {
        wire["User"] = json!(user);
        wire["UserAuthNMethod"] = json!("TLS");
    }
    if let Some(body) = body {
        let text = body.to_string();
        wire["RequestBody"] = json!(BASE64.encode(&text));
        wire["RequestHeaders"]["Content-Type"] = json!("application/json");
        wire["RequestHeaders"]["Content-Length"] = json!(text.len().to_string());
    }
    serde_json::to_vec(&wire).unwrap()
}

/// The AuthZRes body of the same call, with the daemon's status and JSON body.
pub fn authz_response(
    method: &str,
    uri: &str,
    user: Option<&str>,
    status: u16,
    response: Option<&Value>,
) -> Vec<u8> {
    let mut wire: Value = serde_json::from_slice(&authz_request(method, uri, user, None)).unwrap();
    wire["ResponseStatusCode"] = json!(status);
    if let Some(response) = response {
        wire["ResponseBody"] = json!(BASE64.encode(response.to_string()));
        wire["ResponseHeaders"] = json!({"Content-Type": "application/json"});
    }
    serde_json::to_vec(&wire).unwrap()
}

/// `docker run <image>`'s create call, by `user`.
fn create(image: &str, user: Option<&str>) -> Vec<u8> {
    authz_request(
        "POST",
        "/v1.41/containers/create",
        user,
        Some(&json!({"Image": image, "Cmd": ["true"]})),
    )
}

/// `docker version`, by `user`.
fn version(user: Option<&str>) -> Vec<u8> {
    authz_request("GET", "/v1.41/version", user, None)
}

/// The hello-first module as `name`, with `extra` lines (config, limits).
fn hello_first(name: &str, extra: &str) -> String {
    module(name, &guest_wasm("hello_first"), extra)
}

async fn decide(client: &mut Client, body: Vec<u8>) -> (bool, String) {
    let answer = client.post("/AuthZPlugin.AuthZReq", body).await;
    (answer.allowed(), answer.msg().to_owned())
}

/// `portcullis state <args>` on the state kept in `dir`/state.
fn state_cli(dir: &Path, args: &[&str]) -> Output {
    portcullis()
        .arg("state")
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(args)
        .output()
        .expect("run portcullis state")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "portcullis state failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn each_user_says_hello_once_and_is_remembered() {
    let plugin = Plugin::start(&hello_first("hello-first", ""));
    let mut client = plugin.connect().await;
    let (allowed, msg) = decide(&mut client, create("alpine", Some("alice"))).await;
    assert!(!allowed);
    assert_eq!(msg, format!("hello-first: {HELLO_MESSAGE}"));
    assert!(
        decide(&mut client, create("hello-world", Some("alice")))
            .await
            .0
    );
    assert!(decide(&mut client, create("alpine", Some("alice"))).await.0);
    assert!(decide(&mut client, version(Some("alice"))).await.0);
    // Per user by default: bob and the anonymous socket have not said hello.
    assert!(!decide(&mut client, version(Some("bob"))).await.0);
    assert!(!decide(&mut client, version(None)).await.0);
}

#[tokio::test]
async fn a_hello_survives_reload_restart_and_kill_9() {
    let plugin = Plugin::start(&hello_first(
        "hello-first",
        "[module.config]\nscope = \"global\"",
    ));
    let mut client = plugin.connect().await;
    assert!(!decide(&mut client, version(None)).await.0);
    assert!(decide(&mut client, create("hello-world", None)).await.0);
    // Global scope, as in seed 000: anyone may proceed now.
    assert!(decide(&mut client, version(Some("bob"))).await.0);

    plugin.hangup_and_wait_for("chain reloaded", 1);
    assert!(
        decide(&mut client, version(Some("carol"))).await.0,
        "after a reload"
    );

    // The write was acknowledged (the answer came back): it must survive
    // a kill -9 that gives the host no chance to flush anything.
    let dir = plugin.kill_9();
    let (config, socket) = (
        dir.path().join("plugin.toml"),
        dir.path().join("plugin.sock"),
    );
    let plugin = Plugin::serve(&config, socket, dir).expect("restart after kill -9");
    let mut client = plugin.connect().await;
    assert!(
        decide(&mut client, version(Some("dave"))).await.0,
        "after kill -9"
    );
}

#[tokio::test]
async fn concurrent_writers_lose_nothing() {
    let plugin = Plugin::start(&hello_first("hello-first", ""));
    let (connections, users) = (8, 25);
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let mut client = plugin.connect().await;
        tasks.push(tokio::spawn(async move {
            for user in 0..users {
                let name = format!("user-{connection}-{user}");
                let (allowed, msg) = decide(&mut client, create("hello-world", Some(&name))).await;
                assert!(allowed, "{name}: {msg}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Every user's hello is there, read back through the policy itself.
    let mut client = plugin.connect().await;
    for connection in 0..connections {
        for user in 0..users {
            let name = format!("user-{connection}-{user}");
            assert!(
                decide(&mut client, version(Some(&name))).await.0,
                "{name} was lost"
            );
        }
    }
    drop(client);
    let dir = plugin.kill_9();
    let list = stdout(&state_cli(dir.path(), &["list"]));
    let fields: Vec<&str> = list.trim().split('\t').collect();
    assert_eq!(&fields[..2], ["hello-first", "200"], "{list}");
}

#[tokio::test]
async fn a_module_over_its_key_quota_denies_with_a_clear_message() {
    let plugin = Plugin::start(&hello_first("hello-first", "state_keys = 2"));
    let mut client = plugin.connect().await;
    assert!(
        decide(&mut client, create("hello-world", Some("alice")))
            .await
            .0
    );
    assert!(
        decide(&mut client, create("hello-world", Some("bob")))
            .await
            .0
    );
    let (allowed, msg) = decide(&mut client, create("hello-world", Some("carol"))).await;
    assert!(!allowed);
    assert!(
        msg.starts_with("hello-first: state quota exceeded: too many keys"),
        "{msg}"
    );
    // Nothing of carol's was kept.
    assert!(!decide(&mut client, version(Some("carol"))).await.0);
    assert!(decide(&mut client, version(Some("alice"))).await.0);
}

#[tokio::test]
async fn a_call_that_fails_commits_none_of_its_writes() {
    let trap = Plugin::start(&module("writer", &wat("state-write-then-trap"), ""));
    let mut client = trap.connect().await;
    let answer = client.post("/AuthZPlugin.AuthZReq", version(None)).await;
    assert!(!answer.allowed());
    assert!(
        answer.msg().contains("module \"writer\" failed: trap"),
        "{}",
        answer.msg()
    );
    drop(client);
    let dir = trap.kill_9();
    assert_eq!(stdout(&state_cli(dir.path(), &["list"])), "");

    // The control: the same write, then an allow, is kept.
    let control = Plugin::start(&module("writer", &wat("state-write"), ""));
    let mut client = control.connect().await;
    assert!(
        client
            .post("/AuthZPlugin.AuthZReq", version(None))
            .await
            .allowed()
    );
    drop(client);
    let dir = control.kill_9();
    assert_eq!(stdout(&state_cli(dir.path(), &["list"])), "writer\t1\t8\n");
    assert_eq!(
        stdout(&state_cli(dir.path(), &["dump", "writer"])),
        "{\"key\":\"k\",\"value\":{\"base64\":\"d3JpdHRlbg==\"}}\n"
    );
}

#[tokio::test]
async fn namespaces_follow_module_names_and_the_state_command_administers_them() {
    let plugin = Plugin::start(&hello_first(
        "greeter",
        "[module.config]\nscope = \"global\"",
    ));
    let mut client = plugin.connect().await;
    assert!(
        decide(&mut client, create("hello-world", Some("alice")))
            .await
            .0
    );
    drop(client);

    // The database admits one process: the command refuses, clearly.
    let busy = state_cli(plugin.dir.path(), &["list"]);
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("in use by another process"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );

    let dir = plugin.kill_9();
    let list = stdout(&state_cli(dir.path(), &["list"]));
    assert!(list.starts_with("greeter\t1\t"), "{list}");
    let dump = stdout(&state_cli(dir.path(), &["dump", "greeter"]));
    let entry: Value = serde_json::from_str(dump.trim()).unwrap();
    assert_eq!(
        entry,
        json!({"key": "hello", "value": {"user": "alice", "image": "hello-world"}})
    );

    // The same module under another name starts with nothing: its state
    // stays under the old name.
    let config = dir.path().join("plugin.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"greeter\"", "\"welcomer\"")).unwrap();
    let socket = dir.path().join("plugin.sock");
    let renamed = Plugin::serve(&config, socket, dir).expect("restart renamed");
    let mut client = renamed.connect().await;
    assert!(!decide(&mut client, version(Some("alice"))).await.0);
    drop(client);
    let dir = renamed.kill_9();

    let deleted = stdout(&state_cli(dir.path(), &["delete", "greeter"]));
    assert_eq!(deleted, "deleted 1 keys of greeter\n");
    assert_eq!(stdout(&state_cli(dir.path(), &["list"])), "");
}

#[tokio::test]
async fn container_owners_survive_kill_9() {
    let id = "0ef32779a6c9945127b80196e07d42e17993ca992187c37eb34cbfafd459835f";
    let config = "[module.config]\nadmins = [\"root\"]";
    let plugin = Plugin::start(&module("ownership", &guest_wasm("ownership"), config));
    let mut client = plugin.connect().await;
    let uri = "/v1.41/containers/create?name=web";
    let body = json!({"Image": "busybox"});
    assert!(
        decide(
            &mut client,
            authz_request("POST", uri, Some("alice"), Some(&body))
        )
        .await
        .0
    );
    let created = json!({"Id": id, "Warnings": []});
    let answer = client
        .post(
            "/AuthZPlugin.AuthZRes",
            authz_response("POST", uri, Some("alice"), 201, Some(&created)),
        )
        .await;
    assert!(answer.allowed(), "{answer:?}");
    drop(client);

    let dir = plugin.kill_9();
    let (config, socket) = (
        dir.path().join("plugin.toml"),
        dir.path().join("plugin.sock"),
    );
    let plugin = Plugin::serve(&config, socket, dir).expect("restart after kill -9");
    let mut client = plugin.connect().await;
    let start = |user| authz_request("POST", "/v1.41/containers/web/start", Some(user), None);
    let (allowed, msg) = decide(&mut client, start("bob")).await;
    assert!(!allowed);
    assert_eq!(
        msg,
        "ownership: container \"web\" belongs to alice, not to bob"
    );
    assert!(decide(&mut client, start("alice")).await.0);
    assert!(decide(&mut client, start("root")).await.0);
}
