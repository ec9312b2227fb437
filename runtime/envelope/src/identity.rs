//! Who is calling, from what Docker forwards: `User`, `UserAuthNMethod`
//! and the client certificates (`RequestPeerCertificates`), decoded by the
//! host and checked against each other.
//!
//! Docker's `User` is the verified certificate's CN as Go reads it; policies
//! that grant by team need the O and OU, and SANs. The host reads the
//! certificate as Go does and refuses a call whose certificate does not name
//! exactly the user Docker reports ([`caller`]), so a policy that reads
//! `user` and one that reads the certificate judge the same caller, and an
//! authenticated caller is never anonymous. Headers such as `Authz-User` are
//! chosen by the client and are never identity unless a module's config
//! opts in.

use serde::{Deserialize, Serialize};

#[cfg(feature = "host")]
mod caller;
#[cfg(feature = "host")]
mod certificate;
#[cfg(feature = "host")]
mod der;
#[cfg(all(test, feature = "host"))]
pub(crate) mod test_certificates;

#[cfg(feature = "host")]
pub use caller::{Caller, IdentityError, caller};
#[cfg(feature = "host")]
pub use certificate::peer_certificate;

/// The subject and names of the client certificate that authenticated the
/// call (the first Docker forwards: the one Go verified), read as Go reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCertificate {
    /// Subject common name as Go's `pkix.Name` has it (the last CN): what
    /// Docker reports as `User`. The host refuses calls whose certificate
    /// has none, several, or one Go versions read differently.
    pub common_name: Option<String>,
    /// Subject organizations (O), in the certificate's order.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Subject organizational units (OU), in the certificate's order: a
    /// natural home for groups.
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
    /// IP address subject alternative names, as Go prints them.
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    /// Issuer common name (the last CN, as for the subject).
    pub issuer_common_name: Option<String>,
}
