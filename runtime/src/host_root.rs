//! The host's `/` mounted elsewhere (`[plugin] host_root`, a managed
//! plugin's `/host`): bind sources are resolved inside it, so it must show
//! the host's mounts as they are now. A mount made on the host after
//! Portcullis started appears there only if the host's `/` propagates
//! mounts (shared, as systemd makes it) and the bind receives them
//! (`rslave`). Without that, a link inside the new mount is unseen: its path
//! looks missing, and a missing path would resolve to itself. `serve`
//! checks once at start; where the view is frozen it warns (only the host's
//! administrator can fix it) and refuses bind sources missing from it.

use std::path::Path;

use portcullis_envelope::mounts::HostRoot;

/// `root` as requests should be resolved in it: [`HostRoot::frozen`] (with a
/// warning) when it does not follow the host's mounts.
pub fn checked(root: &HostRoot) -> HostRoot {
    match root.dir().map(follows_host_mounts) {
        Some(Err(why)) => {
            tracing::warn!("{why}; bind sources missing from it are refused");
            root.clone().frozen()
        }
        _ => root.clone(),
    }
}

/// Whether the mount at `dir` receives mounts made on the host later:
/// `Ok(())` if so, else why not (to warn with).
pub fn follows_host_mounts(dir: &Path) -> Result<(), String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let point = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    match receives_propagation(&mountinfo, &point) {
        Some(true) => Ok(()),
        Some(false) => Err(format!(
            "host_root {} does not receive mount propagation: mounts made on the host after Portcullis started are invisible to bind-source resolution (make the host's / shared, `mount --make-rshared /`, and restart Portcullis)",
            dir.display()
        )),
        None => Err(format!(
            "host_root {} is not a mount point: is the host's / mounted there?",
            dir.display()
        )),
    }
}

/// For the last mount at `point` in `mountinfo` (proc(5)): whether it is a
/// slave of, or shared with, another peer group. `None`: no mount there.
fn receives_propagation(mountinfo: &str, point: &Path) -> Option<bool> {
    mountinfo.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let mount_point = unescape(fields.get(4)?);
        let separator = fields.iter().position(|f| *f == "-")?;
        let optional = fields.get(6..separator)?;
        (Path::new(&mount_point) == point).then(|| {
            optional
                .iter()
                .any(|tag| tag.starts_with("master:") || tag.starts_with("shared:"))
        })
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let mut out = Vec::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
1420 1419 0:210 / / rw,relatime - overlay overlay rw
1425 1420 254:0 / /host ro,relatime master:1 - ext4 /dev/vda rw
1426 1425 0:22 / /host/proc rw,nosuid - proc proc rw
1430 1420 254:0 / /frozen ro,relatime - ext4 /dev/vda rw
1431 1420 254:0 /srv /with\\040space rw shared:7 - ext4 /dev/vda rw
1432 1420 254:0 / /restacked ro shared:3 - ext4 /dev/vda rw
1433 1432 254:0 / /restacked ro - ext4 /dev/vda rw
";

    #[test]
    fn a_slave_or_shared_mount_follows_and_a_private_one_does_not() {
        assert_eq!(
            receives_propagation(MOUNTINFO, Path::new("/host")),
            Some(true)
        );
        assert_eq!(
            receives_propagation(MOUNTINFO, Path::new("/with space")),
            Some(true)
        );
        assert_eq!(
            receives_propagation(MOUNTINFO, Path::new("/frozen")),
            Some(false)
        );
        assert_eq!(receives_propagation(MOUNTINFO, Path::new("/nothing")), None);
    }

    #[test]
    fn the_mount_on_top_decides() {
        assert_eq!(
            receives_propagation(MOUNTINFO, Path::new("/restacked")),
            Some(false)
        );
    }

    #[test]
    fn this_process_root_is_a_mount_point() {
        assert_ne!(
            follows_host_mounts(Path::new("/")).map_err(|e| e.contains("not a mount point")),
            Err(true)
        );
    }
}
