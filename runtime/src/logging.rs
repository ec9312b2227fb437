//! The diagnostics log: one `tracing` subscriber on stderr, level from
//! `RUST_LOG` (default `info`). Decisions have a log of their own
//! (`decision_log`), which `RUST_LOG` does not filter.
//!
//! Lines are written by a thread of their own, so a request seldom waits
//! on stderr (a slow terminal, a full pipe). The queue does not drop
//! lines: should it ever fill, the thread that logs waits for room. Few
//! diagnostics come from the request path (a monitor-mode "would deny", a
//! refused request); decisions go through the decision log, which drops
//! and counts instead of waiting.

/// Keeps the log's writer thread alive; dropping it flushes what is queued.
#[must_use = "the log stops (and loses what is queued) when the guard is dropped"]
pub struct LogGuard {
    _writer: tracing_appender::non_blocking::WorkerGuard,
}

/// Installs the subscriber; colors only when stderr is a terminal.
pub fn init() -> LogGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("portcullis-log")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    LogGuard { _writer: guard }
}
