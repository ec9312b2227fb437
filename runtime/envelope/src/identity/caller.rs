//! The caller of one call, established from `User`, `UserAuthNMethod` and
//! the client certificates Docker forwarded, or refused.
//!
//! dockerd sets all three from one TLS connection: the first certificate
//! is the one Go verified (the others are the chain the client chose to
//! send), `User` is its common name as Go reads it, `UserAuthNMethod` is
//! `TLS`. A certificate without a common name makes `User` empty while the
//! caller is authenticated; a subject with two common names makes `User`
//! the last while other readers take the first. Either would let a policy
//! that reads `user` and one that reads the certificate judge different
//! callers, or treat an authenticated caller as the anonymous local
//! socket, so the host refuses the call instead.

use std::fmt;

use super::PeerCertificate;
use super::certificate::{Value, decode};

/// Who called, as the host established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user Docker reports; `None` only for a caller Docker did not
    /// authenticate (no user, no method, no certificate).
    pub user: Option<String>,
    /// How Docker authenticated the caller (`TLS`).
    pub authn_method: Option<String>,
    /// The certificate that authenticated the caller, as forwarded (base64
    /// of PEM) and decoded; its common name is `user`.
    pub certificate: Option<(String, PeerCertificate)>,
}

/// Why the host cannot say who called. Each is refused with Docker's `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// Docker reports an authentication method but no user and no certificate.
    Unnamed {
        /// The method Docker reported.
        method: String,
    },
    /// Client certificates were forwarded without the `TLS` method.
    CertificateWithoutTls {
        /// The method Docker reported, if any.
        method: Option<String>,
    },
    /// The verified certificate cannot be decoded.
    Undecodable(String),
    /// The certificate's subject has no common name (or an empty one):
    /// Docker reports no user for a caller it authenticated.
    NoCommonName,
    /// The certificate's subject has several common names.
    SeveralCommonNames(Vec<String>),
    /// The common name, or an O or OU, is not one text for every Go
    /// version (a T.61 string beyond ASCII, a BMPString with surrogates,
    /// a value that is not a string).
    AmbiguousName(String),
    /// Docker reports another user than the certificate names.
    Disagrees {
        /// `User` as Docker forwarded it.
        reported: String,
        /// The certificate's common name as Go reads it.
        certificate: String,
    },
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Unnamed { method } => write!(
                f,
                "Docker authenticated the caller ({method}) but reports no user and no certificate"
            ),
            IdentityError::CertificateWithoutTls { method: None } => f.write_str(
                "Docker forwarded a client certificate but no authentication method",
            ),
            IdentityError::CertificateWithoutTls { method: Some(m) } => write!(
                f,
                "Docker forwarded a client certificate with authentication method {m:?}, not TLS"
            ),
            IdentityError::Undecodable(why) => {
                write!(f, "the TLS client certificate cannot be read: {why}")
            }
            IdentityError::NoCommonName => f.write_str(
                "the TLS client certificate has no common name, so Docker reports no user for a caller it authenticated",
            ),
            IdentityError::SeveralCommonNames(names) => write!(
                f,
                "the TLS client certificate has {} common names ({}): Docker takes the last as the user, other readers the first",
                names.len(),
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            IdentityError::AmbiguousName(why) => write!(
                f,
                "the TLS client certificate's subject is not read alike by every Go version: {why}"
            ),
            IdentityError::Disagrees {
                reported,
                certificate,
            } => write!(
                f,
                "Docker reports user {reported:?} but the TLS client certificate names {certificate:?}"
            ),
        }
    }
}

impl std::error::Error for IdentityError {}

/// Establishes who called from what Docker forwarded. A caller is
/// anonymous only when Docker sent no user, no method and no certificate;
/// with a certificate, its common name read as Go reads it must be one
/// non-empty text equal to `User`. Without a certificate `User` is
/// Docker's word (dockerd always forwards the certificate it verified).
pub fn caller(
    user: Option<String>,
    authn_method: Option<String>,
    certificates: Option<Vec<String>>,
) -> Result<Caller, IdentityError> {
    let user = user.filter(|u| !u.is_empty());
    let authn_method = authn_method.filter(|m| !m.is_empty());
    let Some(leaf) = certificates.and_then(|certs| certs.into_iter().next()) else {
        if let (None, Some(method)) = (&user, &authn_method) {
            return Err(IdentityError::Unnamed {
                method: method.clone(),
            });
        }
        return Ok(Caller {
            user,
            authn_method,
            certificate: None,
        });
    };
    if authn_method.as_deref() != Some("TLS") {
        return Err(IdentityError::CertificateWithoutTls {
            method: authn_method,
        });
    }
    let decoded = decode(&leaf).map_err(IdentityError::Undecodable)?;
    let name = match decoded.common_names.as_slice() {
        [] => return Err(IdentityError::NoCommonName),
        [Value::Text(name)] => name.clone(),
        [Value::Ambiguous { shown, why }] => {
            return Err(IdentityError::AmbiguousName(format!("CN {shown:?}: {why}")));
        }
        [Value::NotText] => {
            return Err(IdentityError::AmbiguousName(
                "a CN that is not a string, which newer Go skips and older Go refuses".to_owned(),
            ));
        }
        several => {
            return Err(IdentityError::SeveralCommonNames(
                several
                    .iter()
                    .map(|v| match v {
                        Value::Text(s) | Value::Ambiguous { shown: s, .. } => s.clone(),
                        Value::NotText => "(not a string)".to_owned(),
                    })
                    .collect(),
            ));
        }
    };
    if let Some(why) = decoded.ambiguous {
        return Err(IdentityError::AmbiguousName(why));
    }
    if name.is_empty() {
        return Err(IdentityError::NoCommonName);
    }
    if user.as_deref() != Some(name.as_str()) {
        return Err(IdentityError::Disagrees {
            reported: user.unwrap_or_default(),
            certificate: name,
        });
    }
    Ok(Caller {
        user,
        authn_method,
        certificate: Some((leaf, decoded.view)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::test_certificates::{attribute, cn, name, ou, rdn, tlv, with_subject};

    fn tls(user: &str, subject: &[u8]) -> Result<Caller, IdentityError> {
        caller(
            Some(user.to_owned()),
            Some("TLS".to_owned()),
            Some(vec![with_subject(subject)]),
        )
    }

    #[test]
    fn a_caller_without_user_method_or_certificate_is_anonymous() {
        let anonymous = caller(None, None, None).unwrap();
        assert_eq!(anonymous.user, None);
        let empty = caller(Some(String::new()), Some(String::new()), Some(vec![])).unwrap();
        assert_eq!(empty, anonymous);
    }

    #[test]
    fn a_certificate_naming_the_reported_user_is_that_user() {
        let subject = name(&[rdn(&[cn("alice")]), rdn(&[ou("ops")])]);
        let alice = tls("alice", &subject).unwrap();
        assert_eq!(alice.user.as_deref(), Some("alice"));
        let (_, cert) = alice.certificate.unwrap();
        assert_eq!(cert.common_name.as_deref(), Some("alice"));
        assert_eq!(cert.organizational_units, ["ops"]);
    }

    #[test]
    fn an_authenticated_caller_without_a_common_name_is_refused() {
        // What dockerd forwards for a certificate without a CN: no User.
        let subject = name(&[rdn(&[ou("ops")])]);
        let refused = caller(
            None,
            Some("TLS".to_owned()),
            Some(vec![with_subject(&subject)]),
        );
        assert_eq!(refused, Err(IdentityError::NoCommonName));
        let empty = name(&[rdn(&[cn("")])]);
        assert_eq!(tls("", &empty), Err(IdentityError::NoCommonName));
        assert_eq!(tls("", &name(&[])), Err(IdentityError::NoCommonName));
        let unnamed = caller(None, Some("TLS".to_owned()), None);
        assert!(matches!(unnamed, Err(IdentityError::Unnamed { .. })));
    }

    #[test]
    fn several_common_names_are_refused_wherever_they_are() {
        let separate = name(&[rdn(&[cn("alice")]), rdn(&[cn("root")])]);
        assert_eq!(
            tls("root", &separate),
            Err(IdentityError::SeveralCommonNames(vec![
                "alice".into(),
                "root".into()
            ]))
        );
        let one_rdn = name(&[rdn(&[cn("alice"), cn("root")])]);
        assert!(matches!(
            tls("root", &one_rdn),
            Err(IdentityError::SeveralCommonNames(_))
        ));
        let empty_last = name(&[rdn(&[cn("alice")]), rdn(&[cn("")])]);
        assert!(matches!(
            tls("", &empty_last),
            Err(IdentityError::SeveralCommonNames(_))
        ));
    }

    #[test]
    fn an_empty_rdn_hides_nothing_after_it() {
        // Go reads on past an empty RDN; x509-parser's name stops there.
        let subject = name(&[rdn(&[]), rdn(&[cn("alice")]), rdn(&[ou("ops")])]);
        let alice = tls("alice", &subject).unwrap();
        let (_, cert) = alice.certificate.unwrap();
        assert_eq!(cert.common_name.as_deref(), Some("alice"));
        assert_eq!(cert.organizational_units, ["ops"]);
        let hidden = name(&[rdn(&[cn("alice")]), rdn(&[]), rdn(&[cn("root")])]);
        assert!(matches!(
            tls("root", &hidden),
            Err(IdentityError::SeveralCommonNames(_))
        ));
    }

    #[test]
    fn a_common_name_type_padded_with_0x80_still_counts() {
        let padded = |value: &str| {
            let oid = tlv(0x06, &[0x55, 0x04, 0x80, 0x03]);
            tlv(0x30, &[oid, tlv(0x0c, value.as_bytes())].concat())
        };
        let subject = name(&[rdn(&[padded("root")]), rdn(&[cn("alice")])]);
        assert!(matches!(
            tls("alice", &subject),
            Err(IdentityError::SeveralCommonNames(_))
        ));
    }

    #[test]
    fn a_common_name_in_a_multi_valued_rdn_counts() {
        let subject = name(&[rdn(&[ou("ops"), cn("carol")])]);
        assert_eq!(
            tls("carol", &subject).unwrap().user.as_deref(),
            Some("carol")
        );
    }

    #[test]
    fn names_go_versions_read_differently_are_refused() {
        let t61 = name(&[rdn(&[attribute(3, 0x14, b"\xe9ve")])]);
        assert!(matches!(
            tls("\u{fffd}ve", &t61),
            Err(IdentityError::AmbiguousName(_))
        ));
        let integer = name(&[rdn(&[attribute(3, 0x02, b"\x05")])]);
        assert!(matches!(
            tls("", &integer),
            Err(IdentityError::AmbiguousName(_))
        ));
        let ou_t61 = name(&[rdn(&[cn("eve")]), rdn(&[attribute(11, 0x14, b"\xe9")])]);
        assert!(matches!(
            tls("eve", &ou_t61),
            Err(IdentityError::AmbiguousName(_))
        ));
        let bmp = name(&[rdn(&[attribute(3, 0x1e, b"\0b\0o\0b")])]);
        assert_eq!(tls("bob", &bmp).unwrap().user.as_deref(), Some("bob"));
    }

    #[test]
    fn a_reported_user_the_certificate_does_not_name_is_refused() {
        let subject = name(&[rdn(&[cn("alice")])]);
        assert_eq!(
            tls("root", &subject),
            Err(IdentityError::Disagrees {
                reported: "root".into(),
                certificate: "alice".into()
            })
        );
        let missing = caller(None, Some("TLS".into()), Some(vec![with_subject(&subject)]));
        assert!(matches!(missing, Err(IdentityError::Disagrees { .. })));
    }

    #[test]
    fn certificates_need_the_tls_method() {
        let cert = with_subject(&name(&[rdn(&[cn("alice")])]));
        let none = caller(Some("alice".into()), None, Some(vec![cert.clone()]));
        assert_eq!(
            none,
            Err(IdentityError::CertificateWithoutTls { method: None })
        );
        let other = caller(
            Some("alice".into()),
            Some("Kerberos".into()),
            Some(vec![cert]),
        );
        assert!(matches!(
            other,
            Err(IdentityError::CertificateWithoutTls { method: Some(_) })
        ));
        assert!(matches!(
            caller(
                Some("alice".into()),
                Some("TLS".into()),
                Some(vec!["bm90".into()])
            ),
            Err(IdentityError::Undecodable(_))
        ));
    }

    #[test]
    fn only_the_verified_first_certificate_is_identity() {
        let alice = with_subject(&name(&[rdn(&[cn("alice")])]));
        let root = with_subject(&name(&[rdn(&[cn("root")])]));
        let chain = caller(
            Some("alice".into()),
            Some("TLS".into()),
            Some(vec![alice, root]),
        )
        .unwrap();
        assert_eq!(chain.user.as_deref(), Some("alice"));
        assert_eq!(
            chain.certificate.unwrap().1.common_name.as_deref(),
            Some("alice")
        );
    }
}
