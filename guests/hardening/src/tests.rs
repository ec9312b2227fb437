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
fn the_captured_docker_import_needs_allow_image_archives() {
    let import = fixture("import__02_POST_images-create.json");
    assert_denied!(authorize(&import, &strict()), "allow_image_archives");
    let config = Config {
        allow_image_archives: true,
        ..strict()
    };
    assert_allowed!(authorize(&import, &config));
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
        &create(r#"{"NetworkMode":"bridge","IpcMode":"shareable","CgroupnsMode":"private"}"#),
        &strict()
    ));
}

#[test]
fn joining_another_containers_namespaces_needs_the_allow_list() {
    for field in ["NetworkMode", "PidMode", "IpcMode"] {
        let req = create(&format!(r#"{{"{field}":"container:db"}}"#));
        assert_denied!(authorize(&req, &strict()), "namespace of container db");
        let config = Config {
            joinable_containers: vec!["db".into()],
            ..strict()
        };
        assert_allowed!(authorize(&req, &config));
    }
    assert_denied!(
        authorize(&create(r#"{"PidMode":"private"}"#), &strict()),
        "PID namespace mode \"private\""
    );
}

#[test]
fn security_options_are_an_allow_list() {
    for option in [
        "seccomp=unconfined",
        "seccomp:unconfined",
        "apparmor=unconfined",
        "label=disable",
        "label:disable",
        "disable",
        "systempaths=unconfined",
        "label=type:spc_t",
        "writable-cgroups",
        "writable-cgroups=true",
        " seccomp=unconfined",
    ] {
        let req = create(&format!(r#"{{"SecurityOpt":["{option}"]}}"#));
        assert_denied!(authorize(&req, &strict()), option);
    }
    assert_denied!(
        authorize(
            &create(r#"{"SecurityOpt":["seccomp=default.json"]}"#),
            &strict()
        ),
        "inline seccomp profile"
    );
    assert_allowed!(authorize(
        &create(
            r#"{"SecurityOpt":["no-new-privileges","apparmor=docker-default","seccomp=builtin"]}"#
        ),
        &strict()
    ));
    let labelled = create(r#"{"SecurityOpt":["label=level:s0:c100,c200"]}"#);
    let config = Config {
        allowed_security_options: vec!["label=level:s0:c100,c200".into()],
        ..strict()
    };
    assert_allowed!(authorize(&labelled, &config));
}

#[test]
fn an_inline_seccomp_profile_passes_only_by_digest() {
    let req = create(r#"{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}"#);
    let decision = decide(&req, &strict());
    assert_denied!(decision.clone(), "inline seccomp profile sha256:");
    let digest = decision
        .message()
        .unwrap()
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let config = Config {
        allowed_seccomp_profiles: vec![digest],
        ..strict()
    };
    assert_allowed!(authorize(&req, &config));
}

#[test]
fn masked_and_readonly_paths_may_only_add_to_the_defaults() {
    assert_denied!(
        authorize(
            &create(r#"{"MaskedPaths":[],"ReadonlyPaths":[]}"#),
            &strict()
        ),
        "MaskedPaths without /proc/asound"
    );
    assert_denied!(
        authorize(&create(r#"{"ReadonlyPaths":["/proc/bus"]}"#), &strict()),
        "ReadonlyPaths without /proc/fs"
    );
    assert_allowed!(authorize(&create(r#"{"MaskedPaths":null}"#), &strict()));
    let superset = r#"{"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware","/sys/devices/virtual/powercap","/secret"]}"#;
    assert_allowed!(authorize(&create(superset), &strict()));
    assert_allowed!(authorize(
        &create(r#"{"MaskedPaths":[]}"#),
        &Config {
            allow_unconfined: true,
            ..strict()
        }
    ));
}

#[test]
fn device_requests_and_unknown_runtimes_are_denied() {
    assert_denied!(
        authorize(
            &create(r#"{"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]}"#),
            &strict()
        ),
        "devices are not allowed"
    );
    assert_denied!(
        authorize(&create(r#"{"Runtime":"kata"}"#), &strict()),
        "runtime kata"
    );
    assert_allowed!(authorize(&create(r#"{"Runtime":"runc"}"#), &strict()));
}

#[test]
fn annotations_and_a_host_endpoint_are_denied() {
    assert_denied!(
        authorize(
            &create(r#"{"Annotations":{"io.katacontainers.config.hypervisor.path":"/x"}}"#),
            &strict()
        ),
        "annotation io.katacontainers.config.hypervisor.path is not allowed"
    );
    let endpoint = RequestBuilder::post_json(
        "/v1.44/containers/create",
        r#"{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"host":{}}}}"#,
    )
    .build();
    assert_denied!(
        authorize(&endpoint, &strict()),
        "the host network namespace"
    );
}

#[test]
fn host_config_fields_at_the_top_level_of_the_body_are_judged() {
    for body in [
        r#"{"Image":"busybox","Privileged":true}"#,
        r#"{"Image":"busybox","Privileged":true,"HostConfig":null}"#,
        r#"{"Image":"busybox","HostConfig":{"CapAdd":["NET_RAW"]},"HostConfig":null,"privileged":true}"#,
    ] {
        let req = RequestBuilder::post_json("/v1.45/containers/create", body).build();
        assert_denied!(authorize(&req, &strict()), "privileged containers");
    }
    let req = RequestBuilder::post_json(
        "/v1.41/containers/create",
        r#"{"Image":"busybox","Binds":["/:/h"],"PidMode":"host"}"#,
    )
    .build();
    let decision = decide(&req, &strict());
    assert_denied!(decision.clone(), "bind mount of / is outside");
    assert_denied!(decision, "the host PID namespace");
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
    assert_denied!(authorize(&escape, &config), "(resolved: /)");
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
fn volume_drivers_and_local_volume_options_are_an_allow_list() {
    let mount = |options: &str| {
        create(&format!(
            r#"{{"Mounts":[{{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{{"DriverConfig":{{"Name":"local","Options":{options}}}}}}}]}}"#
        ))
    };
    assert_denied!(
        authorize(
            &mount(r#"{"type":"none","o":"bind","device":"/"}"#),
            &strict()
        ),
        "bind mount of / is outside"
    );
    assert_denied!(
        authorize(&mount(r#"{"type":"proc","device":"proc"}"#), &strict()),
        "filesystem type \"proc\""
    );
    assert_denied!(
        authorize(&mount(r#"{"type":"ext4","device":"/dev/sda1"}"#), &strict()),
        "filesystem type \"ext4\""
    );
    assert_allowed!(authorize(
        &mount(r#"{"type":"tmpfs","device":"tmpfs","o":"size=10m,uid=1000"}"#),
        &strict()
    ));
    assert_allowed!(authorize(
        &mount(r#"{"type":"nfs","device":":/export","o":"addr=10.0.0.1"}"#),
        &Config {
            allowed_volume_types: vec!["nfs".into()],
            ..strict()
        }
    ));
    let foreign = create(
        r#"{"Mounts":[{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"convoy"}}}]}"#,
    );
    assert_denied!(authorize(&foreign, &strict()), "volume driver convoy");
    let top_level_driver = RequestBuilder::post_json(
        "/v1.41/containers/create",
        r#"{"VolumeDriver":"convoy","HostConfig":{"Binds":["data:/data"]}}"#,
    )
    .build();
    assert_denied!(
        authorize(&top_level_driver, &strict()),
        "volume driver convoy (data)"
    );
    let sysfs = RequestBuilder::post_json(
        "/v1.41/volumes/create",
        r#"{"Name":"s","DriverOpts":{"type":"sysfs","device":"sysfs"}}"#,
    )
    .build();
    assert_denied!(authorize(&sysfs, &strict()), "filesystem type \"sysfs\"");
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
fn calls_whose_effect_docker_never_shows_are_denied_unless_allowed() {
    let cases = [
        ("POST", "/v1.41/build?t=x", "allow_build"),
        ("POST", "/v1.41/session", "allow_build"),
        ("POST", "/v1.41/grpc", "allow_build"),
        ("POST", "/v1.41/images/load", "allow_image_archives"),
        (
            "POST",
            "/v1.41/images/create?fromSrc=-&repo=x",
            "allow_image_archives",
        ),
        (
            "PUT",
            "/v1.41/containers/bg/archive?path=/",
            "allow_copy_to_containers",
        ),
    ];
    for (method, uri, switch) in cases {
        let req = RequestBuilder::new(method, uri).build();
        assert_denied!(authorize(&req, &strict()), switch);
    }
    let url =
        RequestBuilder::new("POST", "/v1.41/images/create?fromSrc=http://x/rootfs.tar").build();
    assert_denied!(authorize(&url, &strict()), "allow_remote_urls");
    let relaxed = Config {
        allow_build: true,
        allow_image_archives: true,
        allow_copy_to_containers: true,
        ..strict()
    };
    for (method, uri, _) in cases {
        assert_allowed!(authorize(
            &RequestBuilder::new(method, uri).build(),
            &relaxed
        ));
    }
    let host_build = RequestBuilder::new("POST", "/v1.41/build?networkmode=host").build();
    assert_denied!(authorize(&host_build, &relaxed), "host network namespace");
    let remote =
        RequestBuilder::new("POST", "/v1.41/build?remote=https://git.example.com/x.git").build();
    assert_denied!(authorize(&remote, &relaxed), "allow_remote_urls");
}

#[test]
fn unknown_writes_are_denied_and_unknown_reads_pass() {
    let unknown = RequestBuilder::post_json("/v1.41/containers/bg/frobnicate", "{}").build();
    assert_eq!(unknown.action(), "unknown");
    assert_denied!(
        authorize(&unknown, &strict()),
        "not an API call Portcullis recognises"
    );
    assert_allowed!(authorize(
        &unknown,
        &Config {
            allow_unknown_writes: true,
            ..strict()
        }
    ));
    assert_allowed!(authorize(
        &RequestBuilder::get("/v1.41/frobnicate").build(),
        &strict()
    ));
    // The byte-level entry point honours the config: the SDK's default
    // refusal is waived for this policy, which judges unknown calls itself.
    let envelope = RequestBuilder::post_json("/v1.41/containers/bg/frobnicate", "{}")
        .config(serde_json::json!({"allow_unknown_writes": true}))
        .envelope();
    assert_eq!(portcullis_entry::authorize(&envelope), br#"{"allow":true}"#);
}

#[test]
fn a_scheme_with_one_slash_is_still_containers_create() {
    let req = RequestBuilder::post_json(
        "http:/v1.41/containers/create",
        r#"{"Image":"busybox","HostConfig":{"Privileged":true}}"#,
    )
    .build();
    assert_eq!(req.action(), "container_create");
    assert_denied!(authorize(&req, &strict()), "privileged containers");
}

#[test]
fn swarm_membership_is_denied_unless_allowed() {
    for uri in [
        "/v1.41/swarm/init",
        "/v1.41/swarm/join",
        "/v1.41/swarm/update?version=1",
    ] {
        let req = RequestBuilder::post_json(uri, "{}").build();
        assert_denied!(authorize(&req, &strict()), "swarm management");
    }
}

#[test]
fn services_are_held_to_the_container_rules() {
    let service = |spec: &str| {
        RequestBuilder::post_json(
            "/v1.41/services/create",
            &format!(r#"{{"Name":"s",{spec}}}"#),
        )
        .build()
    };
    let cases = [
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox"},"Networks":[{"Target":"host"}]}"#,
            "host network",
        ),
        (
            r#""Networks":[{"Target":"host"}],"TaskTemplate":{"ContainerSpec":{"Image":"busybox"}}"#,
            "host network",
        ),
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox"}},"EndpointSpec":{"Ports":[{"TargetPort":80,"PublishedPort":80}]}"#,
            "host port 80",
        ),
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox","Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]}}"#,
            "bind mount of /",
        ),
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox","Mounts":[{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/etc"}}}}]}}"#,
            "bind mount of /etc",
        ),
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox","Privileges":{"Seccomp":{"Mode":"unconfined"}}}}"#,
            "seccomp mode",
        ),
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox","Privileges":{"AppArmor":{"Mode":"disabled"}}}}"#,
            "AppArmor mode",
        ),
        (
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox","Privileges":{"SELinuxContext":{"Disable":true}}}}"#,
            "SELinux labelling disabled",
        ),
        (
            r#""TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Name":"x","Remote":"x"}}"#,
            "install plugins",
        ),
    ];
    for (spec, needle) in cases {
        assert_denied!(authorize(&service(spec), &strict()), needle);
    }
    assert_allowed!(authorize(
        &service(
            r#""TaskTemplate":{"ContainerSpec":{"Image":"busybox"}},"EndpointSpec":{"Ports":[{"TargetPort":80,"PublishedPort":8080}]}"#
        ),
        &strict()
    ));
}

#[test]
fn plugin_privileges_are_held_to_the_container_rules() {
    let allowed = Config {
        allow_plugin_management: true,
        ..strict()
    };
    let install = |privileges: &str| {
        RequestBuilder::post_json("/v1.41/plugins/pull?remote=vieux/sshfs", privileges).build()
    };
    let cases = [
        (r#"[{"Name":"network","Value":["host"]}]"#, "host network"),
        (
            r#"[{"Name":"mount","Value":["/var/lib/docker/plugins/"]}]"#,
            "bind mount of /var/lib/docker/plugins",
        ),
        (r#"[{"Name":"device","Value":["/dev/fuse"]}]"#, "devices"),
        (
            r#"[{"Name":"capabilities","Value":["CAP_SYS_ADMIN"]}]"#,
            "capability CAP_SYS_ADMIN",
        ),
        (
            r#"[{"Name":"host pid namespace","Value":["true"]}]"#,
            "host pid namespace",
        ),
        (
            r#"[{"Name":"new privilege","Value":["x"]}]"#,
            "plugin privilege \"new privilege\"",
        ),
    ];
    for (privileges, needle) in cases {
        assert_denied!(authorize(&install(privileges), &allowed), needle);
    }
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

#[test]
fn logging_drivers_are_an_allow_list() {
    assert_denied!(
        authorize(
            &create(
                r#"{"LogConfig":{"Type":"syslog","Config":{"syslog-address":"unix:///run/docker.sock"}}}"#
            ),
            &strict()
        ),
        "logging driver syslog is not allowed"
    );
    assert_allowed!(authorize(
        &create(r#"{"LogConfig":{"Type":"json-file","Config":{"max-size":"10m"}}}"#),
        &strict()
    ));
    // `--log-opt` without `--log-driver`: the daemon's default driver gets them.
    assert_allowed!(authorize(
        &create(r#"{"LogConfig":{"Type":"","Config":{"max-size":"10m","max-file":"3"}}}"#),
        &strict()
    ));
    assert_denied!(
        authorize(
            &create(
                r#"{"LogConfig":{"Type":"","Config":{"syslog-address":"tcp://127.0.0.1:2375"}}}"#
            ),
            &strict()
        ),
        "log option syslog-address without a logging driver"
    );
    let service = RequestBuilder::post_json(
        "/v1.41/services/create",
        r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"busybox"},"LogDriver":{"Name":"gelf"}}}"#,
    )
    .build();
    assert_denied!(authorize(&service, &strict()), "logging driver gelf");
}

#[test]
fn a_volume_driver_for_the_images_volumes_is_judged_alone() {
    assert_denied!(
        authorize(&create(r#"{"VolumeDriver":"convoy"}"#), &strict()),
        "volume driver convoy is not allowed"
    );
}

#[test]
fn shared_propagation_on_a_bind_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        bind_prefixes: vec![dir.path().display().to_string()],
        ..strict()
    };
    let binds = create(&format!(
        r#"{{"Binds":["{}:/x:rshared"]}}"#,
        dir.path().display()
    ));
    assert_denied!(authorize(&binds, &config), "rshared propagation");
    let mounts = create(&format!(
        r#"{{"Mounts":[{{"Type":"bind","Source":"{}","Target":"/x","BindOptions":{{"Propagation":"shared"}}}}]}}"#,
        dir.path().display()
    ));
    assert_denied!(authorize(&mounts, &config), "shared propagation");
    let slave = create(&format!(
        r#"{{"Binds":["{}:/x:ro,rslave"]}}"#,
        dir.path().display()
    ));
    assert_allowed!(authorize(&slave, &config));
}

#[test]
fn network_options_are_an_allow_list() {
    let network = |options: &str| {
        RequestBuilder::post_json(
            "/v1.41/networks/create",
            &format!(r#"{{"Name":"n","Options":{options}}}"#),
        )
        .build()
    };
    assert_denied!(
        authorize(
            &network(r#"{"com.docker.network.bridge.name":"br0"}"#),
            &strict()
        ),
        "network option com.docker.network.bridge.name"
    );
    assert_allowed!(authorize(
        &network(r#"{"com.docker.network.driver.mtu":"1400"}"#),
        &strict()
    ));
    let macvlan = RequestBuilder::post_json(
        "/v1.41/networks/create",
        r#"{"Name":"n","Driver":"macvlan","Options":{"parent":"eth0"}}"#,
    )
    .build();
    assert_denied!(authorize(&macvlan, &strict()), "network driver macvlan");
}

#[test]
fn checkpoints_read_and_write_host_directories() {
    let start = RequestBuilder::new(
        "POST",
        "/v1.41/containers/bg/start?checkpoint=c1&checkpoint-dir=/etc",
    )
    .build();
    assert_denied!(authorize(&start, &strict()), "starting from a checkpoint");
    let create_checkpoint = RequestBuilder::post_json(
        "/v1.41/containers/bg/checkpoints",
        r#"{"CheckpointID":"c1","CheckpointDir":"/etc"}"#,
    )
    .build();
    assert_denied!(
        authorize(&create_checkpoint, &strict()),
        "checkpoints (container_checkpoint_create)"
    );
}

#[test]
fn a_service_network_named_by_id_is_denied() {
    let service = RequestBuilder::post_json(
        "/v1.41/services/create",
        r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"busybox"},"Networks":[{"Target":"0c4e1f"}]}}"#,
    )
    .build();
    assert_denied!(authorize(&service, &strict()), "looks like a network ID");
    // Swarm's own IDs are base 36: only an allow-list can tell them from names.
    let base36 = RequestBuilder::post_json(
        "/v1.41/services/create",
        r#"{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"busybox"},"Networks":[{"Target":"kaw3tshz1db9"}]}}"#,
    )
    .build();
    let config = Config {
        allowed_service_networks: Some(vec!["web".into()]),
        ..strict()
    };
    assert_denied!(
        authorize(&base36, &config),
        "not in allowed_service_networks"
    );
}

#[test]
fn plugins_are_judged_where_they_come_from_and_what_they_are_set_to() {
    let config = Config {
        allow_plugin_management: true,
        allowed_registries: Some(vec!["docker.io".into()]),
        ..strict()
    };
    let foreign =
        RequestBuilder::post_json("/v1.41/plugins/pull?remote=evil.example.com/p", "[]").build();
    assert_denied!(authorize(&foreign, &config), "images from evil.example.com");
    for setting in [
        r#"["data.source=/"]"#,
        r#"["data=/etc"]"#,
        r#"["fuse.path=/dev/sda"]"#,
    ] {
        let set = RequestBuilder::post_json("/v1.41/plugins/p/set", setting).build();
        assert!(!decide(&set, &config).is_allowed(), "{setting}");
    }
    assert_allowed!(authorize(
        &RequestBuilder::post_json("/v1.41/plugins/p/set", r#"["DEBUG=1"]"#).build(),
        &config
    ));
    let service = RequestBuilder::post_json(
        "/v1.41/services/create",
        r#"{"Name":"s","TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Name":"p","Remote":"p","Privileges":[{"Name":"mount","Value":["/"]}]}}}"#,
    )
    .build();
    assert_denied!(authorize(&service, &config), "bind mount of / is outside");
    let foreign_service = RequestBuilder::post_json(
        "/v1.41/services/create",
        r#"{"Name":"s","TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Name":"p","Remote":"evil.example.com/p"}}}"#,
    )
    .build();
    assert_denied!(
        authorize(&foreign_service, &config),
        "images from evil.example.com"
    );
}

/// A `local` volume with `type`, `o` and `device`, through `volume create`
/// and through a `--mount`'s `DriverConfig`.
fn local_volumes(options: &str) -> [Request; 2] {
    [
        RequestBuilder::post_json(
            "/v1.41/volumes/create",
            &format!(r#"{{"Name":"v","DriverOpts":{options}}}"#),
        )
        .build(),
        create(&format!(
            r#"{{"Mounts":[{{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{{"DriverConfig":{{"Name":"local","Options":{options}}}}}}}]}}"#
        )),
    ]
}

#[test]
fn a_bind_flag_the_daemon_does_not_read_as_bind_does_not_hide_the_filesystem() {
    // dockerd splits `o` on `,` and nothing else: ` bind` is not the bind
    // flag but a word handed to debugfs, which ignores it, and the host's
    // debugfs is mounted read-write (seen on dockerd 20.10, 26.1 and 28.5).
    let config = Config {
        bind_prefixes: vec!["/tmp".into()],
        ..strict()
    };
    for o in [
        " bind",
        "bind ",
        "Bind",
        "nosuid, bind",
        "rbind\\t",
        " rbind",
    ] {
        for req in local_volumes(&format!(
            r#"{{"type":"debugfs","o":"{o}","device":"/tmp"}}"#
        )) {
            assert_denied!(authorize(&req, &config), "filesystem type \"debugfs\"");
        }
    }
    // The real flag is a bind of the device, judged by bind_prefixes.
    for req in local_volumes(r#"{"type":"debugfs","o":"nosuid,bind","device":"/tmp"}"#) {
        assert_allowed!(authorize(&req, &config));
    }
}

#[test]
fn local_volume_flags_and_words_are_judged_exactly() {
    let config = Config {
        bind_prefixes: vec!["/tmp".into()],
        ..strict()
    };
    for (options, why) in [
        (
            r#"{"type":"tmpfs","o":"remount,size=1m","device":"tmpfs"}"#,
            "remount flag",
        ),
        (
            r#"{"type":"none","o":"rbind,rshared","device":"/tmp"}"#,
            "rshared propagation",
        ),
        (
            r#"{"type":"none","o":"bind,uid=0","device":"/tmp"}"#,
            "option \"uid=0\" of a bind",
        ),
        (
            r#"{"type":"tmpfs","o":" size=1m","device":"tmpfs"}"#,
            "tmpfs option \" size=1m\"",
        ),
        (
            r#"{"type":"tmpfs","o":"Size=1m","device":"tmpfs"}"#,
            "tmpfs option \"Size=1m\"",
        ),
        (
            r#"{"type":"tmpfs","o":"defaults","device":"tmpfs"}"#,
            "tmpfs option \"defaults\"",
        ),
        (
            r#"{"type":" tmpfs","device":"tmpfs"}"#,
            "filesystem type \" tmpfs\"",
        ),
        (
            r#"{"type":"tmpfs"," o":"bind","device":"/"}"#,
            "invalid option: \" o\"",
        ),
        (r#"{"o":"bind","device":"/"}"#, "missing required option"),
        (r#"{"type":"tmpfs","device":""}"#, "missing device"),
    ] {
        for req in local_volumes(options) {
            assert_denied!(authorize(&req, &config), why);
        }
    }
    for options in [
        r#"{"type":"none","o":"bind,ro,nosuid,rprivate","device":"/tmp"}"#,
        r#"{"type":"tmpfs","o":"nosuid,nodev,size=10m,uid=1000,mode=0700,","device":"tmpfs"}"#,
        r#"{"type":"none","o":"bind","device":"none"}"#,
        // `remount` with no data skips the mount call: nothing is mounted.
        r#"{"type":"none","o":"bind,remount","device":"/"}"#,
        r#"{"size":"0"}"#,
    ] {
        for req in local_volumes(options) {
            assert_allowed!(authorize(&req, &config));
        }
    }
}

#[test]
fn tmpfs_options_are_read_as_the_daemon_reads_them() {
    for (tmpfs, why) in [
        (r#"{"/x":"rbind"}"#, "bind-mounts a host path"),
        (r#"{"/x":"size=1m,bind"}"#, "bind-mounts a host path"),
        (r#"{"/x":"remount"}"#, "changes an existing mount"),
        (r#"{"/x":"rshared"}"#, "shared propagation"),
        (r#"{"/x":"size=1m, exec"}"#, "the daemon would refuse it"),
        (r#"{"/x":"=x"}"#, "not an option tmpfs knows"),
    ] {
        assert_denied!(
            authorize(&create(&format!(r#"{{"Tmpfs":{tmpfs}}}"#)), &strict()),
            why
        );
    }
    for tmpfs in [
        r#"{"/run":"rw,exec,suid"}"#,
        r#"{"/x":"mode=1777,uid=5,size=1m,noexec"}"#,
        r#"{"/x":""}"#,
    ] {
        assert_allowed!(authorize(
            &create(&format!(r#"{{"Tmpfs":{tmpfs}}}"#)),
            &strict()
        ));
    }
    let mount = |options: &str| {
        create(&format!(
            r#"{{"Mounts":[{{"Type":"tmpfs","Target":"/t","TmpfsOptions":{{"Options":{options}}}}}]}}"#
        ))
    };
    assert_allowed!(authorize(&mount(r#"[["exec"]]"#), &strict()));
    assert_allowed!(authorize(&mount(r#"[["noexec"]]"#), &strict()));
    for options in [
        r#"[["suid"]]"#,
        r#"[["exec","1"]]"#,
        r#"[[]]"#,
        r#"[[" exec"]]"#,
    ] {
        assert_denied!(authorize(&mount(options), &strict()), "tmpfs mount option");
    }
}

#[test]
fn image_mounts_are_held_to_the_registry_rules() {
    let config = Config {
        allowed_registries: Some(vec!["docker.io".into()]),
        ..strict()
    };
    let mount = |source: &str| {
        create(&format!(
            r#"{{"Mounts":[{{"Type":"image","Source":"{source}","Target":"/img","ImageOptions":{{"Subpath":"etc"}}}}]}}"#
        ))
    };
    assert_denied!(
        authorize(&mount("evil.example.com/tools:1"), &config),
        "images from evil.example.com"
    );
    assert_denied!(authorize(&mount(""), &config), "names no image");
    assert_allowed!(authorize(&mount("busybox:latest"), &config));
    assert_allowed!(authorize(
        &mount("sha256:0123456789abcdef0123456789abcdef"),
        &config
    ));
}
