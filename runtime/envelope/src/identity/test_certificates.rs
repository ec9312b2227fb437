//! Certificates with any subject, for unit tests: the repository's test
//! certificate (`tests/fixtures/certs/carol.pem`) with its subject replaced
//! by hand-written DER. The signature no longer matches, which the host
//! never checks (dockerd did, before it forwarded the certificate).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// One DER element: `tag`, definite length, `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The DER elements `content` is made of.
fn elements(mut content: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (header, len) = match content[1] {
            n if n < 0x80 => (2, usize::from(n)),
            n => {
                let count = usize::from(n & 0x7f);
                let len = content[2..2 + count]
                    .iter()
                    .fold(0, |acc, &b| (acc << 8) | usize::from(b));
                (2 + count, len)
            }
        };
        out.push(&content[..header + len]);
        content = &content[header + len..];
    }
    out
}

/// The content of one DER element.
fn content(element: &[u8]) -> &[u8] {
    let skip = if element[1] < 0x80 {
        2
    } else {
        2 + usize::from(element[1] & 0x7f)
    };
    &element[skip..]
}

/// An attribute `2.5.4.<arc>` with a value of universal `tag`.
pub(crate) fn attribute(arc: u8, tag: u8, value: &[u8]) -> Vec<u8> {
    let oid = tlv(0x06, &[0x55, 0x04, arc]);
    tlv(0x30, &[oid, tlv(tag, value)].concat())
}

/// A common name as a UTF8String.
pub(crate) fn cn(name: &str) -> Vec<u8> {
    attribute(3, 0x0c, name.as_bytes())
}

/// An organizational unit as a UTF8String.
pub(crate) fn ou(name: &str) -> Vec<u8> {
    attribute(11, 0x0c, name.as_bytes())
}

/// One RDN holding `attributes` (several: a multi-valued RDN).
pub(crate) fn rdn(attributes: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &attributes.concat())
}

/// A name made of `rdns`, in this order.
pub(crate) fn name(rdns: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &rdns.concat())
}

/// The test certificate with `subject` (DER of a Name), as Docker forwards
/// it: the base64 of its PEM text.
pub(crate) fn with_subject(subject: &[u8]) -> String {
    let pem = include_str!("../../../../tests/fixtures/certs/carol.pem");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = BASE64.decode(b64).expect("the test certificate is base64");
    let parts = elements(content(&der));
    let mut tbs: Vec<Vec<u8>> = elements(content(parts[0]))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    // [0] version, serial, signature, issuer, validity, subject, …
    tbs[5] = subject.to_vec();
    let tbs = tlv(0x30, &tbs.concat());
    let cert = tlv(0x30, &[tbs.as_slice(), parts[1], parts[2]].concat());
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        BASE64.encode(cert)
    );
    BASE64.encode(pem)
}
