//! `POST /volumes/create` (Docker's `VolumeCreateBody`).

use std::collections::BTreeMap;

use crate::go_struct;

go_struct! {
    /// The body of `POST /volumes/create`.
    pub struct VolumeCreate {
        /// Volume name (`""`: generated).
        "Name" => pub name: String,
        /// Volume driver (`""` or `local` for the built-in one).
        "Driver" => pub driver: String,
        /// Driver options (`type`, `o`, `device` for `local`).
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
        let local = self.driver.is_empty() || self.driver == "local";
        let opt = |key: &str| {
            self.driver_opts
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        };
        let binds = opt("o").is_some_and(|o| {
            o.split(',')
                .any(|flag| matches!(flag.trim(), "bind" | "rbind"))
        });
        match (local, binds, opt("device")) {
            (true, true, Some(device)) => Some(device.as_str()),
            _ => None,
        }
    }
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
}
