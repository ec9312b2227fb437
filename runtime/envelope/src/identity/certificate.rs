//! One `RequestPeerCertificates` entry read the way the daemon's Go reads
//! it, since Docker's `User` is Go's `Subject.CommonName` of it.
//!
//! x509-parser decodes the certificate; its names and subject alternative
//! names are then walked as Go walks them (`der.rs`). Go's
//! `pkix.Name.FillFromRDNSequence` takes every RDN and every attribute of
//! a multi-valued RDN in encoded order and keeps the LAST common name, and
//! every O and OU. What counts as a string has changed across the Go
//! versions behind supported daemons: the Go of dockerd 20.10 and 26.1
//! refuses a certificate holding a value that is not a string and reads a
//! T.61 string as raw bytes; that of 28.5 skips such values and reads T.61
//! as Latin-1. Values read differently are reported as
//! [`Value::Ambiguous`] or [`Value::NotText`] so that the caller check
//! refuses them, rather than choosing one reading.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME;
use x509_parser::pem::parse_x509_pem;

use super::PeerCertificate;
use super::der::{self, Element, OBJECT_IDENTIFIER, SEQUENCE, SET};

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
    /// Not a string: newer Go skips it, older Go refuses the certificate.
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

    let (issuer, subject) = names(cert.tbs_certificate.as_ref())?;
    let subject = Name::read(subject).map_err(|e| format!("subject: {e}"))?;
    let issuer = Name::read(issuer).map_err(|e| format!("issuer: {e}"))?;
    let mut view = PeerCertificate {
        common_name: subject.common_name(),
        organizations: shown(&subject.organizations),
        organizational_units: shown(&subject.organizational_units),
        issuer_common_name: issuer.common_name(),
        ..PeerCertificate::default()
    };
    let mut sans = cert
        .extensions()
        .iter()
        .filter(|ext| ext.oid == OID_X509_EXT_SUBJECT_ALT_NAME);
    if let Some(san) = sans.next() {
        if sans.next().is_some() {
            return Err("two subject alternative name extensions".to_owned());
        }
        read_alternative_names(san.value, &mut view)
            .map_err(|e| format!("subject alternative names: {e}"))?;
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

/// The issuer and subject elements of a DER `TBSCertificate`, whole
/// (x509-parser's own copy of a name ends where it stopped reading it).
fn names(tbs: &[u8]) -> Result<(Element<'_>, Element<'_>), String> {
    let (fields, _) = der::expect(tbs, SEQUENCE)?;
    let mut fields = der::elements(fields)?.into_iter().peekable();
    // [0] version, if present; serial, signature, issuer, validity, subject.
    fields.next_if(|field| field.tag == VERSION);
    let mut fields = fields.skip(2);
    let issuer = fields.next();
    let subject = fields.nth(1);
    issuer
        .zip(subject)
        .ok_or_else(|| "a certificate without issuer or subject".to_owned())
}

/// The `[0] EXPLICIT` version of a `TBSCertificate`.
const VERSION: u8 = 0xa0;

impl Name {
    /// Reads a DER Name as Go's `parseName` and `FillFromRDNSequence` do:
    /// every attribute of every RDN in encoded order (an empty RDN is
    /// none), each value checked as Go checks it.
    fn read(name: Element<'_>) -> Result<Name, String> {
        if name.tag != SEQUENCE {
            return Err("a name that is not a SEQUENCE".to_owned());
        }
        let mut out = Name::default();
        for rdn in der::elements(name.content)? {
            if rdn.tag != SET {
                return Err("an RDN that is not a SET".to_owned());
            }
            for attribute in der::elements(rdn.content)? {
                if attribute.tag != SEQUENCE {
                    return Err("an attribute that is not a SEQUENCE".to_owned());
                }
                // Go reads the type and one value, and nothing after them.
                let (oid, rest) = der::expect(attribute.content, OBJECT_IDENTIFIER)?;
                let (value, _) = der::read(rest)?;
                let value = go_value(value)?;
                let list = match der::oid_arcs(oid)?.as_slice() {
                    a if a == COMMON_NAME => &mut out.common_names,
                    a if a == ORGANIZATION => &mut out.organizations,
                    a if a == ORGANIZATIONAL_UNIT => &mut out.organizational_units,
                    _ => continue,
                };
                list.push(value);
            }
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

/// The subject alternative names Go keeps (`parseSANExtension`): email
/// `[1]`, DNS `[2]`, URI `[6]` (IA5 text) and IP `[7]`; others skipped.
fn read_alternative_names(value: &[u8], view: &mut PeerCertificate) -> Result<(), String> {
    let (names, _) = der::expect(value, SEQUENCE)?;
    for name in der::elements(names)? {
        let text = || {
            if name.content.is_ascii() {
                Ok(String::from_utf8_lossy(name.content).into_owned())
            } else {
                Err("a name that is not IA5 text".to_owned())
            }
        };
        match name.tag ^ 0x80 {
            1 => view.emails.push(text()?),
            2 => view.dns_names.push(text()?),
            6 => view.uris.push(text()?),
            7 => view.ip_addresses.push(ip_text(name.content)?),
            _ => {}
        }
    }
    Ok(())
}

/// The string values of a list, as Go's `pkix.Name` appends them.
fn shown(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(Value::shown)
        .map(str::to_owned)
        .collect()
}

/// One attribute value as Go's `parseASN1String` reads it (tags compared
/// whole: class, constructed bit and number). A string that breaks its
/// type's rules is an error: every Go version refuses such a certificate,
/// so Docker never forwards one.
fn go_value(value: Element<'_>) -> Result<Value, String> {
    let bytes = value.content;
    let ascii = |what: &str, ok: fn(u8) -> bool| {
        if bytes.iter().all(|&b| ok(b)) {
            // Every byte passed an ASCII test, so this is UTF-8.
            Ok(Value::Text(String::from_utf8_lossy(bytes).into_owned()))
        } else {
            Err(format!("invalid {what}"))
        }
    };
    match value.tag {
        UTF8_STRING => std::str::from_utf8(bytes)
            .map(|text| Value::Text(text.to_owned()))
            .map_err(|_| "invalid UTF-8 string".to_owned()),
        PRINTABLE_STRING => ascii("PrintableString", is_printable),
        IA5_STRING => ascii("IA5String", |b| b.is_ascii()),
        NUMERIC_STRING => ascii("NumericString", |b| b.is_ascii_digit() || b == b' '),
        T61_STRING if bytes.is_ascii() => ascii("T61String", |b| b.is_ascii()),
        T61_STRING => Ok(Value::Ambiguous {
            shown: bytes.iter().map(|&b| char::from(b)).collect(),
            why: "a T.61 string beyond ASCII, which dockerd 20.10 and 26.1 report as raw bytes and 28.5 as Latin-1",
        }),
        BMP_STRING => bmp_string(bytes),
        _ => Ok(Value::NotText),
    }
}

/// The string types of Go's `parseASN1String`, as whole tag bytes.
const UTF8_STRING: u8 = 0x0c;
const NUMERIC_STRING: u8 = 0x12;
const PRINTABLE_STRING: u8 = 0x13;
const T61_STRING: u8 = 0x14;
const IA5_STRING: u8 = 0x16;
const BMP_STRING: u8 = 0x1e;

/// Go's `isPrintable`: PrintableString plus `*` and `&`, which Go accepts.
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b)
}

/// A BMPString (UCS-2, big-endian), as Go reads it: a trailing NUL
/// dropped; surrogates and noncharacters, which newer Go refuses and
/// older Go decoded to U+FFFD, make it ambiguous.
fn bmp_string(bytes: &[u8]) -> Result<Value, String> {
    if !bytes.len().is_multiple_of(2) {
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

    fn any(tag: u8, content: &[u8]) -> Element<'_> {
        Element { tag, content }
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
            go_value(any(UTF8_STRING, "álice".as_bytes())),
            text("álice")
        );
        assert_eq!(go_value(any(PRINTABLE_STRING, b"a*b&c")), text("a*b&c"));
        assert_eq!(go_value(any(IA5_STRING, b"x@y")), text("x@y"));
        assert_eq!(go_value(any(NUMERIC_STRING, b"12 3")), text("12 3"));
        assert_eq!(go_value(any(T61_STRING, b"bob")), text("bob"));
        // "bob" and "bob" with Go's dropped terminator.
        assert_eq!(go_value(any(BMP_STRING, b"\0b\0o\0b")), text("bob"));
        assert_eq!(go_value(any(BMP_STRING, b"\0b\0o\0b\0\0")), text("bob"));
    }

    #[test]
    fn strings_that_break_their_type_are_errors_as_in_go() {
        assert!(go_value(any(UTF8_STRING, b"\xff")).is_err());
        assert!(go_value(any(PRINTABLE_STRING, b"a@b")).is_err());
        assert!(go_value(any(IA5_STRING, b"\xe9")).is_err());
        assert!(go_value(any(NUMERIC_STRING, b"12a")).is_err());
        assert!(go_value(any(BMP_STRING, b"\0b\0")).is_err());
    }

    #[test]
    fn strings_go_versions_read_differently_are_ambiguous() {
        let latin1 = go_value(any(T61_STRING, b"\xe9ve")).unwrap();
        assert!(matches!(latin1, Value::Ambiguous { ref shown, .. } if shown == "éve"));
        let surrogate = go_value(any(BMP_STRING, b"\xd8\x00")).unwrap();
        assert!(
            matches!(surrogate, Value::Ambiguous { .. }),
            "{surrogate:?}"
        );
        let nonchar = go_value(any(BMP_STRING, b"\xff\xfe")).unwrap();
        assert!(matches!(nonchar, Value::Ambiguous { .. }), "{nonchar:?}");
    }

    #[test]
    fn values_that_are_not_strings_are_not_text() {
        assert_eq!(go_value(any(0x02, b"\x05")), Ok(Value::NotText));
        assert_eq!(go_value(any(0x1c, b"\0\0\0a")), Ok(Value::NotText));
        // A UTF8String tagged [12] or constructed is another type to Go.
        assert_eq!(go_value(any(0x8c, b"root")), Ok(Value::NotText));
        assert_eq!(go_value(any(0x2c, b"root")), Ok(Value::NotText));
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
