//! `ownership`: each container belongs to the user who created it, and
//! only that user (or an administrator) may start, stop, kill, restart,
//! pause, update, rename, attach to, exec into, read the logs of, copy
//! files from or to, inspect, commit or remove it — the Go plugin's
//! "What's next" (seed 002), asked for by users of every authz plugin.
//!
//! The owner is recorded from the daemon's answer, in the response phase:
//! the `Id` of a `containers/create` response and its `name` query; exec
//! IDs from `exec` create responses; renames and removals (including
//! `container prune`) as the daemon confirms them, and names of
//! containers as `docker ps` lists them. A container Portcullis never saw
//! created has no owner: only administrators may act on it.
//!
//! A container is found from a request the way the daemon finds it: full
//! ID, then name, then a unique ID prefix of at least 12 characters (what
//! `docker ps` prints). Names made only of hex digits are refused, so a
//! name can never pass for someone else's ID prefix.
//!
//! Named volumes have owners too (see [`volumes`]): whoever first had the
//! daemon create or mount one by name owns it, and only they (or an
//! administrator) may mount it into a container or a service, inspect it
//! or remove it.
//!
//! Limits (a plugin sees one call at a time): `docker ps` and events still
//! list everyone's containers (a plugin cannot filter a response, only
//! refuse it); containers removed by the daemon itself (`--rm`) keep their
//! record until a listing or a removal shows otherwise.

mod registry;
pub mod volumes;

use portcullis_sdk::docker::{HostConfig, NetworkConnect};
use portcullis_sdk::{Decision, Error, MountKind, Phase, Request, export_policy};
use serde::Deserialize;

pub use registry::{MIN_ID_PREFIX, Record, Resolved};
pub use volumes::VolumeRecord;

/// `[module.config]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Users (TLS client certificate CN) who may act on every container.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Certificate organisational units (OU) whose members are administrators.
    #[serde(default)]
    pub admin_groups: Vec<String>,
    /// What a caller without a client certificate is.
    #[serde(default)]
    pub anonymous: Anonymous,
}

/// What a caller without a client certificate (the local Unix socket) is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anonymous {
    /// One more user: the anonymous callers share their containers.
    #[default]
    User,
    /// An administrator (only the host's root reaches the socket).
    Admin,
    /// Refused outright.
    Deny,
}

/// Who is calling.
struct Caller<'a> {
    user: Option<&'a str>,
    admin: bool,
}

impl<'a> Caller<'a> {
    fn of(req: &'a Request, config: &Config) -> Caller<'a> {
        let user = req.user();
        let admin = match user {
            None => config.anonymous == Anonymous::Admin,
            Some(user) => {
                config.admins.iter().any(|admin| admin == user)
                    || req.peer_certificate().is_some_and(|cert| {
                        cert.organizational_units
                            .iter()
                            .any(|ou| config.admin_groups.contains(ou))
                    })
            }
        };
        Caller { user, admin }
    }

    fn name(&self) -> &str {
        self.user.unwrap_or("the anonymous user")
    }
}

/// The policy, in both phases.
pub fn authorize(req: &Request, config: &Config) -> Result<Decision, Error> {
    match req.phase() {
        Phase::Request => judge(req, config),
        Phase::Response => record(req),
    }
}

/// Request phase: may this caller touch the containers this call names?
fn judge(req: &Request, config: &Config) -> Result<Decision, Error> {
    let caller = Caller::of(req, config);
    if caller.user.is_none() && config.anonymous == Anonymous::Deny {
        return Ok(Decision::deny(
            "callers without a client certificate are not allowed",
        ));
    }
    let action = req.action();
    if matches!(action, "container_create" | "container_rename")
        && let Some(name) = req.query("name").map(registry::bare_name)
        && registry::looks_like_id(name)
    {
        return Ok(Decision::deny(format!(
            "container name {name:?} is made only of hex digits and could pass for another container's ID; choose another name"
        )));
    }
    if caller.admin {
        // An administrator's new volumes are theirs; others' stay others'.
        // (Administrators are not held back by a body this cannot read.)
        for name in volumes_named_by(req).unwrap_or_default() {
            if volumes::record(&name)?.is_none() && !volumes::looks_anonymous(&name) {
                volumes::claim(&name, caller.user)?;
            }
        }
        return Ok(Decision::allow());
    }
    for reference in containers_named_by(req)? {
        if let Some(refusal) = may_touch(&caller, &reference)? {
            return Ok(refusal);
        }
    }
    for name in volumes_named_by(req)? {
        if let Some(refusal) = may_use_volume(&caller, &name, true)? {
            return Ok(refusal);
        }
    }
    match action {
        "container_prune" => Ok(Decision::deny(
            "container prune removes every user's stopped containers; only an administrator may run it",
        )),
        "volume_prune" => Ok(Decision::deny(
            "volume prune removes every user's unused volumes; only an administrator may run it",
        )),
        "volume_inspect" | "volume_remove" | "volume_update" => {
            let name = req.param("name").unwrap_or("");
            Ok(may_use_volume(&caller, name, false)?.unwrap_or_else(Decision::allow))
        }
        "container_exec_start" | "container_exec_resize" | "container_exec_inspect" => {
            let exec = req.param("name").or(req.param("id")).unwrap_or("");
            Ok(match registry::exec_container(exec)? {
                Some((id, record)) => {
                    owned_or_refused(&caller, &short(&id), &record).unwrap_or_else(Decision::allow)
                }
                None => Decision::deny(format!(
                    "exec {exec:?} was not created through Portcullis; only an administrator may use it"
                )),
            })
        }
        _ => Ok(Decision::allow()),
    }
}

/// Every container reference in a request that acts on containers.
fn containers_named_by(req: &Request) -> Result<Vec<String>, Error> {
    let action = req.action();
    let mut references = Vec::new();
    match action {
        "container_create" => {
            references.extend(referenced_by(&req.container_create()?.host_config));
        }
        "container_start" => {
            // API < 1.24 may carry a HostConfig on start (the daemon applies it).
            if let Some(host_config) = req.container_start()? {
                references.extend(referenced_by(&host_config));
            }
            references.extend(req.param("name").map(str::to_owned));
        }
        "container_commit" => {
            references.push(req.query("container").unwrap_or("").to_owned());
        }
        "image_build" => {
            // `docker build --network container:<ref>` runs the build's
            // steps in that container's network namespace.
            let network = req.query("networkmode").unwrap_or("");
            references.extend(network.strip_prefix("container:").map(str::to_owned));
        }
        "network_connect" | "network_disconnect" => {
            references.push(req.body::<NetworkConnect>()?.container);
        }
        "container_list" | "container_prune" => {}
        _ if action.starts_with("container_exec_") && action != "container_exec_create" => {}
        _ if action.starts_with("container_") => {
            references.extend(req.param("name").map(str::to_owned));
        }
        _ => {}
    }
    Ok(references)
}

/// Containers a `HostConfig` reaches into: volumes from, namespaces
/// joined (`container:<ref>`), and legacy links.
fn referenced_by(host_config: &HostConfig) -> Vec<String> {
    let mut references = Vec::new();
    for volumes_from in &host_config.volumes_from {
        // `name[:ro|rw]`
        let name = volumes_from.split(':').next().unwrap_or("");
        references.push(name.to_owned());
    }
    for mode in [
        &host_config.network_mode,
        &host_config.pid_mode,
        &host_config.ipc_mode,
    ] {
        if let Some(container) = mode.strip_prefix("container:") {
            references.push(container.to_owned());
        }
    }
    for link in &host_config.links {
        // `name:alias`, the name possibly `/name`
        let name = link.split(':').next().unwrap_or("");
        references.push(name.to_owned());
    }
    references
}

/// The named volumes a call would create or mount (the daemon creates a
/// missing one): `-v NAME:/x`, `--mount type=volume,source=NAME`, a
/// service's volume mounts, `volume create NAME`.
fn volumes_named_by(req: &Request) -> Result<Vec<String>, Error> {
    let creates = matches!(
        req.action(),
        "container_create"
            | "container_start"
            | "service_create"
            | "service_update"
            | "volume_create"
    );
    if !creates {
        return Ok(Vec::new());
    }
    Ok(req
        .mounts()?
        .iter()
        .filter(|mount| mount.kind == MountKind::Volume && !mount.source.is_empty())
        .map(|mount| mount.source.clone())
        .collect())
}

/// `None` if `caller` may use volume `name`, else the refusal. A name
/// nobody claimed becomes the caller's when `claim` (the call creates or
/// mounts it), unless the daemon generated it.
fn may_use_volume(caller: &Caller<'_>, name: &str, claim: bool) -> Result<Option<Decision>, Error> {
    Ok(match volumes::record(name)? {
        Some(VolumeRecord {
            unclaimed: true, ..
        }) => Some(Decision::deny(format!(
            "volume {name:?} existed before Portcullis kept owners; only an administrator may use it"
        ))),
        Some(record) if record.owner.as_deref() == caller.user => None,
        Some(record) => Some(Decision::deny(format!(
            "volume {name:?} belongs to {}, not to {}",
            record.owner.as_deref().unwrap_or("the anonymous user"),
            caller.name()
        ))),
        None if claim && !volumes::looks_anonymous(name) => {
            volumes::claim(name, caller.user)?;
            None
        }
        None => Some(Decision::deny(format!(
            "no owner is recorded for volume {name:?} (a volume the daemon named, or not created through Portcullis); only an administrator may use it"
        ))),
    })
}

/// `None` if `caller` may act on the container `reference` designates,
/// else the refusal.
fn may_touch(caller: &Caller<'_>, reference: &str) -> Result<Option<Decision>, Error> {
    Ok(match registry::resolve(reference)? {
        Resolved::Known { record, .. } => owned_or_refused(caller, reference, &record),
        Resolved::Unknown => Some(Decision::deny(format!(
            "no owner is recorded for container {reference:?} (created before Portcullis kept owners, or not known by that name: use its ID); only an administrator may act on it"
        ))),
        Resolved::ShortPrefix => Some(Decision::deny(format!(
            "refer to containers by name or by at least {MIN_ID_PREFIX} characters of their ID, not {reference:?}"
        ))),
        Resolved::Ambiguous => Some(Decision::deny(format!(
            "{reference:?} is the start of more than one container ID"
        ))),
    })
}

fn owned_or_refused(caller: &Caller<'_>, reference: &str, record: &Record) -> Option<Decision> {
    (record.owner.as_deref() != caller.user).then(|| {
        let owner = record.owner.as_deref().unwrap_or("the anonymous user");
        Decision::deny(format!(
            "container {reference:?} belongs to {owner}, not to {}",
            caller.name()
        ))
    })
}

fn short(id: &str) -> String {
    id.chars().take(MIN_ID_PREFIX).collect()
}

/// `{"Id": …}`: the answer to a container or exec create.
#[derive(Deserialize)]
struct Created {
    #[serde(rename = "Id")]
    id: String,
}

/// The answer to `container prune`.
#[derive(Deserialize)]
struct Pruned {
    #[serde(rename = "ContainersDeleted", default)]
    deleted: Option<Vec<String>>,
}

/// The answer to `volume create`.
#[derive(Deserialize)]
struct CreatedVolume {
    #[serde(rename = "Name")]
    name: String,
}

/// The answer to `volume prune`.
#[derive(Deserialize)]
struct PrunedVolumes {
    #[serde(rename = "VolumesDeleted", default)]
    deleted: Option<Vec<String>>,
}

/// The answer to `volume ls`.
#[derive(Deserialize)]
struct VolumeList {
    #[serde(rename = "Volumes", default)]
    volumes: Option<Vec<CreatedVolume>>,
}

/// One entry of `docker ps`.
#[derive(Deserialize)]
struct Listed {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Names", default)]
    names: Option<Vec<String>>,
}

/// Response phase: record what the daemon did. A record that cannot be
/// written denies, so the client hears of it (the action has run).
fn record(req: &Request) -> Result<Decision, Error> {
    let Some(response) = req.response() else {
        return Ok(Decision::allow());
    };
    let status = response.status.unwrap_or(0);
    match (req.action(), status) {
        ("container_create", 201) => {
            let id = response.body::<Created>()?.id;
            let record = Record {
                owner: req.user().map(str::to_owned),
                name: req
                    .query("name")
                    .filter(|n| !n.is_empty())
                    .map(|n| registry::bare_name(n).to_owned()),
            };
            if let Err(err) = registry::record_container(&id, &record) {
                return Ok(Decision::deny(format!(
                    "container {} was created, but its owner could not be recorded: {err}",
                    short(&id)
                )));
            }
        }
        ("container_exec_create", 201) => {
            let exec = response.body::<Created>()?.id;
            let reference = req.param("name").unwrap_or("");
            if let Resolved::Known { id, .. } = registry::resolve(reference)? {
                registry::record_exec(&exec, &id)?;
            }
        }
        ("container_rename", 204) => {
            let new_name = registry::bare_name(req.query("name").unwrap_or(""));
            match registry::resolve(req.param("name").unwrap_or(""))? {
                Resolved::Known { id, record } => registry::rename(&id, record, new_name)?,
                _ => registry::forget_name(new_name)?,
            }
        }
        ("container_delete", 204) => {
            let reference = req.param("name").unwrap_or("");
            match registry::resolve(reference)? {
                Resolved::Known { id, .. } => registry::forget_container(&id)?,
                _ => registry::forget_name(reference)?,
            }
        }
        ("container_wait", 200) if req.query("condition") == Some("removed") => {
            if let Resolved::Known { id, .. } = registry::resolve(req.param("name").unwrap_or(""))?
            {
                registry::forget_container(&id)?;
            }
        }
        ("container_prune", 200) => {
            for id in response.body::<Pruned>()?.deleted.unwrap_or_default() {
                registry::forget_container(&id)?;
            }
        }
        ("volume_create", 201) => {
            // A name the daemon generated is known only now.
            let name = response.body::<CreatedVolume>()?.name;
            if volumes::record(&name)?.is_none() {
                volumes::claim(&name, req.user())?;
            }
        }
        ("volume_remove", 204 | 404) => volumes::forget(req.param("name").unwrap_or(""))?,
        ("volume_prune", 200) => {
            for name in response
                .body::<PrunedVolumes>()?
                .deleted
                .unwrap_or_default()
            {
                volumes::forget(&name)?;
            }
        }
        ("volume_list", 200) => {
            // Best effort, as for `docker ps`.
            let listed = response.body::<VolumeList>().ok().and_then(|l| l.volumes);
            let named = listed.unwrap_or_default().into_iter();
            for volume in named.filter(|v| !volumes::looks_anonymous(&v.name)) {
                if volumes::learn_unclaimed(&volume.name).is_err() {
                    break;
                }
            }
        }
        ("container_list", 200) => {
            // Best effort: a listing too large to be forwarded, or more
            // names than one call may write, must not fail `docker ps`.
            let listed = response.body::<Vec<Listed>>().unwrap_or_default();
            let names = listed.iter().flat_map(|entry| {
                let names = entry.names.iter().flatten();
                // `/name`; links add `/other/alias` names, which are not names.
                names
                    .map(|name| registry::bare_name(name))
                    .filter(|name| !name.is_empty() && !name.contains('/'))
                    .map(|name| (name, entry.id.as_str()))
            });
            for (name, id) in names {
                if registry::learn_name(name, id).is_err() {
                    break;
                }
            }
        }
        _ => {}
    }
    Ok(Decision::allow())
}

export_policy!(authorize, Config, response_phase);

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing::{self, RequestBuilder, certificate, fixture_response};
    use portcullis_sdk::{assert_allowed, assert_denied};
    use serde_json::json;

    use super::*;

    const WEB: &str = "0ef32779a6c9945127b80196e07d42e17993ca992187c37eb34cbfafd459835f";
    const EXEC: &str = "9b1c4a7e0d2f3b5a6c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";

    fn config() -> Config {
        Config {
            admins: vec!["root".into()],
            admin_groups: vec!["ops".into()],
            anonymous: Anonymous::User,
        }
    }

    fn call(method: &str, uri: &str, user: &str) -> RequestBuilder {
        RequestBuilder::new(method, uri).user(user)
    }

    fn decide(req: RequestBuilder) -> Decision {
        authorize(&req.build(), &config()).into_decision()
    }

    use portcullis_sdk::IntoDecision as _;

    /// alice's `docker run -d --name web busybox`: the create and its response.
    fn alice_creates_web() {
        let create = RequestBuilder::post_json(
            "/v1.41/containers/create?name=web",
            r#"{"Image":"busybox"}"#,
        )
        .user("alice");
        assert_allowed!(decide(create.clone()));
        let created = json!({"Id": WEB, "Warnings": []}).to_string();
        assert_allowed!(decide(create.response(Some(201), Some(&created))));
    }

    /// The calls `docker start/stop/exec/logs/rm/cp/inspect …` make on `reference`.
    fn container_calls(reference: &str) -> Vec<(&'static str, String)> {
        [
            ("POST", "start"),
            ("POST", "stop"),
            ("POST", "kill"),
            ("POST", "restart"),
            ("POST", "pause"),
            ("POST", "unpause"),
            ("POST", "update"),
            ("POST", "rename?name=other"),
            ("POST", "attach?stream=1"),
            ("GET", "attach/ws"),
            ("POST", "exec"),
            ("GET", "logs?stdout=1"),
            ("GET", "archive?path=/etc"),
            ("PUT", "archive?path=/tmp"),
            ("HEAD", "archive?path=/etc"),
            ("GET", "export"),
            ("GET", "json"),
            ("GET", "top"),
            ("GET", "stats"),
            ("POST", "wait"),
            ("POST", "resize?h=1&w=1"),
        ]
        .into_iter()
        .map(|(method, rest)| (method, format!("/v1.41/containers/{reference}/{rest}")))
        .chain([("DELETE", format!("/v1.41/containers/{reference}?force=1"))])
        .collect()
    }

    #[test]
    fn only_the_owner_and_administrators_touch_a_container() {
        testing::state::clear();
        alice_creates_web();
        for reference in ["web", "/web", WEB, &WEB[..12]] {
            for (method, uri) in container_calls(reference) {
                assert_denied!(
                    decide(call(method, &uri, "bob")),
                    "belongs to alice, not to bob"
                );
                assert_allowed!(decide(call(method, &uri, "alice")));
                assert_allowed!(decide(call(method, &uri, "root")));
                let ops = RequestBuilder::new(method, &uri).certificate_pem(&certificate("carol"));
                assert_allowed!(decide(ops));
            }
        }
        // `docker commit web` and `docker network connect net web`.
        assert_denied!(
            decide(call("POST", "/v1.41/commit?container=web&repo=x", "bob")),
            "belongs to alice"
        );
        let connect =
            RequestBuilder::post_json("/v1.41/networks/n1/connect", r#"{"container":"web"}"#)
                .user("bob");
        assert_denied!(decide(connect), "belongs to alice");
    }

    #[test]
    fn a_new_container_cannot_reach_into_someone_elses() {
        testing::state::clear();
        alice_creates_web();
        for host_config in [
            json!({"VolumesFrom": ["web:ro"]}),
            json!({"NetworkMode": "container:web"}),
            json!({"PidMode": format!("container:{WEB}")}),
            json!({"IpcMode": "container:/web"}),
            json!({"Links": ["/web:db"]}),
        ] {
            let body = json!({"Image": "busybox", "HostConfig": host_config}).to_string();
            let create = RequestBuilder::post_json("/v1.41/containers/create", &body);
            assert_denied!(decide(create.clone().user("bob")), "belongs to alice");
            assert_allowed!(decide(create.user("alice")));
        }
        // The old-API start body carries a HostConfig the daemon applies.
        let start =
            RequestBuilder::post_json("/v1.23/containers/mine/start", r#"{"VolumesFrom":["web"]}"#)
                .user("bob");
        assert_denied!(decide(start), "container");
    }

    #[test]
    fn execs_follow_their_container() {
        testing::state::clear();
        alice_creates_web();
        let exec_create =
            RequestBuilder::post_json("/v1.41/containers/web/exec", r#"{"Cmd":["sh"]}"#)
                .user("alice");
        assert_allowed!(decide(exec_create.clone()));
        let created = json!({"Id": EXEC}).to_string();
        assert_allowed!(decide(exec_create.response(Some(201), Some(&created))));
        for (method, uri) in [
            ("POST", format!("/v1.41/exec/{EXEC}/start")),
            ("POST", format!("/v1.41/exec/{EXEC}/resize?h=1&w=1")),
            ("GET", format!("/v1.41/exec/{EXEC}/json")),
        ] {
            assert_denied!(decide(call(method, &uri, "bob")), "belongs to alice");
            assert_allowed!(decide(call(method, &uri, "alice")));
        }
        assert_denied!(
            decide(call("POST", "/v1.41/exec/unknown/start", "alice")),
            "not created through Portcullis"
        );
    }

    #[test]
    fn removal_renames_and_prunes_keep_the_records_true() {
        testing::state::clear();
        alice_creates_web();
        let rename = call("POST", "/v1.41/containers/web/rename?name=api", "alice");
        assert_allowed!(decide(rename.response(Some(204), None)));
        assert_denied!(
            decide(call("POST", "/v1.41/containers/api/stop", "bob")),
            "alice"
        );
        assert_denied!(
            decide(call("POST", "/v1.41/containers/web/stop", "alice")),
            "no owner"
        );

        let remove = call("DELETE", "/v1.41/containers/api?force=1", "alice");
        assert_allowed!(decide(remove.clone().response(Some(409), None)));
        assert!(
            !testing::state::entries().is_empty(),
            "a failed removal forgets nothing"
        );
        assert_allowed!(decide(remove.response(Some(204), None)));
        assert!(
            testing::state::entries().is_empty(),
            "{:?}",
            testing::state::entries()
        );

        alice_creates_web();
        let pruned = json!({"ContainersDeleted": [WEB], "SpaceReclaimed": 0}).to_string();
        let prune = call("POST", "/v1.41/containers/prune", "root");
        assert_allowed!(decide(prune.response(Some(200), Some(&pruned))));
        assert!(testing::state::entries().is_empty());
    }

    #[test]
    fn only_administrators_prune() {
        testing::state::clear();
        assert_denied!(
            decide(call("POST", "/v1.41/containers/prune", "alice")),
            "only an administrator"
        );
        assert_allowed!(decide(call("POST", "/v1.41/containers/prune", "root")));
    }

    #[test]
    fn unknown_containers_and_short_prefixes_are_for_administrators() {
        testing::state::clear();
        alice_creates_web();
        assert_denied!(
            decide(call("POST", "/v1.41/containers/legacy/stop", "alice")),
            "no owner is recorded"
        );
        assert_allowed!(decide(call(
            "POST",
            "/v1.41/containers/legacy/stop",
            "root"
        )));
        assert_denied!(
            decide(call(
                "POST",
                &format!("/v1.41/containers/{}/stop", &WEB[..4]),
                "alice"
            )),
            "at least 12 characters"
        );
    }

    #[test]
    fn hex_names_are_refused_so_names_never_pass_for_ids() {
        testing::state::clear();
        let create = RequestBuilder::post_json(
            "/v1.41/containers/create?name=0ef327",
            r#"{"Image":"busybox"}"#,
        );
        assert_denied!(decide(create.user("root")), "hex digits");
        alice_creates_web();
        let rename = call("POST", "/v1.41/containers/web/rename?name=/beef01", "alice");
        assert_denied!(decide(rename), "hex digits");
        let fine = call(
            "POST",
            "/v1.41/containers/web/rename?name=beef-api",
            "alice",
        );
        assert_allowed!(decide(fine));
    }

    #[test]
    fn a_build_cannot_join_someone_elses_network_namespace() {
        testing::state::clear();
        alice_creates_web();
        let build = |user| call("POST", "/v1.41/build?networkmode=container:web&t=x", user);
        assert_denied!(decide(build("bob")), "belongs to alice");
        assert_allowed!(decide(build("alice")));
        assert_allowed!(decide(call("POST", "/v1.41/build?networkmode=host", "bob")));
    }

    /// `docker volume create data` by `user`, and the daemon's answer.
    fn creates_volume(user: &str, name: &str) -> Decision {
        let body = json!({"Name": name}).to_string();
        let create = RequestBuilder::post_json("/v1.41/volumes/create", &body).user(user);
        let decision = decide(create.clone());
        if decision.is_allowed() {
            let created = json!({"Name": name, "Driver": "local"}).to_string();
            assert_allowed!(decide(create.response(Some(201), Some(&created))));
        }
        decision
    }

    fn run_with(host_config: serde_json::Value, user: &str) -> Decision {
        let body = json!({"Image": "busybox", "HostConfig": host_config}).to_string();
        decide(RequestBuilder::post_json("/v1.41/containers/create", &body).user(user))
    }

    #[test]
    fn a_volume_belongs_to_whoever_created_or_first_mounted_it() {
        testing::state::clear();
        assert_allowed!(creates_volume("alice", "data"));
        let mounts = [
            json!({"Binds": ["data:/x"]}),
            json!({"Binds": ["data:/x:ro,nocopy"]}),
            json!({"Mounts": [{"Type": "volume", "Source": "data", "Target": "/x"}]}),
            json!({"mounts": [{"type": "volume", "source": "data", "target": "/x",
                "VolumeOptions": {"DriverConfig": {"Name": "local"}}}]}),
        ];
        for host_config in &mounts {
            assert_denied!(
                run_with(host_config.clone(), "bob"),
                "volume \"data\" belongs to alice, not to bob"
            );
            assert_allowed!(run_with(host_config.clone(), "alice"));
            assert_allowed!(run_with(host_config.clone(), "root"));
        }
        // Top-level HostConfig fields, as the daemon's wrapper reads them.
        let top = RequestBuilder::post_json(
            "/v1.41/containers/create",
            r#"{"Image":"busybox","Binds":["data:/x"]}"#,
        );
        assert_denied!(decide(top.user("bob")), "belongs to alice");
        // bob's own container, started through the old API with a body.
        let create = RequestBuilder::post_json(
            "/v1.41/containers/create?name=mine",
            r#"{"Image":"busybox"}"#,
        )
        .user("bob");
        let created = json!({"Id": EXEC}).to_string();
        assert_allowed!(decide(create.response(Some(201), Some(&created))));
        let old_start =
            RequestBuilder::post_json("/v1.23/containers/mine/start", r#"{"Binds":["data:/x"]}"#);
        assert_denied!(decide(old_start.user("bob")), "belongs to alice");
        let service = json!({"TaskTemplate": {"ContainerSpec": {"Image": "busybox",
            "Mounts": [{"Type": "volume", "Source": "data", "Target": "/x"}]}}})
        .to_string();
        let service = RequestBuilder::post_json("/v1.41/services/create", &service);
        assert_denied!(decide(service.user("bob")), "belongs to alice");
        // `volume create` of an existing name answers with that volume.
        assert_denied!(creates_volume("bob", "data"), "belongs to alice");
        for (method, uri) in [
            ("GET", "/v1.41/volumes/data"),
            ("DELETE", "/v1.41/volumes/data"),
        ] {
            assert_denied!(decide(call(method, uri, "bob")), "belongs to alice");
            assert_allowed!(decide(call(method, uri, "alice")));
        }
    }

    #[test]
    fn the_first_mount_of_a_new_name_claims_it_at_once() {
        testing::state::clear();
        let bind = json!({"Binds": ["scratch:/x"]});
        assert_allowed!(run_with(bind.clone(), "bob"));
        // Claimed in the request phase: alice cannot race bob for it.
        assert_denied!(run_with(bind.clone(), "alice"), "belongs to bob");
        assert_allowed!(run_with(bind, "bob"));
        // Names the daemon generates have no owner but an administrator.
        let anonymous = "ab".repeat(32);
        assert_denied!(
            run_with(json!({"Binds": [format!("{anonymous}:/x")]}), "bob"),
            "no owner is recorded for volume"
        );
        // Anonymous volumes themselves (`-v /x`) are the container's.
        assert_allowed!(run_with(json!({"Binds": ["/x"]}), "bob"));
        assert_allowed!(decide(
            RequestBuilder::post_json(
                "/v1.41/containers/create",
                r#"{"Image":"busybox","Volumes":{"/data":{}}}"#
            )
            .user("bob")
        ));
    }

    #[test]
    fn volume_records_follow_the_daemon() {
        testing::state::clear();
        // `volume create` without a name: the daemon's name is recorded.
        let generated = "cd".repeat(32);
        let create = RequestBuilder::post_json("/v1.41/volumes/create", "{}").user("alice");
        assert_allowed!(decide(create.clone()));
        let created = json!({"Name": generated}).to_string();
        assert_allowed!(decide(create.response(Some(201), Some(&created))));
        let uri = format!("/v1.41/volumes/{generated}");
        assert_allowed!(decide(call("GET", &uri, "alice")));
        assert_denied!(decide(call("GET", &uri, "bob")), "belongs to alice");
        // Removed: forgotten, and the name is free again.
        let remove = call("DELETE", &uri, "alice");
        assert_allowed!(decide(remove.response(Some(204), None)));
        assert_eq!(volumes::record(&generated).unwrap(), None);
        assert_allowed!(creates_volume("alice", "data"));
        let pruned = json!({"VolumesDeleted": ["data"], "SpaceReclaimed": 0}).to_string();
        let prune = call("POST", "/v1.41/volumes/prune", "root");
        assert_allowed!(decide(prune.response(Some(200), Some(&pruned))));
        assert_eq!(volumes::record("data").unwrap(), None);
        assert_denied!(
            decide(call("POST", "/v1.41/volumes/prune", "alice")),
            "only an administrator"
        );
        // A listing marks what nobody claimed as older than Portcullis.
        assert_allowed!(creates_volume("alice", "mine"));
        let listing = json!({"Volumes": [{"Name": "mine"}, {"Name": "legacy"},
            {"Name": "ef".repeat(32)}], "Warnings": null})
        .to_string();
        let ls = call("GET", "/v1.41/volumes", "bob").response(Some(200), Some(&listing));
        assert_allowed!(decide(ls));
        assert_denied!(
            run_with(json!({"Binds": ["legacy:/x"]}), "bob"),
            "existed before Portcullis kept owners"
        );
        assert_allowed!(run_with(json!({"Binds": ["legacy:/x"]}), "root"));
        assert_allowed!(run_with(json!({"Binds": ["mine:/x"]}), "alice"));
        assert_eq!(
            volumes::record(&"ef".repeat(32)).unwrap(),
            None,
            "anonymous names are not kept"
        );
    }

    #[test]
    fn a_listing_teaches_generated_names() {
        testing::state::clear();
        let create =
            RequestBuilder::post_json("/v1.41/containers/create", r#"{"Image":"busybox"}"#)
                .user("alice");
        let created = json!({"Id": WEB}).to_string();
        assert_allowed!(decide(create.response(Some(201), Some(&created))));
        let listing = json!([{"Id": WEB, "Names": ["/happy_turing"]}]).to_string();
        let ps = call("GET", "/v1.41/containers/json", "bob").response(Some(200), Some(&listing));
        assert_allowed!(decide(ps));
        assert_allowed!(decide(call(
            "POST",
            "/v1.41/containers/happy_turing/stop",
            "alice"
        )));
        assert_denied!(
            decide(call("POST", "/v1.41/containers/happy_turing/stop", "bob")),
            "belongs to alice"
        );
    }

    #[test]
    fn anonymous_callers_are_what_the_config_says() {
        testing::state::clear();
        let stop = || RequestBuilder::new("POST", "/v1.41/containers/legacy/stop").build();
        let with = |anonymous| Config {
            anonymous,
            ..Config::default()
        };
        assert_denied!(authorize(&stop(), &with(Anonymous::User)), "no owner");
        assert_allowed!(authorize(&stop(), &with(Anonymous::Admin)));
        assert_denied!(
            authorize(&stop(), &with(Anonymous::Deny)),
            "client certificate"
        );
    }

    /// Finding 1 of issue 17 class 3 at the module: an envelope from a host
    /// without the identity check, for a certificate without a CN (Docker
    /// authenticated the caller, reports no user). With `anonymous =
    /// "admin"` this module took it for the local socket; the SDK now
    /// refuses it before the policy runs.
    #[test]
    fn an_authenticated_caller_without_a_user_is_not_the_anonymous_admin() {
        testing::state::clear();
        let envelope = json!({
            "phase": "request", "user": null, "authn_method": "TLS",
            "method": "POST", "uri": "/v1.41/containers/legacy/stop",
            "path": "/containers/legacy/stop", "api_version": "1.41",
            "query": {}, "action": "container_stop", "params": {"name": "legacy"},
            "headers": {}, "body": null, "body_state": "absent",
            "peer_certificate": null, "mounts": null,
            "config": {"anonymous": "admin"},
        });
        let answer = portcullis_entry::authorize(envelope.to_string().as_bytes());
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["allow"], false, "{answer}");
        assert_eq!(
            answer["msg"],
            "Docker authenticated the caller (TLS) but reports no user"
        );
    }

    #[test]
    fn a_create_whose_owner_cannot_be_recorded_is_reported() {
        testing::state::clear();
        testing::state::set_key_quota(0);
        let create =
            RequestBuilder::post_json("/v1.41/containers/create", r#"{"Image":"busybox"}"#)
                .user("alice");
        let created = json!({"Id": WEB}).to_string();
        assert_denied!(
            decide(create.response(Some(201), Some(&created))),
            "was created, but its owner could not be recorded: state quota exceeded"
        );
    }

    #[test]
    fn the_captured_create_response_records_its_owner() {
        testing::state::clear();
        let req = fixture_response("create_bg__02_POST_containers-create.json");
        assert_allowed!(authorize(&req, &config()));
        let record: Record = portcullis_sdk::state::get(&format!("c/{WEB}"))
            .unwrap()
            .unwrap();
        assert_eq!(record.name.as_deref(), Some("bg"));
    }
}
