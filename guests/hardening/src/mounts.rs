//! Mounts, from the host's list (`Request::mounts`): binds by their
//! resolved host path, volumes by the driver that would create them and
//! its options, `--volumes-from`, and any mount type this version does not
//! know.

use portcullis_sdk::docker::volume::{LOCAL_OPTION_KEYS, is_local_driver, mount_flags};
use portcullis_sdk::{MountInfo, MountKind};

use crate::Violations;
use crate::config::Config;

/// Mount flags of a `local` volume's `o` that mount nothing new.
const SAFE_MOUNT_FLAGS: [&str; 9] = [
    "ro",
    "rw",
    "nosuid",
    "nodev",
    "noexec",
    "noatime",
    "nodiratime",
    "relatime",
    "strictatime",
];

/// `key=value` options of a tmpfs.
const TMPFS_OPTIONS: [&str; 6] = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"];

pub(crate) fn check(mounts: &[MountInfo], config: &Config, out: &mut Violations) {
    crate::sockets::check(mounts, config, out);
    for mount in mounts {
        match mount.kind {
            MountKind::Bind => check_bind(mount, config, out),
            MountKind::Volume => check_volume(mount, config, out),
            MountKind::VolumesFrom if !config.allow_volumes_from => {
                out.push(format!("--volumes-from {} is not allowed", mount.source));
            }
            MountKind::Unknown | MountKind::Npipe => {
                out.push(format!(
                    "mount of {:?} ({}) is not allowed",
                    mount.source, mount.origin
                ));
            }
            // A device `docker plugin set` points a plugin at; the devices
            // of containers and of plugin privileges are judged with them.
            MountKind::Device if mount.origin == "PluginSettings" && !config.allow_devices => {
                out.push(format!("device {} is not allowed", mount.source));
            }
            // tmpfs, images and cluster volumes expose nothing of the host.
            _ => {}
        }
    }
}

fn check_bind(mount: &MountInfo, config: &Config, out: &mut Violations) {
    let (Some(normalized), Some(resolved)) = (&mount.normalized, &mount.resolved) else {
        let why = mount.resolve_error.as_deref().unwrap_or("unresolved");
        out.push(format!(
            "bind mount of {} cannot be checked: {why}",
            mount.source
        ));
        return;
    };
    let shared = mount
        .propagation
        .as_deref()
        .is_some_and(|p| matches!(p, "shared" | "rshared"));
    if shared && !config.allow_shared_propagation {
        out.push(format!(
            "{} propagation on the bind mount of {} is not allowed",
            mount.propagation.as_deref().unwrap_or_default(),
            mount.source
        ));
    }
    if !config.bind_allowed(resolved) || !config.bind_allowed(normalized) {
        let shown = if resolved == normalized {
            resolved.clone()
        } else {
            format!("{normalized} (resolved: {resolved})")
        };
        out.push(format!(
            "bind mount of {shown} is outside the allowed host paths"
        ));
    }
}

fn check_volume(mount: &MountInfo, config: &Config, out: &mut Violations) {
    let name = if mount.source.is_empty() {
        "anonymous"
    } else {
        &mount.source
    };
    if config.deny_volumes {
        out.push(format!("volume {name} at {} is not allowed", mount.target));
        return;
    }
    let driver = mount.driver.as_deref().unwrap_or_default();
    if !config.volume_driver_allowed(driver) {
        out.push(format!("volume driver {driver} ({name}) is not allowed"));
        return;
    }
    if is_local_driver(driver)
        && let Err(why) = local_options_allowed(mount, config)
    {
        out.push(format!("local volume {name}: {why}"));
    }
}

/// A `local` volume mounts `device` with `-t type -o o`: allowed with no
/// options, as a tmpfs, as a bind (its host path is a separate entry in
/// the list, judged by `bind_prefixes`), or with a `type` the config names.
fn local_options_allowed(mount: &MountInfo, config: &Config) -> Result<(), String> {
    let options = &mount.driver_options;
    if let Some(key) = options
        .keys()
        .find(|key| !LOCAL_OPTION_KEYS.contains(&key.as_str()))
    {
        return Err(format!("option {key} is not allowed"));
    }
    let flags: Vec<&str> = options
        .get("o")
        .map_or_else(Vec::new, |o| mount_flags(o).collect());
    if flags.iter().any(|f| matches!(*f, "bind" | "rbind")) {
        return Ok(());
    }
    match options.get("type").map(String::as_str) {
        None => Ok(()),
        Some("tmpfs") => match flags.iter().find(|flag| !tmpfs_option(flag)) {
            Some(flag) => Err(format!("tmpfs option {flag} is not allowed")),
            None => Ok(()),
        },
        Some(kind) if config.allowed_volume_types.iter().any(|t| t == kind) => Ok(()),
        Some(kind) => Err(format!(
            "filesystem type {kind:?} is not allowed (it mounts a host device or filesystem)"
        )),
    }
}

fn tmpfs_option(flag: &str) -> bool {
    match flag.split_once('=') {
        Some((key, _)) => TMPFS_OPTIONS.contains(&key),
        None => SAFE_MOUNT_FLAGS.contains(&flag),
    }
}
