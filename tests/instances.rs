//! Instance reuse: a module that declares itself reusable runs many calls
//! in one instance per worker, a trap discards the instance, and
//! `reuse_instances = false` gives every call a fresh one.

use crate::util::{Plugin, module, wat};

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
