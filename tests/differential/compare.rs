//! What the SDK reported against what the daemon recorded (`HostConfig`
//! in `GET /containers/{id}/json`), field by field, after an explicit
//! normalisation of each rewrite the daemon is known to make.
//!
//! Every field of the table is compared in every accepted case, not only
//! the field the case is about, so a mutation that leaks into another field
//! is caught too. Values are put in one canonical shape on both sides:
//! Docker's JSON names, absent `omitempty` members as their zero value.
//!
//! Normalisations (the only ways a daemon value may differ from the SDK's):
//!
//! | field | SDK value | daemon records | why (daemon code path) | depends on |
//! |---|---|---|---|---|
//! | lists (`Binds`, `CapAdd`, `Devices`, …) | `[]` | `null` or `[]` | Go's nil and empty slice; the SDK's `Vec` has no nil; the daemon treats both as "none" | – |
//! | maps (`Sysctls`, `Tmpfs`, `PortBindings`, option maps) | `{}` | `null` or `{}` | as for lists | – |
//! | `NetworkMode` | `""` | create: the daemon's default (`default` on 20.10, `bridge` on 26.1); start: `default` | `SetDefaultNetModeIfBlank` in the wrapper; 26.1 resolves it to its default network at create | daemon version |
//! | `IpcMode` | `""` | create at API < 1.40: `shareable` (26.1; 20.10 when the wrapper yields a HostConfig at all, otherwise `private`); else (and on start) the daemon default (`private`) | create handler's "older clients expect shareable"; 20.10 applies it to a non-nil HostConfig only, 26.1 allocates one first | API and daemon version |
//! | `CgroupnsMode` | `""` | the daemon default (`host` on cgroup v1, `private` on v2) | `adaptContainerSettings`; the API < 1.41 rewrite to `host` applies on cgroup v1 only, where it is the default anyway | cgroup version |
//! | `Runtime` | `""` | the default runtime (`runc`); on 20.10 also `""` when the wrapper yields no HostConfig at all | create fills it in the HostConfig it decoded | daemon version |
//! | `SecurityOpt` | `[]`, and the container is privileged or has `PidMode`/`IpcMode` `host` | `["label=disable"]` (or `[]` when the body said `[]`, not nil) | `generateSecurityOpt`: a nil SecurityOpt gets SELinux labelling disabled for containers that share the host's namespaces; the SDK's `Vec` cannot tell nil from `[]` | – (create and start) |
//! | `MaskedPaths`, `ReadonlyPaths` | `None` | create: the daemon's default list, or `null` for a privileged container; start: `null` (the runtime applies its default list when it runs it) | `createContainerOSSpecificSettings` (create only) | endpoint |
//! | everything on start with no HostConfig in the body (SDK `None`) | – | exactly what it recorded before the start | the daemon keeps the container's HostConfig | – |
//! | `Mounts` members newer than the daemon (`BindOptions.ReadOnly*Recursive`, `CreateMountpoint`, `VolumeOptions.Subpath` on 20.10; `TmpfsOptions.Options`, `ImageOptions` on 20.10 and 26.1) | the value sent | their zero value | Go skips keys its struct lacks; the SDK reads what any supported daemon reads | daemon version |
//! | `Mounts[].BindOptions.CreateMountpoint` at API < 1.42 | the value sent | `false` | the create handler resets it for older clients | API version |
//! | `LogConfig.Type` | `""` | create: the daemon's default driver; start: either | `mergeAndVerifyLogConfig` (create) | endpoint |
//! | a bind's propagation in `mounts()` | none (`rprivate`) | `rslave` when the bind source holds the daemon's data root | `validateBindDaemonRoot` | where the daemon keeps its data |
//!
//! `Some([])` for `MaskedPaths` is never the same as `None`: `[]` unmasks
//! `/proc`, `null` is the default list. Nothing else is normalised; the
//! defaults themselves are read from the daemon: a container created with
//! `"HostConfig":{}` at the daemon's own API version.
//!
//! Option strings (the `Volume` and `Run` cases) are compared with what
//! the daemon *did*, not what it stored: [`volume`] with the mount it made
//! for a `local` volume (read from the host's mount table), [`run`] with
//! the running process (`/proc/PID/status`, `/proc/PID/mountinfo`).

use std::collections::BTreeMap;

use portcullis_sdk::docker::mount_options::{TMPFS_MOUNT_OPTIONS, tmpfs_entries};
use portcullis_sdk::docker::{
    ContainerCreate, HostConfig, LocalMount, LocalOptionsError, Mount, SecurityOpt, VolumeCreate,
};
use portcullis_sdk::{MountInfo, MountKind};
use serde_json::{Map, Value, json};

use super::corpus::Endpoint;
use crate::dockerd::Version;

/// What the daemon fills in for a field left empty, read from the daemon.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// `NetworkMode` of a container created with `"HostConfig":{}`.
    pub network_mode: Value,
    /// `IpcMode` likewise (`private` unless `default-ipc-mode` says otherwise).
    pub ipc_mode: Value,
    /// `CgroupnsMode` likewise.
    pub cgroupns_mode: Value,
    /// `Runtime` likewise.
    pub runtime: Value,
    /// `MaskedPaths` likewise: the default list.
    pub masked_paths: Value,
    /// `ReadonlyPaths` likewise: the default list.
    pub readonly_paths: Value,
    /// `LogConfig.Type` likewise: the daemon's default logging driver.
    pub log_type: Value,
}

impl Defaults {
    /// Reads them from the inspect output of a plain container.
    pub fn from_inspect(host_config: &Value) -> Defaults {
        let get = |name: &str| host_config.get(name).cloned().unwrap_or(Value::Null);
        Defaults {
            network_mode: get("NetworkMode"),
            ipc_mode: get("IpcMode"),
            cgroupns_mode: get("CgroupnsMode"),
            runtime: get("Runtime"),
            masked_paths: get("MaskedPaths"),
            readonly_paths: get("ReadonlyPaths"),
            log_type: host_config
                .get("LogConfig")
                .and_then(|c| c.get("Type"))
                .cloned()
                .unwrap_or(Value::Null),
        }
    }
}

/// Where a comparison happens.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub version: Version,
    /// The API version of the call (`""`: the daemon's newest).
    pub api: &'a str,
    pub endpoint: Endpoint,
    pub defaults: &'a Defaults,
}

/// One field that differs.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub field: String,
    pub sdk: String,
    pub daemon: String,
}

/// How a field's JSON is made canonical.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Bool,
    Str,
    /// `null` and absent are `[]`; elements through the projection.
    List(fn(&Value) -> Value),
    /// `null` and absent are `{}`; values through the projection.
    Map(fn(&Value) -> Value),
    /// `null` and absent are `null`; anything else as is.
    Nullable,
    /// A struct: `null` and absent are its zero value, through the projection.
    Object(fn(&Value) -> Value),
}

struct Check {
    go: &'static str,
    shape: Shape,
    sdk: fn(&HostConfig) -> Value,
}

fn same(v: &Value) -> Value {
    v.clone()
}

/// Every compared `HostConfig` field.
const CHECKS: &[Check] = &[
    Check {
        go: "Privileged",
        shape: Shape::Bool,
        sdk: |h| json!(h.privileged),
    },
    Check {
        go: "Binds",
        shape: Shape::List(same),
        sdk: |h| json!(h.binds),
    },
    Check {
        go: "Mounts",
        shape: Shape::List(daemon_mount),
        sdk: |h| Value::Array(h.mounts.iter().map(sdk_mount).collect()),
    },
    Check {
        go: "VolumesFrom",
        shape: Shape::List(same),
        sdk: |h| json!(h.volumes_from),
    },
    Check {
        go: "Devices",
        shape: Shape::List(daemon_device),
        sdk: |h| {
            Value::Array(
                h.devices
                    .iter()
                    .map(|d| json!({"PathOnHost": d.path_on_host, "PathInContainer": d.path_in_container, "CgroupPermissions": d.cgroup_permissions}))
                    .collect(),
            )
        },
    },
    Check {
        go: "DeviceCgroupRules",
        shape: Shape::List(same),
        sdk: |h| json!(h.device_cgroup_rules),
    },
    Check {
        go: "DeviceRequests",
        shape: Shape::List(daemon_device_request),
        sdk: |h| {
            Value::Array(
                h.device_requests
                    .iter()
                    .map(|r| json!({"Driver": r.driver, "Count": r.count, "DeviceIDs": r.device_ids, "Capabilities": r.capabilities, "Options": r.options}))
                    .collect(),
            )
        },
    },
    Check {
        go: "CapAdd",
        shape: Shape::List(same),
        sdk: |h| json!(h.cap_add.to_vec()),
    },
    Check {
        go: "CapDrop",
        shape: Shape::List(same),
        sdk: |h| json!(h.cap_drop.to_vec()),
    },
    Check {
        go: "NetworkMode",
        shape: Shape::Str,
        sdk: |h| json!(h.network_mode),
    },
    Check {
        go: "PidMode",
        shape: Shape::Str,
        sdk: |h| json!(h.pid_mode),
    },
    Check {
        go: "IpcMode",
        shape: Shape::Str,
        sdk: |h| json!(h.ipc_mode),
    },
    Check {
        go: "UTSMode",
        shape: Shape::Str,
        sdk: |h| json!(h.uts_mode),
    },
    Check {
        go: "UsernsMode",
        shape: Shape::Str,
        sdk: |h| json!(h.userns_mode),
    },
    Check {
        go: "CgroupnsMode",
        shape: Shape::Str,
        sdk: |h| json!(h.cgroupns_mode),
    },
    Check {
        go: "SecurityOpt",
        shape: Shape::List(same),
        sdk: |h| json!(h.security_opt),
    },
    Check {
        go: "MaskedPaths",
        shape: Shape::Nullable,
        sdk: |h| json!(h.masked_paths),
    },
    Check {
        go: "ReadonlyPaths",
        shape: Shape::Nullable,
        sdk: |h| json!(h.readonly_paths),
    },
    Check {
        go: "Sysctls",
        shape: Shape::Map(same),
        sdk: |h| json!(h.sysctls),
    },
    Check {
        go: "Runtime",
        shape: Shape::Str,
        sdk: |h| json!(h.runtime),
    },
    Check {
        go: "PortBindings",
        shape: Shape::Map(daemon_port_bindings),
        sdk: |h| {
            let map: BTreeMap<&String, Value> = h
                .port_bindings
                .iter()
                .map(|(port, bindings)| {
                    let list = bindings
                        .iter()
                        .map(|b| json!({"HostIp": b.host_ip, "HostPort": b.host_port}))
                        .collect();
                    (port, Value::Array(list))
                })
                .collect();
            json!(map)
        },
    },
    Check {
        go: "PublishAllPorts",
        shape: Shape::Bool,
        sdk: |h| json!(h.publish_all_ports),
    },
    Check {
        go: "VolumeDriver",
        shape: Shape::Str,
        sdk: |h| json!(h.volume_driver),
    },
    Check {
        go: "Tmpfs",
        shape: Shape::Map(same),
        sdk: |h| json!(h.tmpfs),
    },
    Check {
        go: "StorageOpt",
        shape: Shape::Map(same),
        sdk: |h| json!(h.storage_opt),
    },
    Check {
        go: "LogConfig",
        shape: Shape::Object(daemon_log_config),
        sdk: |h| json!({"Type": h.log_config.kind, "Config": h.log_config.config}),
    },
    Check {
        go: "CgroupParent",
        shape: Shape::Str,
        sdk: |h| json!(h.cgroup_parent),
    },
    Check {
        go: "Init",
        shape: Shape::Nullable,
        sdk: |h| json!(h.init),
    },
    Check {
        go: "ReadonlyRootfs",
        shape: Shape::Bool,
        sdk: |h| json!(h.readonly_rootfs),
    },
];

/// How many `HostConfig` fields one comparison covers.
pub fn field_count() -> usize {
    CHECKS.len()
}

fn text(v: &Value, key: &str) -> Value {
    Value::String(v.get(key).and_then(Value::as_str).unwrap_or("").to_owned())
}

fn flag(v: &Value, key: &str) -> Value {
    Value::Bool(v.get(key).and_then(Value::as_bool).unwrap_or(false))
}

fn number(v: &Value, key: &str) -> Value {
    json!(v.get(key).and_then(Value::as_i64).unwrap_or(0))
}

/// `null`/absent → `[]`.
fn list_of(v: Option<&Value>, element: fn(&Value) -> Value) -> Value {
    match v {
        Some(Value::Array(items)) => Value::Array(items.iter().map(element).collect()),
        _ => json!([]),
    }
}

/// `null`/absent → `{}`.
fn map_of(v: Option<&Value>, value: fn(&Value) -> Value) -> Value {
    match v {
        Some(Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value(v)))
                .collect::<Map<_, _>>(),
        ),
        _ => json!({}),
    }
}

/// A pointer member: absent/`null` → `null`, else projected.
fn pointer(v: Option<&Value>, project: impl Fn(&Value) -> Value) -> Value {
    match v {
        None | Some(Value::Null) => Value::Null,
        Some(v) => project(v),
    }
}

fn daemon_mount(m: &Value) -> Value {
    json!({
        "Type": text(m, "Type"),
        "Source": text(m, "Source"),
        "Target": text(m, "Target"),
        "ReadOnly": flag(m, "ReadOnly"),
        "Consistency": text(m, "Consistency"),
        "BindOptions": pointer(m.get("BindOptions"), |o| json!({
            "Propagation": text(o, "Propagation"),
            "NonRecursive": flag(o, "NonRecursive"),
            "CreateMountpoint": flag(o, "CreateMountpoint"),
            "ReadOnlyNonRecursive": flag(o, "ReadOnlyNonRecursive"),
            "ReadOnlyForceRecursive": flag(o, "ReadOnlyForceRecursive"),
        })),
        "VolumeOptions": pointer(m.get("VolumeOptions"), |o| json!({
            "NoCopy": flag(o, "NoCopy"),
            "Labels": map_of(o.get("Labels"), same),
            "DriverConfig": pointer(o.get("DriverConfig"), |d| json!({
                "Name": text(d, "Name"),
                "Options": map_of(d.get("Options"), same),
            })),
            "Subpath": text(o, "Subpath"),
        })),
        "ImageOptions": pointer(m.get("ImageOptions"), |o| json!({
            "Subpath": text(o, "Subpath"),
        })),
        "TmpfsOptions": pointer(m.get("TmpfsOptions"), |o| json!({
            "SizeBytes": number(o, "SizeBytes"),
            "Mode": number(o, "Mode"),
            "Options": list_of(o.get("Options"), |e| list_of(Some(e), same)),
        })),
        "ClusterOptions": pointer(m.get("ClusterOptions"), |_| json!({})),
    })
}

fn sdk_mount(m: &Mount) -> Value {
    json!({
        "Type": m.kind,
        "Source": m.source,
        "Target": m.target,
        "ReadOnly": m.read_only,
        "Consistency": m.consistency,
        "BindOptions": m.bind_options.as_ref().map(|o| json!({
            "Propagation": o.propagation,
            "NonRecursive": o.non_recursive,
            "CreateMountpoint": o.create_mountpoint,
            "ReadOnlyNonRecursive": o.read_only_non_recursive,
            "ReadOnlyForceRecursive": o.read_only_force_recursive,
        })),
        "VolumeOptions": m.volume_options.as_ref().map(|o| json!({
            "NoCopy": o.no_copy,
            "Labels": o.labels,
            "DriverConfig": o.driver_config.as_ref().map(|d| json!({
                "Name": d.name,
                "Options": d.options,
            })),
            "Subpath": o.subpath,
        })),
        "ImageOptions": m.image_options.as_ref().map(|o| json!({
            "Subpath": o.subpath,
        })),
        "TmpfsOptions": m.tmpfs_options.as_ref().map(|o| json!({
            "SizeBytes": o.size_bytes,
            "Mode": o.mode,
            "Options": o.options,
        })),
        "ClusterOptions": m.cluster_options.map(|_| json!({})),
    })
}

/// The SDK's `Mounts` without the members `version` does not decode (Go
/// skips a key its struct lacks): the SDK reads every member any daemon
/// knows, so an older daemon records less.
fn mounts_known_to(sdk: &Value, version: Version, api: &str) -> Value {
    // `BindOptions.CreateMountpoint` (API 1.42): 20.10 does not know it,
    // 26.1 and 28.5 reset it for older API versions.
    let create_mountpoint = version == Version::V20_10 || api_below(api, "1.42");
    let unknown: &[(&str, &str)] = match version {
        Version::V20_10 => &[
            ("BindOptions", "ReadOnlyNonRecursive"),
            ("BindOptions", "ReadOnlyForceRecursive"),
            ("VolumeOptions", "Subpath"),
            ("TmpfsOptions", "Options"),
            ("", "ImageOptions"),
        ],
        Version::V26_1 => &[("TmpfsOptions", "Options"), ("", "ImageOptions")],
        Version::V28_5 => &[],
    };
    let mut mounts = sdk.clone();
    for mount in mounts.as_array_mut().into_iter().flatten() {
        let reset = create_mountpoint.then_some(&("BindOptions", "CreateMountpoint"));
        for (parent, member) in unknown.iter().chain(reset) {
            let (zero, place) = match (*parent, mount.get_mut(*parent)) {
                ("", _) => (Value::Null, Some(&mut *mount)),
                (_, Some(Value::Object(_))) => (json!(""), mount.get_mut(*parent)),
                _ => continue,
            };
            if let Some(Value::Object(object)) = place
                && let Some(value) = object.get_mut(*member)
            {
                *value = match value {
                    Value::Bool(_) => json!(false),
                    Value::Array(_) => json!([]),
                    _ => zero,
                };
            }
        }
    }
    mounts
}

fn daemon_log_config(c: &Value) -> Value {
    json!({"Type": text(c, "Type"), "Config": map_of(c.get("Config"), same)})
}

fn daemon_device(d: &Value) -> Value {
    json!({
        "PathOnHost": text(d, "PathOnHost"),
        "PathInContainer": text(d, "PathInContainer"),
        "CgroupPermissions": text(d, "CgroupPermissions"),
    })
}

fn daemon_device_request(r: &Value) -> Value {
    json!({
        "Driver": text(r, "Driver"),
        "Count": number(r, "Count"),
        "DeviceIDs": list_of(r.get("DeviceIDs"), same),
        "Capabilities": list_of(r.get("Capabilities"), |c| list_of(Some(c), same)),
        "Options": map_of(r.get("Options"), same),
    })
}

fn daemon_port_bindings(bindings: &Value) -> Value {
    list_of(
        Some(bindings),
        |b| json!({"HostIp": text(b, "HostIp"), "HostPort": text(b, "HostPort")}),
    )
}

/// The daemon's value of `check`, canonical.
fn daemon_value(check: &Check, host_config: &Value) -> Value {
    let raw = host_config.get(check.go);
    match check.shape {
        Shape::Bool => json!(raw.and_then(Value::as_bool).unwrap_or(false)),
        Shape::Str => match raw {
            None | Some(Value::Null) => json!(""),
            Some(v) => v.clone(),
        },
        Shape::List(element) => list_of(raw, element),
        Shape::Map(value) => map_of(raw, value),
        Shape::Nullable => raw.cloned().unwrap_or(Value::Null),
        Shape::Object(project) => project(raw.unwrap_or(&Value::Null)),
    }
}

/// The SDK's value of `check`, canonical (empty lists and maps as `[]`/`{}`).
fn sdk_value(check: &Check, host_config: &HostConfig) -> Value {
    let value = (check.sdk)(host_config);
    match (check.shape, value) {
        (Shape::List(_), Value::Null) => json!([]),
        (Shape::Map(_), Value::Null) => json!({}),
        (_, value) => value,
    }
}

/// The daemon's canonical value of field `go` in an inspect `HostConfig`
/// (`None` for a field not in the table).
pub fn recorded(go: &str, host_config: &Value) -> Option<Value> {
    CHECKS
        .iter()
        .find(|c| c.go == go)
        .map(|check| daemon_value(check, host_config))
}

/// Whether `api` is an explicit version below `than`.
fn api_below(api: &str, than: &str) -> bool {
    let parse = |v: &str| -> (u32, u32) {
        let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
        (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
    };
    !api.is_empty() && parse(api) < parse(than)
}

/// The values the daemon may record for what the SDK reported (see the
/// module docs' table): the SDK's value itself unless a normalisation applies.
fn accepted(check: &Check, sdk: &Value, host_config: &HostConfig, ctx: &Ctx<'_>) -> Vec<Value> {
    let d = ctx.defaults;
    let create = ctx.endpoint == Endpoint::Create;
    let empty = sdk.as_str() == Some("") || sdk.is_null();
    match check.go {
        "NetworkMode" if empty => match (create, ctx.version) {
            (false, Version::V20_10) => vec![json!("default")],
            _ => vec![d.network_mode.clone()],
        },
        "IpcMode" if empty => {
            if create && api_below(ctx.api, "1.40") {
                match ctx.version {
                    Version::V26_1 | Version::V28_5 => vec![json!("shareable")],
                    Version::V20_10 => vec![json!("shareable"), d.ipc_mode.clone()],
                }
            } else {
                vec![d.ipc_mode.clone()]
            }
        }
        "CgroupnsMode" if empty => vec![d.cgroupns_mode.clone()],
        "Runtime" if empty => match (create, ctx.version) {
            (true, Version::V20_10) => vec![d.runtime.clone(), json!("")],
            _ => vec![d.runtime.clone()],
        },
        "SecurityOpt"
            if sdk.as_array().is_some_and(Vec::is_empty)
                && (host_config.privileged
                    || host_config.pid_mode == "host"
                    || host_config.ipc_mode == "host") =>
        {
            vec![json!([]), json!(["label=disable"])]
        }
        "Mounts" => vec![mounts_known_to(sdk, ctx.version, ctx.api)],
        "LogConfig" if sdk["Type"] == "" => {
            let mut filled = sdk.clone();
            filled["Type"] = d.log_type.clone();
            if create {
                vec![filled]
            } else {
                vec![filled, sdk.clone()]
            }
        }
        "MaskedPaths" | "ReadonlyPaths" if sdk.is_null() => {
            if !create || host_config.privileged {
                vec![Value::Null]
            } else if check.go == "MaskedPaths" {
                vec![d.masked_paths.clone()]
            } else {
                vec![d.readonly_paths.clone()]
            }
        }
        _ => vec![sdk.clone()],
    }
}

/// Compares the SDK's effective `HostConfig` with the daemon's inspect
/// `HostConfig`; returns how many fields were compared and what differs.
pub fn host_config(sdk: &HostConfig, daemon: &Value, ctx: &Ctx<'_>) -> (usize, Vec<Mismatch>) {
    let mut mismatches = Vec::new();
    for check in CHECKS {
        let sdk_v = sdk_value(check, sdk);
        let daemon_v = daemon_value(check, daemon);
        if !accepted(check, &sdk_v, sdk, ctx).contains(&daemon_v) {
            mismatches.push(Mismatch {
                field: format!("HostConfig.{}", check.go),
                sdk: sdk_v.to_string(),
                daemon: daemon_v.to_string(),
            });
        }
    }
    (CHECKS.len(), mismatches)
}

/// A start whose body selects no HostConfig (SDK `None`): the daemon must
/// have kept exactly what it recorded at create.
pub fn unchanged(before: &Value, after: &Value) -> (usize, Vec<Mismatch>) {
    let mut mismatches = Vec::new();
    for check in CHECKS {
        let (b, a) = (daemon_value(check, before), daemon_value(check, after));
        if a != b {
            mismatches.push(Mismatch {
                field: format!("HostConfig.{}", check.go),
                sdk: format!("None (keep {b})"),
                daemon: a.to_string(),
            });
        }
    }
    (CHECKS.len(), mismatches)
}

/// Compares `req.mounts()` (binds and volumes) with the daemon's mount
/// points (inspect `Mounts`): kind, source (host path, or volume name),
/// target, read-only and a bind's propagation. Tmpfs, devices and `VolumesFrom` entries are not
/// mount points of their own there and are left out on both sides.
///
/// The SDK also lists the host path a `local` volume with `o=bind` binds
/// (origin `….device`, beside the volume itself); the daemon has no mount
/// point for it, so it is checked against the options the daemon recorded
/// for that volume instead (`volume_options`: name → `GET /volumes/{name}`
/// `Options`).
pub fn mount_points(
    sdk: &[MountInfo],
    inspect: &Value,
    volume_options: &BTreeMap<String, Value>,
) -> Option<Mismatch> {
    let points = inspect["Mounts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut sdk_points: Vec<String> = Vec::new();
    for derived in sdk.iter().filter(|m| m.origin.ends_with(".device")) {
        let volume = points.iter().find(|p| {
            p["Type"] == "volume" && p["Destination"].as_str() == Some(derived.target.as_str())
        });
        let options = volume
            .and_then(|v| v["Name"].as_str())
            .and_then(|name| volume_options.get(name));
        let binds = options.is_some_and(|o| {
            o["device"].as_str() == Some(derived.source.as_str())
                && o["o"]
                    .as_str()
                    .is_some_and(|o| o.split(',').any(|o| o == "bind"))
        });
        if !binds {
            return Some(Mismatch {
                field: "mounts()".into(),
                sdk: format!(
                    "{}: bind {} -> {}",
                    derived.origin, derived.source, derived.target
                ),
                daemon: format!("volume options {}", options.cloned().unwrap_or_default()),
            });
        }
    }
    sdk_points.extend(
        sdk.iter()
            .filter(|m| !m.origin.ends_with(".device"))
            .filter_map(|m| {
                let kind = match m.kind {
                    MountKind::Bind => "bind",
                    MountKind::Volume => "volume",
                    _ => return None,
                };
                let mode = if m.read_only { "ro" } else { "rw" };
                // A bind's propagation, `rprivate` by default.
                let propagation = match m.kind {
                    MountKind::Bind => m.propagation.as_deref().unwrap_or("rprivate"),
                    _ => "",
                };
                Some(format!(
                    "{kind} {} -> {} {mode} {propagation}",
                    m.source, m.target
                ))
            }),
    );
    let mut daemon_points: Vec<String> = points
        .iter()
        .filter_map(|m| {
            let kind = m["Type"].as_str()?;
            let source = match kind {
                "bind" => m["Source"].as_str()?,
                "volume" => m["Name"].as_str()?,
                _ => return None,
            };
            let mode = if m["RW"].as_bool() == Some(false) {
                "ro"
            } else {
                "rw"
            };
            let propagation = match (kind, m["Propagation"].as_str()) {
                ("bind", None | Some("")) => "rprivate",
                ("bind", Some(p)) => p,
                _ => "",
            };
            Some(format!(
                "{kind} {source} -> {} {mode} {propagation}",
                m["Destination"].as_str()?
            ))
        })
        .collect();
    // A bind that names no propagation and holds the daemon's data root
    // gets `rslave` from the daemon (`validateBindDaemonRoot`), so that the
    // daemon's own unmounts reach it.
    for point in &mut daemon_points {
        if let Some(default) = point
            .strip_suffix(" rslave")
            .map(|head| format!("{head} rprivate"))
            && sdk_points.contains(&default)
            && !sdk_points.contains(point)
        {
            *point = default;
        }
    }
    sdk_points.sort();
    daemon_points.sort();
    (sdk_points != daemon_points).then(|| Mismatch {
        field: "mounts()".into(),
        sdk: format!("{sdk_points:?}"),
        daemon: format!("{daemon_points:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults::from_inspect(&json!({
            "NetworkMode": "default", "IpcMode": "private", "CgroupnsMode": "host",
            "Runtime": "runc", "MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": ["/proc/sys"],
            "LogConfig": {"Type": "json-file", "Config": {}},
        }))
    }

    fn ctx(defaults: &Defaults) -> Ctx<'_> {
        Ctx {
            version: Version::V20_10,
            api: "1.41",
            endpoint: Endpoint::Create,
            defaults,
        }
    }

    #[test]
    fn an_empty_masked_paths_list_is_never_the_default() {
        let d = defaults();
        let sdk = HostConfig::default(); // MaskedPaths: None
        let daemon = json!({"MaskedPaths": [], "ReadonlyPaths": ["/proc/sys"], "NetworkMode": "default",
            "IpcMode": "private", "CgroupnsMode": "host", "Runtime": "runc", "LogConfig": {"Type": "json-file"}});
        let (_, mismatches) = host_config(&sdk, &daemon, &ctx(&d));
        assert_eq!(mismatches.len(), 1, "{mismatches:?}");
        assert_eq!(mismatches[0].field, "HostConfig.MaskedPaths");
    }

    #[test]
    fn a_default_host_config_matches_the_daemon_defaults() {
        let d = defaults();
        let daemon = json!({"MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": ["/proc/sys"], "NetworkMode": "default",
            "IpcMode": "private", "CgroupnsMode": "host", "Runtime": "runc", "Binds": null, "Init": null,
            "LogConfig": {"Type": "json-file", "Config": null}});
        let (count, mismatches) = host_config(&HostConfig::default(), &daemon, &ctx(&d));
        assert!(mismatches.is_empty(), "{mismatches:?}");
        assert_eq!(count, CHECKS.len());
    }

    #[test]
    fn tmpfs_flags_start_from_the_daemon_defaults_and_later_entries_win() {
        assert_eq!(tmpfs_flags(&[]), "rw,nosuid,nodev,noexec");
        assert_eq!(tmpfs_flags(&["rw", "exec", "suid"]), "rw,nodev");
        assert_eq!(
            tmpfs_flags(&["exec", "noexec", "ro", "size=1m"]),
            "ro,nosuid,nodev,noexec"
        );
        assert_eq!(seen_flags("rw,nosuid,nodev,relatime"), "rw,nosuid,nodev");
    }

    #[test]
    fn subpaths_are_local_as_go_says() {
        for local in ["bin", "a/b", ".", "a/../b", "a/"] {
            assert!(is_local(local), "{local}");
        }
        for not in ["", "/bin", "..", "../x", "a/../..", "a/../../b"] {
            assert!(!is_local(not), "{not}");
        }
    }

    #[test]
    fn cgroup_mounts_are_found_writable_or_not() {
        let v1 = "1 0 0:1 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw\n\
                  2 1 0:2 / /sys/fs/cgroup/cpu ro,nosuid - cgroup cgroup rw,cpu";
        assert!(!writable_cgroups(v1));
        assert!(writable_cgroups(
            "2 1 0:2 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu"
        ));
        assert!(writable_cgroups(
            "2 1 0:2 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
        ));
        assert!(!writable_cgroups(
            "2 1 0:2 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw"
        ));
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(api_below("1.9", "1.40"));
        assert!(api_below("1.39", "1.40"));
        assert!(!api_below("1.40", "1.40"));
        assert!(!api_below("", "1.40"));
    }
}

/// What a daemon did with a `volume create` body and a container that
/// mounts the volume.
#[derive(Debug, Clone, Default)]
pub struct VolumeSeen {
    /// The create's error (`None`: created).
    pub refused: Option<String>,
    /// `Driver` and `Options` the daemon recorded (`GET /volumes/{name}`).
    pub driver: String,
    pub options: Value,
    /// The start's error (`None`: the container ran with the volume).
    pub start_error: Option<String>,
    /// What was mounted at the volume's `Mountpoint` while it ran
    /// (`None`: nothing, a plain directory).
    pub mounted: Option<SeenMount>,
}

/// One mount as the kernel reports it.
#[derive(Debug, Clone, Default)]
pub struct SeenMount {
    /// The filesystem type (`/proc/self/mountinfo`).
    pub fstype: String,
    /// Whether the mount point is the very inode of `/tmp` (the corpus's
    /// bind device): a bind of it.
    pub is_tmp: bool,
}

/// What a `local` volume's options mount, in one word for comparing:
/// `directory`, `bind /tmp`, `fs debugfs`, `refused`, `no device`.
fn predicted_mount(local: &Result<LocalMount<'_>, LocalOptionsError>) -> String {
    match local {
        Ok(LocalMount::Directory) => "directory".into(),
        Ok(LocalMount::Bind { device, .. }) => format!("bind {device}"),
        Ok(LocalMount::Filesystem { kind, .. }) => format!("fs {kind}"),
        Err(LocalOptionsError::NoDevice) => "no device".into(),
        Err(e) => format!("refused ({e})"),
    }
}

/// What the daemon did, in the same words (`mount failed` when the kernel
/// or the daemon refused the mount at start).
fn seen_mount(seen: &VolumeSeen) -> String {
    if let Some(e) = &seen.refused {
        return format!("refused ({e})");
    }
    if let Some(e) = &seen.start_error {
        return if e.contains("missing device") {
            "no device".into()
        } else {
            format!("mount failed ({e})")
        };
    }
    match &seen.mounted {
        None => "directory".into(),
        Some(m) if m.is_tmp => "bind /tmp".into(),
        Some(m) => format!("fs {}", m.fstype),
    }
}

/// Whether the prediction and the daemon's deed agree. A mount the kernel
/// refused agrees with a predicted mount (the SDK cannot know which words
/// each filesystem accepts), never with a directory or a refusal.
fn agrees(predicted: &str, seen: &str) -> bool {
    let word = |s: &str| s.split(" (").next().unwrap_or("").to_owned();
    if seen.starts_with("mount failed") {
        return predicted.starts_with("bind ") || predicted.starts_with("fs ");
    }
    if predicted.starts_with("refused") || seen.starts_with("refused") {
        return predicted.starts_with("refused") && seen.starts_with("refused");
    }
    word(predicted) == word(seen)
}

/// The SDK's view of a `volume create` (its body, what [`LocalMount`]
/// says the `local` driver mounts, and the host path `mounts()` lists for
/// a bind) against what the daemon recorded and mounted.
pub fn volume(
    sdk: &VolumeCreate,
    mounts: &[MountInfo],
    daemon: &VolumeSeen,
) -> (usize, Vec<Mismatch>) {
    let mut mismatches = Vec::new();
    let local = LocalMount::of(&sdk.driver_opts);
    let (predicted, seen) = (predicted_mount(&local), seen_mount(daemon));
    if !agrees(&predicted, &seen) {
        mismatches.push(Mismatch {
            field: "LocalMount::of(DriverOpts)".into(),
            sdk: predicted.clone(),
            daemon: seen,
        });
    }
    let listed = mounts
        .iter()
        .find(|m| m.origin == "VolumeCreate.device")
        .map(|m| format!("bind {}", m.source));
    let expected = predicted.starts_with("bind ").then_some(predicted);
    if listed != expected {
        mismatches.push(Mismatch {
            field: "mounts() bind of the device".into(),
            sdk: format!("{listed:?}"),
            daemon: format!("{expected:?} (what the volume mounts)"),
        });
    }
    if daemon.refused.is_none() {
        let recorded = map_of(Some(&daemon.options), same);
        if recorded != json!(sdk.driver_opts) {
            mismatches.push(Mismatch {
                field: "VolumeCreate.DriverOpts".into(),
                sdk: json!(sdk.driver_opts).to_string(),
                daemon: recorded.to_string(),
            });
        }
        let driver = if sdk.driver.is_empty() {
            "local"
        } else {
            &sdk.driver
        };
        if daemon.driver != driver {
            mismatches.push(Mismatch {
                field: "VolumeCreate.Driver".into(),
                sdk: driver.into(),
                daemon: daemon.driver.clone(),
            });
        }
    }
    (4, mismatches)
}

/// The control for volumes: a decoder that trims each `o` entry (as
/// Portcullis did) and folds its case. Whether it disagrees with what the
/// daemon did.
pub fn naive_volume_disagrees(sdk: &VolumeCreate, daemon: &VolumeSeen) -> bool {
    let local = LocalMount::of(&sdk.driver_opts);
    let naive = match (&local, sdk.driver_opts.get("o")) {
        (Ok(LocalMount::Filesystem { device, .. }), Some(o))
            if o.split(',')
                .map(|f| f.trim().to_ascii_lowercase())
                .any(|f| f == "bind" || f == "rbind") =>
        {
            format!("bind {device}")
        }
        _ => predicted_mount(&local),
    };
    !agrees(&naive, &seen_mount(daemon))
}

/// What a daemon did with a container created from a `Run` case.
#[derive(Debug, Clone, Default)]
pub struct RunSeen {
    /// The create's error (`None`: created).
    pub refused: Option<String>,
    /// The start's error (`None`: it ran).
    pub start_error: Option<String>,
    /// `/proc/PID/status` of the running container.
    pub status: String,
    /// `/proc/PID/mountinfo` of the running container.
    pub mountinfo: String,
}

/// What the SDK's parsers say a container's option strings do on `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunPrediction {
    /// Why the daemon refuses the create, if it does.
    refused: Option<String>,
    /// Why the start fails, if it does.
    start_fails: Option<String>,
    /// `Seccomp:` of `/proc/PID/status` (`0` unconfined, `2` a filter).
    seccomp: &'static str,
    /// `NoNewPrivs:`.
    no_new_privs: &'static str,
    /// The per-mount flags of `/x` (`ro|rw`, `nosuid`, `nodev`, `noexec`), if mounted.
    tmpfs_flags: Option<String>,
    /// Whether `/x` is an image mount.
    image: bool,
    /// Whether `/sys/fs/cgroup` is writable.
    writable_cgroups: bool,
}

/// The flags a tmpfs gets from the daemon's defaults and `entries`, the
/// later of two opposite flags winning (moby `MergeTmpfsOptions`).
fn tmpfs_flags(entries: &[&str]) -> String {
    let mut on = BTreeMap::from([
        ("ro", false),
        ("nosuid", true),
        ("nodev", true),
        ("noexec", true),
    ]);
    for entry in entries {
        let (flag, set) = match *entry {
            "ro" => ("ro", true),
            "rw" => ("ro", false),
            "suid" => ("nosuid", false),
            "nosuid" => ("nosuid", true),
            "dev" => ("nodev", false),
            "nodev" => ("nodev", true),
            "exec" => ("noexec", false),
            "noexec" => ("noexec", true),
            _ => continue,
        };
        on.insert(flag, set);
    }
    let mut flags = vec![if on["ro"] { "ro" } else { "rw" }];
    flags.extend(["nosuid", "nodev", "noexec"].into_iter().filter(|f| on[f]));
    flags.join(",")
}

/// The same flags, read from a `mountinfo` line's per-mount options.
fn seen_flags(options: &str) -> String {
    let has = |f: &str| options.split(',').any(|o| o == f);
    let mut flags = vec![if has("ro") { "ro" } else { "rw" }];
    flags.extend(["nosuid", "nodev", "noexec"].into_iter().filter(|f| has(f)));
    flags.join(",")
}

/// The mount at `target` in a `mountinfo` text: (fstype, per-mount options).
fn mount_at<'a>(mountinfo: &'a str, target: &str) -> Option<(&'a str, &'a str)> {
    mountinfo.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        if fields.get(4) != Some(&target) {
            return None;
        }
        Some((*fields.get(dash + 1)?, *fields.get(5)?))
    })
}

/// Whether a cgroup filesystem (v1 hierarchies under `/sys/fs/cgroup/`,
/// or v2 at `/sys/fs/cgroup`) is mounted read-write.
fn writable_cgroups(mountinfo: &str) -> bool {
    mountinfo.lines().any(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            return false;
        };
        let point = fields.get(4).copied().unwrap_or("");
        let under = point == "/sys/fs/cgroup" || point.starts_with("/sys/fs/cgroup/");
        let cgroup = matches!(fields.get(dash + 1), Some(&"cgroup" | &"cgroup2"));
        under
            && cgroup
            && fields
                .get(5)
                .is_some_and(|o| o.split(',').any(|o| o == "rw"))
    })
}

/// Go's `filepath.IsLocal` (Unix): what dockerd 26.1+ requires of a
/// `Subpath`.
fn is_local(path: &str) -> bool {
    if path.is_empty() || path.starts_with('/') {
        return false;
    }
    let mut depth = 0i32;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn status_field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map_or("", str::trim)
}

/// What the SDK's parsers predict; `naive`: with every option string
/// trimmed and lower-cased first (the control).
fn predict_run(create: &ContainerCreate, version: Version, naive: bool) -> RunPrediction {
    let host = &create.host_config;
    let mut p = RunPrediction {
        refused: None,
        start_fails: None,
        seccomp: "2",
        no_new_privs: "0",
        tmpfs_flags: None,
        image: false,
        writable_cgroups: false,
    };
    for option in &host.security_opt {
        let folded;
        let option = if naive {
            folded = option.trim().to_ascii_lowercase();
            folded.as_str()
        } else {
            option.as_str()
        };
        match SecurityOpt::parse(option) {
            Err(e) => p.refused = Some(e.to_string()),
            Ok(parsed) if parsed.needs_28() && version != Version::V28_5 => {
                p.refused = Some(format!(
                    "{option} is newer than dockerd {}",
                    version.label()
                ));
            }
            Ok(SecurityOpt::Seccomp(profile)) => {
                p.seccomp = if profile == "unconfined" { "0" } else { "2" };
                if profile == "builtin" && version == Version::V20_10 {
                    p.start_fails = Some("20.10 reads `builtin` as a profile's JSON".into());
                }
            }
            Ok(SecurityOpt::NoNewPrivileges(on)) => p.no_new_privs = if on { "1" } else { "0" },
            Ok(SecurityOpt::WritableCgroups(on)) => p.writable_cgroups = on,
            Ok(_) => {}
        }
    }
    if let Some(options) = host.tmpfs.get("/x") {
        let folded = options.to_ascii_lowercase();
        let entries: Result<Vec<&str>, String> = if naive {
            Ok(folded
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .collect())
        } else {
            tmpfs_entries(options).map_err(|e| e.to_string())
        };
        match entries {
            Err(e) => p.start_fails = Some(e),
            Ok(entries) if entries.iter().any(|e| matches!(*e, "bind" | "rbind")) => {
                p.start_fails = Some("bind of a host path named tmpfs".into());
            }
            Ok(entries) => p.tmpfs_flags = Some(tmpfs_flags(&entries)),
        }
    }
    for mount in &host.mounts {
        match mount.kind.as_str() {
            "tmpfs" => {
                let mut entries: Vec<&str> = Vec::new();
                if mount.read_only {
                    entries.push("ro");
                }
                let options = mount.tmpfs_options.as_ref().map(|o| o.options.as_slice());
                if version == Version::V28_5 {
                    for option in options.unwrap_or_default() {
                        match option.as_slice() {
                            [flag] if TMPFS_MOUNT_OPTIONS.contains(&flag.as_str()) => {
                                entries.push(flag);
                            }
                            _ => p.refused = Some(format!("invalid tmpfs option {option:?}")),
                        }
                    }
                }
                p.tmpfs_flags = Some(tmpfs_flags(&entries));
            }
            "image" if version != Version::V28_5 => {
                p.refused = Some(format!(
                    "mount type image is newer than dockerd {}",
                    version.label()
                ));
            }
            "image" => {
                let subpath = mount
                    .image_options
                    .as_ref()
                    .map_or("", |o| o.subpath.as_str());
                if !subpath.is_empty() && !is_local(subpath) {
                    p.refused = Some(format!("subpath {subpath:?} is not local"));
                }
                p.image = true;
            }
            _ => {}
        }
    }
    p
}

/// What the process shows, in the prediction's terms.
fn observed(daemon: &RunSeen) -> RunPrediction {
    let x = mount_at(&daemon.mountinfo, "/x");
    RunPrediction {
        refused: daemon.refused.clone(),
        start_fails: daemon.start_error.clone(),
        seccomp: match status_field(&daemon.status, "Seccomp:") {
            "0" => "0",
            "2" => "2",
            _ => "?",
        },
        no_new_privs: match status_field(&daemon.status, "NoNewPrivs:") {
            "1" => "1",
            "0" => "0",
            _ => "?",
        },
        tmpfs_flags: x
            .filter(|(fstype, _)| *fstype == "tmpfs")
            .map(|(_, options)| seen_flags(options)),
        image: x.is_some_and(|(fstype, _)| fstype != "tmpfs"),
        writable_cgroups: writable_cgroups(&daemon.mountinfo),
    }
}

/// The SDK's reading of a container's option strings (`SecurityOpt`,
/// `Tmpfs`, `Mounts[].TmpfsOptions.Options`, image mounts) against what
/// the daemon did: refused the create, failed the start, or ran a process
/// with this seccomp mode, no-new-privileges bit and these mounts.
pub fn run(create: &ContainerCreate, daemon: &RunSeen, version: Version) -> (usize, Vec<Mismatch>) {
    let sdk = predict_run(create, version, false);
    (6, run_mismatches(&sdk, &observed(daemon)))
}

/// The control for option strings: a decoder that trims and lower-cases
/// each entry.
pub fn naive_run_disagrees(create: &ContainerCreate, daemon: &RunSeen, version: Version) -> bool {
    !run_mismatches(&predict_run(create, version, true), &observed(daemon)).is_empty()
}

fn run_mismatches(sdk: &RunPrediction, daemon: &RunPrediction) -> Vec<Mismatch> {
    let outcome = |p: &RunPrediction| match (&p.refused, &p.start_fails) {
        (Some(_), _) => "create refused",
        (None, Some(_)) => "start fails",
        (None, None) => "runs",
    };
    let mut out = Vec::new();
    if outcome(sdk) != outcome(daemon) {
        // The kind of outcome is compared, not the wording of an error.
        out.push(Mismatch {
            field: "outcome".into(),
            sdk: format!("{} {:?} {:?}", outcome(sdk), sdk.refused, sdk.start_fails),
            daemon: format!(
                "{} {:?} {:?}",
                outcome(daemon),
                daemon.refused,
                daemon.start_fails
            ),
        });
    }
    if outcome(sdk) != "runs" || outcome(daemon) != "runs" {
        return out;
    }
    for (field, sdk, daemon) in [
        (
            "Seccomp (/proc/PID/status)",
            sdk.seccomp.to_owned(),
            daemon.seccomp.to_owned(),
        ),
        (
            "NoNewPrivs (/proc/PID/status)",
            sdk.no_new_privs.to_owned(),
            daemon.no_new_privs.to_owned(),
        ),
        (
            "tmpfs flags at /x",
            format!("{:?}", sdk.tmpfs_flags),
            format!("{:?}", daemon.tmpfs_flags),
        ),
        (
            "image mount at /x",
            sdk.image.to_string(),
            daemon.image.to_string(),
        ),
        (
            "writable /sys/fs/cgroup",
            sdk.writable_cgroups.to_string(),
            daemon.writable_cgroups.to_string(),
        ),
    ] {
        if sdk != daemon {
            out.push(Mismatch {
                field: field.into(),
                sdk,
                daemon,
            });
        }
    }
    out
}
