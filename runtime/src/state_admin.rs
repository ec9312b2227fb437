//! `portcullis state`: what an administrator reads and removes in the
//! module state, with `portcullis serve` stopped (the database admits one
//! process at a time).

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::state::{StateError, StateStore};

/// Prints each module with state: name, keys, bytes (tab-separated).
pub fn list(store: &StateStore, out: &mut impl Write) -> anyhow::Result<()> {
    for (module, keys, bytes) in store.modules()? {
        writeln!(out, "{module}\t{keys}\t{bytes}")?;
    }
    Ok(())
}

/// Prints `module`'s entries under `prefix`, one JSON object per line:
/// `{"key": …, "value": …}`, the value as JSON when it is JSON (what the
/// SDK writes) and as `{"base64": …}` otherwise; a key that is not UTF-8
/// appears as `{"base64": …}` too.
pub fn dump(
    store: &StateStore,
    module: &str,
    prefix: &[u8],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    for (key, value) in store.scan(module, prefix, usize::MAX)? {
        let key = match String::from_utf8(key) {
            Ok(text) => serde_json::Value::String(text),
            Err(err) => serde_json::json!({ "base64": BASE64.encode(err.as_bytes()) }),
        };
        let value = serde_json::from_slice::<serde_json::Value>(&value)
            .unwrap_or_else(|_| serde_json::json!({ "base64": BASE64.encode(&value) }));
        writeln!(out, "{}", serde_json::json!({ "key": key, "value": value }))?;
    }
    Ok(())
}

/// Deletes `module`'s entries under `prefix` (all of them for an empty
/// prefix); returns how many went.
pub fn delete(store: &StateStore, module: &str, prefix: &[u8]) -> Result<usize, StateError> {
    store.delete_prefix(module, prefix)
}
