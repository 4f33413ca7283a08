//! Abuse-protection refusals as API callers see them: RFC 9457 problems with
//! `Retry-After`. The sign-in pages show their own friendly page
//! ([`crate::login::throttle`], texts from the message catalogue).

use axum::http::StatusCode;
use idgate_core::limits::{GuardError, Refusal};
use serde_json::json;

use crate::error::ApiError;

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
