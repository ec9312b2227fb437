//! Action patterns: what a policy's `actions` entries mean, checked at load.
//!
//! Twistlock treated every entry as an unanchored Go regex. Here an entry is
//! one of (tried in this order):
//!
//! 1. an exact action name of the route table (`container_create`), or the
//!    literal `unknown` (routes Docker does not define);
//! 2. a Twistlock pseudo-action standing for what one CLI command calls
//!    ([`ALIASES`]: `container_run`, `container_rm`, `container_exec`);
//! 3. a bare resource word (`container`, `image`, `network`, …): every
//!    action of that resource, `<word>_*`; `image` also covers the
//!    `images_*` actions (`docker save`, `load`, `search`: Twistlock's naming);
//! 4. a glob with `*` wildcards (`container_*`, `*_list`, `*`), anchored on
//!    the whole action name. A glob never matches `unknown`.
//!
//! Anything else (regex syntax, upper case, a name no route has) is refused
//! when the module loads, so a typo cannot silently grant nothing, and a
//! Twistlock regex cannot silently grant something else.

pub(crate) use portcullis_sdk::actions::UNKNOWN;

/// Every action name of the route table.
pub(crate) fn known_actions() -> impl Iterator<Item = &'static str> {
    portcullis_sdk::actions::all()
}

/// Twistlock's pseudo-actions: each stands for the API calls one CLI command
/// makes (as captured from docker 20.10 in `tests/fixtures/docker-20.10`).
pub const ALIASES: &[(&str, &[&str])] = &[
    // `docker run`: create, attach (foreground), wait, start; resize with -t.
    // Pulling a missing image is `image_create`, deliberately not included.
    (
        "container_run",
        &[
            "container_create",
            "container_attach",
            "container_wait",
            "container_start",
            "container_resize",
        ],
    ),
    // `docker rm` (and `rm -f`): one DELETE per container.
    ("container_rm", &["container_delete"]),
    // `docker exec`: inspect the container, create, start, inspect the exec;
    // resize with -t.
    (
        "container_exec",
        &[
            "container_inspect",
            "container_exec_create",
            "container_exec_start",
            "container_exec_inspect",
            "container_exec_resize",
        ],
    ),
];

/// One compiled `actions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ActionPattern {
    /// An exact action name, `unknown` included.
    Exact(String),
    /// A pseudo-action from [`ALIASES`].
    Alias(&'static [&'static str]),
    /// A bare resource word: actions named `<word>_…` (`image` also `images_…`).
    Resource(String),
    /// A `*` glob, anchored, never matching `unknown`.
    Glob(String),
}

impl ActionPattern {
    /// Compiles and checks one `actions` entry (see the module docs).
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err(
                "empty action pattern (Twistlock's regex \"\" matched every call; write \"*\" for every Docker action)"
                    .into(),
            );
        }
        if let Some(bad) = pattern
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || *c == '_' || *c == '*'))
        {
            let hint = if bad.is_ascii_uppercase() {
                "action names are lower case"
            } else {
                "Twistlock's regular expressions are not supported: write exact action names or * globs, e.g. \"container_*\" for \"^container_.*\""
            };
            return Err(format!(
                "invalid action pattern {pattern:?}: unexpected {bad:?} ({hint})"
            ));
        }
        if pattern.contains('*') {
            return if known_actions().any(|a| glob_matches(pattern, a)) {
                Ok(ActionPattern::Glob(pattern.to_owned()))
            } else {
                Err(format!(
                    "action pattern {pattern:?} matches no Docker action"
                ))
            };
        }
        if pattern == UNKNOWN || portcullis_sdk::actions::is_action(pattern) {
            return Ok(ActionPattern::Exact(pattern.to_owned()));
        }
        if let Some((_, actions)) = ALIASES.iter().find(|(name, _)| *name == pattern) {
            return Ok(ActionPattern::Alias(actions));
        }
        if is_resource_word(pattern) {
            return Ok(ActionPattern::Resource(pattern.to_owned()));
        }
        let containing: Vec<&str> = known_actions().filter(|a| a.contains(pattern)).collect();
        Err(if containing.is_empty() {
            format!("unknown action {pattern:?}")
        } else {
            format!(
                "unknown action {pattern:?} (Twistlock matched it as a substring of {}; write \"*{pattern}*\" to mean that)",
                containing.join(", ")
            )
        })
    }

    /// Whether this entry covers `action` (the request's action name).
    pub(crate) fn matches(&self, action: &str) -> bool {
        match self {
            ActionPattern::Exact(name) => name == action,
            ActionPattern::Alias(actions) => actions.contains(&action),
            ActionPattern::Resource(word) => {
                resource_prefix_matches(word, action)
                    || (word == "image" && resource_prefix_matches("images", action))
            }
            ActionPattern::Glob(glob) => action != UNKNOWN && glob_matches(glob, action),
        }
    }
}

/// Whether `word` is the resource (first `_`-separated word) of some action.
fn is_resource_word(word: &str) -> bool {
    known_actions().any(|a| resource_prefix_matches(word, a))
}

/// `action` is `<word>_<something>`.
fn resource_prefix_matches(word: &str, action: &str) -> bool {
    action
        .strip_prefix(word)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| !rest.is_empty())
}

/// Anchored glob match: `*` matches any run of characters (none included),
/// every other character matches itself.
pub(crate) fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text) = (glob.as_bytes(), text.as_bytes());
    let (mut g, mut t) = (0, 0);
    // Where the last `*` was, and where in `text` it currently ends.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                backtrack = Some((g, t));
                g += 1;
            }
            Some(&c) if c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, end)) => {
                    g = star + 1;
                    t = end + 1;
                    backtrack = Some((star, end + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}
