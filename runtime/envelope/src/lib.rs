//! What Portcullis knows about Docker, written once for the host and for
//! policies: the authz wire types ([`wire`]), the route table ([`routes`]),
//! request bodies decoded the way the daemon decodes them ([`docker`]), and
//! the one JSON document ("the envelope") each policy module receives.
//!
//! The host decodes each `AuthZPlugin.AuthZReq`/`AuthZRes` body into
//! [`wire::AuthzRequest`], turns it into an `Envelope` once (feature
//! `host`), and serializes it once per request. The guest SDK uses the same
//! code natively, so a policy's unit tests see byte-for-byte what the policy
//! sees inside the sandbox.

pub mod docker;
#[cfg(feature = "host")]
pub mod envelope;
pub mod identity;
pub mod mounts;
#[cfg(feature = "host")]
pub mod redact;
pub mod routes;
pub mod uri;
pub mod views;
pub mod wire;

#[cfg(feature = "host")]
pub use envelope::{Envelope, EnvelopeError, ResponseView};
pub use envelope_types::{BodyState, Phase};
pub use wire::{ActivateResponse, AuthzAnswer, AuthzRequest};

/// Envelope vocabulary shared with guests.
mod envelope_types {
    use serde::{Deserialize, Serialize};

    /// Which of Docker's two authorization calls this is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Phase {
        /// `AuthZPlugin.AuthZReq`: before the daemon handles the call.
        Request,
        /// `AuthZPlugin.AuthZRes`: after the daemon handled it, before the client sees the answer.
        Response,
    }

    /// What became of a body between the Docker client and the plugin.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum BodyState {
        /// Forwarded and valid JSON: `body` holds it.
        Present,
        /// The call had no body.
        Absent,
        /// The call had a body but Docker did not forward it (not JSON, or ≥ 1 MiB).
        /// A policy cannot see what the daemon will act on: treat as a deny.
        NotForwarded,
        /// Forwarded, but not JSON (or not UTF-8).
        NotJson,
        /// Withheld by the host because it carries credentials (`POST /auth`).
        Redacted,
        /// A state this version does not know (sent by a newer host).
        #[serde(other)]
        Unknown,
    }
}
