//! Portcullis as a system service: the systemd unit in
//! runtime/packaging/ passes `systemd-analyze verify` (with the binary and
//! man pages built here), and `serve` speaks systemd's readiness protocol
//! only once its sockets answer.

use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{module, portcullis, repo_root, wat};

#[test]
fn the_systemd_unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(repo_root().join("runtime/packaging/portcullis.service"))
        .expect("the unit file");
    assert!(
        unit.contains("ExecStart=/usr/bin/portcullis serve --config /etc/portcullis/plugin.toml")
    );
    assert!(unit.contains("Before=docker.service") && unit.contains("Type=notify"));
    // Installed, the binary is /usr/bin/portcullis and the man pages are
    // portcullis(1)...; here, the ones this test run built.
    let unit = unit.replace("/usr/bin/portcullis", env!("CARGO_BIN_EXE_portcullis"));
    std::fs::write(dir.path().join("portcullis.service"), unit).unwrap();
    let man1 = dir.path().join("man/man1");
    let out = portcullis()
        .args(["man", "--out-dir"])
        .arg(&man1)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("portcullis.service"))
        .env("MANPATH", dir.path().join("man"))
        .output()
        .expect("systemd-analyze (package systemd)");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn serve_tells_systemd_it_is_ready_once_its_sockets_answer() {
    let dir = tempfile::tempdir().unwrap();
    let notify = UnixDatagram::bind(dir.path().join("notify.sock")).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let config = dir.path().join("plugin.toml");
    std::fs::write(
        &config,
        format!(
            "[plugin]\nname = \"t\"\n\n{}",
            module("open", &wat("allow"), "")
        ),
    )
    .unwrap();
    let socket = dir.path().join("plugin.sock");
    let admin = dir.path().join("admin.sock");
    let mut child = portcullis()
        .args(["serve", "--no-watch", "--config"])
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .arg("--admin-socket")
        .arg(&admin)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env("NOTIFY_SOCKET", dir.path().join("notify.sock"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut message = [0u8; 64];
    let received = notify.recv(&mut message);
    let answers = |path: &Path| UnixStream::connect(path).is_ok();
    let (plugin_up, admin_up) = (answers(&socket), answers(&admin));
    let _ = child.kill();
    let _ = child.wait();
    let length = received.expect("READY=1 within 30 s");
    assert_eq!(&message[..length], b"READY=1");
    assert!(plugin_up && admin_up, "READY=1 before the sockets answered");
}

/// Whether this test may install packages here; under `CI=true` it must.
fn may_install_packages() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let apt = Command::new("sh")
        .args(["-c", "command -v apt-get && command -v dpkg-deb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if root && apt {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but cannot install a package here (root: {root}, apt: {apt})"
    );
    eprintln!("skipping: installing a package needs root and apt");
    false
}

/// Removes the package (and what it left) when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("apt-get")
            .args(["purge", "-y", "-q", "portcullis"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output();
    }
}

#[tokio::test]
async fn the_debian_package_installs_and_serves_its_default_chain() {
    if !may_install_packages() {
        return;
    }
    let guests = crate::util::guest_wasm("no_privileged")
        .parent()
        .unwrap()
        .to_owned();
    let out = tempfile::tempdir().unwrap();
    let built = Command::new(repo_root().join("runtime/packaging/build-deb"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_portcullis"))
        .arg("--guests")
        .arg(&guests)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = String::from_utf8(built.stdout).unwrap().trim().to_owned();

    let _installed = Installed;
    let install = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .arg(&deb)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}{}",
        String::from_utf8_lossy(&install.stdout),
        String::from_utf8_lossy(&install.stderr)
    );
    for installed in [
        "/usr/bin/portcullis",
        "/etc/portcullis/plugin.toml",
        "/lib/systemd/system/portcullis.service",
        "/usr/lib/portcullis/no_privileged.wasm",
        "/usr/lib/portcullis/hardening.wasm",
        "/usr/share/man/man1/portcullis-serve.1.gz",
    ] {
        assert!(Path::new(installed).is_file(), "{installed} not installed");
    }
    let conffiles = Command::new("dpkg-query")
        .args(["-W", "-f", "${Conffiles}", "portcullis"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&conffiles.stdout).contains("/etc/portcullis/plugin.toml"),
        "the config is not a conffile: {conffiles:?}"
    );
    // The installed unit, with the installed binary and man pages.
    let verify = Command::new("systemd-analyze")
        .args(["verify", "/lib/systemd/system/portcullis.service"])
        .output()
        .unwrap();
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let valid = Command::new("/usr/bin/portcullis")
        .args(["validate", "--config", "/etc/portcullis/plugin.toml"])
        .output()
        .unwrap();
    assert!(valid.status.success(), "{valid:?}");

    // The default chain, served by the installed binary (on private
    // sockets, so a dockerd on this machine is not affected).
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("plugin.sock");
    let mut served = Command::new("/usr/bin/portcullis")
        .args([
            "serve",
            "--no-watch",
            "--config",
            "/etc/portcullis/plugin.toml",
        ])
        .arg("--socket")
        .arg(&socket)
        .arg("--admin-socket")
        .arg(dir.path().join("admin.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while UnixStream::connect(&socket).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the installed portcullis did not listen"
        );
        assert!(
            served.try_wait().unwrap().is_none(),
            "the installed portcullis exited"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut client = crate::util::Client::connect(&socket).await;
    let plain = client.authz_req("ps__02_GET_containers-json.json").await;
    let privileged = client
        .authz_req("run_priv__02_POST_containers-create.json")
        .await;
    let _ = served.kill();
    let _ = served.wait();
    assert!(plain.allowed());
    assert_eq!(
        privileged.msg(),
        "no-privileged: privileged containers are not allowed"
    );
}

/// `.ci/demo`, the README's tour, run with the binaries of this test run:
/// it shows what it promises, and leaves no process, mount, socket or file.
#[test]
fn the_demo_tours_and_cleans_up_after_itself() {
    if !crate::dockerd::Version::V20_10.available() {
        return;
    }
    let guests = crate::util::guest_wasm("hardening")
        .parent()
        .unwrap()
        .to_owned();
    let out = Command::new("bash")
        .arg(repo_root().join(".ci/demo"))
        .env("PORTCULLIS", env!("CARGO_BIN_EXE_portcullis"))
        .env("GUESTS", &guests)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = stdout
        .split("--authorization-plugin=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the demo names its plugin")
        .to_owned();
    for shown in [
        "hello through Portcullis".to_owned(),
        format!(
            "authorization denied by plugin {name}: no-privileged: privileged containers are not allowed"
        ),
        format!(
            "authorization denied by plugin {name}: hardening: bind mount of / is outside the allowed host paths"
        ),
        "reloaded: chain ".to_owned(),
        "\"decided_by\":\"hardening\"".to_owned(),
    ] {
        assert!(stdout.contains(&shown), "no {shown:?} in:\n{stdout}");
    }
    let work = stdout
        .split("config   ")
        .nth(1)
        .and_then(|rest| rest.split("/plugin.toml").next())
        .expect("the demo's work directory")
        .to_owned();
    assert!(work.starts_with("/tmp/pdemo."), "{work}");
    assert!(!Path::new(&work).exists(), "{work} left behind");
    assert!(
        !Path::new(&format!("/run/docker/plugins/{name}.sock")).exists(),
        "plugin socket left behind"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&work), "mounts left behind:\n{mounts}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        assert!(
            !cmdline.contains(&work),
            "process {:?} left behind: {cmdline}",
            entry.file_name()
        );
    }
}
