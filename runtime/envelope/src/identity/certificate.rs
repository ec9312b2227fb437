//! One `RequestPeerCertificates` entry read the way the daemon's Go reads
//! it, since Docker's `User` is Go's `Subject.CommonName` of it.
//!
//! Go's `pkix.Name.FillFromRDNSequence` walks the subject in the order it
//! is encoded (every RDN, every attribute of a multi-valued RDN) and keeps
//! the LAST common name, and every O and OU. Which values are strings has
//! changed across the Go versions that built supported daemons: Go 1.19
//! (dockerd 20.10) refuses a certificate holding a non-string value and
//! reads a T.61 string as raw bytes; newer Go skips non-string values and
//! reads T.61 as Latin-1. Values read differently by those versions are
//! reported as [`Value::Ambiguous`] or [`Value::NotText`] so that the
//! caller check refuses them, rather than choosing one reading.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use x509_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;
use x509_parser::x509::X509Name;

use super::PeerCertificate;

/// `2.5.4.3`, `2.5.4.10`, `2.5.4.11`: the attributes Go keeps by name.
const COMMON_NAME: [u64; 4] = [2, 5, 4, 3];
const ORGANIZATION: [u64; 4] = [2, 5, 4, 10];
const ORGANIZATIONAL_UNIT: [u64; 4] = [2, 5, 4, 11];

/// One attribute value of a name, as the Go versions behind the supported
/// daemons read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string every one of them reads as this text.
    Text(String),
    /// A string they read differently or lossily (shown as newer Go reads it).
    Ambiguous {
        /// The text as newer Go reads it.
        shown: String,
        /// Why it is not one text.
        why: &'static str,
    },
    /// Not a string: newer Go skips it, Go 1.19 refuses the certificate.
    NotText,
}

impl Value {
    /// The value as text, if it is a string (ambiguous ones as newer Go reads them).
    fn shown(&self) -> Option<&str> {
        match self {
            Value::Text(text) | Value::Ambiguous { shown: text, .. } => Some(text),
            Value::NotText => None,
        }
    }
}

/// A certificate decoded, with what the identity check needs beyond the view.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    /// What policies see.
    pub(crate) view: PeerCertificate,
    /// Every common name attribute of the subject, in encoded order.
    pub(crate) common_names: Vec<Value>,
    /// An O or OU that Go versions read differently, and why.
    pub(crate) ambiguous: Option<String>,
}

/// Decodes one `RequestPeerCertificates` entry (base64 of PEM text).
pub fn peer_certificate(encoded: &str) -> Result<PeerCertificate, String> {
    decode(encoded).map(|decoded| decoded.view)
}

/// Decodes one `RequestPeerCertificates` entry, keeping every common name.
pub(crate) fn decode(encoded: &str) -> Result<Decoded, String> {
    let pem_text = BASE64
        .decode(encoded)
        .map_err(|e| format!("not base64: {e}"))?;
    let (_, pem) = parse_x509_pem(&pem_text).map_err(|e| format!("not a PEM certificate: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;

    let subject = Name::read(cert.subject()).map_err(|e| format!("subject: {e}"))?;
    let issuer = Name::read(cert.issuer()).map_err(|e| format!("issuer: {e}"))?;
    let mut view = PeerCertificate {
        common_name: subject.common_name(),
        organizations: shown(&subject.organizations),
        organizational_units: shown(&subject.organizational_units),
        issuer_common_name: issuer.common_name(),
        ..PeerCertificate::default()
    };
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("subject alternative names: {e}"))?;
    if let Some(san) = san {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => view.dns_names.push((*dns).to_owned()),
                GeneralName::RFC822Name(email) => view.emails.push((*email).to_owned()),
                GeneralName::URI(uri) => view.uris.push((*uri).to_owned()),
                GeneralName::IPAddress(bytes) => view.ip_addresses.push(ip_text(bytes)?),
                _ => {}
            }
        }
    }
    let ambiguous = subject
        .organizations
        .iter()
        .map(|v| ("O", v))
        .chain(subject.organizational_units.iter().map(|v| ("OU", v)))
        .find_map(|(attribute, value)| match value {
            Value::Ambiguous { shown, why } => Some(format!("{attribute} {shown:?}: {why}")),
            _ => None,
        });
    Ok(Decoded {
        view,
        common_names: subject.common_names,
        ambiguous,
    })
}

/// The attributes of a name Go keeps by name, in encoded order.
#[derive(Debug, Default)]
struct Name {
    common_names: Vec<Value>,
    organizations: Vec<Value>,
    organizational_units: Vec<Value>,
}

impl Name {
    fn read(name: &X509Name<'_>) -> Result<Name, String> {
        let mut out = Name::default();
        for attribute in name.iter_attributes() {
            let value = go_value(attribute.attr_value())?;
            let Some(arcs) = attribute.attr_type().iter() else {
                continue;
            };
            let arcs: Vec<u64> = arcs.collect();
            let list = match arcs.as_slice() {
                a if a == COMMON_NAME => &mut out.common_names,
                a if a == ORGANIZATION => &mut out.organizations,
                a if a == ORGANIZATIONAL_UNIT => &mut out.organizational_units,
                _ => continue,
            };
            list.push(value);
        }
        Ok(out)
    }

    /// Go's `CommonName`: the last string common name.
    fn common_name(&self) -> Option<String> {
        self.common_names
            .iter()
            .rev()
            .find_map(Value::shown)
            .map(str::to_owned)
    }
}

/// The string values of a list, as Go's `pkix.Name` appends them.
fn shown(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(Value::shown)
        .map(str::to_owned)
        .collect()
}

/// One attribute value as Go's `parseASN1String` reads it. A string that
/// breaks its type's rules is an error: every Go version refuses such a
/// certificate, so Docker never forwards one.
fn go_value(value: &Any<'_>) -> Result<Value, String> {
    if value.class() != Class::Universal || value.header.is_constructed() {
        return Ok(Value::NotText);
    }
    let bytes = value.data;
    let ascii = |what: &str, ok: fn(u8) -> bool| {
        if bytes.iter().all(|&b| ok(b)) {
            // Every byte passed an ASCII test, so this is UTF-8.
            Ok(Value::Text(String::from_utf8_lossy(bytes).into_owned()))
        } else {
            Err(format!("invalid {what}"))
        }
    };
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(bytes)
            .map(|text| Value::Text(text.to_owned()))
            .map_err(|_| "invalid UTF-8 string".to_owned()),
        Tag::PrintableString => ascii("PrintableString", is_printable),
        Tag::Ia5String => ascii("IA5String", |b| b.is_ascii()),
        Tag::NumericString => ascii("NumericString", |b| b.is_ascii_digit() || b == b' '),
        Tag::T61String if bytes.is_ascii() => ascii("T61String", |b| b.is_ascii()),
        Tag::T61String => Ok(Value::Ambiguous {
            shown: bytes.iter().map(|&b| char::from(b)).collect(),
            why: "a T.61 string beyond ASCII, which Go 1.19 reads as raw bytes and newer Go as Latin-1",
        }),
        Tag::BmpString => bmp_string(bytes),
        _ => Ok(Value::NotText),
    }
}

/// Go's `isPrintable`: PrintableString plus `*` and `&`, which Go accepts.
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b)
}

/// A BMPString (UCS-2, big-endian), as Go reads it: a trailing NUL
/// dropped; surrogates and noncharacters, which newer Go refuses and
/// older Go decoded to U+FFFD, make it ambiguous.
fn bmp_string(bytes: &[u8]) -> Result<Value, String> {
    if bytes.len() % 2 != 0 {
        return Err("invalid BMPString".to_owned());
    }
    let bytes = bytes.strip_suffix(&[0, 0]).unwrap_or(bytes);
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let odd = |unit: &u16| matches!(unit, 0xd800..=0xdfff | 0xfdd0..=0xfdef | 0xfffe | 0xffff);
    let shown = char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Ok(if units.iter().any(odd) {
        Value::Ambiguous {
            shown,
            why: "a BMPString with surrogates or noncharacters, which Go versions read differently",
        }
    } else {
        Value::Text(shown)
    })
}

/// An IP address subject alternative name as Go's `net.IP.String` prints it
/// (an IPv4-mapped IPv6 address as IPv4). Go refuses other lengths.
fn ip_text(bytes: &[u8]) -> Result<String, String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Ok(std::net::Ipv4Addr::from(v4).to_string());
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        let v6 = std::net::Ipv6Addr::from(v6);
        return Ok(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        });
    }
    Err(format!(
        "an IP address subject alternative name of {} bytes",
        bytes.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(tag: Tag, data: &[u8]) -> Any<'_> {
        Any::from_tag_and_data(tag, data)
    }

    #[test]
    fn the_captured_client_certificate_decodes() {
        let capture: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../tests/fixtures/docker-20.10/tls_version_plugin1__02_GET_version.json"
        ))
        .unwrap();
        let encoded = capture["req"]["body"]["RequestPeerCertificates"][0]
            .as_str()
            .unwrap();
        let cert = peer_certificate(encoded).unwrap();
        assert_eq!(cert.common_name.as_deref(), Some("alice"));
        assert_eq!(cert.organizations, vec!["dev-team".to_owned()]);
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_identity() {
        assert!(peer_certificate("bm90IGEgY2VydA==").is_err());
        assert!(peer_certificate("***").is_err());
    }

    #[test]
    fn strings_read_as_go_reads_them() {
        let text = |s: &str| Ok(Value::Text(s.to_owned()));
        assert_eq!(
            go_value(&any(Tag::Utf8String, "álice".as_bytes())),
            text("álice")
        );
        assert_eq!(
            go_value(&any(Tag::PrintableString, b"a*b&c")),
            text("a*b&c")
        );
        assert_eq!(go_value(&any(Tag::Ia5String, b"x@y")), text("x@y"));
        assert_eq!(go_value(&any(Tag::NumericString, b"12 3")), text("12 3"));
        assert_eq!(go_value(&any(Tag::T61String, b"bob")), text("bob"));
        // "bob" and "bob" with Go's dropped terminator.
        assert_eq!(go_value(&any(Tag::BmpString, b"\0b\0o\0b")), text("bob"));
        assert_eq!(
            go_value(&any(Tag::BmpString, b"\0b\0o\0b\0\0")),
            text("bob")
        );
    }

    #[test]
    fn strings_that_break_their_type_are_errors_as_in_go() {
        assert!(go_value(&any(Tag::Utf8String, b"\xff")).is_err());
        assert!(go_value(&any(Tag::PrintableString, b"a@b")).is_err());
        assert!(go_value(&any(Tag::Ia5String, b"\xe9")).is_err());
        assert!(go_value(&any(Tag::NumericString, b"12a")).is_err());
        assert!(go_value(&any(Tag::BmpString, b"\0b\0")).is_err());
    }

    #[test]
    fn strings_go_versions_read_differently_are_ambiguous() {
        let latin1 = go_value(&any(Tag::T61String, b"\xe9ve")).unwrap();
        assert!(matches!(latin1, Value::Ambiguous { ref shown, .. } if shown == "éve"));
        let surrogate = go_value(&any(Tag::BmpString, b"\xd8\x00")).unwrap();
        assert!(
            matches!(surrogate, Value::Ambiguous { .. }),
            "{surrogate:?}"
        );
        let nonchar = go_value(&any(Tag::BmpString, b"\xff\xfe")).unwrap();
        assert!(matches!(nonchar, Value::Ambiguous { .. }), "{nonchar:?}");
    }

    #[test]
    fn values_that_are_not_strings_are_not_text() {
        assert_eq!(go_value(&any(Tag::Integer, b"\x05")), Ok(Value::NotText));
        assert_eq!(
            go_value(&any(Tag::UniversalString, b"\0\0\0a")),
            Ok(Value::NotText)
        );
        let tagged = any(Tag::Utf8String, b"root").with_class(Class::ContextSpecific);
        assert_eq!(go_value(&tagged), Ok(Value::NotText));
    }

    #[test]
    fn ip_addresses_print_as_go_prints_them() {
        assert_eq!(ip_text(&[10, 0, 0, 7]).unwrap(), "10.0.0.7");
        let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7];
        assert_eq!(ip_text(&mapped).unwrap(), "10.0.0.7");
        let mut v6 = [0; 16];
        v6[15] = 1;
        assert_eq!(ip_text(&v6).unwrap(), "::1");
        assert!(ip_text(&[1, 2, 3]).is_err());
    }
}
