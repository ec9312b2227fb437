//! The Unix socket dockerd connects to: created safely (mode 0600 before
//! it becomes visible), never stolen from a live plugin, removed on exit.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener as StdUnixListener, UnixStream};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

/// Why the socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Another process answers on the socket: refusing to take it over.
    #[error("{}: another process is listening on this socket; refusing to replace it", .0.display())]
    InUse(PathBuf),
    /// Something that is not a socket sits at the path.
    #[error("{}: exists and is not a socket; refusing to replace it", .0.display())]
    NotASocket(PathBuf),
    /// The filesystem said no.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being worked on.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// A listening socket that this process owns at `path`.
///
/// Invariant: `(dev, ino)` identify the socket file this process created, so
/// [`BoundSocket::remove`] never deletes a socket another process put there.
#[derive(Debug)]
pub struct BoundSocket {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl BoundSocket {
    /// Binds `path`: creates its directory, replaces a stale socket file, and
    /// makes the socket visible only once it is mode 0600.
    pub fn bind(path: &Path) -> Result<(BoundSocket, UnixListener), SocketError> {
        let io_err = |source| SocketError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
                Ok(_) => return Err(SocketError::InUse(path.to_owned())),
                // Nobody answers: a socket left behind by a process that died.
                Err(_) => std::fs::remove_file(path).map_err(io_err)?,
            },
            Ok(_) => return Err(SocketError::NotASocket(path.to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }

        // Bind under a private name, restrict it, then rename it into place:
        // the public path never exists with looser permissions.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&staging);
        let listener = StdUnixListener::bind(&staging).map_err(io_err)?;
        let placed = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::rename(&staging, path));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&staging);
            return Err(io_err(e));
        }
        listener.set_nonblocking(true).map_err(io_err)?;
        let meta = std::fs::symlink_metadata(path).map_err(io_err)?;
        let listener = UnixListener::from_std(listener).map_err(io_err)?;
        Ok((
            BoundSocket {
                path: path.to_owned(),
                dev: meta.dev(),
                ino: meta.ino(),
            },
            listener,
        ))
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the socket file if it is still the one this process created.
    pub fn remove(&self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.dev() == self.dev && meta.ino() == self.ino => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), "cannot remove socket: {e}");
                }
            }
            _ => {
                tracing::warn!(path = %self.path.display(), "socket was replaced by someone else; leaving it")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_0600_and_refuses_a_live_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/p.sock");
        let (bound, _listener) = BoundSocket::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            BoundSocket::bind(&path),
            Err(SocketError::InUse(_))
        ));
        bound.remove();
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn replaces_a_stale_socket_but_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sock");
        drop(StdUnixListener::bind(&path).unwrap()); // leaves a dead socket file
        let (bound, _listener) = BoundSocket::bind(&path).unwrap();
        bound.remove();

        std::fs::write(&path, b"precious").unwrap();
        assert!(matches!(
            BoundSocket::bind(&path),
            Err(SocketError::NotASocket(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    }
}
