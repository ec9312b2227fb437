//! Docker's authz wire types, byte-compatible with moby's
//! `pkg/authorization/api.go`.
//!
//! Every request field may be absent (Docker omits what it does not have),
//! so every field is optional; unknown fields are ignored so that newer
//! daemons keep working.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The body of `POST /AuthZPlugin.AuthZReq` and `/AuthZPlugin.AuthZRes`.
///
/// Field names are Docker's on-the-wire spelling (`RequestUri`, not the
/// `RequestURI` of old docs). Bodies are standard base64, as Go encodes `[]byte`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct AuthzRequest {
    /// Authenticated user (TLS client certificate CN), if any.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How the user was authenticated (`TLS`), if any.
    #[serde(
        rename = "UserAuthNMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_authn_method: Option<String>,
    /// HTTP method of the Docker API call.
    #[serde(
        rename = "RequestMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_method: Option<String>,
    /// Raw request-target: percent-encoding and query kept, `/vX.Y` optional.
    #[serde(
        rename = "RequestUri",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_uri: Option<String>,
    /// Base64 request body; Docker forwards only JSON bodies under 1 MiB.
    #[serde(
        rename = "RequestBody",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_body: Option<String>,
    /// Request headers, one value per name (Docker keeps the last).
    #[serde(
        rename = "RequestHeaders",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_headers: Option<BTreeMap<String, String>>,
    /// Client certificates, each the base64 of its PEM text.
    #[serde(
        rename = "RequestPeerCertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_peer_certificates: Option<Vec<String>>,
    /// Response status (AuthZRes only; absent for streamed or failed calls).
    #[serde(
        rename = "ResponseStatusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_status_code: Option<i64>,
    /// Base64 response body (AuthZRes only).
    #[serde(
        rename = "ResponseBody",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_body: Option<String>,
    /// Response headers (AuthZRes only).
    #[serde(
        rename = "ResponseHeaders",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_headers: Option<BTreeMap<String, String>>,
}

impl AuthzRequest {
    /// Reads an AuthZReq/AuthZRes body from plain JSON, or from a capture
    /// file holding `{"req": {"body": …}, "res": {"body": …}}` (as in
    /// tests/fixtures), taking the `res` phase when `response` is set.
    pub fn from_json_or_capture(json: &[u8], response: bool) -> Result<AuthzRequest, String> {
        let doc: serde_json::Value = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let key = if response { "res" } else { "req" };
        let body = match doc.get(key) {
            Some(capture) => capture
                .get("body")
                .cloned()
                .ok_or(format!("capture has no {key}.body"))?,
            None if doc.get("req").is_some() => return Err(format!("capture has no {key} phase")),
            None => doc,
        };
        serde_json::from_value(body).map_err(|e| e.to_string())
    }
}

/// The plugin's answer to `AuthZReq`/`AuthZRes`.
///
/// Sent with HTTP 200 and an explicit `Allow` for a decision; sent with a
/// non-200 status and `Err` when the plugin could not decide (Docker then
/// refuses the call with `plugin NAME failed with error: Err`). `Err` with a
/// 200 is ignored by Docker, so [`AuthzAnswer::error`] never sets `Allow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthzAnswer {
    /// Whether the call may proceed.
    #[serde(rename = "Allow")]
    pub allow: bool,
    /// Why it was denied; shown to the Docker client.
    #[serde(rename = "Msg", default, skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// Why the plugin failed; only meaningful with a non-200 status.
    #[serde(rename = "Err", default, skip_serializing_if = "String::is_empty")]
    pub err: String,
}

impl AuthzAnswer {
    /// The call may proceed.
    pub fn allow() -> Self {
        Self {
            allow: true,
            msg: String::new(),
            err: String::new(),
        }
    }

    /// The call is refused with `msg`.
    pub fn deny(msg: impl Into<String>) -> Self {
        Self {
            allow: false,
            msg: msg.into(),
            err: String::new(),
        }
    }

    /// The plugin could not decide; to be sent with a non-200 status.
    pub fn error(err: impl Into<String>) -> Self {
        Self {
            allow: false,
            msg: String::new(),
            err: err.into(),
        }
    }
}

/// The answer to `POST /Plugin.Activate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateResponse {
    /// Plugin interfaces implemented: always `["authz"]`.
    #[serde(rename = "Implements")]
    pub implements: Vec<String>,
}

impl ActivateResponse {
    /// The answer of an authorization plugin.
    pub fn authz() -> Self {
        Self {
            implements: vec!["authz".to_owned()],
        }
    }
}
