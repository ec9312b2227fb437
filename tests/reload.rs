//! Hot reload on SIGHUP: the new chain serves once the reload is logged, a
//! config that does not load leaves the old chain serving, and no request
//! fails while chains are swapped under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::util::{Plugin, module, wat};

/// A config whose only module is `name`, running `guest`, on one worker
/// (so consecutive requests meet the same warm instance).
fn config_with(name: &str, guest: &str) -> String {
    format!(
        "[plugin]\nname = \"portcullis-test\"\nworkers = 1\n\n{}",
        module(name, &wat(guest), "")
    )
}

fn start(text: &str) -> (Plugin, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("plugin.sock");
    let config = dir.path().join("plugin.toml");
    std::fs::write(&config, text).expect("write plugin.toml");
    let plugin = Plugin::serve(&config, socket, dir).expect("portcullis starts");
    (plugin, config)
}

#[tokio::test]
async fn sighup_swaps_the_chain_and_a_bad_config_keeps_the_old_one() {
    let (plugin, config) = start(&config_with("first", "allow"));
    let mut client = plugin.connect().await;
    let fixture = "ps__02_GET_containers-json.json";
    assert!(client.authz_req(fixture).await.allowed());

    std::fs::write(&config, config_with("second", "counter")).unwrap();
    plugin.hangup_and_wait_for("chain reloaded", 1);
    assert!(plugin.log().contains("generation=1"), "{}", plugin.log());
    let answer = client.authz_req(fixture).await;
    assert_eq!(answer.msg(), "second: call 1", "same connection, new chain");

    std::fs::write(&config, "[[module]]\nname = \"broken\"\n").unwrap();
    plugin.hangup_and_wait_for("reload failed", 1);
    let answer = client.authz_req(fixture).await;
    assert_eq!(
        answer.msg(),
        "second: call 2",
        "a failed reload must leave the previous chain (and its warm instance) serving"
    );
}

#[tokio::test]
async fn no_request_fails_during_reloads_under_load() {
    let (plugin, config) = start(&config_with("first", "allow"));
    let plugin = Arc::new(plugin);
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (plugin, stop) = (plugin.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut client = plugin.connect().await;
            let mut answered = 0;
            while !stop.load(Ordering::Relaxed) {
                let answer = client.authz_req("ps__02_GET_containers-json.json").await;
                assert_eq!(answer.status, 200, "{answer:?}");
                assert!(
                    answer.allowed() || answer.msg() == "second: not now",
                    "{answer:?}"
                );
                answered += 1;
            }
            answered
        }));
    }
    for reload in 1..=10 {
        let guest = if reload % 2 == 0 { "allow" } else { "deny" };
        let name = if reload % 2 == 0 { "first" } else { "second" };
        std::fs::write(&config, config_with(name, guest)).unwrap();
        let plugin = plugin.clone();
        tokio::task::spawn_blocking(move || {
            plugin.hangup_and_wait_for("chain reloaded", reload);
        })
        .await
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        assert!(task.await.expect("load task") > 0, "a client got no answer");
    }
}
