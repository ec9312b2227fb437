//! The host side of a call's store: WASI with nothing granted, the memory
//! cap, what the guest prints or logs, and the `portcullis` imports
//! (`log`, `view`, `view_copy`, `state_get`, `state_put`, `state_delete`,
//! `state_scan`).

use std::sync::Arc;

use portcullis_envelope::Envelope;
use portcullis_envelope::views::{VIEW_ABSENT, VIEW_UNKNOWN, ViewKind};
use wasmtime::{Caller, ResourceLimiter};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::{MAX_LOG_BYTES, MAX_STDIO_BYTES};
use crate::config::Limits;
use crate::state::{MAX_SCAN_ENTRIES, StagedWrites, StateQuota, StateStore};

/// Host state of one call's store.
pub(super) struct GuestState {
    pub(super) wasi: WasiP1Ctx,
    pub(super) limiter: MemoryLimiter,
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) logs: Vec<(i32, String)>,
    pub(super) log_bytes: usize,
    /// The request being decided (its views), during a call only.
    pub(super) envelope: Option<Arc<Envelope>>,
    /// What `portcullis.view_copy` copies: the last view or state answer.
    pub(super) readied: Option<Readied>,
    /// The module's host state, if it uses any.
    pub(super) state: Option<ModuleState>,
}

impl GuestState {
    /// WASI with nothing granted: no preopened directories, no environment,
    /// no arguments, no sockets; stdout and stderr captured, bounded.
    pub(super) fn new(limits: Limits) -> GuestState {
        let stdout = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let stderr = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build_p1();
        GuestState {
            wasi,
            limiter: MemoryLimiter {
                max_bytes: limits.memory_mib as usize * 1024 * 1024,
                exceeded: false,
            },
            stdout,
            stderr,
            logs: Vec::new(),
            log_bytes: 0,
            envelope: None,
            readied: None,
            state: None,
        }
    }

    /// Sends what the guest printed or logged during this call to the
    /// host's log and clears it; returns whether it printed to stdout or
    /// stderr (whose buffers cannot be cleared, so such an instance is not reused).
    pub(super) fn emit_guest_output(&mut self, module: &str) -> bool {
        let mut printed = false;
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            printed |= !bytes.is_empty();
            for line in String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                let line = crate::log_escape::printable(line);
                tracing::info!(target: "portcullis::guest", module, stream, "{line}");
            }
        }
        for (level, line) in self.logs.drain(..) {
            let line = crate::log_escape::printable(&line);
            match level {
                0 => tracing::debug!(target: "portcullis::guest", module, "{line}"),
                1 => tracing::info!(target: "portcullis::guest", module, "{line}"),
                2 => tracing::warn!(target: "portcullis::guest", module, "{line}"),
                _ => tracing::error!(target: "portcullis::guest", module, "{line}"),
            }
        }
        self.log_bytes = 0;
        printed
    }
}

/// Caps linear memory; growing past the cap traps instead of returning -1,
/// so a module cannot ignore the failure and carry on.
pub(super) struct MemoryLimiter {
    pub(super) max_bytes: usize,
    pub(super) exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.max_bytes);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// `portcullis.log(level, ptr, len)`: one line into the host's log, bounded.
pub(super) fn host_log(
    mut caller: Caller<'_, GuestState>,
    level: i32,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<()> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        wasmtime::bail!("portcullis.log called by a module without memory");
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
        wasmtime::bail!("portcullis.log: message at {start:#x}+{len} lies outside memory");
    };
    let room = MAX_LOG_BYTES.saturating_sub(state.log_bytes);
    if room > 0 {
        let line = String::from_utf8_lossy(&bytes[..bytes.len().min(room)]).into_owned();
        state.log_bytes += line.len();
        state.logs.push((level, line));
    }
    Ok(())
}

/// What the last `portcullis.view` or `state_*` call readied for `view_copy`.
pub(super) enum Readied {
    /// A view of the envelope (built once, kept there).
    View(ViewKind),
    /// A state value or scan.
    Bytes(Vec<u8>),
}

/// A module's namespace in the host state, and its call's staged writes.
pub(super) struct ModuleState {
    pub(super) store: Arc<StateStore>,
    pub(super) module: Arc<str>,
    pub(super) quota: StateQuota,
    pub(super) staged: StagedWrites,
}

/// Status of `state_get`/`state_scan`: found, bytes readied.
const STATE_FOUND: i64 = 0;
/// Status of `state_get`: no such key.
const STATE_ABSENT: i64 = 1;
/// Status: the state failed; the reason is readied (UTF-8).
const STATE_FAILED: i64 = 2;
/// Code of `state_put`/`state_delete` when the module has no state store
/// (the host opens one only for modules that import the state functions).
const STATE_UNAVAILABLE: i32 = 6;

/// Reads `len` bytes at `ptr` of the caller's memory (a trap if outside it).
fn guest_bytes(
    caller: &mut Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
    what: &str,
) -> wasmtime::Result<Vec<u8>> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        wasmtime::bail!("portcullis.{what} called by a module without memory");
    };
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    let data = memory.data(&*caller);
    match start.checked_add(len).and_then(|end| data.get(start..end)) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => wasmtime::bail!("portcullis.{what}: {len} bytes at {start:#x} lie outside memory"),
    }
}

/// Readies `bytes` for `view_copy` and packs `(status << 32) | len`.
fn ready(state: &mut GuestState, status: i64, bytes: Vec<u8>) -> i64 {
    let packed = (status << 32) | bytes.len() as i64;
    state.readied = Some(Readied::Bytes(bytes));
    packed
}

/// The answer of a state read by a module that has no host state.
fn no_host_state(state: &mut GuestState) -> i64 {
    ready(
        state,
        STATE_FAILED,
        b"this module has no host state".to_vec(),
    )
}

/// `portcullis.state_get(key_ptr, key_len) -> (status << 32) | len`: the
/// value of `key` as this call sees it (its own writes first), readied.
pub(super) fn host_state_get(
    mut caller: Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<i64> {
    let key = guest_bytes(&mut caller, ptr, len, "state_get")?;
    let state = caller.data_mut();
    let Some(module_state) = &state.state else {
        return Ok(no_host_state(state));
    };
    let found = match module_state.staged.staged(&key) {
        Some(value) => Ok(value.map(<[u8]>::to_vec)),
        None => module_state.store.get(&module_state.module, &key),
    };
    Ok(match found {
        Ok(Some(value)) => ready(state, STATE_FOUND, value),
        Ok(None) => ready(state, STATE_ABSENT, Vec::new()),
        Err(err) => ready(state, STATE_FAILED, err.to_string().into_bytes()),
    })
}

/// `portcullis.state_put(key_ptr, key_len, value_ptr, value_len) -> code`:
/// stages a write (0), or refuses it with the code of a `StateError`.
pub(super) fn host_state_put(
    mut caller: Caller<'_, GuestState>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> wasmtime::Result<i32> {
    let key = guest_bytes(&mut caller, key_ptr, key_len, "state_put")?;
    let value = guest_bytes(&mut caller, value_ptr, value_len, "state_put")?;
    Ok(stage(caller.data_mut(), &key, Some(&value)))
}

/// `portcullis.state_delete(key_ptr, key_len) -> code`: stages a delete.
pub(super) fn host_state_delete(
    mut caller: Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    let key = guest_bytes(&mut caller, ptr, len, "state_delete")?;
    Ok(stage(caller.data_mut(), &key, None))
}

fn stage(state: &mut GuestState, key: &[u8], value: Option<&[u8]>) -> i32 {
    let Some(module_state) = &mut state.state else {
        return STATE_UNAVAILABLE;
    };
    let ModuleState {
        store,
        module,
        quota,
        staged,
    } = module_state;
    match staged.stage(store, module, *quota, key, value) {
        Ok(()) => 0,
        Err(err) => err.code(),
    }
}

/// `portcullis.state_scan(prefix_ptr, prefix_len, limit) -> (status << 32) | len`:
/// readies the entries whose key starts with the prefix, in key order
/// (this call's writes included), at most `limit` (and 10 000), each as
/// key length, key, value length, value (lengths u32 little-endian).
pub(super) fn host_state_scan(
    mut caller: Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
    limit: i32,
) -> wasmtime::Result<i64> {
    let prefix = guest_bytes(&mut caller, ptr, len, "state_scan")?;
    let state = caller.data_mut();
    let Some(module_state) = &state.state else {
        return Ok(no_host_state(state));
    };
    let limit = usize::try_from(limit).unwrap_or(0).min(MAX_SCAN_ENTRIES);
    // The first `limit` entries as this call sees them are among the first
    // `limit` committed ones plus as many as its own writes may delete.
    let needed = limit.saturating_add(module_state.staged.writes.len());
    let committed = match module_state
        .store
        .scan(&module_state.module, &prefix, needed)
    {
        Ok(entries) => entries,
        Err(err) => return Ok(ready(state, STATE_FAILED, err.to_string().into_bytes())),
    };
    let mut merged: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = committed.into_iter().collect();
    for (key, value) in &module_state.staged.writes {
        if key.starts_with(&prefix) {
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
    }
    let mut entries = Vec::new();
    for (key, value) in merged.into_iter().take(limit) {
        push_sized(&mut entries, &key);
        push_sized(&mut entries, &value);
    }
    Ok(ready(state, STATE_FOUND, entries))
}

/// Appends `bytes` with its length first (u32, little-endian): the entry
/// format of `state_scan` (docs/abi.md).
fn push_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys are at most 1 KiB and values fit in a guest's 4 GiB memory.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// `portcullis.view(kind) -> (status << 32) | len`: readies view `kind` of
/// the call being decided (built by the host on first demand, then shared
/// by the chain) for `portcullis.view_copy`.
pub(super) fn host_view(mut caller: Caller<'_, GuestState>, kind: i32) -> i64 {
    let state = caller.data_mut();
    let Some(kind) = u32::try_from(kind).ok().and_then(ViewKind::from_number) else {
        return i64::from(VIEW_UNKNOWN) << 32;
    };
    let Some(envelope) = &state.envelope else {
        // No request (a config check): nothing to view.
        return i64::from(VIEW_ABSENT) << 32;
    };
    let (status, bytes) = envelope.view(kind).wire();
    let packed = (i64::from(status) << 32) | bytes.len() as i64;
    state.readied = Some(Readied::View(kind));
    packed
}

/// `portcullis.view_copy(ptr)`: copies the view readied last into the
/// module's memory at `ptr`; a range outside memory traps.
pub(super) fn host_view_copy(mut caller: Caller<'_, GuestState>, ptr: i32) -> wasmtime::Result<()> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        wasmtime::bail!("portcullis.view_copy called by a module without memory");
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let bytes: &[u8] = match (&state.readied, &state.envelope) {
        (Some(Readied::View(kind)), Some(envelope)) => envelope.view(*kind).wire().1,
        (Some(Readied::Bytes(bytes)), _) => bytes,
        _ => wasmtime::bail!(
            "portcullis.view_copy without a view readied by portcullis.view or portcullis.state_*"
        ),
    };
    let start = ptr as u32 as usize;
    let Some(target) = start
        .checked_add(bytes.len())
        .and_then(|end| data.get_mut(start..end))
    else {
        wasmtime::bail!(
            "portcullis.view_copy: {} bytes at {start:#x} lie outside memory",
            bytes.len()
        );
    };
    target.copy_from_slice(bytes);
    Ok(())
}
