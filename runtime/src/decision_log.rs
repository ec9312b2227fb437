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
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::{Duration, SystemTime};

use portcullis_envelope::{AuthzRequest, Envelope, Phase};
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use crate::chain::{ChainDecision, ModuleReport, Verdict};
use crate::config::{LogDestination, LogFormat, LogSettings};
use crate::log_escape;
use crate::metrics::Metrics;

/// The JSON schema's version: bumped on any change that is not a new
/// optional field (docs/decision-log.md).
pub const SCHEMA_VERSION: u32 = 1;

/// How long the writer naps when its queue is dry, and how many naps it
/// takes before it blocks (see [`Sink::run`]): 50 ms of polling at most,
/// and a line waits at most 1 ms before the writer sees it.
const NAP: Duration = Duration::from_millis(1);
const NAPS: u32 = 50;

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

    /// Logs a call refused before the chain ran (Docker's `Err`: a request
    /// that cannot be decoded, a form-encoded body), with what of the
    /// request could be read. Refusals are denials: `denials_only` keeps them.
    pub fn record_refusal(
        &self,
        phase: Phase,
        request: Option<&AuthzRequest>,
        reason: &str,
        chain: &str,
    ) {
        let Some(queue) = &self.queue else {
            return;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = match self.format {
            LogFormat::Text => refusal_text_line(phase, request, reason, chain),
            LogFormat::Json => {
                let id = format!("{}-{id:x}", self.boot);
                refusal_json_line(&id, phase, request, reason, chain)
            }
        };
        if queue.try_send(Message::Line(line)).is_err() {
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
    ///
    /// A dry queue is polled for a while ([`NAPS`] naps of [`NAP`]) before
    /// the writer blocks on it: waking a blocked receiver costs the sending
    /// request thread a system call, so under load the writer keeps itself
    /// awake, and senders only enqueue.
    fn run(&mut self, queue: &Receiver<Message>, reopen: &AtomicBool, lines: &Counter) {
        let mut naps = 0;
        loop {
            if reopen.swap(false, Ordering::AcqRel) {
                self.reopen();
            }
            let message = match queue.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    self.flush();
                    if naps < NAPS {
                        naps += 1;
                        std::thread::sleep(NAP);
                        continue;
                    }
                    match queue.recv() {
                        Ok(message) => message,
                        Err(_) => break,
                    }
                }
            };
            naps = 0;
            match message {
                Message::Line(line) => match self.write(&line) {
                    Ok(()) => {
                        lines.inc();
                    }
                    Err(err) => tracing::error!(
                        target: "portcullis::decisions",
                        "cannot write the decision log: {err}"
                    ),
                },
                Message::Wake => {}
                Message::Stop => break,
            }
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
        log_escape::value(&envelope.method),
        log_escape::value(&envelope.path),
        envelope.action,
        decision.allow,
        log_escape::quoted(&decision.msg),
        modules.join(" "),
        decision.version,
    )
}

/// The text line of a refused call.
fn refusal_text_line(
    phase: Phase,
    request: Option<&AuthzRequest>,
    reason: &str,
    chain: &str,
) -> String {
    let field =
        |value: Option<&Option<String>>| value.and_then(Option::as_deref).unwrap_or("-").to_owned();
    format!(
        "{}  WARN portcullis::audit: phase={phase:?} user={:?} method={} uri={} allow=false refused={} chain={chain}\n",
        humantime::format_rfc3339_micros(SystemTime::now()),
        field(request.map(|r| &r.user)),
        log_escape::value(&field(request.map(|r| &r.request_method))),
        log_escape::value(&field(request.map(|r| &r.request_uri))),
        log_escape::quoted(reason),
    )
}

/// The schema v1 line of a refused call: no action (no route was matched),
/// no module ran, and `refused` says why.
fn refusal_json_line(
    id: &str,
    phase: Phase,
    request: Option<&AuthzRequest>,
    reason: &str,
    chain: &str,
) -> String {
    fn read(value: Option<&Option<String>>) -> Option<&str> {
        value.and_then(Option::as_deref)
    }
    let line = JsonLine {
        schema: SCHEMA_VERSION,
        time: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
        id,
        phase,
        user: read(request.map(|r| &r.user)),
        authn_method: read(request.map(|r| &r.user_authn_method)),
        method: read(request.map(|r| &r.request_method)).unwrap_or(""),
        uri: read(request.map(|r| &r.request_uri)).unwrap_or(""),
        action: "",
        allow: false,
        decided_by: None,
        msg: reason,
        chain,
        duration_us: 0,
        modules: Vec::new(),
        response_status: None,
        request_body: None,
        response_body: None,
        refused: Some(true),
    };
    to_line(&line, id)
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
    /// The call was refused before the chain ran (Docker's `Err`).
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<bool>,
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
        refused: None,
    };
    to_line(&line, id)
}

/// `line` as one line of JSON text ending in a newline.
fn to_line(line: &JsonLine<'_>, id: &str) -> String {
    let mut text = log_escape::json_line(line).unwrap_or_else(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ModuleReport;

    fn envelope() -> Envelope {
        let request = serde_json::from_value(serde_json::json!({
            "RequestMethod": "GET",
            "RequestUri": "/v1.41/containers/json?all=1",
            "User": "alice",
            "UserAuthNMethod": "TLS",
        }))
        .unwrap();
        Envelope::from_authz(request, Phase::Request).unwrap()
    }

    fn report(module: &str, verdict: Verdict, monitor: bool) -> ModuleReport {
        ModuleReport {
            module: module.to_owned(),
            verdict,
            fuel_used: 1234,
            elapsed: Duration::from_micros(56),
            monitor,
            warm: true,
        }
    }

    /// A monitor-mode deny, then an enforcing one.
    fn denied() -> ChainDecision {
        ChainDecision {
            allow: false,
            msg: "strict: no".to_owned(),
            version: Arc::from("0123456789abcdef"),
            reports: vec![
                report("trial", Verdict::Deny("maybe not".into()), true),
                report("strict", Verdict::Deny("no".into()), false),
            ],
        }
    }

    /// A log whose queue holds `capacity` lines and is never drained.
    fn undrained(capacity: usize, denials_only: bool) -> (DecisionLog, Receiver<Message>) {
        let (sender, receiver) = sync_channel(capacity);
        let log = DecisionLog {
            format: LogFormat::Json,
            denials_only,
            bodies: false,
            queue: Some(sender),
            reopen: Arc::new(AtomicBool::new(false)),
            boot: "b007".to_owned(),
            next_id: AtomicU64::new(1),
            dropped: Counter::default(),
        };
        (log, receiver)
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (log, receiver) = undrained(2, false);
        for _ in 0..5 {
            log.record(&envelope(), &denied(), Duration::ZERO);
        }
        assert_eq!(log.dropped.get(), 3);
        assert_eq!(receiver.try_iter().count(), 2);
    }

    #[test]
    fn denials_only_skips_allowed_calls() {
        let (log, receiver) = undrained(8, true);
        let mut allowed = denied();
        allowed.allow = true;
        log.record(&envelope(), &allowed, Duration::ZERO);
        log.record(&envelope(), &denied(), Duration::ZERO);
        let lines: Vec<_> = receiver.try_iter().collect();
        assert_eq!(lines.len(), 1);
        assert!(matches!(&lines[0], Message::Line(line) if line.contains("\"allow\":false")));
    }

    #[test]
    fn the_json_line_names_the_enforcing_module_that_decided() {
        let line = json_line(
            "b007-1",
            &envelope(),
            &denied(),
            Duration::from_micros(99),
            false,
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["schema"], SCHEMA_VERSION);
        assert_eq!(json["decided_by"], "strict", "not the monitor-mode module");
        assert_eq!(json["uri"], "/v1.41/containers/json?all=1");
        assert_eq!(json["user"], "alice");
        assert_eq!(json["authn_method"], "TLS");
        assert_eq!(json["duration_us"], 99);
        assert_eq!(json["modules"][0]["mode"], "monitor");
        assert_eq!(json["modules"][0]["msg"], "maybe not");
        assert_eq!(json["modules"][1]["fuel"], 1234);
        assert!(json.get("request_body").is_none());
    }

    #[test]
    fn a_refusal_is_logged_with_what_could_be_read() {
        let request: AuthzRequest = serde_json::from_value(serde_json::json!({
            "RequestMethod": "POST",
            "RequestUri": "/v1.41/volumes/prune",
        }))
        .unwrap();
        let text = refusal_text_line(Phase::Request, Some(&request), "no form bodies", "0123");
        assert!(
            text.contains(" WARN portcullis::audit: phase=Request user=\"-\" method=POST uri=/v1.41/volumes/prune allow=false refused=\"no form bodies\" chain=0123\n"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&refusal_json_line(
            "b-1",
            Phase::Response,
            None,
            "garbage",
            "0123",
        ))
        .unwrap();
        assert_eq!(json["refused"], true);
        assert_eq!(json["phase"], "response");
        assert_eq!(json["allow"], false);
        assert_eq!(json["msg"], "garbage");
        assert_eq!(json["method"], "");
        assert!(json["user"].is_null() && json["decided_by"].is_null());
    }

    proptest::proptest! {
        /// Whatever a caller puts in the request-target, the method, the
        /// user or (through a policy that quotes them) the message, each
        /// decision is exactly one line, in both formats, with no character
        /// that moves the cursor or reorders text, and its fields in place.
        #[test]
        fn any_request_is_exactly_one_line_in_either_format(
            path in proptest::prelude::any::<String>(),
            uri in proptest::prelude::any::<String>(),
            method in proptest::prelude::any::<String>(),
            user in proptest::prelude::any::<String>(),
            msg in proptest::prelude::any::<String>(),
        ) {
            let mut envelope = envelope();
            envelope.path = path;
            envelope.uri = uri.clone();
            envelope.method = method;
            envelope.user = Some(user);
            let mut decision = denied();
            decision.msg = msg.clone();
            decision.reports[1].verdict = Verdict::Deny(msg.clone());
            let request: AuthzRequest = serde_json::from_value(serde_json::json!({
                "RequestMethod": envelope.method,
                "RequestUri": uri,
                "User": envelope.user,
            }))
            .unwrap();
            for line in [
                text_line(&envelope, &decision),
                refusal_text_line(Phase::Request, Some(&request), &msg, "0123"),
                json_line("b-1", &envelope, &decision, Duration::ZERO, true),
                refusal_json_line("b-2", Phase::Request, Some(&request), &msg, "0123"),
            ] {
                proptest::prop_assert!(line.ends_with('\n'));
                proptest::prop_assert_eq!(line.matches(['\n', '\r']).count(), 1, "{}", line);
                proptest::prop_assert!(
                    !line.chars().any(|c| c != '\n' && c.escape_debug().len() > 1 && !matches!(c, '"' | '\'' | '\\')),
                    "{}", line
                );
            }
            let text = text_line(&envelope, &decision);
            let after_msg = text.split_once(" msg=\"").map(|(_, rest)| rest).unwrap_or_default();
            proptest::prop_assert!(after_msg.contains("\" modules=trial=deny[monitor]"), "{}", text);
            let json: serde_json::Value =
                serde_json::from_str(&json_line("b-1", &envelope, &decision, Duration::ZERO, false)).unwrap();
            proptest::prop_assert_eq!(json["uri"].as_str(), Some(uri.as_str()));
            proptest::prop_assert_eq!(json["msg"].as_str(), Some(msg.as_str()));
            proptest::prop_assert_eq!(json["path"].as_str(), None);
        }
    }

    #[test]
    fn the_text_line_keeps_the_audit_layout() {
        let line = text_line(&envelope(), &denied());
        assert!(
            line.contains(" INFO portcullis::audit: phase=Request user=\"alice\" method=GET path=/containers/json action=\"container_list\" allow=false msg=\"strict: no\" modules=trial=deny[monitor](56us,1234fuel) strict=deny(56us,1234fuel) chain=0123456789abcdef\n"),
            "{line}"
        );
    }
}
