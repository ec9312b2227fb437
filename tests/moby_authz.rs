//! Moby's own integration tests of authorization plugins (moby/moby
//! `integration/plugin/authz/authz_plugin_test.go`), the cases that apply
//! to an external (v1) plugin, replayed against Portcullis and a real
//! dockerd (tests/dockerd.rs) with the real `docker` CLI and raw API calls;
//! then what they leave out: a chain of modules, two plugins in a row, and
//! what a client sees when a module fails, a reload is refused, or
//! Portcullis stops.
//!
//! | moby test | here | daemons |
//! |---|---|---|
//! | `TestAuthZPluginAllowRequest` | [`allowed_calls_are_judged_in_both_phases_and_streams_still_flow`] | 20.10, 26.1 |
//! | `TestAuthZPluginAllowEventStream` | the same test: `docker events` delivers create and start while its stream is open | 20.10, 26.1 |
//! | `TestAuthZPluginEnsureNoDuplicatePluginRegistration` | the same test: its daemon names the plugin twice, `/version` is judged once per phase | 20.10, 26.1 |
//! | `TestAuthZPluginEnsureLoadImportWorking` | the same test: `save`/`load`, `export`/`import` | 20.10, 26.1 |
//! | `TestAuthzPluginEnsureContainerCopyToFrom` | the same test: `docker cp` of 10 MiB both ways; and `attach` and `logs -f` with a response-phase module | 20.10, 26.1 |
//! | `TestAuthZPluginHeader` | the same test: `/version` still answers `Content-Type: application/json` | 20.10, 26.1 |
//! | `TestAuthZPluginTLS` | [`a_tls_users_name_reaches_both_phases`] (tests/tls_e2e.rs' session) | 20.10, 26.1 |
//! | `TestAuthZPluginDenyRequest`, `TestAuthZPluginAPIDenyResponse` | [`denials_and_plugin_errors_reach_the_client_as_moby_words_them`]: CLI message, HTTP 403, no response phase | 20.10, 26.1 |
//! | `TestAuthZPluginDenyResponse` | the same test: a module that denies responses only; the call has run all the same | 20.10, 26.1 |
//! | `TestAuthZPluginErrorRequest` | the same test: a form-encoded body, which Portcullis answers with Docker's `Err` (raw call, and the CLI through its `HttpHeaders`) | 20.10, 26.1 |
//! | `TestAuthZPluginErrorResponse` | no test: nothing a client sends makes Portcullis answer `AuthZRes` with `Err`. Its causes (fields missing, bad base64, an undecodable request-target, a form body) lie in the request, which the request phase decoded first, or in what dockerd itself encodes. [`failures_name_the_module_and_a_stopped_plugin_refuses_every_call`] shows dockerd's `AuthZRes` failure instead, with Portcullis stopped between the phases | 20.10, 26.1 |
//! | (beyond moby) chain order, two plugins | [`the_first_denial_in_a_chain_or_a_row_of_plugins_decides`] | 20.10, 26.1 |
//! | (beyond moby) trap, refused reload, plugin stopped and restarted | [`failures_name_the_module_and_a_stopped_plugin_refuses_every_call`] | 20.10, 26.1 |
//!
//! `authz_plugin_v2_test.go` is about managed plugins (`docker plugin
//! install` from a registry) and does not apply.
//!
//! What dockerd answers while the plugin is down, after retrying for ~15 s
//! (back-off 1, 2, 4, 8 s), with HTTP 500: `plugin NAME failed with error:
//! Post "URL": dial unix /run/docker/plugins/NAME.sock: connect: no such
//! file or directory`, where URL is
//! `http://%2Frun%2Fdocker%2Fplugins%2FNAME.sock/AuthZPlugin.AuthZReq` on
//! 20.10 and `http://plugin.moby.localhost/AuthZPlugin.AuthZReq` on 26.1
//! (`AuthZRes` for a call caught between the phases). There is no
//! `AuthZPlugin.…:` prefix: dockerd adds it to a plugin's non-200 answers
//! only. The CLI waits twice as long (its `/_ping`, then the call).
//!
//! Each test runs its scenario on every available daemon at once, one
//! daemon and its own plugins per version. Needs what tests/docker.rs needs
//! (and `openssl`, for the TLS session); a missing daemon is skipped with a
//! printed reason, except under `CI=true`, where it fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::dockerd::http::Message;
use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon_side_by_side, text};
use crate::operations::LogLine;
use crate::tls_e2e::{Identity::Alice, Session};
use crate::util::{Plugin, module, wat};

/// Every plugin here writes its decisions as JSON lines beside its plugin.toml.
const JSON_LOG: &str = "[log]\nformat = \"json\"\ndestination = \"decisions.log\"\n";

/// The chain that allows everything, and has no response-phase module.
fn allow_all() -> String {
    module("allow-all", &wat("allow"), "")
}

/// A plugin name no other test of this run uses.
fn plugin_name(tag: &str, version: Version) -> String {
    format!(
        "moby-{tag}-{}-{}",
        version.label().replace('.', ""),
        std::process::id()
    )
}

/// Portcullis on `/run/docker/plugins/<name>.sock`, where dockerd finds it,
/// with a JSON decision log; `portcullis reload` swaps its chain.
struct Authz {
    plugin: Plugin,
    name: String,
}

impl Authz {
    fn start(name: &str, modules: &str) -> Authz {
        let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
        let dir = tempfile::tempdir().expect("tempdir");
        let plugin = Plugin::start_with(dir, socket, name, &format!("{JSON_LOG}{modules}"))
            .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
        Authz {
            plugin,
            name: name.to_owned(),
        }
    }

    fn log_path(&self) -> PathBuf {
        self.plugin.dir.path().join("decisions.log")
    }

    /// Writes plugin.toml as [`start`](Self::start) did, with `modules`.
    fn write_config(&self, modules: &str) {
        let text = format!(
            "[plugin]\nname = \"{}\"\nsocket = \"{}\"\n\n{JSON_LOG}{modules}",
            self.name,
            self.plugin.socket.display()
        );
        std::fs::write(self.plugin.config(), text).expect("write plugin.toml");
    }

    /// Writes `modules` and runs `portcullis reload`.
    fn reload(&self, modules: &str) -> Output {
        self.write_config(modules);
        self.plugin.reload()
    }

    /// [`reload`](Self::reload), asserting that the new chain serves.
    fn load(&self, modules: &str) {
        self.write_config(modules);
        self.plugin.reload_ok();
    }

    fn decisions(&self) -> Vec<LogLine> {
        decisions(&self.log_path())
    }

    fn wait_for(&self, what: &str, matches: impl Fn(&LogLine) -> bool) -> LogLine {
        wait_for_decision(&self.log_path(), what, matches)
    }

    /// Sends a `GET /_ping` no other call sends and waits for its
    /// request-phase line: the log is written in the order decisions are
    /// made, so every line of a call answered before is in the file too.
    fn settle(&self, dockerd: &Dockerd, tag: &str) {
        let target = format!("/_ping?settle={tag}");
        dockerd.request("GET", &target, None).expect("GET /_ping");
        self.wait_for(&target, |l| l.phase == "request" && l.uri == target);
    }
}

/// The decision log's complete lines (one still being written is left out).
fn decisions(path: &Path) -> Vec<LogLine> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    complete
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a schema v1 line: {e}\n{line}"))
        })
        .collect()
}

/// Waits until the log at `path` has a line that `matches`, and returns it;
/// panics with the log after 30 s.
fn wait_for_decision(path: &Path, what: &str, matches: impl Fn(&LogLine) -> bool) -> LogLine {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(line) = decisions(path).into_iter().find(|l| matches(l)) {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no decision for {what} within 30 s:\n{}",
            std::fs::read_to_string(path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Lines of `phase` for a call whose request-target is `target`.
fn lines_of<'a>(lines: &'a [LogLine], phase: &str, target: &str) -> Vec<&'a LogLine> {
    lines
        .iter()
        .filter(|l| l.phase == phase && l.uri == target)
        .collect()
}

/// `docker --host <dockerd's socket>`, for calls that need more than
/// [`Dockerd::docker`]: an environment, or their output as it comes.
fn docker_command(dockerd: &Dockerd) -> Command {
    let mut command = Command::new(dockerd.version.own_cli());
    command
        .arg("--host")
        .arg(format!("unix://{}", dockerd.socket().display()));
    command
}

/// Runs `docker <args>` and asserts it succeeded; its trimmed stdout.
fn docker_ok(dockerd: &Dockerd, args: &[&str]) -> String {
    let output = dockerd.docker(args);
    assert!(
        output.status.success(),
        "docker {args:?} on {}: {}\ndockerd (end):\n{}",
        dockerd.version.label(),
        text(&output.stderr),
        tail(&dockerd.log(), 10)
    );
    text(&output.stdout).trim().to_owned()
}

/// Asserts that the CLI failed as for any daemon error (125 for `docker
/// run`, 1 otherwise) and printed `error`, this exact line.
fn assert_cli_error(args: &[&str], output: &Output, error: &str) {
    assert!(
        crate::dockerd::cli_failed_with(args, output, error),
        "docker {args:?}: expected a daemon error and the line\n  {error}\ngot {:?}, stderr:\n{}",
        output.status.code(),
        text(&output.stderr)
    );
}

/// Runs `docker <args>` and asserts that the daemon refused it with `error`.
fn refuses(dockerd: &Dockerd, args: &[&str], error: &str) {
    assert_cli_error(args, &dockerd.docker(args), error);
}

/// Asserts the daemon's answer: its status and the `message` of its JSON body.
fn assert_answer(answer: &Message, status: u16, message: &str) {
    let body: serde_json::Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|_| panic!("not a JSON error: {} {}", answer.status(), answer.text()));
    assert_eq!(
        (answer.status(), body["message"].as_str()),
        (status, Some(message)),
        "{}",
        answer.text()
    );
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Now, as `docker events --since` takes it (seconds and nanoseconds).
fn unix_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

/// A `docker` command whose output is read line by line while it runs
/// (`events`, `logs -f`, `attach`); killed on drop if it has not ended.
struct Streaming {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    args: String,
}

impl Streaming {
    fn start(dockerd: &Dockerd, args: &[&str]) -> Streaming {
        Streaming::spawn(dockerd, args, Stdio::null())
    }

    /// [`start`](Self::start) with a stdin to [`write`](Self::write) to,
    /// kept open until [`finish`](Self::finish).
    fn start_with_stdin(dockerd: &Dockerd, args: &[&str]) -> Streaming {
        Streaming::spawn(dockerd, args, Stdio::piped())
    }

    fn spawn(dockerd: &Dockerd, args: &[&str], stdin: Stdio) -> Streaming {
        let mut child = docker_command(dockerd)
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run docker");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines_in, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_in.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming {
            stdin: child.stdin.take(),
            child,
            lines,
            args: args.join(" "),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("started with a stdin");
        stdin.write_all(bytes).expect("write to docker's stdin");
    }

    /// Reads lines until one is `expected`; panics after 30 s.
    fn wait_for_line(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line == expected => return,
                Ok(line) => seen.push(line),
                Err(e) => panic!(
                    "docker {}: no line {expected:?} ({e}); read {seen:?}",
                    self.args
                ),
            }
        }
    }

    /// Closes its stdin and waits (30 s) for the command to end by itself;
    /// its exit status.
    fn finish(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for docker") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "docker {} did not end within 30 s",
                self.args
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// 10 MiB that compress badly (xorshift), for `docker cp`.
fn ten_mib() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..10 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// moby's allow, event-stream, duplicate-registration, load/import,
/// copy and header tests, with one plugin that allows everything and judges
/// responses too (allow.wat marked `response_phase = true`).
#[test]
fn allowed_calls_are_judged_in_both_phases_and_streams_still_flow() {
    on_every_daemon_side_by_side(allowed_calls);
}

fn allowed_calls(version: Version) {
    let name = plugin_name("allow", version);
    let authz = Authz::start(
        &name,
        &module("pass", &wat("allow"), "response_phase = true"),
    );
    // Named twice, as in moby's duplicate-registration test: asked once.
    let dockerd =
        Dockerd::start_with_args(version, &name, &[format!("--authorization-plugin={name}")]);
    dockerd.import_busybox();
    let files = tempfile::tempdir().expect("tempdir");
    let file = |name: &str| files.path().join(name).display().to_string();

    // An allowed `docker run`, while `docker events` streams.
    let events = Streaming::start(
        &dockerd,
        &[
            "events",
            "--since",
            &unix_now(),
            "--filter",
            "container=once",
            "--format",
            "{{.Action}}",
        ],
    );
    let run = docker_ok(
        &dockerd,
        &["run", "--name", "once", IMAGE, "echo", "allowed"],
    );
    assert_eq!(run, "allowed");
    events.wait_for_line("create");
    events.wait_for_line("start");
    drop(events);
    let id = docker_ok(&dockerd, &["inspect", "--format", "{{.Id}}", "once"]);
    for (phase, status) in [("request", None), ("response", Some(201))] {
        let create = authz.wait_for(&format!("create ({phase})"), |l| {
            l.phase == phase && l.action == "container_create" && l.uri.ends_with("?name=once")
        });
        assert!(
            create.allow && create.response_status == status,
            "{create:?}"
        );
    }
    for (phase, status) in [("request", None), ("response", Some(204))] {
        let start = authz.wait_for(&format!("start ({phase})"), |l| {
            l.phase == phase && l.uri.ends_with(&format!("/containers/{id}/start"))
        });
        assert_eq!(start.action, "container_start");
        assert!(start.allow && start.response_status == status, "{start:?}");
    }
    authz.wait_for("the events stream", |l| l.action == "docker_events");

    // One call, judged once in each phase; its answer is untouched.
    let probe = "/v1.41/version?probe=once-per-phase";
    let version_answer = dockerd.request("GET", probe, None).expect("GET /version");
    assert_eq!(version_answer.status(), 200, "{}", version_answer.text());
    assert_eq!(
        version_answer.header("Content-Type"),
        Some("application/json")
    );
    authz.settle(&dockerd, "version");
    let lines = authz.decisions();
    assert_eq!(lines_of(&lines, "request", probe).len(), 1, "{lines:#?}");
    let response = lines_of(&lines, "response", probe);
    assert_eq!(response.len(), 1, "{lines:#?}");
    assert_eq!(response[0].modules[0].name, "pass", "{:?}", response[0]);

    // Image archives and container exports, both ways.
    docker_ok(&dockerd, &["save", "-o", &file("save.tar"), IMAGE]);
    let loaded = docker_ok(&dockerd, &["load", "-i", &file("save.tar")]);
    assert_eq!(loaded, format!("Loaded image: {IMAGE}"));
    docker_ok(&dockerd, &["export", "-o", &file("export.tar"), "once"]);
    let imported = docker_ok(
        &dockerd,
        &["import", &file("export.tar"), "exported:latest"],
    );
    assert!(imported.starts_with("sha256:"), "{imported}");
    let from_export = docker_ok(&dockerd, &["run", "--rm", "exported:latest", "echo", "ok"]);
    assert_eq!(from_export, "ok");

    // `docker cp` of 10 MiB into the container and back.
    let big = ten_mib();
    std::fs::write(file("big.bin"), &big).expect("write big.bin");
    docker_ok(&dockerd, &["cp", &file("big.bin"), "once:/big.bin"]);
    docker_ok(&dockerd, &["cp", "once:/big.bin", &file("back.bin")]);
    let back = std::fs::read(file("back.bin")).expect("read back.bin");
    assert!(
        back == big,
        "docker cp gave back {} bytes, not the 10 MiB sent",
        back.len()
    );

    // `docker logs -f` streams while the container runs; `docker attach`
    // carries stdin in and stdout out.
    docker_ok(
        &dockerd,
        &[
            "run",
            "-d",
            "-i",
            "--init",
            "--name",
            "chat",
            IMAGE,
            "sh",
            "-c",
            "echo first; read line; echo \"got $line\"",
        ],
    );
    let logs = Streaming::start(&dockerd, &["logs", "-f", "chat"]);
    logs.wait_for_line("first");
    // (Its stdin stays open until the answer is read: on an end of input,
    // CLI 28 against 26.1 leaves before the container's output comes.)
    let mut attach = Streaming::start_with_stdin(&dockerd, &["attach", "chat"]);
    attach.write(b"hello\n");
    attach.wait_for_line("got hello");
    assert!(attach.finish().success(), "docker attach failed");
    logs.wait_for_line("got hello");
    assert!(logs.finish().success(), "docker logs -f failed");
    // Both were judged in the response phase too, once their streams ended.
    for (action, target) in [
        ("container_attach", "/containers/chat/attach?"),
        ("container_logs", "/logs?follow=1&"),
    ] {
        let line = authz.wait_for(&format!("{action} (response)"), |l| {
            l.phase == "response" && l.action == action && l.uri.contains(target)
        });
        assert_eq!(line.modules[0].name, "pass", "{line:?}");
    }

    docker_ok(&dockerd, &["rm", "-f", "once", "chat"]);
    drop(dockerd); // before its plugin
}

/// moby's TLS test: the user of a TLS client certificate (its CN) is what
/// Portcullis is told, in the request phase and in the response phase.
#[test]
fn a_tls_users_name_reaches_both_phases() {
    on_every_daemon_side_by_side(tls_user);
}

fn tls_user(version: Version) {
    // The session's daemon listens with --tlsverify behind an allow-all chain.
    let s = Session::start_named(version, "authobot", "moby", JSON_LOG);
    let server = s.allows(Alice, &["version", "--format", "{{.Server.Version}}"]);
    assert!(server.starts_with(version.label()), "{server}");
    let log = s.plugin.dir.path().join("decisions.log");
    for phase in ["request", "response"] {
        let line = wait_for_decision(&log, &format!("alice's /version ({phase})"), |l| {
            l.phase == phase && l.action == "docker_version"
        });
        assert_eq!(
            (line.user.as_deref(), line.authn_method.as_deref()),
            (Some("alice"), Some("TLS")),
            "{line:?}"
        );
    }
}

/// moby's deny-request, API-deny, deny-response and error-request tests:
/// what the CLI prints and what a raw call answers, word for word.
#[test]
fn denials_and_plugin_errors_reach_the_client_as_moby_words_them() {
    on_every_daemon_side_by_side(denials_and_errors);
}

fn denials_and_errors(version: Version) {
    let name = plugin_name("deny", version);
    let authz = Authz::start(&name, &allow_all());
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();
    let server_version = ["version", "--format", "{{.Server.Version}}"];

    // A deny in the request phase: 403, and no response phase.
    authz.load(&module("refuse-all", &wat("deny"), ""));
    let denied = format!("authorization denied by plugin {name}: refuse-all: not now");
    refuses(
        &dockerd,
        &server_version,
        &format!("Error response from daemon: {denied}"),
    );
    let probe = "/v1.41/version?probe=request-deny";
    assert_answer(&dockerd.request("GET", probe, None).unwrap(), 403, &denied);
    authz.settle(&dockerd, "request-deny");
    let lines = authz.decisions();
    let request = lines_of(&lines, "request", probe);
    assert!(
        request.len() == 1 && request[0].decided_by.as_deref() == Some("refuse-all"),
        "{request:?}"
    );
    assert!(lines_of(&lines, "response", probe).is_empty(), "{lines:#?}");

    // A deny in the response phase only: the client gets the error, though
    // the daemon has acted.
    authz.load(&module("hide-answers", &wat("deny-responses"), ""));
    let withheld =
        format!("authorization denied by plugin {name}: hide-answers: responses are withheld");
    // The CLI's API version is pinned: with the ping's answer withheld too,
    // it cannot learn the daemon's and would send its own (1.50 for CLI
    // 28), which the daemon refuses before any plugin is asked. (moby's
    // test lets every `/_ping` through instead.)
    let pinned = docker_command(&dockerd)
        .env("DOCKER_API_VERSION", "1.41")
        .args(server_version)
        .output()
        .expect("run docker version");
    assert_cli_error(
        &server_version,
        &pinned,
        &format!("Error response from daemon: {withheld}"),
    );
    let probe = "/v1.41/version?probe=response-deny";
    assert_answer(
        &dockerd.request("GET", probe, None).unwrap(),
        403,
        &withheld,
    );
    let create = dockerd
        .request(
            "POST",
            "/v1.41/containers/create?name=ghost",
            Some(br#"{"Image":"mini:latest","Cmd":["true"]}"#),
        )
        .unwrap();
    assert_answer(&create, 403, &withheld);
    authz.settle(&dockerd, "response-deny");
    let lines = authz.decisions();
    let (request, response) = (
        lines_of(&lines, "request", probe),
        lines_of(&lines, "response", probe),
    );
    assert!(request.len() == 1 && request[0].allow, "{request:?}");
    assert!(
        response.len() == 1
            && response[0].decided_by.as_deref() == Some("hide-answers")
            && response[0].response_status == Some(200),
        "{response:?}"
    );
    authz.load(&allow_all());
    let ghost = docker_ok(&dockerd, &["inspect", "--format", "{{.Name}}", "ghost"]);
    assert_eq!(ghost, "/ghost", "the refused create was carried out");

    // The plugin's error (Docker's `Err`, non-200): Portcullis refuses a
    // form-encoded body, whose values the daemon would read before the
    // query's, which is all the plugin sees.
    let failed = format!(
        "plugin {name} failed with error: AuthZPlugin.AuthZReq: portcullis: cannot decode the authz request: a form-encoded body overrides the query parameters, and Docker does not forward it to plugins"
    );
    let raw = crate::dockerd::form_body_image_create();
    assert_answer(&dockerd.send(&raw).unwrap(), 500, &failed);
    // The CLI sends one too when its config sets the header for calls
    // that set none themselves: `docker import` streams the tar untyped.
    let config = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        config.path().join("config.json"),
        r#"{"HttpHeaders":{"Content-Type":"application/x-www-form-urlencoded"}}"#,
    )
    .expect("config.json");
    let tar = config.path().join("empty.tar");
    std::fs::write(&tar, [0u8; 1024]).expect("empty tar");
    let args = ["import", &tar.display().to_string(), "formed:latest"];
    let import = docker_command(&dockerd)
        .env("DOCKER_CONFIG", config.path())
        .args(args)
        .output()
        .expect("run docker import");
    assert_cli_error(
        &args,
        &import,
        &format!("Error response from daemon: {failed}"),
    );
    assert_eq!(docker_ok(&dockerd, &["images", "-q", "formed"]), "");
    authz
        .plugin
        .wait_for_log("refusing undecodable request: portcullis: cannot decode", 2);

    docker_ok(&dockerd, &["rm", "ghost"]);
    drop(dockerd); // before its plugin
}

/// Beyond moby: in one chain the first module that denies decides and the
/// modules after it do not run; with two plugins (`--authorization-plugin`
/// twice, two Portcullis), the first that denies decides and the second is
/// not asked.
#[test]
fn the_first_denial_in_a_chain_or_a_row_of_plugins_decides() {
    on_every_daemon_side_by_side(chains_and_plugins);
}

fn chains_and_plugins(version: Version) {
    let (a, b) = (
        plugin_name("first", version),
        plugin_name("second", version),
    );
    let first = Authz::start(&a, &allow_all());
    let second = Authz::start(&b, &allow_all());
    let dockerd = Dockerd::start_with_args(version, &a, &[format!("--authorization-plugin={b}")]);

    // One chain: allow, deny, deny. The second module decides.
    first.load(
        &(module("gate", &wat("allow"), "")
            + &module("second-no", &wat("deny"), "")
            + &module("third-no", &wat("deny"), "")),
    );
    let by_first = format!("authorization denied by plugin {a}: second-no: not now");
    refuses(
        &dockerd,
        &["ps"],
        &format!("Error response from daemon: {by_first}"),
    );
    let first_denies = "/v1.41/containers/json?probe=first-denies";
    assert_answer(
        &dockerd.request("GET", first_denies, None).unwrap(),
        403,
        &by_first,
    );
    let line = first.wait_for(first_denies, |l| l.uri == first_denies);
    let ran: Vec<(&str, &str)> = line
        .modules
        .iter()
        .map(|m| (m.name.as_str(), m.outcome.as_str()))
        .collect();
    assert_eq!(ran, [("gate", "allow"), ("second-no", "deny")], "{line:?}");
    assert_eq!(line.decided_by.as_deref(), Some("second-no"));

    // Two plugins: the first allows, the second denies and is named.
    first.load(&allow_all());
    second.load(&module("refuse-all", &wat("deny"), ""));
    let by_second = format!("authorization denied by plugin {b}: refuse-all: not now");
    refuses(
        &dockerd,
        &["ps"],
        &format!("Error response from daemon: {by_second}"),
    );
    let second_denies = "/v1.41/containers/json?probe=second-denies";
    assert_answer(
        &dockerd.request("GET", second_denies, None).unwrap(),
        403,
        &by_second,
    );
    // The second plugin's log is in order: had it been asked about the
    // call the first refused, that line would come before this one.
    second.wait_for(second_denies, |l| l.uri == second_denies && !l.allow);
    let asked_second = decisions(&second.log_path());
    assert!(
        !asked_second.iter().any(|l| l.uri == first_denies),
        "the second plugin was asked about a call the first refused: {asked_second:#?}"
    );
    // The first plugin allowed the request, and heard no response.
    first.settle(&dockerd, "second-denies");
    let lines = first.decisions();
    let request = lines_of(&lines, "request", second_denies);
    assert!(request.len() == 1 && request[0].allow, "{request:?}");
    assert!(
        lines_of(&lines, "response", second_denies).is_empty(),
        "{lines:#?}"
    );
    drop(dockerd); // before its plugins
}

/// Beyond moby: a module that traps refuses, naming itself; a reload to a
/// config that does not load leaves the old chain deciding; and with
/// Portcullis stopped (SIGTERM: its socket removed) dockerd refuses every
/// call, in either phase, naming the plugin, until Portcullis serves the
/// same socket again.
#[test]
fn failures_name_the_module_and_a_stopped_plugin_refuses_every_call() {
    on_every_daemon_side_by_side(failures);
}

fn failures(version: Version) {
    let name = plugin_name("fail", version);
    let authz = Authz::start(&name, &allow_all());
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();

    // A trap denies, with the module's name.
    authz.load(
        &(module("gate", &wat("allow"), "") + &module("broken-policy", &wat("unreachable"), "")),
    );
    let trapped = format!(
        "Error response from daemon: authorization denied by plugin {name}: portcullis: module \"broken-policy\" failed: trap: wasm `unreachable` instruction executed"
    );
    refuses(&dockerd, &["ps"], &trapped);

    // A config that does not load: the reload is refused, the old chain
    // keeps deciding.
    let broken = authz.reload(&module(
        "missing",
        Path::new("/nonexistent/policy.wasm"),
        "",
    ));
    assert_eq!(
        broken.status.code(),
        Some(1),
        "{}{}",
        text(&broken.stdout),
        text(&broken.stderr)
    );
    let said = text(&broken.stdout);
    assert!(
        said.starts_with("reload failed, still serving chain ")
            && said.contains(": module \"missing\": file /nonexistent/policy.wasm does not exist"),
        "{said}"
    );
    refuses(&dockerd, &["ps"], &trapped);

    // Portcullis stops between the two phases of a call (a stop that waits
    // out its timeout: `sleep` as PID 1 ignores SIGTERM), and a new call
    // comes while it is down.
    authz.load(&allow_all());
    docker_ok(
        &dockerd,
        &["run", "-d", "--name", "stopme", IMAGE, "sleep", "300"],
    );
    let stop_target = "/v1.41/containers/stopme/stop?t=4";
    let (stopped, version_answer) = std::thread::scope(|scope| {
        let stop = scope.spawn(|| dockerd.request("POST", stop_target, None));
        authz.wait_for("the stop's request phase", |l| {
            l.phase == "request" && l.uri == stop_target
        });
        Command::new("kill")
            .args(["-TERM", &authz.plugin.pid().to_string()])
            .status()
            .expect("kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while authz.plugin.socket.exists() {
            assert!(Instant::now() < deadline, "the socket outlived SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
        let asked = Instant::now();
        let version_answer = dockerd
            .request("GET", "/v1.41/version", None)
            .expect("GET /version");
        // dockerd retried (back-off 1, 2, 4, 8 s) before it gave up.
        let waited = asked.elapsed();
        assert!(
            waited >= Duration::from_secs(14),
            "refused after {waited:?}"
        );
        (stop.join().unwrap().expect("the stop"), version_answer)
    });
    let unreachable = |endpoint: &str| {
        let url = match version {
            Version::V20_10 => {
                format!("http://%2Frun%2Fdocker%2Fplugins%2F{name}.sock/AuthZPlugin.{endpoint}")
            }
            Version::V26_1 | Version::V28_5 => {
                format!("http://plugin.moby.localhost/AuthZPlugin.{endpoint}")
            }
        };
        format!(
            "plugin {name} failed with error: Post \"{url}\": dial unix /run/docker/plugins/{name}.sock: connect: no such file or directory"
        )
    };
    assert_answer(&version_answer, 500, &unreachable("AuthZReq"));
    assert_answer(&stopped, 500, &unreachable("AuthZRes"));

    // Portcullis again on the same socket: calls pass, and the refused
    // stop had been carried out.
    let restarted = Authz::start(&name, &allow_all());
    let state = docker_ok(
        &dockerd,
        &["inspect", "--format", "{{.State.Running}}", "stopme"],
    );
    assert_eq!(state, "false");
    docker_ok(&dockerd, &["rm", "stopme"]);
    drop(dockerd); // before its plugin
    drop(restarted);
}
