//! `POST /volumes/create` (Docker's `VolumeCreateBody`), and what the
//! built-in `local` driver mounts for a volume's options when a container
//! first uses it: `mount -t <type> -o <o> <device>`, which can mount any
//! host path (`o=bind`), any filesystem the kernel has (`type=debugfs`,
//! `type=ext4` on a block device) or a network share.
//!
//! The options are read as moby's `volume/local` reads them (the same in
//! dockerd 20.10, 26.1 and 28.5): keys matched exactly, `o` split by
//! moby's mount package ([`MountOptions`]), nothing trimmed.

use std::collections::BTreeMap;

use super::mount_options::{MountOptions, PROPAGATION_FLAGS};
use crate::go_struct;

go_struct! {
    /// The body of `POST /volumes/create`.
    pub struct VolumeCreate {
        /// Volume name (`""`: generated).
        "Name" => pub name: String,
        /// Volume driver (`""` or `local` for the built-in one).
        "Driver" => pub driver: String,
        /// Driver options (`type`, `o`, `device`, `size` for `local`).
        "DriverOpts" => pub driver_opts: BTreeMap<String, String>,
        /// Labels.
        "Labels" => pub labels: BTreeMap<String, String>,
    }
}

impl VolumeCreate {
    /// What the volume mounts, if it is a `local` volume (see [`local_mount`]).
    pub fn local_mount(&self) -> Option<Result<LocalMount<'_>, LocalOptionsError>> {
        local_mount(&self.driver, &self.driver_opts)
    }

    /// The host path this volume would bind-mount, if it is a `local` volume
    /// with the `bind` or `rbind` flag in `o` (`docker volume create -o
    /// type=none -o o=bind -o device=/ root` makes any later `-v root:/x` a
    /// bind of `/`).
    pub fn bind_device(&self) -> Option<&str> {
        local_bind_device(&self.driver, &self.driver_opts)
    }
}

/// Whether `driver` names the built-in `local` volume driver.
pub fn is_local_driver(driver: &str) -> bool {
    driver.is_empty() || driver == "local"
}

/// The option keys the `local` driver accepts (moby `volume/local`
/// `validOpts`, 20.10 to 28.5); it refuses any other key. Keys are
/// matched exactly, as Go map lookups are.
pub const LOCAL_OPTION_KEYS: [&str; 4] = ["type", "o", "device", "size"];

/// Keys that need others (moby `mandatoryOpts`): `device` needs `type`,
/// `type` needs `device`, `o` needs both. Only presence counts, not value.
const MANDATORY_OPTIONS: [(&str, &[&str]); 3] = [
    ("device", &["type"]),
    ("type", &["device"]),
    ("o", &["device", "type"]),
];

/// What a `local` volume is, once a container mounts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalMount<'a> {
    /// Nothing is mounted: a directory under the daemon's data root (no
    /// `type` and no `device`, or moby's "remount" reading of `device=none`
    /// or the `remount` flag with no data).
    Directory,
    /// `o` holds the `bind` or `rbind` flag: `device`, a host path, is
    /// bind-mounted; the kernel ignores `type` and the data.
    Bind {
        /// The host path (relative paths are the daemon's working directory's).
        device: &'a str,
        /// `o`, taken apart.
        options: MountOptions<'a>,
    },
    /// A new mount of the filesystem `kind` from `device`, the data handed
    /// to the filesystem as written.
    Filesystem {
        /// `type`, exactly as given (the kernel's filesystem name).
        kind: &'a str,
        /// `device`.
        device: &'a str,
        /// `o`, taken apart.
        options: MountOptions<'a>,
    },
}

/// Why the `local` driver refuses a volume's options (at create), or
/// cannot mount it (when a container starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalOptionsError {
    /// A key the driver does not know (`invalid option: " o"`): create fails.
    UnknownKey(String),
    /// A key given without one it needs (`missing required option: "type"`): create fails.
    MissingKey {
        /// The key given.
        key: &'static str,
        /// The key missing.
        needs: &'static str,
    },
    /// `type` without a `device` value: create succeeds, every mount fails
    /// ("missing device in volume options").
    NoDevice,
}

impl std::fmt::Display for LocalOptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalOptionsError::UnknownKey(key) => write!(f, "invalid option: {key:?}"),
            LocalOptionsError::MissingKey { needs, .. } => {
                write!(f, "missing required option: {needs:?}")
            }
            LocalOptionsError::NoDevice => f.write_str("missing device in volume options"),
        }
    }
}

impl std::error::Error for LocalOptionsError {}

impl<'a> LocalMount<'a> {
    /// What the `local` driver does with `options` (moby `validateOpts`,
    /// `setOpts`, `needsMount`, `getMountOptions` and the mount package's
    /// `Mount`). The `size` value is not read: it sets a quota, and the
    /// daemon parses it differently from version to version.
    pub fn of(options: &'a BTreeMap<String, String>) -> Result<Self, LocalOptionsError> {
        if let Some(key) = options
            .keys()
            .find(|key| !LOCAL_OPTION_KEYS.contains(&key.as_str()))
        {
            return Err(LocalOptionsError::UnknownKey(key.clone()));
        }
        for (key, needs) in MANDATORY_OPTIONS {
            if options.contains_key(key)
                && let Some(needs) = needs.iter().find(|n| !options.contains_key(**n))
            {
                return Err(LocalOptionsError::MissingKey { key, needs });
            }
        }
        let get = |key: &str| options.get(key).map_or("", String::as_str);
        let (kind, device) = (get("type"), get("device"));
        if kind.is_empty() && device.is_empty() {
            return Ok(LocalMount::Directory);
        }
        if device.is_empty() {
            return Err(LocalOptionsError::NoDevice);
        }
        let parsed = MountOptions::parse(get("o"));
        // moby's `isremount`: with a device of `none`, or the `remount`
        // flag, and no data, the mount call itself is skipped. What may
        // follow (a propagation change, the read-only remount of a bind)
        // fails on a directory that is not a mount point; without those,
        // the volume stays a plain directory.
        let skipped =
            (device == "none" || parsed.has_flag("remount")) && parsed.data_string().is_empty();
        let follow_up = parsed
            .flags
            .iter()
            .any(|flag| PROPAGATION_FLAGS.contains(flag))
            || (parsed.binds() && parsed.read_only());
        if skipped && !follow_up {
            return Ok(LocalMount::Directory);
        }
        if parsed.binds() {
            Ok(LocalMount::Bind {
                device,
                options: parsed,
            })
        } else {
            Ok(LocalMount::Filesystem {
                kind,
                device,
                options: parsed,
            })
        }
    }
}

/// What a volume of `driver` with `options` mounts, if `driver` is `local`.
pub fn local_mount<'a>(
    driver: &str,
    options: &'a BTreeMap<String, String>,
) -> Option<Result<LocalMount<'a>, LocalOptionsError>> {
    is_local_driver(driver).then(|| LocalMount::of(options))
}

/// The host path a `local` volume with these options bind-mounts: `o`
/// holds the `bind` or `rbind` flag, exactly (the kernel then ignores
/// `type`), and `device` is the source.
pub fn local_bind_device<'a>(
    driver: &str,
    options: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    match local_mount(driver, options)? {
        Ok(LocalMount::Bind { device, .. }) => Some(device),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_local_bind_volume_reveals_its_host_path() {
        let v: VolumeCreate = serde_json::from_str(
            r#"{"Name":"root","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
        )
        .unwrap();
        assert_eq!(v.bind_device(), Some("/"));
        let plain: VolumeCreate = serde_json::from_str(r#"{"Name":"data"}"#).unwrap();
        assert_eq!(plain.bind_device(), None);
        assert_eq!(plain.local_mount(), Some(Ok(LocalMount::Directory)));
    }

    #[test]
    fn bind_among_other_flags_and_with_any_type_is_a_bind() {
        let o = opts(&[("type", "tmpfs"), ("o", "nosuid,rbind"), ("device", "/etc")]);
        assert_eq!(local_bind_device("local", &o), Some("/etc"));
        assert_eq!(local_bind_device("other", &o), None);
    }

    #[test]
    fn a_bind_flag_with_a_space_mounts_the_type_instead() {
        // dockerd 20.10, 26.1 and 28.5 hand ` bind` to debugfs as data; debugfs
        // ignores it and the host's debugfs is mounted read-write.
        for o in [" bind", "bind ", "nosuid, bind", "Bind", "rbind\t"] {
            let options = opts(&[("type", "debugfs"), ("o", o), ("device", "/tmp")]);
            assert_eq!(local_bind_device("local", &options), None, "{o:?}");
            match LocalMount::of(&options).unwrap() {
                LocalMount::Filesystem { kind, options, .. } => {
                    assert_eq!(kind, "debugfs");
                    assert!(options.data.iter().any(|d| d.contains(['b', 'B'])));
                }
                other => panic!("{o:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_are_exact_and_mandatory_keys_are_checked() {
        for key in [" o", "O", "Type", "device ", "uid"] {
            let options = opts(&[(key, "x"), ("type", "tmpfs"), ("device", "t")]);
            assert_eq!(
                LocalMount::of(&options),
                Err(LocalOptionsError::UnknownKey(key.to_owned()))
            );
        }
        assert!(matches!(
            LocalMount::of(&opts(&[("o", "bind"), ("device", "/")])),
            Err(LocalOptionsError::MissingKey { needs: "type", .. })
        ));
        assert!(matches!(
            LocalMount::of(&opts(&[("type", "tmpfs")])),
            Err(LocalOptionsError::MissingKey {
                needs: "device",
                ..
            })
        ));
        assert_eq!(
            LocalMount::of(&opts(&[("type", "tmpfs"), ("device", "")])),
            Err(LocalOptionsError::NoDevice)
        );
    }

    #[test]
    fn what_mounts_nothing_is_a_directory() {
        for options in [
            opts(&[]),
            opts(&[("size", "0")]),
            opts(&[("type", ""), ("device", ""), ("o", "bind")]),
            opts(&[("type", "none"), ("device", "none"), ("o", "bind")]),
            opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "remount")]),
        ] {
            assert_eq!(
                LocalMount::of(&options),
                Ok(LocalMount::Directory),
                "{options:?}"
            );
        }
        // A read-only bind or a propagation flag still acts (and fails).
        assert!(matches!(
            LocalMount::of(&opts(&[
                ("type", "none"),
                ("device", "none"),
                ("o", "bind,ro")
            ])),
            Ok(LocalMount::Bind { .. })
        ));
        // With data, `device=none` is mounted.
        assert!(matches!(
            LocalMount::of(&opts(&[
                ("type", "tmpfs"),
                ("device", "none"),
                ("o", "size=1m")
            ])),
            Ok(LocalMount::Filesystem {
                kind: "tmpfs",
                device: "none",
                ..
            })
        ));
    }
}
