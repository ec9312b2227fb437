//! Mounts, from the host's list (`Request::mounts`): binds by their
//! resolved host path, volumes by the driver that would create them and
//! what a `local` volume's options make the daemon mount, images by their
//! registry, `--volumes-from`, and any mount type this version does not
//! know.

use portcullis_sdk::docker::mount_options::{MountOptions, TMPFS_DATA_KEYS};
use portcullis_sdk::docker::volume::{LocalMount, local_mount};
use portcullis_sdk::{MountInfo, MountKind};

use crate::Violations;
use crate::config::Config;
use crate::images::check_image;

pub(crate) fn check(mounts: &[MountInfo], config: &Config, out: &mut Violations) {
    crate::sockets::check(mounts, config, out);
    for mount in mounts {
        match mount.kind {
            MountKind::Bind => check_bind(mount, config, out),
            MountKind::Volume => check_volume(mount, config, out),
            MountKind::VolumesFrom if !config.allow_volumes_from => {
                out.push(format!("--volumes-from {} is not allowed", mount.source));
            }
            MountKind::Image => check_image_mount(mount, config, out),
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
            // tmpfs (judged with the `HostConfig`) and cluster volumes
            // expose nothing of the host.
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
    if let Some(local) = local_mount(driver, &mount.driver_options) {
        let judged = local
            .map_err(|e| format!("the daemon would refuse its options ({e})"))
            .and_then(|local| local_mount_allowed(&local, config));
        if let Err(why) = judged {
            out.push(format!("local volume {name}: {why}"));
        }
    }
}

/// What a `local` volume mounts, read as the daemon reads its options
/// (`o` split on `,` only, nothing trimmed): nothing, a bind (its host
/// path is the list's next entry, judged by `bind_prefixes`), a tmpfs, or
/// a filesystem `type` the config names. Flags must be ones that mount
/// nothing new; a word that is not a flag goes to the filesystem, so it is
/// allowed only where its meaning is known (tmpfs) or the type is trusted.
fn local_mount_allowed(local: &LocalMount<'_>, config: &Config) -> Result<(), String> {
    match local {
        LocalMount::Directory => Ok(()),
        LocalMount::Bind { options, .. } => {
            check_flags(options, config)?;
            match options.data.iter().find(|word| !word.is_empty()) {
                Some(word) => Err(format!(
                    "option {word:?} of a bind is not a mount flag (flags are matched exactly)"
                )),
                None => Ok(()),
            }
        }
        LocalMount::Filesystem {
            kind: "tmpfs",
            options,
            ..
        } => {
            check_flags(options, config)?;
            match options.data.iter().find(|word| !tmpfs_data(word)) {
                Some(word) => Err(format!("tmpfs option {word:?} is not allowed")),
                None => Ok(()),
            }
        }
        LocalMount::Filesystem { kind, options, .. }
            if config.allowed_volume_types.iter().any(|t| t == kind) =>
        {
            check_flags(options, config)
        }
        LocalMount::Filesystem {
            kind,
            device,
            options,
        } => Err(format!(
            "filesystem type {kind:?} is not allowed (the daemon would mount it from {device:?} with {:?})",
            options.data_string()
        )),
    }
}

/// The mount flags of a `local` volume: `remount` is refused (it changes
/// an existing mount), `shared` and `rshared` need
/// `allow_shared_propagation`; the rest only restrict or pick defaults.
fn check_flags(options: &MountOptions<'_>, config: &Config) -> Result<(), String> {
    for flag in &options.flags {
        match *flag {
            "remount" => return Err("the remount flag is not allowed".into()),
            "shared" | "rshared" if !config.allow_shared_propagation => {
                return Err(format!("{flag} propagation is not allowed"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A data word a tmpfs understands: `key=value` with one of moby's tmpfs
/// keys (`size`, `mode`, `uid`, `gid`, `nr_inodes`, `nr_blocks`, `mpol`),
/// or an empty word (skipped by the kernel).
fn tmpfs_data(word: &str) -> bool {
    word.is_empty()
        || word
            .split_once('=')
            .is_some_and(|(key, _)| !key.is_empty() && TMPFS_DATA_KEYS.contains(&key))
}

/// An image mounted into the container (`--mount type=image`, dockerd
/// 28): it must be an image the registry rules allow, as for `Image`.
fn check_image_mount(mount: &MountInfo, config: &Config, out: &mut Violations) {
    if mount.source.is_empty() {
        out.push(format!("image mount at {} names no image", mount.target));
    } else {
        check_image(&mount.source, config, out);
    }
}
