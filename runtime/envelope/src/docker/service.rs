//! `POST /services/create` and `/services/{id}/update` (Docker's `ServiceSpec`),
//! the parts that decide what its tasks may do to the nodes they run on.

use std::collections::BTreeMap;

use super::container::Mount;
use super::plugin::PluginPrivilege;
use crate::go_struct;

go_struct! {
    /// The body of `POST /services/create` (and `/services/{id}/update`).
    pub struct ServiceCreate {
        /// Service name.
        "Name" => pub name: String,
        /// Labels.
        "Labels" => pub labels: BTreeMap<String, String>,
        /// What each task runs.
        "TaskTemplate" => pub task_template: TaskTemplate,
        /// Networks (deprecated place, still used by the daemon when
        /// `TaskTemplate.Networks` is empty).
        "Networks" => pub networks: Vec<NetworkAttachment>,
        /// Published ports.
        "EndpointSpec" => pub endpoint_spec: EndpointSpec,
    }
}

impl ServiceCreate {
    /// Every network the tasks may join: `TaskTemplate.Networks` and the
    /// deprecated top-level `Networks` (both reach swarmkit, which falls
    /// back to the latter), judged together.
    pub fn networks(&self) -> impl Iterator<Item = &NetworkAttachment> {
        self.task_template.networks.iter().chain(&self.networks)
    }
}

go_struct! {
    /// Docker's `TaskSpec`.
    pub struct TaskTemplate {
        /// The container each task runs (`Runtime` `container`, the default).
        "ContainerSpec" => pub container_spec: ContainerSpec,
        /// The managed plugin each task installs (`Runtime` `plugin`).
        "PluginSpec" => pub plugin_spec: Option<PluginSpec>,
        /// `container`, `plugin` or `attachment` (`""`: container).
        "Runtime" => pub runtime: String,
        /// Networks the tasks join (`host` is the node's own stack).
        "Networks" => pub networks: Vec<NetworkAttachment>,
        /// The tasks' logging driver.
        "LogDriver" => pub log_driver: Option<LogDriver>,
    }
}

go_struct! {
    /// Docker's swarm `Driver` for logs.
    pub struct LogDriver {
        /// Driver name (`json-file`, `syslog`, …).
        "Name" => pub name: String,
        /// Driver options.
        "Options" => pub options: BTreeMap<String, String>,
    }
}

go_struct! {
    /// Docker's swarm `ContainerSpec`.
    pub struct ContainerSpec {
        /// Image reference.
        "Image" => pub image: String,
        /// User the process runs as.
        "User" => pub user: String,
        /// Mounts (`Type` bind, volume, tmpfs, …).
        "Mounts" => pub mounts: Vec<Mount>,
        /// Capabilities added (API 1.41+).
        "CapabilityAdd" => pub capability_add: Vec<String>,
        /// Capabilities dropped.
        "CapabilityDrop" => pub capability_drop: Vec<String>,
        /// Security settings: seccomp, AppArmor, SELinux, no-new-privileges.
        "Privileges" => pub privileges: Option<Privileges>,
        /// Sysctls.
        "Sysctls" => pub sysctls: BTreeMap<String, String>,
        /// Environment.
        "Env" => pub env: Vec<String>,
    }
}

go_struct! {
    /// Docker's swarm `Privileges`.
    pub struct Privileges {
        /// SELinux labels (`Disable` turns labelling off).
        "SELinuxContext" => pub selinux_context: Option<SelinuxContext>,
        /// Seccomp: `Mode` `default`, `unconfined` or `custom` with a `Profile`.
        "Seccomp" => pub seccomp: Option<SeccompOpts>,
        /// AppArmor: `Mode` `default` or `disabled`.
        "AppArmor" => pub app_armor: Option<AppArmorOpts>,
        /// `no-new-privileges`.
        "NoNewPrivileges" => pub no_new_privileges: bool,
    }
}

go_struct! {
    /// Docker's swarm `SELinuxContext`.
    pub struct SelinuxContext {
        /// Turn SELinux labelling off.
        "Disable" => pub disable: bool,
        /// SELinux user label.
        "User" => pub user: String,
        /// SELinux role label.
        "Role" => pub role: String,
        /// SELinux type label (`spc_t` is unconfined).
        "Type" => pub kind: String,
        /// SELinux level label.
        "Level" => pub level: String,
    }
}

go_struct! {
    /// Docker's swarm `SeccompOpts`.
    pub struct SeccompOpts {
        /// `default`, `unconfined` or `custom`.
        "Mode" => pub mode: String,
        /// The custom profile: JSON, base64-encoded as Go encodes `[]byte`.
        "Profile" => pub profile: String,
    }
}

go_struct! {
    /// Docker's swarm `AppArmorOpts`.
    pub struct AppArmorOpts {
        /// `default` or `disabled`.
        "Mode" => pub mode: String,
    }
}

go_struct! {
    /// Docker's swarm `PluginSpec` (`TaskTemplate.Runtime = "plugin"`).
    pub struct PluginSpec {
        /// Plugin name.
        "Name" => pub name: String,
        /// Where to pull it from.
        "Remote" => pub remote: String,
        /// The privileges it is granted.
        "Privileges" => pub privileges: Vec<PluginPrivilege>,
        /// Installed disabled.
        "Disabled" => pub disabled: bool,
    }
}

go_struct! {
    /// One network a service's tasks join.
    pub struct NetworkAttachment {
        /// Network name or ID.
        "Target" => pub target: String,
    }
}

go_struct! {
    /// Docker's swarm `EndpointSpec`.
    pub struct EndpointSpec {
        /// Published ports.
        "Ports" => pub ports: Vec<PortConfig>,
    }
}

go_struct! {
    /// One published port of a service.
    pub struct PortConfig {
        /// Port inside the task.
        "TargetPort" => pub target_port: u32,
        /// Port on the nodes (0: assigned by swarm).
        "PublishedPort" => pub published_port: u32,
        /// `ingress` (routing mesh) or `host` (the node's own port).
        "PublishMode" => pub publish_mode: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_networks_are_judged_with_the_task_template_ones() {
        let s: ServiceCreate = serde_json::from_str(
            r#"{"Networks":[{"Target":"host"}],"TaskTemplate":{"Networks":[{"target":"web"}]}}"#,
        )
        .unwrap();
        let targets: Vec<_> = s.networks().map(|n| n.target.as_str()).collect();
        assert_eq!(targets, ["web", "host"]);
    }
}
