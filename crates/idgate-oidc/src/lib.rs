//! OpenID Connect protocol logic, without HTTP types: the discovery document, signing
//! keys and the JWKS, authorization and token request validation, PKCE, and the claims
//! of ID tokens, access tokens and userinfo. `idgate-web` maps requests onto these.

pub mod authorize;
pub mod claims;
pub mod discovery;
pub mod error;
mod jws;
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

impl Lifetimes {
    /// These lifetimes with an application's overrides applied.
    pub fn with_overrides(self, o: &idgate_core::application::TokenLifetimes) -> Self {
        Self {
            authorization_code: o.authorization_code.unwrap_or(self.authorization_code),
            id_token: o.id_token.unwrap_or(self.id_token),
            access_token: o.access_token.unwrap_or(self.access_token),
            refresh_token: o.refresh_token.unwrap_or(self.refresh_token),
        }
    }

    /// The longest lifetime of a signed token (what a retired signing key must outlive).
    pub fn longest_signed(&self) -> i64 {
        self.id_token.max(self.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_set() {
        let l = Lifetimes::default().with_overrides(&idgate_core::application::TokenLifetimes {
            access_token: Some(120),
            authorization_code: Some(30),
            ..Default::default()
        });
        assert_eq!(
            l,
            Lifetimes {
                authorization_code: 30,
                id_token: 3600,
                access_token: 120,
                refresh_token: 30 * 24 * 3600,
            }
        );
        assert_eq!(l.longest_signed(), 3600);
    }
}
