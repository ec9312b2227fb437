//! `hardening`: what a container may do to its host, refused unless the
//! administrator allows it. The rules of the seeds' plugins (authobot's no
//! bind mounts and no privileged, the OPA tutorial's seccomp rule) and of
//! HBM's rule set, in one configurable module:
//!
//! - `--privileged` containers and execs (also through a pre-1.24 start body);
//! - `--cap-add` outside `allowed_capabilities`;
//! - devices and device cgroup rules;
//! - the host's network, PID, IPC, UTS, user and cgroup namespaces;
//! - `seccomp=unconfined`, `apparmor=unconfined`, `label=disable`,
//!   `systempaths=unconfined` (both the `=` and the old `:` spelling);
//! - bind mounts whose source, with every symlink resolved by the host, lies
//!   outside `bind_prefixes` (named volumes allowed unless `deny_volumes`),
//!   `--volumes-from`, and `local` volumes created with `o=bind`;
//! - images from registries outside `allowed_registries` (create, pull, services);
//! - host ports below `min_host_port`;
//! - managed plugin installation and configuration;
//! - and any of these calls whose body the policy cannot read (absent, not
//!   forwarded by Docker, malformed): the CVE-2024-41110 class of bypass.
//!
//! ```toml
//! [[module]]
//! name = "hardening"
//! path = "target/wasm32-wasip1/release/hardening.wasm"
//! [module.config]
//! allowed_capabilities = ["NET_BIND_SERVICE"]
//! bind_prefixes = ["/srv/data"]
//! allowed_registries = ["docker.io", "registry.example.com:5000"]
//! ```

mod config;

pub use config::Config;
use portcullis_sdk::docker::{HostConfig, ImageReference};
use portcullis_sdk::{BodyError, Decision, MountInfo, MountKind, Phase, Request, export_policy};

/// The policy: every violation found, or allow.
pub fn authorize(req: &Request, config: &Config) -> Result<Decision, BodyError> {
    if req.phase() == Phase::Response {
        return Ok(Decision::allow()); // judged in the request phase
    }
    let mut violations = Vec::new();
    match req.action() {
        "container_create" => {
            let create = req.container_create()?;
            check_host_config(&create.host_config, config, &mut violations);
            check_image(&create.image, config, &mut violations);
            check_mounts(req.mounts()?, config, &mut violations);
        }
        "container_start" => {
            if let Some(host_config) = req.container_start_host_config()? {
                check_host_config(&host_config, config, &mut violations);
                check_mounts(req.mounts()?, config, &mut violations);
            }
        }
        "container_exec_create" if req.exec_create()?.privileged && !config.allow_privileged => {
            violations.push("privileged exec is not allowed".to_owned());
        }
        "container_update" => {
            let update = req.container_update()?;
            if !config.allow_devices
                && (!update.devices.is_empty() || !update.device_cgroup_rules.is_empty())
            {
                violations.push("devices are not allowed".to_owned());
            }
        }
        "image_create" => {
            if let Some(pulled) = req.image_create().pulled() {
                check_registry(&pulled, config, &mut violations);
            }
        }
        "volume_create" => {
            req.volume_create()?;
            check_mounts(req.mounts()?, config, &mut violations);
        }
        "service_create" | "service_update" => {
            let spec = req.service_create()?.task_template.container_spec;
            check_image(&spec.image, config, &mut violations);
            for capability in &spec.capability_add {
                check_capability(capability, config, &mut violations);
            }
            check_mounts(req.mounts()?, config, &mut violations);
        }
        "plugin_install" | "plugin_create" | "plugin_upgrade" | "plugin_enable" | "plugin_set"
            if !config.allow_plugin_management =>
        {
            violations.push(format!(
                "managing plugins ({}) is not allowed",
                req.action()
            ));
        }
        _ => {}
    }
    Ok(if violations.is_empty() {
        Decision::allow()
    } else {
        Decision::deny(violations.join("; "))
    })
}

export_policy!(authorize, Config);

fn check_host_config(host: &HostConfig, config: &Config, violations: &mut Vec<String>) {
    if host.privileged && !config.allow_privileged {
        violations.push("privileged containers are not allowed".to_owned());
    }
    for capability in host.cap_add.iter() {
        check_capability(capability, config, violations);
    }
    if !config.allow_devices && (!host.devices.is_empty() || !host.device_cgroup_rules.is_empty()) {
        violations.push("devices are not allowed".to_owned());
    }
    if !config.allow_host_namespaces {
        let modes = [
            ("network", &host.network_mode),
            ("PID", &host.pid_mode),
            ("IPC", &host.ipc_mode),
            ("UTS", &host.uts_mode),
            ("user", &host.userns_mode),
            ("cgroup", &host.cgroupns_mode),
        ];
        for (namespace, mode) in modes {
            if mode.eq_ignore_ascii_case("host") {
                violations.push(format!("the host {namespace} namespace is not allowed"));
            }
        }
    }
    if !config.allow_unconfined {
        for option in &host.security_opt {
            if is_unconfined(option) {
                violations.push(format!("security option {option} is not allowed"));
            }
        }
    }
    if config.min_host_port > 0 {
        for (port, bindings) in &host.port_bindings {
            for binding in bindings {
                let first = binding
                    .host_port
                    .split('-')
                    .next()
                    .unwrap_or_default()
                    .trim();
                match first.parse::<u32>() {
                    Ok(host_port)
                        if host_port > 0 && host_port < u32::from(config.min_host_port) =>
                    {
                        violations.push(format!(
                            "publishing {port} on host port {host_port} (below {}) is not allowed",
                            config.min_host_port
                        ))
                    }
                    Ok(_) => {}
                    Err(_) if first.is_empty() => {} // a random host port
                    Err(_) => violations.push(format!(
                        "host port {:?} of {port} is not a port",
                        binding.host_port
                    )),
                }
            }
        }
    }
}

/// Whether a `--security-opt` switches confinement off. Docker accepts
/// `key=value` and, for old clients, `key:value`.
fn is_unconfined(option: &str) -> bool {
    let (key, value) = option
        .split_once('=')
        .or_else(|| option.split_once(':'))
        .unwrap_or((option, ""));
    matches!(
        (key, value),
        ("seccomp" | "apparmor" | "systempaths", "unconfined") | ("label", "disable")
    )
}

fn check_capability(capability: &str, config: &Config, violations: &mut Vec<String>) {
    if !config.capability_allowed(capability) {
        violations.push(format!("capability {capability} is not allowed"));
    }
}

fn check_image(image: &str, config: &Config, violations: &mut Vec<String>) {
    // An image ID names an image already on the host; its pull was judged then.
    let id = image.strip_prefix("sha256:").unwrap_or(image);
    let is_id = id.len() >= 12 && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !image.is_empty() && !is_id {
        check_registry(&ImageReference::parse(image), config, violations);
    }
}

fn check_registry(reference: &ImageReference, config: &Config, violations: &mut Vec<String>) {
    if !config.registry_allowed(&reference.registry) {
        violations.push(format!(
            "images from {} ({}) are not allowed",
            reference.registry, reference.repository
        ));
    }
}

fn check_mounts(mounts: &[MountInfo], config: &Config, violations: &mut Vec<String>) {
    for mount in mounts {
        match mount.kind {
            MountKind::Bind => check_bind(mount, config, violations),
            MountKind::Volume if config.deny_volumes => {
                let name = if mount.source.is_empty() {
                    "anonymous"
                } else {
                    &mount.source
                };
                violations.push(format!("volume {name} at {} is not allowed", mount.target));
            }
            MountKind::VolumesFrom if !config.allow_volumes_from => {
                violations.push(format!("--volumes-from {} is not allowed", mount.source));
            }
            MountKind::Unknown | MountKind::Npipe => {
                violations.push(format!(
                    "mount of {:?} ({}) is not allowed",
                    mount.source, mount.origin
                ));
            }
            // Devices are judged with the host config; tmpfs, images and
            // cluster volumes expose nothing of the host.
            _ => {}
        }
    }
}

fn check_bind(mount: &MountInfo, config: &Config, violations: &mut Vec<String>) {
    let (Some(normalized), Some(resolved)) = (&mount.normalized, &mount.resolved) else {
        let why = mount.resolve_error.as_deref().unwrap_or("unresolved");
        violations.push(format!(
            "bind mount of {} cannot be checked: {why}",
            mount.source
        ));
        return;
    };
    if !config.bind_allowed(resolved) || !config.bind_allowed(normalized) {
        let shown = if resolved == normalized {
            resolved.clone()
        } else {
            format!("{normalized}, resolved {resolved}")
        };
        violations.push(format!(
            "bind mount of {shown} is outside the allowed host paths"
        ));
    }
}

#[cfg(test)]
mod tests;
