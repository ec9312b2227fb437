//! What dockerd says a container reference designates. Docker resolves a
//! reference in its own order (full ID, then name, link names such as
//! `linker/alias` included, then a unique ID prefix) against state only it
//! knows, so the built-in rule does not match strings: it asks the daemon,
//! `GET /containers/{ref}/json` on its API socket (`[docker] socket`, seen
//! through `[plugin] host_root`), and judges the container that answers.
//!
//! These calls reach Portcullis again as AuthZReq/AuthZRes (dockerd asks its
//! plugins about every call): each carries a single-use mark
//! (`lookup_mark`) so the server answers it without the chain, and never
//! while holding a chain worker, so lookups in flight cannot starve the
//! pool. Every lookup of a call shares one deadline; a late, refused or
//! unreadable answer is a [`Lookup::Failed`], on which the rule fails closed.
//!
//! One daemon is asked: a plugin shared by several dockerds would resolve
//! every call's references in this one. Nothing is cached: names can be
//! reused (after a removal, or a daemon restart), so each call asks afresh.
//! The client knows nothing of the rule that asks: a host import that
//! lets modules resolve references would ask through it too (awaited
//! before the chain, as the server does for the rule).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use portcullis_envelope::mounts::HostRoot;
use serde::Deserialize;

use crate::config::DockerSettings;
use crate::lookup_mark::{MARK_HEADER, Marks};

/// The largest inspect answer read (a container with thousands of mounts
/// stays far below it).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// A container as dockerd's inspect shows it: what the rule judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFacts {
    /// Its full ID.
    pub id: String,
    /// Its name, with dockerd's leading `/`.
    pub name: String,
    /// The other containers its `HostConfig` reaches into, as the daemon
    /// stored them (joined namespaces pinned to IDs at create).
    pub reaches: Reaches,
    /// The names of the volumes it mounts (named and anonymous).
    pub volumes: Vec<String>,
}

/// The fields of a stored `HostConfig` that name other containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Reaches {
    /// `container:<ref>` joins that container's network namespace.
    #[serde(rename = "NetworkMode")]
    pub network_mode: String,
    /// `container:<ref>` joins its PID namespace.
    #[serde(rename = "PidMode")]
    pub pid_mode: String,
    /// `container:<ref>` joins its IPC namespace.
    #[serde(rename = "IpcMode")]
    pub ipc_mode: String,
    /// `<ref>[:ro|rw]`: its volumes are mounted.
    #[serde(rename = "VolumesFrom", deserialize_with = "null_as_empty")]
    pub volumes_from: Vec<String>,
    /// Legacy links, `/<child>:/<self>/<alias>` as stored.
    #[serde(rename = "Links", deserialize_with = "null_as_empty")]
    pub links: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// dockerd's inspect answer (its own Go encoding: canonical keys).
#[derive(Deserialize)]
struct Inspect {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "HostConfig", default)]
    host_config: Option<Reaches>,
    #[serde(rename = "Mounts", default)]
    mounts: Option<Vec<InspectMount>>,
}

/// One of the mounts dockerd's inspect lists.
#[derive(Deserialize)]
struct InspectMount {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Name", default)]
    name: String,
}

/// What dockerd answered about one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The container it designates.
    Found(ContainerFacts),
    /// No container (dockerd's 404 "No such container").
    Missing,
    /// No usable answer: why (the rule fails closed on it).
    Failed(String),
}

/// The answers gathered for one call, by reference as asked.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    by_reference: HashMap<String, Lookup>,
}

impl Answers {
    /// What dockerd answered about `reference`, if it was asked.
    pub fn get(&self, reference: &str) -> Option<&Lookup> {
        self.by_reference.get(reference)
    }

    /// Records an answer.
    pub fn insert(&mut self, reference: impl Into<String>, lookup: Lookup) {
        self.by_reference.insert(reference.into(), lookup);
    }

    /// How many references were asked about.
    pub fn len(&self) -> usize {
        self.by_reference.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.by_reference.is_empty()
    }
}

/// Whether `reference` can be put in a request-target and reach dockerd's
/// `GetContainer` unchanged: the characters of container names, link
/// names (`parent/alias`) and IDs, in non-empty segments other than `.`
/// and `..` (which dockerd's router would clean away), one leading `/` at
/// most (the caller strips it).
pub fn can_look_up(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 512
        && reference.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        })
}

/// The client that asks dockerd.
#[derive(Debug)]
pub struct DockerLookup {
    socket: PathBuf,
    host_root: HostRoot,
    timeout: Duration,
    marks: Arc<Marks>,
}

impl DockerLookup {
    /// Asks the daemon at `settings.socket` (a host path, inside
    /// `host_root` when Portcullis does not run on the host's `/`).
    pub fn new(settings: &DockerSettings, host_root: HostRoot) -> DockerLookup {
        DockerLookup {
            socket: settings.socket.clone(),
            host_root,
            timeout: settings.lookup_timeout,
            marks: Arc::new(Marks::default()),
        }
    }

    /// The marks of the lookups in flight, which the server admits.
    pub fn marks(&self) -> &Arc<Marks> {
        &self.marks
    }

    /// The most one call may wait for its answers.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The socket as configured (a host path).
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// Asks about each of `references` (already in lookup form: see
    /// [`can_look_up`]) not answered yet, before `deadline`.
    pub async fn ask(&self, references: &[String], deadline: Instant, answers: &mut Answers) {
        for reference in references {
            if answers.get(reference).is_none() {
                let lookup = self.inspect(reference, deadline).await;
                answers.insert(reference.clone(), lookup);
            }
        }
    }

    /// `GET /containers/{reference}/json`, marked, before `deadline`.
    async fn inspect(&self, reference: &str, deadline: Instant) -> Lookup {
        if !can_look_up(reference) {
            return Lookup::Failed(format!(
                "\"{reference}\" cannot be asked about without changing it"
            ));
        }
        let target = format!("/containers/{reference}/json");
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(mark) = self.marks.issue("GET", &target, left) else {
            return Lookup::Failed("no randomness for the lookup's mark".to_owned());
        };
        let exchange = self.get(&target, mark.nonce());
        let answer = match tokio::time::timeout_at(deadline.into(), exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "dockerd at {} did not answer within {} ms",
                self.socket.display(),
                self.timeout.as_millis()
            )),
        };
        drop(mark);
        match answer {
            Ok((200, body)) => match serde_json::from_slice::<Inspect>(&body) {
                Ok(inspect) => Lookup::Found(ContainerFacts {
                    id: inspect.id,
                    name: inspect.name,
                    reaches: inspect.host_config.unwrap_or_default(),
                    volumes: (inspect.mounts.into_iter().flatten())
                        .filter(|m| m.kind == "volume" && !m.name.is_empty())
                        .map(|m| m.name)
                        .collect(),
                }),
                Err(e) => Lookup::Failed(format!("dockerd's inspect answer is unreadable: {e}")),
            },
            Ok((status, body)) => {
                let message = error_message(&body);
                if status == 404 && message.starts_with("No such container") {
                    Lookup::Missing
                } else {
                    Lookup::Failed(format!("dockerd answered {status}: {message}"))
                }
            }
            Err(why) => Lookup::Failed(why),
        }
    }

    /// One marked GET on a fresh connection: the status and body.
    async fn get(&self, target: &str, nonce: &str) -> Result<(u16, Bytes), String> {
        let socket = self.socket_path().map_err(|e| {
            format!(
                "dockerd's socket {} cannot be found: {e}",
                self.socket.display()
            )
        })?;
        let unreachable = |e: &dyn std::fmt::Display| {
            format!(
                "dockerd at {} cannot be reached: {e}",
                self.socket.display()
            )
        };
        let stream = tokio::net::UnixStream::connect(&socket)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        let connection = tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method("GET")
            .uri(target)
            .header(hyper::header::HOST, "docker")
            .header(MARK_HEADER, nonce)
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("cannot build the lookup: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| format!("cannot read dockerd's answer: {e}"))?
            .to_bytes();
        connection.abort();
        Ok((status, body))
    }

    /// Where to connect: the socket itself, or, under a host root, the
    /// host path resolved inside it (`/var/run` is a link to `/run` there).
    fn socket_path(&self) -> std::io::Result<PathBuf> {
        let Some(root) = self.host_root.dir() else {
            return Ok(self.socket.clone());
        };
        let host = self.host_root.resolve(&self.socket)?;
        Ok(root.join(host.strip_prefix("/").unwrap_or(&host)))
    }
}

/// The `message` of dockerd's error JSON, or the body as text.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Error {
        message: String,
    }
    match serde_json::from_slice::<Error>(body) {
        Ok(error) => error.message,
        Err(_) => String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(200)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_references_that_reach_get_container_unchanged_are_looked_up() {
        for fine in ["guard", "linker/alias", "0123abcd", "a_b.c-d", "A1"] {
            assert!(can_look_up(fine), "{fine}");
        }
        for odd in [
            "",
            "/guard",
            "guard/",
            "a//b",
            "a/../b",
            "./a",
            "a b",
            "a?b",
            "a%2Fb",
            "a#b",
            "gu\u{e4}rd",
            "a:b",
        ] {
            assert!(!can_look_up(odd), "{odd:?}");
        }
    }

    #[test]
    fn the_inspect_answer_gives_the_id_name_and_what_it_reaches() {
        let body = br#"{"Id":"0ef3","Name":"/joiner","HostConfig":{"NetworkMode":"default","PidMode":"container:4f2c","IpcMode":"private","VolumesFrom":null,"Links":["/guard:/joiner/db"],"Privileged":false},"State":{},"Mounts":[{"Type":"volume","Name":"state","Source":"/var/lib/docker/volumes/state/_data"},{"Type":"bind","Source":"/etc"}]}"#;
        let inspect: Inspect = serde_json::from_slice(body).unwrap();
        let reaches = inspect.host_config.unwrap();
        assert_eq!(
            (inspect.id.as_str(), inspect.name.as_str()),
            ("0ef3", "/joiner")
        );
        assert_eq!(reaches.pid_mode, "container:4f2c");
        assert!(reaches.volumes_from.is_empty());
        let mounts = inspect.mounts.unwrap();
        assert_eq!(
            (mounts[0].kind.as_str(), mounts[0].name.as_str()),
            ("volume", "state")
        );
        assert_eq!(
            (mounts[1].kind.as_str(), mounts[1].name.as_str()),
            ("bind", "")
        );
        assert_eq!(reaches.links, ["/guard:/joiner/db"]);
        assert_eq!(
            error_message(br#"{"message":"No such container: x"}"#),
            "No such container: x"
        );
        assert_eq!(error_message(b"page not found\n"), "page not found");
    }

    /// A socket that accepts and never answers: the lookup fails at its deadline.
    #[tokio::test]
    async fn a_silent_daemon_fails_the_lookup_at_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let lookup = DockerLookup::new(
            &DockerSettings {
                socket: socket.clone(),
                lookup_timeout: Duration::from_millis(100),
            },
            HostRoot::native(),
        );
        let started = Instant::now();
        let mut answers = Answers::default();
        lookup
            .ask(
                &["guard".to_owned()],
                started + lookup.timeout(),
                &mut answers,
            )
            .await;
        let Some(Lookup::Failed(why)) = answers.get("guard") else {
            panic!("{answers:?}")
        };
        assert!(why.contains("did not answer within 100 ms"), "{why}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            lookup.marks().in_flight(),
            0,
            "the mark ends with the lookup"
        );
        held.abort();

        let gone = DockerLookup::new(
            &DockerSettings {
                socket: dir.path().join("none.sock"),
                lookup_timeout: Duration::from_millis(100),
            },
            HostRoot::native(),
        );
        let mut answers = Answers::default();
        gone.ask(
            &["guard".to_owned()],
            Instant::now() + gone.timeout(),
            &mut answers,
        )
        .await;
        assert!(
            matches!(answers.get("guard"), Some(Lookup::Failed(why)) if why.contains("cannot be reached")),
            "{answers:?}"
        );
    }
}
