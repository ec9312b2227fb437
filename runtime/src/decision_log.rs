//! The decision log: one line per decision, in today's human-readable text
//! or as JSON with a versioned schema (docs/decision-log.md), to stderr, a
//! file (reopened on SIGUSR1, for logrotate), or nowhere.
//!
//! Writing never holds up a decision: the request thread formats its line
//! and hands it to a writer thread through a bounded queue. When the queue
//! is full (a stalled disk, a blocked pipe) the line is dropped and counted
//! in `portcullis_decision_log_dropped_total`; the decision is not delayed.
//! Bodies are left out unless `bodies = true`, and even then they are the
//! envelope's, which has already masked or dropped secrets.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime};

use portcullis_envelope::{Envelope, Phase};
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use crate::chain::{ChainDecision, ModuleReport, Verdict};
use crate::config::{LogDestination, LogFormat, LogSettings};
use crate::metrics::Metrics;

/// The JSON schema's version: bumped on any change that is not a new
/// optional field (docs/decision-log.md).
pub const SCHEMA_VERSION: u32 = 1;

/// Where request threads send their lines.
pub struct DecisionLog {
    format: LogFormat,
    denials_only: bool,
    bodies: bool,
    /// `None` when the destination is `off`.
    queue: Option<SyncSender<Message>>,
    reopen: Arc<AtomicBool>,
    /// Distinguishes this process's request ids from an earlier run's.
    boot: String,
    next_id: AtomicU64,
    dropped: Counter,
}

enum Message {
    Line(String),
    /// Look at the reopen flag (sent on SIGUSR1).
    Wake,
    /// Drain and exit.
    Stop,
}

/// Owns the writer thread: dropping it writes what is queued, then stops it.
#[must_use = "dropping the guard stops the decision log"]
pub struct LogWriterGuard {
    queue: Option<SyncSender<Message>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogWriterGuard {
    fn drop(&mut self) {
        if let Some(queue) = self.queue.take() {
            let _ = queue.send(Message::Stop);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl DecisionLog {
    /// Opens the destination of `settings` and starts its writer thread.
    /// Lines written and dropped are counted in `metrics`.
    pub fn start(
        settings: &LogSettings,
        metrics: &Metrics,
    ) -> io::Result<(DecisionLog, LogWriterGuard)> {
        let (lines, dropped) = metrics.log_counters();
        let reopen = Arc::new(AtomicBool::new(false));
        let (queue, thread) = match &settings.destination {
            LogDestination::Off => (None, None),
            destination => {
                let mut sink = Sink::open(destination)?;
                let (sender, receiver) = sync_channel(settings.queue);
                let reopen = reopen.clone();
                let thread = std::thread::Builder::new()
                    .name("portcullis-decisions".into())
                    .spawn(move || sink.run(&receiver, &reopen, &lines))?;
                (Some(sender), Some(thread))
            }
        };
        let boot = {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            format!(
                "{:08x}",
                (nanos as u32) ^ std::process::id().rotate_left(16)
            )
        };
        let log = DecisionLog {
            format: settings.format,
            denials_only: settings.denials_only,
            bodies: settings.bodies,
            queue: queue.clone(),
            reopen,
            boot,
            next_id: AtomicU64::new(1),
            dropped,
        };
        Ok((log, LogWriterGuard { queue, thread }))
    }

    /// Logs one decision (unless it is an allow and only denials are
    /// logged). Never blocks: a full queue drops the line and counts it.
    pub fn record(&self, envelope: &Envelope, decision: &ChainDecision, elapsed: Duration) {
        let Some(queue) = &self.queue else {
            return;
        };
        if self.denials_only && decision.allow {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = match self.format {
            LogFormat::Text => text_line(envelope, decision),
            LogFormat::Json => {
                let id = format!("{}-{id:x}", self.boot);
                json_line(&id, envelope, decision, elapsed, self.bodies)
            }
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            queue.try_send(Message::Line(line))
        {
            self.dropped.inc();
        }
    }

    /// Asks the writer to reopen its file (SIGUSR1, after logrotate moved it).
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Release);
        if let Some(queue) = &self.queue {
            // A full queue wakes the writer anyway; it sees the flag then.
            let _ = queue.try_send(Message::Wake);
        }
    }
}

/// Where the writer thread writes.
enum Sink {
    Stderr,
    File {
        path: PathBuf,
        file: io::BufWriter<File>,
    },
}

impl Sink {
    fn open(destination: &LogDestination) -> io::Result<Sink> {
        Ok(match destination {
            LogDestination::File(path) => Sink::File {
                file: io::BufWriter::new(open_log_file(path)?),
                path: path.clone(),
            },
            _ => Sink::Stderr,
        })
    }

    /// Writes lines until told to stop, flushing whenever the queue runs dry.
    fn run(&mut self, queue: &Receiver<Message>, reopen: &AtomicBool, lines: &Counter) {
        while let Ok(message) = queue.recv() {
            let mut next = Some(message);
            while let Some(message) = next.take() {
                if reopen.swap(false, Ordering::AcqRel) {
                    self.reopen();
                }
                match message {
                    Message::Line(line) => {
                        if let Err(err) = self.write(&line) {
                            tracing::error!(target: "portcullis::decisions", "cannot write the decision log: {err}");
                        } else {
                            lines.inc();
                        }
                    }
                    Message::Wake => {}
                    Message::Stop => {
                        self.flush();
                        return;
                    }
                }
                next = queue.try_recv().ok();
            }
            self.flush();
        }
        self.flush();
    }

    fn write(&mut self, line: &str) -> io::Result<()> {
        match self {
            // One write per line, so diagnostics on stderr interleave by line.
            Sink::Stderr => io::stderr().lock().write_all(line.as_bytes()),
            Sink::File { file, .. } => file.write_all(line.as_bytes()),
        }
    }

    fn flush(&mut self) {
        if let Sink::File { file, path } = self
            && let Err(err) = file.flush()
        {
            tracing::error!(target: "portcullis::decisions", "cannot write {}: {err}", path.display());
        }
    }

    fn reopen(&mut self) {
        self.flush();
        if let Sink::File { file, path } = self {
            match open_log_file(path) {
                Ok(reopened) => {
                    *file = io::BufWriter::new(reopened);
                    tracing::info!(target: "portcullis::decisions", "reopened {}", path.display());
                }
                Err(err) => tracing::error!(
                    target: "portcullis::decisions",
                    "cannot reopen {}, still writing the old file: {err}",
                    path.display()
                ),
            }
        }
    }
}

/// Opens (or creates, mode 0640) the log file for appending.
fn open_log_file(path: &std::path::Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Today's human-readable line, as `tracing`'s default format writes it.
fn text_line(envelope: &Envelope, decision: &ChainDecision) -> String {
    let modules: Vec<String> = decision
        .reports
        .iter()
        .map(|r| {
            format!(
                "{}={}{}({}us,{}fuel)",
                r.module,
                r.verdict.label(),
                if r.monitor { "[monitor]" } else { "" },
                r.elapsed.as_micros(),
                r.fuel_used
            )
        })
        .collect();
    format!(
        "{}  INFO portcullis::audit: phase={:?} user={:?} method={} path={} action={:?} allow={} msg={} modules={} chain={}\n",
        humantime::format_rfc3339_micros(SystemTime::now()),
        envelope.phase,
        envelope.user.as_deref().unwrap_or("-"),
        envelope.method,
        envelope.path,
        envelope.action,
        decision.allow,
        decision.msg,
        modules.join(" "),
        decision.version,
    )
}

/// One line of schema v1 (docs/decision-log.md).
#[derive(Serialize)]
struct JsonLine<'a> {
    schema: u32,
    time: String,
    id: &'a str,
    phase: Phase,
    user: Option<&'a str>,
    authn_method: Option<&'a str>,
    method: &'a str,
    uri: &'a str,
    action: &'a str,
    allow: bool,
    /// The enforcing module whose deny (or failure) decided; `None` on allow.
    decided_by: Option<&'a str>,
    msg: &'a str,
    chain: &'a str,
    duration_us: u64,
    modules: Vec<JsonModule<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_body: Option<&'a serde_json::value::RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_body: Option<&'a serde_json::value::RawValue>,
}

#[derive(Serialize)]
struct JsonModule<'a> {
    name: &'a str,
    /// `allow`, `deny` or `failed`.
    outcome: &'static str,
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
    fuel: u64,
    duration_us: u64,
    warm: bool,
}

fn json_line(
    id: &str,
    envelope: &Envelope,
    decision: &ChainDecision,
    elapsed: Duration,
    bodies: bool,
) -> String {
    let decided_by = (!decision.allow)
        .then(|| decision.reports.iter().rev().find(|r| !r.monitor))
        .flatten()
        .map(|r| r.module.as_str());
    let line = JsonLine {
        schema: SCHEMA_VERSION,
        time: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
        id,
        phase: envelope.phase,
        user: envelope.user.as_deref(),
        authn_method: envelope.authn_method.as_deref(),
        method: &envelope.method,
        uri: &envelope.uri,
        action: envelope.action,
        allow: decision.allow,
        decided_by,
        msg: &decision.msg,
        chain: &decision.version,
        duration_us: micros(elapsed),
        modules: decision.reports.iter().map(json_module).collect(),
        response_status: envelope.response.as_ref().and_then(|r| r.status),
        request_body: envelope.body.as_deref().filter(|_| bodies),
        response_body: envelope
            .response
            .as_ref()
            .and_then(|r| r.body.as_deref())
            .filter(|_| bodies),
    };
    let mut text = serde_json::to_string(&line).unwrap_or_else(|e| {
        // Serializing plain strings and numbers cannot fail; should it, the
        // line still says a decision was made.
        format!(r#"{{"schema":{SCHEMA_VERSION},"id":"{id}","error":"{e}"}}"#)
    });
    text.push('\n');
    text
}

fn json_module(report: &ModuleReport) -> JsonModule<'_> {
    let (outcome, msg) = match &report.verdict {
        Verdict::Allow => ("allow", None),
        Verdict::Deny(msg) => ("deny", Some(msg.clone())),
        Verdict::Failed(failure) => ("failed", Some(failure.to_string())),
    };
    JsonModule {
        name: &report.module,
        outcome,
        mode: if report.monitor { "monitor" } else { "enforce" },
        msg,
        fuel: report.fuel_used,
        duration_us: micros(report.elapsed),
        warm: report.warm,
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
