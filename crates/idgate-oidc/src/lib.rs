//! OpenID Connect protocol logic, without HTTP types: the discovery document, signing
//! keys and the JWKS, authorization and token request validation, PKCE, and the claims
//! of ID tokens, access tokens and userinfo. `idgate-web` maps requests onto these.

pub mod authorize;
pub mod claims;
pub mod discovery;
pub mod error;
pub mod keys;
pub mod keystore;
pub mod pkce;
pub mod scope;
pub mod token;

pub use error::{ErrorCode, OAuthError};
pub use keys::{KeyRing, SigningAlg};

/// Lifetimes of what the OP issues, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub authorization_code: i64,
    pub id_token: i64,
    pub access_token: i64,
    pub refresh_token: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            authorization_code: 60,
            id_token: 3600,
            access_token: 600,
            refresh_token: 30 * 24 * 3600,
        }
    }
}
