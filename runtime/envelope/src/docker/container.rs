//! `POST /containers/create` (Docker's `ContainerConfigWrapper`) and the
//! `HostConfig` it carries.

use std::collections::BTreeMap;

use super::gojson::StrSlice;
use crate::go_struct;

go_struct! {
    /// The body of `POST /containers/create`: the container's config with
    /// its `HostConfig` (fields the daemon reads, as the daemon reads them).
    pub struct ContainerCreate {
        /// Image reference as given (`busybox`, `registry:5000/app:1`).
        "Image" => pub image: String,
        /// User the process runs as (`""` means the image's default).
        "User" => pub user: String,
        /// Environment, `KEY=value` each.
        "Env" => pub env: Vec<String>,
        /// Command.
        "Cmd" => pub cmd: StrSlice,
        /// Entrypoint.
        "Entrypoint" => pub entrypoint: StrSlice,
        /// Working directory.
        "WorkingDir" => pub working_dir: String,
        /// Labels.
        "Labels" => pub labels: BTreeMap<String, String>,
        /// Anonymous volumes (`{"/data": {}}`).
        "Volumes" => pub volumes: BTreeMap<String, serde::de::IgnoredAny>,
        /// The host-side configuration: where privilege lives.
        "HostConfig" => pub host_config: HostConfig,
    }
}

go_struct! {
    /// Docker's `HostConfig`: what the container may do to its host.
    pub struct HostConfig {
        /// `--privileged`: every capability, every device, no confinement.
        "Privileged" => pub privileged: bool,
        /// Bind mounts and volumes, `src:dst[:opts]` each.
        "Binds" => pub binds: Vec<String>,
        /// `--mount` entries.
        "Mounts" => pub mounts: Vec<Mount>,
        /// Containers whose volumes are mounted too (`name[:ro|rw]`).
        "VolumesFrom" => pub volumes_from: Vec<String>,
        /// Host devices made available.
        "Devices" => pub devices: Vec<DeviceMapping>,
        /// `--device-cgroup-rule` entries (`c 8:* rwm` grants every SCSI disk).
        "DeviceCgroupRules" => pub device_cgroup_rules: Vec<String>,
        /// Capabilities added.
        "CapAdd" => pub cap_add: StrSlice,
        /// Capabilities dropped.
        "CapDrop" => pub cap_drop: StrSlice,
        /// `--network` (`host` shares the host's network stack).
        "NetworkMode" => pub network_mode: String,
        /// `--pid` (`host` sees every host process).
        "PidMode" => pub pid_mode: String,
        /// `--ipc`.
        "IpcMode" => pub ipc_mode: String,
        /// `--uts`.
        "UTSMode" => pub uts_mode: String,
        /// `--userns` (`host` disables user-namespace remapping).
        "UsernsMode" => pub userns_mode: String,
        /// `--cgroupns`.
        "CgroupnsMode" => pub cgroupns_mode: String,
        /// `--security-opt` (`seccomp=unconfined`, `apparmor=unconfined`, `label=disable`).
        "SecurityOpt" => pub security_opt: Vec<String>,
        /// `--sysctl`.
        "Sysctls" => pub sysctls: BTreeMap<String, String>,
        /// OCI runtime name.
        "Runtime" => pub runtime: String,
        /// Published ports: `"80/tcp"` → host bindings.
        "PortBindings" => pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
        /// `-P`: publish every exposed port on a random host port.
        "PublishAllPorts" => pub publish_all_ports: bool,
        /// Logging driver.
        "LogConfig" => pub log_config: LogConfig,
        /// tmpfs mounts: path → options.
        "Tmpfs" => pub tmpfs: BTreeMap<String, String>,
        /// `--read-only`.
        "ReadonlyRootfs" => pub readonly_rootfs: bool,
        /// `--cgroup-parent`.
        "CgroupParent" => pub cgroup_parent: String,
    }
}

go_struct! {
    /// One `--mount` entry.
    pub struct Mount {
        /// `bind`, `volume`, `tmpfs`, `npipe` or `cluster`.
        "Type" => pub kind: String,
        /// Host path (bind) or volume name (volume).
        "Source" => pub source: String,
        /// Path inside the container.
        "Target" => pub target: String,
        /// Mounted read-only.
        "ReadOnly" => pub read_only: bool,
    }
}

go_struct! {
    /// One `--device` entry.
    pub struct DeviceMapping {
        /// Device path on the host.
        "PathOnHost" => pub path_on_host: String,
        /// Device path in the container.
        "PathInContainer" => pub path_in_container: String,
        /// cgroup permissions (`rwm`).
        "CgroupPermissions" => pub cgroup_permissions: String,
    }
}

go_struct! {
    /// One host binding of a published port.
    pub struct PortBinding {
        /// Host address (`""` means all).
        "HostIp" => pub host_ip: String,
        /// Host port (`""` means random).
        "HostPort" => pub host_port: String,
    }
}

go_struct! {
    /// The logging driver and its options.
    pub struct LogConfig {
        /// Driver name (`json-file`, `syslog`, …).
        "Type" => pub kind: String,
        /// Driver options.
        "Config" => pub config: BTreeMap<String, String>,
    }
}
