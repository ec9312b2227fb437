//! The request a policy sees: the host's input envelope (ABI v1). The
//! body, headers, mounts and certificate are read only when the policy
//! asks: from the envelope itself, or fetched from the host as views
//! (`parts.rs`), with typed bodies decoded once by the host.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::docker::{
    ContainerCreate, ContainerStart, ContainerUpdate, ExecCreate, HostConfig, ImageBuild,
    ImageCreate, NetworkCreate, PluginPrivileges, ServiceCreate, VolumeCreate,
};
use crate::parts::{Inline, Parts, Source, decode};
use crate::views::{View, ViewKind};
use crate::{BodyState, MountInfo, PeerCertificate, Phase};

/// `GET` routes that change something despite the method.
const WRITING_GETS: &[&str] = &["container_attach_websocket"];

/// Why a typed view of a body is unavailable. Converting it into a
/// [`Decision`](crate::Decision) (or returning it with `?`) denies the call:
/// a policy never judges a body it could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The call carries no body that could be read (absent, not forwarded, not JSON).
    Missing(BodyState),
    /// The body does not decode as the expected Docker type.
    Malformed(String),
    /// The daemon's response body is not JSON of the expected shape.
    Response(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Missing(BodyState::NotForwarded) => f.write_str(
                "request body was not forwarded to the plugin (not JSON or too large); refusing to judge it unseen",
            ),
            BodyError::Missing(BodyState::Redacted) => f.write_str("request body was withheld because it carries credentials"),
            BodyError::Missing(state) => write!(f, "request body is required but is {state:?}"),
            BodyError::Malformed(err) => write!(f, "request body does not decode: {err}"),
            BodyError::Response(err) => write!(f, "response body: {err}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// The daemon's answer, in the response phase.
#[derive(Debug, Clone)]
pub struct Response<'a> {
    /// HTTP status, when the daemon set one (absent for streams and failures).
    pub status: Option<i64>,
    /// Response headers.
    pub headers: &'a BTreeMap<String, String>,
    body: Option<&'a RawValue>,
    /// What became of the response body.
    pub body_state: BodyState,
}

impl Response<'_> {
    /// The response body as raw JSON text, if it was JSON.
    pub fn body_json(&self) -> Option<&str> {
        self.body.map(RawValue::get)
    }

    /// The response body decoded as `T` (e.g. `{"Id": …}` after a create).
    /// The daemon wrote it, so plain JSON decoding is exact.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let Some(body) = self.body else {
            return Err(BodyError::Response(format!(
                "not available ({:?})",
                self.body_state
            )));
        };
        serde_json::from_str(body.get()).map_err(|e| BodyError::Response(e.to_string()))
    }
}

/// One Docker API call as a policy sees it.
///
/// Invariant: built only from an envelope the host (or the SDK's test
/// helpers, which use the host's own code) produced; typed views decode
/// the body the way the daemon does, on demand.
#[derive(Debug, Clone)]
pub struct Request {
    config: Option<Box<RawValue>>,
    phase: Phase,
    user: Option<String>,
    authn_method: Option<String>,
    method: String,
    uri: String,
    path: String,
    api_version: Option<String>,
    query: BTreeMap<String, String>,
    action: String,
    params: BTreeMap<String, String>,
    body_state: BodyState,
    response: Option<ResponseHead>,
    parts: Parts,
}

/// The response phase's status and body state (headers and body are parts).
#[derive(Debug, Clone, Copy, Deserialize)]
struct ResponseHead {
    status: Option<i64>,
    body_state: BodyState,
}

/// An envelope as JSON: every field of a full envelope, or the small one
/// with `views` (see `portcullis_envelope::views`).
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    config: Option<Box<RawValue>>,
    phase: Phase,
    user: Option<String>,
    authn_method: Option<String>,
    method: String,
    uri: String,
    path: String,
    api_version: Option<String>,
    #[serde(default)]
    query: BTreeMap<String, String>,
    action: String,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    body_state: BodyState,
    #[serde(default)]
    peer_certificate: Option<PeerCertificate>,
    #[serde(default)]
    peer_certificate_error: Option<String>,
    #[serde(default)]
    mounts: Option<Vec<MountInfo>>,
    #[serde(default)]
    response: Option<WireResponse>,
    /// `1`: the larger parts are views, fetched from the host.
    #[serde(default)]
    views: Option<u32>,
}

#[derive(Deserialize)]
struct WireResponse {
    status: Option<i64>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    body_state: BodyState,
}

impl Request {
    /// Parses an input envelope (the bytes the host passes to
    /// `portcullis_authorize`). A views envelope is answered by the host
    /// in the sandbox; natively it needs the envelope it came from (see
    /// [`testing`](crate::testing)), and is refused without one.
    pub fn from_envelope(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let wire: Wire = serde_json::from_slice(bytes)?;
        let source = match wire.views {
            None => None,
            Some(1) => Some(host_source().ok_or_else(|| {
                <serde_json::Error as serde::de::Error>::custom(
                    "a views envelope, and no host to fetch the views from",
                )
            })?),
            Some(other) => {
                return Err(<serde_json::Error as serde::de::Error>::custom(format!(
                    "views version {other} is newer than this SDK"
                )));
            }
        };
        Ok(Request::from_wire(wire, source))
    }

    /// A request whose parts come from the host's envelope in this process.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn with_native_views(
        envelope: std::sync::Arc<portcullis_envelope::Envelope>,
    ) -> Request {
        let wire: Wire = serde_json::from_slice(envelope.core_json().as_bytes())
            .expect("the host's views envelope is one the SDK reads");
        Request::from_wire(wire, Some(Source::Native(envelope)))
    }

    fn from_wire(wire: Wire, source: Option<Source>) -> Request {
        let response = wire.response.as_ref().map(|r| ResponseHead {
            status: r.status,
            body_state: r.body_state,
        });
        let parts = match source {
            Some(source) => Parts::fetched(source),
            None => {
                let (response_headers, response_body) = match wire.response {
                    Some(r) => (r.headers, r.body),
                    None => (BTreeMap::new(), None),
                };
                Parts::inline(Inline {
                    headers: wire.headers,
                    body: wire.body,
                    peer_certificate: wire.peer_certificate,
                    peer_certificate_error: wire.peer_certificate_error,
                    mounts: wire.mounts,
                    response_headers,
                    response_body,
                })
            }
        };
        Request {
            config: wire.config,
            phase: wire.phase,
            user: wire.user.filter(|u| !u.is_empty()),
            authn_method: wire.authn_method.filter(|m| !m.is_empty()),
            method: wire.method,
            uri: wire.uri,
            path: wire.path,
            api_version: wire.api_version,
            query: wire.query,
            action: wire.action,
            params: wire.params,
            body_state: wire.body_state,
            response,
            parts,
        }
    }

    /// `request` (AuthZReq) or `response` (AuthZRes).
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The user Docker authenticated: the TLS client certificate's CN, as
    /// Go reads it. `None` only for a caller Docker did not authenticate
    /// (the local socket, TCP without TLS): the host refuses calls Docker
    /// authenticated without naming exactly one user, so an authenticated
    /// caller is never anonymous. The only identity a client cannot forge;
    /// but whoever may bind-mount a Docker socket into a container gives
    /// what runs there an anonymous client (`hardening` refuses socket binds).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether Docker authenticated the caller (it reports a user or a method).
    pub fn is_authenticated(&self) -> bool {
        self.user.is_some() || self.authn_method.is_some()
    }

    /// The TLS client certificate that authenticated the call, decoded by the
    /// host as Go reads it (CN, O, OU, SANs); its common name is
    /// [`user`](Self::user). `None` on an unauthenticated socket.
    pub fn peer_certificate(&self) -> Option<&PeerCertificate> {
        self.parts.certificate()?.as_ref().ok()
    }

    /// Why the client certificate Docker forwarded could not be decoded, if it could not.
    pub fn peer_certificate_error(&self) -> Option<&str> {
        self.parts.certificate()?.as_ref().err().map(String::as_str)
    }

    /// How Docker authenticated the user (`TLS`).
    pub fn authn_method(&self) -> Option<&str> {
        self.authn_method.as_deref()
    }

    /// HTTP method (`GET`, `POST`, …).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Whether the call only reads: `GET` or `HEAD`, except the `GET` routes
    /// that write (`container_attach_websocket` streams into a container's stdin).
    pub fn is_read_only(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD")
            && !WRITING_GETS.contains(&self.action.as_str())
    }

    /// Whether the call is one Portcullis cannot classify (`action` is
    /// `unknown`: a route missing from its table, e.g. added by a newer
    /// daemon) and that may change something (any method but `GET`/`HEAD`).
    /// No policy can judge such a call; [`export_policy!`](crate::export_policy)
    /// refuses it before the policy runs unless the policy opts out.
    pub fn is_unknown_write(&self) -> bool {
        self.action == "unknown" && !matches!(self.method.as_str(), "GET" | "HEAD")
    }

    /// The raw request-target Docker forwarded (encoding and query kept).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The path Docker routes on: decoded, cleaned, no `/vX.Y`, no query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The API version of a `/vX.Y` prefix, if any.
    pub fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }

    /// A query parameter (first value, as Docker's handlers read it).
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// The stable action name of the route (`container_create`, …), or `unknown`.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// A path parameter of the route (`param("name")` in `/containers/{name}/start`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A request header, by case-insensitive name. Headers are chosen by the
    /// client: never trust them as identity.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts
            .headers()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// What became of the request body.
    pub fn body_state(&self) -> BodyState {
        self.body_state
    }

    /// The request body as raw JSON text, if Docker forwarded a JSON body.
    pub fn body_json(&self) -> Option<&str> {
        self.parts.body().map(RawValue::get)
    }

    /// Decodes the body into `T`; a missing body is an error, never a default.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let raw = self
            .parts
            .body()
            .ok_or(BodyError::Missing(self.body_state))?;
        serde_json::from_str(raw.get()).map_err(|e| BodyError::Malformed(e.to_string()))
    }

    /// The body as the Docker type of view `kind`: decoded by the host
    /// (once per request, whichever module asks first) when views are on,
    /// from the body's JSON otherwise; the same decoder either way.
    fn typed<T: DeserializeOwned>(&self, kind: ViewKind) -> Result<T, BodyError> {
        let Some(source) = self.parts.source() else {
            return self.inline_typed();
        };
        if self.body_state != BodyState::Present {
            return Err(BodyError::Missing(self.body_state));
        }
        match source.fetch(kind) {
            View::Bytes(bytes) => decode(&bytes).map_err(BodyError::Malformed),
            View::Malformed(why) => Err(BodyError::Malformed(why)),
            View::Absent => Err(BodyError::Missing(self.body_state)),
        }
    }

    /// A typed body from a full envelope (natively: the byte-level tests).
    #[cfg(not(target_arch = "wasm32"))]
    fn inline_typed<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        self.body()
    }

    /// In the sandbox an SDK module declares views, so its envelope is
    /// never full: the JSON decoders of the typed bodies are not built in.
    #[cfg(target_arch = "wasm32")]
    fn inline_typed<T>(&self) -> Result<T, BodyError> {
        Err(BodyError::Malformed(
            "the host sent a full envelope to a module that fetches views".into(),
        ))
    }

    /// The body of `POST /containers/create`.
    pub fn container_create(&self) -> Result<ContainerCreate, BodyError> {
        self.typed(ViewKind::ContainerCreate)
    }

    /// The body of `POST /containers/{name}/exec`.
    pub fn exec_create(&self) -> Result<ExecCreate, BodyError> {
        self.typed(ViewKind::ExecCreate)
    }

    /// The body of `POST /containers/{name}/update`.
    pub fn container_update(&self) -> Result<ContainerUpdate, BodyError> {
        self.typed(ViewKind::ContainerUpdate)
    }

    /// The body of `POST /volumes/create`.
    pub fn volume_create(&self) -> Result<VolumeCreate, BodyError> {
        self.typed(ViewKind::VolumeCreate)
    }

    /// The body of `POST /networks/create`.
    pub fn network_create(&self) -> Result<NetworkCreate, BodyError> {
        self.typed(ViewKind::NetworkCreate)
    }

    /// The body of `POST /services/create` or `/services/{id}/update`.
    pub fn service_create(&self) -> Result<ServiceCreate, BodyError> {
        self.typed(ViewKind::ServiceCreate)
    }

    /// The parameters of `POST /images/create` (a pull or an import); they
    /// live in the query, so this cannot fail.
    pub fn image_create(&self) -> ImageCreate {
        ImageCreate::from_query(&self.query)
    }

    /// The query parameters of `POST /build` (its tar body is never
    /// forwarded), with every `t` the target repeats.
    pub fn image_build(&self) -> ImageBuild {
        let mut build = ImageBuild::from_query(&self.query);
        // The host parsed this target already; it cannot fail here.
        if let Ok(tags) = portcullis_envelope::uri::query_values(&self.uri, "t") {
            build.tags = tags;
        }
        build
    }

    /// The privileges granted by `POST /plugins/pull` or `/plugins/{name}/upgrade`.
    pub fn plugin_privileges(&self) -> Result<PluginPrivileges, BodyError> {
        self.typed(ViewKind::PluginPrivileges)
    }

    /// Every mount of a call that creates containers (`container_create`,
    /// a pre-1.24 `container_start` body, `service_create`/`service_update`),
    /// a volume (`volume_create`) or a managed plugin (`plugin_install`,
    /// `plugin_upgrade`, `plugin_set`), host paths resolved by the host. An empty list for other calls and for
    /// a start without a body; an error when the body those calls need is
    /// missing or unreadable.
    pub fn mounts(&self) -> Result<&[MountInfo], BodyError> {
        let creates = matches!(
            self.action.as_str(),
            "container_create"
                | "service_create"
                | "service_update"
                | "volume_create"
                | "plugin_install"
                | "plugin_upgrade"
                | "plugin_set"
        );
        match (self.parts.mounts(), self.body_state) {
            (Some(mounts), _) => Ok(mounts),
            (None, BodyState::Absent) if self.action == "container_start" => Ok(&[]),
            (None, BodyState::Present) if creates || self.action == "container_start" => Err(
                BodyError::Malformed("the host could not read the mounts of this body".into()),
            ),
            (None, state) if creates || self.action == "container_start" => {
                Err(BodyError::Missing(state))
            }
            (None, _) => Ok(&[]),
        }
    }

    /// The `HostConfig` that API versions before 1.24 apply from the body of
    /// `POST /containers/{name}/start` (decoded as the daemon decodes a
    /// create body: nested `HostConfig` or top-level fields); `Ok(None)`
    /// when the start has no body or the body selects no `HostConfig`.
    pub fn container_start(&self) -> Result<Option<HostConfig>, BodyError> {
        match self.body_state {
            BodyState::Absent => Ok(None),
            _ => self
                .typed::<ContainerStart>(ViewKind::ContainerStart)
                .map(|start| start.host_config),
        }
    }

    /// The daemon's answer, in the response phase.
    pub fn response(&self) -> Option<Response<'_>> {
        self.response.map(|head| Response {
            status: head.status,
            headers: self.parts.response_headers(),
            body: self.parts.response_body(),
            body_state: head.body_state,
        })
    }

    /// The module's raw `config` table from `plugin.toml`, as JSON text.
    pub fn config_json(&self) -> Option<&str> {
        self.config.as_deref().map(RawValue::get)
    }

    /// Replaces the module config (used by the test helpers).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn set_config(&mut self, config: Option<Box<RawValue>>) {
        self.config = config;
    }
}

/// Where views come from when an envelope asks for them.
#[cfg(target_arch = "wasm32")]
fn host_source() -> Option<Source> {
    Some(Source::Host)
}

/// Natively, the envelope [`crate::abi::with_native_views`] lent this thread.
#[cfg(not(target_arch = "wasm32"))]
fn host_source() -> Option<Source> {
    crate::abi::native_views().map(Source::Native)
}
