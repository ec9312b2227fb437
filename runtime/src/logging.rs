//! The log: one `tracing` subscriber on stderr, level from `RUST_LOG`
//! (default `info`, which includes one `portcullis::audit` line per decision).

/// Installs the subscriber; colors only when stderr is a terminal.
pub fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
