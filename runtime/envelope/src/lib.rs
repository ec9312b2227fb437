//! What Docker sends an authorization plugin, and the one JSON document
//! ("the envelope") Portcullis hands to every policy module for it.
//!
//! This crate sits between the socket and the chain: the host decodes each
//! `AuthZPlugin.AuthZReq`/`AuthZRes` body into [`wire::AuthzRequest`], turns
//! it into an [`Envelope`] once, and serializes that once per request. The
//! guest SDK uses the same code natively, so a policy's unit tests see
//! byte-for-byte what the policy sees inside the sandbox.

pub mod envelope;
pub mod routes;
pub mod uri;
pub mod wire;

pub use envelope::{BodyState, Envelope, EnvelopeError, Phase, ResponseView};
pub use wire::{ActivateResponse, AuthzAnswer, AuthzRequest};
