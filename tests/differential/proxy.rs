//! The recording proxy between dockerd and Portcullis: it listens where
//! dockerd discovers plugins (`/run/docker/plugins/<name>.sock`), keeps the
//! raw body of every `AuthZPlugin.AuthZReq`, forwards every request to the
//! real plugin byte for byte and hands back the plugin's answer unchanged.
//! The real plugin decides; the harness knows exactly what Docker sent it.

use std::io::{BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dockerd::http::{Kind, read_message};

/// One `AuthZPlugin.AuthZReq` body as dockerd sent it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The raw JSON body (`RequestMethod`, `RequestUri`, `RequestBody`, …).
    pub body: Vec<u8>,
    /// Its `RequestMethod`.
    pub method: String,
    /// Its `RequestUri`.
    pub uri: String,
}

/// A running proxy; stops listening and removes its socket on drop.
pub struct Proxy {
    socket: PathBuf,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    errors: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `socket` and forwards to the plugin listening on `upstream`.
    pub fn start(socket: &Path, upstream: &Path) -> Proxy {
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir).expect("create the plugin directory");
        }
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)
            .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", socket.display()));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (recorded, errors, stop) = (recorded.clone(), errors.clone(), stop.clone());
            let upstream = upstream.to_owned();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (recorded, errors) = (recorded.clone(), errors.clone());
                    let upstream = upstream.clone();
                    std::thread::spawn(move || {
                        if let Err(e) = serve(stream, &upstream, &recorded) {
                            errors.lock().unwrap().push(e);
                        }
                    });
                }
            })
        };
        Proxy {
            socket: socket.to_owned(),
            recorded,
            errors,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The AuthZReq whose `RequestMethod` and `RequestUri` are these,
    /// waiting up to a second for it (dockerd asks before it acts, so it is
    /// normally there by the time the daemon has answered).
    pub fn find(&self, method: &str, uri: &str) -> Option<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let found = self
                .recorded
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|r| r.method == method && r.uri == uri)
                .cloned();
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The AuthZReq bodies recorded after the first `count`, in order.
    pub fn since(&self, count: usize) -> Vec<Recorded> {
        let recorded = self.recorded.lock().unwrap();
        recorded.get(count..).unwrap_or_default().to_vec()
    }

    /// How many AuthZReq bodies were recorded.
    pub fn recorded(&self) -> usize {
        self.recorded.lock().unwrap().len()
    }

    /// Connection-level failures seen so far (a broken upstream, bad HTTP).
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.socket); // wake the acceptor
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// One dockerd connection (keep-alive): request by request, record, forward, answer.
fn serve(
    downstream: UnixStream,
    upstream_path: &Path,
    recorded: &Mutex<Vec<Recorded>>,
) -> Result<(), String> {
    let mut writer = downstream.try_clone().map_err(|e| format!("clone: {e}"))?;
    let mut reader = BufReader::new(downstream);
    let mut upstream: Option<(UnixStream, BufReader<UnixStream>)> = None;
    loop {
        let request = match read_message(&mut reader, Kind::Request) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("reading from dockerd: {e}")),
        };
        if request.target() == "/AuthZPlugin.AuthZReq" {
            let json: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let field = |name: &str| json[name].as_str().unwrap_or("").to_owned();
            recorded.lock().unwrap().push(Recorded {
                method: field("RequestMethod"),
                uri: field("RequestUri"),
                body: request.body.clone(),
            });
        }
        // One retry on a fresh upstream connection: the plugin may have
        // closed an idle keep-alive connection.
        let mut answer = None;
        for _ in 0..2 {
            if upstream.is_none() {
                let stream = UnixStream::connect(upstream_path)
                    .map_err(|e| format!("connecting to Portcullis: {e}"))?;
                let read = stream.try_clone().map_err(|e| format!("clone: {e}"))?;
                upstream = Some((stream, BufReader::new(read)));
            }
            let (stream, read) = upstream.as_mut().expect("connected above");
            if stream.write_all(&request.raw).is_ok()
                && let Ok(Some(response)) = read_message(read, Kind::Response)
            {
                answer = Some(response);
                break;
            }
            upstream = None;
        }
        let answer = answer.ok_or_else(|| {
            format!(
                "Portcullis did not answer {} {}",
                request.start,
                String::from_utf8_lossy(&request.body)
            )
        })?;
        if answer
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            upstream = None;
        }
        writer
            .write_all(&answer.raw)
            .map_err(|e| format!("answering dockerd: {e}"))?;
    }
}
