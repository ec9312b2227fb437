//! ABI v1 glue: the byte-level entry points behind [`export_policy!`](crate::export_policy).
//!
//! The byte-level functions ([`authorize`], [`validate_config`]) are plain
//! Rust and run natively in tests; only the pointer shuffling in
//! [`wasm`] is specific to the sandbox.

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{Decision, IntoDecision, Request};

/// The config of a policy that takes none: only an empty table is accepted,
/// so a misspelled `[module.config]` is caught at load.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// Decodes a module config; an absent or `null` config is an empty table.
pub fn parse_config<C: DeserializeOwned>(json: Option<&str>) -> Result<C, String> {
    let json = json.map(str::trim).filter(|j| *j != "null").unwrap_or("{}");
    serde_json::from_str(json).map_err(|e| format!("invalid module config: {e}"))
}

/// The last module config decoded, kept with the JSON it came from so that
/// an instance the host reuses decodes its config once, not per call.
pub struct ConfigCache<C> {
    last: Mutex<Option<(Box<str>, Arc<C>)>>,
}

impl<C: DeserializeOwned> ConfigCache<C> {
    /// An empty cache (usable in a `static`).
    pub const fn new() -> Self {
        ConfigCache {
            last: Mutex::new(None),
        }
    }

    /// The config decoded from `json`, from the cache when `json` is the
    /// same text as last time.
    pub fn get(&self, json: Option<&str>) -> Result<Arc<C>, String> {
        let key = json.unwrap_or("");
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_json, config)) = last.as_ref()
            && **cached_json == *key
        {
            return Ok(config.clone());
        }
        let config = Arc::new(parse_config::<C>(json)?);
        *last = Some((key.into(), config.clone()));
        Ok(config)
    }
}

impl<C: DeserializeOwned> Default for ConfigCache<C> {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `policy` on one serialized envelope and returns the decision JSON.
/// Anything unreadable denies.
pub fn authorize<C, R>(
    envelope: &[u8],
    cache: &ConfigCache<C>,
    policy: impl FnOnce(&Request, &C) -> R,
) -> Vec<u8>
where
    C: DeserializeOwned,
    R: IntoDecision,
{
    decide(envelope, cache, policy).to_json()
}

/// Like [`authorize`], returning the [`Decision`] itself.
pub fn decide<C, R>(
    envelope: &[u8],
    cache: &ConfigCache<C>,
    policy: impl FnOnce(&Request, &C) -> R,
) -> Decision
where
    C: DeserializeOwned,
    R: IntoDecision,
{
    let request = match Request::from_envelope(envelope) {
        Ok(request) => request,
        Err(err) => return Decision::deny(format!("cannot read the request envelope: {err}")),
    };
    if let Some(refused) = refuse_unnamed_caller(&request) {
        return refused;
    }
    match cache.get(request.config_json()) {
        Ok(config) => policy(&request, &config).into_decision(),
        Err(err) => Decision::deny(err),
    }
}

/// The deny every SDK policy gives, before it runs, to a caller Docker
/// authenticated but who has no user: policies take a caller without a
/// user for the anonymous local socket. The host refuses such calls
/// itself; this keeps a policy safe under a host that did not.
pub fn refuse_unnamed_caller(request: &Request) -> Option<Decision> {
    (request.is_authenticated() && request.user().is_none()).then(|| {
        Decision::deny(format!(
            "Docker authenticated the caller ({}) but reports no user",
            request.authn_method().unwrap_or("unknown method")
        ))
    })
}

/// The deny every SDK policy gives, before it runs, to a call Portcullis
/// cannot classify that may change something ([`Request::is_unknown_write`]):
/// a policy written as a list of what it refuses would otherwise let it pass.
/// Policies that judge such calls themselves export with
/// `export_policy!(f, Config, judges_unknown_writes)`.
pub fn refuse_unknown_write(request: &Request) -> Option<Decision> {
    request.is_unknown_write().then(|| {
        Decision::deny(format!(
            "{} {} is not an API call Portcullis recognises, so no policy can judge it",
            request.method(),
            request.path()
        ))
    })
}

/// Whether `options` (the names given to [`export_policy!`](crate::export_policy)) include `name`.
pub const fn has_option(options: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < options.len() {
        if options[i].len() == name.len() {
            let (a, b) = (options[i].as_bytes(), name.as_bytes());
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Checks a module config at load: `{"allow":true}` when `C` accepts it,
/// `{"allow":false,"msg":…}` otherwise.
pub fn validate_config<C: DeserializeOwned>(config: &[u8]) -> Vec<u8> {
    let text = match std::str::from_utf8(config) {
        Ok(text) => text,
        Err(_) => return Decision::deny("invalid module config: not UTF-8").to_json(),
    };
    match parse_config::<C>(Some(text)) {
        Ok(_) => Decision::allow().to_json(),
        Err(err) => Decision::deny(err).to_json(),
    }
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static NATIVE_VIEWS: std::cell::RefCell<Option<std::sync::Arc<portcullis_envelope::Envelope>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` (a native `portcullis_entry::authorize` call on a views
/// envelope) with `envelope` answering its views, as the host answers them
/// in the sandbox: how the benchmarks call policies natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn with_native_views<R>(
    envelope: std::sync::Arc<portcullis_envelope::Envelope>,
    f: impl FnOnce() -> R,
) -> R {
    let previous = NATIVE_VIEWS.with(|views| views.replace(Some(envelope)));
    let result = f();
    NATIVE_VIEWS.with(|views| *views.borrow_mut() = previous);
    result
}

/// The envelope lent to this thread by [`with_native_views`].
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn native_views() -> Option<std::sync::Arc<portcullis_envelope::Envelope>> {
    NATIVE_VIEWS.with(|views| views.borrow().clone())
}

/// Pointer-level exports, compiled only for the sandbox.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub mod wasm {
    use std::sync::Mutex;

    use crate::views::{View, ViewKind};

    #[link(wasm_import_module = "portcullis")]
    unsafe extern "C" {
        /// Readies view `kind` of this call; `(status << 32) | len`.
        #[link_name = "view"]
        fn host_view(kind: i32) -> i64;
        /// Copies the view readied last to `ptr` (`len` bytes).
        #[link_name = "view_copy"]
        fn host_view_copy(ptr: i32);
    }

    /// Fetches view `kind` of the current call from the host.
    pub(crate) fn view(kind: ViewKind) -> View {
        // SAFETY: a host call with plain integers; the host checks the kind.
        let packed = unsafe { host_view(kind as i32) } as u64;
        let (status, len) = ((packed >> 32) as u32, (packed & 0xffff_ffff) as usize);
        let mut bytes = vec![0u8; len];
        if len > 0 {
            // SAFETY: `bytes` is a live, writable buffer of exactly the
            // `len` bytes the host copies; the host checks the range too.
            unsafe { host_view_copy(bytes.as_mut_ptr() as i32) };
        }
        View::from_wire(status, bytes)
            .unwrap_or_else(|| View::Malformed(format!("unknown view status {status}")))
    }

    /// The last answer, kept alive until the next call so the host can read it.
    static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    /// `portcullis_alloc`: a buffer of `len` bytes for the host to fill.
    pub fn alloc(len: i32) -> i32 {
        let buffer = vec![0u8; len.max(0) as usize].into_boxed_slice();
        Box::into_raw(buffer) as *mut u8 as i32
    }

    /// Takes back a buffer from [`alloc`], runs `entry` on it and returns
    /// `(out_ptr << 32) | out_len` of the answer.
    pub fn call(ptr: i32, len: i32, entry: impl FnOnce(&[u8]) -> Vec<u8>) -> i64 {
        // SAFETY: the host passes back exactly a buffer it got from `alloc(len)`,
        // once (ABI v1), so this reclaims that allocation.
        let input: Box<[u8]> = unsafe {
            Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                ptr as *mut u8,
                len.max(0) as usize,
            ))
        };
        let answer = entry(&input);
        drop(input);
        let mut output = OUTPUT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *output = answer;
        ((output.as_ptr() as u32 as i64) << 32) | output.len() as u32 as i64
    }
}

/// Exports a policy function with ABI v1, leaving the function untouched so
/// `cargo test` calls it natively.
///
/// `export_policy!(authorize)` for `fn(&Request) -> impl IntoDecision`;
/// `export_policy!(authorize, Config)` for `fn(&Request, &Config) -> impl
/// IntoDecision`, where `Config: DeserializeOwned` is the module's
/// `[module.config]` table, checked when the host loads the module (with
/// [`NoConfig`] for a policy without config that takes options).
///
/// Options follow the config type, separated by commas:
///
/// - Secure by default: a call Portcullis cannot classify that may change
///   something ([`Request::is_unknown_write`](crate::Request::is_unknown_write))
///   is refused before the policy runs ([`refuse_unknown_write`]). A policy
///   that judges such calls itself says `judges_unknown_writes`.
/// - Policies see only the request phase: the host skips modules in the
///   response phase unless they say `response_phase` (ABI export
///   `portcullis_response_v1`); such a policy checks
///   [`Request::phase`](crate::Request::phase) itself.
///
/// `export_policy!(authorize, Config, judges_unknown_writes, response_phase)`;
/// a misspelled option does not compile:
///
/// ```compile_fail
/// use portcullis_sdk::{abi::NoConfig, export_policy, Decision, Request};
/// fn allow(_: &Request, _: &NoConfig) -> Decision { Decision::allow() }
/// export_policy!(allow, NoConfig, judge_unknown_writes);
/// ```
///
/// Also defines `portcullis_entry::{authorize, validate_config}`, the
/// byte-level entry points, callable natively from tests.
///
/// The module declares itself reusable (`portcullis_reusable`): the host
/// may run many calls in one instance, and the config is decoded once per
/// instance. A policy must therefore keep nothing between calls in statics:
/// what it must remember goes in [`state`](crate::state), which the host keeps.
#[macro_export]
macro_rules! export_policy {
    (@option judges_unknown_writes) => {};
    (@option response_phase) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            /// Asks the host for the response phase too.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_response_v1() {}
        };
    };
    (@option $other:ident) => {
        ::core::compile_error!(::core::concat!(
            "unknown export_policy! option `",
            ::core::stringify!($other),
            "`: expected judges_unknown_writes or response_phase"
        ));
    };
    ($policy:path) => {
        #[doc(hidden)]
        type __PortcullisConfig = $crate::abi::NoConfig;
        #[doc(hidden)]
        fn __portcullis_policy(
            request: &$crate::Request,
            _: &__PortcullisConfig,
        ) -> $crate::Decision {
            if let Some(refused) = $crate::abi::refuse_unknown_write(request) {
                return refused;
            }
            $crate::IntoDecision::into_decision($policy(request))
        }
        $crate::export_policy!(@entry);
    };
    ($policy:path, $config:ty $(, $option:ident)* $(,)?) => {
        #[doc(hidden)]
        type __PortcullisConfig = $config;
        #[doc(hidden)]
        fn __portcullis_policy(
            request: &$crate::Request,
            config: &__PortcullisConfig,
        ) -> $crate::Decision {
            const JUDGES_UNKNOWN_WRITES: bool = $crate::abi::has_option(
                &[$(::core::stringify!($option)),*],
                "judges_unknown_writes",
            );
            if !JUDGES_UNKNOWN_WRITES
                && let Some(refused) = $crate::abi::refuse_unknown_write(request)
            {
                return refused;
            }
            $crate::IntoDecision::into_decision($policy(request, config))
        }
        $( $crate::export_policy!(@option $option); )*
        $crate::export_policy!(@entry);
    };
    (@entry) => {
        /// ABI v1 entry points of this policy, as plain functions.
        pub mod portcullis_entry {
            /// The config decoded last, reused while it does not change.
            static CONFIG: $crate::abi::ConfigCache<super::__PortcullisConfig> =
                $crate::abi::ConfigCache::new();

            /// Decides on one serialized envelope; returns the decision JSON.
            pub fn authorize(envelope: &[u8]) -> ::std::vec::Vec<u8> {
                $crate::abi::authorize::<super::__PortcullisConfig, _>(
                    envelope,
                    &CONFIG,
                    super::__portcullis_policy,
                )
            }

            /// Checks a `[module.config]` table given as JSON.
            pub fn validate_config(config: &[u8]) -> ::std::vec::Vec<u8> {
                $crate::abi::validate_config::<super::__PortcullisConfig>(config)
            }
        }

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_abi_v1() {}

            /// Declares that an instance may serve many calls: an SDK
            /// policy is a function of its request and config alone.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_reusable() {}

            /// Asks for the small envelope: the SDK fetches the body,
            /// headers, mounts and certificate as views when a policy reads them.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_views_v1() {}

            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_alloc(len: i32) -> i32 {
                $crate::abi::wasm::alloc(len)
            }

            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_authorize(ptr: i32, len: i32) -> i64 {
                $crate::abi::wasm::call(ptr, len, portcullis_entry::authorize)
            }

            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn portcullis_validate_config(ptr: i32, len: i32) -> i64 {
                $crate::abi::wasm::call(ptr, len, portcullis_entry::validate_config)
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope as a host without the identity check sent it for a
    /// certificate without a CN: authenticated, and no user.
    const UNNAMED: &str = r#"{"phase":"request","user":null,"authn_method":"TLS","method":"GET","uri":"/v1.41/info","path":"/info","api_version":"1.41","query":{},"action":"system_info","params":{},"headers":{},"body":null,"body_state":"absent","peer_certificate":null,"mounts":null}"#;

    #[test]
    fn an_authenticated_caller_without_a_user_is_refused_before_the_policy_runs() {
        let cache = ConfigCache::<NoConfig>::new();
        let decision = decide(UNNAMED.as_bytes(), &cache, |_, _| Decision::allow());
        assert_eq!(
            decision.message(),
            Some("Docker authenticated the caller (TLS) but reports no user")
        );
        let anonymous = UNNAMED.replace(r#""authn_method":"TLS""#, r#""authn_method":null"#);
        let decision = decide(anonymous.as_bytes(), &cache, |_, _| Decision::allow());
        assert!(decision.is_allowed(), "{decision:?}");
        let empty = UNNAMED.replace(r#""user":null"#, r#""user":"""#);
        let decision = decide(empty.as_bytes(), &cache, |_, _| Decision::allow());
        assert!(!decision.is_allowed(), "an empty user is no user");
    }
}
