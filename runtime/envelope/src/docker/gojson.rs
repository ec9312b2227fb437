//! Decoding request bodies the way the Docker daemon does.
//!
//! Docker decodes bodies with Go's `encoding/json`: object keys match struct
//! fields case-insensitively (`{"hostconfig":{"privileged":true}}` starts a
//! privileged container), `null` leaves a field at its zero value, unknown
//! keys are ignored, and a repeated key decodes *into* what the first one
//! left (objects merge, maps merge per key, arrays decode element-wise into
//! the existing elements), so `{"HostConfig":{"Privileged":true},
//! "HostConfig":{}}` is privileged. JSON `null` resets slices, maps and
//! pointers and leaves structs and scalars alone. A policy that
//! decoded bodies any other way could be bypassed by a client that spells a
//! field differently, so every typed view in this crate is declared with
//! [`go_struct!`](crate::go_struct), which reproduces those rules.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use std::collections::BTreeMap;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

/// An object key as read from the body, borrowed when it has no escapes.
///
/// Whether it is ASCII is worked out once: a key is compared with every
/// field of its struct, and the ASCII case is a length check and a
/// case-insensitive compare.
#[doc(hidden)]
pub struct Key<'de> {
    text: Cow<'de, str>,
    ascii: bool,
}

impl<'de> Key<'de> {
    fn new(text: Cow<'de, str>) -> Self {
        let ascii = text.is_ascii();
        Key { text, ascii }
    }

    /// Whether this key selects the Go field named `field` (see [`go_fold_eq`]).
    pub fn matches(&self, field: &str) -> bool {
        if self.ascii {
            self.text.len() == field.len() && self.text.eq_ignore_ascii_case(field)
        } else {
            go_fold_eq(&self.text, field)
        }
    }
}

/// Whether JSON key `key` selects the Go struct field named `field` (ASCII):
/// Go folds ASCII letters to lower case, and the Kelvin sign (U+212A) and
/// long s (U+017F) to `k` and `s`.
pub fn go_fold_eq(key: &str, field: &str) -> bool {
    if key.is_ascii() {
        // The common case: only ASCII can fold to ASCII without the two specials.
        return key.eq_ignore_ascii_case(field);
    }
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
                Ok(Key::new(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key::new(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Declares a struct that decodes like its Go counterpart in the Docker
/// daemon (see the [module docs](crate::docker::gojson)): each field names
/// the Go field it reads; fields that are absent keep their `Default`.
///
/// The struct also implements [`GoFields`], so that a struct which embeds
/// it the way Go embeds structs (promoted fields) can hand it the keys it
/// declares.
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

        impl $name {
            /// Writes the fields that differ from their default into `map`,
            /// under their Go names (the canonical form the host hands views in).
            #[doc(hidden)]
            pub fn serialize_fields<M: ::serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                $(
                    if !$crate::docker::gojson::is_default(&self.$field) {
                        map.serialize_entry($go, &self.$field)?;
                    }
                )*
                Ok(())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                self.serialize_fields(&mut map)?;
                map.end()
            }
        }

        impl $crate::docker::gojson::GoFields for $name {
            fn has_field(key: &$crate::docker::gojson::Key<'_>) -> bool {
                false $( || key.matches($go) )*
            }

            fn decode_field<'de, A: ::serde::de::MapAccess<'de>>(
                &mut self,
                key: &$crate::docker::gojson::Key<'de>,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                $(
                    if key.matches($go) {
                        map.next_value_seed($crate::docker::gojson::GoSeed(&mut self.$field))?;
                        return Ok(true);
                    }
                )*
                Ok(false)
            }
        }

        impl $crate::docker::gojson::GoDecode for $name {
            const NULL_RESETS: bool = false;

            fn decode_into<'de, D: ::serde::Deserializer<'de>>(place: &mut Self, deserializer: D) -> Result<(), D::Error> {
                $crate::docker::gojson::decode_fields(place, deserializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut out = Self::default();
                <Self as $crate::docker::gojson::GoDecode>::decode_into(&mut out, deserializer)?;
                Ok(out)
            }
        }
    };
}

/// Whether `value` is its type's default (left out of the canonical form:
/// decoding leaves an absent field at its default, so nothing is lost).
#[doc(hidden)]
pub fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The fields of a Go struct, addressable by JSON key: what `go_struct!`
/// generates, and what a struct embedding another one delegates to.
pub trait GoFields {
    /// Whether `key` selects one of the fields.
    fn has_field(key: &Key<'_>) -> bool;

    /// Decodes the next value of `map` into the field `key` selects;
    /// `Ok(false)` (nothing read) when no field matches.
    fn decode_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &Key<'de>,
        map: &mut A,
    ) -> Result<bool, A::Error>;
}

/// Decodes a JSON object into the fields of `place`, skipping unknown keys.
pub fn decode_fields<'de, T: GoFields, D: Deserializer<'de>>(
    place: &mut T,
    deserializer: D,
) -> Result<(), D::Error> {
    struct FieldsVisitor<'a, T>(&'a mut T);
    impl<'de, T: GoFields> Visitor<'de> for FieldsVisitor<'_, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Key<'de>>()? {
                if !self.0.decode_field(&key, &mut map)? {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    deserializer.deserialize_map(FieldsVisitor(place))
}

/// A value that decodes into an existing value the way Go's
/// `encoding/json` does (see the [module docs](self)).
pub trait GoDecode: Default {
    /// Whether JSON `null` resets the value (Go: slices, maps, pointers) or
    /// leaves it unchanged (Go: structs and scalars).
    const NULL_RESETS: bool;

    /// Decodes a non-null JSON value into `place`.
    fn decode_into<'de, D: Deserializer<'de>>(
        place: &mut Self,
        deserializer: D,
    ) -> Result<(), D::Error>;
}

/// Decodes one JSON value, `null` included, into an existing `T`.
pub struct GoSeed<'a, T>(pub &'a mut T);

impl<'de, T: GoDecode> DeserializeSeed<'de> for GoSeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        struct Nullable<'a, T>(&'a mut T);
        impl<'de, T: GoDecode> Visitor<'de> for Nullable<'_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_none<E: de::Error>(self) -> Result<(), E> {
                if T::NULL_RESETS {
                    *self.0 = T::default();
                }
                Ok(())
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                self.visit_none()
            }
            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
                T::decode_into(self.0, deserializer)
            }
        }
        deserializer.deserialize_option(Nullable(self.0))
    }
}

/// Types Go replaces wholesale.
macro_rules! go_replaced {
    ($($ty:ty => $null_resets:expr),* $(,)?) => {$(
        impl GoDecode for $ty {
            const NULL_RESETS: bool = $null_resets;
            fn decode_into<'de, D: Deserializer<'de>>(place: &mut Self, deserializer: D) -> Result<(), D::Error> {
                *place = <$ty>::deserialize(deserializer)?;
                Ok(())
            }
        }
    )*};
}

go_replaced!(bool => false, String => false, i64 => false, u16 => false, u32 => false, u64 => false, StrSlice => true);

/// A value the policy never looks at (the `{}` of `Volumes` and
/// `ExposedPorts`): skipped when decoding, written as an empty object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ignored;

impl GoDecode for Ignored {
    const NULL_RESETS: bool = false;
    fn decode_into<'de, D: Deserializer<'de>>(
        _: &mut Self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        IgnoredAny::deserialize(deserializer).map(drop)
    }
}

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Ignored)
    }
}

impl serde::Serialize for Ignored {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        serializer.serialize_map(Some(0))?.end()
    }
}

/// A Go pointer (`*T`), or a slice whose `nil` differs from empty: `null`
/// sets it to `None`; any other value is decoded into the existing `T`,
/// allocated first if there is none, exactly as Go decodes into a non-nil
/// pointer (so `{"HostConfig":{"Privileged":true},"HostConfig":{}}` keeps
/// `Privileged`).
impl<T: GoDecode> GoDecode for Option<T> {
    const NULL_RESETS: bool = true;
    fn decode_into<'de, D: Deserializer<'de>>(
        place: &mut Self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        T::decode_into(place.get_or_insert_with(T::default), deserializer)
    }
}

/// Go decodes an array into the existing slice element by element, then
/// truncates it to the array's length.
impl<T: GoDecode> GoDecode for Vec<T> {
    const NULL_RESETS: bool = true;
    fn decode_into<'de, D: Deserializer<'de>>(
        place: &mut Self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        struct Elements<'a, T>(&'a mut Vec<T>);
        impl<'de, T: GoDecode> Visitor<'de> for Elements<'_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                let mut len = 0;
                loop {
                    if len == self.0.len() {
                        self.0.push(T::default());
                    }
                    match seq.next_element_seed(GoSeed(&mut self.0[len]))? {
                        Some(()) => len += 1,
                        None => break,
                    }
                }
                self.0.truncate(len);
                Ok(())
            }
        }
        deserializer.deserialize_seq(Elements(place))
    }
}

/// Go decodes an object into the existing map; each value starts from zero.
impl<V: GoDecode> GoDecode for BTreeMap<String, V> {
    const NULL_RESETS: bool = true;
    fn decode_into<'de, D: Deserializer<'de>>(
        place: &mut Self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        struct Entries<'a, V>(&'a mut BTreeMap<String, V>);
        impl<'de, V: GoDecode> Visitor<'de> for Entries<'_, V> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(key) = map.next_key::<String>()? {
                    let mut value = V::default();
                    map.next_value_seed(GoSeed(&mut value))?;
                    self.0.insert(key, value);
                }
                Ok(())
            }
        }
        deserializer.deserialize_map(Entries(place))
    }
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

impl serde::Serialize for StrSlice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
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
                // Go decodes a `null` element into a string as "".
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Option<String>>()? {
                    items.push(item.unwrap_or_default());
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

    crate::go_struct! {
        /// Test double of a nesting Docker type.
        pub struct Outer {
            "Inner" => pub inner: Sample,
            "Items" => pub items: Vec<Sample>,
            "Map" => pub map: BTreeMap<String, String>,
        }
    }

    #[test]
    fn repeated_objects_merge_like_go() {
        let outer: Outer =
            serde_json::from_str(r#"{"Inner":{"Privileged":true},"inner":{"Mask":null}}"#).unwrap();
        assert!(
            outer.inner.privileged,
            "the second object must not erase the first"
        );
        let outer: Outer =
            serde_json::from_str(r#"{"Map":{"a":"1"},"Map":{"b":"2"},"Map":{"c":null}}"#).unwrap();
        assert_eq!(outer.map.len(), 3);
        assert_eq!(outer.map["c"], "");
    }

    #[test]
    fn repeated_arrays_decode_into_existing_elements_like_go() {
        let outer: Outer = serde_json::from_str(
            r#"{"Items":[{"Privileged":true},{"Mask":["x"]}],"Items":[{"Mask":["y"]}]}"#,
        )
        .unwrap();
        assert_eq!(outer.items.len(), 1);
        assert!(
            outer.items[0].privileged,
            "element 0 keeps what the first array set"
        );
        assert_eq!(outer.items[0].mask, vec!["y".to_owned()]);
    }

    #[test]
    fn null_resets_slices_and_maps_but_not_structs() {
        let outer: Outer = serde_json::from_str(
            r#"{"Items":[{}],"Items":null,"Inner":{"Privileged":true},"Inner":null}"#,
        )
        .unwrap();
        assert!(outer.items.is_empty());
        assert!(outer.inner.privileged);
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
