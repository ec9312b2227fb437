//! Hostile guests (tests/guests/*.wat): every failure is a deny naming the
//! module and the reason, and the server goes on answering.

use crate::util::{Plugin, module, wat};

/// Runs the chain `[name]` and checks that two requests (one per connection
/// reuse) are both denied with `portcullis: module "name" failed: <reason…>`.
async fn assert_fails_closed(name: &str, limits: &str, reason: &str) {
    let plugin = Plugin::start(&module(name, &wat(name), limits));
    let mut client = plugin.connect().await;
    let expected = format!("portcullis: module \"{name}\" failed: {reason}");
    for fixture in [
        "run_rm__02_POST_containers-create.json",
        "ps__02_GET_containers-json.json",
    ] {
        let answer = client.authz_req(fixture).await;
        assert!(!answer.allowed(), "{name} allowed {fixture}");
        assert!(
            answer.msg().starts_with(&expected),
            "{name}: {:?} does not start with {expected:?}",
            answer.msg()
        );
    }
    // The server is still whole: a new connection, a different endpoint.
    let activate = plugin
        .connect()
        .await
        .post("/Plugin.Activate", Vec::new())
        .await;
    assert_eq!(
        activate.status, 200,
        "{name}: server unhealthy after the failure"
    );
}

#[tokio::test]
async fn control_module_allows() {
    let plugin = Plugin::start(&module("allow", &wat("allow"), ""));
    assert!(
        plugin
            .connect()
            .await
            .authz_req("run_rm__02_POST_containers-create.json")
            .await
            .allowed()
    );
}

#[tokio::test]
async fn infinite_loop_hits_the_deadline() {
    assert_fails_closed(
        "infinite-loop",
        "fuel = 1000000000000\ntimeout_ms = 50",
        "deadline exceeded (timeout 50 ms)",
    )
    .await;
}

#[tokio::test]
async fn infinite_loop_runs_out_of_fuel() {
    assert_fails_closed(
        "infinite-loop",
        "fuel = 1000000\ntimeout_ms = 10000",
        "out of fuel (limit 1000000)",
    )
    .await;
}

#[tokio::test]
async fn unreachable_traps() {
    assert_fails_closed(
        "unreachable",
        "",
        "trap: wasm `unreachable` instruction executed",
    )
    .await;
}

#[tokio::test]
async fn stack_overflow_traps() {
    assert_fails_closed(
        "stack-overflow",
        "fuel = 1000000000000\ntimeout_ms = 5000",
        "trap: call stack exhausted",
    )
    .await;
}

#[tokio::test]
async fn memory_bomb_is_stopped_before_it_can_allow() {
    assert_fails_closed(
        "memory-bomb",
        "memory_mib = 16",
        "memory limit exceeded (limit 16 MiB)",
    )
    .await;
}

#[tokio::test]
async fn output_outside_memory_is_bad_output() {
    assert_fails_closed(
        "output-out-of-bounds",
        "",
        "bad output: answer at 0x7fff0000+16 lies outside the module's 524288-byte memory",
    )
    .await;
}

#[tokio::test]
async fn non_json_output_is_bad_output() {
    assert_fails_closed(
        "non-json",
        "",
        "bad output: expected {\"allow\": bool, \"msg\"?: string}, got \"sure, allow\"",
    )
    .await;
}

#[tokio::test]
async fn string_allow_is_bad_output_not_an_allow() {
    assert_fails_closed("allow-yes", "", "bad output: expected {\"allow\": bool").await;
}

#[tokio::test]
async fn oversized_output_is_bad_output() {
    assert_fails_closed(
        "huge-output",
        "",
        "bad output: 1048576-byte answer exceeds 65536 bytes",
    )
    .await;
}

#[tokio::test]
async fn start_function_that_never_returns_hits_the_deadline() {
    assert_fails_closed(
        "start-never-returns",
        "fuel = 1000000000000\ntimeout_ms = 50",
        "deadline exceeded (timeout 50 ms)",
    )
    .await;
}

#[tokio::test]
async fn proc_exit_is_a_failure_not_an_answer() {
    assert_fails_closed("proc-exit", "", "trap: module exited with code 0").await;
}

#[tokio::test]
async fn input_buffer_outside_memory_is_bad_output() {
    assert_fails_closed("alloc-out-of-bounds", "", "bad output: portcullis_alloc(").await;
}

fn assert_refused_at_start(name: &str, reason: &str) {
    let stderr = match Plugin::try_start(&module(name, &wat(name), "")) {
        Ok(plugin) => panic!("{name} was loaded; log:\n{}", plugin.log()),
        Err(stderr) => stderr,
    };
    let expected_prefix = format!("module \"{name}\" (");
    assert!(stderr.contains(&expected_prefix), "{name}: {stderr}");
    assert!(
        stderr.contains(&format!("{name}.wat")),
        "{name}: the file is not named: {stderr}"
    );
    assert!(
        stderr.contains(reason),
        "{name}: {reason:?} not in {stderr}"
    );
}

#[test]
fn forbidden_import_is_refused_at_start() {
    assert_refused_at_start(
        "forbidden-import",
        "imports \"env\".\"system\"; modules may only import from wasi_snapshot_preview1 and portcullis",
    );
}

#[test]
fn module_without_abi_marker_is_refused_at_start() {
    assert_refused_at_start(
        "no-abi-marker",
        "no export portcullis_abi_v1: not a Portcullis ABI v1 module",
    );
}

#[test]
fn wrong_export_signature_is_refused_at_start() {
    assert_refused_at_start("wrong-signature", "export portcullis_authorize has type");
}

#[tokio::test]
async fn a_failing_module_stops_the_chain_before_later_modules() {
    let chain =
        module("unreachable", &wat("unreachable"), "") + &module("allow", &wat("allow"), "");
    let plugin = Plugin::start(&chain);
    let answer = plugin
        .connect()
        .await
        .authz_req("ps__02_GET_containers-json.json")
        .await;
    assert!(
        answer
            .msg()
            .starts_with("portcullis: module \"unreachable\" failed"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn guest_stdout_reaches_the_log() {
    let plugin = Plugin::start(&module("prints", &wat("prints"), ""));
    assert!(
        plugin
            .connect()
            .await
            .authz_req("ps__02_GET_containers-json.json")
            .await
            .allowed()
    );
    plugin.wait_for_log("hello from the guest", 1);
    assert!(plugin.log().contains("prints"), "{}", plugin.log());
}

#[tokio::test]
async fn a_module_cannot_sleep_past_its_deadline() {
    let plugin = Plugin::start(&module("sleeps", &wat("sleeps"), "timeout_ms = 50"));
    let started = std::time::Instant::now();
    let answer = plugin
        .connect()
        .await
        .authz_req("ps__02_GET_containers-json.json")
        .await;
    assert!(!answer.allowed(), "a sleeping module allowed");
    assert!(
        answer
            .msg()
            .starts_with("portcullis: module \"sleeps\" failed: trap: "),
        "{answer:?}"
    );
    assert!(answer.msg().contains("poll_oneoff"), "{answer:?}");
    // The guest asked for 60 s; the answer must not have waited for it.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the sleep was honoured"
    );
}

#[tokio::test]
async fn state_arguments_outside_memory_trap() {
    assert_fails_closed(
        "state-out-of-bounds",
        "",
        "trap: portcullis.state_put: 1000 bytes at 0xfde8 lie outside memory",
    )
    .await;
}
