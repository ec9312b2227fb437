//! Host state for guests: a durable key-value store (redb) under
//! `[plugin] state_dir`, one namespace per module, read and written through
//! the `portcullis.state_*` imports (docs/abi.md).
//!
//! A module's namespace is its name in plugin.toml: no module can reach
//! another's keys, and a module renamed in plugin.toml starts empty (its
//! old keys stay under the old name until `portcullis state delete` removes
//! them). State lives in the host, never in guest memory, so warm instances
//! and reloads change nothing about it.
//!
//! Isolation: a call reads what is committed (plus its own writes), and its
//! writes are staged and committed together, atomically and durably
//! (fsync), when the module answers, allow or deny, before Docker hears
//! the answer; a call that fails (trap, fuel, deadline, bad answer)
//! commits nothing. Calls commit one after another, so concurrent calls
//! never lose each other's writes; two that write the same key leave the
//! later one's value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase as _, ReadableTable, TableDefinition};

/// Every module's entries: `module \0 key` → value.
const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");
/// What each module holds: module → (keys, bytes of keys and values).
const USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("usage");

/// Longest key a module may use.
pub(crate) const MAX_KEY_BYTES: usize = 1024;
/// Most bytes of keys and values one call may write.
pub(crate) const MAX_CALL_WRITE_BYTES: usize = 1024 * 1024;
/// Most entries one `state_scan` returns.
pub(crate) const MAX_SCAN_ENTRIES: usize = 10_000;

/// Key-value pairs of one module, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A module's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateQuota {
    /// Most keys it may hold.
    pub keys: u64,
    /// Most bytes of keys and values it may hold.
    pub bytes: u64,
}

/// Why a state operation failed; the guest sees its code, people its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The module would hold more keys than its quota.
    #[error("state quota of {limit} keys exceeded")]
    TooManyKeys {
        /// The quota.
        limit: u64,
    },
    /// The module would hold more bytes than its quota.
    #[error("state quota of {limit} bytes exceeded")]
    TooManyBytes {
        /// The quota.
        limit: u64,
    },
    /// One call wrote more than [`MAX_CALL_WRITE_BYTES`].
    #[error("more than {MAX_CALL_WRITE_BYTES} bytes of state written in one call")]
    CallTooLarge,
    /// A key longer than [`MAX_KEY_BYTES`].
    #[error("state key longer than {MAX_KEY_BYTES} bytes")]
    KeyTooLong,
    /// The database failed (disk full, corrupt file, …).
    #[error("state database: {0}")]
    Database(String),
}

impl StateError {
    /// The code `portcullis.state_put`/`state_delete` return for it.
    pub(crate) fn code(&self) -> i32 {
        match self {
            StateError::TooManyKeys { .. } => 1,
            StateError::TooManyBytes { .. } => 2,
            StateError::CallTooLarge => 3,
            StateError::KeyTooLong => 4,
            StateError::Database(_) => 5,
        }
    }
}

fn db_error(err: impl std::fmt::Display) -> StateError {
    StateError::Database(err.to_string())
}

/// The state database.
pub struct StateStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateStore({})", self.path.display())
    }
}

impl StateStore {
    /// Opens (creating them if needed) `dir` (mode 0700) and its `state.redb`.
    pub fn open(dir: &Path) -> Result<StateStore, StateError> {
        std::fs::create_dir_all(dir).map_err(db_error)?;
        set_private(dir);
        let path = dir.join("state.redb");
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StateError::Database(format!(
                "{} is in use by another process (a running `portcullis serve`?)",
                path.display()
            )),
            e => StateError::Database(format!("cannot open {}: {e}", path.display())),
        })?;
        let init = db.begin_write().map_err(db_error)?;
        init.open_table(ENTRIES).map_err(db_error)?;
        init.open_table(USAGE).map_err(db_error)?;
        init.commit().map_err(db_error)?;
        Ok(StateStore { db, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The committed value of `key` in `module`'s namespace.
    pub fn get(&self, module: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let read = self.db.begin_read().map_err(db_error)?;
        let table = read.open_table(ENTRIES).map_err(db_error)?;
        let value = table
            .get(entry_key(module, key).as_slice())
            .map_err(db_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// The committed entries of `module` whose key starts with `prefix`, in
    /// key order, at most `limit`.
    pub fn scan(&self, module: &str, prefix: &[u8], limit: usize) -> Result<Entries, StateError> {
        let read = self.db.begin_read().map_err(db_error)?;
        let table = read.open_table(ENTRIES).map_err(db_error)?;
        let start = entry_key(module, prefix);
        let namespace = module.len() + 1;
        let mut out = Vec::new();
        for entry in table.range(start.as_slice()..).map_err(db_error)? {
            let (key, value) = entry.map_err(db_error)?;
            let key = key.value();
            if !key.starts_with(&start) || out.len() >= limit {
                break;
            }
            out.push((key[namespace..].to_vec(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// What `module` holds: (keys, bytes).
    pub fn usage(&self, module: &str) -> Result<(u64, u64), StateError> {
        let read = self.db.begin_read().map_err(db_error)?;
        let table = read.open_table(USAGE).map_err(db_error)?;
        Ok(table
            .get(module)
            .map_err(db_error)?
            .map_or((0, 0), |v| v.value()))
    }

    /// Every module with state, and what it holds.
    pub fn modules(&self) -> Result<Vec<(String, u64, u64)>, StateError> {
        let read = self.db.begin_read().map_err(db_error)?;
        let table = read.open_table(USAGE).map_err(db_error)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(db_error)? {
            let (module, usage) = entry.map_err(db_error)?;
            let (keys, bytes) = usage.value();
            if keys > 0 {
                out.push((module.value().to_owned(), keys, bytes));
            }
        }
        Ok(out)
    }

    /// Commits one call's writes (`None` deletes) to `module`'s namespace,
    /// atomically and durably, within `quota`; on any error nothing is written.
    pub fn commit(
        &self,
        module: &str,
        writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        quota: StateQuota,
    ) -> Result<(), StateError> {
        if writes.is_empty() {
            return Ok(());
        }
        let write = self.db.begin_write().map_err(db_error)?;
        {
            let mut entries = write.open_table(ENTRIES).map_err(db_error)?;
            let mut usage = write.open_table(USAGE).map_err(db_error)?;
            let before = usage
                .get(module)
                .map_err(db_error)?
                .map_or((0, 0), |v| v.value());
            let (mut keys, mut bytes) = before;
            for (key, value) in writes {
                let full = entry_key(module, key);
                let old = match value {
                    Some(value) => entries
                        .insert(full.as_slice(), value.as_slice())
                        .map_err(db_error)?
                        .map(|old| old.value().len()),
                    None => entries
                        .remove(full.as_slice())
                        .map_err(db_error)?
                        .map(|old| old.value().len()),
                };
                if let Some(old_len) = old {
                    keys -= 1;
                    bytes -= (key.len() + old_len) as u64;
                }
                if let Some(value) = value {
                    keys += 1;
                    bytes += (key.len() + value.len()) as u64;
                }
            }
            // Only growth is refused: a module over a quota lowered since
            // may still shrink.
            if keys > quota.keys && keys > before.0 {
                return Err(StateError::TooManyKeys { limit: quota.keys });
            }
            if bytes > quota.bytes && bytes > before.1 {
                return Err(StateError::TooManyBytes { limit: quota.bytes });
            }
            usage.insert(module, (keys, bytes)).map_err(db_error)?;
        }
        write.commit().map_err(db_error)
    }

    /// Deletes every key of `module` (or only those starting with
    /// `prefix`); returns how many went.
    pub fn delete_prefix(&self, module: &str, prefix: &[u8]) -> Result<usize, StateError> {
        let doomed: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .scan(module, prefix, usize::MAX)?
            .into_iter()
            .map(|(key, _)| (key, None))
            .collect();
        let unlimited = StateQuota {
            keys: u64::MAX,
            bytes: u64::MAX,
        };
        self.commit(module, &doomed, unlimited)?;
        Ok(doomed.len())
    }
}

/// A module's key in the shared table.
fn entry_key(module: &str, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(module.len() + 1 + key.len());
    full.extend_from_slice(module.as_bytes());
    full.push(0);
    full.extend_from_slice(key);
    full
}

/// Only the user running Portcullis may read the state directory.
fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

/// One call's staged writes, checked against the quota as they come so
/// that the guest hears about a full quota from `state_put` itself.
#[derive(Debug, Default)]
pub(crate) struct StagedWrites {
    /// Key → new value (`None`: deleted), in the module's namespace.
    pub(crate) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Bytes of keys and values written by this call.
    written: usize,
    /// How much the staged writes change the module's key count.
    key_delta: i64,
    /// How much they change its bytes.
    byte_delta: i64,
}

impl StagedWrites {
    /// Stages a put or a delete, refusing what would exceed the limits
    /// (checked again at commit, against what is committed by then).
    pub(crate) fn stage(
        &mut self,
        store: &StateStore,
        module: &str,
        quota: StateQuota,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), StateError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(StateError::KeyTooLong);
        }
        let size = key.len() + value.map_or(0, <[u8]>::len);
        if self.written + size > MAX_CALL_WRITE_BYTES {
            return Err(StateError::CallTooLarge);
        }
        // What this write changes in the module's usage, given what the
        // key holds now (this call's own write first).
        let old_len = match self.writes.get(key) {
            Some(staged) => staged.as_ref().map(Vec::len),
            None => store.get(module, key)?.map(|v| v.len()),
        };
        let (key_delta, byte_delta) = match (old_len, value) {
            (None, Some(new)) => (1, (key.len() + new.len()) as i64),
            (Some(old), Some(new)) => (0, new.len() as i64 - old as i64),
            (Some(old), None) => (-1, -((key.len() + old) as i64)),
            (None, None) => (0, 0),
        };
        if key_delta > 0 || byte_delta > 0 {
            let (keys, bytes) = store.usage(module)?;
            if key_delta > 0 && keys as i64 + self.key_delta + key_delta > quota.keys as i64 {
                return Err(StateError::TooManyKeys { limit: quota.keys });
            }
            if byte_delta > 0 && bytes as i64 + self.byte_delta + byte_delta > quota.bytes as i64 {
                return Err(StateError::TooManyBytes { limit: quota.bytes });
            }
        }
        self.key_delta += key_delta;
        self.byte_delta += byte_delta;
        self.written += size;
        self.writes.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        Ok(())
    }

    /// The value of `key` as this call sees it: its own write, if any.
    pub(crate) fn staged(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes.get(key).map(Option::as_deref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: StateQuota = StateQuota {
        keys: 100,
        bytes: 1 << 20,
    };

    fn writes(entries: &[(&str, Option<&str>)]) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn namespaces_keep_modules_apart_and_usage_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        store
            .commit("a", &writes(&[("k", Some("1")), ("l", Some("22"))]), ROOMY)
            .unwrap();
        store
            .commit("b", &writes(&[("k", Some("x"))]), ROOMY)
            .unwrap();
        assert_eq!(store.get("a", b"k").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.get("b", b"k").unwrap().as_deref(), Some(&b"x"[..]));
        assert_eq!(store.get("a\0k", b"").unwrap(), None, "no reaching across");
        assert_eq!(store.usage("a").unwrap(), (2, 5));
        store.commit("a", &writes(&[("k", None)]), ROOMY).unwrap();
        assert_eq!(store.usage("a").unwrap(), (1, 3));
        assert_eq!(
            store.scan("a", b"", 10).unwrap(),
            vec![(b"l".to_vec(), b"22".to_vec())]
        );
    }

    #[test]
    fn a_commit_over_quota_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let two_keys = StateQuota {
            keys: 2,
            bytes: 1 << 20,
        };
        let err = store
            .commit(
                "a",
                &writes(&[("1", Some("")), ("2", Some("")), ("3", Some(""))]),
                two_keys,
            )
            .unwrap_err();
        assert_eq!(err, StateError::TooManyKeys { limit: 2 });
        assert_eq!(store.usage("a").unwrap(), (0, 0));
        assert_eq!(store.get("a", b"1").unwrap(), None);
    }

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = StateStore::open(dir.path()).unwrap();
            store
                .commit("a", &writes(&[("k", Some("v"))]), ROOMY)
                .unwrap();
        }
        let store = StateStore::open(dir.path()).unwrap();
        assert_eq!(store.get("a", b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(store.modules().unwrap(), vec![("a".to_owned(), 1, 2)]);
    }

    #[test]
    fn staging_refuses_what_would_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let one = StateQuota { keys: 1, bytes: 10 };
        let mut staged = StagedWrites::default();
        staged.stage(&store, "a", one, b"k", Some(b"v")).unwrap();
        assert_eq!(
            staged.stage(&store, "a", one, b"l", Some(b"v")),
            Err(StateError::TooManyKeys { limit: 1 })
        );
        assert_eq!(
            staged.stage(&store, "a", one, &[b'x'; 2000], None),
            Err(StateError::KeyTooLong)
        );
        assert_eq!(staged.staged(b"k"), Some(Some(&b"v"[..])));
        assert_eq!(staged.staged(b"z"), None);
    }

    #[test]
    fn overwrites_and_deletes_are_counted_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let tight = StateQuota { keys: 1, bytes: 4 };
        store
            .commit("a", &writes(&[("k", Some("vvv"))]), tight)
            .unwrap();
        // At the quota: rewriting the same key, no larger, still fits.
        let mut staged = StagedWrites::default();
        staged.stage(&store, "a", tight, b"k", Some(b"w")).unwrap();
        staged
            .stage(&store, "a", tight, b"k", Some(b"vvv"))
            .unwrap();
        assert_eq!(
            staged.stage(&store, "a", tight, b"k", Some(b"vvvv")),
            Err(StateError::TooManyBytes { limit: 4 })
        );
        // A delete makes room for a new key within the same call.
        staged.stage(&store, "a", tight, b"k", None).unwrap();
        staged.stage(&store, "a", tight, b"m", Some(b"x")).unwrap();
        store.commit("a", &staged.writes, tight).unwrap();
        assert_eq!(store.usage("a").unwrap(), (1, 2));
    }

    #[test]
    fn a_module_over_a_lowered_quota_may_still_shrink() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let entries = writes(&[("a", Some("1")), ("b", Some("2")), ("c", Some("3"))]);
        store.commit("m", &entries, ROOMY).unwrap();
        let lowered = StateQuota {
            keys: 1,
            bytes: 100,
        };
        store.commit("m", &writes(&[("a", None)]), lowered).unwrap();
        assert_eq!(
            store.commit("m", &writes(&[("d", Some("4"))]), lowered),
            Err(StateError::TooManyKeys { limit: 1 })
        );
        assert_eq!(store.usage("m").unwrap(), (2, 4));
    }
}
