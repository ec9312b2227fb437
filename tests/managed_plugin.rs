//! Portcullis as a managed (v2) Docker plugin, the way an administrator
//! installs one: `runtime/packaging/build-plugin` makes the directory,
//! `docker plugin create` and `docker plugin enable` install it into a
//! throwaway dockerd, which is then restarted behind it: named by
//! `--authorization-plugin` on dockerd 20.10, by `daemon.json`'s
//! `"authorization-plugins"` on 26.1.
//!
//! What mount resolution sees from inside the plugin: its own rootfs is not
//! the host, so a bind source (a host path) means nothing there. config.json
//! mounts the host's `/` at `/host` (rbind, so every mount under it; ro;
//! rslave, so mounts made on the host later appear too) and `[plugin]
//! host_root = "/host"` resolves every source inside it with
//! `RESOLVE_IN_ROOT`. Mounts made on the host after the plugin started are
//! seen only where the host's `/` is shared (systemd's default); the
//! plugin warns at start when they cannot be (this machine's `/` is
//! private); a shared mount under `/` shows what propagation brings in.
//! The test's links live in a directory the policy
//! allows: resolved in the plugin's own rootfs, where that directory does
//! not exist, a link to `/` would stay a harmless-looking missing path and
//! be allowed.

use std::path::Path;
use std::process::{Command, Output};

use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon, text};
use crate::util::{guest_wasm, repo_root};

/// The name the plugin is created under (each daemon has its own plugins):
/// not the `[plugin] name` inside it, which the plugin cannot know, so
/// self-protection must learn it.
const NAME: &str = "acme/portcullis:1.0";

#[test]
fn a_managed_plugin_guards_the_daemon_it_is_installed_in() {
    on_every_daemon(managed_plugin);
}

fn managed_plugin(version: Version) {
    let work = tempfile::Builder::new()
        .prefix("pmanaged")
        .tempdir_in("/tmp")
        .unwrap();
    let allowed = work.path().join("allowed");
    std::fs::create_dir_all(allowed.join("data")).unwrap();
    std::os::unix::fs::symlink("/", allowed.join("link-to-root")).unwrap();
    std::os::unix::fs::symlink("/etc", allowed.join("etc-link")).unwrap();
    let plugin_dir = build_plugin(work.path(), &allowed);

    let mut dockerd = Dockerd::start_without_plugin(version);
    // The image is imported before the policy (which refuses archives) guards the daemon.
    dockerd.import_busybox();
    for args in [
        &["plugin", "create", NAME, plugin_dir.to_str().unwrap()][..],
        &["plugin", "enable", NAME],
    ] {
        let done = dockerd.docker(args);
        assert!(
            done.status.success(),
            "docker {args:?} on {}: {}{}",
            version.label(),
            text(&done.stderr),
            dockerd.log()
        );
    }
    // A shared mount on the host, in place before the plugin starts.
    let shared = allowed.join("shared");
    let mut mounts = Mounts::default();
    mounts.tmpfs(&shared);
    run_ok(Command::new("mount").arg("--make-shared").arg(&shared));
    // Named both ways an administrator does: the flag on one daemon,
    // daemon.json's `authorization-plugins` on the other.
    match version {
        Version::V20_10 => dockerd.restart(Some(NAME), &[]),
        Version::V26_1 | Version::V28_5 => {
            let daemon_json = work.path().join("daemon.json");
            std::fs::write(
                &daemon_json,
                format!(r#"{{ "authorization-plugins": ["{NAME}"] }}"#),
            )
            .unwrap();
            dockerd.restart(None, &[format!("--config-file={}", daemon_json.display())]);
        }
    }

    // Whether mounts made on the host later can be seen inside depends on
    // the host's / propagating them; the plugin says so when they cannot.
    let warned = dockerd.log().contains("does not receive mount propagation");
    let host_propagates = portcullis::host_root::follows_host_mounts(Path::new("/")).is_ok();
    assert_eq!(warned, !host_propagates, "{}", dockerd.log());
    // Where it cannot, a source missing from its view is refused: it may
    // exist on a filesystem mounted since. Where it can, Docker creates it.
    let missing = allowed.join("not-yet");
    let bind = format!("{}:/x", missing.display());
    let args = ["run", "--rm", "-v", &bind, IMAGE, "true"];
    let run = dockerd.docker(&args);
    if host_propagates {
        assert!(run.status.success(), "{}", text(&run.stderr));
    } else {
        let source = missing.display();
        assert_refused(
            &dockerd,
            &args,
            &run,
            &format!(
                "Error response from daemon: authorization denied by plugin {NAME}: hardening: bind mount of {source} cannot be checked: cannot resolve {source}: not in Portcullis' view of the host, which misses filesystems mounted after it started (host_root without mount propagation)"
            ),
        );
    }

    // An allowed bind runs, end to end.
    let data = format!("{}:/x", allowed.join("data").display());
    let run = dockerd.docker(&["run", "--rm", "-v", &data, IMAGE, "true"]);
    assert!(
        run.status.success(),
        "{}: {}",
        version.label(),
        text(&run.stderr)
    );

    // A Unix socket in the allowed directory (a daemon's API, as a proxy
    // would put one there) and the directory holding it are refused: the
    // socket's type read through the host's root, the sockets below a
    // directory from the host's list (its PID 1's network namespace).
    let api = allowed.join("api");
    std::fs::create_dir(&api).unwrap();
    let socket = api.join("proxy.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let sock = socket.display();
    for (source, why) in [
        (
            socket.clone(),
            format!(
                "bind mount of {sock} is a Unix socket: the daemon listening there would serve the container (Docker's as its local, anonymous user)"
            ),
        ),
        (
            api.clone(),
            format!(
                "bind mount of {} holds the Unix socket {sock}: the daemon listening there would serve the container",
                api.display()
            ),
        ),
    ] {
        let bind = format!("{}:/x", source.display());
        let args = ["run", "--rm", "-v", &bind, IMAGE, "true"];
        assert_refused(
            &dockerd,
            &args,
            &dockerd.docker(&args),
            &format!(
                "Error response from daemon: authorization denied by plugin {NAME}: hardening: {why}"
            ),
        );
    }

    // A filesystem mounted on the host after the plugin started, under the
    // shared mount: the plugin's copy is its slave (`rslave`, runc's default
    // too), so it appears in the plugin's view and a link in it is seen
    // (unseen, its path would look missing and pass).
    let later = shared.join("later");
    std::fs::create_dir(&later).unwrap();
    mounts.tmpfs(&later);
    std::os::unix::fs::symlink("/", later.join("link-to-root")).unwrap();
    let source = later.join("link-to-root");
    let bind = format!("{}:/x", source.display());
    let args = ["run", "--rm", "-v", &bind, IMAGE, "true"];
    assert_refused(
        &dockerd,
        &args,
        &dockerd.docker(&args),
        &format!(
            "Error response from daemon: authorization denied by plugin {NAME}: hardening: bind mount of {} (resolved: /) is outside the allowed host paths",
            source.display()
        ),
    );

    // Links inside the allowed directory resolve on the host's root.
    let refused = |source: &Path, resolved: &str| {
        format!(
            "Error response from daemon: authorization denied by plugin {NAME}: hardening: bind mount of {} (resolved: {resolved}) is outside the allowed host paths",
            source.display()
        )
    };
    for (link, resolved) in [("link-to-root", "/"), ("etc-link", "/etc")] {
        let source = allowed.join(link);
        let bind = format!("{}:/x", source.display());
        let mount = format!("type=bind,src={},dst=/x", source.display());
        for args in [
            &["run", "--rm", "-v", &bind, IMAGE, "true"][..],
            &["run", "--rm", "--mount", &mount, IMAGE, "true"],
        ] {
            assert_refused(
                &dockerd,
                args,
                &dockerd.docker(args),
                &refused(&source, resolved),
            );
        }
    }
    let args = ["run", "--rm", "--privileged", IMAGE, "true"];
    assert_refused(
        &dockerd,
        &args,
        &dockerd.docker(&args),
        &format!(
            "Error response from daemon: authorization denied by plugin {NAME}: hardening: privileged containers are not allowed"
        ),
    );

    // It cannot be switched off through the daemon it guards.
    for args in [
        &["plugin", "disable", NAME][..],
        &["plugin", "rm", "-f", NAME],
    ] {
        assert_refused(
            &dockerd,
            args,
            &dockerd.docker(args),
            &format!(
                "Error response from daemon: authorization denied by plugin {NAME}: self-protection: plugin \"{NAME}\" is Portcullis itself: it may not be disabled, removed, reconfigured or upgraded ([protect] break_glass_users may)"
            ),
        );
    }

    // The host reaches its admin socket beside the plugin socket.
    let id = dockerd.docker(&["plugin", "inspect", "-f", "{{.Id}}", NAME]);
    assert!(id.status.success(), "{}", text(&id.stderr));
    let admin = Path::new("/run/docker/plugins")
        .join(text(&id.stdout).trim())
        .join("admin.sock");
    let status = crate::util::portcullis()
        .args(["status", "--json", "--admin-socket"])
        .arg(&admin)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let modules: Vec<&str> = status["chain"]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(modules, ["hardening", "read-only"], "{status}");
    assert_eq!(status["config"], "/etc/portcullis/plugin.toml", "{status}");
}

/// The plugin directory, built by the repository's script from the binary
/// and guests under test, with the shipped plugin.toml allowing binds from
/// `allowed` only.
fn build_plugin(work: &Path, allowed: &Path) -> std::path::PathBuf {
    let shipped = repo_root().join("runtime/packaging/managed-plugin/plugin.toml");
    let shipped = std::fs::read_to_string(shipped).unwrap();
    assert!(shipped.contains("bind_prefixes = []"), "{shipped}");
    let config = work.join("plugin.toml");
    std::fs::write(
        &config,
        shipped.replace(
            "bind_prefixes = []",
            &format!("bind_prefixes = [\"{}\"]", allowed.display()),
        ),
    )
    .unwrap();
    let guests = guest_wasm("hardening").parent().unwrap().to_owned();
    let out = work.join("plugin");
    let built = Command::new(repo_root().join("runtime/packaging/build-plugin"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_portcullis"))
        .arg("--guests")
        .arg(&guests)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert_eq!(text(&built.stdout).trim(), out.to_str().unwrap());
    out
}

/// Mounts made by the test, unmounted (innermost first) when it ends.
#[derive(Default)]
struct Mounts(Vec<std::path::PathBuf>);

impl Mounts {
    fn tmpfs(&mut self, at: &Path) {
        std::fs::create_dir_all(at).unwrap();
        run_ok(Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(at));
        self.0.push(at.to_owned());
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for at in self.0.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(at).status();
        }
    }
}

fn run_ok(command: &mut Command) {
    let done = command.output().unwrap();
    assert!(done.status.success(), "{command:?}: {}", text(&done.stderr));
}

fn assert_refused(dockerd: &Dockerd, args: &[&str], output: &Output, line: &str) {
    assert!(
        crate::dockerd::cli_failed_with(args, output, line),
        "docker {args:?} on {}: expected {line:?}, got {}\n{}",
        dockerd.version.label(),
        text(&output.stderr),
        dockerd.log()
    );
}
