//! The effective `HostConfig` of a container (create, or a pre-1.24 start
//! body): privilege, capabilities, devices, namespaces, confinement,
//! runtime and published ports. Mounts are judged in `mounts.rs`, from the
//! host's resolved list.

use std::collections::BTreeMap;

use portcullis_sdk::docker::mount_options::{TMPFS_DATA_KEYS, TMPFS_MOUNT_OPTIONS, tmpfs_entries};
use portcullis_sdk::docker::{HostConfig, Mount, NetworkingConfig};

use crate::Violations;
use crate::config::Config;
use crate::security_options::check_security_options;

/// Paths the daemon masks in every unprivileged container (moby
/// `oci/defaults.go`; the union of 20.10 and 26.1).
const DEFAULT_MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the daemon mounts read-only in every unprivileged container.
const DEFAULT_READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Runtimes every daemon has; other names must be in `allowed_runtimes`.
fn runtime_allowed(runtime: &str, config: &Config) -> bool {
    runtime.is_empty() || config.allowed_runtimes.iter().any(|r| r == runtime)
}

pub(crate) fn check(host: &HostConfig, config: &Config, out: &mut Violations) {
    if host.privileged && !config.allow_privileged {
        out.push("privileged containers are not allowed");
    }
    for capability in host.cap_add.iter() {
        check_capability(capability, config, out);
    }
    let devices = !host.devices.is_empty()
        || !host.device_cgroup_rules.is_empty()
        || !host.device_requests.is_empty();
    if devices && !config.allow_devices {
        out.push("devices are not allowed");
    }
    check_namespaces(host, config, out);
    check_security_options(&host.security_opt, config, out);
    if !config.allow_unconfined {
        check_path_list(
            "MaskedPaths",
            host.masked_paths.as_deref(),
            &DEFAULT_MASKED_PATHS,
            out,
        );
        check_path_list(
            "ReadonlyPaths",
            host.readonly_paths.as_deref(),
            &DEFAULT_READONLY_PATHS,
            out,
        );
    }
    if !runtime_allowed(&host.runtime, config) {
        out.push(format!("runtime {} is not allowed", host.runtime));
    }
    check_log_config(host, config, out);
    // Also the driver of the image's `VOLUME`s, which no request names.
    if !host.volume_driver.is_empty() && !config.volume_driver_allowed(&host.volume_driver) {
        out.push(format!(
            "volume driver {} is not allowed",
            host.volume_driver
        ));
    }
    for key in host.annotations.keys() {
        if !config.allowed_annotations.contains(key) {
            out.push(format!("annotation {key} is not allowed"));
        }
    }
    check_ports(host, config, out);
    for (target, options) in &host.tmpfs {
        check_tmpfs(target, options, config, out);
    }
    check_tmpfs_mounts(&host.mounts, out);
}

/// A `--tmpfs` option string, read as the daemon reads it when the
/// container starts (moby `MergeTmpfsOptions`: split on `,`, nothing
/// trimmed). Every mount flag is accepted there, `bind` and `rbind`
/// included, which make the runtime bind-mount a host path named `tmpfs`
/// instead; only flags that mount nothing new and tmpfs sizes, modes and
/// owners pass.
fn check_tmpfs(target: &str, options: &str, config: &Config, out: &mut Violations) {
    let entries = match tmpfs_entries(options) {
        Ok(entries) => entries,
        Err(e) => {
            out.push(format!(
                "tmpfs at {target}: {e} (the daemon would refuse it)"
            ));
            return;
        }
    };
    for entry in entries {
        let why = match entry {
            "bind" | "rbind" => "it bind-mounts a host path instead of a tmpfs",
            "remount" => "it changes an existing mount",
            "shared" | "rshared" if !config.allow_shared_propagation => {
                "shared propagation is not allowed"
            }
            _ => match entry.split_once('=') {
                Some(("", _)) => "it is not an option tmpfs knows",
                Some((key, _)) if !TMPFS_DATA_KEYS.contains(&key) => {
                    "it is not an option tmpfs knows"
                }
                _ => continue,
            },
        };
        out.push(format!(
            "tmpfs option {entry:?} at {target} is not allowed ({why})"
        ));
    }
}

/// `--mount type=tmpfs`'s `TmpfsOptions.Options` (API 1.46+): dockerd 28.5
/// accepts `[exec]` and `[noexec]`; anything else is not understood.
pub(crate) fn check_tmpfs_mounts(mounts: &[Mount], out: &mut Violations) {
    for mount in mounts {
        let options = mount.tmpfs_options.as_ref().map(|o| o.options.as_slice());
        for option in options.unwrap_or_default() {
            let known =
                matches!(option.as_slice(), [flag] if TMPFS_MOUNT_OPTIONS.contains(&flag.as_str()));
            if !known {
                out.push(format!(
                    "tmpfs mount option {option:?} at {} is not allowed",
                    mount.target
                ));
            }
        }
    }
}

/// Options of the daemon's default logging driver that only size and tag
/// the local log (the CLI sends `--log-opt` without `--log-driver` so).
const DEFAULT_DRIVER_LOG_OPTIONS: [&str; 10] = [
    "max-size",
    "max-file",
    "compress",
    "mode",
    "max-buffer-size",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];

/// The logging driver must be allowed. Without one, the options go to the
/// daemon's default driver, which a policy cannot see (it may be syslog or
/// fluentd, whose address options point the daemon anywhere): only options
/// every driver reads locally pass.
fn check_log_config(host: &HostConfig, config: &Config, out: &mut Violations) {
    check_log_driver(&host.log_config.kind, &host.log_config.config, config, out);
}

/// A logging driver and its options (containers and services alike).
pub(crate) fn check_log_driver(
    driver: &str,
    options: &BTreeMap<String, String>,
    config: &Config,
    out: &mut Violations,
) {
    if !config.log_driver_allowed(driver) {
        out.push(format!("logging driver {driver} is not allowed"));
    } else if driver.is_empty() {
        for option in options.keys() {
            if !DEFAULT_DRIVER_LOG_OPTIONS.contains(&option.as_str()) {
                out.push(format!(
                    "log option {option} without a logging driver is not allowed (name the driver)"
                ));
            }
        }
    }
}

pub(crate) fn check_capability(capability: &str, config: &Config, out: &mut Violations) {
    if !config.capability_allowed(capability) {
        out.push(format!("capability {capability} is not allowed"));
    }
}

/// Each namespace mode must be one the daemon gives a private namespace
/// for, or a joinable container; `host` needs `allow_host_namespaces`.
/// Anything else is refused (the daemon refuses most of it too).
fn check_namespaces(host: &HostConfig, config: &Config, out: &mut Violations) {
    let modes: [(&str, &str, &[&str]); 6] = [
        ("network", &host.network_mode, &[]),
        ("PID", &host.pid_mode, &[""]),
        ("IPC", &host.ipc_mode, &["", "private", "shareable", "none"]),
        ("UTS", &host.uts_mode, &[""]),
        ("user", &host.userns_mode, &[""]),
        ("cgroup", &host.cgroupns_mode, &["", "private"]),
    ];
    for (namespace, mode, private) in modes {
        if mode.eq_ignore_ascii_case("host") {
            if !config.allow_host_namespaces {
                out.push(format!("the host {namespace} namespace is not allowed"));
            }
            continue;
        }
        if let Some(container) = joined_container(mode) {
            if !config.joinable(container) {
                out.push(format!(
                    "joining the {namespace} namespace of container {container} is not allowed"
                ));
            }
            continue;
        }
        // The network mode may also name a network (`bridge`, `none`, a
        // user-defined one): those give the container its own stack.
        if namespace != "network" && !private.contains(&mode) {
            out.push(format!(
                "{namespace} namespace mode {mode:?} is not allowed"
            ));
        }
    }
}

/// The networks a create connects beside its `NetworkMode` (several since
/// API 1.44): `host` among them is the host's network namespace.
pub(crate) fn check_networks(networking: &NetworkingConfig, config: &Config, out: &mut Violations) {
    for network in networking.endpoints_config.keys() {
        if network.eq_ignore_ascii_case("host") && !config.allow_host_namespaces {
            out.push("the host network namespace is not allowed");
        } else if let Some(container) = joined_container(network)
            && !config.joinable(container)
        {
            out.push(format!(
                "joining the network namespace of container {container} is not allowed"
            ));
        }
    }
}

/// The container a `container:<name>` mode joins (prefix matched in any
/// case, though the daemon only honours lower case: refusing more is safe).
fn joined_container(mode: &str) -> Option<&str> {
    let (kind, name) = mode.split_once(':')?;
    kind.eq_ignore_ascii_case("container").then_some(name)
}

/// A `MaskedPaths`/`ReadonlyPaths` list replaces the daemon's default; it
/// must keep every default path (`None` keeps the default itself).
fn check_path_list(field: &str, list: Option<&[String]>, defaults: &[&str], out: &mut Violations) {
    let Some(list) = list else { return };
    let dropped: Vec<&str> = defaults
        .iter()
        .copied()
        .filter(|path| !list.iter().any(|p| p == path))
        .collect();
    if !dropped.is_empty() {
        out.push(format!(
            "{field} without {} is not allowed (it unmasks the host's /proc and /sys)",
            dropped.join(", ")
        ));
    }
}

fn check_ports(host: &HostConfig, config: &Config, out: &mut Violations) {
    if config.min_host_port == 0 {
        return;
    }
    for (port, bindings) in &host.port_bindings {
        for binding in bindings {
            let first = binding
                .host_port
                .split('-')
                .next()
                .unwrap_or_default()
                .trim();
            match first.parse::<u32>() {
                Ok(host_port) => check_host_port(port, host_port, config, out),
                Err(_) if first.is_empty() => {} // a random host port
                Err(_) => out.push(format!(
                    "host port {:?} of {port} is not a port",
                    binding.host_port
                )),
            }
        }
    }
}

/// Refuses a host port below `min_host_port` (0 is "any free port").
pub(crate) fn check_host_port(port: &str, host_port: u32, config: &Config, out: &mut Violations) {
    if host_port > 0 && host_port < u32::from(config.min_host_port) {
        out.push(format!(
            "publishing {port} on host port {host_port} (below {}) is not allowed",
            config.min_host_port
        ));
    }
}
