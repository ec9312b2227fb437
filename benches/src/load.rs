//! The load generator of the end-to-end benchmarks: `concurrency` HTTP/1.1
//! keep-alive connections to a plugin socket, one per worker as dockerd
//! holds them, each POSTing AuthZReq bodies back to back. Every latency goes
//! into one histogram; every answer must be an allow.
//!
//! [`RunningLoad`] keeps the load going while the caller does something
//! else (waits, reads a process's CPU time, reloads the server) and
//! [`RunningLoad::stop`] returns what was measured meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

/// The route every request goes to.
pub const AUTHZ_REQ_PATH: &str = "/AuthZPlugin.AuthZReq";
/// A request unanswered for this long is an error (dockerd would wait forever).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Latencies above this are recorded as this.
const MAX_LATENCY_NS: u64 = 60_000_000_000;
/// What every answer must contain: the compact allow every server here sends.
const ALLOW: &[u8] = br#""Allow":true"#;

/// What to send, where, and how hard.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// The plugin's Unix socket.
    pub socket: PathBuf,
    /// Connections, each with one request in flight at a time.
    pub concurrency: usize,
    /// AuthZReq bodies; each connection cycles through them, starting at its
    /// own offset so the mix is even at any instant. Each must be allowed.
    pub bodies: Vec<Bytes>,
    /// Load sent before measuring starts (connections and caches warm up).
    pub warmup: Duration,
}

/// What one load run measured, from the end of the warm-up to the stop.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests started while measuring that got an answer or failed.
    pub requests: u64,
    /// Failed requests (transport errors, timeouts, non-200 answers,
    /// anything but an allow), warm-up included: every one is a bug.
    pub errors: u64,
    /// The first error seen, to say what went wrong.
    pub first_error: Option<String>,
    /// Length of the measuring window.
    pub elapsed: Duration,
    /// Latency of every measured request that got an answer, in nanoseconds.
    pub latency_ns: Histogram<u64>,
}

impl LoadReport {
    /// Measured requests per second.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at `quantile` (0.5 for the median).
    pub fn quantile(&self, quantile: f64) -> Duration {
        Duration::from_nanos(self.latency_ns.value_at_quantile(quantile))
    }

    /// The median latency.
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile latency.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// The slowest measured request.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.latency_ns.max())
    }
}

/// Runs `spec` for its warm-up, then measures for `duration`.
pub async fn run_for(spec: &LoadSpec, duration: Duration) -> anyhow::Result<LoadReport> {
    run_until(spec, tokio::time::sleep(duration)).await
}

/// Runs `spec` for its warm-up, then measures until `stop` resolves.
pub async fn run_until(
    spec: &LoadSpec,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<LoadReport> {
    let load = RunningLoad::start(spec).await?;
    stop.await;
    load.stop().await
}

/// Workers' phases, shared through one atomic.
const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// Load being sent. Dropping it stops the workers without a report.
pub struct RunningLoad {
    phase: Arc<AtomicU8>,
    workers: Vec<JoinHandle<anyhow::Result<WorkerStats>>>,
    measuring_since: Instant,
}

impl RunningLoad {
    /// Opens every connection (failing if one cannot be opened), sends the
    /// warm-up load, and returns once measuring has started.
    pub async fn start(spec: &LoadSpec) -> anyhow::Result<RunningLoad> {
        anyhow::ensure!(spec.concurrency > 0, "concurrency must be at least 1");
        anyhow::ensure!(!spec.bodies.is_empty(), "no request bodies to send");
        let bodies: Arc<[Bytes]> = spec.bodies.clone().into();
        let phase = Arc::new(AtomicU8::new(WARMUP));
        let mut workers = Vec::with_capacity(spec.concurrency);
        for index in 0..spec.concurrency {
            let sender = connect(&spec.socket).await?;
            let worker = Worker {
                socket: spec.socket.clone(),
                bodies: bodies.clone(),
                next: index,
                phase: phase.clone(),
            };
            workers.push(tokio::spawn(worker.run(sender)));
        }
        tokio::time::sleep(spec.warmup).await;
        phase.store(MEASURE, Ordering::Relaxed);
        Ok(RunningLoad {
            phase,
            workers,
            measuring_since: Instant::now(),
        })
    }

    /// Stops sending, waits for the requests in flight, and reports.
    pub async fn stop(mut self) -> anyhow::Result<LoadReport> {
        self.phase.store(STOP, Ordering::Relaxed);
        let elapsed = self.measuring_since.elapsed();
        let mut total = WorkerStats::new()?;
        for worker in std::mem::take(&mut self.workers) {
            let stats = worker.await.context("a load worker panicked")??;
            total.merge(stats)?;
        }
        Ok(LoadReport {
            requests: total.requests,
            errors: total.errors,
            first_error: total.first_error,
            elapsed,
            latency_ns: total.latency_ns,
        })
    }
}

impl Drop for RunningLoad {
    fn drop(&mut self) {
        self.phase.store(STOP, Ordering::Relaxed);
    }
}

/// Opens one keep-alive HTTP/1.1 connection to `socket`.
async fn connect(socket: &Path) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| format!("cannot connect to {}", socket.display()))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("HTTP/1.1 handshake on {} failed", socket.display()))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One connection's request loop.
struct Worker {
    socket: PathBuf,
    bodies: Arc<[Bytes]>,
    next: usize,
    phase: Arc<AtomicU8>,
}

/// How one request went.
enum Outcome {
    /// A 200 allow.
    Allowed,
    /// An answer, but not an allow: the connection is still usable.
    Refused(String),
    /// No answer: the connection is dropped and reopened.
    Broken(String),
}

impl Worker {
    async fn run(mut self, sender: SendRequest<Full<Bytes>>) -> anyhow::Result<WorkerStats> {
        let mut stats = WorkerStats::new()?;
        let mut sender = Some(sender);
        loop {
            let phase = self.phase.load(Ordering::Relaxed);
            if phase == STOP {
                return Ok(stats);
            }
            let Some(connection) = sender.as_mut() else {
                sender = self.reconnect(&mut stats).await;
                continue;
            };
            let body = self.bodies[self.next % self.bodies.len()].clone();
            self.next += 1;
            let started = Instant::now();
            let outcome = send(connection, body).await;
            stats.record(phase == MEASURE, started.elapsed(), &outcome);
            if let Outcome::Broken(_) = outcome {
                sender = None;
            }
        }
    }

    /// A new connection after a broken one; on failure, counts an error and
    /// backs off briefly so a dead server is not spun on.
    async fn reconnect(&self, stats: &mut WorkerStats) -> Option<SendRequest<Full<Bytes>>> {
        match connect(&self.socket).await {
            Ok(sender) => Some(sender),
            Err(e) => {
                stats.error(format!("{e:#}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
                None
            }
        }
    }
}

/// POSTs `body` as dockerd does (no Content-Type) and checks the answer.
async fn send(sender: &mut SendRequest<Full<Bytes>>, body: Bytes) -> Outcome {
    let request = hyper::Request::post(AUTHZ_REQ_PATH)
        .header("Host", "")
        .header("Accept", "application/vnd.docker.plugins.v1.2+json")
        .body(Full::new(body));
    let request = match request {
        Ok(request) => request,
        Err(e) => return Outcome::Refused(format!("cannot build the request: {e}")),
    };
    let exchange = async {
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Err(_) => Outcome::Broken(format!("no answer within {REQUEST_TIMEOUT:?}")),
        Ok(Err(e)) => Outcome::Broken(format!("transport error: {e}")),
        Ok(Ok((status, body))) => judge(status.as_u16(), &body),
    }
}

/// An answer is good only if it is a 200 allow.
fn judge(status: u16, body: &[u8]) -> Outcome {
    if status == 200 && body.windows(ALLOW.len()).any(|w| w == ALLOW) {
        return Outcome::Allowed;
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(300).collect();
    Outcome::Refused(format!("HTTP {status}: {text}"))
}

/// One worker's counts, merged into the report.
struct WorkerStats {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    latency_ns: Histogram<u64>,
}

impl WorkerStats {
    fn new() -> anyhow::Result<WorkerStats> {
        Ok(WorkerStats {
            requests: 0,
            errors: 0,
            first_error: None,
            latency_ns: Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
                .context("cannot create the latency histogram")?,
        })
    }

    fn record(&mut self, measured: bool, latency: Duration, outcome: &Outcome) {
        if measured {
            self.requests += 1;
        }
        match outcome {
            Outcome::Allowed if measured => {
                let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                self.latency_ns
                    .saturating_record(ns.clamp(1, MAX_LATENCY_NS));
            }
            Outcome::Allowed => {}
            Outcome::Refused(msg) | Outcome::Broken(msg) => self.error(msg.clone()),
        }
    }

    fn error(&mut self, msg: String) {
        self.errors += 1;
        self.first_error.get_or_insert(msg);
    }

    fn merge(&mut self, other: WorkerStats) -> anyhow::Result<()> {
        self.requests += other.requests;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latency_ns
            .add(&other.latency_ns)
            .context("cannot merge latency histograms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_allow_is_good() {
        assert!(matches!(judge(200, br#"{"Allow":true}"#), Outcome::Allowed));
        assert!(matches!(
            judge(200, br#"{"Allow":false,"Msg":"no"}"#),
            Outcome::Refused(msg) if msg.contains("no")
        ));
        assert!(matches!(
            judge(500, br#"{"Allow":true,"Err":"x"}"#),
            Outcome::Refused(_)
        ));
    }

    #[test]
    fn errors_count_in_every_phase_but_requests_only_while_measuring() {
        let mut stats = WorkerStats::new().unwrap();
        let latency = Duration::from_micros(50);
        stats.record(false, latency, &Outcome::Refused("warm-up".into()));
        stats.record(true, latency, &Outcome::Allowed);
        stats.record(true, latency, &Outcome::Broken("gone".into()));
        assert_eq!((stats.requests, stats.errors), (2, 2));
        assert_eq!(stats.first_error.as_deref(), Some("warm-up"));
        assert_eq!(stats.latency_ns.len(), 1);
    }
}
