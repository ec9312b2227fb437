//! Views (docs/abi.md): a module that declares nothing gets the full
//! envelope of ABI v1 as first published; one that exports
//! `portcullis_views_v1` gets the small one and fetches the rest through
//! `portcullis.view`; and the host calls fail closed on misuse.

use portcullis_envelope::envelope::ConfigPrefix;
use portcullis_envelope::{AuthzRequest, Envelope, Phase};

use crate::util::{Plugin, fixture_body, module, wat};

const CREATE: &str = "run_rm__02_POST_containers-create.json";
const LIST: &str = "ps__02_GET_containers-json.json";

/// The number a measuring guest put in its deny message.
async fn measured(guest: &str, fixture: &str) -> u64 {
    let plugin = Plugin::start(&module(guest, &wat(guest), ""));
    let answer = plugin.connect().await.authz_req(fixture).await;
    assert!(!answer.allowed(), "{answer:?}");
    let msg = answer.msg();
    let number = msg
        .strip_prefix(&format!("{guest}: "))
        .unwrap_or_else(|| panic!("{msg:?}"));
    number.parse().unwrap_or_else(|_| panic!("{msg:?}"))
}

/// The envelope the host builds for a fixture's request phase.
fn envelope(fixture: &str) -> Envelope {
    let wire: AuthzRequest = serde_json::from_slice(&fixture_body(fixture, "req")).unwrap();
    Envelope::from_authz(wire, Phase::Request).unwrap()
}

/// What a module with no config receives, spliced as the host splices it.
fn spliced_len(json: &[u8]) -> u64 {
    let prefix = ConfigPrefix::new(&serde_json::json!({}));
    (prefix.as_bytes().len() + json.len() - 1) as u64
}

#[tokio::test]
async fn a_module_that_declares_nothing_gets_the_full_envelope() {
    let full = measured("input-length", CREATE).await;
    assert_eq!(full, spliced_len(envelope(CREATE).full_json().as_bytes()));
}

#[tokio::test]
async fn a_views_module_gets_the_small_envelope() {
    let small = measured("input-length-views", CREATE).await;
    let env = envelope(CREATE);
    assert_eq!(small, spliced_len(env.core_json().as_bytes()));
    assert!(
        small * 3 < spliced_len(env.full_json().as_bytes()),
        "the small envelope ({small} bytes) is not small"
    );
}

#[tokio::test]
async fn the_body_view_is_the_body_and_absent_without_one() {
    let body = envelope(CREATE).body.expect("a create has a body");
    assert_eq!(
        measured("view-body", CREATE).await,
        body.get().len() as u64,
        "status 0 and the body's length"
    );
    assert_eq!(
        measured("view-body", LIST).await,
        1_000_000,
        "status 1 (absent), nothing to copy"
    );
}

#[tokio::test]
async fn copying_a_view_outside_memory_traps() {
    let plugin = Plugin::start(&module(
        "view-copy-out-of-bounds",
        &wat("view-copy-out-of-bounds"),
        "",
    ));
    let answer = plugin.connect().await.authz_req(CREATE).await;
    assert!(!answer.allowed());
    assert!(
        answer
            .msg()
            .starts_with("portcullis: module \"view-copy-out-of-bounds\" failed: trap:")
            && answer.msg().contains("lie outside memory"),
        "{}",
        answer.msg()
    );
}

#[tokio::test]
async fn copying_before_readying_a_view_traps() {
    let plugin = Plugin::start(&module(
        "view-copy-unreadied",
        &wat("view-copy-unreadied"),
        "",
    ));
    let answer = plugin.connect().await.authz_req(CREATE).await;
    assert!(!answer.allowed());
    assert!(
        answer.msg().contains("without a view readied"),
        "{}",
        answer.msg()
    );
}
