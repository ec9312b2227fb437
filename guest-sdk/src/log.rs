//! Logging from a policy into the host's log (the `portcullis.log` import).
//!
//! Inside the sandbox a line goes to the host, tagged with the module's name
//! and bounded in size; natively (in tests) it goes to stderr when
//! `PORTCULLIS_SDK_LOG` is set (`cargo test` captures it per test), and
//! nowhere otherwise, so a policy linked natively (the benchmarks' baseline)
//! pays no write per call.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    /// Diagnostic detail.
    Debug = 0,
    /// Normal operation.
    Info = 1,
    /// Something the administrator should look at.
    Warn = 2,
    /// A failure.
    Error = 3,
}

/// Writes one line to the host's log.
pub fn log(level: Level, message: &str) {
    imp::log(level, message);
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod imp {
    #[link(wasm_import_module = "portcullis")]
    unsafe extern "C" {
        #[link_name = "log"]
        fn host_log(level: i32, ptr: *const u8, len: usize);
    }

    pub fn log(level: super::Level, message: &str) {
        // SAFETY: the host reads `len` bytes at `ptr` from this module's
        // memory during the call and keeps no reference.
        unsafe { host_log(level as i32, message.as_ptr(), message.len()) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::sync::OnceLock;

    pub fn log(level: super::Level, message: &str) {
        static ENABLED: OnceLock<bool> = OnceLock::new();
        if *ENABLED.get_or_init(|| std::env::var_os("PORTCULLIS_SDK_LOG").is_some()) {
            eprintln!("[{level:?}] {message}");
        }
    }
}
