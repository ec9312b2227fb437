//! Who owns which container, kept in the module's host state, and how a
//! reference from a request (`web`, `/web`, `3f2a9c01d4e5…`) finds its
//! record the way the daemon finds the container.
//!
//! State layout (keys in this module's namespace):
//!
//! | key | value |
//! |---|---|
//! | `c/<id>` | [`Record`]: owner and name of container `<id>` (full ID) |
//! | `n/<name>` | the full ID the name belongs to |
//! | `e/<exec id>` | the full ID of the exec's container |
//! | `x/<id>/<exec id>` | `null`: the container's execs, to forget with it |

use portcullis_sdk::state::{self, StateError};
use serde::{Deserialize, Serialize};

/// Shortest ID prefix accepted as a reference: what `docker ps` prints.
/// Shorter prefixes could be made to collide with a container whose
/// removal Portcullis did not see (`--rm`), and so name someone else's.
pub const MIN_ID_PREFIX: usize = 12;

/// Length of a full container or exec ID.
const FULL_ID: usize = 64;

/// What is known about one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Who created it (`None`: a caller without a client certificate).
    pub owner: Option<String>,
    /// Its name, without the leading `/`, if it has a known one.
    pub name: Option<String>,
}

/// What a container reference in a request designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A container with a recorded owner.
    Known {
        /// Its full ID.
        id: String,
        /// Its record.
        record: Record,
    },
    /// Nothing recorded matches: created before Portcullis kept owners,
    /// known only by a name it has not seen, or not a container at all.
    Unknown,
    /// An ID prefix shorter than [`MIN_ID_PREFIX`] with no name to match.
    ShortPrefix,
    /// An ID prefix that matches more than one recorded container.
    Ambiguous,
}

fn container_key(id: &str) -> String {
    format!("c/{id}")
}

fn name_key(name: &str) -> String {
    format!("n/{name}")
}

fn exec_key(exec: &str) -> String {
    format!("e/{exec}")
}

fn container_execs(id: &str) -> String {
    format!("x/{id}/")
}

/// Whether `text` could be (a prefix of) a container ID: lowercase hex.
pub fn looks_like_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A container name as the daemon stores it: without one leading `/`.
pub fn bare_name(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

/// Finds what `reference` designates, in the daemon's order: a full ID,
/// then a name, then a unique ID prefix.
pub fn resolve(reference: &str) -> Result<Resolved, StateError> {
    if reference.len() == FULL_ID
        && looks_like_id(reference)
        && let Some(record) = state::get::<Record>(&container_key(reference))?
    {
        return Ok(Resolved::Known {
            id: reference.to_owned(),
            record,
        });
    }
    if let Some(id) = state::get::<String>(&name_key(bare_name(reference)))? {
        return Ok(match state::get::<Record>(&container_key(&id))? {
            Some(record) => Resolved::Known { id, record },
            None => Resolved::Unknown,
        });
    }
    if !looks_like_id(reference) {
        return Ok(Resolved::Unknown);
    }
    if reference.len() < MIN_ID_PREFIX {
        return Ok(Resolved::ShortPrefix);
    }
    let mut matches = state::scan::<Record>(&container_key(reference), 2)?;
    Ok(match matches.len() {
        0 => Resolved::Unknown,
        1 => {
            let (key, record) = matches.remove(0);
            Resolved::Known {
                id: key["c/".len()..].to_owned(),
                record,
            }
        }
        _ => Resolved::Ambiguous,
    })
}

/// The container of exec `exec`, if its creation was seen.
pub fn exec_container(exec: &str) -> Result<Option<(String, Record)>, StateError> {
    let Some(id) = state::get::<String>(&exec_key(exec))? else {
        return Ok(None);
    };
    Ok(state::get::<Record>(&container_key(&id))?.map(|record| (id, record)))
}

/// Records a created container. The name is bound first: if the record
/// cannot be written (quota), the name no longer points at whatever held
/// it before, so no stale entry can stand in for the new container.
pub fn record_container(id: &str, record: &Record) -> Result<(), StateError> {
    if let Some(name) = &record.name
        && let Err(err) = state::put(&name_key(name), id)
    {
        state::delete(&name_key(name))?;
        return Err(err);
    }
    state::put(&container_key(id), record)
}

/// Records exec `exec`, created in container `id`.
pub fn record_exec(exec: &str, id: &str) -> Result<(), StateError> {
    state::put(&exec_key(exec), id)?;
    state::put(&format!("{}{exec}", container_execs(id)), &())
}

/// Moves container `id` to `new_name`.
pub fn rename(id: &str, mut record: Record, new_name: &str) -> Result<(), StateError> {
    if let Some(old) = &record.name {
        unbind_name(old, id)?;
    }
    record.name = Some(new_name.to_owned());
    record_container(id, &record)
}

/// Forgets that `name` designates anything (its container is unknown).
pub fn forget_name(name: &str) -> Result<(), StateError> {
    state::delete(&name_key(bare_name(name)))
}

/// Forgets container `id`: its record, its name (if still its own) and its execs.
pub fn forget_container(id: &str) -> Result<(), StateError> {
    if let Some(record) = state::get::<Record>(&container_key(id))? {
        if let Some(name) = &record.name {
            unbind_name(name, id)?;
        }
        state::delete(&container_key(id))?;
    }
    let prefix = container_execs(id);
    for (key, ()) in state::scan::<()>(&prefix, state::MAX_SCAN_ENTRIES)? {
        state::delete(&exec_key(&key[prefix.len()..]))?;
        state::delete(&key)?;
    }
    Ok(())
}

/// Binds `name` to `id`, as a listing from the daemon showed it: a name
/// that pointed elsewhere is corrected, and a recorded container gets the
/// name the daemon generated for it (`docker run` without `--name`).
pub fn learn_name(name: &str, id: &str) -> Result<(), StateError> {
    let key = name_key(name);
    let known = state::get::<String>(&key)?;
    if known.as_deref() == Some(id) {
        return Ok(());
    }
    match state::get::<Record>(&container_key(id))? {
        Some(mut record) => {
            record.name = Some(name.to_owned());
            record_container(id, &record)
        }
        None if known.is_some() => state::delete(&key),
        None => Ok(()),
    }
}

/// Removes `name` → `id`, unless the name has moved on to another container.
fn unbind_name(name: &str, id: &str) -> Result<(), StateError> {
    let key = name_key(name);
    if state::get::<String>(&key)?.as_deref() == Some(id) {
        state::delete(&key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing;

    use super::*;

    const ALICE_ID: &str = "3f2a9c01d4e5b6a7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5";
    const BOB_ID: &str = "3f2a9c01d4e5ffffc8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5";

    fn record(owner: &str, name: Option<&str>) -> Record {
        Record {
            owner: Some(owner.to_owned()),
            name: name.map(str::to_owned),
        }
    }

    fn owner_of(reference: &str) -> Option<String> {
        match resolve(reference).unwrap() {
            Resolved::Known { record, .. } => record.owner,
            _ => None,
        }
    }

    #[test]
    fn references_resolve_in_the_daemons_order() {
        testing::state::clear();
        record_container(ALICE_ID, &record("alice", Some("web"))).unwrap();
        record_container(BOB_ID, &record("bob", None)).unwrap();
        assert_eq!(owner_of(ALICE_ID).as_deref(), Some("alice"));
        assert_eq!(owner_of("web").as_deref(), Some("alice"));
        assert_eq!(owner_of("/web").as_deref(), Some("alice"));
        assert_eq!(owner_of("3f2a9c01d4e5b6").as_deref(), Some("alice"));
        assert_eq!(owner_of("3f2a9c01d4e5f").as_deref(), Some("bob"));
        assert_eq!(resolve("3f2a9c01d4e5").unwrap(), Resolved::Ambiguous);
        assert_eq!(resolve("3f2a").unwrap(), Resolved::ShortPrefix);
        assert_eq!(resolve("legacy").unwrap(), Resolved::Unknown);
        assert_eq!(resolve("db").unwrap(), Resolved::ShortPrefix);
        assert_eq!(resolve("3F2A9C01D4E5B6").unwrap(), Resolved::Unknown);
    }

    #[test]
    fn a_name_beats_an_id_prefix_as_in_the_daemon() {
        testing::state::clear();
        record_container(ALICE_ID, &record("alice", None)).unwrap();
        record_container(BOB_ID, &record("bob", Some("3f2a9c01d4e5b6"))).unwrap();
        assert_eq!(owner_of("3f2a9c01d4e5b6").as_deref(), Some("bob"));
    }

    #[test]
    fn forgetting_a_container_takes_its_name_and_execs_but_not_a_reused_name() {
        testing::state::clear();
        record_container(ALICE_ID, &record("alice", Some("web"))).unwrap();
        record_exec("e1", ALICE_ID).unwrap();
        assert_eq!(exec_container("e1").unwrap().unwrap().0, ALICE_ID);
        // The name went to bob's new container after alice's was removed unseen.
        record_container(BOB_ID, &record("bob", Some("web"))).unwrap();
        forget_container(ALICE_ID).unwrap();
        assert_eq!(owner_of("web").as_deref(), Some("bob"));
        assert_eq!(exec_container("e1").unwrap(), None);
        assert_eq!(
            testing::state::entries().keys().collect::<Vec<_>>(),
            [&format!("c/{BOB_ID}"), "n/web"]
        );
    }

    #[test]
    fn a_rename_moves_the_name() {
        testing::state::clear();
        record_container(ALICE_ID, &record("alice", Some("web"))).unwrap();
        rename(ALICE_ID, record("alice", Some("web")), "api").unwrap();
        assert_eq!(resolve("web").unwrap(), Resolved::Unknown);
        assert_eq!(owner_of("api").as_deref(), Some("alice"));
    }

    #[test]
    fn a_record_that_does_not_fit_leaves_no_stale_name() {
        testing::state::clear();
        record_container(ALICE_ID, &record("alice", Some("web"))).unwrap();
        testing::state::set_key_quota(2);
        // bob's "web" (alice's was removed unseen) cannot be recorded...
        let err = record_container(BOB_ID, &record("bob", Some("web"))).unwrap_err();
        assert_eq!(err, StateError::TooManyKeys);
        // ...and "web" must not keep naming alice's container for alice.
        assert_ne!(owner_of("web").as_deref(), Some("alice"));
    }
}
