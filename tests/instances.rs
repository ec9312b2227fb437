//! Instance reuse: a module that declares itself reusable runs many calls
//! in one instance per worker, a trap discards the instance, and
//! `reuse_instances = false` gives every call a fresh one.

use crate::util::{Client, Plugin, module, wat};

/// Serves the `counter` guest on one worker (so every call meets the same
/// warm instance) with `extra` in its `[[module]]` table, and returns the
/// deny messages of five requests in a row.
async fn five_answers(extra: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("plugin.sock");
    let config = dir.path().join("plugin.toml");
    let text = format!(
        "[plugin]\nname = \"portcullis-test\"\nworkers = 1\n\n{}",
        module("counter", &wat("counter"), extra)
    );
    std::fs::write(&config, text).expect("write plugin.toml");
    let plugin = Plugin::serve(&config, socket, dir).expect("portcullis starts");
    let mut client = plugin.connect().await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let answer = client.authz_req("ps__02_GET_containers-json.json").await;
        assert!(!answer.allowed(), "counter never allows");
        answers.push(answer.msg().to_owned());
    }
    answers
}

#[tokio::test]
async fn a_reusable_module_keeps_its_instance_until_it_traps() {
    let answers = five_answers("").await;
    assert_eq!(answers[0], "counter: call 1");
    assert_eq!(answers[1], "counter: call 2", "the instance was not reused");
    assert!(
        answers[2].starts_with("portcullis: module \"counter\" failed: trap:"),
        "{answers:?}"
    );
    assert_eq!(
        answers[3], "counter: call 1",
        "a trapped instance was reused"
    );
    assert_eq!(answers[4], "counter: call 2");
}

#[tokio::test]
async fn reuse_instances_false_gives_every_call_a_fresh_instance() {
    let answers = five_answers("reuse_instances = false").await;
    assert!(
        answers.iter().all(|a| a == "counter: call 1"),
        "{answers:?}"
    );
}

/// The instance pool is sized from the configuration: 64 workers each
/// holding a warm instance of 5 modules (320 instances, more than the 256
/// the pool once had) all answer, a reload of the same chain succeeds, and
/// a reload that could not fit is refused with the reason while the old
/// chain keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn sixty_four_workers_and_five_modules_fit_the_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("plugin.sock");
    let config = dir.path().join("plugin.toml");
    // 64 busy threads share this machine's CPUs: a generous deadline keeps
    // the test about slots, not about wall time.
    let write = |modules: usize| {
        let chain: String = (0..modules)
            .map(|i| module(&format!("spin-{i}"), &wat("spin"), "timeout_ms = 30000"))
            .collect();
        let text = format!("[plugin]\nname = \"portcullis-test\"\nworkers = 64\n\n{chain}");
        std::fs::write(&config, text).expect("write plugin.toml");
    };
    write(5);
    let plugin = Plugin::serve(&config, socket, dir).expect("portcullis starts");

    burst_of_64(&plugin.socket).await;
    plugin.hangup_and_wait_for("chain reloaded", 1);
    burst_of_64(&plugin.socket).await;

    // 11 modules need more slots than a 5-module start reserved (room for 10).
    write(11);
    plugin.hangup_and_wait_for("reload failed", 1);
    assert!(
        plugin
            .log()
            .contains("11 modules with 64 workers need 1473 instance slots"),
        "{}",
        plugin.log()
    );
    burst_of_64(&plugin.socket).await;
}

/// 64 connections at once, eight requests each (enough to keep every
/// worker busy at some point); every one must be allowed.
async fn burst_of_64(socket: &std::path::Path) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let socket = socket.to_owned();
        set.spawn(async move {
            let mut client = Client::connect(&socket).await;
            let mut answers = Vec::new();
            for _ in 0..8 {
                answers.push(client.authz_req("ps__02_GET_containers-json.json").await);
            }
            answers
        });
    }
    while let Some(answers) = set.join_next().await {
        for answer in answers.expect("client task") {
            assert!(answer.allowed(), "{answer:?}");
        }
    }
}
