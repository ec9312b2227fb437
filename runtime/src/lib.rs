//! Portcullis: a Docker authorization plugin whose policies are sandboxed
//! WebAssembly modules.
//!
//! The data path of one request, top to bottom: [`server`] decodes Docker's
//! call and builds the envelope (`portcullis-envelope`), [`chain`] runs each
//! module in order through [`sandbox`], and the first deny (or failure)
//! becomes the answer. [`config`] turns `plugin.toml` into what the chain is
//! built from. See DESIGN.md in the repository for the whole picture.

pub mod admin;
pub mod admin_client;
pub mod chain;
pub mod check;
pub mod config;
pub mod decision_log;
pub mod docker_lookup;
pub mod host_root;
mod log_escape;
pub mod logging;
pub mod lookup_mark;
pub mod managed_plugin;
pub mod metrics;
pub mod reload;
pub mod sandbox;
pub mod self_protection;
pub mod server;
pub mod socket;
pub mod state;
pub mod state_admin;
pub mod systemd;
pub mod watch;

pub use portcullis_envelope as envelope;
