//! Who is calling, from the TLS client certificate Docker forwards
//! (`RequestPeerCertificates`), decoded by the host.
//!
//! Docker's `User` is the certificate's CN alone; policies that grant by team
//! need the O and OU, and SANs. Headers such as `Authz-User` are chosen by
//! the client and are never identity unless a module's config opts in.

use serde::{Deserialize, Serialize};

/// The subject and names of the client certificate that authenticated the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCertificate {
    /// Subject common name (what Docker reports as `User`).
    pub common_name: Option<String>,
    /// Subject organizations (O).
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Subject organizational units (OU): a natural home for groups.
    #[serde(default)]
    pub organizational_units: Vec<String>,
    /// DNS subject alternative names.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// Email subject alternative names.
    #[serde(default)]
    pub emails: Vec<String>,
    /// URI subject alternative names (SPIFFE IDs, …).
    #[serde(default)]
    pub uris: Vec<String>,
    /// IP address subject alternative names.
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    /// Issuer common name.
    pub issuer_common_name: Option<String>,
}

#[cfg(feature = "host")]
pub use parse::peer_certificate;

#[cfg(feature = "host")]
mod parse {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use x509_parser::extensions::GeneralName;
    use x509_parser::pem::parse_x509_pem;
    use x509_parser::x509::X509Name;

    use super::PeerCertificate;

    /// Decodes one `RequestPeerCertificates` entry (base64 of PEM text).
    pub fn peer_certificate(encoded: &str) -> Result<PeerCertificate, String> {
        let pem_text = BASE64
            .decode(encoded)
            .map_err(|e| format!("not base64: {e}"))?;
        let (_, pem) =
            parse_x509_pem(&pem_text).map_err(|e| format!("not a PEM certificate: {e}"))?;
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let strings = |name: &X509Name<'_>, f: fn(&X509Name<'_>) -> Vec<String>| f(name);
        let mut out = PeerCertificate {
            common_name: cn(cert.subject()),
            organizations: strings(cert.subject(), |n| {
                n.iter_organization()
                    .filter_map(|a| a.as_str().ok().map(str::to_owned))
                    .collect()
            }),
            organizational_units: strings(cert.subject(), |n| {
                n.iter_organizational_unit()
                    .filter_map(|a| a.as_str().ok().map(str::to_owned))
                    .collect()
            }),
            issuer_common_name: cn(cert.issuer()),
            ..PeerCertificate::default()
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => out.dns_names.push((*dns).to_owned()),
                    GeneralName::RFC822Name(email) => out.emails.push((*email).to_owned()),
                    GeneralName::URI(uri) => out.uris.push((*uri).to_owned()),
                    GeneralName::IPAddress(bytes) => out.ip_addresses.push(ip_text(bytes)),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    fn cn(name: &X509Name<'_>) -> Option<String> {
        name.iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_owned)
    }

    fn ip_text(bytes: &[u8]) -> String {
        match bytes.len() {
            4 => {
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()).to_string()
            }
            16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default())
                .to_string(),
            _ => format!("{bytes:02x?}"),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_captured_client_certificate_decodes() {
            let capture: serde_json::Value = serde_json::from_str(include_str!(
                "../../../tests/fixtures/docker-20.10/tls_version_plugin1__02_GET_version.json"
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
    }
}
