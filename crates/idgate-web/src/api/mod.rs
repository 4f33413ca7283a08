//! The JSON APIs under `/api/v1`.

pub mod admin_tokens;
pub mod applications;
pub mod audit;
pub mod messages;
pub mod otp_settings;
pub mod paging;
pub mod providers;
pub mod test_numbers;
pub mod users;
pub mod verifications;
pub mod wso2_senders;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(verifications::router())
        .merge(otp_settings::router())
        .merge(test_numbers::router())
        .merge(providers::router())
        .merge(messages::router())
        .merge(wso2_senders::router())
        .merge(users::router())
        .merge(applications::router())
        .merge(audit::router())
        .merge(admin_tokens::router())
}

/// RFC 3339 text for a unix time (API responses show times this way).
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
