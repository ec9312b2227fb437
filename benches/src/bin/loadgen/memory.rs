//! The memory scenario: `portcullis serve` of ten modules under 256
//! connections, its peak RSS against the target.

use std::time::Duration;

use anyhow::Context as _;
use portcullis_bench::guests;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::measure::{Measured, measure_for, scenario};
use crate::report::{fmt_duration, fmt_mib, fmt_seconds};
use crate::server_process::{Binaries, ServerKind, ServerProcess};

/// Connections of the memory scenario.
const RSS_CONNECTIONS: usize = 256;
/// What the memory scenario must stay under.
const RSS_TARGET_MIB: f64 = 64.0;

/// The memory scenario: `portcullis serve` of ten modules under 256 connections.
pub(crate) struct Memory {
    after_start: u64,
    peak: u64,
    resident: u64,
    /// The load run during which the memory was taken.
    pub(crate) measured: Measured,
    duration: Duration,
}

/// Runs the memory scenario, unless skipped (`--rss-duration 0`, or
/// `--only` another server).
pub(crate) fn run_memory(
    settings: &Settings,
    bins: &Binaries,
    runtime: &Runtime,
) -> anyhow::Result<Option<Memory>> {
    if settings.rss_duration.is_zero() || !settings.servers.contains(&ServerKind::Portcullis) {
        return Ok(None);
    }
    eprintln!("loadgen: memory: portcullis, ten modules, {RSS_CONNECTIONS} connections");
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let socket = dir.path().join("ten.sock");
    let config = guests::chain_config("ten");
    let command = ServerKind::Portcullis.command(bins, &config, &socket, &settings.server_log);
    let server = ServerProcess::spawn("portcullis (ten modules)", command, &socket)?;
    let after_start = server.memory("VmHWM")?;
    let mix = scenario("mix")?;
    let spec = settings.load(&socket, RSS_CONNECTIONS, &mix.bodies);
    let measured = measure_for(runtime, &server, &spec, settings.rss_duration)?;
    Ok(Some(Memory {
        after_start,
        peak: server.memory("VmHWM")?,
        resident: server.memory("VmRSS")?,
        measured,
        duration: settings.rss_duration,
    }))
}

impl Memory {
    /// The memory scenario's Markdown table.
    pub(crate) fn render(&self) -> String {
        let mib = self.peak as f64 / (1024.0 * 1024.0);
        let verdict = if mib < RSS_TARGET_MIB {
            "met"
        } else {
            "MISSED"
        };
        format!(
            "\n### Memory: ten modules, {RSS_CONNECTIONS} connections\n\n\
             `portcullis serve -c benches/chains/ten.toml`, the `mix` requests for {} after a \
             warm-up.\n\n\
             | VmHWM after start | VmHWM after load | VmRSS after load | req/s | p99 | errors | target |\n\
             |---:|---:|---:|---:|---:|---:|---|\n\
             | {} | {} | {} | {:.0} | {} | {} | < {RSS_TARGET_MIB:.0} MiB: {verdict} |\n",
            fmt_seconds(self.duration),
            fmt_mib(self.after_start),
            fmt_mib(self.peak),
            fmt_mib(self.resident),
            self.measured.report.throughput(),
            fmt_duration(self.measured.report.p99()),
            self.measured.report.errors,
        )
    }
}
