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
