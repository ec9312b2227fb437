//! `[module.config]` of `hardening`: every rule on by default, each relaxed
//! by an explicit allowance. Lists are allow-lists: what is not named (or
//! built in as known safe) is refused.

use serde::Deserialize;

/// What the administrator allows beyond the hardened default. An empty
/// config is the strictest policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Allow `--privileged` containers and execs.
    pub allow_privileged: bool,
    /// Capabilities `--cap-add` may grant (`NET_ADMIN`; the `CAP_` prefix is
    /// optional). `ALL` only if listed itself.
    pub allowed_capabilities: Vec<String>,
    /// Allow `--device`, `--device-cgroup-rule` and device requests (`--gpus`).
    pub allow_devices: bool,
    /// Allow the host's network, PID, IPC, UTS, user and cgroup namespaces.
    pub allow_host_namespaces: bool,
    /// Containers whose namespaces others may join (`--network`, `--pid`,
    /// `--ipc` `container:<name>`), by the name or ID the client gives.
    /// Joining is refused otherwise: the target may run in the host's
    /// namespaces, which a policy cannot see.
    pub joinable_containers: Vec<String>,
    /// Allow switching confinement off: `seccomp=unconfined`,
    /// `apparmor=unconfined`, `label=disable`, `MaskedPaths`/`ReadonlyPaths`
    /// that unmask the daemon's defaults (`systempaths=unconfined`), and
    /// the same for services.
    pub allow_unconfined: bool,
    /// `--security-opt` values allowed beyond the built-in safe ones
    /// (`no-new-privileges`, `apparmor=docker-default`, `seccomp=builtin`),
    /// exactly as the client sends them: `label=level:s0:c100,c200`,
    /// `apparmor=my-profile`.
    pub allowed_security_options: Vec<String>,
    /// Inline seccomp profiles allowed (`--security-opt seccomp=profile.json`
    /// sends the file's JSON), by the `sha256:<hex>` digest of the JSON text
    /// the client sends; a deny names the digest of the refused profile.
    pub allowed_seccomp_profiles: Vec<String>,
    /// OCI runtimes containers may use besides the default.
    pub allowed_runtimes: Vec<String>,
    /// OCI annotation keys a container may set (`--annotation`, API 1.43+):
    /// runtimes other than runc read some as configuration.
    pub allowed_annotations: Vec<String>,
    /// Host paths bind mounts may come from, by prefix (`/srv/data`); checked
    /// against the path with every symlink resolved. Empty: no bind mounts.
    pub bind_prefixes: Vec<String>,
    /// Unix sockets bind mounts may expose, by resolved host path
    /// (`/run/containerd/containerd.sock`). Any other socket is refused, as
    /// is a directory holding one: whatever daemon listens there serves the
    /// container, and Docker's own socket serves it as the local user.
    pub allowed_sockets: Vec<String>,
    /// Refuse named and anonymous volumes too.
    pub deny_volumes: bool,
    /// Volume drivers that may create volumes (`local` is the built-in one).
    pub allowed_volume_drivers: Vec<String>,
    /// Filesystem `type`s a `local` volume may mount besides `tmpfs`
    /// (`nfs`, `cifs`). A `local` volume that binds a host path
    /// (`o=bind`) is judged by `bind_prefixes` instead.
    pub allowed_volume_types: Vec<String>,
    /// Allow `--volumes-from` (inherits every mount of another container).
    pub allow_volumes_from: bool,
    /// Registries images may come from (`docker.io`, `registry.example.com:5000`).
    /// Absent: any registry.
    pub allowed_registries: Option<Vec<String>>,
    /// Registries that images named on this host (`docker tag`, `commit`,
    /// `import`, `build -t`) may be named in, e.g. `localhost`
    /// (`localhost/app:1`). With `allowed_registries` set, a name is a claim
    /// of where an image came from: one inside an allowed registry may only
    /// be written by a pull from it, so these calls are refused unless
    /// every name they write is in one of these. Containers may run images
    /// named here; nothing is ever pulled from them.
    pub local_registries: Vec<String>,
    /// Allow `docker load` and `docker import` from a file: the image
    /// archive is not JSON, so Docker does not forward it to plugins. With
    /// `allowed_registries` set, `docker load` stays refused: the archive
    /// names its images wherever it likes, unseen.
    pub allow_image_archives: bool,
    /// Allow the daemon to download what a client names by URL
    /// (`docker import <url>`, `docker build <url>`).
    pub allow_remote_urls: bool,
    /// Allow `docker build` (and BuildKit's `/session` and `/grpc`): the
    /// build context and its Dockerfile are never forwarded to plugins, so
    /// its `FROM` and `RUN` steps cannot be judged.
    pub allow_build: bool,
    /// Allow `docker cp` into containers: the archive is not forwarded.
    pub allow_copy_to_containers: bool,
    /// Network drivers `docker network create` may use.
    pub allowed_network_drivers: Vec<String>,
    /// `docker network create -o` keys allowed beyond the built-in safe
    /// ones (MTU, ICC, masquerading, IPv6, overlay encryption); e.g.
    /// `com.docker.network.bridge.name` can put containers on a host bridge.
    pub allowed_network_options: Vec<String>,
    /// Logging drivers containers and services may use (`""` is the
    /// daemon's default). Others make the daemon, as root and in the host's
    /// network namespace, connect where their options say.
    pub allowed_log_drivers: Vec<String>,
    /// Networks services may join, by the name the client gives. Absent:
    /// any name but `host` and hex IDs. Swarm also resolves its own base-36
    /// network IDs, which no name check can tell from names: set this list
    /// to close that door.
    pub allowed_service_networks: Option<Vec<String>>,
    /// Allow `shared`/`rshared` propagation on bind mounts (mounts made in
    /// the container then appear on the host).
    pub allow_shared_propagation: bool,
    /// Allow checkpoints (experimental daemons): creating, deleting and
    /// starting from them reads and writes host directories the client names.
    pub allow_checkpoints: bool,
    /// Lowest host port a container or service may publish (0: any). Default 1024.
    pub min_host_port: u16,
    /// Allow installing, creating, upgrading, enabling and configuring
    /// managed plugins; the privileges an install grants are still judged
    /// by the rules above.
    pub allow_plugin_management: bool,
    /// Allow `swarm init`, `join`, `update`, `leave`, `unlock` and node
    /// updates (joining a foreign manager hands the node to it).
    pub allow_swarm_management: bool,
    /// Allow calls Portcullis cannot classify (a route newer than its table)
    /// whose method may change something.
    pub allow_unknown_writes: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allow_privileged: false,
            allowed_capabilities: Vec::new(),
            allow_devices: false,
            allow_host_namespaces: false,
            joinable_containers: Vec::new(),
            allow_unconfined: false,
            allowed_security_options: Vec::new(),
            allowed_seccomp_profiles: Vec::new(),
            allowed_runtimes: vec!["runc".into(), "io.containerd.runc.v2".into()],
            allowed_annotations: Vec::new(),
            bind_prefixes: Vec::new(),
            allowed_sockets: Vec::new(),
            deny_volumes: false,
            allowed_volume_drivers: vec!["local".into()],
            allowed_volume_types: Vec::new(),
            allow_volumes_from: false,
            allowed_registries: None,
            local_registries: Vec::new(),
            allow_image_archives: false,
            allow_remote_urls: false,
            allow_build: false,
            allow_copy_to_containers: false,
            allowed_network_drivers: vec!["bridge".into(), "overlay".into()],
            allowed_network_options: Vec::new(),
            allowed_log_drivers: ["json-file", "local", "journald", "none"]
                .map(String::from)
                .to_vec(),
            allowed_service_networks: None,
            allow_shared_propagation: false,
            allow_checkpoints: false,
            min_host_port: 1024,
            allow_plugin_management: false,
            allow_swarm_management: false,
            allow_unknown_writes: false,
        }
    }
}

impl Config {
    /// Whether `capability` (any case, with or without `CAP_`) may be added.
    pub fn capability_allowed(&self, capability: &str) -> bool {
        let wanted = normalize_capability(capability);
        self.allowed_capabilities
            .iter()
            .any(|c| normalize_capability(c) == wanted)
    }

    /// Whether a resolved host path lies under one of the bind prefixes
    /// (component-wise: `/srv/data` covers `/srv/data/x`, not `/srv/database`).
    pub fn bind_allowed(&self, path: &str) -> bool {
        self.bind_prefixes.iter().any(|prefix| {
            let prefix = prefix.trim_end_matches('/');
            prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Whether images may be pulled from `registry`: listed in
    /// `allowed_registries` (or no list), and not a local registry.
    pub fn registry_allowed(&self, registry: &str) -> bool {
        !self.is_local_registry(registry)
            && self
                .allowed_registries
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|r| r.eq_ignore_ascii_case(registry)))
    }

    /// Whether containers may run images named in `registry`: pulled from
    /// an allowed registry, or named on this host in a local one.
    pub fn registry_runnable(&self, registry: &str) -> bool {
        self.registry_allowed(registry) || self.is_local_registry(registry)
    }

    /// Whether this host may write image names in `registry` (see
    /// `local_registries`): always without registry rules.
    pub fn name_writable(&self, registry: &str) -> bool {
        self.allowed_registries.is_none() || self.is_local_registry(registry)
    }

    fn is_local_registry(&self, registry: &str) -> bool {
        self.local_registries
            .iter()
            .any(|r| r.eq_ignore_ascii_case(registry))
    }

    /// Whether a `container:<name>` namespace may be joined.
    pub fn joinable(&self, container: &str) -> bool {
        self.joinable_containers.iter().any(|c| c == container)
    }

    /// Whether containers may log with `driver` (`""` is the daemon's default).
    pub fn log_driver_allowed(&self, driver: &str) -> bool {
        driver.is_empty() || self.allowed_log_drivers.iter().any(|d| d == driver)
    }

    /// Whether `driver` (`""` is `local`) may create volumes.
    pub fn volume_driver_allowed(&self, driver: &str) -> bool {
        let driver = if driver.is_empty() { "local" } else { driver };
        self.allowed_volume_drivers.iter().any(|d| d == driver)
    }
}

fn normalize_capability(capability: &str) -> String {
    let upper = capability.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_owned)
        .unwrap_or(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_prefixes_match_whole_components() {
        let config = Config {
            bind_prefixes: vec!["/srv/data/".into()],
            ..Config::default()
        };
        assert!(config.bind_allowed("/srv/data"));
        assert!(config.bind_allowed("/srv/data/app"));
        assert!(!config.bind_allowed("/srv/database"));
        assert!(!config.bind_allowed("/"));
    }

    #[test]
    fn capabilities_compare_without_case_or_prefix() {
        let config = Config {
            allowed_capabilities: vec!["cap_net_admin".into()],
            ..Config::default()
        };
        assert!(config.capability_allowed("NET_ADMIN"));
        assert!(!config.capability_allowed("ALL"));
    }

    #[test]
    fn an_empty_table_is_the_strict_default() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config.min_host_port, 1024);
        assert!(config.volume_driver_allowed(""));
        assert!(!config.volume_driver_allowed("convoy"));
        assert!(!config.allow_build && !config.allow_unknown_writes);
    }
}
