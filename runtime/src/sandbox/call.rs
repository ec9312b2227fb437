//! One guest call: the input copied in through `portcullis_alloc`, the
//! entry point run on its fiber, the decision read back with every pointer
//! the guest returns checked.

use std::future::Future;

use wasmtime::{Memory, Store, TypedFunc};

use super::guest::GuestState;
use super::{EPOCH_TICK, GuestDecision, MAX_OUTPUT_BYTES};

/// Which call entry point to run.
#[derive(Debug, Clone, Copy)]
pub(super) enum Entry {
    Authorize,
    ValidateConfig,
}

/// A live instance's ABI v1 exports.
pub(super) struct Exports {
    pub(super) memory: Memory,
    pub(super) alloc: TypedFunc<i32, i32>,
    pub(super) authorize: TypedFunc<(i32, i32), i64>,
    pub(super) validate_config: Option<TypedFunc<(i32, i32), i64>>,
}

/// Copies `input` into a buffer from `portcullis_alloc`, calls `entry` on
/// it and reads back the decision, checking every pointer the guest returns.
pub(super) fn call_entry(
    store: &mut Store<GuestState>,
    exports: &Exports,
    entry: Entry,
    input: [&[u8]; 2],
) -> Result<GuestDecision, CallError> {
    let function = match entry {
        Entry::Authorize => &exports.authorize,
        Entry::ValidateConfig => exports
            .validate_config
            .as_ref()
            .ok_or_else(|| CallError::Output("no portcullis_validate_config export".into()))?,
    };
    let len = input[0].len() + input[1].len();
    let len_i32 = i32::try_from(len).map_err(|_| CallError::Output("input too large".into()))?;
    let ptr = complete(exports.alloc.call_async(&mut *store, len_i32))? as u32 as usize;
    let data = exports.memory.data_mut(&mut *store);
    let buffer = ptr
        .checked_add(len)
        .and_then(|end| data.get_mut(ptr..end))
        .ok_or_else(|| {
            CallError::Output(format!(
                "portcullis_alloc({len}) returned {ptr:#x}, outside memory"
            ))
        })?;
    buffer[..input[0].len()].copy_from_slice(input[0]);
    buffer[input[0].len()..].copy_from_slice(input[1]);

    let packed = complete(function.call_async(&mut *store, (ptr as i32, len_i32)))? as u64;
    let (out_ptr, out_len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    if out_len > MAX_OUTPUT_BYTES {
        return Err(CallError::Output(format!(
            "{out_len}-byte answer exceeds {MAX_OUTPUT_BYTES} bytes"
        )));
    }
    let data = exports.memory.data(&*store);
    let answer = out_ptr
        .checked_add(out_len)
        .and_then(|end| data.get(out_ptr..end))
        .ok_or_else(|| {
            CallError::Output(format!(
                "answer at {out_ptr:#x}+{out_len} lies outside the module's {}-byte memory",
                data.len()
            ))
        })?;
    serde_json::from_slice::<GuestDecision>(answer).map_err(|e| {
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(80)]).into_owned();
        CallError::Output(format!(
            "expected {{\"allow\": bool, \"msg\"?: string}}, got {shown:?} ({e})"
        ))
    })
}

/// Errors inside one call, before classification.
pub(super) enum CallError {
    Wasm(wasmtime::Error),
    Output(String),
}

impl From<wasmtime::Error> for CallError {
    fn from(err: wasmtime::Error) -> Self {
        CallError::Wasm(err)
    }
}

/// Drives one guest call (on its fiber) to completion on this thread.
///
/// Nothing a guest can reach waits: its deadline and fuel trap instead of
/// yielding, the WASI shims it may call (stdout and stderr into memory,
/// clocks, randomness) finish at once, and `poll_oneoff`, the one that
/// would wait, traps. So the future is ready on its first poll, and a call
/// needs no executor and no other thread. Should a future host call ever
/// wait, the call fails (and denies) instead of blocking the thread.
pub(super) fn complete<T>(
    future: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => {
            wasmtime::bail!("the module waited on the host, which a policy may not do")
        }
    }
}

/// Epoch ticks for a timeout, rounded up; at least one.
pub(super) fn deadline_ticks(timeout_ms: u64) -> u64 {
    let tick_ms = EPOCH_TICK.as_millis().max(1) as u64;
    timeout_ms.div_ceil(tick_ms).max(1)
}
