//! `POST /containers/create` and the `HostConfig` body of a pre-1.24
//! `POST /containers/{name}/start`, decoded through Docker's
//! `ContainerConfigWrapper` exactly as the daemon decodes them.
//!
//! The wrapper (moby `runconfig/config_unix.go`, the same in 20.10 and
//! 26.1) embeds `*container.Config` and `*container.HostConfig`, so every
//! field of either may sit at the top level of the body, beside a nested
//! `"HostConfig"`. `getHostConfig` then picks the nested one when it is
//! non-null (copying a few top-level fields into it when it leaves them
//! zero) and the top-level one otherwise: `{"Privileged":true}` and
//! `{"Privileged":true,"HostConfig":null}` are privileged containers.
//! [`ContainerCreate::host_config`] is that effective `HostConfig`.

use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, MapAccess};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::gojson::{
    GoDecode, GoFields, GoSeed, Ignored, Key, StrSlice, decode_fields, is_default,
};
use crate::go_struct;

/// The body of `POST /containers/create`, as the daemon ends up with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerCreate {
    /// The container's portable config (image, command, user, …).
    pub config: ContainerConfig,
    /// The effective `HostConfig`: nested if given non-null, else the
    /// top-level fields (see the module docs); default when neither.
    pub host_config: HostConfig,
    /// Networks to connect at create (`NetworkingConfig`).
    pub networking_config: NetworkingConfig,
}

impl<'de> Deserialize<'de> for ContainerCreate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut wrapper = ConfigWrapper::deserialize(deserializer)?;
        Ok(ContainerCreate {
            config: wrapper.config.take().unwrap_or_default(),
            networking_config: wrapper.networking_config.take().unwrap_or_default(),
            host_config: wrapper.into_host_config().unwrap_or_default(),
        })
    }
}

/// The canonical form: Docker's shape with the effective `HostConfig`
/// nested (so decoding it again, through the wrapper, gives back this
/// value), defaults left out.
impl Serialize for ContainerCreate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.config.serialize_fields(&mut map)?;
        map.serialize_entry("HostConfig", &self.host_config)?;
        if !is_default(&self.networking_config) {
            map.serialize_entry("NetworkingConfig", &self.networking_config)?;
        }
        map.end()
    }
}

/// The body API versions before 1.24 accept on `POST /containers/{name}/start`:
/// the same wrapper as create, of which the daemon keeps the `HostConfig`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStart {
    /// The effective `HostConfig` the daemon applies before starting;
    /// `None` when the body selects none (e.g. `{}`).
    pub host_config: Option<HostConfig>,
}

/// The canonical form: `{"HostConfig": …}`, or `{}` for none.
impl Serialize for ContainerStart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(host_config) = &self.host_config {
            map.serialize_entry("HostConfig", host_config)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ContainerStart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wrapper = ConfigWrapper::deserialize(deserializer)?;
        Ok(ContainerStart {
            host_config: wrapper.into_host_config(),
        })
    }
}

/// Docker's `ContainerConfigWrapper` as decoded, before `getHostConfig`.
///
/// Go gives the tagged fields (`HostConfig`, `Cpuset`, `NetworkingConfig`)
/// precedence over the promoted ones, and the two embedded structs share
/// no field name, so a key is tried in that order. An embedded pointer is
/// allocated as soon as one of its keys appears, even with a `null` value.
#[derive(Debug, Clone, Default)]
struct ConfigWrapper {
    config: Option<ContainerConfig>,
    nested: Option<HostConfig>,
    cpuset: String,
    networking_config: Option<NetworkingConfig>,
    top_level: Option<HostConfig>,
}

impl ConfigWrapper {
    /// moby's `getHostConfig`.
    fn into_host_config(self) -> Option<HostConfig> {
        let mut effective = match (self.top_level, self.nested) {
            (None, None) => return None,
            (Some(top), None) => top,
            (None, Some(nested)) => nested,
            (Some(top), Some(mut nested)) => {
                merge_if_zero(&mut nested.memory, top.memory);
                merge_if_zero(&mut nested.memory_swap, top.memory_swap);
                merge_if_zero(&mut nested.cpu_shares, top.cpu_shares);
                merge_if_empty(&mut nested.cpuset_cpus, &top.cpuset_cpus);
                merge_if_empty(&mut nested.volume_driver, &top.volume_driver);
                nested
            }
        };
        merge_if_empty(&mut effective.cpuset_cpus, &self.cpuset);
        Some(effective)
    }
}

fn merge_if_zero(field: &mut i64, top: i64) {
    if *field == 0 {
        *field = top;
    }
}

fn merge_if_empty(field: &mut String, top: &str) {
    if field.is_empty() {
        top.clone_into(field);
    }
}

impl GoFields for ConfigWrapper {
    fn has_field(key: &Key<'_>) -> bool {
        key.matches("HostConfig")
            || key.matches("Cpuset")
            || key.matches("NetworkingConfig")
            || ContainerConfig::has_field(key)
            || HostConfig::has_field(key)
    }

    fn decode_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &Key<'de>,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        if key.matches("HostConfig") {
            map.next_value_seed(GoSeed(&mut self.nested))?;
        } else if key.matches("Cpuset") {
            map.next_value_seed(GoSeed(&mut self.cpuset))?;
        } else if key.matches("NetworkingConfig") {
            map.next_value_seed(GoSeed(&mut self.networking_config))?;
        } else if ContainerConfig::has_field(key) {
            let config = self.config.get_or_insert_with(ContainerConfig::default);
            return config.decode_field(key, map);
        } else if HostConfig::has_field(key) {
            let top_level = self.top_level.get_or_insert_with(HostConfig::default);
            return top_level.decode_field(key, map);
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

impl<'de> Deserialize<'de> for ConfigWrapper {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut wrapper = ConfigWrapper::default();
        decode_fields(&mut wrapper, deserializer)?;
        Ok(wrapper)
    }
}

go_struct! {
    /// Docker's `container.Config`: what runs, portable across hosts.
    pub struct ContainerConfig {
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
        "Volumes" => pub volumes: BTreeMap<String, Ignored>,
        /// Host name inside the container.
        "Hostname" => pub hostname: String,
        /// Domain name inside the container.
        "Domainname" => pub domainname: String,
        /// Ports the image exposes (`{"80/tcp": {}}`), published by `-P`.
        "ExposedPorts" => pub exposed_ports: BTreeMap<String, Ignored>,
        /// No network at all.
        "NetworkDisabled" => pub network_disabled: bool,
        /// Allocate a TTY.
        "Tty" => pub tty: bool,
        /// Keep stdin open.
        "OpenStdin" => pub open_stdin: bool,
        /// Signal that stops the container.
        "StopSignal" => pub stop_signal: String,
    }
}

go_struct! {
    /// Docker's `HostConfig`: what the container may do to its host. The
    /// fields of Docker's embedded `Resources` are listed inline (Go
    /// promotes them; no name clashes).
    pub struct HostConfig {
        /// `--privileged`: every capability, every device, no confinement.
        "Privileged" => pub privileged: bool,
        /// Bind mounts and volumes, `src:dst[:opts]` each.
        "Binds" => pub binds: Vec<String>,
        /// `--mount` entries.
        "Mounts" => pub mounts: Vec<Mount>,
        /// Containers whose volumes are mounted too (`name[:ro|rw]`).
        "VolumesFrom" => pub volumes_from: Vec<String>,
        /// Legacy links (`name:alias`): the linked container's environment
        /// is copied into this one.
        "Links" => pub links: Vec<String>,
        /// Driver that creates the named volumes of `Binds` that do not exist yet.
        "VolumeDriver" => pub volume_driver: String,
        /// Host devices made available.
        "Devices" => pub devices: Vec<DeviceMapping>,
        /// `--device-cgroup-rule` entries (`c 8:* rwm` grants every SCSI disk).
        "DeviceCgroupRules" => pub device_cgroup_rules: Vec<String>,
        /// `--gpus` and other devices handed out by device drivers.
        "DeviceRequests" => pub device_requests: Vec<DeviceRequest>,
        /// Capabilities added.
        "CapAdd" => pub cap_add: StrSlice,
        /// Capabilities dropped.
        "CapDrop" => pub cap_drop: StrSlice,
        /// `--network` (`host` shares the host's network stack, `container:<id>` another container's).
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
        /// `--security-opt` (`seccomp=…`, `apparmor=…`, `label=…`, `no-new-privileges`).
        "SecurityOpt" => pub security_opt: Vec<String>,
        /// Paths masked in the container. `None` (absent or `null`) is the
        /// daemon's default list; `Some([])` unmasks everything, as
        /// `--security-opt systempaths=unconfined` does.
        "MaskedPaths" => pub masked_paths: Option<Vec<String>>,
        /// Paths mounted read-only in the container; `None` and `Some([])`
        /// as for `masked_paths`.
        "ReadonlyPaths" => pub readonly_paths: Option<Vec<String>>,
        /// `--sysctl`.
        "Sysctls" => pub sysctls: BTreeMap<String, String>,
        /// OCI runtime name.
        "Runtime" => pub runtime: String,
        /// OCI annotations handed to the runtime (API 1.43+; runtimes other
        /// than runc read some as configuration).
        "Annotations" => pub annotations: BTreeMap<String, String>,
        /// `--init` (`None`: the daemon's default).
        "Init" => pub init: Option<bool>,
        /// Published ports: `"80/tcp"` → host bindings.
        "PortBindings" => pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
        /// `-P`: publish every exposed port on a random host port.
        "PublishAllPorts" => pub publish_all_ports: bool,
        /// Logging driver.
        "LogConfig" => pub log_config: LogConfig,
        /// tmpfs mounts: path → option string (see
        /// [`tmpfs_entries`](super::mount_options::tmpfs_entries)).
        "Tmpfs" => pub tmpfs: BTreeMap<String, String>,
        /// Storage driver options for the container's writable layer
        /// (`size`; the storage driver reads the keys).
        "StorageOpt" => pub storage_opt: BTreeMap<String, String>,
        /// `--read-only`.
        "ReadonlyRootfs" => pub readonly_rootfs: bool,
        /// `--cgroup-parent`.
        "CgroupParent" => pub cgroup_parent: String,
        /// Memory limit in bytes (merged from the top level by the wrapper).
        "Memory" => pub memory: i64,
        /// Memory + swap limit in bytes (merged from the top level by the wrapper).
        "MemorySwap" => pub memory_swap: i64,
        /// Relative CPU weight (merged from the top level by the wrapper).
        "CpuShares" => pub cpu_shares: i64,
        /// CPUs the container may use (merged from the top level by the wrapper).
        "CpusetCpus" => pub cpuset_cpus: String,
    }
}

go_struct! {
    /// Docker's `NetworkingConfig`.
    pub struct NetworkingConfig {
        /// The networks to connect, by name or ID (their settings are not decoded).
        "EndpointsConfig" => pub endpoints_config: BTreeMap<String, Ignored>,
    }
}

go_struct! {
    /// One `--mount` entry (Docker's `mount.Mount`, as of API 1.51).
    pub struct Mount {
        /// `bind`, `volume`, `tmpfs`, `npipe`, `cluster` or (API 1.48+,
        /// dockerd 28) `image`; anything else is refused by the daemon.
        "Type" => pub kind: String,
        /// Host path (bind), volume name (volume) or image reference (image).
        "Source" => pub source: String,
        /// Path inside the container.
        "Target" => pub target: String,
        /// Mounted read-only.
        "ReadOnly" => pub read_only: bool,
        /// `consistent`, `cached`, `delegated` or `default` (macOS only;
        /// ignored on Linux).
        "Consistency" => pub consistency: String,
        /// Options of a bind mount.
        "BindOptions" => pub bind_options: Option<BindOptions>,
        /// Options of a volume mount, including the driver that creates it.
        "VolumeOptions" => pub volume_options: Option<VolumeOptions>,
        /// Options of an image mount (API 1.48+).
        "ImageOptions" => pub image_options: Option<ImageOptions>,
        /// Options of a tmpfs mount.
        "TmpfsOptions" => pub tmpfs_options: Option<TmpfsOptions>,
        /// Options of a cluster volume (an empty struct).
        "ClusterOptions" => pub cluster_options: Option<ClusterOptions>,
    }
}

go_struct! {
    /// Docker's `mount.BindOptions`.
    pub struct BindOptions {
        /// Mount propagation (`rshared` lets mounts flow back to the host).
        "Propagation" => pub propagation: String,
        /// Do not bind submounts recursively.
        "NonRecursive" => pub non_recursive: bool,
        /// Create the host path if it does not exist (API 1.42+).
        "CreateMountpoint" => pub create_mountpoint: bool,
        /// Read-only only at the top, submounts left writable (API 1.44+).
        "ReadOnlyNonRecursive" => pub read_only_non_recursive: bool,
        /// Fail rather than leave submounts writable (API 1.44+).
        "ReadOnlyForceRecursive" => pub read_only_force_recursive: bool,
    }
}

go_struct! {
    /// Docker's `mount.VolumeOptions`.
    pub struct VolumeOptions {
        /// Do not copy the image's data into a new volume.
        "NoCopy" => pub no_copy: bool,
        /// Labels of a volume created by this mount.
        "Labels" => pub labels: BTreeMap<String, String>,
        /// The driver that creates the volume if it does not exist, with
        /// its options: `local` with `type`/`o`/`device` can mount any
        /// host path or filesystem.
        "DriverConfig" => pub driver_config: Option<VolumeDriver>,
        /// Path inside the volume to mount (API 1.45+; the daemon refuses
        /// one that is not lexically inside the volume).
        "Subpath" => pub subpath: String,
    }
}

go_struct! {
    /// Docker's `mount.ImageOptions` (API 1.48+).
    pub struct ImageOptions {
        /// Path inside the image to mount (the daemon refuses one that is
        /// not lexically inside the image).
        "Subpath" => pub subpath: String,
    }
}

/// Docker's `mount.ClusterOptions`: a struct without fields (yet). Any
/// object decodes into it, as Go decodes one; other values are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterOptions;

impl GoFields for ClusterOptions {
    fn has_field(_: &Key<'_>) -> bool {
        false
    }

    fn decode_field<'de, A: MapAccess<'de>>(
        &mut self,
        _: &Key<'de>,
        _: &mut A,
    ) -> Result<bool, A::Error> {
        Ok(false)
    }
}

impl GoDecode for ClusterOptions {
    const NULL_RESETS: bool = false;

    fn decode_into<'de, D: Deserializer<'de>>(
        place: &mut Self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        decode_fields(place, deserializer)
    }
}

impl<'de> Deserialize<'de> for ClusterOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut out = ClusterOptions;
        decode_fields(&mut out, deserializer)?;
        Ok(out)
    }
}

impl Serialize for ClusterOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

go_struct! {
    /// Docker's `mount.Driver`: a volume driver and its options.
    pub struct VolumeDriver {
        /// Driver name (`""` and `local` are the built-in one).
        "Name" => pub name: String,
        /// Driver options.
        "Options" => pub options: BTreeMap<String, String>,
    }
}

go_struct! {
    /// Docker's `mount.TmpfsOptions`.
    pub struct TmpfsOptions {
        /// Size in bytes (0: unlimited).
        "SizeBytes" => pub size_bytes: i64,
        /// Permission bits of the tmpfs root.
        "Mode" => pub mode: u32,
        /// Mount options (API 1.46+): `[flag]` or `[key, value]` each;
        /// dockerd 28.5 accepts only `exec` and `noexec`.
        "Options" => pub options: Vec<Vec<String>>,
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
    /// One device request (`--gpus all` is `{"Count":-1,"Capabilities":[["gpu"]]}`).
    pub struct DeviceRequest {
        /// Device driver (`nvidia`, `cdi`, or `""` to pick by capability).
        "Driver" => pub driver: String,
        /// How many devices (-1: all).
        "Count" => pub count: i64,
        /// Device IDs requested.
        "DeviceIDs" => pub device_ids: Vec<String>,
        /// Capability sets, any of which selects a driver.
        "Capabilities" => pub capabilities: Vec<Vec<String>>,
        /// Driver options.
        "Options" => pub options: BTreeMap<String, String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> ContainerCreate {
        serde_json::from_str(json).unwrap()
    }

    fn start(json: &str) -> Option<HostConfig> {
        serde_json::from_str::<ContainerStart>(json)
            .unwrap()
            .host_config
    }

    #[test]
    fn top_level_host_config_fields_apply_when_no_nested_host_config() {
        let c =
            create(r#"{"Image":"busybox","Privileged":true,"Binds":["/:/h"],"PidMode":"host"}"#);
        assert!(c.host_config.privileged);
        assert_eq!(c.host_config.binds, ["/:/h"]);
        assert_eq!(c.host_config.pid_mode, "host");
        assert_eq!(c.config.image, "busybox");
    }

    #[test]
    fn top_level_fields_apply_when_the_nested_host_config_is_null() {
        assert!(
            create(r#"{"Privileged":true,"HostConfig":null}"#)
                .host_config
                .privileged
        );
        assert!(
            create(r#"{"HostConfig":{"CapAdd":["X"]},"HostConfig":null,"privileged":true}"#)
                .host_config
                .privileged,
            "a later null drops the nested pointer"
        );
    }

    #[test]
    fn a_nested_host_config_hides_the_top_level_fields() {
        let c = create(r#"{"Privileged":true,"HostConfig":{}}"#);
        assert!(!c.host_config.privileged);
    }

    #[test]
    fn repeated_nested_host_configs_merge_like_go_pointers() {
        let c = create(r#"{"HostConfig":{"Privileged":true},"hostconfig":{"Binds":["/:/h"]}}"#);
        assert!(c.host_config.privileged);
        assert_eq!(c.host_config.binds, ["/:/h"]);
        let c = create(r#"{"HostConfig":null,"HostConfig":{"Privileged":true}}"#);
        assert!(c.host_config.privileged);
    }

    #[test]
    fn the_wrapper_copies_volume_driver_and_resources_into_a_nested_host_config() {
        let c = create(
            r#"{"VolumeDriver":"evil","Memory":5,"Cpuset":"0","HostConfig":{"Binds":["v:/v"]}}"#,
        );
        assert_eq!(c.host_config.volume_driver, "evil");
        assert_eq!(c.host_config.memory, 5);
        assert_eq!(c.host_config.cpuset_cpus, "0");
        let c = create(r#"{"VolumeDriver":"evil","HostConfig":{"VolumeDriver":"local"}}"#);
        assert_eq!(c.host_config.volume_driver, "local");
    }

    #[test]
    fn masked_paths_tell_an_empty_list_from_the_default() {
        assert_eq!(
            create(r#"{"HostConfig":{}}"#).host_config.masked_paths,
            None
        );
        assert_eq!(
            create(r#"{"HostConfig":{"MaskedPaths":null}}"#)
                .host_config
                .masked_paths,
            None
        );
        assert_eq!(
            create(r#"{"HostConfig":{"MaskedPaths":[]}}"#)
                .host_config
                .masked_paths,
            Some(vec![])
        );
        assert_eq!(
            create(r#"{"ReadonlyPaths":[]}"#).host_config.readonly_paths,
            Some(vec![])
        );
    }

    #[test]
    fn mount_volume_options_carry_their_driver() {
        let c = create(
            r#"{"HostConfig":{"Mounts":[{"Type":"volume","Source":"x","Target":"/x",
                "VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}}"#,
        );
        let driver = c.host_config.mounts[0]
            .volume_options
            .as_ref()
            .and_then(|o| o.driver_config.as_ref())
            .unwrap();
        assert_eq!(driver.options["device"], "/");
    }

    #[test]
    fn a_start_body_is_the_same_wrapper() {
        assert!(
            start(r#"{"HostConfig":{"Privileged":true}}"#)
                .unwrap()
                .privileged
        );
        assert!(start(r#"{"Privileged":true}"#).unwrap().privileged);
        assert_eq!(start(r#"{}"#), None);
        assert_eq!(start(r#"{"HostConfig":null}"#), None);
        assert_eq!(start(r#"{"Image":"x"}"#), None);
    }

    #[test]
    fn the_canonical_form_decodes_back_to_the_same_value() {
        for body in [
            r#"{"Image":"b","Privileged":true,"Binds":["/:/h"],"HostConfig":null}"#,
            r#"{"Image":"b","VolumeDriver":"v","Memory":3,"HostConfig":{"MaskedPaths":[],"Init":false}}"#,
            r#"{"Cmd":"sh","Volumes":{"/d":{}},"NetworkingConfig":{"EndpointsConfig":{"n":{"x":1}}},
                "HostConfig":{"Mounts":[{"Type":"volume","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"o":"bind"}}}}]}}"#,
            r#"{}"#,
        ] {
            let decoded = create(body);
            let canonical = rmp_serde::to_vec_named(&decoded).unwrap();
            let again: ContainerCreate = rmp_serde::from_slice(&canonical).unwrap();
            assert_eq!(again, decoded, "{body}");
            let json = serde_json::to_string(&decoded).unwrap();
            assert_eq!(create(&json), decoded, "{json}");
        }
        for body in [
            r#"{}"#,
            r#"{"Privileged":true}"#,
            r#"{"HostConfig":{"CapAdd":"X"}}"#,
        ] {
            let decoded: ContainerStart = serde_json::from_str(body).unwrap();
            let canonical = rmp_serde::to_vec_named(&decoded).unwrap();
            let again: ContainerStart = rmp_serde::from_slice(&canonical).unwrap();
            assert_eq!(again, decoded, "{body}");
        }
    }

    #[test]
    fn a_promoted_key_with_a_null_value_still_selects_the_top_level_host_config() {
        // Go allocates the embedded pointer before it sees the null.
        assert_eq!(start(r#"{"Privileged":null}"#), Some(HostConfig::default()));
    }
}
