//! Typed views of the Docker request bodies policies look at.
//!
//! Each view reads only the fields declared here (the rest of the body is
//! skipped, not built), and decodes them exactly as the daemon does (see
//! [`gojson`]). Obtain them through [`Request`](crate::Request) methods such
//! as [`container_create`](crate::Request::container_create), which refuse a
//! missing body instead of pretending it was empty.

pub mod container;
pub mod exec;
#[doc(hidden)]
pub mod gojson;

pub use container::{ContainerCreate, DeviceMapping, HostConfig, LogConfig, Mount, PortBinding};
pub use exec::ExecCreate;
pub use gojson::StrSlice;
