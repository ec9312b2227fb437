//! The Cedar rival: the rules of `benches/policy/docker.rego` written in
//! Cedar (`benches/policy/docker.cedar`, whose header lists what is
//! mirrored, what is computed here because Cedar cannot express it, and what
//! is not mirrored) and evaluated by the `cedar-policy` crate, on a request
//! built from the AuthZReq bytes the way [`crate::rego::input`] builds
//! opa-docker-authz's input document.
//!
//! The policy set, the users and the [`Authorizer`] are built once, at
//! startup; evaluating takes `&self`, so one instance serves every request
//! thread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet,
    Request, RestrictedExpression,
};
use portcullis_envelope::AuthzRequest;
use portcullis_envelope::mounts::resolve_host_path;
use portcullis_envelope::routes::match_route;
use serde_json::{Map, Value as Json, json};

use crate::rego::{query, unescape};
use crate::rival::{DENIED, Verdict};

/// docker.rego's `bind_prefixes`, applied here (see docker.cedar's header:
/// Cedar has no quantifier to apply it to every mount).
pub const BIND_PREFIXES: [&str; 1] = ["/srv/data"];

/// The annotation holding a forbid's message.
const REASON: &str = "reason";

/// `benches/policy/docker.cedar`.
pub fn policy_path() -> PathBuf {
    crate::repo_root().join("benches/policy/docker.cedar")
}

/// The policy set, its users and the authorizer, built once.
pub struct CedarPolicy {
    policies: PolicySet,
    /// docker.rego's `users`, as entities with a `readOnly` attribute.
    users: Entities,
    authorizer: Authorizer,
    user_type: EntityTypeName,
    action_type: EntityTypeName,
    /// The one resource: the daemon.
    daemon: EntityUid,
}

impl CedarPolicy {
    /// Parses [`policy_path`] and builds the users and the authorizer.
    pub fn load() -> anyhow::Result<CedarPolicy> {
        let path = policy_path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let policies =
            PolicySet::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
        let users = Entities::from_json_value(
            json!([
                { "uid": { "type": "User", "id": "alice" }, "attrs": { "readOnly": false }, "parents": [] },
                { "uid": { "type": "User", "id": "bob" }, "attrs": { "readOnly": true }, "parents": [] },
            ]),
            None,
        )
        .context("the users are not valid Cedar entities")?;
        let type_name = |name: &str| {
            EntityTypeName::from_str(name).with_context(|| format!("{name} is no entity type"))
        };
        Ok(CedarPolicy {
            policies,
            users,
            authorizer: Authorizer::new(),
            user_type: type_name("User")?,
            action_type: type_name("Action")?,
            daemon: EntityUid::from_type_name_and_id(type_name("Docker")?, EntityId::new("daemon")),
        })
    }

    /// The whole per-request path: AuthZReq bytes → request → decision.
    pub fn decide(&self, authz_request: &[u8]) -> anyhow::Result<Verdict> {
        Ok(self.evaluate(&self.request(authz_request)?))
    }

    /// The Cedar request for an AuthZReq: principal, action, resource and
    /// context, as docker.cedar's header describes them. Fails, as
    /// [`crate::rego::input`] does, on what opa-docker-authz could not read:
    /// an AuthZReq that is not JSON, a JSON body that is not base64 or not
    /// JSON, a path with a malformed %-escape.
    pub fn request(&self, authz_request: &[u8]) -> anyhow::Result<Request> {
        let request: AuthzRequest =
            serde_json::from_slice(authz_request).context("AuthZReq is not JSON")?;
        let headers = request.request_headers.unwrap_or_default();
        let body = json_body(request.request_body.as_deref(), &headers)?;
        let uri = request.request_uri.unwrap_or_default();
        let (raw_path, raw_query) = uri.split_once('?').unwrap_or((&uri, ""));
        let path = unescape(raw_path, false).context("RequestUri path")?;
        let query = query(raw_query);
        let method = request.request_method.unwrap_or_default();
        let user = request.user.unwrap_or_default();
        let action = match_route(&method, strip_version(&path)).action;

        let mounts = bind_mounts(&body);
        let precomputed = precomputed(&body, &query, &mounts)?;
        let mut context = vec![
            (
                "Headers".to_owned(),
                record(headers.into_iter().map(|(k, v)| (k, string(v))))?,
            ),
            ("Path".to_owned(), string(uri)),
            ("PathPlain".to_owned(), string(path)),
            (
                "Query".to_owned(),
                cedar_value(Json::Object(query))?.unwrap_or_else(empty_set),
            ),
            ("Method".to_owned(), string(method)),
            ("User".to_owned(), string(user.clone())),
            (
                "AuthMethod".to_owned(),
                string(request.user_authn_method.unwrap_or_default()),
            ),
            (
                "BindMounts".to_owned(),
                RestrictedExpression::new_set(
                    mounts
                        .into_iter()
                        .map(|mount| {
                            record([
                                ("Source".to_owned(), string(mount.source)),
                                (
                                    "ReadOnly".to_owned(),
                                    RestrictedExpression::new_bool(mount.read_only),
                                ),
                                ("Resolved".to_owned(), string(mount.resolved)),
                            ])
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?,
                ),
            ),
            ("Precomputed".to_owned(), precomputed),
        ];
        // docker.rego's is_object(input.Body): `context has Body`.
        if body.is_object()
            && let Some(body) = cedar_value(body)?
        {
            context.push(("Body".to_owned(), body));
        }
        let context = Context::from_pairs(context).context("cannot build the Cedar context")?;
        let principal =
            EntityUid::from_type_name_and_id(self.user_type.clone(), EntityId::new(user));
        let action =
            EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(action));
        Request::new(principal, action, self.daemon.clone(), context, None)
            .context("cannot build the Cedar request")
    }

    /// Evaluates a prepared request. Denied: `policy denied`, with the
    /// @reason of each forbid that held (free: Cedar returns them with the
    /// decision). Fails closed on any evaluation error, which Cedar would
    /// otherwise skip, and a skipped forbid allows.
    pub fn evaluate(&self, request: &Request) -> Verdict {
        let response = self
            .authorizer
            .is_authorized(request, &self.policies, &self.users);
        let diagnostics = response.diagnostics();
        let errors: Vec<String> = diagnostics.errors().map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Verdict::Deny(format!("{DENIED}: evaluation error: {}", errors.join("; ")));
        }
        if response.decision() == Decision::Allow {
            return Verdict::Allow;
        }
        let reasons: Vec<&str> = diagnostics
            .reason()
            .filter_map(|id| self.policies.annotation(id, REASON))
            .collect();
        Verdict::Deny(if reasons.is_empty() {
            DENIED.to_owned()
        } else {
            format!("{DENIED}: {}", reasons.join("; "))
        })
    }
}

/// docker.rego's `route`: the path without its optional `/vX.Y` prefix
/// (`^/v[0-9.]+(/|$)` → `/`), not otherwise cleaned.
fn strip_version(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/v") {
        let version = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let after = &rest[version..];
        if version > 0 {
            if after.is_empty() {
                return "/";
            }
            if after.starts_with('/') {
                return after;
            }
        }
    }
    path
}

/// The body if the headers say `application/json` (exactly), else null; as
/// in [`crate::rego`].
fn json_body(base64: Option<&str>, headers: &BTreeMap<String, String>) -> anyhow::Result<Json> {
    let is_json = headers.get("Content-Type").map(String::as_str) == Some("application/json");
    match base64 {
        Some(encoded) if is_json && !encoded.is_empty() => {
            let bytes = BASE64
                .decode(encoded)
                .context("RequestBody is not base64")?;
            serde_json::from_slice(&bytes).context("RequestBody is not JSON")
        }
        _ => Ok(Json::Null),
    }
}

/// A JSON value as a Cedar value: a record for an object, a set for an
/// array; `None` for what Cedar has no value for (null, a number that is
/// not a 64-bit integer), which a record leaves out and a set drops.
fn cedar_value(value: Json) -> anyhow::Result<Option<RestrictedExpression>> {
    Ok(Some(match value {
        Json::Null => return Ok(None),
        Json::Bool(b) => RestrictedExpression::new_bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(n) => RestrictedExpression::new_long(n),
            None => return Ok(None),
        },
        Json::String(s) => RestrictedExpression::new_string(s),
        Json::Array(items) => {
            let mut set = Vec::with_capacity(items.len());
            for item in items {
                set.extend(cedar_value(item)?);
            }
            RestrictedExpression::new_set(set)
        }
        Json::Object(fields) => {
            let mut record = Vec::with_capacity(fields.len());
            for (key, value) in fields {
                if let Some(value) = cedar_value(value)? {
                    record.push((key, value));
                }
            }
            RestrictedExpression::new_record(record)?
        }
    }))
}

fn string(text: String) -> RestrictedExpression {
    RestrictedExpression::new_string(text)
}

fn strings(texts: Vec<String>) -> RestrictedExpression {
    RestrictedExpression::new_set(texts.into_iter().map(string))
}

fn empty_set() -> RestrictedExpression {
    RestrictedExpression::new_set([])
}

fn record(
    fields: impl IntoIterator<Item = (String, RestrictedExpression)>,
) -> anyhow::Result<RestrictedExpression> {
    Ok(RestrictedExpression::new_record(fields)?)
}

/// One bind mount, as opa-docker-authz's `listBindMounts` lists it.
struct BindMount {
    source: String,
    read_only: bool,
    /// The host path with every symlink resolved; "" if it cannot be.
    resolved: String,
}

/// Absolute `Binds` and `bind`-type `Mounts`, as [`crate::rego`] lists them.
fn bind_mounts(body: &Json) -> Vec<BindMount> {
    let host_config = &body["HostConfig"];
    let from_binds = elements(&host_config["Binds"])
        .filter_map(Json::as_str)
        .filter(|bind| bind.starts_with('/'))
        .map(|bind| {
            let parts: Vec<&str> = bind.split(':').collect();
            (parts[0], parts.len() == 3 && parts[2] == "ro")
        });
    let from_mounts = elements(&host_config["Mounts"])
        .filter(|mount| mount["Type"].as_str() == Some("bind"))
        .filter_map(|mount| {
            let read_only = mount["ReadOnly"].as_bool() == Some(true);
            Some((mount["Source"].as_str()?, read_only))
        });
    from_binds
        .chain(from_mounts)
        .map(|(source, read_only)| BindMount {
            source: source.to_owned(),
            read_only,
            resolved: resolved(source),
        })
        .collect()
}

/// The elements of an array; nothing for anything else (null, absent).
fn elements(list: &Json) -> impl Iterator<Item = &Json> {
    list.as_array().into_iter().flatten()
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

/// `context.Precomputed`: what docker.cedar's rules judge but Cedar cannot
/// compute (docker.cedar's header says why, field by field).
fn precomputed(
    body: &Json,
    query: &Map<String, Json>,
    mounts: &[BindMount],
) -> anyhow::Result<RestrictedExpression> {
    let host_config = &body["HostConfig"];
    // A non-string is spelled as JSON, which no allowed name matches.
    let text = |value: &Json| {
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned)
    };
    let cap_add = elements(&host_config["CapAdd"])
        .map(|capability| match capability.as_str() {
            Some(name) => {
                let name = name.trim().to_uppercase();
                if let Some(rest) = name.strip_prefix("CAP_") {
                    rest.to_owned()
                } else {
                    name
                }
            }
            None => capability.to_string(),
        })
        .collect();
    // Mounts without a Type are skipped, as docker.rego's message needs one.
    let mount_types = elements(&host_config["Mounts"])
        .filter_map(|mount| mount.get("Type").map(text))
        .collect();
    let under_prefix = |path: &str| {
        BIND_PREFIXES.iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    };
    let unresolved = mounts
        .iter()
        .filter(|mount| mount.resolved.is_empty())
        .map(|mount| mount.source.clone())
        .collect();
    let outside = mounts
        .iter()
        .filter(|mount| !under_prefix(&mount.source) || !under_prefix(&mount.resolved))
        .map(|mount| mount.source.clone())
        .collect();
    let (lowest_host_port, not_numbers) = host_ports(&host_config["PortBindings"]);

    let mut fields = vec![
        ("CapAdd".to_owned(), strings(cap_add)),
        ("MountTypes".to_owned(), strings(mount_types)),
        ("UnresolvedBindMounts".to_owned(), strings(unresolved)),
        ("BindMountsOutsidePrefixes".to_owned(), strings(outside)),
        ("HostPortsNotNumbers".to_owned(), strings(not_numbers)),
    ];
    if let Some(registry) = body["Image"].as_str().and_then(image_registry) {
        fields.push(("ImageRegistry".to_owned(), string(registry)));
    }
    let from_image = query
        .get("fromImage")
        .and_then(|values| values.get(0))
        .and_then(Json::as_str);
    if let Some(registry) = from_image.and_then(image_registry) {
        fields.push(("FromImageRegistry".to_owned(), string(registry)));
    }
    if let Some(port) = lowest_host_port {
        fields.push((
            "LowestHostPort".to_owned(),
            RestrictedExpression::new_long(port),
        ));
    }
    record(fields)
}

/// docker.rego's `published_ports`: the first port of every binding's
/// HostPort range, trimmed; the lowest that is a number above 0, and the
/// non-empty ones that are not numbers.
fn host_ports(port_bindings: &Json) -> (Option<i64>, Vec<String>) {
    let mut lowest: Option<i64> = None;
    let mut not_numbers = Vec::new();
    let bindings = port_bindings
        .as_object()
        .into_iter()
        .flat_map(|ports| ports.values())
        .flat_map(elements);
    for host_port in bindings.filter_map(|binding| binding["HostPort"].as_str()) {
        let first = host_port.split('-').next().unwrap_or_default().trim();
        if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits for an i64 is far above any limit.
            if let Ok(number) = first.parse::<i64>()
                && number > 0
            {
                lowest = Some(lowest.map_or(number, |low| low.min(number)));
            }
        } else if !first.is_empty() {
            not_numbers.push(first.to_owned());
        }
    }
    (lowest, not_numbers)
}

/// docker.rego's `image_registry`, for an image that is not an image ID
/// (`None` then, and for an empty name).
fn image_registry(image: &str) -> Option<String> {
    if image.is_empty() || is_image_id(image) {
        return None;
    }
    let name = image.split('@').next().unwrap_or_default();
    let mut components = name.split('/');
    let first = components.next().unwrap_or_default();
    let registry_host = components.next().is_some()
        && (first.contains('.')
            || first.contains(':')
            || first == "localhost"
            || first.bytes().any(|b| b.is_ascii_uppercase()));
    Some(match first {
        _ if !registry_host => "docker.io".to_owned(),
        "index.docker.io" => "docker.io".to_owned(),
        host => host.to_lowercase(),
    })
}

/// `^(sha256:)?[0-9a-fA-F]{12,64}$`.
fn is_image_id(image: &str) -> bool {
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    (12..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, VARIANTS, edit_request};
    use crate::rego::RegoPolicy;

    fn fixture(name: &'static str) -> Vec<u8> {
        fixtures::load(name).expect("fixture loads").body
    }

    #[test]
    fn allows_every_fixture_and_denies_every_variant_by_a_rule() {
        let cedar = CedarPolicy::load().expect("docker.cedar loads");
        for fixture in fixtures::all().expect("fixtures load") {
            let verdict = cedar.decide(&fixture.body).expect("a fixture is readable");
            assert_eq!(verdict, Verdict::Allow, "{}", fixture.name);
        }
        for variant in &VARIANTS {
            let body = variant
                .apply(&fixture(variant.fixture))
                .expect("variant applies");
            match cedar.decide(&body).expect("a variant is readable") {
                Verdict::Allow => panic!("allows {} with {}", variant.fixture, variant.what),
                Verdict::Deny(msg) => {
                    assert!(!msg.contains("evaluation error"), "{}: {msg}", variant.what);
                    println!("{} with {}: {msg}", variant.fixture, variant.what);
                }
            }
        }
    }

    /// Requests beyond the bypass variants, each judged alike by docker.rego
    /// (regorus) and docker.cedar: `(what, fixture, edit, allowed)`.
    type Case = (&'static str, &'static str, fn(&mut Json, &mut Json), bool);

    const CASES: &[Case] = &[
        (
            "bob lists",
            "containers_list",
            |r, _| r["User"] = json!("bob"),
            true,
        ),
        (
            "bob creates",
            "containers_create",
            |r, _| r["User"] = json!("bob"),
            false,
        ),
        (
            "bob pings (HEAD is no GET)",
            "ping",
            |r, _| r["User"] = json!("bob"),
            false,
        ),
        (
            "no TLS user",
            "containers_list",
            |r, _| r["User"] = json!(""),
            false,
        ),
        (
            "no version prefix",
            "containers_create",
            |r, b| {
                r["RequestUri"] = json!("/containers/create");
                b["HostConfig"]["Privileged"] = json!(true);
            },
            false,
        ),
        (
            "--network HOST",
            "containers_create",
            |_, b| b["HostConfig"]["NetworkMode"] = json!("HOST"),
            false,
        ),
        (
            "--pid host",
            "containers_create",
            |_, b| b["HostConfig"]["PidMode"] = json!("host"),
            false,
        ),
        (
            "--userns host",
            "containers_create",
            |_, b| b["HostConfig"]["UsernsMode"] = json!("host"),
            false,
        ),
        (
            "--cap-add ' cap_net_bind_service'",
            "containers_create",
            |_, b| {
                b["HostConfig"]["CapAdd"] = json!([" cap_net_bind_service"]);
            },
            true,
        ),
        (
            "--cap-add all",
            "containers_create",
            |_, b| b["HostConfig"]["CapAdd"] = json!(["all"]),
            false,
        ),
        (
            "--device",
            "containers_create",
            |_, b| {
                b["HostConfig"]["Devices"] =
                    json!([{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda"}]);
            },
            false,
        ),
        (
            "--device-cgroup-rule",
            "containers_create",
            |_, b| {
                b["HostConfig"]["DeviceCgroupRules"] = json!(["b 8:* rmw"]);
            },
            false,
        ),
        (
            "--security-opt apparmor:unconfined",
            "containers_create",
            |_, b| {
                b["HostConfig"]["SecurityOpt"] = json!(["apparmor:unconfined"]);
            },
            false,
        ),
        (
            "--volumes-from",
            "containers_create",
            |_, b| b["HostConfig"]["VolumesFrom"] = json!(["db"]),
            false,
        ),
        (
            "--mount type=npipe",
            "containers_create",
            |_, b| {
                b["HostConfig"]["Mounts"] =
                    json!([{"Type": "npipe", "Source": "x", "Target": "/x"}]);
            },
            false,
        ),
        (
            "-v /srv/database:/d",
            "containers_create",
            |_, b| {
                b["HostConfig"]["Binds"] = json!(["/srv/database:/d"]);
            },
            false,
        ),
        (
            "-v /srv/data/../../etc:/d",
            "containers_create",
            |_, b| {
                b["HostConfig"]["Binds"] = json!(["/srv/data/../../etc:/d"]);
            },
            false,
        ),
        (
            "-v /srv/data/new:/d:ro",
            "containers_create",
            |_, b| {
                b["HostConfig"]["Binds"] = json!(["/srv/data/new:/d:ro"]);
            },
            true,
        ),
        (
            "-v named:/d",
            "containers_create",
            |_, b| b["HostConfig"]["Binds"] = json!(["named:/d"]),
            true,
        ),
        (
            "image localhost:5000/app",
            "containers_create",
            |_, b| b["Image"] = json!("localhost:5000/app"),
            false,
        ),
        (
            "image Registry/app",
            "containers_create",
            |_, b| b["Image"] = json!("Registry/app"),
            false,
        ),
        (
            "image index.docker.io/library/nginx",
            "containers_create",
            |_, b| {
                b["Image"] = json!("index.docker.io/library/nginx");
            },
            true,
        ),
        (
            "image library/nginx@sha256",
            "containers_create",
            |_, b| {
                b["Image"] = json!(
                    "library/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                );
            },
            true,
        ),
        (
            "image ID",
            "containers_create",
            |_, b| b["Image"] = json!("sha256:0123456789ab"),
            true,
        ),
        (
            "-p 80-90:80",
            "containers_create",
            |_, b| {
                b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] = json!("80-90");
            },
            false,
        ),
        (
            "-p x:80",
            "containers_create",
            |_, b| {
                b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] = json!("x");
            },
            false,
        ),
        (
            "-p 0:80 (any port)",
            "containers_create",
            |_, b| {
                b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] = json!("0");
            },
            true,
        ),
        (
            "-p :80",
            "containers_create",
            |_, b| {
                b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] = json!("");
            },
            true,
        ),
        (
            "create, not application/json",
            "containers_create",
            |r, _| {
                r["RequestHeaders"]["Content-Type"] = json!("text/plain");
            },
            false,
        ),
        (
            "exec, privileged false",
            "exec_create",
            |_, b| b["Privileged"] = json!(false),
            true,
        ),
        (
            "pull quay.io/x",
            "containers_list",
            |r, _| {
                r["RequestMethod"] = json!("POST");
                r["RequestUri"] = json!("/v1.41/images/create?fromImage=quay.io%2Fx&tag=1");
            },
            false,
        ),
        (
            "pull nginx",
            "containers_list",
            |r, _| {
                r["RequestMethod"] = json!("POST");
                r["RequestUri"] = json!("/v1.41/images/create?fromImage=nginx&tag=1.27");
            },
            true,
        ),
        (
            "plugin install",
            "containers_list",
            |r, _| {
                r["RequestMethod"] = json!("POST");
                r["RequestUri"] = json!("/v1.41/plugins/pull?remote=vieux/sshfs");
            },
            false,
        ),
        (
            "plugin enable",
            "containers_list",
            |r, _| {
                r["RequestMethod"] = json!("POST");
                r["RequestUri"] = json!("/v1.41/plugins/vieux%2Fsshfs/enable");
            },
            false,
        ),
        // Not mirrored by either (docker.rego's header): an uncleaned path.
        (
            "//containers/create --privileged",
            "containers_create",
            |r, b| {
                r["RequestUri"] = json!("/v1.41//containers/create");
                b["HostConfig"]["Privileged"] = json!(true);
            },
            true,
        ),
    ];

    #[test]
    fn agrees_with_docker_rego() {
        let cedar = CedarPolicy::load().expect("docker.cedar loads");
        let rego = RegoPolicy::load().expect("docker.rego compiles");
        let mut wrong = Vec::new();
        for &(what, name, edit, allowed) in CASES {
            let body = edit_request(&fixture(name), edit).expect("case applies");
            let by_rego = rego.decide(&body).expect("docker.rego evaluates");
            let by_cedar = cedar.decide(&body).expect("docker.cedar evaluates");
            if let Verdict::Deny(msg) = &by_cedar {
                assert!(!msg.contains("evaluation error"), "{what}: {msg}");
            }
            let by_cedar = by_cedar == Verdict::Allow;
            if by_rego != allowed || by_cedar != allowed {
                wrong.push(format!(
                    "{what}: expected allowed={allowed}, regorus {by_rego}, cedar {by_cedar}"
                ));
            }
        }
        assert!(wrong.is_empty(), "\n  {}", wrong.join("\n  "));
    }

    #[test]
    fn fails_closed_on_an_evaluation_error() {
        let cedar = CedarPolicy::load().expect("docker.cedar loads");
        // `has` on a string: the forbid errors, and Cedar would skip it.
        let body = edit_request(&fixture("containers_create"), |_, b| {
            b["HostConfig"] = json!("privileged");
        })
        .expect("edit applies");
        match cedar.decide(&body).expect("readable") {
            Verdict::Deny(msg) => assert!(msg.contains("evaluation error"), "{msg}"),
            Verdict::Allow => panic!("an erroring forbid allowed"),
        }
    }

    #[test]
    fn routes_and_names() {
        assert_eq!(
            strip_version("/v1.41/containers/create"),
            "/containers/create"
        );
        assert_eq!(strip_version("/v1.41"), "/");
        assert_eq!(strip_version("/v1.41x/containers"), "/v1.41x/containers");
        assert_eq!(strip_version("/volumes"), "/volumes");
        assert_eq!(image_registry("nginx:1.27").as_deref(), Some("docker.io"));
        assert_eq!(image_registry("Quay.IO/x").as_deref(), Some("quay.io"));
        assert_eq!(image_registry("0123456789ab"), None);
        assert_eq!(
            host_ports(&json!({"80/tcp": [{"HostPort": " 8080-8090"}, {"HostPort": "443"}]})),
            (Some(443), vec![])
        );
    }
}
