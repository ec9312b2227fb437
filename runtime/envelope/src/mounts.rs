//! Every host resource a container would get, in one list: binds (all the
//! `src:dst[:opts]` forms), `--mount` entries, `--volumes-from`, devices,
//! tmpfs and anonymous volumes, with host paths normalised and resolved by
//! the host (symlinks followed), so that `ln -s / x; docker run -v $PWD/x:/h`
//! shows `/` to every policy.
//!
//! The types are shared with guests; collecting and resolving is host-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What kind of thing is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named (or, with an empty source, anonymous) volume.
    Volume,
    /// A tmpfs: no host resource.
    Tmpfs,
    /// A host device node.
    Device,
    /// All volumes of another container (`--volumes-from`).
    VolumesFrom,
    /// A Windows named pipe.
    Npipe,
    /// A swarm cluster volume.
    Cluster,
    /// An image mounted as a volume.
    Image,
    /// A `--mount` type this version does not know: treat as dangerous.
    #[serde(other)]
    Unknown,
}

/// One mount, as the daemon will perform it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountInfo {
    /// What is mounted.
    pub kind: MountKind,
    /// Where in the request it came from (`Binds`, `Mounts`, `VolumesFrom`,
    /// `Devices`, `Tmpfs`, `Volumes`, `ContainerSpec.Mounts`).
    pub origin: String,
    /// The source as written: host path, volume name, container name (empty
    /// for anonymous volumes and tmpfs).
    pub source: String,
    /// Path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Host paths (bind, device): the source cleaned lexically (`/a/../b` → `/b`).
    #[serde(default)]
    pub normalized: Option<String>,
    /// Host paths: the source with every symlink followed, as the kernel will
    /// resolve it; for a path that does not exist yet, its deepest existing
    /// ancestor resolved plus the rest. `None` if it could not be resolved.
    #[serde(default)]
    pub resolved: Option<String>,
    /// Why a host path could not be resolved. Never silently skipped: a
    /// policy that allows only known paths must deny when this is set.
    #[serde(default)]
    pub resolve_error: Option<String>,
    /// Volumes: the driver that creates the volume if it does not exist
    /// yet (`""` is the built-in `local`), from `VolumeDriver`, a `--mount`'s
    /// `VolumeOptions.DriverConfig` or a `volume create` body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Volumes: the driver's options (`type`, `o`, `device` for `local`,
    /// which can mount any filesystem or host path).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_options: BTreeMap<String, String>,
    /// Binds: the mount propagation asked for (`rshared` lets mounts made
    /// in the container appear on the host); absent for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
}

impl MountInfo {
    /// Whether this mount exposes a host path (a bind or a device).
    pub fn is_host_path(&self) -> bool {
        matches!(self.kind, MountKind::Bind | MountKind::Device)
    }
}

#[cfg(feature = "host")]
pub use collect::{
    container_mounts, plugin_mounts, plugin_set_mounts, resolve_host_path, service_mounts,
    volume_mounts,
};

#[cfg(feature = "host")]
mod collect {
    use std::io;
    use std::path::{Component, Path, PathBuf};

    use std::collections::BTreeMap;

    use super::{MountInfo, MountKind};
    use crate::docker::volume::local_bind_device;
    use crate::docker::{HostConfig, Mount, PluginPrivilege, ServiceCreate, VolumeCreate};

    /// The mounts of a container create (or a pre-1.24 start body): `Binds`,
    /// `Mounts`, `VolumesFrom`, `Devices`, `Tmpfs` and the config's anonymous `Volumes`.
    pub fn container_mounts<'a>(
        host_config: &HostConfig,
        anonymous_volumes: impl IntoIterator<Item = &'a String>,
    ) -> Vec<MountInfo> {
        let volume_driver = &host_config.volume_driver;
        let mut mounts = Vec::new();
        for spec in &host_config.binds {
            let mut mount = bind_spec(spec);
            if mount.kind == MountKind::Volume {
                mount.driver = Some(volume_driver.clone());
            }
            mounts.push(mount);
        }
        for mount in &host_config.mounts {
            mounts.extend(mount_entry(mount, "Mounts"));
        }
        for spec in &host_config.volumes_from {
            let (source, mode) = spec.split_once(':').unwrap_or((spec, ""));
            mounts.push(plain(
                MountKind::VolumesFrom,
                "VolumesFrom",
                source,
                "",
                mode == "ro",
            ));
        }
        for device in &host_config.devices {
            let target = if device.path_in_container.is_empty() {
                &device.path_on_host
            } else {
                &device.path_in_container
            };
            let writable =
                device.cgroup_permissions.is_empty() || device.cgroup_permissions.contains('w');
            mounts.push(host_path(
                MountKind::Device,
                "Devices",
                &device.path_on_host,
                target,
                !writable,
            ));
        }
        for target in host_config.tmpfs.keys() {
            mounts.push(plain(MountKind::Tmpfs, "Tmpfs", "", target, false));
        }
        for target in anonymous_volumes {
            let mut mount = plain(MountKind::Volume, "Volumes", "", target, false);
            mount.driver = Some(volume_driver.clone());
            mounts.push(mount);
        }
        mounts
    }

    /// The mounts of a swarm service: its container spec's, and the host
    /// paths granted to the plugin a `plugin` runtime service installs.
    pub fn service_mounts(service: &ServiceCreate) -> Vec<MountInfo> {
        let task = &service.task_template;
        let mut mounts: Vec<MountInfo> = task
            .container_spec
            .mounts
            .iter()
            .flat_map(|m| mount_entry(m, "ContainerSpec.Mounts"))
            .collect();
        if let Some(plugin) = &task.plugin_spec {
            mounts.extend(plugin_mounts(&plugin.privileges));
        }
        mounts
    }

    /// The host paths `docker plugin set` points a plugin at: a mount's
    /// `source`, a device's `path`, and any absolute value set without a
    /// field (which names a mount's source when the name is a mount's).
    pub fn plugin_set_mounts(settings: &[String]) -> Vec<MountInfo> {
        let mut mounts = Vec::new();
        for setting in settings {
            let (name, value) = setting.split_once('=').unwrap_or((setting, ""));
            let field = name.rsplit_once('.').map_or("", |(_, field)| field);
            let kind = match field {
                "source" => MountKind::Bind,
                "path" => MountKind::Device,
                "" if value.starts_with('/') => MountKind::Bind,
                _ => continue,
            };
            mounts.push(host_path(kind, "PluginSettings", value, "", false));
        }
        mounts
    }

    /// The host paths a managed plugin's privileges grant: each `mount`
    /// value is a bind, each `device` value a device.
    pub fn plugin_mounts(privileges: &[PluginPrivilege]) -> Vec<MountInfo> {
        let mut mounts = Vec::new();
        for privilege in privileges {
            let kind = match privilege.name.as_str() {
                "mount" => MountKind::Bind,
                "device" => MountKind::Device,
                _ => continue,
            };
            for path in &privilege.value {
                mounts.push(host_path(kind, "PluginPrivileges", path, "", false));
            }
        }
        mounts
    }

    /// The volume a `volume create` body makes, and the host path it binds
    /// if it is a `local` volume with `o=bind`.
    pub fn volume_mounts(volume: &VolumeCreate) -> Vec<MountInfo> {
        volume_with_driver(
            "VolumeCreate",
            &volume.name,
            "",
            &volume.driver,
            &volume.driver_opts,
        )
    }

    /// A volume created by `driver` with `options`, followed by the bind
    /// mount it amounts to when it is a `local` volume with `o=bind`.
    fn volume_with_driver(
        origin: &str,
        source: &str,
        target: &str,
        driver: &str,
        options: &BTreeMap<String, String>,
    ) -> Vec<MountInfo> {
        let mut volume = plain(MountKind::Volume, origin, source, target, false);
        volume.driver = Some(driver.to_owned());
        volume.driver_options = options.clone();
        let mut mounts = vec![volume];
        if let Some(device) = local_bind_device(driver, options) {
            mounts.push(host_path(
                MountKind::Bind,
                &format!("{origin}.device"),
                device,
                target,
                false,
            ));
        }
        mounts
    }

    /// A `Binds` entry, parsed as Docker's Linux parser does: `dst`,
    /// `dst:mode`, `src:dst` or `src:dst:mode`; an absolute `src` is a host
    /// path, anything else a volume name.
    fn bind_spec(spec: &str) -> MountInfo {
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => ("", *target, ""),
            [target, mode] if is_mode(mode) => ("", *target, *mode),
            [source, target] => (*source, *target, ""),
            [source, target, mode] => (*source, *target, *mode),
            // Docker refuses these; describe them as unknown so policies deny.
            _ => return plain(MountKind::Unknown, "Binds", spec, "", false),
        };
        let read_only = mode.split(',').any(|m| m == "ro");
        if source.starts_with('/') {
            let mut bind = host_path(MountKind::Bind, "Binds", source, target, read_only);
            bind.propagation = mode
                .split(',')
                .find(|m| PROPAGATIONS.contains(m))
                .map(str::to_owned);
            bind
        } else {
            plain(MountKind::Volume, "Binds", source, target, read_only)
        }
    }

    /// Docker's mount propagation modes.
    const PROPAGATIONS: [&str; 6] = [
        "shared", "rshared", "slave", "rslave", "private", "rprivate",
    ];

    fn is_mode(mode: &str) -> bool {
        mode.split(',').all(|m| {
            matches!(
                m,
                "ro" | "rw"
                    | "z"
                    | "Z"
                    | "nocopy"
                    | "shared"
                    | "rshared"
                    | "slave"
                    | "rslave"
                    | "private"
                    | "rprivate"
            )
        })
    }

    /// One `--mount` entry; a volume whose `DriverConfig` binds a host path
    /// also yields that bind.
    fn mount_entry(mount: &Mount, origin: &str) -> Vec<MountInfo> {
        let kind = match mount.kind.as_str() {
            "bind" => MountKind::Bind,
            "volume" => MountKind::Volume,
            "tmpfs" => MountKind::Tmpfs,
            "npipe" => MountKind::Npipe,
            "cluster" => MountKind::Cluster,
            "image" => MountKind::Image,
            _ => MountKind::Unknown,
        };
        match kind {
            MountKind::Bind => {
                let mut bind =
                    host_path(kind, origin, &mount.source, &mount.target, mount.read_only);
                bind.propagation = mount
                    .bind_options
                    .as_ref()
                    .map(|o| o.propagation.clone())
                    .filter(|p| !p.is_empty());
                vec![bind]
            }
            MountKind::Volume => {
                let driver = mount
                    .volume_options
                    .as_ref()
                    .and_then(|o| o.driver_config.as_ref());
                let empty = BTreeMap::new();
                let (name, options) =
                    driver.map_or(("", &empty), |d| (d.name.as_str(), &d.options));
                let mut mounts =
                    volume_with_driver(origin, &mount.source, &mount.target, name, options);
                mounts[0].read_only = mount.read_only;
                mounts
            }
            _ => vec![plain(
                kind,
                origin,
                &mount.source,
                &mount.target,
                mount.read_only,
            )],
        }
    }

    fn plain(
        kind: MountKind,
        origin: &str,
        source: &str,
        target: &str,
        read_only: bool,
    ) -> MountInfo {
        MountInfo {
            kind,
            origin: origin.to_owned(),
            source: source.to_owned(),
            target: target.to_owned(),
            read_only,
            normalized: None,
            resolved: None,
            resolve_error: None,
            driver: None,
            driver_options: BTreeMap::new(),
            propagation: None,
        }
    }

    fn host_path(
        kind: MountKind,
        origin: &str,
        source: &str,
        target: &str,
        read_only: bool,
    ) -> MountInfo {
        let mut info = plain(kind, origin, source, target, read_only);
        if !source.starts_with('/') {
            info.resolve_error = Some(format!("host path {source:?} is not absolute"));
            return info;
        }
        info.normalized = Some(clean(source));
        match resolve_host_path(Path::new(source)) {
            Ok(path) => info.resolved = Some(path.to_string_lossy().into_owned()),
            Err(e) => info.resolve_error = Some(format!("cannot resolve {source}: {e}")),
        }
        info
    }

    /// Lexically cleans an absolute path.
    fn clean(path: &str) -> String {
        let mut out: Vec<&str> = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                p => out.push(p),
            }
        }
        format!("/{}", out.join("/"))
    }

    /// Resolves `path` with every symlink followed. A path that does not exist
    /// yet (Docker creates missing bind sources) resolves through its deepest
    /// existing ancestor; the missing rest cannot hold symlinks. A symlink
    /// whose target does not exist (yet) resolves to that target: whoever
    /// creates it decides what the mount shows.
    pub fn resolve_host_path(path: &Path) -> io::Result<PathBuf> {
        resolve_within(path, 0)
    }

    /// Symlinks followed before giving up, as the kernel's `ELOOP`.
    const MAX_LINKS: usize = 40;

    fn resolve_within(path: &Path, links: usize) -> io::Result<PathBuf> {
        if links > MAX_LINKS {
            return Err(io::Error::other("too many levels of symbolic links"));
        }
        let mut existing = path.to_path_buf();
        let mut missing: Vec<Component<'_>> = Vec::new();
        let components: Vec<Component<'_>> = path.components().collect();
        let mut keep = components.len();
        loop {
            match kernel_resolve(&existing) {
                Ok(mut real) => {
                    for component in missing.iter().rev() {
                        match component {
                            Component::ParentDir => {
                                real.pop();
                            }
                            Component::Normal(name) => real.push(name),
                            _ => {}
                        }
                    }
                    return Ok(real);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && keep > 1 => {
                    if let Some(target) = dangling_target(&existing) {
                        let mut resolved = resolve_within(&target, links + 1)?;
                        for component in missing.iter().rev() {
                            match component {
                                Component::ParentDir => {
                                    resolved.pop();
                                }
                                Component::Normal(name) => resolved.push(name),
                                _ => {}
                            }
                        }
                        return Ok(resolved);
                    }
                    keep -= 1;
                    missing.push(components[keep]);
                    existing = components[..keep].iter().collect();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Where `path` points if it is a symlink whose target is missing
    /// (absolute, or relative to the link's directory).
    fn dangling_target(path: &Path) -> Option<PathBuf> {
        let metadata = std::fs::symlink_metadata(path).ok()?;
        if !metadata.file_type().is_symlink() {
            return None;
        }
        let target = std::fs::read_link(path).ok()?;
        Some(match path.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target,
        })
    }

    /// The path the kernel reaches from `path`, every symlink followed: one
    /// `open(O_PATH)` (the same walk `mount` will make) and a look at what
    /// the descriptor points to, rather than `realpath`'s `readlink` of
    /// every prefix. Without `/proc`, `realpath` it is.
    fn kernel_resolve(path: &Path) -> io::Result<PathBuf> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(path)?;
        match std::fs::read_link(format!("/proc/self/fd/{}", opened.as_raw_fd())) {
            Ok(real) if real.is_absolute() => Ok(real),
            _ => std::fs::canonicalize(path),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn hc(json: &str) -> HostConfig {
            serde_json::from_str(json).unwrap()
        }

        #[test]
        fn a_symlink_to_root_resolves_to_root() {
            let dir = tempfile::tempdir().unwrap();
            let link = dir.path().join("x");
            std::os::unix::fs::symlink("/", &link).unwrap();
            let mounts = container_mounts(
                &hc(&format!(r#"{{"Binds":["{}:/h"]}}"#, link.display())),
                [],
            );
            assert_eq!(mounts[0].kind, MountKind::Bind);
            assert_eq!(mounts[0].resolved.as_deref(), Some("/"));
            assert_eq!(
                mounts[0].normalized.as_deref(),
                Some(link.to_str().unwrap())
            );
        }

        #[test]
        fn every_bind_form_is_parsed() {
            let mounts = container_mounts(
                &hc(
                    r#"{"Binds":["/data","/cache:ro","named:/v","/etc:/host-etc:ro,rslave","/a/../etc//:/e"]}"#,
                ),
                [],
            );
            let summary: Vec<_> = mounts
                .iter()
                .map(|m| (m.kind, m.source.as_str(), m.target.as_str(), m.read_only))
                .collect();
            assert_eq!(
                summary,
                vec![
                    (MountKind::Volume, "", "/data", false),
                    (MountKind::Volume, "", "/cache", true),
                    (MountKind::Volume, "named", "/v", false),
                    (MountKind::Bind, "/etc", "/host-etc", true),
                    (MountKind::Bind, "/a/../etc//", "/e", false),
                ]
            );
            assert_eq!(mounts[4].normalized.as_deref(), Some("/etc"));
        }

        #[test]
        fn mounts_devices_volumes_from_and_tmpfs_join_the_list() {
            let mounts = container_mounts(
                &hc(
                    r#"{"Mounts":[{"Type":"bind","Source":"/var/run","Target":"/r"},{"Type":"volume","Source":"v","Target":"/v"},{"Type":"weird","Source":"s","Target":"/w"}],
                       "VolumesFrom":["other:ro"],"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/x","CgroupPermissions":"r"}],
                       "Tmpfs":{"/run":"size=1m"}}"#,
                ),
                [&"/anon".to_owned()],
            );
            let kinds: Vec<_> = mounts.iter().map(|m| m.kind).collect();
            assert_eq!(
                kinds,
                vec![
                    MountKind::Bind,
                    MountKind::Volume,
                    MountKind::Unknown,
                    MountKind::VolumesFrom,
                    MountKind::Device,
                    MountKind::Tmpfs,
                    MountKind::Volume
                ]
            );
            assert!(mounts[3].read_only && mounts[4].read_only);
            assert_eq!(mounts[4].resolved.as_deref(), Some("/dev/null"));
        }

        #[test]
        fn a_missing_path_resolves_through_its_existing_ancestor() {
            let dir = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink("/etc", dir.path().join("e")).unwrap();
            let missing = dir.path().join("e/not/yet/../there");
            assert_eq!(
                resolve_host_path(&missing).unwrap(),
                Path::new("/etc/not/there")
            );
        }

        #[test]
        fn a_dangling_symlink_resolves_to_its_target() {
            let dir = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink("/etc/not-yet/there", dir.path().join("d")).unwrap();
            std::os::unix::fs::symlink("d", dir.path().join("r")).unwrap();
            assert_eq!(
                resolve_host_path(&dir.path().join("d/x")).unwrap(),
                Path::new("/etc/not-yet/there/x")
            );
            assert_eq!(
                resolve_host_path(&dir.path().join("r")).unwrap(),
                Path::new("/etc/not-yet/there")
            );
        }

        #[test]
        fn a_symlink_loop_is_an_error_not_a_path() {
            let dir = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
            std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
            assert!(resolve_host_path(&dir.path().join("a/x")).is_err());
        }

        #[test]
        fn resolution_failures_are_reported() {
            let mounts = container_mounts(
                &hc(r#"{"Mounts":[{"Type":"bind","Source":"relative/p","Target":"/x"}]}"#),
                [],
            );
            assert!(mounts[0].resolved.is_none());
            assert!(
                mounts[0]
                    .resolve_error
                    .as_deref()
                    .unwrap()
                    .contains("not absolute")
            );
        }
    }
}
