//! Self-protection: a rule built into the host, judged before any module,
//! that no policy can remove by mistake. Docker lets whoever may call the
//! plugin API disable or remove the authorization plugin itself, and
//! whoever may touch containers stop the container it runs in: either
//! turns Portcullis off. So, unless the caller is a break-glass user:
//!
//! - `plugin disable`, `rm`, `set` and `upgrade` of a plugin named in
//!   `[protect] plugins` (default: `[plugin] name`), matched as Docker
//!   resolves plugin references (`portcullis` is
//!   `docker.io/library/portcullis:latest`), are refused; so are those
//!   calls naming a plugin by a hex string, which Docker may resolve as an
//!   ID prefix of Portcullis' own plugin. Run as a managed plugin, the name
//!   it was created under is protected too, whatever plugin.toml says;
//! - stop, kill, remove, restart, pause, update, rename, checkpoint, exec,
//!   attach and file uploads of the container Portcullis runs in are
//!   refused: found by its ID in `/proc/self/mountinfo` (Docker
//!   bind-mounts `/var/lib/docker/containers/<id>/…` into every container),
//!   plus the names and IDs in `[protect] containers`, matched as Docker
//!   resolves them (full ID, name, or ID prefix). While a container is
//!   protected by name, whose ID is unknown here, those calls naming any
//!   container by a bare hex string (a possible ID prefix) are refused too.

use portcullis_envelope::mounts::HostRoot;
use portcullis_envelope::{Envelope, Phase};

use crate::config::ProtectSettings;
use crate::managed_plugin::{self, OwnPlugin};

/// Container calls that could stop, freeze, reconfigure or enter the
/// container Portcullis runs in.
const CONTAINER_ACTIONS: [&str; 13] = [
    "container_stop",
    "container_kill",
    "container_delete",
    "container_restart",
    "container_pause",
    "container_update",
    "container_rename",
    "container_checkpoint_create",
    "container_exec_create",
    "container_attach",
    "container_attach_websocket",
    "container_archive_extract",
    "container_copyfiles",
];

/// Plugin calls that could turn Portcullis off or change it.
const PLUGIN_ACTIONS: [&str; 4] = [
    "plugin_disable",
    "plugin_remove",
    "plugin_set",
    "plugin_upgrade",
];

/// The built-in rule, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfProtection {
    /// Protected plugin references, normalized (`domain/path:tag`).
    plugins: Vec<String>,
    /// Protected container names (without the leading `/`).
    container_names: Vec<String>,
    /// Protected container IDs (full or prefixes), lowercase hex.
    container_ids: Vec<String>,
    /// Users (TLS CN) the rule does not apply to.
    break_glass_users: Vec<String>,
}

impl SelfProtection {
    /// The rule for `settings`, with this process's own container (if it
    /// runs in one) found in `/proc/self/mountinfo`, and, if it runs as a
    /// managed plugin, the name dockerd knows it by (read through
    /// `host_root`; see `managed_plugin`).
    pub fn new(settings: &ProtectSettings, host_root: &HostRoot) -> SelfProtection {
        let own = std::fs::read_to_string("/proc/self/mountinfo")
            .ok()
            .and_then(|mountinfo| own_container_id(&mountinfo));
        let mut rule = SelfProtection::with_own_container(settings, own);
        if let Some(plugin) = managed_plugin::discover(host_root.dir()) {
            rule.protect_own_plugin(plugin);
        }
        rule
    }

    /// Adds the name this managed plugin was created under to the protected
    /// references (unless plugin protection is off).
    fn protect_own_plugin(&mut self, plugin: OwnPlugin) {
        if self.plugins.is_empty() {
            return;
        }
        match plugin.name {
            Ok(name) => {
                tracing::info!(
                    target: "portcullis::protect",
                    "running as managed plugin {name} ({}): protected", plugin.id
                );
                let name = normalize_plugin_reference(&name);
                if !self.plugins.contains(&name) {
                    self.plugins.push(name);
                }
            }
            Err(why) => tracing::warn!(
                target: "portcullis::protect",
                "running as managed plugin {} but its name is unknown ({why}): list the name it was created under in [protect] plugins",
                plugin.id
            ),
        }
    }

    fn with_own_container(settings: &ProtectSettings, own: Option<String>) -> SelfProtection {
        let (ids, names): (Vec<&String>, Vec<&String>) = settings
            .containers
            .iter()
            .partition(|c| c.len() >= 12 && is_hex(c));
        SelfProtection {
            plugins: settings
                .plugins
                .iter()
                .map(|p| normalize_plugin_reference(p))
                .collect(),
            container_names: names
                .into_iter()
                .map(|n| n.trim_start_matches('/').to_owned())
                .collect(),
            container_ids: ids
                .into_iter()
                .map(|id| id.to_ascii_lowercase())
                .chain(own)
                .collect(),
            break_glass_users: settings.break_glass_users.clone(),
        }
    }

    /// Why `envelope` is refused, if it is (request phase only).
    pub fn check(&self, envelope: &Envelope) -> Option<String> {
        if envelope.phase != Phase::Request {
            return None;
        }
        let action = envelope.action;
        let is_plugin_call = PLUGIN_ACTIONS.contains(&action);
        if !is_plugin_call && !CONTAINER_ACTIONS.contains(&action) {
            return None;
        }
        if envelope
            .user
            .as_ref()
            .is_some_and(|user| self.break_glass_users.contains(user))
        {
            return None;
        }
        let target = envelope.params.get("name")?;
        if is_plugin_call {
            return self.plugin_refusal(target);
        }
        self.container_refusal(target)
    }

    fn plugin_refusal(&self, target: &str) -> Option<String> {
        if self.plugins.is_empty() {
            return None;
        }
        if is_hex(target) {
            return Some(format!(
                "plugin \"{target}\" may be Portcullis itself by ID: name plugins by \
                 reference for this call ([protect] break_glass_users may)"
            ));
        }
        let normalized = normalize_plugin_reference(target);
        self.plugins.contains(&normalized).then(|| {
            format!(
                "plugin \"{target}\" is Portcullis itself: it may not be disabled, removed, \
                 reconfigured or upgraded ([protect] break_glass_users may)"
            )
        })
    }

    fn container_refusal(&self, target: &str) -> Option<String> {
        let name = target.trim_start_matches('/');
        let by_name = self.container_names.iter().any(|n| n == name);
        let by_id = is_hex(target) && {
            let target = target.to_ascii_lowercase();
            self.container_ids
                .iter()
                .any(|id| id.starts_with(&target) || target.starts_with(id.as_str()))
        };
        if by_name || by_id {
            return Some(format!(
                "container \"{target}\" runs Portcullis: it may not be stopped, changed or \
                 entered ([protect] break_glass_users may)"
            ));
        }
        // A container protected by name has an ID Portcullis does not know,
        // which Docker resolves from any prefix of it: a bare hex reference
        // may be that container (seen: `kill <4-digit prefix>` stopped it).
        (!self.container_names.is_empty() && is_hex(target)).then(|| {
            format!(
                "container \"{target}\" may be a container Portcullis protects by name: \
                 name containers for this call, or list the protected ones by ID in \
                 [protect] containers"
            )
        })
    }
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A plugin reference as Docker's `reference.ParseNormalizedNamed` and
/// `TagNameOnly` make it: `portcullis` → `docker.io/library/portcullis:latest`.
fn normalize_plugin_reference(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest.to_owned())
        }
        Some(_) => ("docker.io", name.to_owned()),
        None => ("docker.io", format!("library/{name}")),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let last = path.rsplit('/').next().unwrap_or_default();
    match digest {
        Some(digest) => format!("{domain}/{path}@{digest}"),
        None if last.contains(':') => format!("{domain}/{path}"),
        None => format!("{domain}/{path}:latest"),
    }
}

/// The 64-hex ID of the Docker container this process runs in, from the
/// bind mounts Docker gives every container (`…/containers/<id>/hostname`).
fn own_container_id(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let root = line.split(' ').nth(3)?;
        let (_, rest) = root.split_once("/containers/")?;
        let id = rest.split('/').next()?;
        (id.len() == 64 && is_hex(id)).then(|| id.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "4f2c1e9a7b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

    fn envelope(method: &str, uri: &str, user: Option<&str>) -> Envelope {
        let mut wire = serde_json::json!({"RequestMethod": method, "RequestUri": uri});
        if let Some(user) = user {
            wire["User"] = user.into();
            wire["UserAuthNMethod"] = "TLS".into();
        }
        Envelope::from_authz(serde_json::from_value(wire).unwrap(), Phase::Request).unwrap()
    }

    fn rule() -> SelfProtection {
        SelfProtection::with_own_container(
            &ProtectSettings {
                plugins: vec!["portcullis".into(), "acme/authz:2".into()],
                containers: vec!["gatekeeper".into()],
                break_glass_users: vec!["oncall".into()],
            },
            Some(OWN.to_owned()),
        )
    }

    #[test]
    fn plugin_references_are_matched_as_docker_resolves_them() {
        let rule = rule();
        for refused in [
            "/v1.41/plugins/portcullis/disable",
            "/v1.41/plugins/portcullis:latest/disable",
            "/v1.41/plugins/library/portcullis/set",
            "/v1.41/plugins/docker.io/library/portcullis:latest/upgrade",
            "/v1.41/plugins/acme/authz:2/disable",
            "/v1.41/plugins/4f2c1e/disable",
        ] {
            let method = "POST";
            assert!(
                rule.check(&envelope(method, refused, None)).is_some(),
                "{refused}"
            );
        }
        assert!(
            rule.check(&envelope("DELETE", "/v1.41/plugins/portcullis", None))
                .is_some()
        );
        for allowed in [
            "/v1.41/plugins/portcullis:2.0/disable",
            "/v1.41/plugins/acme/authz/disable",
            "/v1.41/plugins/other/disable",
            "/v1.41/plugins/portcullis/enable",
        ] {
            assert_eq!(
                rule.check(&envelope("POST", allowed, None)),
                None,
                "{allowed}"
            );
        }
        assert_eq!(
            rule.check(&envelope("GET", "/v1.41/plugins/portcullis/json", None)),
            None
        );
    }

    #[test]
    fn the_own_container_is_matched_by_name_id_and_prefix() {
        let rule = rule();
        for target in ["gatekeeper", "%2Fgatekeeper", OWN, "4f2c1e9a7b3d", "4F2C"] {
            for call in ["stop", "kill", "exec", "update", "rename", "pause"] {
                let uri = format!("/v1.41/containers/{target}/{call}");
                assert!(rule.check(&envelope("POST", &uri, None)).is_some(), "{uri}");
            }
            let uri = format!("/v1.41/containers/{target}?force=1");
            assert!(
                rule.check(&envelope("DELETE", &uri, None)).is_some(),
                "{uri}"
            );
        }
        let uri = "/v1.41/containers/web/stop";
        assert_eq!(rule.check(&envelope("POST", uri, None)), None, "{uri}");
        // "gatekeeper" is protected by name: its unknown ID could be any of these.
        for other in ["4f2d", "abcdef012345"] {
            let uri = format!("/v1.41/containers/{other}/stop");
            let refusal = rule
                .check(&envelope("POST", &uri, None))
                .unwrap_or_default();
            assert!(refusal.contains("protects by name"), "{uri}: {refusal}");
        }
        // Protected by ID only, other IDs pass.
        let by_id = SelfProtection::with_own_container(
            &ProtectSettings {
                plugins: vec![],
                containers: vec![],
                break_glass_users: vec![],
            },
            Some(OWN.to_owned()),
        );
        for other in ["web", "4f2d", "abcdef012345"] {
            let uri = format!("/v1.41/containers/{other}/stop");
            assert_eq!(by_id.check(&envelope("POST", &uri, None)), None, "{uri}");
        }
        let logs = "/v1.41/containers/gatekeeper/logs";
        assert_eq!(rule.check(&envelope("GET", logs, None)), None);
    }

    #[test]
    fn break_glass_users_pass_and_nobody_else() {
        let rule = rule();
        let stop = "/v1.41/containers/gatekeeper/stop";
        assert_eq!(rule.check(&envelope("POST", stop, Some("oncall"))), None);
        assert!(rule.check(&envelope("POST", stop, Some("alice"))).is_some());
        assert!(rule.check(&envelope("POST", stop, None)).is_some());
    }

    #[test]
    fn the_own_container_id_comes_from_mountinfo() {
        let mountinfo = format!(
            "612 590 0:52 / / rw,relatime master:300 - overlay overlay rw\n\
             630 612 254:1 /var/lib/docker/containers/{OWN}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(own_container_id(&mountinfo), Some(OWN.to_owned()));
        assert_eq!(
            own_container_id("22 1 0:21 / /proc rw - proc proc rw\n"),
            None
        );
    }

    #[test]
    fn references_normalize_like_docker() {
        for (reference, normal) in [
            ("portcullis", "docker.io/library/portcullis:latest"),
            ("portcullis:1", "docker.io/library/portcullis:1"),
            ("acme/authz", "docker.io/acme/authz:latest"),
            ("index.docker.io/acme/authz", "docker.io/acme/authz:latest"),
            ("registry:5000/authz", "registry:5000/authz:latest"),
            ("localhost/authz:2", "localhost/authz:2"),
        ] {
            assert_eq!(normalize_plugin_reference(reference), normal, "{reference}");
        }
    }
}
