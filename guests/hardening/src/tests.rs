//! Native tests on captured fixtures and built requests.

use portcullis_sdk::testing::{RequestBuilder, fixture, fixture_response};
use portcullis_sdk::{assert_allowed, assert_denied};

use super::*;

fn strict() -> Config {
    serde_json::from_str("{}").unwrap()
}

fn create(host_config: &str) -> Request {
    RequestBuilder::post_json(
        "/v1.41/containers/create",
        &format!(r#"{{"Image":"busybox","HostConfig":{host_config}}}"#),
    )
    .build()
}

fn decide(req: &Request, config: &Config) -> Decision {
    portcullis_sdk::IntoDecision::into_decision(authorize(req, config))
}

#[test]
fn the_captured_privileged_root_bind_run_is_denied_for_both_reasons() {
    let decision = decide(
        &fixture("run_priv__02_POST_containers-create.json"),
        &strict(),
    );
    assert_denied!(decision.clone(), "privileged containers are not allowed");
    assert_denied!(
        decision,
        "bind mount of / is outside the allowed host paths"
    );
}

#[test]
fn captured_everyday_calls_pass_the_strict_default() {
    for name in [
        "create_bg__01_HEAD_ping.json",
        "create_bg__02_POST_containers-create.json",
        "create_bg__04_POST_containers-ID-start.json",
        "run_it__02_POST_containers-create.json",
        "exec__03_POST_containers-bg-exec.json",
        "volume_create__02_POST_volumes-create.json",
        "import__02_POST_images-create.json",
        "create_100kb_label__01_POST_containers-create.json",
    ] {
        assert!(
            decide(&fixture(name), &strict()).is_allowed(),
            "{name}: {:?}",
            decide(&fixture(name), &strict())
        );
    }
    assert_allowed!(authorize(
        &fixture_response("run_priv__02_POST_containers-create.json"),
        &strict()
    ));
}

#[test]
fn added_capabilities_need_the_allowlist_in_every_spelling() {
    assert_denied!(
        authorize(&create(r#"{"CapAdd":["SYS_ADMIN"]}"#), &strict()),
        "capability SYS_ADMIN"
    );
    assert_denied!(
        authorize(&create(r#"{"CapAdd":"ALL"}"#), &strict()),
        "capability ALL"
    );
    let config = Config {
        allowed_capabilities: vec!["NET_BIND_SERVICE".into()],
        ..strict()
    };
    assert_allowed!(authorize(
        &create(r#"{"capadd":["CAP_NET_BIND_SERVICE"]}"#),
        &config
    ));
    assert_denied!(
        authorize(
            &create(r#"{"CapAdd":["NET_BIND_SERVICE","NET_ADMIN"]}"#),
            &config
        ),
        "NET_ADMIN"
    );
}

#[test]
fn devices_and_device_cgroup_rules_are_denied() {
    let device = r#"{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}"#;
    assert_denied!(
        authorize(&create(device), &strict()),
        "devices are not allowed"
    );
    assert_denied!(
        authorize(&create(r#"{"DeviceCgroupRules":["b 8:* rwm"]}"#), &strict()),
        "devices"
    );
    assert_allowed!(authorize(
        &create(device),
        &Config {
            allow_devices: true,
            ..strict()
        }
    ));
}

#[test]
fn every_host_namespace_is_denied() {
    for (field, namespace) in [
        ("NetworkMode", "network"),
        ("PidMode", "PID"),
        ("IpcMode", "IPC"),
        ("UTSMode", "UTS"),
        ("UsernsMode", "user"),
        ("CgroupnsMode", "cgroup"),
    ] {
        let req = create(&format!(r#"{{"{field}":"host"}}"#));
        assert_denied!(
            authorize(&req, &strict()),
            &format!("the host {namespace} namespace")
        );
    }
    assert_allowed!(authorize(
        &create(r#"{"NetworkMode":"bridge","PidMode":"container:db"}"#),
        &strict()
    ));
}

#[test]
fn unconfined_security_options_are_denied_in_both_spellings() {
    for option in [
        "seccomp=unconfined",
        "seccomp:unconfined",
        "apparmor=unconfined",
        "label=disable",
        "label:disable",
        "systempaths=unconfined",
    ] {
        let req = create(&format!(r#"{{"SecurityOpt":["{option}"]}}"#));
        assert_denied!(authorize(&req, &strict()), option);
    }
    assert_allowed!(authorize(
        &create(
            r#"{"SecurityOpt":["no-new-privileges","seccomp=default.json","label=type:svirt_t"]}"#
        ),
        &strict()
    ));
}

#[test]
fn binds_are_judged_by_their_resolved_path() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("data");
    std::fs::create_dir(&allowed).unwrap();
    std::os::unix::fs::symlink("/", allowed.join("escape")).unwrap();
    let config = Config {
        bind_prefixes: vec![allowed.display().to_string()],
        ..strict()
    };

    let inside = create(&format!(
        r#"{{"Binds":["{}/app:/app"]}}"#,
        allowed.display()
    ));
    assert_allowed!(authorize(&inside, &config));
    let escape = create(&format!(
        r#"{{"Binds":["{}/escape:/h"]}}"#,
        allowed.display()
    ));
    assert_denied!(authorize(&escape, &config), "resolved /");
    let dotdot = create(&format!(
        r#"{{"Mounts":[{{"Type":"bind","Source":"{}/../..","Target":"/h"}}]}}"#,
        allowed.display()
    ));
    assert_denied!(
        authorize(&dotdot, &config),
        "outside the allowed host paths"
    );
}

#[test]
fn volumes_are_allowed_unless_denied_and_volumes_from_is_denied() {
    let named = create(
        r#"{"Binds":["cache:/cache"],"Mounts":[{"Type":"volume","Source":"v","Target":"/v"}]}"#,
    );
    assert_allowed!(authorize(&named, &strict()));
    assert_denied!(
        authorize(
            &named,
            &Config {
                deny_volumes: true,
                ..strict()
            }
        ),
        "volume cache at /cache"
    );
    assert_denied!(
        authorize(&create(r#"{"VolumesFrom":["db"]}"#), &strict()),
        "--volumes-from db"
    );
}

#[test]
fn a_local_bind_volume_is_a_bind_mount() {
    let req = RequestBuilder::post_json(
        "/v1.41/volumes/create",
        r#"{"Name":"root","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
    )
    .build();
    assert_denied!(authorize(&req, &strict()), "bind mount of / is outside");
}

#[test]
fn registries_are_checked_on_create_pull_and_services() {
    let config = Config {
        allowed_registries: Some(vec!["docker.io".into()]),
        ..strict()
    };
    let evil = RequestBuilder::post_json(
        "/v1.41/containers/create",
        r#"{"Image":"evil.example.com/x:1"}"#,
    )
    .build();
    assert_denied!(authorize(&evil, &config), "images from evil.example.com");
    let hub =
        RequestBuilder::post_json("/v1.41/containers/create", r#"{"Image":"busybox"}"#).build();
    assert_allowed!(authorize(&hub, &config));
    let by_id = RequestBuilder::post_json(
        "/v1.41/containers/create",
        r#"{"Image":"sha256:0ef32779a6c9"}"#,
    )
    .build();
    assert_allowed!(authorize(&by_id, &config));
    assert_denied!(
        authorize(&fixture("pull_fail__02_POST_images-create.json"), &config),
        "images from 127.0.0.1:1"
    );
    let service = RequestBuilder::post_json(
        "/v1.41/services/create",
        r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"quay.io/a/b","CapabilityAdd":["SYS_ADMIN"]}}}"#,
    )
    .build();
    let decision = decide(&service, &config);
    assert_denied!(decision.clone(), "images from quay.io");
    assert_denied!(decision, "capability SYS_ADMIN");
}

#[test]
fn low_host_ports_are_denied() {
    let low = create(r#"{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"80"}]}}"#);
    assert_denied!(authorize(&low, &strict()), "host port 80 (below 1024)");
    let high =
        create(r#"{"PortBindings":{"80/tcp":[{"HostPort":"8080"}],"81/tcp":[{"HostPort":""}]}}"#);
    assert_allowed!(authorize(&high, &strict()));
    assert_allowed!(authorize(
        &low,
        &Config {
            min_host_port: 0,
            ..strict()
        }
    ));
}

#[test]
fn privileged_execs_and_legacy_start_bodies_are_denied() {
    let exec = RequestBuilder::post_json(
        "/v1.41/containers/bg/exec",
        r#"{"Cmd":["sh"],"Privileged":true}"#,
    )
    .build();
    assert_denied!(authorize(&exec, &strict()), "privileged exec");
    let start = RequestBuilder::post_json(
        "/v1.23/containers/bg/start",
        r#"{"Binds":["/:/h"],"CapAdd":["ALL"]}"#,
    )
    .build();
    let decision = decide(&start, &strict());
    assert_denied!(decision.clone(), "bind mount of /");
    assert_denied!(decision, "capability ALL");
}

#[test]
fn plugin_management_is_denied() {
    let install = RequestBuilder::post_json("/v1.41/plugins/pull?remote=vieux/sshfs", "[]").build();
    assert_denied!(
        authorize(&install, &strict()),
        "managing plugins (plugin_install)"
    );
    // Disabling a plugin takes privilege away: allowed.
    assert_allowed!(authorize(
        &fixture("managed_v2_plugin__06_POST_plugins-rqv2-disable.json"),
        &strict()
    ));
    let allowed = Config {
        allow_plugin_management: true,
        ..strict()
    };
    assert_allowed!(authorize(&install, &allowed));
}

#[test]
fn bypass_attempts_are_denied() {
    // Field names the daemon accepts in any case.
    assert_denied!(
        authorize(&create(r#"{"privileged":true}"#), &strict()),
        "privileged"
    );
    let lower = RequestBuilder::post_json(
        "/v1.41/containers/create",
        r#"{"image":"x","hostconfig":{"binds":["/:/h"]}}"#,
    )
    .build();
    assert_denied!(authorize(&lower, &strict()), "bind mount of /");
    // Paths the router sees as containers/create.
    for uri in [
        "/v1.41/containers%2Fcreate",
        "/v1.41/%63ontainers/create",
        "//v1.41//containers/./create/",
    ] {
        let req = RequestBuilder::post_json(uri, r#"{"HostConfig":{"Privileged":true}}"#).build();
        assert_denied!(authorize(&req, &strict()), "privileged");
    }
    // A body Docker did not forward to the plugin.
    let unseen = RequestBuilder::new("POST", "/v1.41/containers/create")
        .unforwarded_body(2 << 20)
        .build();
    assert_denied!(authorize(&unseen, &strict()), "not forwarded");
    let unseen_exec = RequestBuilder::new("POST", "/v1.41/containers/bg/exec")
        .unforwarded_body(40)
        .build();
    assert_denied!(authorize(&unseen_exec, &strict()), "not forwarded");
}

#[test]
fn config_is_validated_at_load() {
    assert_eq!(
        portcullis_entry::validate_config(b"{}"),
        br#"{"allow":true}"#
    );
    assert!(
        portcullis_entry::validate_config(br#"{"bind_prefix":["/x"]}"#)
            .starts_with(br#"{"allow":false"#)
    );
    assert!(
        portcullis_entry::validate_config(br#"{"min_host_port":70000}"#)
            .starts_with(br#"{"allow":false"#)
    );
}
