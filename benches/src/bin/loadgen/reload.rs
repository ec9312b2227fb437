//! The reload scenario: SIGHUP under load, with and without a changed
//! module, each reload timed to its log line; and its table.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use portcullis::config::Config;
use portcullis_bench::guests;
use rustix::process::Signal;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::measure::{Measured, measure, scenario};
use crate::report::{fmt_duration, quantile};
use crate::server_process::{Binaries, ServerKind, ServerProcess};

/// Connections kept busy during the reload scenario.
const RELOAD_CONNECTIONS: usize = 8;

/// What changes between reloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// Nothing: every module can be reused.
    Unchanged,
    /// One module's file, in turn: it must be recompiled.
    Changed,
}

/// One reload variant's outcome.
pub(crate) struct ReloadResult {
    variant: Variant,
    times: Vec<Duration>,
    /// The load run during all of this variant's reloads.
    pub(crate) measured: Measured,
}

/// Both reload variants, each on its own `portcullis serve`.
pub(crate) fn run_reloads(
    settings: &Settings,
    bins: &Binaries,
    runtime: &Runtime,
) -> anyhow::Result<Vec<ReloadResult>> {
    [Variant::Unchanged, Variant::Changed]
        .into_iter()
        .map(|variant| run_reload(settings, bins, runtime, variant))
        .collect()
}

/// Serves a copy of `five.toml` under load and reloads it `settings.reloads` times.
fn run_reload(
    settings: &Settings,
    bins: &Binaries,
    runtime: &Runtime,
    variant: Variant,
) -> anyhow::Result<ReloadResult> {
    eprintln!(
        "loadgen: reload ({variant:?}): {} SIGHUPs under load",
        settings.reloads
    );
    let copy = ChainCopy::create(&guests::chain_config("five"))?;
    let socket = copy.dir.path().join("plugin.sock");
    // `info`: the reload lines are what the benchmark waits for.
    let command = ServerKind::Portcullis.command(bins, &copy.config, &socket, "info");
    let server = ServerProcess::spawn("portcullis", command, &socket)?;
    let mix = scenario("mix")?;
    let spec = settings.load(&socket, RELOAD_CONNECTIONS, &mix.bodies);
    let (measured, times) = measure(runtime, &server, &spec, || {
        (1..=settings.reloads)
            .map(|generation| reload_once(&server, &copy, variant, generation))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    Ok(ReloadResult {
        variant,
        times,
        measured,
    })
}

/// Sends SIGHUP (after changing a module, for `Changed`) and times it until
/// the `chain reloaded generation=N` line is read.
fn reload_once(
    server: &ServerProcess,
    copy: &ChainCopy,
    variant: Variant,
    generation: u64,
) -> anyhow::Result<Duration> {
    if variant == Variant::Changed {
        copy.change_module(generation)?;
    }
    let sent = Instant::now();
    server.signal(Signal::HUP)?;
    let served = server.wait_for_reload(generation)?;
    Ok(served.saturating_duration_since(sent))
}

/// A chain config and its modules copied into a temporary directory, so
/// that the benchmark may rewrite them.
struct ChainCopy {
    dir: tempfile::TempDir,
    config: PathBuf,
    modules: Vec<ModuleCopy>,
}

/// A module's copy and its original bytes.
struct ModuleCopy {
    path: PathBuf,
    original: Vec<u8>,
}

impl ChainCopy {
    /// Copies `source` and each of its modules (as `<module name>.wasm`).
    fn create(source: &Path) -> anyhow::Result<ChainCopy> {
        let config = Config::load(source)?;
        let text = std::fs::read_to_string(source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let mut table: toml::Table =
            toml::from_str(&text).with_context(|| format!("{} is not TOML", source.display()))?;
        let entries = table
            .get_mut("module")
            .and_then(toml::Value::as_array_mut)
            .with_context(|| format!("{}: no [[module]]", source.display()))?;
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let mut modules = Vec::new();
        for (entry, spec) in entries.iter_mut().zip(&config.modules) {
            let file_name = format!("{}.wasm", spec.name);
            let original = std::fs::read(&spec.path)
                .with_context(|| format!("cannot read {}", spec.path.display()))?;
            let path = dir.path().join(&file_name);
            std::fs::write(&path, &original)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if let Some(entry) = entry.as_table_mut() {
                entry.insert("path".into(), file_name.into());
            }
            modules.push(ModuleCopy { path, original });
        }
        let config = dir.path().join("plugin.toml");
        std::fs::write(&config, toml::to_string(&table)?)
            .with_context(|| format!("cannot write {}", config.display()))?;
        Ok(ChainCopy {
            dir,
            config,
            modules,
        })
    }

    /// Rewrites one module (in turn) as its original bytes plus a custom
    /// section naming `generation`: still valid, but no longer the same bytes.
    fn change_module(&self, generation: u64) -> anyhow::Result<()> {
        let index = usize::try_from(generation).unwrap_or(0) % self.modules.len();
        let module = &self.modules[index];
        let mut bytes = module.original.clone();
        bytes.extend(custom_section(
            "portcullis-bench",
            generation.to_string().as_bytes(),
        ));
        // Written aside, then renamed: a reader never sees half a module.
        let staging = module.path.with_extension("wasm.tmp");
        std::fs::write(&staging, bytes)
            .with_context(|| format!("cannot write {}", staging.display()))?;
        std::fs::rename(&staging, &module.path)
            .with_context(|| format!("cannot replace {}", module.path.display()))
    }
}

/// A wasm custom section: id 0, size, name (length-prefixed), payload.
fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut contents = leb128(name.len());
    contents.extend_from_slice(name.as_bytes());
    contents.extend_from_slice(payload);
    let mut section = vec![0x00];
    section.extend(leb128(contents.len()));
    section.extend(contents);
    section
}

/// Unsigned LEB128, as wasm encodes sizes.
fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The reload scenario's Markdown table.
pub(crate) fn render_reloads(settings: &Settings, results: &[ReloadResult]) -> String {
    let mut out = format!(
        "\n## Reload under load\n\n\
         `portcullis serve` of a copy of `benches/chains/five.toml` (five modules), the `mix` \
         requests on {RELOAD_CONNECTIONS} connections the whole time; {} SIGHUPs, each waited \
         for. Reload time: from the signal to the `chain reloaded generation=N` log line. \
         `changed` rewrites one module before each SIGHUP (in turn; a new custom section, so \
         it must be recompiled); `unchanged` touches nothing.\n\n\
         | variant | reloads | reload p50 | reload p99 | reload max | requests | failed | request p50 | request p99 | request max |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        settings.reloads
    );
    for result in results {
        let report = &result.measured.report;
        let mut times = result.times.clone();
        times.sort();
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            format!("{:?}", result.variant).to_lowercase(),
            times.len(),
            fmt_duration(quantile(&times, 0.5)),
            fmt_duration(quantile(&times, 0.99)),
            fmt_duration(times.last().copied().unwrap_or_default()),
            report.requests,
            report.errors,
            fmt_duration(report.p50()),
            fmt_duration(report.p99()),
            fmt_duration(report.max()),
        );
    }
    for result in results {
        if let Some(error) = &result.measured.report.first_error {
            out += &format!(
                "\nFirst failed request ({}): `{error}`\n",
                format!("{:?}", result.variant).to_lowercase()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_matches_the_wasm_spec_examples() {
        assert_eq!(leb128(0), [0x00]);
        assert_eq!(leb128(127), [0x7f]);
        assert_eq!(leb128(128), [0x80, 0x01]);
        assert_eq!(leb128(624_485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn custom_section_is_id_size_name_payload() {
        assert_eq!(custom_section("ab", b"7"), [0x00, 4, 2, b'a', b'b', b'7']);
    }
}
