//! Test harness: guests built for real, the real `portcullis` binary on a
//! real Unix socket, and an HTTP/1.1 keep-alive client like dockerd's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runtime/ has a parent")
        .to_owned()
}

/// The cargo target directory this test binary was built into.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// The path of guest `crate_name` (e.g. `no_privileged`) built for
/// wasm32-wasip1 in release; every guest is built once per test run.
pub fn guest_wasm(crate_name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| crate::guest_build::build_guests(&repo_root(), &target_dir()).map(drop))
        .as_ref()
        .expect("building the guests for wasm32-wasip1");
    let path = target_dir()
        .join("wasm32-wasip1/release")
        .join(format!("{crate_name}.wasm"));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// A hostile or toy module kept as reviewable text in tests/guests/.
pub fn wat(name: &str) -> PathBuf {
    repo_root().join("tests/guests").join(format!("{name}.wat"))
}

/// A captured fixture file.
pub fn fixture_path(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/docker-20.10").join(name)
}

/// The AuthZ body Docker sent for one phase (`"req"` or `"res"`) of a capture.
pub fn fixture_body(name: &str, phase: &str) -> Vec<u8> {
    let capture: Value =
        serde_json::from_slice(&std::fs::read(fixture_path(name)).expect("fixture")).expect("json");
    serde_json::to_vec(&capture[phase]["body"]).expect("serialize")
}

/// A `[[module]]` entry.
pub fn module(name: &str, path: &Path, extra: &str) -> String {
    format!(
        "[[module]]\nname = \"{name}\"\npath = \"{}\"\n{extra}\n",
        path.display()
    )
}

/// The `portcullis` binary under test.
pub fn portcullis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

/// A running `portcullis serve` on a private socket.
pub struct Plugin {
    child: Child,
    pub socket: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Plugin {
    /// Starts the plugin with these `[[module]]` entries; panics if it does not come up.
    pub fn start(modules: &str) -> Plugin {
        Plugin::try_start(modules)
            .unwrap_or_else(|stderr| panic!("portcullis did not start:\n{stderr}"))
    }

    /// Starts the plugin; `Err(stderr)` if it exits instead of listening.
    pub fn try_start(modules: &str) -> Result<Plugin, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("plugin.sock");
        Plugin::start_with(dir, socket, "portcullis-test", modules)
    }

    /// Starts the plugin named `name` on `socket`, config written into `dir`.
    pub fn start_with(
        dir: tempfile::TempDir,
        socket: PathBuf,
        name: &str,
        modules: &str,
    ) -> Result<Plugin, String> {
        let config = dir.path().join("plugin.toml");
        let text = format!(
            "[plugin]\nname = \"{name}\"\nsocket = \"{}\"\n\n{modules}",
            socket.display()
        );
        std::fs::write(&config, text).expect("write plugin.toml");
        Plugin::serve(&config, socket, dir)
    }

    /// Serves an existing `config` on `socket` (overriding its `[plugin] socket`),
    /// with module state in `dir`/state, compiled modules in `dir`/cache and
    /// the admin socket at `dir`/admin.sock (overriding the config's), and
    /// no file watch; the log goes into `dir`.
    pub fn serve(config: &Path, socket: PathBuf, dir: tempfile::TempDir) -> Result<Plugin, String> {
        Plugin::serve_with_args(config, socket, dir, &["--no-watch"])
    }

    /// [`serve`](Self::serve) with `args` in place of `--no-watch`.
    pub fn serve_with_args(
        config: &Path,
        socket: PathBuf,
        dir: tempfile::TempDir,
        args: &[&str],
    ) -> Result<Plugin, String> {
        let log = std::fs::File::create(dir.path().join("plugin.log")).expect("log file");
        let child = portcullis()
            .args(["serve", "--config"])
            .arg(config)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg("--admin-socket")
            .arg(dir.path().join("admin.sock"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn portcullis");
        let mut plugin = Plugin { child, socket, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::os::unix::net::UnixStream::connect(&plugin.socket).is_ok() {
                return Ok(plugin);
            }
            if let Ok(Some(_)) = plugin.child.try_wait() {
                return Err(plugin.log());
            }
            assert!(
                Instant::now() < deadline,
                "portcullis did not listen within 30 s:\n{}",
                plugin.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Its admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// Its plugin.toml (what [`reload`](Self::reload) reads again).
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("plugin.toml")
    }

    /// `portcullis reload` of its plugin.toml through its admin socket,
    /// which answers once the new chain serves or is refused.
    pub fn reload(&self) -> std::process::Output {
        portcullis()
            .arg("reload")
            .arg("--config")
            .arg(self.config())
            .arg("--admin-socket")
            .arg(self.admin_socket())
            .output()
            .expect("run portcullis reload")
    }

    /// [`reload`](Self::reload), asserting that the new chain serves.
    pub fn reload_ok(&self) {
        let output = self.reload();
        assert!(
            output.status.success()
                && String::from_utf8_lossy(&output.stdout).starts_with("reloaded: "),
            "portcullis reload: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the plugin wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("plugin.log")).unwrap_or_default()
    }

    /// A keep-alive HTTP/1.1 connection to the plugin, as dockerd holds one.
    pub async fn connect(&self) -> Client {
        Client::connect(&self.socket).await
    }

    /// Sends SIGHUP (reload) and waits until the log holds `count` lines
    /// containing `needle`; panics with the log after 30 s.
    pub fn hangup_and_wait_for(&self, needle: &str, count: usize) {
        Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill -HUP");
        self.wait_for_log(needle, count);
    }

    /// Waits until the log holds `count` lines containing `needle` (the log
    /// is written by a thread of its own, a moment after the answer);
    /// panics with the log after 30 s.
    pub fn wait_for_log(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.log().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "no {count}× {needle:?} in the log within 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `kill -9`: the plugin dies with no chance to flush or clean up; its
    /// directory (config, state, socket path) is handed back for a restart.
    pub fn kill_9(mut self) -> tempfile::TempDir {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait for portcullis");
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Sends SIGTERM, waits for the exit, and returns the status and the full log.
    pub fn terminate_keeping_log(mut self, log: &Path) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let status = self.child.wait().expect("wait for portcullis");
        (status, std::fs::read_to_string(log).unwrap_or_default())
    }
}

impl Drop for Plugin {
    /// SIGTERM first, so the plugin removes its socket; SIGKILL if it hangs.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 connection to the plugin.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
}

/// A plugin answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
}

impl Answer {
    /// `Allow` of a 200 answer (panics on anything else).
    pub fn allowed(&self) -> bool {
        assert_eq!(self.status, 200, "expected a 200 decision, got {self:?}");
        self.json["Allow"]
            .as_bool()
            .unwrap_or_else(|| panic!("no boolean Allow in {self:?}"))
    }

    /// `Msg` of the answer.
    pub fn msg(&self) -> &str {
        self.json["Msg"].as_str().unwrap_or("")
    }
}

impl Client {
    /// A keep-alive HTTP/1.1 connection to the plugin socket at `socket`.
    pub async fn connect(socket: &Path) -> Client {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .expect("connect to plugin socket");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
        tokio::spawn(connection);
        Client { sender }
    }

    /// POSTs `body` to `path` with no Content-Type, as dockerd does.
    pub async fn post(&mut self, path: &str, body: Vec<u8>) -> Answer {
        let request = hyper::Request::post(path)
            .header("Host", "")
            .header("Accept", "application/vnd.docker.plugins.v1.2+json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(request).await.expect("send");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer { status, json }
    }

    /// Sends a fixture's request phase to `AuthZPlugin.AuthZReq`.
    pub async fn authz_req(&mut self, fixture: &str) -> Answer {
        self.post("/AuthZPlugin.AuthZReq", fixture_body(fixture, "req"))
            .await
    }

    /// Sends a fixture's response phase to `AuthZPlugin.AuthZRes`.
    pub async fn authz_res(&mut self, fixture: &str) -> Answer {
        self.post("/AuthZPlugin.AuthZRes", fixture_body(fixture, "res"))
            .await
    }
}

/// The last `lines` lines of `log`, for failure messages.
pub fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
