//! `loadgen`: the end-to-end benchmark over the Unix socket, in one command
//! (`cargo run --release -p portcullis-bench --bin loadgen`).
//!
//! It builds the guests, `portcullis` and `bench-server`, spawns the five
//! servers as child processes on private sockets — `floor` (a constant
//! allow), `native` (Portcullis's server with the policies compiled
//! natively), `portcullis serve`, and the rivals `regorus` (the chain's
//! rules in Rego, as opa-docker-authz evaluates them) and `cedar` (the same
//! in Cedar) — and loads them with
//! [`portcullis_bench::load`] the way dockerd does: keep-alive HTTP/1.1
//! connections, one request in flight on each. Servers are interleaved
//! within each round and every figure is the median over rounds, so the
//! noise of a shared machine falls on all of them alike. Then the memory
//! scenario: ten modules, 256 connections, peak RSS. With `--reload`, the
//! reload scenario instead: SIGHUP under load, timed to the log line; with
//! `--startup`, the start-up scenario: ten modules, cold and cached.
//!
//! Markdown tables go to stdout (for BENCHMARKS.md), progress to stderr.
//!
//! This file: the command line and the order of things. The rest:
//! [`server_process`] (building and running the servers), [`measure`] (one
//! load run), [`compare`], [`memory`], [`reload`] and [`startup`] (the
//! scenarios and their tables), [`report`] (what the tables share).

mod compare;
mod measure;
mod memory;
mod reload;
mod report;
mod server_process;
mod startup;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use hyper::body::Bytes;
use portcullis_bench::load::LoadSpec;
use tokio::runtime::Runtime;

use crate::compare::run_comparison;
use crate::memory::run_memory;
use crate::reload::{render_reloads, run_reloads};
use crate::report::machine;
use crate::server_process::{Binaries, ServerKind};
use crate::startup::{render_startup, run_startup};

/// End-to-end benchmark of Portcullis over its Unix socket.
#[derive(Parser)]
#[command(name = "loadgen")]
struct Args {
    /// Seconds measured per cell, after the warm-up.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    duration: f64,
    /// Seconds of load before measuring, per cell.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    warmup: f64,
    /// Concurrent connections, one cell each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    concurrency: Vec<usize>,
    /// Rounds; every figure is the median over rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Benchmark only this server.
    #[arg(long, value_enum)]
    only: Option<ServerKind>,
    /// Threads of the load generator (1 leaves the other cores to the server).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// RUST_LOG of native and portcullis in the comparison (diagnostics
    /// only: both write the decision log their chain's `[log]` asks for,
    /// by default a text line per decision on stderr, as deployed).
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Seconds of the memory scenario (ten modules, 256 connections); 0 skips it.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    rss_duration: f64,
    /// Run the reload scenario (SIGHUP under load) instead of the comparison.
    #[arg(long)]
    reload: bool,
    /// SIGHUPs per reload variant.
    #[arg(long, default_value_t = 100)]
    reloads: u64,
    /// Run the start-up scenario (ten modules, cold and with the compile
    /// cache, `--rounds` times) instead of the comparison.
    #[arg(long, conflicts_with = "reload")]
    startup: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("loadgen: {errors} failed requests (see the errors columns)");
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the selected benchmark, prints its tables, and returns the number
/// of failed requests.
fn run(args: &Args) -> anyhow::Result<u64> {
    let settings = Settings::from_args(args)?;
    if cfg!(debug_assertions) {
        eprintln!("loadgen: warning: a debug build; run it with --release");
    }
    let binaries = Binaries::build()?;
    let runtime = client_runtime(args.client_threads)?;
    let mut out = machine()?;
    let errors = if args.startup {
        out += &render_startup(&run_startup(&settings, &binaries)?);
        0
    } else if args.reload {
        let results = run_reloads(&settings, &binaries, &runtime)?;
        out += &render_reloads(&settings, &results);
        results.iter().map(|r| r.measured.report.errors).sum()
    } else {
        let comparison = run_comparison(&settings, &binaries, &runtime)?;
        out += &comparison.render(&settings);
        let mut errors = comparison.errors();
        if let Some(memory) = run_memory(&settings, &binaries, &runtime)? {
            out += &memory.render();
            errors += memory.measured.report.errors;
        }
        errors
    };
    print!("{out}");
    Ok(errors)
}

/// The command line, checked.
struct Settings {
    duration: Duration,
    warmup: Duration,
    concurrency: Vec<usize>,
    rounds: usize,
    servers: Vec<ServerKind>,
    client_threads: usize,
    server_log: String,
    rss_duration: Duration,
    reloads: u64,
}

impl Settings {
    fn from_args(args: &Args) -> anyhow::Result<Settings> {
        let seconds = |flag: &str, value: f64| {
            Duration::try_from_secs_f64(value)
                .with_context(|| format!("--{flag} {value}: not a number of seconds"))
        };
        anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
        anyhow::ensure!(
            !args.concurrency.is_empty() && !args.concurrency.contains(&0),
            "--concurrency needs connection counts of at least 1"
        );
        anyhow::ensure!(args.reloads > 0, "--reloads must be at least 1");
        Ok(Settings {
            duration: seconds("duration", args.duration)?,
            warmup: seconds("warmup", args.warmup)?,
            concurrency: args.concurrency.clone(),
            rounds: args.rounds,
            servers: match args.only {
                Some(kind) => vec![kind],
                None => ServerKind::ALL.to_vec(),
            },
            client_threads: args.client_threads,
            server_log: args.server_log.clone(),
            rss_duration: seconds("rss-duration", args.rss_duration)?,
            reloads: args.reloads,
        })
    }

    fn load(&self, socket: &Path, concurrency: usize, bodies: &[Bytes]) -> LoadSpec {
        LoadSpec {
            socket: socket.to_owned(),
            concurrency,
            bodies: bodies.to_vec(),
            warmup: self.warmup,
        }
    }
}

/// The load generator's runtime: one thread by default, so that on a small
/// machine the client takes one core at most.
fn client_runtime(threads: usize) -> anyhow::Result<Runtime> {
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the client runtime")
}
