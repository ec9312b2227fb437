//! `[module.config]` of `hardening`: every rule on by default, each relaxed
//! by an explicit allowance.

use serde::Deserialize;

/// What the administrator allows beyond the hardened default. An empty
/// config is the strictest policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Allow `--privileged` containers and execs.
    #[serde(default)]
    pub allow_privileged: bool,
    /// Capabilities `--cap-add` may grant (`NET_ADMIN`; the `CAP_` prefix is
    /// optional). `ALL` only if listed itself.
    #[serde(default)]
    pub allowed_capabilities: Vec<String>,
    /// Allow `--device` and `--device-cgroup-rule`.
    #[serde(default)]
    pub allow_devices: bool,
    /// Allow the host's network, PID, IPC, UTS, user and cgroup namespaces.
    #[serde(default)]
    pub allow_host_namespaces: bool,
    /// Allow `seccomp=unconfined`, `apparmor=unconfined`, `label=disable`,
    /// `systempaths=unconfined`.
    #[serde(default)]
    pub allow_unconfined: bool,
    /// Host paths bind mounts may come from, by prefix (`/srv/data`); checked
    /// against the path with every symlink resolved. Empty: no bind mounts.
    #[serde(default)]
    pub bind_prefixes: Vec<String>,
    /// Refuse named and anonymous volumes too.
    #[serde(default)]
    pub deny_volumes: bool,
    /// Allow `--volumes-from` (inherits every mount of another container).
    #[serde(default)]
    pub allow_volumes_from: bool,
    /// Registries images may come from (`docker.io`, `registry.example.com:5000`).
    /// Absent: any registry.
    #[serde(default)]
    pub allowed_registries: Option<Vec<String>>,
    /// Lowest host port a container may publish (0: any). Default 1024.
    #[serde(default = "default_min_host_port")]
    pub min_host_port: u16,
    /// Allow installing, creating, upgrading, enabling and configuring
    /// managed plugins (each can ask for host mounts and capabilities).
    #[serde(default)]
    pub allow_plugin_management: bool,
}

fn default_min_host_port() -> u16 {
    1024
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

    /// Whether images from `registry` may be used.
    pub fn registry_allowed(&self, registry: &str) -> bool {
        self.allowed_registries
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|r| r.eq_ignore_ascii_case(registry)))
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
}
