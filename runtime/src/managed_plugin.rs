//! What Portcullis learns about itself when it runs as a managed (v2)
//! Docker plugin: its plugin ID, and the name dockerd knows it by, which
//! the administrator chose at `docker plugin create NAME` and which no
//! plugin.toml inside the plugin can know. Self-protection needs that name:
//! `docker plugin disable NAME` is the call that would turn it off.
//!
//! dockerd runs a plugin with `<data-root>/plugins/<id>/rootfs` as its root,
//! so `/proc/self/mountinfo` names the ID, and the plugin's record,
//! `<data-root>/plugins/<id>/config.json`, holds the name. It is read
//! through the host's `/` mounted at `host_root`: the mount of the same
//! filesystem there that contains the plugin's directory says where.

use std::path::{Path, PathBuf};

/// This process as a managed plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPlugin {
    /// The plugin's 64-hex ID.
    pub id: String,
    /// The name dockerd knows it by (`acme/portcullis:1.0`), or why it
    /// could not be read.
    pub name: Result<String, String>,
}

/// This process as a managed plugin, if it runs as one: read from
/// `/proc/self/mountinfo` and, through `host_root`, the plugin's record.
pub fn discover(host_root: Option<&Path>) -> Option<OwnPlugin> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (id, record) = plugin_record(&mountinfo, host_root)?;
    let name = match record {
        Ok(record) => read_name(&record, &id),
        Err(why) => Err(why),
    };
    Some(OwnPlugin { id, name })
}

/// The ID in this process's root mount (`…/plugins/<id>/rootfs`), and where
/// `<data-root>/plugins/<id>/config.json` is in this process's view, or why
/// it cannot be reached.
fn plugin_record(
    mountinfo: &str,
    host_root: Option<&Path>,
) -> Option<(String, Result<PathBuf, String>)> {
    let mounts: Vec<Mount<'_>> = mountinfo.lines().filter_map(Mount::parse).collect();
    let root_mount = mounts.iter().rev().find(|m| m.point == "/")?;
    let plugin_dir = root_mount.root.strip_suffix("/rootfs")?;
    let (_, id) = plugin_dir.rsplit_once("/plugins/")?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let Some(host_root) = host_root.and_then(Path::to_str) else {
        return Some((
            id.to_owned(),
            Err("no host_root to read the plugin's record through".to_owned()),
        ));
    };
    // The deepest mount under host_root of the same filesystem whose root
    // contains the plugin's directory.
    let record = mounts
        .iter()
        .filter(|m| {
            m.device == root_mount.device
                && (m.point == host_root || is_under(m.point, host_root))
                && (m.root == "/" || plugin_dir == m.root || is_under(plugin_dir, m.root))
        })
        .max_by_key(|m| (m.root.len(), m.point.len()))
        .map(|m| {
            let rest = if m.root == "/" {
                plugin_dir
            } else {
                &plugin_dir[m.root.len()..]
            };
            PathBuf::from(format!("{}{rest}/config.json", m.point))
        })
        .ok_or_else(|| format!("the filesystem holding plugins/{id} is not under {host_root}"));
    Some((id.to_owned(), record))
}

/// The plugin's name from its record, checked to be the record of `id`.
fn read_name(record: &Path, id: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(record)
        .map_err(|e| format!("cannot read {}: {e}", record.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", record.display()))?;
    let plugin = &json["plugin"];
    if plugin["Id"] != id {
        return Err(format!(
            "{} is not the record of plugin {id}",
            record.display()
        ));
    }
    plugin["Name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{} names no plugin", record.display()))
}

fn is_under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') || dir.ends_with('/'))
}

/// One line of proc(5)'s mountinfo, the fields used here (paths with
/// spaces are escaped, and never match the paths looked for).
struct Mount<'a> {
    device: &'a str,
    root: &'a str,
    point: &'a str,
}

impl<'a> Mount<'a> {
    fn parse(line: &'a str) -> Option<Mount<'a>> {
        let mut fields = line.split(' ').skip(2);
        Some(Mount {
            device: fields.next()?,
            root: fields.next()?,
            point: fields.next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "08bc559c0e43fa1e439c48b6e610511e44acccb889789e7d9b6be456efccf330";

    fn mountinfo(rootfs: &str, extra: &str) -> String {
        format!(
            "67 44 254:0 {rootfs} / rw,relatime master:1 - ext4 /dev/vda rw\n\
             68 67 0:40 / /proc rw - proc proc rw\n\
             84 67 254:0 / /host ro,relatime - ext4 /dev/vda rw\n\
             {extra}\
             122 67 254:0 /run/docker/plugins/{ID} /run/docker/plugins rw shared:2 - ext4 /dev/vda rw\n"
        )
    }

    #[test]
    fn the_record_is_found_on_the_hosts_root_filesystem() {
        let info = mountinfo(&format!("/var/lib/docker/plugins/{ID}/rootfs"), "");
        let (id, record) = plugin_record(&info, Some(Path::new("/host"))).unwrap();
        assert_eq!(id, ID);
        assert_eq!(
            record.unwrap(),
            PathBuf::from(format!("/host/var/lib/docker/plugins/{ID}/config.json"))
        );
    }

    #[test]
    fn a_data_root_on_its_own_filesystem_is_found_where_it_is_mounted() {
        let info = format!(
            "67 44 254:16 /plugins/{ID}/rootfs / rw master:1 - ext4 /dev/vdb rw\n\
             84 67 254:0 / /host ro - ext4 /dev/vda rw\n\
             90 84 254:16 / /host/var/lib/docker ro - ext4 /dev/vdb rw\n"
        );
        let (_, record) = plugin_record(&info, Some(Path::new("/host"))).unwrap();
        assert_eq!(
            record.unwrap(),
            PathBuf::from(format!("/host/var/lib/docker/plugins/{ID}/config.json"))
        );
    }

    #[test]
    fn not_a_plugin_or_out_of_reach_is_said() {
        let container = mountinfo("/var/lib/docker/overlay2/abc/merged", "");
        assert_eq!(plugin_record(&container, Some(Path::new("/host"))), None);
        let info = mountinfo(&format!("/var/lib/docker/plugins/{ID}/rootfs"), "");
        let (id, record) = plugin_record(&info, None).unwrap();
        assert_eq!(id, ID);
        assert!(record.unwrap_err().contains("no host_root"));
        let (_, record) = plugin_record(&info, Some(Path::new("/elsewhere"))).unwrap();
        assert!(record.unwrap_err().contains("not under /elsewhere"));
    }

    #[test]
    fn the_name_is_read_from_the_record_of_this_id_only() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("config.json");
        std::fs::write(
            &record,
            format!(r#"{{"plugin":{{"Id":"{ID}","Name":"acme/guard:1.0","Enabled":true}}}}"#),
        )
        .unwrap();
        assert_eq!(read_name(&record, ID).unwrap(), "acme/guard:1.0");
        let other = "1".repeat(64);
        assert!(
            read_name(&record, &other)
                .unwrap_err()
                .contains("not the record")
        );
    }
}
