//! Self-protection: a rule built into the host, judged before any module,
//! that no policy can remove by mistake. Docker lets whoever may call the
//! plugin API disable or remove the authorization plugin itself, and
//! whoever may touch containers stop the container it runs in or reach
//! into it from another: each turns Portcullis off. So, unless the caller
//! is a break-glass user:
//!
//! - `plugin disable`, `rm`, `set` and `upgrade` of a plugin named in
//!   `[protect] plugins` (default: `[plugin] name`), matched as Docker
//!   resolves plugin references (`portcullis` is
//!   `docker.io/library/portcullis:latest`), are refused. Docker resolves a
//!   full ID, then a name, then a unique ID prefix: run as a managed plugin,
//!   whose ID it knows, Portcullis refuses hex references that are a prefix
//!   of that ID (and protects the name it was created under); otherwise
//!   every hex reference is refused.
//! - The containers it protects (the one it runs in, found by its ID in
//!   `/proc/self/mountinfo`, and the names and IDs in `[protect]
//!   containers`) may not be stopped, killed, removed, restarted, paused,
//!   updated, renamed, checkpointed, exec'd into, attached to, read or
//!   written through the archive API, exported, committed, connected to or
//!   disconnected from a network; and no container may join their network,
//!   PID or IPC namespace, mount their volumes or link to them, at create,
//!   in an old-API start body, or when a container created earlier with
//!   such a reference starts; nor may a build join their network. A
//!   container that already reaches into one (created before the rule, or
//!   by a break-glass user) is a way in too, and is treated alike.
//!
//! References are resolved by asking dockerd (`docker_lookup`): a link
//! alias (`linker/alias`), a name, an ID prefix all reach the same
//! container, and the rule judges that container, not the string. What can
//! be decided without the daemon is (a protected name, a hex prefix of a
//! protected ID); a reference the daemon could not resolve in time fails
//! closed. A join (`container:<ref>`) naming no container is refused too:
//! dockerd pins a join to the container's ID at create only when the
//! reference resolves, and otherwise looks it up again at every start.

use portcullis_envelope::docker::{ContainerCreate, ContainerStart, HostConfig, NetworkConnect};
use portcullis_envelope::mounts::{HostRoot, MountKind};
use portcullis_envelope::{BodyState, Envelope, Phase};

use crate::config::ProtectSettings;
use crate::docker_lookup::{Answers, ContainerFacts, Lookup, can_look_up};
use crate::managed_plugin::{self, OwnPlugin};

/// Calls on a container, named in the path, that could stop, freeze,
/// reconfigure, enter, read or write the container Portcullis runs in.
const TARGET_ACTIONS: [&str; 17] = [
    "container_stop",
    "container_kill",
    "container_delete",
    "container_restart",
    "container_pause",
    "container_update",
    "container_rename",
    "container_checkpoint_create",
    "container_checkpoint_delete",
    "container_exec_create",
    "container_attach",
    "container_attach_websocket",
    "container_archive",
    "container_archive_info",
    "container_archive_extract",
    "container_copyfiles",
    "container_export",
];

/// Plugin calls that could turn Portcullis off or change it.
const PLUGIN_ACTIONS: [&str; 4] = [
    "plugin_disable",
    "plugin_remove",
    "plugin_set",
    "plugin_upgrade",
];

/// What the refusals of protected containers end with.
const WHO_MAY: &str = "([protect] break_glass_users may)";

/// The built-in rule, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfProtection {
    /// Protected plugin references, normalized (`domain/path:tag`).
    plugins: Vec<String>,
    /// Portcullis' own plugin ID, when it runs as a managed plugin.
    own_plugin_id: Option<String>,
    /// Protected container names (without the leading `/`).
    container_names: Vec<String>,
    /// Protected container IDs (full or prefixes of at least 12), lowercase hex.
    container_ids: Vec<String>,
    /// Users (TLS CN) the rule does not apply to.
    break_glass_users: Vec<String>,
}

/// Where a call names a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// The path (`/containers/{name}/stop`).
    Target,
    /// The path of a plain start: starting a protected container is no
    /// threat, what the started container's `HostConfig` reaches may be.
    Started,
    /// `HostConfig.NetworkMode` `container:<ref>`.
    NetworkMode,
    /// `HostConfig.PidMode` `container:<ref>`.
    PidMode,
    /// `HostConfig.IpcMode` `container:<ref>`.
    IpcMode,
    /// `HostConfig.VolumesFrom` `<ref>[:mode]`.
    VolumesFrom,
    /// `HostConfig.Links` `<ref>[:alias]`.
    Links,
    /// `POST /commit?container=<ref>`.
    Commit,
    /// `POST /build?networkmode=container:<ref>`.
    Build,
    /// The `Container` of a network connect or disconnect body.
    NetworkConnect,
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::Target | Field::Started => "the call",
            Field::NetworkMode => "NetworkMode",
            Field::PidMode => "PidMode",
            Field::IpcMode => "IpcMode",
            Field::VolumesFrom => "VolumesFrom",
            Field::Links => "Links",
            Field::Commit => "commit's container",
            Field::Build => "the build's networkmode",
            Field::NetworkConnect => "the network call's Container",
        }
    }

    /// A namespace join, which dockerd resolves again at every start
    /// unless it pinned the reference to an ID at create.
    fn is_join(self) -> bool {
        matches!(self, Field::NetworkMode | Field::PidMode | Field::IpcMode)
    }
}

/// One container reference in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    field: Field,
    /// As dockerd's `GetContainer` receives it.
    text: String,
}

/// Where the rule stands on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Judgement {
    Pass,
    Refuse(String),
    /// It needs dockerd's answers about these references first.
    Ask(Vec<String>),
}

impl SelfProtection {
    /// The rule for `settings`, with this process's own container (if it
    /// runs in one) found in `/proc/self/mountinfo`, and, if it runs as a
    /// managed plugin, its ID and the name dockerd knows it by (read
    /// through `host_root`; see `managed_plugin`).
    pub fn new(settings: &ProtectSettings, host_root: &HostRoot) -> SelfProtection {
        let own = std::fs::read_to_string("/proc/self/mountinfo")
            .ok()
            .and_then(|mountinfo| own_container_id(&mountinfo));
        let mut rule = SelfProtection::with_own_container(settings, own);
        if let Some(plugin) = managed_plugin::discover(host_root.dir()) {
            rule.protect_own_plugin(plugin);
        }
        rule
    }

    /// Adds this managed plugin's ID and the name it was created under to
    /// what is protected (unless plugin protection is off).
    fn protect_own_plugin(&mut self, plugin: OwnPlugin) {
        if self.plugins.is_empty() {
            return;
        }
        match plugin.name {
            Ok(name) => {
                tracing::info!(
                    target: "portcullis::protect",
                    "running as managed plugin {name} ({}): protected", plugin.id
                );
                let name = normalize_plugin_reference(&name);
                if !self.plugins.contains(&name) {
                    self.plugins.push(name);
                }
            }
            Err(why) => tracing::warn!(
                target: "portcullis::protect",
                "running as managed plugin {} but its name is unknown ({why}): list the name it was created under in [protect] plugins",
                plugin.id
            ),
        }
        self.own_plugin_id = Some(plugin.id.to_ascii_lowercase());
    }

    fn with_own_container(settings: &ProtectSettings, own: Option<String>) -> SelfProtection {
        let (ids, names): (Vec<&String>, Vec<&String>) = settings
            .containers
            .iter()
            .partition(|c| c.len() >= 12 && is_hex(c));
        SelfProtection {
            plugins: settings
                .plugins
                .iter()
                .map(|p| normalize_plugin_reference(p))
                .collect(),
            own_plugin_id: None,
            container_names: names
                .into_iter()
                .map(|n| n.trim_start_matches('/').to_owned())
                .collect(),
            container_ids: ids
                .into_iter()
                .map(|id| id.to_ascii_lowercase())
                .chain(own)
                .collect(),
            break_glass_users: settings.break_glass_users.clone(),
        }
    }

    /// Whether any container is protected (so that container calls may
    /// need dockerd's answers); when none is, no call ever waits for one.
    pub fn guards_containers(&self) -> bool {
        !self.container_names.is_empty() || !self.container_ids.is_empty()
    }

    /// The references dockerd must resolve before `envelope` can be
    /// judged, given the `answers` so far (empty: judge now).
    pub fn questions(&self, envelope: &Envelope, answers: &Answers) -> Vec<String> {
        match self.judge(envelope, answers) {
            Judgement::Ask(questions) => questions,
            Judgement::Pass | Judgement::Refuse(_) => Vec::new(),
        }
    }

    /// Why `envelope` is refused, if it is (request phase only), knowing
    /// `answers`. A reference the rule needed and dockerd was not asked
    /// about refuses (e.g. `portcullis check`, which asks no daemon).
    pub fn check(&self, envelope: &Envelope, answers: &Answers) -> Option<String> {
        match self.judge(envelope, answers) {
            Judgement::Pass => None,
            Judgement::Refuse(why) => Some(why),
            Judgement::Ask(questions) => Some(format!(
                "cannot tell whether container \"{}\" is one Portcullis protects: dockerd was not asked ([docker] socket)",
                questions.first().map_or("", String::as_str)
            )),
        }
    }

    fn judge(&self, envelope: &Envelope, answers: &Answers) -> Judgement {
        if envelope.phase != Phase::Request {
            return Judgement::Pass;
        }
        let action = envelope.action;
        let is_plugin_call = PLUGIN_ACTIONS.contains(&action);
        if !is_plugin_call && !self.guards_containers() {
            return Judgement::Pass;
        }
        if envelope
            .user
            .as_ref()
            .is_some_and(|user| self.break_glass_users.contains(user))
        {
            return Judgement::Pass;
        }
        if is_plugin_call {
            return match envelope.params.get("name") {
                Some(target) => self
                    .plugin_refusal(target)
                    .map_or(Judgement::Pass, Judgement::Refuse),
                None => Judgement::Pass,
            };
        }
        let (references, volumes) = match (references(envelope), volumes(envelope)) {
            (Ok(references), Ok(volumes)) => (references, volumes),
            (Err(refusal), _) | (_, Err(refusal)) => return Judgement::Refuse(refusal),
        };
        if references.is_empty() && volumes.is_empty() {
            return Judgement::Pass;
        }
        let mut judge = Judge {
            rule: self,
            answers,
            ask: Vec::new(),
            ids: self.container_ids.clone(),
        };
        let refusal = judge
            .containers(&references, action)
            .or_else(|| judge.volumes(&volumes));
        match refusal {
            Some(refusal) => Judgement::Refuse(refusal),
            None if judge.ask.is_empty() => Judgement::Pass,
            None => {
                judge.ask.sort();
                judge.ask.dedup();
                Judgement::Ask(judge.ask)
            }
        }
    }

    fn plugin_refusal(&self, target: &str) -> Option<String> {
        if self.plugins.is_empty() {
            return None;
        }
        if is_hex(target) {
            let may_be_own = match &self.own_plugin_id {
                // dockerd matches a full ID, a name, then an ID prefix: a
                // hex string that is no prefix of ours never reaches it.
                Some(own) => own.starts_with(&target.to_ascii_lowercase()),
                None => true,
            };
            if may_be_own {
                return Some(format!(
                    "plugin \"{target}\" may be Portcullis itself by ID: name plugins by \
                     reference for this call ([protect] break_glass_users may)"
                ));
            }
        }
        let normalized = normalize_plugin_reference(target);
        self.plugins.contains(&normalized).then(|| {
            format!(
                "plugin \"{target}\" is Portcullis itself: it may not be disabled, removed, \
                 reconfigured or upgraded ([protect] break_glass_users may)"
            )
        })
    }

    /// Whether dockerd's container is one the rule protects, `ids` holding
    /// the protected IDs known for this call.
    fn protects(&self, facts: &ContainerFacts, ids: &[String]) -> bool {
        let id = facts.id.to_ascii_lowercase();
        let name = facts.name.strip_prefix('/').unwrap_or(&facts.name);
        ids.iter()
            .any(|protected| id.starts_with(protected.as_str()))
            || self.container_names.iter().any(|n| n == name)
    }
}

/// One call's judgement: the protected IDs known so far (configured, own,
/// and those of protected names dockerd answered), and what must be asked.
struct Judge<'a> {
    rule: &'a SelfProtection,
    answers: &'a Answers,
    ask: Vec<String>,
    ids: Vec<String>,
}

impl Judge<'_> {
    /// The refusal of a call whose `references` reach a protected
    /// container, if they do (or what to ask, in `self.ask`).
    fn containers(&mut self, references: &[Reference], action: &str) -> Option<String> {
        // What needs no daemon first: a refusal stops here, with no lookup.
        for reference in references {
            if let Some(refusal) = self.refused_without_daemon(reference, None) {
                return Some(refusal);
            }
        }
        // A hex reference could be a name now and an ID prefix a moment
        // later (rename the container that holds the name): it must be no
        // prefix of any protected ID, those of protected names included.
        if references.iter().any(|r| is_hex(bare(&r.text))) {
            if let Some(refusal) = self.learn_protected_ids() {
                return Some(refusal);
            }
            for reference in references {
                if let Some(refusal) = self.refused_without_daemon(reference, None) {
                    return Some(refusal);
                }
            }
        }
        for reference in references {
            match self.resolve(reference) {
                None => {}
                Some(Resolved::Failed(why)) => {
                    return Some(fail_closed(&reference.text, &why));
                }
                Some(Resolved::Missing) if reference.field.is_join() => {
                    return Some(format!(
                        "{} names container \"{}\", which does not exist: dockerd would look it up again at every start, when it could name a container Portcullis protects {WHO_MAY}",
                        reference.field.label(),
                        reference.text
                    ));
                }
                Some(Resolved::Missing) => {}
                Some(Resolved::Found(facts)) => {
                    if reference.field != Field::Started && self.rule.protects(&facts, &self.ids) {
                        return Some(refusal(reference, &facts));
                    }
                    // One that reaches into a protected container (created
                    // before the rule, or by a break-glass user) is a way
                    // in too: entered, joined or started, it shares its
                    // namespaces or volumes (stopping or removing it is not).
                    if let Some(links) = way_in(reference.field, action)
                        && let Some(refusal) = self.reaches_into_protected(&facts, links)
                    {
                        return Some(refusal);
                    }
                }
            }
        }
        None
    }

    /// The refusal of a call that mounts or removes one of `volumes` while
    /// a protected container mounts it (its state, its configuration: a
    /// container mounting them reaches into it as `--volumes-from` would).
    fn volumes(&mut self, volumes: &[String]) -> Option<String> {
        if volumes.is_empty() {
            return None;
        }
        let protected = self
            .rule
            .container_ids
            .iter()
            .chain(&self.rule.container_names);
        for key in protected {
            if !can_look_up(key) {
                continue;
            }
            match self.answers.get(key) {
                None => self.ask.push(key.clone()),
                Some(Lookup::Missing) => {}
                Some(Lookup::Failed(why)) => return Some(fail_closed(key, why)),
                Some(Lookup::Found(facts)) => {
                    if let Some(volume) = volumes.iter().find(|v| facts.volumes.contains(v)) {
                        return Some(format!(
                            "volume \"{volume}\" is mounted by {} ({}), which runs Portcullis: no other container may mount it, nor may it be removed {WHO_MAY}",
                            bare(&facts.name),
                            short(&facts.id)
                        ));
                    }
                }
            }
        }
        None
    }

    /// The IDs of the protected names that exist; `Some` refusal when
    /// dockerd could not say.
    fn learn_protected_ids(&mut self) -> Option<String> {
        for name in &self.rule.container_names {
            if !can_look_up(name) {
                continue;
            }
            match self.answers.get(name) {
                None => self.ask.push(name.clone()),
                Some(Lookup::Found(facts)) => self.ids.push(facts.id.to_ascii_lowercase()),
                Some(Lookup::Missing) => {}
                Some(Lookup::Failed(why)) => return Some(fail_closed(name, why)),
            }
        }
        None
    }

    /// What can be refused from the reference alone: a protected name, a
    /// hex string that may be a prefix of a protected ID, or a reference
    /// that cannot be asked about faithfully. `owner` names the container
    /// whose stored `HostConfig` holds it, if any.
    fn refused_without_daemon(&self, reference: &Reference, owner: Option<&str>) -> Option<String> {
        let text = reference.text.as_str();
        let name = bare(text);
        let itself = reference.field != Field::Started;
        let by_name = itself && self.rule.container_names.iter().any(|n| n == name);
        let lowered = text.to_ascii_lowercase();
        let by_id = itself
            && is_hex(text)
            && self
                .ids
                .iter()
                .any(|id| id.starts_with(&lowered) || lowered.starts_with(id.as_str()));
        if by_name || by_id {
            let what = match (reference.field, owner) {
                (Field::Target | Field::Started, None) => {
                    format!("container \"{text}\" runs Portcullis")
                }
                (field, None) => format!(
                    "{} names container \"{text}\", which runs Portcullis",
                    field.label()
                ),
                (field, Some(owner)) => format!(
                    "container {owner} reaches into \"{text}\", which runs Portcullis, through its {}",
                    field.label()
                ),
            };
            return Some(format!("{what}: {}", consequence(reference.field)));
        }
        (!text.is_empty() && !can_look_up(name)).then(|| {
            format!(
                "container reference \"{text}\" in {} cannot be resolved as dockerd would (name containers by name, link name or ID) while Portcullis protects a container",
                reference.field.label()
            )
        })
    }

    /// dockerd's answer about `reference`, asking for it if it is missing.
    fn resolve(&mut self, reference: &Reference) -> Option<Resolved> {
        let text = reference.text.as_str();
        if text.is_empty() {
            // dockerd refuses an empty reference itself.
            return None;
        }
        let key = bare(text);
        match self.answers.get(key) {
            None => {
                self.ask.push(key.to_owned());
                None
            }
            Some(Lookup::Failed(why)) => Some(Resolved::Failed(why.clone())),
            Some(Lookup::Missing) => Some(Resolved::Missing),
            // `/abc` is a name only; asked as `abc`, dockerd may have
            // answered with an ID (prefix) match instead.
            Some(Lookup::Found(facts)) if key != text && is_hex(key) && facts.name != text => {
                Some(Resolved::Missing)
            }
            Some(Lookup::Found(facts)) => Some(Resolved::Found(facts.clone())),
        }
    }

    /// A refusal if the stored `HostConfig` of `started` (a container a
    /// call names) joins or mounts from a protected container, or, with
    /// `links` (it is being started), links to one.
    fn reaches_into_protected(&mut self, started: &ContainerFacts, links: bool) -> Option<String> {
        let owner = started.name.strip_prefix('/').unwrap_or(&started.name);
        let reaches = &started.reaches;
        let stored = host_config_references(
            &reaches.network_mode,
            &reaches.pid_mode,
            &reaches.ipc_mode,
            &reaches.volumes_from,
            if links { &reaches.links } else { &[] },
        );
        for reference in &stored {
            // A join dockerd pinned at create: the full ID, compared as is.
            if reference.text.len() == 64 && is_hex(&reference.text) {
                if self
                    .ids
                    .iter()
                    .any(|id| reference.text.starts_with(id.as_str()))
                {
                    return Some(format!(
                        "container {owner} reaches into {}, which runs Portcullis, through its {}: {}",
                        short(&reference.text),
                        reference.field.label(),
                        consequence(Field::Target)
                    ));
                }
                continue;
            }
            if let Some(refusal) = self.refused_without_daemon(reference, Some(owner)) {
                return Some(refusal);
            }
            match self.resolve(reference) {
                Some(Resolved::Found(facts)) if self.rule.protects(&facts, &self.ids) => {
                    return Some(format!(
                        "container {owner} reaches into \"{}\" ({}, {}), which runs Portcullis, through its {}: {}",
                        reference.text,
                        bare(&facts.name),
                        short(&facts.id),
                        reference.field.label(),
                        consequence(Field::Target)
                    ));
                }
                Some(Resolved::Failed(why)) => return Some(fail_closed(&reference.text, &why)),
                _ => {}
            }
        }
        None
    }
}

/// Whether naming a container that reaches into a protected one, in
/// `field` of an `action`, reaches through it: `Some(links)` if so, `links`
/// when it (re)starts it, which sets its links up again (the protected
/// container's environment and address); `None` when the call only stops,
/// changes or removes it, or links to it.
fn way_in(field: Field, action: &str) -> Option<bool> {
    match field {
        Field::Started => Some(true),
        Field::Target => match action {
            "container_start" | "container_restart" => Some(true),
            "container_exec_create"
            | "container_attach"
            | "container_attach_websocket"
            | "container_archive"
            | "container_archive_info"
            | "container_archive_extract"
            | "container_copyfiles"
            | "container_export"
            | "container_checkpoint_create" => Some(false),
            _ => None,
        },
        Field::Links => None,
        Field::NetworkMode
        | Field::PidMode
        | Field::IpcMode
        | Field::VolumesFrom
        | Field::Commit
        | Field::Build
        | Field::NetworkConnect => Some(false),
    }
}

/// A reference as resolved for one call.
enum Resolved {
    Found(ContainerFacts),
    Missing,
    Failed(String),
}

/// The refusal of a reference dockerd resolved to a protected container.
fn refusal(reference: &Reference, facts: &ContainerFacts) -> String {
    let text = &reference.text;
    let container = bare(&facts.name);
    let what = match reference.field {
        Field::Target | Field::Started if bare(text) == container => {
            format!("container \"{text}\" runs Portcullis")
        }
        Field::Target | Field::Started => format!(
            "container \"{text}\" is {container} ({}), which runs Portcullis",
            short(&facts.id)
        ),
        field => format!(
            "{} names container \"{text}\" ({container}, {}), which runs Portcullis",
            field.label(),
            short(&facts.id)
        ),
    };
    format!("{what}: {}", consequence(reference.field))
}

/// What may not be done to a protected container, by where it was named.
fn consequence(field: Field) -> String {
    let what = match field {
        Field::Target | Field::Started => "it may not be stopped, changed, entered or copied",
        Field::NetworkMode | Field::PidMode | Field::IpcMode | Field::Build => {
            "no container may join its namespaces"
        }
        Field::VolumesFrom => "no container may mount its volumes",
        Field::Links => "no container may link to it",
        Field::Commit => "it may not be committed",
        Field::NetworkConnect => "its networks may not be changed",
    };
    format!("{what} {WHO_MAY}")
}

fn fail_closed(reference: &str, why: &str) -> String {
    format!("cannot tell whether container \"{reference}\" is one Portcullis protects: {why}")
}

/// Every container reference of a call the rule judges; `Err` refuses a
/// call whose body could hold one but cannot be read.
fn references(envelope: &Envelope) -> Result<Vec<Reference>, String> {
    let action = envelope.action;
    let mut references = Vec::new();
    let target = |field| {
        envelope.params.get("name").map(|name| Reference {
            field,
            text: name.clone(),
        })
    };
    if TARGET_ACTIONS.contains(&action) {
        references.extend(target(Field::Target));
    }
    match action {
        "container_create" => {
            if let Some(create) = body::<ContainerCreate>(envelope)? {
                references.extend(host_config_refs(&create.host_config));
            }
        }
        // API < 1.24 applies a start body's HostConfig: to the started
        // container itself too.
        "container_start" => match body::<ContainerStart>(envelope)?.and_then(|s| s.host_config) {
            Some(host_config) => {
                references.extend(target(Field::Target));
                references.extend(host_config_refs(&host_config));
            }
            None => references.extend(target(Field::Started)),
        },
        "container_commit" => {
            references.extend(envelope.query.get("container").map(|c| Reference {
                field: Field::Commit,
                text: c.clone(),
            }))
        }
        "image_build" => references.extend(
            envelope
                .query
                .get("networkmode")
                .and_then(|mode| joined(mode))
                .map(|c| Reference {
                    field: Field::Build,
                    text: c.to_owned(),
                }),
        ),
        "network_connect" | "network_disconnect" => {
            if let Some(connect) = body::<NetworkConnect>(envelope)? {
                references.push(Reference {
                    field: Field::NetworkConnect,
                    text: connect.container,
                });
            }
        }
        _ => {}
    }
    Ok(references)
}

/// The volumes a call mounts by name or removes: named (and anonymous,
/// named by their generated name) volumes of a container, an old-API
/// start body, a service; the volume of `volume rm`.
fn volumes(envelope: &Envelope) -> Result<Vec<String>, String> {
    let action = envelope.action;
    if action == "volume_remove" {
        return Ok(envelope.params.get("name").cloned().into_iter().collect());
    }
    let mounts_volumes = matches!(
        action,
        "container_create" | "container_start" | "service_create" | "service_update"
    );
    if !mounts_volumes || envelope.body_state == BodyState::Absent {
        return Ok(Vec::new());
    }
    let Some(mounts) = envelope.mounts() else {
        return Err(format!(
            "the body of this {action} cannot be read and could mount a volume of a container Portcullis protects"
        ));
    };
    Ok(mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && !m.source.is_empty())
        .map(|m| m.source.clone())
        .collect())
}

/// The call's body decoded as dockerd decodes it; `None` without a body.
fn body<T: serde::de::DeserializeOwned>(envelope: &Envelope) -> Result<Option<T>, String> {
    let unreadable = |why: &str| {
        format!(
            "the body of this {} cannot be read ({why}) and could name a container Portcullis protects",
            envelope.action
        )
    };
    match (envelope.body_state, envelope.body.as_deref()) {
        (BodyState::Absent, _) => Ok(None),
        (BodyState::Present, Some(raw)) => serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|e| unreadable(&e.to_string())),
        (BodyState::NotForwarded, _) => Err(unreadable("Docker did not forward it")),
        (state, _) => Err(unreadable(&format!("{state:?}"))),
    }
}

fn host_config_refs(host_config: &HostConfig) -> Vec<Reference> {
    host_config_references(
        &host_config.network_mode,
        &host_config.pid_mode,
        &host_config.ipc_mode,
        &host_config.volumes_from,
        &host_config.links,
    )
}

/// The containers a `HostConfig` names, each as dockerd's `GetContainer`
/// receives it: `container:<ref>` modes (split at the first `:`),
/// `VolumesFrom` `<ref>[:mode]`, and `Links` `<ref>[:alias]`, whose
/// leading `/` dockerd's `ParseLink` strips (`/guard:/linker/db` as stored).
fn host_config_references(
    network_mode: &str,
    pid_mode: &str,
    ipc_mode: &str,
    volumes_from: &[String],
    links: &[String],
) -> Vec<Reference> {
    let mut references = Vec::new();
    for (field, mode) in [
        (Field::NetworkMode, network_mode),
        (Field::PidMode, pid_mode),
        (Field::IpcMode, ipc_mode),
    ] {
        if let Some(container) = joined(mode) {
            references.push(Reference {
                field,
                text: container.to_owned(),
            });
        }
    }
    for spec in volumes_from {
        let container = spec.split_once(':').map_or(spec.as_str(), |(c, _)| c);
        references.push(Reference {
            field: Field::VolumesFrom,
            text: container.to_owned(),
        });
    }
    for link in links {
        let container = link.split(':').next().unwrap_or_default();
        let container = container.strip_prefix('/').unwrap_or(container);
        references.push(Reference {
            field: Field::Links,
            text: container.to_owned(),
        });
    }
    references
}

/// The container of a `container:<ref>` mode (Go's `strings.Cut` at `:`).
fn joined(mode: &str) -> Option<&str> {
    match mode.split_once(':') {
        Some(("container", container)) => Some(container),
        _ => None,
    }
}

/// A reference without the one leading `/` dockerd's name lookup adds.
fn bare(reference: &str) -> &str {
    reference.strip_prefix('/').unwrap_or(reference)
}

/// What `docker ps` prints of an ID.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A plugin reference as Docker's `reference.ParseNormalizedNamed` and
/// `TagNameOnly` make it: `portcullis` → `docker.io/library/portcullis:latest`.
fn normalize_plugin_reference(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest.to_owned())
        }
        Some(_) => ("docker.io", name.to_owned()),
        None => ("docker.io", format!("library/{name}")),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let last = path.rsplit('/').next().unwrap_or_default();
    match digest {
        Some(digest) => format!("{domain}/{path}@{digest}"),
        None if last.contains(':') => format!("{domain}/{path}"),
        None => format!("{domain}/{path}:latest"),
    }
}

/// The 64-hex ID of the Docker container this process runs in, from the
/// bind mounts Docker gives every container (`…/containers/<id>/hostname`).
fn own_container_id(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let root = line.split(' ').nth(3)?;
        let (_, rest) = root.split_once("/containers/")?;
        let id = rest.split('/').next()?;
        (id.len() == 64 && is_hex(id)).then(|| id.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::docker_lookup::Reaches;

    const OWN: &str = "4f2c1e9a7b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
    const GATE: &str = "9b1c4a7e0d2f3b5a6c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
    const WEB: &str = "0ef32779a6c9945127b80196e07d42e17993ca992187c37eb34cbfafd459835f";

    fn envelope(method: &str, uri: &str, user: Option<&str>) -> Envelope {
        with_body(method, uri, user, None)
    }

    fn with_body(method: &str, uri: &str, user: Option<&str>, body: Option<&str>) -> Envelope {
        let mut wire = serde_json::json!({"RequestMethod": method, "RequestUri": uri});
        if let Some(user) = user {
            wire["User"] = user.into();
            wire["UserAuthNMethod"] = "TLS".into();
        }
        if let Some(body) = body {
            wire["RequestBody"] = base64::engine::general_purpose::STANDARD
                .encode(body)
                .into();
            wire["RequestHeaders"] = serde_json::json!({"Content-Type": "application/json"});
        }
        Envelope::from_authz(serde_json::from_value(wire).unwrap(), Phase::Request).unwrap()
    }

    fn rule() -> SelfProtection {
        SelfProtection::with_own_container(
            &ProtectSettings {
                plugins: vec!["portcullis".into(), "acme/authz:2".into()],
                containers: vec!["gatekeeper".into()],
                break_glass_users: vec!["oncall".into()],
            },
            Some(OWN.to_owned()),
        )
    }

    /// An anonymous volume of the own container.
    const ANON: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

    fn found(id: &str, name: &str) -> Lookup {
        let volumes = match id {
            OWN => vec!["portcullis-state".to_owned(), ANON.to_owned()],
            _ => Vec::new(),
        };
        Lookup::Found(ContainerFacts {
            id: id.to_owned(),
            name: format!("/{name}"),
            reaches: Reaches::default(),
            volumes,
        })
    }

    /// What dockerd would answer: the protected containers and `web`, by
    /// name, link alias and ID prefix.
    fn daemon() -> Answers {
        let mut answers = Answers::default();
        for (reference, lookup) in [
            ("gatekeeper", found(GATE, "gatekeeper")),
            ("portcullis", found(OWN, "portcullis")),
            (OWN, found(OWN, "portcullis")),
            ("linker/alias", found(OWN, "portcullis")),
            ("4f2c1e9a7b3d", found(OWN, "portcullis")),
            ("web", found(WEB, "web")),
            ("0ef3", found(WEB, "web")),
            ("gone", Lookup::Missing),
            ("flaky", Lookup::Failed("dockerd answered 500: boom".into())),
        ] {
            answers.insert(reference, lookup);
        }
        answers
    }

    /// The rule's decision as the server reaches it: asking until it needs
    /// nothing more, each round answered from `daemon`.
    fn decide(rule: &SelfProtection, envelope: &Envelope, daemon: &Answers) -> Option<String> {
        let mut answers = Answers::default();
        for _ in 0..3 {
            let questions = rule.questions(envelope, &answers);
            if questions.is_empty() {
                break;
            }
            for question in questions {
                let lookup = daemon.get(&question).cloned().unwrap_or(Lookup::Missing);
                answers.insert(question, lookup);
            }
        }
        rule.check(envelope, &answers)
    }

    #[test]
    fn plugin_references_are_matched_as_docker_resolves_them() {
        let rule = rule();
        let none = Answers::default();
        for refused in [
            "/v1.41/plugins/portcullis/disable",
            "/v1.41/plugins/portcullis:latest/disable",
            "/v1.41/plugins/library/portcullis/set",
            "/v1.41/plugins/docker.io/library/portcullis:latest/upgrade",
            "/v1.41/plugins/acme/authz:2/disable",
            "/v1.41/plugins/4f2c1e/disable",
        ] {
            let method = "POST";
            assert!(
                rule.check(&envelope(method, refused, None), &none)
                    .is_some(),
                "{refused}"
            );
        }
        assert!(
            rule.check(
                &envelope("DELETE", "/v1.41/plugins/portcullis", None),
                &none
            )
            .is_some()
        );
        for allowed in [
            "/v1.41/plugins/portcullis:2.0/disable",
            "/v1.41/plugins/acme/authz/disable",
            "/v1.41/plugins/other/disable",
            "/v1.41/plugins/portcullis/enable",
        ] {
            assert_eq!(
                rule.check(&envelope("POST", allowed, None), &none),
                None,
                "{allowed}"
            );
        }
        assert_eq!(
            rule.check(
                &envelope("GET", "/v1.41/plugins/portcullis/json", None),
                &none
            ),
            None
        );
        assert!(
            rule.questions(&envelope("POST", "/v1.41/plugins/x/disable", None), &none)
                .is_empty(),
            "plugin calls ask no daemon"
        );
    }

    #[test]
    fn a_managed_plugin_refuses_only_hex_prefixes_of_its_own_id() {
        let mut rule = rule();
        rule.protect_own_plugin(OwnPlugin {
            id: GATE.to_owned(),
            name: Ok("acme/gate:1".to_owned()),
        });
        let none = Answers::default();
        for refused in ["9b1c", &GATE[..12], GATE, "acme/gate:1"] {
            let uri = format!("/v1.41/plugins/{refused}/disable");
            assert!(
                rule.check(&envelope("POST", &uri, None), &none).is_some(),
                "{uri}"
            );
        }
        for other in ["9b1d", "4f2c1e", "abcdef"] {
            let uri = format!("/v1.41/plugins/{other}/disable");
            assert_eq!(
                rule.check(&envelope("POST", &uri, None), &none),
                None,
                "{uri}"
            );
        }
    }

    #[test]
    fn protected_containers_are_found_by_what_dockerd_resolves() {
        let rule = rule();
        let daemon = daemon();
        for target in [
            "gatekeeper",
            "%2Fgatekeeper",
            "portcullis",
            "linker/alias",
            "4f2c1e9a7b3d",
            OWN,
            "4F2C",
            GATE,
        ] {
            for (method, call) in [
                ("POST", "stop"),
                ("POST", "kill"),
                ("POST", "exec"),
                ("POST", "update"),
                ("POST", "rename?name=x"),
                ("POST", "pause"),
                ("POST", "restart"),
                ("POST", "attach?stream=1"),
                ("GET", "export"),
                ("POST", "checkpoints"),
            ] {
                let uri = format!("/v1.41/containers/{target}/{call}");
                let refusal = decide(&rule, &envelope(method, &uri, None), &daemon);
                assert!(
                    refusal
                        .as_deref()
                        .is_some_and(|r| r.contains("runs Portcullis")),
                    "{uri}: {refusal:?}"
                );
            }
            for method in ["GET", "HEAD", "PUT"] {
                let uri = format!("/v1.41/containers/{target}/archive?path=/");
                assert!(
                    decide(&rule, &envelope(method, &uri, None), &daemon).is_some(),
                    "{method} {uri}"
                );
            }
            let uri = format!("/v1.41/containers/{target}?force=1");
            assert!(
                decide(&rule, &envelope("DELETE", &uri, None), &daemon).is_some(),
                "{uri}"
            );
        }
        let alias = decide(
            &rule,
            &envelope("POST", "/v1.41/containers/linker/alias/stop", None),
            &daemon,
        );
        assert_eq!(
            alias.as_deref(),
            Some(
                "container \"linker/alias\" is portcullis (4f2c1e9a7b3d), which runs Portcullis: it may not be stopped, changed, entered or copied ([protect] break_glass_users may)"
            )
        );
        for other in ["web", "0ef3", "gone"] {
            let uri = format!("/v1.41/containers/{other}/stop");
            assert_eq!(
                decide(&rule, &envelope("POST", &uri, None), &daemon),
                None,
                "{uri}"
            );
        }
        for read in ["logs", "json", "top", "stats", "changes"] {
            let uri = format!("/v1.41/containers/portcullis/{read}");
            let call = envelope("GET", &uri, None);
            assert!(
                rule.questions(&call, &Answers::default()).is_empty(),
                "{uri}"
            );
            assert_eq!(rule.check(&call, &Answers::default()), None, "{uri}");
        }
    }

    #[test]
    fn what_needs_no_daemon_asks_none() {
        let rule = rule();
        let none = Answers::default();
        for target in ["gatekeeper", "4f2c", OWN] {
            let call = envelope("POST", &format!("/v1.41/containers/{target}/stop"), None);
            assert!(rule.questions(&call, &none).is_empty(), "{target}");
            assert!(rule.check(&call, &none).is_some(), "{target}");
        }
        let unrelated = envelope("POST", "/v1.41/containers/web/stop", None);
        assert_eq!(rule.questions(&unrelated, &none), ["web"]);
        let nothing_protected = SelfProtection::with_own_container(
            &ProtectSettings {
                plugins: vec![],
                containers: vec![],
                break_glass_users: vec![],
            },
            None,
        );
        assert!(!nothing_protected.guards_containers());
        assert!(nothing_protected.questions(&unrelated, &none).is_empty());
        assert_eq!(nothing_protected.check(&unrelated, &none), None);
    }

    #[test]
    fn a_hex_reference_must_be_no_prefix_of_a_protected_names_id() {
        let rule = rule();
        let mut daemon = daemon();
        // "9b1c" is a container's name now; renamed, it would be gatekeeper's prefix.
        daemon.insert("9b1c", found(WEB, "9b1c"));
        let call = envelope("POST", "/v1.41/containers/9b1c/stop", None);
        let mut answers = Answers::default();
        let first = rule.questions(&call, &answers);
        assert!(first.contains(&"gatekeeper".to_owned()), "{first:?}");
        for question in first {
            answers.insert(question.clone(), daemon.get(&question).cloned().unwrap());
        }
        let refusal = rule.check(&call, &answers).unwrap_or_default();
        assert!(
            refusal.contains("container \"9b1c\" runs Portcullis"),
            "{refusal}"
        );
        assert_eq!(
            decide(
                &rule,
                &envelope("POST", "/v1.41/containers/0ef3/stop", None),
                &daemon
            ),
            None
        );
    }

    #[test]
    fn failed_and_missing_lookups_fail_closed() {
        let rule = rule();
        let daemon = daemon();
        let refusal = decide(
            &rule,
            &envelope("POST", "/v1.41/containers/flaky/stop", None),
            &daemon,
        );
        assert_eq!(
            refusal.as_deref(),
            Some(
                "cannot tell whether container \"flaky\" is one Portcullis protects: dockerd answered 500: boom"
            )
        );
        let unasked = rule.check(
            &envelope("POST", "/v1.41/containers/web/stop", None),
            &Answers::default(),
        );
        assert!(unasked.is_some_and(|r| r.contains("dockerd was not asked")));
        let odd = decide(
            &rule,
            &envelope("POST", "/v1.41/containers/a%20b/stop", None),
            &daemon,
        );
        assert!(odd.is_some_and(|r| r.contains("cannot be resolved as dockerd would")));
    }

    #[test]
    fn a_new_container_cannot_reach_into_a_protected_one() {
        let rule = rule();
        let daemon = daemon();
        for host_config in [
            serde_json::json!({"PidMode": "container:portcullis"}),
            serde_json::json!({"PidMode": "container:linker/alias"}),
            serde_json::json!({"NetworkMode": "container:4f2c1e9a7b3d"}),
            serde_json::json!({"IpcMode": "container:/gatekeeper"}),
            serde_json::json!({"VolumesFrom": ["web", "linker/alias:ro"]}),
            serde_json::json!({"Links": ["/portcullis:db"]}),
        ] {
            let body =
                serde_json::json!({"Image": "busybox", "HostConfig": host_config}).to_string();
            let create = with_body("POST", "/v1.41/containers/create", None, Some(&body));
            let refusal = decide(&rule, &create, &daemon);
            assert!(
                refusal
                    .as_deref()
                    .is_some_and(|r| r.contains("which runs Portcullis")),
                "{host_config}: {refusal:?}"
            );
            let start = with_body("POST", "/v1.23/containers/web/start", None, Some(&body));
            assert!(
                decide(&rule, &start, &daemon).is_some(),
                "{host_config} on start"
            );
        }
        // Top-level HostConfig fields, as dockerd's wrapper reads them.
        let top = r#"{"Image":"busybox","PidMode":"container:portcullis"}"#;
        assert!(
            decide(
                &rule,
                &with_body("POST", "/v1.41/containers/create", None, Some(top)),
                &daemon
            )
            .is_some()
        );
        // A join naming nothing would be looked up again at every start.
        let gone = r#"{"HostConfig":{"NetworkMode":"container:gone"}}"#;
        let refusal = decide(
            &rule,
            &with_body("POST", "/v1.41/containers/create", None, Some(gone)),
            &daemon,
        );
        assert!(refusal.is_some_and(|r| r.contains("does not exist")));
        for fine in [
            r#"{"Image":"busybox","HostConfig":{"PidMode":"container:web","VolumesFrom":["web"],"Links":["web:db"]}}"#,
            r#"{"Image":"busybox","HostConfig":{"NetworkMode":"host","VolumesFrom":["gone"]}}"#,
        ] {
            let create = with_body("POST", "/v1.41/containers/create", None, Some(fine));
            assert_eq!(decide(&rule, &create, &daemon), None, "{fine}");
        }
        let unseen = envelope("POST", "/v1.41/containers/create", None);
        assert_eq!(
            decide(&rule, &unseen, &daemon),
            None,
            "no body: dockerd refuses it"
        );
    }

    #[test]
    fn other_calls_that_reach_a_protected_container() {
        let rule = rule();
        let daemon = daemon();
        let commit = envelope("POST", "/v1.41/commit?container=linker/alias&repo=x", None);
        assert!(decide(&rule, &commit, &daemon).is_some_and(|r| r.contains("commit's container")));
        let build = envelope(
            "POST",
            "/v1.41/build?networkmode=container:4f2c1e9a7b3d",
            None,
        );
        assert!(decide(&rule, &build, &daemon).is_some());
        for call in ["connect", "disconnect"] {
            let uri = format!("/v1.41/networks/n1/{call}");
            let body = r#"{"container":"linker/alias"}"#;
            assert!(
                decide(&rule, &with_body("POST", &uri, None, Some(body)), &daemon).is_some(),
                "{call}"
            );
            let body = r#"{"Container":"web"}"#;
            assert_eq!(
                decide(&rule, &with_body("POST", &uri, None, Some(body)), &daemon),
                None
            );
        }
        let fine = envelope("POST", "/v1.41/commit?container=web&repo=x", None);
        assert_eq!(decide(&rule, &fine, &daemon), None);
    }

    #[test]
    fn a_container_created_earlier_cannot_start_into_a_protected_one() {
        let rule = rule();
        let mut daemon = daemon();
        let joiner = |reaches: Reaches| {
            Lookup::Found(ContainerFacts {
                id: WEB.to_owned(),
                name: "/joiner".to_owned(),
                reaches,
                volumes: Vec::new(),
            })
        };
        for reaches in [
            Reaches {
                pid_mode: format!("container:{OWN}"),
                ..Reaches::default()
            },
            Reaches {
                network_mode: "container:linker/alias".to_owned(),
                ..Reaches::default()
            },
            Reaches {
                volumes_from: vec!["gatekeeper:ro".to_owned()],
                ..Reaches::default()
            },
            Reaches {
                links: vec!["/portcullis:/joiner/db".to_owned()],
                ..Reaches::default()
            },
        ] {
            daemon.insert("joiner", joiner(reaches.clone()));
            for call in ["start", "restart"] {
                let uri = format!("/v1.41/containers/joiner/{call}");
                let refusal = decide(&rule, &envelope("POST", &uri, None), &daemon);
                assert!(
                    refusal
                        .as_deref()
                        .is_some_and(|r| r.contains("container joiner reaches into")),
                    "{reaches:?} {call}: {refusal:?}"
                );
            }
        }
        // Entered, or joined in turn, it shares the protected namespaces.
        daemon.insert(
            "joiner",
            joiner(Reaches {
                pid_mode: format!("container:{OWN}"),
                ..Reaches::default()
            }),
        );
        let exec = envelope("POST", "/v1.41/containers/joiner/exec", None);
        assert!(decide(&rule, &exec, &daemon).is_some());
        for cleanup in [
            envelope("POST", "/v1.41/containers/joiner/stop", None),
            envelope("DELETE", "/v1.41/containers/joiner?force=1", None),
        ] {
            assert_eq!(decide(&rule, &cleanup, &daemon), None, "{}", cleanup.uri);
        }
        let body = r#"{"HostConfig":{"PidMode":"container:joiner"}}"#;
        let join = with_body("POST", "/v1.41/containers/create", None, Some(body));
        let refusal = decide(&rule, &join, &daemon).unwrap_or_default();
        assert!(
            refusal.contains("container joiner reaches into"),
            "{refusal}"
        );
        daemon.insert("joiner", joiner(Reaches::default()));
        assert_eq!(decide(&rule, &exec, &daemon), None);
        assert_eq!(
            decide(
                &rule,
                &envelope("POST", "/v1.41/containers/joiner/start", None),
                &daemon
            ),
            None
        );
        // Starting a protected container is no threat; restarting it stops it first.
        assert_eq!(
            decide(
                &rule,
                &envelope("POST", "/v1.41/containers/portcullis/start", None),
                &daemon
            ),
            None
        );
        assert!(
            decide(
                &rule,
                &envelope("POST", "/v1.41/containers/portcullis/restart", None),
                &daemon
            )
            .is_some()
        );
    }

    #[test]
    fn the_volumes_of_a_protected_container_are_its_own() {
        let rule = rule();
        let daemon = daemon();
        let create = |host_config: serde_json::Value| {
            let body = serde_json::json!({"Image": "busybox", "HostConfig": host_config});
            with_body(
                "POST",
                "/v1.41/containers/create",
                None,
                Some(&body.to_string()),
            )
        };
        for host_config in [
            serde_json::json!({"Binds": ["portcullis-state:/x:ro"]}),
            serde_json::json!({"Binds": [format!("{ANON}:/x")]}),
            serde_json::json!({"Mounts": [{"Type": "volume", "Source": "portcullis-state", "Target": "/x"}]}),
        ] {
            let refusal = decide(&rule, &create(host_config.clone()), &daemon);
            assert!(
                refusal
                    .as_deref()
                    .is_some_and(|r| r.contains("is mounted by portcullis (4f2c1e9a7b3d)")),
                "{host_config}: {refusal:?}"
            );
        }
        let service = r#"{"TaskTemplate":{"ContainerSpec":{"Image":"busybox","Mounts":[{"Type":"volume","Source":"portcullis-state","Target":"/x"}]}}}"#;
        let service = with_body("POST", "/v1.41/services/create", None, Some(service));
        assert!(decide(&rule, &service, &daemon).is_some());
        let remove = envelope("DELETE", "/v1.41/volumes/portcullis-state", None);
        assert!(decide(&rule, &remove, &daemon).is_some());
        for fine in [
            create(serde_json::json!({"Binds": ["mine:/x", "/srv:/srv", "/anon"]})),
            envelope("GET", "/v1.41/volumes/portcullis-state", None),
            envelope("DELETE", "/v1.41/volumes/mine", None),
        ] {
            assert_eq!(decide(&rule, &fine, &daemon), None, "{}", fine.uri);
        }
        assert!(
            rule.questions(
                &create(serde_json::json!({"Binds": ["/srv:/srv"]})),
                &Answers::default()
            )
            .is_empty(),
            "no named volume: no lookup"
        );
    }

    #[test]
    fn a_leading_slash_is_a_name_only() {
        let rule = rule();
        let mut daemon = daemon();
        // dockerd answers "0ef3" by ID prefix; "/0ef3" names no container.
        daemon.insert("0ef3", found(OWN, "portcullis"));
        let body = r#"{"HostConfig":{"VolumesFrom":["/0ef3"]}}"#;
        let create = with_body("POST", "/v1.41/containers/create", None, Some(body));
        assert_eq!(decide(&rule, &create, &daemon), None);
        let body = r#"{"HostConfig":{"VolumesFrom":["0ef3"]}}"#;
        let create = with_body("POST", "/v1.41/containers/create", None, Some(body));
        assert!(decide(&rule, &create, &daemon).is_some());
    }

    #[test]
    fn unreadable_bodies_that_could_name_a_container_are_refused() {
        let rule = rule();
        let mut not_forwarded = envelope("POST", "/v1.41/containers/create", None);
        not_forwarded.body_state = BodyState::NotForwarded;
        assert!(
            decide(&rule, &not_forwarded, &daemon()).is_some_and(|r| r.contains("did not forward"))
        );
        let bad = with_body(
            "POST",
            "/v1.41/networks/n/connect",
            None,
            Some(r#"{"Container":1}"#),
        );
        assert!(decide(&rule, &bad, &daemon()).is_some_and(|r| r.contains("cannot be read")));
    }

    #[test]
    fn break_glass_users_pass_and_nobody_else() {
        let rule = rule();
        let daemon = daemon();
        let stop = "/v1.41/containers/gatekeeper/stop";
        assert_eq!(
            decide(&rule, &envelope("POST", stop, Some("oncall")), &daemon),
            None
        );
        assert!(decide(&rule, &envelope("POST", stop, Some("alice")), &daemon).is_some());
        assert!(decide(&rule, &envelope("POST", stop, None), &daemon).is_some());
    }

    #[test]
    fn the_own_container_id_comes_from_mountinfo() {
        let mountinfo = format!(
            "612 590 0:52 / / rw,relatime master:300 - overlay overlay rw\n\
             630 612 254:1 /var/lib/docker/containers/{OWN}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(own_container_id(&mountinfo), Some(OWN.to_owned()));
        assert_eq!(
            own_container_id("22 1 0:21 / /proc rw - proc proc rw\n"),
            None
        );
    }

    #[test]
    fn references_normalize_like_docker() {
        for (reference, normal) in [
            ("portcullis", "docker.io/library/portcullis:latest"),
            ("portcullis:1", "docker.io/library/portcullis:1"),
            ("acme/authz", "docker.io/acme/authz:latest"),
            ("index.docker.io/acme/authz", "docker.io/acme/authz:latest"),
            ("registry:5000/authz", "registry:5000/authz:latest"),
            ("localhost/authz:2", "localhost/authz:2"),
        ] {
            assert_eq!(normalize_plugin_reference(reference), normal, "{reference}");
        }
    }
}
