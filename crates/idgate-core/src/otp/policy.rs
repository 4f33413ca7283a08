//! The OTP policy: WSO2's "SMS OTP › Settings" and the limits WSO2 lacks.

use serde::{Deserialize, Serialize};

/// What a resend inside the code's validity sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResendCode {
    /// A fresh code; the previous one stops working (the default: a leaked old code is useless).
    #[default]
    New,
    /// The same code again (Twilio Verify's behaviour). The code is then kept encrypted
    /// — not only as a hash — until the verification ends, so it can be sent again.
    Same,
}

/// Global OTP policy, overridable per application. Durations are seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtpPolicy {
    /// Characters in a code, 4–10.
    pub length: u32,
    /// `A–Z0–9` instead of digits only.
    pub alphanumeric: bool,
    /// Seconds a code stays valid, 60–86400.
    pub expiry: u32,
    /// Wrong submissions per code before it dies (`max_attempts_reached`), 1–20.
    pub max_attempts: u32,
    /// Resends per verification, 0–10.
    pub max_resends: u32,
    /// Seconds between two sends of one verification, 0–3600.
    pub resend_cooldown: u32,
    /// Whether a resend sends a new code or the same one.
    pub resend_code: ResendCode,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            length: 6,
            alphanumeric: false,
            expiry: 300,
            max_attempts: 5,
            max_resends: 3,
            resend_cooldown: 30,
            resend_code: ResendCode::New,
        }
    }
}

/// A policy value outside its range: names the field, the value and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be between {min} and {max} (got {value})")]
pub struct PolicyError {
    pub field: &'static str,
    pub value: u32,
    pub min: u32,
    pub max: u32,
}

pub const LENGTH_RANGE: (u32, u32) = (4, 10);
pub const EXPIRY_RANGE: (u32, u32) = (60, 86_400);
pub const ATTEMPTS_RANGE: (u32, u32) = (1, 20);
pub const RESENDS_RANGE: (u32, u32) = (0, 10);
pub const COOLDOWN_RANGE: (u32, u32) = (0, 3_600);

impl OtpPolicy {
    pub fn validate(&self) -> Result<(), PolicyError> {
        let check = |field, value: u32, (min, max): (u32, u32)| {
            if value < min || value > max {
                Err(PolicyError {
                    field,
                    value,
                    min,
                    max,
                })
            } else {
                Ok(())
            }
        };
        check("length", self.length, LENGTH_RANGE)?;
        check("expiry", self.expiry, EXPIRY_RANGE)?;
        check("max_attempts", self.max_attempts, ATTEMPTS_RANGE)?;
        check("max_resends", self.max_resends, RESENDS_RANGE)?;
        check("resend_cooldown", self.resend_cooldown, COOLDOWN_RANGE)?;
        Ok(())
    }

    /// The expiry in whole minutes for message texts, rounded up so a 30-second code
    /// never says "expires in 0 minutes" (WSO2 truncates).
    pub fn expiry_minutes(&self) -> u32 {
        self.expiry.div_ceil(60).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_enforced() {
        assert_eq!(OtpPolicy::default().validate(), Ok(()));
        let p = OtpPolicy {
            length: 3,
            ..Default::default()
        };
        let err = p.validate().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("length must be between 4 and 10 (got 3)")
        );
    }

    #[test]
    fn expiry_minutes_round_up() {
        let m = |expiry| {
            OtpPolicy {
                expiry,
                ..Default::default()
            }
            .expiry_minutes()
        };
        assert_eq!((m(30), m(60), m(90), m(300)), (1, 1, 2, 5));
    }
}
