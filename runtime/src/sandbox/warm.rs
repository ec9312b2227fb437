//! Warm instances: per worker thread, one live instance per reusable
//! module, kept between calls so a call skips instantiation.
//!
//! An instance is put back only after a clean call (see
//! `PolicyModule::invoke_warm`); one that trapped, ran out of fuel or
//! printed is dropped. Instances of a module that was dropped (a reload
//! replaced it) are evicted the next time this thread caches a new one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use wasmtime::Store;

use super::{Exports, GuestState};

/// Identity of a loaded module for the warm cache; unique for the process.
pub struct Token(u64);

impl Default for Token {
    fn default() -> Token {
        Token::new()
    }
}

impl Token {
    /// A new, never-used identity.
    pub fn new() -> Token {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Token(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Its number.
    pub fn id(&self) -> u64 {
        self.0
    }
}

/// A live instance between two calls.
pub(super) struct WarmInstance {
    pub(super) store: Store<GuestState>,
    pub(super) exports: Exports,
    /// Calls it has served.
    pub(super) calls: u32,
}

struct Entry {
    instance: WarmInstance,
    owner: Weak<Token>,
}

thread_local! {
    static WARM: RefCell<HashMap<u64, Entry>> = RefCell::new(HashMap::new());
}

/// Takes this thread's warm instance of module `id`, if it has one.
pub(super) fn take(id: u64) -> Option<WarmInstance> {
    WARM.with(|warm| warm.borrow_mut().remove(&id))
        .map(|entry| entry.instance)
}

/// Keeps `instance` for the next call of `owner`'s module on this thread.
pub(super) fn put_back(owner: &Arc<Token>, instance: WarmInstance) {
    WARM.with(|warm| {
        let mut warm = warm.borrow_mut();
        warm.retain(|_, entry| entry.owner.strong_count() > 0);
        warm.insert(
            owner.id(),
            Entry {
                instance,
                owner: Arc::downgrade(owner),
            },
        );
    });
}
