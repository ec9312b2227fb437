//! The request a policy sees: the host's input envelope (ABI v1), with the
//! body kept as raw JSON until the policy asks for a typed view of it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::docker::{ContainerCreate, ExecCreate, HostConfig};

/// Which of Docker's two authorization calls this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the daemon handles the call (`AuthZReq`).
    Request,
    /// After the daemon handled it (`AuthZRes`).
    Response,
}

/// What became of a body between the Docker client and the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyState {
    /// Forwarded and valid JSON.
    Present,
    /// The call had no body.
    Absent,
    /// The call had a body Docker did not forward (not JSON, or ≥ 1 MiB):
    /// the daemon will act on a body no policy can see.
    NotForwarded,
    /// Forwarded but not JSON.
    NotJson,
    /// A state this SDK does not know (sent by a newer host).
    #[serde(other)]
    Unknown,
}

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

    /// How Docker authenticated the user (`TLS`).
    pub fn authn_method(&self) -> Option<&str> {
        self.authn_method.as_deref()
    }

    /// HTTP method (`GET`, `POST`, …).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Whether the method only reads (`GET` or `HEAD`).
    pub fn is_read_only(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD")
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

    /// The `HostConfig` body that API versions before 1.24 accept on
    /// `POST /containers/{name}/start`; `Ok(None)` when the start has no body.
    pub fn container_start_host_config(&self) -> Result<Option<HostConfig>, BodyError> {
        match self.body_state {
            BodyState::Absent => Ok(None),
            _ => self.body().map(Some),
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
