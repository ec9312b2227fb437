//! The comparison: `floor`, `native`, `portcullis` and the rivals
//! `regorus` and `cedar` interleaved over rounds, every scenario and
//! connection count, and its tables.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use portcullis_bench::guests;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::measure::{Measured, Scenario, measure_for, scenarios};
use crate::report::{fmt_duration, fmt_mib, fmt_ratio, fmt_seconds, median};
use crate::server_process::{Binaries, ServerKind, ServerProcess};

/// The figures kept of one cell of one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    p50: Duration,
    p99: Duration,
    max: Duration,
    throughput: f64,
    errors: u64,
    server_cpu_per_request: Duration,
    client_cores: f64,
}

impl From<&Measured> for Sample {
    fn from(m: &Measured) -> Sample {
        Sample {
            p50: m.report.p50(),
            p99: m.report.p99(),
            max: m.report.max(),
            throughput: m.report.throughput(),
            errors: m.report.errors,
            server_cpu_per_request: m.server_cpu_per_request(),
            client_cores: m.client_cores(),
        }
    }
}

/// A cell: scenario index, connections, server.
type CellKey = (usize, usize, ServerKind);

/// Every round of every cell, and each server's peak memory.
pub(crate) struct Comparison {
    scenarios: Vec<Scenario>,
    samples: BTreeMap<CellKey, Vec<Sample>>,
    peak_rss: Vec<(ServerKind, u64)>,
}

/// Runs every round: within a round, every cell on every server in turn.
pub(crate) fn run_comparison(
    settings: &Settings,
    bins: &Binaries,
    runtime: &Runtime,
) -> anyhow::Result<Comparison> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let config = guests::chain_config("three");
    let servers = settings
        .servers
        .iter()
        .map(|&kind| {
            let socket = dir.path().join(format!("{}.sock", kind.name()));
            let command = kind.command(bins, &config, &socket, &settings.server_log);
            Ok((
                kind,
                socket.clone(),
                ServerProcess::spawn(kind.name(), command, &socket)?,
            ))
        })
        .collect::<anyhow::Result<Vec<Contestant>>>()?;
    let mut comparison = Comparison {
        scenarios: scenarios()?,
        samples: BTreeMap::new(),
        peak_rss: Vec::new(),
    };
    for round in 1..=settings.rounds {
        comparison.run_round(settings, runtime, &servers, round)?;
    }
    for (kind, _, server) in &servers {
        comparison.peak_rss.push((*kind, server.memory("VmHWM")?));
    }
    Ok(comparison)
}

/// A server under comparison, and its socket.
type Contestant = (ServerKind, PathBuf, ServerProcess);

impl Comparison {
    /// One round: every scenario and connection count, on each server in turn.
    fn run_round(
        &mut self,
        settings: &Settings,
        runtime: &Runtime,
        servers: &[Contestant],
        round: usize,
    ) -> anyhow::Result<()> {
        for (index, scenario) in self.scenarios.iter().enumerate() {
            for &connections in &settings.concurrency {
                for (kind, socket, server) in servers {
                    eprintln!(
                        "loadgen: round {round}/{}: {} × {connections}: {}",
                        settings.rounds,
                        scenario.name,
                        kind.name()
                    );
                    let spec = settings.load(socket, connections, &scenario.bodies);
                    let measured = measure_for(runtime, server, &spec, settings.duration)?;
                    let key = (index, connections, *kind);
                    self.samples
                        .entry(key)
                        .or_default()
                        .push(Sample::from(&measured));
                }
            }
        }
        Ok(())
    }

    /// Failed requests, over every cell and round.
    pub(crate) fn errors(&self) -> u64 {
        self.samples.values().flatten().map(|s| s.errors).sum()
    }

    /// Per-round values of `f(sample of kind) / f(sample of base)`.
    fn ratios(
        &self,
        cell: (usize, usize),
        kind: ServerKind,
        base: ServerKind,
        f: impl Fn(&Sample) -> f64,
    ) -> Option<f64> {
        let (scenario, connections) = cell;
        let of = self.samples.get(&(scenario, connections, kind))?;
        let base = self.samples.get(&(scenario, connections, base))?;
        let ratios: Vec<f64> = of.iter().zip(base).map(|(a, b)| f(a) / f(b)).collect();
        Some(median(ratios))
    }

    /// Per-round values of `f(sample of kind) − f(sample of base)`, in µs.
    fn differences(
        &self,
        cell: (usize, usize),
        kind: ServerKind,
        base: ServerKind,
        f: impl Fn(&Sample) -> Duration,
    ) -> Option<f64> {
        let (scenario, connections) = cell;
        let of = self.samples.get(&(scenario, connections, kind))?;
        let base = self.samples.get(&(scenario, connections, base))?;
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        let differences = of
            .iter()
            .zip(base)
            .map(|(a, b)| micros(f(a)) - micros(f(b)));
        Some(median(differences.collect()))
    }

    /// The comparison's Markdown tables.
    pub(crate) fn render(&self, settings: &Settings) -> String {
        let mut out = format!(
            "\n## End to end over the Unix socket\n\n\
             Chain: `benches/chains/three.toml` (no-privileged → rbac → hardening). \
             Each cell: {} warm-up, {} measured; N keep-alive HTTP/1.1 connections with one \
             request in flight each, from a {}-thread client; the median of {} rounds, \
             the servers interleaved within each round. Server log: `RUST_LOG={}` \
             (only native and portcullis write a line per decision). \
             Ratios are taken within each round, then their median.\n\n\
             The rivals, lean servers on the floor's stack: `regorus` evaluates \
             `benches/policy/docker.rego` on opa-docker-authz's input document, \
             `cedar` evaluates `benches/policy/docker.cedar` with cedar-policy; \
             their headers say what of the chain they mirror.\n",
            fmt_seconds(settings.warmup),
            fmt_seconds(settings.duration),
            settings.client_threads.max(1),
            settings.rounds,
            settings.server_log,
        );
        for (index, scenario) in self.scenarios.iter().enumerate() {
            out += &self.render_scenario(settings, index, scenario);
        }
        out += &self.render_versus_native(settings);
        out += &self.render_versus_rivals(settings);
        out +=
            "\n### Peak memory of each server after its runs\n\n| server | VmHWM |\n|---|---:|\n";
        for (kind, bytes) in &self.peak_rss {
            out += &format!("| {} | {} |\n", kind.name(), fmt_mib(*bytes));
        }
        out
    }

    fn render_scenario(&self, settings: &Settings, index: usize, scenario: &Scenario) -> String {
        let mut out = format!(
            "\n### `{}`: {}\n\n\
             | connections | server | p50 | p99 | max | req/s | errors | server CPU/req | loadgen CPU | p50 ÷ floor | p99 ÷ floor | req/s ÷ floor |\n\
             |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            scenario.name, scenario.about
        );
        for &connections in &settings.concurrency {
            for &kind in &settings.servers {
                if let Some(samples) = self.samples.get(&(index, connections, kind)) {
                    out += &self.render_row((index, connections), kind, samples);
                }
            }
        }
        out
    }

    fn render_row(&self, cell: (usize, usize), kind: ServerKind, samples: &[Sample]) -> String {
        let floor = ServerKind::Floor;
        let ratio = |f: fn(&Sample) -> f64| fmt_ratio(self.ratios(cell, kind, floor, f));
        format!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {:.2} | {} | {} | {} |\n",
            cell.1,
            kind.name(),
            fmt_duration(median_duration(samples, |s| s.p50)),
            fmt_duration(median_duration(samples, |s| s.p99)),
            fmt_duration(samples.iter().map(|s| s.max).max().unwrap_or_default()),
            median(samples.iter().map(|s| s.throughput).collect()),
            samples.iter().map(|s| s.errors).sum::<u64>(),
            fmt_duration(median_duration(samples, |s| s.server_cpu_per_request)),
            median(samples.iter().map(|s| s.client_cores).collect()),
            ratio(|s| s.p50.as_secs_f64()),
            ratio(|s| s.p99.as_secs_f64()),
            ratio(|s| s.throughput),
        )
    }

    fn render_versus_native(&self, settings: &Settings) -> String {
        let (floor, native, wasm) = (
            ServerKind::Floor,
            ServerKind::Native,
            ServerKind::Portcullis,
        );
        let mut out = String::from(
            "\n### portcullis vs native, and where the time goes\n\n\
             Differences are per request: p50 latency, and server CPU time.\n\n\
             | scenario | connections | p50 ÷ native | p99 ÷ native | req/s ÷ native \
             | p50: native − floor | p50: portcullis − native \
             | CPU/req: native − floor | CPU/req: portcullis − native |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for (index, scenario) in self.scenarios.iter().enumerate() {
            for &connections in &settings.concurrency {
                let cell = (index, connections);
                if self.ratios(cell, wasm, native, |_| 1.0).is_none() {
                    continue;
                }
                let us = |d: Option<f64>| d.map_or("–".into(), |d| format!("{d:.1} µs"));
                out += &format!(
                    "| {} | {connections} | {} | {} | {} | {} | {} | {} | {} |\n",
                    scenario.name,
                    fmt_ratio(self.ratios(cell, wasm, native, |s| s.p50.as_secs_f64())),
                    fmt_ratio(self.ratios(cell, wasm, native, |s| s.p99.as_secs_f64())),
                    fmt_ratio(self.ratios(cell, wasm, native, |s| s.throughput)),
                    us(self.differences(cell, native, floor, |s| s.p50)),
                    us(self.differences(cell, wasm, native, |s| s.p50)),
                    us(self.differences(cell, native, floor, |s| s.server_cpu_per_request)),
                    us(self.differences(cell, wasm, native, |s| s.server_cpu_per_request)),
                );
            }
        }
        out
    }

    /// Each rival's p50 and throughput over portcullis's, per cell.
    fn render_versus_rivals(&self, settings: &Settings) -> String {
        let wasm = ServerKind::Portcullis;
        let rivals: Vec<ServerKind> = ServerKind::RIVALS
            .into_iter()
            .filter(|rival| settings.servers.contains(rival) && settings.servers.contains(&wasm))
            .collect();
        if rivals.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "\n### portcullis vs the rivals\n\n\
             Rival ÷ portcullis, within each round: a p50 above 1 is a rival slower \
             than portcullis, a req/s below 1 a rival serving fewer requests.\n\n\
             | scenario | connections |",
        );
        for rival in &rivals {
            out += &format!(
                " {0} p50 ÷ portcullis | {0} req/s ÷ portcullis |",
                rival.name()
            );
        }
        out += &format!("\n|---|---:|{}\n", "---:|---:|".repeat(rivals.len()));
        for (index, scenario) in self.scenarios.iter().enumerate() {
            for &connections in &settings.concurrency {
                let cell = (index, connections);
                out += &format!("| {} | {connections} |", scenario.name);
                for &rival in &rivals {
                    out += &format!(
                        " {} | {} |",
                        fmt_ratio(self.ratios(cell, rival, wasm, |s| s.p50.as_secs_f64())),
                        fmt_ratio(self.ratios(cell, rival, wasm, |s| s.throughput)),
                    );
                }
                out += "\n";
            }
        }
        out
    }
}

/// The median over rounds of a duration figure.
fn median_duration(samples: &[Sample], f: impl Fn(&Sample) -> Duration) -> Duration {
    let secs = median(samples.iter().map(|s| f(s).as_secs_f64()).collect());
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}
