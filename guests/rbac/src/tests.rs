//! Native tests: captured dockerd calls and built requests against the
//! seed's policies and the semantics documented in the crate docs.

use portcullis_sdk::testing::{
    RequestBuilder, authz_request_from_capture, certificate, envelope_bytes, fixture,
    fixture_response, fixtures_dir,
};
use portcullis_sdk::{Decision, Phase, Request, assert_allowed, assert_denied};
use serde_json::{Value, json};

use super::*;
use crate::actions::{ActionPattern, glob_matches, known_actions};
use portcullis_sdk::actions::is_action;

/// The three policies of the seed talk, verbatim, as Twistlock's policy file.
const SEED_JSONL: &str = r#"{"name":"policy_1","users":["ContainerOps"],"actions":["container_run", "container_rm"]}
{"name":"policy_2","users":["AuditGroup"],"actions":["container"], "readonly":true}
{"name":"policy_3","users":["alice"],"actions":["*"]}
"#;

fn config(json: Value) -> Config {
    serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("config {json}: {e}"))
}

/// The seed's policies, with bob in ContainerOps and dave in AuditGroup.
fn seed_config() -> Config {
    config(json!({
        "policies_jsonl": SEED_JSONL,
        "groups": { "ContainerOps": ["bob"], "AuditGroup": ["dave"] },
    }))
}

/// A captured call (request phase) as if `user` had made it over TLS.
fn fixture_as(name: &str, user: &str) -> Request {
    let text = std::fs::read(fixtures_dir().join(name)).expect("fixture");
    let mut wire = authz_request_from_capture(&text, Phase::Request).expect("capture");
    wire.user = Some(user.to_owned());
    wire.user_authn_method = Some("TLS".to_owned());
    Request::from_envelope(&envelope_bytes(wire, Phase::Request, &json!({}))).expect("envelope")
}

fn carol(method: &str, uri: &str) -> Request {
    RequestBuilder::new(method, uri)
        .certificate_pem(&certificate("carol"))
        .build()
}

/// What `docker run --rm` and `docker rm -f` send, as captured.
const RUN_AND_RM: &[&str] = &[
    "run_rm__02_POST_containers-create.json",
    "run_rm__03_POST_containers-ID-attach.json",
    "run_rm__04_POST_containers-ID-wait.json",
    "run_rm__05_POST_containers-ID-start.json",
    "run_it__02_POST_containers-create.json",
    "create_bg__03_POST_containers-ID-wait.json",
    "create_bg__04_POST_containers-ID-start.json",
    "rm_force__02_DELETE_containers-att.json",
    "rm_force__03_DELETE_containers-bg.json",
];

/// Read-only container calls, as captured.
const CONTAINER_READS: &[&str] = &[
    "ps__02_GET_containers-json.json",
    "inspect__02_GET_containers-bg-json.json",
    "logs__03_GET_containers-ID-logs.json",
    "stats__02_GET_containers-bg-stats.json",
    "cp_from__02_GET_containers-bg-archive.json",
    "cp_to__02_HEAD_containers-bg-archive.json",
    "exec__05_GET_exec-ID-json.json",
];

/// Calls outside both ContainerOps' and AuditGroup's grants.
const OTHER_CALLS: &[&str] = &[
    "import__04_GET_images-json.json",
    "pull_fail__02_POST_images-create.json",
    "volume_create__02_POST_volumes-create.json",
    "network_ls__02_GET_networks.json",
    "info__02_GET_info.json",
    "version__02_GET_version.json",
    "ps__01_HEAD_ping.json",
];

// --- the seed's three policies, verbatim -----------------------------------

#[test]
fn seed_policy_1_container_ops_may_run_and_remove_containers_only() {
    let config = seed_config();
    for name in RUN_AND_RM {
        assert_allowed!(authorize(&fixture_as(name, "bob"), &config));
    }
    for name in CONTAINER_READS.iter().chain(OTHER_CALLS) {
        assert_denied!(
            authorize(&fixture_as(name, "bob"), &config),
            "no matching rbac policy"
        );
    }
    // `docker exec` and `docker stop` are not `docker run`.
    for name in [
        "exec__03_POST_containers-bg-exec.json",
        "exec__04_POST_exec-ID-start.json",
    ] {
        assert_denied!(authorize(&fixture_as(name, "bob"), &config), "bob");
    }
    let stop = RequestBuilder::new("POST", "/v1.41/containers/bg/stop")
        .user("bob")
        .build();
    assert_denied!(authorize(&stop, &config), "container_stop");
}

#[test]
fn seed_policy_2_the_audit_group_may_only_read_containers() {
    let config = seed_config();
    for name in CONTAINER_READS {
        assert_allowed!(authorize(&fixture_as(name, "dave"), &config));
    }
    for name in RUN_AND_RM {
        assert_denied!(
            authorize(&fixture_as(name, "dave"), &config),
            "policy \"policy_2\" grants it read-only"
        );
    }
    for name in OTHER_CALLS {
        assert_denied!(
            authorize(&fixture_as(name, "dave"), &config),
            "no matching rbac policy"
        );
    }
}

#[test]
fn seed_policy_3_alice_may_do_everything_docker_defines() {
    let config = seed_config();
    for name in RUN_AND_RM.iter().chain(CONTAINER_READS).chain(OTHER_CALLS) {
        assert_allowed!(authorize(&fixture_as(name, "alice"), &config));
    }
    // The captured TLS call really came from alice's certificate.
    assert_allowed!(authorize(
        &fixture("tls_version_plugin1__02_GET_version.json"),
        &config
    ));
    let plugin = RequestBuilder::new("POST", "/v1.41/plugins/rqv2/disable")
        .user("alice")
        .build();
    assert_allowed!(authorize(&plugin, &config));
}

#[test]
fn seed_policies_mean_the_same_as_a_list_as_as_jsonl() {
    let lines: Vec<Value> = SEED_JSONL
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let as_list = config(json!({
        "policies": lines,
        "groups": { "ContainerOps": ["bob"], "AuditGroup": ["dave"] },
    }));
    let as_jsonl = seed_config();
    for user in ["alice", "bob", "dave", "eve"] {
        for name in RUN_AND_RM.iter().chain(CONTAINER_READS).chain(OTHER_CALLS) {
            let req = fixture_as(name, user);
            assert_eq!(
                authorize(&req, &as_list),
                authorize(&req, &as_jsonl),
                "{user} {name}"
            );
        }
    }
}

#[test]
fn both_policy_sources_combine() {
    let config = config(json!({
        "policies": [{ "name": "pull", "users": ["bob"], "actions": ["image_create"] }],
        "policies_jsonl": "{\"name\":\"ps\",\"users\":[\"bob\"],\"actions\":[\"container_list\"]}\n",
    }));
    assert_allowed!(authorize(
        &fixture_as("pull_fail__02_POST_images-create.json", "bob"),
        &config
    ));
    assert_allowed!(authorize(
        &fixture_as("ps__02_GET_containers-json.json", "bob"),
        &config
    ));
}

// --- deny messages ---------------------------------------------------------

#[test]
fn deny_messages_name_the_user_and_the_action() {
    let config = seed_config();
    let cases: &[(&str, &str, &str)] = &[
        (
            "eve",
            "create_bg__02_POST_containers-create.json",
            r#"user "eve" is not allowed to perform container_create (no matching rbac policy)"#,
        ),
        (
            "bob",
            "ps__02_GET_containers-json.json",
            r#"user "bob" is not allowed to perform container_list (no matching rbac policy)"#,
        ),
        (
            "dave",
            "rm_force__03_DELETE_containers-bg.json",
            r#"user "dave" is not allowed to perform container_delete (policy "policy_2" grants it read-only, and this DELETE call is not)"#,
        ),
    ];
    for &(user, name, message) in cases {
        assert_eq!(
            authorize(&fixture_as(name, user), &config),
            Decision::deny(message),
            "{user} {name}"
        );
    }
}

// --- union across policies -------------------------------------------------

#[test]
fn a_user_in_several_policies_gets_their_union_in_any_order() {
    let read_only =
        json!({ "name": "audit", "users": ["bob"], "actions": ["container"], "readonly": true });
    let create = json!({ "name": "create", "users": ["bob"], "actions": ["container_create"] });
    let images = json!({ "name": "images", "users": ["bob"], "actions": ["image_list"] });
    for policies in [
        json!([read_only, create, images]),
        json!([images, create, read_only]),
    ] {
        let config = config(json!({ "policies": policies }));
        for name in [
            "create_bg__02_POST_containers-create.json",
            "ps__02_GET_containers-json.json",
            "import__04_GET_images-json.json",
        ] {
            assert_allowed!(authorize(&fixture_as(name, "bob"), &config));
        }
        // Twistlock's first-policy-decides would deny one of these; neither
        // policy grants a delete, whatever the order.
        assert_denied!(
            authorize(
                &fixture_as("rm_force__03_DELETE_containers-bg.json", "bob"),
                &config
            ),
            "read-only"
        );
    }
}

#[test]
fn a_user_policy_and_a_group_policy_combine() {
    let config = config(json!({
        "policies": [
            { "name": "ops", "users": ["ops"], "actions": ["container_list"] },
            { "name": "carol", "users": ["carol"], "actions": ["image_list"] },
        ],
    }));
    assert_allowed!(authorize(&carol("GET", "/v1.41/containers/json"), &config));
    assert_allowed!(authorize(&carol("GET", "/v1.41/images/json"), &config));
    assert_denied!(
        authorize(&carol("GET", "/v1.41/volumes"), &config),
        r#"user "carol" is not allowed to perform volume_list"#
    );
}

// --- readonly ----------------------------------------------------------------

#[test]
fn readonly_grants_get_and_head_only() {
    let config = config(json!({
        "policies": [{ "name": "ro", "users": ["dave"], "actions": ["*"], "readonly": true }],
    }));
    let cases: &[(&str, &str, bool)] = &[
        ("GET", "/v1.41/containers/json", true),
        ("HEAD", "/_ping", true),
        ("HEAD", "/v1.41/containers/bg/archive", true),
        ("GET", "/v1.41/images/busybox/get", true),
        ("POST", "/v1.41/containers/create", false),
        ("PUT", "/v1.41/containers/bg/archive", false),
        ("DELETE", "/v1.41/images/busybox", false),
        ("POST", "/v1.41/auth", false),
        // A GET that writes to the container's stdin.
        ("GET", "/v1.41/containers/bg/attach/ws?stdin=1", false),
    ];
    for &(method, uri, allowed) in cases {
        let req = RequestBuilder::new(method, uri).user("dave").build();
        assert_eq!(
            authorize(&req, &config).is_allowed(),
            allowed,
            "{method} {uri}"
        );
    }
}

#[test]
fn a_read_write_grant_still_applies_next_to_a_readonly_one() {
    let config = config(json!({
        "policies": [
            { "name": "ro", "users": ["dave"], "actions": ["container"], "readonly": true },
            { "name": "ws", "users": ["dave"], "actions": ["container_attach_websocket"] },
        ],
    }));
    let ws = RequestBuilder::get("/v1.41/containers/bg/attach/ws")
        .user("dave")
        .build();
    assert_allowed!(authorize(&ws, &config));
}

// --- action patterns ---------------------------------------------------------

#[test]
fn globs_are_anchored_on_the_whole_action_name() {
    let cases: &[(&str, &str, bool)] = &[
        ("container_*", "container_create", true),
        ("container_*", "container_exec_start", true),
        ("container_*", "xcontainer_create", false),
        ("container_*", "container", false),
        ("*_list", "image_list", true),
        ("*_list", "image_list_all", false),
        ("image_*", "images_archive", false),
        ("*", "anything", true),
        ("*create*", "container_exec_create", true),
        ("c*_*_start", "container_exec_start", true),
        ("c*_*_start", "container_start", false),
        ("container_create", "container_create", true),
        ("container_create", "container_create_x", false),
    ];
    for &(glob, action, expected) in cases {
        assert_eq!(glob_matches(glob, action), expected, "{glob} vs {action}");
    }
}

#[test]
fn each_kind_of_action_entry_covers_what_the_docs_say() {
    let cases: &[(&str, &str, bool)] = &[
        // Exact names are exact (Twistlock's regex also matched the longer names).
        ("container_attach", "container_attach", true),
        ("container_attach", "container_attach_websocket", false),
        ("container_archive", "container_archive_info", false),
        // Pseudo-actions.
        ("container_run", "container_create", true),
        ("container_run", "container_start", true),
        ("container_run", "container_attach", true),
        ("container_run", "container_wait", true),
        ("container_run", "container_resize", true),
        ("container_run", "image_create", false),
        ("container_run", "container_exec_create", false),
        ("container_rm", "container_delete", true),
        ("container_rm", "container_prune", false),
        ("container_exec", "container_exec_start", true),
        ("container_exec", "container_inspect", true),
        ("container_exec", "container_create", false),
        // Resource words.
        ("container", "container_create", true),
        ("container", "container_exec_create", true),
        ("container", "image_list", false),
        ("image", "image_list", true),
        ("image", "images_archive", true),
        ("image", "images_search", true),
        ("image", "container_commit", false),
        ("images", "images_load", true),
        ("images", "image_list", false),
        ("network", "network_inspect", true),
        ("network", "networks_x", false),
        ("debug_pprof", "debug_pprof_trace", true),
        ("debug_pprof", "debug_vars", false),
        // Globs never cover unknown routes; only the literal does.
        ("*", "unknown", false),
        ("*", "docker_options", true),
        ("unknown", "unknown", true),
        ("unknown", "container_create", false),
    ];
    for &(entry, action, expected) in cases {
        let pattern = ActionPattern::parse(entry).unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert_eq!(pattern.matches(action), expected, "{entry} vs {action}");
    }
}

#[test]
fn star_grants_every_known_action_but_not_unknown_routes() {
    let star = ActionPattern::parse("*").unwrap();
    assert!(known_actions().all(|a| star.matches(a)));

    let config = seed_config();
    let nope = RequestBuilder::new("POST", "/v1.41/nope")
        .user("alice")
        .build();
    assert_eq!(nope.action(), "unknown");
    assert_eq!(
        authorize(&nope, &config),
        Decision::deny(
            "user \"alice\" is not allowed to perform unknown (POST /nope) (no matching rbac \
             policy; routes Docker does not define are granted only by an explicit \"unknown\" action)"
        )
    );

    let explicit = self::config(json!({
        "policies": [{ "name": "any", "users": ["alice"], "actions": ["*", "unknown"] }],
    }));
    assert_allowed!(authorize(&nope, &explicit));
}

// --- who the caller is ---------------------------------------------------------

#[test]
fn unauthenticated_calls_are_denied_by_default_even_by_star() {
    let config = config(json!({
        "policies": [{ "name": "everyone", "users": ["*"], "actions": ["*"] }],
    }));
    assert_eq!(
        authorize(
            &fixture("create_bg__02_POST_containers-create.json"),
            &config
        ),
        Decision::deny(
            "unauthenticated call is not allowed to perform container_create \
             (no TLS client certificate, and anonymous_user is not set)"
        )
    );
    assert_allowed!(authorize(
        &fixture_as("create_bg__02_POST_containers-create.json", "anyone"),
        &config
    ));
}

#[test]
fn anonymous_user_names_unauthenticated_calls_for_policies() {
    let config = config(json!({
        "anonymous_user": "local",
        "policies": [
            { "name": "socket", "users": ["local"], "actions": ["container"], "readonly": true },
            { "name": "everyone", "users": ["*"], "actions": ["docker_ping"] },
        ],
    }));
    assert_allowed!(authorize(
        &fixture("ps__02_GET_containers-json.json"),
        &config
    ));
    assert_denied!(
        authorize(
            &fixture("create_bg__02_POST_containers-create.json"),
            &config
        ),
        "unauthenticated call (as \"local\") is not allowed to perform container_create"
    );
    // "*" is every authenticated user, not the socket.
    assert_denied!(
        authorize(&fixture("ps__01_HEAD_ping.json"), &config),
        "docker_ping"
    );
    // A certificate named like the socket's pseudo-user gets nothing.
    assert_denied!(
        authorize(
            &fixture_as("ps__02_GET_containers-json.json", "local"),
            &config
        ),
        "reserved for unauthenticated calls"
    );
}

#[test]
fn groups_come_from_config_and_from_certificate_ous() {
    let cases: &[(&str, Value, bool)] = &[
        // carol's certificate: OU=ops, OU=audit.
        ("OU as a plain name", json!({}), true),
        (
            "OU lookups switched off",
            json!({ "groups_from_certificate_ou": false }),
            false,
        ),
        (
            "config group, OUs off",
            json!({ "groups_from_certificate_ou": false, "groups": { "ops": ["carol"] } }),
            true,
        ),
        (
            "config group not listing her",
            json!({ "groups_from_certificate_ou": false, "groups": { "ops": ["dave"] } }),
            false,
        ),
    ];
    for (what, extra, allowed) in cases {
        let mut json = json!({
            "policies": [{ "name": "ops", "users": ["ops"], "actions": ["container_list"] }],
        });
        for (k, v) in extra.as_object().unwrap() {
            json[k] = v.clone();
        }
        let decision = authorize(&carol("GET", "/v1.41/containers/json"), &config(json));
        assert_eq!(decision.is_allowed(), *allowed, "{what}: {decision:?}");
    }
}

#[test]
fn user_and_group_prefixes_remove_the_ambiguity_of_plain_names() {
    let entries: &[(&str, bool)] = &[
        ("carol", true),
        ("user:carol", true),
        ("group:carol", false),
        ("audit", true),
        ("group:audit", true),
        ("user:audit", false),
        ("group:admins", true), // config group below
        ("acme", false),        // O is not a group
        ("Carol", false),       // names are case-sensitive
    ];
    for &(entry, allowed) in entries {
        let config = config(json!({
            "groups": { "admins": ["carol"] },
            "policies": [{ "name": "p", "users": [entry], "actions": ["docker_info"] }],
        }));
        assert_eq!(
            authorize(&carol("GET", "/v1.41/info"), &config).is_allowed(),
            allowed,
            "{entry}"
        );
    }
}

#[test]
fn headers_are_never_identity() {
    let config = seed_config();
    let req = RequestBuilder::new("POST", "/v1.41/containers/create")
        .header("Authz-User", "alice")
        .json_body("{}")
        .build();
    assert_denied!(authorize(&req, &config), "unauthenticated call");
}

// --- phases and the ABI ------------------------------------------------------

#[test]
fn the_response_phase_is_not_rejudged() {
    assert_allowed!(authorize(
        &fixture_response("create_bg__02_POST_containers-create.json"),
        &seed_config()
    ));
}

#[test]
fn the_entry_point_reads_its_config_from_the_envelope() {
    let config = json!({
        "policies_jsonl": SEED_JSONL,
        "groups": { "ContainerOps": ["bob"] },
    });
    let answer = |builder: RequestBuilder| -> Value {
        serde_json::from_slice(&portcullis_entry::authorize(
            &builder.config(config.clone()).envelope(),
        ))
        .unwrap()
    };
    let create = || RequestBuilder::post_json("/v1.41/containers/create", "{}");
    assert_eq!(answer(create().user("bob")), json!({ "allow": true }));
    assert_eq!(
        answer(create().user("eve")),
        json!({
            "allow": false,
            "msg": "user \"eve\" is not allowed to perform container_create (no matching rbac policy)",
        })
    );
}

// --- config checks at load -----------------------------------------------------

#[test]
fn valid_configs_are_accepted_at_load() {
    for config in [
        json!({ "policies_jsonl": SEED_JSONL }),
        json!({ "policies_jsonl": format!("\n  \r\n{SEED_JSONL}\n\n") }),
        json!({
            "policies": [{ "name": "p", "users": ["*", "user:a", "group:g"], "actions": ["*_list", "unknown", "image"], "readonly": false }],
            "groups": { "g": ["a", "b"], "empty": [] },
            "groups_from_certificate_ou": false,
            "anonymous_user": "local",
        }),
    ] {
        assert_eq!(
            portcullis_entry::validate_config(config.to_string().as_bytes()),
            br#"{"allow":true}"#,
            "{config}"
        );
    }
}

#[test]
fn invalid_configs_are_refused_at_load_with_the_reason() {
    let policy = |actions: Value| json!({ "policies": [{ "name": "p", "users": ["a"], "actions": actions }] });
    let user =
        |users: Value| json!({ "policies": [{ "name": "p", "users": users, "actions": ["*"] }] });
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "no policies"),
        (json!({ "policies": [] }), "no policies"),
        (
            json!({ "policies_jsonl": SEED_JSONL, "polices": [] }),
            "unknown field `polices`",
        ),
        (
            json!({ "policy_file": "/var/lib/authz-broker/policy.json" }),
            "no filesystem",
        ),
        (
            json!({ "policies_jsonl": "{\"name\":\"a\",\"users\":[\"a\"],\"actions\":[\"*\"]}\n{\"name\":\"b\",\"users\":[\"b\"],\n" }),
            "policies_jsonl line 2",
        ),
        (
            json!({ "policies_jsonl": "[{\"name\":\"a\",\"users\":[\"a\"],\"actions\":[\"*\"]}]" }),
            "policies_jsonl line 1: expected one JSON policy object per line",
        ),
        (
            json!({ "policies_jsonl": "{\"name\":\"a\",\"Users\":[\"a\"],\"actions\":[\"*\"]}" }),
            "unknown field `Users`",
        ),
        (
            json!({ "policies": [{ "name": "p", "users": ["a"] }] }),
            "missing field `actions`",
        ),
        (
            json!({ "policies": [{ "name": "p", "users": ["a"], "actions": ["*"], "readonly": "yes" }] }),
            "invalid type",
        ),
        (
            json!({ "policies": [{ "name": "", "users": ["a"], "actions": ["*"] }] }),
            "empty policy name",
        ),
        (
            json!({ "policies": [
                { "name": "p", "users": ["a"], "actions": ["*"] },
                { "name": "p", "users": ["b"], "actions": ["*"] },
            ] }),
            "duplicate policy name \"p\"",
        ),
        (user(json!([])), "apply to nobody"),
        (user(json!([""])), "empty user name"),
        (user(json!([" alice"])), "leading or trailing blanks"),
        (user(json!(["user:"])), "empty user name"),
        (user(json!(["group:*"])), "reserved"),
        (policy(json!([])), "grant nothing"),
        (policy(json!([""])), r#"write "*""#),
        (policy(json!(["container_["])), "invalid action pattern"),
        (
            policy(json!(["^container.*"])),
            "regular expressions are not supported",
        ),
        (policy(json!(["Container_Create"])), "lower case"),
        (
            policy(json!(["contianer_create"])),
            r#"unknown action "contianer_create""#,
        ),
        (policy(json!(["exec"])), r#"write "*exec*""#),
        (policy(json!(["contianer_*"])), "matches no Docker action"),
        (policy(json!(["unk*"])), "matches no Docker action"),
        (
            json!({
                "groups_from_certificate_ou": false,
                "policies": [{ "name": "p", "users": ["group:ops"], "actions": ["*"] }],
            }),
            "names no group",
        ),
        (
            json!({ "policies_jsonl": SEED_JSONL, "groups": { "": ["a"] } }),
            "empty group name",
        ),
        (
            json!({ "policies_jsonl": SEED_JSONL, "groups": { "ops": [""] } }),
            "empty member of group",
        ),
        (
            json!({ "policies_jsonl": SEED_JSONL, "anonymous_user": "*" }),
            "reserved",
        ),
        (
            json!({ "policies_jsonl": SEED_JSONL, "groups_from_certificate_ou": "no" }),
            "invalid type",
        ),
    ];
    for (config, needle) in cases {
        let answer: Value = serde_json::from_slice(&portcullis_entry::validate_config(
            config.to_string().as_bytes(),
        ))
        .unwrap();
        assert!(
            answer["allow"] == false && answer["msg"].as_str().unwrap().contains(needle),
            "{config}: expected a refusal mentioning {needle:?}, got {answer}"
        );
    }
}

#[test]
fn errors_name_the_policy_and_where_it_came_from() {
    let answer = portcullis_entry::validate_config(
        json!({ "policies_jsonl": format!("{SEED_JSONL}{{\"name\":\"policy_4\",\"users\":[\"x\"],\"actions\":[\"container_.*\"]}}") })
            .to_string()
            .as_bytes(),
    );
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    let msg = answer["msg"].as_str().unwrap();
    assert!(
        msg.contains(
            r#"policies_jsonl line 4 ("policy_4"): invalid action pattern "container_.*""#
        ),
        "{msg}"
    );
}

// --- the route table ---------------------------------------------------------

#[test]
fn pseudo_actions_expand_to_known_actions_and_shadow_none() {
    for (alias, actions) in ALIASES {
        assert!(!is_action(alias), "{alias} is a real action");
        for action in *actions {
            assert!(is_action(action), "{alias}: {action}");
        }
    }
}

#[test]
fn every_captured_request_has_a_known_action() {
    for name in RUN_AND_RM.iter().chain(CONTAINER_READS).chain(OTHER_CALLS) {
        let action = fixture(name).action().to_owned();
        assert!(is_action(&action), "{name}: {action}");
    }
}
