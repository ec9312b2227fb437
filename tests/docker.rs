//! End to end with a real dockerd: `--authorization-plugin` pointing at a
//! running Portcullis with the example guests.
//!
//! Needs root, `dockerd` (Debian's docker.io) and a static busybox
//! (busybox-static) for a registry-free image. Skips with a printed reason
//! when they are missing, except under CI (`CI=true`), where it must run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Plugin, guest_wasm, module};

const BUSYBOX: &str = "/bin/busybox";

/// Why this machine cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.as_deref() != Some("0") {
        return Some("not root (dockerd and /run/docker/plugins need root)".into());
    }
    for (binary, package) in [("dockerd", "docker.io"), ("docker", "docker.io")] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {binary}")])
            .output();
        if !found.is_ok_and(|o| o.status.success()) {
            return Some(format!("{binary} not found (apt-get install -y {package})"));
        }
    }
    if !Path::new(BUSYBOX).is_file() {
        return Some(format!(
            "{BUSYBOX} not found (apt-get install -y busybox-static)"
        ));
    }
    None
}

/// A throwaway dockerd; stopped (SIGTERM, then SIGKILL) and its state removed on drop.
struct Dockerd {
    child: Child,
    root: tempfile::TempDir,
}

impl Dockerd {
    fn start(plugin_name: &str) -> Dockerd {
        // Short paths: containerd's socket lives under the exec root.
        let root = tempfile::Builder::new()
            .prefix("pe2e")
            .tempdir_in("/tmp")
            .unwrap();
        let log = std::fs::File::create(root.path().join("dockerd.log")).unwrap();
        let path = |name: &str| root.path().join(name);
        let child = Command::new("dockerd")
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
            .arg(format!("--authorization-plugin={plugin_name}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let mut dockerd = Dockerd { child, root };
        let deadline = Instant::now() + Duration::from_secs(90);
        while !dockerd.docker(&["version"]).status.success() {
            if let Ok(Some(status)) = dockerd.child.try_wait() {
                panic!("dockerd exited ({status}):\n{}", dockerd.log());
            }
            assert!(
                Instant::now() < deadline,
                "dockerd not ready in 90 s:\n{}",
                dockerd.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        dockerd
    }

    fn socket(&self) -> PathBuf {
        self.root.path().join("docker.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("dockerd.log")).unwrap_or_default()
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("--host")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .output()
            .expect("run docker")
    }

    /// Imports a one-binary busybox image named `mini:latest` (no registry needed).
    fn import_busybox(&self) {
        let rootfs = self.root.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap();
        for applet in ["sh", "true", "echo"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        let script = format!(
            "tar -C {} -c . | docker --host unix://{} import - mini:latest",
            rootfs.display(),
            self.socket().display()
        );
        let output = Command::new("sh").args(["-c", &script]).output().unwrap();
        assert!(
            output.status.success(),
            "docker import: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn real_dockerd_refuses_privileged_runs_and_allows_the_rest() {
    if let Some(reason) = missing_prerequisite() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but cannot run the dockerd test: {reason}"
        );
        eprintln!("skipping the real-dockerd test: {reason}");
        return;
    }
    let name = format!("portcullis-e2e-{}", std::process::id());
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    let chain = module("no-privileged", &guest_wasm("no_privileged"), "")
        + &module(
            "read-only",
            &guest_wasm("read_only"),
            "[module.config]\nusers = [\"auditor\"]",
        );
    let plugin = Plugin::start_with(tempfile::tempdir().unwrap(), socket, &name, &chain)
        .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
    let dockerd = Dockerd::start(&name);

    let version = dockerd.docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        version.status.success(),
        "docker version: {}",
        text(&version.stderr)
    );
    assert!(!text(&version.stdout).trim().is_empty());

    dockerd.import_busybox();
    let run = dockerd.docker(&["run", "--rm", "mini", "echo", "hello-through-portcullis"]);
    assert!(
        run.status.success(),
        "plain run refused: {}\ndockerd:\n{}",
        text(&run.stderr),
        dockerd.log()
    );
    assert_eq!(text(&run.stdout).trim(), "hello-through-portcullis");

    let privileged = dockerd.docker(&["run", "--rm", "--privileged", "mini", "true"]);
    assert!(!privileged.status.success(), "privileged run was allowed");
    let expected = format!(
        "authorization denied by plugin {name}: no-privileged: privileged containers are not allowed"
    );
    assert!(
        text(&privileged.stderr).contains(&expected),
        "{}",
        text(&privileged.stderr)
    );

    // The daemon decodes JSON case-insensitively; so must the policy.
    let sneaky = raw_create(
        &dockerd.socket(),
        r#"{"Image":"mini","Cmd":["true"],"hostconfig":{"privileged":true}}"#,
    )
    .await;
    assert_eq!(sneaky.0, 403, "{sneaky:?}");
    assert!(sneaky.1.contains(&expected), "{sneaky:?}");

    let log = plugin.log();
    for action in [
        "docker_ping",
        "container_create",
        "container_start",
        "container_wait",
    ] {
        assert!(
            log.contains(&format!("action=\"{action}\"")),
            "no {action} in the audit log:\n{log}"
        );
    }
    drop(dockerd); // stop the daemon before its plugin
}

/// `POST /v1.41/containers/create` with `body`, straight to the daemon socket.
async fn raw_create(docker_socket: &Path, body: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let stream = tokio::net::UnixStream::connect(docker_socket)
        .await
        .unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post("/v1.41/containers/create")
        .header("Host", "docker")
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, text(&bytes))
}
