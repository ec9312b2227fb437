//! Client certificates with any subject, signed by a test CA: `openssl`
//! makes the CA, each key and a certificate with a placeholder subject;
//! the subject is then replaced by hand-written DER (what `openssl -subj`
//! cannot write: empty values, T.61 and BMP strings, values that are not
//! strings, one RDN holding two CNs) and the certificate signed again
//! with `openssl dgst`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::dockerd::text;

/// One DER element: `tag`, definite length, `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
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
        let (header, len) = header(content);
        out.push(&content[..header + len]);
        content = &content[header + len..];
    }
    out
}

/// The header length and content length of the element `der` starts with.
fn header(der: &[u8]) -> (usize, usize) {
    match der[1] {
        n if n < 0x80 => (2, usize::from(n)),
        n => {
            let count = usize::from(n & 0x7f);
            let len = der[2..2 + count]
                .iter()
                .fold(0, |acc, &b| (acc << 8) | usize::from(b));
            (2 + count, len)
        }
    }
}

/// The content of one DER element.
fn content(element: &[u8]) -> &[u8] {
    let (header, len) = header(element);
    &element[header..header + len]
}

/// Universal string tags.
pub const PRINTABLE: u8 = 0x13;
pub const T61: u8 = 0x14;
pub const IA5: u8 = 0x16;
pub const NUMERIC: u8 = 0x12;
pub const BMP: u8 = 0x1e;
pub const UNIVERSAL: u8 = 0x1c;
pub const INTEGER: u8 = 0x02;

/// Attribute type arcs under 2.5.4.
pub const CN: u8 = 3;
pub const O: u8 = 10;
pub const OU: u8 = 11;

/// An attribute `2.5.4.<arc>` whose value is `tag` + `value`.
pub fn attr(arc: u8, tag: u8, value: &[u8]) -> Vec<u8> {
    let oid = tlv(0x06, &[0x55, 0x04, arc]);
    tlv(0x30, &[oid, tlv(tag, value)].concat())
}

/// A UTF8String attribute.
pub fn utf8(arc: u8, value: &str) -> Vec<u8> {
    attr(arc, 0x0c, value.as_bytes())
}

/// `text` as a BMPString's bytes (UCS-2, big-endian).
pub fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// One RDN (several attributes: a multi-valued RDN, in this order).
pub fn rdn(attributes: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &attributes.concat())
}

/// A Name of `rdns`, in this order.
pub fn name(rdns: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &rdns.concat())
}

/// A CA and the certificates it signed, in a directory of PEM files.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A new CA (`ca.pem`) and the daemon's certificate for 127.0.0.1 (`server.pem`).
    pub fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::Builder::new()
                .prefix("pid")
                .tempdir()
                .expect("tempdir"),
        };
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Portcullis identity CA",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        pki.issue(
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        pki
    }

    /// A file of this PKI.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// A client certificate `<name>.pem` (key `<name>-key.pem`) whose
    /// subject is the DER `subject`, with `extensions` (openssl's format;
    /// `extendedKeyUsage=clientAuth` is added).
    pub fn client(&self, name: &str, subject: &[u8], extensions: &str) -> PathBuf {
        self.issue(name, &format!("extendedKeyUsage=clientAuth\n{extensions}"));
        let pem = std::fs::read_to_string(self.path(&format!("{name}.pem"))).expect("issued");
        let resigned = self.with_subject(&pem_der(&pem), subject);
        std::fs::write(self.path(&format!("{name}.pem")), to_pem(&resigned)).expect("write");
        self.path(&format!("{name}.pem"))
    }

    /// A self-signed certificate for `subject` that the daemon's CA did
    /// not sign, to send after a client's own; returns its file.
    pub fn stranger(&self, name: &str, subject: &str) -> PathBuf {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            subject,
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}.pem"),
        ]);
        self.path(&format!("{name}.pem"))
    }

    /// Signs a new EC key's certificate (subject `/CN=placeholder`) with the CA.
    fn issue(&self, name: &str, extensions: &str) {
        let (csr, ext) = (format!("{name}.csr"), format!("{name}.ext"));
        std::fs::write(self.path(&ext), extensions).expect("extension file");
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=placeholder",
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &csr,
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &format!("{name}.pem"),
        ]);
    }

    /// `cert` (DER) with its subject replaced and signed again by the CA.
    fn with_subject(&self, cert: &[u8], subject: &[u8]) -> Vec<u8> {
        let parts = elements(content(cert));
        let mut tbs: Vec<Vec<u8>> = elements(content(parts[0]))
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        // [0] version, serial, signature, issuer, validity, subject, …
        tbs[5] = subject.to_vec();
        let tbs = tlv(0x30, &tbs.concat());
        std::fs::write(self.path("tbs.der"), &tbs).expect("tbs");
        self.openssl(&[
            "dgst",
            "-sha256",
            "-sign",
            "ca-key.pem",
            "-out",
            "tbs.sig",
            "tbs.der",
        ]);
        let signature = std::fs::read(self.path("tbs.sig")).expect("signature");
        let bits = tlv(0x03, &[&[0][..], &signature].concat());
        tlv(0x30, &[tbs.as_slice(), parts[1], &bits].concat())
    }

    fn openssl(&self, args: &[&str]) {
        openssl_in(self.dir.path(), args);
    }
}

fn openssl_in(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (is it installed?)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        text(&output.stderr)
    );
}

/// The DER of the first certificate in PEM text.
fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    BASE64.decode(b64).expect("PEM base64")
}

fn to_pem(der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
