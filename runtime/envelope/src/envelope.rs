//! The input envelope: one JSON document per Docker API call, built once
//! from the wire request and handed unchanged to every module of the chain.
//!
//! What is cheap is built eagerly (route, query, body state), and so is
//! the caller (the client certificate is decoded and checked against the
//! user Docker reports); what costs (the host's mount list with its path
//! lookups, the full JSON, each decoded view) is built on first demand and
//! kept for the rest of the request, so it costs once and only if a module asks.
//!
//! Field names here are part of ABI v1 (DESIGN.md): add fields, never rename.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::docker::{
    ContainerCreate, ContainerStart, ContainerUpdate, ExecCreate, NetworkCreate, PluginPrivileges,
    ServiceCreate, VolumeCreate,
};
use crate::identity::{self, IdentityError, PeerCertificate, peer_certificate};
use crate::mounts::{
    HostRoot, MountInfo, container_mounts, plugin_mounts, plugin_set_mounts, service_mounts,
    volume_mounts,
};
use crate::redact::{Redacted, redact_body, redact_headers};
use crate::routes;
use crate::uri::{self, UriError};
use crate::views::{View, ViewKind};
use crate::wire::AuthzRequest;
use crate::{BodyState, Phase};

/// The response half of the envelope (`phase = "response"` only).
#[derive(Debug, Clone, Serialize)]
pub struct ResponseView {
    /// HTTP status the daemon answered with; absent for streamed, hijacked and failed calls.
    pub status: Option<i64>,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// Response body as JSON, when it is JSON.
    pub body: Option<Box<RawValue>>,
    /// What became of the response body.
    pub body_state: BodyState,
}

/// The input envelope (ABI v1). Built by [`Envelope::from_authz`]; its
/// JSON for modules by [`Envelope::full_json`] (every field) or
/// [`Envelope::core_json`] (for modules that fetch views), each once.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `request` or `response`.
    pub phase: Phase,
    /// User as Docker reports it (TLS client certificate CN); `None` only for
    /// a caller Docker did not authenticate (the host refuses a call Docker
    /// authenticated without naming a user, or whose certificate names another).
    pub user: Option<String>,
    /// Authentication method as Docker reports it (`TLS`), if any.
    pub authn_method: Option<String>,
    /// HTTP method of the Docker API call.
    pub method: String,
    /// The raw request-target, exactly as Docker sent it.
    pub uri: String,
    /// Percent-decoded, cleaned path without `/vX.Y` and query: what Docker routes on.
    pub path: String,
    /// API version from the `/vX.Y` prefix, if present.
    pub api_version: Option<String>,
    /// Query parameters, first value per key.
    pub query: BTreeMap<String, String>,
    /// Stable action name from the route table; `"unknown"` when no route matches.
    pub action: &'static str,
    /// Path parameters of the matched route (`{"name": "bg"}`).
    pub params: BTreeMap<&'static str, String>,
    /// Request headers as Docker forwarded them. Client-controlled: never identity.
    pub headers: BTreeMap<String, String>,
    /// The request body as JSON, when Docker forwarded a JSON body (secrets masked).
    pub body: Option<Box<RawValue>>,
    /// What became of the request body.
    pub body_state: BodyState,
    /// The daemon's answer (`phase = "response"` only).
    pub response: Option<ResponseView>,
    /// The first client certificate as Docker forwarded it (base64 of PEM):
    /// the one Go verified; the rest are the chain the client chose to send.
    certificate: Option<String>,
    /// Where the host's paths are, for resolving mount sources.
    host_root: HostRoot,
    /// What is built on first demand.
    lazy: Lazy,
}

/// The parts of an envelope built on first demand, each at most once.
#[derive(Debug, Clone, Default)]
struct Lazy {
    /// The body decoded as `containers/create` (mounts and its view share it).
    create: OnceLock<Option<Result<ContainerCreate, String>>>,
    certificate: OnceLock<Option<Result<PeerCertificate, String>>>,
    mounts: OnceLock<Option<Vec<MountInfo>>>,
    full_json: OnceLock<SerializedEnvelope>,
    core_json: OnceLock<SerializedEnvelope>,
    views: [OnceLock<View>; ViewKind::ALL.len()],
}

/// Why a wire request could not become an envelope. The server answers
/// these with Docker's `Err`, so the call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// A field Docker always sends is missing.
    MissingField(&'static str),
    /// A body is not valid standard base64.
    BadBase64(&'static str),
    /// The request-target cannot be decoded.
    BadUri(UriError),
    /// Who called cannot be established: Docker authenticated the caller
    /// but names no user, or its certificate names another than `User`.
    Identity(IdentityError),
    /// A form-encoded body, whose values Go's `ParseForm` puts before the
    /// query's (so `r.Form.Get` reads them), while Docker forwards no
    /// non-JSON body to plugins: the parameters the daemon acts on are unseen.
    FormBody,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::MissingField(field) => write!(f, "request has no {field}"),
            EnvelopeError::BadBase64(field) => write!(f, "{field} is not valid base64"),
            EnvelopeError::BadUri(err) => err.fmt(f),
            EnvelopeError::Identity(err) => err.fmt(f),
            EnvelopeError::FormBody => f.write_str(
                "a form-encoded body overrides the query parameters, and Docker does not forward it to plugins",
            ),
        }
    }
}

impl std::error::Error for EnvelopeError {}

impl Envelope {
    /// Builds the envelope for one authz call.
    pub fn from_authz(request: AuthzRequest, phase: Phase) -> Result<Self, EnvelopeError> {
        let method = request
            .request_method
            .ok_or(EnvelopeError::MissingField("RequestMethod"))?;
        let raw_uri = request
            .request_uri
            .ok_or(EnvelopeError::MissingField("RequestUri"))?;
        let parsed = uri::parse(&raw_uri).map_err(EnvelopeError::BadUri)?;
        let route = routes::match_route(&method, &parsed.path);
        let mut headers = request.request_headers.unwrap_or_default();
        if overrides_query(&method, &headers) {
            return Err(EnvelopeError::FormBody);
        }

        let (body, body_state) = decode_body(
            request.request_body.as_deref(),
            &headers,
            "RequestBody",
            route.action,
        )?;
        redact_headers(&mut headers);

        let response = match phase {
            Phase::Request => None,
            Phase::Response => {
                let mut headers = request.response_headers.unwrap_or_default();
                let (body, body_state) = decode_body(
                    request.response_body.as_deref(),
                    &headers,
                    "ResponseBody",
                    route.action,
                )?;
                redact_headers(&mut headers);
                Some(ResponseView {
                    status: request.response_status_code,
                    headers,
                    body,
                    body_state,
                })
            }
        };

        let caller = identity::caller(
            request.user,
            request.user_authn_method,
            request.request_peer_certificates,
        )
        .map_err(EnvelopeError::Identity)?;
        let (certificate, decoded) = caller.certificate.unzip();
        let lazy = Lazy {
            certificate: OnceLock::from(decoded.map(Ok)),
            ..Lazy::default()
        };

        Ok(Envelope {
            phase,
            user: caller.user,
            authn_method: caller.authn_method,
            method,
            uri: raw_uri,
            path: parsed.path,
            api_version: parsed.api_version,
            query: parsed.query,
            action: route.action,
            params: route.params.into_iter().collect(),
            headers,
            body,
            body_state,
            response,
            certificate,
            host_root: HostRoot::native(),
            lazy,
        })
    }

    /// Resolves mount sources inside `root` (the host's `/` mounted there,
    /// as a managed plugin sees it) instead of on this process's `/`.
    pub fn with_host_root(mut self, root: HostRoot) -> Self {
        self.host_root = root;
        self.lazy.mounts = OnceLock::new();
        self
    }

    /// The client certificate that authenticated the call, decoded as Go
    /// reads it; its common name is [`Envelope::user`].
    pub fn peer_certificate(&self) -> Option<&PeerCertificate> {
        self.certificate_result()?.as_ref().ok()
    }

    /// Why the client certificate Docker forwarded could not be decoded, if it
    /// could not (never, for an envelope [`Envelope::from_authz`] built: it
    /// refuses such calls).
    pub fn peer_certificate_error(&self) -> Option<&str> {
        self.certificate_result()?
            .as_ref()
            .err()
            .map(String::as_str)
    }

    fn certificate_result(&self) -> Option<&Result<PeerCertificate, String>> {
        self.lazy
            .certificate
            .get_or_init(|| self.certificate.as_deref().map(peer_certificate))
            .as_ref()
    }

    /// For calls that create containers (`container_create`, a pre-1.24
    /// `container_start` body, `service_create`/`service_update`), volumes
    /// (`volume_create`) or managed plugins (`plugin_install`/`plugin_upgrade`,
    /// `plugin_set`): every mount, host paths resolved (on first use, once).
    /// `None` for other calls and unreadable bodies.
    pub fn mounts(&self) -> Option<&[MountInfo]> {
        self.lazy
            .mounts
            .get_or_init(|| match self.action {
                "container_create" => match self.container_create()? {
                    Ok(create) => Some(container_mounts(
                        &create.host_config,
                        create.config.volumes.keys(),
                        &self.host_root,
                    )),
                    Err(_) => None,
                },
                action => mounts_of(action, self.body.as_deref()?, &self.host_root),
            })
            .as_deref()
    }

    /// The body decoded as `containers/create`, once (`None`: no body).
    fn container_create(&self) -> Option<&Result<ContainerCreate, String>> {
        self.lazy
            .create
            .get_or_init(|| {
                let body = self.body.as_deref()?;
                Some(serde_json::from_str(body.get()).map_err(|e| e.to_string()))
            })
            .as_ref()
    }

    /// The whole envelope as JSON, without `config`: what a module that
    /// fetches no views receives (built on first use, shared by the chain).
    pub fn full_json(&self) -> &SerializedEnvelope {
        self.lazy.full_json.get_or_init(|| {
            let full = FullEnvelope {
                phase: self.phase,
                user: self.user.as_deref(),
                authn_method: self.authn_method.as_deref(),
                method: &self.method,
                uri: &self.uri,
                path: &self.path,
                api_version: self.api_version.as_deref(),
                query: &self.query,
                action: self.action,
                params: &self.params,
                headers: &self.headers,
                body: self.body.as_deref(),
                body_state: self.body_state,
                peer_certificate: self.peer_certificate(),
                peer_certificate_error: self.peer_certificate_error(),
                mounts: self.mounts(),
                response: self.response.as_ref(),
            };
            SerializedEnvelope::of(&full)
        })
    }

    /// The envelope of a module that fetches views: the call's identity,
    /// route and body state, and `"views": 1`; the rest through [`Envelope::view`].
    pub fn core_json(&self) -> &SerializedEnvelope {
        self.lazy.core_json.get_or_init(|| {
            let core = CoreEnvelope {
                phase: self.phase,
                user: self.user.as_deref(),
                authn_method: self.authn_method.as_deref(),
                method: &self.method,
                uri: &self.uri,
                path: &self.path,
                api_version: self.api_version.as_deref(),
                query: &self.query,
                action: self.action,
                params: &self.params,
                body_state: self.body_state,
                response: self.response.as_ref().map(|r| CoreResponse {
                    status: r.status,
                    body_state: r.body_state,
                }),
                views: 1,
            };
            SerializedEnvelope::of(&core)
        })
    }

    /// One view of the call (built on first demand, then shared).
    pub fn view(&self, kind: ViewKind) -> &View {
        self.lazy.views[kind.index()].get_or_init(|| self.build_view(kind))
    }

    fn build_view(&self, kind: ViewKind) -> View {
        let response = self.response.as_ref();
        match kind {
            ViewKind::Headers => encode(&self.headers),
            ViewKind::Body => raw(self.body.as_deref()),
            ViewKind::Mounts => self.mounts().map_or(View::Absent, encode),
            ViewKind::PeerCertificate => match self.certificate_result() {
                None => View::Absent,
                Some(Ok(certificate)) => encode(certificate),
                Some(Err(why)) => View::Malformed(why.clone()),
            },
            ViewKind::ResponseHeaders => response.map_or(View::Absent, |r| encode(&r.headers)),
            ViewKind::ResponseBody => raw(response.and_then(|r| r.body.as_deref())),
            ViewKind::ContainerCreate => match self.container_create() {
                None => View::Absent,
                Some(Ok(create)) => encode(create),
                Some(Err(why)) => View::Malformed(why.clone()),
            },
            ViewKind::ContainerStart => self.typed::<ContainerStart>(),
            ViewKind::ExecCreate => self.typed::<ExecCreate>(),
            ViewKind::ContainerUpdate => self.typed::<ContainerUpdate>(),
            ViewKind::VolumeCreate => self.typed::<VolumeCreate>(),
            ViewKind::NetworkCreate => self.typed::<NetworkCreate>(),
            ViewKind::ServiceCreate => self.typed::<ServiceCreate>(),
            ViewKind::PluginPrivileges => self.typed::<PluginPrivileges>(),
        }
    }

    /// The body decoded as `T` the way dockerd decodes it, in canonical form.
    fn typed<T: DeserializeOwned + Serialize>(&self) -> View {
        let Some(body) = self.body.as_deref() else {
            return View::Absent;
        };
        match serde_json::from_str::<T>(body.get()) {
            Ok(value) => encode(&value),
            Err(err) => View::Malformed(err.to_string()),
        }
    }

    /// The whole envelope as JSON (a copy of [`Envelope::full_json`]).
    pub fn to_json(&self) -> SerializedEnvelope {
        self.full_json().clone()
    }
}

/// A value as MessagePack with named fields (what every non-JSON view is).
fn encode<T: Serialize + ?Sized>(value: &T) -> View {
    match rmp_serde::to_vec_named(value) {
        Ok(bytes) => View::Bytes(bytes),
        // Maps of strings and the crate's own types always encode.
        Err(err) => View::Malformed(err.to_string()),
    }
}

/// A body view: the JSON text itself.
fn raw(body: Option<&RawValue>) -> View {
    body.map_or(View::Absent, |b| View::Bytes(b.get().as_bytes().to_vec()))
}

/// Every field of ABI v1's envelope, borrowed for one serialization.
#[derive(Serialize)]
struct FullEnvelope<'a> {
    phase: Phase,
    user: Option<&'a str>,
    authn_method: Option<&'a str>,
    method: &'a str,
    uri: &'a str,
    path: &'a str,
    api_version: Option<&'a str>,
    query: &'a BTreeMap<String, String>,
    action: &'static str,
    params: &'a BTreeMap<&'static str, String>,
    headers: &'a BTreeMap<String, String>,
    body: Option<&'a RawValue>,
    body_state: BodyState,
    peer_certificate: Option<&'a PeerCertificate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_certificate_error: Option<&'a str>,
    mounts: Option<&'a [MountInfo]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a ResponseView>,
}

/// The envelope of a module that fetches views.
#[derive(Serialize)]
struct CoreEnvelope<'a> {
    phase: Phase,
    user: Option<&'a str>,
    authn_method: Option<&'a str>,
    method: &'a str,
    uri: &'a str,
    path: &'a str,
    api_version: Option<&'a str>,
    query: &'a BTreeMap<String, String>,
    action: &'static str,
    params: &'a BTreeMap<&'static str, String>,
    body_state: BodyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<CoreResponse>,
    views: u32,
}

/// The response phase in a core envelope: headers and body are views.
#[derive(Serialize)]
struct CoreResponse {
    status: Option<i64>,
    body_state: BodyState,
}

/// A serialized envelope, to which each module's own `config` is prepended
/// without re-serializing the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializedEnvelope {
    bytes: Vec<u8>,
}

impl SerializedEnvelope {
    /// Serializes `envelope` (a JSON object with at least one field).
    fn of(envelope: &impl Serialize) -> SerializedEnvelope {
        // Serializing strings, maps and raw JSON into a Vec cannot fail.
        let bytes = serde_json::to_vec(envelope).unwrap_or_else(|_| b"{}".to_vec());
        SerializedEnvelope { bytes }
    }

    /// The envelope without a `config` field.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The two byte runs that, written back to back, form the envelope with
    /// `"config": <config_json>` as its first field. `config_json` must be
    /// one valid JSON value (see [`ConfigPrefix`]).
    pub fn parts_with<'a>(&'a self, prefix: &'a ConfigPrefix) -> [&'a [u8]; 2] {
        // `bytes` is a JSON object with at least `phase`, so it starts with `{`
        // and the tail after it is non-empty and begins with a field.
        [prefix.as_bytes(), &self.bytes[1..]]
    }

    /// The envelope with `config` spliced in, as one buffer.
    pub fn with_config(&self, prefix: &ConfigPrefix) -> Vec<u8> {
        self.parts_with(prefix).concat()
    }
}

/// `{"config":<module config>,`: computed once per module at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPrefix(Vec<u8>);

impl ConfigPrefix {
    /// The prefix for a module whose config is `config`.
    pub fn new(config: &serde_json::Value) -> Self {
        let mut bytes = b"{\"config\":".to_vec();
        // Writing a `Value` into a Vec cannot fail.
        serde_json::to_writer(&mut bytes, config)
            .unwrap_or_else(|_| bytes.extend_from_slice(b"null"));
        bytes.push(b',');
        ConfigPrefix(bytes)
    }

    /// The prefix bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The mounts of a call that creates containers (but `containers/create`,
/// whose decoded body is shared), from its (Go-decoded) body.
fn mounts_of(action: &str, body: &RawValue, root: &HostRoot) -> Option<Vec<MountInfo>> {
    match action {
        // API < 1.24 applies the HostConfig of a start body.
        "container_start" => {
            let start: ContainerStart = serde_json::from_str(body.get()).ok()?;
            Some(start.host_config.map_or_else(Vec::new, |host_config| {
                container_mounts(&host_config, [], root)
            }))
        }
        "service_create" | "service_update" => {
            let service: ServiceCreate = serde_json::from_str(body.get()).ok()?;
            Some(service_mounts(&service, root))
        }
        // A managed plugin's `mount` and `device` privileges are host paths.
        "plugin_install" | "plugin_upgrade" => {
            let privileges: PluginPrivileges = serde_json::from_str(body.get()).ok()?;
            Some(plugin_mounts(&privileges, root))
        }
        "plugin_set" => {
            let settings: Vec<String> = serde_json::from_str(body.get()).ok()?;
            Some(plugin_set_mounts(&settings, root))
        }
        // A local volume with `o=bind` is a bind mount waiting to happen.
        "volume_create" => {
            let volume: VolumeCreate = serde_json::from_str(body.get()).ok()?;
            Some(volume_mounts(&volume, root))
        }
        _ => None,
    }
}

/// Decodes a base64 body, classifies it and masks its secrets.
fn decode_body(
    encoded: Option<&str>,
    headers: &BTreeMap<String, String>,
    field: &'static str,
    action: &str,
) -> Result<(Option<Box<RawValue>>, BodyState), EnvelopeError> {
    let Some(encoded) = encoded.filter(|b| !b.is_empty()) else {
        return Ok((
            None,
            if had_body(headers) {
                BodyState::NotForwarded
            } else {
                BodyState::Absent
            },
        ));
    };
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| EnvelopeError::BadBase64(field))?;
    // Validate without building a tree: the body is copied verbatim into the envelope.
    let parsed = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<Box<RawValue>>(text.trim()).ok());
    Ok(match parsed.map(|raw| redact_body(action, raw)) {
        Some(Redacted::Unchanged(raw) | Redacted::Masked(raw)) => (Some(raw), BodyState::Present),
        Some(Redacted::Dropped) => (None, BodyState::Redacted),
        None if action == "docker_auth" => (None, BodyState::Redacted),
        None => (None, BodyState::NotJson),
    })
}

/// Whether the daemon reads parameters from the body instead of the query:
/// Go's `ParseForm` parses a `POST`, `PUT` or `PATCH` body whose media type
/// is `application/x-www-form-urlencoded`, and Docker's handlers read
/// `r.Form`, body values first. Go drops `Transfer-Encoding` from the
/// headers Docker forwards, so only a `Content-Length` of 0 proves the
/// body empty.
fn overrides_query(method: &str, headers: &BTreeMap<String, String>) -> bool {
    if !matches!(method, "POST" | "PUT" | "PATCH") {
        return false;
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let form = header("Content-Type").is_some_and(|ct| {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    form && header("Content-Length") != Some("0")
}

/// Whether the headers show that the call carried a body. A forwarded
/// `Content-Length: 0` proves it empty whatever else is sent (the 20.10 CLI
/// sends `Content-Type: text/plain` with it): Go removes `Content-Length`
/// from a chunked request's headers and refuses conflicting lengths.
fn had_body(headers: &BTreeMap<String, String>) -> bool {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    match header("Content-Length") {
        Some("0") => false,
        Some(len) if !len.is_empty() => true,
        _ => header("Content-Type").is_some() || header("Transfer-Encoding").is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str) -> AuthzRequest {
        AuthzRequest {
            request_method: Some(method.into()),
            request_uri: Some(uri.into()),
            ..AuthzRequest::default()
        }
    }

    #[test]
    fn json_body_is_embedded_verbatim() {
        let mut req = request("POST", "/v1.41/containers/create?name=bg");
        req.request_body =
            Some(BASE64.encode(b"{\"Image\":\"mini\",\"HostConfig\":{\"Privileged\":true}}\n"));
        let env = Envelope::from_authz(req, Phase::Request).unwrap();
        assert_eq!(env.body_state, BodyState::Present);
        assert_eq!(
            env.body.unwrap().get(),
            r#"{"Image":"mini","HostConfig":{"Privileged":true}}"#
        );
        assert_eq!(env.action, "container_create");
        assert_eq!(env.api_version.as_deref(), Some("1.41"));
    }

    #[test]
    fn body_dropped_by_docker_is_not_forwarded_not_absent() {
        let mut req = request("POST", "/v1.41/volumes/create");
        req.request_headers = Some(BTreeMap::from([(
            "Content-Length".into(),
            "1048715".into(),
        )]));
        let env = Envelope::from_authz(req, Phase::Request).unwrap();
        assert_eq!(env.body_state, BodyState::NotForwarded);

        let mut req = request("POST", "/v1.41/containers/x/start");
        req.request_headers = Some(BTreeMap::from([("Content-Length".into(), "0".into())]));
        assert_eq!(
            Envelope::from_authz(req, Phase::Request)
                .unwrap()
                .body_state,
            BodyState::Absent
        );

        // What the 20.10 CLI sends with `docker start`: an empty body that
        // still names a media type.
        let mut req = request("POST", "/v1.41/containers/x/start");
        req.request_headers = Some(BTreeMap::from([
            ("Content-Length".into(), "0".into()),
            ("Content-Type".into(), "text/plain".into()),
        ]));
        assert_eq!(
            Envelope::from_authz(req, Phase::Request)
                .unwrap()
                .body_state,
            BodyState::Absent
        );
    }

    #[test]
    fn non_json_body_is_flagged() {
        let mut req = request("POST", "/v1.41/volumes/create");
        req.request_body = Some(BASE64.encode(b"not json"));
        let env = Envelope::from_authz(req, Phase::Request).unwrap();
        assert_eq!(
            (env.body.is_none(), env.body_state),
            (true, BodyState::NotJson)
        );
    }

    #[test]
    fn undecodable_requests_are_errors() {
        let mut req = request("POST", "/v1.41/volumes/create");
        req.request_body = Some("***".into());
        assert_eq!(
            Envelope::from_authz(req, Phase::Request).unwrap_err(),
            EnvelopeError::BadBase64("RequestBody")
        );
        let no_method = AuthzRequest {
            request_uri: Some("/info".into()),
            ..Default::default()
        };
        assert_eq!(
            Envelope::from_authz(no_method, Phase::Request).unwrap_err(),
            EnvelopeError::MissingField("RequestMethod")
        );
    }

    #[test]
    fn a_form_body_that_would_override_the_query_is_refused() {
        for content_type in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        ] {
            let mut req = request("POST", "/v1.41/images/create?fromImage=busybox");
            req.request_headers = Some(BTreeMap::from([(
                "Content-Type".into(),
                content_type.into(),
            )]));
            assert_eq!(
                Envelope::from_authz(req, Phase::Request).unwrap_err(),
                EnvelopeError::FormBody
            );
        }
        let mut empty = request("POST", "/v1.41/images/create?fromImage=busybox");
        empty.request_headers = Some(BTreeMap::from([
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("Content-Length".into(), "0".into()),
        ]));
        assert!(Envelope::from_authz(empty, Phase::Request).is_ok());
        let mut get = request("GET", "/v1.41/images/json");
        get.request_headers = Some(BTreeMap::from([(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )]));
        assert!(
            Envelope::from_authz(get, Phase::Request).is_ok(),
            "Go parses form bodies of POST, PUT and PATCH only"
        );
    }

    #[test]
    fn a_views_module_gets_a_small_envelope_and_the_rest_on_demand() {
        let mut req = request("POST", "/v1.41/containers/create?name=x");
        let body =
            r#"{"Image":"busybox","privileged":true,"Binds":["/etc:/e"],"Labels":{"a":"b"}}"#;
        req.request_body = Some(BASE64.encode(body));
        req.request_headers = Some(BTreeMap::from([(
            "Content-Type".into(),
            "application/json".into(),
        )]));
        let env = Envelope::from_authz(req, Phase::Request).unwrap();
        let core: serde_json::Value = serde_json::from_slice(env.core_json().as_bytes()).unwrap();
        assert_eq!(core["views"], 1);
        assert_eq!(core["action"], "container_create");
        assert_eq!(core["body_state"], "present");
        assert!(core.get("body").is_none() && core.get("headers").is_none());
        assert!(env.lazy.mounts.get().is_none(), "nothing built until asked");

        let View::Bytes(bytes) = env.view(ViewKind::ContainerCreate) else {
            panic!("no view")
        };
        let viewed: ContainerCreate = rmp_serde::from_slice(bytes).unwrap();
        let decoded: ContainerCreate = serde_json::from_str(body).unwrap();
        assert_eq!(
            viewed, decoded,
            "the canonical view decodes to what the body decodes to"
        );
        assert!(viewed.host_config.privileged);

        let View::Bytes(bytes) = env.view(ViewKind::Mounts) else {
            panic!("no mounts")
        };
        let mounts: Vec<MountInfo> = rmp_serde::from_slice(bytes).unwrap();
        assert_eq!(mounts[0].resolved.as_deref(), Some("/etc"));
        assert_eq!(env.view(ViewKind::PeerCertificate), &View::Absent);
        assert_eq!(env.view(ViewKind::ResponseBody), &View::Absent);
        assert!(matches!(env.view(ViewKind::ExecCreate), View::Bytes(_)));
        let View::Bytes(raw_body) = env.view(ViewKind::Body) else {
            panic!("no body")
        };
        assert_eq!(raw_body, body.as_bytes());
    }

    #[test]
    fn a_body_that_does_not_decode_as_the_view_is_malformed_with_the_reason() {
        let mut req = request("POST", "/v1.41/containers/create");
        req.request_body = Some(BASE64.encode(r#"{"HostConfig":{"Privileged":"yes"}}"#));
        let env = Envelope::from_authz(req, Phase::Request).unwrap();
        let View::Malformed(why) = env.view(ViewKind::ContainerCreate) else {
            panic!("decoded a string as a bool")
        };
        assert!(why.contains("invalid type"), "{why}");
    }

    #[test]
    fn config_is_spliced_as_the_first_field() {
        let env = Envelope::from_authz(request("GET", "/_ping"), Phase::Request)
            .unwrap()
            .to_json();
        let prefix = ConfigPrefix::new(&serde_json::json!({"users": ["alice"]}));
        let doc: serde_json::Value = serde_json::from_slice(&env.with_config(&prefix)).unwrap();
        assert_eq!(doc["config"]["users"][0], "alice");
        assert_eq!(doc["path"], "/_ping");
        assert_eq!(doc["phase"], "request");
    }

    #[test]
    fn response_phase_carries_the_daemon_answer() {
        let mut req = request("POST", "/v1.41/containers/create");
        req.response_status_code = Some(201);
        req.response_body = Some(BASE64.encode(b"{\"Id\":\"0ef3\"}"));
        let env = Envelope::from_authz(req, Phase::Response).unwrap();
        let response = env.response.unwrap();
        assert_eq!(response.status, Some(201));
        assert_eq!(response.body.unwrap().get(), r#"{"Id":"0ef3"}"#);
    }
}
