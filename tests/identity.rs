//! Identity as Docker and Go form it, against every real daemon: a client
//! certificate with an odd subject (no CN, two CNs, a CN in a multi-valued
//! RDN, T.61, BMP and other string types, values that are not strings,
//! several OUs, a chain with a stranger's certificate) is presented to a
//! dockerd started with `--tlsverify`, the AuthZReq it sends is recorded
//! by the differential suite's proxy on its way to a running Portcullis,
//! and the `User` dockerd reports is compared with what the host makes of
//! the same request (`Envelope::from_authz`: the user and the certificate
//! view policies see, or a refusal) and with what the client was told.
//!
//! Rule under test: an authenticated caller is never anonymous, and the
//! certificate view agrees with the `User` dockerd reports, or the host
//! refuses the call (Docker's `Err`, which the client sees). Each case
//! says what Go makes of the certificate on each daemon: the `User` it
//! reports, or that the TLS handshake fails (Go refuses the certificate,
//! so no plugin is asked).
//!
//! Needs root, the three daemons (tests/dockerd.rs) and `openssl`.

mod certs;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use portcullis_envelope::identity::IdentityError;
use portcullis_envelope::{AuthzRequest, Envelope, EnvelopeError, Phase};

use crate::differential::proxy::Proxy;
use crate::dockerd::{Dockerd, Version, text};
use crate::tls_e2e::{free_port, wait_for_listener};
use crate::util::{Plugin, module, wat};
use certs::{
    BMP, CN, IA5, INTEGER, NUMERIC, O, OU, PRINTABLE, Pki, T61, UNIVERSAL, attr, name, rdn, ucs2,
    utf8,
};

/// What should come of one certificate on one daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// Go refuses the certificate: the handshake fails, no plugin is asked.
    Rejected,
    /// dockerd reports `User` = `user` and the host agrees: the envelope's
    /// user and the certificate view's CN are `user`, its OUs `ous`.
    Agree { user: String, ous: Vec<String> },
    /// dockerd reports `user` (`None`: no `User` field) and the host
    /// refuses the call for `why`; the client is told.
    Refused { user: Option<String>, why: Why },
}

/// The kind of [`IdentityError`] a refusal must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    NoCommonName,
    SeveralCommonNames,
    AmbiguousName,
}

impl Why {
    fn matches(self, err: &IdentityError) -> bool {
        matches!(
            (self, err),
            (Why::NoCommonName, IdentityError::NoCommonName)
                | (
                    Why::SeveralCommonNames,
                    IdentityError::SeveralCommonNames(_)
                )
                | (Why::AmbiguousName, IdentityError::AmbiguousName(_))
        )
    }
}

fn agree(user: &str) -> Expect {
    agree_with_ous(user, &[])
}

fn agree_with_ous(user: &str, ous: &[&str]) -> Expect {
    Expect::Agree {
        user: user.to_owned(),
        ous: ous.iter().map(|&s| s.to_owned()).collect(),
    }
}

fn refused(user: Option<&str>, why: Why) -> Expect {
    Expect::Refused {
        user: user.map(str::to_owned),
        why,
    }
}

/// Whether the daemon's Go reads certificates the newer way (measured:
/// 28.5 does, 20.10 and 26.1 do not): it accepts name values that are not
/// strings (and skips them), reads T.61 strings as Latin-1 rather than raw
/// bytes, and refuses BMPStrings holding surrogates and IPv4-mapped IPv6
/// addresses among the subject alternative names.
fn newer_go(version: Version) -> bool {
    version == Version::V28_5
}

/// One certificate of the corpus.
struct Case {
    name: &'static str,
    subject: Vec<u8>,
    /// openssl extension lines beyond `extendedKeyUsage=clientAuth`.
    extensions: &'static str,
    /// A stranger's self-signed certificate (CN=root) sent after the client's own.
    with_stranger: bool,
    expect: Box<dyn Fn(Version) -> Expect + Send + Sync>,
}

fn case(
    name: &'static str,
    subject: Vec<u8>,
    expect: impl Fn(Version) -> Expect + Send + Sync + 'static,
) -> Case {
    Case {
        name,
        subject,
        extensions: "",
        with_stranger: false,
        expect: Box::new(expect),
    }
}

fn corpus() -> Vec<Case> {
    let cn = |s: &str| utf8(CN, s);
    let ou = |s: &str| utf8(OU, s);
    vec![
        case("plain", name(&[rdn(&[cn("alice")])]), |_| agree("alice")),
        case(
            "no_common_name",
            name(&[rdn(&[utf8(O, "acme")]), rdn(&[ou("ops")])]),
            |_| refused(None, Why::NoCommonName),
        ),
        case("empty_subject", name(&[]), |_| {
            refused(None, Why::NoCommonName)
        }),
        Case {
            extensions: "subjectAltName=URI:spiffe://acme.test/alice,email:alice@acme.test\n",
            ..case("subject_alternative_names_only", name(&[]), |_| {
                refused(None, Why::NoCommonName)
            })
        },
        case("empty_common_name", name(&[rdn(&[cn("")])]), |_| {
            refused(None, Why::NoCommonName)
        }),
        case(
            "two_common_names",
            name(&[rdn(&[cn("alice")]), rdn(&[cn("root")])]),
            |_| refused(Some("root"), Why::SeveralCommonNames),
        ),
        case(
            "two_common_names_in_one_rdn",
            name(&[rdn(&[cn("alice"), cn("root")])]),
            |_| refused(Some("root"), Why::SeveralCommonNames),
        ),
        case(
            "an_empty_common_name_after_one",
            name(&[rdn(&[cn("alice")]), rdn(&[cn("")])]),
            |_| refused(None, Why::SeveralCommonNames),
        ),
        case(
            "common_name_in_a_multi_valued_rdn",
            name(&[rdn(&[ou("ops"), cn("carol")])]),
            |_| agree_with_ous("carol", &["ops"]),
        ),
        case(
            "several_organizational_units",
            name(&[
                rdn(&[cn("carol")]),
                rdn(&[utf8(O, "acme")]),
                rdn(&[ou("ops")]),
                rdn(&[ou("audit")]),
                rdn(&[ou("b"), ou("a")]),
            ]),
            |_| agree_with_ous("carol", &["ops", "audit", "b", "a"]),
        ),
        case("utf8_common_name", name(&[rdn(&[cn("álice")])]), |_| {
            agree("álice")
        }),
        case(
            "spaces_and_nul_are_kept",
            name(&[rdn(&[cn(" alice\u{0}")])]),
            |_| agree(" alice\u{0}"),
        ),
        case(
            "printable_string",
            name(&[rdn(&[attr(CN, PRINTABLE, b"erin")])]),
            |_| agree("erin"),
        ),
        case(
            "printable_string_with_an_at_sign",
            name(&[rdn(&[attr(CN, PRINTABLE, b"erin@acme")])]),
            |_| Expect::Rejected,
        ),
        case(
            "ia5_string",
            name(&[rdn(&[attr(CN, IA5, b"frank")])]),
            |_| agree("frank"),
        ),
        case(
            "numeric_string",
            name(&[rdn(&[attr(CN, NUMERIC, b"1234")])]),
            |_| agree("1234"),
        ),
        case("t61_ascii", name(&[rdn(&[attr(CN, T61, b"dave")])]), |_| {
            agree("dave")
        }),
        case(
            "t61_beyond_ascii",
            name(&[rdn(&[attr(CN, T61, b"\xe9ve")])]),
            |v| {
                let user = if newer_go(v) { "éve" } else { "\u{fffd}ve" };
                refused(Some(user), Why::AmbiguousName)
            },
        ),
        case(
            "t61_organizational_unit_beyond_ascii",
            name(&[rdn(&[cn("eve")]), rdn(&[attr(OU, T61, b"\xe9")])]),
            |_| refused(Some("eve"), Why::AmbiguousName),
        ),
        case(
            "bmp_string",
            name(&[rdn(&[attr(CN, BMP, &ucs2("bob"))])]),
            |_| agree("bob"),
        ),
        case(
            "bmp_string_with_terminator",
            name(&[rdn(&[attr(CN, BMP, &ucs2("bob\u{0}"))])]),
            |_| agree("bob"),
        ),
        case(
            "bmp_string_with_a_surrogate",
            name(&[rdn(&[attr(CN, BMP, b"\x00b\xd8\x00")])]),
            |v| {
                if newer_go(v) {
                    Expect::Rejected
                } else {
                    refused(Some("b\u{fffd}"), Why::AmbiguousName)
                }
            },
        ),
        case(
            "universal_string",
            name(&[rdn(&[attr(CN, UNIVERSAL, b"\0\0\0a")])]),
            |v| {
                if !newer_go(v) {
                    Expect::Rejected
                } else {
                    refused(None, Why::AmbiguousName)
                }
            },
        ),
        case(
            "integer_common_name",
            name(&[rdn(&[attr(CN, INTEGER, b"\x05")])]),
            |v| {
                if !newer_go(v) {
                    Expect::Rejected
                } else {
                    refused(None, Why::AmbiguousName)
                }
            },
        ),
        case(
            "integer_common_name_then_a_string",
            name(&[rdn(&[attr(CN, INTEGER, b"\x05")]), rdn(&[cn("alice")])]),
            |v| {
                if !newer_go(v) {
                    Expect::Rejected
                } else {
                    refused(Some("alice"), Why::SeveralCommonNames)
                }
            },
        ),
        case(
            "empty_rdn_before_the_common_name",
            name(&[rdn(&[]), rdn(&[cn("alice")])]),
            |_| agree("alice"),
        ),
        Case {
            extensions: "subjectAltName=DNS:alice.acme.test,email:alice@acme.test,URI:spiffe://acme.test/alice,IP:10.0.0.7,IP:2001:db8::7\n",
            ..case(
                "organizations_and_alternative_names",
                name(&[
                    rdn(&[utf8(O, "acme")]),
                    rdn(&[utf8(O, "acme-eu"), ou("ops")]),
                    rdn(&[cn("alice")]),
                ]),
                |_| agree_with_ous("alice", &["ops"]),
            )
        },
        Case {
            extensions: "subjectAltName=IP:::ffff:10.0.0.8\n",
            ..case(
                "an_ipv4_mapped_ipv6_address",
                name(&[rdn(&[cn("alice")])]),
                |v| {
                    if newer_go(v) {
                        Expect::Rejected
                    } else {
                        agree("alice")
                    }
                },
            )
        },
        Case {
            with_stranger: true,
            ..case(
                "a_stranger_certificate_after_the_client",
                name(&[rdn(&[cn("alice")])]),
                |_| agree("alice"),
            )
        },
    ]
}

/// What came of one case on one daemon.
#[derive(Debug)]
struct Seen {
    /// The first AuthZReq dockerd sent, if it asked the plugin.
    request: Option<AuthzRequest>,
    /// What the client was told.
    told: Told,
}

/// What a client was told.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Told {
    /// The call was allowed.
    Allowed,
    /// The daemon answered with this error.
    Refused(String),
    /// No answer (the handshake failed), and what the client printed.
    Nothing(String),
}

#[test]
fn identities_agree_with_what_every_dockerd_reports_or_the_call_is_refused() {
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for version in Version::ALL {
        if !version.available() {
            continue;
        }
        let (compared, problems) = run(version);
        summary.push(format!(
            "dockerd {}: {} certificates, {} fields compared, {} disagreements",
            version.label(),
            corpus().len(),
            compared,
            problems.len()
        ));
        failures.extend(
            problems
                .into_iter()
                .map(|p| format!("dockerd {}: {p}", version.label())),
        );
    }
    eprintln!("{}", summary.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs the corpus against one daemon; returns the fields compared and
/// every problem found.
fn run(version: Version) -> (usize, Vec<String>) {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let upstream = dir.path().join("portcullis.sock");
    let name = format!("portcullis-id-{}-{}", version.label(), std::process::id());
    let plugin = Plugin::start_with(
        dir,
        upstream.clone(),
        &name,
        &module("allow", &wat("allow"), ""),
    )
    .unwrap_or_else(|log| panic!("portcullis did not start:\n{log}"));
    let proxy = Proxy::start(
        Path::new(&format!("/run/docker/plugins/{name}.sock")),
        &upstream,
    );
    let port = free_port();
    let file = |f: &str| pki.path(f).display().to_string();
    let dockerd = Dockerd::start_with_args(
        version,
        &name,
        &[
            "--tlsverify".to_owned(),
            format!("--tlscacert={}", file("ca.pem")),
            format!("--tlscert={}", file("server.pem")),
            format!("--tlskey={}", file("server-key.pem")),
            format!("--host=tcp://127.0.0.1:{port}"),
        ],
    );
    wait_for_listener(port, &dockerd);

    let mut compared = 0;
    let mut problems = Vec::new();
    for case in corpus() {
        pki.client(case.name, &case.subject, case.extensions);
        let stranger = case
            .with_stranger
            .then(|| pki.stranger(&format!("{}-stranger", case.name), "/CN=root"));
        let before = proxy.recorded();
        let Some(told) = present(port, &pki, case.name, stranger.as_deref()) else {
            problems.push(format!(
                "case {}: no client could load the certificate to present it",
                case.name
            ));
            continue;
        };
        let request = proxy
            .since(before)
            .first()
            .map(|r| serde_json::from_slice::<AuthzRequest>(&r.body).expect("an AuthZReq"));
        let seen = Seen { request, told };
        let expected = (case.expect)(version);
        match check(&seen, &expected, case.with_stranger) {
            Ok(fields) => compared += fields,
            Err(problem) => problems.push(format!(
                "case {}: expected {expected:?}\n  {problem}\n  the client was told {:?}",
                case.name, seen.told
            )),
        }
    }
    let errors = proxy.errors();
    assert!(errors.is_empty(), "proxy: {errors:?}\n{}", plugin.log());
    drop(dockerd);
    (compared, problems)
}

/// Presents `<name>.pem` to the daemon and tells what came of it, with
/// the first client that can load the certificate: `openssl s_client`
/// (which also sends the `stranger`), else the docker CLI of each daemon
/// (whose Go loads some certificates OpenSSL refuses, and refuses others).
/// `None` if no client could.
fn present(port: u16, pki: &Pki, name: &str, stranger: Option<&Path>) -> Option<Told> {
    let output = ping_over_tls(port, pki, name, stranger);
    let stderr = text(&output.stderr);
    if !stderr.contains("Unable to load client certificate") {
        return Some(match http_answer(&text(&output.stdout)) {
            Some((status, _)) if status.contains(" 200 ") => Told::Allowed,
            Some((status, body)) => Told::Refused(
                serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                    .unwrap_or(status),
            ),
            None => Told::Nothing(stderr),
        });
    }
    if stranger.is_some() {
        return None;
    }
    for version in [Version::V28_5, Version::V20_10, Version::V26_1] {
        if !version.available() {
            continue;
        }
        let output = cli(version, port, pki, name);
        let stderr = text(&output.stderr);
        if stderr.contains("Failed to initialize") {
            continue;
        }
        return Some(if output.status.success() {
            Told::Allowed
        } else if stderr.contains("Error response from daemon") {
            Told::Refused(stderr)
        } else {
            Told::Nothing(stderr)
        });
    }
    None
}

/// `GET /_ping` over TLS as the holder of `<name>.pem` with `openssl
/// s_client`, which sends a certificate whatever its subject as long as
/// OpenSSL can load it, then the `stranger` certificate if given (and no
/// chain of its own: the server is not verified). Its output holds the answer.
fn ping_over_tls(port: u16, pki: &Pki, name: &str, stranger: Option<&Path>) -> Output {
    let mut command = Command::new("openssl");
    command
        .args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(pki.path(&format!("{name}.pem")))
        .arg("-key")
        .arg(pki.path(&format!("{name}-key.pem")));
    if let Some(stranger) = stranger {
        command.arg("-cert_chain").arg(stranger);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .expect("send the request");
    child.wait_with_output().expect("openssl s_client")
}

/// The status line and body of an HTTP/1.0 answer.
fn http_answer(output: &str) -> Option<(String, String)> {
    let at = output.find("HTTP/")?;
    let (head, body) = output[at..].split_once("\r\n\r\n")?;
    let status = head.lines().next()?.to_owned();
    Some((status, body.to_owned()))
}

/// `docker version` as the holder of `<name>.pem`, over TLS, with the CLI
/// that comes with `version`'s daemon.
fn cli(version: Version, port: u16, pki: &Pki, name: &str) -> Output {
    let config = tempfile::tempdir().expect("DOCKER_CONFIG");
    let mut command = Command::new(version.own_cli());
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
    command
        .env("DOCKER_CONFIG", config.path())
        .arg("--tlsverify")
        .arg("--tlscacert")
        .arg(pki.path("ca.pem"))
        .arg("--tlscert")
        .arg(pki.path(&format!("{name}.pem")))
        .arg("--tlskey")
        .arg(pki.path(&format!("{name}-key.pem")))
        .arg("--host")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// Compares what was seen with what was expected; the number of fields
/// compared, or what differs.
fn check(seen: &Seen, expected: &Expect, with_stranger: bool) -> Result<usize, String> {
    let Some(request) = &seen.request else {
        return match (expected, &seen.told) {
            (Expect::Rejected, Told::Nothing(_)) => Ok(1),
            _ => Err("dockerd asked no plugin".to_owned()),
        };
    };
    if *expected == Expect::Rejected {
        return Err(format!(
            "dockerd accepted the certificate and reported User {:?}",
            request.user
        ));
    }
    let certificates = request
        .request_peer_certificates
        .as_ref()
        .map_or(0, Vec::len);
    let want_certificates = if with_stranger { 2 } else { 1 };
    if certificates != want_certificates || request.user_authn_method.as_deref() != Some("TLS") {
        return Err(format!(
            "dockerd forwarded {certificates} certificates with method {:?}",
            request.user_authn_method
        ));
    }
    let host = Envelope::from_authz(request.clone(), Phase::Request);
    match (expected, host) {
        (Expect::Agree { user, ous }, Ok(envelope)) => {
            let cert = envelope.peer_certificate();
            let got = (
                request.user.as_deref(),
                envelope.user.as_deref(),
                cert.and_then(|c| c.common_name.as_deref()),
                cert.map(|c| c.organizational_units.clone()),
            );
            let want = (
                Some(user.as_str()),
                Some(user.as_str()),
                Some(user.as_str()),
                Some(ous.clone()),
            );
            if got != want {
                return Err(format!(
                    "(dockerd User, host user, certificate CN, OUs) = {got:?}, expected {want:?}"
                ));
            }
            if seen.told != Told::Allowed {
                return Err("the client was refused".to_owned());
            }
            Ok(4)
        }
        (Expect::Refused { user, why }, Err(EnvelopeError::Identity(err))) => {
            if request.user != *user {
                return Err(format!(
                    "dockerd reported User {:?}, expected {user:?}",
                    request.user
                ));
            }
            if !why.matches(&err) {
                return Err(format!("the host refused for another reason: {err}"));
            }
            match &seen.told {
                Told::Refused(message) if message.contains(&err.to_string()) => Ok(3),
                _ => Err(format!("the client was not told: {err}")),
            }
        }
        (_, Ok(envelope)) => Err(format!(
            "dockerd reported User {:?}; the host let the call through as user {:?} (certificate CN {:?})",
            request.user,
            envelope.user,
            envelope
                .peer_certificate()
                .and_then(|c| c.common_name.clone())
        )),
        (_, Err(err)) => Err(format!(
            "dockerd reported User {:?}; the host refused: {err}",
            request.user
        )),
    }
}

/// What Go's crypto/x509 made of one certificate (tests/identity/oracle.go).
#[derive(Debug, serde::Deserialize)]
struct GoView {
    #[serde(default)]
    error: Option<String>,
    common_name: String,
    organizations: Vec<String>,
    organizational_units: Vec<String>,
    dns_names: Vec<String>,
    emails: Vec<String>,
    uris: Vec<String>,
    ip_addresses: Vec<String>,
    issuer_common_name: String,
}

/// The whole certificate view, field by field, against Go's own reading
/// (the Debian `golang-go` 1.19 the test builds its oracle with, the Go of
/// dockerd 20.10): every certificate the daemons agree on reads the same
/// in both (CN, every O and OU in order, DNS, email, URI and IP names as
/// Go prints them, the issuer's CN), and Go refuses those dockerd 20.10
/// refused. dockerd reports only the CN, so this is where the rest is proven.
#[test]
fn certificate_views_agree_with_go_field_by_field() {
    let Some(oracle) = build_oracle() else {
        return;
    };
    let pki = Pki::new();
    let cases = corpus();
    let files: Vec<std::path::PathBuf> = cases
        .iter()
        .map(|case| pki.client(case.name, &case.subject, case.extensions))
        .collect();
    let output = Command::new(oracle.path().join("oracle"))
        .args(&files)
        .output()
        .expect("run the Go oracle");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let views: Vec<GoView> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("the oracle's JSON"))
        .collect();
    assert_eq!(views.len(), cases.len());

    let mut compared = 0;
    let mut problems = Vec::new();
    for ((case, file), go) in cases.iter().zip(&files).zip(&views) {
        let pem = std::fs::read(file).expect("certificate");
        let host = portcullis_envelope::identity::peer_certificate(&BASE64.encode(pem));
        match ((case.expect)(Version::V20_10), &go.error, host) {
            (Expect::Rejected, Some(_), _) => compared += 1,
            (Expect::Rejected, None, _) => {
                problems.push(format!("{}: Go accepts it", case.name));
            }
            (_, Some(err), _) => problems.push(format!("{}: Go refuses it: {err}", case.name)),
            (Expect::Agree { .. }, None, Ok(view)) => {
                let host = (
                    view.common_name.unwrap_or_default(),
                    view.organizations,
                    view.organizational_units,
                    view.dns_names,
                    view.emails,
                    view.uris,
                    view.ip_addresses,
                    view.issuer_common_name.unwrap_or_default(),
                );
                let go = (
                    go.common_name.clone(),
                    go.organizations.clone(),
                    go.organizational_units.clone(),
                    go.dns_names.clone(),
                    go.emails.clone(),
                    go.uris.clone(),
                    go.ip_addresses.clone(),
                    go.issuer_common_name.clone(),
                );
                if host == go {
                    compared += 8;
                } else {
                    problems.push(format!("{}:\n  host {host:?}\n  Go   {go:?}", case.name));
                }
            }
            (Expect::Agree { .. }, None, Err(err)) => {
                problems.push(format!("{}: the host cannot read it: {err}", case.name));
            }
            // Refused by the host: Go's reading of the CN is what dockerd
            // reported, compared by the daemon test.
            (Expect::Refused { .. }, None, _) => compared += 1,
        }
    }
    eprintln!(
        "Go oracle: {} certificates, {compared} fields compared, {} disagreements",
        cases.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Builds tests/identity/oracle.go with the `go` on PATH, in a temporary
/// directory (its own build cache); `None`, with a printed reason, when
/// there is no Go, except under `CI=true`, where that fails.
fn build_oracle() -> Option<tempfile::TempDir> {
    let has_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_go {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but there is no go to build the identity oracle (apt-get install golang-go)"
        );
        eprintln!("skipping the Go oracle: no go on PATH (apt-get install golang-go)");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("oracle.go"),
        include_str!("identity/oracle.go"),
    )
    .expect("oracle source");
    let output = Command::new("go")
        .args(["build", "-o", "oracle", "oracle.go"])
        .current_dir(dir.path())
        .env("GOCACHE", dir.path().join("cache"))
        .env("GOPATH", dir.path().join("gopath"))
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .output()
        .expect("run go build");
    assert!(
        output.status.success(),
        "go build oracle.go: {}",
        text(&output.stderr)
    );
    Some(dir)
}
