//! Claims: the ID token (OIDC Core §2), the JWT access token (RFC 9068 shape), and the
//! user claims each scope releases.

use idgate_core::UnixTime;
use idgate_core::user::User;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scope;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    /// Scope-released user claims (`preferred_username`, `phone_number`, …).
    #[serde(flatten)]
    pub user: Map<String, Value>,
}

/// The `typ` header of access tokens (RFC 9068), so one can never pass for an ID token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user id, or the client id for client-credentials tokens.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub jti: String,
    pub scope: String,
    /// The grant it came from; revoking the grant revokes the token at userinfo.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gid: Option<String>,
}

/// The user claims `scope` releases. `sub` is always the user id.
pub fn user_claims(user: &User, scope_str: &str) -> Map<String, Value> {
    let mut m = Map::new();
    if scope::has(scope_str, "profile") {
        m.insert("preferred_username".into(), user.username.clone().into());
        m.insert(
            "name".into(),
            user.display_name
                .clone()
                .unwrap_or_else(|| user.username.clone())
                .into(),
        );
        if let Some(l) = &user.locale {
            m.insert("locale".into(), l.clone().into());
        }
    }
    if scope::has(scope_str, "phone")
        && let Some(mobile) = &user.mobile
    {
        m.insert("phone_number".into(), mobile.as_str().into());
        m.insert("phone_number_verified".into(), user.mobile_verified.into());
    }
    m
}
