//! `rbac`: role-based access control over Docker API actions, in
//! Twistlock's policy format (`twistlock/authz`), with its semantics fixed.
//!
//! Each call has an **action** (`container_create`, `image_list`, …, the
//! route's name in Portcullis's route table, which uses Twistlock's names)
//! and a caller. A call is allowed when at least one policy that applies to
//! the caller grants the action; otherwise it is denied with a message that
//! names the user and the action:
//!
//! ```text
//! user "bob" is not allowed to perform container_create (no matching rbac policy)
//! ```
//!
//! The response phase is always allowed: everything is judged on the request.
//!
//! # Config
//!
//! Policies are Twistlock's JSON objects, unchanged
//! (`{"name":…,"users":[…],"actions":[…],"readonly":bool}`), given as a
//! list, as Twistlock's policy file text (one JSON object per line), or both:
//!
//! ```toml
//! [[module]]
//! name = "rbac"
//! path = "target/wasm32-wasip1/release/rbac.wasm"
//! [module.config]
//! # (a) a list of policy objects
//! policies = [
//!   { name = "policy_3", users = ["alice"], actions = ["*"] },
//! ]
//! # (b) Twistlock's /var/lib/authz-broker/policy.json, verbatim; a literal
//! #     string ('''), so TOML leaves the JSON's backslashes alone
//! policies_jsonl = '''
//! {"name":"policy_1","users":["ContainerOps"],"actions":["container_run", "container_rm"]}
//! {"name":"policy_2","users":["AuditGroup"],"actions":["container"], "readonly":true}
//! '''
//! # optional: group -> members
//! groups = { ContainerOps = ["carol", "dave"] }
//! # optional (default true): a user's certificate OUs are groups too
//! groups_from_certificate_ou = true
//! # optional (default unset): the name unauthenticated calls go by
//! anonymous_user = "local"
//! ```
//!
//! There is no `policy_file` option: a policy module runs with no
//! filesystem at all, so it cannot read (or watch) Twistlock's file. Paste
//! the file's lines into `policies_jsonl`; `policy_file` is refused with that
//! advice.
//!
//! Everything is checked when Portcullis loads the module, and a bad config
//! stops the start with the reason: unknown keys, lines that are not JSON
//! objects, empty or duplicate policy names, empty user or group names,
//! policies without users or actions, and action patterns that are not
//! exact names, pseudo-actions, resource words or `*` globs, or that match
//! no Docker action (so `container_[`, `^container.*` and `contianer_create`
//! are all errors, not silent non-matches).
//!
//! # Who the caller is
//!
//! * The **user** is the TLS-authenticated user Docker reports (the client
//!   certificate's CN). Headers are never identity.
//! * The user's **groups** are the `groups` entries listing them, plus, when
//!   `groups_from_certificate_ou` is on (the default), the OUs of their
//!   client certificate (`OU=ops, OU=audit` makes them a member of `ops` and
//!   `audit`). Both come from the administrator: the config, or the CA that
//!   signed the certificate.
//! * A `users` entry matches by name: a **plain name** (`"alice"`,
//!   `"ContainerOps"`) matches a user of that name *or* a member of a group
//!   of that name, because Twistlock's format has one list for both and the
//!   seed policies (`["ContainerOps"]`, `["AuditGroup"]`, `["alice"]`) rely
//!   on it. Where that is ambiguous, `"user:alice"` matches only the user and
//!   `"group:ops"` only group members. `"*"` matches every authenticated
//!   user. Names are compared exactly (case-sensitive).
//! * An **unauthenticated** call (plain Unix socket, no client certificate)
//!   has no identity, and by default every such call is denied: `"*"` means
//!   every *authenticated* user. Set `anonymous_user = "<name>"` to give
//!   such calls that name, then list it in policies like any user (it is not
//!   a member of any OU group). A TLS user whose CN equals that name is
//!   refused, so a certificate can never borrow the socket's grants.
//!
//! # What an `actions` entry means
//!
//! Never a regex. In this order:
//!
//! 1. an **exact action name** (`container_create`); the literal `unknown`
//!    grants routes Docker does not define;
//! 2. a **pseudo-action** from Twistlock's commercial vocabulary, standing
//!    for the calls one CLI command makes ([`ALIASES`]): `container_run`
//!    (`docker run`: create, attach, wait, start, resize; not the pull of a
//!    missing image, which is `image_create`), `container_rm` (`docker rm`:
//!    `container_delete`), `container_exec` (`docker exec`: inspect, exec
//!    create/start/inspect/resize);
//! 3. a **resource word**, a name prefix ending where a `_` follows
//!    (`container`, `image`, `debug_pprof`): every action `<word>_…`, as the
//!    seed's `["container"]` intends; `image` also covers the `images_…`
//!    actions (`docker save`, `load`, `search`: Twistlock's naming), so it
//!    means every image operation, as Twistlock's `image` did;
//! 4. a **glob** with `*` (`container_*`, `*_list`, `*`), anchored on the
//!    whole action name: `container_*` does not match `xcontainer_create`,
//!    `image_*` does not match `images_archive`.
//!
//! `*` and every other glob match every **known** action, never `unknown`:
//! a route Docker added after this table, or a path nothing routes, is
//! granted only by an explicit `"unknown"` entry. Twistlock's `""` (a regex
//! matching everything, unknown routes included) is refused with a hint to
//! write `"*"`.
//!
//! # Combining policies
//!
//! A caller gets the **union** of every policy that applies to them, in any
//! order (Twistlock let the first policy naming the user decide, and warned
//! that more than one was "undefined behavior"). A `readonly: true` policy
//! grants its actions only on `GET` and `HEAD` calls, and never grants
//! `container_attach_websocket`, a `GET` that writes to a container's
//! stdin; a read-write policy granting the same action still applies.

mod actions;
mod config;

use portcullis_sdk::{Decision, Level, Phase, Request, export_policy, log};

pub use actions::ALIASES;
use actions::UNKNOWN;
use config::Subject;
pub use config::{Config, Policy};

/// Who is calling, as far as policies are concerned.
struct Caller<'a> {
    /// The TLS user, or `anonymous_user` for an unauthenticated call.
    name: &'a str,
    /// Whether `name` came from a TLS client certificate.
    authenticated: bool,
    /// Certificate OUs that count as groups (empty when disabled or absent).
    ous: &'a [String],
}

impl Caller<'_> {
    fn in_group(&self, group: &str, config: &Config) -> bool {
        self.ous.iter().any(|ou| ou == group)
            || config
                .groups
                .get(group)
                .is_some_and(|members| members.iter().any(|m| m == self.name))
    }

    fn is(&self, subject: &Subject, config: &Config) -> bool {
        match subject {
            Subject::Authenticated => self.authenticated,
            Subject::User(user) => self.name == user,
            Subject::Group(group) => self.in_group(group, config),
            Subject::Name(name) => self.name == name || self.in_group(name, config),
        }
    }

    /// `user "bob"` or `unauthenticated call (as "local")`, for messages.
    fn describe(&self) -> String {
        if self.authenticated {
            format!("user {:?}", self.name)
        } else {
            format!("unauthenticated call (as {:?})", self.name)
        }
    }
}

/// The policy: allow when some policy applying to the caller grants the
/// call's action (see the crate docs).
pub fn authorize(req: &Request, config: &Config) -> Decision {
    if req.phase() == Phase::Response {
        return Decision::allow(); // judged in the request phase
    }
    let action = req.action();
    let what = if action == UNKNOWN {
        format!("unknown ({} {})", req.method(), req.path())
    } else {
        action.to_owned()
    };
    let caller = match identify(req, config) {
        Ok(caller) => caller,
        Err((who, why)) => {
            return Decision::deny(format!("{who} is not allowed to perform {what} ({why})"));
        }
    };

    let read_only_call = req.is_read_only();
    let mut read_only_grant = None;
    for policy in &config.policies {
        if !policy.actions.iter().any(|p| p.matches(action))
            || !policy.subjects.iter().any(|s| caller.is(s, config))
        {
            continue;
        }
        if !policy.readonly || read_only_call {
            log(
                Level::Debug,
                &format!(
                    "{} may perform {action}: policy {:?}",
                    caller.describe(),
                    policy.name
                ),
            );
            return Decision::allow();
        }
        read_only_grant.get_or_insert(policy.name.as_str());
    }

    let why = match read_only_grant {
        Some(policy) => format!(
            "policy {policy:?} grants it read-only, and this {} call is not",
            req.method()
        ),
        None if action == UNKNOWN => "no matching rbac policy; routes Docker does not define \
                                      are granted only by an explicit \"unknown\" action"
            .to_owned(),
        None => "no matching rbac policy".to_owned(),
    };
    Decision::deny(format!(
        "{} is not allowed to perform {what} ({why})",
        caller.describe()
    ))
}

/// The caller, or who is refused and why, before any policy is consulted.
fn identify<'a>(
    req: &'a Request,
    config: &'a Config,
) -> Result<Caller<'a>, (String, &'static str)> {
    let anonymous = config.anonymous_user.as_deref();
    match req.user().filter(|user| !user.is_empty()) {
        Some(user) if Some(user) == anonymous => Err((
            format!("user {user:?}"),
            "the name is reserved for unauthenticated calls by anonymous_user",
        )),
        Some(user) => Ok(Caller {
            name: user,
            authenticated: true,
            ous: match req.peer_certificate() {
                Some(cert) if config.groups_from_certificate_ou => &cert.organizational_units,
                _ => &[],
            },
        }),
        None => match anonymous {
            Some(name) => Ok(Caller {
                name,
                authenticated: false,
                ous: &[],
            }),
            None => Err((
                "unauthenticated call".to_owned(),
                "no TLS client certificate, and anonymous_user is not set",
            )),
        },
    }
}

export_policy!(authorize, Config, judges_unknown_writes);

#[cfg(test)]
mod tests;
