//! Child server processes: building the executables, spawning `floor`,
//! `native`, `portcullis serve` and the rivals `regorus` and `cedar` on
//! private sockets, reading their stderr and `/proc` figures, signalling and
//! stopping them.

use std::collections::VecDeque;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use portcullis_bench::{guests, repo_root};
use rustix::process::{Pid, Signal};

/// A reload that takes longer than this is taken as never coming.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A server that does not listen within this is taken as broken.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server executables, built in release.
pub(crate) struct Binaries {
    portcullis: PathBuf,
    bench_server: PathBuf,
}

impl Binaries {
    /// Builds the guests, `portcullis` and `bench-server`.
    pub(crate) fn build() -> anyhow::Result<Binaries> {
        eprintln!("loadgen: building the guests (wasm32-wasip1), portcullis and bench-server …");
        guests::build()?;
        cargo_build(&["-p", "portcullis", "--bin", "portcullis"])?;
        cargo_build(&["-p", "portcullis-bench", "--bin", "bench-server"])?;
        let release = guests::target_dir().join("release");
        Ok(Binaries {
            portcullis: release.join("portcullis"),
            bench_server: release.join("bench-server"),
        })
    }
}

/// `cargo build --release ARGS` in the workspace, with the cargo running us.
fn cargo_build(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", guests::target_dir())
        .args(["build", "--release"])
        .args(args)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", cargo.to_string_lossy()))?;
    anyhow::ensure!(
        status.success(),
        "cargo build --release {} failed ({status})",
        args.join(" ")
    );
    Ok(())
}

/// The servers compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum ServerKind {
    /// `bench-server floor`: a constant allow.
    Floor,
    /// `bench-server native`: the server code path, policies compiled natively.
    Native,
    /// `portcullis serve`: the policies in wasm sandboxes.
    Portcullis,
    /// `bench-server regorus`: the rival on OPA's language, docker.rego
    /// evaluated by regorus (opa-docker-authz's input, no OPA HTTP hop).
    Regorus,
    /// `bench-server cedar`: the rival on Cedar, docker.cedar evaluated by
    /// cedar-policy.
    Cedar,
}

impl ServerKind {
    /// Every server, in the order the tables list them.
    pub(crate) const ALL: [ServerKind; 5] = [
        ServerKind::Floor,
        ServerKind::Native,
        ServerKind::Portcullis,
        ServerKind::Regorus,
        ServerKind::Cedar,
    ];

    /// The rivals, each compared with `portcullis`.
    pub(crate) const RIVALS: [ServerKind; 2] = [ServerKind::Regorus, ServerKind::Cedar];

    /// The server's name in tables, logs and socket names.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServerKind::Floor => "floor",
            ServerKind::Native => "native",
            ServerKind::Portcullis => "portcullis",
            ServerKind::Regorus => "regorus",
            ServerKind::Cedar => "cedar",
        }
    }

    /// The command serving `config` (ignored by the floor and the rivals,
    /// whose policies are fixed files) on `socket`.
    pub(crate) fn command(
        self,
        bins: &Binaries,
        config: &Path,
        socket: &Path,
        log: &str,
    ) -> Command {
        let mut command = Command::new(match self {
            ServerKind::Portcullis => &bins.portcullis,
            ServerKind::Floor | ServerKind::Native | ServerKind::Regorus | ServerKind::Cedar => {
                &bins.bench_server
            }
        });
        match self {
            ServerKind::Floor => command.arg("floor"),
            ServerKind::Native => command.arg("native").arg("--config").arg(config),
            ServerKind::Portcullis => command
                .arg("serve")
                .arg("--config")
                .arg(config)
                .arg("--no-watch")
                .arg("--admin-socket")
                .arg(socket.with_extension("admin.sock"))
                .arg("--cache-dir")
                .arg(socket.with_extension("cache")),
            ServerKind::Regorus => command.arg("regorus"),
            ServerKind::Cedar => command.arg("cedar"),
        };
        command.arg("--socket").arg(socket).env("RUST_LOG", log);
        if self == ServerKind::Regorus {
            // regorus creates and drops anyhow errors while it evaluates; a
            // backtrace captured for each (RUST_BACKTRACE=1 in the caller's
            // environment) would slow it down, as no deployment would.
            command.env("RUST_LIB_BACKTRACE", "0");
        }
        command
    }
}

/// What the server's stderr said that the benchmark waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LogLine {
    /// `chain reloaded … generation=N` (`None` if N cannot be read).
    Reloaded(Option<u64>),
    /// `reload failed …`.
    ReloadFailed,
}

impl LogLine {
    fn parse(line: &str) -> Option<LogLine> {
        if line.contains("reload failed") {
            return Some(LogLine::ReloadFailed);
        }
        if !line.contains("chain reloaded") {
            return None;
        }
        let generation = line.split_once("generation=").and_then(|(_, rest)| {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..digits].parse().ok()
        });
        Some(LogLine::Reloaded(generation))
    }
}

/// A log line of interest, when it was read; or the end of the log.
enum LogEvent {
    Line {
        kind: LogLine,
        text: String,
        at: Instant,
    },
    Closed,
}

/// Lines kept from a server's stderr for error messages.
const TAIL_LINES: usize = 20;

/// A server running as a child process.
///
/// Invariant: the child is stopped when this is dropped, on every path
/// (SIGTERM, so it removes its socket; SIGKILL if it lingers).
pub(crate) struct ServerProcess {
    /// The name used in progress and error messages.
    pub(crate) name: String,
    child: Child,
    /// Locked only by whoever waits for a reload (a `Receiver` is not `Sync`).
    events: Mutex<Receiver<LogEvent>>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl ServerProcess {
    /// Spawns `command` and waits until `socket` accepts a connection.
    pub(crate) fn spawn(
        name: &str,
        mut command: Command,
        socket: &Path,
    ) -> anyhow::Result<ServerProcess> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name} ({:?})", command.get_program()))?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let (sender, events) = std::sync::mpsc::channel();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let reader_tail = tail.clone();
        std::thread::spawn(move || watch_stderr(stderr, &sender, &reader_tail));
        let mut server = ServerProcess {
            name: name.to_owned(),
            child,
            events: Mutex::new(events),
            tail,
        };
        server.wait_until_listening(socket)?;
        Ok(server)
    }

    fn wait_until_listening(&mut self, socket: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) instead of listening:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on {} within {START_TIMEOUT:?}:\n{}",
                    self.name,
                    socket.display(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// The last lines the server logged, audit lines left out.
    fn log_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().map(String::as_str).collect()
    }

    /// Sends `signal` to the server.
    pub(crate) fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        rustix::process::kill_process(Pid::from_child(&self.child), signal)
            .with_context(|| format!("cannot signal {}", self.name))
    }

    /// A memory figure of `/proc/<pid>/status` (`VmHWM`, `VmRSS`), in bytes.
    pub(crate) fn memory(&self, field: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status_field_kib(&status, field)
            .map(|kib| kib * 1024)
            .with_context(|| format!("no {field} in {path}"))
    }

    /// CPU time the server has used so far, all threads.
    pub(crate) fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Waits for the log line saying reload `generation` is serving; returns
    /// when it was read.
    pub(crate) fn wait_for_reload(&self, generation: u64) -> anyhow::Result<Instant> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        match events.recv_timeout(RELOAD_TIMEOUT) {
            Ok(LogEvent::Line { kind, text, at }) => match kind {
                LogLine::Reloaded(Some(g)) if g == generation => Ok(at),
                LogLine::Reloaded(_) => {
                    bail!("expected `chain reloaded` with generation={generation}, got: {text}")
                }
                LogLine::ReloadFailed => bail!("reload {generation} failed: {text}"),
            },
            Ok(LogEvent::Closed) | Err(RecvTimeoutError::Disconnected) => bail!(
                "{} exited after SIGHUP number {generation}: does this build reload on SIGHUP? \
                 (an unhandled SIGHUP kills a process)\n{}",
                self.name,
                self.log_tail()
            ),
            Err(RecvTimeoutError::Timeout) => bail!(
                "no line with `chain reloaded` and `generation={generation}` on {}'s stderr \
                 within {RELOAD_TIMEOUT:?} of SIGHUP: this build does not reload on SIGHUP yet, \
                 or its log line changed\nlast log lines:\n{}",
                self.name,
                self.log_tail()
            ),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.signal(Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drains a server's stderr (so the pipe never fills and stalls it),
/// reports the lines the benchmark waits for, and keeps a tail.
fn watch_stderr(stderr: ChildStderr, events: &Sender<LogEvent>, tail: &Mutex<VecDeque<String>>) {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, stderr);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        let at = Instant::now();
        let text = String::from_utf8_lossy(&line).into_owned();
        line.clear();
        if let Some(kind) = LogLine::parse(&text) {
            let _ = events.send(LogEvent::Line {
                kind,
                text: text.clone(),
                at,
            });
        }
        if !text.contains("portcullis::audit") {
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(text);
        }
    }
    let _ = events.send(LogEvent::Closed);
}

/// `field:   1234 kB` of a `/proc/<pid>/status` text.
pub(crate) fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// User + system CPU time of the process whose `stat` file is `path`.
pub(crate) fn cpu_time(path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let ticks = stat_cpu_ticks(&stat).with_context(|| format!("cannot parse {path}"))?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line; the
/// command name (field 2) may hold spaces and parentheses.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11); // field 3 is first
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_lines_are_recognised_with_their_generation() {
        let ok =
            "2025-01-01T00:00:00Z  INFO portcullis::reload: chain reloaded generation=12 modules=5";
        assert_eq!(LogLine::parse(ok), Some(LogLine::Reloaded(Some(12))));
        assert_eq!(
            LogLine::parse("INFO chain reloaded"),
            Some(LogLine::Reloaded(None))
        );
        assert_eq!(
            LogLine::parse("ERROR reload failed: bad.wasm"),
            Some(LogLine::ReloadFailed)
        );
        assert_eq!(LogLine::parse("INFO portcullis::audit: allow=true"), None);
    }

    #[test]
    fn proc_figures_are_parsed() {
        let status = "Name:\tportcullis\nVmHWM:\t   20480 kB\nVmRSS:\t  10240 kB\n";
        assert_eq!(status_field_kib(status, "VmHWM"), Some(20480));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(stat_cpu_ticks(stat), Some(325));
    }
}
