//! The benchmarked requests: AuthZReq bodies as dockerd sends them, for a
//! TLS user `alice` (benches/fixtures/, derived from the captures in
//! tests/fixtures/docker-20.10).

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value as Json, json};

/// One fixture: its name and the raw AuthZReq body.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Short name used in reports (`containers_create`, …).
    pub name: &'static str,
    /// The exact bytes POSTed to `/AuthZPlugin.AuthZReq`.
    pub body: Vec<u8>,
}

/// The fixtures, in report order: a realistic compose-style
/// `containers/create` (3 KB body: binds, ports, caps, labels, healthcheck),
/// `exec` create, `GET /containers/json` and `HEAD /_ping`.
pub const NAMES: [&str; 4] = [
    "containers_create",
    "exec_create",
    "containers_list",
    "ping",
];

/// Loads one fixture by name.
pub fn load(name: &'static str) -> anyhow::Result<Fixture> {
    let path = crate::repo_root()
        .join("benches/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    // Re-serialize compactly, as dockerd sends it.
    let value: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    Ok(Fixture {
        name,
        body: serde_json::to_vec(&value)?,
    })
}

/// Every fixture in [`NAMES`] order.
pub fn all() -> anyhow::Result<Vec<Fixture>> {
    NAMES.into_iter().map(load).collect()
}

/// A fixture changed in one way that every implementation must deny: the
/// bypasses the in-process benchmark (`inprocess.rs`) and the rival servers'
/// tests check before anything is measured.
pub struct Variant {
    /// The fixture it changes.
    pub fixture: &'static str,
    /// What it does, as a Docker CLI user would ask for it.
    pub what: &'static str,
    /// Edits the AuthZReq document and its decoded body (`null` if the
    /// fixture has none; a body left null stays absent).
    pub edit: fn(&mut Json, &mut Json),
}

/// The bypass variants: each must be denied by wasm, native, regorus and
/// Cedar alike.
pub const VARIANTS: [Variant; 9] = [
    Variant {
        fixture: "containers_create",
        what: "--privileged",
        edit: |_, body| body["HostConfig"]["Privileged"] = json!(true),
    },
    Variant {
        fixture: "containers_create",
        what: "-v /:/host",
        edit: |_, body| body["HostConfig"]["Binds"] = json!(["/:/host"]),
    },
    Variant {
        fixture: "containers_create",
        what: "--mount type=bind,source=/etc,target=/etc",
        edit: |_, body| {
            body["HostConfig"]["Mounts"] =
                json!([{"Type": "bind", "Source": "/etc", "Target": "/etc"}]);
        },
    },
    Variant {
        fixture: "containers_create",
        what: "--cap-add SYS_ADMIN",
        edit: |_, body| body["HostConfig"]["CapAdd"] = json!(["NET_BIND_SERVICE", "SYS_ADMIN"]),
    },
    Variant {
        fixture: "containers_create",
        what: "-p 80:80",
        edit: |_, body| body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] = json!("80"),
    },
    Variant {
        fixture: "containers_create",
        what: "an image from quay.io",
        edit: |_, body| body["Image"] = json!("quay.io/nginx/nginx:1.27"),
    },
    Variant {
        fixture: "containers_create",
        what: "--security-opt seccomp=unconfined",
        edit: |_, body| body["HostConfig"]["SecurityOpt"] = json!(["seccomp=unconfined"]),
    },
    Variant {
        fixture: "containers_create",
        what: "an unknown user",
        edit: |request, _| request["User"] = json!("mallory"),
    },
    Variant {
        fixture: "exec_create",
        what: "--privileged",
        edit: |_, body| body["Privileged"] = json!(true),
    },
];

impl Variant {
    /// The fixture's AuthZReq body with this variant's edit applied.
    pub fn apply(&self, authz_request: &[u8]) -> anyhow::Result<Vec<u8>> {
        edit_request(authz_request, self.edit)
    }
}

/// `authz_request` (an AuthZReq body) with `edit` applied to the document
/// and to its decoded body (`null` if it has none; a body left null stays
/// absent).
pub fn edit_request(
    authz_request: &[u8],
    edit: fn(&mut Json, &mut Json),
) -> anyhow::Result<Vec<u8>> {
    let mut request: Json =
        serde_json::from_slice(authz_request).context("AuthZReq is not JSON")?;
    let mut body = match request["RequestBody"].as_str() {
        Some(encoded) => {
            let decoded = BASE64
                .decode(encoded)
                .context("RequestBody is not base64")?;
            serde_json::from_slice(&decoded).context("RequestBody is not JSON")?
        }
        None => Json::Null,
    };
    edit(&mut request, &mut body);
    if !body.is_null() {
        request["RequestBody"] = Json::String(BASE64.encode(serde_json::to_vec(&body)?));
    }
    Ok(serde_json::to_vec(&request)?)
}
