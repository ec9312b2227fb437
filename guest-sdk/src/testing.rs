//! Native test helpers: requests built exactly as the host builds them.
//!
//! Every helper goes through the host's own envelope code
//! (`portcullis-envelope`), so a policy's unit test sees what the policy
//! sees in the sandbox: the same action names, normalised path and body.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use portcullis_envelope::envelope::ConfigPrefix;
use portcullis_envelope::{AuthzRequest, Envelope};

use crate::{Phase, Request};

/// Asserts that a decision allows.
#[macro_export]
macro_rules! assert_allowed {
    ($decision:expr $(,)?) => {{
        let decision = $crate::IntoDecision::into_decision($decision);
        assert!(decision.is_allowed(), "expected allow, got {decision:?}");
    }};
}

/// Asserts that a decision denies with a message containing `$needle`.
#[macro_export]
macro_rules! assert_denied {
    ($decision:expr, $needle:expr $(,)?) => {{
        let decision = $crate::IntoDecision::into_decision($decision);
        match decision.message() {
            Some(msg) => assert!(
                msg.contains($needle),
                "expected a deny mentioning {:?}, got deny {:?}",
                $needle,
                msg
            ),
            None => panic!("expected a deny mentioning {:?}, got allow", $needle),
        }
    }};
}

/// Where [`fixture`] looks for bare file names: `$PORTCULLIS_FIXTURES`, else
/// this repository's `tests/fixtures/docker-20.10`.
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("PORTCULLIS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/docker-20.10")
        })
}

/// A test certificate from the repository's `tests/fixtures/certs/` (PEM text),
/// e.g. `certificate("carol")`: CN=carol, O=acme, OU=ops, OU=audit.
pub fn certificate(name: &str) -> String {
    let path = fixtures_dir().join("../certs").join(format!("{name}.pem"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The request phase of a captured fixture (`"run_priv__02_POST_containers-create.json"`
/// or a path). Panics with a clear message if it cannot be read: it is a test helper.
pub fn fixture(name: &str) -> Request {
    load_fixture(name, Phase::Request)
}

/// The response phase of a captured fixture (panics if it has none).
pub fn fixture_response(name: &str) -> Request {
    load_fixture(name, Phase::Response)
}

fn load_fixture(name: &str, phase: Phase) -> Request {
    let path = if Path::new(name).components().count() > 1 {
        PathBuf::from(name)
    } else {
        fixtures_dir().join(name)
    };
    let text = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    let wire = authz_request_from_capture(&text, phase)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    request_from_wire(wire, phase, &serde_json::json!({}))
}

/// Reads an AuthZReq/AuthZRes body from either a plain AuthZReq JSON or a
/// capture file (`{"req": {"body": …}, "res": {"body": …}}`).
pub fn authz_request_from_capture(json: &[u8], phase: Phase) -> Result<AuthzRequest, String> {
    AuthzRequest::from_json_or_capture(json, phase == Phase::Response)
}

/// The envelope bytes the host would hand a module with `config`.
pub fn envelope_bytes(wire: AuthzRequest, phase: Phase, config: &serde_json::Value) -> Vec<u8> {
    let envelope = Envelope::from_authz(wire, phase)
        .unwrap_or_else(|e| panic!("the host would refuse this request: {e}"));
    envelope.to_json().with_config(&ConfigPrefix::new(config))
}

/// The request as the policy sees it in the sandbox: the host's small
/// envelope, with views answered by the host's own envelope code.
fn request_from_wire(wire: AuthzRequest, phase: Phase, config: &serde_json::Value) -> Request {
    let envelope = Envelope::from_authz(wire, phase)
        .unwrap_or_else(|e| panic!("the host would refuse this request: {e}"));
    let mut request = Request::with_native_views(Arc::new(envelope));
    if config.as_object().is_none_or(|c| !c.is_empty()) {
        let raw = serde_json::value::to_raw_value(config).expect("a JSON value serializes");
        request.set_config(Some(raw));
    }
    request
}

/// Builds a request as Docker would send it.
///
/// ```
/// use portcullis_sdk::testing::RequestBuilder;
/// let req = RequestBuilder::new("POST", "/v1.41/containers/create")
///     .user("alice")
///     .json_body(r#"{"Image":"busybox","HostConfig":{"Privileged":true}}"#)
///     .build();
/// assert_eq!(req.action(), "container_create");
/// assert!(req.container_create().unwrap().host_config.privileged);
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    wire: AuthzRequest,
    phase: Phase,
    config: serde_json::Value,
}

impl RequestBuilder {
    /// A request-phase call of `method` on the raw request-target `uri`.
    pub fn new(method: &str, uri: &str) -> Self {
        let wire = AuthzRequest {
            request_method: Some(method.to_owned()),
            request_uri: Some(uri.to_owned()),
            request_headers: Some(BTreeMap::new()),
            ..AuthzRequest::default()
        };
        RequestBuilder {
            wire,
            phase: Phase::Request,
            config: serde_json::json!({}),
        }
    }

    /// A `GET`.
    pub fn get(uri: &str) -> Self {
        Self::new("GET", uri)
    }

    /// A `POST` with a JSON body.
    pub fn post_json(uri: &str, body: &str) -> Self {
        Self::new("POST", uri).json_body(body)
    }

    /// The TLS-authenticated user (as Docker reports a client certificate CN).
    pub fn user(mut self, user: &str) -> Self {
        self.wire.user = Some(user.to_owned());
        self.wire.user_authn_method = Some("TLS".to_owned());
        self
    }

    /// A TLS client certificate (PEM text), as Docker forwards it; `user` is
    /// set to its CN the way Docker does. See `tests/fixtures/certs/`.
    pub fn certificate_pem(mut self, pem: &str) -> Self {
        self.wire.request_peer_certificates = Some(vec![BASE64.encode(pem)]);
        self.wire.user_authn_method = Some("TLS".to_owned());
        if let Ok(cert) = portcullis_envelope::identity::peer_certificate(&BASE64.encode(pem)) {
            self.wire.user = cert.common_name;
        }
        self
    }

    /// A request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.wire
            .request_headers
            .get_or_insert_default()
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// A JSON body, forwarded as Docker forwards `application/json` bodies.
    pub fn json_body(mut self, json: &str) -> Self {
        self.wire.request_body = Some(BASE64.encode(json));
        let headers = self.wire.request_headers.get_or_insert_default();
        headers.insert("Content-Type".to_owned(), "application/json".to_owned());
        headers.insert("Content-Length".to_owned(), json.len().to_string());
        self
    }

    /// A body Docker did not forward (not JSON, or ≥ 1 MiB): only its headers remain.
    pub fn unforwarded_body(mut self, content_length: usize) -> Self {
        self.wire.request_body = None;
        let headers = self.wire.request_headers.get_or_insert_default();
        headers.insert("Content-Length".to_owned(), content_length.to_string());
        self
    }

    /// Makes this the response phase with the daemon's `status` and JSON `body`.
    pub fn response(mut self, status: Option<i64>, json_body: Option<&str>) -> Self {
        self.phase = Phase::Response;
        self.wire.response_status_code = status;
        self.wire.response_body = json_body.map(|b| BASE64.encode(b));
        self
    }

    /// The module config, as the host would splice it in from `[module.config]`.
    pub fn config(mut self, config: serde_json::Value) -> Self {
        self.config = config;
        self
    }

    /// The envelope bytes the host would pass to the module (for
    /// `portcullis_entry::authorize`).
    pub fn envelope(&self) -> Vec<u8> {
        envelope_bytes(self.wire.clone(), self.phase, &self.config)
    }

    /// The request as the policy function sees it.
    pub fn build(self) -> Request {
        request_from_wire(self.wire, self.phase, &self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_certificate_reaches_the_policy_decoded() {
        let req = RequestBuilder::get("/v1.41/info")
            .certificate_pem(&certificate("carol"))
            .build();
        assert_eq!(req.user(), Some("carol"));
        let cert = req.peer_certificate().expect("decoded certificate");
        assert_eq!(cert.organizational_units, ["ops", "audit"]);
        assert_eq!(cert.emails, ["carol@acme.test"]);
        assert_eq!(cert.uris, ["spiffe://acme.test/carol"]);
        assert_eq!(cert.ip_addresses, ["10.0.0.7"]);
    }
}

/// The in-memory store behind [`crate::state`] in native tests: one per
/// thread (so tests running in parallel never share one), empty at first.
pub mod state {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use crate::state::StateError;

    #[derive(Default)]
    struct Store {
        entries: BTreeMap<Vec<u8>, Vec<u8>>,
        key_quota: Option<u64>,
    }

    thread_local! {
        static STORE: RefCell<Store> = RefCell::new(Store::default());
    }

    /// Empties this thread's store and lifts its quota.
    pub fn clear() {
        STORE.with(|store| *store.borrow_mut() = Store::default());
    }

    /// Refuses writes that would make the store hold more than `keys` keys,
    /// with [`StateError::TooManyKeys`], as the host does past `state_keys`.
    pub fn set_key_quota(keys: u64) {
        STORE.with(|store| store.borrow_mut().key_quota = Some(keys));
    }

    /// Everything stored, keys as text and values as JSON (a value that
    /// is not JSON appears as a JSON string of its bytes, lossily).
    pub fn entries() -> BTreeMap<String, serde_json::Value> {
        STORE.with(|store| {
            store
                .borrow()
                .entries
                .iter()
                .map(|(key, value)| {
                    let value = serde_json::from_slice(value).unwrap_or_else(|_| {
                        serde_json::Value::String(String::from_utf8_lossy(value).into_owned())
                    });
                    (String::from_utf8_lossy(key).into_owned(), value)
                })
                .collect()
        })
    }

    pub(crate) fn get(key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(STORE.with(|store| store.borrow().entries.get(key).cloned()))
    }

    pub(crate) fn put(key: &[u8], value: Option<&[u8]>) -> Result<(), StateError> {
        STORE.with(|store| {
            let mut store = store.borrow_mut();
            match value {
                Some(value) => {
                    let new_key = !store.entries.contains_key(key);
                    if new_key
                        && store
                            .key_quota
                            .is_some_and(|q| store.entries.len() as u64 >= q)
                    {
                        return Err(StateError::TooManyKeys);
                    }
                    store.entries.insert(key.to_vec(), value.to_vec());
                }
                None => {
                    store.entries.remove(key);
                }
            }
            Ok(())
        })
    }

    pub(crate) fn scan(
        prefix: &[u8],
        limit: usize,
    ) -> Result<crate::state::raw::Entries, StateError> {
        Ok(STORE.with(|store| {
            store
                .borrow()
                .entries
                .range(prefix.to_vec()..)
                .take_while(|(key, _)| key.starts_with(prefix))
                .take(limit)
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        }))
    }
}
