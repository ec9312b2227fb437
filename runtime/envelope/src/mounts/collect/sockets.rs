//! What a resolved bind source is, and for a directory, which Unix sockets
//! lie below it. A socket mounted into a container hands what runs there a
//! client of whatever daemon listens on it: Docker's own socket answers it
//! as the anonymous local user, whatever identity the creator had. Which
//! sockets exist is the kernel's list of bound Unix sockets
//! (`/proc/net/unix`), in the host's network namespace: this process's
//! own, or under a host root that of the host's PID 1. Paths there are as
//! the daemon bound them, so each is resolved before it is compared.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs;

use super::HostRoot;
use crate::mounts::{FileType, MountInfo, MountKind};

/// Fills in what the source resolved to `resolved` is and, for a bind of a
/// directory, the sockets below it.
pub(super) fn describe(root: &HostRoot, resolved: &Path, info: &mut MountInfo) {
    info.file_type = file_type(root, resolved);
    if info.kind == MountKind::Bind && info.file_type == Some(FileType::Directory) {
        match sockets_below(root, resolved) {
            Ok(sockets) => info.sockets = sockets,
            Err(e) => {
                info.sockets_error = Some(format!("cannot list the host's Unix sockets: {e}"))
            }
        }
    }
}

/// The type of the file at `path` (already resolved: the last component
/// is not followed, so a link swapped in since is not a directory).
fn file_type(root: &HostRoot, path: &Path) -> Option<FileType> {
    let opened = match root.open(path, false) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Some(FileType::Missing),
        Err(_) => return None,
    };
    let stat = fs::fstat(&opened).ok()?;
    Some(match fs::FileType::from_raw_mode(stat.st_mode) {
        fs::FileType::Directory => FileType::Directory,
        fs::FileType::RegularFile => FileType::File,
        fs::FileType::Socket => FileType::Socket,
        fs::FileType::Fifo => FileType::Fifo,
        fs::FileType::CharacterDevice => FileType::CharDevice,
        fs::FileType::BlockDevice => FileType::BlockDevice,
        _ => FileType::Unknown,
    })
}

/// The bound Unix sockets below `dir`, resolved, sorted.
fn sockets_below(root: &HostRoot, dir: &Path) -> io::Result<Vec<String>> {
    let table = std::fs::read_to_string(unix_table(root))?;
    let mut parents: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    let mut below = Vec::new();
    for path in bound_paths(&table) {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        let real_parent = parents
            .entry(parent.to_owned())
            .or_insert_with(|| root.resolve(parent).ok());
        let Some(real_parent) = real_parent else {
            continue;
        };
        let real = real_parent.join(name);
        if real != dir && real.starts_with(dir) {
            below.push(real.to_string_lossy().into_owned());
        }
    }
    below.sort();
    below.dedup();
    Ok(below)
}

/// The kernel's table of Unix sockets in the host's network namespace.
fn unix_table(root: &HostRoot) -> PathBuf {
    match root.dir() {
        None => PathBuf::from("/proc/net/unix"),
        Some(dir) => dir.join("proc/1/net/unix"),
    }
}

/// The absolute paths in a `/proc/net/unix` table (abstract and unnamed
/// sockets have none). A path is everything after the seventh field.
fn bound_paths(table: &str) -> impl Iterator<Item = PathBuf> + '_ {
    table.lines().skip(1).filter_map(|line| {
        let mut rest = line;
        for _ in 0..7 {
            rest = rest.trim_start();
            rest = &rest[rest.find(' ')?..];
        }
        let path = rest.strip_prefix(' ')?;
        path.starts_with('/').then(|| PathBuf::from(path))
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    #[test]
    fn the_kernel_table_is_read_for_paths() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0001 01  1234 /run/docker.sock\n\
            0000000000000000: 00000002 00000000 00000000 0001 01 98765 @/containerd-shim/x.sock\n\
            0000000000000000: 00000003 00000000 00000000 0001 03  4321\n\
            0000000000000000: 00000002 00000000 00010000 0001 01    77 /srv/a b.sock\n";
        let paths: Vec<PathBuf> = bound_paths(table).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("/run/docker.sock"),
                PathBuf::from("/srv/a b.sock")
            ]
        );
    }

    #[test]
    fn a_listening_socket_below_a_directory_is_found_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("via")).unwrap();
        // Bound through the link, as a daemon may bind /var/run/docker.sock.
        let _listener = UnixListener::bind(dir.path().join("via/api.sock")).unwrap();
        let root = HostRoot::native();
        let real = std::fs::canonicalize(&real).unwrap();
        let found = sockets_below(&root, &real).unwrap();
        assert_eq!(found, [real.join("api.sock").display().to_string()]);
        let top = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(sockets_below(&root, &top).unwrap().len(), 1);
        assert_eq!(
            file_type(&root, &real.join("api.sock")),
            Some(FileType::Socket)
        );
        assert_eq!(file_type(&root, &real), Some(FileType::Directory));
        assert_eq!(
            file_type(&root, &real.join("missing")),
            Some(FileType::Missing)
        );
    }
}
