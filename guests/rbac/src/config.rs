//! The module config: Twistlock's policy objects, groups, and their checks.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::actions::ActionPattern;

/// One policy object, exactly Twistlock's format:
/// `{"name":"policy_1","users":["alice"],"actions":["container"],"readonly":true}`.
///
/// Keys are the lower-case ones Twistlock documents; any other key (a
/// misspelling, or a capitalised key Go would have accepted) is refused at
/// load rather than ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Names the policy in deny messages and logs; unique, non-empty.
    pub name: String,
    /// Who the policy applies to: user names, group names, `user:<name>`,
    /// `group:<name>`, or `*` (every authenticated user).
    pub users: Vec<String>,
    /// What it grants: action names, pseudo-actions, resource words or `*` globs.
    pub actions: Vec<String>,
    /// Grant the actions only on read-only calls (`GET`/`HEAD`).
    #[serde(default)]
    pub readonly: bool,
}

/// `[module.config]` as written in `plugin.toml`, before it is checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    policies: Vec<Policy>,
    #[serde(default)]
    policies_jsonl: Option<String>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    #[serde(default = "enabled")]
    groups_from_certificate_ou: bool,
    #[serde(default)]
    anonymous_user: Option<String>,
    /// Accepted only to explain why it cannot work.
    #[serde(default)]
    policy_file: Option<IgnoredAny>,
}

fn enabled() -> bool {
    true
}

/// The checked `[module.config]` of `rbac` (see the crate docs for the
/// format). Built only through `Deserialize`, which refuses anything that
/// would not mean what it says.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    pub(crate) policies: Vec<CompiledPolicy>,
    pub(crate) groups: BTreeMap<String, Vec<String>>,
    pub(crate) groups_from_certificate_ou: bool,
    pub(crate) anonymous_user: Option<String>,
}

/// A policy with its subjects and patterns compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) name: String,
    pub(crate) subjects: Vec<Subject>,
    pub(crate) actions: Vec<ActionPattern>,
    pub(crate) readonly: bool,
}

/// One `users` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// `*`: every authenticated user.
    Authenticated,
    /// `user:<name>`: this user only.
    User(String),
    /// `group:<name>`: members of this group only.
    Group(String),
    /// `<name>`: this user, or members of this group.
    Name(String),
}

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Self, String> {
        if raw.policy_file.is_some() {
            return Err(
                "policy_file is not supported: policy modules have no filesystem; \
                 paste the file's lines into policies_jsonl = '''…''' instead"
                    .into(),
            );
        }
        for (group, members) in &raw.groups {
            check_name("group name", group)?;
            for member in members {
                check_name(&format!("member of group {group:?}"), member)?;
            }
        }
        if let Some(anonymous) = &raw.anonymous_user {
            check_name("anonymous_user", anonymous)?;
        }

        let mut sources: Vec<(String, Policy)> = raw
            .policies
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("policies[{i}]"), p))
            .collect();
        if let Some(jsonl) = &raw.policies_jsonl {
            sources.extend(parse_jsonl(jsonl)?);
        }
        if sources.is_empty() {
            return Err(
                "no policies: set policies = [...] or policies_jsonl = '''...''' (one JSON object per line)"
                    .into(),
            );
        }

        let mut names = BTreeSet::new();
        let mut policies = Vec::with_capacity(sources.len());
        for (source, policy) in sources {
            let compiled = compile(&policy, &raw.groups, raw.groups_from_certificate_ou)
                .map_err(|e| format!("{source} ({:?}): {e}", policy.name))?;
            if !names.insert(policy.name.clone()) {
                return Err(format!(
                    "{source}: duplicate policy name {:?} (names identify policies in deny messages)",
                    policy.name
                ));
            }
            policies.push(compiled);
        }
        Ok(Config {
            policies,
            groups: raw.groups,
            groups_from_certificate_ou: raw.groups_from_certificate_ou,
            anonymous_user: raw.anonymous_user,
        })
    }
}

/// Twistlock's file format: one JSON object per line, blank lines skipped.
fn parse_jsonl(text: &str) -> Result<Vec<(String, Policy)>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let source = format!("policies_jsonl line {}", i + 1);
            if !line.trim_start().starts_with('{') {
                return Err(format!(
                    "{source}: expected one JSON policy object per line (Twistlock's file has \
                     no enclosing list; write a list as policies = [...])"
                ));
            }
            serde_json::from_str::<Policy>(line.trim())
                .map(|policy| (source.clone(), policy))
                .map_err(|e| format!("{source}: {e}"))
        })
        .collect()
}

fn compile(
    policy: &Policy,
    groups: &BTreeMap<String, Vec<String>>,
    groups_from_certificate_ou: bool,
) -> Result<CompiledPolicy, String> {
    if policy.name.trim().is_empty() {
        return Err("empty policy name".into());
    }
    if policy.users.is_empty() {
        return Err("no users: the policy would apply to nobody".into());
    }
    if policy.actions.is_empty() {
        return Err("no actions: the policy would grant nothing".into());
    }
    let subjects = policy
        .users
        .iter()
        .map(|entry| parse_subject(entry, groups, groups_from_certificate_ou))
        .collect::<Result<_, _>>()?;
    let actions = policy
        .actions
        .iter()
        .map(|entry| ActionPattern::parse(entry))
        .collect::<Result<_, _>>()?;
    Ok(CompiledPolicy {
        name: policy.name.clone(),
        subjects,
        actions,
        readonly: policy.readonly,
    })
}

fn parse_subject(
    entry: &str,
    groups: &BTreeMap<String, Vec<String>>,
    groups_from_certificate_ou: bool,
) -> Result<Subject, String> {
    if entry.is_empty() {
        return Err(
            "empty user name (Twistlock matched \"\" against unauthenticated calls only: \
             set anonymous_user and list that name, or list \"*\" for every authenticated user)"
                .into(),
        );
    }
    if entry == "*" {
        return Ok(Subject::Authenticated);
    }
    if let Some(user) = entry.strip_prefix("user:") {
        check_name("user name", user)?;
        return Ok(Subject::User(user.to_owned()));
    }
    if let Some(group) = entry.strip_prefix("group:") {
        check_name("group name", group)?;
        if !groups_from_certificate_ou && !groups.contains_key(group) {
            return Err(format!(
                "{entry:?} names no group in groups (and groups_from_certificate_ou is off)"
            ));
        }
        return Ok(Subject::Group(group.to_owned()));
    }
    check_name("user name", entry)?;
    Ok(Subject::Name(entry.to_owned()))
}

/// A user or group name: non-empty, no surrounding blanks, not a wildcard or
/// a `user:`/`group:` reference.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("empty {what}"));
    }
    if name.trim() != name {
        return Err(format!("{what} {name:?} has leading or trailing blanks"));
    }
    if name == "*" || name.starts_with("user:") || name.starts_with("group:") {
        return Err(format!(
            "{what} {name:?} is reserved (\"*\", user:…, group:…)"
        ));
    }
    Ok(())
}
