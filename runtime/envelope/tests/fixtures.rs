//! Every captured dockerd payload through the envelope: all decode, the
//! route table names a hand-checked sample right, secrets never survive,
//! and what Docker dropped is said to be dropped.

use std::path::PathBuf;

use portcullis_envelope::mounts::MountKind;
use portcullis_envelope::{AuthzRequest, BodyState, Envelope, Phase};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/docker-20.10")
}

/// Both phases of a capture, as Docker sent them.
fn phases(name: &str) -> (AuthzRequest, Option<AuthzRequest>) {
    let text = std::fs::read_to_string(fixtures_dir().join(name)).unwrap();
    let capture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let req = serde_json::from_value(capture["req"]["body"].clone()).unwrap();
    let res = capture["res"]["body"]
        .is_object()
        .then(|| serde_json::from_value(capture["res"]["body"].clone()).unwrap());
    (req, res)
}

fn request_envelope(name: &str) -> Envelope {
    Envelope::from_authz(phases(name).0, Phase::Request).unwrap()
}

#[test]
fn every_capture_decodes_in_both_phases_with_a_known_action() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.contains("__") || name.starts_with("activate") {
            continue;
        }
        let (req, res) = phases(&name);
        let envelope =
            Envelope::from_authz(req, Phase::Request).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_ne!(
            envelope.action, "unknown",
            "{name}: {} {}",
            envelope.method, envelope.path
        );
        if let Some(res) = res {
            Envelope::from_authz(res, Phase::Response)
                .unwrap_or_else(|e| panic!("{name} (response): {e}"));
        }
        count += 1;
    }
    assert!(count > 100, "only {count} captures found");
}

/// (fixture, expected action, expected path parameters)
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

#[test]
fn hand_checked_actions_and_parameters() {
    let cases: &[Case] = &[
        ("version__01_HEAD_ping.json", "docker_ping", &[]),
        ("version__02_GET_version.json", "docker_version", &[]),
        ("info__02_GET_info.json", "docker_info", &[]),
        (
            "create_bg__02_POST_containers-create.json",
            "container_create",
            &[],
        ),
        (
            "create_bg__03_POST_containers-ID-wait.json",
            "container_wait",
            &[(
                "name",
                "0ef32779a6c9945127b80196e07d42e17993ca992187c37eb34cbfafd459835f",
            )],
        ),
        (
            "create_bg__04_POST_containers-ID-start.json",
            "container_start",
            &[],
        ),
        (
            "attach_short__08_POST_containers-att-attach.json",
            "container_attach",
            &[("name", "att")],
        ),
        (
            "inspect__02_GET_containers-bg-json.json",
            "container_inspect",
            &[("name", "bg")],
        ),
        (
            "exec__03_POST_containers-bg-exec.json",
            "container_exec_create",
            &[("name", "bg")],
        ),
        (
            "exec__04_POST_exec-ID-start.json",
            "container_exec_start",
            &[],
        ),
        (
            "exec__05_GET_exec-ID-json.json",
            "container_exec_inspect",
            &[],
        ),
        (
            "logs__03_GET_containers-ID-logs.json",
            "container_logs",
            &[],
        ),
        (
            "cp_from__02_GET_containers-bg-archive.json",
            "container_archive",
            &[("name", "bg")],
        ),
        (
            "cp_to__02_HEAD_containers-bg-archive.json",
            "container_archive_info",
            &[("name", "bg")],
        ),
        (
            "cp_to__03_PUT_containers-bg-archive.json",
            "container_archive_extract",
            &[("name", "bg")],
        ),
        (
            "rm_force__02_DELETE_containers-att.json",
            "container_delete",
            &[("name", "att")],
        ),
        (
            "stats__02_GET_containers-bg-stats.json",
            "container_stats",
            &[("name", "bg")],
        ),
        ("ps__02_GET_containers-json.json", "container_list", &[]),
        (
            "curl_headers__01_GET_containers-json.json",
            "container_list",
            &[],
        ),
        ("import__02_POST_images-create.json", "image_create", &[]),
        ("import__04_GET_images-json.json", "image_list", &[]),
        ("pull_fail__02_POST_images-create.json", "image_create", &[]),
        (
            "volume_create__02_POST_volumes-create.json",
            "volume_create",
            &[],
        ),
        (
            "chain_p2_denies_plugin1__01_GET_volumes.json",
            "volume_list",
            &[],
        ),
        ("network_ls__02_GET_networks.json", "network_list", &[]),
        ("events__02_GET_events.json", "docker_events", &[]),
        ("login_fail__02_POST_auth.json", "docker_auth", &[]),
        ("curl_auth_nover__01_POST_auth.json", "docker_auth", &[]),
        (
            "managed_v2_plugin__06_POST_plugins-rqv2-disable.json",
            "plugin_disable",
            &[("name", "rqv2")],
        ),
    ];
    for (name, action, params) in cases {
        let envelope = request_envelope(name);
        assert_eq!(envelope.action, *action, "{name}");
        for (key, value) in *params {
            assert_eq!(
                envelope.params.get(key).map(String::as_str),
                Some(*value),
                "{name} param {key}"
            );
        }
    }
}

#[test]
fn registry_passwords_never_reach_the_envelope() {
    for name in [
        "login_fail__02_POST_auth.json",
        "curl_auth_nover__01_POST_auth.json",
    ] {
        let (req, res) = phases(name);
        for (phase, wire) in [(Phase::Request, req), (Phase::Response, res.unwrap())] {
            let envelope = Envelope::from_authz(wire, phase).unwrap();
            assert_eq!(
                (envelope.body.is_none(), envelope.body_state),
                (true, BodyState::Redacted),
                "{name}"
            );
            let json = String::from_utf8(envelope.to_json().as_bytes().to_vec()).unwrap();
            assert!(
                !json.contains("password") && !json.contains("cGFzc3dvcmQ"),
                "{name}: {json}"
            );
        }
    }
}

#[test]
fn credential_headers_are_masked() {
    let envelope = request_envelope("curl_headers__01_GET_containers-json.json");
    for (name, value) in &envelope.headers {
        if ["authorization", "cookie", "proxy-authorization"]
            .contains(&name.to_ascii_lowercase().as_str())
        {
            assert_eq!(value, "<redacted>", "{name}");
        }
    }
    assert!(
        envelope
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("cookie")),
        "capture lost its Cookie header"
    );
}

#[test]
fn bodies_docker_did_not_forward_are_marked() {
    for name in [
        "curl_big_body__01_POST_volumes-create.json",
        "curl_ct_textplain__01_POST_volumes-create.json",
        "import__02_POST_images-create.json",
    ] {
        assert_eq!(
            request_envelope(name).body_state,
            BodyState::NotForwarded,
            "{name}"
        );
    }
    assert_eq!(
        request_envelope("curl_chunked_json__01_POST_containers-create.json").body_state,
        BodyState::Present
    );
    assert_eq!(
        request_envelope("ps__02_GET_containers-json.json").body_state,
        BodyState::Absent
    );
}

#[test]
fn the_tls_client_certificate_is_decoded() {
    let envelope = request_envelope("tls_version_plugin1__02_GET_version.json");
    assert_eq!(envelope.user.as_deref(), Some("alice"));
    let cert = envelope.peer_certificate().expect("certificate");
    assert_eq!(cert.common_name.as_deref(), Some("alice"));
    assert_eq!(cert.organizations, ["dev-team"]);
}

#[test]
fn the_privileged_run_shows_its_root_bind() {
    let envelope = request_envelope("run_priv__02_POST_containers-create.json");
    let mounts = envelope.mounts().expect("mounts");
    let root = mounts
        .iter()
        .find(|m| m.target == "/host")
        .expect("the /:/host bind");
    assert_eq!(
        (root.kind, root.resolved.as_deref()),
        (MountKind::Bind, Some("/"))
    );
    assert!(
        request_envelope("create_bg__02_POST_containers-create.json")
            .mounts()
            .unwrap()
            .is_empty()
    );
    assert!(
        request_envelope("ps__02_GET_containers-json.json")
            .mounts()
            .is_none()
    );
}

/// docs/abi.md's input envelope table names exactly the fields the host
/// emits (`config` is spliced in per module; `peer_certificate_error`
/// only appears when a certificate does not decode).
#[test]
fn the_abi_document_lists_every_envelope_field() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/abi.md"),
    )
    .expect("docs/abi.md");
    let table = doc
        .split("## Input envelope")
        .nth(1)
        .expect("an Input envelope section");
    let documented: std::collections::BTreeSet<&str> = table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .collect();

    let mut wire = portcullis_envelope::AuthzRequest::from_json_or_capture(
        &std::fs::read(fixtures_dir().join("tls_version_plugin1__02_GET_version.json")).unwrap(),
        true,
    )
    .unwrap();
    wire.response_status_code = Some(200);
    let envelope = Envelope::from_authz(wire, Phase::Response).unwrap();
    let emitted: serde_json::Value =
        serde_json::from_slice(envelope.full_json().as_bytes()).unwrap();
    let emitted: std::collections::BTreeSet<&str> = emitted
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();

    let undocumented: Vec<_> = emitted.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "emitted but not in docs/abi.md: {undocumented:?}"
    );
    let missing: Vec<_> = documented
        .difference(&emitted)
        .filter(|name| !["config", "peer_certificate_error"].contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "documented but not emitted: {missing:?}"
    );
}
