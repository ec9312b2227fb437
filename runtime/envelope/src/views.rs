//! Views: the parts of a call a module fetches on demand instead of
//! receiving them in its envelope (ABI v1 extension, docs/abi.md).
//!
//! A module that exports `portcullis_views_v1` gets a small envelope (the
//! call's identity, route and `body_state`, with `"views": 1`) and asks the
//! host for the rest through `portcullis.view(kind)`: the headers, the raw
//! body, the host's mount list, the client certificate, or a body already
//! decoded the way dockerd decodes it. The host builds each view once per
//! request, on first demand, and shares it across the chain: a module that
//! never reads the body does not pay for it, and no module decodes the
//! body again.
//!
//! Encodings: raw JSON for the bodies (`Body`, `ResponseBody`); MessagePack
//! for the rest, maps keyed by the same names as the JSON envelope, and the
//! typed bodies in their canonical form (Docker's field names, the
//! effective `HostConfig` nested, defaults left out), which the SDK's
//! Go-compatible decoders read unchanged. Unknown keys are skipped and
//! absent ones default, so views grow without breaking older modules.

/// What `portcullis.view` can hand out. The numbers are part of the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ViewKind {
    /// Request headers (credentials masked): MessagePack map.
    Headers = 1,
    /// The request body as forwarded, secrets masked: JSON text.
    Body = 2,
    /// The host's list of every host resource the call mounts: MessagePack array.
    Mounts = 3,
    /// The client certificate, decoded: MessagePack map.
    PeerCertificate = 4,
    /// Response headers (response phase): MessagePack map.
    ResponseHeaders = 5,
    /// The response body (response phase): JSON text.
    ResponseBody = 6,
    /// The body decoded as `POST /containers/create`: canonical MessagePack.
    ContainerCreate = 16,
    /// The body decoded as a pre-1.24 `POST /containers/{name}/start`.
    ContainerStart = 17,
    /// The body decoded as `POST /containers/{name}/exec`.
    ExecCreate = 18,
    /// The body decoded as `POST /containers/{name}/update`.
    ContainerUpdate = 19,
    /// The body decoded as `POST /volumes/create`.
    VolumeCreate = 20,
    /// The body decoded as `POST /networks/create`.
    NetworkCreate = 21,
    /// The body decoded as a service create or update.
    ServiceCreate = 22,
    /// The body decoded as a plugin pull or upgrade's privileges.
    PluginPrivileges = 23,
}

impl ViewKind {
    /// Every kind, in number order.
    pub const ALL: [ViewKind; 14] = [
        ViewKind::Headers,
        ViewKind::Body,
        ViewKind::Mounts,
        ViewKind::PeerCertificate,
        ViewKind::ResponseHeaders,
        ViewKind::ResponseBody,
        ViewKind::ContainerCreate,
        ViewKind::ContainerStart,
        ViewKind::ExecCreate,
        ViewKind::ContainerUpdate,
        ViewKind::VolumeCreate,
        ViewKind::NetworkCreate,
        ViewKind::ServiceCreate,
        ViewKind::PluginPrivileges,
    ];

    /// The kind numbered `number`, if there is one.
    pub fn from_number(number: u32) -> Option<ViewKind> {
        ViewKind::ALL.into_iter().find(|k| *k as u32 == number)
    }

    /// Its position in [`ViewKind::ALL`] (for per-kind caches).
    pub fn index(self) -> usize {
        ViewKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or_default()
    }

    /// Whether the view is the request body decoded as a Docker type.
    pub fn is_typed_body(self) -> bool {
        self as u32 >= 16
    }
}

/// `portcullis.view` status (the high 32 bits of its result): the view's
/// bytes are ready to copy.
pub const VIEW_OK: u32 = 0;
/// The call has no such part (no body, no certificate, not the response phase).
pub const VIEW_ABSENT: u32 = 1;
/// The part exists but does not decode; the bytes are the reason (UTF-8).
pub const VIEW_MALFORMED: u32 = 2;
/// The kind number means nothing to this host.
pub const VIEW_UNKNOWN: u32 = 3;

/// One view as the host built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// The encoded view.
    Bytes(Vec<u8>),
    /// The call has no such part.
    Absent,
    /// The part does not decode, and why.
    Malformed(String),
}

impl View {
    /// The status code and the bytes `portcullis.view` hands out for it.
    pub fn wire(&self) -> (u32, &[u8]) {
        match self {
            View::Bytes(bytes) => (VIEW_OK, bytes),
            View::Absent => (VIEW_ABSENT, &[]),
            View::Malformed(why) => (VIEW_MALFORMED, why.as_bytes()),
        }
    }

    /// The inverse of [`View::wire`]; `None` for a status this version does not know.
    pub fn from_wire(status: u32, bytes: Vec<u8>) -> Option<View> {
        Some(match status {
            VIEW_OK => View::Bytes(bytes),
            VIEW_ABSENT => View::Absent,
            VIEW_MALFORMED => View::Malformed(String::from_utf8_lossy(&bytes).into_owned()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_numbers_round_trip_and_index_the_cache() {
        for (index, kind) in ViewKind::ALL.into_iter().enumerate() {
            assert_eq!(ViewKind::from_number(kind as u32), Some(kind));
            assert_eq!(kind.index(), index);
        }
        assert_eq!(ViewKind::from_number(7), None);
    }
}
