//! The Rego baseline: the benchmarked chain's rules written in Rego
//! (`benches/policy/docker.rego`, which lists what it mirrors) and evaluated
//! in-process by regorus, on the input document opa-docker-authz builds from
//! the same AuthZReq bytes. This is what an OPA-based plugin does per
//! request, without OPA's HTTP round trip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use portcullis_envelope::AuthzRequest;
use portcullis_envelope::mounts::resolve_host_path;
use regorus::{CompiledPolicy, Engine, Value};
use serde_json::{Map, Value as Json, json};

/// The rule a decision is read from (opa-docker-authz's default).
pub const ALLOW_RULE: &str = "data.docker.authz.allow";

/// The set of deny messages, to explain a decision.
pub const DENY_RULE: &str = "data.docker.authz.deny";

/// `benches/policy/docker.rego`.
pub fn policy_path() -> PathBuf {
    crate::repo_root().join("benches/policy/docker.rego")
}

/// The policy, parsed and compiled once, as a server would at startup.
///
/// Evaluating takes `&self` and regorus is built with `arc`, so one
/// instance can serve every request thread.
pub struct RegoPolicy {
    allow: CompiledPolicy,
    deny: CompiledPolicy,
}

impl RegoPolicy {
    /// Parses and compiles [`policy_path`] for [`ALLOW_RULE`] and [`DENY_RULE`].
    pub fn load() -> anyhow::Result<RegoPolicy> {
        let path = policy_path();
        Ok(RegoPolicy {
            allow: compile(&path, ALLOW_RULE)?,
            deny: compile(&path, DENY_RULE)?,
        })
    }

    /// The whole per-request path: AuthZReq bytes → input → decision.
    pub fn decide(&self, authz_request: &[u8]) -> anyhow::Result<bool> {
        self.allows(input(authz_request)?)
    }

    /// Evaluates [`ALLOW_RULE`] on a prepared input. Undefined is a deny;
    /// anything but a boolean is an error, as in opa-docker-authz.
    pub fn allows(&self, input: Value) -> anyhow::Result<bool> {
        match self.allow.eval_with_input(input)? {
            Value::Bool(allow) => Ok(allow),
            Value::Undefined => Ok(false),
            other => bail!("{ALLOW_RULE} is not a boolean: {other}"),
        }
    }

    /// The deny messages [`DENY_RULE`] gives for `input`.
    pub fn denials(&self, input: Value) -> anyhow::Result<Vec<String>> {
        let denials = self.deny.eval_with_input(input)?;
        if denials == Value::Undefined {
            return Ok(Vec::new());
        }
        let text = |message: &Value| {
            message
                .as_string()
                .map_or_else(|_| message.to_string(), |s| s.to_string())
        };
        Ok(denials.as_set()?.iter().map(text).collect())
    }
}

fn compile(path: &Path, rule: &str) -> anyhow::Result<CompiledPolicy> {
    let mut engine = Engine::new();
    engine
        .add_policy_from_file(path)
        .with_context(|| format!("cannot load {}", path.display()))?;
    engine
        .compile_with_entrypoint(&rule.into())
        .with_context(|| format!("cannot compile {} for {rule}", path.display()))
}

/// opa-docker-authz's `makeInput`: the AuthZReq's fields under Go's names,
/// the body parsed only when Docker says it is JSON, the URI taken apart as
/// Go's `url.Parse` does, and the bind mounts listed with their resolved
/// host paths. The body, the bulk of the work, is parsed straight into
/// regorus' value type; the small rest is built as JSON and converted.
pub fn input(authz_request: &[u8]) -> anyhow::Result<Value> {
    let request: AuthzRequest =
        serde_json::from_slice(authz_request).context("AuthZReq is not JSON")?;
    let headers = request.request_headers.unwrap_or_default();
    let body = json_body(request.request_body.as_deref(), &headers)?;
    let uri = request.request_uri.unwrap_or_default();
    let (raw_path, raw_query) = uri.split_once('?').unwrap_or((&uri, ""));
    let path = unescape(raw_path, false).context("RequestUri path")?;
    let query = query(raw_query);
    let mut input = Value::from(json!({
        "Headers": headers,
        "PathArr": path.split('/').collect::<Vec<_>>(),
        "PathPlain": path,
        "Path": uri,
        "Query": query,
        "Method": request.request_method.unwrap_or_default(),
        "BindMounts": bind_mounts(&body),
        "User": request.user.unwrap_or_default(),
        "AuthMethod": request.user_authn_method.unwrap_or_default(),
    }));
    input.as_object_mut()?.insert(Value::from("Body"), body);
    Ok(input)
}

/// The body if the headers say `application/json` (exactly, as Go compares
/// them), else null.
fn json_body(base64: Option<&str>, headers: &BTreeMap<String, String>) -> anyhow::Result<Value> {
    let is_json = headers.get("Content-Type").map(String::as_str) == Some("application/json");
    match base64 {
        Some(encoded) if is_json && !encoded.is_empty() => {
            let bytes = BASE64
                .decode(encoded)
                .context("RequestBody is not base64")?;
            serde_json::from_slice(&bytes).context("RequestBody is not JSON")
        }
        _ => Ok(Value::Null),
    }
}

/// `url.Values`: every value of every key, in order; malformed pairs skipped.
pub(crate) fn query(raw: &str) -> Map<String, Json> {
    let mut values = Map::new();
    for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let (Ok(key), Ok(value)) = (unescape(key, true), unescape(value, true)) {
            let entry = values.entry(key).or_insert_with(|| Json::Array(Vec::new()));
            if let Json::Array(list) = entry {
                list.push(Json::String(value));
            }
        }
    }
    values
}

/// Percent-decoding, with `+` as a space in queries.
pub(crate) fn unescape(text: &str, plus_is_space: bool) -> anyhow::Result<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        out.push(match byte {
            b'%' => {
                let hex = [bytes.next(), bytes.next()];
                let digits = hex.map(|d| d.and_then(|d| char::from(d).to_digit(16)));
                let [Some(high), Some(low)] = digits else {
                    bail!("malformed %-escape in {text:?}");
                };
                (high * 16 + low) as u8
            }
            b'+' if plus_is_space => b' ',
            other => other,
        });
    }
    String::from_utf8(out).context("not UTF-8")
}

/// opa-docker-authz's `listBindMounts`: absolute `Binds` and `bind`-type
/// `Mounts`, as `{Source, ReadOnly, Resolved}`.
///
/// One deliberate difference: opa-docker-authz resolves with Go's
/// `filepath.EvalSymlinks`, which fails (leaving `Resolved` empty) for a
/// source that does not exist yet, although Docker creates it; this uses the
/// host's own resolution, through the deepest existing ancestor, so both
/// sides judge the same path with the same system calls.
fn bind_mounts(body: &Value) -> Vec<Json> {
    let host_config = &body["HostConfig"];
    let from_binds = elements(&host_config["Binds"])
        .filter_map(text)
        .filter(|bind| bind.starts_with('/'))
        .map(|bind| {
            let parts: Vec<&str> = bind.split(':').collect();
            (parts[0], parts.len() == 3 && parts[2] == "ro")
        });
    let from_mounts = elements(&host_config["Mounts"])
        .filter(|mount| text(&mount["Type"]) == Some("bind"))
        .filter_map(|mount| {
            Some((
                text(&mount["Source"])?,
                mount["ReadOnly"] == Value::Bool(true),
            ))
        });
    from_binds
        .chain(from_mounts)
        .map(|(source, read_only)| {
            json!({ "Source": source, "ReadOnly": read_only, "Resolved": resolved(source) })
        })
        .collect()
}

/// The elements of an array; nothing for anything else (null, absent).
fn elements(list: &Value) -> impl Iterator<Item = &Value> {
    list.as_array().into_iter().flat_map(|array| array.iter())
}

/// A string's text, if `value` is a string.
fn text(value: &Value) -> Option<&str> {
    value.as_string().ok().map(|text| text.as_ref())
}

/// The host path with every symlink resolved, or "" if it cannot be.
fn resolved(source: &str) -> String {
    let path = Path::new(source);
    if !path.is_absolute() {
        return String::new();
    }
    resolve_host_path(path)
        .map(|real| real.to_string_lossy().into_owned())
        .unwrap_or_default()
}
