//! `portcullis check`: one AuthZ request through the chain, offline, with a
//! per-module account of what happened.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_envelope::mounts::HostRoot;
use portcullis_envelope::{AuthzRequest, Envelope, Phase};

use crate::chain::{Chain, ChainDecision, Verdict};

/// Reads an AuthZReq/AuthZRes body from plain JSON, or from a capture file
/// holding `{"req": {"body": …}, "res": {"body": …}}` (as in tests/fixtures).
pub fn read_request(json: &[u8], phase: Phase) -> anyhow::Result<AuthzRequest> {
    AuthzRequest::from_json_or_capture(json, phase == Phase::Response).map_err(anyhow::Error::msg)
}

/// The chain's decision on one request, with the envelope it saw and the total time.
pub struct CheckOutcome {
    /// The envelope the modules saw.
    pub envelope: Arc<Envelope>,
    /// What the chain decided.
    pub decision: ChainDecision,
    /// Envelope building plus chain evaluation.
    pub elapsed: Duration,
}

/// Evaluates `request` in `phase` through `chain`, resolving bind sources
/// in `host_root` as `serve` would.
pub fn check(
    chain: &Chain,
    request: AuthzRequest,
    phase: Phase,
    host_root: &HostRoot,
) -> anyhow::Result<CheckOutcome> {
    let started = Instant::now();
    let envelope =
        Arc::new(Envelope::from_authz(request, phase)?.with_host_root(host_root.clone()));
    let decision = chain.decide(&envelope);
    Ok(CheckOutcome {
        envelope,
        decision,
        elapsed: started.elapsed(),
    })
}

impl CheckOutcome {
    /// A human-readable report.
    pub fn render(&self, chain: &Chain) -> String {
        let mut out = String::new();
        let env = &self.envelope;
        let verdict = if self.decision.allow { "ALLOW" } else { "DENY" };
        let _ = writeln!(out, "decision: {verdict}");
        if !self.decision.allow {
            let _ = writeln!(out, "message:  {}", self.decision.msg);
        }
        let _ = writeln!(
            out,
            "request:  {:?} {} {} (action {}, user {})",
            env.phase,
            env.method,
            env.path,
            env.action,
            env.user.as_deref().unwrap_or("-")
        );
        let _ = writeln!(out, "modules:");
        let response = env.phase == Phase::Response;
        for module in chain.modules() {
            let name = module.name();
            match self.decision.reports.iter().find(|r| r.module == name) {
                Some(report) => {
                    let verdict = match report.monitor {
                        false => report.verdict.label().to_owned(),
                        true => format!("{}[monitor]", report.verdict.label()),
                    };
                    let detail = match &report.verdict {
                        Verdict::Allow => String::new(),
                        Verdict::Deny(msg) => msg.clone(),
                        Verdict::Failed(failure) => failure.to_string(),
                    };
                    let _ = writeln!(
                        out,
                        "  {name:<20} {verdict:<7} fuel {:>10}  time {:>8.1} µs  {detail}",
                        report.fuel_used,
                        report.elapsed.as_secs_f64() * 1e6
                    );
                }
                None if response && !module.judges_responses() => {
                    let _ = writeln!(out, "  {name:<20} (not run: judges requests only)");
                }
                None => {
                    let _ = writeln!(out, "  {name:<20} (not run: an earlier module denied)");
                }
            }
        }
        let _ = writeln!(out, "total:    {:.1} µs", self.elapsed.as_secs_f64() * 1e6);
        out
    }
}
