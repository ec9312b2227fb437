//! Write Portcullis policies as plain Rust functions.
//!
//! A policy is a function from a [`Request`] (one Docker API call, as the
//! daemon will act on it) to a [`Decision`]. One [`export_policy!`] line
//! exports it for the sandbox (ABI v1, `cargo build --target
//! wasm32-wasip1`) and leaves the function untouched, so `cargo test` calls
//! it natively on captured fixtures:
//!
//! ```
//! use portcullis_sdk::{export_policy, Decision, Request};
//!
//! /// Refuses privileged containers.
//! fn authorize(req: &Request) -> Result<Decision, portcullis_sdk::BodyError> {
//!     if req.action() == "container_create" && req.container_create()?.host_config.privileged {
//!         return Ok(Decision::deny("privileged containers are not allowed"));
//!     }
//!     Ok(Decision::allow())
//! }
//! export_policy!(authorize);
//!
//! # use portcullis_sdk::{assert_allowed, assert_denied, testing::RequestBuilder};
//! # fn main() {
//! let req = RequestBuilder::post_json("/v1.41/containers/create",
//!     r#"{"Image":"busybox","hostconfig":{"privileged":true}}"#).build();
//! assert_denied!(authorize(&req), "privileged");
//! assert_allowed!(authorize(&RequestBuilder::get("/v1.41/containers/json").build()));
//! # }
//! ```
//!
//! Bodies are decoded lazily and only into the fields a view declares, the
//! way the daemon decodes them ([`docker`]). A body the policy needs but
//! cannot read — absent, not forwarded by Docker, malformed — is a
//! [`BodyError`], which denies when returned with `?`.
//!
//! Option strings inside those fields are read by the parsers the daemon
//! uses, never by hand: [`docker::LocalMount`] says what a `local` volume's
//! `type`/`o`/`device` mount, [`docker::MountOptions`] splits a mount option
//! string as moby does (` bind` is not `bind`), [`docker::SecurityOpt`]
//! reads `--security-opt` entries, and
//! [`docker::mount_options::tmpfs_entries`] reads `--tmpfs` strings.

#![warn(missing_docs)]

pub mod abi;
mod decision;
mod error;
mod log;
mod parts;
mod request;
pub mod state;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use decision::{Decision, IntoDecision};
pub use error::Error;
pub use log::{Level, log};
pub use portcullis_envelope::identity::PeerCertificate;
pub use portcullis_envelope::mounts::{FileType, MountInfo, MountKind};
pub(crate) use portcullis_envelope::views;
pub use portcullis_envelope::{BodyState, Phase, docker, go_struct};

/// The action names of Portcullis's route table (`Request::action`), for
/// checking a policy's configuration at load: `actions::all()`,
/// `actions::is_action(name)`, and `actions::UNKNOWN` for a call no route
/// matches.
pub mod actions {
    pub use portcullis_envelope::routes::{UNKNOWN, actions as all, is_action};
}
pub use request::{BodyError, Request, Response};
