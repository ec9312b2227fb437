//! `hardening`: what a container may do to its host, refused unless the
//! administrator allows it. The rules of the seeds' plugins (authobot's no
//! bind mounts and no privileged, the OPA tutorial's seccomp rule), of
//! HBM's rule set and of the CIS Docker Benchmark's section 5, in one
//! configurable module. Allow-lists throughout: a value is accepted when it
//! is known to keep the container confined or the config names it.
//!
//! - `--privileged` containers and execs, added capabilities, devices;
//! - the host's namespaces, and other containers' namespaces (`container:<id>`);
//! - security options that are not known safe (`seccomp=unconfined`, inline
//!   seccomp profiles, SELinux labels, AppArmor profiles), and masked or
//!   read-only path lists that unmask `/proc` (`systempaths=unconfined`);
//! - bind mounts outside `bind_prefixes` (symlinks resolved by the host),
//!   of Unix sockets and of directories holding them (a Docker socket in a
//!   container is an anonymous client of the daemon), `--volumes-from`,
//!   volume drivers and `local` volume options that mount a host path or
//!   filesystem;
//! - images from registries outside `allowed_registries`, and the ways
//!   around that list (`docker load`, `import`, `build`);
//! - what Docker never shows a plugin: tar bodies (build contexts, image
//!   archives, `docker cp` uploads), bodies too large to forward, calls
//!   Portcullis cannot classify;
//! - swarm membership, services that would do any of the above on a node,
//!   managed plugins and the privileges they are granted.
//!
//! `guests/hardening/README.md` has the field-by-field table.
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
mod host_config;
mod images;
mod mounts;
mod security_options;
mod sockets;
mod swarm;

pub use config::Config;
use portcullis_sdk::{BodyError, Decision, Phase, Request, export_policy};

/// The reasons a call is refused, collected so that a deny names them all.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    pub(crate) fn push(&mut self, why: impl Into<String>) {
        self.0.push(why.into());
    }

    fn into_decision(self) -> Decision {
        if self.0.is_empty() {
            Decision::allow()
        } else {
            Decision::deny(self.0.join("; "))
        }
    }
}

/// The policy: every violation found, or allow.
pub fn authorize(req: &Request, config: &Config) -> Result<Decision, BodyError> {
    if req.phase() == Phase::Response {
        return Ok(Decision::allow()); // judged in the request phase
    }
    let mut out = Violations::default();
    match req.action() {
        "container_create" => {
            let create = req.container_create()?;
            host_config::check(&create.host_config, config, &mut out);
            host_config::check_networks(&create.networking_config, config, &mut out);
            images::check_image(&create.config.image, config, &mut out);
            mounts::check(req.mounts()?, config, &mut out);
        }
        "container_start" => {
            let from_checkpoint = req.query("checkpoint").is_some_and(|c| !c.is_empty())
                || req.query("checkpoint-dir").is_some_and(|d| !d.is_empty());
            if from_checkpoint && !config.allow_checkpoints {
                out.push("starting from a checkpoint is not allowed");
            }
            if let Some(host_config) = req.container_start()? {
                host_config::check(&host_config, config, &mut out);
                mounts::check(req.mounts()?, config, &mut out);
            }
        }
        "container_checkpoint_create" | "container_checkpoint_delete"
            if !config.allow_checkpoints =>
        {
            out.push(format!("checkpoints ({}) are not allowed", req.action()));
        }
        "container_exec_create" if req.exec_create()?.privileged && !config.allow_privileged => {
            out.push("privileged exec is not allowed");
        }
        "container_update" => {
            let update = req.container_update()?;
            let devices = !update.devices.is_empty()
                || !update.device_cgroup_rules.is_empty()
                || !update.device_requests.is_empty();
            if devices && !config.allow_devices {
                out.push("devices are not allowed");
            }
        }
        "container_archive_extract" if !config.allow_copy_to_containers => {
            out.push(unseen(
                "copying into a container",
                "its archive",
                "allow_copy_to_containers",
            ));
        }
        "image_create" | "images_load" | "image_build" | "session" | "grpc" | "image_push"
        | "image_tag" | "container_commit" => {
            images::check_call(req, config, &mut out);
        }
        "volume_create" => {
            req.volume_create()?;
            mounts::check(req.mounts()?, config, &mut out);
        }
        "network_create" => {
            let network = req.network_create()?;
            let driver = if network.driver.is_empty() {
                "bridge"
            } else {
                &network.driver
            };
            if !config.allowed_network_drivers.iter().any(|d| d == driver) {
                out.push(format!("network driver {driver} is not allowed"));
            }
            for option in network.options.keys() {
                let allowed = SAFE_NETWORK_OPTIONS.contains(&option.as_str())
                    || config.allowed_network_options.contains(option);
                if !allowed {
                    out.push(format!("network option {option} is not allowed"));
                }
            }
        }
        "service_create" | "service_update" => swarm::check_service(req, config, &mut out)?,
        "plugin_install" | "plugin_upgrade" | "plugin_create" | "plugin_enable" | "plugin_set" => {
            swarm::check_plugin(req, config, &mut out)?
        }
        "swarm_init" | "swarm_join" | "swarm_update" | "swarm_leave" | "swarm_unlock"
        | "node_update" | "node_delete"
            if !config.allow_swarm_management =>
        {
            out.push(format!(
                "swarm management ({}) is not allowed",
                req.action()
            ));
        }
        _ if req.is_unknown_write() && !config.allow_unknown_writes => {
            out.push(format!(
                "{} {} is not an API call Portcullis recognises, so it cannot be judged",
                req.method(),
                req.path()
            ));
        }
        _ => {}
    }
    Ok(out.into_decision())
}

export_policy!(authorize, Config, judges_unknown_writes);

/// `docker network create -o` keys that change nothing outside the network.
const SAFE_NETWORK_OPTIONS: [&str; 7] = [
    "com.docker.network.driver.mtu",
    "com.docker.network.bridge.enable_icc",
    "com.docker.network.bridge.enable_ip_masquerade",
    "com.docker.network.bridge.host_binding_ipv4",
    "com.docker.network.container_iface_prefix",
    "com.docker.network.enable_ipv6",
    "encrypted",
];

/// The message for a call whose effect lies in a body Docker never forwards.
pub(crate) fn unseen(what: &str, body: &str, switch: &str) -> String {
    format!(
        "{what} is not allowed: Docker does not show {body} to authorization plugins, so it cannot be judged (set {switch} = true to allow it)"
    )
}

#[cfg(test)]
mod tests;
