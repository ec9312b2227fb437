//! Where a request's larger parts come from: inline in a full envelope
//! (ABI v1 as first published, and the SDK's byte-level tests), or fetched
//! from the host on first use (`portcullis.view`, docs/abi.md), each at
//! most once per request.
//!
//! In the sandbox the views come through the host's imports; natively
//! (tests, the benchmarks' native chain) from the host's own envelope code,
//! so a native test takes the same path as the module in the sandbox.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::views::{View, ViewKind};
use crate::{MountInfo, PeerCertificate};

/// The parts of a request not in a views envelope.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts {
    /// Where missing parts are fetched from; `None`: every part is inline.
    source: Option<Source>,
    headers: OnceLock<BTreeMap<String, String>>,
    body: OnceLock<Option<Box<RawValue>>>,
    certificate: OnceLock<Option<Result<PeerCertificate, String>>>,
    mounts: OnceLock<Option<Vec<MountInfo>>>,
    response_headers: OnceLock<BTreeMap<String, String>>,
    response_body: OnceLock<Option<Box<RawValue>>>,
}

impl Parts {
    /// Parts given inline, from a full envelope.
    pub(crate) fn inline(inline: Inline) -> Parts {
        let certificate = match (inline.peer_certificate, inline.peer_certificate_error) {
            (Some(certificate), _) => Some(Ok(certificate)),
            (None, Some(why)) => Some(Err(why)),
            (None, None) => None,
        };
        Parts {
            source: None,
            headers: OnceLock::from(inline.headers),
            body: OnceLock::from(inline.body),
            certificate: OnceLock::from(certificate),
            mounts: OnceLock::from(inline.mounts),
            response_headers: OnceLock::from(inline.response_headers),
            response_body: OnceLock::from(inline.response_body),
        }
    }

    /// Parts fetched from `source` on first use.
    pub(crate) fn fetched(source: Source) -> Parts {
        Parts {
            source: Some(source),
            ..Parts::default()
        }
    }

    /// Whether typed bodies come decoded from the host.
    pub(crate) fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }

    pub(crate) fn headers(&self) -> &BTreeMap<String, String> {
        self.headers
            .get_or_init(|| self.decoded(ViewKind::Headers).unwrap_or_default())
    }

    pub(crate) fn body(&self) -> Option<&RawValue> {
        self.body
            .get_or_init(|| self.json(ViewKind::Body))
            .as_deref()
    }

    pub(crate) fn certificate(&self) -> Option<&Result<PeerCertificate, String>> {
        self.certificate
            .get_or_init(|| match self.fetch(ViewKind::PeerCertificate)? {
                View::Bytes(bytes) => Some(decode(&bytes)),
                View::Malformed(why) => Some(Err(why)),
                View::Absent => None,
            })
            .as_ref()
    }

    pub(crate) fn mounts(&self) -> Option<&[MountInfo]> {
        self.mounts
            .get_or_init(|| self.decoded(ViewKind::Mounts))
            .as_deref()
    }

    pub(crate) fn response_headers(&self) -> &BTreeMap<String, String> {
        self.response_headers
            .get_or_init(|| self.decoded(ViewKind::ResponseHeaders).unwrap_or_default())
    }

    pub(crate) fn response_body(&self) -> Option<&RawValue> {
        self.response_body
            .get_or_init(|| self.json(ViewKind::ResponseBody))
            .as_deref()
    }

    /// The view of `kind` from the source (`None` when the parts are inline).
    fn fetch(&self, kind: ViewKind) -> Option<View> {
        self.source.as_ref().map(|source| source.fetch(kind))
    }

    /// A MessagePack view, decoded; `None` when absent or unreadable.
    fn decoded<T: DeserializeOwned>(&self, kind: ViewKind) -> Option<T> {
        match self.fetch(kind)? {
            View::Bytes(bytes) => decode(&bytes).ok(),
            View::Absent | View::Malformed(_) => None,
        }
    }

    /// A JSON view (a body), as raw JSON.
    fn json(&self, kind: ViewKind) -> Option<Box<RawValue>> {
        match self.fetch(kind)? {
            View::Bytes(bytes) => String::from_utf8(bytes)
                .ok()
                .and_then(|text| RawValue::from_string(text).ok()),
            View::Absent | View::Malformed(_) => None,
        }
    }
}

/// Decodes a MessagePack view.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

/// What a full envelope carries inline.
#[derive(Debug, Default)]
pub(crate) struct Inline {
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Option<Box<RawValue>>,
    pub(crate) peer_certificate: Option<PeerCertificate>,
    pub(crate) peer_certificate_error: Option<String>,
    pub(crate) mounts: Option<Vec<MountInfo>>,
    pub(crate) response_headers: BTreeMap<String, String>,
    pub(crate) response_body: Option<Box<RawValue>>,
}

/// Who answers `view(kind)`.
#[derive(Clone)]
pub(crate) enum Source {
    /// The host, through `portcullis.view` (in the sandbox).
    #[cfg(target_arch = "wasm32")]
    Host,
    /// The host's own envelope code, in this process (tests, benchmarks).
    #[cfg(not(target_arch = "wasm32"))]
    Native(std::sync::Arc<portcullis_envelope::Envelope>),
}

impl Source {
    /// The view of `kind`.
    pub(crate) fn fetch(&self, kind: ViewKind) -> View {
        match self {
            #[cfg(target_arch = "wasm32")]
            Source::Host => crate::abi::wasm::view(kind),
            #[cfg(not(target_arch = "wasm32"))]
            Source::Native(envelope) => envelope.view(kind).clone(),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("views")
    }
}
