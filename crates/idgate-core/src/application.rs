//! Applications (OIDC clients) and their login flows.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::otp::OtpPolicy;

/// Step 1 of a login flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstFactor {
    Password,
    /// Passwordless: identifier first, then a code by SMS.
    SmsOtp,
}

/// A code factor usable as step 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecondFactor {
    SmsOtp,
    WhatsappOtp,
}

/// What to do when step 2 needs a mobile number the user does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MissingMobile {
    /// Ask for a number, send a code to it, save it as verified once approved.
    #[default]
    Enrol,
    /// Refuse with a clear page.
    Refuse,
}

/// What a sign-in does when the chosen channel cannot deliver a code (every provider
/// failed, or the channel's rules refuse the number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelFallback {
    /// Say the code could not be sent; offer to try again (and the other step-2 option
    /// if the flow has one).
    #[default]
    Off,
    /// Also offer the other channel, even when the flow lists only one.
    Offer,
    /// Send the code on the other channel at once; the code page says which.
    Send,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFlow {
    pub first: FirstFactor,
    /// Options for step 2; the user picks, the first is the default. Empty = no step 2.
    #[serde(default)]
    pub second: Vec<SecondFactor>,
    #[serde(default)]
    pub missing_mobile: MissingMobile,
    /// Whether a number not yet verified may receive a login code.
    #[serde(default)]
    pub allow_unverified_mobile: bool,
    /// Step 2 only: what happens when the chosen channel cannot deliver. A code that
    /// went out on the other channel proves that channel's factor, and it counts for
    /// the step.
    #[serde(default)]
    pub channel_fallback: ChannelFallback,
}

impl Default for LoginFlow {
    /// The seed guide's setup: password, then a code by SMS.
    fn default() -> Self {
        Self {
            first: FirstFactor::Password,
            second: vec![SecondFactor::SmsOtp],
            missing_mobile: MissingMobile::Enrol,
            allow_unverified_mobile: false,
            channel_fallback: ChannelFallback::Off,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub client_id: String,
    /// HMAC of the client secret; `None` for public clients (PKCE only).
    pub client_secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub login_flow: LoginFlow,
    pub otp_policy: Option<OtpPolicy>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Application {
    pub fn is_public(&self) -> bool {
        self.client_secret_hash.is_none()
    }
}

/// Per-application token lifetimes, in seconds. `None` = the server's lifetime applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLifetimes {
    #[serde(default)]
    pub access_token: Option<i64>,
    #[serde(default)]
    pub id_token: Option<i64>,
    /// How long a sign-in's refresh tokens work (the grant's lifetime, from the sign-in).
    #[serde(default)]
    pub refresh_token: Option<i64>,
    #[serde(default)]
    pub authorization_code: Option<i64>,
}

/// An application's OpenID Connect settings kept beside it: the ID-token signing
/// algorithm (`None` = the default) and token lifetime overrides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientOidcSettings {
    pub signing_alg: Option<String>,
    pub token_lifetimes: TokenLifetimes,
}

/// Allowed override ranges, in seconds (inclusive).
pub const ACCESS_TOKEN_LIFETIME_RANGE: (i64, i64) = (60, 86_400);
pub const ID_TOKEN_LIFETIME_RANGE: (i64, i64) = (60, 86_400);
pub const REFRESH_TOKEN_LIFETIME_RANGE: (i64, i64) = (300, 365 * 86_400);
/// RFC 6749 §4.1.2: a maximum lifetime of 10 minutes is recommended.
pub const AUTHORIZATION_CODE_LIFETIME_RANGE: (i64, i64) = (10, 600);

/// A lifetime outside its range: names the field, the value and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be between {min} and {max} seconds (got {value})")]
pub struct LifetimeError {
    pub field: &'static str,
    pub value: i64,
    pub min: i64,
    pub max: i64,
}

impl TokenLifetimes {
    /// Whether no lifetime is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Each set lifetime is within its range.
    pub fn validate(&self) -> Result<(), LifetimeError> {
        let check = |field, value: Option<i64>, (min, max): (i64, i64)| match value {
            Some(value) if value < min || value > max => Err(LifetimeError {
                field,
                value,
                min,
                max,
            }),
            _ => Ok(()),
        };
        check(
            "access_token",
            self.access_token,
            ACCESS_TOKEN_LIFETIME_RANGE,
        )?;
        check("id_token", self.id_token, ID_TOKEN_LIFETIME_RANGE)?;
        check(
            "refresh_token",
            self.refresh_token,
            REFRESH_TOKEN_LIFETIME_RANGE,
        )?;
        check(
            "authorization_code",
            self.authorization_code,
            AUTHORIZATION_CODE_LIFETIME_RANGE,
        )?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    #[error("name is empty")]
    EmptyName,
    #[error("redirect URI \"{0}\" is not valid: {1}")]
    BadRedirect(String, &'static str),
}

/// Checks a redirect URI: absolute, no fragment, https unless it points at loopback
/// (RFC 8252 native apps and local development) or uses a private-use scheme.
pub fn validate_redirect_uri(uri: &str) -> Result<(), ApplicationError> {
    let bad = |why| Err(ApplicationError::BadRedirect(uri.to_string(), why));
    let Some((scheme, rest)) = uri.split_once("://") else {
        return bad("it must be an absolute URI such as https://app.example.com/callback");
    };
    if uri.contains('#') {
        return bad("it must not contain a fragment (#…)");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it must not contain spaces");
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if let Some((_, after)) = authority.rsplit_once('@') {
        // The message must not repeat what came before the `@`: it may be a password.
        let path = &rest[authority.len()..];
        return Err(ApplicationError::BadRedirect(
            format!("{scheme}://…@{after}{path}"),
            "it must not contain user info (user:password@ before the host); register the URI without it",
        ));
    }
    let host = authority;
    let host_only = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default().to_string()
    };
    if host_only.contains('*') {
        return bad("wildcards (*) are not allowed in the host: register each exact redirect URI");
    }
    match scheme {
        "https" if !host_only.is_empty() => Ok(()),
        "http" if ["localhost", "127.0.0.1", "[::1]"].contains(&host_only.as_str()) => Ok(()),
        "http" => bad("plain http is only allowed for localhost, 127.0.0.1 and [::1]; use https"),
        "https" => bad("it has no host"),
        s if s.contains('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c)) =>
        {
            Ok(())
        }
        _ => bad("the scheme must be https (or http for loopback, or a reverse-domain app scheme)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetimes_ranges() {
        assert_eq!(TokenLifetimes::default().validate(), Ok(()));
        assert!(TokenLifetimes::default().is_empty());
        let ok = TokenLifetimes {
            access_token: Some(60),
            id_token: Some(86_400),
            refresh_token: Some(300),
            authorization_code: Some(600),
        };
        assert_eq!(ok.validate(), Ok(()));
        assert!(!ok.is_empty());
        let bad = TokenLifetimes {
            authorization_code: Some(601),
            ..Default::default()
        };
        assert_eq!(
            bad.validate().map_err(|e| e.to_string()),
            Err("authorization_code must be between 10 and 600 seconds (got 601)".into())
        );
        let bad = TokenLifetimes {
            access_token: Some(0),
            ..Default::default()
        };
        assert_eq!(bad.validate().map_err(|e| e.field), Err("access_token"));
    }

    #[test]
    fn redirect_uris() {
        assert!(validate_redirect_uri("https://shop.example.com/cb").is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(validate_redirect_uri("http://localhost/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app://cb").is_ok());
        assert!(validate_redirect_uri("http://shop.example.com/cb").is_err());
        assert!(validate_redirect_uri("https://shop.example.com/cb#x").is_err());
        assert!(validate_redirect_uri("/cb").is_err());
        assert!(validate_redirect_uri("javascript://x").is_err());
        let e =
            validate_redirect_uri("https://u:p4ss@shop.example.com/cb").map_err(|e| e.to_string());
        assert!(
            e.as_ref()
                .is_err_and(|m| m.contains("user info") && !m.contains("p4ss")),
            "{e:?}"
        );
        let e = validate_redirect_uri("https://*.example.com/cb").map_err(|e| e.to_string());
        assert!(e.as_ref().is_err_and(|m| m.contains("wildcards")), "{e:?}");
        assert!(validate_redirect_uri("https://*/cb").is_err());
        assert!(validate_redirect_uri("com.example.app://*/cb").is_err());
    }
}
