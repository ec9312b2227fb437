//! End to end with real dockerd (tests/dockerd.rs): `--authorization-plugin`
//! pointing at a running Portcullis with the example guests, driven by the
//! real `docker` CLI and by raw API requests no CLI would send.
//!
//! Needs root, dockerd (Debian's docker.io, and `.ci/docker26`'s 26.1 for
//! the hardening test) and a static busybox (busybox-static) for a
//! registry-free image. Skips with a printed reason when they are missing,
//! except under CI (`CI=true`), where it must run.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon, text};
use crate::util::{Plugin, guest_wasm, module};

/// The image of the hardening scenario: named on this host, in the local
/// registry its `local_registries` lists.
const LOCAL_IMAGE: &str = "localhost/mini:latest";

/// A plugin name of its own for one scenario on one daemon version.
fn plugin_name(scenario: &str, version: Version) -> String {
    format!(
        "portcullis-{scenario}-{}-{}",
        version.label().replace('.', ""),
        std::process::id()
    )
}

/// Portcullis serving `chain` on `/run/docker/plugins/<name>.sock`, where dockerd finds it.
fn plugin(name: &str, chain: &str) -> Plugin {
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    Plugin::start_with(tempfile::tempdir().unwrap(), socket, name, chain)
        .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"))
}

fn assert_denied(output: &Output, expected: &str, dockerd: &Dockerd) {
    assert!(
        !output.status.success(),
        "expected a refusal containing {expected:?}, the call succeeded"
    );
    assert!(
        text(&output.stderr).contains(expected),
        "expected {expected:?} in:\n{}\ndockerd:\n{}",
        text(&output.stderr),
        dockerd.log()
    );
}

#[test]
fn real_dockerd_refuses_privileged_runs_and_allows_the_rest() {
    if !Version::V20_10.available() {
        return;
    }
    let name = format!("portcullis-e2e-{}", std::process::id());
    let chain = module("no-privileged", &guest_wasm("no_privileged"), "")
        + &module(
            "read-only",
            &guest_wasm("read_only"),
            "[module.config]\nusers = [\"auditor\"]",
        );
    let plugin = plugin(&name, &chain);
    let dockerd = Dockerd::start(Version::V20_10, &name);

    let version = dockerd.docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        version.status.success(),
        "docker version: {}",
        text(&version.stderr)
    );
    assert!(!text(&version.stdout).trim().is_empty());

    dockerd.import_busybox();
    let run = dockerd.docker(&["run", "--rm", IMAGE, "echo", "hello-through-portcullis"]);
    assert!(
        run.status.success(),
        "plain run refused: {}\ndockerd:\n{}",
        text(&run.stderr),
        dockerd.log()
    );
    assert_eq!(text(&run.stdout).trim(), "hello-through-portcullis");

    let privileged = dockerd.docker(&["run", "--rm", "--privileged", IMAGE, "true"]);
    let expected = format!(
        "authorization denied by plugin {name}: no-privileged: privileged containers are not allowed"
    );
    assert_denied(&privileged, &expected, &dockerd);

    // The daemon decodes JSON case-insensitively; so must the policy.
    let sneaky = dockerd
        .request(
            "POST",
            "/v1.41/containers/create",
            Some(br#"{"Image":"mini","Cmd":["true"],"hostconfig":{"privileged":true}}"#),
        )
        .unwrap();
    assert_eq!(sneaky.status(), 403, "{}", sneaky.text());
    assert!(sneaky.text().contains(&expected), "{}", sneaky.text());

    for action in [
        "docker_ping",
        "container_create",
        "container_start",
        "container_wait",
    ] {
        plugin.wait_for_log(&format!("action=\"{action}\""), 1);
    }
    drop(dockerd); // stop the daemon before its plugin
}

/// The JSON decision log of a real CLI session, on both daemons: every
/// line parses against schema v1, the refused create names its module, and
/// the response phase carries the daemon's real status.
#[test]
fn real_dockerd_sessions_are_logged_as_schema_v1_json() {
    on_every_daemon(json_log_of_a_session);
}

fn json_log_of_a_session(version: Version) {
    let name = plugin_name("log", version);
    let chain = "[log]\nformat = \"json\"\ndestination = \"decisions.log\"\n".to_owned()
        + &module("no-privileged", &guest_wasm("no_privileged"), "");
    let plugin = plugin(&name, &chain);
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();
    let run = dockerd.docker(&["run", "--rm", IMAGE, "true"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let privileged = dockerd.docker(&["run", "--rm", "--privileged", IMAGE, "true"]);
    assert!(!privileged.status.success());
    drop(dockerd);

    let path = plugin.dir.path().join("decisions.log");
    let lines = crate::operations::log_lines(&path, 1);
    let creates: Vec<_> = lines
        .iter()
        .filter(|l| l.action == "container_create")
        .collect();
    let denied: Vec<_> = creates.iter().filter(|l| !l.allow).collect();
    assert_eq!(denied.len(), 1, "{creates:?}");
    assert_eq!(denied[0].decided_by.as_deref(), Some("no-privileged"));
    assert_eq!(denied[0].phase, "request");
    assert!(denied[0].uri.starts_with("/v1."), "{:?}", denied[0]);
    assert!(
        denied[0].user.is_none(),
        "the Unix socket has no authenticated user"
    );
    let created = creates
        .iter()
        .find(|l| l.phase == "response")
        .unwrap_or_else(|| panic!("no response-phase create in {creates:?}"));
    assert_eq!(created.response_status, Some(201), "{created:?}");
    let chain = &lines[0].chain;
    assert!(lines.iter().all(|l| &l.chain == chain && l.schema == 1));
}

/// Issue #8's classes 1 to 3 (and the form body of class 7), sent to real
/// daemons as raw API calls behind `hardening`: each is refused with the
/// module's message, and what was refused left no trace in the daemon.
#[test]
fn real_dockerd_enforces_hardening_on_raw_api_bypasses() {
    on_every_daemon(hardening_refuses_raw_bypasses);
}

fn hardening_refuses_raw_bypasses(version: Version) {
    let name = plugin_name("hardening", version);
    let allowed = tempfile::tempdir().unwrap();
    let config = format!(
        "[module.config]\nbind_prefixes = [\"{}\"]\nallowed_registries = [\"docker.io\"]\nlocal_registries = [\"localhost\"]\nallow_image_archives = true\n",
        allowed.path().display()
    );
    let _plugin = plugin(
        &name,
        &module("hardening", &guest_wasm("hardening"), &config),
    );
    let dockerd = Dockerd::start(version, &name);
    // Images made on this host are named in the local registry.
    dockerd.import_busybox_as(LOCAL_IMAGE);
    let label = version.label();
    let denied = |what: &str| format!("authorization denied by plugin {name}: hardening: {what}");

    // The CLI: a plain run passes, a bind of / does not.
    let run = dockerd.docker(&["run", "--rm", LOCAL_IMAGE, "echo", "ok"]);
    assert!(
        run.status.success(),
        "{label}: plain run refused: {}\n{}",
        text(&run.stderr),
        dockerd.log()
    );
    let bind = dockerd.docker(&["run", "--rm", "-v", "/:/h", LOCAL_IMAGE, "true"]);
    assert_denied(
        &bind,
        &denied("bind mount of / is outside the allowed host paths"),
        &dockerd,
    );

    let containers_before = container_count(&dockerd);
    let refused = |method: &str, target: &str, body: &str, expected: &str| {
        let answer = dockerd
            .request(method, target, Some(body.as_bytes()))
            .unwrap_or_else(|e| panic!("{label}: {method} {target}: {e}"));
        assert_eq!(
            answer.status(),
            403,
            "{label}: {method} {target} {body}: {}",
            answer.text()
        );
        assert!(
            answer.text().contains(expected),
            "{label}: {method} {target}: expected {expected:?} in {}",
            answer.text()
        );
    };

    // Class 1: HostConfig fields at the top level of the body.
    refused(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image":"localhost/mini","Cmd":["true"],"Privileged":true,"Binds":["/:/h"]}"#,
        &denied("privileged containers are not allowed"),
    );
    refused(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image":"localhost/mini","Cmd":["true"],"HostConfig":null,"PidMode":"host"}"#,
        &denied("the host PID namespace is not allowed"),
    );
    // Class 3: request-targets Go routes although they are not plain paths.
    for target in [
        "http:/v1.41/containers/create",
        "docker://anything/v1.41/containers/create",
    ] {
        refused(
            "POST",
            target,
            r#"{"Image":"localhost/mini","Cmd":["true"],"HostConfig":{"Privileged":true}}"#,
            &denied("privileged containers are not allowed"),
        );
    }
    refused(
        "POST",
        "/v1.41/images/create?#&fromImage=evil.example.com%2Fminer",
        "{}",
        &denied("images from evil.example.com"),
    );
    assert_eq!(
        container_count(&dockerd),
        containers_before,
        "{label}: a refused create left a container"
    );

    // Class 2: a pre-1.24 start body in the wrapper shape (20.10 only:
    // 26.1 refuses API versions below 1.24).
    if version == Version::V20_10 {
        let created = dockerd
            .request(
                "POST",
                "/v1.23/containers/create",
                Some(br#"{"Image":"localhost/mini","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}"#),
            )
            .unwrap();
        assert_eq!(created.status(), 201, "{}", created.text());
        let id = serde_json::from_slice::<Value>(&created.body).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned();
        refused(
            "POST",
            &format!("/v1.23/containers/{id}/start"),
            r#"{"HostConfig":{"Binds":["/:/h"],"Privileged":true}}"#,
            &denied(
                "privileged containers are not allowed; bind mount of / is outside the allowed host paths",
            ),
        );
        let inspect = dockerd.get_json(&format!("/containers/{id}/json"));
        assert_eq!(inspect["HostConfig"]["Privileged"], false);
        assert!(inspect["HostConfig"]["Binds"].is_null());
    }

    // Round three, image provenance: a local image retagged, committed or
    // loaded under a Hub name would run wherever that trusted name is used.
    let retag = dockerd.docker(&["tag", LOCAL_IMAGE, "docker.io/library/alpine:latest"]);
    assert_denied(
        &retag,
        &denied("tagging an image as \"docker.io/library/alpine\" is not allowed"),
        &dockerd,
    );
    let missing = dockerd
        .request("GET", "/images/alpine:latest/json", None)
        .unwrap();
    assert_eq!(
        missing.status(),
        404,
        "{label}: the refused tag left a name"
    );
    let local_tag = dockerd.docker(&["tag", LOCAL_IMAGE, "localhost/mini:copy"]);
    assert!(
        local_tag.status.success(),
        "{label}: {}",
        text(&local_tag.stderr)
    );
    let container = dockerd
        .request(
            "POST",
            "/v1.41/containers/create",
            Some(
                br#"{"Image":"localhost/mini","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}"#,
            ),
        )
        .unwrap();
    assert_eq!(container.status(), 201, "{label}: {}", container.text());
    let id = serde_json::from_slice::<Value>(&container.body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        "POST",
        &format!("/v1.41/commit?container={id}&repo=busybox&tag=latest"),
        "",
        // (The answer is JSON: the quotes around the name are escaped.)
        &denied("committing a container as \\\"busybox\\\" is not allowed"),
    );
    let missing = dockerd
        .request("GET", "/images/busybox:latest/json", None)
        .unwrap();
    assert_eq!(
        missing.status(),
        404,
        "{label}: the refused commit left an image"
    );
    let archive = allowed.path().join("image.tar");
    let save = dockerd.docker(&["save", "-o", &archive.display().to_string(), LOCAL_IMAGE]);
    assert!(save.status.success(), "{label}: {}", text(&save.stderr));
    let load = dockerd.docker(&["load", "-i", &archive.display().to_string()]);
    assert_denied(
        &load,
        &denied("loading images is not allowed with allowed_registries"),
        &dockerd,
    );

    // Class 7: a form body that would override the query's fromImage is
    // refused by the host itself, with Docker's plugin-error answer.
    let raw = crate::dockerd::form_body_image_create();
    let answer = dockerd.send(&raw).unwrap();
    assert!(
        answer.status() >= 400
            && answer
                .text()
                .contains(&format!("plugin {name} failed with error"))
            && answer.text().contains("form-encoded body"),
        "{label}: {} {}",
        answer.status(),
        answer.text()
    );
    drop(dockerd); // stop the daemon before its plugin
}

fn container_count(dockerd: &Dockerd) -> usize {
    dockerd
        .get_json("/containers/json?all=1")
        .as_array()
        .map_or(0, Vec::len)
}

/// Seed 000's session against real daemons: `docker run` of another image
/// refused with the seed's message, `docker run hello-world`, then allowed,
/// and still allowed after Portcullis is killed with `kill -9` and restarted.
#[test]
fn real_dockerd_makes_you_say_hello_first() {
    on_every_daemon(say_hello_first);
}

fn say_hello_first(version: Version) {
    let name = plugin_name("hello", version);
    let allow_all = module("setup", &crate::util::wat("allow"), "");
    let plugin = plugin(&name, &allow_all);
    let dockerd = Dockerd::start(version, &name);
    // The images come in before the policy does (an import is a call too).
    dockerd.import_busybox();
    dockerd.import_busybox_as("hello-world:latest");
    let config = plugin.dir.path().join("plugin.toml");
    let hello_first = module("hello-first", &guest_wasm("hello_first"), "");
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text_before.replace(&allow_all, &hello_first)).unwrap();
    plugin.hangup_and_wait_for("chain reloaded", 1);

    let refused = dockerd.docker(&["run", "--rm", IMAGE, "echo", "too early"]);
    assert_denied(
        &refused,
        &format!(
            "authorization denied by plugin {name}: hello-first: The request authorization failed. You must say hello first."
        ),
        &dockerd,
    );
    let hello = dockerd.docker(&["run", "--rm", "hello-world", "echo", "hello"]);
    assert!(
        hello.status.success(),
        "docker run hello-world on {}: {}\nportcullis:\n{}",
        version.label(),
        text(&hello.stderr),
        plugin.log()
    );
    assert_eq!(text(&hello.stdout).trim(), "hello");
    let after = dockerd.docker(&["run", "--rm", IMAGE, "echo", "after hello"]);
    assert!(
        after.status.success(),
        "after hello: {}",
        text(&after.stderr)
    );
    assert_eq!(text(&after.stdout).trim(), "after hello");

    // The hello is durable: kill -9 the plugin, restart it, and dockerd's
    // next call is still allowed.
    let dir = plugin.kill_9();
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    let _plugin = Plugin::serve(&dir.path().join("plugin.toml"), socket, dir)
        .unwrap_or_else(|log| panic!("restart after kill -9:\n{log}"));
    let restarted = dockerd.docker(&["run", "--rm", IMAGE, "echo", "after restart"]);
    assert!(
        restarted.status.success(),
        "after kill -9 and restart on {}: {}",
        version.label(),
        text(&restarted.stderr)
    );
    assert_eq!(text(&restarted.stdout).trim(), "after restart");
}

/// The response phase against real daemons: `ownership` records containers
/// from what dockerd answers (create, exec, listing, removal) and refuses
/// a container it never saw created. Everyone on the Unix socket is the
/// same anonymous user here; users with TLS certificates come with the
/// TLS end-to-end tests.
#[test]
fn real_dockerd_responses_keep_ownership_records_true() {
    on_every_daemon(ownership_follows_the_daemon);
}

fn ownership_follows_the_daemon(version: Version) {
    let name = plugin_name("owner", version);
    let allow_all = module("setup", &crate::util::wat("allow"), "");
    let plugin = plugin(&name, &allow_all);
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();
    let legacy = dockerd.docker(&["create", "--name", "legacy", IMAGE, "sleep", "1000"]);
    assert!(legacy.status.success(), "{}", text(&legacy.stderr));
    let config = plugin.dir.path().join("plugin.toml");
    let ownership = module("ownership", &guest_wasm("ownership"), "");
    let before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, before.replace(&allow_all, &ownership)).unwrap();
    plugin.hangup_and_wait_for("chain reloaded", 1);

    let docker_ok = |args: &[&str]| {
        let output = dockerd.docker(args);
        assert!(
            output.status.success(),
            "docker {args:?} on {}: {}\nportcullis:\n{}",
            version.label(),
            text(&output.stderr),
            plugin.log()
        );
        text(&output.stdout).trim().to_owned()
    };
    let web = docker_ok(&["run", "-d", "--name", "web", IMAGE, "sleep", "1000"]);
    assert_eq!(docker_ok(&["exec", "web", "echo", "inside"]), "inside");
    docker_ok(&["stop", "-t", "0", &web[..12]]);
    assert_denied(
        &dockerd.docker(&["start", "legacy"]),
        "ownership: no owner is recorded for container \"legacy\"",
        &dockerd,
    );
    // A generated name is learned from the listing that shows it.
    let unnamed = docker_ok(&["create", IMAGE, "sleep", "1000"]);
    let listed = docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("id={unnamed}"),
        "--format",
        "{{.Names}}",
    ]);
    docker_ok(&["start", &listed]);
    docker_ok(&["rm", "-f", "web", &listed]);

    // What is left: no record of the removed containers. (kill -9 leaves
    // the plugin's socket file behind; nothing will reuse it.)
    let socket = plugin.socket.clone();
    let dir = plugin.kill_9();
    let _ = std::fs::remove_file(socket);
    let dump = portcullis_state_dump(dir.path(), "ownership");
    assert!(!dump.contains(&web), "web's record outlived it:\n{dump}");
    assert!(
        !dump.contains(&unnamed),
        "the unnamed container's record outlived it:\n{dump}"
    );
}

/// `portcullis state dump <module>` of a stopped plugin's state in `dir`/state.
fn portcullis_state_dump(dir: &std::path::Path, module: &str) -> String {
    let output = crate::util::portcullis()
        .arg("state")
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["dump", module])
        .output()
        .expect("portcullis state dump");
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

/// The built-in self-protection rule against real daemons and the real
/// CLI: the plugin cannot be disabled or removed by its name, and the
/// container named in `[protect] containers` cannot be stopped, killed,
/// removed, entered, paused, updated or renamed; other containers can.
#[test]
fn real_dockerd_cannot_turn_portcullis_off() {
    on_every_daemon(self_protection_holds);
}

fn self_protection_holds(version: Version) {
    let name = plugin_name("guard", version);
    let dir = tempfile::tempdir().unwrap();
    let api = dir.path().join("docker.sock");
    let chain = format!(
        "[protect]\ncontainers = [\"guard\"]\n[docker]\nsocket = \"{}\"\n",
        api.display()
    ) + &module("open", &crate::util::wat("allow"), "");
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    let _plugin = Plugin::start_with(dir, socket, &name, &chain)
        .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
    let dockerd = Dockerd::start_with_args(
        version,
        &name,
        &[format!("--host=unix://{}", api.display())],
    );
    dockerd.import_busybox();
    for container in ["guard", "other"] {
        let run = dockerd.docker(&["run", "-d", "--name", container, IMAGE, "sleep", "300"]);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    let refused = format!(
        "authorization denied by plugin {name}: self-protection: container \"guard\" runs Portcullis"
    );
    for args in [
        &["stop", "-t", "0", "guard"][..],
        &["kill", "guard"],
        &["rm", "-f", "guard"],
        &["exec", "guard", "true"],
        &["pause", "guard"],
        &["update", "--cpu-shares", "512", "guard"],
        &["rename", "guard", "renamed"],
    ] {
        assert_denied(&dockerd.docker(args), &refused, &dockerd);
    }
    // Protected by name only: dockerd resolves its ID prefix to it (seen on
    // 20.10 before this rule: `kill <prefix>` stopped it).
    let id = dockerd.get_json("/v1.41/containers/guard/json")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_denied(
        &dockerd.docker(&["kill", &id[..4]]),
        &format!(
            "self-protection: container \"{}\" runs Portcullis",
            &id[..4]
        ),
        &dockerd,
    );
    let stop = dockerd.docker(&["stop", "-t", "0", "other"]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));

    let itself = format!(
        "authorization denied by plugin {name}: self-protection: plugin \"{name}\" is Portcullis itself"
    );
    assert_denied(
        &dockerd.docker(&["plugin", "disable", &name]),
        &itself,
        &dockerd,
    );
    assert_denied(
        &dockerd.docker(&["plugin", "rm", "-f", &name]),
        &itself,
        &dockerd,
    );
    let raw = dockerd
        .request(
            "POST",
            &format!("/v1.41/plugins/{name}:latest/disable"),
            None,
        )
        .unwrap();
    assert_eq!(raw.status(), 403, "{}", raw.text());
    // The guarded container is still running.
    let inspect = dockerd.get_json("/v1.41/containers/guard/json");
    assert_eq!(inspect["State"]["Running"], true, "{inspect}");
}

/// dockerd finds a plugin through a spec file in /etc/docker/plugins naming
/// a socket outside /run/docker/plugins, as README.md documents.
#[test]
fn real_dockerd_finds_portcullis_through_a_spec_file() {
    if !Version::V20_10.available() {
        return;
    }
    /// Removes the spec file however the test ends.
    struct Spec(PathBuf);
    impl Drop for Spec {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let name = format!("portcullis-spec-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("plugin.sock");
    std::fs::create_dir_all("/etc/docker/plugins").unwrap();
    let spec = Spec(PathBuf::from(format!("/etc/docker/plugins/{name}.spec")));
    std::fs::write(&spec.0, format!("unix://{}\n", socket.display())).unwrap();
    let chain = module("no-privileged", &guest_wasm("no_privileged"), "");
    let _plugin = Plugin::start_with(dir, socket, &name, &chain).expect("portcullis starts");
    assert!(!PathBuf::from(format!("/run/docker/plugins/{name}.sock")).exists());
    let dockerd = Dockerd::start(Version::V20_10, &name);
    dockerd.import_busybox();
    let privileged = dockerd.docker(&["run", "--rm", "--privileged", IMAGE, "true"]);
    assert_denied(
        &privileged,
        &format!(
            "authorization denied by plugin {name}: no-privileged: privileged containers are not allowed"
        ),
        &dockerd,
    );
}
