//! Swarm services (what their tasks may do on the nodes they land on) and
//! managed plugins (the privileges an install grants). Swarm membership
//! itself is refused in `lib.rs` unless allowed.

use portcullis_sdk::docker::{PluginPrivilege, Privileges};
use portcullis_sdk::{BodyError, Request};

use crate::config::Config;
use crate::host_config::{check_capability, check_host_port, check_log_driver, check_tmpfs_mounts};
use crate::security_options::profile_digest;
use crate::{Violations, images, mounts};

pub(crate) fn check_service(
    req: &Request,
    config: &Config,
    out: &mut Violations,
) -> Result<(), BodyError> {
    let service = req.service_create()?;
    let task = &service.task_template;
    let spec = &task.container_spec;
    images::check_pulled_image(&spec.image, config, out);
    for capability in &spec.capability_add {
        check_capability(capability, config, out);
    }
    if let Some(privileges) = &spec.privileges {
        check_privileges(privileges, config, out);
    }
    mounts::check(req.mounts()?, config, out);
    check_tmpfs_mounts(&spec.mounts, out);
    for network in service.networks() {
        let target = network.target.as_str();
        if target.eq_ignore_ascii_case("host") && !config.allow_host_namespaces {
            out.push("services on the host network are not allowed");
        } else if let Some(allowed) = &config.allowed_service_networks {
            if !allowed.iter().any(|a| a == target) {
                out.push(format!(
                    "service network {target:?} is not in allowed_service_networks"
                ));
            }
        } else if !target.is_empty() && target.bytes().all(|b| b.is_ascii_hexdigit()) {
            // Swarm resolves IDs and ID prefixes, the host network's among them.
            out.push(format!(
                "service network {target:?} looks like a network ID: name networks by name"
            ));
        }
    }
    if let Some(log_driver) = &task.log_driver {
        check_log_driver(&log_driver.name, &log_driver.options, config, out);
    }
    for port in &service.endpoint_spec.ports {
        check_host_port(
            &port.target_port.to_string(),
            port.published_port,
            config,
            out,
        );
    }
    let plugin_runtime = task.runtime.eq_ignore_ascii_case("plugin");
    if plugin_runtime || task.plugin_spec.is_some() {
        if !config.allow_plugin_management {
            out.push("services that install plugins are not allowed");
        } else if let Some(plugin) = &task.plugin_spec {
            images::check_pulled_image(&plugin.remote, config, out);
            check_plugin_privileges(&plugin.privileges, config, out);
        }
    }
    Ok(())
}

/// A swarm `ContainerSpec.Privileges`: the service spelling of
/// `--security-opt`.
fn check_privileges(privileges: &Privileges, config: &Config, out: &mut Violations) {
    if let Some(selinux) = &privileges.selinux_context {
        if selinux.disable && !config.allow_unconfined {
            out.push("services with SELinux labelling disabled are not allowed");
        }
        let labelled = [&selinux.user, &selinux.role, &selinux.kind, &selinux.level]
            .iter()
            .any(|label| !label.is_empty());
        if labelled {
            out.push("services with SELinux labels are not allowed");
        }
    }
    if let Some(seccomp) = &privileges.seccomp {
        match seccomp.mode.as_str() {
            "" | "default" => {}
            "unconfined" if config.allow_unconfined => {}
            "custom" => {
                let profile = base64_decoded(&seccomp.profile);
                let digest = profile_digest(&profile);
                if !config.allowed_seccomp_profiles.contains(&digest) {
                    out.push(format!(
                        "service seccomp profile {digest} is not in allowed_seccomp_profiles"
                    ));
                }
            }
            mode => out.push(format!("service seccomp mode {mode:?} is not allowed")),
        }
    }
    if let Some(app_armor) = &privileges.app_armor {
        match app_armor.mode.as_str() {
            "" | "default" => {}
            "disabled" if config.allow_unconfined => {}
            mode => out.push(format!("service AppArmor mode {mode:?} is not allowed")),
        }
    }
}

pub(crate) fn check_plugin(
    req: &Request,
    config: &Config,
    out: &mut Violations,
) -> Result<(), BodyError> {
    if !config.allow_plugin_management {
        out.push(format!(
            "managing plugins ({}) is not allowed",
            req.action()
        ));
        return Ok(());
    }
    match req.action() {
        "plugin_install" | "plugin_upgrade" => {
            if let Some(remote) = req.query("remote") {
                images::check_pulled_image(remote, config, out);
            }
            check_plugin_privileges(&req.plugin_privileges()?, config, out);
            mounts::check(req.mounts()?, config, out);
        }
        // New mount sources and device paths.
        "plugin_set" => mounts::check(req.mounts()?, config, out),
        _ => {}
    }
    Ok(())
}

/// The privileges granted to a managed plugin, by the rules that apply to
/// containers; a privilege this version does not know is refused.
fn check_plugin_privileges(privileges: &[PluginPrivilege], config: &Config, out: &mut Violations) {
    for privilege in privileges {
        let values = &privilege.value;
        match privilege.name.as_str() {
            "network" => {
                for network in values {
                    if network == "host" && !config.allow_host_namespaces {
                        out.push("a plugin on the host network is not allowed");
                    }
                }
            }
            "host pid namespace" | "host ipc namespace" if !config.allow_host_namespaces => {
                out.push(format!(
                    "a plugin with the {} is not allowed",
                    privilege.name
                ));
            }
            "host pid namespace" | "host ipc namespace" => {}
            // Judged as binds from the host's resolved list (`Request::mounts`).
            "mount" => {}
            "device" | "allow-all-devices" if !config.allow_devices => {
                out.push("a plugin with devices is not allowed");
            }
            "device" | "allow-all-devices" => {}
            "capabilities" => {
                for capability in values {
                    check_capability(capability, config, out);
                }
            }
            other => out.push(format!("plugin privilege {other:?} is not allowed")),
        }
    }
}

/// Go encodes `[]byte` as standard base64; undecodable text is judged as is
/// (its digest then matches no allowed profile).
fn base64_decoded(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| text.to_owned())
}
