//! `POST /volumes/create` (Docker's `VolumeCreateBody`), and what the
//! built-in `local` driver does with its options: `mount -t <type> -o <o>
//! <device>`, which can mount any host path (`o=bind`), any filesystem
//! (`type=proc`, `type=ext4` on a block device) or a network share.

use std::collections::BTreeMap;

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
    /// The host path this volume would bind-mount, if it is a `local` volume
    /// with `o=bind` (`docker volume create -o type=none -o o=bind -o
    /// device=/ root` makes any later `-v root:/x` a bind of `/`).
    pub fn bind_device(&self) -> Option<&str> {
        local_bind_device(&self.driver, &self.driver_opts)
    }
}

/// Whether `driver` names the built-in `local` volume driver.
pub fn is_local_driver(driver: &str) -> bool {
    driver.is_empty() || driver == "local"
}

/// The option keys the `local` driver accepts (moby `volume/local`
/// `validOpts`, 20.10 and 26.1); it refuses any other key. Keys are
/// matched exactly, as Go map lookups are.
pub const LOCAL_OPTION_KEYS: [&str; 4] = ["type", "o", "device", "size"];

/// The host path a `local` volume with these options bind-mounts: `o`
/// holds the `bind` or `rbind` flag (the kernel then ignores `type`), and
/// `device` is the source.
pub fn local_bind_device<'a>(
    driver: &str,
    options: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    if !is_local_driver(driver) {
        return None;
    }
    let binds = options
        .get("o")
        .is_some_and(|o| mount_flags(o).any(|flag| matches!(flag, "bind" | "rbind")));
    if binds {
        options.get("device").map(String::as_str)
    } else {
        None
    }
}

/// The comma-separated entries of a mount option string (`o=`).
pub fn mount_flags(options: &str) -> impl Iterator<Item = &str> {
    options.split(',').map(str::trim).filter(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_bind_volume_reveals_its_host_path() {
        let v: VolumeCreate = serde_json::from_str(
            r#"{"Name":"root","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
        )
        .unwrap();
        assert_eq!(v.bind_device(), Some("/"));
        let plain: VolumeCreate = serde_json::from_str(r#"{"Name":"data"}"#).unwrap();
        assert_eq!(plain.bind_device(), None);
    }

    #[test]
    fn bind_among_other_flags_and_with_any_type_is_a_bind() {
        let opts = BTreeMap::from([
            ("type".to_owned(), "tmpfs".to_owned()),
            ("o".to_owned(), "nosuid, rbind".to_owned()),
            ("device".to_owned(), "/etc".to_owned()),
        ]);
        assert_eq!(local_bind_device("local", &opts), Some("/etc"));
        assert_eq!(local_bind_device("other", &opts), None);
    }
}
