//! Workspace-level integration tests: the real `portcullis` binary on a real
//! Unix socket, real wasm built from guests/ and tests/guests/, and a real
//! dockerd (docker.rs).

mod guest_build;
mod util;

mod cli;
mod docker;
mod examples;
mod hostile;
mod instances;
mod protocol;
mod reload;
