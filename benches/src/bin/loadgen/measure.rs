//! Measuring: the request sets sent in a loop, and one load run against a
//! server with the CPU time both sides used while it was measured.

use std::time::Duration;

use anyhow::Context as _;
use hyper::body::Bytes;
use portcullis_bench::fixtures;
use portcullis_bench::load::{LoadReport, LoadSpec, RunningLoad};
use tokio::runtime::Runtime;

use crate::server_process::{ServerProcess, cpu_time};

/// A set of requests sent in a loop.
pub(crate) struct Scenario {
    /// Its name in the tables (`create`, `mix`).
    pub(crate) name: &'static str,
    /// What it sends, for the table heading.
    pub(crate) about: &'static str,
    /// The request bodies, sent in turn.
    pub(crate) bodies: Vec<Bytes>,
}

/// `create` (the target case: the biggest body, every policy reads it) and
/// `mix` (all four fixtures in turn).
pub(crate) fn scenarios() -> anyhow::Result<Vec<Scenario>> {
    let all = fixtures::all()?;
    let body = |f: &fixtures::Fixture| Bytes::from(f.body.clone());
    let create = all
        .iter()
        .filter(|f| f.name == "containers_create")
        .map(body)
        .collect();
    Ok(vec![
        Scenario {
            name: "create",
            about: "`containers/create` only (3 KB body, read by every module)",
            bodies: create,
        },
        Scenario {
            name: "mix",
            about: "`containers/create`, `exec` create, `containers/json`, `_ping` in turn",
            bodies: all.iter().map(body).collect(),
        },
    ])
}

/// The scenario called `name`.
pub(crate) fn scenario(name: &str) -> anyhow::Result<Scenario> {
    scenarios()?
        .into_iter()
        .find(|s| s.name == name)
        .with_context(|| format!("no scenario {name:?}"))
}

/// One load run, and the CPU both sides used while it was measured.
pub(crate) struct Measured {
    /// What the load generator saw.
    pub(crate) report: LoadReport,
    server_cpu: Duration,
    client_cpu: Duration,
}

impl Measured {
    /// Server CPU time per measured request.
    pub(crate) fn server_cpu_per_request(&self) -> Duration {
        self.server_cpu
            .checked_div(u32::try_from(self.report.requests.max(1)).unwrap_or(u32::MAX))
            .unwrap_or_default()
    }

    /// The load generator's CPU use, in cores (its stderr readers included).
    pub(crate) fn client_cores(&self) -> f64 {
        self.client_cpu.as_secs_f64() / self.report.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Loads `server` per `spec` while `during` runs on its own thread; the
/// measurement starts after the warm-up and ends when `during` returns.
pub(crate) fn measure<T: Send>(
    runtime: &Runtime,
    server: &ServerProcess,
    spec: &LoadSpec,
    during: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<(Measured, T)> {
    std::thread::scope(|scope| {
        runtime.block_on(async {
            let load = RunningLoad::start(spec).await?;
            let (server_cpu, client_cpu) = (server.cpu_time()?, cpu_time("/proc/self/stat")?);
            let (done, finished) = tokio::sync::oneshot::channel();
            let task = scope.spawn(move || {
                let value = during();
                let _ = done.send(());
                value
            });
            let _ = finished.await;
            let server_cpu = server.cpu_time()?.saturating_sub(server_cpu);
            let client_cpu = cpu_time("/proc/self/stat")?.saturating_sub(client_cpu);
            let report = load.stop().await?;
            let value = task
                .join()
                .map_err(|_| anyhow::anyhow!("the task run under load panicked"))??;
            if let Some(error) = &report.first_error {
                eprintln!(
                    "loadgen: {}: {} failed requests, the first: {error}",
                    server.name, report.errors
                );
            }
            let measured = Measured {
                report,
                server_cpu,
                client_cpu,
            };
            Ok((measured, value))
        })
    })
}

/// Loads `server` for `duration` after the warm-up.
pub(crate) fn measure_for(
    runtime: &Runtime,
    server: &ServerProcess,
    spec: &LoadSpec,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let (measured, ()) = measure(runtime, server, spec, || {
        std::thread::sleep(duration);
        Ok(())
    })?;
    Ok(measured)
}
