//! The seed scenarios end to end, as TLS users: the real `docker` CLI,
//! holding a client certificate per user, talks to a throwaway dockerd
//! (tests/dockerd.rs) that verifies it (`--tlsverify`) and asks a running
//! Portcullis, serving an `examples/<seed>/plugin.toml` unchanged, about
//! every call. It proves that each example does, for users Docker itself
//! authenticated, what its README says: who is refused, with which exact
//! message (`Error response from daemon: authorization denied by plugin
//! NAME: MSG`, with the CLI's exit status), and who is let through.
//!
//! - seed 000, `examples/hello-first`: nothing but the ping before `docker
//!   run hello-world`, everything after; per user with `scope = "user"`.
//! - seeds 001/004, `examples/twistlock`: Twistlock's three policies for
//!   alice, the ContainerOps group (by config and by certificate OU) and the
//!   AuditGroup, and the OU=ops exec grant.
//! - seed 002, `examples/authobot`: the allowlist, and no bind of `/` in any
//!   form (`-v`, a symlink to `/`, `--mount`) nor `--privileged`.
//! - seed 003, `examples/opa`: the OPA tutorial's steps 8 to 16: allow all,
//!   deny all, the seccomp rule, read-only bob and writer alice, by
//!   certificate and by the tutorial's `Authz-User` header.
//! - `examples/ownership`: nobody but alice or an administrator (by name or
//!   certificate OU) touches alice's container.
//!
//! The certificates (a CA, the daemon's, one per [`Identity`]) are made once
//! per test run with the `openssl` CLI. Each scenario gets one daemon: it
//! starts behind an allow-all chain, the images are imported over the Unix
//! socket (no user), then the example's chain is loaded with `portcullis
//! reload` and the steps run. The CLI runs with a private, empty
//! `DOCKER_CONFIG`, so nothing of the machine's configuration leaks in.
//!
//! Needs what tests/docker.rs needs (root, dockerd 20.10 and `.ci/docker26`'s
//! 26.1, the `docker` CLI, busybox-static), plus `openssl`. A missing daemon
//! is skipped with a printed reason, except under `CI=true`, where it fails.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::dockerd::{Dockerd, IMAGE, Version, on_every_daemon, text};
use crate::util::{Plugin, guest_wasm, module, repo_root, wat};

use Identity::{Alice, Bob, Carol, Dave, Erin, Eve, Nameless, Root, Twice};

/// A TLS user of the daemon: the CN of a client certificate our CA signed,
/// which dockerd hands the plugin as `User`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    /// Twistlock's policy_3 (everything), the OPA tutorial's writer, and
    /// the owner of the containers in the ownership scenario.
    Alice,
    /// Twistlock's ContainerOps member (by config), the OPA tutorial's
    /// read-only user, and who is kept out of alice's containers.
    Bob,
    /// `OU=ops`, as tests/fixtures/certs/carol.pem: Twistlock's `group:ops`
    /// exec grant, an ownership administrator (`admin_groups`).
    Carol,
    /// Twistlock's AuditGroup member (by config): read-only containers.
    Dave,
    /// `OU=ContainerOps`: Twistlock's policy_1 through the certificate
    /// alone (no `groups` entry names erin).
    Erin,
    /// In no policy of any example.
    Eve,
    /// The ownership example's administrator by name (`admins`).
    Root,
    /// A certificate our CA signed without a CN (`O=acme, OU=ops`): Docker
    /// authenticates the caller and reports no user.
    Nameless,
    /// A certificate our CA signed for `CN=alice, CN=root`: Docker reports
    /// the last, `root`; other readers take the first.
    Twice,
}

impl Identity {
    const ALL: [Identity; 9] = [
        Identity::Alice,
        Identity::Bob,
        Identity::Carol,
        Identity::Dave,
        Identity::Erin,
        Identity::Eve,
        Identity::Root,
        Identity::Nameless,
        Identity::Twice,
    ];

    /// The user dockerd reports: the certificate's (last) common name.
    fn cn(self) -> &'static str {
        match self {
            Identity::Alice => "alice",
            Identity::Bob => "bob",
            Identity::Carol => "carol",
            Identity::Dave => "dave",
            Identity::Erin => "erin",
            Identity::Eve => "eve",
            Identity::Root | Identity::Twice => "root",
            Identity::Nameless => "",
        }
    }

    /// The name of its certificate and key files.
    fn file(self) -> &'static str {
        match self {
            Identity::Nameless => "nameless",
            Identity::Twice => "twice",
            other => other.cn(),
        }
    }

    /// The certificate's subject, as `openssl -subj` takes it.
    fn subject(self) -> &'static str {
        match self {
            Identity::Alice => "/CN=alice",
            Identity::Bob => "/CN=bob",
            Identity::Carol => "/CN=carol/O=acme/OU=ops/OU=audit",
            Identity::Dave => "/CN=dave",
            Identity::Erin => "/CN=erin/OU=ContainerOps",
            Identity::Eve => "/CN=eve",
            Identity::Root => "/CN=root",
            Identity::Nameless => "/O=acme/OU=ops",
            Identity::Twice => "/CN=alice/CN=root",
        }
    }
}

/// Who runs the CLI: a certificate over TLS, or nobody on the Unix socket;
/// either may also send the OPA tutorial's `Authz-User` header (from
/// `HttpHeaders` in the private `DOCKER_CONFIG`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    certificate: Option<Identity>,
    authz_user: Option<&'static str>,
}

/// The Unix socket, with no certificate and no header.
pub(crate) const LOCAL: Caller = Caller {
    certificate: None,
    authz_user: None,
};

impl Caller {
    /// The same caller, sending `Authz-User: <name>`.
    fn with_authz_user(self, name: &'static str) -> Caller {
        Caller {
            authz_user: Some(name),
            ..self
        }
    }
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.certificate {
            Some(identity) => write!(f, "{} (TLS)", identity.file())?,
            None => write!(f, "the Unix socket")?,
        }
        match self.authz_user {
            Some(user) => write!(f, " with Authz-User: {user}"),
            None => Ok(()),
        }
    }
}

impl From<Identity> for Caller {
    fn from(identity: Identity) -> Caller {
        Caller {
            certificate: Some(identity),
            authz_user: None,
        }
    }
}

/// The test PKI, made once per test run: a CA, the daemon's certificate for
/// 127.0.0.1 and one client certificate per [`Identity`]. Kept in memory
/// (the directory it was made in is gone) and written into each session's
/// own directory, which is removed with it.
struct Pki {
    /// File name (`ca.pem`, `server.pem`, `alice-key.pem`, …) and PEM text.
    files: Vec<(String, Vec<u8>)>,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(Pki::generate)
}

impl Pki {
    fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir = dir.path();
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Portcullis TLS e2e CA",
                "-keyout",
                "ca-key.pem",
                "-out",
                "ca.pem",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        issue(
            dir,
            "server",
            "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        for identity in Identity::ALL {
            issue(
                dir,
                identity.file(),
                identity.subject(),
                "extendedKeyUsage=clientAuth\n",
            );
        }
        let mut names = vec![
            "ca.pem".to_owned(),
            "server.pem".to_owned(),
            "server-key.pem".to_owned(),
        ];
        for identity in Identity::ALL {
            names.push(format!("{}.pem", identity.file()));
            names.push(format!("{}-key.pem", identity.file()));
        }
        let files = names
            .into_iter()
            .map(|name| {
                let pem = std::fs::read(dir.join(&name)).expect("generated PEM");
                (name, pem)
            })
            .collect();
        Pki { files }
    }

    /// Writes every certificate and key into `dir`.
    fn write_into(&self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("tls dir");
        for (name, pem) in &self.files {
            std::fs::write(dir.join(name), pem).expect("write PEM");
        }
    }
}

/// Signs a new EC key's certificate for `subject` with the CA in `dir`,
/// with the X.509v3 `extensions`; writes `<name>.pem` and `<name>-key.pem`.
fn issue(dir: &Path, name: &str, subject: &str, extensions: &str) {
    let (csr, ext) = (format!("{name}.csr"), format!("{name}.ext"));
    std::fs::write(dir.join(&ext), extensions).expect("extension file");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &csr,
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (is it installed?)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        text(&output.stderr)
    );
}

/// `examples/<name>/plugin.toml`, split at its first `[[module]]`.
struct Example {
    /// `[plugin]`, `[defaults]` and the like: kept by every chain of the
    /// session, so that a reload changes only the modules.
    settings: String,
    /// The example's modules, their paths made absolute (the file's are
    /// relative to examples/<name>/).
    modules: String,
}

impl Example {
    fn read(name: &str) -> Example {
        let path = repo_root().join("examples").join(name).join("plugin.toml");
        let text = std::fs::read_to_string(&path).expect("example plugin.toml");
        let at = text.find("\n[[module]]").expect("the example has modules") + 1;
        // Asking for one guest builds them all, into one directory.
        let release = std::fs::canonicalize(guest_wasm("hello_first"))
            .expect("built guest")
            .parent()
            .expect("release dir")
            .display()
            .to_string();
        let modules = text[at..].replace(
            "\"../../target/wasm32-wasip1/release/",
            &format!("\"{release}/"),
        );
        assert!(
            !modules.contains("\"../"),
            "{}: a module path the test does not know how to resolve",
            path.display()
        );
        Example {
            settings: text[..at].to_owned(),
            modules,
        }
    }
}

/// One scenario's daemon: Portcullis on `/run/docker/plugins/<name>.sock`
/// and a dockerd pointed at it, listening on its Unix socket and, with
/// `--tlsverify`, on 127.0.0.1:`port`. Dropping it stops the daemon (its
/// containers go with its data root), then the plugin (which removes its
/// socket), then removes the certificates and CLI configurations.
pub(crate) struct Session {
    dockerd: Dockerd,
    pub(crate) plugin: Plugin,
    files: tempfile::TempDir,
    /// The plugin's name, as dockerd's denials say it.
    name: String,
    port: u16,
    example: Example,
}

impl Session {
    /// Starts Portcullis behind an allow-all chain with `example_name`'s
    /// settings, a TLS dockerd behind it, and imports [`IMAGE`] and
    /// `hello-world` (the busybox image) over the Unix socket. The example's
    /// chain is not loaded yet: see [`load_example`](Self::load_example).
    fn start(version: Version, example_name: &str) -> Session {
        Session::start_named(version, example_name, example_name, "")
    }

    /// [`start`](Self::start), the plugin named `portcullis-tls-<tag>-…`
    /// (so that another test may use the same example at once), with
    /// `extra_settings` (e.g. a `[log]` table, which only a start reads)
    /// after the example's, kept by every chain of the session.
    pub(crate) fn start_named(
        version: Version,
        example_name: &str,
        tag: &str,
        extra_settings: &str,
    ) -> Session {
        Session::start_full(version, example_name, tag, extra_settings, &[])
    }

    /// [`start_named`](Self::start_named), the daemon given `dockerd_args`
    /// too (e.g. another `--host` it listens on).
    pub(crate) fn start_full(
        version: Version,
        example_name: &str,
        tag: &str,
        extra_settings: &str,
        dockerd_args: &[String],
    ) -> Session {
        let mut example = Example::read(example_name);
        example.settings.push_str(extra_settings);
        let name = format!(
            "portcullis-tls-{tag}-{}-{}",
            version.label(),
            std::process::id()
        );
        let files = tempfile::Builder::new()
            .prefix("ptls")
            .tempdir()
            .expect("tempdir");
        let tls = files.path().join("tls");
        pki().write_into(&tls);

        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("plugin.toml");
        let allow_all = module("allow-all", &wat("allow"), "");
        std::fs::write(&config, example.settings.clone() + &allow_all).expect("plugin.toml");
        let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
        let plugin = Plugin::serve(&config, socket, dir)
            .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));

        let port = free_port();
        let file = |name: &str| tls.join(name).display().to_string();
        let dockerd = Dockerd::start_with_args(
            version,
            &name,
            &[
                "--tlsverify".to_owned(),
                format!("--tlscacert={}", file("ca.pem")),
                format!("--tlscert={}", file("server.pem")),
                format!("--tlskey={}", file("server-key.pem")),
                format!("--host=tcp://127.0.0.1:{port}"),
            ]
            .into_iter()
            .chain(dockerd_args.iter().cloned())
            .collect::<Vec<_>>(),
        );
        wait_for_listener(port, &dockerd);
        dockerd.import_busybox();
        dockerd.import_busybox_as("hello-world:latest");
        Session {
            dockerd,
            plugin,
            files,
            name,
            port,
            example,
        }
    }

    /// Replaces the chain with `modules` (the example's settings kept) and
    /// reloads it with `portcullis reload`, which answers once the new chain
    /// serves.
    fn load(&self, modules: &str) {
        std::fs::write(
            self.plugin.config(),
            self.example.settings.clone() + modules,
        )
        .expect("plugin.toml");
        self.plugin.reload_ok();
    }

    /// Loads the example's own chain.
    pub(crate) fn load_example(&self) {
        self.load(&self.example.modules);
    }

    /// Runs `docker <args>` as `caller`: over TLS with its certificate, or
    /// on the Unix socket without one, with a private `DOCKER_CONFIG`.
    fn docker_as(&self, caller: impl Into<Caller>, args: &[&str]) -> Output {
        let caller = caller.into();
        let mut command = Command::new(self.dockerd.version.own_cli());
        for inherited in [
            "DOCKER_HOST",
            "DOCKER_CONTEXT",
            "DOCKER_TLS",
            "DOCKER_TLS_VERIFY",
            "DOCKER_CERT_PATH",
            "DOCKER_API_VERSION",
        ] {
            command.env_remove(inherited);
        }
        command.env("DOCKER_CONFIG", self.docker_config(caller.authz_user));
        match caller.certificate {
            Some(identity) => {
                let tls = self.files.path().join("tls");
                command
                    .arg("--tlsverify")
                    .arg("--tlscacert")
                    .arg(tls.join("ca.pem"))
                    .arg("--tlscert")
                    .arg(tls.join(format!("{}.pem", identity.file())))
                    .arg("--tlskey")
                    .arg(tls.join(format!("{}-key.pem", identity.file())))
                    .arg("--host")
                    .arg(format!("tcp://127.0.0.1:{}", self.port))
            }
            None => command
                .arg("--host")
                .arg(format!("unix://{}", self.dockerd.socket().display())),
        };
        command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    /// The CLI configuration directory: empty, or with `HttpHeaders`
    /// setting `Authz-User` (the OPA tutorial's step 12).
    fn docker_config(&self, authz_user: Option<&str>) -> PathBuf {
        let dir = match authz_user {
            None => self.files.path().join("docker-config"),
            Some(user) => self.files.path().join(format!("docker-config-{user}")),
        };
        if !dir.exists() {
            std::fs::create_dir_all(&dir).expect("DOCKER_CONFIG");
            if let Some(user) = authz_user {
                let config = serde_json::json!({ "HttpHeaders": { "Authz-User": user } });
                std::fs::write(dir.join("config.json"), config.to_string()).expect("config.json");
            }
        }
        dir
    }

    /// Runs the CLI as `caller` and asserts it succeeded; returns its
    /// trimmed stdout.
    pub(crate) fn allows(&self, caller: impl Into<Caller>, args: &[&str]) -> String {
        let caller = caller.into();
        let output = self.docker_as(caller, args);
        assert!(
            output.status.success(),
            "expected {caller} to be allowed docker {args:?}\n{}",
            self.report(&output)
        );
        text(&output.stdout).trim().to_owned()
    }

    /// Runs the CLI as `caller` and asserts that the plugin refused it with
    /// `msg`: the CLI exits as for any daemon error (125 for `docker run`,
    /// 1 otherwise) and prints dockerd's denial, this exact line.
    pub(crate) fn refuses(&self, caller: impl Into<Caller>, args: &[&str], msg: &str) {
        let caller = caller.into();
        let output = self.docker_as(caller, args);
        let denial = format!(
            "Error response from daemon: authorization denied by plugin {}: {msg}",
            self.name
        );
        assert!(
            crate::dockerd::cli_failed_with(args, &output, &denial),
            "expected {caller} to be refused docker {args:?} (exit status 125 for run, else 1) with\n  {denial}\n{}",
            self.report(&output)
        );
    }

    /// Runs the CLI as `caller` and asserts that Portcullis refused the
    /// call before any module ran (Docker's `Err`) because `why`.
    fn fails(&self, caller: impl Into<Caller>, args: &[&str], why: &str) {
        let caller = caller.into();
        let output = self.docker_as(caller, args);
        let error = format!(
            "Error response from daemon: plugin {} failed with error: AuthZPlugin.AuthZReq: portcullis: cannot decode the authz request: {why}",
            self.name
        );
        assert!(
            crate::dockerd::cli_failed_with(args, &output, &error),
            "expected {caller} to be refused docker {args:?} with\n  {error}\n{}",
            self.report(&output)
        );
    }

    /// What a failed step shows: the daemon, the CLI's output, the ends of
    /// both logs.
    fn report(&self, output: &Output) -> String {
        format!(
            "dockerd {}: exit status {:?}\nstdout:\n{}\nstderr:\n{}\nportcullis (end):\n{}\ndockerd (end):\n{}",
            self.dockerd.version.label(),
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr),
            tail(&self.plugin.log(), 12),
            tail(&self.dockerd.log(), 15),
        )
    }
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A TCP port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Waits until the daemon accepts TCP connections on `port` (it binds
/// every listener before it serves the Unix socket `start` waited on).
pub(crate) fn wait_for_listener(port: u16, dockerd: &Dockerd) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "dockerd {} does not listen on 127.0.0.1:{port}:\n{}",
            dockerd.version.label(),
            dockerd.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `condition` holds; panics saying `what` after 30 s.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Seed 000's message, word for word.
const SAY_HELLO: &str = "hello-first: The request authorization failed. You must say hello first.";

/// Seed 000 (examples/hello-first): alice is refused until she runs
/// hello-world, then allowed; with the example's `scope = "global"` her
/// hello lets bob in too, as in the seed; with `scope = "user"` bob must
/// say his own.
#[test]
fn tls_users_must_say_hello_first() {
    on_every_daemon(say_hello_first);
}

fn say_hello_first(version: Version) {
    let s = Session::start(version, "hello-first");
    s.load_example();

    // The seed's session, as alice.
    s.refuses(
        Alice,
        &["run", "--rm", IMAGE, "echo", "too early"],
        SAY_HELLO,
    );
    s.refuses(Bob, &["ps"], SAY_HELLO);
    let hello = s.allows(Alice, &["run", "--rm", "hello-world", "echo", "hello"]);
    assert_eq!(hello, "hello");
    let after = s.allows(Alice, &["run", "--rm", IMAGE, "echo", "after hello"]);
    assert_eq!(after, "after hello");
    // The example's scope is the seed's: one hello opens the daemon to all.
    let bob = s.allows(Bob, &["run", "--rm", IMAGE, "echo", "bob too"]);
    assert_eq!(bob, "bob too");

    // Per user: hellos are kept under each user's name, so the global one
    // above counts for nobody, and alice's new hello for alice alone.
    let user_scope = s
        .example
        .modules
        .replace("scope = \"global\"", "scope = \"user\"");
    assert_ne!(user_scope, s.example.modules, "the example sets scope");
    s.load(&user_scope);
    s.refuses(Alice, &["run", "--rm", IMAGE, "echo", "again"], SAY_HELLO);
    let hello = s.allows(Alice, &["run", "--rm", "hello-world", "echo", "hello"]);
    assert_eq!(hello, "hello");
    let after = s.allows(Alice, &["run", "--rm", IMAGE, "echo", "after hello"]);
    assert_eq!(after, "after hello");
    s.refuses(Bob, &["run", "--rm", IMAGE, "echo", "not yet"], SAY_HELLO);
    s.refuses(Bob, &["ps"], SAY_HELLO);
    let hello = s.allows(Bob, &["run", "--rm", "hello-world", "echo", "bob's hello"]);
    assert_eq!(hello, "bob's hello");
    s.allows(Bob, &["ps"]);
}

/// Seeds 001/004 (examples/twistlock): Twistlock's policies for TLS users:
/// alice everything (policy_3); ContainerOps `docker run` and `docker rm`
/// only (policy_1), whether membership comes from the config (bob) or the
/// certificate's OU (erin); the AuditGroup read-only containers (policy_2,
/// dave); OU=ops `docker exec` (carol); the handshake for anyone with a
/// certificate (eve); nothing on the Unix socket.
#[test]
fn tls_users_get_what_their_twistlock_policies_grant() {
    on_every_daemon(twistlock_policies);
}

fn twistlock_policies(version: Version) {
    let s = Session::start(version, "twistlock");
    s.load_example();
    let no_policy = |user: &str, action: &str| {
        format!(
            "rbac: user \"{user}\" is not allowed to perform {action} (no matching rbac policy)"
        )
    };
    let read_only = |user: &str, action: &str, method: &str| {
        format!(
            "rbac: user \"{user}\" is not allowed to perform {action} (policy \"policy_2\" grants it read-only, and this {method} call is not)"
        )
    };

    // policy_3: alice may run every Docker command.
    s.allows(
        Alice,
        &["run", "-d", "--name", "box", IMAGE, "sleep", "300"],
    );
    assert_eq!(s.allows(Alice, &["ps", "--format", "{{.Names}}"]), "box");
    assert_eq!(
        s.allows(Alice, &["exec", "box", "echo", "inside"]),
        "inside"
    );
    let images = s.allows(Alice, &["images", "--format", "{{.Repository}}"]);
    assert!(images.lines().any(|l| l == "mini"), "{images}");

    // policy_1: ContainerOps may `docker run` and `docker rm`, nothing else.
    for member in [Bob, Erin] {
        let user = member.cn();
        let out = s.allows(member, &["run", "--rm", IMAGE, "echo", user]);
        assert_eq!(out, user);
        s.allows(
            member,
            &["run", "-d", "--name", user, IMAGE, "sleep", "300"],
        );
        s.refuses(member, &["ps"], &no_policy(user, "container_list"));
        s.refuses(
            member,
            &["exec", "box", "true"],
            &no_policy(user, "container_inspect"),
        );
        s.allows(member, &["rm", "-f", user]);
    }

    // policy_2: the AuditGroup lists and inspects containers, and only that.
    assert_eq!(s.allows(Dave, &["ps", "--format", "{{.Names}}"]), "box");
    let name = s.allows(Dave, &["inspect", "--format", "{{.Name}}", "box"]);
    assert_eq!(name, "/box");
    s.refuses(
        Dave,
        &["run", "--rm", IMAGE, "true"],
        &read_only("dave", "container_create", "POST"),
    );
    s.refuses(
        Dave,
        &["exec", "box", "true"],
        &read_only("dave", "container_exec_create", "POST"),
    );
    s.refuses(
        Dave,
        &["rm", "-f", "box"],
        &read_only("dave", "container_delete", "DELETE"),
    );
    s.refuses(Dave, &["images"], &no_policy("dave", "image_list"));

    // ops_exec: a group from the certificate (carol's OU=ops) may exec.
    assert_eq!(s.allows(Carol, &["exec", "box", "echo", "ops"]), "ops");
    s.refuses(
        Carol,
        &["run", "--rm", IMAGE, "true"],
        &no_policy("carol", "container_create"),
    );
    s.refuses(Carol, &["ps"], &no_policy("carol", "container_list"));

    // everyone_handshakes: a certificate in no policy gets the handshake.
    let server = s.allows(Eve, &["version", "--format", "{{.Server.Version}}"]);
    assert!(server.starts_with(version.label()), "{server}");
    s.refuses(Eve, &["ps"], &no_policy("eve", "container_list"));
    s.refuses(
        Eve,
        &["run", "--rm", IMAGE, "true"],
        &no_policy("eve", "container_create"),
    );

    // The Unix socket has no user, and anonymous_user is not set.
    s.refuses(
        LOCAL,
        &["ps"],
        "rbac: unauthenticated call is not allowed to perform container_list (no TLS client certificate, and anonymous_user is not set)",
    );

    s.allows(Alice, &["rm", "-f", "box"]);
}

/// Seed 002 (examples/authobot): the seed's allowlist for a TLS user, and
/// its rule, no bind mounts (of `/`: by `-v`, through a symlink, by
/// `--mount`) and no privileged containers.
#[test]
fn tls_users_get_only_the_authobot_allowlist_without_binds_or_privilege() {
    on_every_daemon(authobot_allowlist);
}

fn authobot_allowlist(version: Version) {
    let s = Session::start(version, "authobot");
    s.load_example();
    let bind_of_root = "hardening: bind mount of / is outside the allowed host paths";

    // The seed's blog post: `docker run` works, `docker ps` does not.
    assert_eq!(s.allows(Alice, &["run", "--rm", IMAGE, "echo", "hi"]), "hi");
    s.refuses(
        Alice,
        &["ps"],
        "api-allowlist: GET /containers/json (container_list) is not in the allowlist",
    );

    // The seed's rule, `docker run -v /:/target alpine rm -rf /target/*`,
    // and the other ways to the same bind.
    s.refuses(
        Alice,
        &["run", "--rm", "-v", "/:/target", IMAGE, "true"],
        bind_of_root,
    );
    let link = s.files.path().join("root-link");
    std::os::unix::fs::symlink("/", &link).expect("symlink to /");
    let link = link.display().to_string();
    s.refuses(
        Alice,
        &[
            "run",
            "--rm",
            "-v",
            &format!("{link}:/target"),
            IMAGE,
            "true",
        ],
        &format!("hardening: bind mount of {link} (resolved: /) is outside the allowed host paths"),
    );
    s.refuses(
        Alice,
        &[
            "run",
            "--rm",
            "--mount",
            "type=bind,src=/,dst=/x",
            IMAGE,
            "true",
        ],
        bind_of_root,
    );
    s.refuses(
        Alice,
        &["run", "--rm", "--privileged", IMAGE, "true"],
        "hardening: privileged containers are not allowed",
    );

    // The rest of the allowlist: run -d, exec, inspect, kill, wait, start,
    // stop; rm and logs are not on it.
    let id = s.allows(
        Alice,
        &["run", "-d", "--name", "box", IMAGE, "sleep", "300"],
    );
    assert_eq!(
        s.allows(Alice, &["exec", "box", "echo", "inside"]),
        "inside"
    );
    let running = s.allows(Alice, &["inspect", "--format", "{{.State.Running}}", "box"]);
    assert_eq!(running, "true");
    s.allows(Alice, &["kill", "box"]);
    assert_eq!(s.allows(Alice, &["wait", "box"]), "137");
    s.allows(Alice, &["start", "box"]);
    // The CLI looks the container up first (allowed), then asks by ID.
    s.refuses(
        Alice,
        &["logs", "box"],
        &format!(
            "api-allowlist: GET /containers/{id}/logs (container_logs) is not in the allowlist"
        ),
    );
    s.allows(Alice, &["stop", "-t", "0", "box"]);
    s.refuses(
        Alice,
        &["rm", "box"],
        "api-allowlist: DELETE /containers/box (container_delete) is not in the allowlist",
    );
}

/// Seed 003 (examples/opa): the OPA tutorial's steps 8 to 16, with TLS
/// users and with the tutorial's own `Authz-User` header.
#[test]
fn tls_users_walk_through_the_opa_tutorial() {
    on_every_daemon(opa_tutorial);
}

fn opa_tutorial(version: Version) {
    let s = Session::start(version, "opa");
    let bob_read_only = "read-only-users: bob is read-only: POST /containers/create is not allowed";

    // Step 8: the allow-all policy; `docker ps` works.
    s.allows(Alice, &["ps"]);
    // Step 9: deny all, the policy swapped under the running daemon.
    s.load(&module("deny-all", &wat("deny"), ""));
    s.refuses(Alice, &["ps"], "deny-all: not now");
    s.refuses(
        Alice,
        &["run", "--rm", "hello-world", "echo", "hi"],
        "deny-all: not now",
    );

    // Steps 10-11: the example's chain; the seccomp rule.
    s.load_example();
    let hello = s.allows(Alice, &["run", "--rm", "hello-world", "echo", "hello"]);
    assert_eq!(hello, "hello");
    s.refuses(
        Alice,
        &[
            "run",
            "--rm",
            "--security-opt",
            "seccomp:unconfined",
            "hello-world",
            "true",
        ],
        "hardening: security option seccomp:unconfined is not allowed (it switches confinement off)",
    );

    // Steps 12-16 as written: the user named by `HttpHeaders` in the CLI's
    // config.json, on the Unix socket.
    s.refuses(
        LOCAL.with_authz_user("bob"),
        &["run", "--rm", "hello-world", "true"],
        bob_read_only,
    );
    s.allows(LOCAL.with_authz_user("bob"), &["ps"]);
    let alice = s.allows(
        LOCAL.with_authz_user("alice"),
        &["run", "--rm", "hello-world", "echo", "alice"],
    );
    assert_eq!(alice, "alice");
    s.refuses(LOCAL, &["ps"], "read-only-users: no Authz-User header");

    // The same with users Docker authenticated: the certificate is the
    // identity, and a header cannot change it.
    s.refuses(Bob, &["run", "--rm", "hello-world", "true"], bob_read_only);
    s.allows(Bob, &["ps"]);
    s.refuses(
        Caller::from(Bob).with_authz_user("alice"),
        &["run", "--rm", "hello-world", "true"],
        bob_read_only,
    );
    let alice = s.allows(Alice, &["run", "--rm", "hello-world", "echo", "alice"]);
    assert_eq!(alice, "alice");
    s.refuses(Carol, &["ps"], "read-only-users: unknown user \"carol\"");
}

/// examples/ownership: alice's container is hers; bob can neither stop,
/// exec into, read nor remove it; the administrators (root by name, carol
/// by her certificate's OU=ops) can; alice removes it.
#[test]
fn tls_users_keep_out_of_each_others_containers() {
    on_every_daemon(ownership_between_users);
}

fn ownership_between_users(version: Version) {
    let s = Session::start(version, "ownership");
    s.load_example();
    let id = s.allows(
        Alice,
        &[
            "run",
            "-d",
            "--name",
            "web",
            IMAGE,
            "sh",
            "-c",
            "echo started; exec sleep 300",
        ],
    );
    wait_until("web's first line", || {
        s.allows(Alice, &["logs", "web"]) == "started"
    });
    let not_bobs = "ownership: container \"web\" belongs to alice, not to bob";

    s.refuses(Bob, &["stop", "-t", "0", "web"], not_bobs);
    s.refuses(
        Bob,
        &["stop", "-t", "0", &id[..12]],
        &format!(
            "ownership: container \"{}\" belongs to alice, not to bob",
            &id[..12]
        ),
    );
    s.refuses(Bob, &["exec", "web", "true"], not_bobs);
    s.refuses(Bob, &["logs", "web"], not_bobs);
    s.refuses(Bob, &["rm", "-f", "web"], not_bobs);
    s.refuses(
        Bob,
        &["run", "--rm", "--volumes-from", "web", IMAGE, "true"],
        not_bobs,
    );

    // Administrators: root by name (`admins`), carol by OU (`admin_groups`).
    assert_eq!(s.allows(Root, &["exec", "web", "echo", "root"]), "root");
    assert_eq!(s.allows(Root, &["logs", "web"]), "started");
    assert_eq!(s.allows(Carol, &["exec", "web", "echo", "carol"]), "carol");
    assert_eq!(s.allows(Carol, &["stop", "-t", "0", "web"]), "web");

    // The owner removes it, and its record goes with it.
    assert_eq!(s.allows(Alice, &["rm", "web"]), "web");
    s.refuses(
        Alice,
        &["rm", "web"],
        "ownership: no owner is recorded for container \"web\" (created before Portcullis kept owners, or not known by that name: use its ID); only an administrator may act on it",
    );
    let left = s.allows(LOCAL, &["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(left, "", "containers left");
}

/// Findings 1 and 2 of issue 17's class 3, in examples/ownership: a
/// certificate the CA signed without a CN made Docker report no user, and
/// the host took the authenticated caller for the local socket (then
/// `anonymous = "admin"`); one for `CN=alice, CN=root` made Docker report
/// `root`, an administrator by name, while the certificate view said
/// alice. The host now refuses both before any module runs, on every
/// daemon, and the client is told why.
#[test]
fn tls_callers_without_exactly_one_common_name_are_refused_not_anonymous() {
    on_every_daemon(callers_without_one_common_name);
}

fn callers_without_one_common_name(version: Version) {
    let s = Session::start(version, "ownership");
    s.load_example();
    s.allows(
        Alice,
        &["run", "-d", "--name", "web", IMAGE, "sleep", "300"],
    );
    let no_cn = "the TLS client certificate has no common name, so Docker reports no user for a caller it authenticated";
    s.fails(Nameless, &["stop", "-t", "0", "web"], no_cn);
    s.fails(Nameless, &["ps"], no_cn);
    let two = "the TLS client certificate has 2 common names (\"alice\", \"root\"): Docker takes the last as the user, other readers the first";
    s.fails(Twice, &["stop", "-t", "0", "web"], two);
    s.fails(Twice, &["exec", "web", "true"], two);
    let running = s.allows(Alice, &["inspect", "--format", "{{.State.Running}}", "web"]);
    assert_eq!(
        running, "true",
        "the refused callers stopped alice's container"
    );
    s.allows(Alice, &["rm", "-f", "web"]);
}

/// examples/ownership: a named volume belongs to whoever created it or
/// first mounted it; bob can mount alice's volume in no form (seen before
/// volumes had owners: `-v theirvolume:/x` passed where `--volumes-from`
/// was refused), nor inspect or remove it; administrators can.
#[test]
fn tls_users_keep_out_of_each_others_volumes() {
    on_every_daemon(volumes_between_users);
}

fn volumes_between_users(version: Version) {
    let s = Session::start_named(version, "ownership", "volumes", "");
    s.load_example();
    assert_eq!(s.allows(Alice, &["volume", "create", "data"]), "data");
    s.allows(
        Alice,
        &[
            "run",
            "--rm",
            "-v",
            "data:/x",
            IMAGE,
            "sh",
            "-c",
            "echo secret > /x/f",
        ],
    );
    let not_bobs = "ownership: volume \"data\" belongs to alice, not to bob";
    for args in [
        &["run", "--rm", "-v", "data:/x", IMAGE, "true"][..],
        &[
            "run",
            "--rm",
            "--mount",
            "type=volume,source=data,target=/x",
            IMAGE,
            "true",
        ],
        &["volume", "inspect", "data"],
        &["volume", "rm", "data"],
        &["volume", "create", "data"],
    ] {
        s.refuses(Bob, args, not_bobs);
    }
    // bob's first mount of a new name makes it his, created by the daemon.
    s.allows(Bob, &["run", "--rm", "-v", "scratch:/x", IMAGE, "true"]);
    s.refuses(
        Alice,
        &["run", "--rm", "-v", "scratch:/x", IMAGE, "true"],
        "ownership: volume \"scratch\" belongs to bob, not to alice",
    );
    s.refuses(
        Bob,
        &["volume", "prune", "-f"],
        "ownership: volume prune removes every user's unused volumes; only an administrator may run it",
    );
    // Administrators: root by name, carol by OU.
    assert_eq!(
        s.allows(
            Root,
            &[
                "run",
                "--rm",
                "-v",
                "data:/x",
                IMAGE,
                "sh",
                "-c",
                "read l < /x/f; echo $l"
            ]
        ),
        "secret"
    );
    s.allows(Carol, &["volume", "inspect", "scratch"]);
    // The owners remove them, and the records go with them.
    assert_eq!(s.allows(Alice, &["volume", "rm", "data"]), "data");
    assert_eq!(s.allows(Bob, &["volume", "rm", "scratch"]), "scratch");
    assert_eq!(s.allows(Bob, &["volume", "create", "data"]), "data");
    assert_eq!(s.allows(Bob, &["volume", "rm", "data"]), "data");
}
