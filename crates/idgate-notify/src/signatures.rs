//! Webhook signatures, both ways.
//!
//! - Inbound, [`twilio_valid`]: Twilio's `X-Twilio-Signature` — base64 HMAC-SHA1, keyed
//!   with the account's auth token, over the full public URL followed by every POST
//!   parameter, sorted by name, as `name` + `value`.
//! - Inbound, [`vonage_check`]: Vonage's signed webhooks — `Authorization: Bearer <JWT>`,
//!   HS256 with the account's signature secret, whose `payload_hash` claim is the SHA-256
//!   (hex) of the body and whose `iat` is at most [`VONAGE_MAX_AGE_SECS`] old.
//! - Outbound, [`StandardWebhookSigner`]: the Standard Webhooks headers (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.ts.body">`)
//!   a custom gateway can check to know the request comes from idgate.
//!
//! Every comparison of a presented signature is constant-time.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use idgate_core::crypto::{CryptoError, ct_eq, fill_random, random_token};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::Value;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a Standard Webhooks secret (`whsec_<base64 key>`).
pub const WHSEC_PREFIX: &str = "whsec_";

/// How old a Vonage webhook JWT (`iat`) may be; one from further than
/// [`VONAGE_MAX_SKEW_SECS`] in the future is refused as well.
pub const VONAGE_MAX_AGE_SECS: i64 = 300;
pub const VONAGE_MAX_SKEW_SECS: i64 = 60;

/// The base64 HMAC-SHA1 Twilio puts in `X-Twilio-Signature` for `url` and `params`.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use hmac13::KeyInit as _;
    use hmac13::Mac as _;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let Ok(mut mac) = hmac13::Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `presented` is Twilio's signature of this request (constant time).
pub fn twilio_valid(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    presented: &str,
) -> bool {
    let expected = twilio_signature(auth_token, url, params);
    !expected.is_empty() && ct_eq(expected.as_bytes(), presented.trim().as_bytes())
}

/// [`twilio_valid`] for a form body (Twilio's status callbacks).
pub fn twilio_valid_form(auth_token: &str, url: &str, body: &[u8], presented: &str) -> bool {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    twilio_valid(auth_token, url, &params, presented)
}

/// Why a signed webhook was refused (the metric's `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFailure {
    /// No signature at all.
    Missing,
    /// A signature that does not verify, is stale, or covers another body.
    Bad,
}

impl SignatureFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Bad => "bad",
        }
    }
}

/// Checks a Vonage signed webhook: `authorization` is the header's value, `body` the raw
/// body, `now` the server's unix time. Returns what is wrong, with a short reason for the
/// log (never the token).
pub fn vonage_check(
    secret: &str,
    authorization: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), (SignatureFailure, &'static str)> {
    let bad = |why| Err((SignatureFailure::Bad, why));
    let Some(auth) = authorization.map(str::trim).filter(|a| !a.is_empty()) else {
        return Err((SignatureFailure::Missing, "no Authorization header"));
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    else {
        return bad("the Authorization header is not a Bearer token");
    };
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad("the token is not a JWT");
    };
    let json = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let Some(header) = json(h) else {
        return bad("the JWT header is unreadable");
    };
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return bad("the JWT is not HS256");
    }
    let Ok(sig) = URL_SAFE_NO_PAD.decode(s) else {
        return bad("the JWT signature is unreadable");
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return bad("no key");
    };
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // `verify_slice` compares in constant time.
    if mac.verify_slice(&sig).is_err() {
        return bad("the JWT signature does not verify");
    }
    let Some(claims) = json(p) else {
        return bad("the JWT claims are unreadable");
    };
    let Some(iat) = claims.get("iat").and_then(Value::as_i64) else {
        return bad("the JWT has no iat");
    };
    if iat < now - VONAGE_MAX_AGE_SECS || iat > now + VONAGE_MAX_SKEW_SECS {
        return bad("the JWT is stale (iat outside the accepted window)");
    }
    let expected = hex_sha256(body);
    let hash = claims
        .get("payload_hash")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !ct_eq(expected.as_bytes(), hash.as_bytes()) {
        return bad("the JWT's payload_hash is not the body's");
    }
    Ok(())
}

/// SHA-256 of `data`, lowercase hex.
pub fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
pub fn new_signing_secret() -> Result<String, CryptoError> {
    let mut key = [0u8; 32];
    fill_random(&mut key)?;
    let s = format!("{WHSEC_PREFIX}{}", STANDARD.encode(key));
    key.fill(0);
    Ok(s)
}

/// The HMAC key of a `whsec_<base64>` secret, or why it is not one.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, &'static str> {
    let b64 = secret.trim().strip_prefix(WHSEC_PREFIX).ok_or(
        "must start with whsec_ followed by a base64 key (leave it out to have one generated)",
    )?;
    let key = STANDARD
        .decode(b64)
        .map_err(|_| "the part after whsec_ must be standard base64")?;
    if !(24..=64).contains(&key.len()) {
        return Err("the key after whsec_ must be 24 to 64 bytes (32 recommended)");
    }
    Ok(key)
}

/// Signs outbound requests the Standard Webhooks way.
pub struct StandardWebhookSigner {
    key: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for StandardWebhookSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandardWebhookSigner(…)")
    }
}

impl StandardWebhookSigner {
    pub fn new(secret: &str) -> Result<Self, &'static str> {
        Ok(Self {
            key: SecretBox::new(Box::new(signing_key(secret)?)),
        })
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let Ok(mut mac) = HmacSha256::new_from_slice(self.key.expose_secret()) else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// The three headers for one request: a fresh `webhook-id` each time (a retry is a
    /// new request), the current time, the signature.
    pub fn headers(
        &self,
        timestamp: i64,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, CryptoError> {
        let id = format!("msg_{}", random_token(18)?);
        let sig = self.signature(&id, timestamp, body);
        Ok(vec![
            ("webhook-id".into(), id),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), sig),
        ])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn twilio_documented_example() {
        // Twilio's own example (twilio-python's request-validator tests).
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = twilio_signature("12345", url, &params);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(twilio_valid("12345", url, &params, &sig));
        assert!(!twilio_valid("12346", url, &params, &sig));
        assert!(!twilio_valid(
            "12345",
            "https://example.com/x",
            &params,
            &sig
        ));
    }

    fn jwt(secret: &str, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("Bearer {h}.{p}.{s}")
    }

    #[test]
    fn vonage_jwt_checks() {
        let body = br#"{"messageId":"m1","status":"delivered"}"#;
        let good = jwt(
            "sig",
            serde_json::json!({"iat": 1000, "payload_hash": hex_sha256(body)}),
        );
        assert_eq!(vonage_check("sig", Some(&good), body, 1010), Ok(()));
        assert_eq!(
            vonage_check("sig", None, body, 1010).unwrap_err().0,
            SignatureFailure::Missing
        );
        for (secret, auth, b, now) in [
            ("other", good.as_str(), &body[..], 1010),
            ("sig", good.as_str(), b"{}", 1010),
            (
                "sig",
                good.as_str(),
                &body[..],
                1000 + VONAGE_MAX_AGE_SECS + 1,
            ),
            (
                "sig",
                good.as_str(),
                &body[..],
                1000 - VONAGE_MAX_SKEW_SECS - 1,
            ),
            ("sig", "Bearer x.y", &body[..], 1010),
            ("sig", "Basic abc", &body[..], 1010),
        ] {
            assert_eq!(
                vonage_check(secret, Some(auth), b, now).unwrap_err().0,
                SignatureFailure::Bad,
                "{secret} {auth} {now}"
            );
        }
    }

    #[test]
    fn standard_webhooks_vector() {
        // The Standard Webhooks specification's example.
        let s = StandardWebhookSigner::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            s.signature(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let h = s.headers(1614265330, b"x").unwrap();
        assert_eq!(h[0].0, "webhook-id");
        assert_ne!(s.headers(1614265330, b"x").unwrap()[0].1, h[0].1);
        assert!(signing_key("nope").is_err());
        assert!(signing_key("whsec_!!").is_err());
        assert!(signing_key("whsec_AAAA").is_err());
        let fresh = new_signing_secret().unwrap();
        assert_eq!(signing_key(&fresh).unwrap().len(), 32);
    }
}
