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

/// What a host path is, once every symlink is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// A directory: whatever lies below it is mounted too.
    Directory,
    /// A regular file.
    File,
    /// A Unix socket: whatever daemon listens on it serves the container.
    Socket,
    /// A named pipe.
    Fifo,
    /// A character device node.
    CharDevice,
    /// A block device node.
    BlockDevice,
    /// Nothing there yet (Docker creates a directory for a `-v` bind).
    Missing,
    /// Anything else, or a type this version does not know: treat as unknown.
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
    /// which can mount any filesystem or host path: read them with
    /// [`LocalMount::of`](crate::docker::LocalMount::of), never by hand).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_options: BTreeMap<String, String>,
    /// Binds: the mount propagation asked for (`rshared` lets mounts made
    /// in the container appear on the host); absent for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Host paths: what the resolved source is; absent if it could not be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<FileType>,
    /// Binds of a directory: the Unix sockets bound below it (resolved host
    /// paths), as the kernel lists those of the host's network namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<String>,
    /// Binds of a directory: why its sockets could not be listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets_error: Option<String>,
}

impl MountInfo {
    /// Whether this mount exposes a host path (a bind or a device).
    pub fn is_host_path(&self) -> bool {
        matches!(self.kind, MountKind::Bind | MountKind::Device)
    }
}

#[cfg(feature = "host")]
pub use collect::{
    HostRoot, container_mounts, plugin_mounts, plugin_set_mounts, resolve_host_path,
    service_mounts, volume_mounts,
};

#[cfg(feature = "host")]
mod collect {
    mod sockets;

    use std::collections::BTreeMap;
    use std::ffi::OsString;
    use std::io;
    use std::os::fd::{AsRawFd as _, OwnedFd};
    use std::os::unix::ffi::OsStringExt as _;
    use std::path::{Component, Path, PathBuf};
    use std::sync::Arc;

    use rustix::fs::{self, Mode, OFlags, ResolveFlags};

    use super::{MountInfo, MountKind};
    use crate::docker::volume::local_bind_device;
    use crate::docker::{HostConfig, Mount, PluginPrivilege, ServiceCreate, VolumeCreate};

    /// The mounts of a container create (or a pre-1.24 start body): `Binds`,
    /// `Mounts`, `VolumesFrom`, `Devices`, `Tmpfs` and the config's anonymous `Volumes`.
    pub fn container_mounts<'a>(
        host_config: &HostConfig,
        anonymous_volumes: impl IntoIterator<Item = &'a String>,
        root: &HostRoot,
    ) -> Vec<MountInfo> {
        let volume_driver = &host_config.volume_driver;
        let mut mounts = Vec::new();
        for spec in &host_config.binds {
            let mut mount = bind_spec(spec, root);
            if mount.kind == MountKind::Volume {
                mount.driver = Some(volume_driver.clone());
            }
            mounts.push(mount);
        }
        for mount in &host_config.mounts {
            mounts.extend(mount_entry(mount, "Mounts", root));
        }
        for spec in &host_config.volumes_from {
            // moby's `ParseVolumesFrom`: the mode is a `,` list, read-only
            // when one entry is exactly `ro`.
            let (source, mode) = spec.split_once(':').unwrap_or((spec, ""));
            mounts.push(plain(
                MountKind::VolumesFrom,
                "VolumesFrom",
                source,
                "",
                mode.split(',').any(|m| m == "ro"),
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
                root,
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
    pub fn service_mounts(service: &ServiceCreate, root: &HostRoot) -> Vec<MountInfo> {
        let task = &service.task_template;
        let mut mounts: Vec<MountInfo> = task
            .container_spec
            .mounts
            .iter()
            .flat_map(|m| mount_entry(m, "ContainerSpec.Mounts", root))
            .collect();
        if let Some(plugin) = &task.plugin_spec {
            mounts.extend(plugin_mounts(&plugin.privileges, root));
        }
        mounts
    }

    /// The host paths `docker plugin set` points a plugin at: a mount's
    /// `source`, a device's `path`, and any absolute value set without a
    /// field (which names a mount's source when the name is a mount's).
    pub fn plugin_set_mounts(settings: &[String], root: &HostRoot) -> Vec<MountInfo> {
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
            mounts.push(host_path(root, kind, "PluginSettings", value, "", false));
        }
        mounts
    }

    /// The host paths a managed plugin's privileges grant: each `mount`
    /// value is a bind, each `device` value a device.
    pub fn plugin_mounts(privileges: &[PluginPrivilege], root: &HostRoot) -> Vec<MountInfo> {
        let mut mounts = Vec::new();
        for privilege in privileges {
            let kind = match privilege.name.as_str() {
                "mount" => MountKind::Bind,
                "device" => MountKind::Device,
                _ => continue,
            };
            for path in &privilege.value {
                mounts.push(host_path(root, kind, "PluginPrivileges", path, "", false));
            }
        }
        mounts
    }

    /// The volume a `volume create` body makes, and the host path it binds
    /// if it is a `local` volume with `o=bind`.
    pub fn volume_mounts(volume: &VolumeCreate, root: &HostRoot) -> Vec<MountInfo> {
        volume_with_driver(
            "VolumeCreate",
            &volume.name,
            "",
            &volume.driver,
            &volume.driver_opts,
            root,
        )
    }

    /// A volume created by `driver` with `options`, followed by the bind
    /// mount it amounts to when it is a `local` volume whose `o` holds the
    /// `bind` or `rbind` flag (as the daemon splits `o`: ` bind` is not one).
    fn volume_with_driver(
        origin: &str,
        source: &str,
        target: &str,
        driver: &str,
        options: &BTreeMap<String, String>,
        root: &HostRoot,
    ) -> Vec<MountInfo> {
        let mut volume = plain(MountKind::Volume, origin, source, target, false);
        volume.driver = Some(driver.to_owned());
        volume.driver_options = options.clone();
        let mut mounts = vec![volume];
        if let Some(device) = local_bind_device(driver, options) {
            mounts.push(host_path(
                root,
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
    fn bind_spec(spec: &str, root: &HostRoot) -> MountInfo {
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
            let mut bind = host_path(root, MountKind::Bind, "Binds", source, target, read_only);
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
    fn mount_entry(mount: &Mount, origin: &str, root: &HostRoot) -> Vec<MountInfo> {
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
                let mut bind = host_path(
                    root,
                    kind,
                    origin,
                    &mount.source,
                    &mount.target,
                    mount.read_only,
                );
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
                    volume_with_driver(origin, &mount.source, &mount.target, name, options, root);
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
            file_type: None,
            sockets: Vec::new(),
            sockets_error: None,
        }
    }

    fn host_path(
        root: &HostRoot,
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
        match root.resolve(Path::new(source)) {
            Ok(path) => {
                sockets::describe(root, &path, &mut info);
                info.resolved = Some(path.to_string_lossy().into_owned());
            }
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

    /// Resolves `path` on this process's own root (see [`HostRoot::resolve`]).
    pub fn resolve_host_path(path: &Path) -> io::Result<PathBuf> {
        HostRoot::native().resolve(path)
    }

    /// Where the host's filesystem is, as this process sees it: at `/` (a
    /// service on the host), or mounted under a directory, as a managed
    /// plugin sees the host's `/` at `/host` (`[plugin] host_root`). Bind
    /// sources are host paths, so they are resolved inside that root.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct HostRoot {
        /// Where the host's `/` is mounted (`None`: here).
        dir: Option<Arc<Path>>,
        /// The view misses filesystems the host mounted later.
        frozen: bool,
    }

    impl HostRoot {
        /// The host's `/` is this process's `/`.
        pub fn native() -> HostRoot {
            HostRoot::default()
        }

        /// The host's `/` is mounted at `dir`.
        pub fn under(dir: impl Into<PathBuf>) -> HostRoot {
            HostRoot {
                dir: Some(Arc::from(dir.into())),
                frozen: false,
            }
        }

        /// This view does not receive mounts the host makes later (no mount
        /// propagation), so a path missing from it may exist on the host,
        /// on a filesystem mounted since: resolving one is an error, not a
        /// path, and the policies refuse it.
        pub fn frozen(self) -> HostRoot {
            HostRoot {
                frozen: true,
                ..self
            }
        }

        /// The directory the host's `/` is at (`None`: here).
        pub fn dir(&self) -> Option<&Path> {
            self.dir.as_deref()
        }

        /// Resolves the host path `path` with every symlink followed, as the
        /// daemon's kernel will. A path that does not exist yet (Docker
        /// creates missing bind sources) resolves through its deepest
        /// existing ancestor; the missing rest cannot hold symlinks. A
        /// symlink whose target does not exist (yet) resolves to that
        /// target: whoever creates it decides what the mount shows.
        ///
        /// Under a root, the walk cannot leave it: `..` stops at the root
        /// and absolute symlinks start from it (`openat2`'s
        /// `RESOLVE_IN_ROOT`), so `/srv/link -> /` resolves to the host's
        /// `/`, reported as `/`. Magic links (`/proc/PID/root`) are refused
        /// there, since they lead out of the root. In a [`frozen`](Self::frozen)
        /// view a missing path is an error.
        pub fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
            self.resolve_within(path, 0)
        }

        fn resolve_within(&self, path: &Path, links: usize) -> io::Result<PathBuf> {
            if links > MAX_LINKS {
                return Err(io::Error::other("too many levels of symbolic links"));
            }
            let components: Vec<Component<'_>> = path.components().collect();
            let mut keep = components.len();
            let mut existing = path.to_path_buf();
            loop {
                let found = match self.open(&existing, true) {
                    Ok(opened) => Some(self.path_of(&opened, &existing)?),
                    Err(e) if e.kind() == io::ErrorKind::NotFound && self.frozen => {
                        return Err(io::Error::new(
                            e.kind(),
                            "not in Portcullis' view of the host, which misses filesystems mounted after it started (host_root without mount propagation)",
                        ));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound && keep > 1 => {
                        match self.dangling_target(&existing) {
                            Some(target) => Some(self.resolve_within(&target, links + 1)?),
                            None => None,
                        }
                    }
                    Err(e) => return Err(e),
                };
                if let Some(mut real) = found {
                    for component in &components[keep..] {
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
                keep -= 1;
                existing = components[..keep].iter().collect();
            }
        }

        /// One `open(O_PATH)` of `path`: the same walk `mount` will make.
        fn open(&self, path: &Path, follow: bool) -> io::Result<OwnedFd> {
            let mut flags = OFlags::PATH | OFlags::CLOEXEC;
            if !follow {
                flags |= OFlags::NOFOLLOW;
            }
            let opened = match &self.dir {
                None => fs::open(path, flags, Mode::empty()),
                Some(root) => {
                    let root = fs::open(
                        &**root,
                        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    fs::openat2(
                        &root,
                        path,
                        flags,
                        Mode::empty(),
                        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
                    )
                }
            };
            Ok(opened?)
        }

        /// The host path `opened` reached: what `/proc/self/fd` says it
        /// points to, rather than `realpath`'s `readlink` of every prefix;
        /// under a root, with the root taken off. Without `/proc`, on the
        /// process's own root, `realpath` it is.
        fn path_of(&self, opened: &OwnedFd, path: &Path) -> io::Result<PathBuf> {
            let real = fd_path(opened);
            let Some(root) = &self.dir else {
                return match real {
                    Ok(real) => Ok(real),
                    Err(_) => std::fs::canonicalize(path),
                };
            };
            let real = real?;
            let root = fd_path(&fs::open(
                &**root,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?)?;
            match real.strip_prefix(&root) {
                Ok(inside) => Ok(Path::new("/").join(inside)),
                Err(_) => Err(io::Error::other(format!(
                    "{} left the host root {}",
                    path.display(),
                    root.display()
                ))),
            }
        }

        /// Where `path` points if it is a symlink whose target is missing
        /// (absolute, or relative to the link's directory).
        fn dangling_target(&self, path: &Path) -> Option<PathBuf> {
            let link = self.open(path, false).ok()?;
            if !fs::fstat(&link).is_ok_and(|stat| {
                fs::FileType::from_raw_mode(stat.st_mode) == fs::FileType::Symlink
            }) {
                return None;
            }
            let target = PathBuf::from(OsString::from_vec(
                fs::readlinkat(&link, "", Vec::new()).ok()?.into_bytes(),
            ));
            Some(match path.parent() {
                Some(parent) if target.is_relative() => parent.join(target),
                _ => target,
            })
        }
    }

    /// Symlinks followed before giving up, as the kernel's `ELOOP`.
    const MAX_LINKS: usize = 40;

    /// What `/proc/self/fd` says `opened` points to.
    fn fd_path(opened: &OwnedFd) -> io::Result<PathBuf> {
        let real = std::fs::read_link(format!("/proc/self/fd/{}", opened.as_raw_fd()))?;
        if real.is_absolute() {
            Ok(real)
        } else {
            Err(io::Error::other(format!(
                "/proc/self/fd gave {}",
                real.display()
            )))
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
                &HostRoot::native(),
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
                &HostRoot::native(),
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
                       "VolumesFrom":["other:ro,z"],"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/x","CgroupPermissions":"r"}],
                       "Tmpfs":{"/run":"size=1m"}}"#,
                ),
                [&"/anon".to_owned()],
                &HostRoot::native(),
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
                &HostRoot::native(),
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
        /// A host tree under a directory, as a managed plugin sees the
        /// host's `/` at `/host`.
        fn host_tree() -> (tempfile::TempDir, HostRoot) {
            let dir = tempfile::tempdir().unwrap();
            let host = dir.path().join("host");
            std::fs::create_dir_all(host.join("srv/data")).unwrap();
            std::fs::create_dir_all(host.join("etc")).unwrap();
            let root = HostRoot::under(&host);
            (dir, root)
        }

        #[test]
        fn under_a_root_a_symlink_to_slash_is_the_hosts_root() {
            let (dir, root) = host_tree();
            let host = dir.path().join("host");
            std::os::unix::fs::symlink("/", host.join("srv/to-root")).unwrap();
            std::os::unix::fs::symlink("../../..", host.join("srv/data/up")).unwrap();
            assert_eq!(
                root.resolve(Path::new("/srv/to-root")).unwrap(),
                Path::new("/")
            );
            assert_eq!(
                root.resolve(Path::new("/srv/to-root/etc")).unwrap(),
                Path::new("/etc")
            );
            // `..` stops at the host's root, as it does at `/`.
            assert_eq!(
                root.resolve(Path::new("/srv/data/up")).unwrap(),
                Path::new("/")
            );
            assert_eq!(
                root.resolve(Path::new("/../../etc")).unwrap(),
                Path::new("/etc")
            );
        }

        #[test]
        fn under_a_root_absolute_symlinks_start_from_the_hosts_root() {
            let (dir, root) = host_tree();
            let host = dir.path().join("host");
            // On this machine `/etc` is not the host's `/etc`: the link
            // must land in the host tree, not here.
            std::os::unix::fs::symlink("/etc", host.join("srv/e")).unwrap();
            std::fs::write(host.join("etc/only-on-host"), "").unwrap();
            assert_eq!(
                root.resolve(Path::new("/srv/e")).unwrap(),
                Path::new("/etc")
            );
            // A plain walk from here follows the link to this machine's `/etc`.
            assert!(!host.join("srv/e/only-on-host").exists());
            assert_eq!(
                root.resolve(Path::new("/srv/e/only-on-host")).unwrap(),
                Path::new("/etc/only-on-host")
            );
        }

        #[test]
        fn under_a_root_missing_and_dangling_paths_resolve_inside_it() {
            let (dir, root) = host_tree();
            let host = dir.path().join("host");
            std::os::unix::fs::symlink("/etc/not-yet", host.join("srv/d")).unwrap();
            assert_eq!(
                root.resolve(Path::new("/srv/d/x")).unwrap(),
                Path::new("/etc/not-yet/x")
            );
            assert_eq!(
                root.resolve(Path::new("/srv/missing/../data")).unwrap(),
                Path::new("/srv/data")
            );
            std::os::unix::fs::symlink("b", host.join("a")).unwrap();
            std::os::unix::fs::symlink("a", host.join("b")).unwrap();
            assert!(root.resolve(Path::new("/a/x")).is_err());
        }

        #[test]
        fn a_frozen_view_refuses_missing_paths_and_resolves_the_rest() {
            let (dir, root) = host_tree();
            std::os::unix::fs::symlink("/", dir.path().join("host/srv/x")).unwrap();
            std::os::unix::fs::symlink("/etc/not-yet", dir.path().join("host/srv/d")).unwrap();
            let frozen = root.frozen();
            assert_eq!(frozen.resolve(Path::new("/srv/x")).unwrap(), Path::new("/"));
            for missing in ["/srv/data/not-yet", "/srv/d"] {
                let err = frozen.resolve(Path::new(missing)).unwrap_err();
                assert!(err.to_string().contains("not in Portcullis' view"), "{err}");
            }
            // Unfrozen, both resolve through what exists.
            assert_eq!(
                HostRoot::under(dir.path().join("host"))
                    .resolve(Path::new("/srv/d"))
                    .unwrap(),
                Path::new("/etc/not-yet")
            );
        }

        #[test]
        fn under_a_root_magic_links_are_refused_not_followed() {
            // `/proc/self/root` leads out of any root: it must be an error
            // (a policy denies an unresolved bind), never a path.
            let root = HostRoot::under("/");
            assert!(root.resolve(Path::new("/proc/self/root")).is_err());
            assert_eq!(
                HostRoot::native()
                    .resolve(Path::new("/proc/self/root"))
                    .unwrap(),
                Path::new("/")
            );
        }

        #[test]
        fn the_envelope_resolves_binds_in_its_host_root() {
            let (dir, root) = host_tree();
            std::os::unix::fs::symlink("/", dir.path().join("host/srv/x")).unwrap();
            let mounts = container_mounts(&hc(r#"{"Binds":["/srv/x:/h"]}"#), [], &root);
            assert_eq!(mounts[0].resolved.as_deref(), Some("/"));
            // The same bind on this process's own root: `/srv/x` does not exist.
            let here = container_mounts(&hc(r#"{"Binds":["/srv/x:/h"]}"#), [], &HostRoot::native());
            assert_ne!(here[0].resolved.as_deref(), Some("/"));
        }
    }
}
