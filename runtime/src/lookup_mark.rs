//! Marks on Portcullis' own API calls. dockerd asks its authorization
//! plugins about every call, the ones Portcullis makes to resolve a
//! reference (`docker_lookup`) included: those come back as AuthZReq and
//! AuthZRes, and must be answered without the chain (a policy could refuse
//! them, and a chain worker waiting for its own lookup would deadlock).
//!
//! A mark is a fresh random nonce (128 bits) sent in the [`MARK_HEADER`]
//! header, which dockerd forwards to plugins. It admits exactly one call:
//! the method and request-target it was issued for, one request phase,
//! then the response phase that consumes it, before it expires (the
//! lookup's deadline) or the lookup ends. Anything else carrying the header
//! (a guess, a replay, another target) is an ordinary call judged by the
//! chain; the server strips the header before any module or log sees it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_envelope::Phase;

/// The header that carries a mark, as dockerd forwards it (Go's canonical form).
pub const MARK_HEADER: &str = "X-Portcullis-Lookup";

/// The marks of the lookups in flight.
#[derive(Debug, Default)]
pub struct Marks {
    pending: Mutex<HashMap<String, Mark>>,
}

#[derive(Debug)]
struct Mark {
    method: &'static str,
    target: String,
    expires: Instant,
    request_seen: bool,
}

/// A mark issued for one call; forgotten when dropped (the lookup ended).
#[derive(Debug)]
pub struct Issued {
    nonce: String,
    marks: Arc<Marks>,
}

impl Issued {
    /// The header value to send.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
}

impl Drop for Issued {
    fn drop(&mut self) {
        self.marks.lock().remove(&self.nonce);
    }
}

impl Marks {
    /// A mark for one `method target` call, valid for `ttl`. `None` when the
    /// system has no randomness to give (the lookup then fails closed).
    pub fn issue(
        self: &Arc<Self>,
        method: &'static str,
        target: &str,
        ttl: Duration,
    ) -> Option<Issued> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        let nonce = bytes.iter().fold(String::with_capacity(32), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
        let mark = Mark {
            method,
            target: target.to_owned(),
            expires: Instant::now() + ttl,
            request_seen: false,
        };
        let mut pending = self.lock();
        let now = Instant::now();
        pending.retain(|_, mark| mark.expires > now);
        pending.insert(nonce.clone(), mark);
        Some(Issued {
            nonce,
            marks: self.clone(),
        })
    }

    /// Whether this authz call is one of Portcullis' own lookups, carrying
    /// a live mark issued for exactly its method and request-target: the
    /// request phase once, then the response phase, which consumes it.
    pub fn admit(
        &self,
        phase: Phase,
        method: &str,
        uri: &str,
        headers: &BTreeMap<String, String>,
    ) -> bool {
        let Some(nonce) = mark_of(headers) else {
            return false;
        };
        let mut pending = self.lock();
        let Some(mark) = pending.get_mut(nonce) else {
            return false;
        };
        if mark.expires <= Instant::now() || mark.method != method || mark.target != uri {
            return false;
        }
        match phase {
            Phase::Request if !mark.request_seen => {
                mark.request_seen = true;
                true
            }
            Phase::Response if mark.request_seen => {
                pending.remove(nonce);
                true
            }
            _ => false,
        }
    }

    /// Marks in flight (for tests).
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Mark>> {
        // A panic while holding it cannot leave the map inconsistent.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The mark a call carries, whatever the case of the header's name.
fn mark_of(headers: &BTreeMap<String, String>) -> Option<&str> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(MARK_HEADER))
        .map(|(_, value)| value.as_str())
}

/// Removes the mark header (any case) from headers a module or log could see.
pub fn strip(headers: &mut BTreeMap<String, String>) {
    headers.retain(|name, _| !name.eq_ignore_ascii_case(MARK_HEADER));
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "/containers/guard/json";

    fn headers(nonce: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MARK_HEADER.to_owned(), nonce.to_owned()),
            ("User-Agent".to_owned(), "portcullis".to_owned()),
        ])
    }

    #[test]
    fn a_mark_admits_one_request_then_its_response_and_nothing_else() {
        let marks = Arc::new(Marks::default());
        let issued = marks.issue("GET", TARGET, Duration::from_secs(5)).unwrap();
        let mark = headers(issued.nonce());
        assert_eq!(issued.nonce().len(), 32);
        assert!(
            !marks.admit(Phase::Response, "GET", TARGET, &mark),
            "response before request"
        );
        assert!(marks.admit(Phase::Request, "GET", TARGET, &mark));
        assert!(
            !marks.admit(Phase::Request, "GET", TARGET, &mark),
            "a replayed request"
        );
        assert!(marks.admit(Phase::Response, "GET", TARGET, &mark));
        assert!(
            !marks.admit(Phase::Response, "GET", TARGET, &mark),
            "consumed"
        );
        assert_eq!(marks.in_flight(), 0);
    }

    #[test]
    fn a_mark_is_bound_to_its_method_and_exact_target() {
        let marks = Arc::new(Marks::default());
        let issued = marks.issue("GET", TARGET, Duration::from_secs(5)).unwrap();
        let mark = headers(issued.nonce());
        for (method, uri) in [
            ("POST", "/containers/guard/stop"),
            ("POST", TARGET),
            ("GET", "/v1.41/containers/guard/json"),
            ("GET", "/containers/guard/json?size=1"),
        ] {
            assert!(
                !marks.admit(Phase::Request, method, uri, &mark),
                "{method} {uri}"
            );
        }
        let lower = BTreeMap::from([(MARK_HEADER.to_lowercase(), issued.nonce().to_owned())]);
        assert!(marks.admit(Phase::Request, "GET", TARGET, &lower));
    }

    #[test]
    fn unknown_expired_and_forgotten_marks_admit_nothing() {
        let marks = Arc::new(Marks::default());
        assert!(!marks.admit(
            Phase::Request,
            "GET",
            TARGET,
            &headers("00112233445566778899aabbccddeeff")
        ));
        assert!(!marks.admit(Phase::Request, "GET", TARGET, &BTreeMap::new()));
        let expired = marks.issue("GET", TARGET, Duration::ZERO).unwrap();
        assert!(!marks.admit(Phase::Request, "GET", TARGET, &headers(expired.nonce())));
        let issued = marks.issue("GET", TARGET, Duration::from_secs(5)).unwrap();
        let nonce = issued.nonce().to_owned();
        drop(issued);
        assert!(
            !marks.admit(Phase::Request, "GET", TARGET, &headers(&nonce)),
            "lookup ended"
        );
        let a = marks.issue("GET", TARGET, Duration::from_secs(5)).unwrap();
        let b = marks.issue("GET", TARGET, Duration::from_secs(5)).unwrap();
        assert_ne!(a.nonce(), b.nonce());
    }

    #[test]
    fn the_header_is_stripped_whatever_its_case() {
        let mut seen = headers("n");
        seen.insert("x-portcullis-lookup".to_owned(), "m".to_owned());
        strip(&mut seen);
        assert_eq!(seen.keys().collect::<Vec<_>>(), ["User-Agent"]);
    }
}
