//! `plugin.toml`: raw text → validated [`Config`], every error pointing at
//! the file and line. Read by `main` (serve, check) and by reload.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use portcullis_envelope::mounts::HostRoot;
use serde::Deserialize;
use toml::Spanned;

/// The socket dockerd looks for when `--authorization-plugin=portcullis`.
pub const DEFAULT_PLUGIN_NAME: &str = "portcullis";
/// Default fuel per module call (about 50 ms of straight-line wasm).
pub const DEFAULT_FUEL: u64 = 50_000_000;
/// Default memory cap per module instance.
pub const DEFAULT_MEMORY_MIB: u32 = 32;
/// Default wall-clock deadline per module call.
pub const DEFAULT_TIMEOUT_MS: u64 = 100;
/// wasm32 cannot address more.
const MAX_MEMORY_MIB: u64 = 4096;
/// Where host state lives when `[plugin] state_dir` is not given.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/portcullis";
/// Keys a module may hold in host state by default.
pub const DEFAULT_STATE_KEYS: u64 = 100_000;
/// MiB of keys and values a module may hold in host state by default.
pub const DEFAULT_STATE_MIB: u64 = 64;

/// Where compiled modules are cached when `[plugin] cache_dir` is not given.
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/portcullis";
/// dockerd's API socket when `[docker] socket` is not given.
pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// How long the built-in rule waits for dockerd's answers about one call
/// when `[docker] lookup_timeout_ms` is not given.
pub const DEFAULT_LOOKUP_TIMEOUT_MS: u64 = 1000;
/// The admin socket when `[admin] socket` is not given.
pub const DEFAULT_ADMIN_SOCKET: &str = "/run/portcullis/admin.sock";
/// Decision-log lines queued for the writer before new ones are dropped.
pub const DEFAULT_LOG_QUEUE: u64 = 8192;

/// Most serving threads `[plugin] workers` may ask for.
const MAX_WORKERS: u64 = 64;

/// A validated `plugin.toml`.
///
/// Invariant: at least one module; module names unique; every module file
/// existed when the config was read; every limit is positive.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this was read from.
    pub source: PathBuf,
    /// The plugin name dockerd knows (`--authorization-plugin=NAME`).
    pub plugin_name: String,
    /// Where to listen.
    pub socket: PathBuf,
    /// The chain, in order.
    pub modules: Vec<ModuleSpec>,
    /// `[plugin] workers`: threads serving the socket, each of which
    /// evaluates the requests it reads; `None` means one per CPU.
    pub workers: Option<usize>,
    /// `[plugin] state_dir`: where modules' host state is kept (resolved
    /// against the config's directory), opened only if a module uses state.
    pub state_dir: PathBuf,
    /// `[plugin] watch`: reload when plugin.toml or a module file changes.
    pub watch: bool,
    /// `[plugin] cache_dir` (resolved like `state_dir`): compiled modules
    /// by content hash; `None` when `compile_cache = false`.
    pub cache_dir: Option<PathBuf>,
    /// `[plugin] host_root`: where the host's `/` is mounted when Portcullis
    /// does not run on it (a managed plugin's `/host`); bind sources are
    /// resolved inside it. By default the host's `/` is ours.
    pub host_root: HostRoot,
    /// `[admin]`: the operator's socket and the optional metrics listener.
    pub admin: AdminSettings,
    /// `[log]`: the decision log.
    pub log: LogSettings,
    /// `[protect]`: the built-in self-protection rule.
    pub protect: ProtectSettings,
    /// `[docker]`: the daemon the built-in rule asks what a reference means.
    pub docker: DockerSettings,
}

/// `[docker]`: the one dockerd whose API the built-in rule asks what a
/// container reference designates (see `docker_lookup`). Portcullis judges
/// the calls of that daemon: several daemons sharing one plugin would have
/// their references resolved in this one only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerSettings {
    /// `socket`: dockerd's API socket, a host path (seen through `[plugin]
    /// host_root` when set); default `/var/run/docker.sock`.
    pub socket: PathBuf,
    /// `lookup_timeout_ms`: the most one call waits for dockerd's answers;
    /// a later answer fails closed.
    pub lookup_timeout: std::time::Duration,
}

/// `[protect]`: what the built-in self-protection rule guards, and who may
/// pass it (see `self_protection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectSettings {
    /// `plugins`: Portcullis' own managed-plugin references (default: the
    /// `[plugin] name`); empty turns plugin protection off.
    pub plugins: Vec<String>,
    /// `containers`: names or IDs of the container Portcullis runs in,
    /// besides the one it finds itself.
    pub containers: Vec<String>,
    /// `break_glass_users`: users (TLS certificate CN) the rule lets through.
    pub break_glass_users: Vec<String>,
}

/// `[admin]`: where operators reach a running Portcullis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// The admin socket (status, reload, metrics), created with mode 0600.
    pub socket: PathBuf,
    /// `metrics_address`: also serve `GET /metrics` (and nothing else) on
    /// this TCP address.
    pub metrics_address: Option<std::net::SocketAddr>,
}

/// `[log]`: what the decision log writes, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `format`: one human-readable line (the default) or one JSON object
    /// per decision (docs/decision-log.md).
    pub format: LogFormat,
    /// `destination`: `"stderr"` (the default), `"off"`, or a file path
    /// (resolved against the config's directory; reopened on SIGUSR1).
    pub destination: LogDestination,
    /// `denials_only`: skip allowed calls.
    pub denials_only: bool,
    /// `bodies`: include request and response bodies, as redacted as the
    /// envelope redacts them (off by default: bodies carry secrets).
    pub bodies: bool,
    /// `queue`: lines waiting for the writer; beyond it lines are dropped
    /// (and counted), never waited for.
    pub queue: usize,
}

/// The decision log's line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `key=value` text, as `tracing` writes it.
    #[default]
    Text,
    /// One JSON object per line, schema in docs/decision-log.md.
    Json,
}

/// Where decision-log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDestination {
    /// Standard error (with the diagnostics).
    Stderr,
    /// Appended to this file.
    File(PathBuf),
    /// Nowhere.
    Off,
}

impl Config {
    /// The serving threads: `[plugin] workers`, or one per CPU.
    pub fn worker_threads(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
    }
}

/// Whether a module's denials count (`mode` in its `[[module]]` table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A deny or a failure denies the call (the default).
    #[default]
    Enforce,
    /// The module runs and what it would deny (or a failure) is logged,
    /// but the call goes on: how a new rule is rolled out safely.
    Monitor,
}

/// One `[[module]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleSpec {
    /// Unique name, used in every deny message and log line about it.
    pub name: String,
    /// The `.wasm` (or `.wat`) file, resolved against the config's directory.
    pub path: PathBuf,
    /// Its sandbox limits.
    pub limits: Limits,
    /// Its `[module.config]` table, as JSON for the guest.
    pub config: serde_json::Value,
    /// `reuse_instances`: `Some(false)` forces a fresh instance for every
    /// call; `None` (the default) reuses instances only if the module
    /// declares itself reusable (ABI export `portcullis_reusable`).
    pub reuse_instances: Option<bool>,
    /// `response_phase`: `None` (the default) calls the module in the
    /// response phase only if it exports `portcullis_response_v1`;
    /// `Some(true)` calls it there anyway (modules built before that export
    /// existed), `Some(false)` never does.
    pub response_phase: Option<bool>,
    /// `mode`: whether its denials count.
    pub mode: Mode,
    /// Line of its `[[module]]` header, for later errors about it.
    pub line: usize,
}

/// Sandbox limits of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) per call, instantiation included.
    pub fuel: u64,
    /// Linear-memory cap in MiB.
    pub memory_mib: u32,
    /// Wall-clock deadline per call, instantiation included.
    pub timeout_ms: u64,
    /// Keys the module may hold in host state.
    pub state_keys: u64,
    /// MiB of keys and values the module may hold in host state.
    pub state_mib: u64,
}

/// A `plugin.toml` that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line of the offending item, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    plugin: Option<RawPlugin>,
    defaults: Option<RawLimits>,
    admin: Option<RawAdmin>,
    log: Option<RawLog>,
    protect: Option<RawProtect>,
    docker: Option<RawDocker>,
    #[serde(default, rename = "module")]
    modules: Vec<Spanned<RawModule>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    socket: Option<PathBuf>,
    metrics_address: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProtect {
    plugins: Option<Vec<String>>,
    containers: Option<Vec<String>>,
    break_glass_users: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDocker {
    socket: Option<Spanned<PathBuf>>,
    lookup_timeout_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<LogFormat>,
    destination: Option<Spanned<String>>,
    denials_only: Option<bool>,
    bodies: Option<bool>,
    queue: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    name: Option<Spanned<String>>,
    socket: Option<PathBuf>,
    workers: Option<Spanned<u64>>,
    state_dir: Option<PathBuf>,
    watch: Option<bool>,
    cache_dir: Option<PathBuf>,
    compile_cache: Option<bool>,
    host_root: Option<Spanned<PathBuf>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    fuel: Option<Spanned<u64>>,
    memory_mib: Option<Spanned<u64>>,
    timeout_ms: Option<Spanned<u64>>,
    state_keys: Option<Spanned<u64>>,
    state_mib: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    name: Spanned<String>,
    path: Spanned<PathBuf>,
    fuel: Option<Spanned<u64>>,
    memory_mib: Option<Spanned<u64>>,
    timeout_ms: Option<Spanned<u64>>,
    state_keys: Option<Spanned<u64>>,
    state_mib: Option<Spanned<u64>>,
    reuse_instances: Option<bool>,
    response_phase: Option<bool>,
    mode: Option<Mode>,
    config: Option<Spanned<toml::Table>>,
}

impl Config {
    /// Reads and validates a `plugin.toml`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Validates `text` as the contents of the config file at `path`
    /// (module paths are resolved against `path`'s directory).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |span: std::ops::Range<usize>, message: String| ConfigError {
            path: path.to_owned(),
            line: Some(line_of(text, span.start)),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_owned(),
        })?;

        let plugin = raw.plugin.unwrap_or_default();
        let workers = match &plugin.workers {
            Some(_) => Some(positive(&plugin.workers, 1, "workers", MAX_WORKERS, &at)? as usize),
            None => None,
        };
        let plugin_name = match plugin.name {
            Some(name) => {
                check_name(name.get_ref())
                    .map_err(|m| at(name.span(), format!("plugin name {m}")))?;
                name.into_inner()
            }
            None => DEFAULT_PLUGIN_NAME.to_owned(),
        };
        let socket = plugin
            .socket
            .unwrap_or_else(|| PathBuf::from(format!("/run/docker/plugins/{plugin_name}.sock")));

        let defaults = raw.defaults.unwrap_or_default();
        let default_limits = Limits {
            fuel: positive(&defaults.fuel, DEFAULT_FUEL, "fuel", u64::MAX, &at)?,
            memory_mib: positive(
                &defaults.memory_mib,
                DEFAULT_MEMORY_MIB.into(),
                "memory_mib",
                MAX_MEMORY_MIB,
                &at,
            )? as u32,
            timeout_ms: positive(
                &defaults.timeout_ms,
                DEFAULT_TIMEOUT_MS,
                "timeout_ms",
                u64::MAX,
                &at,
            )?,
            state_keys: positive(
                &defaults.state_keys,
                DEFAULT_STATE_KEYS,
                "state_keys",
                u64::MAX,
                &at,
            )?,
            state_mib: positive(
                &defaults.state_mib,
                DEFAULT_STATE_MIB,
                "state_mib",
                1 << 20,
                &at,
            )?,
        };

        let base = path.parent().unwrap_or(Path::new("."));
        let state_dir = base.join(
            plugin
                .state_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
        );
        let cache_dir = plugin.compile_cache.unwrap_or(true).then(|| {
            base.join(
                plugin
                    .cache_dir
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE_DIR)),
            )
        });
        let host_root = match plugin.host_root {
            Some(root) if !root.get_ref().is_absolute() || !root.get_ref().is_dir() => {
                return Err(at(
                    root.span(),
                    format!(
                        "host_root {} is not an absolute path to a directory (where the host's / is mounted)",
                        root.get_ref().display()
                    ),
                ));
            }
            Some(root) => HostRoot::under(root.into_inner()),
            None => HostRoot::native(),
        };
        let admin = raw.admin.unwrap_or_default();
        let admin = AdminSettings {
            socket: base.join(
                admin
                    .socket
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_ADMIN_SOCKET)),
            ),
            metrics_address: match admin.metrics_address {
                Some(address) => Some(address.get_ref().parse().map_err(|e| {
                    at(
                        address.span(),
                        format!(
                            "metrics_address \"{}\" is not an IP:port address: {e}",
                            address.get_ref()
                        ),
                    )
                })?),
                None => None,
            },
        };
        let protect = raw.protect.unwrap_or_default();
        let protect = ProtectSettings {
            plugins: protect.plugins.unwrap_or_else(|| vec![plugin_name.clone()]),
            containers: protect.containers.unwrap_or_default(),
            break_glass_users: protect.break_glass_users.unwrap_or_default(),
        };
        let docker = raw.docker.unwrap_or_default();
        let docker = DockerSettings {
            socket: match docker.socket {
                Some(socket) if !socket.get_ref().is_absolute() => {
                    return Err(at(
                        socket.span(),
                        format!(
                            "socket {} is not an absolute path (dockerd's API socket on the host)",
                            socket.get_ref().display()
                        ),
                    ));
                }
                Some(socket) => socket.into_inner(),
                None => PathBuf::from(DEFAULT_DOCKER_SOCKET),
            },
            lookup_timeout: std::time::Duration::from_millis(positive(
                &docker.lookup_timeout_ms,
                DEFAULT_LOOKUP_TIMEOUT_MS,
                "lookup_timeout_ms",
                60_000,
                &at,
            )?),
        };
        let log = raw.log.unwrap_or_default();
        let log = LogSettings {
            format: log.format.unwrap_or_default(),
            destination: match log.destination {
                None => LogDestination::Stderr,
                Some(d) => match d.get_ref().as_str() {
                    "stderr" => LogDestination::Stderr,
                    "off" => LogDestination::Off,
                    "" => return Err(at(d.span(), "destination must not be empty".to_owned())),
                    file => LogDestination::File(base.join(file)),
                },
            },
            denials_only: log.denials_only.unwrap_or(false),
            bodies: log.bodies.unwrap_or(false),
            queue: positive(&log.queue, DEFAULT_LOG_QUEUE, "queue", 1 << 20, &at)? as usize,
        };
        let mut names = BTreeSet::new();
        let mut modules = Vec::with_capacity(raw.modules.len());
        for entry in raw.modules {
            let entry_span = entry.span();
            let module = entry.into_inner();
            let name = module.name.get_ref().clone();
            check_name(&name).map_err(|m| at(module.name.span(), format!("module name {m}")))?;
            if name == crate::chain::SELF_PROTECTION {
                return Err(at(
                    module.name.span(),
                    format!("module name \"{name}\" is reserved for the built-in rule"),
                ));
            }
            if !names.insert(name.clone()) {
                return Err(at(
                    module.name.span(),
                    format!("duplicate module name \"{name}\""),
                ));
            }
            let file = base.join(module.path.get_ref());
            if !file.is_file() {
                return Err(at(
                    module.path.span(),
                    format!(
                        "module \"{name}\": file {} does not exist (build the guests first?)",
                        file.display()
                    ),
                ));
            }
            let limits = Limits {
                fuel: positive(&module.fuel, default_limits.fuel, "fuel", u64::MAX, &at)?,
                memory_mib: positive(
                    &module.memory_mib,
                    default_limits.memory_mib.into(),
                    "memory_mib",
                    MAX_MEMORY_MIB,
                    &at,
                )? as u32,
                timeout_ms: positive(
                    &module.timeout_ms,
                    default_limits.timeout_ms,
                    "timeout_ms",
                    u64::MAX,
                    &at,
                )?,
                state_keys: positive(
                    &module.state_keys,
                    default_limits.state_keys,
                    "state_keys",
                    u64::MAX,
                    &at,
                )?,
                state_mib: positive(
                    &module.state_mib,
                    default_limits.state_mib,
                    "state_mib",
                    1 << 20,
                    &at,
                )?,
            };
            let config = match module.config {
                Some(table) => {
                    let span = table.span();
                    toml_to_json(toml::Value::Table(table.into_inner()))
                        .map_err(|m| at(span, format!("module \"{name}\" config: {m}")))?
                }
                None => serde_json::Value::Object(serde_json::Map::new()),
            };
            modules.push(ModuleSpec {
                name,
                path: file,
                limits,
                config,
                reuse_instances: module.reuse_instances,
                response_phase: module.response_phase,
                mode: module.mode.unwrap_or_default(),
                line: line_of(text, entry_span.start),
            });
        }
        if modules.is_empty() {
            return Err(ConfigError {
                path: path.to_owned(),
                line: None,
                message: "no [[module]]: a chain without modules would allow every call".to_owned(),
            });
        }
        Ok(Config {
            source: path.to_owned(),
            plugin_name,
            socket,
            modules,
            workers,
            state_dir,
            watch: plugin.watch.unwrap_or(true),
            cache_dir,
            host_root,
            admin,
            log,
            protect,
            docker,
        })
    }
}

/// The admin socket named by the config at `path`, read leniently: only
/// `[admin] socket` needs to make sense, so that `portcullis reload` can
/// reach a server whose config has just been broken (and say why).
pub fn admin_socket_of(path: &Path) -> Result<PathBuf, ConfigError> {
    let error = |message: String| ConfigError {
        path: path.to_owned(),
        line: None,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| error(e.message().to_owned()))?;
    let socket = match table.get("admin").and_then(|admin| admin.get("socket")) {
        None => DEFAULT_ADMIN_SOCKET,
        Some(toml::Value::String(socket)) => socket.as_str(),
        Some(_) => return Err(error("[admin] socket must be a string".to_owned())),
    };
    Ok(path.parent().unwrap_or(Path::new(".")).join(socket))
}

/// A limit's value, its default when unset; zero or above `max` is an error.
fn positive(
    value: &Option<Spanned<u64>>,
    default: u64,
    key: &str,
    max: u64,
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if *v.get_ref() == 0 => Err(at(v.span(), format!("{key} must be greater than 0"))),
        Some(v) if *v.get_ref() > max => Err(at(v.span(), format!("{key} must be at most {max}"))),
        Some(v) => Ok(*v.get_ref()),
    }
}

/// Names go into deny messages and logs: keep them short and plain.
fn check_name(name: &str) -> Result<(), String> {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if name.is_empty() || name.len() > 64 || !plain {
        return Err(format!(
            "\"{name}\" must be 1-64 characters of [A-Za-z0-9._-]"
        ));
    }
    Ok(())
}

/// Converts a TOML value to JSON; datetimes become their RFC 3339 text.
fn toml_to_json(value: toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(J::Number)
            .ok_or(format!("{f} has no JSON form"))?,
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(
            items
                .into_iter()
                .map(toml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => J::Object(
            table
                .into_iter()
                .map(|(k, v)| Ok((k, toml_to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fuel {}, memory {} MiB, timeout {} ms",
            self.fuel, self.memory_mib, self.timeout_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config directory with an (empty) module file `m.wasm`.
    fn dir_with_module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.wasm"), b"").unwrap();
        dir
    }

    fn parse_in(dir: &tempfile::TempDir, text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, &dir.path().join("plugin.toml"))
    }

    #[test]
    fn full_example_parses_with_defaults_and_overrides() {
        let dir = dir_with_module();
        let config = parse_in(
            &dir,
            r#"
[plugin]
name = "gate"
state_dir = "state"
[defaults]
fuel = 1000
state_keys = 50
[[module]]
name = "a"
path = "m.wasm"
timeout_ms = 7
state_mib = 2
response_phase = true
mode = "monitor"
[module.config]
users = ["alice"]
[[module]]
name = "b"
path = "m.wasm"
"#,
        )
        .unwrap();
        assert_eq!(
            config.socket,
            PathBuf::from("/run/docker/plugins/gate.sock")
        );
        assert_eq!(
            config.modules[0].limits,
            Limits {
                fuel: 1000,
                memory_mib: 32,
                timeout_ms: 7,
                state_keys: 50,
                state_mib: 2,
            }
        );
        assert_eq!(config.modules[1].limits.state_keys, 50);
        assert_eq!(config.modules[1].limits.state_mib, DEFAULT_STATE_MIB);
        assert_eq!(config.state_dir, dir.path().join("state"));
        assert_eq!(config.modules[0].response_phase, Some(true));
        assert_eq!(config.modules[1].response_phase, None);
        assert_eq!(config.modules[0].mode, Mode::Monitor);
        assert_eq!(config.modules[1].mode, Mode::Enforce);
        assert_eq!(
            config.modules[0].config,
            serde_json::json!({"users": ["alice"]})
        );
        assert_eq!(config.modules[0].path, dir.path().join("m.wasm"));
        assert_eq!(config.modules[1].config, serde_json::json!({}));
        assert_eq!(config.modules[1].line, 17);
    }

    #[test]
    fn operating_settings_default_and_resolve_against_the_config() {
        let dir = dir_with_module();
        let module = "[[module]]\nname = \"a\"\npath = \"m.wasm\"\n";
        let config = parse_in(&dir, module).unwrap();
        assert!(config.watch);
        assert_eq!(config.cache_dir, Some(PathBuf::from(DEFAULT_CACHE_DIR)));
        assert_eq!(config.admin.socket, PathBuf::from(DEFAULT_ADMIN_SOCKET));
        assert_eq!(config.admin.metrics_address, None);
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.destination, LogDestination::Stderr);
        assert!(!config.log.denials_only && !config.log.bodies);

        let config = parse_in(
            &dir,
            &format!(
                "[plugin]\nwatch = false\ncache_dir = \"cache\"\n\
                 [admin]\nsocket = \"admin.sock\"\nmetrics_address = \"127.0.0.1:9464\"\n\
                 [log]\nformat = \"json\"\ndestination = \"decisions.log\"\ndenials_only = true\n{module}"
            ),
        )
        .unwrap();
        assert!(!config.watch);
        assert_eq!(config.cache_dir, Some(dir.path().join("cache")));
        assert_eq!(config.admin.socket, dir.path().join("admin.sock"));
        assert_eq!(
            config.admin.metrics_address,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(
            config.log.destination,
            LogDestination::File(dir.path().join("decisions.log"))
        );
        assert!(config.log.denials_only);

        let off = parse_in(
            &dir,
            &format!("[plugin]\ncompile_cache = false\n[log]\ndestination = \"off\"\n{module}"),
        )
        .unwrap();
        assert_eq!(
            (off.cache_dir, off.log.destination),
            (None, LogDestination::Off)
        );

        let err = parse_in(
            &dir,
            &format!("[admin]\nmetrics_address = \"localhost\"\n{module}"),
        )
        .unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = parse_in(&dir, &format!("[log]\nformat = \"yaml\"\n{module}")).unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn protection_defaults_to_the_plugin_name_and_its_module_name_is_reserved() {
        let dir = dir_with_module();
        let module = "[[module]]\nname = \"a\"\npath = \"m.wasm\"\n";
        let config = parse_in(&dir, &format!("[plugin]\nname = \"gate\"\n{module}")).unwrap();
        assert_eq!(config.protect.plugins, ["gate"]);
        assert!(
            config.protect.containers.is_empty() && config.protect.break_glass_users.is_empty()
        );
        let config = parse_in(
            &dir,
            &format!("[protect]\nplugins = []\nbreak_glass_users = [\"oncall\"]\n{module}"),
        )
        .unwrap();
        assert!(config.protect.plugins.is_empty());
        assert_eq!(config.protect.break_glass_users, ["oncall"]);
        let err = parse_in(
            &dir,
            "[[module]]\nname = \"self-protection\"\npath = \"m.wasm\"\n",
        )
        .unwrap_err();
        assert!(err.message.contains("reserved"), "{err}");
    }

    #[test]
    fn the_docker_section_names_the_daemon_to_ask_with_a_deadline() {
        let dir = dir_with_module();
        let module = "[[module]]\nname = \"a\"\npath = \"m.wasm\"\n";
        let config = parse_in(&dir, module).unwrap();
        assert_eq!(config.docker.socket, PathBuf::from("/var/run/docker.sock"));
        assert_eq!(config.docker.lookup_timeout.as_millis(), 1000);
        let config = parse_in(
            &dir,
            &format!("[docker]\nsocket = \"/run/d.sock\"\nlookup_timeout_ms = 250\n{module}"),
        )
        .unwrap();
        assert_eq!(config.docker.socket, PathBuf::from("/run/d.sock"));
        assert_eq!(config.docker.lookup_timeout.as_millis(), 250);
        for (bad, what) in [
            ("socket = \"docker.sock\"", "absolute"),
            ("lookup_timeout_ms = 0", "lookup_timeout_ms"),
        ] {
            let err = parse_in(&dir, &format!("[docker]\n{bad}\n{module}")).unwrap_err();
            assert_eq!(err.line, Some(2), "{err}");
            assert!(err.message.contains(what), "{err}");
        }
    }

    #[test]
    fn host_root_must_be_an_existing_absolute_directory() {
        let dir = dir_with_module();
        let module = "[[module]]\nname = \"a\"\npath = \"m.wasm\"\n";
        assert_eq!(
            parse_in(&dir, module).unwrap().host_root,
            HostRoot::native()
        );
        let root = dir.path().display();
        let config =
            parse_in(&dir, &format!("[plugin]\nhost_root = \"{root}\"\n{module}")).unwrap();
        assert_eq!(config.host_root, HostRoot::under(dir.path()));
        for bad in ["host", "/no/such/host/root"] {
            let err =
                parse_in(&dir, &format!("[plugin]\nhost_root = \"{bad}\"\n{module}")).unwrap_err();
            assert_eq!(err.line, Some(2), "{err}");
            assert!(err.message.contains("host_root"), "{err}");
        }
    }

    #[test]
    fn unknown_key_names_its_line() {
        let dir = dir_with_module();
        let err = parse_in(
            &dir,
            "[[module]]\nname = \"a\"\npath = \"m.wasm\"\nfule = 5\n",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        assert!(err.message.contains("fule"), "{err}");
    }

    #[test]
    fn duplicate_module_names_are_refused_at_the_second() {
        let dir = dir_with_module();
        let text = "[[module]]\nname = \"a\"\npath = \"m.wasm\"\n[[module]]\nname = \"a\"\npath = \"m.wasm\"\n";
        let err = parse_in(&dir, text).unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (Some(5), "duplicate module name \"a\"")
        );
    }

    #[test]
    fn missing_module_file_is_refused_with_its_line() {
        let dir = dir_with_module();
        let err = parse_in(&dir, "[[module]]\nname = \"a\"\npath = \"nope.wasm\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("nope.wasm"), "{err}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let dir = dir_with_module();
        let err = parse_in(
            &dir,
            "[defaults]\ntimeout_ms = 0\n[[module]]\nname = \"a\"\npath = \"m.wasm\"\n",
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (Some(2), "timeout_ms must be greater than 0")
        );
        let err = parse_in(
            &dir,
            "[[module]]\nname = \"a\"\npath = \"m.wasm\"\nmemory_mib = 0\n",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(4));
    }

    #[test]
    fn an_empty_chain_is_refused() {
        let dir = dir_with_module();
        assert!(
            parse_in(&dir, "[plugin]\nname = \"x\"\n")
                .unwrap_err()
                .message
                .contains("no [[module]]")
        );
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let dir = dir_with_module();
        let err = parse_in(&dir, "[plugin]\nname = \n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.to_string().contains("plugin.toml:2:"), "{err}");
    }
}
