//! Everyday Docker work behind the chain administrators deploy, with every
//! docker CLI release against every daemon: no everyday command may be
//! falsely refused, whatever API version the pair negotiates.
//!
//! The CLIs are 20.10's (`/usr/bin/docker`, Debian 12's docker.io, API
//! 1.41) and 28.5's (`.ci/docker28`, API 1.51); each negotiates down to
//! the daemon's version (28.5 → 20.10 speaks 1.41), and 28.5's daemon
//! accepts 20.10's 1.41. The chain is `hardening` configured as an
//! administrator who lets developers work: binds below one directory,
//! builds, image archives and copies allowed. (With `allowed_registries`
//! set, `docker load` is refused by design and local names go under
//! `local_registries`: tests/docker.rs proves that on real daemons.)
//! Each command must succeed; a refusal is reported with the plugin's
//! message and the pair that got it.
//!
//! Needs what tests/docker.rs needs, plus both CLIs; under `CI=true` a
//! missing CLI is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon_side_by_side, text};
use crate::util::{Plugin, guest_wasm, module, tail};

/// A docker CLI release under test.
struct Cli {
    label: &'static str,
    path: PathBuf,
}

impl Cli {
    /// 20.10's and 28.5's CLIs, whichever are installed (both under CI).
    fn all() -> Vec<Cli> {
        let candidates = [
            (
                "20.10",
                PathBuf::from("/usr/bin/docker"),
                "apt-get install -y docker.io",
            ),
            ("28.5", Version::V28_5.own_cli(), "bash .ci/docker28"),
        ];
        let mut found = Vec::new();
        for (label, path, install) in candidates {
            let version = Command::new(&path).arg("--version").output();
            let wanted = format!(
                "Docker version {}",
                label.split('.').next().unwrap_or(label)
            );
            match version {
                Ok(out) if text(&out.stdout).starts_with(&wanted) => {
                    found.push(Cli { label, path })
                }
                other => {
                    let why = match other {
                        Ok(out) => text(&out.stdout).trim().to_owned(),
                        Err(e) => e.to_string(),
                    };
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "CI=true but the {label} CLI is missing at {} ({why}; {install})",
                        path.display()
                    );
                    eprintln!("skipping the {label} CLI: {why} ({install})");
                }
            }
        }
        found
    }
}

#[test]
fn everyday_commands_pass_on_every_cli_and_daemon_pair() {
    on_every_daemon_side_by_side(everyday_on);
}

fn everyday_on(version: Version) {
    let clis = Cli::all();
    let name = format!(
        "portcullis-everyday-{}-{}",
        version.label().replace('.', ""),
        std::process::id()
    );
    let work = tempfile::tempdir().unwrap();
    let allowed = work.path().join("data");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::write(allowed.join("hello.txt"), "hello\n").unwrap();
    let config = format!(
        "[module.config]\nbind_prefixes = [\"{}\"]\n\
         allow_image_archives = true\nallow_build = true\nallow_copy_to_containers = true\n",
        allowed.display()
    );
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    let plugin = Plugin::start_with(
        tempfile::tempdir().unwrap(),
        socket,
        &name,
        &module("hardening", &guest_wasm("hardening"), &config),
    )
    .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
    let dockerd = Dockerd::start(version, &name);
    dockerd.import_busybox();
    for cli in &clis {
        let session = Session {
            dockerd: &dockerd,
            cli,
            work: work.path(),
            plugin: &plugin,
        };
        session.everyday_work(&allowed);
        eprintln!(
            "everyday: {} CLI against dockerd {} ({}): every command allowed",
            cli.label,
            version.label(),
            version.exact()
        );
    }
    drop(dockerd); // stop the daemon before its plugin
}

/// One CLI against one daemon.
struct Session<'a> {
    dockerd: &'a Dockerd,
    cli: &'a Cli,
    work: &'a Path,
    plugin: &'a Plugin,
}

impl Session<'_> {
    /// Runs `docker <args>` and asserts it succeeded; its trimmed stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        self.assert_ok(args, &output);
        text(&output.stdout).trim().to_owned()
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.cli.path);
        command
            .env_remove("DOCKER_API_VERSION")
            .env(
                "DOCKER_CONFIG",
                self.work.join(format!("config-{}", self.cli.label)),
            )
            // Both CLIs' classic builder: no buildx on this machine.
            .env("DOCKER_BUILDKIT", "0")
            .arg("--host")
            .arg(format!("unix://{}", self.dockerd.socket().display()))
            .args(args);
        command.output().expect("run docker")
    }

    fn assert_ok(&self, args: &[&str], output: &Output) {
        assert!(
            output.status.success(),
            "{} CLI against dockerd {}: `docker {}` failed:\n{}\n(portcullis log tail)\n{}",
            self.cli.label,
            self.dockerd.version.label(),
            args.join(" "),
            text(&output.stderr),
            tail(&self.plugin.log(), 15)
        );
    }

    /// A name unique to this CLI.
    fn name(&self, what: &str) -> String {
        format!("{what}-{}", self.cli.label.replace('.', ""))
    }

    fn everyday_work(&self, allowed: &Path) {
        let file = |name: &str| self.work.join(self.name(name)).display().to_string();
        let container = self.name("web");
        let renamed = self.name("web2");
        let volume = self.name("vol");
        let network = self.name("net");

        // Looking around.
        self.ok(&["version"]);
        self.ok(&["info"]);
        self.ok(&["images"]);
        self.ok(&["ps", "-a"]);
        self.ok(&["system", "df"]);
        self.ok(&["image", "history", IMAGE]);
        self.ok(&["image", "inspect", IMAGE]);

        // Running things.
        assert_eq!(
            self.ok(&["run", "--rm", "--network", "none", IMAGE, "echo", "hi"]),
            "hi"
        );
        self.ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &container,
            IMAGE,
            "sleep",
            "600",
        ]);
        self.ok(&["ps"]);
        self.ok(&["logs", &container]);
        assert_eq!(self.ok(&["exec", &container, "echo", "inside"]), "inside");
        self.ok(&["inspect", &container]);
        self.ok(&["top", &container]);
        self.ok(&["stats", "--no-stream", &container]);
        self.ok(&["diff", &container]);
        self.ok(&["update", "--cpu-shares", "512", &container]);
        self.ok(&["rename", &container, &renamed]);
        self.ok(&["restart", "-t", "0", &renamed]);

        // Files in and out.
        self.ok(&["cp", &format!("{renamed}:/bin/busybox"), &file("busybox")]);
        let hello = allowed.join("hello.txt");
        self.ok(&[
            "cp",
            &hello.display().to_string(),
            &format!("{renamed}:/hello.txt"),
        ]);
        assert_eq!(
            self.ok(&["exec", &renamed, "sh", "-c", "cat /hello.txt"]),
            "hello"
        );

        // Volumes and binds.
        self.ok(&["volume", "create", &volume]);
        self.ok(&["volume", "ls"]);
        self.ok(&["volume", "inspect", &volume]);
        self.ok(&[
            "run",
            "--rm",
            "-v",
            &format!("{volume}:/data"),
            IMAGE,
            "sh",
            "-c",
            "echo x > /data/x",
        ]);
        let bind = format!("{}:/data:ro", allowed.display());
        assert_eq!(
            self.ok(&[
                "run",
                "--rm",
                "-v",
                &bind,
                IMAGE,
                "sh",
                "-c",
                "cat /data/hello.txt"
            ]),
            "hello"
        );
        let mount = format!(
            "type=bind,source={},target=/data,readonly",
            allowed.display()
        );
        self.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--mount",
            &mount,
            IMAGE,
            "true",
        ]);

        // Networks.
        self.ok(&["network", "ls"]);
        self.ok(&["network", "create", &network]);
        self.ok(&["network", "inspect", &network]);
        self.ok(&["network", "rm", &network]);

        // Images: tag, commit, save/load, export/import, build.
        let tagged = format!("{}:tagged", self.name("mini"));
        self.ok(&["tag", IMAGE, &tagged]);
        let committed = format!("{}:committed", self.name("mini"));
        self.ok(&["commit", &renamed, &committed]);
        self.ok(&["save", "-o", &file("image.tar"), &tagged]);
        self.ok(&["rmi", &tagged]);
        self.ok(&["load", "-i", &file("image.tar")]);
        self.ok(&["export", "-o", &file("fs.tar"), &renamed]);
        let imported = format!("{}:imported", self.name("mini"));
        self.ok(&["import", &file("fs.tar"), &imported]);
        let context = self.work.join(self.name("context"));
        std::fs::create_dir_all(&context).unwrap();
        std::fs::write(context.join("greeting"), "built\n").unwrap();
        std::fs::write(
            context.join("Dockerfile"),
            format!(
                "FROM {IMAGE}\nCOPY greeting /greeting\nCMD [\"sh\", \"-c\", \"cat /greeting\"]\n"
            ),
        )
        .unwrap();
        let built = format!("{}:built", self.name("mini"));
        self.ok(&[
            "build",
            "-q",
            "--network",
            "none",
            "-t",
            &built,
            &context.display().to_string(),
        ]);
        assert_eq!(
            self.ok(&["run", "--rm", "--network", "none", &built]),
            "built"
        );

        // Stopping and cleaning up.
        self.ok(&["pause", &renamed]);
        self.ok(&["unpause", &renamed]);
        self.ok(&["stop", "-t", "0", &renamed]);
        self.ok(&["start", &renamed]);
        self.ok(&["kill", &renamed]);
        self.ok(&["rm", "-f", &renamed]);
        self.ok(&["volume", "rm", &volume]);
        self.ok(&["rmi", &tagged, &committed, &imported, &built]);
        self.ok(&["container", "prune", "-f"]);
        self.ok(&["image", "prune", "-f"]);
    }
}
