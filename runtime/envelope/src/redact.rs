//! Secrets never reach a module or a log.
//!
//! Some Docker builds (Debian's 20.10 among them) forward the body of
//! `POST /auth`, registry password included, to authorization plugins; swarm
//! and secret calls carry join tokens, unlock keys and secret payloads.
//! The host drops or masks them before the envelope exists.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::docker::gojson::go_fold_eq;

/// What a masked value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Headers whose values are credentials.
const SECRET_HEADERS: [&str; 5] = [
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "X-Registry-Auth",
    "X-Registry-Config",
];

/// What to hide in the bodies of one action.
enum Rule {
    /// Drop the whole body (both phases).
    DropBody,
    /// Mask these fields, wherever they occur (matched as Go matches keys).
    Mask(&'static [&'static str]),
}

fn rule(action: &str) -> Option<Rule> {
    Some(match action {
        "docker_auth" => Rule::DropBody,
        "secret_create" | "secret_update" => Rule::Mask(&["Data"]),
        "swarm_join" => Rule::Mask(&["JoinToken"]),
        "swarm_unlock" | "swarm_unlock_key" => Rule::Mask(&["UnlockKey"]),
        "swarm_init" | "swarm_update" => Rule::Mask(&["SigningCAKey"]),
        "swarm_inspect" => Rule::Mask(&["JoinTokens", "SigningCAKey"]),
        _ => return None,
    })
}

/// Masks credential headers in place.
pub fn redact_headers(headers: &mut BTreeMap<String, String>) {
    for (name, value) in headers.iter_mut() {
        if SECRET_HEADERS
            .iter()
            .any(|secret| name.eq_ignore_ascii_case(secret))
        {
            *value = REDACTED.to_owned();
        }
    }
}

/// Outcome of redacting one body.
pub enum Redacted {
    /// Nothing secret: the body is unchanged.
    Unchanged(Box<RawValue>),
    /// Secret fields were masked.
    Masked(Box<RawValue>),
    /// The whole body is withheld.
    Dropped,
}

/// Redacts a JSON body of `action`.
pub fn redact_body(action: &str, body: Box<RawValue>) -> Redacted {
    match rule(action) {
        None => Redacted::Unchanged(body),
        Some(Rule::DropBody) => Redacted::Dropped,
        Some(Rule::Mask(fields)) => {
            let Ok(mut value) = serde_json::from_str::<Value>(body.get()) else {
                return Redacted::Dropped;
            };
            mask(&mut value, fields);
            match serde_json::value::to_raw_value(&value) {
                Ok(raw) => Redacted::Masked(raw),
                Err(_) => Redacted::Dropped,
            }
        }
    }
}

fn mask(value: &mut Value, fields: &[&str]) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if fields.iter().any(|field| go_fold_eq(key, field)) {
                    *item = Value::String(REDACTED.to_owned());
                } else {
                    mask(item, fields);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| mask(item, fields)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn auth_bodies_are_dropped() {
        assert!(matches!(
            redact_body("docker_auth", raw(r#"{"password":"p"}"#)),
            Redacted::Dropped
        ));
    }

    #[test]
    fn secret_fields_are_masked_whatever_their_case_and_depth() {
        let Redacted::Masked(out) = redact_body(
            "swarm_inspect",
            raw(
                r#"{"JoinTokens":{"Worker":"SWMTKN-1"},"Spec":{"CAConfig":{"signingcakey":"KEY"}}}"#,
            ),
        ) else {
            panic!("not masked")
        };
        assert!(
            !out.get().contains("SWMTKN") && !out.get().contains("KEY"),
            "{}",
            out.get()
        );
    }

    #[test]
    fn other_bodies_pass_untouched() {
        assert!(matches!(
            redact_body("container_create", raw(r#"{"Env":["A=1"]}"#)),
            Redacted::Unchanged(_)
        ));
    }

    #[test]
    fn credential_headers_are_masked() {
        let mut headers = BTreeMap::from([
            ("Authorization".to_owned(), "Basic dTpw".to_owned()),
            ("cookie".to_owned(), "s=1".to_owned()),
            ("User-Agent".to_owned(), "curl".to_owned()),
        ]);
        redact_headers(&mut headers);
        assert_eq!(headers["Authorization"], REDACTED);
        assert_eq!(headers["cookie"], REDACTED);
        assert_eq!(headers["User-Agent"], "curl");
    }
}
