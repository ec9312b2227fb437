//! A policy's answer: allow, or deny with a message for the Docker client.

use std::fmt::Display;

/// What a policy decides about one Docker API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The call may proceed (if every other module allows it too).
    Allow,
    /// The call is refused; the message reaches the Docker client, prefixed
    /// with the module's name.
    Deny(String),
}

impl Decision {
    /// The call may proceed.
    pub fn allow() -> Self {
        Decision::Allow
    }

    /// The call is refused with `msg`.
    pub fn deny(msg: impl Into<String>) -> Self {
        Decision::Deny(msg.into())
    }

    /// Whether this is an allow.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    /// The deny message, if this is a deny.
    pub fn message(&self) -> Option<&str> {
        match self {
            Decision::Allow => None,
            Decision::Deny(msg) => Some(msg),
        }
    }

    /// The decision JSON of ABI v1: `{"allow":true}` or `{"allow":false,"msg":"…"}`.
    pub fn to_json(&self) -> Vec<u8> {
        match self {
            Decision::Allow => br#"{"allow":true}"#.to_vec(),
            Decision::Deny(msg) => {
                let mut out = br#"{"allow":false,"msg":"#.to_vec();
                // Serializing a &str into a Vec cannot fail.
                serde_json::to_writer(&mut out, msg).unwrap_or_default();
                out.push(b'}');
                out
            }
        }
    }
}

/// What a policy function may return: a [`Decision`], or a `Result` whose
/// error denies the call with the error's message (so `?` works in policies).
pub trait IntoDecision {
    /// Converts into a decision.
    fn into_decision(self) -> Decision;
}

impl IntoDecision for Decision {
    fn into_decision(self) -> Decision {
        self
    }
}

impl<E: Display> IntoDecision for Result<Decision, E> {
    fn into_decision(self) -> Decision {
        self.unwrap_or_else(|err| Decision::Deny(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_json_matches_abi_v1() {
        assert_eq!(Decision::allow().to_json(), br#"{"allow":true}"#);
        assert_eq!(
            Decision::deny("no \"privileged\"").to_json(),
            br#"{"allow":false,"msg":"no \"privileged\""}"#
        );
    }

    #[test]
    fn errors_become_denies_with_their_message() {
        let failed: Result<Decision, String> = Err("body missing".into());
        assert_eq!(failed.into_decision(), Decision::deny("body missing"));
    }
}
