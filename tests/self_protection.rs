//! The built-in self-protection rule resolves container references as
//! dockerd does and closes every route to a protected container, against
//! real daemons (20.10, 26.1, 28.5) and their own CLIs.
//!
//! Each scenario starts Portcullis unprotected, a dockerd behind it that
//! also listens on a socket Portcullis asks (`[docker] socket`), creates
//! `guard` and containers that already reach into it (a link alias, a
//! container joining its PID namespace), then protects `guard` by ID (as
//! Portcullis protects its own container) with a reload, and tries every
//! way around. The chain allows everything but `container_inspect`, the
//! call Portcullis' own lookups make: that each refusal names the
//! container dockerd resolved proves the lookups were answered without it.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon, text};
use crate::util::{Plugin, guest_wasm, module, wat};

/// Every action but `container_inspect` (the lookups' own call).
const ALL_BUT_INSPECT: &str = r#"[module.config]
allow = ["docker_*", "image_*", "network_*", "volume_*", "system_*", "plugin_*",
         "container_a*", "container_c*", "container_d*", "container_e*", "container_k*",
         "container_l*", "container_p*", "container_r*", "container_s*", "container_t*",
         "container_u*", "container_w*"]"#;

/// Portcullis and a dockerd behind it, which Portcullis may ask.
struct Setup {
    plugin: Plugin,
    dockerd: Dockerd,
    name: String,
    /// The `[docker] socket` dockerd also listens on.
    api: PathBuf,
    /// `[plugin]` additions and `[docker]`, kept by every reload.
    settings: String,
}

impl Setup {
    /// Portcullis named for `scenario` with an allow-all chain and
    /// `settings` (`[plugin]` keys first), and dockerd `version` behind it.
    fn start(version: Version, scenario: &str, plugin_keys: &str) -> Setup {
        let name = format!(
            "portcullis-{scenario}-{}-{}",
            version.label().replace('.', ""),
            std::process::id()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let api = dir.path().join("docker.sock");
        let settings = format!("{plugin_keys}\n[docker]\nsocket = \"{}\"\n", api.display());
        let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
        let chain = settings.clone() + &module("open", &wat("allow"), "");
        let plugin = Plugin::start_with(dir, socket, &name, &chain)
            .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
        let dockerd = Dockerd::start_with_args(
            version,
            &name,
            &[format!("--host=unix://{}", api.display())],
        );
        dockerd.import_busybox();
        Setup {
            plugin,
            dockerd,
            name,
            api,
            settings,
        }
    }

    /// Replaces the chain: `protect` (a `[protect]` table), then `modules`.
    fn protect(&self, protect: &str, modules: &str) {
        let config = std::fs::read_to_string(self.plugin.config()).expect("plugin.toml");
        let plugin = &config[..config.find(&self.settings).expect("settings written")];
        let text = format!("{plugin}{}\n{protect}\n{modules}", &self.settings);
        std::fs::write(self.plugin.config(), text).expect("plugin.toml");
        self.plugin.reload_ok();
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.dockerd.docker(args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.docker(args);
        assert!(
            output.status.success(),
            "docker {args:?} on {}: {}\nportcullis:\n{}",
            self.dockerd.version.label(),
            text(&output.stderr),
            self.plugin.log()
        );
        text(&output.stdout).trim().to_owned()
    }

    /// `docker args` is refused by self-protection with a message holding `expected`.
    fn refused(&self, args: &[&str], expected: &str) {
        let output = self.docker(args);
        let stderr = text(&output.stderr);
        assert!(
            !output.status.success()
                && stderr.contains(&format!(
                    "authorization denied by plugin {}: self-protection: ",
                    self.name
                ))
                && stderr.contains(expected),
            "docker {args:?} on {}: expected a self-protection refusal holding {expected:?}, got (status {:?}):\n{stderr}{}\nportcullis:\n{}",
            self.dockerd.version.label(),
            output.status.code(),
            text(&output.stdout),
            self.plugin.log()
        );
    }

    /// A raw request is refused by self-protection with `expected` in its message.
    fn raw_refused(&self, raw: &[u8], expected: &str) {
        let answer = self.dockerd.send(raw).expect("raw request");
        let body = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|error| error["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| answer.text());
        assert!(
            answer.status() == 403 && body.contains("self-protection: ") && body.contains(expected),
            "{} on {}: expected 403 holding {expected:?}, got {}: {body}",
            String::from_utf8_lossy(raw).lines().next().unwrap_or(""),
            self.dockerd.version.label(),
            answer.status()
        );
    }

    fn id_of(&self, container: &str) -> String {
        self.dockerd
            .get_json(&format!("/containers/{container}/json"))["Id"]
            .as_str()
            .expect("Id")
            .to_owned()
    }
}

/// A raw request with a JSON body and extra header lines.
fn raw(method: &str, target: &str, body: Option<&str>, headers: &str) -> Vec<u8> {
    let mut out =
        format!("{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n{headers}");
    if let Some(body) = body {
        out.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Protected by its ID, `guard` cannot be stopped, entered, copied,
/// committed, exported, joined, mounted from or linked to under any name
/// dockerd resolves: its name, a link alias (`linker/alias`), an ID
/// prefix; its volumes cannot be mounted by name; a container created
/// earlier that joins it cannot start; a forged lookup mark changes
/// nothing; other containers are untouched.
#[test]
fn protected_containers_are_resolved_as_dockerd_resolves_them() {
    on_every_daemon(every_route_is_closed);
}

fn every_route_is_closed(version: Version) {
    let s = Setup::start(version, "refs", "");
    for args in [
        &[
            "run",
            "-d",
            "--name",
            "guard",
            "-v",
            "guardvol:/state",
            "-v",
            "/anon",
            IMAGE,
            "sleep",
            "300",
        ][..],
        &["run", "-d", "--name", "other", IMAGE, "sleep", "300"],
        &[
            "run",
            "-d",
            "--name",
            "linker",
            "--link",
            "guard:alias",
            IMAGE,
            "sleep",
            "300",
        ],
        &[
            "create",
            "--name",
            "joiner",
            "--pid",
            "container:guard",
            IMAGE,
            "sleep",
            "300",
        ],
    ] {
        s.ok(args);
    }
    let guard = s.id_of("guard");
    let other = s.id_of("other");
    let mounts = s.dockerd.get_json("/containers/guard/json")["Mounts"].clone();
    let anon = mounts
        .as_array()
        .and_then(|m| m.iter().find(|m| m["Destination"] == "/anon"))
        .and_then(|m| m["Name"].as_str())
        .expect("guard's anonymous volume")
        .to_owned();
    let protect = format!("[protect]\ncontainers = [\"{guard}\"]");
    s.protect(
        &protect,
        &module(
            "all-but-inspect",
            &guest_wasm("api_allowlist"),
            ALL_BUT_INSPECT,
        ),
    );
    let short = &guard[..12];
    let runs = "runs Portcullis";

    // The container itself, under every name dockerd resolves.
    s.refused(
        &["stop", "-t", "0", "guard"],
        "container \"guard\" runs Portcullis",
    );
    let alias = format!("container \"linker/alias\" is guard ({short}), which runs Portcullis");
    s.refused(&["stop", "-t", "0", "linker/alias"], &alias);
    // (The CLI's exec inspects first, which this chain refuses: raw.)
    let exec = |container: &str| {
        raw(
            "POST",
            &format!("/containers/{container}/exec"),
            Some(r#"{"Cmd":["true"]}"#),
            "",
        )
    };
    s.raw_refused(&exec("linker/alias"), &alias);
    s.refused(&["update", "--cpu-shares", "512", "linker/alias"], &alias);
    s.refused(&["pause", "/linker/alias"], runs);
    s.refused(&["kill", &guard[..5]], runs);
    s.refused(&["rm", "-f", "guard"], runs);
    // Read and written through.
    s.refused(&["cp", "guard:/etc/hostname", "-"], runs);
    s.refused(&["cp", "/etc/hostname", "linker/alias:/tmp/x"], runs);
    s.raw_refused(
        &raw("GET", "/containers/linker/alias/export", None, ""),
        runs,
    );
    s.refused(
        &["commit", "linker/alias", "stolen:1"],
        "commit's container",
    );
    // HEAD answers carry a length but no body: read the status line only.
    let mut head = std::os::unix::net::UnixStream::connect(s.dockerd.socket()).expect("connect");
    head.write_all(&raw(
        "HEAD",
        "/containers/linker/alias/archive?path=/",
        None,
        "",
    ))
    .expect("HEAD");
    let mut answer = String::new();
    let _ = head.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 403 "),
        "HEAD archive: {answer}"
    );
    // Reached into by a new container, or a network call.
    for (flag, value, field) in [
        ("--pid", "container:guard".to_owned(), "PidMode"),
        (
            "--network",
            "container:linker/alias".to_owned(),
            "NetworkMode",
        ),
        ("--ipc", format!("container:{short}"), "IpcMode"),
        ("--volumes-from", "guard:ro".to_owned(), "VolumesFrom"),
        ("--link", "linker/alias:db".to_owned(), "Links"),
    ] {
        s.refused(
            &["run", "--rm", flag, &value, IMAGE, "true"],
            &format!("{field} names container"),
        );
    }
    s.refused(
        &[
            "run",
            "--rm",
            "--pid",
            "container:nothing-yet",
            IMAGE,
            "true",
        ],
        "which does not exist",
    );
    for call in ["connect", "disconnect"] {
        s.raw_refused(
            &raw(
                "POST",
                &format!("/networks/none/{call}"),
                Some(r#"{"container":"linker/alias"}"#),
                "",
            ),
            "the network call's Container",
        );
    }
    // Its volumes, named or anonymous, by name.
    let guards = "is mounted by guard (";
    s.refused(
        &["run", "--rm", "-v", "guardvol:/x:ro", IMAGE, "true"],
        guards,
    );
    let anon_mount = format!("type=volume,source={anon},target=/x");
    s.refused(
        &["run", "--rm", "--mount", &anon_mount, IMAGE, "true"],
        guards,
    );
    s.refused(&["volume", "rm", "-f", "guardvol"], guards);
    // Created before the rule: it would join guard's PID namespace.
    s.refused(&["start", "joiner"], "container joiner reaches into");
    s.raw_refused(&exec("joiner"), "container joiner reaches into");
    s.refused(
        &["run", "--rm", "--pid", "container:joiner", IMAGE, "true"],
        "container joiner reaches into",
    );
    // A guessed mark is an ordinary call.
    s.raw_refused(
        &raw(
            "POST",
            "/containers/guard/stop?t=0",
            None,
            "X-Portcullis-Lookup: 00112233445566778899aabbccddeeff\r\n",
        ),
        runs,
    );
    // The chain still judges the clients' inspects; the lookups never reached it.
    let inspect = s.docker(&["inspect", "guard"]);
    assert!(
        text(&inspect.stderr).contains("all-but-inspect: "),
        "{}",
        text(&inspect.stderr)
    );
    let log = s.plugin.log();
    assert!(
        !log.contains("X-Portcullis-Lookup") && !log.contains("linker/alias/json"),
        "the lookups or their mark reached the decision log:\n{log}"
    );

    // Everything else goes on.
    let created = s.dockerd.send(&exec("other")).expect("exec create");
    assert_eq!(created.status(), 201, "{}", created.text());
    s.ok(&["run", "--rm", "--pid", "container:other", IMAGE, "true"]);
    s.ok(&["run", "--rm", "--volumes-from", "other", IMAGE, "true"]);
    s.ok(&["run", "--rm", "-v", "othervol:/x", IMAGE, "true"]);
    s.ok(&["stop", "-t", "0", "linker"]);
    s.ok(&["rm", "linker", "joiner"]);
    s.ok(&["kill", &other[..12]]);
    s.ok(&["start", "guard"]);
    s.protect(&protect, &module("open", &wat("allow"), ""));
    let state = s.dockerd.get_json("/containers/guard/json");
    assert_eq!(state["State"]["Running"], true, "{state}");
    assert_eq!(state["Id"], guard.as_str());
}

/// A container protected by name: reached through an ID prefix or a link
/// alias it is refused, and an unrelated container's ID prefix is not (it
/// used to be, before dockerd was asked). A protected name no container
/// holds yet protects whichever container takes it.
#[test]
fn a_container_protected_by_name_is_found_by_its_id_too() {
    on_every_daemon(protected_by_name);
}

fn protected_by_name(version: Version) {
    let s = Setup::start(version, "byname", "");
    s.ok(&["run", "-d", "--name", "sidecar", IMAGE, "sleep", "300"]);
    s.ok(&["run", "-d", "--name", "web", IMAGE, "sleep", "300"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "linker",
        "--link",
        "sidecar:alias",
        IMAGE,
        "sleep",
        "300",
    ]);
    s.protect(
        "[protect]\ncontainers = [\"sidecar\", \"not-yet\"]",
        &module("open", &wat("allow"), ""),
    );
    let sidecar = s.id_of("sidecar");
    s.refused(&["kill", &sidecar[..4]], "runs Portcullis");
    s.refused(&["stop", "-t", "0", "linker/alias"], "is sidecar (");
    let web = s.id_of("web");
    s.ok(&["stop", "-t", "0", &web[..12]]);
    s.ok(&["run", "-d", "--name", "not-yet", IMAGE, "sleep", "300"]);
    s.refused(
        &["stop", "-t", "0", "not-yet"],
        "container \"not-yet\" runs Portcullis",
    );
}

/// Portcullis' lookups never hold a serving thread: with one worker,
/// concurrent protected calls (each waiting on dockerd, which asks
/// Portcullis about the lookup) all complete. Prints what a lookup costs a
/// protected call and what an unprotected call pays.
#[test]
fn lookups_in_flight_never_starve_the_serving_threads() {
    if !Version::V26_1.available() {
        return;
    }
    let s = Setup::start(Version::V26_1, "oneworker", "workers = 1");
    s.ok(&["run", "-d", "--name", "guard", IMAGE, "sleep", "300"]);
    s.ok(&["run", "-d", "--name", "other", IMAGE, "sleep", "300"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "linker",
        "--link",
        "guard:alias",
        IMAGE,
        "sleep",
        "300",
    ]);
    s.ok(&["create", "--name", "idle", IMAGE, "true"]);
    // The cheapest call that needs a lookup: stopping a stopped container (304).
    let time = |method: &str, target: &str, status: u16| {
        let started = Instant::now();
        for _ in 0..50 {
            let answer = s
                .dockerd
                .send(&raw(method, target, None, ""))
                .expect("call");
            assert_eq!(answer.status(), status, "{target}: {}", answer.text());
        }
        started.elapsed() / 50
    };
    let stop_idle = || time("POST", "/containers/idle/stop", 304);
    let ping = || time("GET", "/_ping", 200);
    let (stop_before, ping_before) = (stop_idle(), ping());
    s.protect(
        "[protect]\ncontainers = [\"guard\"]",
        &module("open", &wat("allow"), ""),
    );
    let (stop_after, ping_after) = (stop_idle(), ping());
    eprintln!(
        "dockerd 26.1, mean of 50 calls: POST /containers/idle/stop (304) {stop_before:?} unprotected, {stop_after:?} with its lookup; GET /_ping {ping_before:?} before, {ping_after:?} while protecting"
    );

    // 8 callers at once on one serving thread, each call waiting on a lookup.
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let api = s.api.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let (target, status) = if n % 2 == 0 {
                        ("/containers/other/update", 200)
                    } else {
                        ("/containers/linker/alias/update", 403)
                    };
                    let answer = crate::dockerd::http::exchange(
                        &api,
                        &raw("POST", target, Some("{}"), ""),
                        Duration::from_secs(20),
                    )
                    .expect("no answer within 20 s: the serving thread is starved");
                    assert_eq!(answer.status(), status, "{target}: {}", answer.text());
                    if status == 403 {
                        assert!(answer.text().contains("is guard ("), "{}", answer.text());
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a caller failed");
    }
}

/// A protected call whose lookup cannot be answered fails closed, naming
/// why; calls that need no lookup pay nothing and pass. No dockerd: the
/// configured socket is missing, or a server that never answers.
#[tokio::test]
async fn a_lookup_that_cannot_be_answered_fails_closed_for_protected_calls_only() {
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("silent.sock");
    let listener = tokio::net::UnixListener::bind(&silent).unwrap();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    for (socket, why) in [
        (dir.path().join("missing.sock"), "cannot be reached"),
        (silent.clone(), "did not answer within 300 ms"),
    ] {
        let settings = format!(
            "[protect]\ncontainers = [\"guard\"]\n[docker]\nsocket = \"{}\"\nlookup_timeout_ms = 300\n",
            socket.display()
        );
        let plugin = Plugin::start(&(settings + &module("open", &wat("allow"), "")));
        let mut client = plugin.connect().await;
        let started = Instant::now();
        let stop = client
            .post(
                "/AuthZPlugin.AuthZReq",
                authz("POST", "/v1.41/containers/web/stop"),
            )
            .await;
        assert!(!stop.allowed(), "{}", stop.msg());
        let expected = format!(
            "self-protection: cannot tell whether container \"web\" is one Portcullis protects: dockerd at {} {why}",
            socket.display()
        );
        assert!(stop.msg().starts_with(&expected), "{}", stop.msg());
        assert!(started.elapsed() < Duration::from_secs(5));
        for (method, uri) in [
            ("GET", "/v1.41/containers/web/logs"),
            ("GET", "/v1.41/containers/json"),
            ("POST", "/v1.41/containers/create"),
            ("GET", "/_ping"),
        ] {
            let answer = client
                .post("/AuthZPlugin.AuthZReq", authz(method, uri))
                .await;
            assert!(answer.allowed(), "{method} {uri}: {}", answer.msg());
        }
        assert!(
            client
                .post(
                    "/AuthZPlugin.AuthZReq",
                    authz("POST", "/v1.41/containers/guard/stop")
                )
                .await
                .msg()
                .contains("container \"guard\" runs Portcullis"),
            "a protected name needs no lookup"
        );
    }
    held.abort();
}

fn authz(method: &str, uri: &str) -> Vec<u8> {
    serde_json::json!({"RequestMethod": method, "RequestUri": uri})
        .to_string()
        .into_bytes()
}
