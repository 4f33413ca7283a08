//! Token endpoint requests (RFC 6749 §3.2, §4.1.3, §4.4, §6): how the client
//! authenticated, which grant it presents, and the response shape.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::error::OAuthError;

/// How a client presented itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic` or `client_secret_post`.
    Secret { client_id: String, secret: String },
    /// A public client: only its id (PKCE proves the rest).
    Public { client_id: String },
}

impl ClientAuth {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Secret { client_id, .. } | Self::Public { client_id } => client_id,
        }
    }
}

fn form<'a>(f: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    f.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

/// Reads client authentication from the `Authorization` header and the form. Using two
/// methods at once is an error (RFC 6749 §2.3).
pub fn client_auth(
    authorization: Option<&str>,
    f: &HashMap<String, String>,
) -> Result<ClientAuth, OAuthError> {
    if let Some(h) = authorization {
        let Some(encoded) = h.strip_prefix("Basic ") else {
            return Err(OAuthError::invalid_client(
                "only HTTP Basic client authentication is supported",
            ));
        };
        if form(f, "client_secret").is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
        let id = decode_component(id);
        if form(f, "client_id").is_some_and(|fid| fid != id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the Basic credentials",
            ));
        }
        return Ok(ClientAuth::Secret {
            client_id: id,
            secret: decode_component(secret),
        });
    }
    let client_id = form(f, "client_id")
        .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
        .to_string();
    Ok(match form(f, "client_secret") {
        Some(secret) => ClientAuth::Secret {
            client_id,
            secret: secret.to_string(),
        },
        None => ClientAuth::Public { client_id },
    })
}

fn decode_component(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

pub fn parse_grant(f: &HashMap<String, String>) -> Result<GrantRequest, OAuthError> {
    let need = |k: &str| {
        form(f, k)
            .map(str::to_string)
            .ok_or_else(|| OAuthError::invalid_request(format!("{k} is required")))
    };
    match form(f, "grant_type") {
        Some("authorization_code") => Ok(GrantRequest::AuthorizationCode {
            code: need("code")?,
            redirect_uri: form(f, "redirect_uri").map(str::to_string),
            code_verifier: form(f, "code_verifier").map(str::to_string),
        }),
        Some("refresh_token") => Ok(GrantRequest::RefreshToken {
            refresh_token: need("refresh_token")?,
            scope: form(f, "scope").map(str::to_string),
        }),
        Some("client_credentials") => Ok(GrantRequest::ClientCredentials {
            scope: form(f, "scope").map(str::to_string),
        }),
        Some(_) => Err(OAuthError::new(
            crate::ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn basic_post_and_public() {
        let h = format!("Basic {}", STANDARD.encode("app%3A1:s%2Bx"));
        assert_eq!(
            client_auth(Some(&h), &f(&[])).unwrap(),
            ClientAuth::Secret {
                client_id: "app:1".into(),
                secret: "s+x".into()
            }
        );
        assert_eq!(
            client_auth(None, &f(&[("client_id", "a"), ("client_secret", "b")])).unwrap(),
            ClientAuth::Secret {
                client_id: "a".into(),
                secret: "b".into()
            }
        );
        assert_eq!(
            client_auth(None, &f(&[("client_id", "a")])).unwrap(),
            ClientAuth::Public {
                client_id: "a".into()
            }
        );
        assert!(client_auth(Some(&h), &f(&[("client_secret", "b")])).is_err());
        assert!(client_auth(None, &f(&[])).is_err());
    }

    #[test]
    fn grants() {
        assert!(matches!(
            parse_grant(&f(&[("grant_type", "authorization_code"), ("code", "c")])),
            Ok(GrantRequest::AuthorizationCode { .. })
        ));
        assert!(parse_grant(&f(&[("grant_type", "authorization_code")])).is_err());
        assert_eq!(
            parse_grant(&f(&[("grant_type", "password")]))
                .unwrap_err()
                .error,
            crate::ErrorCode::UnsupportedGrantType
        );
    }
}
