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
//!
//! `Some([])` for `MaskedPaths` is never the same as `None`: `[]` unmasks
//! `/proc`, `null` is the default list. Nothing else is normalised; the
//! defaults themselves are read from the daemon: a container created with
//! `"HostConfig":{}` at the daemon's own API version.

use std::collections::BTreeMap;

use portcullis_sdk::docker::{HostConfig, Mount};
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
        "BindOptions": pointer(m.get("BindOptions"), |o| json!({
            "Propagation": text(o, "Propagation"),
            "NonRecursive": flag(o, "NonRecursive"),
            "CreateMountpoint": flag(o, "CreateMountpoint"),
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
        "TmpfsOptions": pointer(m.get("TmpfsOptions"), |o| json!({
            "SizeBytes": number(o, "SizeBytes"),
            "Mode": number(o, "Mode"),
        })),
    })
}

fn sdk_mount(m: &Mount) -> Value {
    json!({
        "Type": m.kind,
        "Source": m.source,
        "Target": m.target,
        "ReadOnly": m.read_only,
        "BindOptions": m.bind_options.as_ref().map(|o| json!({
            "Propagation": o.propagation,
            "NonRecursive": o.non_recursive,
            "CreateMountpoint": o.create_mountpoint,
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
        "TmpfsOptions": m.tmpfs_options.as_ref().map(|o| json!({
            "SizeBytes": o.size_bytes,
            "Mode": o.mode,
        })),
    })
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
/// target and read-only. Tmpfs, devices and `VolumesFrom` entries are not
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
                Some(format!("{kind} {} -> {} {mode}", m.source, m.target))
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
            Some(format!(
                "{kind} {source} -> {} {mode}",
                m["Destination"].as_str()?
            ))
        })
        .collect();
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
            "IpcMode": "private", "CgroupnsMode": "host", "Runtime": "runc"});
        let (_, mismatches) = host_config(&sdk, &daemon, &ctx(&d));
        assert_eq!(mismatches.len(), 1, "{mismatches:?}");
        assert_eq!(mismatches[0].field, "HostConfig.MaskedPaths");
    }

    #[test]
    fn a_default_host_config_matches_the_daemon_defaults() {
        let d = defaults();
        let daemon = json!({"MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": ["/proc/sys"], "NetworkMode": "default",
            "IpcMode": "private", "CgroupnsMode": "host", "Runtime": "runc", "Binds": null, "Init": null});
        let (count, mismatches) = host_config(&HostConfig::default(), &daemon, &ctx(&d));
        assert!(mismatches.is_empty(), "{mismatches:?}");
        assert_eq!(count, CHECKS.len());
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(api_below("1.9", "1.40"));
        assert!(api_below("1.39", "1.40"));
        assert!(!api_below("1.40", "1.40"));
        assert!(!api_below("", "1.40"));
    }
}
