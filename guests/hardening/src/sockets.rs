//! Binds that hand a container a Unix socket: the socket itself (however
//! it is reached: the host resolves links), or a directory holding one.
//! Whatever daemon listens there serves the container; Docker's own
//! socket (at its usual place, or any other a daemon listens on) serves it
//! as the anonymous local user, whoever created the container. That is
//! identity laundering: a TLS user allowed to bind it gets every right of
//! the local socket. Refused unless `allowed_sockets` names the socket.
//!
//! A directory is judged by the sockets the host found bound below it
//! (the kernel's list) and by the places daemons put theirs, which are
//! refused even when nothing listens there at the moment.

use portcullis_sdk::{FileType, MountInfo, MountKind};

use crate::Violations;
use crate::config::Config;

/// Where daemons put their sockets: a bind of any of these or of a
/// directory above one is refused (Docker, containerd, D-Bus and systemd,
/// Podman, CRI-O, BuildKit, rootless daemons under `/run/user`, Portcullis'
/// own admin socket).
const DAEMON_SOCKETS: [&str; 13] = [
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/docker",
    "/var/run/docker",
    "/run/containerd",
    "/var/run/containerd",
    "/run/dbus/system_bus_socket",
    "/run/systemd",
    "/run/podman",
    "/run/crio",
    "/run/buildkit",
    "/run/user",
    "/run/portcullis",
];

/// Checks the binds the prefix rule lets through (the others are refused
/// there already, with their own reason).
pub(crate) fn check(mounts: &[MountInfo], config: &Config, out: &mut Violations) {
    for mount in mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        let (Some(normalized), Some(resolved)) = (&mount.normalized, &mount.resolved) else {
            continue;
        };
        if !config.bind_allowed(resolved) || !config.bind_allowed(normalized) {
            continue;
        }
        let shown = if resolved == normalized {
            resolved.clone()
        } else {
            format!("{normalized} (resolved: {resolved})")
        };
        let allowed = |socket: &str| config.allowed_sockets.iter().any(|a| a == socket);
        match mount.file_type {
            Some(FileType::Socket) if !allowed(resolved) => out.push(format!(
                "bind mount of {shown} is a Unix socket: the daemon listening there would serve the container (Docker's as its local, anonymous user)"
            )),
            Some(FileType::Directory) => {
                let held = DAEMON_SOCKETS
                    .iter()
                    .copied()
                    .filter(|place| [resolved, normalized].iter().any(|dir| below(place, dir)))
                    .chain(mount.sockets.iter().map(String::as_str))
                    .find(|socket| !allowed(socket));
                if let Some(socket) = held {
                    out.push(format!(
                        "bind mount of {shown} holds the Unix socket {socket}: the daemon listening there would serve the container"
                    ));
                } else if let Some(why) = &mount.sockets_error {
                    out.push(format!(
                        "bind mount of {shown} cannot be checked for Unix sockets: {why}"
                    ));
                }
            }
            Some(
                FileType::Socket
                | FileType::File
                | FileType::Fifo
                | FileType::CharDevice
                | FileType::BlockDevice
                | FileType::Missing,
            ) => {}
            None | Some(FileType::Unknown) => out.push(format!(
                "bind mount of {shown} cannot be checked: the host could not tell what it is"
            )),
        }
    }
}

/// Whether `path` is `dir` or lies below it (whole components).
fn below(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;
    use std::path::Path;

    use portcullis_sdk::testing::RequestBuilder;
    use portcullis_sdk::{Decision, assert_allowed, assert_denied};

    use super::*;

    /// Hardening with binds allowed below `prefix` (and `allowed_sockets`).
    fn config(prefix: &Path, allowed_sockets: &[&Path]) -> Config {
        serde_json::from_value(serde_json::json!({
            "bind_prefixes": [prefix],
            "allowed_sockets": allowed_sockets,
        }))
        .unwrap()
    }

    fn run_with_bind(source: &Path, config: &Config) -> Decision {
        let body = serde_json::json!({
            "Image": "busybox",
            "HostConfig": {"Binds": [format!("{}:/s", source.display())]},
        });
        let req = RequestBuilder::post_json("/v1.41/containers/create", &body.to_string()).build();
        portcullis_sdk::IntoDecision::into_decision(crate::authorize(&req, config))
    }

    /// A directory below /tmp, resolved (it is the bind prefix).
    fn workdir() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        (dir, real)
    }

    #[test]
    fn a_socket_inside_the_bind_prefixes_is_refused_however_it_is_named() {
        let (_dir, dir) = workdir();
        let socket = dir.join("docker.sock");
        let _daemon = UnixListener::bind(&socket).unwrap();
        std::os::unix::fs::symlink(&socket, dir.join("link")).unwrap();
        let strict = config(&dir, &[]);
        assert_denied!(
            run_with_bind(&socket, &strict),
            &format!("bind mount of {} is a Unix socket", socket.display())
        );
        assert_denied!(
            run_with_bind(&dir.join("link"), &strict),
            &format!("(resolved: {}) is a Unix socket", socket.display())
        );
        assert_allowed!(run_with_bind(&socket, &config(&dir, &[&socket])));
    }

    #[test]
    fn a_directory_holding_a_bound_socket_is_refused() {
        let (_dir, dir) = workdir();
        std::fs::create_dir(dir.join("plain")).unwrap();
        std::fs::create_dir(dir.join("api")).unwrap();
        let socket = dir.join("api/proxy.sock");
        let _daemon = UnixListener::bind(&socket).unwrap();
        let strict = config(&dir, &[]);
        assert_denied!(
            run_with_bind(&dir, &strict),
            &format!("holds the Unix socket {}", socket.display())
        );
        assert_denied!(
            run_with_bind(&dir.join("api"), &strict),
            &format!("holds the Unix socket {}", socket.display())
        );
        assert_allowed!(run_with_bind(&dir.join("plain"), &strict));
        assert_allowed!(run_with_bind(&dir.join("api"), &config(&dir, &[&socket])));
    }

    #[test]
    fn the_directories_daemons_put_sockets_in_are_refused_even_when_empty() {
        let everything = config(Path::new("/"), &[]);
        for dir in ["/", "/run", "/var/run"] {
            assert_denied!(
                run_with_bind(Path::new(dir), &everything),
                "holds the Unix socket"
            );
        }
    }

    #[test]
    fn below_compares_whole_components() {
        assert!(below("/run/docker.sock", "/"));
        assert!(below("/run/docker.sock", "/run"));
        assert!(below("/run/docker.sock", "/run/docker.sock"));
        assert!(!below("/run/docker.sock", "/run/dock"));
        assert!(!below("/run", "/run/docker"));
    }
}
