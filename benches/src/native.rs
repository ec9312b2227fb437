//! The baseline: the same policies, from the same source, compiled natively
//! into the host and called through the same envelope, so that what the
//! sandbox costs is measured rather than guessed.

use std::sync::Arc;
use std::time::Instant;

use portcullis::chain::{ChainDecision, Decide, ModuleReport, Verdict};
use portcullis::config::Config;
use portcullis::sandbox::{GuestDecision, GuestFailure};
use portcullis_envelope::Envelope;
use portcullis_envelope::envelope::ConfigPrefix;

/// A policy's byte-level entry point (`<guest>::portcullis_entry::authorize`).
pub type Entry = fn(&[u8]) -> Vec<u8>;

/// The native entry point of a guest, by its wasm file stem (`hardening`, …).
pub fn entry(stem: &str) -> Option<Entry> {
    Some(match stem {
        "hardening" => hardening::portcullis_entry::authorize,
        "rbac" => rbac::portcullis_entry::authorize,
        "no_privileged" => no_privileged::portcullis_entry::authorize,
        "read_only" => read_only::portcullis_entry::authorize,
        "api_allowlist" => api_allowlist::portcullis_entry::authorize,
        "read_only_users" => read_only_users::portcullis_entry::authorize,
        _ => return None,
    })
}

struct NativeModule {
    name: String,
    entry: Entry,
    config_prefix: ConfigPrefix,
}

/// A chain of natively compiled policies with the wasm chain's semantics:
/// plugin.toml order, first deny wins, same messages.
pub struct NativeChain {
    modules: Vec<NativeModule>,
    /// Stands in for the wasm chain's version in decisions and logs.
    version: Arc<str>,
}

impl NativeChain {
    /// The native counterpart of `config`'s chain; every module's wasm file
    /// stem must name a guest of this repository.
    pub fn build(config: &Config) -> anyhow::Result<NativeChain> {
        let modules = config
            .modules
            .iter()
            .map(|spec| {
                let stem = spec
                    .path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                let entry = entry(stem).ok_or_else(|| {
                    anyhow::anyhow!("module {:?}: no native build of {stem:?}", spec.name)
                })?;
                Ok(NativeModule {
                    name: spec.name.clone(),
                    entry,
                    config_prefix: ConfigPrefix::new(&spec.config),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(NativeChain {
            modules,
            version: Arc::from("native"),
        })
    }
}

impl Decide for NativeChain {
    /// Each policy gets the small envelope and its views from `envelope`,
    /// exactly as in the sandbox, minus the sandbox.
    fn decide(&self, envelope: &Arc<Envelope>) -> ChainDecision {
        let mut reports = Vec::with_capacity(self.modules.len());
        for module in &self.modules {
            let started = Instant::now();
            let input = envelope.core_json().with_config(&module.config_prefix);
            let answer =
                portcullis_sdk::abi::with_native_views(envelope.clone(), || (module.entry)(&input));
            let outcome = serde_json::from_slice::<GuestDecision>(&answer)
                .map_err(|e| GuestFailure::BadOutput(e.to_string()));
            let report = ModuleReport {
                module: module.name.clone(),
                verdict: Verdict::of(outcome),
                fuel_used: 0,
                elapsed: started.elapsed(),
                monitor: false,
                warm: false,
            };
            let denial = report.denial();
            reports.push(report);
            if let Some(msg) = denial {
                return ChainDecision {
                    allow: false,
                    msg,
                    version: self.version.clone(),
                    reports,
                };
            }
        }
        ChainDecision {
            allow: true,
            msg: String::new(),
            version: self.version.clone(),
            reports,
        }
    }
}
