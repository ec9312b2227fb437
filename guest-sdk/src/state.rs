//! Durable state the host keeps for this module (docs/abi.md, "State"):
//! what a policy must remember between calls, such as who said hello or
//! who owns a container.
//!
//! Keys are strings in the module's own namespace (no other module can read
//! or write them); values are any serde type, stored as JSON.
//!
//! In the sandbox, a call sees what is committed plus its own writes. Its
//! writes are committed together, durably, when the policy answers (allow
//! or deny), before Docker hears the answer; a call that fails (trap, fuel,
//! deadline) commits nothing. Concurrent calls never lose each other's
//! writes; two that write the same key leave the later one's value.
//!
//! Natively (`cargo test`), the same functions use an in-memory store of
//! the current thread, which [`crate::testing::state`] clears and inspects.
//!
//! ```
//! use portcullis_sdk::state;
//!
//! # fn main() -> Result<(), state::StateError> {
//! state::put("hello/alice", &true)?;
//! assert_eq!(state::get::<bool>("hello/alice")?, Some(true));
//! assert_eq!(state::scan::<bool>("hello/", 10)?, vec![("hello/alice".to_owned(), true)]);
//! state::delete("hello/alice")?;
//! assert_eq!(state::get::<bool>("hello/alice")?, None);
//! # Ok(())
//! # }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Most entries one [`scan`] returns.
pub const MAX_SCAN_ENTRIES: usize = 10_000;

/// Why a state operation failed. Returned with `?` from a policy, it denies
/// the call with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The module holds as many keys as `state_keys` in plugin.toml allows.
    TooManyKeys,
    /// The module holds as many bytes as `state_mib` in plugin.toml allows.
    TooManyBytes,
    /// This call wrote more than the host accepts from one call (1 MiB).
    CallTooLarge,
    /// A key longer than [`MAX_KEY_BYTES`].
    KeyTooLong,
    /// The host's database failed; the host's reason.
    Storage(String),
    /// The host keeps no state for this module.
    Unavailable,
    /// A stored value does not decode as the type asked for, or a value
    /// does not encode as JSON.
    Value {
        /// The key.
        key: String,
        /// The serde error.
        error: String,
    },
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::TooManyKeys => {
                f.write_str("state quota exceeded: too many keys (state_keys in plugin.toml)")
            }
            StateError::TooManyBytes => {
                f.write_str("state quota exceeded: too many bytes (state_mib in plugin.toml)")
            }
            StateError::CallTooLarge => f.write_str("more than 1 MiB of state written in one call"),
            StateError::KeyTooLong => write!(f, "state key longer than {MAX_KEY_BYTES} bytes"),
            StateError::Storage(reason) => write!(f, "state storage failed: {reason}"),
            StateError::Unavailable => f.write_str("the host keeps no state for this module"),
            StateError::Value { key, error } => write!(f, "state value of {key:?}: {error}"),
        }
    }
}

impl std::error::Error for StateError {}

impl StateError {
    /// The error of a `state_put`/`state_delete` code (docs/abi.md).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    fn from_code(code: i32) -> StateError {
        match code {
            1 => StateError::TooManyKeys,
            2 => StateError::TooManyBytes,
            3 => StateError::CallTooLarge,
            4 => StateError::KeyTooLong,
            6 => StateError::Unavailable,
            other => StateError::Storage(format!("error code {other}")),
        }
    }
}

/// The value of `key`, if there is one.
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, StateError> {
    raw::get(key.as_bytes())?
        .map(|bytes| decode(key, &bytes))
        .transpose()
}

/// Sets `key` to `value`.
pub fn put<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), StateError> {
    let bytes = serde_json::to_vec(value).map_err(|e| StateError::Value {
        key: key.to_owned(),
        error: e.to_string(),
    })?;
    raw::put(key.as_bytes(), &bytes)
}

/// Removes `key` (nothing happens if it is absent).
pub fn delete(key: &str) -> Result<(), StateError> {
    raw::delete(key.as_bytes())
}

/// The entries whose key starts with `prefix`, in key order, at most
/// `limit` (and [`MAX_SCAN_ENTRIES`]). Keys that are not UTF-8 (written by
/// [`raw::put`]) are skipped.
pub fn scan<T: DeserializeOwned>(
    prefix: &str,
    limit: usize,
) -> Result<Vec<(String, T)>, StateError> {
    raw::scan(prefix.as_bytes(), limit)?
        .into_iter()
        .filter_map(|(key, value)| String::from_utf8(key).ok().map(|key| (key, value)))
        .map(|(key, value)| decode(&key, &value).map(|value| (key, value)))
        .collect()
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Value {
        key: key.to_owned(),
        error: e.to_string(),
    })
}

/// The same operations on raw bytes, exactly as the host stores them.
pub mod raw {
    use super::StateError;

    /// Key-value pairs, in key order.
    pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    #[cfg(not(target_arch = "wasm32"))]
    use crate::testing::state as backend;
    #[cfg(target_arch = "wasm32")]
    use wasm as backend;

    /// The value of `key`, if there is one.
    pub fn get(key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        check_key(key)?;
        backend::get(key)
    }

    /// Sets `key` to `value`.
    pub fn put(key: &[u8], value: &[u8]) -> Result<(), StateError> {
        check_key(key)?;
        backend::put(key, Some(value))
    }

    /// Removes `key`.
    pub fn delete(key: &[u8]) -> Result<(), StateError> {
        check_key(key)?;
        backend::put(key, None)
    }

    /// The entries whose key starts with `prefix`, in key order, at most
    /// `limit` (and [`MAX_SCAN_ENTRIES`](super::MAX_SCAN_ENTRIES)).
    pub fn scan(prefix: &[u8], limit: usize) -> Result<Entries, StateError> {
        check_key(prefix)?;
        backend::scan(prefix, limit.min(super::MAX_SCAN_ENTRIES))
    }

    fn check_key(key: &[u8]) -> Result<(), StateError> {
        if key.len() > super::MAX_KEY_BYTES {
            return Err(StateError::KeyTooLong);
        }
        Ok(())
    }

    /// The `portcullis.state_*` imports.
    #[cfg(target_arch = "wasm32")]
    #[allow(unsafe_code)]
    mod wasm {
        use super::StateError;

        #[link(wasm_import_module = "portcullis")]
        unsafe extern "C" {
            /// Readies the value of a key; `(status << 32) | len`.
            fn state_get(key_ptr: i32, key_len: i32) -> i64;
            /// Stages a write; 0 or an error code.
            fn state_put(key_ptr: i32, key_len: i32, value_ptr: i32, value_len: i32) -> i32;
            /// Stages a delete; 0 or an error code.
            fn state_delete(key_ptr: i32, key_len: i32) -> i32;
            /// Readies the entries under a prefix; `(status << 32) | len`.
            fn state_scan(prefix_ptr: i32, prefix_len: i32, limit: i32) -> i64;
            /// Copies what the last call readied.
            fn view_copy(ptr: i32);
        }

        /// Status of a readied answer: found.
        const FOUND: u32 = 0;
        /// Status: no such key.
        const ABSENT: u32 = 1;

        /// Copies a readied answer of `(status << 32) | len`.
        fn readied(packed: i64) -> (u32, Vec<u8>) {
            let packed = packed as u64;
            let (status, len) = ((packed >> 32) as u32, (packed & 0xffff_ffff) as usize);
            let mut bytes = vec![0u8; len];
            if len > 0 {
                // SAFETY: `bytes` is a live, writable buffer of exactly the
                // `len` bytes the host readied; the host checks the range too.
                unsafe { view_copy(bytes.as_mut_ptr() as i32) };
            }
            (status, bytes)
        }

        fn failure(bytes: Vec<u8>) -> StateError {
            StateError::Storage(String::from_utf8_lossy(&bytes).into_owned())
        }

        pub(super) fn get(key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
            // SAFETY: the host reads `key` within this module's memory.
            let packed = unsafe { state_get(key.as_ptr() as i32, key.len() as i32) };
            match readied(packed) {
                (FOUND, value) => Ok(Some(value)),
                (ABSENT, _) => Ok(None),
                (_, reason) => Err(failure(reason)),
            }
        }

        pub(super) fn put(key: &[u8], value: Option<&[u8]>) -> Result<(), StateError> {
            // SAFETY: the host reads `key` and `value` within this module's memory.
            let code = unsafe {
                match value {
                    Some(value) => state_put(
                        key.as_ptr() as i32,
                        key.len() as i32,
                        value.as_ptr() as i32,
                        value.len() as i32,
                    ),
                    None => state_delete(key.as_ptr() as i32, key.len() as i32),
                }
            };
            match code {
                0 => Ok(()),
                code => Err(StateError::from_code(code)),
            }
        }

        pub(super) fn scan(prefix: &[u8], limit: usize) -> Result<super::Entries, StateError> {
            // SAFETY: the host reads `prefix` within this module's memory.
            let packed =
                unsafe { state_scan(prefix.as_ptr() as i32, prefix.len() as i32, limit as i32) };
            match readied(packed) {
                (FOUND, entries) => super::super::split_entries(&entries)
                    .ok_or_else(|| StateError::Storage("malformed scan answer".to_owned())),
                (_, reason) => Err(failure(reason)),
            }
        }
    }
}

/// Splits a `state_scan` answer: key length, key, value length, value,
/// lengths u32 little-endian, repeated.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn split_entries(mut bytes: &[u8]) -> Option<raw::Entries> {
    fn sized<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let (item, rest) = (rest.get(..len)?, rest.get(len..)?);
        *bytes = rest;
        Some(item)
    }
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let key = sized(&mut bytes)?;
        let value = sized(&mut bytes)?;
        entries.push((key.to_vec(), value.to_vec()));
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn typed_values_round_trip_and_scan_in_key_order() {
        testing::state::clear();
        put("owner/b", &"bob").unwrap();
        put("owner/a", &"alice").unwrap();
        put("other", &1).unwrap();
        assert_eq!(get::<String>("owner/a").unwrap().as_deref(), Some("alice"));
        assert_eq!(
            scan::<String>("owner/", 10).unwrap(),
            vec![
                ("owner/a".to_owned(), "alice".to_owned()),
                ("owner/b".to_owned(), "bob".to_owned())
            ]
        );
        assert_eq!(scan::<String>("owner/", 1).unwrap().len(), 1);
        delete("owner/a").unwrap();
        assert_eq!(get::<String>("owner/a").unwrap(), None);
    }

    #[test]
    fn a_value_of_another_type_is_an_error_not_a_default() {
        testing::state::clear();
        put("k", &"text").unwrap();
        let err = get::<u64>("k").unwrap_err();
        assert!(
            matches!(err, StateError::Value { ref key, .. } if key == "k"),
            "{err}"
        );
    }

    #[test]
    fn long_keys_and_quota_are_refused_as_the_host_refuses_them() {
        testing::state::clear();
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert_eq!(put(&long, &1), Err(StateError::KeyTooLong));
        testing::state::set_key_quota(1);
        put("a", &1).unwrap();
        put("a", &2).unwrap();
        assert_eq!(put("b", &1), Err(StateError::TooManyKeys));
        assert!(StateError::TooManyKeys.to_string().contains("state_keys"));
    }

    #[test]
    fn scan_answers_split_exactly() {
        let mut wire = Vec::new();
        for item in [&b"k1"[..], b"v", b"", b"value two"] {
            wire.extend_from_slice(&(item.len() as u32).to_le_bytes());
            wire.extend_from_slice(item);
        }
        assert_eq!(
            split_entries(&wire).unwrap(),
            vec![
                (b"k1".to_vec(), b"v".to_vec()),
                (Vec::new(), b"value two".to_vec())
            ]
        );
        assert_eq!(split_entries(&wire[..wire.len() - 1]), None);
        assert_eq!(split_entries(&[1, 0, 0]), None);
    }
}
