//! The start-up scenario: `portcullis serve` of the ten-module chain, from
//! exec to listening, with an empty compile cache (every module compiled)
//! and again with the cache the first start filled (nothing compiled); and
//! its table.

use std::time::{Duration, Instant};

use portcullis_bench::guests;

use crate::Settings;
use crate::report::{fmt_duration, quantile};
use crate::server_process::{Binaries, ServerKind, ServerProcess};

/// Cold and cached start-up times, one of each per round.
pub(crate) struct StartupResult {
    cold: Vec<Duration>,
    cached: Vec<Duration>,
}

/// Starts the ten-module chain `settings.rounds` times cold, each followed
/// by a start on the cache it left.
pub(crate) fn run_startup(settings: &Settings, bins: &Binaries) -> anyhow::Result<StartupResult> {
    let config = guests::chain_config("ten");
    let mut result = StartupResult {
        cold: Vec::new(),
        cached: Vec::new(),
    };
    for round in 1..=settings.rounds {
        eprintln!("loadgen: start-up round {round}/{}", settings.rounds);
        // The command puts the compile cache beside the socket: a fresh
        // directory is an empty cache.
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("plugin.sock");
        for times in [&mut result.cold, &mut result.cached] {
            let command = ServerKind::Portcullis.command(bins, &config, &socket, "warn");
            let started = Instant::now();
            let server = ServerProcess::spawn("portcullis", command, &socket)?;
            times.push(started.elapsed());
            drop(server);
        }
    }
    Ok(result)
}

/// The start-up scenario's Markdown table.
pub(crate) fn render_startup(result: &StartupResult) -> String {
    let p50 = |times: &[Duration]| {
        let mut sorted = times.to_vec();
        sorted.sort();
        quantile(&sorted, 0.5)
    };
    let (cold, cached) = (p50(&result.cold), p50(&result.cached));
    format!(
        "\n## Start-up\n\n\
         `portcullis serve` of `benches/chains/ten.toml` (ten modules), from exec to \
         the plugin socket accepting a connection; {} rounds, each a start with an empty \
         compile cache, then a start on the cache it filled.\n\n\
         | compile cache | p50 | max | vs cold |\n|---|---|---|---|\n\
         | empty (cold) | {} | {} | 1.00× |\n\
         | filled | {} | {} | {:.2}× |\n",
        result.cold.len(),
        fmt_duration(cold),
        fmt_duration(result.cold.iter().copied().max().unwrap_or_default()),
        fmt_duration(cached),
        fmt_duration(result.cached.iter().copied().max().unwrap_or_default()),
        cached.as_secs_f64() / cold.as_secs_f64().max(f64::MIN_POSITIVE),
    )
}
