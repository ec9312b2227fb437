//! The client side of the admin socket, for `portcullis status`, `reload`
//! and `metrics`: one HTTP/1.1 request over the Unix socket.

use std::path::Path;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// What the admin socket answered.
pub struct AdminAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends `method path` to the admin socket at `socket` and reads the answer.
pub async fn request(socket: &Path, method: &str, path: &str) -> anyhow::Result<AdminAnswer> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| {
            format!(
                "cannot reach the admin socket {} (is `portcullis serve` running, and are you its user?)",
                socket.display()
            )
        })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("admin socket handshake")?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "portcullis")
        .body(Empty::<Bytes>::new())
        .context("building the admin request")?;
    let response = sender
        .send_request(request)
        .await
        .context("admin request failed")?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the admin answer")?
        .to_bytes()
        .to_vec();
    Ok(AdminAnswer { status, body })
}
