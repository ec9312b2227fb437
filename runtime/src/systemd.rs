//! systemd's readiness protocol (`Type=notify`): `READY=1` on the socket
//! named by `NOTIFY_SOCKET`, sent once both sockets are bound, so that
//! `Before=docker.service` means dockerd starts only when the plugin
//! answers. Without `NOTIFY_SOCKET` (not under systemd) it does nothing.

use std::os::unix::net::UnixDatagram;

/// Tells systemd the service is ready; a failure is logged, not fatal
/// (systemd then times the start out and says why).
pub fn notify_ready() {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(err) = send(&target, b"READY=1") {
        tracing::warn!(
            "cannot tell systemd we are ready (NOTIFY_SOCKET={}): {err}",
            target.to_string_lossy()
        );
    }
}

fn send(target: &std::ffi::OsStr, message: &[u8]) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let socket = UnixDatagram::unbound()?;
    match target.as_bytes().strip_prefix(b"@") {
        // An abstract socket name (Linux).
        Some(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message, &address)?;
        }
        None => {
            socket.send_to(message, target)?;
        }
    }
    Ok(())
}
