//! Abuse-protection refusals as the caller sees them: RFC 9457 problems with
//! `Retry-After` for the APIs, a friendly page inside the sign-in journey.

use axum::http::StatusCode;
use idgate_core::limits::{GuardError, Refusal};
use serde_json::json;

use crate::error::ApiError;

/// The sign-in pages' texts for a refusal (English; the catalogue has no entry yet).
pub const TOO_MANY_TITLE: &str = "Too many attempts";

/// What the sign-in page says when a limit refused (no number, address or secret).
pub fn page_text(r: &Refusal) -> String {
    let wait = r.retry_after().map(human_wait).unwrap_or_default();
    match r {
        Refusal::RateLimited { .. } => {
            format!("There were too many attempts. Please wait {wait} and try again.")
        }
        Refusal::PrefixBlocked { .. } | Refusal::Budget { .. } => format!(
            "We cannot send a code to this number right now. Please wait {wait} and try again, or contact your administrator."
        ),
        Refusal::Destination(_) => {
            "We cannot send codes to this number. Use a mobile number, or contact your administrator.".into()
        }
        Refusal::Locked { .. } => {
            "This account is locked. Contact your administrator to unlock it.".into()
        }
    }
}

fn human_wait(secs: i64) -> String {
    match secs {
        ..=1 => "a second".into(),
        2..=90 => format!("{secs} seconds"),
        _ => {
            let m = (secs + 59) / 60;
            format!("{m} minute{}", if m == 1 { "" } else { "s" })
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        let detail = r.to_string();
        let mut e = match &r {
            Refusal::RateLimited { rule, .. } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
                detail,
            )
            .with_extra(json!({"rule": rule.as_str()})),
            Refusal::PrefixBlocked { .. } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "destination_paused",
                "Sending to this number range is paused",
                detail,
            ),
            Refusal::Budget { channel, .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "send_budget_exhausted",
                "The channel's send budget is used up",
                detail,
            )
            .with_extra(json!({"channel": channel.as_str()})),
            Refusal::Destination(_) => ApiError::invalid_field("to", detail),
            Refusal::Locked { until } => ApiError::new(
                StatusCode::FORBIDDEN,
                "account_locked",
                "The account is locked",
                "the account is locked after too many failed attempts or by an administrator",
            )
            .with_extra(json!({"locked_until": until})),
        };
        e.retry_after = r.retry_after().and_then(|s| u64::try_from(s).ok());
        e
    }
}

impl From<GuardError> for ApiError {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Refused(r) => r.into(),
            GuardError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_well() {
        assert_eq!(human_wait(1), "a second");
        assert_eq!(human_wait(30), "30 seconds");
        assert_eq!(human_wait(600), "10 minutes");
        assert_eq!(human_wait(61 + 59), "2 minutes");
    }
}
