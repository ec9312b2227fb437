//! `POST /build`: the parameters the daemon reads from the query. The build
//! context (a tar holding the Dockerfile) is not JSON, so Docker never
//! forwards it to plugins: its `FROM` and `RUN` steps cannot be judged.

use std::collections::BTreeMap;

/// What a policy can know of `POST /build`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageBuild {
    /// `networkmode` of the `RUN` steps (`host`, `container:<id>`, `none`, a network).
    pub network_mode: String,
    /// `remote`: a URL or Git repository the daemon fetches the context from.
    pub remote: String,
    /// `version`: `1` (classic builder) or `2` (BuildKit, driven over `/session`).
    pub version: String,
    /// `cgroupparent` of the `RUN` steps.
    pub cgroup_parent: String,
    /// `isolation`.
    pub isolation: String,
    /// Every `t`: the names the built image gets (the query may repeat it;
    /// filled by the SDK from the request-target, see [`crate::uri::query_values`]).
    pub tags: Vec<String>,
}

impl ImageBuild {
    /// Reads the query parameters of `POST /build` (first values, as the
    /// daemon's `r.FormValue` reads them).
    pub fn from_query(query: &BTreeMap<String, String>) -> ImageBuild {
        let get = |key: &str| query.get(key).cloned().unwrap_or_default();
        ImageBuild {
            network_mode: get("networkmode"),
            remote: get("remote"),
            version: get("version"),
            cgroup_parent: get("cgroupparent"),
            isolation: get("isolation"),
            tags: query.get("t").cloned().into_iter().collect(),
        }
    }
}
