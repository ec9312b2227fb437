//! Decoding request bodies the way the Docker daemon does.
//!
//! Docker decodes bodies with Go's `encoding/json`: object keys match struct
//! fields case-insensitively (`{"hostconfig":{"privileged":true}}` starts a
//! privileged container), `null` leaves a field at its zero value, unknown
//! keys are ignored and a repeated key's last value wins. A policy that
//! decoded bodies any other way could be bypassed by a client that spells a
//! field differently, so every typed view in this crate is declared with
//! [`go_struct!`](crate::go_struct), which reproduces those rules.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// An object key as read from the body, borrowed when it has no escapes.
#[doc(hidden)]
pub struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// Whether this key selects the Go field named `field` (see [`go_fold_eq`]).
    pub fn matches(&self, field: &str) -> bool {
        go_fold_eq(&self.0, field)
    }
}

/// Whether JSON key `key` selects the Go struct field named `field` (ASCII):
/// Go folds ASCII letters to lower case, and the Kelvin sign (U+212A) and
/// long s (U+017F) to `k` and `s`.
pub fn go_fold_eq(key: &str, field: &str) -> bool {
    let mut key = key.chars();
    for expected in field.bytes() {
        let Some(c) = key.next() else { return false };
        let folded = match c {
            '\u{212A}' => 'k',
            '\u{017F}' => 's',
            c => c.to_ascii_lowercase(),
        };
        if folded != char::from(expected.to_ascii_lowercase()) {
            return false;
        }
    }
    key.next().is_none()
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Declares a struct that decodes like its Go counterpart in the Docker
/// daemon (see the [module docs](crate::docker::gojson)): each field names
/// the Go field it reads; missing and `null` fields keep their `Default`.
#[macro_export]
macro_rules! go_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $go:literal => pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct GoVisitor;
                impl<'de> ::serde::de::Visitor<'de> for GoVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(concat!("a JSON object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<$crate::docker::gojson::Key<'de>>()? {
                            $(
                                if key.matches($go) {
                                    if let Some(value) = map.next_value::<Option<$ty>>()? {
                                        out.$field = value;
                                    }
                                    continue;
                                }
                            )*
                            map.next_value::<::serde::de::IgnoredAny>()?;
                        }
                        Ok(out)
                    }
                }
                deserializer.deserialize_map(GoVisitor)
            }
        }
    };
}

/// Docker's `strslice.StrSlice`: a list of strings that the daemon also
/// accepts as one bare string (`"CapAdd": "SYS_ADMIN"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrSlice(pub Vec<String>);

impl Deref for StrSlice {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for StrSlice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrSliceVisitor;
        impl<'de> Visitor<'de> for StrSliceVisitor {
            type Value = StrSlice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrSlice, E> {
                Ok(StrSlice(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrSlice, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StrSlice(items))
            }
        }
        deserializer.deserialize_any(StrSliceVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::go_struct! {
        /// Test double of a Docker type.
        pub struct Sample {
            "Privileged" => pub privileged: bool,
            "CapAdd" => pub cap_add: StrSlice,
            "Mask" => pub mask: Vec<String>,
        }
    }

    fn decode(json: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn keys_match_case_insensitively_like_go() {
        assert!(decode(r#"{"privileged":true}"#).unwrap().privileged);
        assert!(decode(r#"{"PRIVILEGED":true}"#).unwrap().privileged);
    }

    #[test]
    fn kelvin_sign_and_long_s_fold_like_go() {
        // "ma\u{17F}\u{212A}" is "mask" to Go's decoder.
        let sample = decode("{\"ma\u{17F}\u{212A}\":[\"x\"]}").unwrap();
        assert_eq!(sample.mask, vec!["x".to_owned()]);
    }

    #[test]
    fn null_keeps_the_default_and_unknown_keys_are_skipped() {
        let sample = decode(r#"{"Mask":null,"Other":{"deep":[1,2]},"Privileged":false}"#).unwrap();
        assert_eq!(sample, Sample::default());
    }

    #[test]
    fn the_last_of_repeated_keys_wins_like_go() {
        assert!(
            decode(r#"{"Privileged":false,"privileged":true}"#)
                .unwrap()
                .privileged
        );
        assert!(
            !decode(r#"{"privileged":true,"Privileged":false}"#)
                .unwrap()
                .privileged
        );
    }

    #[test]
    fn strslice_accepts_a_bare_string() {
        assert_eq!(
            decode(r#"{"CapAdd":"SYS_ADMIN"}"#).unwrap().cap_add.0,
            vec!["SYS_ADMIN"]
        );
        assert_eq!(decode(r#"{"CapAdd":["A","B"]}"#).unwrap().cap_add.len(), 2);
    }

    #[test]
    fn wrong_types_are_errors_not_defaults() {
        assert!(decode(r#"{"Privileged":"true"}"#).is_err());
        assert!(decode(r#"[]"#).is_err());
    }
}
