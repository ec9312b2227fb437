//! The host side of a call's store: WASI with nothing granted, the memory
//! cap, what the guest prints or logs, and the `portcullis` imports
//! (`log`, `view`, `view_copy`).

use std::sync::Arc;

use portcullis_envelope::Envelope;
use portcullis_envelope::views::{VIEW_ABSENT, VIEW_UNKNOWN, ViewKind};
use wasmtime::{Caller, ResourceLimiter};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::{MAX_LOG_BYTES, MAX_STDIO_BYTES};
use crate::config::Limits;

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
    /// The view `portcullis.view` readied last, for `portcullis.view_copy`.
    pub(super) readied: Option<ViewKind>,
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
                tracing::info!(target: "portcullis::guest", module, stream, "{line}");
            }
        }
        for (level, line) in self.logs.drain(..) {
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
    state.readied = Some(kind);
    packed
}

/// `portcullis.view_copy(ptr)`: copies the view readied last into the
/// module's memory at `ptr`; a range outside memory traps.
pub(super) fn host_view_copy(mut caller: Caller<'_, GuestState>, ptr: i32) -> wasmtime::Result<()> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        wasmtime::bail!("portcullis.view_copy called by a module without memory");
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let (Some(kind), Some(envelope)) = (state.readied, &state.envelope) else {
        wasmtime::bail!("portcullis.view_copy without a view readied by portcullis.view");
    };
    let (_, bytes) = envelope.view(kind).wire();
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
