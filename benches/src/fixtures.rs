//! The benchmarked requests: AuthZReq bodies as dockerd sends them, for a
//! TLS user `alice` (benches/fixtures/, derived from the captures in
//! tests/fixtures/docker-20.10).

use anyhow::Context as _;

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
