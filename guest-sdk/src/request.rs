//! The request a policy sees: the host's input envelope (ABI v1), with the
//! body kept as raw JSON until the policy asks for a typed view of it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::docker::{
    ContainerCreate, ContainerStart, ContainerUpdate, ExecCreate, HostConfig, ImageBuild,
    ImageCreate, NetworkCreate, PluginPrivileges, ServiceCreate, VolumeCreate,
};
use crate::{BodyState, MountInfo, PeerCertificate};

/// Which of Docker's two authorization calls this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the daemon handles the call (`AuthZReq`).
    Request,
    /// After the daemon handled it (`AuthZRes`).
    Response,
}

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
        }
    }
}

impl std::error::Error for BodyError {}

/// The daemon's answer, in the response phase.
#[derive(Debug, Clone, Deserialize)]
pub struct Response {
    /// HTTP status, when the daemon set one (absent for streams and failures).
    pub status: Option<i64>,
    /// Response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    /// What became of the response body.
    pub body_state: BodyState,
}

impl Response {
    /// The response body as raw JSON text, if it was JSON.
    pub fn body_json(&self) -> Option<&str> {
        self.body.as_deref().map(RawValue::get)
    }
}

/// One Docker API call as a policy sees it.
///
/// Invariant: built only from an envelope the host (or the SDK's test
/// helpers, which use the host's own code) produced; the body is raw JSON
/// that typed views decode on demand, Go-style.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
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
    response: Option<Response>,
}

impl Request {
    /// Parses an input envelope (the bytes the host passes to `portcullis_authorize`).
    pub fn from_envelope(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// `request` (AuthZReq) or `response` (AuthZRes).
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The user Docker authenticated (TLS client certificate CN); `None` on an
    /// unauthenticated socket. The only identity a client cannot forge.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The TLS client certificate that authenticated the call, decoded by the
    /// host (CN, O, OU, SANs). `None` on an unauthenticated socket.
    pub fn peer_certificate(&self) -> Option<&PeerCertificate> {
        self.peer_certificate.as_ref()
    }

    /// Why the client certificate Docker forwarded could not be decoded, if it could not.
    pub fn peer_certificate_error(&self) -> Option<&str> {
        self.peer_certificate_error.as_deref()
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
        self.headers
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
        self.body.as_deref().map(RawValue::get)
    }

    /// Decodes the body into `T`; a missing body is an error, never a default.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let raw = self
            .body
            .as_deref()
            .ok_or(BodyError::Missing(self.body_state))?;
        serde_json::from_str(raw.get()).map_err(|e| BodyError::Malformed(e.to_string()))
    }

    /// The body of `POST /containers/create`.
    pub fn container_create(&self) -> Result<ContainerCreate, BodyError> {
        self.body()
    }

    /// The body of `POST /containers/{name}/exec`.
    pub fn exec_create(&self) -> Result<ExecCreate, BodyError> {
        self.body()
    }

    /// The body of `POST /containers/{name}/update`.
    pub fn container_update(&self) -> Result<ContainerUpdate, BodyError> {
        self.body()
    }

    /// The body of `POST /volumes/create`.
    pub fn volume_create(&self) -> Result<VolumeCreate, BodyError> {
        self.body()
    }

    /// The body of `POST /networks/create`.
    pub fn network_create(&self) -> Result<NetworkCreate, BodyError> {
        self.body()
    }

    /// The body of `POST /services/create` or `/services/{id}/update`.
    pub fn service_create(&self) -> Result<ServiceCreate, BodyError> {
        self.body()
    }

    /// The parameters of `POST /images/create` (a pull or an import); they
    /// live in the query, so this cannot fail.
    pub fn image_create(&self) -> ImageCreate {
        ImageCreate::from_query(&self.query)
    }

    /// The query parameters of `POST /build` (its tar body is never forwarded).
    pub fn image_build(&self) -> ImageBuild {
        ImageBuild::from_query(&self.query)
    }

    /// The privileges granted by `POST /plugins/pull` or `/plugins/{name}/upgrade`.
    pub fn plugin_privileges(&self) -> Result<PluginPrivileges, BodyError> {
        self.body()
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
        match (&self.mounts, self.body_state) {
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
            _ => self.body::<ContainerStart>().map(|start| start.host_config),
        }
    }

    /// The daemon's answer, in the response phase.
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
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
