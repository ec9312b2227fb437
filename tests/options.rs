//! Option strings read as dockerd reads them (SECURITY.md, advisory 9):
//! a `local` volume's `o` is split on `,` and nothing else, so ` bind` is
//! not the bind flag but a word handed to the filesystem `type` names, and
//! debugfs, which ignores words it does not know, is mounted from the host.
//!
//! - through the real server and the real `hardening` wasm: the spellings
//!   of `bind` dockerd does not read as `bind` are judged as the filesystem
//!   they mount;
//! - against real dockerd 20.10, 26.1 and 28.5: the daemon mounts the
//!   host's debugfs for such a volume (behind an allow-all chain), and
//!   behind `hardening` the same volume is refused.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon, text};
use crate::util::{Plugin, guest_wasm, module, wat};

/// `hardening` allowing binds of `/tmp`, where the old reading of ` bind`
/// as a bind of `/tmp` passed.
/// `hardening` allowing binds below `allowed` (a private directory: one
/// that holds a Unix socket, as `/tmp` may, is refused as a bind).
fn hardening_chain(allowed: &std::path::Path) -> String {
    module(
        "hardening",
        &guest_wasm("hardening"),
        &format!(
            "[module.config]\nbind_prefixes = [\"{}\"]\n",
            allowed.display()
        ),
    )
}

/// An AuthZReq for `POST target` with a JSON `body`, as dockerd sends it.
fn authz_req(target: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    json!({
        "RequestMethod": "POST",
        "RequestUri": target,
        "RequestBody": base64::engine::general_purpose::STANDARD.encode(&body),
        "RequestHeaders": {"Content-Type": "application/json", "Content-Length": body.len().to_string()},
    })
    .to_string()
    .into_bytes()
}

/// The spellings of the bind flag that dockerd 20.10, 26.1 and 28.5 hand
/// to the filesystem as data (the differential suite shows each mounting
/// debugfs).
const NOT_BIND: [&str; 6] = [
    " bind",
    "bind ",
    "Bind",
    "nosuid, bind",
    "\trbind",
    "ro, rbind",
];

#[tokio::test]
async fn hardening_refuses_a_bind_flag_the_daemon_does_not_read_as_bind() {
    let allowed = tempfile::tempdir().unwrap();
    let plugin = Plugin::start(&hardening_chain(allowed.path()));
    let mut client = plugin.connect().await;
    for o in NOT_BIND {
        let options = json!({"type": "debugfs", "o": o, "device": "/tmp"});
        for (target, body) in [
            (
                "/v1.41/volumes/create",
                json!({"Name": "spaced", "DriverOpts": options}),
            ),
            (
                "/v1.41/containers/create",
                json!({"Image": "busybox", "HostConfig": {"Mounts": [{
                    "Type": "volume", "Source": "spaced", "Target": "/v",
                    "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": options}}
                }]}}),
            ),
        ] {
            let answer = client
                .post("/AuthZPlugin.AuthZReq", authz_req(target, &body))
                .await;
            assert!(!answer.allowed(), "{o:?} {target}: allowed");
            assert!(
                answer
                    .msg()
                    .contains("filesystem type \"debugfs\" is not allowed"),
                "{o:?} {target}: {}",
                answer.msg()
            );
        }
    }
    // The flag itself is a bind of the allowed directory.
    let bind = json!({"Name": "b", "DriverOpts": {"type": "debugfs", "o": "nosuid,bind", "device": allowed.path()}});
    let answer = client
        .post(
            "/AuthZPlugin.AuthZReq",
            authz_req("/v1.41/volumes/create", &bind),
        )
        .await;
    assert!(answer.allowed(), "{}", answer.msg());
}

/// What the host's mount table has at `path` (the last mount there).
fn fstype_at(path: &str) -> Option<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    table.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        if fields.get(4) != Some(&path) {
            return None;
        }
        fields.get(dash + 1).map(|t| (*t).to_owned())
    })
}

#[test]
fn real_dockerd_mounts_the_hosts_debugfs_for_a_spaced_bind_and_hardening_refuses_it() {
    on_every_daemon(spaced_bind_volume);
}

fn spaced_bind_volume(version: Version) {
    let label = version.label();
    let name = format!(
        "portcullis-options-{}-{}",
        label.replace('.', ""),
        std::process::id()
    );
    let socket = std::path::PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    let allow_all = module("allow", &wat("allow"), "");
    let plugin = Plugin::start_with(tempfile::tempdir().unwrap(), socket, &name, &allow_all)
        .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();

    // What the daemon does: the CLI passes `o= bind` as it is, and the
    // volume is the host's debugfs, read-write, not a bind of /tmp.
    let created = dockerd.docker(&[
        "volume",
        "create",
        "-o",
        "type=debugfs",
        "-o",
        "o= bind",
        "-o",
        "device=/tmp",
        "spaced",
    ]);
    assert!(
        created.status.success(),
        "{label}: {}",
        text(&created.stderr)
    );
    let run = dockerd.docker(&["run", "-d", "-v", "spaced:/v", IMAGE, "sleep", "60"]);
    assert!(run.status.success(), "{label}: {}", text(&run.stderr));
    let mountpoint = dockerd.get_json("/volumes/spaced")["Mountpoint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        fstype_at(&mountpoint).as_deref(),
        Some("debugfs"),
        "{label}: the volume at {mountpoint} is not the host's debugfs"
    );
    let id = text(&run.stdout).trim().to_owned();
    let _ = dockerd.docker(&["rm", "-f", &id]);

    // A CDI device name (`vendor.com/class=name`) on the daemon's own CLI
    // is a device request for the `cdi` driver, which every daemon records.
    let cdi = dockerd.docker(&["create", "--device", "vendor.example/gpu=0", IMAGE, "true"]);
    assert!(cdi.status.success(), "{label}: {}", text(&cdi.stderr));
    let cdi_id = text(&cdi.stdout).trim().to_owned();
    let host_config = dockerd.get_json(&format!("/containers/{cdi_id}/json"))["HostConfig"].clone();
    assert_eq!(
        host_config["DeviceRequests"][0]["Driver"], "cdi",
        "{label}: {host_config}"
    );
    assert_eq!(
        host_config["DeviceRequests"][0]["DeviceIDs"],
        json!(["vendor.example/gpu=0"]),
        "{label}"
    );
    let _ = dockerd.docker(&["rm", "-f", &cdi_id]);

    // Behind hardening, the same volume is judged as the debugfs it is.
    let config = plugin.config();
    let before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        before.replace(&allow_all, &hardening_chain(std::path::Path::new("/tmp"))),
    )
    .unwrap();
    plugin.reload_ok();
    let denied = format!("authorization denied by plugin {name}: hardening: local volume");
    let refused = dockerd.docker(&[
        "volume",
        "create",
        "-o",
        "type=debugfs",
        "-o",
        "o= bind",
        "-o",
        "device=/tmp",
        "again",
    ]);
    let stderr = text(&refused.stderr);
    assert!(
        !refused.status.success()
            && stderr.contains(&denied)
            && stderr.contains("filesystem type \"debugfs\" is not allowed"),
        "{label}: {stderr}"
    );
    for o in NOT_BIND {
        let body = json!({"Image": IMAGE, "Cmd": ["true"], "HostConfig": {"Mounts": [{
            "Type": "volume", "Source": "again", "Target": "/v",
            "VolumeOptions": {"DriverConfig": {"Name": "local",
                "Options": {"type": "debugfs", "o": o, "device": "/tmp"}}}
        }]}});
        let answer = dockerd
            .request(
                "POST",
                "/containers/create",
                Some(body.to_string().as_bytes()),
            )
            .unwrap();
        assert!(
            answer.status() == 403 && answer.text().contains("filesystem type \\\"debugfs\\\""),
            "{label}: {o:?}: {} {}",
            answer.status(),
            answer.text()
        );
    }
    // A CDI device name (`vendor.com/class=name`), which the CLI sends as a
    // device request for the daemon's `cdi` driver, is a device.
    let cdi = dockerd.docker(&["create", "--device", "vendor.example/gpu=0", IMAGE, "true"]);
    assert!(
        !cdi.status.success() && text(&cdi.stderr).contains("devices are not allowed"),
        "{label}: {}",
        text(&cdi.stderr)
    );
    let volumes = dockerd.get_json("/volumes")["Volumes"].clone();
    assert!(
        !volumes.to_string().contains("\"again\""),
        "{label}: a refused volume exists: {volumes}"
    );
    drop(dockerd); // stop the daemon before its plugin
}
