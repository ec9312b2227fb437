//! Who owns which named volume, kept in the module's host state under
//! `v/<name>`. Docker names volumes exactly (no prefixes, no aliases), so
//! a reference is its record's key.
//!
//! A volume belongs to whoever first had the daemon create or mount it by
//! name: `docker volume create NAME`, `-v NAME:/x`, `--mount
//! type=volume,source=NAME`, a service's mounts. The claim is written in
//! the request phase, so that two users racing for a new name cannot both
//! be allowed; `volume create` without a name is recorded from the name the
//! daemon answers with. Volumes the daemon names itself (anonymous ones,
//! 64 hex digits) have no owner: only administrators may use them by name.
//! A listing (`docker volume ls`) marks every volume it shows without a
//! record as unclaimed (created before Portcullis kept owners): only
//! administrators may use those.

use portcullis_sdk::state::{self, StateError};
use serde::{Deserialize, Serialize};

/// What is known about one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// Who owns it (`None`: a caller without a client certificate).
    pub owner: Option<String>,
    /// Shown by a listing before anyone claimed it: it existed before
    /// Portcullis kept owners, and only administrators may use it.
    #[serde(default)]
    pub unclaimed: bool,
}

fn key(name: &str) -> String {
    format!("v/{name}")
}

/// Whether `name` is one the daemon generates (an anonymous volume's, or
/// `volume create` without a name): 64 lowercase hex digits.
pub fn looks_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The record of volume `name`, if there is one.
pub fn record(name: &str) -> Result<Option<VolumeRecord>, StateError> {
    state::get(&key(name))
}

/// Records `owner` as the owner of volume `name`.
pub fn claim(name: &str, owner: Option<&str>) -> Result<(), StateError> {
    state::put(
        &key(name),
        &VolumeRecord {
            owner: owner.map(str::to_owned),
            unclaimed: false,
        },
    )
}

/// Marks a volume a listing showed, and nobody claimed, as unclaimed.
pub fn learn_unclaimed(name: &str) -> Result<(), StateError> {
    if record(name)?.is_some() {
        return Ok(());
    }
    state::put(
        &key(name),
        &VolumeRecord {
            owner: None,
            unclaimed: true,
        },
    )
}

/// Forgets volume `name` (the daemon removed it, or it never existed).
pub fn forget(name: &str) -> Result<(), StateError> {
    state::delete(&key(name))
}

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing;

    use super::*;

    #[test]
    fn a_listing_never_takes_a_claimed_volume() {
        testing::state::clear();
        claim("data", Some("alice")).unwrap();
        learn_unclaimed("data").unwrap();
        learn_unclaimed("legacy").unwrap();
        assert_eq!(
            record("data").unwrap().unwrap().owner.as_deref(),
            Some("alice")
        );
        assert!(record("legacy").unwrap().unwrap().unclaimed);
        forget("legacy").unwrap();
        assert_eq!(record("legacy").unwrap(), None);
        assert!(looks_anonymous(&"ab".repeat(32)));
        assert!(!looks_anonymous(&"AB".repeat(32)) && !looks_anonymous("data"));
    }
}
