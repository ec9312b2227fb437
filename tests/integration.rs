//! Workspace-level integration tests: the real `portcullis` binary on a real
//! Unix socket, real wasm built from guests/ and tests/guests/, and a real
//! dockerd (docker.rs), and the SDK checked against dockerd 20.10 and 26.1
//! (differential.rs).

mod dockerd;
mod guest_build;
mod util;

mod cli;
mod decision_log;
mod differential;
mod docker;
mod everyday;
mod examples;
mod hostile;
mod identity;
mod instances;
mod laundering;
mod managed_plugin;
mod moby_authz;
mod operations;
mod options;
mod packaging;
mod protocol;
mod reload;
mod self_protection;
mod state;
mod tls_e2e;
mod views;
