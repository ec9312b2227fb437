//! Identity laundering through sockets (issue 17, class 4), against every
//! real daemon: whoever may bind-mount a socket dockerd listens on into a
//! container gives what runs there a client Portcullis sees as the
//! anonymous local socket, whatever the creator's own identity. Here the
//! daemon also listens inside `/srv/data`, where the examples allow bind
//! mounts (a Docker socket "elsewhere", as a proxy or a second `--host`
//! puts it), and a TLS user asks for it: by its path, through a symlink,
//! with `--mount`, and by the directory holding it. `examples/hardening`
//! and the `examples/ownership` chain refuse each; a directory without a
//! socket still binds.
//!
//! Needs what tests/tls_e2e.rs needs; creates `/srv/data/<its own
//! directory>` and removes what it created.

use std::path::{Path, PathBuf};

use crate::dockerd::{IMAGE, Version, on_every_daemon};
use crate::tls_e2e::{Identity, Session};

/// A directory of ours below `/srv/data` (the examples' bind prefix),
/// where the daemon gets a second API socket; removed on drop, with
/// `/srv/data` and `/srv` if this made them.
struct SocketSpot {
    dir: PathBuf,
    made: Vec<PathBuf>,
}

impl SocketSpot {
    fn new(version: Version, tag: &str) -> SocketSpot {
        let mut made = Vec::new();
        for ancestor in ["/srv", "/srv/data"] {
            if !Path::new(ancestor).exists() {
                std::fs::create_dir(ancestor).expect("create the bind prefix");
                made.push(PathBuf::from(ancestor));
            }
        }
        let dir = PathBuf::from(format!(
            "/srv/data/pl-{tag}-{}-{}",
            version.label(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("the socket's directory");
        std::fs::create_dir(dir.join("plain")).expect("a directory without sockets");
        SocketSpot { dir, made }
    }

    /// Where the daemon listens too.
    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    /// `--host` for that socket.
    fn dockerd_args(&self) -> Vec<String> {
        vec![format!("--host=unix://{}", self.socket().display())]
    }
}

impl Drop for SocketSpot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        for made in self.made.iter().rev() {
            let _ = std::fs::remove_dir(made);
        }
    }
}

/// Every way to the daemon's socket is refused by the chain loaded in `s`,
/// with hardening's messages; a directory without a socket binds.
fn refuses_every_way_to_the_socket(s: &Session, spot: &SocketSpot, user: Identity) {
    let socket = spot.socket();
    assert!(
        std::fs::symlink_metadata(&socket).is_ok(),
        "the daemon listens on {}",
        socket.display()
    );
    let sock = socket.display().to_string();
    let is_a_socket = |shown: &str| {
        format!(
            "hardening: bind mount of {shown} is a Unix socket: the daemon listening there would serve the container (Docker's as its local, anonymous user)"
        )
    };
    let bind = |source: &str| format!("{source}:/var/run/docker.sock");

    s.refuses(
        user,
        &["run", "--rm", "-v", &bind(&sock), IMAGE, "true"],
        &is_a_socket(&sock),
    );
    let link = spot.dir.join("link");
    std::os::unix::fs::symlink(&socket, &link).expect("symlink to the socket");
    let link = link.display().to_string();
    s.refuses(
        user,
        &["run", "--rm", "-v", &bind(&link), IMAGE, "true"],
        &is_a_socket(&format!("{link} (resolved: {sock})")),
    );
    s.refuses(
        user,
        &[
            "run",
            "--rm",
            "--mount",
            &format!("type=bind,src={sock},dst=/var/run/docker.sock"),
            IMAGE,
            "true",
        ],
        &is_a_socket(&sock),
    );
    let dir = spot.dir.display().to_string();
    s.refuses(
        user,
        &["run", "--rm", "-v", &format!("{dir}:/d"), IMAGE, "true"],
        &format!(
            "hardening: bind mount of {dir} holds the Unix socket {sock}: the daemon listening there would serve the container"
        ),
    );
    let plain = format!("{dir}/plain:/p");
    let out = s.allows(user, &["run", "--rm", "-v", &plain, IMAGE, "echo", "bound"]);
    assert_eq!(out, "bound");
}

/// `examples/hardening`, unchanged (binds below `/srv/data`).
#[test]
fn hardening_refuses_binds_that_hand_a_container_a_docker_socket() {
    on_every_daemon(hardening_example);
}

fn hardening_example(version: Version) {
    let spot = SocketSpot::new(version, "hardening");
    let s = Session::start_full(version, "hardening", "launder-h", "", &spot.dockerd_args());
    s.load_example();
    refuses_every_way_to_the_socket(&s, &spot, Identity::Bob);
}

/// `examples/ownership`: who may create containers may not create one
/// holding the daemon's socket, which would act on everyone's containers
/// as the local socket.
#[test]
fn the_ownership_chain_refuses_binds_that_hand_a_container_a_docker_socket() {
    on_every_daemon(ownership_example);
}

fn ownership_example(version: Version) {
    let spot = SocketSpot::new(version, "ownership");
    let s = Session::start_full(version, "ownership", "launder-o", "", &spot.dockerd_args());
    s.load_example();
    refuses_every_way_to_the_socket(&s, &spot, Identity::Bob);
}
